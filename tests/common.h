/* SPDX-License-Identifier: MIT */
/*
 * common.h - what every uswap test program shares: the exit codes of the
 * automake/meson convention (as in liburing's test/: 0 pass, 1 fail,
 * 77 skip), the fail/skip/check/log macros, and the reproducible random
 * numbers (t_mix64, struct t_rng) every generated pattern is made from.
 * Page patterns, mincore() and make_cold are in pages.h.
 */
#ifndef USWAP_TEST_COMMON_H
#define USWAP_TEST_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define T_EXIT_PASS 0
#define T_EXIT_FAIL 1
#define T_EXIT_SKIP 77

#define t_fail(...)                                                            \
	do {                                                                   \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		exit(T_EXIT_FAIL);                                             \
	} while (0)

#define t_skip(...)                                                            \
	do {                                                                   \
		fprintf(stderr, "SKIP: ");                                     \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		exit(T_EXIT_SKIP);                                             \
	} while (0)

/* One line on stderr (no prefix). */
#define t_log(...)                                                             \
	do {                                                                   \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
	} while (0)

/* Fail unless @cond holds; the message says what was expected. */
#define t_check(cond, ...)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			t_fail(__VA_ARGS__);                                   \
	} while (0)


/* splitmix64: one step of a stateless mixer; good enough to make every page
 * and generation produce a different, reproducible stream. */
static inline uint64_t t_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A small PRNG (xorshift64*); one per thread, never shared. */
struct t_rng {
	uint64_t s;
};

static inline void t_rng_seed(struct t_rng *r, uint64_t seed)
{
	r->s = t_mix64(seed) | 1;
}

static inline uint64_t t_rng_next(struct t_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static inline uint64_t t_rng_below(struct t_rng *r, uint64_t n)
{
	return t_rng_next(r) % n;
}

#endif
