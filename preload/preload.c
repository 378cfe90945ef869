/*
 * The interposition layer: thin hooks over the runtime core.
 *
 * malloc and friends go to jemalloc (Debian's libjemalloc_pic.a, its public
 * names renamed jx_*), bound per thread to one arena whose extents come from
 * the runtime's managed heap. mmap and friends go to rt_*. Until the runtime
 * is initialised (and for allocations made by the initialising thread while
 * it starts the runtime's threads) a small static bump arena serves malloc.
 */
#define _GNU_SOURCE
/* Define mmap and mmap64 under their own names (meson sets _FILE_OFFSET_BITS=64,
 * which would turn our mmap into mmap64). */
#undef _FILE_OFFSET_BITS
#include "config.h"
#include "file.h"
#include "fork.h"
#include "heap.h"
#include "log.h"
#include "madvise.h"
#include "mlock.h"
#include "mmap.h"
#include "mprotect.h"
#include "probe.h"
#include "runtime.h"
#include "sites.h"
#include "sys.h"
#include "thread.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* jemalloc, renamed. */
void *jx_malloc(size_t);
void *jx_calloc(size_t, size_t);
void *jx_realloc(void *, size_t);
void jx_free(void *);
int jx_posix_memalign(void **, size_t, size_t);
void *jx_aligned_alloc(size_t, size_t);
size_t jx_malloc_usable_size(void *);
void *jx_mallocx(size_t, int);
int jx_mallctl(const char *, void *, size_t *, void *, size_t);
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

static bool extent_purge(extent_hooks_t *h, void *a, size_t size, size_t off, size_t len, unsigned i)
{
	(void)h, (void)size, (void)i;
	heap_purge((char *)a + off, len);
	return false;
}

static bool extent_split(extent_hooks_t *h, void *a, size_t s, size_t sa, size_t sb, bool c, unsigned i)
{
	(void)h, (void)a, (void)s, (void)sa, (void)sb, (void)c, (void)i;
	return false;
}

static bool extent_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb, bool c, unsigned i)
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

enum { ST_NEW, ST_INIT, ST_MANAGED, ST_OFF };
static int state = ST_NEW;
static pid_t init_tid;
static struct sys_lock init_lock;
static unsigned arena;
static __thread bool bound __attribute__((tls_model("initial-exec")));

static char boot_heap[1 << 20] __attribute__((aligned(4096)));
static size_t boot_top;

static bool is_boot(const void *p)
{
	return (const char *)p >= boot_heap && (const char *)p < boot_heap + sizeof(boot_heap);
}

static void *boot_alloc(size_t n, size_t align)
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

static void (*real_sigaction_fn)(void);
static int install_segv_handler(void);

/* fork(): see src/runtime/fork.c. While the child rebuilds its runtime,
 * its one thread's own allocations (pthread_create's) come from the
 * bootstrap arena, as during start-up: the managed heap has no handler yet. */
static void atfork_prepare(void)
{
	if (state == ST_MANAGED)
		fork_prepare();
}

static void atfork_parent(void)
{
	if (state == ST_MANAGED)
		fork_parent();
}

static int nr_app_threads_reset(void);
static void count_threads_init(void);

static void atfork_child(void)
{
	if (state != ST_MANAGED)
		return;
	nr_app_threads_reset();
	init_lock.word = 0;
	init_tid = sys_gettid();
	__atomic_store_n(&state, ST_INIT, __ATOMIC_RELEASE);
	fork_child();
	__atomic_store_n(&state, ST_MANAGED, __ATOMIC_RELEASE);
}

/* --no-children: programs this one execs run without us. */
static void drop_from_environment(void)
{
	const char *ld = getenv("LD_PRELOAD");
	char *kept, *tok, *save = NULL;
	size_t n = 0;

	unsetenv("USWAP_LIMIT"); /* without a limit the runtime stays off */
	if (!ld)
		return;
	kept = malloc(strlen(ld) + 1);
	tok = strdup(ld);
	if (!kept || !tok)
		return;
	for (char *t = strtok_r(tok, ": ", &save); t; t = strtok_r(NULL, ": ", &save)) {
		size_t len = strlen(t);

		if (len >= 11 && !strcmp(t + len - 11, "libuswap.so"))
			continue;
		n += (size_t)sprintf(kept + n, "%s%s", n ? ":" : "", t);
	}
	kept[n] = 0;
	if (n)
		setenv("LD_PRELOAD", kept, 1);
	else
		unsetenv("LD_PRELOAD");
}

static void boot(void)
{
	char err[512];
	size_t sz = sizeof(arena);
	extent_hooks_t *hp = &heap_hooks;
	int r;

	r = config_load(err, sizeof(err));
	if (r == -ENOENT) {
		state = ST_OFF;
		return;
	}
	if (r)
		log_fatal_config("%s", err);
	if (dlsym(RTLD_DEFAULT, "__asan_init") || dlsym(RTLD_DEFAULT, "__tsan_init") ||
	    dlsym(RTLD_DEFAULT, "__msan_init")) {
		log_line("warning: program uses a sanitizer runtime; running it unmanaged");
		state = ST_OFF;
		return;
	}
	r = runtime_init(err, sizeof(err));
	if (r && config.stats_pid > 0 && config.stats_pid != getpid()) {
		/* A descendant of the program the CLI checked, which cannot have
		 * what its ancestor had (it dropped privileges and lost
		 * userfaultfd, say): it runs unmanaged rather than fail. */
		log_line("warning: %s; this process (%d) runs unmanaged", err, (int)getpid());
		state = ST_OFF;
		return;
	}
	if (r)
		log_fatal_config("%s", err);
	if (jx_mallctl("arenas.create", &arena, &sz, &hp, sizeof(hp)))
		log_fatal_config("jemalloc refused to create the managed arena");
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	count_threads_init();
	if (config.no_children)
		drop_from_environment();
	if (runtime_traps_sigsegv() && install_segv_handler())
		log_fatal_config("cannot install the SIGSEGV handler for mprotect tracking");
	/* Still ST_INIT: what dlopen allocates for libunwind (the loader's
	 * link map and TLS slot list) comes from the bootstrap arena. In the
	 * managed heap, a forked child would fault on it in pthread_create,
	 * before its fault handler runs. */
	sites_init(true);
	__atomic_store_n(&state, ST_MANAGED, __ATOMIC_RELEASE);
}

/* True once the runtime is up (managed or off); false for the initialising
 * thread's own nested calls, which the bootstrap arena serves. */
static bool ensure_init(void)
{
	int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);

	if (likely(s >= ST_MANAGED))
		return true;
	if (s == ST_INIT && init_tid == sys_gettid())
		return false;
	sys_lock(&init_lock);
	if (state == ST_NEW) {
		init_tid = sys_gettid();
		state = ST_INIT;
		boot();
		if (state == ST_INIT)
			state = ST_OFF;
		if (state == ST_OFF)
			sites_init(false);
	}
	sys_unlock(&init_lock);
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) >= ST_MANAGED;
}

static inline void bind_thread(void)
{
	if (likely(bound))
		return;
	bound = true;
	if (state == ST_MANAGED)
		jx_mallctl("thread.arena", NULL, NULL, &arena, sizeof(arena));
}

static void resolve_io(void);

__attribute__((constructor)) static void preload_ctor(void)
{
	resolve_io();
	ensure_init();
}

__attribute__((destructor)) static void preload_dtor(void)
{
	if (state == ST_MANAGED)
		runtime_exit();
}

/* ---- the malloc family --------------------------------------------------- *
 * Call-site sampling (sites.h): sites_tick counts the bytes; the rare
 * sampled call takes its stack before the allocator runs (sampled_*). */

static __attribute__((noinline)) void *sampled_malloc(size_t n)
{
	bool s = sites_begin(n);
	void *p = jx_malloc(n);

	if (s)
		sites_end(p, n);
	return p;
}

EXPORT void *malloc(size_t n)
{
	if (unlikely(!ensure_init()))
		return boot_alloc(n, 16);
	bind_thread();
	if (sites_tick(n))
		return sampled_malloc(n);
	return jx_malloc(n);
}

EXPORT void free(void *p)
{
	if (unlikely(!p || is_boot(p)))
		return;
	sites_free(p); /* before the address can be reused */
	jx_free(p);
}

static __attribute__((noinline)) void *sampled_calloc(size_t a, size_t b, size_t n)
{
	bool s = sites_begin(n);
	void *p = jx_calloc(a, b);

	if (s)
		sites_end(p, n);
	return p;
}

EXPORT void *calloc(size_t a, size_t b)
{
	size_t n;

	if (__builtin_mul_overflow(a, b, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(!ensure_init()))
		return boot_alloc(n, 16); /* static memory is zero */
	bind_thread();
	if (sites_tick(n))
		return sampled_calloc(a, b, n);
	return jx_calloc(a, b);
}

/* p's record (if sampled) ended in realloc: the new block is a new
 * allocation for sampling, as in tcmalloc. */
static __attribute__((noinline)) void *sampled_realloc(void *p, size_t n)
{
	bool s = sites_begin(n);
	void *q = jx_realloc(p, n);

	if (s)
		sites_end(q, n);
	return q;
}

EXPORT void *realloc(void *p, size_t n)
{
	if (unlikely(is_boot(p))) {
		size_t old = ((size_t *)p)[-1];
		void *q = malloc(n);

		if (q)
			memcpy(q, p, old < n ? old : n);
		return q;
	}
	if (unlikely(!ensure_init()))
		return p ? NULL : boot_alloc(n, 16);
	bind_thread();
	if (p)
		sites_free(p);
	if (sites_tick(n))
		return sampled_realloc(p, n);
	return jx_realloc(p, n);
}

EXPORT void *reallocarray(void *p, size_t a, size_t b)
{
	size_t n;

	if (__builtin_mul_overflow(a, b, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

static __attribute__((noinline)) int sampled_memalign(void **ret, size_t align, size_t n)
{
	bool s = sites_begin(n);
	int r = jx_posix_memalign(ret, align, n);

	if (s)
		sites_end(r ? NULL : *ret, n);
	return r;
}

EXPORT int posix_memalign(void **ret, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	if (unlikely(!ensure_init())) {
		*ret = boot_alloc(n, align);
		return *ret ? 0 : ENOMEM;
	}
	bind_thread();
	if (sites_tick(n))
		return sampled_memalign(ret, align, n);
	return jx_posix_memalign(ret, align, n);
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	void *p = NULL;
	int r = posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n);

	if (r) {
		errno = r;
		return NULL;
	}
	return p;
}

EXPORT void *memalign(size_t align, size_t n)
{
	return aligned_alloc(align, n);
}

EXPORT void *valloc(size_t n)
{
	return aligned_alloc(PAGE_SIZE, n);
}

EXPORT void *pvalloc(size_t n)
{
	return aligned_alloc(PAGE_SIZE, PAGE_ALIGN_UP(n ? n : 1));
}

EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (is_boot(p))
		return ((size_t *)p)[-1];
	return jx_malloc_usable_size(p);
}

/* _exit skips destructors; the stats are still owed. */
EXPORT void _exit(int status)
{
	if (state == ST_MANAGED)
		runtime_exit();
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

EXPORT void _Exit(int status) __attribute__((alias("_exit")));

/* ---- the mmap family ----------------------------------------------------- */

/* The program's private anonymous mappings are sampled as allocations. */
static inline bool sample_map(size_t len, int flags)
{
	return (flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE && sites_tick(len);
}

static __attribute__((noinline)) void *sampled_mmap(void *addr, size_t len, int prot, int flags,
						    int fd, off_t off)
{
	bool s = sites_begin(len);
	void *p = rt_mmap(addr, len, prot, flags, fd, off);

	if (s)
		sites_end(p == MAP_FAILED ? NULL : p, PAGE_ALIGN_UP(len));
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	ensure_init();
	if (sample_map(len, flags))
		return sampled_mmap(addr, len, prot, flags, fd, off);
	return rt_mmap(addr, len, prot, flags, fd, off);
}
EXPORT void *uswap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__asm__("mmap64");
EXPORT void *uswap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	ensure_init();
	if (sample_map(len, flags))
		return sampled_mmap(addr, len, prot, flags, fd, off);
	return rt_mmap(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	sites_unmap((uintptr_t)addr, len); /* before the range can be reused */
	return rt_munmap(addr, len);
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	struct sites_moved moved;
	void *new_addr = NULL, *p;

	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	sites_take((uintptr_t)old, old_len, &moved);
	p = rt_mremap(old, old_len, new_len, flags, new_addr);
	if (p == MAP_FAILED)
		sites_put(&moved, (uintptr_t)old, old_len);
	else
		sites_put(&moved, (uintptr_t)p, PAGE_ALIGN_UP(new_len));
	return p;
}

EXPORT int madvise(void *addr, size_t len, int advice)
{
	return rt_madvise(addr, len, advice);
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	return rt_mprotect(addr, len, prot);
}

EXPORT int mlock(const void *addr, size_t len)
{
	return rt_mlock(addr, len, 0, true);
}

EXPORT int mlock2(const void *addr, size_t len, unsigned flags)
{
	return rt_mlock(addr, len, flags, true);
}

EXPORT int munlock(const void *addr, size_t len)
{
	return rt_mlock(addr, len, 0, false);
}

EXPORT int mlockall(int flags)
{
	return rt_mlockall(flags);
}

EXPORT int munlockall(void)
{
	return rt_munlockall();
}

EXPORT int msync(void *addr, size_t len, int flags)
{
	return rt_msync(addr, len, flags);
}

/* ---- read and write on mapped files ------------------------------------- *
 * A file the program has mapped is, in its resident pages, our copy: a
 * read() of it must see the mapping's changes and a write() must reach the
 * mapping (file.c). Nothing but one load is added while no file is mapped. */

/* libc's own, found at load (preload_ctor), else on first use. */
#define IO_CALLS(X) X(read) X(pread) X(readv) X(preadv) X(write) X(pwrite) X(writev) X(pwritev)
#define X(name) static __typeof__(name) *real_##name;
IO_CALLS(X)
#undef X

static void resolve_io(void)
{
#define X(name) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);
	IO_CALLS(X)
#undef X
}

/* A call before preload_ctor ran (another library's constructor). */
#define REAL(name) \
	if (unlikely(!real_##name)) \
		resolve_io()

static size_t iov_len(const struct iovec *iov, int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

/* Before a read of [off, off+len) (off -1: the file position). */
static void before_read(int fd, long off, size_t len)
{
	struct file_io io;
	int saved = errno;

	if (unlikely(file_mapped_any()))
		file_io_begin(fd, off, len, false, &io);
	errno = saved;
}

static bool before_write(int fd, long off, size_t len, struct file_io *io)
{
	int saved = errno;
	bool hooked = false;

	if (unlikely(file_mapped_any()))
		hooked = file_io_begin(fd, off, len, true, io);
	errno = saved;
	return hooked;
}

static ssize_t after_write(bool hooked, struct file_io *io, ssize_t r)
{
	int saved = errno;

	if (hooked)
		file_io_end(io, r);
	errno = saved;
	return r;
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	REAL(read);
	before_read(fd, -1, n);
	return real_read(fd, buf, n);
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	REAL(pread);
	before_read(fd, off, n);
	return real_pread(fd, buf, n, off);
}
EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	REAL(readv);
	before_read(fd, -1, iov_len(iov, cnt));
	return real_readv(fd, iov, cnt);
}

EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	REAL(preadv);
	before_read(fd, off, iov_len(iov, cnt));
	return real_preadv(fd, iov, cnt, off);
}
EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off) __attribute__((alias("preadv")));

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct file_io io;
	bool hooked;

	REAL(write);
	hooked = before_write(fd, -1, n, &io);
	return after_write(hooked, &io, real_write(fd, buf, n));
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	struct file_io io;
	bool hooked;

	REAL(pwrite);
	hooked = before_write(fd, off, n, &io);
	return after_write(hooked, &io, real_pwrite(fd, buf, n, off));
}
EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	struct file_io io;
	bool hooked;

	REAL(writev);
	hooked = before_write(fd, -1, iov_len(iov, cnt), &io);
	return after_write(hooked, &io, real_writev(fd, iov, cnt));
}

EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct file_io io;
	bool hooked;

	REAL(pwritev);
	hooked = before_write(fd, off, iov_len(iov, cnt), &io);
	return after_write(hooked, &io, real_pwritev(fd, iov, cnt, off));
}
EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) __attribute__((alias("pwritev")));

/* ---- threads: the process ends with its last thread ---------------------- *
 * glibc ends the process when the last thread exits (say main called
 * pthread_exit, or a forked child's only thread returns). Our two threads
 * would keep it alive: so the program's own threads are counted, and when
 * the last of them exits the process exits, as glibc would have done. */

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

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* The runtime's threads never sample allocations (sites.h). rt_start_thread
 * starts them with a NULL argument: the trampoline takes their function. */
static void *rt_thread_start(void *fn)
{
	sites_thread_exclude();
	return ((void *(*)(void *))fn)(NULL);
}

EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	static pthread_create_fn real;
	struct app_start *s;
	int r;

	if (!real)
		real = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
	if (thread_starting && !arg)
		return real(t, attr, rt_thread_start, (void *)fn);
	if (state != ST_MANAGED || thread_starting || !(s = malloc(sizeof(*s))))
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

/* In a forked child only the forking thread is left. */
static int nr_app_threads_reset(void)
{
	__atomic_store_n(&nr_app_threads, 1, __ATOMIC_RELEASE);
	return 0;
}

static void count_threads_init(void)
{
	if (pthread_key_create(&app_key, app_thread_gone) == 0)
		pthread_setspecific(app_key, (void *)1);
}

/* ---- exec: a program we cannot manage runs without us -------------------- *
 * A sanitizer runtime must come first and replaces malloc (with us preloaded
 * ASan aborts and TSan crashes): such a program is run with our entry
 * removed from LD_PRELOAD, and says so once. */

static char **env_for(const char *file, char *const envp[])
{
	char detail[64], **out;
	size_t n = 0, k = 0;

	if (!envp || probe_program(file, detail, sizeof(detail)) != PROBE_SANITIZER)
		return (char **)envp;
	while (envp[n])
		n++;
	out = malloc((n + 1) * sizeof(*out));
	if (!out)
		return (char **)envp;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(envp[i], "LD_PRELOAD=", 11) && strstr(envp[i], "libuswap.so")) {
			char *v = malloc(strlen(envp[i]) + 1), *save = NULL, *tok;
			size_t m = 11;

			if (!v)
				continue;
			memcpy(v, "LD_PRELOAD=", 12);
			tok = strdup(envp[i] + 11);
			for (char *t = tok ? strtok_r(tok, ": ", &save) : NULL; t; t = strtok_r(NULL, ": ", &save))
				if (!strstr(t, "libuswap.so"))
					m += (size_t)sprintf(v + m, "%s%s", m > 11 ? ":" : "", t);
			out[k++] = v;
			continue;
		}
		out[k++] = envp[i];
	}
	out[k] = NULL;
	log_line("warning: %s is built with a sanitizer (%s), which replaces malloc; running it unmanaged",
		 file, detail);
	return out;
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)syscall(SYS_execve, path, argv, env_for(path, envp));
}

EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	static execve_fn real;

	if (!real)
		real = (execve_fn)dlsym(RTLD_NEXT, "execvpe");
	return real(file, argv, env_for(file, envp));
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	static spawn_fn real;

	if (!real)
		real = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawn");
	return real(pid, path, fa, attr, argv, env_for(path, envp));
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	static spawn_fn real;

	if (!real)
		real = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawnp");
	return real(pid, file, fa, attr, argv, env_for(file, envp));
}

/* ---- SIGSEGV, for mprotect tracking only --------------------------------- *
 * Our handler stays installed; the program's SIGSEGV action is kept aside and
 * faults that are not ours are chained to it. */

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static struct sigaction app_segv; /* the program's SIGSEGV action */
static bool segv_hooked;

static sigaction_fn real_sigaction(void)
{
	if (!real_sigaction_fn)
		real_sigaction_fn = (void (*)(void))dlsym(RTLD_NEXT, "sigaction");
	return (sigaction_fn)real_sigaction_fn;
}

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

		real_sigaction()(SIGSEGV, &dfl, NULL);
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

static int install_segv_handler(void)
{
	struct sigaction sa = { .sa_sigaction = segv_handler,
				.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART };

	sigfillset(&sa.sa_mask);
	sigdelset(&sa.sa_mask, SIGSEGV);
	if (real_sigaction()(SIGSEGV, &sa, &app_segv))
		return -1;
	segv_hooked = true;
	return 0;
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig != SIGSEGV || !segv_hooked)
		return real_sigaction()(sig, act, old);
	if (old)
		*old = app_segv;
	if (act)
		app_segv = *act;
	return 0;
}

EXPORT int uswap___sigaction(int sig, const struct sigaction *act, struct sigaction *old)
	__asm__("__sigaction");
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

EXPORT sighandler_t sigset(int sig, sighandler_t h)
{
	typedef sighandler_t (*sigset_fn)(int, sighandler_t);
	static sigset_fn real;

	if (sig != SIGSEGV || !segv_hooked || h == SIG_HOLD) {
		if (!real)
			real = (sigset_fn)dlsym(RTLD_NEXT, "sigset");
		return real(sig, h);
	}
	return set_handler(sig, h, 0);
}

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
	static sigmask_fn real;

	if (!real)
		real = (sigmask_fn)dlsym(RTLD_NEXT, "sigprocmask");
	return filter_mask(real, how, set, old);
}

EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	static sigmask_fn real;

	if (!real)
		real = (sigmask_fn)dlsym(RTLD_NEXT, "pthread_sigmask");
	return filter_mask(real, how, set, old);
}
