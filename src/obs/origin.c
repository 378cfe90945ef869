/*
 * Where the paging comes from: per-origin counters, each origin a managed
 * region as the program made it (the heap, an mmap, a mapped file).
 *
 * Everything here runs under the pager lock, called from the fault
 * handler, the scanner and the interposed calls; the table is fixed-size
 * metadata.
 */
#define _GNU_SOURCE
#include "origin.h"

#include "jbuf.h"
#include "sys.h"

#include <stdio.h>
#include <string.h>

#define MAX_ORIGINS 4096
#define SMALL_MMAP (1u << 20)

struct origin {
	char name[120];
	uint8_t kind;			  /* enum region_kind */
	uint64_t size;			  /* bytes mapped under this origin, all time */
	uint64_t resident, resident_peak; /* pages */
	uint64_t ev[NR_EV];
};

static struct origin *origins;
static uint32_t nr_origins;
static uint32_t origin_small = UINT32_MAX; /* the shared one of small mmaps */

static uint32_t origin_add(enum origin_kind kind, const char *name)
{
	if (!origins) {
		origins = sys_alloc_meta(MAX_ORIGINS * sizeof(*origins));
		if (!origins)
			return ORIGIN_OTHER;
		snprintf(origins[0].name, sizeof(origins[0].name), "other");
		origins[0].kind = ORIGIN_MMAP;
		nr_origins = 1;
	}
	if (nr_origins == MAX_ORIGINS)
		return ORIGIN_OTHER;
	snprintf(origins[nr_origins].name, sizeof(origins[0].name), "%s", name);
	origins[nr_origins].kind = (uint8_t)kind;
	return nr_origins++;
}

uint32_t origin_new(enum origin_kind kind, uintptr_t start, size_t len, const char *path)
{
	char name[120];
	uint32_t o;

	if (kind == ORIGIN_FILE) {
		/* One origin per file: a file mapped many times adds up. */
		for (o = 1; origins && o < nr_origins; o++)
			if (origins[o].kind == ORIGIN_FILE &&
			    !strncmp(origins[o].name, path, sizeof(name) - 1))
				goto found;
		o = origin_add(ORIGIN_FILE, path);
	} else if (kind == ORIGIN_HEAP) {
		o = origin_add(ORIGIN_HEAP, "heap (malloc)");
	} else if (len < SMALL_MMAP) {
		if (origin_small == UINT32_MAX)
			origin_small = origin_add(ORIGIN_MMAP, "mmaps under 1 MiB");
		o = origin_small;
	} else {
		snprintf(name, sizeof(name), "mmap %#lx +%zuK", (unsigned long)start, len >> 10);
		o = origin_add(ORIGIN_MMAP, name);
	}
found:
	if (origins)
		origins[o].size += kind == ORIGIN_HEAP ? 0 : len;
	return o;
}

void origin_resident(uint32_t o, int delta)
{
	struct origin *g;

	if (!origins)
		return;
	g = &origins[o];
	g->resident += (uint64_t)(int64_t)delta;
	if (g->resident > g->resident_peak)
		g->resident_peak = g->resident;
}

void origin_event(uint32_t o, enum obs_ev ev)
{
	if (origins) {
		origins[o].ev[ev]++;
		origins[o].ev[EV_FAULT] += ev == EV_MAJFAULT;
	}
}

static uint64_t origin_weight(const struct origin *g)
{
	return g->ev[EV_EVICT] + g->ev[EV_REFAULT] + g->ev[EV_FAULT];
}

void origin_json(struct jbuf *j, bool (*mapped)(uint32_t o), uint64_t heap_bytes)
{
	static const char *const kinds[] = { "heap", "anon", "file" };
	static uint32_t order[MAX_ORIGINS];
	uint32_t n = 0;

	for (uint32_t o = 0; o < nr_origins; o++)
		if (origin_weight(&origins[o]) || origins[o].resident_peak)
			order[n++] = o;
	/* Insertion sort by weight, heaviest first: n is small in practice. */
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t k = i;
		     k && origin_weight(&origins[order[k]]) > origin_weight(&origins[order[k - 1]]);
		     k--) {
			uint32_t t = order[k];

			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	jbuf_printf(j, "[");
	for (uint32_t i = 0; i < n && i < 200; i++) {
		const struct origin *g = &origins[order[i]];
		uint64_t size = g->size;

		if (g->kind == ORIGIN_HEAP)
			size = heap_bytes;
		jbuf_printf(j, "%s{\"name\": ", i ? ", " : "");
		jbuf_str(j, g->name);
		jbuf_printf(j,
			    ", \"kind\": \"%s\", \"size_bytes\": %llu, \"resident_bytes\": %llu, "
			    "\"resident_peak_bytes\": %llu, \"faults\": %llu, \"majfaults\": %llu, "
			    "\"evictions\": %llu, \"refaults\": %llu, \"mapped\": %s}",
			    kinds[g->kind], (unsigned long long)size,
			    (unsigned long long)(g->resident << 12),
			    (unsigned long long)(g->resident_peak << 12),
			    (unsigned long long)g->ev[EV_FAULT],
			    (unsigned long long)g->ev[EV_MAJFAULT],
			    (unsigned long long)g->ev[EV_EVICT],
			    (unsigned long long)g->ev[EV_REFAULT],
			    mapped(order[i]) ? "true" : "false");
	}
	jbuf_printf(j, "]");
}
