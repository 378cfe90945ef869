#define _GNU_SOURCE
#include "thread.h"

#include "sys.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define THREAD_STACK (1UL << 20)

__thread bool thread_starting __attribute__((tls_model("initial-exec")));

static struct {
	uint32_t nr;
	bool running[NR_THREAD_ROLES];
	pthread_t t[NR_THREAD_ROLES];
} threads;

int thread_start(enum thread_role role, void *(*fn)(void *), const char *name, char *err,
		 size_t errlen)
{
	sigset_t all, old;
	pthread_attr_t attr;
	void *stack = sys_alloc_meta(THREAD_STACK);
	int r;

	/* A stack of our own: glibc would otherwise reuse a cached stack, and
	 * in a forked child that means freeing the dead thread's TLS vector,
	 * which lives in the managed heap, before any handler runs. */
	if (!stack || pthread_attr_init(&attr) ||
	    pthread_attr_setstack(&attr, stack, THREAD_STACK)) {
		snprintf(err, errlen, "cannot start thread %s: no memory for its stack", name);
		return -ENOMEM;
	}
	/* The program's signals are for the program's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	thread_starting = true; /* not one of the program's (preload counts those) */
	r = pthread_create(&threads.t[role], &attr, fn, NULL);
	thread_starting = false;
	if (!r) {
		__atomic_add_fetch(&threads.nr, 1, __ATOMIC_RELAXED);
		threads.running[role] = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r) {
		snprintf(err, errlen, "cannot start thread %s: %s", name, strerror(r));
		return -r;
	}
	pthread_setname_np(threads.t[role], name);
	return 0;
}

uint32_t thread_nr(void)
{
	return __atomic_load_n(&threads.nr, __ATOMIC_RELAXED);
}

uint64_t thread_cpu_ns(enum thread_role role)
{
	clockid_t c;
	struct timespec ts;

	if (!threads.running[role] || pthread_getcpuclockid(threads.t[role], &c) ||
	    clock_gettime(c, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void thread_fork_child(void)
{
	threads = (__typeof__(threads)){ 0 };
}
