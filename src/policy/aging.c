/*
 * Aging: the moves between the active and inactive lists (mm/lru.c draws
 * them). A page is deactivated from the active tail when its inactive list
 * is low, armed to trap (mm/track.c) on the way; a trap on an inactive
 * page activates it (the reference bit); what reaches the inactive tail
 * untouched is reclaimed (engine/scan.c). Refaults that skip the inactive
 * list are policy/workingset.c.
 */
#define _GNU_SOURCE
#include "aging.h"

#include "balance.h"
#include "config.h"
#include "lru.h"
#include "debug.h"
#include "page.h"
#include "pager.h"
#include "region.h"
#include "stats.h"
#include "swap.h"
#include "track.h"
#include "uffd.h"
#include "workingset.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>

static uint32_t inactive_ratio = 1;

void aging_init(uint64_t limit_pages)
{
	uint64_t gb = (limit_pages << PAGE_SHIFT) >> 30;

	/* The kernel's inactive_ratio: sqrt(10 * GiB), 1 below 1 GiB. */
	inactive_ratio = gb ? (uint32_t)sqrt(10.0 * (double)gb) : 1;
}

bool aging_inactive_is_low(bool file)
{
	enum lru_list in = file ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON;

	return lru.lists[in].nr * inactive_ratio < lru.lists[in + 1].nr;
}

/* Written since its swap copy was made (WP_ASYNC): the copy is stale. */
static void drop_stale_copy(struct frame *fr)
{
	if (fr->slot != NO_SLOT && uffd_caps.wp_async && uffd_page_written(fr->addr) == 1) {
		swap_slot_free(fr->slot);
		fr->slot = NO_SLOT;
	}
}

/* Frame f's page is armed: onto the head of its inactive list (or tail). */
static void deactivated(uint32_t f, bool to_tail)
{
	struct frame *fr = lru_frame(f);

	fr->flags |= F_STAGED;
	lru_move(f, lru_of(fr, false), !to_tail);
	stats.pgdeactivate++;
}

int aging_deactivate(uint32_t f, bool to_tail)
{
	struct frame *fr = lru_frame(f);
	int err;

	pager_assert_locked();
	debug_assert(fr->lru != LRU_NONE);

	if (region_locked_at(fr->addr)) {
		/* mlock'd: set aside, as the kernel's unevictable list. */
		lru_del(f);
		fr->flags |= F_MLOCKED;
		stats.unevictable_pgs_mlocked++;
		return 0;
	}
	drop_stale_copy(fr);
	err = track_arm(f);
	if (err == -EAGAIN)
		return err;
	if (err == 0) {
		deactivated(f, to_tail);
	} else if (err == -ENOENT) {
		/* The page is gone from under us (a raw madvise): forget it. */
		struct region *r = region_lookup(fr->addr);
		uint64_t *p = r ? region_pst(r, fr->addr) : NULL;

		lru_del(f);
		page_forget(f);
		if (p)
			pst_set_none(p);
	} else {
		/* Pinned (EBUSY), or a protection we must not change: keep it
		 * active for now. */
		lru_move(f, lru_of(fr, true), true);
		stats.pgrotated++;
	}
	return 0;
}

int aging_readahead_arm(uint32_t f, const void *buf)
{
	struct frame *fr = lru_frame(f);
	int err;

	pager_assert_locked();
	if (region_locked_at(fr->addr))
		return -EPERM;
	err = buf ? track_arm_filled(f, buf) : track_arm(f);
	if (err)
		return err;
	fr->flags |= F_STAGED;
	lru_add(f, lru_of(fr, false), true);
	return 0;
}

/* Is frame g the page at addr, one aging_deactivate would arm? Notes, as
 * it would, that a page written since its swap copy has none. */
static bool run_member(uint32_t g, uintptr_t addr)
{
	struct frame *fr = lru_frame(g);

	if (fr->addr != addr || (fr->flags & F_STAGED) || region_locked_at(addr))
		return false;
	drop_stale_copy(fr);
	return true;
}

/* Frames from the tail f of a list on whose pages sit at consecutive
 * addresses, rising or falling (a sweep leaves them so), into run. */
static unsigned collect_run(uint32_t f, unsigned max, uint32_t *run)
{
	uintptr_t a = lru_frame(f)->addr;
	uint32_t g = lru_frame(f)->prev;
	intptr_t step;
	unsigned n = 1;

	run[0] = f;
	if (g == NIL || max < 2 || track_mode != TRACK_UFFD)
		return 1; /* mprotect arms a page at a time */
	step = lru_frame(g)->addr == a + PAGE_SIZE ? (intptr_t)PAGE_SIZE :
	       lru_frame(g)->addr == a - PAGE_SIZE ? -(intptr_t)PAGE_SIZE :
						     0;
	if (!step || !run_member(f, a))
		return 1;
	for (; g != NIL && n < max && run_member(g, a + (uintptr_t)(step * (intptr_t)n));
	     g = lru_frame(g)->prev)
		run[n++] = g;
	return n;
}

/* Arm the n frames of run (consecutive addresses, in list order) and put
 * them on the inactive head in that order; what the move did not take goes
 * one page at a time. Pages armed, or -EAGAIN: mprotect's VMA budget is
 * spent. */
static int arm_run(const uint32_t *run, unsigned n)
{
	bool armed[AGING_RUN_MAX];

	if (n < 2 || !track_arm_run(run, n, armed))
		return aging_deactivate(run[0], false) ? -EAGAIN : 1;
	for (unsigned i = 0; i < n; i++) {
		if (armed[i])
			deactivated(run[i], false);
		else if (aging_deactivate(run[i], false))
			return -EAGAIN;
	}
	return (int)n;
}

/*
 * Deactivate about nr pages from the active tail. Pages there that sit at
 * consecutive addresses are armed as one run: one UFFDIO_MOVE and one TLB
 * flush for the lot, against one each a page (8.9 us a page with the
 * program running on the other CPU, 0.39 us a page for 32 in one call:
 * techniques.md). They keep their order on the inactive list.
 */
void aging_refill(bool file, unsigned nr)
{
	enum lru_list al = file ? LRU_ACTIVE_FILE : LRU_ACTIVE_ANON;
	uint32_t run[AGING_RUN_MAX];

	while (nr && aging_inactive_is_low(file)) {
		uint32_t f = lru_tail(al);
		unsigned n;
		int armed;

		if (f == NIL)
			return;
		n = collect_run(f, AGING_RUN_MAX, run);
		/* In list order, so the run keeps it. A run may be longer than
		 * nr (its pages are the next on the active tail anyway): asking
		 * for more pages a refill made the inactive list longer and
		 * caught more pages in it (a python heap under 63M: refills of
		 * 32 pages took 4x the tracking faults of refills of 8). */
		armed = arm_run(run, n);
		if (armed < 0)
			return;
		nr = (unsigned)armed >= nr ? 0 : nr - (unsigned)armed;
	}
}

int aging_arm_inactive(uint32_t f)
{
	uint32_t run[AGING_RUN_MAX];

	pager_assert_locked();
	return arm_run(run, collect_run(f, AGING_RUN_MAX, run));
}

void aging_add_new_anon(uint32_t f, bool swapped_in)
{
	if (config.new_anon_inactive)
		lru_add(f, LRU_INACTIVE_ANON, true);
	else
		lru_add(f, LRU_ACTIVE_ANON, !swapped_in);
}

int aging_activate(uint32_t f)
{
	struct frame *fr = lru_frame(f);
	int err;

	/*
	 * Its swap copy is still good: dirty tracking is re-armed (MOVE drops
	 * the write protection), and before the faulting thread runs, so its
	 * store cannot land between the move and the protection: move without
	 * waking, protect, then wake (unless the caller wakes later: a fork).
	 */
	bool rearm = track_mode == TRACK_UFFD && fr->slot != NO_SLOT && uffd_caps.wp_async &&
		     !(fr->flags & F_WRITEBACK);
	bool dontwake = uffd_dontwake;

	debug_assert(fr->flags & F_STAGED);
	uffd_dontwake = dontwake || rearm;
	err = track_disarm(f);
	uffd_dontwake = dontwake;
	if (err)
		return err; /* the caller wakes */
	if (rearm) {
		uffd_writeprotect(fr->addr, PAGE_SIZE);
		if (!dontwake)
			uffd_wake(fr->addr, PAGE_SIZE);
	}
	fr->flags &= ~F_STAGED;
	fr->flags |= F_WORKINGSET;
	/* Referenced while inactive: a rotation, the cheap half of a list's cost. */
	balance_note_cost((fr->flags & F_FILE) != 0, 0, 1);
	if (!(fr->flags & F_WRITEBACK))
		lru_move(f, lru_of(fr, true), true);
	workingset_activation();
	stats.pgactivate++;
	stats.tracking_faults++;
	stats.pgfault++;
	return 0;
}
