/*
 * madvise on managed memory. DONTNEED and FREE release the pages (their
 * next touch reads zeros, or the file); WILLNEED reads evicted pages in
 * ahead of use; COLD and PAGEOUT deactivate pages, PAGEOUT queueing them
 * for the scanner; the access-pattern hints go to mapped files' own
 * readahead. The kernel sees every call first, and a refused one changes
 * nothing.
 */
#define _GNU_SOURCE
#include "madvise.h"

#include "aging.h"
#include "fault.h"
#include "file.h"
#include "lru.h"
#include "page.h"
#include "pager.h"
#include "region.h"
#include "stats.h"

#include <errno.h>
#include <sys/mman.h>

/* MADV_COLD / MADV_PAGEOUT: deactivate the range's resident pages; for
 * PAGEOUT put them at the inactive tail and ask the scanner for them. */
static void hint_cold(uintptr_t s, uintptr_t e, bool pageout)
{
	struct region_iter it;
	struct region *r;
	uint64_t queued = 0;

	for (uintptr_t a = region_iter_first(&it, s, e, &r); a; a = region_iter_next(&it, &r)) {
		uint64_t w = *region_pst(r, a);
		uint32_t f = ps_frame(w);
		struct frame *fr = lru_frame(f);

		if (ps_type(w) != PS_RESIDENT || (fr->flags & (F_WRITEBACK | F_MLOCKED)))
			continue;
		if (fr->lru == lru_of(fr, true) && aging_deactivate(f, pageout))
			break; /* mprotect tracking's VMA budget is spent */
		if (pageout && fr->lru == lru_of(fr, false)) {
			lru_move(f, lru_of(fr, false), false);
			queued++;
		}
	}
	if (queued) {
		pager.pageout_req += queued;
		stats.pgpageout += queued;
		pager_wake_scanner();
	}
}

int rt_madvise(void *addr, size_t len, int advice)
{
	uintptr_t s = (uintptr_t)addr;
	bool managed, hint;
	int r;

	if (pager.enabled &&
	    (advice == MADV_RANDOM || advice == MADV_SEQUENTIAL || advice == MADV_NORMAL))
		file_advise(s, PAGE_ALIGN_UP(len), advice);
	hint = advice == MADV_WILLNEED || advice == MADV_COLD || advice == MADV_PAGEOUT;
	if (!pager.enabled || (s & (PAGE_SIZE - 1)) ||
	    (advice != MADV_DONTNEED && advice != MADV_FREE && !hint))
		return sys_madvise(addr, len, advice);
	if (hint) {
		len = PAGE_ALIGN_UP(len);
		pager_lock();
		managed = region_overlaps(s, len);
		/* The kernel validates the range; on our pages its PAGEOUT
		 * would swap behind our back, so it is told COLD. */
		r = sys_madvise(addr, len, managed && advice == MADV_PAGEOUT ? MADV_COLD : advice);
		if (managed && r == 0 && advice == MADV_WILLNEED)
			fault_prefetch(s, len);
		else if (managed && r == 0)
			hint_cold(s, s + len, advice == MADV_PAGEOUT);
		pager_unlock();
		if (managed && advice == MADV_WILLNEED)
			pager_kick_handler();
		return r;
	}
	len = PAGE_ALIGN_UP(len);
	pager_lock();
	managed = region_overlaps((uintptr_t)addr, len);
	if (managed && file_within(s, s + len)) {
		/* The kernel's rules for file pages: MADV_FREE is for anonymous
		 * memory only; MADV_DONTNEED keeps a shared mapping's changes
		 * (the page cache has them), so they go to the file first. */
		if (advice == MADV_FREE) {
			pager_unlock();
			errno = EINVAL;
			return -1;
		}
		file_flush_locked(s, s + len);
	}
	/* MADV_FREE may keep the data or drop it; dropping keeps our resident
	 * count exact. The kernel goes first: a refused call changes nothing. */
	r = sys_madvise(addr, len, managed && advice == MADV_FREE ? MADV_DONTNEED : advice);
	if (managed && (r == 0 || errno == ENOMEM))
		page_discard((uintptr_t)addr, len);
	pager_unlock();
	return r;
}
