/* The stats file's counters: one list, for the runtime that writes them
 * (src/obs/stats.h) and the report that reads them (src/cli/report/).
 *
 * The stats file is one JSON object: "schema_version" (USWAP_STATS_VERSION),
 * "limit_bytes", every counter below by name, then the structured members
 * ("run", "psi", "threads", "regions", "mrc", "sites", "children", ...).
 * Names follow /proc/vmstat where the kernel has one. Bump the version
 * when a key changes meaning or goes; adding one does not. */
#ifndef USWAP_STATS_SCHEMA_H
#define USWAP_STATS_SCHEMA_H

#define USWAP_STATS_VERSION 1

/* X(name, description) */
#define USWAP_STATS_COUNTERS(X)                                                          \
	X(pgfault, "userfaultfd faults served")                                          \
	X(pgmajfault, "faults served from the swap file")                                \
	X(pswpin, "pages read from the swap file")                                       \
	X(pswpout, "pages written to the swap file")                                     \
	X(zswpout, "pages stored in the compressed pool")                                \
	X(zswpin, "pages loaded from the compressed pool")                               \
	X(zswpwb, "pool pages written to the swap file (writeback)")                     \
	X(zswap_reject_compress_poor, "pages the pool refused: compress too poorly")     \
	X(zswap_reject_pool_limit, "pages the pool refused: at its size")                \
	X(zswap_pool_bytes, "memory the pool holds at exit (counted in the limit)")      \
	X(zswap_pool_bytes_peak, "... and its peak")                                     \
	X(zswap_stored_pages, "pages in the pool at exit")                               \
	X(zswap_pool_max_bytes, "the pool's size at exit (--compress-pool, or auto's)")  \
	X(zswap_auto_grow, "--compress-pool auto: steps up (1/32 of the limit each)")   \
	X(zswap_auto_shrink, "--compress-pool auto: steps down")                         \
	X(zswap_stored_bytes, "their compressed bytes")                                  \
	X(pgscan_anon, "inactive pages the scanner looked at")                           \
	X(pgsteal_anon, "anon pages reclaimed (dropped from memory)")                    \
	X(pgscan_file, "inactive file pages the scanner looked at")                      \
	X(pgsteal_file, "file pages reclaimed (dropped, or written back)")               \
	X(pgpgin, "file pages read from their files")                                    \
	X(pgpgout, "file pages written back to their files")                             \
	X(pgactivate, "inactive pages referenced and moved back")                        \
	X(pgdeactivate, "active pages made inactive (armed to trap)")                    \
	X(pgdeactivate_moves, "UFFDIO_MOVE calls that armed pages (a run of them is one)")  \
	X(pgrotated, "pages put back because they could not move now")                   \
	X(pgzerofill, "first touches filled with zeros")                                 \
	X(pgfree_discard, "pages released by free/munmap/MADV_DONTNEED")                 \
	X(pgsteal_clean, "reclaimed without writing: swap copy still valid")             \
	X(pgsteal_zero, "reclaimed without writing: the page was all zeros")             \
	X(pswpout_writes, "swap write requests (a run of neighbouring slots is one)")     \
	X(swap_ra, "pages read ahead: of a sequential fault stream, or a slot cluster")  \
	X(swap_ra_hit, "read-ahead pages then touched")                                  \
	X(swap_ra_cluster, "of swap_ra: pages from slots next to a major fault's slot")  \
	X(swap_ra_cluster_hit, "of swap_ra_hit: pages of swap_ra_cluster")               \
	X(swap_prefetch, "pages read from swap for MADV_WILLNEED")                       \
	X(pgpageout, "pages queued for reclaim by MADV_PAGEOUT")                         \
	X(unevictable_pgs_mlocked, "pages taken off the lists because mlock'd")          \
	X(workingset_refault_anon, "swap-ins of pages evicted earlier")                  \
	X(workingset_activate_anon, "refaults close enough to go straight to active")    \
	X(workingset_restore_anon, "refaults of pages that were active when evicted")    \
	X(workingset_refault_file, "file pages read again after being dropped")          \
	X(workingset_activate_file, "... close enough to go straight to active")         \
	X(workingset_restore_file, "... that were active when dropped")                  \
	X(file_maps_managed, "file mmaps managed (emulated)")                            \
	X(file_maps_kernel, "file mmaps left to the kernel")                             \
	X(file_maps_released, "MAP_SHARED file mmaps handed back to the kernel at fork") \
	X(file_write_errors, "failed writebacks to a mapped file (page kept)")           \
	X(nr_active_anon, "list sizes at exit, in pages ...")                            \
	X(nr_inactive_anon, "")                                                          \
	X(nr_active_file, "")                                                            \
	X(nr_inactive_file, "")                                                          \
	X(nr_active_anon_peak, "... and their peaks")                                    \
	X(nr_inactive_anon_peak, "")                                                     \
	X(nr_active_file_peak, "")                                                       \
	X(nr_inactive_file_peak, "")                                                     \
	X(swappiness_effective, "the swappiness in force at exit (auto: measured)")      \
	X(anon_io_ns, "measured cost of an anon refault: swap read (+write)")            \
	X(file_io_ns, "measured cost of a file refault: file read (+write)")             \
	X(throttle_count, "faults that had to wait for free memory")                     \
	X(throttle_ns, "time those faults waited")                                       \
	X(throttle_retry, "faults raised again by a thread already waiting (a signal)")  \
	X(throttle_overflow, "faults that found the wait queue full (woken to retry)")   \
	X(throttle_waiters_peak, "faults waiting for memory at once, peak")              \
	X(swap_write_errors, "failed swap writes (page kept resident)")                  \
	X(swap_full, "evictions skipped: no swap slot")                                  \
	X(swap_read_errors, "failed swap reads (fatal)")                                 \
	X(scan_passes, "scanner wake-ups that reclaimed")                                \
	X(scanner_cpu_ns, "CPU time of the scanner thread")                              \
	X(handler_cpu_ns, "CPU time of the fault handler thread")                        \
	X(tracking_faults, "traps on inactive pages (reference bits)")                   \
	X(nr_regions_peak, "managed regions, peak")                                      \
	X(vma_peak, "lines in /proc/self/maps, peak (sampled)")                          \
	X(resident_peak_bytes, "managed resident bytes, peak")                           \
	X(swap_bytes_peak, "swap slots in use, peak bytes")                              \
	X(swap_file_bytes, "swap file size at exit")

/* Every counter's identity, so that a reader naming a key that is not in
 * the list fails to compile: USWAP_STAT_KEY(pgfault) is "pgfault" (an
 * address constant: usable in static tables). */
enum uswap_stat_id {
#define USWAP_STAT_ID_(name, desc) USWAP_STAT_ID_##name,
	USWAP_STATS_COUNTERS(USWAP_STAT_ID_)
#undef USWAP_STAT_ID_
		USWAP_NR_STATS
};
#define USWAP_STAT_KEY(name) (#name + 0 * USWAP_STAT_ID_##name)

#endif
