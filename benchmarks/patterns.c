/*
 * patterns: memory access patterns for measuring paging under a memory limit.
 *
 *   patterns [--mmap] [--verify] [--hot-mib N] [--theta F]
 *            [--data sparse|text|random] PATTERN FOOTPRINT_MIB COUNT SEED
 *
 * The whole footprint is one allocation: malloc() by default, so it goes
 * through uswap's interposed malloc, or an anonymous private mmap() with
 * --mmap.  Every run starts with a write sweep over all pages (the "init"
 * phase), so each page holds data that must survive eviction; then the
 * pattern runs:
 *
 *   seq      COUNT sequential passes over all pages; even passes read and
 *            rewrite every used word, odd passes only read.  Swap
 *            readahead, dirty writeback and clean-page reuse all show here,
 *            and with COUNT >= 2 a lost write is read back.
 *   random   COUNT operations, each a read and a write of one word of a
 *            uniformly random page.  No locality: the miss rate is about
 *            1 - limit/footprint whatever the policy.
 *   zipf     COUNT operations like random, but the page follows a Zipf
 *            distribution (theta 0.99 by default, ranks scattered over the
 *            buffer by a multiplicative permutation, CDF precomputed).  A
 *            good LRU keeps the hot ranks resident.
 *   scanhot  COUNT passes of a read-only scan over the cold part of the
 *            buffer; after every scanned page one random page of a small
 *            hot set (--hot-mib, default footprint/16) is read and written.
 *            Tests scan resistance: the hot set should stay resident.
 *
 * COUNT 0 runs the init sweep alone (for any pattern but zipf, which still
 * builds its CDF): benchmarks/compare.py's "init" case is "seq FOOTPRINT 0
 * SEED".  Nothing is read back then, so its checksum is 0 and checks nothing.
 *
 * Eight words per page are used, 512 bytes apart, so a page that comes back
 * from swap with wrong contents changes the checksum.  The checksum depends
 * only on PATTERN, FOOTPRINT_MIB, COUNT, SEED (and --hot-mib/--theta), never
 * on timing, so runs under different runtimes can be compared byte for byte.
 *
 * --data says what the rest of each page holds, which is what a compressed
 * swap (uswap's pool, the kernel's zswap) sees:
 *   sparse   (default) nothing: the init sweep writes only the eight used
 *            words, the rest of the page stays zero (compresses to almost
 *            nothing).
 *   text     the init sweep first fills every byte of the page with English-
 *            like text: words drawn by a per-page RNG from a fixed dictionary
 *            of 64 words, with commas, full stops and line breaks.  lz4
 *            compresses one such page (LZ4_compress_default on each 4 KiB
 *            page alone, as a swap pool does) to 1583 bytes on average,
 *            2.59x (measured on 4096 pages, seed 1, min 1535, max 1634).
 *   random   every byte from the RNG: incompressible (lz4 gives 4112 bytes
 *            for a page, slightly more than it was).
 * The filler is a function of SEED and the page index only, it is never
 * rewritten, and the used words are stored over it, so the checksum is the
 * same for every --data (the filler is not part of it).
 *
 * --verify keeps a shadow copy of every used word (and of its previous
 * value) in a MAP_SHARED mapping, which uswap does not manage, checks every
 * read against it and reports each wrong word on stderr as "zero" (the page
 * came back empty), "stale" (the write before last: a lost write) or
 * "other".  It costs 128 bytes per page outside the limit.
 *
 * Output, one line on stdout:
 *   pattern=P mib=M count=C seed=S alloc=malloc|mmap data=D checksum=HEX
 *   init_s=T run_s=T wall_s=T [bad_words=N base=ADDR]
 * wall_s runs from before the allocation to after it is released.
 *
 * Exit status: 0 ok, 1 runtime failure (allocation, or --verify found a
 * wrong word), 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define BENCH_PAGE 4096UL
#define WORDS_PER_PAGE (BENCH_PAGE / sizeof(uint64_t))
#define NR_SLOTS 8 /* words used per page */
#define SLOT_STRIDE (WORDS_PER_PAGE / NR_SLOTS)
/* A prime above any page count we use, so rank * PERM_MUL mod n is a bijection. */
#define PERM_MUL 2654435761ULL

enum pattern { PAT_SEQ, PAT_RANDOM, PAT_ZIPF, PAT_SCANHOT };
enum data_kind { DATA_SPARSE, DATA_TEXT, DATA_RANDOM };

struct workload {
	enum pattern pattern;
	const char *pattern_name;
	enum data_kind data; /* what fills the unused bytes of a page */
	uint64_t *base;     /* the buffer, nr_pages * BENCH_PAGE bytes */
	size_t nr_pages;
	uint64_t count;     /* passes (seq, scanhot) or operations (random, zipf) */
	uint64_t seed;
	double theta;       /* zipf skew */
	size_t nr_hot;      /* scanhot: pages in the hot set, at the start */
	uint64_t rng;       /* splitmix64 state */
	uint64_t *shadow;   /* --verify: expected value of each used word, or NULL */
	uint64_t *prev;     /* --verify: the value before that */
	uint64_t op;        /* --verify: operation counter, for the report */
	uint64_t nr_bad;    /* --verify: wrong words seen */
};

#define MAX_BAD_REPORTS 20

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

static uint64_t *slot(const struct workload *w, size_t page, unsigned k)
{
	return w->base + page * WORDS_PER_PAGE + (size_t)k * SLOT_STRIDE;
}

static void verify_fail(struct workload *w, size_t page, unsigned k, uint64_t got)
{
	size_t i = page * NR_SLOTS + k;
	const char *kind = got == 0 ? "zero" : got == w->prev[i] ? "stale" : "other";

	if (w->nr_bad++ < MAX_BAD_REPORTS)
		fprintf(stderr, "patterns: wrong word: page %zu slot %u addr %p op %" PRIu64
			": got %016" PRIx64 " expected %016" PRIx64 " previous %016" PRIx64 " (%s)\n",
			page, k, (void *)slot(w, page, k), w->op, got, w->shadow[i], w->prev[i], kind);
}

static uint64_t load(struct workload *w, size_t page, unsigned k)
{
	uint64_t v = *slot(w, page, k);

	if (w->shadow) {
		w->op++;
		if (v != w->shadow[page * NR_SLOTS + k])
			verify_fail(w, page, k, v);
	}
	return v;
}

static void store(struct workload *w, size_t page, unsigned k, uint64_t v)
{
	*slot(w, page, k) = v;
	if (w->shadow) {
		size_t i = page * NR_SLOTS + k;
		w->prev[i] = w->shadow[i];
		w->shadow[i] = v;
	}
}

/*
 * The text filler's dictionary: 64 words (6 bits of RNG a word), common
 * English and systems words of 2 to 11 letters, about 5.5 on average.
 */
static const char *const text_words[64] = {
	"the", "of", "and", "to", "in", "is", "that", "for", "it", "as",
	"was", "with", "be", "by", "on", "not", "he", "this", "are", "or",
	"his", "from", "at", "which", "but", "have", "an", "had", "they", "you",
	"were", "their", "one", "all", "we", "can", "her", "has", "there", "been",
	"memory", "page", "limit", "swap", "kernel", "process", "program", "system",
	"resident", "fault", "cache", "file", "thread", "scanner", "compressed",
	"benchmark", "userspace", "reclaim", "writeback", "eviction", "latency",
	"throughput", "allocation", "working",
};

/* Fill one page with text: words, ", " or ". " now and then, lines of
 * about 72 characters. */
static void fill_text(char *pg, uint64_t *rng)
{
	size_t pos = 0, col = 0;
	uint64_t bits = 0;
	unsigned nbits = 0;

	while (pos < BENCH_PAGE) {
		if (nbits < 10) {
			bits = rng_next(rng);
			nbits = 64;
		}
		const char *word = text_words[bits & 63];
		unsigned punct = (unsigned)(bits >> 6) & 15;
		bits >>= 10;
		nbits -= 10;
		size_t len = strlen(word);
		if (len > BENCH_PAGE - pos)
			len = BENCH_PAGE - pos;
		memcpy(pg + pos, word, len);
		pos += len;
		col += len;
		if (pos < BENCH_PAGE && punct == 0)
			pg[pos++] = '.';
		else if (pos < BENCH_PAGE && punct == 1)
			pg[pos++] = ',';
		if (pos < BENCH_PAGE) {
			pg[pos++] = col >= 72 ? '\n' : ' ';
			col = col >= 72 ? 0 : col + 1;
		}
	}
}

static void fill_page(const struct workload *w, size_t page)
{
	uint64_t *pg = w->base + page * WORDS_PER_PAGE;
	/* Its own stream per page: the filler does not depend on order. */
	uint64_t rng = mix64(w->seed ^ 0x7465787466696c6cULL ^ ((uint64_t)page << 20));

	switch (w->data) {
	case DATA_SPARSE:
		break;
	case DATA_TEXT:
		fill_text((char *)pg, &rng);
		break;
	case DATA_RANDOM:
		for (size_t i = 0; i < WORDS_PER_PAGE; i++)
			pg[i] = rng_next(&rng);
		break;
	}
}

static void init_sweep(struct workload *w)
{
	for (size_t p = 0; p < w->nr_pages; p++) {
		fill_page(w, p);
		for (unsigned k = 0; k < NR_SLOTS; k++)
			store(w, p, k, mix64(w->seed ^ ((uint64_t)p << 3 | k)));
	}
}

/* Read one word of a page, fold it into the checksum, write a new value. */
static uint64_t touch_rw(struct workload *w, size_t page, uint64_t op)
{
	unsigned k = (unsigned)(op & (NR_SLOTS - 1));
	uint64_t v = load(w, page, k);
	store(w, page, k, mix64(v ^ op));
	return mix64(v + op);
}

static uint64_t run_seq(struct workload *w)
{
	uint64_t csum = 0;

	for (uint64_t pass = 0; pass < w->count; pass++) {
		int is_write = !(pass & 1);
		for (size_t p = 0; p < w->nr_pages; p++) {
			for (unsigned k = 0; k < NR_SLOTS; k++) {
				uint64_t v = load(w, p, k);
				csum += v;
				if (is_write)
					store(w, p, k, mix64(v ^ pass));
			}
		}
		csum = mix64(csum);
	}
	return csum;
}

static uint64_t run_random(struct workload *w)
{
	uint64_t csum = 0;

	for (uint64_t op = 0; op < w->count; op++)
		csum ^= touch_rw(w, rng_below(&w->rng, w->nr_pages), op);
	return csum;
}

/* cdf[i] = P(rank <= i), ranks 0-based, P(rank i) ~ 1 / (i + 1)^theta. */
static double *zipf_cdf(size_t n, double theta)
{
	double *cdf = malloc(n * sizeof(*cdf));
	double sum = 0.0;

	if (!cdf)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		sum += 1.0 / pow((double)(i + 1), theta);
		cdf[i] = sum;
	}
	for (size_t i = 0; i < n; i++)
		cdf[i] /= sum;
	cdf[n - 1] = 1.0;
	return cdf;
}

static size_t zipf_rank(const double *cdf, size_t n, uint64_t *rng)
{
	double u = (double)(rng_next(rng) >> 11) * 0x1.0p-53;
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cdf[mid] >= u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int run_zipf(struct workload *w, uint64_t *ret_csum)
{
	double *cdf = zipf_cdf(w->nr_pages, w->theta);
	uint64_t csum = 0;

	if (!cdf)
		return -ENOMEM;
	for (uint64_t op = 0; op < w->count; op++) {
		size_t rank = zipf_rank(cdf, w->nr_pages, &w->rng);
		size_t page = (size_t)((rank * PERM_MUL) % w->nr_pages);
		csum ^= touch_rw(w, page, op);
	}
	free(cdf);
	*ret_csum = csum;
	return 0;
}

static uint64_t run_scanhot(struct workload *w)
{
	uint64_t csum = 0, op = 0;

	for (uint64_t pass = 0; pass < w->count; pass++) {
		for (size_t p = w->nr_hot; p < w->nr_pages; p++) {
			csum += load(w, p, (unsigned)(p & (NR_SLOTS - 1)));
			csum ^= touch_rw(w, rng_below(&w->rng, w->nr_hot), op++);
		}
		csum = mix64(csum);
	}
	return csum;
}

static int parse_pattern(const char *s, enum pattern *ret)
{
	static const char *const names[] = {
		[PAT_SEQ] = "seq", [PAT_RANDOM] = "random",
		[PAT_ZIPF] = "zipf", [PAT_SCANHOT] = "scanhot",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum pattern)i;
			return 0;
		}
	}
	return -EINVAL;
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

static void usage(void)
{
	fprintf(stderr,
		"usage: patterns [--mmap] [--verify] [--hot-mib N] [--theta F] "
		"[--data sparse|text|random] seq|random|zipf|scanhot FOOTPRINT_MIB COUNT SEED\n"
		"  COUNT is passes for seq and scanhot, operations for random and zipf\n"
		"  (0: the init sweep only)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct workload w = { .theta = 0.99 };
	uint64_t mib, hot_mib = 0, csum = 0;
	int use_mmap = 0, use_verify = 0, i = 1;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (strcmp(argv[i], "--mmap") == 0) {
			use_mmap = 1;
		} else if (strcmp(argv[i], "--verify") == 0) {
			use_verify = 1;
		} else if (strcmp(argv[i], "--hot-mib") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &hot_mib))
				usage();
		} else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			const char *d = argv[++i];
			if (strcmp(d, "sparse") == 0)
				w.data = DATA_SPARSE;
			else if (strcmp(d, "text") == 0)
				w.data = DATA_TEXT;
			else if (strcmp(d, "random") == 0)
				w.data = DATA_RANDOM;
			else
				usage();
		} else if (strcmp(argv[i], "--theta") == 0 && i + 1 < argc) {
			w.theta = strtod(argv[++i], NULL);
			if (!(w.theta > 0.0 && w.theta < 10.0))
				usage();
		} else {
			usage();
		}
	}
	if (argc - i != 4 || parse_pattern(argv[i], &w.pattern) ||
	    parse_u64(argv[i + 1], &mib) || parse_u64(argv[i + 2], &w.count) ||
	    parse_u64(argv[i + 3], &w.seed) || mib == 0 || mib > (1ULL << 22))
		usage();
	w.pattern_name = argv[i];
	w.nr_pages = (size_t)(mib << 20) / BENCH_PAGE;
	w.rng = w.seed;
	if (w.pattern == PAT_SCANHOT) {
		w.nr_hot = hot_mib ? (size_t)(hot_mib << 20) / BENCH_PAGE : w.nr_pages / 16;
		if (w.nr_hot == 0 || w.nr_hot >= w.nr_pages)
			usage();
	}

	size_t len = w.nr_pages * BENCH_PAGE;
	size_t shadow_len = w.nr_pages * NR_SLOTS * sizeof(uint64_t) * 2;
	if (use_verify) {
		/* MAP_SHARED: not private anonymous memory, so not paged by uswap. */
		void *p = mmap(NULL, shadow_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "patterns: cannot allocate the shadow: %s\n", strerror(errno));
			return 1;
		}
		w.shadow = p;
		w.prev = w.shadow + w.nr_pages * NR_SLOTS;
	}

	double t0 = now_s();
	if (use_mmap) {
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		w.base = p == MAP_FAILED ? NULL : p;
	} else {
		w.base = malloc(len);
	}
	if (!w.base) {
		fprintf(stderr, "patterns: cannot allocate %" PRIu64 " MiB: %s\n", mib, strerror(errno));
		return 1;
	}

	init_sweep(&w);
	double t1 = now_s();
	switch (w.pattern) {
	case PAT_SEQ:
		csum = run_seq(&w);
		break;
	case PAT_RANDOM:
		csum = run_random(&w);
		break;
	case PAT_ZIPF:
		if (run_zipf(&w, &csum)) {
			fprintf(stderr, "patterns: cannot allocate the zipf CDF\n");
			return 1;
		}
		break;
	case PAT_SCANHOT:
		csum = run_scanhot(&w);
		break;
	}
	double t2 = now_s();

	if (use_mmap)
		munmap(w.base, len);
	else
		free(w.base);
	double t3 = now_s();

	static const char *const data_names[] = {
		[DATA_SPARSE] = "sparse", [DATA_TEXT] = "text", [DATA_RANDOM] = "random",
	};
	printf("pattern=%s mib=%" PRIu64 " count=%" PRIu64 " seed=%" PRIu64
	       " alloc=%s data=%s checksum=%016" PRIx64 " init_s=%.3f run_s=%.3f wall_s=%.3f",
	       w.pattern_name, mib, w.count, w.seed, use_mmap ? "mmap" : "malloc",
	       data_names[w.data], csum,
	       t1 - t0, t2 - t1, t3 - t0);
	if (use_verify)
		printf(" bad_words=%" PRIu64 " base=%p", w.nr_bad, (void *)w.base);
	printf("\n");
	if (w.shadow)
		munmap(w.shadow, shadow_len);
	return w.nr_bad ? 1 : 0;
}
