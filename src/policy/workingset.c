/*
 * Workingset detection, after the kernel's mm/workingset.c.
 *
 * The nonresident age is a clock that moves on every eviction and on every
 * activation. An evicted page leaves a shadow in its state word
 * (mm/page.h): the clock when it left, and whether it had been active.
 * When it comes back (a refault), the clock has moved on by its refault
 * distance: the number of pages that were evicted or activated in the
 * meantime. Had memory been that much bigger, it would have stayed; so if
 * the distance fits in the working set the other lists hold (the active
 * list of its own kind, both of the other kind's, as the kernel counts,
 * and the compressed pool's entries), it goes straight to the active list
 * instead of starting inactive:
 *
 *      evicted at age E            refault at age R
 *   ----------|--------------------------|-------->  nonresident age
 *             |<----- distance R-E ----->|
 *                 fits in the other lists? -> activate
 *
 * A refault of a page that was active when it left means the working set
 * does not fit: thrashing. It adds to its list's cost (policy/balance.c),
 * which shifts reclaim toward the other kind. Deactivation and second
 * chance are policy/aging.c; the eviction itself is engine/scan.c.
 */
#define _GNU_SOURCE
#include "workingset.h"

#include "balance.h"
#include "config.h"
#include "mrc.h"
#include "page.h"
#include "pager.h"
#include "stats.h"
#include "zpool.h"

_Static_assert(PS_SHADOW_BITS == MRC_AGE_BITS, "the curve reads the shadow's age");

static uint64_t nonresident_age;
static bool refault_activate = true;

void workingset_init(void)
{
	refault_activate = config.refault_activate;
}

void workingset_set_refault_activate(bool on)
{
	pager_lock();
	refault_activate = on;
	pager_unlock();
}

bool workingset_refault_activate(void)
{
	return refault_activate;
}

uint64_t workingset_age(void)
{
	return nonresident_age;
}

static void age_tick(bool eviction)
{
	mrc_tick(++nonresident_age, eviction);
}

void workingset_activation(void)
{
	age_tick(false);
}

void workingset_evict(uint64_t *pst, const struct frame *fr)
{
	bool was_active = fr->flags & F_WORKINGSET;

	if (pst && (fr->flags & F_FILE))
		pst_set_file(pst, nonresident_age, was_active);
	else if (pst)
		pst_set_swapped(pst, fr->slot, nonresident_age, was_active);
	age_tick(true);
}

uint64_t workingset_distance(uint64_t w)
{
	return (nonresident_age - ps_shadow_age(w)) & PS_SHADOW_MASK;
}

uint64_t workingset_refault(struct frame *fr, bool file, uint64_t w)
{
	uint64_t dist = workingset_distance(w);
	uint64_t ws = file ? lru.lists[LRU_ACTIVE_FILE].nr + lru.lists[LRU_ACTIVE_ANON].nr +
				      lru.lists[LRU_INACTIVE_ANON].nr :
			     lru.lists[LRU_ACTIVE_ANON].nr + lru.lists[LRU_ACTIVE_FILE].nr +
				      lru.lists[LRU_INACTIVE_FILE].nr;

	/*
	 * Pages in the compressed pool are still held, in the limit: the
	 * distance counts their evictions, so the pool's entries belong to
	 * the working set it is measured against. Without this, a set that
	 * cycles through the pool (resident + pool > its size > resident)
	 * is never activated, and an idle active list above it is never aged.
	 */
	ws += zpool.nr_stored;

	stat_kind(workingset_refault, file)++;
	stat_refault_distance(file, dist);
	mrc_refault(file, ps_shadow_age(w));
	if (dist > ws)
		return dist;
	if (refault_activate) {
		fr->flags |= F_REFAULT_ACTIVATE | F_WORKINGSET;
		age_tick(false);
		stat_kind(workingset_activate, file)++;
	}
	if (w & PS_SHADOW_ACTIVE) {
		/* It was in the working set when it left: thrashing. */
		balance_note_cost(file, 1, 0);
		stat_kind(workingset_restore, file)++;
	}
	return dist;
}

void workingset_reset(void)
{
	nonresident_age = 0;
	refault_activate = config.refault_activate;
}
