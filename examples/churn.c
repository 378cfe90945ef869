/* churn: a program that needs more memory than it is given.
 *
 * Allocates MiB megabytes with malloc, writes a checksummed pattern to every
 * page, then makes random read-modify-write passes and verifies every page at
 * the end. Run natively or under uswap; it prints the same line either way.
 *
 *   uswap --limit 64M -v -- ./churn 512
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PAGE 4096

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
	size_t pages = (mib << 20) / PAGE, bad = 0;
	uint64_t *gen, rng = 42, sum = 0;
	unsigned char *mem;

	mem = malloc(pages * PAGE);
	gen = calloc(pages, sizeof(*gen));
	if (!mem || !gen) {
		fprintf(stderr, "churn: cannot allocate %zu MiB\n", mib);
		return 1;
	}
	for (size_t p = 0; p < pages; p++)
		for (size_t w = 0; w < PAGE / 8; w++)
			((uint64_t *)(mem + p * PAGE))[w] = mix(p * 512 + w);
	for (size_t i = 0; i < pages * 2; i++) {
		size_t p;
		uint64_t *q;

		rng = mix(rng + i);
		p = rng % pages;
		q = (uint64_t *)(mem + p * PAGE);
		if (q[0] != mix(p * 512) + gen[p])
			bad++;
		q[0] += 1;
		gen[p]++;
	}
	for (size_t p = 0; p < pages; p++) {
		uint64_t *q = (uint64_t *)(mem + p * PAGE);

		for (size_t w = 0; w < PAGE / 8; w++) {
			uint64_t want = mix(p * 512 + w) + (w == 0 ? gen[p] : 0);

			bad += q[w] != want;
			sum += q[w];
		}
	}
	printf("churn: %zu MiB, %zu pages, checksum %016llx, %zu bad words\n", mib, pages,
	       (unsigned long long)sum, bad);
	free(mem);
	free(gen);
	return bad != 0;
}
