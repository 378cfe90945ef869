#define _GNU_SOURCE
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <time.h>

void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

int sys_madvise(void *addr, size_t len, int advice)
{
	return (int)syscall(SYS_madvise, addr, len, advice);
}

int sys_mprotect(void *addr, size_t len, int prot)
{
	return (int)syscall(SYS_mprotect, addr, len, prot);
}

int sys_futex_wait(uint32_t *uaddr, uint32_t val, long timeout_ns)
{
	struct timespec ts, *tp = NULL;

	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000L;
		ts.tv_nsec = timeout_ns % 1000000000L;
		tp = &ts;
	}
	return (int)syscall(SYS_futex, uaddr, FUTEX_WAIT_PRIVATE, val, tp, NULL, 0);
}

int sys_futex_wake(uint32_t *uaddr, int n)
{
	return (int)syscall(SYS_futex, uaddr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static __thread pid_t cached_tid __attribute__((tls_model("initial-exec")));

pid_t sys_gettid(void)
{
	if (unlikely(!cached_tid))
		cached_tid = (pid_t)syscall(SYS_gettid);
	return cached_tid;
}

void sys_fork_child(void)
{
	cached_tid = (pid_t)syscall(SYS_gettid);
}

uint64_t sys_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t sys_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void *sys_alloc_meta(size_t len)
{
	void *p = sys_mmap(NULL, PAGE_ALIGN_UP(len), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Drepper's three-state futex mutex: 0 free, 1 locked, 2 locked with waiters.
 * The slow path marks the lock contended and sleeps until it is free, or
 * until end (sys_now_ns; 0: never gives up). */
static bool lock_wait(struct sys_lock *l, uint32_t c, uint64_t end)
{
	if (c != 2)
		c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		long timeout = -1;

		if (end) {
			uint64_t now = sys_now_ns();

			if (now >= end)
				return false;
			timeout = (long)(end - now);
		}
		sys_futex_wait(&l->word, 2, timeout);
		c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
	}
	return true;
}

void sys_lock(struct sys_lock *l)
{
	uint32_t c = 0;

	if (__atomic_compare_exchange_n(&l->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	for (int spin = 0; spin < 100; spin++) {
		c = 0;
		if (__atomic_compare_exchange_n(&l->word, &c, 1, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		__builtin_ia32_pause();
	}
	lock_wait(l, c, 0);
}

bool sys_lock_timed(struct sys_lock *l, uint64_t timeout_ns)
{
	uint32_t c = 0;

	if (__atomic_compare_exchange_n(&l->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return true;
	return lock_wait(l, c, sys_now_ns() + timeout_ns);
}

void sys_unlock(struct sys_lock *l)
{
	if (__atomic_fetch_sub(&l->word, 1, __ATOMIC_RELEASE) != 1) {
		__atomic_store_n(&l->word, 0, __ATOMIC_RELEASE);
		sys_futex_wake(&l->word, 1);
	}
}

int sys_random(void *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t r = getrandom((char *)p + done, n - done, 0);

		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			done += (size_t)r;
	}
	return 0;
}

int sys_open_self(const char *path, int flags)
{
	int fd = open(path, flags);
	int e = errno;

	if (fd >= 0 || e != EACCES || syscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return fd;
	/* Dumpable for the length of one open (a same-user ptrace could attach
	 * in that window; the runtime needs the file to page at all). */
	if (syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0))
		return -1;
	fd = open(path, flags);
	e = errno;
	syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
	errno = e;
	return fd;
}
