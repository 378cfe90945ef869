/* The page-state word: 64 bits per managed page, stored in its region.
 *
 *   PS_NONE      never filled, or discarded: the next fault fills zeros
 *   PS_RESIDENT  in memory; bits 32..63 hold its frame (lru.h)
 *   PS_READING   swap-in in flight; bits 32..63 hold the reserved frame
 *   PS_SWAPPED   on the swap file; bits 32..63 hold the slot, and the shadow
 *                of its eviction (workingset.c's idea): bits 3..30 the
 *                nonresident age when it left, bit 31 whether it was active
 *   PS_FILE      a file page dropped from memory (its file holds it): the next
 *                fault reads the file; bits 3..31 the shadow, as PS_SWAPPED
 *
 * In a file region PS_NONE also means "read it from the file" (first touch).
 */
#ifndef USWAP_PAGE_H
#define USWAP_PAGE_H

#include "debug.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum page_type {
	PS_NONE = 0,
	PS_RESIDENT = 1,
	PS_READING = 2,
	PS_SWAPPED = 3,
	PS_FILE = 4,
};

#define PS_TYPE_MASK 7ULL
#define PS_SHADOW_BITS 28
#define PS_SHADOW_MASK ((1ULL << PS_SHADOW_BITS) - 1)
#define PS_SHADOW_ACTIVE (1ULL << 31)

static inline enum page_type ps_type(uint64_t w)
{
	return (enum page_type)(w & PS_TYPE_MASK);
}

/* The frame of a resident page, or of one being read in. */
static inline uint32_t ps_frame(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

/* The swap slot of a swapped page. */
static inline uint32_t ps_slot(uint64_t w)
{
	debug_assert(ps_type(w) == PS_SWAPPED);
	return (uint32_t)(w >> 32);
}

static inline uint64_t ps_make(enum page_type t, uint32_t index)
{
	return ((uint64_t)index << 32) | (uint64_t)t;
}

static inline uint64_t ps_swapped(uint32_t slot, uint64_t age, bool was_active)
{
	return ps_make(PS_SWAPPED, slot) | ((age & PS_SHADOW_MASK) << 3) |
	       (was_active ? PS_SHADOW_ACTIVE : 0);
}

static inline uint64_t ps_file(uint64_t age, bool was_active)
{
	return (uint64_t)PS_FILE | ((age & PS_SHADOW_MASK) << 3) |
	       (was_active ? PS_SHADOW_ACTIVE : 0);
}

static inline uint64_t ps_shadow_age(uint64_t w)
{
	return (w >> 3) & PS_SHADOW_MASK;
}

/*
 * The transitions, the only writers of a state word (under the pager lock):
 *
 *   NONE/SWAPPED/FILE --page in--> READING --installed--> RESIDENT
 *   NONE --zero fill--> RESIDENT --evicted--> SWAPPED or FILE
 *   any --released (free, munmap, a failed read)--> NONE
 */
static inline void pst_set_reading(uint64_t *p, uint32_t f)
{
	debug_assert(ps_type(*p) == PS_NONE || ps_type(*p) == PS_SWAPPED || ps_type(*p) == PS_FILE);
	*p = ps_make(PS_READING, f);
}

static inline void pst_set_resident(uint64_t *p, uint32_t f)
{
	debug_assert(ps_type(*p) == PS_NONE || (ps_type(*p) == PS_READING && ps_frame(*p) == f));
	*p = ps_make(PS_RESIDENT, f);
}

static inline void pst_set_swapped(uint64_t *p, uint32_t slot, uint64_t age, bool was_active)
{
	debug_assert(ps_type(*p) == PS_RESIDENT);
	*p = ps_swapped(slot, age, was_active);
}

static inline void pst_set_file(uint64_t *p, uint64_t age, bool was_active)
{
	debug_assert(ps_type(*p) == PS_RESIDENT);
	*p = ps_file(age, was_active);
}

static inline void pst_set_none(uint64_t *p)
{
	*p = 0;
}

/* mremap moved the page from *from to *to (a fresh word): its state goes along. */
static inline void pst_move(uint64_t *to, uint64_t *from)
{
	debug_assert(ps_type(*to) == PS_NONE);
	*to = *from;
	*from = 0;
}

/* page.c, under the pager lock: */
/* Give back frame f and its swap slot (f is off the lists). */
void page_forget(uint32_t f);
/* Release the page whose state word is *pst, in any state: frame, staging
 * page and swap slot; its next touch reads zeros. */
void page_release(uint64_t *pst);
/* page_release every managed page of [start, start+len), then let faults
 * waiting for memory try again. */
void page_discard(uintptr_t start, size_t len);

#endif
