/* The fault handler thread (fault.c): it serves every userfaultfd fault of
 * the process, and the SIGSEGV traps of mprotect tracking. */
#ifndef USWAP_FAULT_H
#define USWAP_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Its buffers, ring and thread. 0, or -errno with a reason in err. */
int fault_start(char *err, size_t errlen);
/* MADV_WILLNEED on managed pages: read [s, s+len) in ahead of use, as
 * memory allows. Under the pager lock; then kick the handler. */
void fault_prefetch(uintptr_t s, size_t len);
/* In a forked child: let go of the parent's ring and queue; with start, a
 * ring and a thread of the child's own. */
int fault_fork_child(bool start, char *err, size_t errlen);
/* At exit: the handler thread's CPU time, read from its clock (the thread
 * itself reads it only every 100 ms). */
void fault_exit_counters(void);
/* mprotect tracking: a SIGSEGV at addr, from the signal handler. 1 if it
 * was an armed page of ours (now activated), 0 if not. */
int fault_sigsegv(uintptr_t addr);

#endif
