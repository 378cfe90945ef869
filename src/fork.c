/*
 * fork() under uswap.
 *
 * A forked child inherits our memory, page states and frames (copy on
 * write), but not the userfaultfd registration (its VMAs come back
 * unregistered, so an evicted page would read as zeros), not the runtime's
 * threads, and it shares the parent's swap file, io_uring rings and
 * eventfds. The pthread_atfork handlers below make the child a managed
 * process of its own:
 *
 * prepare (the forking thread T, in the parent):
 *   the scanner finishes its writes in flight and parks; the fault handler
 *   finishes its reads in flight and from then on serves only T's faults
 *   (UFFD_FEATURE_THREAD_ID names the faulting thread), deferring all
 *   others; T takes rt.lock, so no other thread changes the runtime's state.
 *   glibc's own fork preparation may still touch managed memory after our
 *   handler ran: the handler serves those faults of T without the lock (T
 *   holds it and sleeps in the fault), and wakes T only once its
 *   bookkeeping is complete. So the state that fork() copies is consistent:
 *   no I/O in flight, no half-done update.
 * parent, after fork: freeze the swap slots in use (copy-on-fork: freed
 *   ones are not reused until the child has copied them), release T's lock,
 *   resume the threads.
 * child, after fork (single-threaded): copy the slots in use into a swap
 *   file of its own (same offsets, so every page state stays valid), open a
 *   new userfaultfd and register every managed range, new eventfds and
 *   rings, start its own handler and scanner, then tell the parent the
 *   slots are free. Pages the parent had moved to staging are in the
 *   child's staging copy. If any step fails, or with USWAP_ON_FORK=unmanaged
 *   (or USWAP_NO_CHILDREN), the child writes every evicted page back in
 *   place and runs unmanaged instead.
 */
#define _GNU_SOURCE
#include "config.h"
#include "file.h"
#include "ctl.h"
#include "log.h"
#include "monitor.h"
#include "lru.h"
#include "page.h"
#include "rt.h"
#include "stats.h"
#include "swap.h"
#include "track.h"
#include "uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sys_lock fork_lock; /* one fork at a time */
static bool engaged;              /* this fork went through rt_fork_prepare */
static int done_pipe[2] = { -1, -1 };
static uint32_t fork_gen;

void rt_fork_park(uint32_t bit)
{
	__atomic_fetch_or(&rt.fork_parked, bit, __ATOMIC_ACQ_REL);
	sys_futex_wake(&rt.fork_parked, 1);
}

void rt_fork_prepare(void)
{
	uint32_t p;
	uint64_t one = 1;

	engaged = false;
	if (!rt.enabled || rt.pid != getpid())
		return;
	sys_lock(&fork_lock);
	engaged = true;
	if (pipe2(done_pipe, O_CLOEXEC))
		done_pipe[0] = done_pipe[1] = -1;
	rt.fork_tid = sys_gettid();
	__atomic_store_n(&rt.fork_parked, 0, __ATOMIC_RELEASE);
	/* A new value each time: a scanner still leaving the previous fork's
	 * wait must see that this is another one. */
	fork_gen = fork_gen + 1 ? fork_gen + 1 : 1;
	__atomic_store_n(&rt.fork_req, fork_gen, __ATOMIC_RELEASE);
	rt_wake_scanner();
	(void)!sys_write(rt.fault_efd, &one, sizeof(one));
	while ((p = __atomic_load_n(&rt.fork_parked, __ATOMIC_ACQUIRE)) !=
	       (FORK_PARKED_SCANNER | FORK_PARKED_HANDLER))
		sys_futex_wait(&rt.fork_parked, p, -1);
	sys_lock(&rt.lock);
	/* Parent and child must keep sharing these: the kernel's again. */
	file_fork_prepare();
	__atomic_store_n(&rt.fork_locked, 1, __ATOMIC_RELEASE);
}

void rt_fork_parent(void)
{
	uint64_t one = 1;

	if (!engaged)
		return;
	if (done_pipe[1] >= 0)
		close(done_pipe[1]);
	if (done_pipe[0] >= 0)
		swap_freeze(done_pipe[0]);
	__atomic_store_n(&rt.fork_locked, 0, __ATOMIC_RELEASE);
	sys_unlock(&rt.lock);
	__atomic_store_n(&rt.fork_req, 0, __ATOMIC_RELEASE);
	sys_futex_wake(&rt.fork_req, 1);
	(void)!sys_write(rt.fault_efd, &one, sizeof(one));
	sys_unlock(&fork_lock);
}

/* Put every page that is not in place back in place, in a child whose
 * ranges are not registered; the child then runs unmanaged. */
static void restore_all(void)
{
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	char *buf = sys_alloc_meta(PAGE_SIZE); /* aligned, for O_DIRECT */
	struct region_iter it;
	struct region *r;
	uint64_t lost = 0;

	for (uintptr_t a = region_iter_first(&it, 0, UINTPTR_MAX, &r); a; a = region_iter_next(&it, &r)) {
		uint64_t w = *region_pst(r, a);
		struct frame *fr = frame_of(ps_index(w));
		const void *src = NULL;

		if (ps_type(w) == PS_SWAPPED) {
			if (buf && sys_pread(swap_read_fd(ps_index(w)), buf, PAGE_SIZE,
					 (off_t)swap_offset(ps_index(w))) == (ssize_t)PAGE_SIZE)
				src = buf;
		} else if (ps_type(w) == PS_RESIDENT && (fr->flags & F_STAGED)) {
			if (config.track == TRACK_MPROTECT) {
				sys_mprotect((void *)a, PAGE_SIZE, PROT_READ | PROT_WRITE);
				continue;
			}
			src = (const void *)rt_staging(ps_index(w));
		} else {
			continue;
		}
		/* Through /proc/self/mem: the program may have made the page read-only. */
		if (!src || mem < 0 || sys_pwrite(mem, src, PAGE_SIZE, (off_t)a) != (ssize_t)PAGE_SIZE)
			lost++;
	}
	/* File pages not in memory: from their files (MAP_PRIVATE only; the
	 * shared mappings went back to the kernel before the fork). */
	for (size_t i = 0; i < nr_regions; i++) {
		r = &regions[i];
		if (r->kind != REGION_FILE)
			continue;
		for (uintptr_t a = r->start; a < r->end; a += PAGE_SIZE) {
			uint64_t w = *region_pst(r, a);
			ssize_t n;

			if (ps_type(w) != PS_NONE && ps_type(w) != PS_FILE)
				continue;
			n = buf ? sys_pread(r->file->fd, buf, PAGE_SIZE, (off_t)region_file_off(r, a)) : -1;
			if (n < 0 || mem < 0) {
				lost++;
				continue;
			}
			memset(buf + n, 0, PAGE_SIZE - (size_t)n);
			if (sys_pwrite(mem, buf, PAGE_SIZE, (off_t)a) != (ssize_t)PAGE_SIZE)
				lost++;
		}
	}
	if (mem >= 0)
		close(mem);
	if (lost)
		log_line("warning: forked child: %llu evicted pages could not be restored and read as zeros",
			 (unsigned long long)lost);
}

/* The child's own runtime. On failure the new userfaultfd is closed again
 * (dropping every registration), so restore_all can still run. */
static int rebuild(char *err, size_t errlen)
{
	int r;

	r = swap_fork_child(config.swap_path, done_pipe[1], err, errlen);
	if (r)
		return r;
	done_pipe[1] = -1; /* swap.c closes it once no slot is the parent's */
	uffd_close(); /* the parent's */
	r = uffd_open(err, errlen);
	if (r)
		return r;
	r = track_fork_child(err, errlen);
	if (r)
		goto fail;
	if (rt.staging && (r = uffd_register(rt.staging, rt.staging_len))) {
		snprintf(err, errlen, "cannot register the staging area: %s", strerror(-r));
		goto fail;
	}
	for (size_t i = 0; i < nr_regions; i++) {
		r = uffd_register(regions[i].start, regions[i].end - regions[i].start);
		if (r) {
			snprintf(err, errlen, "cannot register %#lx-%#lx: %s", (unsigned long)regions[i].start,
				 (unsigned long)regions[i].end, strerror(-r));
			goto fail;
		}
	}
	close(rt.fault_efd);
	rt.fault_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rt.fault_efd < 0) {
		r = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/* The handler first, so that anything this thread touches from here on
	 * is served; once it runs there is no way back. */
	r = fault_fork_child(true, err, errlen);
	if (r)
		goto fail;
	r = scan_fork_child(true, err, errlen);
	if (!r)
		r = monitor_fork_child(err, errlen);
	if (r) {
		log_line("fatal: forked child %d: %s", (int)getpid(), err);
		_exit(127);
	}
	return 0;
fail:
	uffd_close();
	return r;
}

bool rt_fork_child(void)
{
	char err[256];
	bool managed = false;

	if (!engaged)
		return rt.enabled;
	/* Only this thread exists; what the others held is free. */
	rt.lock.word = 0;
	fork_lock.word = 0;
	rt.heap_bump_lock = 0;
	rt.fork_req = rt.fork_locked = rt.fork_parked = 0;
	rt.nr_waiting = 0;
	rt.pid = getpid();
	rt_nr_threads = 0;
	memset(&stats, 0, sizeof(stats)); /* the child's own counters from here */
	if (done_pipe[0] >= 0)
		close(done_pipe[0]);
	if (config.fork_unmanaged || config.no_children) {
		restore_all();
	} else if (rebuild(err, sizeof(err)) == 0) {
		managed = true;
	} else {
		log_line("warning: forked child %d runs unmanaged: %s", (int)rt.pid, err);
		restore_all();
	}
	if (done_pipe[1] >= 0)
		close(done_pipe[1]); /* nothing read from the parent's file any more */
	if (!managed) {
		char e[8];

		uffd_close();
		fault_fork_child(false, e, sizeof(e));
		scan_fork_child(false, e, sizeof(e));
		ctl_fork_child(); /* the parent's name is not ours to hold */
		close(swap.fd);
		if (swap.parent_fd >= 0)
			close(swap.parent_fd);
		if (swap.done_fd >= 0)
			close(swap.done_fd);
		swap.fd = swap.parent_fd = swap.done_fd = -1;
		rt.enabled = false;
	}
	return managed;
}
