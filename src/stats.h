/* Counters, named after /proc/vmstat where the kernel has one. */
#ifndef USWAP_STATS_H
#define USWAP_STATS_H

#include <stdint.h>

#define STAT_LIST(X)                                                                      \
	X(pgfault)                 /* userfaultfd faults served */                        \
	X(pgmajfault)              /* faults served from the swap file */                 \
	X(pswpin)                  /* pages read from the swap file */                    \
	X(pswpout)                 /* pages written to the swap file */                   \
	X(pgscan_anon)             /* inactive pages the scanner looked at */             \
	X(pgsteal_anon)            /* pages reclaimed (dropped from memory) */            \
	X(pgactivate)              /* inactive pages referenced and moved back */         \
	X(pgdeactivate)            /* active pages made inactive (armed to trap) */       \
	X(pgrotated)               /* pages put back because they could not move now */   \
	X(pgzerofill)              /* first touches filled with zeros */                  \
	X(pgfree_discard)          /* pages released by free/munmap/MADV_DONTNEED */      \
	X(pgsteal_clean)           /* reclaimed without writing: swap copy still valid */ \
	X(pgsteal_zero)            /* reclaimed without writing: the page was all zeros */ \
	X(swap_ra)                 /* pages read ahead of a sequential fault stream */    \
	X(swap_ra_hit)             /* read-ahead pages then faulted on */                 \
	X(swap_prefetch)           /* pages read from swap for MADV_WILLNEED */           \
	X(pgpageout)               /* pages queued for reclaim by MADV_PAGEOUT */         \
	X(unevictable_pgs_mlocked) /* pages taken off the lists because mlock'd */        \
	X(workingset_refault_anon) /* swap-ins of pages evicted earlier */                \
	X(workingset_activate_anon)/* refaults close enough to go straight to active */   \
	X(workingset_restore_anon) /* refaults of pages that were active when evicted */  \
	X(throttle_count)          /* faults that had to wait for free memory */          \
	X(throttle_ns)             /* time those faults waited */                         \
	X(swap_write_errors)       /* failed swap writes (page kept resident) */          \
	X(swap_full)               /* evictions skipped: no swap slot */                  \
	X(swap_read_errors)        /* failed swap reads (fatal) */                        \
	X(scan_passes)             /* scanner wake-ups that reclaimed */                  \
	X(scanner_cpu_ns)          /* CPU time of the scanner thread */                   \
	X(handler_cpu_ns)          /* CPU time of the fault handler thread */             \
	X(tracking_faults)         /* traps on inactive pages (reference bits) */         \
	X(nr_regions_peak)         /* managed regions, peak */                            \
	X(vma_peak)                /* lines in /proc/self/maps, peak (sampled) */         \
	X(resident_peak_bytes)     /* managed resident bytes, peak */                     \
	X(swap_bytes_peak)         /* swap slots in use, peak bytes */                    \
	X(swap_file_bytes)         /* swap file size at exit */

struct stats {
#define X(name) uint64_t name;
	STAT_LIST(X)
#undef X
};

extern struct stats stats;

#define stat_add(name, n) __atomic_fetch_add(&stats.name, (n), __ATOMIC_RELAXED)
#define stat_inc(name) stat_add(name, 1)
static inline void stat_max(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Write all counters as one JSON object to path (raw syscalls only). */
int stats_write_json(const char *path);
/* A descendant process's counters, appended to "<path>.children" for the
 * top process to sum into its own file. */
int stats_append_child(const char *path);
/* A short human summary on stderr. */
void stats_print_summary(void);

#endif
