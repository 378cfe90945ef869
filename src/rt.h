/* The runtime: global state, managed ranges, and the operations the preload
 * layer calls. The core does not know how it was hooked. */
#ifndef USWAP_RT_H
#define USWAP_RT_H

#include "region.h"
#include "sys.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt {
	struct sys_lock lock;    /* page states, regions, LRU, swap slots */
	bool enabled;            /* runtime initialised and managing memory */
	uint64_t limit_pages;    /* hard limit on resident managed pages */
	uint64_t wmark_min;      /* free pages below which faults wait */
	uint64_t wmark_low;      /* free pages below which the scanner wakes */
	uint64_t wmark_high;     /* free pages the scanner reclaims up to */
	uintptr_t staging;       /* staging page of frame i: staging + i * 4096 */
	size_t staging_len;
	uint64_t nonresident_age;/* evictions + activations: the refault clock */
	uint64_t nr_writeback;   /* pages under writeback */
	uint64_t nr_waiting;     /* faults queued for free memory */
	uint32_t scanner_kick;   /* futex word: scanner wake-ups requested */
	int fault_efd;           /* eventfd: wakes the fault handler (memory was freed) */
	uintptr_t heap_start, heap_end;
	uint32_t heap_bump_lock;
	uintptr_t heap_top;
	pid_t pid;               /* the process the runtime threads belong to */
	/* fork(): see fork.c */
	uint32_t fork_req;       /* futex word: a fork is being prepared */
	uint32_t fork_parked;    /* futex word: FORK_PARKED_* of the threads that are ready */
	uint32_t fork_locked;    /* the forking thread holds rt.lock */
	pid_t fork_tid;          /* the forking thread */
	uint64_t pageout_req;    /* pages MADV_PAGEOUT queued at the inactive tail */
	uintptr_t prefetch_lo, prefetch_hi; /* MADV_WILLNEED range still to read */
	bool mlock_future;       /* mlockall(MCL_FUTURE): new mappings are left to the kernel */
};

#define FORK_PARKED_SCANNER 1u
#define FORK_PARKED_HANDLER 2u

extern struct rt rt;
/* Set while rt_start_thread creates one of our threads. */
extern __thread bool rt_starting_thread;
/* The runtime's own threads in this process (not the program's). */
extern uint32_t rt_nr_threads;

int rt_init(char *err, size_t errlen);
/* Set the limit and derive the watermarks (in free pages) from config. */
void rt_set_limit(uint64_t bytes);
/* Register [start, start+len) with userfaultfd and add it to the table. */
int rt_manage(uintptr_t start, size_t len, enum region_kind kind);
/* Release every page of [start, start+len) that is managed: frames, staging
 * pages and swap slots; their next touch reads zeros. Caller holds rt.lock. */
void rt_discard_locked(uintptr_t start, size_t len);
bool rt_overlaps_locked(uintptr_t start, size_t len);

static inline uint64_t rt_free_pages(void);
void rt_wake_scanner(void);
void rt_wake_handler(void);

/* Staging page of a frame. */
static inline uintptr_t rt_staging(uint32_t f)
{
	return rt.staging + ((uintptr_t)f << 12);
}


/* fork(): pthread_atfork handlers (fork.c). rt_fork_child returns false if
 * the child runs unmanaged. */
void rt_fork_prepare(void);
void rt_fork_parent(void);
bool rt_fork_child(void);
/* Called by the runtime threads when rt.fork_req is set. */
void rt_fork_park(uint32_t bit);
struct io_uring;
void rt_ring_forget(struct io_uring *ring);
int fault_fork_child(bool start, char *err, size_t errlen);
int scan_fork_child(bool start, char *err, size_t errlen);
int track_fork_child(char *err, size_t errlen);

/* Counters derived at exit. */
void rt_exit_report(void);

/* The interposed calls. Each behaves as the kernel call would; managed
 * ranges get their bookkeeping before or after the real call. */
void *rt_mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int rt_munmap(void *addr, size_t len);
void *rt_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
int rt_madvise(void *addr, size_t len, int advice);
/* MAP_POPULATE of a managed mapping: fault it in through the handler. */
void *rt_populate(void *p, size_t len, int prot);
int rt_mprotect(void *addr, size_t len, int prot);
/* mlock family: lock (or unlock) the range's pages in memory. */
int rt_mlock(const void *addr, size_t len, unsigned flags, bool lock);
int rt_mlockall(int flags);
int rt_munlockall(void);
/* Deactivate an active page (scan.c); caller holds rt.lock. */
int scan_deactivate(uint32_t f, bool to_tail);
/* Is the page in an mlock'd region? Caller holds rt.lock. */
bool rt_page_locked(uintptr_t addr);

/* The malloc heap: jemalloc's extent hooks carve from here. */
void *rt_heap_alloc(size_t size, size_t align);
void rt_heap_purge(void *addr, size_t len);

/* Threads (fault.c, scan.c), started with every signal blocked. */
#include <pthread.h>
int rt_start_thread(pthread_t *t, void *(*fn)(void *), const char *name, char *err, size_t errlen);
int fault_start(char *err, size_t errlen);
int scan_start(char *err, size_t errlen);
extern pthread_t fault_thread, scan_thread;
/* Serve queued faults now that memory may be free (handler thread). */

#include "lru.h"
static inline uint64_t rt_free_pages(void)
{
	return lru.nr_allocated >= rt.limit_pages ? 0 : rt.limit_pages - lru.nr_allocated;
}

#endif
