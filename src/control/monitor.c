/*
 * The monitor thread: it only reads counters and changes settings.
 *
 *   every interval   one trace row (--trace), a stall sample for the 10 s
 *                    window, the program's thread count
 *   every period     --limit auto: one step of the limit controller
 *   on a connection  a control request (ctl.c): show, set, reclaim; the
 *                    clients are served side by side, never waited for
 *
 * It never scans or evicts. The stall accounting it samples is fed by the
 * fault handler (obs/psi.c).
 */
#define _GNU_SOURCE
#include "monitor.h"

#include "autolimit.h"
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "psi.h"
#include "sys.h"
#include "thread.h"
#include "trace.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

/* The monitor thread's state: one struct, so a forked child starts afresh
 * with one assignment (monitor_fork_child). */
static struct monitor {
	struct sys_lock lock; /* a tick against the last row at exit (2nd in mm/pager.h's order) */
	bool stopped;	      /* the last row is written: no more */
} M;

/* One interval's work; stop: the last one, at exit. */
static void tick(uint64_t now, bool stop)
{
	struct psi_times p;

	psi_sample_threads();
	psi_read(&p);
	/* At exit, the monitor may be in a tick that waits for the pager lock
	 * held by the thread that is exiting (from a signal handler): the last
	 * row is then left out rather than waited for. */
	if (!stop)
		sys_lock(&M.lock);
	else if (!sys_lock_timed(&M.lock, 500 * 1000000ULL))
		return;
	if (!M.stopped) {
		psi_sample(&p);
		if (!stop)
			autolimit_step(now, &p);
		trace_row(&p);
		if (stop)
			__atomic_store_n(&M.stopped, true, __ATOMIC_RELEASE);
	}
	sys_unlock(&M.lock);
}

static void *monitor_main(void *arg)
{
	uint64_t next = sys_now_ns() + config.interval_ns;

	(void)arg;
	for (;;) {
		struct pollfd pfd[CTL_MAX_POLLFDS];
		uint64_t now = sys_now_ns(), wake = next;
		int n = ctl_pollfds(pfd, &wake);
		int timeout = now >= wake ? 0 : (int)((wake - now + 999999) / 1000000);

		poll(pfd, (nfds_t)n, timeout);
		ctl_events(pfd, n);
		now = sys_now_ns();
		if (now >= next) {
			tick(now, false);
			next += config.interval_ns;
			if (next < now) /* a long request: skip, do not burst */
				next = now + config.interval_ns;
		}
		if (__atomic_load_n(&M.stopped, __ATOMIC_ACQUIRE))
			return NULL;
	}
}

static int start_thread(char *err, size_t errlen)
{
	char e[256];

	if (ctl_listen(e, sizeof(e)))
		log_line("warning: no control socket: %s", e);
	return thread_start(THREAD_MONITOR, monitor_main, "uswap-monitor", err, errlen);
}

int monitor_start(char *err, size_t errlen)
{
	uint64_t now = sys_now_ns();
	int r;

	psi_start(now);
	autolimit_init(now);
	ctl_init();
	/* Before any stall is reported: with no count, full would mean one thread. */
	psi_sample_threads();
	r = trace_open(err, errlen);
	if (r)
		return r;
	return start_thread(err, errlen);
}

void monitor_fork_forget(void)
{
	M = (struct monitor){ 0 };
	autolimit_fork_child();
	psi_fork_child();
	trace_fork_child();
	ctl_fork_child();
}

int monitor_fork_child(char *err, size_t errlen)
{
	return start_thread(err, errlen);
}

void monitor_stop(void)
{
	tick(sys_now_ns(), true);
	ctl_exit();
}

