/* The runtime's own threads (the fault handler, the scanner, the monitor):
 * started with every signal blocked, on stacks of their own, and counted,
 * so that the program's thread count and the threads' CPU time can be
 * told apart from ours. */
#ifndef USWAP_THREAD_H
#define USWAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum thread_role {
	THREAD_HANDLER, /* engine/fault.c */
	THREAD_SCANNER, /* engine/scan.c */
	THREAD_MONITOR, /* control/monitor.c */
	NR_THREAD_ROLES,
};

/* Set while thread_start creates one of our threads (the preload's
 * pthread_create hook tells ours from the program's by it). */
extern __thread bool thread_starting __attribute__((tls_model("initial-exec")));

/* Start fn(NULL) as the thread of role, named name. 0, or -errno with a
 * reason in err. */
int thread_start(enum thread_role role, void *(*fn)(void *), const char *name, char *err,
		 size_t errlen);
/* The runtime's threads in this process (not the program's). */
uint32_t thread_nr(void);
/* CPU time of the thread of role, 0 if it is not running. */
uint64_t thread_cpu_ns(enum thread_role role);
/* In a forked child: none of the parent's threads exist here. */
void thread_fork_child(void);

/* Credentials are per thread; glibc's set*id calls make them agree on every
 * thread it knows, ours included, and abort if the results differ. Called
 * by the preload's set*id hooks before the call: our threads take the
 * calling thread's capabilities, keep-caps and securebits before glibc has
 * them make the same call, so that the results agree. */
void thread_creds_capture(void);
/* After the call: a set*id that no hook saw (initgroups calls setgroups
 * inside libc) follows the main thread, not a stale capture. */
void thread_creds_done(void);
/* After the calling thread changed its capabilities (capset): our threads
 * take them now (bounded wait, 1 s). */
void thread_creds_mirror(void);

#endif
