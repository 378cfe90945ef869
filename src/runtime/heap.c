/*
 * The malloc heap: one reservation of address space (USWAP_HEAP_RESERVE,
 * 64 GiB by default) registered as one managed region, from which
 * jemalloc's extent hooks (preload) carve with a bump pointer. Extents are
 * never given back (jemalloc retains and reuses them); purged ranges are
 * released page by page.
 */
#define _GNU_SOURCE
#include "heap.h"

#include "config.h"
#include "log.h"
#include "mmap.h"
#include "page.h"
#include "pager.h"
#include "region.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static struct {
	uintptr_t start, end, top;
	struct sys_lock bump; /* a leaf lock (mm/pager.h) */
} heap;

int heap_init(char *err, size_t errlen)
{
	void *p = sys_mmap(NULL, config.heap_reserve, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int r;

	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot reserve %llu MiB of address space for the heap: %s",
			 (unsigned long long)(config.heap_reserve >> 20), strerror(errno));
		return -ENOMEM;
	}
	heap.start = heap.top = (uintptr_t)p;
	heap.end = heap.start + config.heap_reserve;
	r = mmap_manage(heap.start, config.heap_reserve, REGION_HEAP);
	if (r)
		snprintf(err, errlen, "cannot register the heap with userfaultfd: %s",
			 strerror(-r));
	return r;
}

uint64_t heap_bytes(void)
{
	return heap.top > heap.start ? heap.top - heap.start : 0;
}

void heap_fork_child(void)
{
	heap.bump.word = 0;
}

void *heap_alloc(size_t size, size_t align)
{
	uintptr_t a;

	sys_lock(&heap.bump);
	a = (heap.top + align - 1) & ~(uintptr_t)(align - 1);
	if (a + size > heap.end || a + size < a) {
		sys_unlock(&heap.bump);
		log_once("heap address space exhausted (USWAP_HEAP_RESERVE=%llu MiB)",
			 (unsigned long long)(config.heap_reserve >> 20));
		return NULL;
	}
	heap.top = a + size;
	sys_unlock(&heap.bump);
	return (void *)a;
}

void heap_purge(void *addr, size_t len)
{
	pager_lock();
	page_discard((uintptr_t)addr, len);
	sys_madvise(addr, len, MADV_DONTNEED);
	pager_unlock();
}
