/* SPDX-License-Identifier: MIT */
/*
 * sitesprog - allocations from known call sites, for the call-site
 * attribution test (sites_check.py).
 *
 *   alloc_hot_table    one 8 MiB table, read and written every round
 *   alloc_cold_log     48 chunks of 1 MiB (-c), written once, then one
 *                      page of each read every 8th round
 *   alloc_small_names  100000 strdup'ed names (libc's strdup calls malloc:
 *                      the site's "function" must still be this one)
 *
 * Prints a checksum that depends only on the sizes and rounds.
 * Options: -r ROUNDS (40), -c COLD_MIB (48), -t HOT_MIB (8).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common.h"

#define MIB (1024UL * 1024)
#define PAGE 4096UL
#define NR_NAMES 100000

/* noipa: kept out of line and never cloned, so each keeps its own name. */
static __attribute__((noipa)) char *alloc_hot_table(size_t n)
{
	char *p = malloc(n);

	t_check(p, "malloc(%zu) failed", n);
	memset(p, 1, n);
	return p;
}

static __attribute__((noipa)) char *alloc_cold_log(size_t n, int i)
{
	char *p = malloc(n);

	t_check(p, "malloc(%zu) failed", n);
	memset(p, 'a' + i % 26, n);
	return p;
}

static __attribute__((noipa)) char **alloc_small_names(int n)
{
	char **v = malloc(n * sizeof(*v)), buf[64];

	t_check(v, "malloc failed");
	for (int i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "name-%08d-of-the-small-allocations", i);
		v[i] = strdup(buf);
		t_check(v[i], "strdup failed");
	}
	return v;
}

int main(int argc, char **argv)
{
	size_t hot_mib = 8, cold_mib = 48;
	int rounds = 40, c;
	uint64_t sum = 0;
	char *hot, **cold, **names;

	while ((c = getopt(argc, argv, "r:c:t:")) != -1) {
		if (c == 'r')
			rounds = atoi(optarg);
		else if (c == 'c')
			cold_mib = strtoul(optarg, NULL, 0);
		else if (c == 't')
			hot_mib = strtoul(optarg, NULL, 0);
		else
			t_fail("usage: %s [-r ROUNDS] [-c COLD_MIB] [-t HOT_MIB]", argv[0]);
	}
	hot = alloc_hot_table(hot_mib * MIB);
	cold = calloc(cold_mib, sizeof(*cold));
	t_check(cold, "calloc failed");
	for (size_t i = 0; i < cold_mib; i++)
		cold[i] = alloc_cold_log(MIB, (int)i);
	names = alloc_small_names(NR_NAMES);
	for (int r = 0; r < rounds; r++) {
		for (size_t o = 0; o < hot_mib * MIB; o += 64) {
			sum += (unsigned char)hot[o];
			hot[o] = (char)(hot[o] + 1);
		}
		if (r % 8 == 0)
			for (size_t i = 0; i < cold_mib; i++)
				sum += (unsigned char)cold[i][(size_t)r * PAGE % MIB];
		sum += (unsigned char)names[r * 997 % NR_NAMES][5];
	}
	printf("sum=%llu\n", (unsigned long long)sum);
	for (int i = 0; i < NR_NAMES; i++)
		free(names[i]);
	free(names);
	for (size_t i = 0; i < cold_mib; i++)
		free(cold[i]);
	free(cold);
	free(hot);
	return 0;
}
