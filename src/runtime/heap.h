/* The malloc heap (heap.c): jemalloc's extent hooks carve from it. */
#ifndef USWAP_HEAP_H
#define USWAP_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* Reserve the heap's address space and manage it. 0, or -errno with err. */
int heap_init(char *err, size_t errlen);
/* size bytes aligned to align, never given back; NULL when the
 * reservation is used up (said once). */
void *heap_alloc(size_t size, size_t align);
/* jemalloc purged [addr, addr+len): its pages are released. */
void heap_purge(void *addr, size_t len);
/* Bytes handed out so far. */
uint64_t heap_bytes(void);
/* In a forked child: the bump lock is free (only this thread exists). */
void heap_fork_child(void);

#endif
