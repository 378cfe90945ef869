/*
 * fork() under uswap: one protocol, in the order of the table below.
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
 *   others; T takes the pager lock, so no other thread changes the runtime's state.
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
 *
 * The hooks, in order (parent runs prepare's in reverse). The preload
 * layer runs stdio's and jemalloc's prefork before fork_prepare, and
 * jemalloc's postfork after fork_parent and fork_child (preload/boot.c):
 * every thread's faults are served until the allocator's locks are held.
 *
 *   prepare                      parent                 child
 *   fork lock                    sites_fork_parent      sites_fork_child
 *   pager_fork_begin (park,      swap_freeze            pager_fork_child, fds,
 *     take the pager lock)       pager_fork_end           monitor_fork_forget, heap,
 *   file_fork_prepare            fork unlock              threads, stats, runtime (owner)
 *   pager_fork_hold                                     managed: swap, uffd, track,
 *   sites_fork_prepare                                    regions, pager_open, fault,
 *                                                         scan, monitor
 *                                                       unmanaged: restore_all, uffd,
 *                                                         fault, scan, swap, pager off
 *
 * The monitor thread is not parked: it may be answering `uswap ctl` (or
 * waiting for the pager lock to do so) while the fork copies memory and
 * descriptors. So the child first lets go of what the monitor held
 * (monitor_fork_forget: its locks, the parent's control descriptors, only
 * those still open as the sockets they were), before it opens a
 * descriptor of its own that could take a number the monitor had just
 * closed.
 */
#define _GNU_SOURCE
#include "fork.h"

#include "config.h"
#include "fault.h"
#include "fds.h"
#include "file.h"
#include "heap.h"
#include "log.h"
#include "lru.h"
#include "monitor.h"
#include "page.h"
#include "pager.h"
#include "region.h"
#include "runtime.h"
#include "scan.h"
#include "sites.h"
#include "stats.h"
#include "swap.h"
#include "sys.h"
#include "thread.h"
#include "track.h"
#include "uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sys_lock fork_lock; /* one fork at a time */
static bool engaged;		  /* this fork went through fork_prepare's core part */
static int done_pipe[2] = { -1, -1 };

void fork_prepare(void)
{
	engaged = false;
	if (runtime_owns()) {
		sys_lock(&fork_lock);
		engaged = true;
		if (pipe2(done_pipe, O_CLOEXEC)) {
			done_pipe[0] = done_pipe[1] = -1;
		} else {
			done_pipe[0] = fds_keep(done_pipe[0]);
			done_pipe[1] = fds_keep(done_pipe[1]);
		}
		pager_fork_begin();
		/* Parent and child must keep sharing these: the kernel's again. */
		file_fork_prepare();
		pager_fork_hold();
	}
	sites_fork_prepare();
}

void fork_parent(void)
{
	sites_fork_parent();
	if (!engaged)
		return;
	fds_close(done_pipe[1]);
	if (done_pipe[0] >= 0)
		swap_freeze(done_pipe[0]);
	pager_fork_end();
	sys_unlock(&fork_lock);
}

/* Put every page that is not in place back in place, in a child whose
 * ranges are not registered; the child then runs unmanaged. */
static void restore_all(void)
{
	int mem = sys_open_self("/proc/self/mem", O_RDWR | O_CLOEXEC);
	char *buf = sys_alloc_meta(PAGE_SIZE); /* aligned, for O_DIRECT */
	struct region_iter it;
	struct region *r;
	uint64_t lost = 0;

	for (uintptr_t a = region_iter_first(&it, 0, UINTPTR_MAX, &r); a;
	     a = region_iter_next(&it, &r)) {
		uint64_t w = *region_pst(r, a);
		struct frame *fr = lru_frame(ps_frame(w));
		const void *src = NULL;

		if (ps_type(w) == PS_SWAPPED) {
			int err = buf ? swap_read_page(ps_slot(w), buf) : -ENOMEM;

			if (err == -EBADMSG)
				log_oom_kill("forked child: swap page at %#lx (slot %u) fails its "
					     "%s: the swap file was changed behind uswap; "
					     "killing the program",
					     (unsigned long)a, ps_slot(w),
					     swap.encrypt ? "authentication" : "checksum");
			if (!err)
				src = buf;
		} else if (ps_type(w) == PS_RESIDENT && (fr->flags & F_STAGED)) {
			if (track_mode == TRACK_MPROTECT) {
				sys_mprotect((void *)a, PAGE_SIZE, PROT_READ | PROT_WRITE);
				continue;
			}
			src = (const void *)track_staging(ps_frame(w));
		} else {
			continue;
		}
		/* Through /proc/self/mem: the program may have made the page read-only. */
		if (!src || mem < 0 ||
		    sys_pwrite(mem, src, PAGE_SIZE, (off_t)a) != (ssize_t)PAGE_SIZE)
			lost++;
	}
	/* File pages not in memory: from their files (MAP_PRIVATE only; the
	 * shared mappings went back to the kernel before the fork). */
	region_for_each(rg) {
		if (rg->kind != REGION_FILE)
			continue;
		for (uintptr_t a = rg->start; a < rg->end; a += PAGE_SIZE) {
			uint64_t w = *region_pst(rg, a);
			ssize_t n;

			if (ps_type(w) != PS_NONE && ps_type(w) != PS_FILE)
				continue;
			n = buf ? sys_pread(rg->file->fd, buf, PAGE_SIZE,
					    (off_t)region_file_off(rg, a)) :
				  -1;
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
		log_line(
			"warning: forked child: %llu evicted pages could not be restored and read as zeros",
			(unsigned long long)lost);
}

/* The child's own runtime. On failure the new userfaultfd is closed again
 * (dropping every registration), so restore_all can still run. */
static int rebuild(char *err, size_t errlen)
{
	int r;

	r = uffd_probe(err, errlen);
	if (r)
		return r;
	r = swap_fork_child(config.swap_path, done_pipe[1], err, errlen);
	if (r)
		return r;
	done_pipe[1] = -1; /* swap.c closes it once no slot is the parent's */
	uffd_close();	   /* the parent's */
	r = uffd_open(err, errlen);
	if (r)
		return r;
	r = track_fork_child(err, errlen);
	if (r)
		goto fail;
	region_for_each(rg) {
		r = uffd_register(rg->start, rg->end - rg->start);
		if (r) {
			snprintf(err, errlen, "cannot register %#lx-%#lx: %s",
				 (unsigned long)rg->start, (unsigned long)rg->end, strerror(-r));
			goto fail;
		}
	}
	r = pager_open(err, errlen);
	if (r)
		goto fail;
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

bool fork_child(void)
{
	char err[256];
	bool managed = false;

	sites_fork_child();
	if (!engaged)
		return pager.enabled;
	/* Only this thread exists; what the others held is free. */
	pager_fork_child();
	fds_fork_child();
	monitor_fork_forget(); /* before any descriptor of ours is opened */
	fork_lock.word = 0;
	heap_fork_child();
	thread_fork_child();
	stats_fork_child(); /* the child's own counters from here */
	runtime_fork_child();
	fds_close(done_pipe[0]);
	if (config.fork_unmanaged || config.no_children) {
		restore_all();
	} else if (rebuild(err, sizeof(err)) == 0) {
		managed = true;
	} else {
		log_line("warning: forked child %d runs unmanaged: %s", (int)getpid(), err);
		restore_all();
	}
	fds_close(done_pipe[1]); /* nothing read from the parent's file any more */
	if (!managed) {
		char e[8];

		uffd_close();
		fault_fork_child(false, e, sizeof(e));
		scan_fork_child(false, e, sizeof(e));
		swap_close();
		pager_disable();
	}
	return managed;
}
