/*
 * The anon/file balance (mm/vmscan.c: lru_note_cost, get_scan_count).
 *
 * Each side has a cost: pages of I/O it caused (refaults of pages that had
 * been in the working set, writeout by reclaim), weighted as the kernel
 * does (SWAP_CLUSTER_MAX per page of I/O), plus rotations (pages found
 * referenced while inactive). The costs decay by half whenever they add up
 * to more than a quarter of the pages on the lists, so they follow the
 * recent past. Scan pressure on each side is inversely proportional to
 * its cost, with swappiness as the relative weight of anon I/O against
 * file I/O (100 = equal), and no side gets less than a third of the
 * pressure before swappiness is applied:
 *
 *	total = anon + file; anon' = total + anon; file' = total + file
 *	ap = swappiness * (anon' + file' + 1) / (anon' + 1)
 *	fp = (200 - swappiness) * (anon' + file' + 1) / (file' + 1)
 *
 * --swappiness auto measures what swappiness stands for: the cost in time
 * of bringing a page of each kind back (the io_uring read's completion
 * time) and of writing it out (the write's completion time, times the
 * share of evictions that needed one). Then swappiness = 200 * file / (anon
 * + file): swap I/O ten times dearer than file I/O gives 18.
 */
#include "balance.h"

#include "config.h"
#include "lru.h"
#include "pager.h"
#include "stats.h"

#include <string.h>

#define SWAP_CLUSTER_MAX 32
#define EWMA_SHIFT 4 /* each sample weighs 1/16 */

static uint64_t cost[2];
static uint64_t read_ns[2], write_ns[2]; /* EWMA, 0 = no sample yet */
static uint64_t evicted[2], written[2];	 /* decayed counts */
static int swappiness = 60;		 /* 0..200, or SWAPPINESS_AUTO */

void balance_init(void)
{
	swappiness = config.swappiness;
}

void balance_set_swappiness(int s)
{
	pager_lock();
	swappiness = s;
	pager_unlock();
}

int balance_swappiness_setting(void)
{
	return swappiness;
}

void balance_reset(void)
{
	memset(cost, 0, sizeof(cost));
	memset(read_ns, 0, sizeof(read_ns));
	memset(write_ns, 0, sizeof(write_ns));
	memset(evicted, 0, sizeof(evicted));
	memset(written, 0, sizeof(written));
	swappiness = config.swappiness;
}

void balance_note_cost(bool file, unsigned nr_io, unsigned nr_rotated)
{
	uint64_t lrusize = 0;

	cost[file] += (uint64_t)nr_io * SWAP_CLUSTER_MAX + nr_rotated;
	for (int l = 0; l < NR_LRU_LISTS; l++)
		lrusize += lru.lists[l].nr;
	if (cost[0] + cost[1] > lrusize / 4) {
		cost[0] /= 2;
		cost[1] /= 2;
	}
}

static void ewma(uint64_t *avg, uint64_t v)
{
	*avg = *avg ? *avg - (*avg >> EWMA_SHIFT) + (v >> EWMA_SHIFT) : v;
}

void balance_note_io(bool file, bool write, uint64_t ns)
{
	ewma(write ? &write_ns[file] : &read_ns[file], ns);
}

uint64_t balance_read_ns(bool file)
{
	return read_ns[file];
}

void balance_note_evict(bool file, bool wrote)
{
	evicted[file]++;
	written[file] += wrote;
	if (evicted[file] > 4096) {
		evicted[file] /= 2;
		written[file] /= 2;
	}
}

/* ns to bring back and, as often as it is needed, to write one page. */
static uint64_t io_cost(bool file)
{
	uint64_t c = read_ns[file];

	if (evicted[file] && write_ns[file])
		c += write_ns[file] * written[file] / evicted[file];
	return c;
}

int balance_swappiness(void)
{
	uint64_t a, f;
	int s;

	if (swappiness != SWAPPINESS_AUTO)
		return swappiness;
	a = io_cost(false);
	f = io_cost(true);
	stats.anon_io_ns = a;
	stats.file_io_ns = f;
	if (!read_ns[0] || !read_ns[1])
		return 60; /* not measured yet: the kernel's default */
	s = (int)(200 * f / (a + f));
	/* 0 and 200 are absolute (one side only); auto stays relative. */
	return s < 1 ? 1 : s > 199 ? 199 : s;
}

unsigned balance_anon_share(bool anon_ok, bool file_ok, bool cache_trim)
{
	int s = balance_swappiness();
	uint64_t total, a, f, ap, fp;

	stats.swappiness_effective = (uint64_t)s;
	if (!anon_ok)
		return 0;
	if (!file_ok)
		return 1024;
	if (s == 0)
		return 0; /* anon only when file is exhausted */
	if (s == 200)
		return 1024; /* file only when anon is exhausted */
	if (cache_trim)
		return 0; /* plenty of inactive file, none of it refaulting */
	total = cost[0] + cost[1];
	a = total + cost[0];
	f = total + cost[1];
	ap = (uint64_t)s * (a + f + 1) / (a + 1);
	fp = (uint64_t)(200 - s) * (a + f + 1) / (f + 1);
	return (unsigned)(1024 * ap / (ap + fp));
}
