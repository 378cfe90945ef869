/*
 * The pager: the state every paging thread shares, in one place.
 *
 * It holds the lock over all page bookkeeping, the limit and the
 * watermarks derived from it, the counts the threads read of each other
 * (pages under writeback, faults waiting for memory, pages MADV_PAGEOUT
 * asked for), the wake-ups between the threads, and the fork barrier.
 * The fault handler and the scanner (engine/) and the monitor (control/)
 * never call each other: they meet here.
 *
 * Lock order, outermost first; a thread holding one may take only those
 * below it:
 *
 *   1. the fork lock (runtime/fork.c): one fork at a time
 *   2. the monitor lock (control/monitor.c): a monitor tick against the
 *      last trace row at exit; a tick steps the auto limit under it
 *   3. the auto-limit lock (policy/autolimit.c): the controller and the
 *      live settings change the limit under it
 *   4. pager.lock: page states (mm/page.h), regions, frames and lists,
 *      swap slots, mapped files, staging
 *   5. leaf locks, held for a few instructions around their own data and
 *      never across another lock: the PSI lock (obs/psi.c), the sites
 *      lock (obs/sites.c; the handler only tries it, see sites_event), the
 *      heap's bump lock (runtime/heap.c)
 *
 * No thread holds pager.lock while it can fault on managed memory: the
 * fault handler would wait for it while the faulting thread waits for the
 * handler. During a fork the forking thread holds it for the handler,
 * which then serves that thread's faults without taking it (fork_locked).
 * The lock records its owner: a signal handler that ends the program on a
 * thread inside the runtime must not wait for itself (runtime_exit); under
 * USWAP_DEBUG pager_assert_locked checks it.
 */
#ifndef USWAP_PAGER_H
#define USWAP_PAGER_H

#include "lru.h"
#include "sys.h"
#include "zpool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pager {
	struct sys_lock lock;  /* see above */
	pid_t owner;	       /* the thread holding lock (0: none) */
	bool enabled;	       /* the runtime is up and managing memory */
	uint64_t limit_pages;  /* hard limit on resident managed pages */
	uint64_t wmark_min;    /* free pages below which faults wait */
	uint64_t wmark_low;    /* free pages below which the scanner wakes */
	uint64_t wmark_high;   /* free pages the scanner reclaims up to */
	double wmark_frac[3];  /* min, low, high as fractions of the limit (--wmark-*) */
	unsigned batch;	       /* pages per reclaim batch (--batch) */
	uint64_t nr_writeback; /* pages under writeback (scanner) */
	uint64_t nr_waiting;   /* faults queued for free memory (handler) */
	uint64_t pageout_req;  /* pages MADV_PAGEOUT or ctl reclaim queued at the inactive tail */
	uint32_t scanner_kick; /* a scanner wake-up is pending */
	int scan_efd;	       /* eventfd: wakes the scanner */
	int fault_efd;	       /* eventfd: wakes the fault handler (memory was freed) */
	/* The fork barrier (runtime/fork.c): */
	uint32_t fork_req;    /* futex word: a fork is being prepared (a generation) */
	uint32_t fork_parked; /* futex word: FORK_PARKED_* of the threads that are ready */
	uint32_t fork_locked; /* the forking thread holds lock for the handler */
	pid_t fork_tid;	      /* the forking thread */
};

#define FORK_PARKED_SCANNER 1u
#define FORK_PARKED_HANDLER 2u

extern struct pager pager;

/* From config: the watermarks' fractions and the batch; the limit and the
 * watermarks derived from them. */
void pager_init(uint64_t limit_bytes);
/* The eventfds the threads wake each other with (in a forked child, new
 * ones of its own). 0, or -errno with err. */
int pager_open(char *err, size_t errlen);
/* The runtime manages memory from now on. */
void pager_enable(void);
/* Set the limit and derive the watermarks (in free pages) from config,
 * under the lock; then wake the scanner (a lower limit) and the handler's
 * waiters (a higher one). */
void pager_set_limit(uint64_t bytes);
/* The same for new watermark fractions and batch size (ctl set). */
void pager_set_watermarks(double min, double low, double high, unsigned batch);

/* Resident pages and the compressed pool's share the limit. */
static inline uint64_t pager_free_pages(void)
{
	uint64_t used = lru.nr_allocated + zpool.nr_pages;

	return used >= pager.limit_pages ? 0 : pager.limit_pages - used;
}

void pager_lock(void);
void pager_unlock(void);
/* This thread holds pager.lock: a signal handler interrupted it inside the
 * runtime. */
bool pager_held_by_me(void);
/* USWAP_DEBUG: the caller holds pager.lock (or the fork holds it for it). */
void pager_assert_locked(void);

/* Wake the scanner; wake the handler if faults wait for memory; wake the
 * handler whatever it is doing (new work of its own: a prefetch, a fork). */
void pager_wake_scanner(void);
void pager_wake_handler(void);
void pager_kick_handler(void);

/* MAP_POPULATE on a managed mapping: fault it in through the handler (the
 * kernel would fill it behind our back), as far as free memory goes; the
 * rest is filled on first touch, as without the flag. Returns p. */
void *pager_populate(void *p, size_t len, int prot);

/* The fork barrier. begin: the handler and the scanner finish their I/O
 * and park, then the caller takes the lock. end: release both. park: the
 * calling paging thread is ready (bit FORK_PARKED_*). */
void pager_fork_begin(void);
/* From here until pager_fork_end the lock is held for the handler: it
 * serves the forking thread's faults without taking it. */
void pager_fork_hold(void);
void pager_fork_end(void);
void pager_fork_park(uint32_t bit);
static inline bool pager_forking(void)
{
	return __atomic_load_n(&pager.fork_req, __ATOMIC_ACQUIRE) != 0;
}
/* In a forked child (one thread): what the other threads held is free. */
void pager_fork_child(void);
/* A forked child that runs unmanaged: no eventfds, the runtime off. */
void pager_disable(void);

#endif
