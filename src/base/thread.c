#define _GNU_SOURCE
#include "thread.h"

#include "sys.h"

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define THREAD_STACK (1UL << 20)

__thread bool thread_starting __attribute__((tls_model("initial-exec")));

static struct {
	uint32_t nr;
	bool running[NR_THREAD_ROLES];
	pthread_t t[NR_THREAD_ROLES];
	void *(*fn[NR_THREAD_ROLES])(void *);
	pid_t tid[NR_THREAD_ROLES]; /* set by the thread itself, first thing */
} threads;

static void creds_hook_setxid(void);

/* One trampoline per role, so that the argument stays NULL (the preload's
 * pthread_create tells our threads by it) and each thread can note its tid
 * (the credential mirror below signals it by tid). */
#define THREAD_TRAMPOLINE(role)                                                       \
	static void *trampoline_##role(void *arg)                                     \
	{                                                                             \
		__atomic_store_n(&threads.tid[role], sys_gettid(), __ATOMIC_RELEASE); \
		return threads.fn[role](arg);                                         \
	}
THREAD_TRAMPOLINE(THREAD_HANDLER)
THREAD_TRAMPOLINE(THREAD_SCANNER)
THREAD_TRAMPOLINE(THREAD_MONITOR)

static void *(*const trampolines[NR_THREAD_ROLES])(void *) = {
	[THREAD_HANDLER] = trampoline_THREAD_HANDLER,
	[THREAD_SCANNER] = trampoline_THREAD_SCANNER,
	[THREAD_MONITOR] = trampoline_THREAD_MONITOR,
};

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
	threads.fn[role] = fn;
	threads.tid[role] = 0;
	r = pthread_create(&threads.t[role], &attr, trampolines[role], NULL);
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
	/* glibc installed its SIGSETXID handler at its first pthread_create. */
	creds_hook_setxid();
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

/*
 * Credentials. Linux keeps them per thread; glibc makes set*id process-wide
 * by signalling every thread it knows (SIGSETXID) to make the same call on
 * itself, and aborts if the results differ. Our threads are among those it
 * knows. A program that changes a per-thread credential with a plain call
 * between two set*id calls leaves our threads behind: setpriv sets
 * PR_SET_KEEPCAPS, calls setresuid, gets its effective capabilities back
 * with capset (its thread only), then calls setresgid, which fails with
 * EPERM on our threads (they lost CAP_SETGID) and succeeds on its own:
 * glibc aborts. Natively setpriv has one thread and nothing can differ.
 *
 * So our threads follow the program's thread. Our SIGSETXID handler wraps
 * glibc's: on one of our threads it first copies the calling thread's
 * capabilities (capget works on another thread), keep-caps flag and
 * securebits (noted by thread_creds_capture from the preload's set*id
 * hooks; the main thread's if no hook ran), then lets glibc's handler make
 * the call: the results agree. After a capset, thread_creds_mirror sends
 * our threads the same signal with SI_QUEUE (glibc's handler acts only on
 * SI_TKILL) so that they drop what the program dropped at once, not at its
 * next set*id. Everything here is a raw syscall: it runs in a handler.
 */
#define SIGSETXID 33	       /* glibc: __SIGRTMIN + 1, reserved for this */
#define CREDS_MAGIC 0x75637264 /* si_value of our own requests */

struct ksigaction { /* the kernel's struct sigaction (x86-64) */
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static struct {
	void (*glibc_handler)(int, siginfo_t *, void *);
	pid_t tid;	/* the thread to follow, 0: the main thread */
	int keepcaps;	/* its PR_GET_KEEPCAPS, -1 unknown */
	int securebits; /* its PR_GET_SECUREBITS, -1 unknown */
	uint32_t acks;	/* our threads done with a mirror request */
	struct sys_lock lock;
} creds = { .keepcaps = -1, .securebits = -1 };

static bool on_runtime_thread(void)
{
	pid_t self = sys_gettid();

	for (int i = 0; i < NR_THREAD_ROLES; i++)
		if (__atomic_load_n(&threads.tid[i], __ATOMIC_ACQUIRE) == self)
			return true;
	return false;
}

/* This (runtime) thread takes the followed thread's capabilities, as far
 * as its own permitted set allows. */
static void creds_apply(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct want[2], own[2], set[2];
	pid_t tid = __atomic_load_n(&creds.tid, __ATOMIC_ACQUIRE);
	int kc = __atomic_load_n(&creds.keepcaps, __ATOMIC_RELAXED);
	int sb = __atomic_load_n(&creds.securebits, __ATOMIC_RELAXED);

	if (sb >= 0 && syscall(SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0) != sb)
		syscall(SYS_prctl, PR_SET_SECUREBITS, (unsigned long)sb, 0, 0, 0);
	if (kc >= 0)
		syscall(SYS_prctl, PR_SET_KEEPCAPS, (unsigned long)kc, 0, 0, 0);
	h.pid = tid ? tid : (pid_t)syscall(SYS_getpid);
	if (syscall(SYS_capget, &h, want)) {
		h = (struct __user_cap_header_struct){ _LINUX_CAPABILITY_VERSION_3,
						       (pid_t)syscall(SYS_getpid) };
		if (syscall(SYS_capget, &h, want))
			return;
	}
	h.pid = 0;
	if (syscall(SYS_capget, &h, own))
		return;
	for (int i = 0; i < 2; i++) {
		set[i].permitted = want[i].permitted & own[i].permitted;
		set[i].effective = want[i].effective & set[i].permitted;
		set[i].inheritable = want[i].inheritable;
	}
	if (syscall(SYS_capset, &h, set)) {
		for (int i = 0; i < 2; i++)
			set[i].inheritable = own[i].inheritable & want[i].inheritable;
		syscall(SYS_capset, &h, set);
	}
}

static void setxid_handler(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;
	bool ours = on_runtime_thread();

	if (si->si_code == SI_QUEUE && si->si_value.sival_int == CREDS_MAGIC) {
		if (ours && si->si_pid == (pid_t)syscall(SYS_getpid)) {
			creds_apply();
			__atomic_add_fetch(&creds.acks, 1, __ATOMIC_RELEASE);
			sys_futex_wake(&creds.acks, 1);
		}
		errno = saved;
		return;
	}
	if (ours && si->si_code == SI_TKILL)
		creds_apply();
	errno = saved;
	creds.glibc_handler(sig, si, ctx);
}

static void creds_hook_setxid(void)
{
	struct ksigaction old, new;

	if (creds.glibc_handler ||
	    syscall(SYS_rt_sigaction, SIGSETXID, NULL, &old, sizeof(uint64_t)) ||
	    !(old.flags & SA_SIGINFO) || old.handler == (void *)SIG_DFL ||
	    old.handler == (void *)SIG_IGN)
		return;
	creds.glibc_handler = (void (*)(int, siginfo_t *, void *))old.handler;
	new = old;
	new.handler = (void *)setxid_handler;
	if (syscall(SYS_rt_sigaction, SIGSETXID, &new, NULL, sizeof(uint64_t)))
		creds.glibc_handler = NULL;
}

static void capture(void)
{
	__atomic_store_n(&creds.keepcaps, (int)syscall(SYS_prctl, PR_GET_KEEPCAPS, 0, 0, 0, 0),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&creds.securebits, (int)syscall(SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&creds.tid, sys_gettid(), __ATOMIC_RELEASE);
}

void thread_creds_capture(void)
{
	if (!creds.glibc_handler)
		return;
	sys_lock(&creds.lock);
	capture();
	sys_unlock(&creds.lock);
}

void thread_creds_done(void)
{
	if (!creds.glibc_handler)
		return;
	sys_lock(&creds.lock);
	__atomic_store_n(&creds.tid, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&creds.keepcaps, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&creds.securebits, -1, __ATOMIC_RELAXED);
	sys_unlock(&creds.lock);
}

void thread_creds_mirror(void)
{
	siginfo_t si = { .si_signo = SIGSETXID, .si_code = SI_QUEUE };
	pid_t pid = (pid_t)syscall(SYS_getpid);
	uint32_t sent = 0;
	uint64_t deadline;

	if (!creds.glibc_handler || !thread_nr())
		return;
	sys_lock(&creds.lock);
	capture();
	__atomic_store_n(&creds.acks, 0, __ATOMIC_RELEASE);
	si.si_pid = pid;
	si.si_uid = getuid();
	si.si_value.sival_int = CREDS_MAGIC;
	for (int i = 0; i < NR_THREAD_ROLES; i++) {
		pid_t tid = __atomic_load_n(&threads.tid[i], __ATOMIC_ACQUIRE);

		if (threads.running[i] && tid &&
		    !syscall(SYS_rt_tgsigqueueinfo, pid, tid, SIGSETXID, &si))
			sent++;
	}
	/* A thread in a long uninterruptible sleep is not waited for. */
	deadline = sys_now_ns() + 1000000000ULL;
	for (uint32_t a; (a = __atomic_load_n(&creds.acks, __ATOMIC_ACQUIRE)) < sent &&
			 sys_now_ns() < deadline;)
		sys_futex_wait(&creds.acks, a, 10000000L);
	__atomic_store_n(&creds.tid, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&creds.keepcaps, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&creds.securebits, -1, __ATOMIC_RELAXED);
	sys_unlock(&creds.lock);
}

void thread_fork_child(void)
{
	threads = (__typeof__(threads)){ 0 };
	creds.lock.word = 0;
	creds.tid = 0; /* the parent's threads are not here */
}
