/* SPDX-License-Identifier: MIT */
/*
 * test_mrc: the miss-ratio curve's predicted faults (src/obs/mrc.c)
 * against LRU simulations.
 *
 * The claim (the essay in mrc.c): from one run at limit L, the faults a run
 * at L + delta would take are the first touches plus the refaults whose
 * distance (distinct pages filled since the page's eviction that were not
 * in memory with it) is at least delta. For LRU that is exact: by the stack
 * property a reference misses at limit M iff its LRU stack distance
 * exceeds M, and a refault at L of stack distance sd has distance sd-L-1.
 *
 * Each case generates a page-reference trace, simulates LRU at L and drives
 * mrc_* as the runtime does (engine/fault.c, policy/workingset.c): a first
 * touch is mrc_fill() and a pgfault; an eviction is mrc_tick(++age, true),
 * the page keeping the age before the tick as its shadow; a refault is
 * mrc_refault(false, shadow age) and a major fault (pswpin, pgmajfault,
 * pgfault). Then every point of mrc_json(L) is compared with a direct LRU
 * simulation at that point's limit.
 *
 * The tolerance, per point at delta (the bucket [lo, hi) holding delta):
 *   |predicted - simulated| <= #{refaults whose exact distance is in
 *                                [lo - S, hi + S)} + 1
 * because (a) the histogram buckets are log2 with 4 sub-buckets and the
 * curve interpolates linearly inside the one holding delta, so any refault
 * in that bucket may be counted wrong (by a fraction); (b) mrc.c knows a
 * page's eviction only to within its clock checkpoint (64 ticks) and a fill
 * index bucket (256 evictions), so its distance may be off the exact one
 * by up to S = 256 + 64 + 64 + 16 (margin) pages; a refault more than S
 * from that bucket is on the right side of delta either way; (c) +1: the
 * JSON prints faults with %.0f and truncates a point's limit to a page.
 * Separately: the first point (delta 0) and the unconstrained faults are
 * exact, and the mean error over the 25 points is asserted far below the
 * per-point bound, since linear interpolation is nearly exact on these
 * smooth distance distributions: at most 1% of the refaults (about three
 * times what seeds 0x5eed, 1, 2, 3 give), 1.6% for the trace at limit 500
 * where S is large against the distances (1.33% seen). Interpolating the
 * wrong way inside a bucket gives 1.1 to 2%.
 *
 * Each trace starts with L + 512 pages touched once and never again, so
 * that no page that refaults was evicted among the first 256 evictions:
 * those are mis-measured (see the T_BUG case bucket0_counts_warmup).
 */
#include "helpers.h"

#include "jbuf.h"
#include "mrc.h"
#include "stats.h"

#include <math.h>

#define S_SLACK 400.0
#define PROLOGUE_EXTRA 512

/* ---- an LRU of page ids, O(1) per reference ------------------------------- */

struct lrusim {
	uint32_t *prev, *next;
	bool *in;
	uint32_t head, tail, nr, limit;
};

#define NONE UINT32_MAX

static void sim_init(struct lrusim *s, uint32_t npages, uint32_t limit)
{
	s->prev = calloc(npages, sizeof(*s->prev));
	s->next = calloc(npages, sizeof(*s->next));
	s->in = calloc(npages, sizeof(*s->in));
	t_check(s->prev && s->next && s->in, "out of memory");
	s->head = s->tail = NONE;
	s->nr = 0;
	s->limit = limit;
}

static void sim_free(struct lrusim *s)
{
	free(s->prev);
	free(s->next);
	free(s->in);
}

static void sim_unlink(struct lrusim *s, uint32_t p)
{
	if (s->prev[p] != NONE)
		s->next[s->prev[p]] = s->next[p];
	else
		s->head = s->next[p];
	if (s->next[p] != NONE)
		s->prev[s->next[p]] = s->prev[p];
	else
		s->tail = s->prev[p];
	s->in[p] = false;
	s->nr--;
}

static void sim_push(struct lrusim *s, uint32_t p)
{
	s->prev[p] = NONE;
	s->next[p] = s->head;
	if (s->head != NONE)
		s->prev[s->head] = p;
	else
		s->tail = p;
	s->head = p;
	s->in[p] = true;
	s->nr++;
}

/* Reference p: true on a hit. On a miss with memory full, *evicted is the
 * page that made room (else NONE). */
static bool sim_ref(struct lrusim *s, uint32_t p, uint32_t *evicted)
{
	*evicted = NONE;
	if (s->in[p]) {
		sim_unlink(s, p);
		sim_push(s, p);
		return true;
	}
	if (s->nr == s->limit) {
		*evicted = s->tail;
		sim_unlink(s, s->tail);
	}
	sim_push(s, p);
	return false;
}

/* Faults of a whole trace at limit. */
static uint64_t sim_faults(const uint32_t *trace, size_t n, uint32_t npages, uint32_t limit)
{
	struct lrusim s;
	uint64_t faults = 0;
	uint32_t ev;

	sim_init(&s, npages, limit);
	for (size_t i = 0; i < n; i++)
		faults += !sim_ref(&s, trace[i], &ev);
	sim_free(&s);
	return faults;
}

/* ---- the run at L, driving mrc_* --------------------------------------------- */

struct run {
	uint32_t limit;
	uint64_t cold, refaults;
	uint64_t *dist; /* each refault's exact distance (stack distance - L - 1) */
};

/* Fenwick tree over time, for exact stack distances: a 1 at each page's
 * last reference time. */
static void fw_add(int64_t *bit, size_t n, size_t i, int64_t v)
{
	for (i++; i <= n; i += i & -i)
		bit[i] += v;
}

static int64_t fw_sum(const int64_t *bit, size_t i) /* sum of [0, i) */
{
	int64_t n = 0;

	for (; i; i -= i & -i)
		n += bit[i];
	return n;
}

/* act_pct: on that share of hits the clock also ticks (an activation, not
 * an eviction), as aging does in the runtime. */
static void run_at(const uint32_t *trace, size_t n, uint32_t npages, uint32_t limit, unsigned act_pct,
		   struct t_rng *rng, struct run *r)
{
	struct lrusim s;
	uint64_t age = 0, *shadow = calloc(npages, sizeof(*shadow));
	int64_t *bit = calloc(n + 1, sizeof(*bit));
	size_t *last = malloc(npages * sizeof(*last));
	bool *seen = calloc(npages, sizeof(*seen));

	t_check(shadow && bit && last && seen, "out of memory");
	mrc_reset();
	memset(&stats, 0, sizeof(stats));
	r->limit = limit;
	r->cold = r->refaults = 0;
	r->dist = malloc(n * sizeof(*r->dist));
	t_check(r->dist, "out of memory");
	sim_init(&s, npages, limit);
	for (size_t t = 0; t < n; t++) {
		uint32_t p = trace[t], ev;
		uint64_t sd = 0;

		if (seen[p]) {
			sd = 1 + (uint64_t)(fw_sum(bit, t) - fw_sum(bit, last[p] + 1));
			fw_add(bit, n, last[p], -1);
		}
		fw_add(bit, n, t, 1);
		last[p] = t;
		if (sim_ref(&s, p, &ev)) {
			t_check(sd <= limit, "model: hit at stack distance %" PRIu64 " > limit %u", sd, limit);
			if (act_pct && t_rng_below(rng, 100) < act_pct)
				mrc_tick(++age, false);
			continue;
		}
		if (ev != NONE) {
			shadow[ev] = age; /* workingset_evict: the age before the tick */
			mrc_tick(++age, true);
		}
		if (!seen[p]) {
			seen[p] = true;
			mrc_fill();
			stats.pgfault++;
			r->cold++;
		} else {
			t_check(sd > limit, "model: miss at stack distance %" PRIu64 " <= limit %u", sd, limit);
			mrc_refault(false, shadow[p] & ((1ULL << MRC_AGE_BITS) - 1));
			stats.pswpin++;
			stats.pgmajfault++;
			stats.pgfault++;
			r->dist[r->refaults++] = sd - limit - 1;
		}
	}
	sim_free(&s);
	free(shadow);
	free(bit);
	free(last);
	free(seen);
}

/* ---- reading mrc_json ----------------------------------------------------------- */

struct point {
	uint64_t limit; /* pages */
	double majfaults, faults;
};

struct curve {
	double cold_majfaults, unconstrained;
	uint64_t majfaults, faults;
	struct point pt[32];
	int nr;
};

static double json_num(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	double v;

	t_check(p && sscanf(p + strlen(key), " : %lf", &v) == 1, "mrc_json: no \"%s\" in %s", key, text);
	return v;
}

static void read_curve(uint64_t limit, struct curve *c)
{
	struct jbuf j = { 0 };
	const char *p;
	unsigned long long lb;

	mrc_json(&j, limit);
	t_check(j.p && !j.oom, "mrc_json wrote nothing");
	c->cold_majfaults = json_num(j.p, "\"cold_majfaults\"");
	c->unconstrained = json_num(j.p, "\"unconstrained_faults\"");
	c->majfaults = (uint64_t)json_num(j.p, "\"majfaults\"");
	c->faults = (uint64_t)json_num(j.p, "\"faults\"");
	p = strstr(j.p, "\"points\": [");
	t_check(p, "mrc_json: no points in %s", j.p);
	p += strlen("\"points\": [");
	for (c->nr = 0; *p == '{' || (p[0] == ',' && p[1] == ' '); c->nr++) {
		struct point *pt = &c->pt[c->nr];

		if (*p == ',')
			p += 2;
		t_check(c->nr < 32, "mrc_json: more than 32 points");
		t_check(sscanf(p, "{\"limit_bytes\": %llu, \"majfaults\": %lf, \"faults\": %lf}", &lb,
			       &pt->majfaults, &pt->faults) == 3,
			"mrc_json: cannot read the point at %.80s", p);
		t_check(lb % T_PAGE == 0, "point limit %llu not whole pages", lb);
		pt->limit = lb / T_PAGE;
		p = strchr(p, '}');
		t_check(p, "mrc_json: unterminated point");
		p++;
	}
	t_check(*p == ']', "mrc_json: points end at %.40s", p);
	jbuf_free(&j);
}

/* The curve's bucket [lo, hi) holding delta (>= 0): 0..3 one page wide, then
 * each power of two [2^k, 2^(k+1)) in four equal parts. */
static void bucket_of(double delta, double *lo, double *hi)
{
	double p2 = 4, w;

	if (delta < 4) {
		*lo = floor(delta);
		*hi = *lo + 1;
		return;
	}
	while (delta >= 2 * p2)
		p2 *= 2;
	w = p2 / 4;
	*lo = p2 + w * floor((delta - p2) / w);
	*hi = *lo + w;
}

/* Compare every point with a simulation; returns the mean |error| / refaults. */
static double check_curve(const char *what, const uint32_t *trace, size_t n, uint32_t npages,
			  const struct run *r)
{
	struct curve c;
	double top, sum_err = 0;

	read_curve(r->limit, &c);
	t_check(c.faults == r->cold + r->refaults && c.majfaults == r->refaults,
		"%s: curve's faults %" PRIu64 " majfaults %" PRIu64 ", expected %" PRIu64 " and %" PRIu64,
		what, c.faults, c.majfaults, r->cold + r->refaults, r->refaults);
	/* Unlimited memory: first touches only, none of them major (anon). */
	t_check(c.unconstrained == (double)r->cold, "%s: unconstrained faults %.0f, expected %" PRIu64
		" (the distinct pages)", what, c.unconstrained, r->cold);
	t_check(c.cold_majfaults == 0, "%s: cold majfaults %.0f, expected 0", what, c.cold_majfaults);
	t_check(c.nr == (r->refaults ? 25 : 1), "%s: %d points, expected %d", what, c.nr,
		r->refaults ? 25 : 1);
	t_check(c.pt[0].limit == r->limit, "%s: first point at %" PRIu64 " pages, expected the limit %u",
		what, c.pt[0].limit, r->limit);
	t_check(c.pt[0].faults == (double)(r->cold + r->refaults),
		"%s: faults at the run's own limit %.0f, expected the run's %" PRIu64, what, c.pt[0].faults,
		r->cold + r->refaults);
	top = (double)(c.pt[c.nr - 1].limit - r->limit);
	for (int i = 0; i < c.nr; i++) {
		const struct point *pt = &c.pt[i];
		double delta = top * i / 24, lo, hi, err;
		uint64_t sim, beyond = 0, near = 0;

		t_check(pt->limit == r->limit + (uint64_t)delta, "%s: point %d at %" PRIu64
			" pages, expected %u + %.0f", what, i, pt->limit, r->limit, floor(delta));
		sim = sim_faults(trace, n, npages, (uint32_t)pt->limit);
		bucket_of(delta, &lo, &hi);
		for (uint64_t k = 0; k < r->refaults; k++) {
			double d = (double)r->dist[k];

			beyond += r->dist[k] >= pt->limit - r->limit;
			near += d >= lo - S_SLACK && d < hi + S_SLACK;
		}
		/* The model agrees with itself: stack distances predict the run. */
		t_check(sim == r->cold + beyond, "model: simulation at %" PRIu64 " pages gives %" PRIu64
			" faults, stack distances %" PRIu64, pt->limit, sim, r->cold + beyond);
		err = fabs(pt->faults - (double)sim);
		t_check(err <= (double)near + 1,
			"%s: at limit %u + %.1f pages the curve predicts %.0f faults, an LRU run takes %" PRIu64
			": off by %.0f, more than the %" PRIu64 " refaults within %g pages of the bucket"
			" [%.0f, %.0f) (+1)", what, r->limit, delta, pt->faults, sim, err, near, S_SLACK, lo,
			hi);
		t_check(fabs(pt->majfaults - (pt->faults - (double)r->cold)) <= 1,
			"%s: point %d: majfaults %.0f, expected faults - first touches = %.0f", what, i,
			pt->majfaults, pt->faults - (double)r->cold);
		sum_err += err;
	}
	if (!r->refaults)
		return 0;
	fprintf(stderr, "%s: limit %u, %" PRIu64 " first touches, %" PRIu64
		" refaults, mean error %.2f%% of the refaults\n", what, r->limit, r->cold, r->refaults,
		100.0 * sum_err / c.nr / (double)r->refaults);
	return sum_err / c.nr / (double)r->refaults;
}

/* ---- traces ----------------------------------------------------------------------- */

/* A trace: the prologue (limit + PROLOGUE_EXTRA pages used once, ids from
 * npages up), then n references to pages 0..npages-1 drawn by pick. */
static uint32_t *make_trace(uint32_t npages, uint32_t limit, size_t n, size_t *len, uint32_t *ids,
			    uint32_t (*pick)(struct t_rng *, void *), void *arg, struct t_rng *rng)
{
	size_t pro = limit + PROLOGUE_EXTRA;
	uint32_t *t = malloc((pro + n) * sizeof(*t));

	t_check(t, "out of memory");
	for (size_t i = 0; i < pro; i++)
		t[i] = npages + (uint32_t)i;
	for (size_t i = 0; i < n; i++)
		t[pro + i] = pick(rng, arg);
	*len = pro + n;
	*ids = npages + (uint32_t)pro;
	return t;
}

static uint32_t pick_uniform(struct t_rng *rng, void *arg)
{
	return (uint32_t)t_rng_below(rng, *(uint32_t *)arg);
}

/* Zipf-like: rank k with weight 1/(k+1)^0.9, ranks scattered over the pages. */
struct zipf {
	uint32_t n;
	double *cdf;
	uint32_t *page;
};

static uint32_t pick_zipf(struct t_rng *rng, void *arg)
{
	const struct zipf *z = arg;
	double u = (double)(t_rng_next(rng) >> 11) / 9007199254740992.0;
	uint32_t lo = 0, hi = z->n - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return z->page[lo];
}

static void zipf_init(struct zipf *z, uint32_t n, double s, struct t_rng *rng)
{
	double sum = 0;

	z->n = n;
	z->cdf = malloc(n * sizeof(*z->cdf));
	z->page = malloc(n * sizeof(*z->page));
	t_check(z->cdf && z->page, "out of memory");
	for (uint32_t k = 0; k < n; k++) {
		sum += pow(k + 1, -s);
		z->cdf[k] = sum;
		z->page[k] = k;
	}
	for (uint32_t k = 0; k < n; k++)
		z->cdf[k] /= sum;
	for (uint32_t k = n - 1; k > 0; k--) {
		uint32_t j = (uint32_t)t_rng_below(rng, k + 1), x = z->page[k];

		z->page[k] = z->page[j];
		z->page[j] = x;
	}
}

static void random_trace(const char *what, bool zipf, uint32_t npages, uint32_t limit, size_t n,
			 unsigned act_pct, double max_mean, uint64_t salt)
{
	struct t_rng rng;
	uint64_t seed = t_seed() ^ salt;
	struct zipf z;
	struct run r;
	uint32_t *trace, ids;
	size_t len;
	double mean;

	t_rng_seed(&rng, seed);
	fprintf(stderr, "%s: seed %#" PRIx64 " (set T_SEED to change)\n", what, seed);
	if (zipf)
		zipf_init(&z, npages, 0.9, &rng);
	trace = make_trace(npages, limit, n, &len, &ids, zipf ? pick_zipf : pick_uniform,
			   zipf ? (void *)&z : (void *)&npages, &rng);
	run_at(trace, len, ids, limit, act_pct, &rng, &r);
	t_check(r.refaults > n / 10, "%s: only %" PRIu64 " refaults: the trace does not test much", what,
		r.refaults);
	mean = check_curve(what, trace, len, ids, &r);
	t_check(mean <= max_mean, "%s: mean error %.2f%% of the refaults, expected at most %.1f%%", what,
		100 * mean, 100 * max_mean);
	free(trace);
	free(r.dist);
}

/* ---- cases -------------------------------------------------------------------------- */

/* Everything fits: first touches only, one point. */
static void no_eviction(void)
{
	uint32_t trace[3000];
	struct run r;
	struct t_rng rng;

	t_rng_seed(&rng, 1);
	for (size_t i = 0; i < 3000; i++)
		trace[i] = (uint32_t)t_rng_below(&rng, 1000);
	run_at(trace, 3000, 1000, 1000, 0, &rng, &r);
	t_eq(r.refaults, 0);
	check_curve("no_eviction", trace, 3000, 1000, &r);
	free(r.dist);
}

/* A loop over L + k pages: at L every reference misses, at L + k none do. */
static void loop(void)
{
	enum { L = 2000, K = 1500, PASSES = 8 };
	static uint32_t trace[L + PROLOGUE_EXTRA + (L + K) * PASSES];
	size_t n = 0;
	struct run r;
	struct t_rng rng;

	t_rng_seed(&rng, 2);
	for (uint32_t i = 0; i < L + PROLOGUE_EXTRA; i++)
		trace[n++] = L + K + i;
	for (int pass = 0; pass < PASSES; pass++)
		for (uint32_t p = 0; p < L + K; p++)
			trace[n++] = p;
	run_at(trace, n, L + K + L + PROLOGUE_EXTRA, L, 0, &rng, &r);
	t_eq(r.refaults, (uint64_t)(L + K) * (PASSES - 1));
	for (uint64_t k = 0; k < r.refaults; k++)
		t_check(r.dist[k] == K - 1, "model: loop distance %" PRIu64 ", expected %d", r.dist[k], K - 1);
	check_curve("loop", trace, n, L + K + L + PROLOGUE_EXTRA, &r);
	free(r.dist);
}

static void uniform(void)
{
	random_trace("uniform", false, 40000, 8000, 400000, 0, 0.01, 0x11);
}

static void uniform_small_limit(void)
{
	random_trace("uniform_small_limit", false, 6000, 500, 200000, 0, 0.016, 0x12);
}

static void zipf(void)
{
	random_trace("zipf", true, 40000, 4000, 400000, 0, 0.01, 0x21);
}

/* Activations move the clock too; the curve counts evictions alone. */
static void zipf_with_activations(void)
{
	random_trace("zipf_with_activations", true, 40000, 4000, 400000, 30, 0.01, 0x22);
}

/*
 * The pages evicted in the first 256 evictions: fills_at[0] is never set,
 * so their distance counts every fill since the start of the run, the
 * warm-up included (every page that was resident when they left), instead
 * of the fills since their eviction. A program that fills L pages and then
 * goes over by a little shows the whole of L in its curve.
 *
 * Here: L pages, then 100 more (evicting pages 0..99), then pages 0..99
 * again. Each refault's exact distance is 99 - the 100 pages went in after
 * it, none of them there when it left - so at L + 100 and beyond an LRU run
 * takes no refault, whereas the curve keeps all 100 until about 2L.
 */
static void bucket0_counts_warmup(void)
{
	enum { L = 4096, K = 100 };
	static uint32_t trace[L + 2 * K];
	size_t n = 0;
	struct run r;
	struct t_rng rng;
	struct curve c;

	t_rng_seed(&rng, 3);
	for (uint32_t p = 0; p < L + K; p++)
		trace[n++] = p;
	for (uint32_t p = 0; p < K; p++)
		trace[n++] = p;
	run_at(trace, n, L + K, L, 0, &rng, &r);
	t_eq(r.refaults, K);
	for (uint64_t k = 0; k < r.refaults; k++)
		t_check(r.dist[k] == K - 1, "model: distance %" PRIu64 ", expected %d", r.dist[k], K - 1);
	read_curve(L, &c);
	/* Well past the granularity (S): at L + K + S an LRU run takes only
	 * the first touches. */
	for (int i = 0; i < c.nr; i++) {
		uint64_t sim;

		if (c.pt[i].limit < L + K + (uint64_t)S_SLACK)
			continue;
		sim = sim_faults(trace, n, L + K, (uint32_t)c.pt[i].limit);
		t_eq(sim, L + K);
		t_check(fabs(c.pt[i].faults - (double)sim) <= 1,
			"at limit %" PRIu64 " pages the curve predicts %.0f faults, an LRU run takes %" PRIu64
			" (the refaults of pages evicted among the first 256 evictions carry the warm-up's "
			"%d fills in their distance)", c.pt[i].limit, c.pt[i].faults, sim, L);
	}
	free(r.dist);
}

static const struct t_case cases[] = {
	T_CASE(no_eviction),
	T_CASE(loop),
	T_CASE(uniform),
	T_CASE(uniform_small_limit),
	T_CASE(zipf),
	T_CASE(zipf_with_activations),
	T_BUG(bucket0_counts_warmup, "mrc.c: a page evicted in the first 256 evictions counts the "
				     "warm-up's fills in its refault distance (fills_at[0] is never set)"),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 20, argc, argv);
}
