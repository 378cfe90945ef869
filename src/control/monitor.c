/*
 * The monitor thread: it only reads counters and changes settings.
 *
 *   every interval   one trace row (--trace), a stall sample for the 10 s
 *                    window, the program's thread count
 *   every period     --limit auto: one step of the limit controller
 *   on a connection  a control request (ctl.c): show, set, reclaim
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
	int ctl_fd;	      /* the control socket, -1 if none */
} M = { .ctl_fd = -1 };

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
		struct pollfd pfd = { .fd = M.ctl_fd, .events = POLLIN };
		uint64_t now = sys_now_ns();
		int timeout = now >= next ? 0 : (int)((next - now + 999999) / 1000000);

		/* A program that closes every descriptor closes ours too: the
		 * number may be the program's now, so forget it, do not close it. */
		if (poll(&pfd, M.ctl_fd >= 0, timeout) > 0 &&
		    ((pfd.revents & (POLLNVAL | POLLERR)) ||
		     ((pfd.revents & POLLIN) && ctl_serve(M.ctl_fd) == -EBADF)))
			M.ctl_fd = -1;
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

	M.ctl_fd = ctl_listen(e, sizeof(e));
	if (M.ctl_fd < 0) {
		log_line("warning: no control socket: %s", e);
		M.ctl_fd = -1;
	}
	return thread_start(THREAD_MONITOR, monitor_main, "uswap-monitor", err, errlen);
}

int monitor_start(char *err, size_t errlen)
{
	uint64_t now = sys_now_ns();
	int r;

	psi_start(now);
	autolimit_init(now);
	/* Before any stall is reported: with no count, full would mean one thread. */
	psi_sample_threads();
	r = trace_open(err, errlen);
	if (r)
		return r;
	return start_thread(err, errlen);
}

int monitor_fork_child(char *err, size_t errlen)
{
	M = (struct monitor){ .ctl_fd = -1 };
	psi_fork_child();
	trace_fork_child();
	ctl_fork_child();
	return start_thread(err, errlen);
}

void monitor_stop(void)
{
	tick(sys_now_ns(), true);
}

void monitor_fork_unmanaged(void)
{
	ctl_fork_child(); /* the parent's name is not ours to hold */
}
