/*
 * A checked word pattern for the privileges tests (setxid.c,
 * seccomp_prog.c): word i of stream @seed, and a count of the words of a
 * block of nr_words that differ from it.
 */
#ifndef USWAP_TESTS_WORDS_H
#define USWAP_TESTS_WORDS_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t word_pattern(size_t i, uint64_t seed)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL ^ seed;

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ULL;
}

static inline size_t bad_words(const uint64_t *p, size_t nr_words, uint64_t seed)
{
	size_t bad = 0;

	for (size_t i = 0; i < nr_words; i++)
		bad += p[i] != word_pattern(i, seed);
	return bad;
}

#endif
