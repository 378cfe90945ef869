/* The trace (trace.c): the counters every interval, as CSV or JSON lines
 * (the columns: include/uswap/trace.h). Written by the monitor thread, and
 * once more at exit; the caller serialises the two (control/monitor.c). */
#ifndef USWAP_TRACE_H
#define USWAP_TRACE_H

#include "uswap/trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct psi_times;

/* The columns' values now, p the stall totals now. */
void trace_values(uint64_t v[USWAP_TRACE_NCOL], const struct psi_times *p);
/* The name of column c. */
const char *trace_column(int c);
/* Open --trace (the top process only) and write the header. 0, or -errno
 * with err. */
int trace_open(char *err, size_t errlen);
/* One row, at p->t. A failed write closes the trace, with one line. */
void trace_row(const struct psi_times *p);
/* The run has a trace: its path, else NULL. */
const char *trace_path(void);
/* In a forked child: the parent's file is the parent's. */
void trace_fork_child(void);

#endif
