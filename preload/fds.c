/*
 * The runtime's descriptors, as the program sees them: not there.
 *
 * They sit at the top of the descriptor range (src/base/fds.c). A program
 * reaches one only by naming a number it never opened (close_range(3,
 * ~0U), closing what /proc/self/fd lists, dup2 onto a fixed number), and
 * then each call here acts as the kernel would if it were free:
 *
 *   close, fstat, dup of ours         EBADF
 *   close_range, closefrom            close the rest of the range, split
 *                                     around ours
 *   dup2, dup3 with ours as either    EBADF, as for a number beyond
 *   end                               RLIMIT_NOFILE (moving ours away
 *                                     instead would race the paging
 *                                     threads that use the number)
 *   readdir of /proc/self/fd          skips ours
 *
 * fcntl, fstatat and raw system calls still see them (documented).
 */
#define _GNU_SOURCE
/* libc's names as declared without _FILE_OFFSET_BITS=64 (fstat, fstat64,
 * readdir, readdir64 each defined under its own name). */
#undef _FILE_OFFSET_BITS
#include "fds.h"

#include "interpose.h"
#include "sys.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

REAL_SLOT(close);
REAL_SLOT(dup);
REAL_SLOT(readdir);
REAL_SLOT(readdir64);

static int ebadf(void)
{
	errno = EBADF;
	return -1;
}

EXPORT int close(int fd)
{
	if (unlikely(fds_is_ours(fd)))
		return ebadf();
	return REAL(close)(fd);
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	unsigned lo = first;
	int r = 0;

	if (first > last)
		return (int)syscall(SYS_close_range, first, last, flags);
	fds_lock();
	for (;;) {
		int o = fds_next(lo);

		if (o < 0 || (unsigned)o > last) {
			r = (int)syscall(SYS_close_range, lo, last, flags);
			break;
		}
		if ((unsigned)o > lo && (r = (int)syscall(SYS_close_range, lo, o - 1, flags)))
			break;
		if ((unsigned)o == last)
			break;
		lo = (unsigned)o + 1;
	}
	fds_unlock();
	return r;
}

EXPORT void closefrom(int lowfd)
{
	close_range(lowfd < 0 ? 0 : (unsigned)lowfd, ~0U, 0);
}

EXPORT int dup(int fd)
{
	if (unlikely(fds_is_ours(fd)))
		return ebadf();
	return REAL(dup)(fd);
}

/* Under the lock: a descriptor of ours moving to the top (fds_keep)
 * cannot land on newfd between the check and the call. */
static int dup_to(int oldfd, int newfd, int flags, bool three)
{
	int r;

	fds_lock();
	if ((oldfd >= 0 && fds_next((unsigned)oldfd) == oldfd) ||
	    (newfd >= 0 && fds_next((unsigned)newfd) == newfd))
		r = ebadf();
	else if (three)
		r = (int)syscall(SYS_dup3, oldfd, newfd, flags);
	else if (oldfd == newfd) /* dup2 checks oldfd and returns it */
		r = (int)syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : newfd;
	else
		r = (int)syscall(SYS_dup3, oldfd, newfd, 0);
	fds_unlock();
	return r;
}

EXPORT int dup2(int oldfd, int newfd)
{
	return dup_to(oldfd, newfd, 0, false);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return dup_to(oldfd, newfd, flags, true);
}

EXPORT int fstat(int fd, struct stat *st)
{
	if (unlikely(fds_is_ours(fd)))
		return ebadf();
	return sys_fstat(fd, st);
}

EXPORT int fstat64(int fd, struct stat64 *st)
{
	if (unlikely(fds_is_ours(fd)))
		return ebadf();
	return sys_fstat(fd, (struct stat *)st);
}

/* An entry of a /proc/<our pid>/fd (or task/<tid>/fd) listing that names
 * one of ours. Only an entry that is one of our numbers costs a readlink. */
static bool hidden(DIR *d, const char *name)
{
	char path[64], link[128], want[32];
	long n = 0;
	ssize_t len;
	size_t w;
	int saved = errno;

	if (!*name)
		return false;
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9' || n > (1L << 31))
			return false;
		n = n * 10 + (*p - '0');
	}
	if (!fds_is_ours((int)n))
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd(d));
	len = readlink(path, link, sizeof(link) - 1);
	errno = saved;
	if (len < 3)
		return false;
	link[len] = 0;
	w = (size_t)snprintf(want, sizeof(want), "/proc/%d/", (int)getpid());
	return !strncmp(link, want, w) && !strcmp(link + len - 3, "/fd");
}

EXPORT struct dirent *readdir(DIR *d)
{
	struct dirent *e;

	while ((e = REAL(readdir)(d)) && unlikely(hidden(d, e->d_name)))
		;
	return e;
}

EXPORT struct dirent64 *readdir64(DIR *d)
{
	struct dirent64 *e;

	while ((e = REAL(readdir64)(d)) && unlikely(hidden(d, e->d_name)))
		;
	return e;
}
