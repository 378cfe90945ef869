/*
 * The malloc family: to jemalloc (jx_*), each thread bound to the managed
 * arena (boot.h); before the runtime is up, to the bootstrap arena.
 *
 * Call-site sampling (sites.h): sites_tick counts the bytes; the rare
 * sampled call takes its stack before the allocator runs (sampled_*).
 */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS
#include "boot.h"
#include "interpose.h"
#include "jx.h"
#include "sites.h"
#include "sys.h"

#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static __attribute__((noinline)) void *sampled_malloc(size_t n)
{
	bool s = sites_begin(n);
	void *p = jx_malloc(n);

	if (s)
		sites_end(p, n);
	return p;
}

EXPORT void *malloc(size_t n)
{
	if (unlikely(!boot_ensure_init()))
		return boot_alloc(n, 16);
	boot_bind_thread();
	if (sites_tick(n))
		return sampled_malloc(n);
	return jx_malloc(n);
}

EXPORT void free(void *p)
{
	if (unlikely(!p || boot_owns(p)))
		return;
	sites_free(p); /* before the address can be reused */
	jx_free(p);
}

static __attribute__((noinline)) void *sampled_calloc(size_t a, size_t b, size_t n)
{
	bool s = sites_begin(n);
	void *p = jx_calloc(a, b);

	if (s)
		sites_end(p, n);
	return p;
}

EXPORT void *calloc(size_t a, size_t b)
{
	size_t n;

	if (__builtin_mul_overflow(a, b, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(!boot_ensure_init()))
		return boot_alloc(n, 16); /* static memory is zero */
	boot_bind_thread();
	if (sites_tick(n))
		return sampled_calloc(a, b, n);
	return jx_calloc(a, b);
}

/* p's record (if sampled) ended in realloc: the new block is a new
 * allocation for sampling, as in tcmalloc. */
static __attribute__((noinline)) void *sampled_realloc(void *p, size_t n)
{
	bool s = sites_begin(n);
	void *q = jx_realloc(p, n);

	if (s)
		sites_end(q, n);
	return q;
}

EXPORT void *realloc(void *p, size_t n)
{
	if (unlikely(boot_owns(p))) {
		size_t old = boot_size(p);
		void *q = malloc(n);

		if (q)
			memcpy(q, p, old < n ? old : n);
		return q;
	}
	if (unlikely(!boot_ensure_init()))
		return p ? NULL : boot_alloc(n, 16);
	boot_bind_thread();
	if (p)
		sites_free(p);
	if (sites_tick(n))
		return sampled_realloc(p, n);
	return jx_realloc(p, n);
}

EXPORT void *reallocarray(void *p, size_t a, size_t b)
{
	size_t n;

	if (__builtin_mul_overflow(a, b, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

static __attribute__((noinline)) int sampled_memalign(void **ret, size_t align, size_t n)
{
	bool s = sites_begin(n);
	int r = jx_posix_memalign(ret, align, n);

	if (s)
		sites_end(r ? NULL : *ret, n);
	return r;
}

EXPORT int posix_memalign(void **ret, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	if (unlikely(!boot_ensure_init())) {
		*ret = boot_alloc(n, align);
		return *ret ? 0 : ENOMEM;
	}
	boot_bind_thread();
	if (sites_tick(n))
		return sampled_memalign(ret, align, n);
	return jx_posix_memalign(ret, align, n);
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	void *p = NULL;
	int r = posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n);

	if (r) {
		errno = r;
		return NULL;
	}
	return p;
}

EXPORT void *memalign(size_t align, size_t n)
{
	return aligned_alloc(align, n);
}

EXPORT void *valloc(size_t n)
{
	return aligned_alloc(PAGE_SIZE, n);
}

EXPORT void *pvalloc(size_t n)
{
	return aligned_alloc(PAGE_SIZE, PAGE_ALIGN_UP(n ? n : 1));
}

EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (boot_owns(p))
		return boot_size(p);
	return jx_malloc_usable_size(p);
}
