/*
 * The monitor thread: it only reads counters and changes settings.
 *
 *   every interval   one trace row (--trace), a stall sample for the 10 s
 *                    window, the program's thread count
 *   every period     --limit auto: one step of the limit controller
 *   on a connection  a control request (ctl.c): show, set, reclaim
 *
 * Stall accounting (PSI) is fed by the fault handler thread, which sees
 * every fault and knows the faulting thread (UFFD_FEATURE_THREAD_ID). A
 * thread stalls on memory from the moment its fault is read until it is
 * woken: while it waits for a free frame (throttle) or for a read (swapin).
 * "some" is the time at least one thread stalled, "full" the time all of
 * the program's threads did, as in the kernel's PSI; threads asleep for
 * other reasons count as not stalled, so full is a lower bound there.
 */
#define _GNU_SOURCE
#include "monitor.h"

#include "attrib.h"
#include "balance.h"
#include "config.h"
#include "ctl.h"
#include "jbuf.h"
#include "log.h"
#include "lru.h"
#include "rt.h"
#include "stats.h"
#include "swap.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { PSI_THROTTLE, PSI_SWAPIN, PSI_MEMORY, NR_PSI };
static const char *const psi_names[NR_PSI] = { "throttle", "swapin", "memory" };

#define MAX_WAITS 4096
#define MAX_THREADS 1024
#define WINDOW_NS 10000000000ULL

struct psi_times {
	uint64_t t;
	uint64_t some[NR_PSI], full[NR_PSI];
};

struct wait {
	int tid;
	uint8_t kind; /* PSI_THROTTLE or PSI_SWAPIN */
	uintptr_t page;
	uint64_t t0;
};

struct thread_stall {
	int tid; /* 0: free slot */
	char name[16];
	uint64_t faults, majfaults, throttle_ns, swapin_ns;
};

static struct {
	struct sys_lock lock;
	struct psi_times now;  /* totals up to now.t */
	uint32_t nr[2];        /* threads throttled, reading */
	uint32_t nr_threads;   /* the program's threads (monitor samples it) */
	struct wait waits[MAX_WAITS];
	uint32_t nr_waits;
	struct thread_stall threads[MAX_THREADS];
} psi;

/* Ring of stall samples, one per interval, for the 10 s window. */
#define RING 1024
static struct psi_times ring[RING];
static uint64_t ring_n;

static pthread_t monitor_thread;
static struct sys_lock mon_lock; /* the trace file, the controller */
static uint64_t t_start;
static int trace_fd = -1;
static bool trace_csv, stopped;
static int ctl_fd = -1;
static uint64_t limit_cap_pages; /* the frame table allows up to this */

static struct {
	uint64_t last_t, last_some;
	uint64_t min, max;
	uint64_t hist[10]; /* the limit after each of the last 10 steps */
	uint64_t steps;
} autolim;

/* ---- stall accounting (handler thread) ----------------------------------- */

static void psi_advance(uint64_t now)
{
	uint64_t dt = now - psi.now.t;
	uint32_t nr[NR_PSI] = { psi.nr[0], psi.nr[1], psi.nr[0] + psi.nr[1] };
	uint32_t all = psi.nr_threads ? psi.nr_threads : 1;

	for (int i = 0; i < NR_PSI; i++) {
		if (nr[i])
			psi.now.some[i] += dt;
		if (nr[i] >= all)
			psi.now.full[i] += dt;
	}
	psi.now.t = now;
}

static void thread_name(int tid, char *name, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = sys_read(fd, name, len - 1);
	close(fd);
	if (n > 0) {
		name[n] = 0;
		name[strcspn(name, "\n")] = 0;
	}
}

static struct thread_stall *thread_of(int tid)
{
	uint32_t h = ((uint32_t)tid * 2654435761u) % MAX_THREADS;

	for (uint32_t i = 0; i < MAX_THREADS; i++, h = (h + 1) % MAX_THREADS) {
		struct thread_stall *t = &psi.threads[h];

		if (t->tid == tid)
			return t;
		if (!t->tid) {
			t->tid = tid;
			thread_name(tid, t->name, sizeof(t->name));
			return t;
		}
	}
	return NULL; /* more than MAX_THREADS threads seen: totals only */
}

void psi_fault(int tid, bool major)
{
	struct thread_stall *t;

	sys_lock(&psi.lock);
	t = thread_of(tid);
	if (t) {
		t->faults++;
		t->majfaults += major;
	}
	sys_unlock(&psi.lock);
}

static void wait_add(int tid, uintptr_t page, int kind, uint64_t now)
{
	if (psi.nr_waits == MAX_WAITS)
		return;
	psi.waits[psi.nr_waits++] = (struct wait){ tid, (uint8_t)kind, page, now };
	psi.nr[kind]++;
}

/* End wait i: charge its thread, and remove it. */
static void wait_end(uint32_t i, uint64_t now)
{
	struct wait *w = &psi.waits[i];
	struct thread_stall *t = thread_of(w->tid);

	if (t)
		*(w->kind == PSI_THROTTLE ? &t->throttle_ns : &t->swapin_ns) += now - w->t0;
	psi.nr[w->kind]--;
	*w = psi.waits[--psi.nr_waits];
}

/* A stall begins: the clock runs on to now under the old counts first. */
static void wait_begin(int tid, uintptr_t page, int kind)
{
	uint64_t now = sys_now_ns();

	sys_lock(&psi.lock);
	psi_advance(now);
	wait_add(tid, page, kind, now);
	sys_unlock(&psi.lock);
}

void psi_throttle_begin(int tid, uintptr_t page)
{
	wait_begin(tid, page, PSI_THROTTLE);
}

void psi_throttle_end(int tid, uintptr_t page, bool reading)
{
	uint64_t now = sys_now_ns();

	sys_lock(&psi.lock);
	psi_advance(now);
	for (uint32_t i = 0; i < psi.nr_waits; i++)
		if (psi.waits[i].tid == tid && psi.waits[i].page == page && psi.waits[i].kind == PSI_THROTTLE) {
			wait_end(i, now);
			break;
		}
	if (reading)
		wait_add(tid, page, PSI_SWAPIN, now);
	sys_unlock(&psi.lock);
	psi_fault(tid, reading);
}

void psi_read_begin(int tid, uintptr_t page)
{
	wait_begin(tid, page, PSI_SWAPIN);
	psi_fault(tid, true);
}

void psi_read_end(uintptr_t page)
{
	uint64_t now;

	if (!__atomic_load_n(&psi.nr[PSI_SWAPIN], __ATOMIC_RELAXED))
		return;
	now = sys_now_ns();
	sys_lock(&psi.lock);
	psi_advance(now);
	for (uint32_t i = 0; i < psi.nr_waits;)
		if (psi.waits[i].page == page && psi.waits[i].kind == PSI_SWAPIN)
			wait_end(i, now);
		else
			i++;
	sys_unlock(&psi.lock);
}

static void psi_read(struct psi_times *out)
{
	sys_lock(&psi.lock);
	psi_advance(sys_now_ns());
	*out = psi.now;
	sys_unlock(&psi.lock);
}

/* The program's threads: all of the process's, less the runtime's own. */
static void sample_threads(void)
{
	char buf[1024], *p;
	long n = 0;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t len;

	if (fd < 0)
		return;
	len = sys_read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return;
	buf[len] = 0;
	p = strrchr(buf, ')'); /* the name may hold spaces */
	for (int field = 2; p && field < 20; field++)
		p = strchr(p + 1, ' ');
	if (p)
		n = strtol(p + 1, NULL, 10) - (long)__atomic_load_n(&rt_nr_threads, __ATOMIC_RELAXED);
	sys_lock(&psi.lock);
	psi_advance(sys_now_ns());
	psi.nr_threads = n > 0 ? (uint32_t)n : 1;
	sys_unlock(&psi.lock);
}

/* Percentages over the whole run and over the last 10 s. */
struct psi_pct {
	double some, full, some10, full10;
};

static void psi_pct(const struct psi_times *cur, int i, struct psi_pct *p)
{
	const struct psi_times *old = NULL;
	double run = (double)(cur->t - t_start);

	/* The oldest sample within the window. */
	for (uint64_t k = ring_n > RING ? ring_n - RING : 0; k < ring_n; k++)
		if (cur->t - ring[k % RING].t <= WINDOW_NS) {
			old = &ring[k % RING];
			break;
		}
	p->some = run > 0 ? 100.0 * (double)cur->some[i] / run : 0;
	p->full = run > 0 ? 100.0 * (double)cur->full[i] / run : 0;
	if (!old || cur->t <= old->t) {
		p->some10 = p->some;
		p->full10 = p->full;
		return;
	}
	p->some10 = 100.0 * (double)(cur->some[i] - old->some[i]) / (double)(cur->t - old->t);
	p->full10 = 100.0 * (double)(cur->full[i] - old->full[i]) / (double)(cur->t - old->t);
}

static void psi_json(struct jbuf *j, const struct psi_times *cur)
{
	jb_printf(j, "{");
	for (int i = 0; i < NR_PSI; i++) {
		struct psi_pct p;

		psi_pct(cur, i, &p);
		jb_printf(j, "%s\"%s\": {\"some_pct\": %.3f, \"full_pct\": %.3f, \"some_avg10\": %.3f, "
			  "\"full_avg10\": %.3f, \"some_ns\": %llu, \"full_ns\": %llu}",
			  i ? ", " : "", psi_names[i], p.some, p.full, p.some10, p.full10,
			  (unsigned long long)cur->some[i], (unsigned long long)cur->full[i]);
	}
	jb_printf(j, "}");
}

static void threads_json(struct jbuf *j, const struct psi_times *cur)
{
	static struct thread_stall snap[MAX_THREADS];
	uint32_t n = 0;
	double run = (double)(cur->t - t_start);

	sys_lock(&psi.lock);
	for (uint32_t i = 0; i < MAX_THREADS; i++)
		if (psi.threads[i].tid)
			snap[n++] = psi.threads[i];
	sys_unlock(&psi.lock);
	/* Most stalled first. */
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t k = i; k && snap[k].throttle_ns + snap[k].swapin_ns >
					       snap[k - 1].throttle_ns + snap[k - 1].swapin_ns; k--) {
			struct thread_stall t = snap[k];

			snap[k] = snap[k - 1];
			snap[k - 1] = t;
		}
	jb_printf(j, "[");
	for (uint32_t i = 0; i < n && i < 64; i++) {
		struct thread_stall *t = &snap[i];

		thread_name(t->tid, t->name, sizeof(t->name)); /* renamed since? */
		jb_printf(j, "%s{\"tid\": %d, \"name\": ", i ? ", " : "", t->tid);
		jb_str(j, t->name);
		jb_printf(j, ", \"faults\": %llu, \"majfaults\": %llu, \"throttle_ns\": %llu, \"swapin_ns\": %llu, "
			  "\"stall_pct\": %.3f}",
			  (unsigned long long)t->faults, (unsigned long long)t->majfaults,
			  (unsigned long long)t->throttle_ns, (unsigned long long)t->swapin_ns,
			  run > 0 ? 100.0 * (double)(t->throttle_ns + t->swapin_ns) / run : 0);
	}
	jb_printf(j, "]");
}

/* ---- the trace ------------------------------------------------------------ */

static uint64_t thread_cpu(pthread_t t)
{
	clockid_t c;
	struct timespec ts;

	if (pthread_getcpuclockid(t, &c) || clock_gettime(c, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#define TRACE_FIELDS(X)                                                             \
	X(limit_bytes, rt.limit_pages << 12)                                        \
	X(resident_bytes, lru.nr_allocated << 12)                                   \
	X(active_anon, lru.lists[LRU_ACTIVE_ANON].nr)                               \
	X(inactive_anon, lru.lists[LRU_INACTIVE_ANON].nr)                           \
	X(active_file, lru.lists[LRU_ACTIVE_FILE].nr)                               \
	X(inactive_file, lru.lists[LRU_INACTIVE_FILE].nr)                           \
	X(pgfault, stats.pgfault)                                                   \
	X(pgmajfault, stats.pgmajfault)                                             \
	X(pswpin, stats.pswpin)                                                     \
	X(pswpout, stats.pswpout)                                                   \
	X(pgpgin, stats.pgpgin)                                                     \
	X(pgpgout, stats.pgpgout)                                                   \
	X(pgsteal_anon, stats.pgsteal_anon)                                         \
	X(pgsteal_file, stats.pgsteal_file)                                         \
	X(refault_anon, stats.workingset_refault_anon)                              \
	X(refault_file, stats.workingset_refault_file)                              \
	X(writeback, rt.nr_writeback)                                               \
	X(throttled, rt.nr_waiting)                                                 \
	X(throttle_ns, stats.throttle_ns)                                           \
	X(stall_some_ns, p->some[PSI_MEMORY])                                       \
	X(stall_full_ns, p->full[PSI_MEMORY])                                       \
	X(scanner_cpu_ns, thread_cpu(scan_thread))                                  \
	X(handler_cpu_ns, thread_cpu(fault_thread))                                 \
	X(swap_bytes, swap_bytes_used())                                            \
	X(swappiness, (uint64_t)balance_swappiness())

static uint64_t swap_bytes_used(void)
{
	return swap.nr_used << 12;
}

static void trace_header(void)
{
	struct jbuf j = { 0 };

	if (!trace_csv)
		return;
	jb_printf(&j, "t");
#define X(name, expr) jb_printf(&j, "," #name);
	TRACE_FIELDS(X)
#undef X
	jb_printf(&j, "\n");
	if (!j.oom)
		(void)!sys_write(trace_fd, j.p, j.n);
	jb_free(&j);
}

static void trace_row(const struct psi_times *p)
{
	char buf[2048];
	int n;

	if (trace_fd < 0)
		return;
	if (trace_csv)
		n = snprintf(buf, sizeof(buf), "%.3f", (double)(p->t - t_start) / 1e9);
	else
		n = snprintf(buf, sizeof(buf), "{\"t\": %.3f", (double)(p->t - t_start) / 1e9);
#define X(name, expr)                                                                        \
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, trace_csv ? ",%llu" : ", \"" #name "\": %llu", \
		      (unsigned long long)(expr));
	TRACE_FIELDS(X)
#undef X
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, trace_csv ? "\n" : "}\n");
	if (sys_write(trace_fd, buf, (size_t)n) != n && !stopped) {
		log_line("cannot write the trace file %s: %s; tracing stops", config.trace_path,
			 strerror(errno));
		close(trace_fd);
		trace_fd = -1;
	}
}

/* ---- the auto-size limit -------------------------------------------------- */

/*
 * --limit auto: like a userspace memory.high controller (senpai). Every
 * period, if the memory stall of the period stayed under the target, the
 * limit goes down a step from what is resident; if it rose above, the
 * limit goes back up, by more the further the stall overshot. The size it
 * settled at is the mean of the last ten steps.
 */
static void auto_step(uint64_t now, const struct psi_times *p)
{
	uint64_t dt = now - autolim.last_t, some = p->some[PSI_MEMORY] - autolim.last_some;
	uint64_t limit = rt.limit_pages, resident = lru.nr_allocated, next;
	double stall, step = config.auto_step;

	if (!config.limit_auto || dt < config.auto_period_ns)
		return;
	autolim.last_t = now;
	autolim.last_some = p->some[PSI_MEMORY];
	stall = 100.0 * (double)some / (double)dt;
	if (stall <= config.auto_target) {
		next = (uint64_t)((double)(resident < limit ? resident : limit) * (1 - step));
	} else {
		double over = stall / config.auto_target;

		next = (uint64_t)((double)limit * (1 + step * (over < 4 ? over : 4)));
	}
	if (next < 256) /* 1 MiB, as the smallest fixed limit */
		next = 256;
	if (next > limit_cap_pages)
		next = limit_cap_pages;
	rt_set_limit(next << 12);
	autolim.hist[autolim.steps++ % 10] = next;
	if (!autolim.min || next < autolim.min)
		autolim.min = next;
	if (next > autolim.max)
		autolim.max = next;
}

static uint64_t auto_settled(void)
{
	uint64_t n = autolim.steps < 10 ? autolim.steps : 10, sum = 0;

	for (uint64_t i = 0; i < n; i++)
		sum += autolim.hist[i];
	return n ? sum / n : rt.limit_pages;
}

/* ---- the thread ----------------------------------------------------------- */

static void tick(uint64_t now)
{
	struct psi_times p;

	sample_threads();
	psi_read(&p);
	sys_lock(&mon_lock);
	if (!stopped) {
		ring[ring_n++ % RING] = p;
		auto_step(now, &p);
		trace_row(&p);
	}
	sys_unlock(&mon_lock);
}

static void *monitor_main(void *arg)
{
	uint64_t next = sys_now_ns() + config.interval_ns;

	(void)arg;
	for (;;) {
		struct pollfd pfd = { .fd = ctl_fd, .events = POLLIN };
		uint64_t now = sys_now_ns();
		int timeout = now >= next ? 0 : (int)((next - now + 999999) / 1000000);

		/* A program that closes every descriptor closes ours too: the
		 * number may be the program's now, so forget it, do not close it. */
		if (poll(&pfd, ctl_fd >= 0, timeout) > 0 &&
		    ((pfd.revents & (POLLNVAL | POLLERR)) ||
		     ((pfd.revents & POLLIN) && ctl_serve(ctl_fd) == -EBADF)))
			ctl_fd = -1;
		now = sys_now_ns();
		if (now >= next) {
			tick(now);
			next += config.interval_ns;
			if (next < now) /* a long request: skip, do not burst */
				next = now + config.interval_ns;
		}
		if (__atomic_load_n(&stopped, __ATOMIC_ACQUIRE))
			return NULL;
	}
}

static bool is_top_process(void)
{
	return config.stats_pid < 0 || config.stats_pid == getpid();
}

static int open_trace(char *err, size_t errlen)
{
	size_t n;

	if (!config.trace_path || !is_top_process())
		return 0;
	n = strlen(config.trace_path);
	trace_csv = n >= 4 && !strcmp(config.trace_path + n - 4, ".csv");
	trace_fd = open(config.trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (trace_fd < 0) {
		snprintf(err, errlen, "cannot write trace file %s: %s", config.trace_path, strerror(errno));
		return -errno;
	}
	trace_header();
	return 0;
}

static int start_thread(char *err, size_t errlen)
{
	char e[256];

	ctl_fd = ctl_listen(e, sizeof(e));
	if (ctl_fd < 0) {
		log_line("warning: no control socket: %s", e);
		ctl_fd = -1;
	}
	return rt_start_thread(&monitor_thread, monitor_main, "uswap-monitor", err, errlen);
}

int monitor_start(char *err, size_t errlen)
{
	int r;

	t_start = sys_now_ns();
	psi.now.t = t_start;
	autolim.last_t = t_start;
	limit_cap_pages = (lru.cap - 1024) / 2;
	/* Before any stall is reported: with no count, full would mean one thread. */
	sample_threads();
	r = open_trace(err, errlen);
	if (r)
		return r;
	return start_thread(err, errlen);
}

/* In a forked child: the parent's thread and socket are gone; a child
 * keeps no trace (the parent's file is the parent's). */
int monitor_fork_child(char *err, size_t errlen)
{
	psi.lock = (struct sys_lock){ 0 };
	mon_lock = (struct sys_lock){ 0 };
	memset(psi.threads, 0, sizeof(psi.threads));
	psi.nr_waits = 0;
	psi.nr[0] = psi.nr[1] = 0;
	trace_fd = -1;
	ctl_fork_child();
	return start_thread(err, errlen);
}

void monitor_stop(void)
{
	struct psi_times p;

	sample_threads();
	psi_read(&p);
	sys_lock(&mon_lock);
	if (!stopped) {
		ring[ring_n++ % RING] = p;
		trace_row(&p);
		__atomic_store_n(&stopped, true, __ATOMIC_RELEASE);
	}
	sys_unlock(&mon_lock);
}

/* ---- what ctl and the stats file show ------------------------------------- */

void monitor_run_json(struct jbuf *j)
{
	char cmd[4096];
	struct psi_times p;
	ssize_t n = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = sys_read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
	}
	for (ssize_t i = 0; i < n - 1; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	cmd[n > 0 ? n : 0] = 0;
	psi_read(&p);
	jb_printf(j, "\"run\": {\"pid\": %d, \"command\": ", (int)getpid());
	jb_str(j, cmd);
	jb_printf(j, ", \"duration_s\": %.3f, \"interval_ms\": %.0f, \"trace\": ",
		  (double)(p.t - t_start) / 1e9, (double)config.interval_ns / 1e6);
	if (trace_fd >= 0 || (config.trace_path && is_top_process()))
		jb_str(j, config.trace_path);
	else
		jb_printf(j, "null");
	jb_printf(j, ", \"limit_mode\": \"%s\"}, \"psi\": ", config.limit_auto ? "auto" : "fixed");
	psi_json(j, &p);
	jb_printf(j, ", \"threads\": ");
	threads_json(j, &p);
	if (config.limit_auto)
		jb_printf(j, ", \"auto\": {\"settled_bytes\": %llu, \"final_bytes\": %llu, \"min_bytes\": %llu, "
			  "\"max_bytes\": %llu, \"target_pct\": %g, \"steps\": %llu}",
			  (unsigned long long)(auto_settled() << 12), (unsigned long long)(rt.limit_pages << 12),
			  (unsigned long long)(autolim.min << 12), (unsigned long long)(autolim.max << 12),
			  config.auto_target, (unsigned long long)autolim.steps);
}

void monitor_summary(char *buf, size_t len)
{
	struct psi_times p;
	struct psi_pct m;
	int n;

	psi_read(&p);
	psi_pct(&p, PSI_MEMORY, &m);
	n = snprintf(buf, len, "memory stall some %.1f%% full %.1f%%", m.some, m.full);
	if (config.limit_auto && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", auto limit settled at %llu MiB (%llu steps)",
			 (unsigned long long)(auto_settled() >> 8), (unsigned long long)autolim.steps);
}

void monitor_snapshot_json(struct jbuf *j)
{
	struct psi_times snap, *p = &snap;

	psi_read(p);
	jb_printf(j, "{\"limit_bytes\": %llu, \"resident_bytes\": %llu, \"limit_mode\": \"%s\", ",
		  (unsigned long long)(rt.limit_pages << 12), (unsigned long long)(lru.nr_allocated << 12),
		  config.limit_auto ? "auto" : "fixed");
	if (config.swappiness == SWAPPINESS_AUTO)
		jb_printf(j, "\"swappiness\": \"auto\", ");
	else
		jb_printf(j, "\"swappiness\": %d, ", config.swappiness);
	jb_printf(j, "\"swappiness_effective\": %d, \"wmark_min\": %g, \"wmark_low\": %g, \"wmark_high\": %g, "
		  "\"batch\": %u, \"refault_activate\": \"%s\", \"file_cache\": \"%s\", \"uptime_s\": %.3f, ",
		  balance_swappiness(), config.wmark_min, config.wmark_low, config.wmark_high, config.batch,
		  config.refault_activate ? "on" : "off", config.file_cache_drop ? "drop" : "keep",
		  (double)(p->t - t_start) / 1e9);
#define X(name, expr) jb_printf(j, "\"now_" #name "\": %llu, ", (unsigned long long)(expr));
	TRACE_FIELDS(X)
#undef X
	stats_counters_json(j);
	jb_printf(j, ", \"psi\": ");
	psi_json(j, p);
	jb_printf(j, "}");
}

/* ---- control -------------------------------------------------------------- */

static const char *const live_settings[] = {
	"USWAP_LIMIT", "USWAP_SWAPPINESS", "USWAP_WMARK_MIN", "USWAP_WMARK_LOW",
	"USWAP_WMARK_HIGH", "USWAP_BATCH", "USWAP_REFAULT_ACTIVATE", "USWAP_FILE_CACHE",
};

static bool is_live(const char *env)
{
	for (size_t i = 0; i < sizeof(live_settings) / sizeof(live_settings[0]); i++)
		if (!strcmp(env, live_settings[i]))
			return true;
	return false;
}

int monitor_set(int n, const char *const env[], const char *const val[], char *err, size_t errlen)
{
	struct config c = config;

	for (int i = 0; i < n; i++) {
		if (!is_live(env[i])) {
			snprintf(err, errlen, "%s cannot be changed while the program runs", env[i]);
			return -EINVAL;
		}
		if (config_apply(&c, env[i], val[i], err, errlen))
			return -EINVAL;
		if (!strcmp(env[i], "USWAP_LIMIT") && !c.limit_auto && (c.limit_bytes >> 12) > limit_cap_pages) {
			snprintf(err, errlen, "limit %s is above what this run can hold (%llu MiB); "
				 "start it with a larger --limit", val[i],
				 (unsigned long long)(limit_cap_pages >> 8));
			return -EINVAL;
		}
	}
	if (!(c.wmark_min <= c.wmark_low && c.wmark_low <= c.wmark_high)) {
		snprintf(err, errlen, "watermarks must satisfy min <= low <= high (got %g, %g, %g)",
			 c.wmark_min, c.wmark_low, c.wmark_high);
		return -EINVAL;
	}
	sys_lock(&mon_lock);
	if (c.limit_auto && !config.limit_auto) {
		/* Start the controller from the limit in force. */
		c.limit_bytes = rt.limit_pages << 12;
		autolim.last_t = sys_now_ns();
		autolim.last_some = psi.now.some[PSI_MEMORY];
	}
	config.swappiness = c.swappiness;
	config.wmark_min = c.wmark_min;
	config.wmark_low = c.wmark_low;
	config.wmark_high = c.wmark_high;
	config.batch = c.batch;
	config.refault_activate = c.refault_activate;
	config.file_cache_drop = c.file_cache_drop;
	config.limit_auto = c.limit_auto;
	config.limit_bytes = c.limit_bytes;
	rt_set_limit(config.limit_auto ? rt.limit_pages << 12 : config.limit_bytes);
	sys_unlock(&mon_lock);
	return 0;
}

int64_t monitor_reclaim(uint64_t pages, uint64_t timeout_ns)
{
	uint64_t t0 = sys_now_ns(), before = stats.pgsteal_anon + stats.pgsteal_file, done = 0;

	sys_lock(&rt.lock);
	rt.pageout_req += pages;
	sys_unlock(&rt.lock);
	rt_wake_scanner();
	while (sys_now_ns() - t0 < timeout_ns) {
		struct timespec ts = { 0, 2000000 };

		done = stats.pgsteal_anon + stats.pgsteal_file - before;
		if (done >= pages || !__atomic_load_n(&rt.pageout_req, __ATOMIC_RELAXED))
			break;
		nanosleep(&ts, NULL);
	}
	/* Let writes started for this request land before counting them. */
	for (int i = 0; i < 500 && __atomic_load_n(&rt.nr_writeback, __ATOMIC_RELAXED); i++) {
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);
	}
	sys_lock(&rt.lock);
	rt.pageout_req = 0;
	sys_unlock(&rt.lock);
	done = stats.pgsteal_anon + stats.pgsteal_file - before;
	return (int64_t)(done < pages ? done : pages);
}
