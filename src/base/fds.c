/*
 * The runtime's descriptors, out of the program's way.
 *
 * The kernel gives a new descriptor the lowest free number, so the
 * runtime's (userfaultfd, pagemap, /proc/self/mem, swap files, eventfds,
 * io_uring rings, the control socket, the trace, each mapped file's own
 * descriptor, fork pipes) would sit at 3, 4, 5..., just where programs
 * put theirs: `exec 3<file` in a shell, dup2 onto a fixed number,
 * close_range(3, ~0U) before an exec, a daemon closing everything in
 * /proc/self/fd. A program that closed the userfaultfd hung at its next
 * fault on an evicted page; one whose new file took the number of a
 * mapped file's descriptor got the mapping's writeback.
 *
 * So every descriptor the runtime keeps goes through fds_keep: moved with
 * F_DUPFD_CLOEXEC to the top of the range (just under RLIMIT_NOFILE's
 * soft limit, at most TOP_MAX), downwards one per descriptor, and
 * recorded in a sorted table. A program reaches those numbers only by
 * naming one it never opened, and the preload layer's hooks
 * (preload/fds.c) then act as if it were not open: close and fstat fail
 * with EBADF, close_range and closefrom skip ours, dup2 onto ours fails
 * with EBADF as for a number beyond the limit.
 *
 * The table changes under lock (a leaf lock: nothing is taken under it)
 * and a sequence count (odd while it changes). fds_is_ours reads without
 * the lock, so close() stays async-signal-safe, and below the lowest of
 * ours costs one compare.
 */
#define _GNU_SOURCE
#include "fds.h"

#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* The kernel's descriptor table grows to the highest number in use: with
 * a soft limit of a million (containers) the top would cost 8 MiB of
 * kernel memory per process. 4096 costs 32 KiB. */
#define TOP_MAX 4096
/* Ours plus every mapped file's own (mapfile.c, MAX_MAPFILES). */
#define MAX_OURS (FDS_RUNTIME + 1024 + 16)

static struct sys_lock lock;
static int ours[MAX_OURS]; /* sorted */
static unsigned nr_ours;
static int low = INT_MAX; /* ours[0], or INT_MAX */
static uint32_t seq;	  /* odd while ours changes */

static void write_begin(void)
{
	__atomic_store_n(&seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(void)
{
	__atomic_store_n(&seq, seq + 1, __ATOMIC_RELEASE);
}

static long soft_limit(void)
{
	struct rlimit rl;

	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl))
		return 1024;
	return rl.rlim_cur > INT_MAX ? INT_MAX : (long)rl.rlim_cur;
}

/* Open descriptors, by /proc/self/fd (the one reading it excepted). */
static int nr_open(void)
{
	char buf[4096];
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd",
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int n = 0;
	long got;

	if (fd < 0)
		return -1;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);

			n += d->d_name[0] != '.';
			off += d->d_reclen;
		}
	}
	syscall(SYS_close, fd);
	return n - 1;
}

int fds_check(char *err, size_t errlen)
{
	long soft = soft_limit();
	int n = nr_open();

	if (n < 0 || soft - n >= FDS_RUNTIME)
		return 0;
	snprintf(
		err, errlen,
		"too few file descriptors: RLIMIT_NOFILE is %ld and %d are open, the runtime needs %d more (raise ulimit -n)",
		soft, n, FDS_RUNTIME);
	return -EMFILE;
}

static void record(int fd)
{
	unsigned i;

	if (nr_ours == MAX_OURS)
		return;
	write_begin();
	for (i = nr_ours; i > 0 && ours[i - 1] > fd; i--)
		ours[i] = ours[i - 1];
	ours[i] = fd;
	nr_ours++;
	__atomic_store_n(&low, ours[0], __ATOMIC_RELEASE);
	write_end();
}

static void unrecord(int fd)
{
	unsigned i;

	for (i = 0; i < nr_ours && ours[i] != fd; i++)
		;
	if (i == nr_ours)
		return;
	write_begin();
	memmove(&ours[i], &ours[i + 1], (nr_ours - i - 1) * sizeof(int));
	nr_ours--;
	__atomic_store_n(&low, nr_ours ? ours[0] : INT_MAX, __ATOMIC_RELEASE);
	write_end();
}

/* F_DUPFD_CLOEXEC gives the lowest free number >= its floor: start one
 * below ours and step down past numbers the program holds. */
static int move_high(int fd)
{
	long top = soft_limit();
	long floor;

	if (top > TOP_MAX)
		top = TOP_MAX;
	floor = top - 1 - (long)nr_ours;
	for (int tries = 0; floor > fd && tries < 64; tries++, floor--) {
		int r = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, floor);

		if (r >= 0)
			return r;
		if (errno != EMFILE && errno != EINVAL)
			break;
	}
	return -1;
}

int fds_keep(int fd)
{
	int saved = errno, nfd;

	if (fd < 0)
		return fd;
	sys_lock(&lock);
	nfd = move_high(fd);
	if (nfd >= 0)
		syscall(SYS_close, fd);
	else
		nfd = fd;
	record(nfd);
	sys_unlock(&lock);
	errno = saved;
	return nfd;
}

void fds_close(int fd)
{
	int saved = errno;

	if (fd < 0)
		return;
	sys_lock(&lock);
	unrecord(fd);
	syscall(SYS_close, fd);
	sys_unlock(&lock);
	errno = saved;
}

void fds_close_all(void)
{
	sys_lock(&lock);
	write_begin();
	while (nr_ours) {
		syscall(SYS_close, ours[nr_ours - 1]);
		nr_ours--;
	}
	__atomic_store_n(&low, INT_MAX, __ATOMIC_RELEASE);
	write_end();
	sys_unlock(&lock);
}

/* A reader that interrupted a writer on its own thread (a signal handler)
 * would wait for ever: after this many tries it takes what it read. */
#define READ_TRIES 1000

bool fds_is_ours(int fd)
{
	bool found = false;

	if (likely(fd < __atomic_load_n(&low, __ATOMIC_ACQUIRE)))
		return false;
	for (int tries = 0; tries < READ_TRIES; tries++) {
		uint32_t s = __atomic_load_n(&seq, __ATOMIC_ACQUIRE);
		unsigned n = __atomic_load_n(&nr_ours, __ATOMIC_RELAXED);

		found = false;
		for (unsigned i = 0; i < n && i < MAX_OURS && !found; i++)
			found = __atomic_load_n(&ours[i], __ATOMIC_RELAXED) == fd;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(s & 1) && __atomic_load_n(&seq, __ATOMIC_RELAXED) == s)
			break;
	}
	return found;
}

int fds_next(unsigned fd)
{
	for (unsigned i = 0; i < nr_ours; i++)
		if ((unsigned)ours[i] >= fd)
			return ours[i];
	return -1;
}

void fds_lock(void)
{
	sys_lock(&lock);
}

void fds_unlock(void)
{
	sys_unlock(&lock);
}

void fds_fork_child(void)
{
	lock.word = 0;
	seq &= ~1u;
}
