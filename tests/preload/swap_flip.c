/* SPDX-License-Identifier: MIT */
/*
 * swap_flip: fill --mb MiB of anonymous memory with a pattern known per
 * page (its first 32 bytes are SECRET, the rest a stream of the page
 * number), print "filled" and wait for a line on stdin (meanwhile the driver,
 * swap_check.py, may change bytes in the swap file), then read every page
 * back. Prints "intact N pages" and exits 0, or "MISMATCH page I" and
 * exits 1: wrong data seen by the program.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SECRET "uswap-secret-pattern-7f3a9c1e"

static uint64_t word(size_t page, size_t i)
{
	if (i < 4) {
		uint64_t w;

		memcpy(&w, SECRET + 8 * i, 8);
		return w;
	}
	return (page * 0x9e3779b97f4a7c15ULL) ^ (i * 0xc2b2ae3d27d4eb4fULL) ^ 0x5553574150464c50ULL;
}

int main(int argc, char **argv)
{
	size_t mb = argc > 2 && !strcmp(argv[1], "--mb") ? strtoul(argv[2], NULL, 0) : 48;
	size_t pages = mb << 8, bad = 0;
	uint64_t *m = mmap(NULL, pages << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	char line[64];

	if (m == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	for (size_t p = 0; p < pages; p++)
		for (size_t i = 0; i < 512; i++)
			m[p * 512 + i] = word(p, i);
	printf("filled\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 2;
	for (size_t p = 0; p < pages; p++)
		for (size_t i = 0; i < 512; i++)
			if (m[p * 512 + i] != word(p, i)) {
				if (bad++ < 8)
					printf("MISMATCH page %zu word %zu\n", p, i);
				break;
			}
	if (bad) {
		printf("MISMATCH in %zu pages\n", bad);
		return 1;
	}
	printf("intact %zu pages\n", pages);
	return 0;
}
