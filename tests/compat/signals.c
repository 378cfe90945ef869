/* SPDX-License-Identifier: MIT */
/*
 * signals: the program's own signal handling is untouched by memory
 * management.
 *
 *   segv        its SIGSEGV handler sees its own faults - a NULL
 *               dereference, a PROT_NONE guard page inside an (evicted)
 *               read/write mapping, a PROT_NONE reservation - with the
 *               right si_addr/si_code, and leaves with siglongjmp. Each
 *               handler is installed in turn with sigaction (SA_SIGINFO
 *               and plain), signal(), bsd_signal(), sysv_signal() and
 *               sigset(); between installing it and faulting, cold data
 *               is paged back in and checked (under mprotect tracking
 *               those are SIGSEGVs too, which must NOT reach the
 *               program's handler). The installers' return values and
 *               SA_RESETHAND (sysv_signal) are checked as well.
 *   sigbus      SIGBUS from touching a mmap'd file beyond its EOF, with
 *               the same installers, under the same memory pressure;
 *               bytes past EOF in the last partial page read zeros.
 *   altstack    stack overflow on a thread and on the main thread (lowered
 *               RLIMIT_STACK) is caught by a handler running on a
 *               sigaltstack: a static one, then ones the program malloc'd /
 *               mmap'd and that were evicted before the overflow.
 *   sigusr      SIGUSR1 by pthread_kill and SIGUSR2 from a POSIX timer hit
 *               threads that page in and out under a tiny limit (blocked
 *               waiting for memory); every thread's handler runs, touches
 *               heap memory, and all data is intact afterwards.
 *   sigretry    a timer of its own (every 200 us) signals each of 8 threads
 *               that page 4x the limit, so that a thread waiting for
 *               memory is interrupted again and again: its handler runs
 *               (and touches heap pages of its own, faulting elsewhere),
 *               and the kernel raises the interrupted fault again. Once
 *               with SA_RESTART, once without; every page is checked in
 *               every pass and at the end. meson asserts that the fault
 *               handler kept one waiting entry per thread at most.
 *   hold_*      (manual, driven by kill_clean.py) fill 3x the limit, print
 *               READY, keep paging until SIGINT/SIGTERM arrives: default
 *               action, a handler that sets a flag and exit(3)s, a handler
 *               that _exit(4)s.
 */
#include "compat.h"

#include <setjmp.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>

/* Declared by <signal.h> only for old X/Open levels; glibc exports it. */
extern __sighandler_t bsd_signal(int sig, __sighandler_t handler);

/* ---- handlers ----------------------------------------------------------- */

static sigjmp_buf g_jmp;
static volatile sig_atomic_t g_expect;	/* a fault is expected now */
static volatile sig_atomic_t g_count, g_sig, g_code;
static void *volatile g_addr;
static char *g_data;			/* the test's own cold data */
static size_t g_data_len;

static void unexpected(int sig, void *addr)
{
	char msg[256];
	int own = g_data && (char *)addr >= g_data && (char *)addr < g_data + g_data_len;
	int n = snprintf(msg, sizeof(msg),
			 "FAIL signals: unexpected signal %d at %p in the program's handler "
			 "(case %s)%s\n", sig, addr, c_current,
			 own ? " - an address of its own data, which it never "
			       "protected: a tracking fault was delivered to it" : "");

	(void)!write(2, msg, (size_t)n);
	_exit(T_EXIT_FAIL);
}

static void h_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!g_expect)
		unexpected(sig, si->si_addr);
	g_count++;
	g_sig = sig;
	g_code = si->si_code;
	g_addr = si->si_addr;
	g_expect = 0;
	siglongjmp(g_jmp, 1);
}

static void h_plain(int sig)
{
	if (!g_expect)
		unexpected(sig, NULL);
	g_count++;
	g_sig = sig;
	g_code = 0;
	g_addr = NULL;
	g_expect = 0;
	siglongjmp(g_jmp, 1);
}

enum installer { I_SIGACTION_INFO, I_SIGACTION, I_SIGNAL, I_BSD_SIGNAL, I_SYSV_SIGNAL,
		 I_SIGSET, NR_INSTALLERS };
static const char *const inst_name[] = { "sigaction(SA_SIGINFO)", "sigaction", "signal",
					 "bsd_signal", "sysv_signal", "sigset" };

/* Install; returns the previous handler as the installer reported it. */
static void *install(int sig, enum installer k)
{
	struct sigaction sa = { 0 }, old;
	__sighandler_t prev;

	switch (k) {
	case I_SIGACTION_INFO:
		sa.sa_sigaction = h_info;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		t_check(!sigaction(sig, &sa, &old), "sigaction: %s", strerror(errno));
		return (void *)old.sa_handler;
	case I_SIGACTION:
		sa.sa_handler = h_plain;
		sigemptyset(&sa.sa_mask);
		t_check(!sigaction(sig, &sa, &old), "sigaction: %s", strerror(errno));
		return (void *)old.sa_handler;
	case I_SIGNAL:
		prev = signal(sig, h_plain);
		break;
	case I_BSD_SIGNAL:
		prev = bsd_signal(sig, h_plain);
		break;
	case I_SYSV_SIGNAL:
		prev = sysv_signal(sig, h_plain);
		break;
	case I_SIGSET:
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		prev = sigset(sig, h_plain); /* SysV, deprecated, still used */
#pragma GCC diagnostic pop
		break;
	default:
		t_fail("installer %d", (int)k);
	}
	t_check(prev != SIG_ERR, "%s: %s", inst_name[k], strerror(errno));
	return (void *)prev;
}

static void *current_handler(int sig)
{
	struct sigaction cur;

	t_check(!sigaction(sig, NULL, &cur), "sigaction query");
	return (void *)cur.sa_handler;
}

static void restore_default(int sig)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	sigemptyset(&sa.sa_mask);
	t_check(!sigaction(sig, &sa, NULL), "sigaction SIG_DFL");
}

/* Page the test's own data back in and check it: under pressure, and
 * under mprotect tracking a stream of SIGSEGVs the program must not see. */
static uint64_t g_data_seed;
static void pressure(const char *what)
{
	c_make_cold(what, g_data, g_data_len);
	t_check_pattern(what, g_data, g_data_len, g_data_seed, 0);
	g_data_seed++;
	t_pattern_fill(g_data, g_data_len, g_data_seed, 0);
}

static volatile int *volatile g_null;

/* Run @fn(@arg) expecting exactly one signal into the handler. */
static void expect_fault(const char *what, void (*fn)(void *), void *arg, int want_sig)
{
	sigset_t cur;

	g_count = 0;
	g_sig = 0;
	if (sigsetjmp(g_jmp, 1) == 0) {
		g_expect = 1;
		fn(arg);
		g_expect = 0;
		t_fail("%s: no signal", what);
	}
	t_check(g_count == 1, "%s: handler ran %d times", what, (int)g_count);
	t_check(g_sig == want_sig, "%s: got signal %d, want %d", what, (int)g_sig, want_sig);
	/* siglongjmp(…, savemask=1) restored the mask. */
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	t_check(!sigismember(&cur, want_sig), "%s: signal still blocked after siglongjmp", what);
}

static void do_read(void *p)
{
	(void)*(volatile char *)p;
}

static void do_write(void *p)
{
	*(volatile char *)p = 1;
}

static void do_null(void *p)
{
	(void)p;
	(void)*g_null;
}

static void check_installer_semantics(int sig, enum installer k, void *prev)
{
	void *cur = current_handler(sig);

	/* Every installer reports the previous (default) disposition. */
	t_check(prev == (void *)SIG_DFL, "%s returned %p as the previous handler, "
		"expected SIG_DFL", inst_name[k], prev);
	if (k == I_SYSV_SIGNAL) {
		/* SA_RESETHAND: the handler was reset by the first delivery. */
		t_check(cur == (void *)SIG_DFL, "after a sysv_signal handler ran, "
			"the disposition is %p, expected SIG_DFL", cur);
	} else {
		void *want = k == I_SIGACTION_INFO ? (void *)h_info : (void *)h_plain;

		t_check(cur == want, "%s: the disposition after delivery is %p, "
			"expected the handler %p", inst_name[k], cur, want);
	}
}

static void case_segv(void)
{
	size_t n = 4 * T_MIB;
	char *m = c_map(n), *guard = m + n / 2, *resv;
	void *prev;

	g_data_len = c_limit / 4;
	g_data = malloc(g_data_len);
	t_check(g_data, "malloc");
	g_data_seed = 0x5e66;
	t_pattern_fill(g_data, g_data_len, g_data_seed, 0);
	t_pattern_fill(m, n, 0x6a4d, 0);
	t_sys(mprotect(guard, T_PAGE_SIZE, PROT_NONE));
	resv = mmap(NULL, 16 * T_MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	t_check(resv != MAP_FAILED, "mmap PROT_NONE: %s", strerror(errno));

	for (enum installer k = 0; k < NR_INSTALLERS; k++) {
		t_log("  installed with %s", inst_name[k]);
		prev = install(SIGSEGV, k);
		expect_fault("NULL dereference", do_null, NULL, SIGSEGV);
		if (k == I_SIGACTION_INFO) {
			t_check(g_code == SEGV_MAPERR && g_addr == NULL,
				"NULL dereference: si_code %d si_addr %p", (int)g_code, g_addr);
		}
		check_installer_semantics(SIGSEGV, k, prev);
		if (k == I_SYSV_SIGNAL)
			install(SIGSEGV, k);

		/* The guard page inside a read/write mapping, evicted where the
		 * runtime evicts such a mapping (mprotect tracking documents
		 * that it never arms a range the program mprotect'ed), so
		 * reported, not required; mappings.c requires it. */
		c_make_cold_max("mapping around the guard page", m, n, 0, 4);
		expect_fault("read of a PROT_NONE guard page", do_read, guard + 100, SIGSEGV);
		if (k == I_SIGACTION_INFO)
			t_check(g_code == SEGV_ACCERR && g_addr == guard + 100,
				"guard read: si_code %d si_addr %p, want SEGV_ACCERR %p",
				(int)g_code, g_addr, (void *)(guard + 100));
		if (k == I_SYSV_SIGNAL)
			install(SIGSEGV, k);
		expect_fault("write to a PROT_NONE guard page", do_write, guard + T_PAGE_SIZE - 1, SIGSEGV);
		if (k == I_SIGACTION_INFO)
			t_check(g_code == SEGV_ACCERR && g_addr == guard + T_PAGE_SIZE - 1,
				"guard write: si_code %d si_addr %p", (int)g_code, g_addr);
		t_check_pattern("below the guard page", m, (size_t)(guard - m), 0x6a4d, 0);
		t_check_pattern("above the guard page", guard + T_PAGE_SIZE,
				n / 2 - T_PAGE_SIZE, 0x6a4d, n / 2 + T_PAGE_SIZE);
		if (k == I_SYSV_SIGNAL)
			install(SIGSEGV, k);

		/* A PROT_NONE reservation (Go/JVM style). */
		expect_fault("read of a PROT_NONE reservation", do_read, resv + 5 * T_MIB + 8, SIGSEGV);
		if (k == I_SIGACTION_INFO)
			t_check(g_code == SEGV_ACCERR && g_addr == resv + 5 * T_MIB + 8,
				"reservation: si_code %d si_addr %p", (int)g_code, g_addr);
		pressure("cold data, after the guard faults");
		restore_default(SIGSEGV);
	}
	munmap(resv, 16 * T_MIB);
	munmap(m, n);
	free(g_data);
	g_data = NULL;
}

static void case_sigbus(void)
{
	int fd = c_open_tmpfile();
	size_t file_len = T_PAGE_SIZE + 100;
	char *buf = malloc(file_len), *priv, *shared;
	void *prev;

	t_check(buf, "malloc");
	g_data_len = c_limit / 4;
	g_data = malloc(g_data_len);
	t_check(g_data, "malloc");
	g_data_seed = 0xb05;
	t_pattern_fill(g_data, g_data_len, g_data_seed, 0);
	t_pattern_fill(buf, file_len, 0xf11e, 0);
	t_write_full(fd, buf, file_len, "temp file");
	shared = mmap(NULL, 4 * T_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	priv = mmap(NULL, 4 * T_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	t_check(shared != MAP_FAILED && priv != MAP_FAILED, "mmap file: %s", strerror(errno));

	for (enum installer k = 0; k < NR_INSTALLERS; k++) {
		t_log("  installed with %s", inst_name[k]);
		prev = install(SIGBUS, k);
		pressure("cold data, SIGBUS handler installed");
		t_check_pattern("shared file mapping", shared, file_len, 0xf11e, 0);
		t_check(c_first_nonzero(shared + file_len, 2 * T_PAGE_SIZE - file_len) < 0,
			"bytes past EOF in the last page are not zero");
		expect_fault("read past EOF (MAP_SHARED)", do_read, shared + 2 * T_PAGE_SIZE + 10, SIGBUS);
		if (k == I_SIGACTION_INFO)
			t_check(g_code == BUS_ADRERR && g_addr == shared + 2 * T_PAGE_SIZE + 10,
				"SIGBUS: si_code %d si_addr %p", (int)g_code, g_addr);
		check_installer_semantics(SIGBUS, k, prev);
		if (k == I_SYSV_SIGNAL)
			install(SIGBUS, k);
		expect_fault("write past EOF (MAP_PRIVATE)", do_write, priv + 3 * T_PAGE_SIZE, SIGBUS);
		if (k == I_SIGACTION_INFO)
			t_check(g_code == BUS_ADRERR && g_addr == priv + 3 * T_PAGE_SIZE,
				"SIGBUS: si_code %d si_addr %p", (int)g_code, g_addr);
		t_check_pattern("private file mapping", priv, file_len, 0xf11e, 0);
		restore_default(SIGBUS);
	}
	munmap(shared, 4 * T_PAGE_SIZE);
	munmap(priv, 4 * T_PAGE_SIZE);
	close(fd);
	free(buf);
	free(g_data);
	g_data = NULL;
}

/* ---- altstack ----------------------------------------------------------- */

#define ALT_SIZE (64 * 1024)

static char a_static_alt[ALT_SIZE] __attribute__((aligned(4096)));
static __thread sigjmp_buf a_jmp;
static __thread char *a_lo, *a_hi;	/* this thread's alternate stack */
static volatile sig_atomic_t a_on_alt, a_count, a_flags_onstack;
static void *volatile a_addr;

static void h_overflow(int sig, siginfo_t *si, void *uc)
{
	char here;
	stack_t ss;

	(void)sig;
	(void)uc;
	a_count++;
	a_addr = si->si_addr;
	a_on_alt = &here >= a_lo && &here < a_hi;
	a_flags_onstack = !sigaltstack(NULL, &ss) && (ss.ss_flags & SS_ONSTACK);
	siglongjmp(a_jmp, 1);
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static __attribute__((noinline)) unsigned long a_recurse(unsigned long depth)
{
	volatile char frame[1024];

	frame[0] = (char)depth;
	frame[1023] = (char)depth;
	return a_recurse(depth + 1) + frame[0] + frame[1023];
}

/* Overflow this thread's stack with @alt as the alternate stack (evicted
 * first). Returns after the handler caught it on the alternate stack. */
static void overflow_on(char *alt, const char *what, char *stack_lo)
{
	stack_t ss = { .ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0 };
	struct sigaction sa = { .sa_sigaction = h_overflow, .sa_flags = SA_SIGINFO | SA_ONSTACK };

	a_lo = alt;
	a_hi = alt + ALT_SIZE;
	sigemptyset(&sa.sa_mask);
	t_check(!sigaltstack(&ss, NULL), "sigaltstack: %s", strerror(errno));
	t_check(!sigaction(SIGSEGV, &sa, NULL), "sigaction");
	memset(alt, 0xa5, ALT_SIZE);
	/* Heap and mmap'd stacks must be out; the static one cannot be. */
	c_make_cold_n(what, alt, ALT_SIZE, alt != a_static_alt);
	a_count = a_on_alt = 0;
	if (sigsetjmp(a_jmp, 1) == 0) {
		a_recurse(0);
		t_fail("%s: recursion returned", what);
	}
	t_check(a_count == 1, "%s: handler ran %d times", what, (int)a_count);
	t_check(a_on_alt, "%s: the handler did not run on the alternate stack", what);
	t_check(a_flags_onstack, "%s: sigaltstack() in the handler did not report SS_ONSTACK", what);
	if (stack_lo)
		t_check((char *)a_addr < stack_lo + 64 * 1024 &&
			(char *)a_addr >= stack_lo - 1024 * 1024,
			"%s: fault address %p not next to the stack bottom %p", what,
			a_addr, (void *)stack_lo);
	ss.ss_flags = SS_DISABLE;
	t_check(!sigaltstack(&ss, NULL), "sigaltstack disable");
	restore_default(SIGSEGV);
}

static void *a_thread(void *arg)
{
	int rounds = *(int *)arg;
	pthread_attr_t a;
	void *stk;
	size_t stk_len;

	t_check(!pthread_getattr_np(pthread_self(), &a), "pthread_getattr_np");
	pthread_attr_getstack(&a, &stk, &stk_len);
	pthread_attr_destroy(&a);
	/* A static alternate stack first (not heap memory: never evicted),
	 * then ones in the heap and in an anonymous mapping. */
	overflow_on(a_static_alt, "static altstack (thread)", stk);
	for (int r = 0; r < rounds; r++) {
		char *m = malloc(ALT_SIZE);
		char *p = c_map(ALT_SIZE);

		t_check(m, "malloc");
		overflow_on(m, "malloc'd altstack (thread)", stk);
		overflow_on(p, "mmap'd altstack (thread)", stk);
		free(m);
		munmap(p, ALT_SIZE);
	}
	return NULL;
}

static void case_altstack(void)
{
	pthread_attr_t a;
	pthread_t t;
	int rounds = 3;
	struct rlimit old, small;
	char *m;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 * 1024);
	t_check(!pthread_create(&t, &a, a_thread, &rounds), "pthread_create");
	pthread_join(t, NULL);
	pthread_attr_destroy(&a);

	/* The main thread, its stack limited to 2 MiB for the occasion. */
	t_check(!getrlimit(RLIMIT_STACK, &old), "getrlimit");
	small = old;
	small.rlim_cur = 2 * T_MIB;
	t_check(!setrlimit(RLIMIT_STACK, &small), "setrlimit: %s", strerror(errno));
	m = malloc(ALT_SIZE);
	t_check(m, "malloc");
	overflow_on(m, "malloc'd altstack (main thread)", NULL);
	free(m);
	t_check(!setrlimit(RLIMIT_STACK, &old), "setrlimit restore");
}

/* ---- sigusr: signals while threads wait for memory ---------------------- */

#define U_WORKERS 6
#define U_BUF (3UL * T_MIB)
#define U_SECONDS 4.0

struct u_worker {
	pthread_t tid;
	int idx;
	char *buf;
	uint64_t gen;
	unsigned long *log;	/* heap memory the handler writes */
	atomic_ulong nr_usr1, nr_usr2;
	atomic_ulong passes, bad;
};

static struct u_worker u_w[U_WORKERS + 1]; /* +1: the I/O worker */
static __thread struct u_worker *u_self;
static atomic_int u_stop;
static int u_fd;

static void h_usr(int sig)
{
	struct u_worker *w = u_self;
	int saved = errno;

	if (!w)
		return; /* the main thread blocks both; cannot happen */
	if (sig == SIGUSR1)
		atomic_fetch_add(&w->nr_usr1, 1);
	else
		atomic_fetch_add(&w->nr_usr2, 1);
	/* Touch heap memory from the handler: a fault inside the handler,
	 * possibly one that waits for memory too. */
	w->log[(w->nr_usr1 + w->nr_usr2) % 512 * 8]++;
	errno = saved;
}

static void *u_mem_worker(void *arg)
{
	struct u_worker *w = arg;

	u_self = w;
	while (!atomic_load(&u_stop)) {
		for (size_t off = 0; off < U_BUF; off += T_PAGE_SIZE) {
			uint64_t *p = (uint64_t *)(w->buf + off);
			uint64_t want = t_mix64(w->gen ^ off ^ ((uint64_t)w->idx << 40));

			if (p[0] != want || p[T_PAGE_SIZE / 8 - 1] != ~want) {
				if (atomic_fetch_add(&w->bad, 1) < 3)
					t_log("worker %d: page +%zu wrong in pass %lu", w->idx, off,
					      (unsigned long)w->passes);
			}
			want = t_mix64((w->gen + 1) ^ off ^ ((uint64_t)w->idx << 40));
			p[0] = want;
			p[T_PAGE_SIZE / 8 - 1] = ~want;
		}
		w->gen++;
		atomic_fetch_add(&w->passes, 1);
	}
	return NULL;
}

static void *u_io_worker(void *arg)
{
	struct u_worker *w = arg;

	u_self = w;
	while (!atomic_load(&u_stop)) {
		ssize_t n = pread(u_fd, w->buf, T_MIB, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)T_MIB || t_pattern_check(w->buf, T_MIB, 0x10, 0) >= 0) {
			if (atomic_fetch_add(&w->bad, 1) < 3)
				t_log("I/O worker: pread returned %zd (%s) or wrong data", n,
				      n < 0 ? strerror(errno) : "ok");
		}
		memset(w->buf, 0xee, T_MIB);
		atomic_fetch_add(&w->passes, 1);
	}
	return NULL;
}

static void case_sigusr(void)
{
	struct sigaction sa = { .sa_handler = h_usr, .sa_flags = SA_RESTART };
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2 };
	struct itimerspec its = { .it_interval = { 0, 1000000 }, .it_value = { 0, 1000000 } };
	sigset_t both, old;
	timer_t timer;
	double t0;
	unsigned long kills = 0;
	char *src;

	/* Not nested: the handler's log update is not atomic. */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaddset(&sa.sa_mask, SIGUSR2);
	t_check(!sigaction(SIGUSR1, &sa, NULL) && !sigaction(SIGUSR2, &sa, NULL), "sigaction");
	u_fd = c_open_tmpfile();
	src = malloc(T_MIB);
	t_check(src, "malloc");
	t_pattern_fill(src, T_MIB, 0x10, 0);
	t_write_full(u_fd, src, T_MIB, "temp file");
	free(src);

	/* Workers inherit an open mask; main blocks both so the timer's
	 * process-directed SIGUSR2 goes to a worker. */
	for (int i = 0; i <= U_WORKERS; i++) {
		struct u_worker *w = &u_w[i];

		w->idx = i;
		w->buf = malloc(i < U_WORKERS ? U_BUF : T_MIB);
		w->log = calloc(512 * 8, sizeof(unsigned long));
		t_check(w->buf && w->log, "malloc");
		if (i < U_WORKERS)
			for (size_t off = 0; off < U_BUF; off += T_PAGE_SIZE) {
				uint64_t want = t_mix64(0 ^ off ^ ((uint64_t)i << 40));

				((uint64_t *)(w->buf + off))[0] = want;
				((uint64_t *)(w->buf + off))[T_PAGE_SIZE / 8 - 1] = ~want;
			}
		t_check(!pthread_create(&w->tid, NULL, i < U_WORKERS ? u_mem_worker : u_io_worker, w),
			"pthread_create");
	}
	sigemptyset(&both);
	sigaddset(&both, SIGUSR1);
	sigaddset(&both, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &both, &old);
	t_check(!timer_create(CLOCK_MONOTONIC, &sev, &timer), "timer_create: %s", strerror(errno));
	t_check(!timer_settime(timer, 0, &its, NULL), "timer_settime");
	t0 = t_now();
	while (t_now() - t0 < U_SECONDS) {
		for (int i = 0; i <= U_WORKERS; i++) {
			t_check(!pthread_kill(u_w[i].tid, SIGUSR1), "pthread_kill");
			kills++;
		}
		usleep(500);
	}
	timer_delete(timer);
	atomic_store(&u_stop, 1);
	for (int i = 0; i <= U_WORKERS; i++)
		pthread_join(u_w[i].tid, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	for (int i = 0; i <= U_WORKERS; i++) {
		struct u_worker *w = &u_w[i];
		unsigned long logged = 0;

		for (int k = 0; k < 512; k++)
			logged += w->log[k * 8];
		t_log("    %s %d: %lu passes, %lu SIGUSR1, %lu SIGUSR2 (timer), %lu logged",
		      i < U_WORKERS ? "worker" : "I/O worker", i,
		      (unsigned long)w->passes, (unsigned long)w->nr_usr1,
		      (unsigned long)w->nr_usr2, logged);
		t_check(w->bad == 0, "worker %d saw %lu wrong pages/reads", i, (unsigned long)w->bad);
		t_check(w->nr_usr1 > 0, "worker %d never ran its SIGUSR1 handler", i);
		t_check(logged == w->nr_usr1 + w->nr_usr2,
			"worker %d: the handler's heap log holds %lu, %lu signals handled",
			i, logged, (unsigned long)(w->nr_usr1 + w->nr_usr2));
		t_check(w->passes > 0, "worker %d made no progress", i);
	}
	/* A final full check of every worker's data, from the main thread. */
	for (int i = 0; i < U_WORKERS; i++) {
		struct u_worker *w = &u_w[i];

		for (size_t off = 0; off < U_BUF; off += T_PAGE_SIZE) {
			uint64_t want = t_mix64(w->gen ^ off ^ ((uint64_t)i << 40));

			t_check(((uint64_t *)(w->buf + off))[0] == want,
				"worker %d page +%zu wrong after the run", i, off);
		}
		free(w->buf);
		free(w->log);
	}
	free(u_w[U_WORKERS].buf);
	free(u_w[U_WORKERS].log);
	close(u_fd);
	t_log("    %lu pthread_kill calls", kills);
}

/* ---- sigretry: faults raised again after a signal ---------------------- */

#define R_WORKERS 8
#define R_BUF (1UL * T_MIB)
#define R_SECONDS 1.5
#define R_LOG_PAGES 16

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

struct r_worker {
	pthread_t tid;
	int idx;
	char *buf;
	uint64_t gen;
	unsigned long *log; /* R_LOG_PAGES heap pages the handler writes */
	atomic_ulong nr_sig, passes, bad;
};

static struct r_worker r_w[R_WORKERS];
static __thread struct r_worker *r_self;
static atomic_int r_stop;

static void h_retry(int sig)
{
	struct r_worker *w = r_self;
	int saved = errno;
	unsigned long n;

	(void)sig;
	if (!w)
		return;
	n = atomic_fetch_add(&w->nr_sig, 1);
	/* A page of its own that may be out too: the handler faults (and may
	 * wait) elsewhere than the access it interrupted. */
	w->log[n % R_LOG_PAGES * (T_PAGE_SIZE / sizeof(long))]++;
	errno = saved;
}

static uint64_t r_word(const struct r_worker *w, uint64_t gen, size_t off)
{
	return t_mix64(gen ^ off ^ ((uint64_t)w->idx << 40) ^ 0x5e7);
}

static void *r_worker(void *arg)
{
	struct r_worker *w = arg;
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGRTMIN };
	struct itimerspec its = { .it_interval = { 0, 200000 }, .it_value = { 0, 200000 } };
	timer_t timer;

	r_self = w;
	sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
	t_check(!timer_create(CLOCK_MONOTONIC, &sev, &timer), "timer_create: %s", strerror(errno));
	t_check(!timer_settime(timer, 0, &its, NULL), "timer_settime");
	while (!atomic_load(&r_stop)) {
		for (size_t off = 0; off < R_BUF; off += T_PAGE_SIZE) {
			uint64_t *p = (uint64_t *)(w->buf + off);
			uint64_t want = r_word(w, w->gen, off);

			if ((p[0] != want || p[T_PAGE_SIZE / 8 - 1] != ~want) &&
			    atomic_fetch_add(&w->bad, 1) < 3)
				t_log("worker %d: page +%zu wrong in pass %lu", w->idx, off,
				      (unsigned long)w->passes);
			want = r_word(w, w->gen + 1, off);
			p[0] = want;
			p[T_PAGE_SIZE / 8 - 1] = ~want;
		}
		w->gen++;
		atomic_fetch_add(&w->passes, 1);
	}
	timer_delete(timer);
	return NULL;
}

static void r_round(int flags)
{
	struct sigaction sa = { .sa_handler = h_retry, .sa_flags = flags };
	unsigned long logged;

	sigemptyset(&sa.sa_mask);
	t_check(!sigaction(SIGRTMIN, &sa, NULL), "sigaction");
	atomic_store(&r_stop, 0);
	for (int i = 0; i < R_WORKERS; i++) {
		struct r_worker *w = &r_w[i];

		w->idx = i;
		w->gen = 0;
		atomic_store(&w->nr_sig, 0);
		atomic_store(&w->passes, 0);
		atomic_store(&w->bad, 0);
		w->buf = malloc(R_BUF);
		w->log = calloc(R_LOG_PAGES, T_PAGE_SIZE);
		t_check(w->buf && w->log, "malloc");
		for (size_t off = 0; off < R_BUF; off += T_PAGE_SIZE) {
			((uint64_t *)(w->buf + off))[0] = r_word(w, 0, off);
			((uint64_t *)(w->buf + off))[T_PAGE_SIZE / 8 - 1] = ~r_word(w, 0, off);
		}
		t_check(!pthread_create(&w->tid, NULL, r_worker, w), "pthread_create");
	}
	usleep((useconds_t)(R_SECONDS * 1e6));
	atomic_store(&r_stop, 1);
	for (int i = 0; i < R_WORKERS; i++)
		pthread_join(r_w[i].tid, NULL);
	for (int i = 0; i < R_WORKERS; i++) {
		struct r_worker *w = &r_w[i];

		logged = 0;
		for (int k = 0; k < R_LOG_PAGES; k++)
			logged += w->log[k * (T_PAGE_SIZE / sizeof(long))];
		t_log("    %s: worker %d: %lu passes, %lu signals, %lu logged",
		      flags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART", i,
		      (unsigned long)w->passes, (unsigned long)w->nr_sig, logged);
		t_check(w->bad == 0, "worker %d saw %lu wrong pages", i, (unsigned long)w->bad);
		t_check(w->nr_sig > 0 && logged == w->nr_sig,
			"worker %d: %lu signals handled, the handler's heap log holds %lu", i,
			(unsigned long)w->nr_sig, logged);
		t_check(w->passes > 0, "worker %d made no progress", i);
		for (size_t off = 0; off < R_BUF; off += T_PAGE_SIZE)
			t_check(((uint64_t *)(w->buf + off))[0] == r_word(w, w->gen, off) &&
					((uint64_t *)(w->buf + off))[T_PAGE_SIZE / 8 - 1] ==
						~r_word(w, w->gen, off),
				"worker %d page +%zu wrong after the run", i, off);
		free(w->buf);
		free(w->log);
	}
	restore_default(SIGRTMIN);
}

static void case_sigretry(void)
{
	r_round(SA_RESTART);
	r_round(0);
}

/* ---- hold_*: wait for SIGINT/SIGTERM while paging ----------------------- */

static volatile sig_atomic_t h_flag;

static void h_set_flag(int sig)
{
	h_flag = sig;
}

static void h_exit_now(int sig)
{
	(void)sig;
	_exit(4);
}

static void hold(int mode)
{
	size_t n = (size_t)c_limit * 3, chunk = T_MIB;
	size_t nr = n / chunk;
	char **c = calloc(nr, sizeof(*c));
	uint64_t gen = 0;

	t_check(c, "calloc");
	if (mode) {
		struct sigaction sa = { .sa_handler = mode == 1 ? h_set_flag : h_exit_now };

		sigemptyset(&sa.sa_mask);
		t_check(!sigaction(SIGINT, &sa, NULL) && !sigaction(SIGTERM, &sa, NULL), "sigaction");
	}
	for (size_t i = 0; i < nr; i++) {
		c[i] = malloc(chunk);
		t_check(c[i], "malloc");
		t_pattern_fill(c[i], chunk, i, 0);
	}
	c_make_cold("first chunk", c[0], chunk);
	printf("READY %d\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		for (size_t i = 0; i < nr; i++) {
			t_check_pattern("held chunk", c[i], chunk, gen * 1000003 + i, 0);
			t_pattern_fill(c[i], chunk, (gen + 1) * 1000003 + i, 0);
			if (h_flag) {
				/* Finish consistently: the rest still holds gen. */
				for (size_t j = i + 1; j < nr; j++)
					t_check_pattern("held chunk at exit", c[j], chunk,
							gen * 1000003 + j, 0);
				t_log("signal %d: data verified, exiting with 3", (int)h_flag);
				exit(3);
			}
		}
		gen++;
	}
}

static void case_hold_default(void)
{
	hold(0);
}

static void case_hold_flag_exit(void)
{
	hold(1);
}

static void case_hold_handler_exit(void)
{
	hold(2);
}

static const struct c_case cases[] = {
	{ "segv", case_segv, "the program's SIGSEGV handler sees its own faults, whatever installed it", 0 },
	{ "sigbus", case_sigbus, "SIGBUS past the EOF of a mapped file reaches the program's handler", 0 },
	{ "altstack", case_altstack, "stack overflow caught on an evicted sigaltstack", 0 },
	{ "sigusr", case_sigusr, "SIGUSR1/SIGUSR2 while threads wait for memory", 0 },
	{ "sigretry", case_sigretry, "timer signals keep interrupting threads that wait for memory", 0 },
	{ "hold_default", case_hold_default, "page until killed (default action)", 1 },
	{ "hold_flag_exit", case_hold_flag_exit, "page until a signal; the handler's flag makes main exit(3)", 1 },
	{ "hold_handler_exit", case_hold_handler_exit, "page until a signal; the handler calls _exit(4)", 1 },
};

int main(int argc, char **argv)
{
	return c_main(argc, argv, "signals", cases, sizeof(cases) / sizeof(cases[0]), 125, 110);
}
