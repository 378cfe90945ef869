/* mprotect on managed memory (mprotect.c). */
#ifndef USWAP_MPROTECT_H
#define USWAP_MPROTECT_H

#include <stddef.h>

int rt_mprotect(void *addr, size_t len, int prot);

#endif
