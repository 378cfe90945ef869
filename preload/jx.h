/* jemalloc's public API, renamed jx_* (jemalloc-rename.sh; libjx.a
 * defines them). */
#ifndef USWAP_PRELOAD_JX_H
#define USWAP_PRELOAD_JX_H

#include <stddef.h>

void *jx_malloc(size_t);
void *jx_calloc(size_t, size_t);
void *jx_realloc(void *, size_t);
void jx_free(void *);
int jx_posix_memalign(void **, size_t, size_t);
void *jx_aligned_alloc(size_t, size_t);
size_t jx_malloc_usable_size(void *);
void *jx_mallocx(size_t, int);
int jx_mallctl(const char *, void *, size_t *, void *, size_t);

#endif
