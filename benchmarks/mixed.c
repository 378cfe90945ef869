/*
 * mixed: anonymous memory and a mapped file in one working set, for
 * measuring how a memory limit is shared between the two kinds (the
 * anon/file balance that swappiness sets).
 *
 *   mixed --create FILE FILE_MIB
 *   mixed [--private] [--random] [--hot F] [--skew P] [--anon-share P]
 *         [--ops N] ANON_MIB FILE ROUNDS SEED
 *
 * --create writes FILE with fixed content: word w of page p is
 * mix64(FILE_KEY ^ (p << 9 | w)), so every page differs and a reader can
 * check any word without a copy.  The benchmark driver creates it once.
 *
 * A run mallocs ANON_MIB, writes eight words of every page (so each page
 * holds data that must survive eviction), maps FILE read-only (MAP_SHARED,
 * or MAP_PRIVATE with --private; --random adds MADV_RANDOM), then does
 * ROUNDS rounds of N operations (--ops, default: anon pages + file pages).
 * An operation is, with probability --anon-share (0.5), a read and a write
 * of one word of an anon page, else a read of one word of a file page,
 * checked against the formula.  Within each kind, a fixed hot part of --hot
 * (0.5) of the pages gets --skew (0.9) of the operations, the cold rest the
 * remainder, uniformly; hot pages are scattered over the range by a
 * multiplicative permutation, so neither readahead nor address order helps.
 *
 * Why this shape: sized so that each kind alone fits the limit but both do
 * not, while both hot parts do (e.g. anon = file = 3/4 of the limit), the
 * best policy keeps both hot parts and splits the rest.  Reclaiming only
 * file (swappiness 0) squeezes the file's hot part and it refaults from the
 * file; reclaiming only anon (200) does the same to anon, which costs a
 * swap write and a read per refault.  So a wrong balance shows as faults
 * and wall time, in either direction.
 *
 * The checksum folds in every word read, in operation order; it depends
 * only on the arguments and the file, never on timing, so runs under
 * different runtimes compare byte for byte.
 *
 * Output, one line on stdout:
 *   anon_mib=A file_mib=F rounds=R ops=N hot=H skew=S anon_share=P
 *   map=shared|private seed=S checksum=HEX bad_words=B init_s=T run_s=T
 *   wall_s=T
 * init_s covers the anon write sweep and the mmap; run_s the rounds.
 *
 * Exit status: 0 ok, 1 failure (I/O, allocation, or a file word read back
 * wrong), 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PAGE 4096UL
#define WORDS_PER_PAGE (BENCH_PAGE / sizeof(uint64_t))
#define NR_SLOTS 8 /* words used per page */
#define SLOT_STRIDE (WORDS_PER_PAGE / NR_SLOTS)
/* A prime above any page count we use, so rank * PERM_MUL mod n is a bijection. */
#define PERM_MUL 2654435761ULL
#define FILE_KEY 0x6d69786564f11e00ULL
#define MAX_BAD_REPORTS 20

/* One kind of memory: its pages and how accesses spread over them. */
struct part {
	uint64_t *base;  /* nr_pages * BENCH_PAGE bytes */
	size_t nr_pages;
	size_t nr_hot;   /* ranks below this are hot */
};

struct workload {
	struct part anon, file;
	double skew;       /* share of a kind's operations that go to its hot part */
	double anon_share; /* share of operations that go to anon */
	uint64_t nr_ops;   /* per round */
	uint64_t rounds;
	uint64_t rng;      /* splitmix64 state */
	uint64_t nr_bad;   /* file words that were not what --create wrote */
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* splitmix64: fast, and good enough to pick pages. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t mix64(uint64_t x)
{
	return rng_next(&x);
}

/* Uniform in [0, n) without modulo bias worth caring about for n < 2^32. */
static size_t rng_below(uint64_t *state, size_t n)
{
	return (size_t)(((rng_next(state) >> 32) * (uint64_t)n) >> 32);
}

static double rng_unit(uint64_t *state)
{
	return (double)(rng_next(state) >> 11) * 0x1.0p-53;
}

static uint64_t file_word(size_t page, size_t word)
{
	return mix64(FILE_KEY ^ ((uint64_t)page << 9 | word));
}

/* A page of p: hot with probability skew; scattered by the permutation. */
static size_t pick_page(struct workload *w, const struct part *p)
{
	size_t nr_cold = p->nr_pages - p->nr_hot, rank;

	if (nr_cold == 0 || (p->nr_hot && rng_unit(&w->rng) < w->skew))
		rank = rng_below(&w->rng, p->nr_hot);
	else
		rank = p->nr_hot + rng_below(&w->rng, nr_cold);
	return (size_t)((rank * PERM_MUL) % p->nr_pages);
}

static uint64_t *slot(const struct part *p, size_t page, unsigned k)
{
	return p->base + page * WORDS_PER_PAGE + (size_t)k * SLOT_STRIDE;
}

static void init_anon(struct workload *w, uint64_t seed)
{
	for (size_t p = 0; p < w->anon.nr_pages; p++)
		for (unsigned k = 0; k < NR_SLOTS; k++)
			*slot(&w->anon, p, k) = mix64(seed ^ ((uint64_t)p << 3 | k));
}

/* Read one word of an anon page, fold it in, write a new value. */
static uint64_t touch_anon(struct workload *w, uint64_t op)
{
	size_t page = pick_page(w, &w->anon);
	uint64_t *word = slot(&w->anon, page, (unsigned)(op & (NR_SLOTS - 1)));
	uint64_t v = *word;

	*word = mix64(v ^ op);
	return mix64(v + op);
}

static uint64_t read_file_page(struct workload *w, uint64_t op)
{
	size_t page = pick_page(w, &w->file);
	unsigned k = (unsigned)(op & (NR_SLOTS - 1));
	uint64_t v = *slot(&w->file, page, k);

	if (v != file_word(page, (size_t)k * SLOT_STRIDE) && w->nr_bad++ < MAX_BAD_REPORTS)
		fprintf(stderr, "mixed: wrong file word: page %zu slot %u op %" PRIu64
			": got %016" PRIx64 " expected %016" PRIx64 "\n",
			page, k, op, v, file_word(page, (size_t)k * SLOT_STRIDE));
	return mix64(v + op);
}

static uint64_t run_rounds(struct workload *w)
{
	uint64_t csum = 0, op = 0;

	for (uint64_t r = 0; r < w->rounds; r++) {
		for (uint64_t i = 0; i < w->nr_ops; i++, op++) {
			if (rng_unit(&w->rng) < w->anon_share)
				csum ^= touch_anon(w, op);
			else
				csum ^= read_file_page(w, op);
		}
		csum = mix64(csum);
	}
	return csum;
}

static int create_file(const char *path, uint64_t mib)
{
	size_t nr_pages = (size_t)(mib << 20) / BENCH_PAGE, chunk = 256;
	uint64_t *buf = malloc(chunk * BENCH_PAGE);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), ret = 0;

	if (fd < 0 || !buf) {
		fprintf(stderr, "mixed: %s: %s\n", path, strerror(errno));
		ret = -1;
		goto out;
	}
	for (size_t p0 = 0; p0 < nr_pages; p0 += chunk) {
		size_t n = nr_pages - p0 < chunk ? nr_pages - p0 : chunk;
		for (size_t i = 0; i < n * WORDS_PER_PAGE; i++)
			buf[i] = file_word(p0 + i / WORDS_PER_PAGE, i % WORDS_PER_PAGE);
		if (write(fd, buf, n * BENCH_PAGE) != (ssize_t)(n * BENCH_PAGE)) {
			fprintf(stderr, "mixed: write %s: %s\n", path, strerror(errno));
			ret = -1;
			goto out;
		}
	}
	if (fsync(fd)) {
		fprintf(stderr, "mixed: fsync %s: %s\n", path, strerror(errno));
		ret = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_frac(const char *s, double *ret)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= 0.0 && v <= 1.0))
		return -EINVAL;
	*ret = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mixed --create FILE FILE_MIB\n"
		"       mixed [--private] [--random] [--hot F] [--skew P] [--anon-share P]\n"
		"             [--ops N] ANON_MIB FILE ROUNDS SEED\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct workload w = { .skew = 0.9, .anon_share = 0.5 };
	uint64_t anon_mib, seed;
	double hot = 0.5;
	int is_private = 0, is_random = 0, i = 1;

	if (argc == 4 && strcmp(argv[1], "--create") == 0) {
		uint64_t mib;
		if (parse_u64(argv[3], &mib) || mib == 0 || mib > (1ULL << 22))
			usage();
		return create_file(argv[2], mib) ? 1 : 0;
	}
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--private") == 0)
			is_private = 1;
		else if (strcmp(argv[i], "--random") == 0)
			is_random = 1;
		else if (strcmp(argv[i], "--hot") == 0 && val && !parse_frac(val, &hot))
			i++;
		else if (strcmp(argv[i], "--skew") == 0 && val && !parse_frac(val, &w.skew))
			i++;
		else if (strcmp(argv[i], "--anon-share") == 0 && val && !parse_frac(val, &w.anon_share))
			i++;
		else if (strcmp(argv[i], "--ops") == 0 && val && !parse_u64(val, &w.nr_ops))
			i++;
		else
			usage();
	}
	if (argc - i != 4 || parse_u64(argv[i], &anon_mib) || parse_u64(argv[i + 2], &w.rounds) ||
	    parse_u64(argv[i + 3], &seed) || anon_mib == 0 || anon_mib > (1ULL << 22))
		usage();
	const char *path = argv[i + 1];
	w.rng = seed;

	double t0 = now_s();
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "mixed: %s: %s\n", path, strerror(errno));
		return 1;
	}
	w.file = (struct part){ .nr_pages = (size_t)st.st_size / BENCH_PAGE };
	w.anon = (struct part){ .nr_pages = (size_t)(anon_mib << 20) / BENCH_PAGE };
	if (w.file.nr_pages == 0 || w.file.nr_pages >= PERM_MUL) {
		fprintf(stderr, "mixed: %s: size %jd is not 1 page to 10 TiB\n", path, (intmax_t)st.st_size);
		return 1;
	}
	w.anon.nr_hot = (size_t)(hot * (double)w.anon.nr_pages);
	w.file.nr_hot = (size_t)(hot * (double)w.file.nr_pages);
	if (!w.nr_ops)
		w.nr_ops = w.anon.nr_pages + w.file.nr_pages;

	size_t file_len = w.file.nr_pages * BENCH_PAGE;
	void *map = mmap(NULL, file_len, PROT_READ, is_private ? MAP_PRIVATE : MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, "mixed: mmap %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	if (is_random && madvise(map, file_len, MADV_RANDOM))
		fprintf(stderr, "mixed: madvise(MADV_RANDOM): %s\n", strerror(errno));
	w.file.base = map;

	w.anon.base = malloc(w.anon.nr_pages * BENCH_PAGE);
	if (!w.anon.base) {
		fprintf(stderr, "mixed: cannot allocate %" PRIu64 " MiB: %s\n", anon_mib, strerror(errno));
		return 1;
	}
	init_anon(&w, seed);
	double t1 = now_s();
	uint64_t csum = run_rounds(&w);
	double t2 = now_s();
	free(w.anon.base);
	munmap(map, file_len);
	double t3 = now_s();

	printf("anon_mib=%" PRIu64 " file_mib=%zu rounds=%" PRIu64 " ops=%" PRIu64
	       " hot=%.2f skew=%.2f anon_share=%.2f map=%s seed=%" PRIu64
	       " checksum=%016" PRIx64 " bad_words=%" PRIu64
	       " init_s=%.3f run_s=%.3f wall_s=%.3f\n",
	       anon_mib, file_len >> 20, w.rounds, w.nr_ops, hot, w.skew, w.anon_share,
	       is_private ? "private" : "shared", seed, csum, w.nr_bad, t1 - t0, t2 - t1, t3 - t0);
	return w.nr_bad ? 1 : 0;
}
