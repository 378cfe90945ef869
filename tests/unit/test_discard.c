/* SPDX-License-Identifier: MIT */
/*
 * test_discard: page_discard() releases exactly the managed pages of a
 * range (munmap, MADV_DONTNEED and friends call it before the real call),
 * including after earlier calls trimmed or split the regions involved.
 *
 * No userfaultfd is needed: pages are given states by hand. Even pages are
 * resident (a frame on the active list), odd pages swapped (a slot in a
 * real swap file), so a release shows in lru.nr_allocated, in the list
 * length, in swap.nr_used and in stats.pgfree_discard, and a page released
 * twice or not at all is counted wrong.
 */
#include "helpers.h"

#include "lru.h"
#include "page.h"
#include "region.h"
#include "page.h"
#include "pager.h"
#include "stats.h"
#include "swap.h"

#define BASE 0x200000000000UL
#define PG(n) ((uintptr_t)(n) * T_PAGE)

static void setup(void)
{
	char dir[64], err[512] = "";

	t_check(lru_init(4096) == 0, "lru_init failed");
	snprintf(dir, sizeof(dir), "/tmp/uswap-test-discard-XXXXXX");
	t_check(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	t_check(swap_open(dir, 0, err, sizeof(err)) == 0, "swap_open: %s", err);
	/* The swap file is anonymous: the directory can go at once, so a case
	 * that crashes leaves nothing behind. */
	t_check(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
}

/* Add [first, first+n) pages and give each page a state, as the fault path
 * and reclaim would have. */
static void add_populated(uintptr_t first, uintptr_t n)
{
	struct region *r = region_add(BASE + PG(first), BASE + PG(first + n), REGION_MMAP);

	t_check(r, "region_add failed");
	for (uintptr_t p = first; p < first + n; p++) {
		uintptr_t a = BASE + PG(p);

		if (p % 2 == 0) {
			uint32_t f = lru_frame_alloc(a, 0);

			t_check(f != NIL, "out of frames");
			lru_add(f, LRU_ACTIVE_ANON, true);
			*region_pst(r, a) = ps_make(PS_RESIDENT, f);
		} else {
			uint32_t s = swap_slot_alloc();

			t_check(s != NO_SLOT, "out of swap slots");
			*region_pst(r, a) = ps_swapped(s, 0, false);
		}
		region_touch(r, a);
	}
}

struct counts {
	uint64_t frames, slots, discards, listed;
};

static struct counts now(void)
{
	return (struct counts){ lru.nr_allocated, swap.nr_used, stats.pgfree_discard,
				lru.lists[LRU_ACTIVE_ANON].nr };
}

/* Since @before: @resident frames and @swapped slots went, no more. */
static void expect_released(struct counts before, uint64_t resident, uint64_t swapped)
{
	struct counts c = now();

	t_eq(before.frames - c.frames, resident);
	t_eq(before.listed - c.listed, resident);
	t_eq(before.slots - c.slots, swapped);
	t_eq(c.discards - before.discards, resident + swapped);
}

/* Page p is still populated (state and frame or slot intact). */
static void expect_populated(uintptr_t p)
{
	uintptr_t a = BASE + PG(p);
	struct region *r = region_lookup(a);
	uint64_t w;

	t_check(r, "page %lu lost its region", (unsigned long)p);
	w = *region_pst(r, a);
	if (p % 2 == 0) {
		t_check(ps_type(w) == PS_RESIDENT, "page %lu: state %#" PRIx64 ", expected resident",
			(unsigned long)p, w);
		t_eq(lru_frame(ps_frame(w))->addr, a);
		t_eq(lru_frame(ps_frame(w))->lru, LRU_ACTIVE_ANON);
	} else {
		t_check(ps_type(w) == PS_SWAPPED, "page %lu: state %#" PRIx64 ", expected swapped",
			(unsigned long)p, w);
		t_check(swap.bitmap[ps_slot(w) / 64] & (1ULL << (ps_slot(w) % 64)),
			"page %lu: its slot %u was freed", (unsigned long)p, ps_slot(w));
	}
}

static void expect_discarded(uintptr_t p)
{
	struct region *r = region_lookup(BASE + PG(p));

	t_check(r, "page %lu lost its region", (unsigned long)p);
	t_eq(*region_pst(r, BASE + PG(p)), 0);
}

/* What rt_munmap does with the lock held. */
static void unmap(uintptr_t first, uintptr_t n)
{
	pager_lock();
	page_discard(BASE + PG(first), PG(n));
	pager_unlock();
	region_remove(BASE + PG(first), BASE + PG(first + n));
}

static void discard_subrange(void)
{
	struct counts before;

	setup();
	add_populated(0, 64);
	before = now();
	pager_lock();
	page_discard(BASE + PG(16), PG(16));
	pager_unlock();
	expect_released(before, 8, 8);
	for (uintptr_t p = 0; p < 64; p++) {
		if (p >= 16 && p < 32)
			expect_discarded(p);
		else
			expect_populated(p);
	}
	/* Discarding it again releases nothing more. */
	before = now();
	pager_lock();
	page_discard(BASE + PG(16), PG(16));
	pager_unlock();
	expect_released(before, 0, 0);
}

static void discard_across_regions(void)
{
	struct counts before;

	setup();
	add_populated(0, 20);
	add_populated(30, 20); /* a gap of unmanaged pages between */
	before = now();
	pager_lock();
	page_discard(BASE + PG(10), PG(30)); /* [10, 40) */
	pager_unlock();
	expect_released(before, 10, 10);
	for (uintptr_t p = 0; p < 10; p++)
		expect_populated(p);
	for (uintptr_t p = 10; p < 20; p++)
		expect_discarded(p);
	for (uintptr_t p = 30; p < 40; p++)
		expect_discarded(p);
	for (uintptr_t p = 40; p < 50; p++)
		expect_populated(p);
}

/* Unmapping exactly a half that an earlier munmap left works. */
static void discard_split_half_exactly(void)
{
	struct counts before;

	setup();
	add_populated(0, 100);
	unmap(40, 20);
	before = now();
	unmap(0, 40);
	expect_released(before, 20, 20);
	for (uintptr_t p = 60; p < 100; p++)
		expect_populated(p);
	t_eq(region_nr, 1);
}

/*
 * munmap(p, 40 pages) then munmap(p, 100 pages): legal (unmapped parts are
 * ignored). The region now starts at page 40 but keeps touched_lo = page 0,
 * so page_discard's loop starts below r->start and region_pst() is
 * indexed with (addr - r->start) >> 12 wrapped to ~2^52: a wild pointer.
 * End to end, a program doing exactly this dies with SIGSEGV under uswap.
 */
static void discard_after_prefix_trim(void)
{
	struct counts before;

	setup();
	add_populated(0, 100);
	unmap(0, 40);
	before = now();
	unmap(0, 100);
	expect_released(before, 30, 30);
	t_eq(region_nr, 0);
}

/*
 * munmap of the middle, then MADV_DONTNEED (or munmap) across the hole: the
 * upper half keeps touched_lo of the whole region and the lower half keeps
 * its touched_hi, so each loop runs outside its region.
 */
static void discard_after_split(void)
{
	struct counts before;

	setup();
	add_populated(0, 100);
	unmap(40, 20);
	before = now();
	pager_lock();
	page_discard(BASE + PG(30), PG(40)); /* [30, 70) */
	pager_unlock();
	expect_released(before, 10, 10);
	for (uintptr_t p = 0; p < 30; p++)
		expect_populated(p);
	for (uintptr_t p = 30; p < 40; p++)
		expect_discarded(p);
	for (uintptr_t p = 60; p < 70; p++)
		expect_discarded(p);
	for (uintptr_t p = 70; p < 100; p++)
		expect_populated(p);
}

static const struct t_case cases[] = {
	T_CASE(discard_subrange),
	T_CASE(discard_across_regions),
	T_CASE(discard_split_half_exactly),
	T_CASE(discard_after_prefix_trim),
	T_CASE(discard_after_split),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 10, argc, argv);
}
