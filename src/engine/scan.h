/* The scanner thread (scan.c): the one thread that scans and reclaims. */
#ifndef USWAP_SCAN_H
#define USWAP_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Its buffers, ring and thread. 0, or -errno with a reason in err. */
int scan_start(char *err, size_t errlen);
/* In a forked child, as fault_fork_child. */
int scan_fork_child(bool start, char *err, size_t errlen);
/* At exit: the scanner thread's CPU time (it reads it itself only every
 * 100 ms), the list sizes and peaks, the swappiness in force and the
 * mappings' count into the counters; on a thread that holds the pager
 * lock (see runtime_exit), the CPU time only. */
void scan_exit_counters(void);

#endif
