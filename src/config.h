/* Runtime settings: one table, read from USWAP_* environment variables.
 * The CLI validates the same table before it execs the program, so an error
 * reads the same whichever way the settings arrive. */
#ifndef USWAP_CONFIG_H
#define USWAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum track_mode {
	TRACK_UFFD,     /* soft eviction with UFFDIO_MOVE: kernel-safe, the default */
	TRACK_MPROTECT, /* PROT_NONE + SIGSEGV: opt-in, see README for its hazards */
};

struct config {
	uint64_t limit_bytes;     /* USWAP_LIMIT: resident limit of managed memory */
	const char *swap_path;    /* USWAP_SWAP: swap file path, NULL = anonymous in $TMPDIR */
	uint64_t swap_size;       /* USWAP_SWAP_SIZE: cap on the swap file, 0 = until disk full */
	int swappiness;           /* USWAP_SWAPPINESS: 0..200, or SWAPPINESS_AUTO */
	const char *stats_path;   /* USWAP_STATS: JSON counters at exit */
	bool verbose;             /* USWAP_VERBOSE: summary on stderr at exit */
	bool debug;               /* USWAP_DEBUG: internal invariant checks */
	enum track_mode track;    /* USWAP_TRACK */
	double wmark_min;         /* USWAP_WMARK_MIN: free fraction below which faults block */
	double wmark_low;         /* USWAP_WMARK_LOW: free fraction that wakes the scanner */
	double wmark_high;        /* USWAP_WMARK_HIGH: free fraction the scanner reclaims to */
	uint64_t heap_reserve;    /* USWAP_HEAP_RESERVE: address space for the malloc heap */
	unsigned batch;           /* USWAP_BATCH: pages per reclaim batch */
	unsigned granule_pages;   /* USWAP_GRANULE: mprotect tracking granule, in pages */
	long stats_pid;           /* USWAP_STATS_PID: only this pid writes the stats file */
	bool fork_unmanaged;      /* USWAP_ON_FORK=unmanaged: a forked child restores its pages and runs unmanaged */
	bool no_children;         /* USWAP_NO_CHILDREN: only this process is managed */
	bool refault_activate;    /* USWAP_REFAULT_ACTIVATE: refaults within the working set go straight to active */
	bool file_maps;           /* USWAP_FILE_MAPS=managed: file mmaps are managed (else left to the kernel) */
	bool file_cache_drop;     /* USWAP_FILE_CACHE=drop: evicted file pages leave the kernel's page cache too */
	bool limit_auto;          /* USWAP_LIMIT=auto: the monitor sizes the limit by stall time */
	double auto_target;       /* USWAP_AUTO_TARGET: stall (some) % the auto limit aims under */
	double auto_step;         /* USWAP_AUTO_STEP: fraction the auto limit moves per period */
	uint64_t auto_period_ns;  /* USWAP_AUTO_PERIOD: time between auto limit decisions */
	const char *trace_path;   /* USWAP_TRACE: time series of the counters */
	uint64_t interval_ns;     /* USWAP_INTERVAL: trace (and monitor) period */
	uint64_t sample_bytes;    /* USWAP_SAMPLE_BYTES: mean bytes between sampled allocations, 0 off */
};

/* --swappiness auto: the anon/file I/O cost ratio is measured, not set. */
#define SWAPPINESS_AUTO (-1)

extern struct config config;

/* Parse "123", "64K", "256M", "2G" (binary units) into bytes. Returns 0 or -EINVAL/-ERANGE. */
int config_parse_size(const char *s, uint64_t *ret_bytes);

/* Fill config from the environment. On a bad value writes the problem to
 * err (one line, no "uswap: " prefix) and returns -EINVAL. A missing
 * USWAP_LIMIT returns -ENOENT: the runtime then stays off. */
int config_load(char *err, size_t errlen);

/* Check one setting by its environment name; used by the CLI. */
int config_check(const char *env, const char *value, char *err, size_t errlen);
/* Apply one setting to c (which may be a scratch copy). */
int config_apply(struct config *c, const char *env, const char *value, char *err, size_t errlen);
/* Parse a duration: "100ms", "2s", "500us", a bare number is ms. */
int config_parse_duration(const char *s, uint64_t *ret_ns);

#endif
