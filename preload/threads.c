/*
 * Threads: the process ends with its last thread. glibc ends the process
 * when the last thread exits (say main called pthread_exit, or a forked
 * child's only thread returns). Our two threads would keep it alive: so the
 * program's own threads are counted, and when the last of them exits the
 * process exits, as glibc would have done.
 */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS
#include "threads.h"

#include "interpose.h"
#include "sites.h"
#include "thread.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

static bool counting; /* threads_init ran: the runtime is managed */
static pthread_key_t app_key;
static int nr_app_threads = 1; /* the main thread */

static void app_thread_gone(void *v)
{
	(void)v;
	if (__atomic_sub_fetch(&nr_app_threads, 1, __ATOMIC_ACQ_REL) == 0)
		exit(0);
}

struct app_start {
	void *(*fn)(void *);
	void *arg;
};

static void *app_thread(void *p)
{
	struct app_start s = *(struct app_start *)p;

	free(p);
	pthread_setspecific(app_key, (void *)1);
	return s.fn(s.arg);
}

REAL_SLOT(pthread_create);

/* The runtime's threads never sample allocations (sites.h). rt_start_thread
 * starts them with a NULL argument: the trampoline takes their function. */
static void *rt_thread_start(void *fn)
{
	sites_thread_exclude();
	return ((void *(*)(void *))fn)(NULL);
}

EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	__typeof__(pthread_create) *real = REAL(pthread_create);
	struct app_start *s;
	int r;

	if (thread_starting && !arg)
		return real(t, attr, rt_thread_start, (void *)fn);
	if (!counting || thread_starting || !(s = malloc(sizeof(*s))))
		return real(t, attr, fn, arg);
	*s = (struct app_start){ fn, arg };
	__atomic_add_fetch(&nr_app_threads, 1, __ATOMIC_ACQ_REL);
	r = real(t, attr, app_thread, s);
	if (r) {
		__atomic_sub_fetch(&nr_app_threads, 1, __ATOMIC_ACQ_REL);
		free(s);
	}
	return r;
}

void threads_fork_child(void)
{
	__atomic_store_n(&nr_app_threads, 1, __ATOMIC_RELEASE);
}

void threads_init(void)
{
	if (pthread_key_create(&app_key, app_thread_gone) == 0)
		pthread_setspecific(app_key, (void *)1);
	counting = true;
}
