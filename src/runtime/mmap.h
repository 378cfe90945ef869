/* The mmap family on managed memory (mmap.c). Each call behaves as the
 * kernel's would; managed ranges get their bookkeeping before or after
 * the real call. */
#ifndef USWAP_MMAP_H
#define USWAP_MMAP_H

#include "region.h"

#include <stddef.h>
#include <stdint.h>

void *rt_mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int rt_munmap(void *addr, size_t len);
void *rt_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
/* Register [start, start+len) with userfaultfd and add it to the table as
 * a region of kind. 0 or -errno. */
int mmap_manage(uintptr_t start, size_t len, enum region_kind kind);

#endif
