/* SPDX-License-Identifier: MIT */
/*
 * test_workingset: the nonresident clock, eviction shadows and the refault
 * activation decision (src/policy/workingset.c, after mm/workingset.c).
 *
 * The rules, from the essay atop workingset.c and mm/page.h:
 *  - the clock moves by one on every eviction and every activation (a
 *    refault that activates is an activation too);
 *  - an eviction writes the shadow into the page's state word, with the
 *    clock as it was before the eviction moved it: type PS_SWAPPED and the
 *    frame's slot in bits 32..63, or PS_FILE for an F_FILE frame; bits 3..30
 *    the clock modulo 2^28 (PS_SHADOW_MASK); bit 31 set iff the frame had
 *    F_WORKINGSET. With no state word (region gone) only the clock moves;
 *  - a refault's distance is (clock - shadow age) modulo 2^28; the working
 *    set it must fit in is what the other lists hold: for anon, active anon
 *    + both file lists; for file, active file + both anon lists;
 *  - distance <= that working set: with refault activation on, the frame
 *    gets F_REFAULT_ACTIVATE | F_WORKINGSET, the clock moves and
 *    workingset_activate counts; off, the frame is untouched and the clock
 *    stays. Either way, if the shadow says it was active, workingset_restore
 *    counts (and its list's cost goes up: policy/balance.c);
 *  - every refault counts in workingset_refault and in the refault distance
 *    histogram (log2 buckets: 0, then [2^(i-1), 2^i)).
 *
 * The model keeps its own clock and recomputes all of this; the random case
 * drives evictions, activations, refaults, list sizes and the setting.
 */
#include "helpers.h"

#include "balance.h"
#include "config.h"
#include "debug.h"
#include "lru.h"
#include "page.h"
#include "stats.h"
#include "workingset.h"

#define SHADOW_MOD (1ULL << 28)

static uint64_t m_age;
static bool m_activate = true;
static uint64_t m_refault[2], m_activated[2], m_restore[2];
static uint64_t m_hist[2][REFAULT_BUCKETS];

static void start(void)
{
	debug_init(true); /* the page-state transitions are asserted */
	workingset_reset();
	balance_reset();
	memset(lru.lists, 0, sizeof(lru.lists));
	m_age = 0;
	m_activate = config.refault_activate;
}

static void set_lists(uint64_t ia, uint64_t aa, uint64_t ifl, uint64_t af)
{
	lru.lists[LRU_INACTIVE_ANON].nr = ia;
	lru.lists[LRU_ACTIVE_ANON].nr = aa;
	lru.lists[LRU_INACTIVE_FILE].nr = ifl;
	lru.lists[LRU_ACTIVE_FILE].nr = af;
}

static void check_counters(const char *what)
{
	t_check(workingset_age() == m_age, "%s: clock %" PRIu64 ", expected %" PRIu64, what,
		workingset_age(), m_age);
	t_check(stats.workingset_refault_anon == m_refault[0] &&
			stats.workingset_refault_file == m_refault[1],
		"%s: refaults anon %" PRIu64 " file %" PRIu64 ", expected %" PRIu64 " and %" PRIu64, what,
		stats.workingset_refault_anon, stats.workingset_refault_file, m_refault[0], m_refault[1]);
	t_check(stats.workingset_activate_anon == m_activated[0] &&
			stats.workingset_activate_file == m_activated[1],
		"%s: activations anon %" PRIu64 " file %" PRIu64 ", expected %" PRIu64 " and %" PRIu64, what,
		stats.workingset_activate_anon, stats.workingset_activate_file, m_activated[0],
		m_activated[1]);
	t_check(stats.workingset_restore_anon == m_restore[0] &&
			stats.workingset_restore_file == m_restore[1],
		"%s: restores anon %" PRIu64 " file %" PRIu64 ", expected %" PRIu64 " and %" PRIu64, what,
		stats.workingset_restore_anon, stats.workingset_restore_file, m_restore[0], m_restore[1]);
	for (int k = 0; k < 2; k++)
		for (int b = 0; b < REFAULT_BUCKETS; b++)
			t_check(stats_refault_hist[k][b] == m_hist[k][b],
				"%s: refault distance histogram %s bucket %d holds %" PRIu64
				", expected %" PRIu64, what, k ? "file" : "anon", b,
				stats_refault_hist[k][b], m_hist[k][b]);
}

/* The shadow word an eviction should leave, built bit by bit. */
static uint64_t want_shadow(const struct frame *fr, uint64_t age)
{
	uint64_t w = (age % SHADOW_MOD) << 3;

	if (fr->flags & F_WORKINGSET)
		w |= 1ULL << 31;
	if (fr->flags & F_FILE)
		return w | 4; /* PS_FILE, no slot */
	return w | 3 | ((uint64_t)fr->slot << 32); /* PS_SWAPPED */
}

/* Evict fr (resident in frame index f) into *pst; check the shadow. */
static uint64_t evict(uint64_t *pst, const struct frame *fr, uint32_t f)
{
	uint64_t want = want_shadow(fr, m_age);

	if (pst)
		*pst = ps_make(PS_RESIDENT, f);
	workingset_evict(pst, fr);
	if (pst)
		t_check(*pst == want, "eviction at age %" PRIu64 " of frame flags %#x slot %u: shadow %#" PRIx64
			", expected %#" PRIx64, m_age, fr->flags, fr->slot, *pst, want);
	m_age++;
	return pst ? *pst : 0;
}

static void activation(void)
{
	workingset_activation();
	m_age++;
}

static uint64_t model_ws(bool file)
{
	const struct lru_head *l = lru.lists;

	if (file)
		return l[LRU_ACTIVE_FILE].nr + l[LRU_INACTIVE_ANON].nr + l[LRU_ACTIVE_ANON].nr;
	return l[LRU_ACTIVE_ANON].nr + l[LRU_INACTIVE_FILE].nr + l[LRU_ACTIVE_FILE].nr;
}

static unsigned hist_bucket(uint64_t d)
{
	unsigned b = 0;

	while (b < REFAULT_BUCKETS - 1 && d >= (1ULL << b))
		b++;
	return b; /* 0 for 0; i for [2^(i-1), 2^i) */
}

/* Refault into fr (fresh flags given) for state word w; check the decision.
 * Returns whether it activated. */
static bool refault(struct frame *fr, uint64_t w, const char *what)
{
	bool file = (w & 7) == 4;
	uint64_t shadow_age = (w >> 3) % SHADOW_MOD;
	uint64_t dist = (m_age + SHADOW_MOD - shadow_age) % SHADOW_MOD;
	uint64_t ws = model_ws(file);
	uint16_t before = fr->flags, want = before;
	bool fits = dist <= ws, act = fits && m_activate;

	workingset_refault(fr, file, w);
	m_refault[file]++;
	m_hist[file][hist_bucket(dist)]++;
	if (act) {
		want |= F_REFAULT_ACTIVATE | F_WORKINGSET;
		m_age++;
		m_activated[file]++;
	}
	if (fits && (w & (1ULL << 31)))
		m_restore[file]++;
	t_check(fr->flags == want,
		"%s: %s refault at age %" PRIu64 ", shadow age %" PRIu64 " (distance %" PRIu64
		"), working set %" PRIu64 ", activation %s, shadow %s: flags %#x, expected %#x", what,
		file ? "file" : "anon", m_age, shadow_age, dist, ws, m_activate ? "on" : "off",
		(w >> 31) & 1 ? "active" : "inactive", fr->flags, want);
	check_counters(what);
	return act;
}

/* ---- cases ------------------------------------------------------------------ */

static void clock_and_shadows(void)
{
	struct frame fr = { .flags = F_ALLOCATED, .slot = 1234 };
	uint64_t w, st;

	start();
	check_counters("start");
	w = evict(&st, &fr, 7); /* anon, inactive, age 0 */
	t_eq(ps_type(w), PS_SWAPPED);
	t_eq(ps_slot(w), 1234);
	t_eq(ps_shadow_age(w), 0);
	t_check(!(w & PS_SHADOW_ACTIVE), "inactive frame left an active shadow");
	check_counters("one eviction");

	activation();
	activation();
	fr.flags |= F_WORKINGSET;
	fr.slot = 0xfffffffe;
	w = evict(&st, &fr, 7);
	t_eq(ps_slot(w), 0xfffffffe);
	t_eq(ps_shadow_age(w), 3);
	t_check(w & PS_SHADOW_ACTIVE, "F_WORKINGSET frame left an inactive shadow");

	fr.flags = F_ALLOCATED | F_FILE; /* file: no slot in the word */
	w = evict(&st, &fr, 9);
	t_eq(ps_type(w), PS_FILE);
	t_eq(w >> 32, 0);
	t_eq(ps_shadow_age(w), 4);

	/* No state word: the clock moves all the same. */
	evict(NULL, &fr, 9);
	check_counters("eviction without a state word");
	t_eq(workingset_age(), 6);
}

/* The boundary: distance == working set activates, one more does not. */
static void decision_boundary(void)
{
	struct frame anon = { .flags = F_ALLOCATED, .slot = 5 }, file = { .flags = F_ALLOCATED | F_FILE };
	uint64_t st, w;

	start();
	set_lists(1000, 3, 1, 1); /* anon ws 3+1+1 = 5; file ws 1+1000+3 */
	w = evict(&st, &anon, 1);
	for (int i = 0; i < 4; i++)
		activation();
	/* distance 5 = ws */
	{
		struct frame fr = { .flags = F_ALLOCATED };

		t_check(refault(&fr, w, "distance == ws"), "distance == working set should activate");
	}
	w = evict(&st, &anon, 1);
	for (int i = 0; i < 5; i++)
		activation();
	{
		struct frame fr = { .flags = F_ALLOCATED };

		t_check(!refault(&fr, w, "distance == ws + 1"), "distance > working set should not activate");
	}
	/* The inactive anon list does not count for anon; it does for file. */
	w = evict(&st, &file, 2);
	for (int i = 0; i < 900; i++)
		activation();
	{
		struct frame fr = { .flags = F_ALLOCATED | F_FILE };

		t_check(refault(&fr, w, "file, inactive anon counts"), "file refault within 1004 should activate");
	}
	set_lists(1000, 0, 0, 0);
	w = evict(&st, &anon, 1);
	{
		struct frame fr = { .flags = F_ALLOCATED };

		/* distance 1 > 0: the inactive anon it competes with is not its working set. */
		t_check(!refault(&fr, w, "anon, own inactive list"), "anon refault should not count inactive anon");
	}
	/* distance 0 always fits. */
	set_lists(0, 0, 0, 0);
	w = ps_swapped(3, m_age, false);
	{
		struct frame fr = { .flags = F_ALLOCATED };

		t_check(refault(&fr, w, "distance 0"), "distance 0 should activate with empty lists");
	}
}

static void activation_off_and_restore(void)
{
	struct frame anon = { .flags = F_ALLOCATED | F_WORKINGSET, .slot = 5 };
	uint64_t st, w;

	start();
	set_lists(0, 100, 0, 0);
	workingset_set_refault_activate(false);
	m_activate = false;
	t_check(!workingset_refault_activate(), "refault activation should be off");
	w = evict(&st, &anon, 1);
	{
		struct frame fr = { .flags = F_ALLOCATED };

		/* Within the working set, but off: flags untouched, clock still;
		 * the shadow was active: a restore all the same. */
		refault(&fr, w, "off, active shadow");
		t_eq(stats.workingset_restore_anon, 1);
		t_eq(stats.workingset_activate_anon, 0);
	}
	workingset_set_refault_activate(true);
	m_activate = true;
	w = evict(&st, &anon, 1);
	{
		struct frame fr = { .flags = F_ALLOCATED };

		refault(&fr, w, "on, active shadow");
		t_eq(stats.workingset_restore_anon, 2);
		t_eq(stats.workingset_activate_anon, 1);
	}
	/* Too far: neither an activation nor a restore. */
	w = evict(&st, &anon, 1);
	for (int i = 0; i < 200; i++)
		activation();
	{
		struct frame fr = { .flags = F_ALLOCATED };

		refault(&fr, w, "far, active shadow");
		t_eq(stats.workingset_restore_anon, 2);
	}
	/* The restores were charged to the anon side: at swappiness 100 the
	 * anon share is below an even split (lists are large enough that the
	 * costs have not decayed to nothing). */
	set_lists(0, 1 << 20, 0, 0);
	balance_set_swappiness(100);
	t_check(balance_anon_share(true, true, false) < 512,
		"restores should have made anon costlier: share %u", balance_anon_share(true, true, false));
	workingset_reset();
	t_check(workingset_age() == 0 && workingset_refault_activate() == config.refault_activate,
		"workingset_reset: clock %" PRIu64 ", setting %d", workingset_age(),
		workingset_refault_activate());
}

/* The clock wraps at 2^28 in the shadow; distances across the wrap stay small. */
static void clock_wrap(void)
{
	struct frame anon = { .flags = F_ALLOCATED, .slot = 77 };
	uint64_t st, w_before, w_after;

	start();
	set_lists(0, 50, 0, 0);
	while (m_age < PS_SHADOW_MASK - 2)
		activation();
	check_counters("before the wrap");
	w_before = evict(&st, &anon, 1); /* age 2^28 - 3 */
	t_eq(ps_shadow_age(w_before), PS_SHADOW_MASK - 2);
	activation();
	activation(); /* 2^28 */
	w_after = evict(&st, &anon, 1);
	t_check(ps_shadow_age(w_after) == 0, "shadow at age 2^28: %" PRIu64 ", expected 0 (wrapped)",
		ps_shadow_age(w_after));
	t_eq(workingset_age(), PS_SHADOW_MASK + 2);
	{
		struct frame fr = { .flags = F_ALLOCATED };

		/* distance 4, not 2^28 - 4 */
		t_check(refault(&fr, w_before, "across the wrap"), "refault across the wrap should activate");
		t_eq(stats_refault_hist[0][3], 1); /* 4 in [4, 8) */
	}
	{
		struct frame fr = { .flags = F_ALLOCATED };

		t_check(refault(&fr, w_after, "after the wrap"), "refault after the wrap should activate");
	}
	/* A shadow from just past the wrap of a later lap, seen from before it
	 * in that lap: the distance is the modular one, far beyond ws. */
	{
		struct frame fr = { .flags = F_ALLOCATED };
		uint64_t w = ps_swapped(1, (m_age + 10) & PS_SHADOW_MASK, false);

		t_check(!refault(&fr, w, "shadow ahead of the clock"), "distance 2^28 - 10 should not fit");
	}
}

/*
 * Random evictions, activations and refaults of a pool of pages against the
 * model, with list sizes that move so that distances fall on both sides.
 */
enum { NPAGES = 3000 };

struct mpage {
	bool resident, gone;
	struct frame fr;   /* when resident */
	uint64_t st;       /* the state word */
};

static void random_vs_model(void)
{
	static struct mpage pg[NPAGES];
	struct t_rng rng;
	uint64_t seed = t_seed();
	unsigned counts[6] = { 0 }, nr_act = 0, nr_noact = 0;

	t_rng_seed(&rng, seed);
	fprintf(stderr, "random_vs_model: seed %#" PRIx64 " (set T_SEED to change)\n", seed);
	start();
	for (uint32_t i = 0; i < NPAGES; i++) {
		pg[i].resident = true;
		pg[i].fr = (struct frame){ .flags = F_ALLOCATED | (i % 3 == 0 ? F_FILE : 0), .slot = i * 7 + 1 };
	}
	for (int step = 0; step < 300000; step++) {
		unsigned op = (unsigned)t_rng_below(&rng, 6);
		uint32_t i = (uint32_t)t_rng_below(&rng, NPAGES);
		struct mpage *p = &pg[i];

		switch (op) {
		case 0: /* new list sizes: anything from empty to several thousand */
			set_lists(t_rng_below(&rng, 1500), t_rng_below(&rng, 1500), t_rng_below(&rng, 1500),
				  t_rng_below(&rng, 1500));
			break;
		case 1: /* eviction of a resident page, sometimes with its region gone */
			if (!p->resident)
				break;
			if (t_rng_next(&rng) & 1)
				p->fr.flags ^= F_WORKINGSET;
			p->fr.slot = (uint32_t)t_rng_next(&rng);
			if (t_rng_below(&rng, 50) == 0) {
				evict(NULL, &p->fr, i);
				p->gone = true;
			} else {
				evict(&p->st, &p->fr, i);
			}
			p->resident = false;
			break;
		case 2: /* activation */
			activation();
			break;
		case 3: /* refault of an evicted page */
		case 4:
			if (p->resident)
				break;
			if (p->gone) { /* mapped again: a fresh page */
				p->gone = false;
				p->resident = true;
				p->fr.flags &= ~F_WORKINGSET;
				break;
			}
			p->fr.flags = F_ALLOCATED | (ps_type(p->st) == PS_FILE ? F_FILE : 0) |
				      (t_rng_below(&rng, 8) == 0 ? F_READAHEAD : 0);
			if (refault(&p->fr, p->st, "random_vs_model"))
				nr_act++;
			else
				nr_noact++;
			p->fr.flags &= ~(F_REFAULT_ACTIVATE | F_READAHEAD);
			p->resident = true;
			break;
		case 5: /* the setting, now and then; or a refault right at the boundary */
			if (t_rng_below(&rng, 20) == 0) {
				m_activate = !m_activate;
				workingset_set_refault_activate(m_activate);
			} else {
				bool file = t_rng_next(&rng) & 1;
				uint64_t d = model_ws(file) + (uint64_t)t_rng_below(&rng, 3) - 1;
				uint64_t age = (m_age - d) & PS_SHADOW_MASK;
				uint64_t w = file ? ps_file(age, t_rng_next(&rng) & 1)
						  : ps_swapped(9, age, t_rng_next(&rng) & 1);
				struct frame fr = { .flags = F_ALLOCATED | (file ? F_FILE : 0) };

				if (d > m_age) /* not that far yet */
					break;
				refault(&fr, w, "random_vs_model at the boundary");
			}
			break;
		}
		counts[op]++;
		if (step % 64 == 0)
			check_counters("random_vs_model");
	}
	check_counters("random_vs_model, end");
	t_check(nr_act > 1000 && nr_noact > 1000,
		"the random sequence should fall on both sides: %u activated, %u not", nr_act, nr_noact);
}

static const struct t_case cases[] = {
	T_CASE(clock_and_shadows),
	T_CASE(decision_boundary),
	T_CASE(activation_off_and_restore),
	T_CASE(clock_wrap),
	T_CASE(random_vs_model),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 20, argc, argv);
}
