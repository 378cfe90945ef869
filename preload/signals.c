/*
 * SIGSEGV, for mprotect tracking only. Our handler stays installed; the
 * program's SIGSEGV action is kept aside and faults that are not ours are
 * chained to it.
 */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS
#include "signals.h"

#include "interpose.h"
#include "runtime.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* The handler's (sigaction, pthread_sigmask) are found by
 * signals_install_segv, before it can run. */
REAL_SLOT(sigaction);
REAL_SLOT(sigprocmask);
REAL_SLOT(pthread_sigmask);

static struct sigaction app_segv; /* the program's SIGSEGV action */
static bool segv_hooked;

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct sigaction app = app_segv;

	if (si->si_code == SEGV_ACCERR && runtime_sigsegv((uintptr_t)si->si_addr)) {
		errno = saved;
		return;
	}
	if (app.sa_handler == SIG_DFL || app.sa_handler == SIG_IGN) {
		/* Re-fault with the default action: the program dies as it would have. */
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		REAL(sigaction)(SIGSEGV, &dfl, NULL);
		segv_hooked = false;
		errno = saved;
		return;
	}
	if (app.sa_flags & SA_RESETHAND) {
		app_segv.sa_handler = SIG_DFL;
		app_segv.sa_flags &= ~SA_SIGINFO;
	}
	{
		sigset_t old;

		pthread_sigmask(SIG_BLOCK, &app.sa_mask, &old);
		if (app.sa_flags & SA_SIGINFO)
			app.sa_sigaction(sig, si, uc);
		else
			app.sa_handler(sig);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	errno = saved;
}

int signals_install_segv(void)
{
	struct sigaction sa = { .sa_sigaction = segv_handler,
				.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART };

	sigfillset(&sa.sa_mask);
	sigdelset(&sa.sa_mask, SIGSEGV);
	(void)REAL(pthread_sigmask);
	if (REAL(sigaction)(SIGSEGV, &sa, &app_segv))
		return -1;
	segv_hooked = true;
	return 0;
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig != SIGSEGV || !segv_hooked)
		return REAL(sigaction)(sig, act, old);
	if (old)
		*old = app_segv;
	if (act)
		app_segv = *act;
	return 0;
}

EXPORT int uswap___sigaction(int sig, const struct sigaction *act,
			     struct sigaction *old) __asm__("__sigaction");
EXPORT int uswap___sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

/* glibc's signal() calls its internal sigaction, not ours: every variant
 * that can install a SIGSEGV handler goes through sigaction above. */
static sighandler_t set_handler(int sig, sighandler_t h, int flags)
{
	struct sigaction sa = { .sa_handler = h, .sa_flags = flags }, old;

	if (sig == SIGSEGV && (flags & SA_NODEFER) == 0)
		sigaddset(&sa.sa_mask, sig);
	if (sigaction(sig, &sa, &old))
		return SIG_ERR;
	return old.sa_handler;
}

EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESTART);
}

sighandler_t bsd_signal(int sig, sighandler_t h);
EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESTART);
}

EXPORT sighandler_t ssignal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESTART);
}

EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESETHAND | SA_NODEFER);
}

EXPORT sighandler_t uswap___sysv_signal(int sig, sighandler_t h) __asm__("__sysv_signal");
EXPORT sighandler_t uswap___sysv_signal(int sig, sighandler_t h)
{
	return sysv_signal(sig, h);
}

/* glibc declares sigset deprecated; a program may still call it, and
 * libc's is the one ours calls on. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
REAL_SLOT(sigset);

EXPORT sighandler_t sigset(int sig, sighandler_t h)
{
	if (sig != SIGSEGV || !segv_hooked || h == SIG_HOLD)
		return REAL(sigset)(sig, h);
	return set_handler(sig, h, 0);
}
#pragma GCC diagnostic pop

/* A synchronous SIGSEGV that is blocked kills the process: with mprotect
 * tracking our own traps must get through whatever the program blocks. */
typedef int (*sigmask_fn)(int, const sigset_t *, sigset_t *);

static int filter_mask(sigmask_fn fn, int how, const sigset_t *set, sigset_t *old)
{
	sigset_t s;

	if (!segv_hooked || !set || how == SIG_UNBLOCK || !sigismember(set, SIGSEGV))
		return fn(how, set, old);
	s = *set;
	sigdelset(&s, SIGSEGV);
	return fn(how, &s, old);
}

EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	return filter_mask(REAL(sigprocmask), how, set, old);
}

EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return filter_mask(REAL(pthread_sigmask), how, set, old);
}
