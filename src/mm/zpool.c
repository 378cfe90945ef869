#define _GNU_SOURCE
#include "zpool.h"

#include "config.h"
#include "debug.h"
#include "lru.h"
#include "stats.h"
#include "sys.h"

#define ZSTD_STATIC_LINKING_ONLY /* static contexts: the runtime does not malloc */
#include <errno.h>
#include <lz4.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>

struct zpool zpool;

/* The arena: address space for 2^23 pages (32 GiB), reserved at start and
 * backed only where objects live. A handle is (first page of the zspage
 * << 8 | object index); links and the slot map hold handle + 1, so 0 is
 * "none". */
#define ARENA_PAGE_BITS 23
#define ARENA_PAGES (1UL << ARENA_PAGE_BITS)
#define GRAN 64
#define HDR 16
/* Largest object kept: it must save at least an eighth of a page. */
#define MAX_OBJ 3584
#define NR_CLASSES (MAX_OBJ / GRAN)
#define MAX_ZSPAGE 4
#define MAX_OBJS 256

/* An object's header, at its start in the arena. */
struct zobj {
	uint32_t slot;
	uint32_t prev, next; /* LRU links (handle + 1); prev is older */
	uint16_t len;	     /* compressed bytes after the header */
	uint16_t flags;
};

enum { ZO_WB = 1, ZO_ORPHAN = 2 };

/* One zspage, indexed by its first page. */
struct zspage {
	uint32_t prev, next; /* the class's partial list, or a free list (first page + 1) */
	uint16_t nused;
	uint8_t cls;
	uint8_t k; /* pages */
	uint64_t used[MAX_OBJS / 64];
};

struct zclass {
	uint32_t size;	 /* bytes an object takes */
	uint32_t k;	 /* pages of a zspage */
	uint32_t nobjs;	 /* objects a zspage holds */
	uint32_t partial; /* zspages with a free object (first page + 1), 0: none */
};

static char *arena;
static struct zspage *zsp; /* ARENA_PAGES entries, touched where used */
static uint32_t next_page; /* bump: pages never used lie at and past this */
static uint32_t free_zs[MAX_ZSPAGE + 1]; /* freed zspages by page count (first page + 1) */
static struct zclass cls[NR_CLASSES + 1];
static uint32_t *slot_h; /* slot -> handle + 1 */
static uint64_t slot_cap;
static uint32_t lru_old, lru_young; /* handle + 1 */
static char *scratch;		    /* a compressed page on its way in */
static void *lz4_state;
static ZSTD_CCtx *zcc;
static ZSTD_DCtx *zdc;
static int zstd_level = 1;

static struct zobj *obj_at(uint32_t h)
{
	uint32_t page = h >> 8, i = h & 0xff;

	return (struct zobj *)(arena + ((size_t)page << PAGE_SHIFT) +
			       (size_t)i * cls[zsp[page].cls].size);
}

static void setup_classes(void)
{
	for (uint32_t c = 1; c <= NR_CLASSES; c++) {
		uint32_t size = c * GRAN, best_k = 1;
		double best = 1.0;

		for (uint32_t k = 1; k <= MAX_ZSPAGE; k++) {
			uint32_t n = (uint32_t)(k * PAGE_SIZE / size);
			double waste;

			if (n > MAX_OBJS)
				n = MAX_OBJS;
			waste = (double)(k * PAGE_SIZE - n * size) / (double)(k * PAGE_SIZE);
			if (waste < best - 0.01) {
				best = waste;
				best_k = k;
			}
		}
		cls[c].size = size;
		cls[c].k = best_k;
		cls[c].nobjs = (uint32_t)(best_k * PAGE_SIZE / size);
		if (cls[c].nobjs > MAX_OBJS)
			cls[c].nobjs = MAX_OBJS;
		cls[c].partial = 0;
	}
}

int zpool_init(uint64_t limit_pages, char *err, size_t errlen)
{
	zpool.algo = config.compress;
	zpool.frac = config.compress_pool;
	if (zpool.algo == COMPRESS_OFF)
		return 0;
	arena = sys_mmap(NULL, ARENA_PAGES << PAGE_SHIFT, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	zsp = sys_alloc_meta(ARENA_PAGES * sizeof(*zsp));
	slot_cap = 65536;
	slot_h = sys_alloc_meta(slot_cap * sizeof(*slot_h));
	scratch = sys_alloc_meta(2 * PAGE_SIZE);
	if (arena == MAP_FAILED || !zsp || !slot_h || !scratch) {
		snprintf(err, errlen, "cannot reserve memory for the compressed pool");
		return -ENOMEM;
	}
	/* The pool is the runtime's, not the program's: keep it out of core dumps. */
	sys_madvise(arena, ARENA_PAGES << PAGE_SHIFT, MADV_DONTDUMP);
	if (zpool.algo == COMPRESS_LZ4) {
		lz4_state = sys_alloc_meta((size_t)LZ4_sizeofState());
	} else {
		ZSTD_compressionParameters cp = ZSTD_getCParams(zstd_level, PAGE_SIZE, 0);
		size_t cn = ZSTD_estimateCCtxSize_usingCParams(cp), dn = ZSTD_estimateDCtxSize();
		void *cw = sys_alloc_meta(cn), *dw = sys_alloc_meta(dn);

		zcc = cw ? ZSTD_initStaticCCtx(cw, cn) : NULL;
		zdc = dw ? ZSTD_initStaticDCtx(dw, dn) : NULL;
		if (zcc)
			ZSTD_CCtx_setParameter(zcc, ZSTD_c_compressionLevel, zstd_level);
	}
	if (zpool.algo == COMPRESS_LZ4 ? !lz4_state : !zcc || !zdc) {
		snprintf(err, errlen, "cannot set up the %s compressor",
			 zpool.algo == COMPRESS_LZ4 ? "lz4" : "zstd");
		return -ENOMEM;
	}
	setup_classes();
	zpool_set_limit(limit_pages);
	return 0;
}

void zpool_set_share(double frac)
{
	zpool.frac = frac;
	zpool_set_limit(zpool.limit_pages);
}

void zpool_set_limit(uint64_t limit_pages)
{
	uint64_t m = (uint64_t)((double)limit_pages * zpool.frac);

	if (zpool.algo == COMPRESS_OFF)
		m = 0;
	zpool.max_pages = m < ARENA_PAGES ? m : ARENA_PAGES;
	zpool.limit_pages = limit_pages;
	stats.zswap_pool_max_bytes = zpool.max_pages << PAGE_SHIFT;
}

static bool slot_map_fit(uint32_t slot)
{
	uint64_t cap = slot_cap;
	void *p;

	if (slot < slot_cap)
		return true;
	while (cap <= slot)
		cap *= 2;
	p = sys_mremap(slot_h, slot_cap * sizeof(*slot_h), cap * sizeof(*slot_h), MREMAP_MAYMOVE,
		       NULL);
	if (p == MAP_FAILED)
		return false;
	slot_h = p;
	slot_cap = cap;
	return true;
}

/* Class list helpers: zspages by first page + 1. */
static void zs_unlink(uint32_t *head, uint32_t page)
{
	struct zspage *z = &zsp[page];

	if (z->prev)
		zsp[z->prev - 1].next = z->next;
	else
		*head = z->next;
	if (z->next)
		zsp[z->next - 1].prev = z->prev;
	z->prev = z->next = 0;
}

static void zs_push(uint32_t *head, uint32_t page)
{
	struct zspage *z = &zsp[page];

	z->prev = 0;
	z->next = *head;
	if (*head)
		zsp[*head - 1].prev = page + 1;
	*head = page + 1;
}

/* A new zspage of class c, within the pool's size and the limit. */
static int zs_new(uint32_t c, uint32_t *page)
{
	uint32_t k = cls[c].k, p;

	if (zpool.nr_pages + k > zpool.max_pages)
		return ZPOOL_FULL;
	/* resident + pool <= limit at every moment, the frame being evicted
	 * (freed right after) still counted. */
	if (lru.nr_allocated + zpool.nr_pages + k > zpool.limit_pages)
		return ZPOOL_FULL;
	if (free_zs[k]) {
		p = free_zs[k] - 1;
		zs_unlink(&free_zs[k], p);
	} else {
		if (next_page + k > ARENA_PAGES)
			return ZPOOL_FULL;
		p = next_page;
		next_page += k;
	}
	zsp[p] = (struct zspage){ .cls = (uint8_t)c, .k = (uint8_t)k };
	zpool.nr_pages += k;
	zs_push(&cls[c].partial, p);
	*page = p;
	return 0;
}

static void lru_link_young(uint32_t h)
{
	struct zobj *o = obj_at(h);

	o->next = 0;
	o->prev = lru_young;
	if (lru_young)
		obj_at(lru_young - 1)->next = h + 1;
	else
		lru_old = h + 1;
	lru_young = h + 1;
}

static void lru_unlink(uint32_t h)
{
	struct zobj *o = obj_at(h);

	if (o->prev)
		obj_at(o->prev - 1)->next = o->next;
	else
		lru_old = o->next;
	if (o->next)
		obj_at(o->next - 1)->prev = o->prev;
	else
		lru_young = o->prev;
}

static int compress(const void *page, size_t cap)
{
	if (zpool.algo == COMPRESS_LZ4)
		return LZ4_compress_fast_extState(lz4_state, page, scratch, (int)PAGE_SIZE, (int)cap,
						  1);
	{
		size_t n = ZSTD_compress2(zcc, scratch, cap, page, PAGE_SIZE);

		return ZSTD_isError(n) ? 0 : (int)n;
	}
}

int zpool_store(uint32_t slot, const void *page)
{
	uint32_t c, p, i, h;
	struct zspage *z;
	struct zobj *o;
	int n, r;

	debug_assert(!zpool_has(slot));
	if (!zpool.max_pages) {
		/* No room at all (--compress-pool auto at 0): not worth a compression. */
		stats.zswap_reject_pool_limit++;
		return ZPOOL_FULL;
	}
	if (!slot_map_fit(slot))
		return ZPOOL_NOMEM;
	n = compress(page, MAX_OBJ - HDR);
	if (n <= 0) {
		stats.zswap_reject_compress_poor++;
		return ZPOOL_POOR;
	}
	c = (uint32_t)(n + HDR + GRAN - 1) / GRAN;
	if (!cls[c].partial && (r = zs_new(c, &p)) != 0) {
		stats.zswap_reject_pool_limit++;
		return r;
	}
	p = cls[c].partial - 1;
	z = &zsp[p];
	for (i = 0; i < cls[c].nobjs; i++)
		if (!(z->used[i / 64] >> (i % 64) & 1))
			break;
	debug_assert(i < cls[c].nobjs);
	z->used[i / 64] |= 1ULL << (i % 64);
	if (++z->nused == cls[c].nobjs)
		zs_unlink(&cls[c].partial, p);
	h = p << 8 | i;
	o = obj_at(h);
	*o = (struct zobj){ .slot = slot, .len = (uint16_t)n };
	memcpy(o + 1, scratch, (size_t)n);
	lru_link_young(h);
	slot_h[slot] = h + 1;
	zpool.nr_stored++;
	zpool.nr_bytes += (uint64_t)n + HDR;
	stats.zswpout++;
	stat_max(&stats.zswap_pool_bytes_peak, zpool.nr_pages << PAGE_SHIFT);
	return ZPOOL_STORED;
}

void zpool_munlock(void)
{
	if (arena)
		syscall(SYS_munlock, arena, ARENA_PAGES << PAGE_SHIFT);
}

bool zpool_has(uint32_t slot)
{
	return slot < slot_cap && slot_h[slot];
}

int zpool_load(uint32_t slot, void *page)
{
	uint32_t h = slot_h[slot] - 1;
	struct zobj *o = obj_at(h);
	int n;

	if (o->slot != slot)
		return -EBADMSG;
	if (zpool.algo == COMPRESS_LZ4) {
		n = LZ4_decompress_safe((const char *)(o + 1), page, o->len, (int)PAGE_SIZE);
	} else {
		size_t m = ZSTD_decompressDCtx(zdc, page, PAGE_SIZE, o + 1, o->len);

		n = ZSTD_isError(m) ? -1 : (int)m;
	}
	return n == (int)PAGE_SIZE ? 0 : -EBADMSG;
}

static void obj_free(uint32_t slot)
{
	uint32_t h = slot_h[slot] - 1, p = h >> 8, i = h & 0xff;
	struct zspage *z = &zsp[p];
	struct zobj *o = obj_at(h);
	uint32_t c = z->cls;

	lru_unlink(h);
	zpool.nr_stored--;
	zpool.nr_bytes -= (uint64_t)o->len + HDR;
	slot_h[slot] = 0;
	if (z->nused == cls[c].nobjs)
		zs_push(&cls[c].partial, p);
	z->used[i / 64] &= ~(1ULL << (i % 64));
	if (--z->nused)
		return;
	/* Its last object: the memory goes back, the address stays ours. */
	zs_unlink(&cls[c].partial, p);
	sys_madvise(arena + ((size_t)p << PAGE_SHIFT), (size_t)z->k << PAGE_SHIFT, MADV_DONTNEED);
	zpool.nr_pages -= z->k;
	zs_push(&free_zs[z->k], p);
}

bool zpool_drop(uint32_t slot)
{
	struct zobj *o;

	if (!zpool_has(slot))
		return true;
	o = obj_at(slot_h[slot] - 1);
	if (o->flags & ZO_WB) {
		o->flags |= ZO_ORPHAN;
		return false;
	}
	obj_free(slot);
	return true;
}

uint32_t zpool_wb_next(bool (*writable)(uint32_t slot))
{
	uint32_t h = lru_old, stop = lru_young;
	unsigned looked = 0;

	/* A bounded look: a child's pool may be all its parent's entries. */
	while (h && looked++ < 1024) {
		struct zobj *o = obj_at(h - 1);
		uint32_t next = o->next;

		if (!(o->flags & ZO_WB)) {
			if (writable(o->slot)) {
				o->flags |= ZO_WB;
				zpool.nr_wb++;
				/* Youngest: the next call looks at the next oldest. */
				lru_unlink(h - 1);
				lru_link_young(h - 1);
				return o->slot;
			}
			/* A forked child's copy of its parent's entry: it stays
			 * until loaded or released. */
			lru_unlink(h - 1);
			lru_link_young(h - 1);
		}
		if (h == stop)
			break;
		h = next;
	}
	return NO_SLOT;
}

bool zpool_wb_end(uint32_t slot, bool ok)
{
	struct zobj *o = obj_at(slot_h[slot] - 1);
	bool orphan = o->flags & ZO_ORPHAN;

	zpool.nr_wb--;
	if (!ok && !orphan) {
		o->flags &= (uint16_t)~ZO_WB;
		return false;
	}
	obj_free(slot);
	if (ok)
		stats.zswpwb++;
	return orphan;
}
