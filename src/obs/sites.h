/* Call-site sampling (sites.c): the preload's side, the events side
 * (sites_event) and the stats output (sites_json).
 *
 * An allocation is sampled with probability 1 - exp(-size / N) (N =
 * config.sample_bytes): a thread-local countdown of bytes, drawn from an
 * exponential distribution, as tcmalloc's heap profiler does. Not sampling
 * costs one subtraction and a branch. A sampled allocation's call stack is
 * taken (libunwind) before the allocator runs, and its range is recorded
 * so that page events (sites_event) count for its stack.
 */
#ifndef USWAP_SITES_H
#define USWAP_SITES_H

#include "origin.h"
#include "sys.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Once the runtime is up (managed) or off: load libunwind and start
 * sampling if managed and config.sample_bytes != 0. Until then threads
 * that allocate check again on each allocation. Called by the
 * initialising thread while the bootstrap arena still serves its mallocs
 * (dlopen's allocations must not be managed memory). */
void sites_init(bool managed);
/* The calling thread never samples (the runtime's own threads: an unwind
 * takes the loader's lock, which a program thread may hold while it
 * faults on managed memory). */
void sites_thread_exclude(void);

/* Bytes the thread may still allocate before its next sample. */
extern __thread int64_t sites_countdown __attribute__((tls_model("initial-exec")));

/* Count n bytes; true if this allocation may be sampled: then call
 * sites_begin before allocating and sites_end after. */
static inline bool sites_tick(size_t n)
{
	int64_t c = sites_countdown - (int64_t)n;

	sites_countdown = c;
	return unlikely(c < 0);
}

/* The slow path of sites_tick: draws the next interval and, if this
 * allocation is sampled, takes its call stack. True if sampled. */
bool sites_begin(size_t n);
/* The sampled allocation is [p, p+n) (p NULL: it failed). */
void sites_end(void *p, size_t n);

/* The live sampled allocations' start addresses: an open-addressing set
 * that free() probes without a lock, behind a one-bit-per-hash filter
 * (8 bits per slot, so at most 1/64 of them set): a pointer that was not
 * sampled mostly costs one load of a small, hot bitmap. Written under the
 * sites lock; a rebuild (growth, tombstone purge) makes seq odd while it
 * runs, and a reader that saw seq change asks again under the lock. */
struct sites_set {
	uint64_t mask;	 /* slots - 1 */
	unsigned shift;	 /* 64 - log2(slots) */
	unsigned bshift; /* 64 - log2(filter bits) */
	uint64_t *bits;	 /* the filter: bit h set if a live key hashes to h */
	uint8_t *count;	 /* live keys per filter bit (255: for good) */
	uintptr_t key[]; /* 0 empty, 1 deleted, else a start address */
};
struct sites_live {
	uint32_t nr; /* live sampled records (0: free() skips all) */
	uint32_t seq;
	struct sites_set *set;
} __attribute__((aligned(64)));
extern struct sites_live sites_live;

static inline uint64_t sites_hash(uintptr_t p, unsigned shift)
{
	return (uint64_t)(p * 0x9e3779b97f4a7c15ULL) >> shift;
}

void sites_free_slow(void *p);

/* free(p) or realloc(p, ...): forget p's record if it was sampled. A
 * pointer that was not costs a few loads while samples are live. */
static inline void sites_free(void *p)
{
	const struct sites_set *s;
	uint32_t seq;
	uint64_t i;

	if (likely(!__atomic_load_n(&sites_live.nr, __ATOMIC_RELAXED)))
		return;
	seq = __atomic_load_n(&sites_live.seq, __ATOMIC_ACQUIRE);
	s = __atomic_load_n(&sites_live.set, __ATOMIC_ACQUIRE);
	if (unlikely(seq & 1) || !s) {
		sites_free_slow(p);
		return;
	}
	i = sites_hash((uintptr_t)p, s->bshift);
	if (!((__atomic_load_n(&s->bits[i >> 6], __ATOMIC_RELAXED) >> (i & 63)) & 1))
		goto absent;
	for (i = sites_hash((uintptr_t)p, s->shift);; i = (i + 1) & s->mask) {
		uintptr_t k = __atomic_load_n(&s->key[i], __ATOMIC_RELAXED);

		if (k == (uintptr_t)p) {
			sites_free_slow(p);
			return;
		}
		if (k == 0)
			break;
	}
absent:
	/* Not there, unless a rebuild moved the keys under us. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&sites_live.seq, __ATOMIC_RELAXED) != seq)
		sites_free_slow(p);
}

/* munmap and mremap: the records of [addr, addr+len) end. */
void sites_unmap(uintptr_t addr, size_t len);
/* mremap moves a sampled mapping: take its record before the call... */
struct sites_moved {
	uint32_t site;
	double inv_q;
	bool taken;
};
void sites_take(uintptr_t addr, size_t len, struct sites_moved *m);
/* ... and put it back where the mapping is now (the old range if it failed). */
void sites_put(const struct sites_moved *m, uintptr_t addr, size_t len);

/* An event of the page at addr, from the handler and the scanner under the
 * pager lock: it must not block on anything but its own short lock and
 * must never touch managed memory. */
void sites_event(uintptr_t addr, enum obs_ev ev);
struct jbuf;
/* The "sites" object of the stats file: {"sample_bytes": N, ...}. */
void sites_json(struct jbuf *j);

/* fork(): the table is consistent in the child (prepare takes the lock);
 * the child's counters start from zero, its live records stay. */
void sites_fork_prepare(void);
void sites_fork_parent(void);
void sites_fork_child(void);

#endif
