/* Attribution of paging events to their origin (origin.c): the managed
 * region a page belongs to, as the program made it. Called by the handler,
 * the scanner and the interposed calls under the pager lock. */
#ifndef USWAP_ORIGIN_H
#define USWAP_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What happened to a page (also counted per call site, sites.h). */
enum obs_ev {
	EV_FAULT,    /* a fault that filled the page (zero fill or read) */
	EV_MAJFAULT, /* ... that needed a read (swap or file): counts as an EV_FAULT too */
	EV_EVICT,    /* the page was reclaimed */
	EV_REFAULT,  /* the page was read back after being reclaimed */
	NR_EV,
};

/* What a region was made as (mm/region.h's kinds have the same values). */
enum origin_kind {
	ORIGIN_HEAP, /* the malloc heap */
	ORIGIN_MMAP, /* a private anonymous mmap */
	ORIGIN_FILE, /* a file mmap */
};

struct jbuf;

/* Origins: what a page belongs to, for per-region counters. Origin 0 is
 * "other" (the table is full); each heap, each mmap of 1 MiB or more and
 * each mapped file (by path) has its own; smaller mmaps share one. */
#define ORIGIN_OTHER 0
uint32_t origin_new(enum origin_kind kind, uintptr_t start, size_t len, const char *path);
/* An event of a page of origin o. */
void origin_event(uint32_t o, enum obs_ev ev);
/* Resident page count of an origin: frames taken and released (mm/lru.c). */
void origin_resident(uint32_t o, int delta);
/* The "regions" array of the stats file, heaviest first: mapped(o) says
 * whether origin o still has a region, heap_bytes is the heap's size. */
void origin_json(struct jbuf *j, bool (*mapped)(uint32_t o), uint64_t heap_bytes);

#endif
