/*
 * Releasing pages: the one place a page's frame and swap slot are given
 * back, whatever state it was in (the program freed or unmapped it, a read
 * failed, reclaim found it all zeros). Under the pager lock.
 */
#define _GNU_SOURCE
#include "page.h"

#include "lru.h"
#include "pager.h"
#include "region.h"
#include "stats.h"
#include "swap.h"
#include "track.h"

void page_forget(uint32_t f)
{
	pager_assert_locked();
	swap_slot_free(lru_frame(f)->slot);
	lru_frame_free(f);
}

void page_release(uint64_t *pst)
{
	uint64_t w = *pst;
	uint32_t f = ps_frame(w);
	struct frame *fr;

	pager_assert_locked();
	switch (ps_type(w)) {
	case PS_NONE:
		return;
	case PS_FILE:
		break;
	case PS_SWAPPED:
		swap_slot_free(ps_slot(w));
		break;
	case PS_READING:
		/* The swap-in completion sees F_DEAD, frees frame and slot, and
		 * wakes the faulting threads (they then find the page gone). */
		lru_frame(f)->flags |= F_DEAD;
		break;
	case PS_RESIDENT:
		fr = lru_frame(f);
		if (fr->flags & F_STAGED)
			track_drop(f);
		lru_del(f);
		if (fr->flags & F_WRITEBACK) {
			/* A write to its slot is in flight: the completion frees
			 * frame and slot, so the slot cannot be reused under it. */
			fr->flags |= F_DEAD;
		} else {
			page_forget(f);
		}
		break;
	}
	pst_set_none(pst);
	stats.pgfree_discard++;
}

void page_discard(uintptr_t start, size_t len)
{
	struct region_iter it;
	struct region *r;

	pager_assert_locked();
	for (uintptr_t a = region_iter_first(&it, start, start + len, &r); a;
	     a = region_iter_next(&it, &r))
		page_release(region_pst(r, a));
	pager_wake_handler();
}
