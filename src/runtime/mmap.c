/*
 * The mmap family on managed memory: private anonymous mappings become
 * managed regions (registered with userfaultfd); file mappings are
 * emulated (file.c); MAP_FIXED, munmap and mremap keep the regions and
 * the pages' states in step with what the kernel did. The kernel sees
 * every call first; a refused call changes nothing of ours.
 */
#define _GNU_SOURCE
#include "mmap.h"

#include "config.h"
#include "file.h"
#include "log.h"
#include "lru.h"
#include "mapfile.h"
#include "mlock.h"
#include "page.h"
#include "pager.h"
#include "region.h"
#include "track.h"
#include "uffd.h"

#include <errno.h>
#include <sys/mman.h>

int mmap_manage(uintptr_t start, size_t len, enum region_kind kind)
{
	struct region *reg = NULL;
	int r;

	pager_lock();
	r = uffd_register(start, len);
	if (r == 0 && !(reg = region_add(start, start + len, kind)))
		r = -ENOMEM;
	if (reg)
		reg->origin = region_origin_new(reg, NULL);
	pager_unlock();
	return r;
}

static bool may_manage(int flags)
{
	return !mlock_future() && (flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE &&
	       !(flags & (MAP_GROWSDOWN | MAP_STACK | MAP_HUGETLB | MAP_LOCKED));
}

static void *mmap_managed(void *addr, size_t len, int prot, int flags, int fd, long off);

void *rt_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	bool manage = pager.enabled && len && may_manage(flags);
	void *p;

	if (pager.enabled && len && !(flags & MAP_ANONYMOUS) && fd >= 0)
		return file_mmap(addr, len, prot, flags, fd, off);
	if (!manage || !(flags & MAP_POPULATE))
		return mmap_managed(addr, len, prot, flags, fd, off);
	p = mmap_managed(addr, len, prot, flags & ~MAP_POPULATE, fd, off);
	return pager_populate(p, PAGE_ALIGN_UP(len), prot);
}

static void *mmap_managed(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	bool manage = pager.enabled && len && may_manage(flags);
	void *p;

	if (!pager.enabled)
		return sys_mmap(addr, len, prot, flags, fd, off);
	len = PAGE_ALIGN_UP(len);
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		struct region *r;

		pager_lock();
		if ((flags & MAP_FIXED) && region_overlaps((uintptr_t)addr, len))
			file_flush_locked((uintptr_t)addr, (uintptr_t)addr + len);
		p = sys_mmap(addr, len, prot, flags, fd, off);
		if (p != MAP_FAILED)
			file_kmap_forget((uintptr_t)p, (uintptr_t)p + len);
		if (p != MAP_FAILED && region_overlaps((uintptr_t)p, len)) {
			/* MAP_FIXED replaced managed pages. */
			page_discard((uintptr_t)p, len);
			region_remove((uintptr_t)p, (uintptr_t)p + len);
		}
		if (p != MAP_FAILED && manage && uffd_register((uintptr_t)p, len) == 0) {
			r = region_add((uintptr_t)p, (uintptr_t)p + len, REGION_MMAP);
			if (r) {
				r->app_prot = prot;
				r->origin = region_origin_new(r, NULL);
			}
		}
		pager_unlock();
		return p;
	}
	p = sys_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && manage && mmap_manage((uintptr_t)p, len, REGION_MMAP))
		log_once("could not register a mapping with userfaultfd; it stays unmanaged");
	if (p != MAP_FAILED && manage && prot != (PROT_READ | PROT_WRITE)) {
		struct region *r;

		pager_lock();
		r = region_lookup((uintptr_t)p);
		if (r)
			r->app_prot = prot;
		pager_unlock();
	}
	return p;
}

int rt_munmap(void *addr, size_t len)
{
	int r;

	if (!pager.enabled || ((uintptr_t)addr & (PAGE_SIZE - 1)) || !len)
		return sys_munmap(addr, len);
	len = PAGE_ALIGN_UP(len);
	pager_lock();
	/* The changes of a shared file mapping go to the file first. */
	if (region_overlaps((uintptr_t)addr, len))
		file_flush_locked((uintptr_t)addr, (uintptr_t)addr + len);
	r = sys_munmap(addr, len);
	if (r == 0)
		file_kmap_forget((uintptr_t)addr, (uintptr_t)addr + len);
	if (r == 0 && region_overlaps((uintptr_t)addr, len)) {
		page_discard((uintptr_t)addr, len);
		region_remove((uintptr_t)addr, (uintptr_t)addr + len);
	}
	pager_unlock();
	return r;
}

/* A new region r for what was at addr of a region like `like` (its kind,
 * protection and file, at the matching offset). */
static void region_like(struct region *r, const struct region *like, uintptr_t addr)
{
	r->app_prot = like->app_prot;
	r->origin = like->origin;
	if (like->kind != REGION_FILE)
		return;
	r->file = like->file;
	mapfile_get(r->file);
	r->file_off = region_file_off(like, addr);
	r->shared = like->shared;
}

/* Move the bookkeeping of [old, old+n) in src to [new, new+n) in dst after
 * the kernel moved the pages. Only pages ever touched carry state. */
static void move_states(struct region *src, uintptr_t old, uintptr_t new, size_t n,
			struct region *dst)
{
	uintptr_t lo, hi;

	region_span(src, old, old + n, &lo, &hi);
	for (uintptr_t a = lo; a < hi; a += PAGE_SIZE) {
		uint64_t *sp = region_pst(src, a), w = *sp;
		uintptr_t to = new + (a - old);

		if (ps_type(w) == PS_NONE)
			continue;
		if (ps_type(w) == PS_RESIDENT || ps_type(w) == PS_READING)
			lru_frame(ps_frame(w))->addr = to;
		pst_move(region_pst(dst, to), sp);
		region_touch(dst, to);
	}
}

/*
 * A moved mapping loses its userfaultfd registration (no UFFD_EVENT_REMAP
 * here), and the kernel drops it from the whole VMA the move lands in: a
 * move next to a managed mapping merges with it, and that neighbour goes
 * unregistered too; its evicted pages would then read zeros. So a move
 * the kernel would place lands between two guard pages of a reservation of
 * ours (growth in place is tried first, as the kernel would). A move to
 * an address the program chose may still merge: see reregister_around.
 */
static void *mremap_apart(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	size_t res_len = new_len + 2 * PAGE_SIZE;
	char *res;
	void *p;

	if (!(flags & MREMAP_MAYMOVE) || (flags & MREMAP_FIXED))
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	if (!(flags & MREMAP_DONTUNMAP)) {
		p = sys_mremap(old, old_len, new_len, flags & ~MREMAP_MAYMOVE, NULL);
		if (p != MAP_FAILED || errno != ENOMEM)
			return p;
	}
	res = sys_mmap(NULL, res_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		       0);
	if (res == MAP_FAILED)
		return sys_mremap(old, old_len, new_len, flags, NULL);
	p = sys_mremap(old, old_len, new_len, flags | MREMAP_FIXED, res + PAGE_SIZE);
	if (p == MAP_FAILED) {
		int e = errno;

		sys_munmap(res, res_len);
		errno = e;
		return p;
	}
	sys_munmap(res, PAGE_SIZE);
	sys_munmap(res + PAGE_SIZE + new_len, PAGE_SIZE);
	return p;
}

/* After a move to [p, p+len): register again the run of managed mappings
 * touching it on either side, which the move may have merged with and so
 * unregistered (a move to a fixed address). */
static void reregister_around(uintptr_t p, size_t len)
{
	uintptr_t lo = p, hi = p + len;
	struct region *r;

	while ((r = region_lookup(lo - 1)) && r->end == lo)
		lo = r->start;
	while ((r = region_lookup(hi)) && r->start == hi)
		hi = r->end;
	if (lo < p)
		uffd_register(lo, p - lo);
	if (hi > p + len)
		uffd_register(p + len, hi - (p + len));
}

void *rt_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	uintptr_t o = (uintptr_t)old;
	struct region *r, *nr, like;
	void *p;

	if (!pager.enabled)
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	old_len = PAGE_ALIGN_UP(old_len);
	new_len = PAGE_ALIGN_UP(new_len);
	pager_lock();
	if ((o & (PAGE_SIZE - 1)) || !region_overlaps(o, old_len ? old_len : PAGE_SIZE)) {
		pager_unlock();
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	}
	r = old_len ? region_merge(o, o + old_len) : NULL;
	if (!r || (track_mode == TRACK_MPROTECT && r->app_prot != (PROT_READ | PROT_WRITE))) {
		pager_unlock();
		log_once("mremap of a range that is only partly managed is not supported");
		errno = ENOMEM;
		return MAP_FAILED;
	}
	if (track_mode == TRACK_MPROTECT) {
		/* Armed pages are PROT_NONE in place: each splits the VMA, and the
		 * kernel refuses (EFAULT) an mremap over more than one. So all are
		 * disarmed, those under writeback too (their completion then
		 * finds them live and keeps them, as after a touch). */
		uintptr_t lo, hi;

		region_span(r, o, o + old_len, &lo, &hi);
		for (uintptr_t a = lo; a < hi; a += PAGE_SIZE) {
			uint64_t w = *region_pst(r, a);
			uint32_t f = ps_frame(w);
			struct frame *fr;

			if (ps_type(w) != PS_RESIDENT)
				continue;
			fr = lru_frame(f);
			if (!(fr->flags & F_STAGED) || track_disarm(f))
				continue;
			fr->flags &= ~F_STAGED;
			if (!(fr->flags & F_WRITEBACK)) /* off the lists until it lands */
				lru_move(f, lru_of(fr, true), true);
		}
	}
	if (new_len < old_len)
		file_flush_locked(o + new_len, o + old_len);
	like = *r;
	mapfile_get(like.file); /* held until the new regions have theirs */
	p = mremap_apart(old, old_len, new_len, flags, new_addr);
	if (p == MAP_FAILED) {
		mapfile_put(like.file);
		pager_unlock();
		return p;
	}
	if ((flags & MREMAP_FIXED) && region_overlaps((uintptr_t)p, new_len)) {
		/* The target's old pages were unmapped by the kernel. */
		page_discard((uintptr_t)p, new_len);
		region_remove((uintptr_t)p, (uintptr_t)p + new_len);
	}
	r = region_lookup(o);
	if (new_len < old_len && r)
		page_discard(o + new_len, old_len - new_len);
	if ((uintptr_t)p == o) {
		/* In place. A grown tail gets a region of its own; the kernel may
		 * have extended the registered VMA or not, so register it all. */
		if (new_len > old_len && (nr = region_add(o + old_len, o + new_len, like.kind))) {
			region_like(nr, &like, o + old_len);
			uffd_register(o, new_len);
		} else if (new_len < old_len)
			region_remove(o + new_len, o + old_len);
	} else {
		/* Moved: without UFFD_EVENT_REMAP the kernel drops the registration. */
		size_t n = old_len < new_len ? old_len : new_len;

		nr = NULL;
		if (uffd_register((uintptr_t)p, new_len) == 0)
			nr = region_add((uintptr_t)p, (uintptr_t)p + new_len, like.kind);
		if (nr)
			region_like(nr, &like, o);
		if (nr) {
			r = region_lookup(o); /* region_add may have moved the table */
			move_states(r, o, (uintptr_t)p, n, nr);
		} else {
			log_once("cannot manage a moved mapping: out of metadata");
			page_discard(o, old_len);
		}
		region_remove(o, o + old_len);
		if ((flags & MREMAP_DONTUNMAP) && uffd_register(o, old_len) == 0 &&
		    (nr = region_add(o, o + old_len, like.kind)))
			region_like(nr, &like, o);
		if (flags & MREMAP_FIXED)
			reregister_around((uintptr_t)p, new_len);
	}
	mapfile_put(like.file);
	pager_unlock();
	return p;
}
