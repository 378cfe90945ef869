/* SPDX-License-Identifier: MIT */
/*
 * tiny: a small, deterministic program that uswap cannot manage once it is
 * built with -fsanitize=address, -fsanitize=thread, -static, or installed
 * setuid for another user. The driver (unmanageable.py) runs each build
 * natively and under the CLI and compares: exit status, stdout byte for
 * byte, and stderr except for the one warning line uswap may add.
 *
 * It mallocs --mb MiB (default 48, more than the driver's limit), fills it
 * from a worker thread and the main thread, and prints a checksum, its
 * arguments, its effective uid and whether it runs in secure mode
 * (AT_SECURE, as a setuid program does). Nothing depends on addresses,
 * time or pids, so the output is the same in every run.
 */
#include "../preload/helpers.h"

#include <pthread.h>
#include <sys/auxv.h>

struct half {
	uint8_t *p;
	size_t len;
	uint64_t seed;
};

static void *fill(void *arg)
{
	struct half *h = arg;

	t_pattern_fill(h->p, h->len, h->seed, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long mb = 48;
	struct half a, b;
	pthread_t tid;
	uint8_t *mem;
	size_t len;
	long bad;

	if (argc > 2 && !strcmp(argv[1], "--mb"))
		mb = strtoul(argv[2], NULL, 0);
	len = mb * T_MIB;
	mem = malloc(len);
	if (!mem) {
		fprintf(stderr, "tiny: malloc(%zu) failed\n", len);
		return T_EXIT_FAIL;
	}
	a = (struct half){ mem, len / 2, 0x7171 };
	b = (struct half){ mem + len / 2, len - len / 2, 0x7272 };
	if (pthread_create(&tid, NULL, fill, &a)) {
		fprintf(stderr, "tiny: pthread_create failed\n");
		return T_EXIT_FAIL;
	}
	fill(&b);
	pthread_join(tid, NULL);
	bad = t_pattern_check(a.p, a.len, a.seed, 0);
	if (bad < 0)
		bad = t_pattern_check(b.p, b.len, b.seed, 0);
	printf("tiny: %lu MiB, checksum %016llx, %s\n", mb,
	       (unsigned long long)t_checksum((const uint64_t *)mem, len / 8),
	       bad < 0 ? "pattern intact" : "PATTERN CORRUPT");
	for (int i = 0; i < argc; i++)
		if (i > 0)
			printf("tiny: argv[%d] = %s\n", i, argv[i]);
	printf("tiny: euid %d, secure mode %lu\n", (int)geteuid(), getauxval(AT_SECURE));
	free(mem);
	return bad < 0 ? 0 : 3;
}
