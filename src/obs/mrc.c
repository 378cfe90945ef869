#define _GNU_SOURCE
#include "mrc.h"

#include "jbuf.h"
#include "stats.h"
#include "sys.h"

#include <stdio.h>
#include <string.h>

/*
 * The miss-ratio curve. A page that refaults after d other evictions would
 * have stayed resident with about d more pages of memory: between its
 * eviction and its refault, d pages came in that memory had no room for
 * (the refault-distance argument of mm/workingset.c, counted in evictions
 * alone; the kernel's clock also counts activations).
 * So the refaults a larger limit L + delta still takes are those of
 * distance above delta; buckets are log2, interpolated linearly inside.
 * Smaller limits cannot be read off this run: their extra misses are hits
 * here, and hits carry no distance.
 *
 * The faults predicted are major faults: of all page reads (swap-ins and
 * file reads, read-ahead included), the refaults go as above, the first
 * reads of file pages stay, and the share of reads that were faults (not
 * read-ahead) is kept.
 */
#define CHK_SHIFT 6
#define NR_CHK (1u << (MRC_AGE_BITS - CHK_SHIFT))
#define EB_SHIFT 8	 /* evictions per bucket of the fill index */
#define NR_EB (1u << 20) /* buckets: 2^28 evictions (1 TiB) before it wraps */
#define MRC_BUCKETS 128	 /* distance histogram: 4 buckets per power of two */

static uint64_t evict_clock;
static uint64_t *evict_chk; /* evict_clock when the age reached i << CHK_SHIFT */
static uint64_t *fill_bit;  /* Fenwick tree: fills, by the filled page's last eviction */
static uint64_t *fills_at;  /* fills counted when evict_clock entered bucket b */
static uint64_t nr_fills;
static uint64_t mrc_hist[2][MRC_BUCKETS];

static bool mrc_ready(void)
{
	if (!evict_chk) {
		evict_chk = sys_alloc_meta(NR_CHK * sizeof(*evict_chk));
		fill_bit = sys_alloc_meta((NR_EB + 1) * sizeof(*fill_bit));
		fills_at = sys_alloc_meta(NR_EB * sizeof(*fills_at));
	}
	return evict_chk && fill_bit && fills_at;
}

void mrc_tick(uint64_t age, bool eviction)
{
	if (!mrc_ready())
		return;
	if (eviction && !(++evict_clock & ((1u << EB_SHIFT) - 1)))
		fills_at[(evict_clock >> EB_SHIFT) & (NR_EB - 1)] = nr_fills;
	if (!(age & ((1u << CHK_SHIFT) - 1)))
		evict_chk[(age >> CHK_SHIFT) & (NR_CHK - 1)] = evict_clock;
}

/* Fenwick position of a fill: 1 for a page never evicted, else after its
 * last eviction's bucket. */
static uint32_t fill_pos(uint64_t te, bool cold)
{
	return cold ? 1 : (uint32_t)((te >> EB_SHIFT) % (NR_EB - 1)) + 2;
}

static void fill_add(uint32_t pos)
{
	for (; pos <= NR_EB; pos += pos & -pos)
		fill_bit[pos]++;
	nr_fills++;
}

static uint64_t fill_prefix(uint32_t pos)
{
	uint64_t n = 0;

	for (; pos; pos -= pos & -pos)
		n += fill_bit[pos];
	return n;
}

static unsigned mrc_bucket(uint64_t d)
{
	unsigned b;

	if (d < 4)
		return (unsigned)d;
	b = 63 - (unsigned)__builtin_clzll(d); /* d in [2^b, 2^(b+1)) */
	b = b * 4 + (unsigned)((d >> (b - 2)) & 3) - 4;
	return b < MRC_BUCKETS ? b : MRC_BUCKETS - 1;
}

static double mrc_bucket_lo(unsigned b)
{
	return b < 4 ? b : (double)(4 + (b % 4)) * (double)(1ULL << (b / 4 - 1));
}

/*
 * A page filled for the first time: it adds to the distance of every page
 * evicted before it (cold). A refault: its distance is the number of
 * distinct pages filled since it was evicted, counting only pages whose
 * own last eviction came before its eviction (under LRU, a page evicted
 * after it was more recent than it and was in memory with it: not new).
 * That is the LRU stack distance beyond the current limit; the Fenwick
 * tree over eviction time counts it in O(log n).
 */
void mrc_fill(void)
{
	if (mrc_ready())
		fill_add(fill_pos(0, true));
}

void mrc_refault(bool file, uint64_t age)
{
	uint64_t te, before, d;
	uint32_t pos;

	if (!mrc_ready())
		return;
	te = evict_chk[(age >> CHK_SHIFT) & (NR_CHK - 1)];
	pos = fill_pos(te, false);
	before = fills_at[(te >> EB_SHIFT) & (NR_EB - 1)];
	if (te >> EB_SHIFT == 0)
		before = 0;
	d = fill_prefix(pos - 1);
	d = d > before ? d - before : 0;
	mrc_hist[file][mrc_bucket(d)]++;
	fill_add(pos);
}

void mrc_distance_json(struct jbuf *j)
{
	jbuf_printf(j, "{\"bucket_lo\": [");
	for (unsigned i = 0; i < MRC_BUCKETS; i++)
		jbuf_printf(j, "%s%.0f", i ? ", " : "", mrc_bucket_lo(i));
	jbuf_printf(j, "]");
	jbuf_printf(j, ", \"anon\": ");
	jbuf_u64s(j, mrc_hist[0], MRC_BUCKETS);
	jbuf_printf(j, ", \"file\": ");
	jbuf_u64s(j, mrc_hist[1], MRC_BUCKETS);
	jbuf_printf(j, "}");
}

static double refaults_beyond(double delta)
{
	double n = 0;

	for (int t = 0; t < 2; t++)
		for (unsigned b = 0; b < MRC_BUCKETS; b++) {
			double lo = mrc_bucket_lo(b), hi = mrc_bucket_lo(b + 1);
			double c = (double)mrc_hist[t][b];

			if (delta <= lo)
				n += c;
			else if (delta < hi)
				n += c * (hi - delta) / (hi - lo);
		}
	return n;
}

struct mrc {
	double reads, refaults, majfaults, cold_faults, faults;
};

static void mrc_base(struct mrc *m)
{
	m->refaults = refaults_beyond(0);
	m->reads = (double)(stats.pswpin + stats.pgpgin);
	if (m->reads < m->refaults)
		m->reads = m->refaults;
	m->majfaults = (double)stats.pgmajfault;
	/* Faults an unconstrained run takes: every fault but the refaults. */
	m->faults = (double)stats.pgfault;
}

static double predict_major(const struct mrc *m, double delta)
{
	double left = m->reads - m->refaults + refaults_beyond(delta);

	return m->reads ? m->majfaults * left / m->reads : 0;
}

static double predict_all(const struct mrc *m, double delta)
{
	double major = predict_major(m, delta);

	return m->faults - m->majfaults + major;
}

void mrc_json(struct jbuf *j, uint64_t limit)
{
	const double tolerance = 0.05;
	struct mrc m;
	double cold, unconstrained, top = 0, rec = -1;

	mrc_base(&m);
	cold = predict_major(&m, 1e30);
	unconstrained = predict_all(&m, 1e30);
	for (int t = 0; t < 2; t++)
		for (unsigned b = 0; b < MRC_BUCKETS; b++)
			if (mrc_hist[t][b])
				top = mrc_bucket_lo(b + 1);
	/* The smallest limit whose faults stay within tolerance of an
	 * unconstrained run: bisect delta over [0, top]. */
	if (predict_all(&m, 0) <= unconstrained * (1 + tolerance)) {
		rec = 0;
	} else {
		double lo = 0, hi = top;

		for (int i = 0; i < 60; i++) {
			double mid = (lo + hi) / 2;

			if (predict_all(&m, mid) <= unconstrained * (1 + tolerance))
				hi = mid;
			else
				lo = mid;
		}
		rec = hi;
	}
	jbuf_printf(
		j,
		"{\"limit_bytes\": %llu, \"majfaults\": %llu, \"faults\": %llu, "
		"\"cold_majfaults\": %.0f, \"unconstrained_faults\": %.0f, \"tolerance_pct\": %.0f, "
		"\"recommended_bytes\": %llu, \"points\": [",
		(unsigned long long)(limit << 12), (unsigned long long)stats.pgmajfault,
		(unsigned long long)stats.pgfault, cold, unconstrained, tolerance * 100,
		(unsigned long long)((limit + (uint64_t)rec) << 12));
	/* Points: the run's limit, then up to where no refault is left. */
	for (int i = 0; i <= 24; i++) {
		double delta = top * i / 24;

		jbuf_printf(j, "%s{\"limit_bytes\": %llu, \"majfaults\": %.0f, \"faults\": %.0f}",
			    i ? ", " : "", (unsigned long long)((limit + (uint64_t)delta) << 12),
			    predict_major(&m, delta), predict_all(&m, delta));
		if (!top)
			break;
	}
	jbuf_printf(j, "]}");
}

void mrc_reset(void)
{
	if (evict_chk) {
		memset(evict_chk, 0, NR_CHK * sizeof(*evict_chk));
		memset(fill_bit, 0, (NR_EB + 1) * sizeof(*fill_bit));
		memset(fills_at, 0, NR_EB * sizeof(*fills_at));
	}
	evict_clock = nr_fills = 0;
	memset(mrc_hist, 0, sizeof(mrc_hist));
}
