/* SPDX-License-Identifier: MIT */
/*
 * pages.h - what the test programs share about pages and their contents:
 *
 *   T_PAGE_SIZE, T_MIB        the sizes the programs assume
 *   MADV_COLD, MADV_PAGEOUT   for older headers
 *   t_checksum()              FNV-1a over 64-bit words
 *   t_pattern_*()             the byte pattern of stream @seed: fill, find the
 *                             first wrong byte, fail with what was found
 *   t_slot_*()                a page-sized "slot": magic word, tag, splitmix
 *                             stream, checksum; fill and find the first wrong
 *                             word
 *   struct t_slots            a footprint cut into slots, in malloc chunks
 *                             and mmap regions
 *   t_nr_nonresident()        mincore(2): pages of a range not resident
 *   struct t_churn            a churn area swept to push other memory out,
 *   t_make_cold()             and sweeping until a buffer really went cold
 *
 * "Cold" memory: sweeping a churn area of 1.25x the limit (not more: a
 * churn much larger than the limit never refaults within the working-set
 * distance, so a split-LRU policy treats it as a stream and keeps evicting
 * the stream instead of the buffer; at 1.25x the churn is a working set and
 * the idle buffer is the coldest page under LRU and split LRU alike) until
 * mincore(2) reports at least half of the buffer non-resident. So a test
 * never trusts the pressure: it sees the buffer go out. The churn pages are
 * evicted and refaulted all the time, so every sweep checks them too.
 *
 * Nothing here knows about uswap. Exit codes and t_fail/t_check/t_log come
 * from common.h.
 */
#ifndef USWAP_TEST_PAGES_H
#define USWAP_TEST_PAGES_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

#define T_PAGE_SIZE 4096UL
#define T_MIB (1024UL * 1024UL)

/* The page advice older headers lack (Linux 5.4). */
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

/* ---- contents ------------------------------------------------------------ */

/* FNV-1a over 64-bit words: order sensitive, so a swapped pair of pages or
 * a shifted word changes it. */
static inline uint64_t t_checksum(const uint64_t *w, size_t nr_words)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < nr_words; i++) {
		h ^= w[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Byte pattern for I/O buffers: byte i of stream @seed. Generated, never
 * stored, so the check does not depend on another buffer that may itself
 * have been corrupted by the same bug. */
static inline uint8_t t_pattern_byte(uint64_t seed, size_t i)
{
	return (uint8_t)(t_mix64(seed ^ (i >> 3)) >> ((i & 7) * 8));
}

static inline void t_pattern_fill(void *buf, size_t len, uint64_t seed,
				  size_t stream_off)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = t_pattern_byte(seed, stream_off + i);
}

/* Returns the offset of the first wrong byte, or -1 when all match. */
static inline long t_pattern_check(const void *buf, size_t len, uint64_t seed,
				   size_t stream_off)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != t_pattern_byte(seed, stream_off + i))
			return (long)i;
	return -1;
}

/* Fail unless @buf holds bytes [stream_off, +len) of stream @seed; the
 * message names the first wrong byte and what it should be. */
static inline void t_check_pattern(const char *what, const void *buf, size_t len,
				   uint64_t seed, size_t stream_off)
{
	long bad = t_pattern_check(buf, len, seed, stream_off);

	if (bad >= 0)
		t_fail("%s: byte %ld of %zu wrong (0x%02x, expected 0x%02x)%s",
		       what, bad, len, ((const uint8_t *)buf)[bad],
		       t_pattern_byte(seed, stream_off + (size_t)bad),
		       ((const uint8_t *)buf)[bad] == 0 ? " - zero, page lost?" : "");
}

/*
 * A slot is one page of 64-bit words:
 *
 *   word 0        @word0 (a magic number ^ the slot index)
 *   word 1        @tag (a generation, or owner and generation)
 *   words 2..510  splitmix stream from @seed (derived from index and tag)
 *   word 511      FNV-1a checksum of words 0..510
 *
 * so a page that comes back zeroed, stale, from another slot, or torn is
 * told apart by the caller's report.
 */
#define T_SLOT_WORDS (T_PAGE_SIZE / sizeof(uint64_t))

static inline void t_slot_fill(uint64_t *w, uint64_t word0, uint64_t tag, uint64_t seed)
{
	uint64_t s = seed;

	w[0] = word0;
	w[1] = tag;
	for (size_t i = 2; i < T_SLOT_WORDS - 1; i++) {
		s = t_mix64(s);
		w[i] = s;
	}
	w[T_SLOT_WORDS - 1] = t_checksum(w, T_SLOT_WORDS - 1);
}

/* The first word of @w that is not what t_slot_fill(w, word0, tag, seed)
 * wrote, T_SLOT_WORDS when the slot is intact. */
static inline size_t t_slot_first_bad(const uint64_t *w, uint64_t word0, uint64_t tag,
				      uint64_t seed)
{
	uint64_t s = seed;

	if (w[0] != word0)
		return 0;
	if (w[1] != tag)
		return 1;
	for (size_t i = 2; i < T_SLOT_WORDS - 1; i++) {
		s = t_mix64(s);
		if (w[i] != s)
			return i;
	}
	if (w[T_SLOT_WORDS - 1] != t_checksum(w, T_SLOT_WORDS - 1))
		return T_SLOT_WORDS - 1;
	return T_SLOT_WORDS;
}

/*
 * A footprint cut into slots: half of them in malloc() chunks of mixed
 * sizes (a quarter 1-4 slots, the rest 16-512, each chunk with a 0-4095
 * byte tail after its slots, so chunks land in the allocator's small and
 * large classes unaligned and some slots straddle two pages), half in
 * MAP_PRIVATE|MAP_ANONYMOUS regions of 1-16 MiB. The sizes are drawn from
 * the caller's @r, so a seed gives the same layout every run.
 */
#define T_SLOTS_MAX_REGIONS 1024

struct t_slots {
	size_t nr_slots;
	uint64_t **slot;	/* slot index -> address (managed) */
	struct t_chunk { char *p; size_t nr_slots, tail; } *chunk; /* malloc'd */
	size_t nr_chunks;
	struct t_region { char *p; size_t len; } *region; /* mmap'd */
	size_t nr_regions;
};

static inline void t_slots_build(struct t_slots *s, size_t want, struct t_rng *r)
{
	size_t want_malloc = want / 2, n = 0;

	s->slot = malloc(want * sizeof(*s->slot));
	s->chunk = malloc(want * sizeof(*s->chunk));
	s->region = malloc(T_SLOTS_MAX_REGIONS * sizeof(*s->region));
	t_check(s->slot && s->chunk && s->region, "metadata malloc failed");
	s->nr_chunks = s->nr_regions = 0;
	while (n < want_malloc) {
		size_t k = t_rng_below(r, 4) == 0 ? 1 + t_rng_below(r, 4) : 16 + t_rng_below(r, 497);
		size_t tail = t_rng_below(r, T_PAGE_SIZE);
		char *c;

		if (k > want_malloc - n)
			k = want_malloc - n;
		c = malloc(k * T_PAGE_SIZE + tail);
		t_check(c, "malloc(%zu) failed", k * T_PAGE_SIZE + tail);
		s->chunk[s->nr_chunks++] = (struct t_chunk){ c, k, tail };
		for (size_t i = 0; i < k; i++)
			s->slot[n++] = (uint64_t *)(c + i * T_PAGE_SIZE);
	}
	while (n < want) {
		size_t k = 256 + t_rng_below(r, 3841);
		char *m;

		if (k > want - n)
			k = want - n;
		t_check(s->nr_regions < T_SLOTS_MAX_REGIONS, "too many regions");
		m = mmap(NULL, k * T_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		t_check(m != MAP_FAILED, "mmap(%zu): %s", k * T_PAGE_SIZE, strerror(errno));
		s->region[s->nr_regions++] = (struct t_region){ m, k * T_PAGE_SIZE };
		for (size_t i = 0; i < k; i++)
			s->slot[n++] = (uint64_t *)(m + i * T_PAGE_SIZE);
	}
	s->nr_slots = n;
}

/* ---- residency ----------------------------------------------------------- */

/*
 * How many pages of [p, p+len) are not resident according to mincore(2).
 * uswap evicts by taking the page out of the page table (UFFDIO_MOVE or a
 * zap), so an evicted page reads as not resident here; this is how the
 * tests know a buffer really went cold rather than trusting the pressure.
 */
static inline long t_nr_nonresident(const void *p, size_t len)
{
	static __thread unsigned char vec[4096];
	uintptr_t start = (uintptr_t)p & ~(T_PAGE_SIZE - 1);
	uintptr_t end = ((uintptr_t)p + len + T_PAGE_SIZE - 1) & ~(T_PAGE_SIZE - 1);
	long nr = 0;

	for (uintptr_t a = start; a < end; a += sizeof(vec) * T_PAGE_SIZE) {
		size_t chunk = end - a;

		if (chunk > sizeof(vec) * T_PAGE_SIZE)
			chunk = sizeof(vec) * T_PAGE_SIZE;
		if (mincore((void *)a, chunk, vec))
			return -1;
		for (size_t i = 0; i < chunk / T_PAGE_SIZE; i++)
			nr += !(vec[i] & 1);
	}
	return nr;
}

static inline size_t t_nr_pages(const void *p, size_t len)
{
	uintptr_t start = (uintptr_t)p & ~(T_PAGE_SIZE - 1);
	uintptr_t end = ((uintptr_t)p + len + T_PAGE_SIZE - 1) & ~(T_PAGE_SIZE - 1);

	return (end - start) / T_PAGE_SIZE;
}

/* ---- churn: pushing other memory out ------------------------------------- */

struct t_churn {
	char *mem;		/* mmap'd by the program (managed) */
	size_t len;
	unsigned long gen;	/* passes since t_churn_start() */
	unsigned long nr_sweeps; /* passes in all */
	atomic_ulong nr_bad;	/* churn pages that had lost their contents */
	int check_each_pass;	/* fail as soon as a pass finds a bad page */
	pthread_mutex_t lock;	/* one pass at a time */
};

#define T_CHURN_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

/* @pct percent of @limit, rounded up to whole pages. */
static inline size_t t_churn_len(uint64_t limit, unsigned pct)
{
	return (size_t)((limit * pct / 100 + T_PAGE_SIZE - 1) & ~(T_PAGE_SIZE - 1));
}

/* Use [mem, mem+len), all zeros, as the churn area. */
static inline void t_churn_start(struct t_churn *c, void *mem, size_t len)
{
	pthread_mutex_lock(&c->lock);
	c->mem = mem;
	c->len = len;
	c->gen = 0;
	pthread_mutex_unlock(&c->lock);
}

/* Map an anonymous churn area of @pct percent of @limit and use it. */
static inline void t_churn_map(struct t_churn *c, uint64_t limit, unsigned pct)
{
	size_t len = t_churn_len(limit, pct);
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	t_check(mem != MAP_FAILED, "mmap churn: %s", strerror(errno));
	t_churn_start(c, mem, len);
}

/*
 * One pass over the churn area: each page's first word must hold what the
 * previous pass wrote, and gets this pass's value. With @hook, it is called
 * after every @every bytes with the bytes swept so far in this pass (still
 * holding c->lock).
 */
static inline void t_churn_sweep_hook(struct t_churn *c, size_t every,
				      void (*hook)(struct t_churn *, size_t, void *),
				      void *arg)
{
	unsigned long g;

	pthread_mutex_lock(&c->lock);
	g = ++c->gen;
	for (size_t off = 0; off < c->len; off += T_PAGE_SIZE) {
		volatile unsigned long *w = (volatile unsigned long *)(c->mem + off);
		unsigned long want = g == 1 ? 0 : (g - 1) ^ off;

		if (*w != want && atomic_fetch_add(&c->nr_bad, 1) < 5)
			t_log("churn page +%zu: %#lx, expected %#lx (pass %lu)",
			      off, *w, want, g);
		*w = g ^ off;
		if (hook && (off + T_PAGE_SIZE) % every == 0)
			hook(c, off + T_PAGE_SIZE, arg);
	}
	c->nr_sweeps++;
	pthread_mutex_unlock(&c->lock);
	if (c->check_each_pass)
		t_check(atomic_load(&c->nr_bad) == 0, "%lu churn pages lost their contents",
			atomic_load(&c->nr_bad));
}

static inline void t_churn_sweep(struct t_churn *c)
{
	t_churn_sweep_hook(c, 0, NULL, NULL);
}

/* A last pass; fail if any churn page ever lost its contents. */
static inline void t_churn_check(struct t_churn *c)
{
	t_churn_sweep(c);
	t_check(atomic_load(&c->nr_bad) == 0, "%lu churn pages lost their contents",
		atomic_load(&c->nr_bad));
}

/*
 * Sweep until at least half of [p, p+len) is non-resident, at most
 * @max_sweeps passes; only one with @one_pass (where nothing is evicted).
 * Returns the non-resident page count (-1 when mincore failed, errno set)
 * and in *@nr_swept the passes made.
 */
static inline long t_churn_until_cold(struct t_churn *c, const void *p, size_t len,
				      int max_sweeps, int one_pass, int *nr_swept)
{
	size_t nr = t_nr_pages(p, len);
	long cold = 0;
	int sweeps;

	for (sweeps = 1; sweeps <= max_sweeps; sweeps++) {
		t_churn_sweep(c);
		cold = t_nr_nonresident(p, len);
		if (cold < 0 || one_pass || (size_t)cold * 2 >= nr)
			break;
	}
	*nr_swept = sweeps > max_sweeps ? max_sweeps : sweeps;
	return cold;
}

/*
 * make_cold: sweep until at least half of [p, p+len) is non-resident, and
 * fail if it never is - unless @native (no runtime: nothing is evicted, one
 * pass only) or !@required (only report: memory the test does not own
 * exclusively, such as a glibc FILE in a shared small-object page).
 * Returns the non-resident page count.
 */
static inline long t_make_cold(struct t_churn *c, const char *what, const void *p, size_t len,
			       int required, int max_sweeps, int native)
{
	size_t nr = t_nr_pages(p, len);
	int swept;
	long cold = t_churn_until_cold(c, p, len, max_sweeps, native, &swept);

	t_check(cold >= 0, "mincore(%s): %s", what, strerror(errno));
	if (!native && required && (size_t)cold * 2 < nr)
		t_fail("%s did not go cold: only %ld of %zu pages non-resident "
		       "after %d sweeps of %zu MiB", what, cold, nr, max_sweeps,
		       c->len / T_MIB);
	return cold;
}

#endif /* USWAP_TEST_PAGES_H */
