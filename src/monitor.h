/* The monitor thread: the time-series trace, stall (PSI) accounting, the
 * auto-size limit controller and the control socket. It never scans or
 * evicts; it reads counters and changes settings. */
#ifndef USWAP_MONITOR_H
#define USWAP_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jbuf;

int monitor_start(char *err, size_t errlen);
/* Stop the thread and write the last trace row (at exit). */
void monitor_stop(void);
/* In a forked child: a thread and control socket of its own, no trace. */
int monitor_fork_child(char *err, size_t errlen);
/* One line for -v: the stall, and where --limit auto settled. */
void monitor_summary(char *buf, size_t len);
/* The "run", "psi", "threads" (and "auto") members of the stats file. */
void monitor_run_json(struct jbuf *j);

/* The live counters, the settings in force and the stall figures, as one
 * JSON object (what `uswap ctl PID` shows). */
void monitor_snapshot_json(struct jbuf *j);

/* Change settings while the program runs: env[i]=val[i] for n pairs, in
 * USWAP_* names. All are checked first; on any error nothing changes and
 * err says why. Settable: USWAP_LIMIT (a size or "auto"), USWAP_SWAPPINESS,
 * USWAP_WMARK_MIN/LOW/HIGH, USWAP_BATCH, USWAP_REFAULT_ACTIVATE,
 * USWAP_FILE_CACHE. */
int monitor_set(int n, const char *const env[], const char *const val[], char *err, size_t errlen);

/* Reclaim pages now (like memory.reclaim): returns the pages reclaimed
 * (fewer if nothing more could be evicted before the timeout) or -errno. */
int64_t monitor_reclaim(uint64_t pages, uint64_t timeout_ns);

/* Stall (PSI) accounting, from the fault handler thread only. A thread
 * stalls when its fault waits for a free frame (throttled) or for a read
 * (swap-in or file read); tid is the faulting thread. */
void psi_fault(int tid, bool major);
void psi_throttle_begin(int tid, uintptr_t page);
void psi_throttle_end(int tid, uintptr_t page, bool reading);
void psi_read_begin(int tid, uintptr_t page);
void psi_read_end(uintptr_t page); /* every thread waiting on page */

#endif
