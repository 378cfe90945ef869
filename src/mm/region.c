#define _GNU_SOURCE
#include "region.h"

#include "mapfile.h"
#include "stats.h"
#include "sys.h"

#include <string.h>
#include <sys/mman.h>

struct pst_block {
	size_t map_len; /* bytes of the mapping, header page included */
	long refs;
};

struct region *region_table;
size_t region_nr;
static size_t cap_regions;

static struct pst_block *block_new(size_t npages)
{
	size_t len = PAGE_SIZE + PAGE_ALIGN_UP(npages * sizeof(uint64_t));
	struct pst_block *b = sys_alloc_meta(len);

	if (!b)
		return NULL;
	b->map_len = len;
	b->refs = 1;
	return b;
}

static void block_put(struct pst_block *b)
{
	if (--b->refs == 0)
		sys_munmap(b, b->map_len);
}

static int grow(void)
{
	size_t ncap = cap_regions ? cap_regions * 2 : 256;
	struct region *n = sys_alloc_meta(ncap * sizeof(*n));

	if (!n)
		return -1;
	if (region_table) {
		memcpy(n, region_table, region_nr * sizeof(*n));
		sys_munmap(region_table, PAGE_ALIGN_UP(cap_regions * sizeof(*n)));
	}
	region_table = n;
	cap_regions = ncap;
	return 0;
}

/* Index of the first region with end > addr. */
static size_t search(uintptr_t addr)
{
	size_t lo = 0, hi = region_nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (region_table[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct region *region_first_in(uintptr_t s, uintptr_t e)
{
	size_t i = search(s);

	return i < region_nr && region_table[i].start < e ? &region_table[i] : NULL;
}

bool region_overlaps(uintptr_t start, size_t len)
{
	return region_first_in(start, start + len) != NULL;
}

bool region_locked_at(uintptr_t addr)
{
	struct region *r = region_lookup(addr);

	return r && r->locked;
}

struct region *region_lookup(uintptr_t addr)
{
	size_t i = search(addr);

	if (i < region_nr && region_table[i].start <= addr)
		return &region_table[i];
	return NULL;
}

static struct region *insert_at(size_t i)
{
	if (region_nr == cap_regions && grow())
		return NULL;
	memmove(&region_table[i + 1], &region_table[i], (region_nr - i) * sizeof(*region_table));
	region_nr++;
	stat_max(&stats.nr_regions_peak, region_nr);
	return &region_table[i];
}

struct region *region_add(uintptr_t start, uintptr_t end, enum region_kind kind)
{
	struct pst_block *b = block_new((end - start) >> PAGE_SHIFT);
	struct region *r;

	if (!b)
		return NULL;
	r = insert_at(search(start));
	if (!r) {
		block_put(b);
		return NULL;
	}
	*r = (struct region){
		.start = start,
		.end = end,
		.pst = (uint64_t *)((char *)b + PAGE_SIZE),
		.blk = b,
		.touched_lo = end,
		.touched_hi = start,
		.kind = kind,
		.app_prot = PROT_READ | PROT_WRITE,
	};
	return r;
}

void region_remove(uintptr_t start, uintptr_t end)
{
	size_t i = search(start);

	while (i < region_nr && region_table[i].start < end) {
		struct region *r = &region_table[i];

		if (r->start < start && r->end > end) {
			/* Punch a hole: the upper part becomes a new region sharing the array. */
			struct region upper = *r;
			struct region *u;

			upper.pst = region_pst(r, end);
			upper.file_off = region_file_off(r, end);
			upper.start = end;
			u = insert_at(i + 1);
			if (!u)
				return; /* metadata exhausted: the whole region stays managed */
			r = &region_table[i];
			r->end = start;
			*u = upper;
			u->blk->refs++;
			mapfile_get(u->file);
			return;
		}
		if (r->start < start) {
			r->end = start;
			i++;
			continue;
		}
		if (r->end > end) {
			r->pst = region_pst(r, end);
			r->file_off = region_file_off(r, end);
			r->start = end;
			return;
		}
		block_put(r->blk);
		mapfile_put(r->file);
		memmove(r, r + 1, (region_nr - i - 1) * sizeof(*r));
		region_nr--;
	}
}

/*
 * Skip pages whose state word lies on a state-array page never written:
 * their words are all zero (PS_NONE). mincore tells which array pages
 * exist, 16 MiB of array (8 GiB of address space) per call, so a sparse
 * terabyte reservation is walked in a few hundred calls, not 2^28 reads.
 */
uintptr_t region_next(struct region *r, struct region_walk *walk, uintptr_t a, uintptr_t hi)
{
	uintptr_t blk_end = (uintptr_t)r->blk + r->blk->map_len;

	while (a < hi) {
		uintptr_t w = (uintptr_t)region_pst(r, a), pg = w & ~(PAGE_SIZE - 1);

		if (pg < walk->base || pg >= walk->end) {
			size_t len = REGION_WALK_CHUNK * PAGE_SIZE;

			if (pg + len > blk_end)
				len = blk_end - pg;
			if (mincore((void *)pg, len, walk->vec))
				return a; /* cannot tell: look at every word */
			walk->base = pg;
			walk->end = pg + len;
		}
		if (walk->vec[(pg - walk->base) >> PAGE_SHIFT] & 1)
			return a;
		a += ((pg + PAGE_SIZE - w) / sizeof(uint64_t)) << PAGE_SHIFT;
	}
	return hi;
}

/* The first page at or after a, in region it->i or a later one. */
static uintptr_t iter_from(struct region_iter *it, uintptr_t a, struct region **rp)
{
	for (; it->i < region_nr && region_table[it->i].start < it->end; it->i++, a = 0) {
		struct region *r = &region_table[it->i];
		uintptr_t lo, hi;

		region_span(r, it->start, it->end, &lo, &hi);
		a = region_next(r, &it->walk, a > lo ? a : lo, hi);
		if (a < hi) {
			*rp = r;
			return it->a = a;
		}
	}
	return 0;
}

uintptr_t region_iter_first(struct region_iter *it, uintptr_t start, uintptr_t end,
			    struct region **r)
{
	*it = (struct region_iter){ .i = search(start), .start = start, .end = end };
	return iter_from(it, 0, r);
}

uintptr_t region_iter_next(struct region_iter *it, struct region **r)
{
	return iter_from(it, it->a + PAGE_SIZE, r);
}

int region_split(uintptr_t addr)
{
	size_t i = search(addr);
	struct region *r, upper;

	if (i == region_nr || region_table[i].start >= addr)
		return 0;
	upper = region_table[i];
	upper.pst = region_pst(&region_table[i], addr);
	upper.file_off = region_file_off(&region_table[i], addr);
	upper.start = addr;
	r = insert_at(i + 1);
	if (!r)
		return -1;
	region_table[i].end = addr;
	*r = upper;
	r->blk->refs++;
	mapfile_get(r->file);
	return 0;
}

struct region *region_merge(uintptr_t start, uintptr_t end)
{
	size_t i = search(start), j;
	struct region *r, merged;
	struct pst_block *b;
	uintptr_t lo, hi, at;

	if (i == region_nr || region_table[i].start > start)
		return NULL;
	if (region_table[i].end >= end)
		return &region_table[i];
	/* A run of touching regions must cover [start, end); file regions
	 * must map one file contiguously. */
	for (j = i, at = region_table[i].end; at < end; at = region_table[j].end)
		if (++j == region_nr || region_table[j].start != at ||
		    region_table[j].kind != region_table[i].kind ||
		    region_table[j].file != region_table[i].file ||
		    region_table[j].shared != region_table[i].shared ||
		    (region_table[i].file &&
		     region_table[j].file_off != region_file_off(&region_table[i], at)))
			return NULL;
	lo = region_table[i].start;
	hi = region_table[j].end;
	b = block_new((hi - lo) >> PAGE_SHIFT);
	if (!b)
		return NULL;
	merged = (struct region){
		.start = lo,
		.end = hi,
		.pst = (uint64_t *)((char *)b + PAGE_SIZE),
		.blk = b,
		.touched_lo = hi,
		.touched_hi = lo,
		.kind = region_table[i].kind,
		.app_prot = region_table[i].app_prot,
		.shared = region_table[i].shared,
		.file = region_table[i].file,
		.file_off = region_table[i].file_off,
	};
	mapfile_get(merged.file); /* each part's reference is put below */
	for (size_t k = i; k <= j; k++) {
		r = &region_table[k];
		if (r->app_prot != merged.app_prot)
			merged.app_prot = -1;
		if (r->touched_lo < r->touched_hi) {
			uintptr_t a = r->touched_lo > r->start ? r->touched_lo : r->start;
			uintptr_t e = r->touched_hi < r->end ? r->touched_hi : r->end;

			if (a < e)
				memcpy(region_pst(&merged, a), region_pst(r, a),
				       ((e - a) >> PAGE_SHIFT) * sizeof(uint64_t));
			if (a < merged.touched_lo)
				merged.touched_lo = a;
			if (e > merged.touched_hi)
				merged.touched_hi = e;
		}
		block_put(r->blk);
		mapfile_put(r->file);
	}
	region_table[i] = merged;
	memmove(&region_table[i + 1], &region_table[j + 1],
		(region_nr - j - 1) * sizeof(*region_table));
	region_nr -= j - i;
	return &region_table[i];
}
