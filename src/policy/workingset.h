/* Workingset detection (workingset.c): the nonresident clock, the shadow
 * an evicted page leaves in its state word, and the refault test that
 * decides whether a page coming back goes straight to the active list.
 * Under the pager lock. */
#ifndef USWAP_WORKINGSET_H
#define USWAP_WORKINGSET_H

#include "lru.h"

#include <stdbool.h>
#include <stdint.h>

/* The refault activation setting (--refault-activate): config's at
 * start, then live (ctl set). */
void workingset_init(void);
void workingset_set_refault_activate(bool on);
bool workingset_refault_activate(void);

/* The nonresident clock: it moves on every eviction and activation. */
uint64_t workingset_age(void);
/* A page was activated (referenced while inactive, or a refault found
 * within the working set): the clock moves. */
void workingset_activation(void);
/* Frame fr leaves memory: its state word *pst (NULL if its region is
 * gone) becomes the shadow of the eviction (SWAPPED in fr's slot, or FILE),
 * and the clock moves. */
void workingset_evict(uint64_t *pst, const struct frame *fr);
/* Frame fr is being read in for a page whose state word was w (SWAPPED
 * or FILE, with a shadow): a refault. If its distance fits in the working
 * set the other lists hold, it is to go to the active list
 * (F_REFAULT_ACTIVATE); if it was active when it left, that is thrashing,
 * and its list's cost goes up. */
/* The refault distance of a page whose state word is w (evicted): the
 * evictions (and activations) since it left. */
uint64_t workingset_distance(uint64_t w);
/* Returns the page's refault distance (workingset_distance). */
uint64_t workingset_refault(struct frame *fr, bool file, uint64_t w);
/* For tests: the clock at zero, config's setting. */
void workingset_reset(void);

#endif
