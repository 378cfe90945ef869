/* Stall (PSI) accounting: the time the program's threads wait on memory,
 * as the kernel's pressure stall information counts it (psi.c). The fault
 * handler reports each stall's start and end; the monitor samples the
 * totals. */
#ifndef USWAP_PSI_H
#define USWAP_PSI_H

#include <stdbool.h>
#include <stdint.h>

enum { PSI_THROTTLE, PSI_SWAPIN, PSI_MEMORY, NR_PSI };

/* Stall totals up to t: some (at least one thread stalled) and full (all). */
struct psi_times {
	uint64_t t;
	uint64_t some[NR_PSI], full[NR_PSI];
};

/* Percentages over the whole run and over the last 10 s. */
struct psi_pct {
	double some, full, some10, full10;
};

/* From the fault handler thread only. A thread stalls when its fault waits
 * for a free frame (throttled) or for a read (swap-in or file read); tid
 * is the faulting thread. */
void psi_fault(int tid, bool major);
void psi_throttle_begin(int tid, uintptr_t page);
/* reading: its swap-in now starts; major: it was served from swap at once
 * (the compressed pool). */
void psi_throttle_end(int tid, uintptr_t page, bool reading, bool major);
void psi_read_begin(int tid, uintptr_t page);
void psi_read_end(uintptr_t page); /* every thread waiting on page */

/* The run starts at now: percentages are of the time since. */
void psi_start(uint64_t now);
uint64_t psi_start_time(void);
/* The totals up to now. */
void psi_read(struct psi_times *out);
/* Count the program's threads (the process's, less the runtime's own):
 * "full" means all of them. */
void psi_sample_threads(void);
/* Keep p for the 10 s averages (once per monitor interval). */
void psi_sample(const struct psi_times *p);
void psi_pct(const struct psi_times *cur, int i, struct psi_pct *p);

struct jbuf;
/* {"throttle": {...}, "swapin": {...}, "memory": {...}} */
void psi_json(struct jbuf *j, const struct psi_times *cur);
/* The most stalled threads: [{"tid": ..., "name": ..., ...}, ...] */
void psi_threads_json(struct jbuf *j, const struct psi_times *cur);

/* In a forked child: no thread of the parent's stalls here. */
void psi_fork_child(void);
/* For tests: forget everything, read time from clock (NULL: the real one). */
void psi_reset(uint64_t (*clock)(void));

#endif
