#define _GNU_SOURCE
#include "rt.h"

#include "attrib.h"
#include "config.h"
#include "monitor.h"
#include "file.h"
#include "log.h"
#include "lru.h"
#include "page.h"
#include "stats.h"
#include "swap.h"
#include "track.h"
#include "uffd.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

struct rt rt;
__thread bool rt_starting_thread __attribute__((tls_model("initial-exec")));
uint32_t rt_nr_threads;

void rt_set_limit(uint64_t bytes)
{
	uint64_t pages = bytes >> PAGE_SHIFT;

	rt.limit_pages = pages;
	rt.wmark_min = (uint64_t)(config.wmark_min * (double)pages);
	rt.wmark_low = (uint64_t)(config.wmark_low * (double)pages);
	rt.wmark_high = (uint64_t)(config.wmark_high * (double)pages);
	/* At least one reclaim batch between low and high, so the scanner works
	 * in whole batches; both stay under half the limit. */
	if (rt.wmark_high < rt.wmark_low + config.batch)
		rt.wmark_high = rt.wmark_low + config.batch;
	if (rt.wmark_high > pages / 2)
		rt.wmark_high = pages / 2;
	if (rt.wmark_low > rt.wmark_high)
		rt.wmark_low = rt.wmark_high;
	if (rt.wmark_min > rt.wmark_low)
		rt.wmark_min = rt.wmark_low;
	if (rt.enabled) {
		/* Lower: the scanner reclaims down to it. Higher: waiters go on. */
		rt_wake_scanner();
		rt_wake_handler();
	}
}

int rt_init(char *err, size_t errlen)
{
	uint64_t cap;
	void *p;
	int r;

	rt.pid = getpid();
	if (config.limit_auto) {
		/* The controller starts from the machine's memory and works down. */
		config.limit_bytes = (uint64_t)sysconf(_SC_PHYS_PAGES) << PAGE_SHIFT;
	}
	rt_set_limit(config.limit_bytes);

	r = uffd_open(err, errlen);
	if (r)
		return r;
	r = track_init(err, errlen);
	if (r)
		return r;
	r = swap_open(config.swap_path, config.swap_size, err, errlen);
	if (r)
		return r;

	/* Frames: the limit plus room for the limit to be raised later. */
	cap = rt.limit_pages * 2 + 1024;
	if (cap > UINT32_MAX - 1)
		cap = UINT32_MAX - 1;
	if (lru_init((uint32_t)cap)) {
		snprintf(err, errlen, "cannot allocate page frame table");
		return -ENOMEM;
	}
	if (config.track == TRACK_UFFD) {
		p = sys_mmap(NULL, cap << PAGE_SHIFT, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			snprintf(err, errlen, "cannot reserve staging area: %s", strerror(errno));
			return -ENOMEM;
		}
		rt.staging = (uintptr_t)p;
		rt.staging_len = cap << PAGE_SHIFT;
		/* UFFDIO_MOVE needs its destination registered with the same uffd. */
		r = uffd_register(rt.staging, cap << PAGE_SHIFT);
		if (r) {
			snprintf(err, errlen, "cannot register staging area: %s", strerror(-r));
			return r;
		}
	}
	p = sys_mmap(NULL, config.heap_reserve, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot reserve %llu MiB of address space for the heap: %s",
			 (unsigned long long)(config.heap_reserve >> 20), strerror(errno));
		return -ENOMEM;
	}
	rt.heap_start = rt.heap_top = (uintptr_t)p;
	rt.heap_end = rt.heap_start + config.heap_reserve;
	rt.fault_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rt.fault_efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	r = rt_manage(rt.heap_start, config.heap_reserve, REGION_HEAP);
	if (r) {
		snprintf(err, errlen, "cannot register the heap with userfaultfd: %s", strerror(-r));
		return r;
	}
	r = fault_start(err, errlen);
	if (r)
		return r;
	r = scan_start(err, errlen);
	if (r)
		return r;
	r = monitor_start(err, errlen);
	if (r)
		return r;
	rt.enabled = true;
	return 0;
}

#define RT_THREAD_STACK (1UL << 20)

int rt_start_thread(pthread_t *t, void *(*fn)(void *), const char *name, char *err, size_t errlen)
{
	sigset_t all, old;
	int r;

	pthread_attr_t attr;
	void *stack = sys_alloc_meta(RT_THREAD_STACK);

	/* A stack of our own: glibc would otherwise reuse a cached stack, and
	 * in a forked child that means freeing the dead thread's TLS vector,
	 * which lives in the managed heap, before any handler runs. */
	if (!stack || pthread_attr_init(&attr) || pthread_attr_setstack(&attr, stack, RT_THREAD_STACK)) {
		snprintf(err, errlen, "cannot start thread %s: no memory for its stack", name);
		return -ENOMEM;
	}
	/* The program's signals are for the program's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rt_starting_thread = true; /* not one of the program's (preload.c counts those) */
	r = pthread_create(t, &attr, fn, NULL);
	rt_starting_thread = false;
	if (!r)
		__atomic_add_fetch(&rt_nr_threads, 1, __ATOMIC_RELAXED);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r) {
		snprintf(err, errlen, "cannot start thread %s: %s", name, strerror(r));
		return -r;
	}
	pthread_setname_np(*t, name);
	return 0;
}

int rt_manage(uintptr_t start, size_t len, enum region_kind kind)
{
	struct region *reg = NULL;
	int r;

	sys_lock(&rt.lock);
	r = uffd_register(start, len);
	if (r == 0 && !(reg = region_add(start, start + len, kind)))
		r = -ENOMEM;
	if (reg)
		reg->origin = origin_new(reg, NULL);
	sys_unlock(&rt.lock);
	return r;
}

/* Release one page's memory and swap slot; its next touch reads zeros. */
static void release_page(uint64_t *pst)
{
	uint64_t w = *pst;
	uint32_t f = ps_index(w);
	struct frame *fr;

	switch (ps_type(w)) {
	case PS_NONE:
		return;
	case PS_FILE:
		break;
	case PS_SWAPPED:
		swap_slot_free(f);
		break;
	case PS_READING:
		/* The swap-in completion sees F_DEAD, frees frame and slot, and
		 * wakes the faulting threads (they then find the page gone). */
		frame_of(f)->flags |= F_DEAD;
		break;
	case PS_RESIDENT:
		fr = frame_of(f);
		if (fr->flags & F_STAGED)
			track_drop(f);
		lru_del(f);
		if (fr->flags & F_WRITEBACK) {
			/* A write to its slot is in flight: the completion frees
			 * frame and slot, so the slot cannot be reused under it. */
			fr->flags |= F_DEAD;
		} else {
			swap_slot_free(fr->slot);
			lru_frame_free(f);
		}
		break;
	}
	*pst = 0;
	stats.pgfree_discard++;
}

void rt_discard_locked(uintptr_t start, size_t len)
{
	struct region_iter it;
	struct region *r;

	for (uintptr_t a = region_iter_first(&it, start, start + len, &r); a;
	     a = region_iter_next(&it, &r))
		release_page(region_pst(r, a));
	rt_wake_handler();
}

bool rt_overlaps_locked(uintptr_t start, size_t len)
{
	struct region *r;
	size_t lo = 0, hi = nr_regions;

	/* First region ending after start. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (regions[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == nr_regions)
		return false;
	r = &regions[lo];
	return r->start < start + len;
}

static bool may_manage(int flags)
{
	return !rt.mlock_future && (flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE &&
	       !(flags & (MAP_GROWSDOWN | MAP_STACK | MAP_HUGETLB | MAP_LOCKED));
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

/* MAP_POPULATE on a managed mapping: fault it in through the handler (the
 * kernel would fill it behind our back), as far as free memory goes; the
 * rest is filled on first touch, as without the flag. */
void *rt_populate(void *p, size_t len, int prot)
{
	uint64_t free = rt_free_pages();
	size_t n = free > rt.wmark_high ? (free - rt.wmark_high) << PAGE_SHIFT : 0;

	if (p == MAP_FAILED || !(prot & PROT_READ))
		return p;
	if (n > len)
		n = len;
	if (n)
		sys_madvise(p, n, (prot & PROT_WRITE) ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	return p;
}

static void *mmap_managed(void *addr, size_t len, int prot, int flags, int fd, long off);

void *rt_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	bool manage = rt.enabled && len && may_manage(flags);
	void *p;

	if (rt.enabled && len && !(flags & MAP_ANONYMOUS) && fd >= 0)
		return file_mmap(addr, len, prot, flags, fd, off);
	if (!manage || !(flags & MAP_POPULATE))
		return mmap_managed(addr, len, prot, flags, fd, off);
	p = mmap_managed(addr, len, prot, flags & ~MAP_POPULATE, fd, off);
	return rt_populate(p, PAGE_ALIGN_UP(len), prot);
}

static void *mmap_managed(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	bool manage = rt.enabled && len && may_manage(flags);
	void *p;

	if (!rt.enabled)
		return sys_mmap(addr, len, prot, flags, fd, off);
	len = PAGE_ALIGN_UP(len);
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		struct region *r;

		sys_lock(&rt.lock);
		if ((flags & MAP_FIXED) && rt_overlaps_locked((uintptr_t)addr, len))
			file_flush_locked((uintptr_t)addr, (uintptr_t)addr + len);
		p = sys_mmap(addr, len, prot, flags, fd, off);
		if (p != MAP_FAILED)
			file_kmap_forget((uintptr_t)p, (uintptr_t)p + len);
		if (p != MAP_FAILED && rt_overlaps_locked((uintptr_t)p, len)) {
			/* MAP_FIXED replaced managed pages. */
			rt_discard_locked((uintptr_t)p, len);
			region_remove((uintptr_t)p, (uintptr_t)p + len);
		}
		if (p != MAP_FAILED && manage && uffd_register((uintptr_t)p, len) == 0) {
			r = region_add((uintptr_t)p, (uintptr_t)p + len, REGION_MMAP);
			if (r) {
				r->app_prot = prot;
				r->origin = origin_new(r, NULL);
			}
		}
		sys_unlock(&rt.lock);
		return p;
	}
	p = sys_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && manage && rt_manage((uintptr_t)p, len, REGION_MMAP))
		log_once("could not register a mapping with userfaultfd; it stays unmanaged");
	if (p != MAP_FAILED && manage && prot != (PROT_READ | PROT_WRITE)) {
		struct region *r;

		sys_lock(&rt.lock);
		r = region_lookup((uintptr_t)p);
		if (r)
			r->app_prot = prot;
		sys_unlock(&rt.lock);
	}
	return p;
}

int rt_munmap(void *addr, size_t len)
{
	int r;

	if (!rt.enabled || ((uintptr_t)addr & (PAGE_SIZE - 1)) || !len)
		return sys_munmap(addr, len);
	len = PAGE_ALIGN_UP(len);
	sys_lock(&rt.lock);
	/* The changes of a shared file mapping go to the file first. */
	if (rt_overlaps_locked((uintptr_t)addr, len))
		file_flush_locked((uintptr_t)addr, (uintptr_t)addr + len);
	r = sys_munmap(addr, len);
	if (r == 0)
		file_kmap_forget((uintptr_t)addr, (uintptr_t)addr + len);
	if (r == 0 && rt_overlaps_locked((uintptr_t)addr, len)) {
		rt_discard_locked((uintptr_t)addr, len);
		region_remove((uintptr_t)addr, (uintptr_t)addr + len);
	}
	sys_unlock(&rt.lock);
	return r;
}

/* MADV_COLD / MADV_PAGEOUT: deactivate the range's resident pages; for
 * PAGEOUT put them at the inactive tail and ask the scanner for them. */
static void hint_cold(uintptr_t s, uintptr_t e, bool pageout)
{
	struct region_iter it;
	struct region *r;
	uint64_t queued = 0;

	for (uintptr_t a = region_iter_first(&it, s, e, &r); a; a = region_iter_next(&it, &r)) {
		uint64_t w = *region_pst(r, a);
		uint32_t f = ps_index(w);
		struct frame *fr = frame_of(f);

		if (ps_type(w) != PS_RESIDENT || (fr->flags & (F_WRITEBACK | F_MLOCKED)))
			continue;
		if (fr->lru == lru_of(fr, true) && scan_deactivate(f, pageout))
			break; /* mprotect tracking's VMA budget is spent */
		if (pageout && fr->lru == lru_of(fr, false)) {
			lru_move(f, lru_of(fr, false), false);
			queued++;
		}
	}
	if (queued) {
		rt.pageout_req += queued;
		stats.pgpageout += queued;
		rt_wake_scanner();
	}
}

int rt_madvise(void *addr, size_t len, int advice)
{
	uintptr_t s = (uintptr_t)addr;
	bool managed, hint;
	int r;

	if (rt.enabled && (advice == MADV_RANDOM || advice == MADV_SEQUENTIAL || advice == MADV_NORMAL))
		file_advise(s, PAGE_ALIGN_UP(len), advice);
	hint = advice == MADV_WILLNEED || advice == MADV_COLD || advice == MADV_PAGEOUT;
	if (!rt.enabled || (s & (PAGE_SIZE - 1)) ||
	    (advice != MADV_DONTNEED && advice != MADV_FREE && !hint))
		return sys_madvise(addr, len, advice);
	if (hint) {
		len = PAGE_ALIGN_UP(len);
		sys_lock(&rt.lock);
		managed = rt_overlaps_locked(s, len);
		/* The kernel validates the range; on our pages its PAGEOUT
		 * would swap behind our back, so it is told COLD. */
		r = sys_madvise(addr, len, managed && advice == MADV_PAGEOUT ? MADV_COLD : advice);
		if (managed && r == 0 && advice == MADV_WILLNEED) {
			if (rt.prefetch_hi <= rt.prefetch_lo) {
				rt.prefetch_lo = s;
				rt.prefetch_hi = s + len;
			} else {
				rt.prefetch_lo = s < rt.prefetch_lo ? s : rt.prefetch_lo;
				rt.prefetch_hi = s + len > rt.prefetch_hi ? s + len : rt.prefetch_hi;
			}
		} else if (managed && r == 0) {
			hint_cold(s, s + len, advice == MADV_PAGEOUT);
		}
		sys_unlock(&rt.lock);
		if (managed && advice == MADV_WILLNEED) {
			uint64_t one = 1;

			(void)!sys_write(rt.fault_efd, &one, sizeof(one));
		}
		return r;
	}
	len = PAGE_ALIGN_UP(len);
	sys_lock(&rt.lock);
	managed = rt_overlaps_locked((uintptr_t)addr, len);
	if (managed && file_within(s, s + len)) {
		/* The kernel's rules for file pages: MADV_FREE is for anonymous
		 * memory only; MADV_DONTNEED keeps a shared mapping's changes
		 * (the page cache has them), so they go to the file first. */
		if (advice == MADV_FREE) {
			sys_unlock(&rt.lock);
			errno = EINVAL;
			return -1;
		}
		file_flush_locked(s, s + len);
	}
	/* MADV_FREE may keep the data or drop it; dropping keeps our resident
	 * count exact. The kernel goes first: a refused call changes nothing. */
	r = sys_madvise(addr, len, managed && advice == MADV_FREE ? MADV_DONTNEED : advice);
	if (managed && (r == 0 || errno == ENOMEM))
		rt_discard_locked((uintptr_t)addr, len);
	sys_unlock(&rt.lock);
	return r;
}

/*
 * The program's own protections keep their meaning: the kernel applies
 * them, and the regions remember them (split at the range's ends) so that
 * reclaim knows what it may do with a page (track.c). In mprotect tracking
 * the range's armed pages are disarmed first: the program owns their
 * protection now.
 */
int rt_mprotect(void *addr, size_t len, int prot)
{
	uintptr_t s = (uintptr_t)addr, e;
	int r;

	if (!rt.enabled || (s & (PAGE_SIZE - 1)) || !len)
		return sys_mprotect(addr, len, prot);
	len = PAGE_ALIGN_UP(len);
	e = s + len;
	sys_lock(&rt.lock);
	if (!rt_overlaps_locked(s, len)) {
		sys_unlock(&rt.lock);
		return sys_mprotect(addr, len, prot);
	}
	if ((prot & PROT_WRITE) && !file_may_write(s, e)) {
		/* A shared mapping of a file opened read-only. */
		sys_unlock(&rt.lock);
		errno = EACCES;
		return -1;
	}
	r = sys_mprotect(addr, len, prot);
	if (r) {
		int saved = errno;

		sys_unlock(&rt.lock);
		errno = saved;
		return r;
	}
	region_split(s);
	region_split(e);
	for (size_t i = 0; i < nr_regions; i++) {
		struct region *rg = &regions[i];
		uintptr_t lo, hi;

		if (rg->end <= s || rg->start >= e)
			continue;
		/* A split that ran out of metadata leaves a region only partly
		 * covered: its protection is then unknown. */
		rg->app_prot = (s <= rg->start && e >= rg->end) ? prot : -1;
		if (config.track != TRACK_MPROTECT)
			continue;
		region_span(rg, s, e, &lo, &hi);
		for (uintptr_t a = lo; a < hi; a += PAGE_SIZE) {
			uint64_t w = *region_pst(rg, a);
			struct frame *fr = frame_of(ps_index(w));

			if (ps_type(w) != PS_RESIDENT || !(fr->flags & F_STAGED))
				continue;
			/* Made accessible by the call above: it is live again. Under
			 * writeback the completion then keeps it (and its slot). */
			fr->flags &= ~F_STAGED;
			if (!(fr->flags & F_WRITEBACK))
				lru_move(ps_index(w), lru_of(fr, true), true);
		}
	}
	sys_unlock(&rt.lock);
	return 0;
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
			frame_of(ps_index(w))->addr = to;
		*region_pst(dst, to) = w;
		region_touch(dst, to);
		*sp = 0;
	}
}

void *rt_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	uintptr_t o = (uintptr_t)old;
	struct region *r, *nr, like;
	void *p;

	if (!rt.enabled)
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	old_len = PAGE_ALIGN_UP(old_len);
	new_len = PAGE_ALIGN_UP(new_len);
	sys_lock(&rt.lock);
	if ((o & (PAGE_SIZE - 1)) || !rt_overlaps_locked(o, old_len ? old_len : PAGE_SIZE)) {
		sys_unlock(&rt.lock);
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	}
	r = old_len ? region_merge(o, o + old_len) : NULL;
	if (!r || (config.track == TRACK_MPROTECT && r->app_prot != (PROT_READ | PROT_WRITE))) {
		sys_unlock(&rt.lock);
		log_once("mremap of a range that is only partly managed is not supported");
		errno = ENOMEM;
		return MAP_FAILED;
	}
	if (config.track == TRACK_MPROTECT) {
		/* Armed pages are PROT_NONE in place; the moved VMA would keep that. */
		uintptr_t lo, hi;

		region_span(r, o, o + old_len, &lo, &hi);
		for (uintptr_t a = lo; a < hi; a += PAGE_SIZE) {
			uint64_t w = *region_pst(r, a);

			if (ps_type(w) == PS_RESIDENT && (frame_of(ps_index(w))->flags & F_STAGED) &&
			    !(frame_of(ps_index(w))->flags & F_WRITEBACK) && track_disarm(ps_index(w)) == 0) {
				frame_of(ps_index(w))->flags &= ~F_STAGED;
				lru_move(ps_index(w), lru_of(frame_of(ps_index(w)), true), true);
			}
		}
	}
	if (new_len < old_len)
		file_flush_locked(o + new_len, o + old_len);
	like = *r;
	mapfile_get(like.file); /* held until the new regions have theirs */
	p = sys_mremap(old, old_len, new_len, flags, new_addr);
	if (p == MAP_FAILED) {
		mapfile_put(like.file);
		sys_unlock(&rt.lock);
		return p;
	}
	if ((flags & MREMAP_FIXED) && rt_overlaps_locked((uintptr_t)p, new_len)) {
		/* The target's old pages were unmapped by the kernel. */
		rt_discard_locked((uintptr_t)p, new_len);
		region_remove((uintptr_t)p, (uintptr_t)p + new_len);
	}
	r = region_lookup(o);
	if (new_len < old_len && r)
		rt_discard_locked(o + new_len, old_len - new_len);
	if ((uintptr_t)p == o) {
		/* In place. A grown tail gets a region of its own; the kernel may
		 * have extended the registered VMA or not, so register it all. */
		if (new_len > old_len && (nr = region_add(o + old_len, o + new_len, like.kind))) {
			region_like(nr, &like, o + old_len);
			uffd_register(o, new_len);
		}
		else if (new_len < old_len)
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
			rt_discard_locked(o, old_len);
		}
		region_remove(o, o + old_len);
		if ((flags & MREMAP_DONTUNMAP) && uffd_register(o, old_len) == 0 &&
		    (nr = region_add(o, o + old_len, like.kind)))
			region_like(nr, &like, o);
	}
	mapfile_put(like.file);
	sys_unlock(&rt.lock);
	return p;
}

void *rt_heap_alloc(size_t size, size_t align)
{
	uintptr_t a;

	sys_lock((struct sys_lock *)&rt.heap_bump_lock);
	a = (rt.heap_top + align - 1) & ~(uintptr_t)(align - 1);
	if (a + size > rt.heap_end || a + size < a) {
		sys_unlock((struct sys_lock *)&rt.heap_bump_lock);
		log_once("heap address space exhausted (USWAP_HEAP_RESERVE=%llu MiB)",
			 (unsigned long long)(config.heap_reserve >> 20));
		return NULL;
	}
	rt.heap_top = a + size;
	sys_unlock((struct sys_lock *)&rt.heap_bump_lock);
	return (void *)a;
}

void rt_heap_purge(void *addr, size_t len)
{
	sys_lock(&rt.lock);
	rt_discard_locked((uintptr_t)addr, len);
	sys_madvise(addr, len, MADV_DONTNEED);
	sys_unlock(&rt.lock);
}

/* ---- mlock ----------------------------------------------------------------
 * An mlock'd region's pages are never evicted: the scanner sets them aside
 * (off the lists, F_MLOCKED) when they come to the active tail, and the
 * kernel's mlock faults every page in first, through the handler, so none
 * stays evicted. They still count against the limit, as in a memcg: more
 * locked than the limit is an out-of-memory kill. */

bool rt_page_locked(uintptr_t addr)
{
	struct region *r = region_lookup(addr);

	return r && r->locked;
}

/* Mark the managed regions within [s, e) (split at the ends). */
static void mark_locked(uintptr_t s, uintptr_t e, bool lock)
{
	region_split(s);
	region_split(e);
	for (size_t i = 0; i < nr_regions; i++)
		if (regions[i].start >= s && regions[i].end <= e)
			regions[i].locked = lock;
}

/* Put the set-aside pages of [s, e) back on the active list. */
static void unlock_frames(uintptr_t s, uintptr_t e)
{
	for (uint32_t f = 0; f < lru.next_fresh; f++) {
		struct frame *fr = frame_of(f);

		if ((fr->flags & F_MLOCKED) && fr->addr >= s && fr->addr < e && !rt_page_locked(fr->addr)) {
			fr->flags &= ~F_MLOCKED;
			lru_add(f, lru_of(fr, true), true);
		}
	}
}

int rt_mlock(const void *addr, size_t len, unsigned flags, bool lock)
{
	uintptr_t s = PAGE_ALIGN_DOWN(addr), e = PAGE_ALIGN_UP((uintptr_t)addr + len);
	long r;

	if (!rt.enabled || e <= s)
		goto kernel;
	sys_lock(&rt.lock);
	if (!rt_overlaps_locked(s, e - s)) {
		sys_unlock(&rt.lock);
		goto kernel;
	}
	/* Before the kernel call, so nothing it faults in is evicted again. */
	if (lock)
		mark_locked(s, e, true);
	sys_unlock(&rt.lock);
	r = lock ? syscall(SYS_mlock2, addr, len, flags) : syscall(SYS_munlock, addr, len);
	if (r && lock) {
		int saved = errno;

		sys_lock(&rt.lock);
		mark_locked(s, e, false);
		unlock_frames(s, e);
		sys_unlock(&rt.lock);
		errno = saved;
	}
	if (r == 0 && !lock) {
		sys_lock(&rt.lock);
		mark_locked(s, e, false);
		unlock_frames(s, e);
		sys_unlock(&rt.lock);
	}
	return (int)r;
kernel:
	return (int)(lock ? syscall(SYS_mlock2, addr, len, flags) : syscall(SYS_munlock, addr, len));
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
		struct frame *fr = frame_of(ps_index(w));

		if (ps_type(w) == PS_NONE)
			continue;
		if (ps_type(w) != PS_RESIDENT || (fr->flags & (F_STAGED | F_WRITEBACK)))
			return a;
		if (!(fr->flags & F_MLOCKED)) {
			lru_del(ps_index(w));
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

	if (!rt.enabled)
		return (int)syscall(SYS_mlockall, flags);
	r = syscall(SYS_mlockall, flags | MCL_ONFAULT);
	if (r)
		return (int)r;
	if (flags & MCL_FUTURE)
		rt.mlock_future = true;
	if (!(flags & MCL_CURRENT))
		return 0;
	sys_lock(&rt.lock);
	/* Our ranges stay unlocked for the kernel: UFFDIO_MOVE refuses to move
	 * between a locked and an unlocked VMA. We lock their pages ourselves. */
	if (rt.staging)
		syscall(SYS_munlock, rt.staging, rt.staging_len);
	for (size_t i = 0; i < nr_regions; i++)
		syscall(SYS_munlock, regions[i].start, regions[i].end - regions[i].start);
	/* Fault in each page not in place and look again; a few tries catch
	 * a page the scanner took away meanwhile, then it is left. */
	for (a = lock_in_use(0); a; a = lock_in_use(tries < 4 ? a : a + PAGE_SIZE)) {
		tries = a == last ? tries + 1 : 0;
		last = a;
		if (tries >= 4)
			continue;
		sys_unlock(&rt.lock);
		sys_madvise((void *)a, PAGE_SIZE, MADV_POPULATE_READ);
		sys_lock(&rt.lock);
	}
	sys_unlock(&rt.lock);
	return 0;
}

int rt_munlockall(void)
{
	long r = syscall(SYS_munlockall);

	if (r == 0 && rt.enabled) {
		sys_lock(&rt.lock);
		rt.mlock_future = false;
		for (size_t i = 0; i < nr_regions; i++)
			regions[i].locked = false;
		unlock_frames(0, UINTPTR_MAX);
		sys_unlock(&rt.lock);
	}
	return (int)r;
}
