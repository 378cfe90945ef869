/* The miss-ratio curve (mrc.c): how many faults a run would have taken at
 * larger limits, read off the distances of its refaults. */
#ifndef USWAP_MRC_H
#define USWAP_MRC_H

#include <stdbool.h>
#include <stdint.h>

/* Bits of the nonresident age kept in a shadow (mm/page.h). */
#define MRC_AGE_BITS 28

struct jbuf;

/* The refault clock (policy/workingset.c) moved to age, on an eviction or
 * an activation; the curve needs evictions alone, so it keeps a checkpoint
 * of the eviction count every 64 ticks, and a refault's shadow age maps
 * back to the evictions since (within 64). */
void mrc_tick(uint64_t age, bool eviction);
/* A page filled for the first time (zeros, or a file page's first read). */
void mrc_fill(void);
/* A refault whose shadow age is age: record its distance for the curve. */
void mrc_refault(bool file, uint64_t age);
/* The "eviction_distance" histograms (log2 buckets, as refault_distance). */
void mrc_distance_json(struct jbuf *j);
/* The "mrc" object of the stats file, for a run at limit pages. */
void mrc_json(struct jbuf *j, uint64_t limit);
/* For tests: forget every fill, eviction and refault. */
void mrc_reset(void);

#endif
