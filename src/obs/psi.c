/*
 * Stall (PSI) accounting, fed by the fault handler thread, which sees
 * every fault and knows the faulting thread (UFFD_FEATURE_THREAD_ID). A
 * thread stalls on memory from the moment its fault is read until it is
 * woken: while it waits for a free frame (throttle) or for a read
 * (swapin). "some" is the time at least one thread stalled, "full" the
 * time all of the program's threads did, as in the kernel's PSI; threads
 * asleep for other reasons count as not stalled, so full is a lower bound
 * there. The monitor samples the totals every interval into a ring, for
 * the 10 s averages.
 */
#define _GNU_SOURCE
#include "psi.h"

#include "jbuf.h"
#include "sys.h"
#include "thread.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const psi_names[NR_PSI] = { "throttle", "swapin", "memory" };

#define MAX_WAITS 4096
#define MAX_THREADS 1024
#define WINDOW_NS 10000000000ULL

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
	struct psi_times now; /* totals up to now.t */
	uint32_t nr[2];	      /* threads throttled, reading */
	uint32_t nr_threads;  /* the program's threads (monitor samples it) */
	struct wait waits[MAX_WAITS];
	uint32_t nr_waits;
	struct thread_stall threads[MAX_THREADS];
} psi;

/* Ring of stall samples, one per interval, for the 10 s window. */
#define RING 1024
static struct psi_times ring[RING];
static uint64_t ring_n;
static uint64_t t_start;
static uint64_t (*clock_ns)(void) = sys_now_ns;

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
	uint64_t now = clock_ns();

	sys_lock(&psi.lock);
	psi_advance(now);
	wait_add(tid, page, kind, now);
	sys_unlock(&psi.lock);
}

void psi_throttle_begin(int tid, uintptr_t page)
{
	wait_begin(tid, page, PSI_THROTTLE);
}

void psi_throttle_end(int tid, uintptr_t page, bool reading, bool major)
{
	uint64_t now = clock_ns();

	sys_lock(&psi.lock);
	psi_advance(now);
	for (uint32_t i = 0; i < psi.nr_waits; i++)
		if (psi.waits[i].tid == tid && psi.waits[i].page == page &&
		    psi.waits[i].kind == PSI_THROTTLE) {
			wait_end(i, now);
			break;
		}
	if (reading)
		wait_add(tid, page, PSI_SWAPIN, now);
	sys_unlock(&psi.lock);
	psi_fault(tid, reading || major);
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
	now = clock_ns();
	sys_lock(&psi.lock);
	psi_advance(now);
	for (uint32_t i = 0; i < psi.nr_waits;)
		if (psi.waits[i].page == page && psi.waits[i].kind == PSI_SWAPIN)
			wait_end(i, now);
		else
			i++;
	sys_unlock(&psi.lock);
}

void psi_read(struct psi_times *out)
{
	sys_lock(&psi.lock);
	psi_advance(clock_ns());
	*out = psi.now;
	sys_unlock(&psi.lock);
}

void psi_sample_threads(void)
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
		n = strtol(p + 1, NULL, 10) - (long)thread_nr();
	sys_lock(&psi.lock);
	psi_advance(clock_ns());
	psi.nr_threads = n > 0 ? (uint32_t)n : 1;
	sys_unlock(&psi.lock);
}

void psi_pct(const struct psi_times *cur, int i, struct psi_pct *p)
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

void psi_json(struct jbuf *j, const struct psi_times *cur)
{
	jbuf_printf(j, "{");
	for (int i = 0; i < NR_PSI; i++) {
		struct psi_pct p;

		psi_pct(cur, i, &p);
		jbuf_printf(
			j,
			"%s\"%s\": {\"some_pct\": %.3f, \"full_pct\": %.3f, \"some_avg10\": %.3f, "
			"\"full_avg10\": %.3f, \"some_ns\": %llu, \"full_ns\": %llu}",
			i ? ", " : "", psi_names[i], p.some, p.full, p.some10, p.full10,
			(unsigned long long)cur->some[i], (unsigned long long)cur->full[i]);
	}
	jbuf_printf(j, "}");
}

void psi_threads_json(struct jbuf *j, const struct psi_times *cur)
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
						  snap[k - 1].throttle_ns + snap[k - 1].swapin_ns;
		     k--) {
			struct thread_stall t = snap[k];

			snap[k] = snap[k - 1];
			snap[k - 1] = t;
		}
	jbuf_printf(j, "[");
	for (uint32_t i = 0; i < n && i < 64; i++) {
		struct thread_stall *t = &snap[i];

		thread_name(t->tid, t->name, sizeof(t->name)); /* renamed since? */
		jbuf_printf(j, "%s{\"tid\": %d, \"name\": ", i ? ", " : "", t->tid);
		jbuf_str(j, t->name);
		jbuf_printf(
			j,
			", \"faults\": %llu, \"majfaults\": %llu, \"throttle_ns\": %llu, \"swapin_ns\": %llu, "
			"\"stall_pct\": %.3f}",
			(unsigned long long)t->faults, (unsigned long long)t->majfaults,
			(unsigned long long)t->throttle_ns, (unsigned long long)t->swapin_ns,
			run > 0 ? 100.0 * (double)(t->throttle_ns + t->swapin_ns) / run : 0);
	}
	jbuf_printf(j, "]");
}

void psi_start(uint64_t now)
{
	t_start = now;
	psi.now.t = now;
}

uint64_t psi_start_time(void)
{
	return t_start;
}

void psi_sample(const struct psi_times *p)
{
	ring[ring_n++ % RING] = *p;
}

void psi_fork_child(void)
{
	psi.lock = (struct sys_lock){ 0 };
	memset(psi.threads, 0, sizeof(psi.threads));
	psi.nr_waits = 0;
	psi.nr[0] = psi.nr[1] = 0;
}

void psi_reset(uint64_t (*clock)(void))
{
	memset(&psi, 0, sizeof(psi));
	ring_n = 0;
	clock_ns = clock ? clock : sys_now_ns;
	psi_start(clock_ns());
}
