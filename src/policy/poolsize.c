/*
 * --compress-pool auto: the pool's share of the limit follows what it
 * costs and what it saves, as --swappiness auto follows measured I/O cost.
 *
 * The pool's memory comes out of the resident set. With a pool that holds
 * the last R evicted pages (its entries, R = c * M for M pages of memory at
 * compression ratio c), a page that refaults at eviction distance d
 * (policy/workingset.c: evictions since it left) was
 *	d < M		a fault the pool caused: without it, still resident;
 *	M <= d < R	a file read the pool saved;
 *	d >= R		a file read either way.
 * At the margin, one step S (1/32 of the limit) more pool
 *	costs  the refaults at d < S, of either source: the pages just
 *	       outside the resident set are as dense as those just inside,
 *	       which would start to fault; each a fault and an eviction;
 *	saves  the file reads at R <= d < R + c * S: each a read's latency;
 * and one step less saves the refaults at d < S and loses the pool's
 * hits at R - c * S <= d < R. Pages that compress poorly are not kept: if
 * the pool keeps a share a of what it is offered, it reaches back R / a
 * evictions, a step c * S / a, and only a of the reads there are its to
 * save. Once WINDOW_EVIDENCE refaults fell in those ranges (a window of
 * 2048 saw ~15 under uniform random access: noise), the share moves one
 * step whichever way wins, between 0 and AUTO_MAX (a step that saves
 * nothing goes, even if it costs nothing: a pool of pages that compress
 * poorly costs a compression each), and holds when neither does. A fault costs FAULT_NS (a userfault round trip, measured
 * here: 10-18 us) plus the scanner's CPU time per page it evicts; a read
 * costs the swap reads' measured latency (policy/balance.c).
 *
 * Measured before this (benchmarks/compare.py, one run): a fixed quarter
 * of the limit made GNU sort at half its peak 2.5x slower than no pool
 * (212k faults against 68k: most of its refaults are near), and a python
 * heap 1.1x slower, while random access over compressible data gains.
 */
#include "poolsize.h"

#include "balance.h"
#include "config.h"
#include "pager.h"
#include "stats.h"
#include "zpool.h"

#define WINDOW_EVIDENCE 128 /* refaults in the three ranges: a decision */
#define WINDOW_MAX 65536     /* or this many refaults, whatever they say */
#define STEPS 32		 /* a step is 1/STEPS of the limit */
#define AUTO_START 4		 /* steps: 1/8 of the limit */
#define AUTO_MAX 16		 /* steps: half the limit */
#define FAULT_NS 15000ULL	 /* a userfault round trip */
#define READ_NS_DEFAULT 100000ULL /* a swap read, until one is measured */

static struct {
	bool on;
	unsigned steps; /* the share in force, in steps */
	double accept;	/* share of the pages offered that the pool kept (not "compresses poorly") */
	uint64_t stored_seen, poor_seen; /* zswpout, zswap_reject_compress_poor at the last window */
	uint64_t nr;	/* refaults this window */
	uint64_t near;	/* at d < S */
	uint64_t gain;	/* file reads at R <= d < R + c * S */
	uint64_t loss;	/* pool hits at R - c * S <= d < R */
} P;

void poolsize_init(void)
{
	P = (typeof(P)){ 0 };
	P.on = config.compress_pool_auto && zpool_enabled();
	if (!P.on)
		return;
	P.steps = AUTO_START;
	P.accept = 1.0;
	zpool_set_share((double)P.steps / STEPS);
}

/* Entries per page of pool memory; 2 until the pool holds some. */
static double ratio(void)
{
	return zpool.nr_pages >= 16 ? (double)zpool.nr_stored / (double)zpool.nr_pages : 2.0;
}

/* The pool keeps only pages that compress: it reaches back further in
 * evictions, and only that share of the reads it would save are its.
 * Measured over the pages offered since the last estimate (64 at least). */
static void update_accept(void)
{
	uint64_t stored = stats.zswpout - P.stored_seen;
	uint64_t poor = stats.zswap_reject_compress_poor - P.poor_seen;

	if (stored + poor < 64)
		return;
	P.accept = (double)(stored + 1) / (double)(stored + poor + 1);
	P.stored_seen = stats.zswpout;
	P.poor_seen = stats.zswap_reject_compress_poor;
}

static void decide(void)
{
	uint64_t evicted = stats.pgsteal_anon + stats.pgsteal_file;
	uint64_t near_ns = FAULT_NS + (evicted ? stats.scanner_cpu_ns / evicted : 0);
	uint64_t read_ns = balance_read_ns(false);
	uint64_t cost = P.near * near_ns;
	unsigned steps = P.steps;

	if (!read_ns)
		read_ns = READ_NS_DEFAULT;
	P.gain = (uint64_t)((double)P.gain * P.accept);
	/* Growing is worth it only for a pool at its size. */
	if (P.gain * read_ns > cost && steps < AUTO_MAX &&
	    zpool.nr_pages * 8 >= zpool.max_pages * 7)
		steps++;
	else if (P.loss * read_ns <= cost && steps > 0)
		steps--; /* also when the last step saved nothing, and cost nothing */
	if (steps != P.steps) {
		if (steps > P.steps)
			stats.zswap_auto_grow++;
		else
			stats.zswap_auto_shrink++;
		P.steps = steps;
		zpool_set_share((double)steps / STEPS);
	}
	P.nr = P.near = P.gain = P.loss = 0;
}

void poolsize_note_refault(uint64_t dist, bool in_pool)
{
	uint64_t step, reach, cstep;

	if (!P.on)
		return;
	if ((P.nr & 255) == 0)
		update_accept();
	step = pager.limit_pages / STEPS;
	reach = (uint64_t)((double)zpool.nr_stored / P.accept);
	cstep = (uint64_t)((double)step * ratio() / P.accept);
	if (dist < step)
		P.near++;
	if (!in_pool && dist >= reach && dist < reach + cstep)
		P.gain++;
	if (in_pool && dist < reach && dist + cstep >= reach)
		P.loss++;
	if (++P.nr >= WINDOW_MAX || P.near + P.gain + P.loss >= WINDOW_EVIDENCE)
		decide();
}
