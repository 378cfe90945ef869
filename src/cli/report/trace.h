/* uswap report's trace: the per-interval rows a run's monitor wrote (CSV or
 * JSON lines), one array of doubles per known column. */
#ifndef USWAP_REPORT_TRACE_H
#define USWAP_REPORT_TRACE_H

#include "uswap/trace.h"

#include <stdbool.h>
#include <stddef.h>

/* The columns the report knows: the time, then the runtime's list (so a
 * column the runtime adds is read, and one it drops fails to compile where
 * the report plots it). */
enum trace_col {
	C_T,
#define TRACE_COL_(id, name, desc) C_##id,
	USWAP_TRACE_COLUMNS(TRACE_COL_)
#undef TRACE_COL_
		TRACE_NCOL
};

struct trace {
	const char *path; /* NULL: no trace recorded */
	size_t n, cap;
	double *v[TRACE_NCOL];
	bool have[TRACE_NCOL]; /* the column exists (unknown ones are skipped) */
};

/* Reads path into tr (zeroed); exits with the file and line of a bad line. */
void trace_load(struct trace *tr, const char *path);

#endif
