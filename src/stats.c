#define _GNU_SOURCE
#include "stats.h"

#include "attrib.h"
#include "config.h"
#include "jbuf.h"
#include "lru.h"
#include "monitor.h"
#include "rt.h"
#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct stats stats;
uint64_t refault_hist[2][REFAULT_BUCKETS];

void stat_refault_distance(bool file, uint64_t dist)
{
	unsigned b = dist ? 64 - (unsigned)__builtin_clzll(dist) : 0;

	refault_hist[file][b < REFAULT_BUCKETS ? b : REFAULT_BUCKETS - 1]++;
}

static const char *const names[] = {
#define X(name) #name,
	STAT_LIST(X)
#undef X
};
#define NR_STATS (sizeof(names) / sizeof(names[0]))

static uint64_t *counters(void)
{
	return (uint64_t *)&stats;
}

/* "<path>.children": one line per descendant process, "name value" pairs. */
static void children_path(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s.children", path);
}

int stats_append_child(const char *path)
{
	char buf[8192], name[4096];
	int n, fd;
	ssize_t w;

	n = snprintf(buf, sizeof(buf), "pid %d", (int)getpid());
	for (size_t i = 0; i < NR_STATS; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %s %llu", names[i],
			      (unsigned long long)__atomic_load_n(&counters()[i], __ATOMIC_RELAXED));
	buf[n++] = '\n';
	children_path(name, sizeof(name), path);
	fd = (int)syscall(SYS_openat, AT_FDCWD, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	w = syscall(SYS_write, fd, buf, (size_t)n); /* one append: lines never interleave */
	syscall(SYS_close, fd);
	return w == n ? 0 : -1;
}

/* Sum the lines children appended, then remove the file. */
static uint64_t sum_children(const char *path, uint64_t *sum)
{
	static char buf[1 << 20];
	char name[4096], *line, *save = NULL;
	uint64_t procs = 0;
	ssize_t n, got = 0;
	int fd;

	children_path(name, sizeof(name), path);
	fd = (int)syscall(SYS_openat, AT_FDCWD, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = syscall(SYS_read, fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	syscall(SYS_close, fd);
	syscall(SYS_unlinkat, AT_FDCWD, name, 0);
	buf[got] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *s2 = NULL, *key = NULL;

		procs++;
		for (tok = strtok_r(line, " ", &s2); tok; tok = strtok_r(NULL, " ", &s2)) {
			if (!key) {
				key = tok;
				continue;
			}
			for (size_t i = 0; i < NR_STATS; i++)
				if (!strcmp(key, names[i])) {
					/* peaks are maxima, everything else adds up */
					uint64_t v = strtoull(tok, NULL, 10);

					if (strstr(key, "peak"))
						sum[i] = v > sum[i] ? v : sum[i];
					else
						sum[i] += v;
				}
			key = NULL;
		}
	}
	return procs;
}

void stats_counters_json(struct jbuf *j)
{
	for (size_t i = 0; i < NR_STATS; i++)
		jb_printf(j, "%s\"%s\": %llu", i ? ", " : "", names[i],
			  (unsigned long long)__atomic_load_n(&counters()[i], __ATOMIC_RELAXED));
}

int stats_write_json(const char *path)
{
	uint64_t sum[NR_STATS] = { 0 }, procs = sum_children(path, sum);
	struct jbuf j = { 0 };
	int fd, r = -1;

	/* The limit in force: as given, unless auto or ctl moved it. */
	jb_printf(&j, "{\"limit_bytes\": %llu, ",
		  (unsigned long long)(config.limit_auto ? rt.limit_pages << PAGE_SHIFT : config.limit_bytes));
	stats_counters_json(&j);
	if (config.swappiness == SWAPPINESS_AUTO)
		jb_printf(&j, ", \"swappiness\": \"auto\"");
	else
		jb_printf(&j, ", \"swappiness\": %d", config.swappiness);
	jb_printf(&j, ", \"track\": \"%s\"", config.track == TRACK_UFFD ? "uffd" : "mprotect");
	/* Refault distances in pages; bucket 0 = 0, bucket i = [2^(i-1), 2^i). */
	jb_printf(&j, ", \"refault_distance\": {\"anon\": ");
	jb_u64s(&j, refault_hist[0], REFAULT_BUCKETS);
	jb_printf(&j, ", \"file\": ");
	jb_u64s(&j, refault_hist[1], REFAULT_BUCKETS);
	jb_printf(&j, "}, \"eviction_distance\": ");
	eviction_distance_json(&j);
	jb_printf(&j, ", ");
	monitor_run_json(&j);
	jb_printf(&j, ", \"regions\": ");
	regions_json(&j);
	jb_printf(&j, ", \"mrc\": ");
	mrc_json(&j);
	if (config.sample_bytes) {
		jb_printf(&j, ", \"sites\": ");
		sites_json(&j);
	}
	/* Descendants (forked or exec'd, managed) that exited before us. */
	jb_printf(&j, ", \"children\": {\"processes\": %llu", (unsigned long long)procs);
	for (size_t i = 0; i < NR_STATS; i++)
		jb_printf(&j, ", \"%s\": %llu", names[i], (unsigned long long)sum[i]);
	jb_printf(&j, "}}\n");
	fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || j.oom) {
		log_line("cannot write stats file %s%s", path, j.oom ? ": out of memory" : "");
	} else {
		r = syscall(SYS_write, fd, j.p, j.n) == (ssize_t)j.n ? 0 : -1;
	}
	if (fd >= 0)
		syscall(SYS_close, fd);
	jb_free(&j);
	return r;
}

void stats_print_summary(void)
{
	char more[160];

	monitor_summary(more, sizeof(more));
	log_line("limit %llu MiB, resident peak %llu MiB, faults %llu (major %llu), "
		 "swapped out %llu MiB, in %llu MiB, refaults %llu, throttled %llu (%.3f s), swap peak %llu MiB, %s",
		 (unsigned long long)(rt.limit_pages >> 8),
		 (unsigned long long)(stats.resident_peak_bytes >> 20),
		 (unsigned long long)stats.pgfault, (unsigned long long)stats.pgmajfault,
		 (unsigned long long)(stats.pswpout >> 8), (unsigned long long)(stats.pswpin >> 8),
		 (unsigned long long)stats.workingset_refault_anon,
		 (unsigned long long)stats.throttle_count, (double)stats.throttle_ns / 1e9,
		 (unsigned long long)(stats.swap_bytes_peak >> 20), more);
}
