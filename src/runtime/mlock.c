#define _GNU_SOURCE
#include "mlock.h"

#include "lru.h"
#include "page.h"
#include "pager.h"
#include "region.h"
#include "stats.h"
#include "track.h"
#include "zpool.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool future; /* mlockall(MCL_FUTURE): new mappings are left to the kernel */

bool mlock_future(void)
{
	return future;
}

/*
 * mlock: an mlock'd region's pages are never evicted: the scanner sets them aside
 * (off the lists, F_MLOCKED) when they come to the active tail, and the
 * kernel's mlock faults every page in first, through the handler, so none
 * stays evicted. They still count against the limit, as in a memcg: more
 * locked than the limit is an out-of-memory kill. */

/* Mark the managed regions within [s, e) (split at the ends). */
static void mark_locked(uintptr_t s, uintptr_t e, bool lock)
{
	region_split(s);
	region_split(e);
	region_for_each_in(r, s, e)
		if (r->start >= s && r->end <= e)
			r->locked = lock;
}

/* Put the set-aside pages of [s, e) back on the active list. */
static void unlock_frames(uintptr_t s, uintptr_t e)
{
	for (uint32_t f = 0; f < lru.next_fresh; f++) {
		struct frame *fr = lru_frame(f);

		if ((fr->flags & F_MLOCKED) && fr->addr >= s && fr->addr < e &&
		    !region_locked_at(fr->addr)) {
			fr->flags &= ~F_MLOCKED;
			lru_add(f, lru_of(fr, true), true);
		}
	}
}

int rt_mlock(const void *addr, size_t len, unsigned flags, bool lock)
{
	uintptr_t s = PAGE_ALIGN_DOWN(addr), e = PAGE_ALIGN_UP((uintptr_t)addr + len);
	long r;

	if (!pager.enabled || e <= s)
		goto kernel;
	pager_lock();
	if (!region_overlaps(s, e - s)) {
		pager_unlock();
		goto kernel;
	}
	/* Before the kernel call, so nothing it faults in is evicted again. */
	if (lock)
		mark_locked(s, e, true);
	pager_unlock();
	r = lock ? syscall(SYS_mlock2, addr, len, flags) : syscall(SYS_munlock, addr, len);
	if (r && lock) {
		int saved = errno;

		pager_lock();
		mark_locked(s, e, false);
		unlock_frames(s, e);
		pager_unlock();
		errno = saved;
	}
	if (r == 0 && !lock) {
		pager_lock();
		mark_locked(s, e, false);
		unlock_frames(s, e);
		pager_unlock();
	}
	return (int)r;
kernel:
	return (int)(lock ? syscall(SYS_mlock2, addr, len, flags) :
			    syscall(SYS_munlock, addr, len));
}

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/* Set aside every managed page in place from `from` on; return the first
 * that is not in place (evicted, armed, under writeback), or 0. */
static uintptr_t lock_in_use(uintptr_t from)
{
	struct region_iter it;
	struct region *r;

	for (uintptr_t a = region_iter_first(&it, from, UINTPTR_MAX, &r); a;
	     a = region_iter_next(&it, &r)) {
		uint64_t w = *region_pst(r, a);
		struct frame *fr = lru_frame(ps_frame(w));

		if (ps_type(w) == PS_NONE)
			continue;
		if (ps_type(w) != PS_RESIDENT || (fr->flags & (F_STAGED | F_WRITEBACK)))
			return a;
		if (!(fr->flags & F_MLOCKED)) {
			lru_del(ps_frame(w));
			fr->flags |= F_MLOCKED;
			stats.unevictable_pgs_mlocked++;
		}
	}
	return 0;
}

/*
 * mlockall: the kernel would fault in every VMA, our 64 GiB heap
 * reservation and metadata arrays included. So it is asked to lock on
 * fault, and MCL_CURRENT is done here, page by page: every managed page in
 * use now (resident or evicted) is brought in and set aside, never to be
 * evicted; pages the program touches later are not locked (as new VMAs
 * would not be). The program's other memory is locked as it is touched.
 */
int rt_mlockall(int flags)
{
	uintptr_t a, last = 0;
	int tries = 0;
	long r;

	if (!pager.enabled)
		return (int)syscall(SYS_mlockall, flags);
	r = syscall(SYS_mlockall, flags | MCL_ONFAULT);
	if (r)
		return (int)r;
	if (flags & MCL_FUTURE)
		future = true;
	if (!(flags & MCL_CURRENT))
		return 0;
	pager_lock();
	/* Our ranges stay unlocked for the kernel: UFFDIO_MOVE refuses to move
	 * between a locked and an unlocked VMA. We lock their pages ourselves. */
	track_munlock_staging();
	zpool_munlock();
	region_for_each(rg)
		syscall(SYS_munlock, rg->start, rg->end - rg->start);
	/* Fault in each page not in place and look again; a few tries catch
	 * a page the scanner took away meanwhile, then it is left. */
	for (a = lock_in_use(0); a; a = lock_in_use(tries < 4 ? a : a + PAGE_SIZE)) {
		tries = a == last ? tries + 1 : 0;
		last = a;
		if (tries >= 4)
			continue;
		pager_unlock();
		sys_madvise((void *)a, PAGE_SIZE, MADV_POPULATE_READ);
		pager_lock();
	}
	pager_unlock();
	return 0;
}

int rt_munlockall(void)
{
	long r = syscall(SYS_munlockall);

	if (r == 0 && pager.enabled) {
		pager_lock();
		future = false;
		region_for_each(rg)
			rg->locked = false;
		unlock_frames(0, UINTPTR_MAX);
		pager_unlock();
	}
	return (int)r;
}
