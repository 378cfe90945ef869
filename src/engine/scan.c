/*
 * The scanner: the one thread that scans and reclaims (a userspace kswapd).
 *
 * Faulting threads never reclaim. When free memory (limit - resident) falls
 * below the low watermark, the fault handler wakes the scanner, which works
 * in batches of pager.batch (32) pages toward the high watermark and stops
 * as soon as it is there (the 2.6.29 lesson: reclaim what is needed, then
 * stop; over-reclaim only turns into refaults).
 *
 * One batch:
 *   1. if the inactive list is low (inactive * ratio < active, the kernel's
 *      inactive_is_low, policy/aging.c), deactivate pages from the active tail: arm them to
 *      trap (mm/track.c), first noting whether they were written since their
 *      swap copy was made (WP_ASYNC + PAGEMAP_SCAN);
 *   2. take pages from the inactive tail, i.e. not referenced since armed:
 *      a page whose swap copy is still valid is dropped at once; any other
 *      gets a slot and is copied to a bounce buffer and queued for writing.
 *   3. submit the writes, all at once, through io_uring.
 * Completions come back through the same ring; only then is the page
 * dropped, so a page leaves memory only once its copy is on the file. A
 * failed write leaves the page resident and counted.
 *
 * The state machine of a page in reclaim, all under the pager lock:
 *
 *   ACTIVE --arm--> INACTIVE (staged) --copy+write--> WRITEBACK (off-list)
 *     ^                 |                               |        |
 *     +--- trap --------+                     complete  |        | trap: moved
 *                                                       v        v back, slot
 *                                                   SWAPPED   ACTIVE  dropped
 *
 * If nothing at all can be reclaimed while faults wait (no swap space, every
 * write failing, every page pinned), the scanner ends the program as the
 * kernel's OOM killer would, rather than hang it.
 */
#define _GNU_SOURCE
#include "scan.h"

#include "aging.h"
#include "balance.h"
#include "config.h"
#include "log.h"
#include "lru.h"
#include "mapfile.h"
#include "page.h"
#include "pager.h"
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
#include <fcntl.h>
#include <liburing.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdio.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Writes in flight at once: QD128 measured 3-4 us/page for O_DIRECT with
 * SINGLE_ISSUER|DEFER_TASKRUN here (techniques.md, E12). */
#define NR_WRITE_BUFS 128
/* Give up after this long with waiting faults and no way to free memory. */
#define OOM_STALL_NS (3ULL * 1000000000ULL)
/* No slot to be had: leave anon alone this long. */
#define SWAP_FULL_PAUSE_NS (100000000ULL)
/* Swap writes failing: leave anon alone for a pause that doubles from the
 * first to the last, as long as they keep failing. */
#define WERR_PAUSE_MIN_NS (10000000ULL)
#define WERR_PAUSE_MAX_NS (1000000000ULL)
/* The scanner's CPU time (CLOCK_THREAD_CPUTIME_ID: a system call, no vDSO)
 * is read at most this often, and at exit (scan_exit_counters). */
#define CPU_SAMPLE_NS (100000000ULL)

enum { UD_WAKE = 1, UD_WRITE = 2, UD_ZWB = 3, UD_WRUN = 4 };

/* Swap writes to neighbouring slots go out as one vectored write: slots
 * are taken next-fit, so a batch's pages mostly sit in a row, and one
 * request a run saves the file system's block mapping and the device's
 * per-request costs (ext4_map_blocks was 8% of the scanner, a write a page). */
#define WRITE_RUN_MAX 32
struct write_run {
	uint32_t n, slot0;
	uint32_t frame[WRITE_RUN_MAX];
	uint32_t buf[WRITE_RUN_MAX];
	struct iovec iov[WRITE_RUN_MAX];
};
/* At most one run a buffer in flight; indexed by S.run_free. */
static struct write_run runs[NR_WRITE_BUFS];

struct scan_control {
	uint64_t nr_to_reclaim; /* pages this batch should free or start writing */
	uint64_t nr_reclaimed;	/* dropped at once (clean copy on swap) */
	uint64_t nr_writing;	/* writes queued */
	uint64_t nr_scanned;	/* inactive pages looked at */
	uint64_t nr_armed;	/* new file pages armed at the tail (reclaimable next time) */
	bool swap_full;		/* no slot could be had */
	bool drop_only;		/* swap full or failing: drop clean anon copies, write none */
};

/* The scanner thread's state: one struct, so a forked child starts afresh
 * with one assignment (scan_fork_child). */
static struct scanner {
	struct io_uring ring;
	char *wbufs; /* NR_WRITE_BUFS bounce pages */
	uint32_t wbuf_free[NR_WRITE_BUFS];
	uint32_t nr_wbuf_free;
	uint64_t wbuf_t0[NR_WRITE_BUFS];   /* submission time of each buffer's write */
	page_hash_t wbuf_hash[NR_WRITE_BUFS]; /* a swap write's page hash (its plaintext's) */
	uint64_t swap_full_since;	   /* when a swap slot could last not be had */
	uint64_t anon_pause_until;	   /* swap full or failing: no anon reclaim until then */
	uint64_t werr_pause;		   /* the current write-error pause, 0 after a good write */
	uint64_t werr_at;		   /* when a swap write last failed */
	int werr_errno;			   /* and why */
	uint64_t nr_written;		   /* writes that landed: progress, for the OOM stall */
	uint64_t activate_file_seen;	   /* cache_trim: file activations at the last batch */
	uint64_t cpu_at;		   /* when scanner_cpu_ns was last read */
	/* Frames in transit: their pages are gone from the program's view
	 * (the state word says swapped, in the file or none) but the staging
	 * memory is not given back yet. Still allocated, so counted in the
	 * limit, and on no list: nobody else reaches them. transit_flush
	 * frees their staging pages with one system call, then the frames. */
	uint32_t transit[TRACK_DROP_BATCH];
	unsigned nr_transit;
	/* Swap write runs: free ones, and the one being filled (NO_RUN: none). */
	uint32_t run_free[NR_WRITE_BUFS];
	uint32_t nr_run_free;
	uint32_t run_open;
} S;
#define NO_RUN UINT32_MAX

static bool page_is_zero(const void *page)
{
	const uint64_t *w = page;
	uint64_t acc = 0;

	for (int i = 0; i < 512; i++)
		acc |= w[i];
	return acc == 0;
}

/* Give back the staging memory of the frames in transit, and the frames.
 * locked: the caller holds the pager lock (the batch is full); else the
 * system call runs outside it and the lock is taken to free the frames. */
static void transit_flush(bool locked)
{
	unsigned n = S.nr_transit;

	if (!n)
		return;
	track_drop_batch(S.transit, n);
	if (!locked)
		pager_lock();
	for (unsigned i = 0; i < n; i++)
		lru_frame_free(S.transit[i]);
	S.nr_transit = 0;
	if (!locked) {
		pager_unlock();
		pager_wake_handler();
	}
}

/* The page of frame f is out of the program's view: free its memory and
 * the frame, now or with the next batch. */
static void drop_frame(uint32_t f)
{
	if (!track_can_drop_batch()) {
		track_drop(f);
		lru_frame_free(f);
		return;
	}
	S.transit[S.nr_transit++] = f;
	if (S.nr_transit == TRACK_DROP_BATCH)
		transit_flush(true);
}

/* Drop an armed page whose copy is safe: in the swap slot, or in its file. */
static void evict(uint32_t f)
{
	struct frame *fr = lru_frame(f);
	struct region *r = region_lookup(fr->addr);
	uint64_t *p = r ? region_pst(r, fr->addr) : NULL;
	bool file = fr->flags & F_FILE;

	/* --file-cache drop: the kernel's copy goes too, so the next touch
	 * costs what it would in a memcg (a read from the disk). */
	if (file && r && r->file)
		mapfile_evicted(r->file, region_file_off(r, fr->addr));
	if (!p)
		swap_slot_free(fr->slot);
	workingset_evict(p, fr);
	if (r)
		region_event(r, fr->addr, EV_EVICT);
	stat_kind(pgsteal, file)++;
	drop_frame(f);
}

/* user_data of a write: frame, buffer, bytes, UD_WRITE. */
static uint64_t ud_write(uint32_t f, uint32_t b, size_t n)
{
	return ((uint64_t)f << 32) | ((uint64_t)n << 19) | ((uint64_t)b << 8) | UD_WRITE;
}

/* Frame f's page is being written from buffer b: off the lists until the
 * write lands (complete_write, complete_run). */
static void write_started(struct scan_control *sc, uint32_t f, uint32_t b, bool file)
{
	lru_frame(f)->flags |= F_WRITEBACK;
	pager.nr_writeback++;
	S.wbuf_t0[b] = sys_now_ns();
	balance_note_cost(file, 1, 0);
	sc->nr_writing++;
}

/* A write of n bytes of a MAP_SHARED page back to its file at off. */
static void queue_file_write(struct scan_control *sc, uint32_t f, uint32_t b, int fd, size_t n,
			     uint64_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&S.ring);

	io_uring_prep_write_fixed(sqe, fd, S.wbufs + ((size_t)b << PAGE_SHIFT), (unsigned)n, off,
				  (int)b);
	io_uring_sqe_set_data64(sqe, ud_write(f, b, n));
	write_started(sc, f, b, true);
}

/* Submit the run being filled, if any. */
static void run_close(void)
{
	struct write_run *w;
	struct io_uring_sqe *sqe;

	if (S.run_open == NO_RUN)
		return;
	w = &runs[S.run_open];
	sqe = io_uring_get_sqe(&S.ring);
	if (w->n == 1)
		io_uring_prep_write_fixed(sqe, 0, w->iov[0].iov_base, PAGE_SIZE,
					  swap_offset(w->slot0), (int)w->buf[0]);
	else
		io_uring_prep_writev(sqe, 0, w->iov, w->n, swap_offset(w->slot0));
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, ((uint64_t)S.run_open << 8) | UD_WRUN);
	S.run_open = NO_RUN;
	stats.pswpout_writes++;
}

/* Queue frame f's page, in buffer b, for its swap slot: onto the open run
 * when the slot follows it, else in a new run. */
static void queue_swap_write(struct scan_control *sc, uint32_t f, uint32_t b, uint32_t slot)
{
	struct write_run *w = S.run_open != NO_RUN ? &runs[S.run_open] : NULL;

	if (w && (w->n == WRITE_RUN_MAX || slot != w->slot0 + w->n)) {
		run_close();
		w = NULL;
	}
	if (!w) {
		S.run_open = S.run_free[--S.nr_run_free];
		w = &runs[S.run_open];
		w->n = 0;
		w->slot0 = slot;
	}
	w->frame[w->n] = f;
	w->buf[w->n] = b;
	w->iov[w->n] = (struct iovec){ .iov_base = S.wbufs + ((size_t)b << PAGE_SHIFT),
				       .iov_len = PAGE_SIZE };
	w->n++;
	write_started(sc, f, b, false);
}

enum reclaim_result {
	RECLAIM_DONE,	 /* dropped, or put back: the buffer is free again */
	RECLAIM_WRITING, /* a write from the buffer is queued: its completion frees it */
};

/*
 * Reclaim one armed page from an inactive tail (off the lists now), its
 * copy in S.wbufs[b]:
 *   file, unchanged since read      drop it: the file has it
 *   file, MAP_SHARED, changed       write it back to the file, then drop
 *   file, MAP_PRIVATE, changed      it is anonymous now: on to swap
 *   anon, all zeros                 drop it (not in a file region)
 *   anon, equal to its swap copy    drop it
 *   anon                            write it to a swap slot, then drop
 */
static enum reclaim_result reclaim_page(struct scan_control *sc, uint32_t f, uint32_t b)
{
	struct frame *fr = lru_frame(f);
	char *buf = S.wbufs + ((size_t)b << PAGE_SHIFT);
	struct region *r = region_lookup(fr->addr);
	uint32_t slot;
	page_hash_t h;

	if (fr->flags & F_FILE) {
		uint64_t off;
		size_t n;

		if (r && lru_hash_equal(lru_page_hash(buf), fr->hash)) {
			evict(f);
			balance_note_evict(true, false);
			sc->nr_reclaimed++;
			return RECLAIM_DONE;
		}
		if (r && r->shared) {
			off = region_file_off(r, fr->addr);
			if (mapfile_busy(r->file, off)) {
				/* The program is writing these bytes with write(): later. */
				lru_add(f, LRU_INACTIVE_FILE, true);
				stats.pgrotated++;
				return RECLAIM_DONE;
			}
			n = mapfile_page_bytes(r->file, off);
			if (!n) {
				/* Wholly past the end of the file: nothing to keep. */
				evict(f);
				sc->nr_reclaimed++;
				return RECLAIM_DONE;
			}
			balance_note_evict(true, true);
			queue_file_write(sc, f, b, r->file->fd, n, off);
			return RECLAIM_WRITING;
		}
		/* A MAP_PRIVATE page the program changed: anonymous from now on. */
		fr->flags &= ~F_FILE;
	}
	/* Never written, or written back to zeros: nothing to keep. In a file
	 * region a dropped page would read the file again, so not there. */
	if (page_is_zero(buf) && (!r || r->kind != REGION_FILE)) {
		if (r)
			pst_set_none(region_pst(r, fr->addr));
		swap_slot_free(fr->slot);
		fr->slot = NO_SLOT;
		drop_frame(f);
		stats.pgsteal_anon++;
		stats.pgsteal_zero++;
		sc->nr_reclaimed++;
		return RECLAIM_DONE;
	}
	/* The staged copy is frozen: the program cannot write it without
	 * trapping. If it equals the swap copy, drop it with no I/O. */
	h = lru_page_hash(buf);
	if (fr->slot != NO_SLOT && lru_hash_equal(h, fr->hash)) {
		evict(f);
		balance_note_evict(false, false);
		stats.pgsteal_clean++;
		sc->nr_reclaimed++;
		return RECLAIM_DONE;
	}
	/* No swap to be had for now: only pages with a clean copy go. */
	if (sc->drop_only) {
		lru_add(f, LRU_INACTIVE_ANON, true);
		stats.pgrotated++;
		return RECLAIM_DONE;
	}
	/* A slot a forked child may still read, or one in our parent's
	 * file, is not rewritten: the page gets a new slot. */
	if (fr->slot != NO_SLOT && !swap_slot_writable(fr->slot)) {
		swap_slot_free(fr->slot);
		fr->slot = NO_SLOT;
	}
	slot = fr->slot != NO_SLOT ? fr->slot : swap_slot_alloc();
	if (slot == NO_SLOT) {
		/* The rest of the batch (and the pause) looks for clean pages. */
		lru_add(f, LRU_INACTIVE_ANON, true);
		stats.swap_full++;
		sc->swap_full = true;
		sc->drop_only = true;
		S.swap_full_since = sys_now_ns();
		if (S.anon_pause_until < S.swap_full_since + SWAP_FULL_PAUSE_NS)
			S.anon_pause_until = S.swap_full_since + SWAP_FULL_PAUSE_NS;
		return RECLAIM_DONE;
	}
	fr->slot = slot;
	swap_slot_set_owner(slot, PAGE_ALIGN_DOWN(fr->addr));
	/* The compressed pool first: no I/O. A page it refuses (full, or
	 * compressing poorly) goes to the file. */
	if (zpool_enabled() && zpool_store(slot, buf) == ZPOOL_STORED) {
		fr->hash = h;
		evict(f);
		balance_note_evict(false, false);
		sc->nr_reclaimed++;
		return RECLAIM_DONE;
	}
	S.wbuf_hash[b] = h;
	swap_seal_page(slot, buf, h); /* buf is ciphertext from here with --swap-encrypt */
	balance_note_evict(false, true);
	queue_swap_write(sc, f, b, slot);
	return RECLAIM_WRITING;
}

/* Scan up to nr pages from the tail of one inactive list. */
static void shrink_inactive(struct scan_control *sc, bool file, uint64_t nr)
{
	enum lru_list l = file ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON;

	if (aging_inactive_is_low(file) || lru_tail(l) == NIL)
		aging_refill(file, (unsigned)nr);
	while (nr-- && sc->nr_reclaimed + sc->nr_writing < sc->nr_to_reclaim) {
		uint32_t f = lru_tail(l), b;
		enum reclaim_result res;
		struct frame *fr;

		if (f == NIL || !S.nr_wbuf_free)
			return;
		fr = lru_frame(f);
		sc->nr_scanned++;
		stat_kind(pgscan, file)++;
		if (!(fr->flags & F_STAGED)) {
			/* A new page: armed now (with its neighbours on the
			 * list), it gets one more trip. */
			int n = aging_arm_inactive(f);

			if (n < 0)
				return;
			sc->nr_armed += (uint64_t)n;
			continue;
		}
		lru_del(f);
		b = S.wbuf_free[--S.nr_wbuf_free];
		if (track_copy_out(f, S.wbufs + ((size_t)b << PAGE_SHIFT))) {
			S.wbuf_free[S.nr_wbuf_free++] = b;
			lru_add(f, lru_of(fr, true), true);
			stats.pgrotated++;
			continue;
		}
		res = reclaim_page(sc, f, b);
		if (res != RECLAIM_WRITING)
			S.wbuf_free[S.nr_wbuf_free++] = b;
	}
}

/* The kernel's cache_trim_mode: plenty of inactive file pages and none of
 * them coming back (no file refault activated since the last batch): take
 * from file only. */
static bool cache_trim(void)
{
	bool quiet = stats.workingset_activate_file == S.activate_file_seen;

	S.activate_file_seen = stats.workingset_activate_file;
	return quiet && lru.lists[LRU_INACTIVE_FILE].nr >= (pager.limit_pages >> 4) &&
	       !aging_inactive_is_low(true);
}

/* One batch: split the scan between anon and file (policy/balance.c), in chunks
 * taken alternately so both sides progress in proportion. */
static void shrink_lists(struct scan_control *sc)
{
	uint64_t anon = lru.lists[LRU_INACTIVE_ANON].nr + lru.lists[LRU_ACTIVE_ANON].nr;
	uint64_t file = lru.lists[LRU_INACTIVE_FILE].nr + lru.lists[LRU_ACTIVE_FILE].nr;
	/* Swap space ran out or writes failed lately: no anon page is written
	 * for now. File pages go first; with none, anon pages whose swap copy
	 * is still good (or that are zeros) are dropped, so faults on them
	 * and on swapped pages are still served while anything can be freed. */
	bool swap_ok = sys_now_ns() >= S.anon_pause_until;
	uint64_t budget = 2 * (uint64_t)pager.batch, scan[2];
	unsigned share = balance_anon_share(anon && (swap_ok || !file), file != 0, cache_trim());

	sc->drop_only = !swap_ok;

	scan[0] = budget * share / 1024;
	scan[1] = budget - scan[0];
	while (sc->nr_reclaimed + sc->nr_writing < sc->nr_to_reclaim && (scan[0] || scan[1]) &&
	       S.nr_wbuf_free) {
		uint64_t before = sc->nr_scanned;

		for (int t = 1; t >= 0; t--) {
			uint64_t n = scan[t] < 8 ? scan[t] : 8;

			if (n) {
				shrink_inactive(sc, t, n);
				scan[t] -= n;
			}
		}
		if (sc->nr_scanned == before)
			break; /* nothing on the lists we were to scan */
	}
}

/*
 * The compressed pool near its size: write its oldest entries to their
 * slots (decompressed, sealed like any swap page), keeping up to a batch
 * in flight. An entry stays readable until its write lands.
 */
static void pool_writeback(void)
{
	while (zpool_wb_wanted() && zpool.nr_wb < pager.batch && S.nr_wbuf_free) {
		uint32_t slot = zpool_wb_next(swap_slot_writable), b;
		struct io_uring_sqe *sqe;
		char *buf;

		if (slot == NO_SLOT)
			return;
		b = S.wbuf_free[--S.nr_wbuf_free];
		buf = S.wbufs + ((size_t)b << PAGE_SHIFT);
		if (zpool_load(slot, buf)) {
			pager_unlock();
			log_oom_kill("the compressed copy of swap slot %u is corrupt; killing the "
				     "program",
				     slot);
		}
		swap_seal_page(slot, buf, lru_page_hash(buf));
		sqe = io_uring_get_sqe(&S.ring);
		io_uring_prep_write_fixed(sqe, 0, buf, PAGE_SIZE, swap_offset(slot), (int)b);
		sqe->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data64(sqe, ((uint64_t)slot << 32) | ((uint64_t)b << 8) | UD_ZWB);
		stats.pswpout_writes++;
		S.wbuf_t0[b] = sys_now_ns();
	}
}

static void complete_pool_write(uint32_t slot, uint32_t b, int res)
{
	bool ok = res == (int)PAGE_SIZE;

	pager_lock();
	balance_note_io(false, true, sys_now_ns() - S.wbuf_t0[b]);
	if (zpool_wb_end(slot, ok))
		swap_slot_free(slot); /* loaded or released while being written */
	if (ok) {
		S.nr_written++;
		S.werr_pause = 0;
		stats.pswpout++;
	} else {
		stats.swap_write_errors++;
		S.werr_at = sys_now_ns();
		S.werr_errno = res < 0 ? -res : EIO;
	}
	pager_unlock();
	if (!ok)
		log_once("swap write failed (%s): pages stay in memory",
			 res < 0 ? strerror(-res) : "short write");
	S.wbuf_free[S.nr_wbuf_free++] = b;
}

/* The write of frame f's page from buffer b ended with res (n bytes asked).
 * Called with the pager lock held; returns with it held. */
static void write_done(uint32_t f, uint32_t b, size_t n, int res)
{
	struct frame *fr;
	bool file;

	fr = lru_frame(f);
	file = fr->flags & F_FILE;
	fr->flags &= ~F_WRITEBACK;
	pager.nr_writeback--;
	balance_note_io(file, true, sys_now_ns() - S.wbuf_t0[b]);
	if (fr->flags & F_DEAD) {
		S.nr_written++;
		page_forget(f);
	} else if (res != (int)n) {
		/* The page stays resident and counted; it may be tried again. */
		if (file) {
			stats.file_write_errors++;
		} else {
			uint64_t now = sys_now_ns();

			stats.swap_write_errors++;
			swap_slot_free(fr->slot);
			fr->slot = NO_SLOT;
			/* Back off, rather than retry at once (a full disk under
			 * a sparse file fails every write, millions a second):
			 * the first failure of a batch doubles the pause. */
			S.werr_at = now;
			S.werr_errno = res < 0 ? -res : EIO;
			if (now >= S.anon_pause_until) {
				S.werr_pause = S.werr_pause ? S.werr_pause * 2 : WERR_PAUSE_MIN_NS;
				if (S.werr_pause > WERR_PAUSE_MAX_NS)
					S.werr_pause = WERR_PAUSE_MAX_NS;
				S.anon_pause_until = now + S.werr_pause;
			}
		}
		lru_add(f, lru_of(fr, !(fr->flags & F_STAGED)), true);
		pager_unlock();
		if (file)
			log_once(
				"writing a page back to its mapped file failed (%s): it stays in memory",
				res < 0 ? strerror(-res) : "short write");
		else
			log_once("swap write failed (%s): pages stay in memory",
				 res < 0 ? strerror(-res) : "short write");
		pager_lock();
	} else if (fr->flags & F_STAGED) {
		S.nr_written++;
		if (!file)
			S.werr_pause = 0;
		evict(f);
		if (file)
			stats.pgpgout++;
		else
			stats.pswpout++;
	} else {
		/* Touched while being written: it is live again. The copy written
		 * holds what it was; the hash will tell whether it still is. */
		fr->hash = file ? lru_page_hash(S.wbufs + ((size_t)b << PAGE_SHIFT)) :
				  S.wbuf_hash[b];
		S.nr_written++;
		if (!file)
			S.werr_pause = 0;
		lru_add(f, lru_of(fr, true), true);
		if (file)
			stats.pgpgout++;
	}
	S.wbuf_free[S.nr_wbuf_free++] = b;
}

static void complete_write(uint32_t f, uint32_t b, size_t n, int res)
{
	pager_lock();
	write_done(f, b, n, res);
	pager_unlock();
}

/* A run of swap writes ended: the pages the bytes written cover are on the
 * file; for the rest it was a short write (they stay resident). One lock. */
static void complete_run(uint32_t idx, int res)
{
	struct write_run *w = &runs[idx];

	pager_lock();
	for (uint32_t i = 0; i < w->n; i++) {
		int before = (int)(i << PAGE_SHIFT), r = res;

		if (res >= 0)
			r = res <= before ? 0 : res - before >= (int)PAGE_SIZE ? (int)PAGE_SIZE : res - before;
		write_done(w->frame[i], w->buf[i], PAGE_SIZE, r);
	}
	pager_unlock();
	S.run_free[S.nr_run_free++] = idx;
}

static unsigned reap(void)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0, done = 0;
	uint64_t v;

	io_uring_for_each_cqe(&S.ring, head, cqe) {
		uint64_t ud = cqe->user_data;

		seen++;
		if ((ud & 0xff) == UD_WRITE) {
			complete_write((uint32_t)(ud >> 32), (uint32_t)((ud >> 8) & 0x7ff),
				       (size_t)((ud >> 19) & 0x1fff), cqe->res);
			done++;
		} else if ((ud & 0xff) == UD_WRUN) {
			complete_run((uint32_t)(ud >> 8), cqe->res);
			done++;
		} else if ((ud & 0xff) == UD_ZWB) {
			complete_pool_write((uint32_t)(ud >> 32), (uint32_t)((ud >> 8) & 0x7ff),
					    cqe->res);
			done++;
		} else if ((ud & 0xff) == UD_WAKE) {
			(void)!sys_read(pager.scan_efd, &v, sizeof(v));
			if (!(cqe->flags & IORING_CQE_F_MORE)) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&S.ring);

				io_uring_prep_poll_multishot(sqe, pager.scan_efd, POLLIN);
				io_uring_sqe_set_data64(sqe, UD_WAKE);
			}
		}
	}
	io_uring_cq_advance(&S.ring, seen);
	transit_flush(false);
	if (done)
		pager_wake_handler();
	return done;
}

static bool need_reclaim(void)
{
	uint64_t free = pager_free_pages() + pager.nr_writeback + S.nr_transit;

	return free < pager.wmark_high || __atomic_load_n(&pager.pageout_req, __ATOMIC_RELAXED) ||
	       (__atomic_load_n(&pager.nr_waiting, __ATOMIC_RELAXED) &&
		pager_free_pages() <= pager.wmark_min);
}

static void sample_vmas(void)
{
	char buf[65536];
	uint64_t lines = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((n = sys_read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	stat_max(&stats.vma_peak, lines);
}

/* A fork is being prepared (runtime/fork.c): let the writes in flight land, then
 * wait, holding nothing, until it is done. */
static void fork_park(void)
{
	uint32_t gen = __atomic_load_n(&pager.fork_req, __ATOMIC_ACQUIRE);

	while (pager.nr_writeback || zpool.nr_wb) {
		ring_check(io_uring_submit_and_wait(&S.ring, 1), "the scanner");
		reap();
	}
	transit_flush(false);
	pager_fork_park(FORK_PARKED_SCANNER);
	while (__atomic_load_n(&pager.fork_req, __ATOMIC_ACQUIRE) == gen)
		sys_futex_wait(&pager.fork_req, gen, -1);
}

/* What keeps anon pages from going to swap, as a phrase for the OOM line. */
static void swap_state(char *buf, size_t len, uint64_t now)
{
	size_t n = 0;

	buf[0] = 0;
	if (S.swap_full_since && now - S.swap_full_since < 2 * OOM_STALL_NS) {
		swap_full_reason(buf, len);
		n = strlen(buf);
	}
	if (S.werr_at && now - S.werr_at < 2 * OOM_STALL_NS && n + 2 < len)
		snprintf(buf + n, len - n, "%sswap writes fail: %s (%llu write errors)",
			 n ? "; " : "", strerror(S.werr_errno),
			 (unsigned long long)stats.swap_write_errors);
	if (!buf[0])
		snprintf(buf, len, "swap ok");
}

static __attribute__((noreturn)) void oom_kill(uint64_t now)
{
	char why[256];

	swap_state(why, sizeof(why), now);
	log_oom_kill("out of memory: limit of %llu MiB reached and no page can be evicted "
		     "(%llu resident, anon %llu active %llu inactive, file %llu active %llu "
		     "inactive; %s)",
		     (unsigned long long)(pager.limit_pages >> 8),
		     (unsigned long long)lru.nr_allocated,
		     (unsigned long long)lru.lists[LRU_ACTIVE_ANON].nr,
		     (unsigned long long)lru.lists[LRU_INACTIVE_ANON].nr,
		     (unsigned long long)lru.lists[LRU_ACTIVE_FILE].nr,
		     (unsigned long long)lru.lists[LRU_INACTIVE_FILE].nr, why);
}

static void *scan_main(void *arg)
{
	struct io_uring_sqe *sqe;
	uint64_t stall_start = 0, last_vma_sample = 0, written_seen = 0;

	(void)arg;
	ring_enable(&S.ring, "the scanner");
	sqe = io_uring_get_sqe(&S.ring);
	io_uring_prep_poll_multishot(sqe, pager.scan_efd, POLLIN);
	io_uring_sqe_set_data64(sqe, UD_WAKE);
	io_uring_submit(&S.ring);
	for (;;) {
		struct scan_control sc = { 0 };
		struct io_uring_cqe *cqe;
		uint64_t now;

		reap();
		now = sys_now_ns();
		if (now - S.cpu_at >= CPU_SAMPLE_NS) {
			stats.scanner_cpu_ns = sys_thread_cpu_ns();
			S.cpu_at = now;
		}
		if (__atomic_load_n(&pager.fork_req, __ATOMIC_ACQUIRE)) {
			fork_park();
			continue;
		}
		swap_thaw_poll();
		if (!need_reclaim()) {
			struct __kernel_timespec ts = { .tv_sec = 1 };

			__atomic_store_n(&pager.scanner_kick, 0, __ATOMIC_RELEASE);
			if (need_reclaim())
				continue;
			ring_check(io_uring_submit_and_wait_timeout(&S.ring, &cqe, 1, &ts, NULL),
				   "the scanner");
			continue;
		}
		stats.scan_passes++;
		pager_lock();
		{
			uint64_t free = pager_free_pages() + pager.nr_writeback + S.nr_transit;

			sc.nr_to_reclaim = free < pager.wmark_high ? pager.wmark_high - free : 1;
			/* MADV_PAGEOUT asked for its pages (at the inactive tail). */
			if (sc.nr_to_reclaim < pager.pageout_req)
				sc.nr_to_reclaim = pager.pageout_req;
			if (sc.nr_to_reclaim > pager.batch)
				sc.nr_to_reclaim = pager.batch;
		}
		shrink_lists(&sc);
		run_close();
		if (zpool_enabled())
			pool_writeback();
		{
			uint64_t done = sc.nr_reclaimed + sc.nr_writing;

			/* A request is a hint: it ends when the list runs dry. */
			pager.pageout_req = done < pager.pageout_req && sc.nr_scanned ?
						    pager.pageout_req - done :
						    0;
		}
		pager_unlock();
		/* Start the writes (pool writebacks too). Completions deferred
		 * (ring_deferred) are posted only when this thread asks, and
		 * reap only looks: while writes are in flight, ask for them in
		 * the same system call. */
		if (sc.nr_writing || zpool.nr_wb ||
		    (pager.nr_writeback && ring_deferred(&S.ring)))
			ring_check(io_uring_submit_and_get_events(&S.ring), "the scanner");
		transit_flush(false);
		if (sc.nr_reclaimed)
			pager_wake_handler();
		now = sys_now_ns();
		if (now - last_vma_sample > 250000000ULL) {
			sample_vmas();
			last_vma_sample = now;
		}
		/* Progress is memory freed (or about to be: pages armed), not
		 * writes started: writes that all fail must not hold off the end. */
		if (sc.nr_reclaimed || sc.nr_armed || S.nr_written != written_seen) {
			written_seen = S.nr_written;
			stall_start = 0;
		} else if (__atomic_load_n(&pager.nr_waiting, __ATOMIC_RELAXED) &&
			   pager_free_pages() <= pager.wmark_min) {
			if (!stall_start)
				stall_start = now;
			else if (now - stall_start > OOM_STALL_NS)
				oom_kill(now);
		} else {
			stall_start = 0;
		}
		if (sc.nr_reclaimed || sc.nr_writing || sc.nr_armed)
			continue;
		if (pager.nr_writeback || zpool.nr_wb) {
			/* Nothing more to start: wait for writes to land. */
			ring_check(io_uring_submit_and_wait(&S.ring, 1), "the scanner");
			continue;
		}
		/* No progress possible right now. */
		{
			struct __kernel_timespec ts = { .tv_nsec = 10000000 };

			ring_check(io_uring_submit_and_wait_timeout(&S.ring, &cqe, 1, &ts, NULL),
				   "the scanner");
		}
	}
	return NULL;
}

static int setup_ring(char *err, size_t errlen)
{
	S.nr_wbuf_free = 0;
	for (uint32_t i = 0; i < NR_WRITE_BUFS; i++)
		S.wbuf_free[S.nr_wbuf_free++] = i;
	S.nr_run_free = 0;
	for (uint32_t i = 0; i < NR_WRITE_BUFS; i++)
		S.run_free[S.nr_run_free++] = i;
	S.run_open = NO_RUN;
	/* Only the scanner thread submits to this ring (RING_OWNED: it enables
	 * it); before Linux 6.1, COOP_TASKRUN at least spares it IPIs. */
	return ring_setup(&S.ring, 2 * NR_WRITE_BUFS, RING_OWNED, IORING_SETUP_COOP_TASKRUN,
			  S.wbufs, NR_WRITE_BUFS, &swap.fd, 1, err, errlen);
}

int scan_start(char *err, size_t errlen)
{
	int r;

	aging_init(pager.limit_pages);
	S.wbufs = sys_alloc_meta((size_t)NR_WRITE_BUFS << PAGE_SHIFT);
	if (!S.wbufs) {
		snprintf(err, errlen, "cannot allocate scanner resources");
		return -ENOMEM;
	}
	r = setup_ring(err, errlen);
	if (r)
		return r;
	return thread_start(THREAD_SCANNER, scan_main, "uswap-scan", err, errlen);
}

/* In a forked child, as fault_fork_child. */
int scan_fork_child(bool start, char *err, size_t errlen)
{
	int r;

	ring_forget(&S.ring);
	S = (struct scanner){ .ring = S.ring, .wbufs = S.wbufs };
	if (!start)
		return 0;
	r = setup_ring(err, errlen);
	if (r)
		return r;
	return thread_start(THREAD_SCANNER, scan_main, "uswap-scan", err, errlen);
}

/* The scanner's CPU time, the list sizes and the swappiness at exit, into
 * the counters. */
void scan_exit_counters(void)
{
	uint64_t ns = thread_cpu_ns(THREAD_SCANNER);

	if (ns)
		stats.scanner_cpu_ns = ns;
	/* A signal handler may end the program on a thread that holds the
	 * pager lock (runtime_exit): then the rest is skipped. */
	if (pager_held_by_me())
		return;
	pager_lock();
	stats.nr_inactive_anon = lru.lists[LRU_INACTIVE_ANON].nr;
	stats.nr_active_anon = lru.lists[LRU_ACTIVE_ANON].nr;
	stats.nr_inactive_file = lru.lists[LRU_INACTIVE_FILE].nr;
	stats.nr_active_file = lru.lists[LRU_ACTIVE_FILE].nr;
	stats.nr_inactive_anon_peak = lru.lists[LRU_INACTIVE_ANON].peak;
	stats.nr_active_anon_peak = lru.lists[LRU_ACTIVE_ANON].peak;
	stats.nr_inactive_file_peak = lru.lists[LRU_INACTIVE_FILE].peak;
	stats.nr_active_file_peak = lru.lists[LRU_ACTIVE_FILE].peak;
	stats.swappiness_effective = (uint64_t)balance_swappiness();
	stats.zswap_pool_bytes = zpool.nr_pages << PAGE_SHIFT;
	stats.zswap_stored_pages = zpool.nr_stored;
	stats.zswap_stored_bytes = zpool.nr_bytes;
	pager_unlock();
	sample_vmas();
}
