/* SPDX-License-Identifier: MIT */
/*
 * cluster_ra - pages used together again at scattered addresses, for
 * slot-cluster read-ahead (tests/workingset/ra_check.py).
 *
 *   cluster_ra same|other MIB PASSES SEED
 *   cluster_ra cycle-text|cycle-random|cycle-down MIB PASSES SEED
 *
 * Fills MIB MiB of pages in a random order P (each page: the pattern of its
 * index), then reads every page PASSES times, checking each byte:
 *   same    in the order P again: pages evicted together (under a limit,
 *           in the order they were written) are wanted together again,
 *           though their addresses are scattered;
 *   other   each pass in a fresh random order: no locality of any kind.
 * cycle-* fills the pages in address order and reads them in that order
 * PASSES times (every page refaults at the same distance): with text that
 * compresses ~30x (a line of words, its index in it), or random bytes;
 * cycle-down reads the random bytes from the last page to the first.
 * Prints a checksum of what it read.
 */
#include "../pages.h"

#include <stdio.h>

static uint64_t rng;

static uint64_t next(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void shuffle(size_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = next() % (i + 1), t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
}

/* A page of text: one line with the page's index, repeated. */
static void text_fill(char *pg, size_t i)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "page %zu of the cycle, compressible text\n", i);

	for (size_t o = 0; o < T_PAGE_SIZE; o += (size_t)n)
		memcpy(pg + o, line, o + (size_t)n <= T_PAGE_SIZE ? (size_t)n : T_PAGE_SIZE - o);
}

static void cycle(char *mem, size_t n, int passes, int text, int down)
{
	char want[T_PAGE_SIZE];
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		if (text)
			text_fill(mem + i * T_PAGE_SIZE, i);
		else
			t_pattern_fill(mem + i * T_PAGE_SIZE, T_PAGE_SIZE, i, 0);
	}
	for (int p = 0; p < passes; p++) {
		for (size_t k = 0; k < n; k++) {
			size_t i = down ? n - 1 - k : k;
			char *pg = mem + i * T_PAGE_SIZE;

			if (text) {
				text_fill(want, i);
				if (memcmp(pg, want, T_PAGE_SIZE))
					t_fail("page %zu: text differs in pass %d", i, p);
			} else {
				t_check_pattern("page", pg, T_PAGE_SIZE, i, 0);
			}
			sum = sum * 31 + t_checksum((const uint64_t *)pg, T_PAGE_SIZE / 8);
		}
	}
	printf("%016llx\n", (unsigned long long)sum);
}

int main(int argc, char **argv)
{
	size_t mib, n, *order;
	int passes, same;
	uint64_t sum = 0;
	char *mem;

	if (argc != 5 || (strcmp(argv[1], "same") && strcmp(argv[1], "other") &&
			  strncmp(argv[1], "cycle-", 6)))
		t_fail("usage: cluster_ra same|other|cycle-text|cycle-random|cycle-down MIB PASSES "
		       "SEED");
	same = !strcmp(argv[1], "same");
	mib = strtoul(argv[2], NULL, 10);
	passes = atoi(argv[3]);
	rng = strtoull(argv[4], NULL, 10);
	n = mib * T_MIB / T_PAGE_SIZE;
	/* The order list is small (8 bytes a page) and read in order. */
	order = malloc(n * sizeof(*order));
	mem = mmap(NULL, n * T_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (!order || mem == MAP_FAILED)
		t_fail("cannot allocate %zu MiB", mib);
	if (!strncmp(argv[1], "cycle-", 6)) {
		cycle(mem, n, passes, !strcmp(argv[1] + 6, "text"), !strcmp(argv[1] + 6, "down"));
		return 0;
	}
	shuffle(order, n);
	for (size_t i = 0; i < n; i++)
		t_pattern_fill(mem + order[i] * T_PAGE_SIZE, T_PAGE_SIZE, order[i], 0);
	for (int p = 0; p < passes; p++) {
		if (!same)
			shuffle(order, n);
		for (size_t i = 0; i < n; i++) {
			char *pg = mem + order[i] * T_PAGE_SIZE;

			t_check_pattern("page", pg, T_PAGE_SIZE, order[i], 0);
			sum = sum * 31 + t_checksum((const uint64_t *)pg, T_PAGE_SIZE / 8);
		}
	}
	printf("%016llx\n", (unsigned long long)sum);
	return 0;
}
