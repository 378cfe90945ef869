/* The monitor thread (monitor.c): the trace, the stall samples, the auto
 * limit's steps and the control socket. It never scans or evicts. */
#ifndef USWAP_MONITOR_H
#define USWAP_MONITOR_H

#include <stddef.h>

int monitor_start(char *err, size_t errlen);
/* Stop the thread's work and write the last trace row (at exit). */
void monitor_stop(void);
/* In a forked child: a thread and control socket of its own, no trace. */
int monitor_fork_child(char *err, size_t errlen);
/* Close the control socket of a forked child that runs unmanaged. */
void monitor_fork_unmanaged(void);

#endif
