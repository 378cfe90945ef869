/* The trace's columns: one list, for the runtime that writes the trace
 * (src/control/trace.c) and the report that reads it (src/cli/report/).
 *
 * A trace is CSV (a header line "t,limit_bytes,...", then one row per
 * interval) or JSON lines ({"t": 0.100, "limit_bytes": ..., ...}). "t" is
 * seconds since the start; every other column is an integer, in the order
 * below. `uswap ctl PID` shows the same values as "now_<name>". Bump the
 * version when a column changes meaning or goes; readers skip columns they
 * do not know, so adding one at the end does not. */
#ifndef USWAP_TRACE_SCHEMA_H
#define USWAP_TRACE_SCHEMA_H

#define USWAP_TRACE_VERSION 1

/* The first column: seconds since the start, three decimals. */
#define USWAP_TRACE_TIME "t"

/* X(ID, name, description) */
#define USWAP_TRACE_COLUMNS(X)                                                  \
	X(LIMIT, limit_bytes, "the limit in force, bytes")                      \
	X(RESIDENT, resident_bytes, "managed resident memory, bytes")           \
	X(ACTIVE_ANON, active_anon, "pages on the active anon list")            \
	X(INACTIVE_ANON, inactive_anon, "pages on the inactive anon list")      \
	X(ACTIVE_FILE, active_file, "pages on the active file list")            \
	X(INACTIVE_FILE, inactive_file, "pages on the inactive file list")      \
	X(PGFAULT, pgfault, "counter pgfault")                                  \
	X(PGMAJFAULT, pgmajfault, "counter pgmajfault")                         \
	X(PSWPIN, pswpin, "counter pswpin")                                     \
	X(PSWPOUT, pswpout, "counter pswpout")                                  \
	X(PGPGIN, pgpgin, "counter pgpgin")                                     \
	X(PGPGOUT, pgpgout, "counter pgpgout")                                  \
	X(STEAL_ANON, pgsteal_anon, "counter pgsteal_anon")                     \
	X(STEAL_FILE, pgsteal_file, "counter pgsteal_file")                     \
	X(REFAULT_ANON, refault_anon, "counter workingset_refault_anon")        \
	X(REFAULT_FILE, refault_file, "counter workingset_refault_file")        \
	X(WRITEBACK, writeback, "pages under writeback now")                    \
	X(THROTTLED, throttled, "faults waiting for free memory now")           \
	X(THROTTLE_NS, throttle_ns, "counter throttle_ns")                      \
	X(STALL_SOME, stall_some_ns, "memory stall (some), ns since the start") \
	X(STALL_FULL, stall_full_ns, "memory stall (full), ns since the start") \
	X(SCANNER_CPU, scanner_cpu_ns, "CPU time of the scanner thread")        \
	X(HANDLER_CPU, handler_cpu_ns, "CPU time of the fault handler thread")  \
	X(SWAP, swap_bytes, "swap slots in use, bytes")                         \
	X(SWAPPINESS, swappiness, "the swappiness in force")                    \
	X(ZSWPOUT, zswpout, "counter zswpout")                                  \
	X(ZSWPIN, zswpin, "counter zswpin")                                     \
	X(POOL, pool_bytes, "compressed pool memory, bytes (in the limit)")

enum uswap_trace_col {
#define USWAP_TRACE_COL_(id, name, desc) USWAP_TRACE_##id,
	USWAP_TRACE_COLUMNS(USWAP_TRACE_COL_)
#undef USWAP_TRACE_COL_
		USWAP_TRACE_NCOL
};

#endif
