#define _GNU_SOURCE
#include "live.h"

#include "autolimit.h"
#include "balance.h"
#include "config.h"
#include "jbuf.h"
#include "lru.h"
#include "mapfile.h"
#include "pager.h"
#include "psi.h"
#include "stats.h"
#include "sys.h"
#include "trace.h"
#include "workingset.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The settings in force: config, with the live ones as their owners hold
 * them now. */
static void current(struct config *c)
{
	*c = config;
	c->limit_auto = autolimit_on();
	c->limit_bytes = autolimit_given_bytes();
	c->swappiness = balance_swappiness_setting();
	c->wmark_min = pager.wmark_frac[0];
	c->wmark_low = pager.wmark_frac[1];
	c->wmark_high = pager.wmark_frac[2];
	c->batch = pager.batch;
	c->refault_activate = workingset_refault_activate();
	c->file_cache_drop = mapfile_cache_drop();
}

int live_set(int n, const char *const env[], const char *const val[], char *err, size_t errlen)
{
	struct config c;

	current(&c);
	for (int i = 0; i < n; i++) {
		if (!config_is_live(env[i])) {
			snprintf(err, errlen, "%s cannot be changed while the program runs",
				 env[i]);
			return -EINVAL;
		}
		if (config_apply(&c, env[i], val[i], err, errlen))
			return -EINVAL;
		if (!strcmp(env[i], "USWAP_LIMIT") && !c.limit_auto &&
		    (c.limit_bytes >> 12) > autolimit_cap_pages()) {
			snprintf(err, errlen,
				 "limit %s is above what this run can hold (%llu MiB); "
				 "start it with a larger --limit",
				 val[i], (unsigned long long)(autolimit_cap_pages() >> 8));
			return -EINVAL;
		}
	}
	if (config_check_watermarks(&c, err, errlen))
		return -EINVAL;
	balance_set_swappiness(c.swappiness);
	workingset_set_refault_activate(c.refault_activate);
	mapfile_set_cache_drop(c.file_cache_drop);
	pager_set_watermarks(c.wmark_min, c.wmark_low, c.wmark_high, c.batch);
	autolimit_set(c.limit_auto, c.limit_bytes);
	return 0;
}

int64_t live_reclaim(uint64_t pages, uint64_t timeout_ns)
{
	uint64_t t0 = sys_now_ns(), before = stats.pgsteal_anon + stats.pgsteal_file, done = 0;

	pager_lock();
	pager.pageout_req += pages;
	pager_unlock();
	pager_wake_scanner();
	while (sys_now_ns() - t0 < timeout_ns) {
		struct timespec ts = { 0, 2000000 };

		done = stats.pgsteal_anon + stats.pgsteal_file - before;
		if (done >= pages || !__atomic_load_n(&pager.pageout_req, __ATOMIC_RELAXED))
			break;
		nanosleep(&ts, NULL);
	}
	/* Let writes started for this request land before counting them. */
	for (int i = 0; i < 500 && __atomic_load_n(&pager.nr_writeback, __ATOMIC_RELAXED); i++) {
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);
	}
	pager_lock();
	pager.pageout_req = 0;
	pager_unlock();
	done = stats.pgsteal_anon + stats.pgsteal_file - before;
	return (int64_t)(done < pages ? done : pages);
}

void live_snapshot_json(struct jbuf *j)
{
	uint64_t v[USWAP_TRACE_NCOL];
	struct psi_times p;
	struct config c;

	current(&c);
	psi_read(&p);
	jbuf_printf(j, "{\"limit_bytes\": %llu, \"resident_bytes\": %llu, \"limit_mode\": \"%s\", ",
		    (unsigned long long)(pager.limit_pages << 12),
		    (unsigned long long)(lru.nr_allocated << 12), c.limit_auto ? "auto" : "fixed");
	if (c.swappiness == SWAPPINESS_AUTO)
		jbuf_printf(j, "\"swappiness\": \"auto\", ");
	else
		jbuf_printf(j, "\"swappiness\": %d, ", c.swappiness);
	jbuf_printf(
		j,
		"\"swappiness_effective\": %d, \"wmark_min\": %g, \"wmark_low\": %g, \"wmark_high\": %g, "
		"\"batch\": %u, \"refault_activate\": \"%s\", \"file_cache\": \"%s\", \"uptime_s\": %.3f, ",
		balance_swappiness(), c.wmark_min, c.wmark_low, c.wmark_high, c.batch,
		c.refault_activate ? "on" : "off", c.file_cache_drop ? "drop" : "keep",
		(double)(p.t - psi_start_time()) / 1e9);
	trace_values(v, &p);
	for (int i = 0; i < USWAP_TRACE_NCOL; i++)
		jbuf_printf(j, "\"now_%s\": %llu, ", trace_column(i), (unsigned long long)v[i]);
	stats_counters_json(j);
	jbuf_printf(j, ", \"psi\": ");
	psi_json(j, &p);
	jbuf_printf(j, "}");
}
