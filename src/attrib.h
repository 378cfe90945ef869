/* Attribution of paging events: to the managed region (origin) a page
 * belongs to, and to the sampled allocation call site (sites.c) that
 * allocated it. Called by the handler and the scanner under rt.lock. */
#ifndef USWAP_ATTRIB_H
#define USWAP_ATTRIB_H

#include <stdbool.h>
#include <stdint.h>

enum attrib_ev {
	EV_FAULT,    /* a fault that filled the page (zero fill or read) */
	EV_MAJFAULT, /* ... that needed a read (swap or file): counts as an EV_FAULT too */
	EV_EVICT,    /* the page was reclaimed */
	EV_REFAULT,  /* the page was read back after being reclaimed */
	NR_EV,
};

struct jbuf;
struct region;

/* Origins: what a page belongs to, for per-region counters. Origin 0 is
 * "other" (the table is full); each heap, each mmap of 1 MiB or more and
 * each mapped file (by path) has its own; smaller mmaps share one. */
#define ORIGIN_OTHER 0
uint32_t origin_new(const struct region *r, const char *path);
/* An event of the page at addr, in region r (its origin). Caller holds rt.lock. */
void attrib_event(const struct region *r, uintptr_t addr, enum attrib_ev ev);
/* Resident page count of an origin: frames taken and released (lru.c). */
void origin_resident(uint32_t o, int delta);

/* The refault clock (rt.nonresident_age) moves on evictions and on
 * activations; the curve needs evictions alone. age_tick moves the clock
 * and keeps a checkpoint of the eviction count every 64 ticks, so a
 * refault's shadow age maps back to the evictions since (within 64). */
void age_tick(bool eviction);
/* A page filled for the first time (zeros, or a file page's first read). */
void attrib_fill(void);
/* A refault whose shadow age is age: record its distance for the curve. */
void attrib_refault(bool file, uint64_t age);
/* The "eviction_distance" histograms (log2 buckets, as refault_distance). */
void eviction_distance_json(struct jbuf *j);

/* The "regions" array and the "mrc" object of the stats file. */
void regions_json(struct jbuf *j);
void mrc_json(struct jbuf *j);

/* Call-site sampling (sites.c). sites_event is called under rt.lock for
 * every event of a page; it must not block on anything but its own short
 * lock and must never touch managed memory. */
void sites_event(uintptr_t addr, enum attrib_ev ev);
/* The "sites" object of the stats file: {"sample_bytes": N, ...}. */
void sites_json(struct jbuf *j);

#endif
