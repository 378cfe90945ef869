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

#include <stdbool.h>
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

static inline uint32_t ps_index(uint64_t w)
{
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
	return (uint64_t)PS_FILE | ((age & PS_SHADOW_MASK) << 3) | (was_active ? PS_SHADOW_ACTIVE : 0);
}

static inline uint64_t ps_shadow_age(uint64_t w)
{
	return (w >> 3) & PS_SHADOW_MASK;
}

#endif
