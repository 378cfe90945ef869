#define _GNU_SOURCE
#include "stats.h"

#include "jbuf.h"

#include <string.h>

struct stats stats;
uint64_t stats_refault_hist[2][REFAULT_BUCKETS];

_Static_assert(sizeof(struct stats) == NR_STATS * sizeof(uint64_t), "stats are the counter list");

void stat_refault_distance(bool file, uint64_t dist)
{
	unsigned b = dist ? 64 - (unsigned)__builtin_clzll(dist) : 0;

	stats_refault_hist[file][b < REFAULT_BUCKETS ? b : REFAULT_BUCKETS - 1]++;
}

static const char *const names[] = {
#define X(name, desc) #name,
	USWAP_STATS_COUNTERS(X)
#undef X
};

const char *stats_name(unsigned i)
{
	return names[i];
}

uint64_t stats_value(unsigned i)
{
	return __atomic_load_n(&((uint64_t *)&stats)[i], __ATOMIC_RELAXED);
}

void stats_counters_json(struct jbuf *j)
{
	for (unsigned i = 0; i < NR_STATS; i++)
		jbuf_printf(j, "%s\"%s\": %llu", i ? ", " : "", names[i],
			    (unsigned long long)stats_value(i));
}

void stats_fork_child(void)
{
	memset(&stats, 0, sizeof(stats));
}
