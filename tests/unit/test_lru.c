/* SPDX-License-Identifier: MIT */
/*
 * test_lru: frames and the LRU lists (src/mm/lru.c).
 *
 * Every case checks the lists by walking them both ways and comparing
 * against what the case expects, not by trusting lru.lists[].nr. The last
 * case runs a long random sequence of operations against a reference model
 * made of plain arrays.
 */
#include "helpers.h"

#include "lru.h"

/* Check list @l holds exactly want[0..n) from head to tail, walked from the
 * head forward and from the tail backward, with consistent links. */
static void check_list(enum lru_list l, const uint32_t *want, size_t n)
{
	const struct lru_head *h = &lru.lists[l];
	uint32_t f, prev = NIL;
	size_t i = 0;

	t_check(h->nr == n, "list %d: nr %" PRIu64 ", expected %zu", l, h->nr, n);
	for (f = h->head; f != NIL; prev = f, f = lru_frame(f)->next, i++) {
		t_check(i < n, "list %d: more than %zu frames walking forward", l, n);
		t_check(f == want[i], "list %d: position %zu is frame %u, expected %u", l, i, f, want[i]);
		t_check(lru_frame(f)->prev == prev, "list %d: frame %u prev %u, expected %u", l, f,
			lru_frame(f)->prev, prev);
		t_check(lru_frame(f)->lru == l, "list %d: frame %u says it is on list %u", l, f,
			lru_frame(f)->lru);
	}
	t_check(i == n, "list %d: %zu frames walking forward, expected %zu", l, i, n);
	t_check(h->tail == (n ? want[n - 1] : NIL), "list %d: tail %u", l, h->tail);
	i = n;
	for (f = h->tail; f != NIL; f = lru_frame(f)->prev) {
		t_check(i > 0, "list %d: more than %zu frames walking backward", l, n);
		i--;
		t_check(f == want[i], "list %d: backward position %zu is frame %u, expected %u", l, i,
			f, want[i]);
	}
	t_check(i == 0, "list %d: backward walk stopped %zu short", l, i);
}

static void check_off_list(uint32_t f)
{
	t_check(lru_frame(f)->lru == LRU_NONE, "frame %u: lru %u, expected LRU_NONE", f,
		lru_frame(f)->lru);
	t_check(lru_frame(f)->prev == NIL && lru_frame(f)->next == NIL,
		"frame %u off all lists still linked (%u, %u)", f, lru_frame(f)->prev,
		lru_frame(f)->next);
}

static void init(uint32_t cap)
{
	t_check(lru_init(cap) == 0, "lru_init(%u) failed", cap);
	t_eq(lru.cap, cap);
	t_eq(lru.nr_allocated, 0);
	for (int l = 0; l < NR_LRU_LISTS; l++)
		check_list((enum lru_list)l, NULL, 0);
}

static void alloc_until_full(void)
{
	enum { CAP = 100 };
	static bool seen[CAP];

	init(CAP);
	for (uint32_t i = 0; i < CAP; i++) {
		uintptr_t addr = 0x700000000000UL + (uintptr_t)i * T_PAGE;
		uint32_t f = lru_frame_alloc(addr, 0);
		struct frame *fr;

		t_check(f != NIL, "allocation %u of %u returned NIL", i, CAP);
		t_check(f < CAP, "frame index %u out of range", f);
		t_check(!seen[f], "frame %u handed out twice", f);
		seen[f] = true;
		fr = lru_frame(f);
		t_eq(fr->addr, addr);
		t_eq(fr->slot, NO_SLOT);
		t_eq(fr->flags, F_ALLOCATED);
		check_off_list(f);
		t_eq(lru.nr_allocated, i + 1);
	}
	t_eq(lru_frame_alloc(0x1000, 0), NIL);
	t_eq(lru_frame_alloc(0x2000, 0), NIL);
	t_eq(lru.nr_allocated, CAP);
}

static void free_and_reuse(void)
{
	enum { CAP = 8 };
	uint32_t f[CAP], g;

	init(CAP);
	for (int i = 0; i < CAP; i++)
		f[i] = lru_frame_alloc(0x1000 * (i + 1), 0);
	t_eq(lru_frame_alloc(0xdead000, 0), NIL);

	/* A freed frame is the one handed out next, with fresh contents. */
	lru_frame(f[3])->flags |= F_WORKINGSET | F_STAGED;
	lru_frame(f[3])->slot = 77;
	lru_frame_free(f[3]);
	t_eq(lru.nr_allocated, CAP - 1);
	t_check(!(lru_frame(f[3])->flags & F_ALLOCATED), "freed frame still F_ALLOCATED");
	g = lru_frame_alloc(0xbeef000, 0);
	t_eq(g, f[3]);
	t_eq(lru_frame(g)->addr, 0xbeef000);
	t_eq(lru_frame(g)->slot, NO_SLOT);
	t_eq(lru_frame(g)->flags, F_ALLOCATED);
	check_off_list(g);
	t_eq(lru_frame_alloc(0xdead000, 0), NIL);

	/* Free everything; all come back, each once, before NIL. */
	for (int i = 0; i < CAP; i++)
		lru_frame_free(f[i]);
	t_eq(lru.nr_allocated, 0);
	{
		bool seen[CAP] = { false };

		for (int i = 0; i < CAP; i++) {
			g = lru_frame_alloc(0x1000, 0);
			t_check(g < CAP && !seen[g], "reallocation %d gave frame %u", i, g);
			seen[g] = true;
		}
		t_eq(lru_frame_alloc(0x1000, 0), NIL);
	}
}

static void add_order(void)
{
	uint32_t f[6];

	init(16);
	for (int i = 0; i < 6; i++)
		f[i] = lru_frame_alloc(0x1000 * (i + 1), 0);

	/* at_head builds most-recent-first; at tail appends. */
	lru_add(f[0], LRU_ACTIVE_ANON, true);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[0] }, 1);
	lru_add(f[1], LRU_ACTIVE_ANON, true);
	lru_add(f[2], LRU_ACTIVE_ANON, true);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[2], f[1], f[0] }, 3);
	t_eq(lru_tail(LRU_ACTIVE_ANON), f[0]);

	lru_add(f[3], LRU_INACTIVE_ANON, false);
	lru_add(f[4], LRU_INACTIVE_ANON, false);
	check_list(LRU_INACTIVE_ANON, (uint32_t[]){ f[3], f[4] }, 2);
	lru_add(f[5], LRU_INACTIVE_ANON, true);
	check_list(LRU_INACTIVE_ANON, (uint32_t[]){ f[5], f[3], f[4] }, 3);
	t_eq(lru_tail(LRU_INACTIVE_ANON), f[4]);
	/* The other list is untouched. */
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[2], f[1], f[0] }, 3);
	t_eq(lru.nr_allocated, 6);
}

static void del_positions(void)
{
	uint32_t f[5];

	init(16);
	for (int i = 0; i < 5; i++) {
		f[i] = lru_frame_alloc(0x1000 * (i + 1), 0);
		lru_add(f[i], LRU_ACTIVE_ANON, false);
	}
	check_list(LRU_ACTIVE_ANON, f, 5);

	lru_del(f[2]); /* middle */
	check_off_list(f[2]);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[0], f[1], f[3], f[4] }, 4);
	lru_del(f[0]); /* head */
	check_off_list(f[0]);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[1], f[3], f[4] }, 3);
	lru_del(f[4]); /* tail */
	check_off_list(f[4]);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[1], f[3] }, 2);

	/* Deleting a frame that is on no list changes nothing. */
	lru_del(f[2]);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[1], f[3] }, 2);
	check_list(LRU_INACTIVE_ANON, NULL, 0);

	lru_del(f[3]);
	lru_del(f[1]); /* the only one left: head and tail at once */
	check_list(LRU_ACTIVE_ANON, NULL, 0);
	t_eq(lru.lists[LRU_ACTIVE_ANON].head, NIL);
	t_eq(lru.lists[LRU_ACTIVE_ANON].tail, NIL);

	/* A deleted frame can go back on, at either end. */
	lru_add(f[2], LRU_ACTIVE_ANON, false);
	lru_add(f[0], LRU_ACTIVE_ANON, true);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[0], f[2] }, 2);
}

static void move_between_lists(void)
{
	uint32_t f[4];

	init(16);
	for (int i = 0; i < 4; i++) {
		f[i] = lru_frame_alloc(0x1000 * (i + 1), 0);
		lru_add(f[i], LRU_ACTIVE_ANON, true);
	}
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[3], f[2], f[1], f[0] }, 4);

	/* Deactivate the active tail twice: the scanner's aging step. */
	lru_move(lru_tail(LRU_ACTIVE_ANON), LRU_INACTIVE_ANON, true);
	lru_move(lru_tail(LRU_ACTIVE_ANON), LRU_INACTIVE_ANON, true);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[3], f[2] }, 2);
	check_list(LRU_INACTIVE_ANON, (uint32_t[]){ f[1], f[0] }, 2);

	/* Activate a referenced inactive page (tail) to the active head. */
	lru_move(f[0], LRU_ACTIVE_ANON, true);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[0], f[3], f[2] }, 3);
	check_list(LRU_INACTIVE_ANON, (uint32_t[]){ f[1] }, 1);

	/* Rotate within the same list: to the tail, then back to the head. */
	lru_move(f[0], LRU_ACTIVE_ANON, false);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[3], f[2], f[0] }, 3);
	lru_move(f[2], LRU_ACTIVE_ANON, true);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[2], f[3], f[0] }, 3);

	/* lru_move of an isolated frame just adds it. */
	lru_del(f[3]);
	lru_move(f[3], LRU_INACTIVE_ANON, false);
	check_list(LRU_INACTIVE_ANON, (uint32_t[]){ f[1], f[3] }, 2);
	check_list(LRU_ACTIVE_ANON, (uint32_t[]){ f[2], f[0] }, 2);
	t_eq(lru.nr_allocated, 4);
}

/*
 * Reference model: per list an array in head-to-tail order, and per frame
 * whether it is allocated and its address. Operations pick only legal
 * arguments (lru_add needs an isolated frame, lru_frame_free one that is
 * off the lists), as the runtime does under the pager lock.
 */
enum { MCAP = 97 };

struct model {
	uint32_t list[NR_LRU_LISTS][MCAP];
	size_t nr[NR_LRU_LISTS];
	bool allocated[MCAP];
	uintptr_t addr[MCAP];
	int on[MCAP]; /* list index, or -1 */
	size_t nr_allocated;
};

static void model_remove(struct model *m, uint32_t f)
{
	int l = m->on[f];

	if (l < 0)
		return;
	for (size_t i = 0; i < m->nr[l]; i++) {
		if (m->list[l][i] == f) {
			memmove(&m->list[l][i], &m->list[l][i + 1], (m->nr[l] - i - 1) * sizeof(uint32_t));
			m->nr[l]--;
			m->on[f] = -1;
			return;
		}
	}
	t_fail("model: frame %u not found on list %d", f, l);
}

static void model_insert(struct model *m, uint32_t f, int l, bool at_head)
{
	if (at_head) {
		memmove(&m->list[l][1], &m->list[l][0], m->nr[l] * sizeof(uint32_t));
		m->list[l][0] = f;
	} else {
		m->list[l][m->nr[l]] = f;
	}
	m->nr[l]++;
	m->on[f] = l;
}

static void model_check(const struct model *m)
{
	for (int l = 0; l < NR_LRU_LISTS; l++)
		check_list((enum lru_list)l, m->list[l], m->nr[l]);
	t_eq(lru.nr_allocated, m->nr_allocated);
	for (uint32_t f = 0; f < MCAP; f++) {
		if (!m->allocated[f])
			continue;
		t_check(lru_frame(f)->flags & F_ALLOCATED, "frame %u lost F_ALLOCATED", f);
		t_eq(lru_frame(f)->addr, m->addr[f]);
		if (m->on[f] < 0)
			check_off_list(f);
	}
}

/* A random allocated frame satisfying @want_on (-1 off-list, 1 on a list, 0 any). */
static uint32_t pick(const struct model *m, struct t_rng *rng, int want_on)
{
	uint32_t cand[MCAP];
	size_t n = 0;

	for (uint32_t f = 0; f < MCAP; f++)
		if (m->allocated[f] && (!want_on || (want_on < 0) == (m->on[f] < 0)))
			cand[n++] = f;
	return n ? cand[t_rng_below(rng, n)] : NIL;
}

static void random_vs_model(void)
{
	static struct model m;
	struct t_rng rng;
	uint64_t seed = t_seed();
	size_t counts[6] = { 0 };

	t_rng_seed(&rng, seed);
	fprintf(stderr, "random_vs_model: seed %#" PRIx64 " (set T_SEED to change)\n", seed);
	init(MCAP);
	for (uint32_t f = 0; f < MCAP; f++)
		m.on[f] = -1;

	for (int step = 0; step < 100000; step++) {
		unsigned op = (unsigned)t_rng_below(&rng, 6);
		bool at_head = t_rng_next(&rng) & 1;
		int l = (int)t_rng_below(&rng, NR_LRU_LISTS);
		uint32_t f;

		switch (op) {
		case 0: { /* allocate */
			uintptr_t addr = (uintptr_t)(t_rng_next(&rng) & ~(T_PAGE - 1));

			f = lru_frame_alloc(addr, 0);
			if (m.nr_allocated == MCAP) {
				t_check(f == NIL, "step %d: allocated frame %u with all %u in use", step, f,
					MCAP);
				break;
			}
			t_check(f != NIL, "step %d: NIL with %zu of %u in use", step, m.nr_allocated, MCAP);
			t_check(f < MCAP && !m.allocated[f], "step %d: frame %u already in use", step, f);
			m.allocated[f] = true;
			m.addr[f] = addr;
			m.nr_allocated++;
			break;
		}
		case 1: /* add an isolated frame */
			f = pick(&m, &rng, -1);
			if (f == NIL)
				break;
			lru_add(f, (enum lru_list)l, at_head);
			model_insert(&m, f, l, at_head);
			break;
		case 2: /* delete */
			f = pick(&m, &rng, 0);
			if (f == NIL)
				break;
			lru_del(f);
			model_remove(&m, f);
			break;
		case 3: /* move (an isolated frame too) */
			f = pick(&m, &rng, 0);
			if (f == NIL)
				break;
			lru_move(f, (enum lru_list)l, at_head);
			model_remove(&m, f);
			model_insert(&m, f, l, at_head);
			break;
		case 4: /* free: the caller takes it off its list first */
			f = pick(&m, &rng, 0);
			if (f == NIL)
				break;
			lru_del(f);
			model_remove(&m, f);
			lru_frame_free(f);
			m.allocated[f] = false;
			m.nr_allocated--;
			break;
		case 5: /* reclaim-like: take the tail of a list */
			f = lru_tail((enum lru_list)l);
			t_eq(f, m.nr[l] ? m.list[l][m.nr[l] - 1] : NIL);
			if (f == NIL)
				break;
			lru_del(f);
			model_remove(&m, f);
			break;
		}
		counts[op]++;
		model_check(&m);
	}
	for (int op = 0; op < 6; op++)
		t_check(counts[op] > 10000, "operation %d only ran %zu times", op, counts[op]);
}

static const struct t_case cases[] = {
	T_CASE(alloc_until_full),
	T_CASE(free_and_reuse),
	T_CASE(add_order),
	T_CASE(del_positions),
	T_CASE(move_between_lists),
	T_CASE(random_vs_model),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 20, argc, argv);
}
