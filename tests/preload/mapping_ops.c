/* mapping_ops: the mmap family on managed memory whose pages were evicted.
 *
 * Each case fills mappings with a per-page pattern, pushes them out by
 * sweeping a churn area bigger than the limit, then does one operation and
 * checks every page against what Linux promises. Run under a small limit
 * (16M); natively it must pass too. Exit 0 pass, 1 fail. */
#define _GNU_SOURCE
#include "helpers.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MiB (1UL << 20)
#define PG 4096UL

static int failures;

static void fill(char *p, size_t n, uint64_t tag)
{
	for (size_t i = 0; i < n; i += PG)
		for (size_t j = 0; j < PG; j += 8)
			*(uint64_t *)(p + i + j) = tag ^ (i / PG) << 8 ^ j;
}

/* Pages of [p, p+n) not holding tag's pattern; the pattern is page-relative
 * to base_index so a moved mapping keeps its original page numbers. */
static size_t bad_pages(const char *p, size_t n, uint64_t tag, size_t base_index)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i += PG)
		for (size_t j = 0; j < PG; j += 8)
			if (*(const uint64_t *)(p + i + j) != (tag ^ (base_index + i / PG) << 8 ^ j)) {
				bad++;
				break;
			}
	return bad;
}

static size_t nonzero_pages(const char *p, size_t n)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i += PG)
		for (size_t j = 0; j < PG; j += 8)
			if (*(const uint64_t *)(p + i + j)) {
				bad++;
				break;
			}
	return bad;
}

static char *map(size_t n)
{
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		printf("FAIL mmap %zu: %s\n", n, strerror(errno));
		exit(1);
	}
	return p;
}

static char *churn;
static void push_out(void)
{
	fill(churn, 48 * MiB, 0xC0FFEE);
}

static void expect(const char *what, size_t bad)
{
	printf("%s %s: %zu bad pages\n", bad ? "FAIL" : "ok  ", what, bad);
	failures += bad != 0;
}

int main(void)
{
	size_t n = 8 * MiB;
	char *a, *b, *q;

	churn = map(48 * MiB);

	/* mremap(MREMAP_FIXED) onto a managed mapping: the target's old pages are gone. */
	a = map(n);
	b = map(n);
	fill(b, n, 0xBB);
	fill(a, n, 0xAA);
	push_out();
	q = mremap(a, n, n, MREMAP_MAYMOVE | MREMAP_FIXED, b);
	expect("mremap fixed: call", q != b);
	for (int round = 0; round < 3; round++) {
		push_out();
		expect("mremap fixed: moved pages", bad_pages(b, n, 0xAA, 0));
	}
	munmap(b, n);

	/* A refused madvise changes nothing. */
	a = map(n);
	fill(a, n, 0x5A);
	push_out();
	expect("MADV_REMOVE on private memory fails", madvise(a, n, MADV_REMOVE) == 0);
	expect("pages after a refused madvise", bad_pages(a, n, 0x5A, 0));

	/* MADV_DONTNEED on evicted pages: zeros on the next touch, neighbours intact. */
	push_out();
	expect("MADV_DONTNEED call", madvise(a + n / 4, n / 2, MADV_DONTNEED) != 0);
	expect("MADV_DONTNEED range reads zeros", nonzero_pages(a + n / 4, n / 2));
	expect("pages around MADV_DONTNEED", bad_pages(a, n / 4, 0x5A, 0) +
						 bad_pages(a + 3 * n / 4, n / 4, 0x5A, 3 * n / 4 / PG));

	/* Partial munmap, then the whole range (a crash once). */
	push_out();
	expect("partial munmap", munmap(a + n / 2, n / 4) != 0);
	expect("pages before the hole", bad_pages(a, n / 4, 0x5A, 0));
	expect("munmap of the rest", munmap(a, n) != 0);

	/* mremap grow in place twice, shrink, then move: contents follow. */
	a = map(n);
	fill(a, n, 0x6E);
	push_out();
	q = mremap(a, n, 2 * n, 0);
	if (q == MAP_FAILED) {
		printf("skip grow in place: no room after the mapping\n");
		q = mremap(a, n, 2 * n, MREMAP_MAYMOVE);
	}
	expect("grow", q == MAP_FAILED);
	a = q;
	expect("grown tail reads zeros", nonzero_pages(a + n, n));
	q = mremap(a, 2 * n, 3 * n, MREMAP_MAYMOVE);
	expect("grow again", q == MAP_FAILED);
	a = q;
	push_out();
	expect("pages after two grows", bad_pages(a, n, 0x6E, 0));
	q = mremap(a, 3 * n, n / 2, 0);
	expect("shrink", q != a);
	push_out();
	expect("pages after shrink", bad_pages(a, n / 2, 0x6E, 0));
	b = map(n);
	q = mremap(a, n / 2, n, MREMAP_MAYMOVE | MREMAP_FIXED, b);
	expect("move", q != b);
	push_out();
	expect("pages after move", bad_pages(q, n / 2, 0x6E, 0));
	expect("moved tail reads zeros", nonzero_pages(q + n / 2, n / 2));

	/* A move that lands right after a managed mapping whose pages were
	 * evicted: the kernel merges the two VMAs and, without
	 * UFFD_EVENT_REMAP, drops the registration of the merged one; the
	 * neighbour's pages must still come back (they read zeros once). */
	a = map(2 * n);
	munmap(a + n, n);
	fill(a, n, 0x3C);
	b = map(16 * PG); /* never touched: no anon_vma, so it can merge */
	push_out();
	q = mremap(b, 16 * PG, 16 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, a + n);
	expect("move next to a mapping: call", q != a + n);
	expect("move next to a mapping: its pages", bad_pages(a, n, 0x3C, 0));
	fill(q, 16 * PG, 0x3D);
	expect("move next to a mapping: moved pages", bad_pages(q, 16 * PG, 0x3D, 0));
	push_out();
	expect("move next to a mapping: pages again", bad_pages(a, n, 0x3C, 0) +
							      bad_pages(q, 16 * PG, 0x3D, 0));
	munmap(a, n);
	munmap(q, 16 * PG);

	/* The same where the kernel picks the place: a mapping that cannot
	 * grow in place moves, typically next to the newest mapping. */
	for (int round = 0; round < 4; round++) {
		a = map(n);
		fill(a, n, 0x4C + round);
		b = map(PG);
		push_out();
		q = mremap(b, PG, 64 * PG, MREMAP_MAYMOVE);
		expect("grown move: call", q == MAP_FAILED);
		expect("grown move: the newest mapping's pages", bad_pages(a, n, 0x4C + round, 0));
		fill(q, 64 * PG, 0x4D);
		push_out();
		expect("grown move: moved pages", bad_pages(q, 64 * PG, 0x4D, 0));
		munmap(a, n);
		munmap(q, 64 * PG);
	}

	printf("%s\n", failures ? "mapping_ops: FAILED" : "mapping_ops: all passed");
	return failures ? 1 : 0;
}
