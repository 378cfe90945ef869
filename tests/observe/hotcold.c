/* SPDX-License-Identifier: MIT */
/*
 * hotcold: the workload of the observability tests (tests/observe).
 *
 *   hotcold [-s SECS | -n ACCESSES] [-c PERMILLE] [-f PATH:MIB] [-T] [-z] [-S SEED]
 *           HOT_MIB COLD_MIB
 *
 * A hot set of HOT_MIB allocated with malloc (in alloc_hot(), a noinline
 * function, so that call-site attribution has a name to find) and a cold
 * set of COLD_MIB from its own anonymous mmap (>= 1 MiB: its own region).
 * Both are written with a pattern at start. Then random accesses, one word
 * per access, read-check-rewrite: to the hot set, or with probability
 * PERMILLE/1000 (-c, default 0) to the cold set, for SECS seconds (-s,
 * default 2) or exactly ACCESSES accesses (-n: a fixed amount of work, for
 * comparing fault counts across runs). With -f, a file of MIB is created at
 * PATH, mapped MAP_SHARED read-only and read through at start and at end.
 * With -T a second thread runs alongside and never touches managed memory
 * (it sleeps 1 ms at a time): a program where only one thread thrashes.
 * With -z the pattern keeps one random byte a word (the rest zeros), so
 * pages compress (lz4 to about a third) instead of not at all.
 *
 * Every page carries a generation (kept in a small malloc'd array) that each
 * write bumps; every read and the final sweep check the page against it, so
 * a lost or stale page is seen. The line on stdout depends only on the sizes
 * and the seed, not on how many accesses were made (the checksum is over the
 * contents less their generations), so a timed run under uswap must print
 * what the native run prints. On stderr: accesses made, the main thread's
 * wall and CPU time ("main_wall_ns", "main_cpu_ns") for the stall checks.
 * Exit 0, or 1 when a word read back wrong.
 */
#define _GNU_SOURCE
#include "../common.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define WORDS (PAGE / 8)

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool compressible; /* -z */

static uint64_t word(uint64_t salt, size_t page, size_t w)
{
	uint64_t v = t_mix64(salt ^ (page * WORDS + w));

	return compressible ? v & 0xff : v;
}

struct set {
	uint64_t *mem;
	uint32_t *gen;
	size_t pages;
	uint64_t salt;
};

/* The hot set: malloc'd here, and only here. */
__attribute__((noinline)) static void *alloc_hot(size_t bytes)
{
	void *p = malloc(bytes);

	__asm__ volatile("" ::: "memory");
	return p;
}

static void fill(struct set *s)
{
	for (size_t p = 0; p < s->pages; p++)
		for (size_t w = 0; w < WORDS; w++)
			s->mem[p * WORDS + w] = word(s->salt, p, w);
}

static uint64_t bad;

/* One access: check word w of page p against its generation, rewrite it. */
static void access_word(struct set *s, size_t p, size_t w)
{
	uint64_t *q = &s->mem[p * WORDS + w];

	if (*q != word(s->salt, p, w) + s->gen[p] * (w == 0)) {
		if (bad++ < 10)
			fprintf(stderr, "hotcold: page %zu word %zu of set %llx: %llx, want %llx\n", p, w,
				(unsigned long long)s->salt, (unsigned long long)*q,
				(unsigned long long)(word(s->salt, p, w) + s->gen[p] * (w == 0)));
	}
	if (w == 0) {
		(*q)++;
		s->gen[p]++;
	} else {
		*q = word(s->salt, p, w); /* dirty the page, same value */
	}
}

/* The final sweep: every word checked; the sum leaves generations out. */
static uint64_t sweep(struct set *s)
{
	uint64_t sum = 0;

	for (size_t p = 0; p < s->pages; p++)
		for (size_t w = 0; w < WORDS; w++) {
			uint64_t v = s->mem[p * WORDS + w], want = word(s->salt, p, w) + s->gen[p] * (w == 0);

			if (v != want && bad++ < 10)
				fprintf(stderr, "hotcold: sweep: page %zu word %zu: %llx, want %llx\n", p, w,
					(unsigned long long)v, (unsigned long long)want);
			sum = sum * 31 + word(s->salt, p, w);
		}
	return sum;
}

static uint64_t file_pass(const unsigned char *map, size_t bytes)
{
	uint64_t sum = 0;

	for (size_t off = 0; off < bytes; off += 64)
		sum = sum * 131 + ((const uint64_t *)(map + off))[0];
	return sum;
}

static void file_create(const char *path, size_t bytes)
{
	static uint64_t buf[WORDS * 16];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		perror(path);
		exit(2);
	}
	for (size_t off = 0; off < bytes; off += sizeof(buf)) {
		for (size_t i = 0; i < WORDS * 16; i++)
			buf[i] = t_mix64(0xf11e ^ (off / 8 + i));
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			perror("write");
			exit(2);
		}
	}
	close(fd);
}

static volatile bool done;

static void *bystander(void *arg)
{
	struct timespec ts = { 0, 1000000 };

	(void)arg;
	while (!done)
		nanosleep(&ts, NULL);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: hotcold [-s SECS | -n ACCESSES] [-c PERMILLE] [-f PATH:MIB] [-T] [-S SEED]"
			" HOT_MIB COLD_MIB\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double secs = 2;
	uint64_t count = 0, seed = 1, n = 0, sum;
	unsigned cold_permille = 0;
	const char *file = NULL;
	size_t file_mib = 0, file_bytes = 0;
	bool two = false;
	unsigned char *fmap = NULL;
	uint64_t fsum0 = 0, fsum1 = 0, t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	struct set hot, cold;
	struct t_rng rng;
	pthread_t th;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:c:f:TzS:")) != -1) {
		switch (opt) {
		case 's': secs = strtod(optarg, NULL); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 'c': cold_permille = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'T': two = true; break;
		case 'z': compressible = true; break;
		case 'f': {
			char *copy = strdup(optarg), *colon = strrchr(copy, ':');

			if (!colon)
				usage();
			*colon = 0; /* a copy: /proc/self/cmdline stays as given */
			file = copy;
			file_mib = strtoul(colon + 1, NULL, 0);
			break;
		}
		default: usage();
		}
	}
	if (argc - optind != 2 || cold_permille > 1000)
		usage();
	hot.pages = (strtoul(argv[optind], NULL, 0) << 20) / PAGE;
	cold.pages = (strtoul(argv[optind + 1], NULL, 0) << 20) / PAGE;
	if (!hot.pages || cold.pages < 256)
		usage();
	hot.salt = 0x407 ^ seed;
	cold.salt = 0xc01d ^ seed;

	if (two && pthread_create(&th, NULL, bystander, NULL)) {
		fprintf(stderr, "hotcold: pthread_create failed\n");
		return 2;
	}
	hot.mem = alloc_hot(hot.pages * PAGE);
	hot.gen = calloc(hot.pages, sizeof(*hot.gen));
	cold.mem = mmap(NULL, cold.pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cold.gen = calloc(cold.pages, sizeof(*cold.gen));
	if (!hot.mem || !hot.gen || cold.mem == MAP_FAILED || !cold.gen) {
		fprintf(stderr, "hotcold: out of memory\n");
		return 2;
	}
	fill(&cold);
	fill(&hot);
	if (file) {
		int fd;

		file_bytes = file_mib << 20;
		file_create(file, file_bytes);
		fd = open(file, O_RDONLY | O_CLOEXEC);
		fmap = fd < 0 ? MAP_FAILED : mmap(NULL, file_bytes, PROT_READ, MAP_SHARED, fd, 0);
		if (fmap == MAP_FAILED) {
			perror(file);
			return 2;
		}
		close(fd);
		fsum0 = file_pass(fmap, file_bytes);
	}

	t_rng_seed(&rng, seed);
	for (;;) {
		for (int i = 0; i < 4096 && (!count || n < count); i++, n++) {
			uint64_t r = t_rng_next(&rng);
			struct set *s = cold_permille && r % 1000 < cold_permille ? &cold : &hot;

			r >>= 10;
			access_word(s, (size_t)(r % s->pages), (size_t)((r / s->pages) % WORDS));
		}
		if (count ? n >= count : now_ns(CLOCK_MONOTONIC) - t0 >= (uint64_t)(secs * 1e9))
			break;
	}

	sum = sweep(&hot) * 7 + sweep(&cold);
	if (file) {
		fsum1 = file_pass(fmap, file_bytes);
		if (fsum1 != fsum0) {
			fprintf(stderr, "hotcold: the file read differently at the end\n");
			bad++;
		}
	}
	done = true;
	if (two)
		pthread_join(th, NULL);
	fprintf(stderr, "hotcold: accesses=%llu main_wall_ns=%llu main_cpu_ns=%llu\n", (unsigned long long)n,
		(unsigned long long)(now_ns(CLOCK_MONOTONIC) - t0),
		(unsigned long long)(now_ns(CLOCK_THREAD_CPUTIME_ID) - c0));
	printf("hotcold hot=%zu cold=%zu file=%zu checksum=%016llx file_checksum=%016llx bad=%llu\n",
	       hot.pages, cold.pages, file_mib, (unsigned long long)sum, (unsigned long long)fsum0,
	       (unsigned long long)bad);
	return bad ? 1 : 0;
}
