/* The mlock family on managed memory (mlock.c). */
#ifndef USWAP_MLOCK_H
#define USWAP_MLOCK_H

#include <stdbool.h>
#include <stddef.h>

/* mlock2 (lock) or munlock: lock (or unlock) the range's pages in memory. */
int rt_mlock(const void *addr, size_t len, unsigned flags, bool lock);
int rt_mlockall(int flags);
int rt_munlockall(void);
/* mlockall(MCL_FUTURE) is in force: new mappings are left to the kernel. */
bool mlock_future(void);

#endif
