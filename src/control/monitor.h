/* The monitor thread (monitor.c): the trace, the stall samples, the auto
 * limit's steps and the control socket. It never scans or evicts. */
#ifndef USWAP_MONITOR_H
#define USWAP_MONITOR_H

#include <stddef.h>

int monitor_start(char *err, size_t errlen);
/* Stop the thread's work and write the last trace row (at exit). */
void monitor_stop(void);
/* In a forked child, first, before it opens a descriptor: let go of what
 * the parent's monitor held (the control socket and connections, the
 * trace) and of the locks it may have held across the fork (it is not
 * parked: psi, auto limit). */
void monitor_fork_forget(void);
/* In a managed forked child, after monitor_fork_forget: a thread and
 * control socket of its own, no trace. */
int monitor_fork_child(char *err, size_t errlen);

#endif
