/*
 * The compressed pool: a userspace zswap in front of the swap file.
 *
 * An evicted anonymous page is compressed (lz4 by default, zstd as an
 * option) and kept here, keyed by the swap slot it was given, as the
 * kernel's zswap keys its entries by swap entry. The page's state word
 * says PS_SWAPPED with that slot whether its copy is in the pool or on the
 * file: a swap-in asks the pool first. The pool's memory is counted inside
 * the limit (pager_free_pages: resident + pool <= limit), so it never
 * holds more than the fraction of the limit it is given (--compress-pool);
 * when it nears that, the scanner writes its oldest entries to their slots
 * (engine/scan.c), and a page it cannot take (full, or compressing poorly)
 * goes to the file at once.
 *
 * Storage is zsmalloc's idea, smaller: objects are rounded up to 64 bytes
 * and packed into "zspages" of 1-4 contiguous pages per size class (the
 * page count that wastes least), an object may straddle the pages of its
 * zspage, and a zspage's memory is given back (MADV_DONTNEED) as soon as
 * its last object goes. There is no compaction: a zspage with one live
 * object costs all its pages (pages evicted together tend to go together,
 * which keeps this small; zswap_pool_bytes shows it).
 *
 * Entries form an LRU (store order, oldest first) for writeback. An entry
 * under writeback stays readable until its write lands; if its slot is
 * freed meanwhile (the page was loaded or released) the entry is marked
 * orphaned and the slot is freed when the write completes, so a slot is
 * never reused under a write in flight.
 *
 * Everything here is under the pager lock (the pager sits above the pool:
 * it counts the pool in its free pages and passes its limit down with
 * zpool_set_limit; the pool never calls it). The pool lives in private
 * memory, so a forked child has its own copy of every entry.
 */
#ifndef USWAP_ZPOOL_H
#define USWAP_ZPOOL_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zpool {
	enum compress_algo algo; /* config.compress */
	double frac;	     /* pool size as a fraction of the limit (--compress-pool) */
	uint64_t max_pages;  /* pages the pool may hold: frac * limit */
	uint64_t limit_pages; /* the pager's limit: resident + pool stays within */
	uint64_t nr_pages;   /* pages of memory the pool holds: counted in the limit */
	uint64_t nr_stored;  /* entries (pages stored) */
	uint64_t nr_bytes;   /* compressed bytes stored (headers included) */
	uint64_t nr_wb;	     /* entries under writeback */
};

extern struct zpool zpool;

static inline bool zpool_enabled(void)
{
	return zpool.algo != COMPRESS_OFF;
}

/* From config: the algorithm, the fraction and the memory. 0, or -errno
 * with err. */
int zpool_init(uint64_t limit_pages, char *err, size_t errlen);
/* The limit changed: the pool's share follows it. */
void zpool_set_limit(uint64_t limit_pages);
/* The pool's share of the limit is now frac (policy/poolsize.c); a pool
 * above it writes back down to it. */
void zpool_set_share(double frac);

/* Outcomes of zpool_store. */
enum {
	ZPOOL_STORED = 0,
	ZPOOL_POOR = -1,  /* compresses too poorly to save memory: to the file */
	ZPOOL_FULL = -2,  /* the pool is at its size: to the file */
	ZPOOL_NOMEM = -3, /* no memory for the pool's metadata */
};

/* Keep a compressed copy of page as slot's. slot must have no entry. */
int zpool_store(uint32_t slot, const void *page);
bool zpool_has(uint32_t slot);
/* Decompress slot's copy into page: 0, or -EBADMSG (the pool's memory is
 * not what was stored: a bug or a stray write). */
int zpool_load(uint32_t slot, void *page);
/*
 * Forget slot's entry. false: the entry is under writeback; it is marked
 * orphaned and the caller must leave the slot allocated (zpool_wb_end
 * says when to free it). true: gone (or there was none).
 */
bool zpool_drop(uint32_t slot);

/* Writeback: the oldest entry not under writeback whose slot may be
 * written (writable), marked as under writeback; NO_SLOT if none. Entries
 * that may not be written are rotated to the young end. */
uint32_t zpool_wb_next(bool (*writable)(uint32_t slot));
/* The write of slot's entry ended (ok: it landed). Returns true when the
 * caller must now free the slot (the entry was orphaned meanwhile). On
 * success (or orphaned) the entry is gone; on failure it stays in the
 * pool, youngest. */
bool zpool_wb_end(uint32_t slot, bool ok);

/* mlockall: the arena stays unlocked, so an emptied zspage's memory can
 * be given back (MADV_DONTNEED refuses locked memory). */
void zpool_munlock(void);

/* The pool is near its size: time to write back (at or above 7/8). */
static inline bool zpool_wb_wanted(void)
{
	return zpool.nr_pages && zpool.nr_pages * 8 >= zpool.max_pages * 7;
}

#endif
