/*
 * The fault handler thread: serves every userfaultfd fault of the process.
 *
 * One thread, one io_uring. The ring carries a multishot poll on the uffd,
 * a multishot poll on an eventfd the scanner (or a free) writes when memory
 * is released, and the swap-in reads. So one wait serves faults, wake-ups
 * and I/O completions, and a slow swap-in never holds up other faults.
 *
 * A fault on:
 *   an armed (inactive) page   move it back: that is the reference bit
 *   a never-filled page        a zero page, if a frame is free
 *   a swapped page             read its slot into a bounce buffer, then
 *                              UFFDIO_COPY it in (write-protected, so a page
 *                              that is only read keeps its swap copy valid)
 * A fault that needs a frame when none is free waits in a FIFO queue: the
 * faulting thread stays blocked in the kernel (throttled), the handler goes
 * on serving others, and the scanner is woken. The handler never reclaims.
 *
 * The wait queue holds one entry per thread (the fault's tid,
 * UFFD_FEATURE_THREAD_ID): a thread waits on one fault at a time. A signal
 * interrupts that wait; once its handler has run, the kernel raises the
 * fault again (at the same address, or at another one if the handler
 * jumped elsewhere), and that fault replaces the thread's entry, keeping
 * its turn. So the queue never holds more entries than the program has
 * threads. Beyond its capacity (65536; USWAP_WQ_CAP, read once at start
 * and meant for tests only, shrinks it so that tests/compat/threads.c
 * wq_full can fill it with 64 threads) a fault is still never dropped, as
 * its thread would sleep in the kernel for good: the handler notes the
 * range of such faults' addresses, and once the queue has drained to half
 * its capacity wakes that range (UFFDIO_WAKE) without serving it; each
 * woken thread runs its access again and faults again, and is queued if
 * there is room by then. The wake-up waits for reclaim to make room, so
 * neither the handler nor those threads spin.
 *
 * The handler never touches managed memory and takes no lock but the pager
 * lock (and the PSI lock, a leaf),
 * which no thread holds while it can fault.
 */
#define _GNU_SOURCE
#include "fault.h"

#include "aging.h"
#include "balance.h"
#include "config.h"
#include "debug.h"
#include "log.h"
#include "lru.h"
#include "mapfile.h"
#include "mrc.h"
#include "page.h"
#include "pager.h"
#include "poolsize.h"
#include "psi.h"
#include "region.h"
#include "ring.h"
#include "stats.h"
#include "swap.h"
#include "thread.h"
#include "track.h"
#include "uffd.h"
#include "workingset.h"
#include "zpool.h"

#include <errno.h>
#include <liburing.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Swap-ins in flight at once; reads are device-bound (~200 us each here),
 * so a few dozen keep the device busy. */
#define NR_READ_BUFS 64
/* uffd messages read at once: one read per wake-up serves a burst of this
 * many faults (32 bytes each); a read that fills the buffer is followed by
 * another. */
#define NR_MSGS 256
/* The handler's CPU time (CLOCK_THREAD_CPUTIME_ID: a system call, no vDSO)
 * is read at most this often, and at exit (fault_exit_counters). */
#define CPU_SAMPLE_NS 100000000ULL

enum { UD_UFFD = 1, UD_EFD = 2, UD_READ = 3 };

struct waiter {
	uintptr_t addr;
	uint64_t t0;
	int tid;
};

/* The wait queue's index: tid -> position in the queue (wq_tail at its
 * enqueue), open addressing on 2 x wq_cap slots. tid 0: empty. */
struct wq_slot {
	int tid;
	uint32_t pos;
};

/* The handler thread's state: one struct, so a forked child starts afresh
 * with one assignment (fault_fork_child). */
static struct handler {
	struct io_uring ring;
	char *rbufs; /* NR_READ_BUFS bounce pages */
	uint32_t rbuf_free[NR_READ_BUFS];
	uint32_t nr_rbuf_free;
	uint64_t rbuf_t0[NR_READ_BUFS]; /* submission time of each buffer's read */
	struct waiter *wq;		/* wq_cap faults waiting for memory */
	uint32_t wq_head, wq_tail;	/* wq_tail - wq_head = queued */
	uint32_t wq_cap;		/* a power of two */
	struct wq_slot *wq_index;	/* the queued threads, 2 * wq_cap slots */
	uintptr_t ovf_lo, ovf_hi;	/* faults the full queue could not take (0, 0: none) */
	/* Read-ahead of an address stream: rising, the last faulting page and
	 * the end of the pages read ahead; falling (ra_down), the lowest page
	 * read ahead and the end of the last faulting page. */
	uintptr_t ra_lo, ra_hi;
	unsigned ra_window;
	bool ra_down;
	uintptr_t zf_next; /* zero fault-around: the page that continues the stream */
	unsigned zf_window;
	uintptr_t zw_next; /* first-touch writes: the page that continues the stream */
	unsigned zw_window;
	uintptr_t prefetch_lo, prefetch_hi; /* MADV_WILLNEED range still to read (pager lock) */
	uint64_t cpu_at;		    /* when handler_cpu_ns was last read */
} H;

static void arm_poll(int fd, uint64_t ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&H.ring);

	io_uring_prep_poll_multishot(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, ud);
}

static uint64_t ud_read(uint32_t f, uint32_t buf)
{
	return ((uint64_t)f << 32) | ((uint64_t)buf << 8) | UD_READ;
}

static void maybe_wake_scanner(void)
{
	if (pager_free_pages() < pager.wmark_low)
		pager_wake_scanner();
}

enum fault_result {
	FAULT_DONE,    /* served, or nothing to do */
	FAULT_MAJOR,   /* served at once from swap (the compressed pool) */
	FAULT_WAIT,    /* needs memory (or a read buffer): queue it */
	FAULT_READING, /* a swap-in is in flight: its completion wakes the thread */
};

/* Start reading a page of region r into frame f: from its swap slot, or
 * from its file. */
static void start_read(const struct region *r, uint32_t f, uint32_t b)
{
	struct frame *fr = lru_frame(f);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&H.ring);
	char *buf = H.rbufs + ((size_t)b << PAGE_SHIFT);

	if (!sqe) {
		io_uring_submit(&H.ring);
		sqe = io_uring_get_sqe(&H.ring);
	}
	if (fr->flags & F_FILE) {
		io_uring_prep_read_fixed(sqe, r->file->fd, buf, PAGE_SIZE,
					 region_file_off(r, fr->addr), (int)b);
	} else {
		io_uring_prep_read_fixed(sqe, swap_file_index(fr->slot), buf, PAGE_SIZE,
					 swap_offset(fr->slot), (int)b);
		sqe->flags |= IOSQE_FIXED_FILE;
	}
	io_uring_sqe_set_data64(sqe, ud_read(f, b));
	H.rbuf_t0[b] = sys_now_ns();
}

/* Does the page need reading in: swapped out, or a file page not in memory? */
static bool needs_read(const struct region *r, uint64_t w)
{
	return ps_type(w) == PS_SWAPPED || ps_type(w) == PS_FILE ||
	       (ps_type(w) == PS_NONE && r->kind == REGION_FILE);
}

/* SI_READAHEAD: of an address stream; SI_CLUSTER: of a slot cluster. */
enum swap_in_why { SI_FAULT, SI_READAHEAD, SI_CLUSTER, SI_PREFETCH };

static void pool_in(uint32_t f, uint32_t b);

/* Start reading the page at addr (needs_read) into a new frame, or fill it
 * at once from the compressed pool (*at_once). NIL if no frame. */
static uint32_t page_in(struct region *r, uintptr_t page, enum swap_in_why why, bool *at_once)
{
	uint64_t *pst = region_pst(r, page), w = *pst;
	bool file = ps_type(w) != PS_SWAPPED;
	uint32_t f = lru_frame_alloc(page, r->origin);
	bool in_pool = !file && zpool_has(ps_slot(w));
	struct frame *fr;

	if (f == NIL)
		return NIL;
	fr = lru_frame(f);
	if (file)
		fr->flags |= F_FILE;
	else
		fr->slot = ps_slot(w);
	if (why != SI_FAULT) {
		fr->flags |= F_READAHEAD;
		if (why == SI_PREFETCH)
			stats.swap_prefetch++;
		else
			stats.swap_ra++;
		if (why == SI_CLUSTER) {
			fr->flags |= F_RA_WATCH;
			stats.swap_ra_cluster++;
		}
	}
	/* Read-ahead too, as the kernel does for every page it brings back. */
	if (ps_type(w) != PS_NONE) {
		uint64_t dist = workingset_refault(fr, file, w);

		if (!file)
			poolsize_note_refault(dist, in_pool);
		region_event(r, page, EV_REFAULT);
	} else {
		mrc_fill();
	}
	pst_set_reading(pst, f);
	stat_max(&stats.resident_peak_bytes, lru.nr_allocated << PAGE_SHIFT);
	*at_once = in_pool;
	if (*at_once)
		pool_in(f, H.rbuf_free[--H.nr_rbuf_free]);
	else
		start_read(r, f, H.rbuf_free[--H.nr_rbuf_free]);
	return f;
}

/*
 * Swap read-ahead, for sequential fault streams only (a random workload
 * would only fill memory with pages nobody asked for). A major fault within
 * the stream (between the previous fault and the end of what was read
 * ahead) opens or doubles a window of following pages (up to RA_MAX) that
 * are read along if they are swapped out, while more than the min
 * watermark plus the window is free: read-ahead takes only headroom the
 * scanner is already refilling, never a frame a waiting fault needs.
 * Measured: 256 MiB written then read twice under 32 MiB, 12.8 s -> 5.1 s,
 * major faults 38k -> 4k (window capped at the low watermark: 10.9 s).
 * A stream that falls (a loop running backwards) reads the pages below.
 */
#define RA_MIN 4
#define RA_MAX 32

static void swap_readahead(struct region *r, uintptr_t page)
{
	uintptr_t a, start, end;
	bool now;

	bool up = !H.ra_down && page >= H.ra_lo && page <= H.ra_hi;
	bool down = (H.ra_down || !H.ra_window) && page + PAGE_SIZE >= H.ra_lo &&
		    page + PAGE_SIZE < H.ra_hi;

	if (!up && !down) {
		/* Not following the stream: start watching afresh. */
		H.ra_window = 0;
		H.ra_down = false;
		H.ra_lo = page;
		H.ra_hi = page + PAGE_SIZE;
		return;
	}
	H.ra_window = H.ra_window ? (H.ra_window * 2 > RA_MAX ? RA_MAX : H.ra_window * 2) : RA_MIN;
	if (!up) {
		uintptr_t lo = H.ra_down && H.ra_lo < page ? H.ra_lo : page;
		uintptr_t floor = page - r->start > PAGE_SIZE * H.ra_window ?
					  page - PAGE_SIZE * H.ra_window :
					  r->start;

		while (lo > floor) {
			a = lo - PAGE_SIZE;
			if (needs_read(r, *region_pst(r, a))) {
				if (!H.nr_rbuf_free ||
				    pager_free_pages() <= pager.wmark_min + H.ra_window)
					break;
				if (page_in(r, a, SI_READAHEAD, &now) == NIL)
					break;
			}
			lo = a;
		}
		H.ra_down = true;
		H.ra_lo = lo;
		H.ra_hi = page + PAGE_SIZE;
		return;
	}
	start = H.ra_hi > page + PAGE_SIZE ? H.ra_hi : page + PAGE_SIZE;
	end = page + PAGE_SIZE * (1 + H.ra_window);
	if (end > r->end)
		end = r->end;
	for (a = start; a < end; a += PAGE_SIZE) {
		if (!needs_read(r, *region_pst(r, a)))
			continue;
		if (!H.nr_rbuf_free || pager_free_pages() <= pager.wmark_min + H.ra_window)
			break;
		if (page_in(r, a, SI_READAHEAD, &now) == NIL)
			break;
	}
	H.ra_lo = page;
	H.ra_hi = a > page + PAGE_SIZE ? a : page + PAGE_SIZE;
}

/*
 * Slot-cluster read-ahead, the kernel's swap cluster read-ahead with its
 * hit-driven window (mm/swap_state.c, swapin_nr_pages). Pages evicted
 * together sit in neighbouring slots (next-fit allocation, in the
 * scanner's batch order), and are often wanted together again though their
 * addresses lie far apart: a sort's runs, a heap's objects of one age. A
 * major fault read from the swap file (not from the pool) reads along the
 * other pages of its slot's aligned cluster of the window's size, found
 * through the slot owner map (mm/swap.h) and taken only if the page's state
 * still names that slot. The window is per region: its read-ahead pages
 * touched since its last major fault + 2, rounded up to a power of two, up
 * to --swap-cluster; none touched gives 1 (nothing read) unless the slot
 * follows the last one, and the window at most halves per fault. So a
 * random pattern stops reading ahead after a few faults.
 *
 * A page read this way starts inactive and armed (aging_readahead_arm): its
 * first touch traps, which counts it in swap_ra_hit and widens its
 * region's window; one never touched is the first to go, without a write
 * (its slot is still valid). Pages read for an address stream are used in
 * order as a rule and stay unarmed: a trap each would cost more than it
 * tells (their hits count only when a fault meets them in flight).
 */
static unsigned cluster_window(struct region *r, uint32_t slot)
{
	unsigned hits = r->ra_hits, pages = hits + 2, last = r->ra_win;

	r->ra_hits = 0;
	if (hits == 0) {
		if (slot != r->ra_slot + 1 && slot + 1 != r->ra_slot)
			pages = 1;
	} else {
		unsigned up = 4;

		while (up < pages)
			up <<= 1;
		pages = up;
	}
	if (pages > config.swap_cluster)
		pages = config.swap_cluster;
	if (pages < last / 2)
		pages = last / 2;
	r->ra_win = (uint16_t)pages;
	r->ra_slot = slot;
	return pages;
}

static void cluster_readahead(struct region *r, uint32_t slot)
{
	unsigned win = config.swap_cluster ? cluster_window(r, slot) : 0;
	uint64_t first;
	bool now;

	if (win < 2)
		return;
	first = slot & ~(uint64_t)(win - 1);
	for (uint64_t s = first; s < first + win; s++) {
		uintptr_t a = swap_slot_owner(s);
		struct region *r2;
		uint64_t w;

		if (s == slot || !a || zpool_has((uint32_t)s))
			continue;
		r2 = region_lookup(a);
		if (!r2)
			continue;
		w = *region_pst(r2, a);
		if (ps_type(w) != PS_SWAPPED || ps_slot(w) != s)
			continue;
		if (!H.nr_rbuf_free || pager_free_pages() <= pager.wmark_min + win)
			break;
		if (page_in(r2, a, SI_CLUSTER, &now) == NIL)
			break;
	}
}

/* A read-ahead page of a slot cluster is touched: a hit for its region. */
static void cluster_hit(struct region *r, struct frame *fr)
{
	fr->flags &= ~F_RA_WATCH;
	stats.swap_ra_hit++;
	stats.swap_ra_cluster_hit++;
	if (r->ra_hits < UINT16_MAX)
		r->ra_hits++;
}

/*
 * Zero fault-around: a program that touches fresh memory in order (memset
 * of a new allocation, a growing array) would take one userfaultfd round
 * trip (~12 us here, against ~2 us for the kernel's own first touch) per
 * page. A first touch right after the previous one maps a window of the
 * following never-touched pages with one UFFDIO_ZEROPAGE, doubling up to
 * ZF_MAX. They are shared zero pages until written, and only taken while
 * more than the low watermark is free; an untouched one costs no I/O when
 * reclaimed (see shrink_inactive).
 */
#define ZF_MAX 16

/* n frames were taken for the pages from start on, the first done of them
 * filled with zeros: those become resident, the rest go back. */
static void zero_run_done(struct region *r, uintptr_t start, const uint32_t *frames, unsigned n,
			  unsigned done)
{
	for (unsigned i = 0; i < n; i++) {
		uintptr_t a = start + PAGE_SIZE * i;

		if (i >= done) {
			lru_frame_free(frames[i]);
			continue;
		}
		pst_set_resident(region_pst(r, a), frames[i]);
		region_touch(r, a);
		aging_add_new_anon(frames[i], false);
		stats.pgzerofill++;
		mrc_fill();
	}
}

static void zero_around(struct region *r, uintptr_t page)
{
	uint32_t frames[ZF_MAX];
	uintptr_t start = page + PAGE_SIZE, end;
	unsigned n = 0, done = 0;
	struct uffdio_zeropage z;

	if (page != H.zf_next) {
		H.zf_window = 0;
		H.zf_next = start;
		return;
	}
	H.zf_window = H.zf_window ? (H.zf_window * 2 > ZF_MAX ? ZF_MAX : H.zf_window * 2) : 2;
	end = start + PAGE_SIZE * H.zf_window;
	if (end > r->end)
		end = r->end;
	while (start + PAGE_SIZE * n < end &&
	       ps_type(*region_pst(r, start + PAGE_SIZE * n)) == PS_NONE &&
	       pager_free_pages() > pager.wmark_low + 1) {
		frames[n] = lru_frame_alloc(start + PAGE_SIZE * n, r->origin);
		if (frames[n] == NIL)
			break;
		n++;
	}
	if (n) {
		z = (struct uffdio_zeropage){ .range = { .start = start, .len = PAGE_SIZE * n } };
		if (ioctl(uffd_fd, UFFDIO_ZEROPAGE, &z) == 0)
			done = n;
		else if (z.zeropage > 0)
			done = (unsigned)(z.zeropage / (long long)PAGE_SIZE);
	}
	zero_run_done(r, start, frames, n, done);
	H.zf_next = start + PAGE_SIZE * done;
}

/*
 * A first touch that writes: one UFFDIO_COPY of zeros, not a zero page the
 * kernel then copies on write (a second fault, and a TLB flush on every
 * CPU the program runs on: 11 us against 4 us here). A write that follows
 * the previous one fills a window of the following never-touched pages in
 * the same call, doubling up to ZW_MAX, within the headroom above the low
 * watermark; a page filled and never used is all zeros and costs no I/O
 * when reclaimed. Read faults keep the shared zero page.
 */
#define ZW_MAX 512
static char *zero_src; /* ZW_MAX pages never written: they read as zeros */

/* The pages filled from page on (0: none; the caller takes the plain way). */
static unsigned zero_write(struct region *r, uintptr_t page)
{
	uint32_t frames[ZW_MAX];
	unsigned n = 0, done;
	long copied;

	if (!zero_src)
		return 0;
	H.zw_window = page == H.zw_next ? (H.zw_window * 2 > ZW_MAX ? ZW_MAX : H.zw_window * 2) : 1;
	while (n < H.zw_window && page + PAGE_SIZE * n < r->end &&
	       ps_type(*region_pst(r, page + PAGE_SIZE * n)) == PS_NONE &&
	       (n == 0 || pager_free_pages() > pager.wmark_low + 1)) {
		frames[n] = lru_frame_alloc(page + PAGE_SIZE * n, r->origin);
		if (frames[n] == NIL)
			break;
		n++;
	}
	if (!n)
		return 0;
	copied = uffd_copy_run(page, zero_src, PAGE_SIZE * n);
	done = copied > 0 ? (unsigned)(copied / (long)PAGE_SIZE) : 0;
	zero_run_done(r, page, frames, n, done);
	if (copied == -EEXIST && !uffd_dontwake)
		uffd_wake(page, PAGE_SIZE); /* raced with another thread's fault */
	H.zw_next = page + PAGE_SIZE * done;
	return done;
}

enum {
	HF_ALLOC = 1, /* may take a frame (no earlier fault is queued) */
	HF_FORK = 2,  /* the forking thread's fault, see runtime/fork.c: over the limit if
		       * need be, no read-ahead, wake only when the state is whole */
	HF_WRITE = 4, /* a write fault */
};

static enum fault_result handle_fault(uintptr_t addr, unsigned how)
{
	uintptr_t page = PAGE_ALIGN_DOWN(addr);
	enum fault_result res = FAULT_DONE;
	bool may_alloc = how & (HF_ALLOC | HF_FORK), forking = how & HF_FORK;
	/* During a fork the forking thread holds the pager lock for us. */
	bool lock = !(forking && __atomic_load_n(&pager.fork_locked, __ATOMIC_ACQUIRE));
	uint64_t min_free = forking ? 0 : pager.wmark_min;
	struct region *r;
	struct frame *fr;
	uint64_t *pst, w;
	uint32_t f;
	bool now, ra_hit;
	int err;

	if (lock)
		pager_lock();
	r = region_lookup(page);
	if (!r) {
		if (lock)
			pager_unlock();
		/* Not ours (a race with munmap, or the staging area): never leave
		 * a thread hanging. */
		err = uffd_zeropage(page);
		if (err && err != -EEXIST)
			uffd_wake(page, PAGE_SIZE);
		return FAULT_DONE;
	}
	pst = region_pst(r, page);
	w = *pst;
	switch (ps_type(w)) {
	case PS_RESIDENT:
		f = ps_frame(w);
		fr = lru_frame(f);
		if (!(fr->flags & F_STAGED)) {
			/* Raced with another thread's fault, or the page was zapped
			 * behind our back (a raw madvise): EEXIST wakes, else zeros. */
			uffd_zeropage(page);
			break;
		}
		ra_hit = fr->flags & F_RA_WATCH;
		if (ra_hit)
			cluster_hit(r, fr);
		err = aging_activate(f);
		if (err) {
			log_line("cannot bring back page %#lx: %s", (unsigned long)page,
				 strerror(-err));
			uffd_wake(page, PAGE_SIZE);
		}
		/* Cluster pages touched in address order: an address stream,
		 * whose read-ahead pages come unarmed (no trap each). */
		if (ra_hit && !forking)
			swap_readahead(r, page);
		break;
	case PS_READING:
		/* The swap-in's UFFDIO_COPY wakes every waiter. */
		res = FAULT_READING;
		fr = lru_frame(ps_frame(w));
		if (fr->flags & F_RA_WATCH) {
			fr->flags &= ~F_READAHEAD;
			cluster_hit(r, fr);
		} else if (fr->flags & F_READAHEAD) {
			fr->flags &= ~F_READAHEAD;
			stats.swap_ra_hit++;
			swap_readahead(r, page);
		}
		break;
	case PS_NONE:
		if (r->kind == REGION_FILE)
			goto read_in; /* first touch of a file page: read the file */
		if (!may_alloc || (pager_free_pages() <= min_free && !forking)) {
			res = FAULT_WAIT;
			break;
		}
		if ((how & HF_WRITE) && !forking && zero_write(r, page)) {
			stats.pgfault++;
			region_event(r, page, EV_FAULT);
			stat_max(&stats.resident_peak_bytes, lru.nr_allocated << PAGE_SHIFT);
			break;
		}
		f = lru_frame_alloc(page, r->origin);
		if (f == NIL) {
			res = FAULT_WAIT;
			break;
		}
		err = uffd_zeropage(page);
		if (err && err != -EEXIST) {
			lru_frame_free(f);
			break;
		}
		pst_set_resident(pst, f);
		region_touch(r, page);
		aging_add_new_anon(f, false);
		stats.pgfault++;
		stats.pgzerofill++;
		region_event(r, page, EV_FAULT);
		mrc_fill();
		if (!forking)
			zero_around(r, page);
		stat_max(&stats.resident_peak_bytes, lru.nr_allocated << PAGE_SHIFT);
		break;
	case PS_SWAPPED:
	case PS_FILE:
read_in:
		if (!may_alloc || (pager_free_pages() <= min_free && !forking) || !H.nr_rbuf_free) {
			res = FAULT_WAIT;
			break;
		}
		if (page_in(r, page, SI_FAULT, &now) == NIL) {
			res = FAULT_WAIT;
			break;
		}
		res = now ? FAULT_MAJOR : FAULT_READING;
		if (!forking) {
			swap_readahead(r, page);
			if (!now && ps_type(w) == PS_SWAPPED)
				cluster_readahead(r, ps_slot(w));
		}
		break;
	}
	if (lock)
		pager_unlock();
	if (res != FAULT_WAIT)
		maybe_wake_scanner();
	return res;
}

/*
 * A file page that lies wholly past the end of the file. Read ahead: not
 * kept (a touch comes back here as a fault). Touched: the kernel's mapping
 * of the file takes this one page back, so the access raises SIGBUS as it
 * would without uswap (and reads the file if it has grown since).
 */
static void past_eof(struct region *r, uint32_t f)
{
	struct frame *fr = lru_frame(f);
	uintptr_t page = PAGE_ALIGN_DOWN(fr->addr);
	int prot = r->app_prot != -1 ? r->app_prot : PROT_READ;

	if (!(fr->flags & F_READAHEAD) &&
	    sys_mmap((void *)page, PAGE_SIZE, prot,
		     (r->shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, r->file->fd,
		     (off_t)region_file_off(r, page)) != MAP_FAILED) {
		region_remove(page, page + PAGE_SIZE);
	} else {
		pst_set_none(region_pst(r, page));
	}
	lru_frame_free(f);
	uffd_wake(page, PAGE_SIZE);
}

/*
 * The page in buf is whole and checked: install it in frame f's place and
 * put it on its list. Returns the page to wake during a fork. from_pool: it came from the compressed pool (engine: page_in).
 */
static uintptr_t install(uint32_t f, char *buf, bool from_pool)
{
	struct frame *fr = lru_frame(f);
	struct region *r = region_lookup(fr->addr);
	uint64_t *pst = r ? region_pst(r, fr->addr) : NULL;
	bool file = fr->flags & F_FILE;
	uintptr_t wake = PAGE_ALIGN_DOWN(fr->addr);
	int err = 0;
	/* Read ahead from a slot cluster and not touched yet: inactive and
	 * armed, so that a touch shows; straight into staging where it can. */
	bool armed = pst && !file && (fr->flags & F_RA_WATCH) && !aging_readahead_arm(f, buf);

	/* Installed write-protected where WP_ASYNC exists, so a page that is
	 * only read shows as clean; either way it keeps its slot, and the
	 * content hash decides at reclaim whether the slot is still good. */
	if (!armed)
		err = uffd_copy(fr->addr, buf, true);
	if (!pst || (err && err != -EEXIST)) {
		page_forget(f);
		if (pst)
			pst_set_none(pst);
		return wake;
	}
	pst_set_resident(pst, f);
	region_touch(r, fr->addr);
	if (file) {
		/* New file pages start inactive (used once, they go first) and
		 * unarmed: reclaim arms them when they reach the tail. */
		lru_add(f, (fr->flags & F_REFAULT_ACTIVATE) ? LRU_ACTIVE_FILE : LRU_INACTIVE_FILE,
			true);
		stats.pgpgin++;
	} else {
		/* Not armed above: armed after the install (mprotect tracking), or active. */
		if (!armed && (!(fr->flags & F_RA_WATCH) || aging_readahead_arm(f, NULL))) {
			fr->flags &= ~F_RA_WATCH;
			if (fr->flags & F_REFAULT_ACTIVATE)
				lru_add(f, LRU_ACTIVE_ANON, true);
			else
				aging_add_new_anon(f, true);
		}
		if (!from_pool)
			stats.pswpin++;
	}
	fr->flags &= ~F_REFAULT_ACTIVATE;
	if (!(fr->flags & F_READAHEAD)) {
		stats.pgmajfault++;
		stats.pgfault++;
		region_event(r, fr->addr, EV_MAJFAULT);
	}
	fr->flags &= ~F_READAHEAD;
	return wake;
}

/* A swap-in of frame f from the compressed pool, at once (no I/O), into
 * read buffer b: the caller holds the lock (or the fork holds it for us)
 * and wakes as it would for any fault served at once. The load is
 * exclusive, as the kernel's zswap: the entry and its slot go, so the
 * page's next eviction stores it again. */
static void pool_in(uint32_t f, uint32_t b)
{
	struct frame *fr = lru_frame(f);
	char *buf = H.rbufs + ((size_t)b << PAGE_SHIFT);
	uint32_t slot = fr->slot;

	if (zpool_load(slot, buf)) {
		if (!__atomic_load_n(&pager.fork_locked, __ATOMIC_ACQUIRE))
			pager_unlock();
		stats.swap_read_errors++;
		log_oom_kill("the compressed copy of page %#lx (slot %u) is corrupt; killing the "
			     "program",
			     (unsigned long)fr->addr, slot);
	}
	stats.zswpin++;
	swap_slot_free(slot);
	fr->slot = NO_SLOT;
	install(f, buf, true);
	H.rbuf_free[H.nr_rbuf_free++] = b;
}

static void complete_read(uint32_t f, uint32_t b, int res)
{
	/* During a fork only the forking thread's reads are started: it holds
	 * the pager lock for us and wakes only when the page's state is whole. */
	bool forking = __atomic_load_n(&pager.fork_locked, __ATOMIC_ACQUIRE);
	char *buf = H.rbufs + ((size_t)b << PAGE_SHIFT);
	struct frame *fr;
	struct region *r;
	uintptr_t wake = 0;
	uintptr_t page;
	bool file;

	if (!forking)
		pager_lock();
	uffd_dontwake = forking;
	fr = lru_frame(f);
	page = PAGE_ALIGN_DOWN(fr->addr);
	file = fr->flags & F_FILE;
	balance_note_io(file, false, sys_now_ns() - H.rbuf_t0[b]);
	if (fr->flags & F_DEAD) {
		/* Released while being read: whoever faulted on it retries and
		 * finds it gone (zeros, or SIGSEGV if unmapped). */
		uffd_wake(PAGE_ALIGN_DOWN(fr->addr), PAGE_SIZE);
		page_forget(f);
		goto out;
	}
	r = region_lookup(fr->addr);
	if (fr->flags & F_REREAD && r) {
		/* The program wrote the file meanwhile (runtime/file.c): read it again. */
		fr->flags &= ~F_REREAD;
		start_read(r, f, b); /* submitted by the loop's wait */
		uffd_dontwake = false;
		if (!forking)
			pager_unlock();
		return;
	}
	if (res < 0 || (!file && res != (int)PAGE_SIZE)) {
		if (!forking)
			pager_unlock();
		if (file)
			log_oom_kill(
				"reading %s failed (%s): the page at %#lx cannot be filled; killing the program",
				r ? r->file->path : "a mapped file", strerror(-res),
				(unsigned long)fr->addr);
		stats.swap_read_errors++;
		log_oom_kill(
			"swap read failed (%s): the page at %#lx cannot be restored; killing the program",
			res < 0 ? strerror(-res) : "short read", (unsigned long)fr->addr);
	}
	if (file && res == 0 && r) {
		past_eof(r, f);
		goto out;
	}
	/* The end of the file: the rest of the page reads zeros. */
	if (file && res < (int)PAGE_SIZE)
		memset(buf + res, 0, PAGE_SIZE - (size_t)res);
	/* A swap page is checked (and decrypted, --swap-encrypt) before the
	 * program sees it; the check computes the page's hash. */
	if (file) {
		fr->hash = lru_page_hash(buf);
	} else if (swap_open_page(fr->slot, buf, &fr->hash)) {
		uint32_t slot = fr->slot;

		if (!forking)
			pager_unlock();
		stats.swap_read_errors++;
		log_oom_kill("swap page at %#lx (slot %u, offset %llu of the swap file) fails its "
			     "%s: the file was changed behind uswap; killing the program",
			     (unsigned long)fr->addr, slot, (unsigned long long)swap_offset(slot),
			     swap.encrypt ? "authentication" : "checksum");
	}
	wake = install(f, buf, false);
out:
	uffd_dontwake = false;
	if (forking && wake)
		uffd_wake(wake, PAGE_SIZE);
	if (!forking)
		pager_unlock();
	H.rbuf_free[H.nr_rbuf_free++] = b;
	psi_read_end(page);
}

static struct waiter *wq_at(uint32_t pos)
{
	return &H.wq[pos & (H.wq_cap - 1)];
}

/* tids are handed out in order: their low bits spread them over the
 * index, and a few threads touch a few of its pages. */
static uint32_t wq_home(int tid)
{
	return (uint32_t)tid & (2 * H.wq_cap - 1);
}

static struct wq_slot *wq_find(int tid)
{
	uint32_t mask = 2 * H.wq_cap - 1;

	for (uint32_t i = wq_home(tid);; i = (i + 1) & mask) {
		if (H.wq_index[i].tid == tid)
			return &H.wq_index[i];
		if (!H.wq_index[i].tid)
			return NULL;
	}
}

static void wq_index_add(int tid, uint32_t pos)
{
	uint32_t mask = 2 * H.wq_cap - 1, i = wq_home(tid);

	while (H.wq_index[i].tid)
		i = (i + 1) & mask;
	H.wq_index[i] = (struct wq_slot){ tid, pos };
}

/* Remove s, shifting back the entries of its probe run that may move. */
static void wq_index_del(struct wq_slot *s)
{
	uint32_t mask = 2 * H.wq_cap - 1, i = (uint32_t)(s - H.wq_index), j = i;

	for (;;) {
		uint32_t k;

		j = (j + 1) & mask;
		if (!H.wq_index[j].tid)
			break;
		k = wq_home(H.wq_index[j].tid);
		/* The entry at j may fill the hole at i unless its home lies
		 * cyclically in (i, j]. */
		if (((j - k) & mask) >= ((j - i) & mask)) {
			H.wq_index[i] = H.wq_index[j];
			i = j;
		}
	}
	H.wq_index[i].tid = 0;
}

static void enqueue(uintptr_t addr, int tid)
{
	uintptr_t page = PAGE_ALIGN_DOWN(addr);
	struct wq_slot *s = tid ? wq_find(tid) : NULL;
	uint32_t depth;

	if (s) {
		/* Raised again: a signal interrupted the thread's wait (or a
		 * wake-up below). The same wait goes on, for this address. */
		struct waiter *w = wq_at(s->pos);

		if (PAGE_ALIGN_DOWN(w->addr) != page) {
			psi_throttle_end(tid, PAGE_ALIGN_DOWN(w->addr), false, false);
			psi_throttle_begin(tid, page);
		}
		w->addr = addr;
		stats.throttle_retry++;
		return;
	}
	if (H.wq_tail - H.wq_head == H.wq_cap) {
		/* Woken to fault again once there is room (serve_waiters). */
		if (!H.ovf_hi || page < H.ovf_lo)
			H.ovf_lo = page;
		if (page + PAGE_SIZE > H.ovf_hi)
			H.ovf_hi = page + PAGE_SIZE;
		stats.throttle_overflow++;
		pager_wake_scanner();
		return;
	}
	if (tid)
		wq_index_add(tid, H.wq_tail);
	*wq_at(H.wq_tail++) = (struct waiter){ addr, sys_now_ns(), tid };
	psi_throttle_begin(tid, page);
	depth = H.wq_tail - H.wq_head;
	__atomic_store_n(&pager.nr_waiting, depth, __ATOMIC_RELAXED);
	stat_max(&stats.throttle_waiters_peak, depth);
	stats.throttle_count++;
	pager_wake_scanner();
}

/*
 * MADV_WILLNEED on evicted pages: read them in, as read-ahead does, while
 * more than the low watermark is free and read buffers last; the rest of
 * the range waits for buffers, and is dropped (it is a hint) when memory
 * is short.
 */
static void prefetch(void)
{
	uintptr_t a;
	bool now;

	if (__atomic_load_n(&H.prefetch_hi, __ATOMIC_RELAXED) <= H.prefetch_lo)
		return;
	pager_lock();
	for (a = H.prefetch_lo; a < H.prefetch_hi; a += PAGE_SIZE) {
		struct region *r = region_lookup(a);

		if (!r) {
			/* Skip to the next managed region. */
			struct region *next = region_first_in(a, H.prefetch_hi);

			a = next ? next->start - PAGE_SIZE : H.prefetch_hi;
			continue;
		}
		if (!needs_read(r, *region_pst(r, a)))
			continue;
		if (pager_free_pages() <= pager.wmark_low + 1) {
			a = H.prefetch_hi; /* memory is short: drop the hint */
			break;
		}
		if (!H.nr_rbuf_free || page_in(r, a, SI_PREFETCH, &now) == NIL)
			break;
	}
	H.prefetch_lo = a;
	if (a >= H.prefetch_hi)
		H.prefetch_lo = H.prefetch_hi = 0;
	pager_unlock();
}

/* The forking thread's fault (runtime/fork.c). */
static void fork_fault(uintptr_t addr)
{
	enum fault_result res;

	uffd_dontwake = true;
	res = handle_fault(addr, HF_FORK);
	uffd_dontwake = false;
	/* A swap-in wakes it on completion; anything else is done now. */
	if (res != FAULT_READING)
		uffd_wake(PAGE_ALIGN_DOWN(addr), PAGE_SIZE);
}

static void serve_waiters(void)
{
	if (__atomic_load_n(&pager.fork_req, __ATOMIC_ACQUIRE))
		return; /* deferred until the fork is done */
	while (H.wq_head != H.wq_tail) {
		struct waiter *w = wq_at(H.wq_head);
		enum fault_result res = handle_fault(w->addr, HF_ALLOC);

		if (res == FAULT_WAIT)
			break;
		stats.throttle_ns += sys_now_ns() - w->t0;
		psi_throttle_end(w->tid, PAGE_ALIGN_DOWN(w->addr), res == FAULT_READING,
				  res == FAULT_MAJOR);
		if (w->tid) {
			struct wq_slot *s = wq_find(w->tid);

			debug_assert(s && s->pos == H.wq_head);
			if (s)
				wq_index_del(s);
		}
		H.wq_head++;
	}
	__atomic_store_n(&pager.nr_waiting, H.wq_tail - H.wq_head, __ATOMIC_RELAXED);
	if (H.ovf_hi && H.wq_tail - H.wq_head <= H.wq_cap / 2) {
		uffd_wake(H.ovf_lo, H.ovf_hi - H.ovf_lo);
		H.ovf_lo = H.ovf_hi = 0;
	}
}

/*
 * The faults the uffd has for us. One read per wake-up: a read that does not
 * fill the buffer took every message there was, and a fault raised after it
 * makes the multishot poll report again. The reads they start are submitted
 * by the loop's wait.
 */
static void drain_uffd(void)
{
	struct uffd_msg msgs[NR_MSGS];
	ssize_t n;

	do {
		n = sys_read(uffd_fd, msgs, sizeof(msgs));
		for (size_t i = 0; n > 0 && i < (size_t)n / sizeof(msgs[0]); i++) {
			enum fault_result res;
			uintptr_t a;
			int tid;

			if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			a = (uintptr_t)msgs[i].arg.pagefault.address;
			tid = (int)msgs[i].arg.pagefault.feat.ptid;
			if (__atomic_load_n(&pager.fork_req, __ATOMIC_ACQUIRE)) {
				if ((pid_t)tid == pager.fork_tid)
					fork_fault(a);
				else
					enqueue(a, tid);
				continue;
			}
			res = handle_fault(a, (H.wq_head == H.wq_tail ? HF_ALLOC : 0) |
						      (msgs[i].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE ?
							       HF_WRITE :
							       0));
			if (res == FAULT_WAIT)
				enqueue(a, tid);
			else if (res == FAULT_READING)
				psi_read_begin(tid, PAGE_ALIGN_DOWN(a));
			else
				psi_fault(tid, res == FAULT_MAJOR);
		}
	} while (n == (ssize_t)sizeof(msgs));
}

static void *fault_main(void *arg)
{
	struct io_uring_cqe *cqe;
	uint64_t v;

	(void)arg;
	ring_enable(&H.ring, "the fault handler");
	arm_poll(uffd_fd, UD_UFFD);
	arm_poll(pager.fault_efd, UD_EFD);
	for (;;) {
		unsigned head, seen = 0;
		bool faults = false, woken = false;
		uint64_t now;

		/* Submits what the last round queued (reads, polls) and waits. */
		ring_check(io_uring_submit_and_wait(&H.ring, 1), "the fault handler");
		io_uring_for_each_cqe(&H.ring, head, cqe) {
			uint64_t ud = cqe->user_data;

			seen++;
			switch (ud & 0xff) {
			case UD_UFFD:
				if (!(cqe->flags & IORING_CQE_F_MORE))
					arm_poll(uffd_fd, UD_UFFD);
				faults = true;
				break;
			case UD_EFD:
				if (!(cqe->flags & IORING_CQE_F_MORE))
					arm_poll(pager.fault_efd, UD_EFD);
				woken = true;
				break;
			case UD_READ:
				complete_read((uint32_t)(ud >> 32),
					      (uint32_t)((ud >> 8) & 0xffffff), cqe->res);
				break;
			}
		}
		io_uring_cq_advance(&H.ring, seen);
		/* However many times each poll reported in this round, one read
		 * takes what there is. */
		if (woken)
			(void)!sys_read(pager.fault_efd, &v, sizeof(v));
		if (faults)
			drain_uffd();
		serve_waiters();
		if (!__atomic_load_n(&pager.fork_req, __ATOMIC_ACQUIRE) && H.wq_head == H.wq_tail)
			prefetch();
		/* A fork is being prepared: ready once no read is in flight. */
		if (__atomic_load_n(&pager.fork_req, __ATOMIC_ACQUIRE) &&
		    H.nr_rbuf_free == NR_READ_BUFS &&
		    !(__atomic_load_n(&pager.fork_parked, __ATOMIC_ACQUIRE) & FORK_PARKED_HANDLER))
			pager_fork_park(FORK_PARKED_HANDLER);
		now = sys_now_ns();
		if (now - H.cpu_at >= CPU_SAMPLE_NS) {
			stats.handler_cpu_ns = sys_thread_cpu_ns();
			H.cpu_at = now;
		}
	}
	return NULL;
}

/* The ring, its registered read buffers and the swap file. */
static int setup_ring(char *err, size_t errlen)
{
	/* Ours, and in a forked child the parent's (swap_file_index). */
	int files[2] = { swap.fd, swap.parent_fd };

	H.nr_rbuf_free = 0;
	for (uint32_t i = 0; i < NR_READ_BUFS; i++)
		H.rbuf_free[H.nr_rbuf_free++] = i;
	return ring_setup(&H.ring, 256, RING_OWNED, 0, H.rbufs, NR_READ_BUFS, files,
			  swap.parent_fd >= 0 ? 2 : 1, err, errlen);
}

int fault_start(char *err, size_t errlen)
{
	int r;

	zero_src = sys_alloc_meta(ZW_MAX * PAGE_SIZE);
	H.wq_cap = config.wq_cap;
	H.wq = sys_alloc_meta(H.wq_cap * sizeof(*H.wq));
	H.wq_index = sys_alloc_meta(2 * H.wq_cap * sizeof(*H.wq_index));
	H.rbufs = sys_alloc_meta((size_t)NR_READ_BUFS << PAGE_SHIFT);
	if (!H.wq || !H.wq_index || !H.rbufs) {
		snprintf(err, errlen, "cannot allocate fault handler buffers");
		return -ENOMEM;
	}
	r = setup_ring(err, errlen);
	if (r)
		return r;
	return thread_start(THREAD_HANDLER, fault_main, "uswap-fault", err, errlen);
}

void fault_exit_counters(void)
{
	uint64_t ns = thread_cpu_ns(THREAD_HANDLER);

	if (ns)
		stats.handler_cpu_ns = ns;
}

void fault_prefetch(uintptr_t s, size_t len)
{
	pager_assert_locked();
	if (H.prefetch_hi <= H.prefetch_lo) {
		H.prefetch_lo = s;
		H.prefetch_hi = s + len;
	} else {
		H.prefetch_lo = s < H.prefetch_lo ? s : H.prefetch_lo;
		H.prefetch_hi = s + len > H.prefetch_hi ? s + len : H.prefetch_hi;
	}
}

/* In a forked child: the parent's ring is not mapped here (dontfork), only
 * its descriptor is; the faults the parent had queued are not ours. With
 * start false, only let go of what was the parent's. */
int fault_fork_child(bool start, char *err, size_t errlen)
{
	int r;

	ring_forget(&H.ring);
	/* The parent's waiters: zeros again, without touching the pages. */
	sys_madvise(H.wq_index, 2 * H.wq_cap * sizeof(*H.wq_index), MADV_DONTNEED);
	H = (struct handler){ .ring = H.ring,
			      .rbufs = H.rbufs,
			      .wq = H.wq,
			      .wq_cap = H.wq_cap,
			      .wq_index = H.wq_index,
			      .prefetch_lo = H.prefetch_lo,
			      .prefetch_hi = H.prefetch_hi };
	if (!start)
		return 0;
	r = setup_ring(err, errlen);
	if (r)
		return r;
	return thread_start(THREAD_HANDLER, fault_main, "uswap-fault", err, errlen);
}

/*
 * mprotect tracking: a SIGSEGV at addr, in the thread that took it. An
 * armed page is activated here, as the handler would for a userfault; 1
 * if the fault was ours.
 */
int fault_sigsegv(uintptr_t addr)
{
	uintptr_t page = PAGE_ALIGN_DOWN(addr);
	struct region *r;
	int ours = 0;

	if (track_mode != TRACK_MPROTECT || !pager.enabled)
		return 0;
	pager_lock();
	r = region_lookup(page);
	if (r) {
		uint64_t w = *region_pst(r, page);
		uint32_t f = ps_frame(w);

		if (ps_type(w) == PS_RESIDENT && (lru_frame(f)->flags & F_STAGED)) {
			if (lru_frame(f)->flags & F_RA_WATCH)
				cluster_hit(r, lru_frame(f));
			aging_activate(f);
			ours = 1;
		} else if (r->app_prot == (PROT_READ | PROT_WRITE)) {
			/* We raced with the scanner dropping or the handler restoring
			 * this page: the protection is ours and already undone. */
			ours = 1;
		}
	}
	pager_unlock();
	return ours;
}
