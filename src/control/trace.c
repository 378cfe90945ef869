#define _GNU_SOURCE
#include "trace.h"

#include "balance.h"
#include "config.h"
#include "jbuf.h"
#include "fds.h"
#include "log.h"
#include "lru.h"
#include "outfile.h"
#include "pager.h"
#include "psi.h"
#include "stats.h"
#include "swap.h"
#include "zpool.h"
#include "sys.h"
#include "thread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int trace_fd = -1;
static bool trace_csv;

static const char *const names[USWAP_TRACE_NCOL] = {
#define X(id, name, desc) [USWAP_TRACE_##id] = #name,
	USWAP_TRACE_COLUMNS(X)
#undef X
};

void trace_values(uint64_t v[USWAP_TRACE_NCOL], const struct psi_times *p)
{
	/* The limit, resident and pool memory as of one moment: the pool grows
	 * as frames go, and a row must never show a sum the limit did not hold. */
	bool lock = !pager_held_by_me();
	uint64_t limit, resident, pool;

	if (lock)
		pager_lock();
	limit = pager.limit_pages << 12;
	resident = lru.nr_allocated << 12;
	pool = zpool.nr_pages << 12;
	if (lock)
		pager_unlock();

	uint64_t now[USWAP_TRACE_NCOL] = {
		[USWAP_TRACE_LIMIT] = limit,
		[USWAP_TRACE_RESIDENT] = resident,
		[USWAP_TRACE_ACTIVE_ANON] = lru.lists[LRU_ACTIVE_ANON].nr,
		[USWAP_TRACE_INACTIVE_ANON] = lru.lists[LRU_INACTIVE_ANON].nr,
		[USWAP_TRACE_ACTIVE_FILE] = lru.lists[LRU_ACTIVE_FILE].nr,
		[USWAP_TRACE_INACTIVE_FILE] = lru.lists[LRU_INACTIVE_FILE].nr,
		[USWAP_TRACE_PGFAULT] = stats.pgfault,
		[USWAP_TRACE_PGMAJFAULT] = stats.pgmajfault,
		[USWAP_TRACE_PSWPIN] = stats.pswpin,
		[USWAP_TRACE_PSWPOUT] = stats.pswpout,
		[USWAP_TRACE_PGPGIN] = stats.pgpgin,
		[USWAP_TRACE_PGPGOUT] = stats.pgpgout,
		[USWAP_TRACE_STEAL_ANON] = stats.pgsteal_anon,
		[USWAP_TRACE_STEAL_FILE] = stats.pgsteal_file,
		[USWAP_TRACE_REFAULT_ANON] = stats.workingset_refault_anon,
		[USWAP_TRACE_REFAULT_FILE] = stats.workingset_refault_file,
		[USWAP_TRACE_WRITEBACK] = pager.nr_writeback,
		[USWAP_TRACE_THROTTLED] = pager.nr_waiting,
		[USWAP_TRACE_THROTTLE_NS] = stats.throttle_ns,
		[USWAP_TRACE_STALL_SOME] = p->some[PSI_MEMORY],
		[USWAP_TRACE_STALL_FULL] = p->full[PSI_MEMORY],
		[USWAP_TRACE_SCANNER_CPU] = thread_cpu_ns(THREAD_SCANNER),
		[USWAP_TRACE_HANDLER_CPU] = thread_cpu_ns(THREAD_HANDLER),
		[USWAP_TRACE_SWAP] = swap.nr_used << 12,
		[USWAP_TRACE_SWAPPINESS] = (uint64_t)balance_swappiness(),
		[USWAP_TRACE_ZSWPOUT] = stats.zswpout,
		[USWAP_TRACE_ZSWPIN] = stats.zswpin,
		[USWAP_TRACE_POOL] = pool,
	};

	_Static_assert(USWAP_TRACE_NCOL == 28, "a new trace column needs its value above");
	memcpy(v, now, sizeof(now));
}

static void header(void)
{
	struct jbuf j = { 0 };

	if (!trace_csv)
		return;
	jbuf_printf(&j, USWAP_TRACE_TIME);
	for (int c = 0; c < USWAP_TRACE_NCOL; c++)
		jbuf_printf(&j, ",%s", names[c]);
	jbuf_printf(&j, "\n");
	if (!j.oom)
		(void)!sys_write(trace_fd, j.p, j.n);
	jbuf_free(&j);
}

static bool is_top_process(void)
{
	return config.stats_pid < 0 || config.stats_pid == getpid();
}

int trace_open(char *err, size_t errlen)
{
	char tmp[4096];
	size_t n;
	int r;

	if (!config.trace_path || !is_top_process())
		return 0;
	n = strlen(config.trace_path);
	trace_csv = n >= 4 && !strcmp(config.trace_path + n - 4, ".csv");
	/* A new file renamed into place at once: never through a link or
	 * into a FIFO (see base/outfile.h). */
	r = outfile_check("trace file", config.trace_path, err, errlen);
	if (r)
		return r;
	trace_fd = fds_keep(outfile_create(config.trace_path, tmp, sizeof(tmp)));
	r = trace_fd < 0 ? trace_fd : outfile_commit(tmp, config.trace_path);
	if (r) {
		if (trace_fd >= 0) {
			fds_close(trace_fd);
			trace_fd = -1;
		}
		snprintf(err, errlen, "cannot write trace file %s: %s", config.trace_path,
			 strerror(-r));
		return r;
	}
	header();
	return 0;
}

void trace_row(const struct psi_times *p)
{
	uint64_t v[USWAP_TRACE_NCOL];
	double t = (double)(p->t - psi_start_time()) / 1e9;
	char buf[2048];
	int n;

	if (trace_fd < 0)
		return;
	trace_values(v, p);
	if (trace_csv)
		n = snprintf(buf, sizeof(buf), "%.3f", t);
	else
		n = snprintf(buf, sizeof(buf), "{\"" USWAP_TRACE_TIME "\": %.3f", t);
	for (int c = 0; c < USWAP_TRACE_NCOL; c++)
		n += trace_csv ? snprintf(buf + n, sizeof(buf) - (size_t)n, ",%llu",
					  (unsigned long long)v[c]) :
				 snprintf(buf + n, sizeof(buf) - (size_t)n, ", \"%s\": %llu",
					  names[c], (unsigned long long)v[c]);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, trace_csv ? "\n" : "}\n");
	if (sys_write(trace_fd, buf, (size_t)n) != n) {
		log_line("cannot write the trace file %s: %s; tracing stops", config.trace_path,
			 strerror(errno));
		fds_close(trace_fd);
		trace_fd = -1;
	}
}

const char *trace_column(int c)
{
	return names[c];
}

const char *trace_path(void)
{
	return trace_fd >= 0 || (config.trace_path && is_top_process()) ? config.trace_path : NULL;
}

void trace_fork_child(void)
{
	fds_close(trace_fd); /* the parent's */
	trace_fd = -1;
}
