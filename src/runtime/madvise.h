/* madvise on managed memory (madvise.c). */
#ifndef USWAP_MADVISE_H
#define USWAP_MADVISE_H

#include <stddef.h>

int rt_madvise(void *addr, size_t len, int advice);

#endif
