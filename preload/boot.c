/*
 * The bootstrap: our jemalloc (Debian's libjemalloc_pic.a, its public names
 * renamed jx_*) and its extent hooks on the runtime's managed heap, the
 * state machine that starts the runtime, the bootstrap arena, and what
 * runs at load, fork and exit.
 */
#define _GNU_SOURCE
/* As in the other preload files (mmap.c, io.c): libc's names as declared
 * without _FILE_OFFSET_BITS=64, which meson sets. */
#undef _FILE_OFFSET_BITS
#include "boot.h"

#include "config.h"
#include "exec.h"
#include "fork.h"
#include "heap.h"
#include "interpose.h"
#include "io.h"
#include "log.h"
#include "runtime.h"
#include "signals.h"
#include "sites.h"
#include "sys.h"
#include "threads.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Options for our jemalloc: return freed pages at once (muzzy pages would be
 * swapped out as garbage), no background threads of its own. */
const char *jx_malloc_conf = "muzzy_decay_ms:0,background_thread:false,narenas:1";

/* jemalloc's own mappings (its unmanaged arena 0 and metadata) bypass our hooks. */
void *uswap_je_mmap(void *a, size_t l, int p, int f, int fd, off_t o);
int uswap_je_munmap(void *a, size_t l);
int uswap_je_madvise(void *a, size_t l, int adv);
int uswap_je_mprotect(void *a, size_t l, int p);
void *uswap_je_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{
	return sys_mmap(a, l, p, f, fd, o);
}
int uswap_je_munmap(void *a, size_t l)
{
	return sys_munmap(a, l);
}
int uswap_je_madvise(void *a, size_t l, int adv)
{
	return sys_madvise(a, l, adv);
}
int uswap_je_mprotect(void *a, size_t l, int p)
{
	return sys_mprotect(a, l, p);
}

/* ---- jemalloc extent hooks: the managed heap ---------------------------- */

typedef struct extent_hooks_s extent_hooks_t;
struct extent_hooks_s {
	void *(*alloc)(extent_hooks_t *, void *, size_t, size_t, bool *, bool *, unsigned);
	bool (*dalloc)(extent_hooks_t *, void *, size_t, bool, unsigned);
	void (*destroy)(extent_hooks_t *, void *, size_t, bool, unsigned);
	bool (*commit)(extent_hooks_t *, void *, size_t, size_t, size_t, unsigned);
	bool (*decommit)(extent_hooks_t *, void *, size_t, size_t, size_t, unsigned);
	bool (*purge_lazy)(extent_hooks_t *, void *, size_t, size_t, size_t, unsigned);
	bool (*purge_forced)(extent_hooks_t *, void *, size_t, size_t, size_t, unsigned);
	bool (*split)(extent_hooks_t *, void *, size_t, size_t, size_t, bool, unsigned);
	bool (*merge)(extent_hooks_t *, void *, size_t, void *, size_t, bool, unsigned);
};

static void *extent_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t align, bool *zero,
			  bool *commit, unsigned ind)
{
	void *p;

	(void)h, (void)ind;
	if (new_addr)
		return NULL;
	p = heap_alloc(size, align < PAGE_SIZE ? PAGE_SIZE : align);
	if (p) {
		*zero = true; /* never-touched managed memory reads zeros */
		*commit = true;
	}
	return p;
}

/* Opt out of unmapping: jemalloc retains the range and reuses it. */
static bool extent_dalloc(extent_hooks_t *h, void *a, size_t s, bool c, unsigned i)
{
	(void)h, (void)a, (void)s, (void)c, (void)i;
	return true;
}

static bool extent_purge(extent_hooks_t *h, void *a, size_t size, size_t off, size_t len,
			 unsigned i)
{
	(void)h, (void)size, (void)i;
	heap_purge((char *)a + off, len);
	return false;
}

static bool extent_split(extent_hooks_t *h, void *a, size_t s, size_t sa, size_t sb, bool c,
			 unsigned i)
{
	(void)h, (void)a, (void)s, (void)sa, (void)sb, (void)c, (void)i;
	return false;
}

static bool extent_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool c,
			 unsigned i)
{
	(void)h, (void)a, (void)sa, (void)b, (void)sb, (void)c, (void)i;
	return false;
}

static extent_hooks_t heap_hooks = {
	.alloc = extent_alloc,
	.dalloc = extent_dalloc,
	.purge_forced = extent_purge,
	.split = extent_split,
	.merge = extent_merge,
};

/* ---- bootstrap ----------------------------------------------------------- */

int boot_state = BOOT_NEW;
static pid_t init_tid;
static struct sys_lock init_lock;
unsigned boot_arena;
__thread bool boot_bound __attribute__((tls_model("initial-exec")));

char boot_heap[BOOT_HEAP_SIZE] __attribute__((aligned(4096)));
static size_t boot_top;

void *boot_alloc(size_t n, size_t align)
{
	size_t start, hdr = align < 16 ? 16 : align;

	start = __atomic_load_n(&boot_top, __ATOMIC_RELAXED);
	for (;;) {
		size_t a = (start + hdr + align - 1) & ~(align - 1), end = a + n;

		if (end > sizeof(boot_heap))
			return NULL;
		if (__atomic_compare_exchange_n(&boot_top, &start, end, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			((size_t *)(boot_heap + a))[-1] = n;
			return boot_heap + a;
		}
	}
}

/*
 * fork(): see src/runtime/fork.c. The order of the locks matters, and
 * pthread_atfork alone cannot give it: jemalloc registers its handlers when
 * it initialises, before the runtime is up, so they would run after ours in
 * prepare, when the fault handler serves the forking thread only; the
 * forker would then wait for an arena mutex held by a thread blocked in a
 * userfault, for good. So jemalloc's pthread_atfork is ours
 * (jemalloc-rename.sh), and one set of handlers takes, in order:
 *
 *   prepare: stdio's list lock (glibc takes it after the prefork handlers,
 *            and a thread may hold it while it faults or allocates), then
 *            jemalloc's locks (its prefork), then the runtime's barrier;
 *            every thread's faults are served until the last step.
 *   parent:  the reverse.
 *   child:   the runtime first (its userfaultfd: jemalloc's own state lives
 *            in the managed heap and may be evicted or staged), then
 *            jemalloc's postfork, which may touch it; glibc has reset
 *            stdio's lock in the child.
 *
 * While the child rebuilds its runtime, its one thread's own allocations
 * (pthread_create's) come from the bootstrap arena, as during start-up:
 * the managed heap has no handler yet, and jemalloc's locks are still held.
 */
void _IO_list_lock(void);
void _IO_list_unlock(void);
extern FILE *_IO_list_all;

/* In the child, glibc re-initialises the lock of every FILE before any
 * handler of ours runs, and the FILEs of fopen are in the managed heap:
 * one that was evicted or staged in the parent is missing from the
 * child's unregistered copy, which would read zeros and lose it. So the
 * parent brings them in once its scanner is parked (nothing is evicted
 * from then on), with stdio's list lock held. */
static void stdio_fault_in(void)
{
	for (FILE *fp = _IO_list_all; fp; fp = fp->_chain) {
		const volatile char *b = (const volatile char *)fp;

		(void)b[0];
		(void)b[sizeof(*fp) - 1];
		if (fp->_lock) {
			const volatile char *l = (const volatile char *)fp->_lock;

			(void)l[0];
			(void)l[15]; /* an _IO_lock_t is 16 bytes */
		}
	}
}

static struct {
	void (*prepare)(void);
	void (*parent)(void);
	void (*child)(void);
} je_fork;

static void atfork_prepare(void)
{
	_IO_list_lock();
	if (je_fork.prepare)
		je_fork.prepare();
	if (boot_state == BOOT_MANAGED) {
		fork_prepare();
		stdio_fault_in();
	}
}

static void atfork_parent(void)
{
	if (boot_state == BOOT_MANAGED)
		fork_parent();
	if (je_fork.parent)
		je_fork.parent();
	_IO_list_unlock();
}

static void atfork_child(void)
{
	sys_fork_child();
	if (boot_state == BOOT_MANAGED) {
		threads_fork_child();
		init_lock.word = 0;
		init_tid = sys_gettid();
		__atomic_store_n(&boot_state, BOOT_INIT, __ATOMIC_RELEASE);
		fork_child();
		__atomic_store_n(&boot_state, BOOT_MANAGED, __ATOMIC_RELEASE);
	}
	if (je_fork.child)
		je_fork.child();
}

/* jemalloc's pthread_atfork, called once as it initialises (in boot, or at
 * the first allocation when the runtime is off). */
int uswap_je_pthread_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
int uswap_je_pthread_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	je_fork.prepare = prepare;
	je_fork.parent = parent;
	je_fork.child = child;
	return pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static void boot(void)
{
	char err[512];
	size_t sz = sizeof(boot_arena);
	extent_hooks_t *hp = &heap_hooks;
	int r;

	r = config_load(err, sizeof(err));
	if (r == -ENOENT) {
		boot_state = BOOT_OFF;
		return;
	}
	if (r)
		log_fatal_config("%s", err);
	if (dlsym(RTLD_DEFAULT, "__asan_init") || dlsym(RTLD_DEFAULT, "__tsan_init") ||
	    dlsym(RTLD_DEFAULT, "__msan_init")) {
		log_line("warning: program uses a sanitizer runtime; running it unmanaged");
		boot_state = BOOT_OFF;
		return;
	}
	r = runtime_init(err, sizeof(err));
	if (r && config.stats_pid > 0 &&
	    (config.stats_pid != getpid() || r == -EPERM || r == -EACCES)) {
		/* A descendant of the program the CLI checked, or a program the
		 * CLI's process became by exec after a set*id (setpriv
		 * --reuid=...), which cannot have what the CLI had (it dropped
		 * privileges and lost userfaultfd, say): it runs unmanaged
		 * rather than fail. */
		log_line("warning: %s; this process (%d) runs unmanaged", err, (int)getpid());
		boot_state = BOOT_OFF;
		return;
	}
	if (r)
		log_fatal_config("%s", err);
	if (jx_mallctl("arenas.create", &boot_arena, &sz, &hp, sizeof(hp)))
		log_fatal_config("jemalloc refused to create the managed arena");
	if (!je_fork.prepare)
		log_fatal_config("jemalloc did not register its fork handlers");
	threads_init();
	exec_init();
	if (config.no_children)
		exec_no_children();
	if (runtime_traps_sigsegv() && signals_install_segv())
		log_fatal_config("cannot install the SIGSEGV handler for mprotect tracking");
	/* Still BOOT_INIT: what dlopen allocates for libunwind (the loader's
	 * link map and TLS slot list) comes from the bootstrap arena. In the
	 * managed heap, a forked child would fault on it in pthread_create,
	 * before its fault handler runs. */
	sites_init(true);
	__atomic_store_n(&boot_state, BOOT_MANAGED, __ATOMIC_RELEASE);
}

bool boot_ensure_init_slow(void)
{
	int s = __atomic_load_n(&boot_state, __ATOMIC_ACQUIRE);

	if (likely(s >= BOOT_MANAGED))
		return true;
	if (s == BOOT_INIT && init_tid == sys_gettid())
		return false;
	sys_lock(&init_lock);
	if (boot_state == BOOT_NEW) {
		init_tid = sys_gettid();
		boot_state = BOOT_INIT;
		boot();
		if (boot_state == BOOT_INIT)
			boot_state = BOOT_OFF;
		if (boot_state == BOOT_OFF)
			sites_init(false);
	}
	sys_unlock(&init_lock);
	return __atomic_load_n(&boot_state, __ATOMIC_ACQUIRE) >= BOOT_MANAGED;
}

__attribute__((constructor)) static void preload_ctor(void)
{
	io_init();
	boot_ensure_init();
}

__attribute__((destructor)) static void preload_dtor(void)
{
	if (boot_state == BOOT_MANAGED)
		runtime_exit();
}

/* _exit skips destructors; the stats are still owed. */
EXPORT void _exit(int status)
{
	if (boot_state == BOOT_MANAGED)
		runtime_exit();
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

EXPORT void _Exit(int status) __attribute__((alias("_exit")));
