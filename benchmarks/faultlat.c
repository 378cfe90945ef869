/*
 * faultlat: what one page fault costs, timed in the faulting thread.
 *
 *   faultlat [--pages N] [--limit SIZE] [--sweep-factor F] [--fill F]
 *            [--wait-ms MS] [--threshold-us US] [--hard-us US] [--mmap]
 *
 * Every touch of a page is timed on its own with CLOCK_MONOTONIC (vDSO, a
 * few tens of ns).  A touch slower than --threshold-us (1 us) is counted as
 * a fault: a resident page costs well under that even with a TLB and cache
 * miss, and the cheapest fault measured on this machine (async uffd-WP) is
 * 1.4 us (../shared/research/techniques.md 3.4).  Faults at or above
 * --hard-us (50 us) are also counted as "hard": they waited for the swap
 * device, not just for a context switch.  Classifying by time, rather than
 * by counters, works the same natively, under a memcg and under uswap.
 *
 * Tests, in order, on one buffer A of N pages (malloc, or mmap with --mmap):
 *   first_touch     write each page of a fresh A once.  Natively this is the
 *                   kernel's anonymous fault, the baseline for everything.
 *   swapin_rand     write a buffer B of F x limit (--sweep-factor, default
 *                   2) to push A out, then read and write every page of A in
 *                   random order (no readahead help): the swap-in cost.
 *   swapin_seq      the same, touching A in address order.
 *   track_idle      with A resident and nothing else, sleep --wait-ms and
 *                   touch A again: faults a runtime takes without pressure
 *                   (aging, reference tracking).
 *   track_pressure  add a filler so that A + filler = --fill (0.9) x limit,
 *                   sleep --wait-ms, touch A again: tracking faults (soft)
 *                   and evictions (hard) under mild pressure.
 * The swap-in and tracking tests need a limit: --limit, else USWAP_LIMIT,
 * else this process's memory cgroup limit (v1 or v2).  Without one they are
 * reported as skipped.
 *
 * Output, on stdout: one "limit=... pages=... clock_ns=..." line, then one
 * line per test:
 *   test=NAME pages=N faults=F hard=H us_per_fault=X mean_all_us=Y
 *   p50_us=A p90_us=B p99_us=C max_us=D total_ms=T [nonresident=R]
 * us_per_fault is total/pages for first_touch (every page faults) and the
 * mean over the slow touches for the others; percentiles are over the
 * slow touches.  "test=NAME skipped=REASON" when a test cannot run.
 *
 * Exit status: 0 ok, 1 failure (allocation, or a page came back wrong),
 * 2 usage error.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PAGE 4096UL
#define WORDS_PER_PAGE (BENCH_PAGE / sizeof(uint64_t))
#define NOT_MEASURED (-100000L)

struct options {
	size_t nr_pages;
	uint64_t limit;        /* bytes, 0 = none known */
	const char *limit_src; /* where limit came from */
	double sweep_factor;
	double fill;
	unsigned wait_ms;
	double threshold_us;
	double hard_us;
	int use_mmap;
};

struct buffer {
	uint64_t *base; /* page-aligned */
	void *raw;      /* what malloc returned */
	size_t nr_pages;
	int is_mmap;
};

/* Per-test latency results, in ns per touch. */
struct lat_result {
	const char *name;
	size_t nr_pages;
	long nr_nonresident;   /* mincore() count, -errno, or NOT_MEASURED */
	int is_all_faults;     /* first_touch: every touch is a fault */
	double *lat_ns;
};

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int buffer_alloc(struct buffer *b, size_t nr_pages, int use_mmap)
{
	size_t len = nr_pages * BENCH_PAGE;

	b->nr_pages = nr_pages;
	b->is_mmap = use_mmap;
	if (use_mmap) {
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		b->base = p == MAP_FAILED ? NULL : p;
	} else {
		/* Over-allocate and align, so mincore() sees exactly our pages. */
		b->raw = malloc(len + BENCH_PAGE);
		b->base = b->raw ? (uint64_t *)(((uintptr_t)b->raw + BENCH_PAGE - 1) &
						 ~(BENCH_PAGE - 1)) : NULL;
	}
	if (!b->base) {
		fprintf(stderr, "faultlat: cannot allocate %zu pages: %s\n", nr_pages, strerror(errno));
		return -ENOMEM;
	}
	return 0;
}

static void buffer_free(struct buffer *b)
{
	if (b->is_mmap)
		munmap(b->base, b->nr_pages * BENCH_PAGE);
	else
		free(b->raw);
	b->base = NULL;
}

static volatile uint64_t *page_word(const struct buffer *b, size_t page)
{
	return (volatile uint64_t *)(b->base + page * WORDS_PER_PAGE);
}

/* Write every page once (untimed): fills a sweep or filler buffer. */
static void buffer_write_all(const struct buffer *b, uint64_t tag)
{
	for (size_t p = 0; p < b->nr_pages; p++)
		*page_word(b, p) = tag + p;
}

/*
 * Pages of b that mincore() says are not resident, or a negative errno.
 * The vector is malloc'ed on purpose: under a runtime that arms pages with
 * PROT_NONE, a syscall writing into an armed buffer fails with EFAULT, and
 * that is worth seeing.
 */
static long buffer_nonresident(const struct buffer *b)
{
	size_t n = b->nr_pages;
	long nr_out = 0;
	unsigned char *vec = calloc(n, 1);

	if (!vec)
		return -ENOMEM;
	if (mincore(b->base, n * BENCH_PAGE, vec)) {
		long err = -errno;
		free(vec);
		return err;
	}
	for (size_t i = 0; i < n; i++)
		nr_out += !(vec[i] & 1);
	free(vec);
	return nr_out;
}

/* Time a write of each page in address order. */
static void time_first_touch(const struct buffer *a, double *lat_ns)
{
	for (size_t p = 0; p < a->nr_pages; p++) {
		uint64_t t0 = now_ns();
		*page_word(a, p) = mix64(p);
		lat_ns[p] = (double)(now_ns() - t0);
	}
}

/*
 * Time a read (checked against what first_touch wrote) plus a write-back of
 * the same value for each page, in the order given.  Returns the number of
 * pages whose contents were wrong.
 */
static size_t time_retouch(const struct buffer *a, const size_t *order, double *lat_ns)
{
	size_t nr_bad = 0;

	for (size_t i = 0; i < a->nr_pages; i++) {
		size_t p = order[i];
		volatile uint64_t *w = page_word(a, p);
		uint64_t t0 = now_ns();
		uint64_t v = *w;
		*w = v;
		lat_ns[i] = (double)(now_ns() - t0);
		nr_bad += v != mix64(p);
	}
	return nr_bad;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static double pct(const double *sorted, size_t n, double q)
{
	if (n == 0)
		return 0.0;
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return sorted[i];
}

static void report(const struct options *o, const struct lat_result *r)
{
	double total = 0.0, slow_sum = 0.0;
	size_t nr_slow = 0, nr_hard = 0;
	double *slow = malloc(r->nr_pages * sizeof(*slow));

	if (!slow) {
		printf("test=%s skipped=nomem\n", r->name);
		return;
	}
	for (size_t i = 0; i < r->nr_pages; i++) {
		double l = r->lat_ns[i];
		total += l;
		if (r->is_all_faults || l >= o->threshold_us * 1e3) {
			slow[nr_slow++] = l;
			slow_sum += l;
			nr_hard += l >= o->hard_us * 1e3;
		}
	}
	qsort(slow, nr_slow, sizeof(*slow), cmp_double);
	double per_fault = nr_slow ? slow_sum / (double)nr_slow / 1e3 : 0.0;
	printf("test=%s pages=%zu faults=%zu hard=%zu us_per_fault=%.2f mean_all_us=%.3f"
	       " p50_us=%.2f p90_us=%.2f p99_us=%.2f max_us=%.1f total_ms=%.2f",
	       r->name, r->nr_pages, nr_slow, nr_hard, per_fault,
	       total / (double)r->nr_pages / 1e3, pct(slow, nr_slow, 0.50) / 1e3,
	       pct(slow, nr_slow, 0.90) / 1e3, pct(slow, nr_slow, 0.99) / 1e3,
	       nr_slow ? slow[nr_slow - 1] / 1e3 : 0.0, total / 1e6);
	if (r->nr_nonresident >= 0)
		printf(" nonresident=%ld", r->nr_nonresident);
	else if (r->nr_nonresident != NOT_MEASURED)
		printf(" nonresident=error:%s", strerrorname_np((int)-r->nr_nonresident) ?: "?");
	printf("\n");
	fflush(stdout);
	free(slow);
}

/* "256M", "1G", "4096", "64KiB": binary units. */
static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	int shift = 0;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (shift) {
		end++;
		if (strcasecmp(end, "") && strcasecmp(end, "B") && strcasecmp(end, "iB"))
			return -EINVAL;
	} else if (*end && strcasecmp(end, "B")) {
		return -EINVAL;
	}
	*ret = (uint64_t)v << shift;
	return 0;
}

static uint64_t read_u64_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[64];
	uint64_t v = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && strncmp(buf, "max", 3) != 0)
		v = strtoull(buf, NULL, 10);
	fclose(f);
	return v;
}

/* The memory limit of this process's cgroup (v1 memory controller or v2). */
static uint64_t cgroup_limit(void)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[4096], path[4400];
	uint64_t limit = 0;

	if (!f)
		return 0;
	while (!limit && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *ctl = strchr(line, ':');
		char *cg = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!cg)
			continue;
		*cg++ = '\0';
		ctl++;
		if (strcmp(cg, "/") == 0)
			continue;
		if (strcmp(ctl, "memory") == 0) {
			snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", cg);
			limit = read_u64_file(path);
		} else if (*ctl == '\0') {
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.max", cg);
			limit = read_u64_file(path);
			if (!limit) {
				snprintf(path, sizeof(path), "/sys/fs/cgroup/unified%s/memory.max", cg);
				limit = read_u64_file(path);
			}
		}
	}
	fclose(f);
	/* v1 reports "no limit" as a huge page-aligned number. */
	return limit >= (1ULL << 60) ? 0 : limit;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: faultlat [--pages N] [--limit SIZE] [--sweep-factor F] [--fill F]\n"
		"                [--wait-ms MS] [--threshold-us US] [--hard-us US] [--mmap]\n");
	exit(2);
}

static int parse_double(const char *s, double lo, double hi, double *ret)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v > lo && v < hi))
		return -EINVAL;
	*ret = v;
	return 0;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	uint64_t v;
	int err;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--mmap") == 0) {
			o->use_mmap = 1;
			continue;
		}
		if (!val)
			usage();
		i++;
		if (strcmp(a, "--pages") == 0) {
			err = parse_size(val, &v) || v == 0;
			o->nr_pages = (size_t)v;
		} else if (strcmp(a, "--limit") == 0) {
			err = parse_size(val, &o->limit);
			o->limit_src = "option";
		} else if (strcmp(a, "--wait-ms") == 0) {
			err = parse_size(val, &v);
			o->wait_ms = (unsigned)v;
		} else if (strcmp(a, "--sweep-factor") == 0) {
			err = parse_double(val, 1.0, 100.0, &o->sweep_factor);
		} else if (strcmp(a, "--fill") == 0) {
			err = parse_double(val, 0.0, 1.0, &o->fill);
		} else if (strcmp(a, "--threshold-us") == 0) {
			err = parse_double(val, 0.0, 1e6, &o->threshold_us);
		} else if (strcmp(a, "--hard-us") == 0) {
			err = parse_double(val, 0.0, 1e6, &o->hard_us);
		} else {
			err = 1;
		}
		if (err)
			usage();
	}
}

static double clock_overhead_ns(void)
{
	uint64_t t0 = now_ns();
	for (int i = 0; i < 10000; i++)
		(void)now_ns();
	return (double)(now_ns() - t0) / 10000.0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	struct options o = {
		.nr_pages = 20000, .sweep_factor = 2.0, .fill = 0.9, .wait_ms = 1000,
		.threshold_us = 1.0, .hard_us = 50.0, .limit_src = "none",
	};
	struct buffer a, sweep, filler;
	const char *env;

	parse_args(argc, argv, &o);
	if (!o.limit && (env = getenv("USWAP_LIMIT")) && !parse_size(env, &o.limit))
		o.limit_src = "USWAP_LIMIT";
	if (!o.limit && (o.limit = cgroup_limit()))
		o.limit_src = "cgroup";
	/* A must fit with room to spare, or the tracking test measures swap-ins. */
	if (o.limit && o.nr_pages > o.limit / 4 / BENCH_PAGE)
		o.nr_pages = (size_t)(o.limit / 4 / BENCH_PAGE);
	if (o.nr_pages == 0)
		usage();

	printf("limit=%" PRIu64 " limit_src=%s pages=%zu alloc=%s clock_ns=%.1f"
	       " threshold_us=%.2f hard_us=%.1f\n",
	       o.limit, o.limit_src, o.nr_pages, o.use_mmap ? "mmap" : "malloc",
	       clock_overhead_ns(), o.threshold_us, o.hard_us);
	fflush(stdout);

	double *lat = malloc(o.nr_pages * sizeof(*lat));
	size_t *order = malloc(o.nr_pages * sizeof(*order));
	if (!lat || !order || buffer_alloc(&a, o.nr_pages, o.use_mmap))
		return 1;

	struct lat_result r = { .name = "first_touch", .nr_pages = o.nr_pages,
				.nr_nonresident = NOT_MEASURED, .is_all_faults = 1, .lat_ns = lat };
	time_first_touch(&a, lat);
	report(&o, &r);
	r.is_all_faults = 0;

	if (!o.limit) {
		const char *names[] = { "swapin_rand", "swapin_seq", "track_idle", "track_pressure" };
		for (size_t i = 0; i < 4; i++)
			printf("test=%s skipped=no_limit\n", names[i]);
		buffer_free(&a);
		return 0;
	}

	size_t nr_bad = 0;
	size_t nr_sweep = (size_t)((double)o.limit * o.sweep_factor) / BENCH_PAGE;
	if (buffer_alloc(&sweep, nr_sweep, o.use_mmap))
		return 1;

	/* swapin_rand: Fisher-Yates order, then swapin_seq in address order. */
	uint64_t rng = 42;
	for (size_t i = 0; i < o.nr_pages; i++)
		order[i] = i;
	for (size_t i = o.nr_pages - 1; i > 0; i--) {
		rng = mix64(rng);
		size_t j = (size_t)(rng % (i + 1)), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	buffer_write_all(&sweep, 1);
	r.name = "swapin_rand";
	r.nr_nonresident = buffer_nonresident(&a);
	nr_bad += time_retouch(&a, order, lat);
	report(&o, &r);

	for (size_t i = 0; i < o.nr_pages; i++)
		order[i] = i;
	buffer_write_all(&sweep, 2);
	r.name = "swapin_seq";
	r.nr_nonresident = buffer_nonresident(&a);
	nr_bad += time_retouch(&a, order, lat);
	report(&o, &r);
	buffer_free(&sweep);

	/* Tracking: A is resident now (just touched); see what touching it costs later. */
	sleep_ms(o.wait_ms);
	r.name = "track_idle";
	r.nr_nonresident = buffer_nonresident(&a);
	nr_bad += time_retouch(&a, order, lat);
	report(&o, &r);

	size_t want = (size_t)((double)o.limit * o.fill) / BENCH_PAGE;
	size_t nr_fill = want > o.nr_pages ? want - o.nr_pages : 0;
	if (nr_fill) {
		if (buffer_alloc(&filler, nr_fill, o.use_mmap))
			return 1;
		buffer_write_all(&filler, 3);
	}
	sleep_ms(o.wait_ms);
	r.name = "track_pressure";
	r.nr_nonresident = buffer_nonresident(&a);
	nr_bad += time_retouch(&a, order, lat);
	report(&o, &r);
	if (nr_fill)
		buffer_free(&filler);

	buffer_free(&a);
	free(order);
	free(lat);
	if (nr_bad) {
		fprintf(stderr, "faultlat: %zu page reads returned wrong contents\n", nr_bad);
		printf("bad_pages=%zu\n", nr_bad);
		return 1;
	}
	return 0;
}
