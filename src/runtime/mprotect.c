#define _GNU_SOURCE
#include "mprotect.h"

#include "file.h"
#include "lru.h"
#include "page.h"
#include "pager.h"
#include "region.h"
#include "track.h"

#include <errno.h>
#include <sys/mman.h>

/*
 * The program's own protections keep their meaning: the kernel applies
 * them, and the regions remember them (split at the range's ends) so that
 * reclaim knows what it may do with a page (mm/track.c). In mprotect tracking
 * the range's armed pages are disarmed first: the program owns their
 * protection now.
 */
int rt_mprotect(void *addr, size_t len, int prot)
{
	uintptr_t s = (uintptr_t)addr, e;
	int r;

	if (!pager.enabled || (s & (PAGE_SIZE - 1)) || !len)
		return sys_mprotect(addr, len, prot);
	len = PAGE_ALIGN_UP(len);
	e = s + len;
	pager_lock();
	if (!region_overlaps(s, len)) {
		pager_unlock();
		return sys_mprotect(addr, len, prot);
	}
	if ((prot & PROT_WRITE) && !file_may_write(s, e)) {
		/* A shared mapping of a file opened read-only. */
		pager_unlock();
		errno = EACCES;
		return -1;
	}
	r = sys_mprotect(addr, len, prot);
	if (r) {
		int saved = errno;

		pager_unlock();
		errno = saved;
		return r;
	}
	region_split(s);
	region_split(e);
	region_for_each_in(rg, s, e) {
		uintptr_t lo, hi;

		/* A split that ran out of metadata leaves a region only partly
		 * covered: its protection is then unknown. */
		rg->app_prot = (s <= rg->start && e >= rg->end) ? prot : -1;
		if (track_mode != TRACK_MPROTECT)
			continue;
		region_span(rg, s, e, &lo, &hi);
		for (uintptr_t a = lo; a < hi; a += PAGE_SIZE) {
			uint64_t w = *region_pst(rg, a);
			struct frame *fr = lru_frame(ps_frame(w));

			if (ps_type(w) != PS_RESIDENT || !(fr->flags & F_STAGED))
				continue;
			/* Made accessible by the call above: it is live again. Under
			 * writeback the completion then keeps it (and its slot). */
			fr->flags &= ~F_STAGED;
			if (!(fr->flags & F_WRITEBACK))
				lru_move(ps_frame(w), lru_of(fr, true), true);
		}
	}
	pager_unlock();
	return 0;
}
