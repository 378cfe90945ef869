/* --compress-pool auto (poolsize.c): the compressed pool's share of the
 * limit follows what the pool costs and saves, measured on refaults.
 * Under the pager lock. */
#ifndef USWAP_POOLSIZE_H
#define USWAP_POOLSIZE_H

#include <stdbool.h>
#include <stdint.h>

/* From config: auto or a fixed share (then nothing here moves it). */
void poolsize_init(void);
/* An anon page refaults at eviction distance dist (policy/workingset.h),
 * from the pool (in_pool) or from the swap file. */
void poolsize_note_refault(uint64_t dist, bool in_pool);

#endif
