/* Counters, named after /proc/vmstat where the kernel has one: the list
 * is the stats file's schema, include/uswap/stats.h. Every thread adds to
 * them; the exit writer is control/statsfile.c. */
#ifndef USWAP_STATS_H
#define USWAP_STATS_H

#include "uswap/stats.h"

#include <stdbool.h>
#include <stdint.h>

struct stats {
#define X(name, desc) uint64_t name;
	USWAP_STATS_COUNTERS(X)
#undef X
};

extern struct stats stats;

/* Refault distances (pages), log2 buckets: bucket 0 holds distance 0,
 * bucket i holds [2^(i-1), 2^i); index 0 anon, 1 file. */
#define REFAULT_BUCKETS 33
extern uint64_t stats_refault_hist[2][REFAULT_BUCKETS];
void stat_refault_distance(bool file, uint64_t dist);

#define stat_add(name, n) __atomic_fetch_add(&stats.name, (n), __ATOMIC_RELAXED)
#define stat_inc(name) stat_add(name, 1)
/* The anon or the file one of a pair of counters: stat_kind(pgscan, file)++. */
#define stat_kind(name, file) (*((file) ? &stats.name##_file : &stats.name##_anon))
static inline void stat_max(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v > cur &&
	       !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

struct jbuf;
/* The name of counter i (the order of struct stats), and its value. */
const char *stats_name(unsigned i);
uint64_t stats_value(unsigned i);
#define NR_STATS USWAP_NR_STATS
/* The flat counters as JSON members: "pgfault": 12, ... (no braces). */
void stats_counters_json(struct jbuf *j);
/* In a forked child: its own counters from here. */
void stats_fork_child(void);

#endif
