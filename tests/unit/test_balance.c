/* SPDX-License-Identifier: MIT */
/*
 * test_balance: the anon/file split of reclaim's scanning
 * (src/policy/balance.c, after the kernel's get_scan_count).
 *
 * The rules, as the essay atop balance.c states them:
 *  - each side has a cost: SWAP_CLUSTER_MAX (32) per page of I/O plus one
 *    per rotation; both costs halve whenever their sum exceeds a quarter of
 *    the pages on the four lists (checked after each note);
 *  - the anon share of a scan (of 1024), with s the swappiness in force:
 *	total = anon + file; anon' = total + anon; file' = total + file
 *	ap = s * (anon' + file' + 1) / (anon' + 1)
 *	fp = (200 - s) * (anon' + file' + 1) / (file' + 1)
 *	share = 1024 * ap / (ap + fp)
 *  - edge rules, in this order: anon not ok -> 0; file not ok -> 1024;
 *    s == 0 -> 0 and s == 200 -> 1024 (absolute); cache_trim -> 0;
 *  - --swappiness auto: s = 200 * file / (anon + file) of the measured
 *    costs of a page (read time, plus write time times the share of
 *    evictions that wrote), clamped to 1..199; 60 until both kinds have a
 *    read measured. Times are averaged with weight 1/16 per sample (each
 *    term shifted right by 4), the first sample taken as is; eviction
 *    counts halve past 4096.
 *
 * The model below recomputes all of this by brute force from those rules
 * (not from balance.c's code); the random cases compare it with the module
 * after every step. Costs are only visible through the share, so every step
 * checks the share at several swappiness values.
 */
#include "helpers.h"

#include "balance.h"
#include "config.h"
#include "lru.h"
#include "stats.h"

/* ---- the model ----------------------------------------------------------- */

static uint64_t m_cost[2];

static uint64_t lru_pages(void)
{
	uint64_t n = 0;

	for (int l = 0; l < NR_LRU_LISTS; l++)
		n += lru.lists[l].nr;
	return n;
}

static void set_lists(uint64_t ia, uint64_t aa, uint64_t ifl, uint64_t af)
{
	lru.lists[LRU_INACTIVE_ANON].nr = ia;
	lru.lists[LRU_ACTIVE_ANON].nr = aa;
	lru.lists[LRU_INACTIVE_FILE].nr = ifl;
	lru.lists[LRU_ACTIVE_FILE].nr = af;
}

static void model_note_cost(bool file, unsigned nr_io, unsigned nr_rotated)
{
	m_cost[file] += 32ULL * nr_io + nr_rotated;
	/* "more than a quarter", exactly: no rounding of the quarter. */
	if (4 * (m_cost[0] + m_cost[1]) > lru_pages()) {
		m_cost[0] >>= 1;
		m_cost[1] >>= 1;
	}
}

static void note_cost(bool file, unsigned nr_io, unsigned nr_rotated)
{
	balance_note_cost(file, nr_io, nr_rotated);
	model_note_cost(file, nr_io, nr_rotated);
}

/* The share for swappiness s (0..200) and costs c[0] (anon), c[1] (file). */
static unsigned model_share(int s, const uint64_t c[2], bool anon_ok, bool file_ok, bool cache_trim)
{
	uint64_t anon2, file2, sum, ap, fp;

	if (!anon_ok)
		return 0;
	if (!file_ok)
		return 1024;
	if (s == 0)
		return 0;
	if (s == 200)
		return 1024;
	if (cache_trim)
		return 0;
	anon2 = 2 * c[0] + c[1];
	file2 = c[0] + 2 * c[1];
	sum = anon2 + file2 + 1;
	ap = (uint64_t)s * sum / (anon2 + 1);
	fp = (uint64_t)(200 - s) * sum / (file2 + 1);
	return (unsigned)((ap * 1024) / (ap + fp));
}

/* Check the share in every anon_ok/file_ok/cache_trim combination. */
static void check_share(int s, const char *what)
{
	for (int k = 0; k < 8; k++) {
		bool anon_ok = k & 1, file_ok = k & 2, trim = k & 4;
		unsigned got = balance_anon_share(anon_ok, file_ok, trim);
		unsigned want = model_share(s, m_cost, anon_ok, file_ok, trim);

		t_check(got == want,
			"%s: swappiness %d, costs anon %" PRIu64 " file %" PRIu64
			", anon_ok %d file_ok %d cache_trim %d: share %u, expected %u",
			what, s, m_cost[0], m_cost[1], anon_ok, file_ok, trim, got, want);
		t_check(stats.swappiness_effective == (uint64_t)s,
			"%s: swappiness_effective %" PRIu64 ", expected %d", what,
			stats.swappiness_effective, s);
	}
}

static void start(void)
{
	balance_reset();
	memset(m_cost, 0, sizeof(m_cost));
	memset(lru.lists, 0, sizeof(lru.lists));
}

/* ---- cases ------------------------------------------------------------------ */

static void reset_and_setting(void)
{
	start();
	t_eq(balance_swappiness_setting(), config.swappiness);
	t_eq(balance_swappiness(), 60); /* config's default */
	balance_set_swappiness(137);
	t_eq(balance_swappiness_setting(), 137);
	t_eq(balance_swappiness(), 137);
	balance_set_swappiness(SWAPPINESS_AUTO);
	t_check(balance_swappiness_setting() == SWAPPINESS_AUTO,
		"setting %d, expected SWAPPINESS_AUTO", balance_swappiness_setting());
	config.swappiness = 17;
	balance_reset();
	t_eq(balance_swappiness_setting(), 17);
	t_eq(balance_swappiness(), 17);
}

/* No cost on either side: pressure is split by swappiness alone. */
static void share_without_cost(void)
{
	/* With zero costs ap = s, fp = 200 - s: share = 1024 * s / 200. */
	static const int s[] = { 1, 10, 60, 100, 150, 199 };

	start();
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		balance_set_swappiness(s[i]);
		t_check(balance_anon_share(true, true, false) == (unsigned)(1024 * s[i] / 200),
			"swappiness %d, no cost: share %u, expected 1024*%d/200 = %d", s[i],
			balance_anon_share(true, true, false), s[i], 1024 * s[i] / 200);
	}
	balance_set_swappiness(100);
	t_eq(balance_anon_share(true, true, false), 512);
}

/* The edge rules come before the formula, in their order. */
static void edge_rules(void)
{
	static const int s[] = { 0, 1, 60, 100, 199, 200 };

	start();
	set_lists(1000000, 0, 0, 0);
	note_cost(false, 10, 7);
	note_cost(true, 3, 100);
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		balance_set_swappiness(s[i]);
		/* Anon not ok wins over everything, even file not ok. */
		t_check(balance_anon_share(false, true, false) == 0 &&
				balance_anon_share(false, false, false) == 0 &&
				balance_anon_share(false, false, true) == 0,
			"swappiness %d: anon not ok should give share 0", s[i]);
		t_check(balance_anon_share(true, false, false) == 1024 &&
				balance_anon_share(true, false, true) == 1024,
			"swappiness %d: file not ok should give share 1024", s[i]);
	}
	balance_set_swappiness(0);
	t_eq(balance_anon_share(true, true, false), 0);
	balance_set_swappiness(200);
	t_eq(balance_anon_share(true, true, false), 1024);
	/* 200 is absolute: cache_trim does not override it. */
	t_eq(balance_anon_share(true, true, true), 1024);
	for (int v = 1; v < 200; v++) {
		balance_set_swappiness(v);
		t_check(balance_anon_share(true, true, true) == 0,
			"swappiness %d, cache_trim: share %u, expected 0", v,
			balance_anon_share(true, true, true));
		check_share(v, "edge_rules");
	}
}

/* The formula over a grid of costs at the four named swappiness values. */
static void share_formula(void)
{
	static const int s[] = { 0, 60, 100, 200 };
	static const unsigned n[] = { 0, 1, 2, 5, 31, 100, 1000, 12345 };
	const size_t nn = sizeof(n) / sizeof(n[0]);

	for (size_t a = 0; a < nn; a++)
		for (size_t f = 0; f < nn; f++) {
			start();
			set_lists(1ULL << 40, 0, 0, 0); /* no decay */
			note_cost(false, 0, n[a]);
			note_cost(true, 0, n[f]);
			for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
				balance_set_swappiness(s[i]);
				check_share(s[i], "share_formula");
			}
		}
	/* A hand-worked value: anon 0, file 100 at 60: anon' = 100, file' = 200,
	 * ap = 60 * 301 / 101 = 178, fp = 140 * 301 / 201 = 209,
	 * share = 1024 * 178 / 387 = 470. */
	start();
	set_lists(1ULL << 40, 0, 0, 0);
	note_cost(true, 0, 100);
	balance_set_swappiness(60);
	t_eq(balance_anon_share(true, true, false), 470);
	/* Costlier file I/O moves the scan toward anon: above 1024 * 60 / 200. */
	t_check(470 > 1024 * 60 / 200, "file cost should raise the anon share");
}

/* I/O weighs SWAP_CLUSTER_MAX rotations; costs halve past a quarter of
 * the listed pages. */
static void cost_decay(void)
{
	start();
	set_lists(100, 100, 100, 100); /* 400 pages: a quarter is 100 */
	balance_set_swappiness(100);

	note_cost(false, 3, 0); /* anon 96: no decay */
	t_eq(m_cost[0], 96);
	check_share(100, "anon 96");
	note_cost(false, 0, 4); /* 100: not above a quarter */
	t_eq(m_cost[0], 100);
	check_share(100, "anon 100");
	note_cost(true, 0, 1); /* 101 > 100: both halve, 50 and 0 */
	t_eq(m_cost[0], 50);
	t_eq(m_cost[1], 0);
	check_share(100, "after the first decay");
	/* Without the decay the share would differ: the check above means something. */
	t_check(model_share(100, (uint64_t[]){ 100, 1 }, true, true, false) !=
			model_share(100, (uint64_t[]){ 50, 0 }, true, true, false),
		"the decay case does not tell decayed from undecayed costs");

	/* One big note halves once only. */
	note_cost(true, 20, 0); /* file 640, sum 690 -> 25, 320 */
	t_eq(m_cost[0], 25);
	t_eq(m_cost[1], 320);
	check_share(100, "after a big note");

	/* Shrinking lists make the same costs decay sooner. */
	set_lists(10, 0, 0, 0);
	note_cost(false, 0, 0); /* nothing added; 345 > 2: halve */
	t_eq(m_cost[0], 12);
	t_eq(m_cost[1], 160);
	check_share(100, "empty note on short lists");
	set_lists(0, 0, 0, 0);
	for (int i = 0; i < 12; i++)
		note_cost(false, 0, 0);
	t_eq(m_cost[0] + m_cost[1], 0);
	check_share(100, "all decayed");
}

/* Random notes, list sizes and swappiness against the model. */
static void random_costs_vs_model(void)
{
	struct t_rng rng;
	uint64_t seed = t_seed();

	t_rng_seed(&rng, seed);
	fprintf(stderr, "random_costs_vs_model: seed %#" PRIx64 " (set T_SEED to change)\n", seed);
	start();
	for (int step = 0; step < 200000; step++) {
		unsigned r = (unsigned)t_rng_below(&rng, 100);
		int s;

		if (r < 3) {
			/* New list sizes, from tiny to large. */
			uint64_t scale = 1ULL << t_rng_below(&rng, 20);

			set_lists(t_rng_below(&rng, scale), t_rng_below(&rng, scale),
				  t_rng_below(&rng, scale), t_rng_below(&rng, scale));
		}
		{
			bool file = t_rng_next(&rng) & 1;
			/* Mostly rotations, now and then a few pages of I/O. */
			unsigned nr_io = t_rng_below(&rng, 4) == 0 ? (unsigned)t_rng_below(&rng, 4) : 0;
			unsigned nr_rotated = (unsigned)t_rng_below(&rng, 64);

			note_cost(file, nr_io, nr_rotated);
		}
		s = (int)t_rng_below(&rng, 201);
		if (step % 8 == 0)
			s = (int[]){ 0, 60, 100, 200 }[t_rng_below(&rng, 4)];
		balance_set_swappiness(s);
		check_share(s, "random_costs_vs_model");
	}
}

/* ---- --swappiness auto ----------------------------------------------------- */

struct m_io {
	uint64_t read_ns[2], write_ns[2], evicted[2], written[2];
};

static void model_avg(uint64_t *avg, uint64_t v)
{
	/* Weight 1/16 per sample, each term truncated; the first sample as is. */
	*avg = *avg == 0 ? v : *avg - *avg / 16 + v / 16;
}

static void model_io(struct m_io *m, bool file, bool write, uint64_t ns)
{
	balance_note_io(file, write, ns);
	model_avg(write ? &m->write_ns[file] : &m->read_ns[file], ns);
}

static void model_evict(struct m_io *m, bool file, bool wrote)
{
	balance_note_evict(file, wrote);
	m->evicted[file]++;
	if (wrote)
		m->written[file]++;
	if (m->evicted[file] > 4096) {
		m->evicted[file] /= 2;
		m->written[file] /= 2;
	}
}

static uint64_t model_page_cost(const struct m_io *m, int file)
{
	uint64_t c = m->read_ns[file];

	if (m->evicted[file] > 0 && m->write_ns[file] > 0)
		c += m->write_ns[file] * m->written[file] / m->evicted[file];
	return c;
}

static int model_auto(const struct m_io *m)
{
	uint64_t a = model_page_cost(m, 0), f = model_page_cost(m, 1), s;

	if (m->read_ns[0] == 0 || m->read_ns[1] == 0)
		return 60;
	s = 200 * f / (a + f);
	if (s < 1)
		return 1;
	if (s > 199)
		return 199;
	return (int)s;
}

static void check_auto(const struct m_io *m, const char *what)
{
	int got = balance_swappiness(), want = model_auto(m);

	t_check(got == want, "%s: auto swappiness %d, expected %d (anon cost %" PRIu64
		" ns, file %" PRIu64 " ns)", what, got, want, model_page_cost(m, 0), model_page_cost(m, 1));
	t_check(stats.anon_io_ns == model_page_cost(m, 0) && stats.file_io_ns == model_page_cost(m, 1),
		"%s: stats anon_io_ns %" PRIu64 " file_io_ns %" PRIu64 ", expected %" PRIu64 " and %" PRIu64,
		what, stats.anon_io_ns, stats.file_io_ns, model_page_cost(m, 0), model_page_cost(m, 1));
	t_check(balance_swappiness_setting() == SWAPPINESS_AUTO, "%s: setting lost auto", what);
}

static void auto_ten_times_dearer(void)
{
	static struct m_io m;

	start();
	balance_set_swappiness(SWAPPINESS_AUTO);
	model_io(&m, false, false, 1000000); /* a swap read: 1 ms */
	model_io(&m, true, false, 100000);   /* a file read: 0.1 ms */
	check_auto(&m, "ten times dearer");
	t_eq(balance_swappiness(), 18); /* 200 * 1 / 11 */
	/* The share uses the measured swappiness. */
	check_share(18, "auto at 18");
	t_eq(balance_anon_share(true, true, false), 1024 * 18 / 200);
	/* And the other way round. */
	start();
	memset(&m, 0, sizeof(m));
	balance_set_swappiness(SWAPPINESS_AUTO);
	model_io(&m, false, false, 100000);
	model_io(&m, true, false, 1000000);
	t_eq(balance_swappiness(), 181); /* 200 * 10 / 11 */
	check_auto(&m, "file ten times dearer");
}

static void auto_unmeasured_is_60(void)
{
	static struct m_io m;

	start();
	balance_set_swappiness(SWAPPINESS_AUTO);
	check_auto(&m, "nothing measured");
	t_eq(balance_swappiness(), 60);
	/* Writes and evictions alone do not count as measured. */
	model_io(&m, false, true, 5000000);
	model_io(&m, true, true, 5000000);
	model_evict(&m, false, true);
	model_evict(&m, true, false);
	t_eq(balance_swappiness(), 60);
	model_io(&m, false, false, 1000);
	t_eq(balance_swappiness(), 60); /* file read still unmeasured */
	check_auto(&m, "anon read only");
	model_io(&m, true, false, 1000);
	check_auto(&m, "both read");
	/* Equal reads, anon writes every eviction at 5 ms: anon far dearer. */
	t_check(balance_swappiness() < 60, "auto %d: anon writes should make anon dearer",
		balance_swappiness());
}

static void auto_clamped(void)
{
	static struct m_io m;

	start();
	balance_set_swappiness(SWAPPINESS_AUTO);
	model_io(&m, false, false, 1000000000); /* anon: 1 s */
	model_io(&m, true, false, 1);           /* file: 1 ns -> 200/1e9 = 0 */
	t_eq(balance_swappiness(), 1);          /* auto never reaches 0 */
	check_auto(&m, "clamped at 1");
	check_share(1, "clamped at 1");
	t_check(balance_anon_share(true, true, false) > 0, "auto must stay relative, not anon-free");

	start();
	memset(&m, 0, sizeof(m));
	balance_set_swappiness(SWAPPINESS_AUTO);
	model_io(&m, false, false, 1);
	model_io(&m, true, false, 1000000000);
	t_eq(balance_swappiness(), 199);
	check_auto(&m, "clamped at 199");
	t_check(balance_anon_share(true, true, false) < 1024, "auto must stay relative, not file-free");
}

/* Random measurements against the model of the averages and counts. */
static void auto_random_vs_model(void)
{
	static struct m_io m;
	struct t_rng rng;
	uint64_t seed = t_seed() ^ 0xa070;

	t_rng_seed(&rng, seed);
	fprintf(stderr, "auto_random_vs_model: seed %#" PRIx64 "\n", seed);
	start();
	set_lists(1 << 20, 0, 0, 0);
	balance_set_swappiness(SWAPPINESS_AUTO);
	check_auto(&m, "start");
	for (int step = 0; step < 100000; step++) {
		bool file = t_rng_next(&rng) & 1;
		/* Each kind has its own typical time, drifting now and then. */
		uint64_t base = (file ? 20000 : 150000) << (step / 20000);
		uint64_t ns = base / 2 + t_rng_below(&rng, base);

		switch (t_rng_below(&rng, 4)) {
		case 0:
			model_io(&m, file, false, ns);
			break;
		case 1:
			model_io(&m, file, true, 2 * ns);
			break;
		default:
			model_evict(&m, file, t_rng_below(&rng, 3) == 0);
			break;
		}
		check_auto(&m, "auto_random_vs_model");
		if (step % 16 == 0) {
			note_cost(file, 1, (unsigned)t_rng_below(&rng, 8));
			check_share(model_auto(&m), "auto_random_vs_model");
		}
	}
	t_check(m.evicted[0] <= 4096 && m.evicted[0] >= 2048, "eviction counts never decayed (%" PRIu64 ")",
		m.evicted[0]);
}

static const struct t_case cases[] = {
	T_CASE(reset_and_setting),
	T_CASE(share_without_cost),
	T_CASE(edge_rules),
	T_CASE(share_formula),
	T_CASE(cost_decay),
	T_CASE(random_costs_vs_model),
	T_CASE(auto_ten_times_dearer),
	T_CASE(auto_unmeasured_is_60),
	T_CASE(auto_clamped),
	T_CASE(auto_random_vs_model),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 20, argc, argv);
}
