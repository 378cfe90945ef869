/* The runtime as a whole (runtime.c): what the preload layer calls to start
 * it, end it and ask it about itself. The interposed calls are in mmap.h,
 * madvise.h, mprotect.h, mlock.h, file.h; the heap in heap.h; fork in
 * fork.h. The core does not know how it was hooked. */
#ifndef USWAP_RUNTIME_H
#define USWAP_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bring the runtime up, from config (already loaded). 0, or -errno with a
 * one-line reason in err. */
int runtime_init(char *err, size_t errlen);
/* The runtime manages this process's memory (it is up, and this is the
 * process that started it, or a forked child that rebuilt it). */
bool runtime_owns(void);
/* In a forked child that manages its memory: it is the owner now. */
void runtime_fork_child(void);
/* At exit (exit, _exit, the last thread): write back shared file pages,
 * then the stats, the trace's last row and the -v summary. */
void runtime_exit(void);
/* mprotect tracking is in use: the preload's SIGSEGV handler passes
 * faults to runtime_sigsegv, which says 1 if the fault was ours. */
bool runtime_traps_sigsegv(void);
int runtime_sigsegv(uintptr_t addr);

#endif
