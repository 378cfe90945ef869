/* Runtime settings: one table (CONFIG_SETTINGS below), read from USWAP_*
 * environment variables. The same table gives the CLI its options and
 * help, which it validates before it execs the program (so an error reads
 * the same whichever way the settings arrive), and `uswap ctl` its keys and
 * the settings that may change while the program runs. config is read-only
 * once loaded: a live setting's value in force is its owner's (see
 * control/live.c). */
#ifndef USWAP_CONFIG_H
#define USWAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum track_mode {
	TRACK_UFFD,	/* soft eviction with UFFDIO_MOVE: kernel-safe, the default */
	TRACK_MPROTECT, /* PROT_NONE + SIGSEGV: opt-in, see README for its hazards */
};

enum compress_algo {
	COMPRESS_OFF,
	COMPRESS_LZ4,  /* the default: fast both ways */
	COMPRESS_ZSTD, /* level 1: smaller, slower */
};

/*
 * X(ID, environment variable, CLI option, ctl key, argument, help):
 *   option NULL: set through the environment only;
 *   ctl key non-NULL: may change while the program runs (`uswap ctl set`);
 *   argument NULL: a flag, the option sets the variable to 1;
 *   help "": not listed by --help (described under another option).
 * The order is --help's, and the ctl keys' in messages.
 */
#define CONFIG_SETTINGS(X)                                                                        \
	X(LIMIT, "USWAP_LIMIT", "--limit", "limit", "SIZE",                                       \
	  "resident limit (bytes, or K/M/G suffix), required;\n"                                  \
	  "auto: size it by stall time: lower it while the\n"                                     \
	  "memory stall stays under --auto-target percent\n"                                      \
	  "(default 1), raise it when it rises; --auto-step F\n"                                  \
	  "(default 0.05), --auto-period DUR (default 1s)")                                       \
	X(SWAP, "USWAP_SWAP", "--swap", NULL, "PATH",                                             \
	  "swap file location: a directory, or a new file's path\n"                               \
	  "(default: an anonymous file under $TMPDIR, else /tmp)")                                \
	X(SWAP_SIZE, "USWAP_SWAP_SIZE", "--swap-size", NULL, "SIZE",                              \
	  "cap on the swap file (default: until the disk is full)")                               \
	X(SWAP_ENCRYPT, "USWAP_SWAP_ENCRYPT", "--swap-encrypt", NULL, NULL,                       \
	  "encrypt the swap file (XChaCha20-Poly1305, with a key\n"                               \
	  "made at start that never leaves memory)")                                              \
	X(SWAPPINESS, "USWAP_SWAPPINESS", "--swappiness", "swappiness", "N",                      \
	  "0..200, anon vs file reclaim balance (default 60), or\n"                               \
	  "auto: balance by the measured cost of each kind's I/O")                                \
	X(WMARK_MIN, "USWAP_WMARK_MIN", "--wmark-min", "wmark_min", "F",                          \
	  "free fraction of the limit below which faults wait (default 0)")                       \
	X(WMARK_LOW, "USWAP_WMARK_LOW", "--wmark-low", "wmark_low", "F",                          \
	  "free fraction that wakes the scanner (default 0.02)")                                  \
	X(WMARK_HIGH, "USWAP_WMARK_HIGH", "--wmark-high", "wmark_high", "F",                      \
	  "free fraction the scanner reclaims to (default 0.04)")                                 \
	X(BATCH, "USWAP_BATCH", NULL, "batch", "N", "")                                           \
	X(REFAULT_ACTIVATE, "USWAP_REFAULT_ACTIVATE", "--refault-activate", "refault_activate",   \
	  "on|off",                                                                               \
	  "refaults within the working set go straight\n"                                         \
	  "to the active list (default on)")                                                      \
	X(NEW_ANON, "USWAP_NEW_ANON", "--new-anon", NULL, "LIST",                                \
	  "where new and swapped-in anon pages start: active\n"                                   \
	  "(default) or inactive, unarmed (the kernel's way)")                                    \
	X(FILE_MAPS, "USWAP_FILE_MAPS", "--file-maps", NULL, "POLICY",                            \
	  "file mmaps: managed (default) or kernel (left alone)")                                 \
	X(FILE_CACHE, "USWAP_FILE_CACHE", "--file-cache", "file_cache", "POLICY",                 \
	  "an evicted file page: keep (default) in the kernel's\n"                                \
	  "page cache, or drop it from there too")                                                \
	X(STATS, "USWAP_STATS", "--stats", NULL, "FILE", "write counters as JSON at exit")        \
	X(TRACE, "USWAP_TRACE", "--trace", NULL, "FILE",                                          \
	  "record the counters every interval: CSV if FILE ends\n"                                \
	  "in .csv, else JSON lines")                                                             \
	X(INTERVAL, "USWAP_INTERVAL", "--interval", NULL, "DUR",                                  \
	  "trace period (default 100ms; 10ms..60s)")                                              \
	X(SAMPLE_BYTES, "USWAP_SAMPLE_BYTES", "--sample-bytes", NULL, "SIZE",                     \
	  "sample an allocation call stack every SIZE bytes on\n"                                 \
	  "average (default 0: off; 512K is a good value)")                                       \
	X(AUTO_TARGET, "USWAP_AUTO_TARGET", "--auto-target", NULL, "PCT", "")                     \
	X(AUTO_STEP, "USWAP_AUTO_STEP", "--auto-step", NULL, "F", "")                             \
	X(AUTO_PERIOD, "USWAP_AUTO_PERIOD", "--auto-period", NULL, "DUR", "")                     \
	X(COMPRESS, "USWAP_COMPRESS", "--compress", NULL, "ALGO",                                 \
	  "compressed pool in front of the swap file, counted in\n"                              \
	  "the limit: lz4 (default), zstd or off")                                                \
	X(COMPRESS_POOL, "USWAP_COMPRESS_POOL", "--compress-pool", NULL, "F",                     \
	  "largest share of the limit the pool may hold: 0.05..0.9,\n"                            \
	  "or auto (default: follows measured refault cost)")                                    \
	X(SWAP_CLUSTER, "USWAP_SWAP_CLUSTER", "--swap-cluster", NULL, "N",                         \
	  "largest read-ahead of neighbouring swap slots, in\n"                                   \
	  "pages: 0 (off) or a power of two up to 64 (default 16)")                              \
	X(TRACK, "USWAP_TRACK", "--track", NULL, "MECH",                                          \
	  "access tracking: uffd (default) or mprotect")                                          \
	X(ON_FORK, "USWAP_ON_FORK", "--on-fork", NULL, "POLICY",                                  \
	  "a forked child: managed (default: its own runtime and\n"                               \
	  "swap file) or unmanaged (its pages restored, no limit)")                               \
	X(NO_CHILDREN, "USWAP_NO_CHILDREN", "--no-children", NULL, NULL,                          \
	  "manage only COMMAND itself: programs it runs, and its\n"                               \
	  "forked children, run without uswap")                                                   \
	X(VERBOSE, "USWAP_VERBOSE", "--verbose", NULL, NULL, "print a summary on stderr at exit") \
	X(DEBUG, "USWAP_DEBUG", NULL, NULL, NULL, "")                                             \
	X(HEAP_RESERVE, "USWAP_HEAP_RESERVE", NULL, NULL, "SIZE", "")                             \
	X(GRANULE, "USWAP_GRANULE", NULL, NULL, "N", "")                                          \
	X(WQ_CAP, "USWAP_WQ_CAP", NULL, NULL, "N", "")                                            \
	X(STATS_PID, "USWAP_STATS_PID", NULL, NULL, "PID", "")                                    \
	X(CHILDREN_DIR, "USWAP_CHILDREN_DIR", NULL, NULL, "PATH", "")

enum config_id {
#define CONFIG_ID_(id, env, opt, key, arg, help) CONFIG_##id,
	CONFIG_SETTINGS(CONFIG_ID_)
#undef CONFIG_ID_
		NR_CONFIG_SETTINGS
};

/* One row of the table. */
struct config_setting {
	const char *env, *option, *key, *arg, *help;
};
extern const struct config_setting config_settings[NR_CONFIG_SETTINGS];

struct config {
	uint64_t limit_bytes;	/* USWAP_LIMIT: resident limit of managed memory */
	const char *swap_path;	/* USWAP_SWAP: swap file path, NULL = anonymous in $TMPDIR */
	uint64_t swap_size;	/* USWAP_SWAP_SIZE: cap on the swap file, 0 = until disk full */
	bool swap_encrypt;	/* USWAP_SWAP_ENCRYPT: pages on the swap file are sealed (AEAD) */
	int swappiness;		/* USWAP_SWAPPINESS: 0..200, or SWAPPINESS_AUTO */
	const char *stats_path; /* USWAP_STATS: JSON counters at exit */
	bool verbose;		/* USWAP_VERBOSE: summary on stderr at exit */
	bool debug;		/* USWAP_DEBUG: internal invariant checks */
	enum track_mode track;	/* USWAP_TRACK */
	enum compress_algo compress; /* USWAP_COMPRESS: the compressed pool's compressor, or off */
	double compress_pool;	/* USWAP_COMPRESS_POOL: the pool's largest share of the limit */
	bool compress_pool_auto; /* USWAP_COMPRESS_POOL=auto: the share follows measured cost */
	unsigned swap_cluster;	/* USWAP_SWAP_CLUSTER: largest slot-cluster read-ahead, pages (0 off) */
	double wmark_min;	/* USWAP_WMARK_MIN: free fraction below which faults block */
	double wmark_low;	/* USWAP_WMARK_LOW: free fraction that wakes the scanner */
	double wmark_high;	/* USWAP_WMARK_HIGH: free fraction the scanner reclaims to */
	uint64_t heap_reserve;	/* USWAP_HEAP_RESERVE: address space for the malloc heap */
	unsigned batch;		/* USWAP_BATCH: pages per reclaim batch */
	unsigned granule_pages; /* USWAP_GRANULE: mprotect tracking granule, in pages */
	unsigned wq_cap;	/* USWAP_WQ_CAP: fault wait queue capacity (for tests) */
	long stats_pid;		/* USWAP_STATS_PID: only this pid writes the stats file */
	bool fork_unmanaged; /* USWAP_ON_FORK=unmanaged: a forked child restores its pages and runs unmanaged */
	bool no_children; /* USWAP_NO_CHILDREN: only this process is managed */
	bool refault_activate; /* USWAP_REFAULT_ACTIVATE: refaults within the working set go straight to active */
	bool new_anon_inactive; /* USWAP_NEW_ANON=inactive: new and swapped-in anon pages start inactive, unarmed */
	bool file_maps; /* USWAP_FILE_MAPS=managed: file mmaps are managed (else left to the kernel) */
	bool file_cache_drop; /* USWAP_FILE_CACHE=drop: evicted file pages leave the kernel's page cache too */
	bool limit_auto;	 /* USWAP_LIMIT=auto: the monitor sizes the limit by stall time */
	double auto_target;	 /* USWAP_AUTO_TARGET: stall (some) % the auto limit aims under */
	double auto_step;	 /* USWAP_AUTO_STEP: fraction the auto limit moves per period */
	uint64_t auto_period_ns; /* USWAP_AUTO_PERIOD: time between auto limit decisions */
	const char *trace_path;	 /* USWAP_TRACE: time series of the counters */
	uint64_t interval_ns;	 /* USWAP_INTERVAL: trace (and monitor) period */
	uint64_t sample_bytes; /* USWAP_SAMPLE_BYTES: mean bytes between sampled allocations, 0 off */
	const char *
		children_dir; /* USWAP_CHILDREN_DIR: the top process's private directory for its descendants' counters (control/statsfile.c) */
	const char *tmpdir;   /* TMPDIR as loaded: where an anonymous swap file goes, NULL = /tmp */
};

/* --swappiness auto: the anon/file I/O cost ratio is measured, not set. */
#define SWAPPINESS_AUTO (-1)

extern struct config config;

/* Parse "123", "64K", "256M", "2G" (binary units) into bytes. Returns 0 or -EINVAL/-ERANGE. */
int config_parse_size(const char *s, uint64_t *ret_bytes);

/* Fill config from the environment. On a bad value writes the problem to
 * err (one line, no "uswap: " prefix) and returns -EINVAL. A missing
 * USWAP_LIMIT returns -ENOENT: the runtime then stays off. Every string
 * setting (and TMPDIR) is copied into storage of config's own: a program
 * that rewrites its environment afterwards (a process title) changes
 * nothing, and the environment is never read again. */
int config_load(char *err, size_t errlen);

/* At start-up only (before any thread): set one setting as if it had been
 * in the environment, so exec passes it on. 0 or -EINVAL/-ENOMEM with err. */
int config_set(enum config_id id, const char *value, char *err, size_t errlen);

/* The setting as loaded or set, "NAME=value", or NULL if it was not: what
 * an exec'd program inherits (preload/exec.c). */
const char *config_saved_entry(enum config_id id);

/* Check one setting by its environment name; used by the CLI. */
int config_check(const char *env, const char *value, char *err, size_t errlen);
/* Apply one setting to c (which may be a scratch copy). */
int config_apply(struct config *c, const char *env, const char *value, char *err, size_t errlen);
/* c's watermarks satisfy min <= low <= high, else -EINVAL with err. */
int config_check_watermarks(const struct config *c, char *err, size_t errlen);
/* May the setting (an environment name) change while the program runs? */
bool config_is_live(const char *env);
/* The environment name behind a ctl key ("limit" -> "USWAP_LIMIT"), or
 * NULL if the key is not a live setting. */
const char *config_key_env(const char *key, size_t len);
/* The live settings' keys, for messages: "limit, swappiness, ...". */
const char *config_live_keys(void);
/* Parse a duration: "100ms", "2s", "500us", a bare number is ms. */
int config_parse_duration(const char *s, uint64_t *ret_ns);

#endif
