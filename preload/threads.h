/* The program's threads, counted (threads.c): the process ends with the
 * last of them, as it would without our threads. */
#ifndef USWAP_PRELOAD_THREADS_H
#define USWAP_PRELOAD_THREADS_H

/* Start counting (the runtime is managed): the calling thread is the
 * program's one thread so far. */
void threads_init(void);
/* In a forked child only the forking thread is left. */
void threads_fork_child(void);

#endif
