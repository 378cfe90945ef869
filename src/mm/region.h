/* The table of managed address ranges.
 *
 * Each region owns a slice of a page-state array (one 64-bit word per page,
 * see page.h). Splitting a region (partial munmap) shares the array; the
 * array is freed when its last region goes. All access is under the pager
 * lock. */
#ifndef USWAP_REGION_H
#define USWAP_REGION_H

#include "origin.h"
#include "config.h"
#include "sites.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pst_block;

/* Each region is an origin of its own kind (obs/origin.h). */
enum region_kind {
	REGION_HEAP = ORIGIN_HEAP, /* the malloc heap (jemalloc's extents) */
	REGION_MMAP = ORIGIN_MMAP, /* a private anonymous mmap of the program */
	REGION_FILE = ORIGIN_FILE, /* a file mmap, emulated: see runtime/file.c */
};

struct mapfile;

struct region {
	uintptr_t start, end;  /* page aligned, [start, end) */
	uint64_t *pst;	       /* state word of the page at start */
	struct pst_block *blk; /* owner of the state array */
	uintptr_t touched_lo;  /* pages ever filled lie within [touched_lo, touched_hi) */
	uintptr_t touched_hi;
	enum region_kind kind;
	int app_prot;	      /* protection the program asked for, -1 if mixed */
	bool locked;	      /* mlock'd: its pages are never evicted */
	bool shared;	      /* REGION_FILE and MAP_SHARED: dirty pages go back to the file */
	struct mapfile *file; /* REGION_FILE: the file (a reference) */
	uint64_t file_off;    /* REGION_FILE: file offset of start */
	uint32_t origin;      /* what it was made as, for attribution (obs/origin.c) */
	/* Slot-cluster read-ahead window, kept by engine/fault.c (zero in a
	 * new region): the slot of its last major fault from the swap file,
	 * the window then, read-ahead pages of it touched since. */
	uint32_t ra_slot;
	uint16_t ra_win;
	uint16_t ra_hits;
};

/* The file offset of the page at addr of a file region. */
static inline uint64_t region_file_off(const struct region *r, uintptr_t addr)
{
	return r->file_off + (addr - r->start);
}

extern struct region *region_table;
extern size_t region_nr;

/* Add [start, end) with a fresh, all-zero state array. Returns the region or NULL. */
struct region *region_add(uintptr_t start, uintptr_t end, enum region_kind kind);
struct region *region_lookup(uintptr_t addr);
/* Is the page at addr in an mlock'd region? */
bool region_locked_at(uintptr_t addr);
/* Does any managed region overlap [start, start+len)? */
bool region_overlaps(uintptr_t start, size_t len);

/* Each region overlapping [s, e), in address order, found by binary
 * search. The body may change regions' fields, not add or remove any.
 *
 *	region_for_each_in(r, s, e)
 *		...
 */
struct region *region_first_in(uintptr_t s, uintptr_t e);
static inline struct region *region_next_in(struct region *r, uintptr_t e)
{
	return r + 1 < region_table + region_nr && r[1].start < e ? r + 1 : NULL;
}
#define region_for_each_in(r, s, e) \
	for (struct region *r = region_first_in(s, e); r; r = region_next_in(r, e))
#define region_for_each(r) region_for_each_in(r, 0, UINTPTR_MAX)
/* Remove [start, end) from the table, splitting regions as needed. The caller
 * has already released the pages' frames and slots. */
void region_remove(uintptr_t start, uintptr_t end);

/* Split the region containing addr (if any) in two at addr; the halves
 * share the state array. Returns 0, or -1 when metadata ran out. */
int region_split(uintptr_t addr);

/* The one region covering [start, end), merging a run of touching regions
 * into one (the kernel merges their VMAs too). NULL if part of the range is
 * not managed or metadata ran out. */
struct region *region_merge(uintptr_t start, uintptr_t end);

static inline uint64_t *region_pst(struct region *r, uintptr_t addr)
{
	return &r->pst[(addr - r->start) >> 12];
}

/* The pages of r within [start, end) that may carry state: [*lo, *hi). */
static inline void region_span(const struct region *r, uintptr_t start, uintptr_t end,
			       uintptr_t *lo, uintptr_t *hi)
{
	*lo = start > r->start ? start : r->start;
	if (*lo < r->touched_lo)
		*lo = r->touched_lo;
	*hi = end < r->end ? end : r->end;
	if (*hi > r->touched_hi)
		*hi = r->touched_hi;
}

/* Walking a region's pages: region_next(r, &walk, a, hi) is the first page
 * at or after a (below hi, else hi) whose state may be set. Pages whose
 * state-array page was never written are skipped without reading it (a
 * sparse terabyte reservation costs a few hundred mincore calls). A walk
 * may clear states but not set new ones. Start each walk zeroed. */
#define REGION_WALK_CHUNK 4096
struct region_walk {
	uintptr_t base, end;
	unsigned char vec[REGION_WALK_CHUNK];
};
uintptr_t region_next(struct region *r, struct region_walk *walk, uintptr_t a, uintptr_t hi);

/* Every page of [start, end), across the managed regions, whose state may
 * be set, in address order:
 *
 *	for (a = region_iter_first(&it, start, end, &r); a; a = region_iter_next(&it, &r))
 *
 * r is the page's region. As with region_next, states may be cleared on
 * the way but no region added or removed. */
struct region_iter {
	size_t i;
	uintptr_t start, end, a;
	struct region_walk walk;
};
uintptr_t region_iter_first(struct region_iter *it, uintptr_t start, uintptr_t end,
			    struct region **r);
uintptr_t region_iter_next(struct region_iter *it, struct region **r);

/* A new origin for r, as what it was made (path: its file's). */
static inline uint32_t region_origin_new(const struct region *r, const char *path)
{
	return origin_new((enum origin_kind)r->kind, r->start, r->end - r->start, path);
}

/* An event of the page at addr of r: for its origin and, for memory the
 * program allocated, its sampled call site. */
static inline void region_event(const struct region *r, uintptr_t addr, enum obs_ev ev)
{
	origin_event(r->origin, ev);
	if (r->kind != REGION_FILE && config.sample_bytes)
		sites_event(addr, ev);
}

static inline void region_touch(struct region *r, uintptr_t addr)
{
	if (addr < r->touched_lo)
		r->touched_lo = addr;
	if (addr + 4096 > r->touched_hi)
		r->touched_hi = addr + 4096;
}

#endif
