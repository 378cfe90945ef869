/* SPDX-License-Identifier: MIT */
/*
 * test_region: the table of managed ranges (src/mm/region.c).
 *
 * Regions are only bookkeeping, so the addresses used here are never
 * mapped. Each page's state word is given a value derived from its address
 * when its region is added; after splits and trims every page still managed
 * must read back its own value through whichever region now holds it. That
 * is what catches a split half pointing into the wrong slice of the shared
 * state array.
 */
#include "helpers.h"

#include "region.h"

#include <sys/mman.h>

#define BASE 0x100000000000UL
#define PG(n) ((uintptr_t)(n) * T_PAGE)

/* The distinctive value of the page at @addr. */
static uint64_t tag(uintptr_t addr)
{
	return (addr >> 12) * 0x9e3779b97f4a7c15ULL | 1;
}

static struct region *add(uintptr_t start, uintptr_t end)
{
	struct region *r = region_add(start, end, REGION_MMAP);

	t_check(r, "region_add(%#lx, %#lx) failed", (unsigned long)start, (unsigned long)end);
	t_eq(r->start, start);
	t_eq(r->end, end);
	return r;
}

static void fill_tags(struct region *r)
{
	for (uintptr_t a = r->start; a < r->end; a += T_PAGE) {
		t_eq(*region_pst(r, a), 0); /* fresh arrays are zero */
		*region_pst(r, a) = tag(a);
	}
}

/* The region holding addr must be exactly [start, end). */
static struct region *expect_region(uintptr_t addr, uintptr_t start, uintptr_t end)
{
	struct region *r = region_lookup(addr);

	t_check(r, "no region holds %#lx, expected [%#lx, %#lx)", (unsigned long)addr,
		(unsigned long)start, (unsigned long)end);
	t_check(r->start == start && r->end == end,
		"%#lx is in [%#lx, %#lx), expected [%#lx, %#lx)", (unsigned long)addr,
		(unsigned long)r->start, (unsigned long)r->end, (unsigned long)start,
		(unsigned long)end);
	return r;
}

static void expect_unmanaged(uintptr_t addr)
{
	struct region *r = region_lookup(addr);

	t_check(!r, "%#lx should be unmanaged, found in [%#lx, %#lx)", (unsigned long)addr,
		(unsigned long)(r ? r->start : 0), (unsigned long)(r ? r->end : 0));
}

/* Every page of [start, end) reads its own tag through its region. */
static void expect_tags(uintptr_t start, uintptr_t end)
{
	for (uintptr_t a = start; a < end; a += T_PAGE) {
		struct region *r = region_lookup(a);

		t_check(r, "page %#lx lost its region", (unsigned long)a);
		t_check(*region_pst(r, a) == tag(a),
			"page %#lx in [%#lx, %#lx) reads state %#" PRIx64 ", expected %#" PRIx64,
			(unsigned long)a, (unsigned long)r->start, (unsigned long)r->end,
			*region_pst(r, a), tag(a));
	}
}

static void check_sorted(void)
{
	for (size_t i = 0; i < region_nr; i++) {
		t_check(region_table[i].start < region_table[i].end, "region %zu is empty or inverted", i);
		t_check(!(region_table[i].start & (T_PAGE - 1)) && !(region_table[i].end & (T_PAGE - 1)),
			"region %zu not page aligned", i);
		if (i)
			t_check(region_table[i - 1].end <= region_table[i].start,
				"regions %zu and %zu out of order or overlapping", i - 1, i);
	}
}

/* Is the page holding @p mapped? (mincore fails with ENOMEM if not.) */
static bool is_mapped(const void *p)
{
	unsigned char vec;

	return mincore((void *)((uintptr_t)p & ~(T_PAGE - 1)), T_PAGE, &vec) == 0;
}

static void add_lookup(void)
{
	struct region *r;

	t_check(!region_lookup(BASE), "lookup in an empty table found a region");
	r = add(BASE, BASE + PG(10));
	t_eq(r->kind, REGION_MMAP);
	t_eq(region_nr, 1);
	t_check(r->touched_lo >= r->touched_hi, "a new region already has touched pages");
	expect_region(BASE, BASE, BASE + PG(10));
	expect_region(BASE + PG(9) + 4095, BASE, BASE + PG(10));
	expect_unmanaged(BASE - 1);
	expect_unmanaged(BASE + PG(10));

	/* A second region before, one after; lookups stay exact at the seams. */
	add(BASE - PG(5), BASE);
	add(BASE + PG(10), BASE + PG(11));
	t_eq(region_nr, 3);
	check_sorted();
	expect_region(BASE - 1, BASE - PG(5), BASE);
	expect_region(BASE, BASE, BASE + PG(10));
	expect_region(BASE + PG(10), BASE + PG(10), BASE + PG(11));
	expect_unmanaged(BASE - PG(5) - 1);
	expect_unmanaged(BASE + PG(11));

	/* Each region has its own state array. */
	for (size_t i = 0; i < region_nr; i++)
		fill_tags(&region_table[i]);
	expect_tags(BASE - PG(5), BASE + PG(11));

	/* Touch bookkeeping. */
	r = region_lookup(BASE);
	region_touch(r, BASE + PG(3));
	region_touch(r, BASE + PG(7));
	t_eq(r->touched_lo, BASE + PG(3));
	t_eq(r->touched_hi, BASE + PG(8));
}

static void remove_whole(void)
{
	struct region *r = add(BASE, BASE + PG(4));
	struct pst_block *blk = r->blk;

	fill_tags(r);
	t_check(is_mapped(blk), "state array not mapped");
	region_remove(BASE, BASE + PG(4));
	t_eq(region_nr, 0);
	expect_unmanaged(BASE);
	t_check(!is_mapped(blk), "state array still mapped after its only region went");

	/* Removing what is not there changes nothing. */
	add(BASE, BASE + PG(4));
	region_remove(BASE + PG(8), BASE + PG(16));
	region_remove(BASE - PG(8), BASE);
	t_eq(region_nr, 1);
	expect_region(BASE, BASE, BASE + PG(4));
}

static void split_middle(void)
{
	struct region *r = add(BASE, BASE + PG(100)), *lo, *hi;
	struct pst_block *blk = r->blk;

	fill_tags(r);
	region_touch(r, BASE);
	region_touch(r, BASE + PG(99));
	region_remove(BASE + PG(40), BASE + PG(60));
	t_eq(region_nr, 2);
	check_sorted();
	lo = expect_region(BASE, BASE, BASE + PG(40));
	expect_region(BASE + PG(39), BASE, BASE + PG(40));
	expect_unmanaged(BASE + PG(40));
	expect_unmanaged(BASE + PG(59));
	hi = expect_region(BASE + PG(60), BASE + PG(60), BASE + PG(100));
	t_check(lo->blk == blk && hi->blk == blk, "split halves do not share the state array");
	t_eq(hi->kind, REGION_MMAP);
	t_eq(hi->app_prot, PROT_READ | PROT_WRITE);

	/* Both halves map each page to its own word: the tags written before
	 * the split read back through the half that holds them now. */
	expect_tags(BASE, BASE + PG(40));
	expect_tags(BASE + PG(60), BASE + PG(100));
	t_eq(*region_pst(hi, BASE + PG(60)), tag(BASE + PG(60)));
	t_eq(*region_pst(hi, BASE + PG(99)), tag(BASE + PG(99)));
	t_eq(*region_pst(lo, BASE + PG(39)), tag(BASE + PG(39)));

	/* A write through one half is seen at that page only. */
	*region_pst(hi, BASE + PG(61)) = 0xfeed;
	t_eq(*region_pst(region_lookup(BASE + PG(61)), BASE + PG(61)), 0xfeed);
	*region_pst(hi, BASE + PG(61)) = tag(BASE + PG(61));

	/* The array outlives the first half to go (shared, counted). */
	region_remove(BASE, BASE + PG(40));
	t_eq(region_nr, 1);
	t_check(is_mapped(blk), "state array unmapped while the upper half still uses it");
	expect_tags(BASE + PG(60), BASE + PG(100));
	region_remove(BASE + PG(60), BASE + PG(100));
	t_eq(region_nr, 0);
	t_check(!is_mapped(blk), "state array leaked after both halves went");
}

static void split_twice(void)
{
	struct region *r = add(BASE, BASE + PG(30));

	fill_tags(r);
	region_remove(BASE + PG(10), BASE + PG(12));
	region_remove(BASE + PG(20), BASE + PG(21));
	t_eq(region_nr, 3);
	check_sorted();
	expect_region(BASE + PG(5), BASE, BASE + PG(10));
	expect_region(BASE + PG(12), BASE + PG(12), BASE + PG(20));
	expect_region(BASE + PG(29), BASE + PG(21), BASE + PG(30));
	expect_tags(BASE, BASE + PG(10));
	expect_tags(BASE + PG(12), BASE + PG(20));
	expect_tags(BASE + PG(21), BASE + PG(30));
	/* Split a split half again, one page from its start. */
	region_remove(BASE + PG(13), BASE + PG(14));
	expect_region(BASE + PG(12), BASE + PG(12), BASE + PG(13));
	expect_region(BASE + PG(14), BASE + PG(14), BASE + PG(20));
	expect_tags(BASE + PG(12), BASE + PG(13));
	expect_tags(BASE + PG(14), BASE + PG(20));
	t_eq(region_nr, 4);
}

static void trim_prefix_suffix(void)
{
	struct region *r = add(BASE, BASE + PG(50));

	fill_tags(r);
	region_remove(BASE, BASE + PG(10)); /* prefix */
	t_eq(region_nr, 1);
	expect_unmanaged(BASE + PG(9));
	r = expect_region(BASE + PG(10), BASE + PG(10), BASE + PG(50));
	t_eq(*region_pst(r, BASE + PG(10)), tag(BASE + PG(10)));
	expect_tags(BASE + PG(10), BASE + PG(50));

	region_remove(BASE + PG(40), BASE + PG(50)); /* suffix */
	t_eq(region_nr, 1);
	expect_unmanaged(BASE + PG(40));
	expect_region(BASE + PG(39), BASE + PG(10), BASE + PG(40));
	expect_tags(BASE + PG(10), BASE + PG(40));

	/* Ranges reaching past the region on one side trim it too. */
	region_remove(BASE, BASE + PG(12));
	region_remove(BASE + PG(38), BASE + PG(1000));
	expect_region(BASE + PG(12), BASE + PG(12), BASE + PG(38));
	expect_tags(BASE + PG(12), BASE + PG(38));
	t_eq(region_nr, 1);
}

static void remove_across_regions(void)
{
	/* [0,10) [20,30) [30,40) [50,60); remove [5, 55): trims the first,
	 * drops the two middle ones, trims the last. */
	uintptr_t spans[][2] = { { 0, 10 }, { 20, 30 }, { 30, 40 }, { 50, 60 } };

	for (size_t i = 0; i < 4; i++)
		fill_tags(add(BASE + PG(spans[i][0]), BASE + PG(spans[i][1])));
	t_eq(region_nr, 4);
	region_remove(BASE + PG(5), BASE + PG(55));
	t_eq(region_nr, 2);
	check_sorted();
	expect_region(BASE, BASE, BASE + PG(5));
	expect_region(BASE + PG(55), BASE + PG(55), BASE + PG(60));
	for (uintptr_t p = 5; p < 55; p++)
		expect_unmanaged(BASE + PG(p));
	expect_tags(BASE, BASE + PG(5));
	expect_tags(BASE + PG(55), BASE + PG(60));
}

/* A split needs a new table slot; when the table is full that slot comes
 * from growing (and moving) the table in the middle of region_remove. */
static void split_when_table_full(void)
{
	size_t n = 0;

	/* Fill until the next insert would grow the table; the table starts
	 * with room for 256 and doubles. */
	for (n = 0; n < 256; n++)
		fill_tags(add(BASE + PG(10 * n), BASE + PG(10 * n + 8)));
	t_eq(region_nr, 256);
	region_remove(BASE + PG(10 * 128 + 3), BASE + PG(10 * 128 + 5));
	t_eq(region_nr, 257);
	check_sorted();
	expect_region(BASE + PG(10 * 128), BASE + PG(10 * 128), BASE + PG(10 * 128 + 3));
	expect_region(BASE + PG(10 * 128 + 5), BASE + PG(10 * 128 + 5), BASE + PG(10 * 128 + 8));
	for (n = 0; n < 256; n++) {
		uintptr_t s = BASE + PG(10 * n);

		if (n == 128) {
			expect_tags(s, s + PG(3));
			expect_tags(s + PG(5), s + PG(8));
		} else {
			expect_tags(s, s + PG(8));
		}
		expect_unmanaged(s + PG(8));
		expect_unmanaged(s + PG(9));
	}
}

/*
 * Many regions added in random order and cut at random, against a model:
 * one byte per page of the universe saying whether it is managed. After
 * each step the table is sorted and disjoint, lookups agree with the model
 * for every page, and every managed page reads its own tag.
 */
enum { UNIVERSE = 8192 };

static void random_vs_model(void)
{
	static uint8_t managed[UNIVERSE];
	static uint32_t order[UNIVERSE / 8];
	struct t_rng rng;
	uint64_t seed = t_seed();
	size_t nr_slots = UNIVERSE / 8, nr_expect = 0;

	t_rng_seed(&rng, seed);
	fprintf(stderr, "random_vs_model: seed %#" PRIx64 " (set T_SEED to change)\n", seed);

	/* 1024 slots of 8 pages; each region takes 1..7 pages at the start of
	 * its slot, so regions never touch. Add them in shuffled order. */
	for (uint32_t i = 0; i < nr_slots; i++)
		order[i] = i;
	for (size_t i = nr_slots - 1; i > 0; i--) {
		size_t j = t_rng_below(&rng, i + 1);
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < nr_slots; i++) {
		uintptr_t first = (uintptr_t)order[i] * 8;
		uintptr_t len = 1 + t_rng_below(&rng, 7);

		fill_tags(add(BASE + PG(first), BASE + PG(first + len)));
		memset(&managed[first], 1, len);
		nr_expect++;
		if (i % 64 == 0)
			check_sorted();
	}
	t_eq(region_nr, nr_expect);
	check_sorted();

	for (int step = 0; step < 300; step++) {
		uintptr_t first = t_rng_below(&rng, UNIVERSE);
		uintptr_t len = 1 + t_rng_below(&rng, step % 10 ? 6 : 40);
		size_t nr_runs = 0;

		if (first + len > UNIVERSE)
			len = UNIVERSE - first;
		region_remove(BASE + PG(first), BASE + PG(first + len));
		memset(&managed[first], 0, len);

		check_sorted();
		for (uintptr_t p = 0; p < UNIVERSE; p++) {
			struct region *r = region_lookup(BASE + PG(p));

			if (!managed[p]) {
				t_check(!r, "step %d: page %lu should be unmanaged", step, (unsigned long)p);
				continue;
			}
			t_check(r, "step %d: page %lu lost its region", step, (unsigned long)p);
			t_check(*region_pst(r, BASE + PG(p)) == tag(BASE + PG(p)),
				"step %d: page %lu reads the wrong state word", step, (unsigned long)p);
			if (p == 0 || !managed[p - 1])
				nr_runs++;
		}
		/* Runs of managed pages never merge across slots, so the
		 * table has exactly one region per run. */
		t_eq(region_nr, nr_runs);
	}
}

/* region_split: two halves sharing the array, no state moved or lost. */
static void split_at(void)
{
	struct region *r = add(BASE, BASE + PG(100)), *lo, *hi;
	struct pst_block *blk = r->blk;

	fill_tags(r);
	t_eq(region_split(BASE + PG(30)), 0);
	t_eq(region_split(BASE), 0);            /* at a start: nothing to do */
	t_eq(region_split(BASE + PG(200)), 0);  /* outside: nothing to do */
	t_eq(region_nr, 2);
	check_sorted();
	lo = expect_region(BASE + PG(29), BASE, BASE + PG(30));
	hi = expect_region(BASE + PG(30), BASE + PG(30), BASE + PG(100));
	t_check(lo->blk == blk && hi->blk == blk, "split halves do not share the state array");
	expect_tags(BASE, BASE + PG(100));
	hi->app_prot = PROT_READ;
	t_eq(region_lookup(BASE)->app_prot, PROT_READ | PROT_WRITE);
	region_remove(BASE, BASE + PG(30));
	t_check(is_mapped(blk), "state array unmapped while the upper half still uses it");
	expect_tags(BASE + PG(30), BASE + PG(100));
}

/* region_next: every page with a state is visited, in order, however
 * sparse; pages on never-written array pages are skipped. */
static void walk_sparse(void)
{
	uintptr_t len = 1ULL << 40, hits[] = { 0, 1, 511, 512, 5000, 1ULL << 27, (len >> 12) - 1 };
	struct region *r = add(BASE, BASE + len);
	struct region_walk walk = { 0 };
	size_t n = 0;

	for (size_t i = 0; i < sizeof(hits) / sizeof(hits[0]); i++)
		*region_pst(r, BASE + PG(hits[i])) = 0x10 + i;
	for (uintptr_t a = region_next(r, &walk, BASE, BASE + len); a < BASE + len;
	     a = region_next(r, &walk, a + T_PAGE, BASE + len)) {
		if (!*region_pst(r, a))
			continue; /* a zero word on a written array page: allowed */
		t_check(n < sizeof(hits) / sizeof(hits[0]), "walk found more set pages than were set");
		t_eq(a, BASE + PG(hits[n]));
		n++;
	}
	t_eq(n, sizeof(hits) / sizeof(hits[0]));
}

static const struct t_case cases[] = {
	T_CASE(split_at),
	T_CASE(walk_sparse),
	T_CASE(add_lookup),
	T_CASE(remove_whole),
	T_CASE(split_middle),
	T_CASE(split_twice),
	T_CASE(trim_prefix_suffix),
	T_CASE(remove_across_regions),
	T_CASE(split_when_table_full),
	T_CASE(random_vs_model),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 20, argc, argv);
}
