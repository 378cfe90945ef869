/*
 * read, write, truncate and fallocate on mapped files. A file the program
 * has mapped is, in its resident pages, our copy: a read() of it must see
 * the mapping's changes, a write() must reach the mapping, and what a
 * truncate cuts or a punched hole zeroes must go from it too (file.c).
 * Nothing but one load is added while no file is mapped.
 */
#define _GNU_SOURCE
/* Define pread and the others under their own names (meson sets
 * _FILE_OFFSET_BITS=64, which would turn them into pread64...). */
#undef _FILE_OFFSET_BITS
#include "io.h"

#include "file.h"
#include "interpose.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/uio.h>
#include <unistd.h>

/* libc's own, found at load (io_init), else on first use (a call from
 * another library's constructor, before ours ran). */
#define IO_CALLS(X)                                                                       \
	X(read) X(pread) X(readv) X(preadv) X(write) X(pwrite) X(writev) X(pwritev) X(ftruncate) \
	X(truncate) X(fallocate)
#define X(name) REAL_SLOT(name);
IO_CALLS(X)
#undef X

void io_init(void)
{
#define X(name) (void)REAL(name);
	IO_CALLS(X)
#undef X
}

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

/* After a write, truncate or fallocate begun with file_*_begin. */
static ssize_t after_io(bool hooked, struct file_io *io, ssize_t r)
{
	int saved = errno;

	if (hooked)
		file_io_end(io, r);
	errno = saved;
	return r;
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	before_read(fd, -1, n);
	return REAL(read)(fd, buf, n);
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	before_read(fd, off, n);
	return REAL(pread)(fd, buf, n, off);
}
EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	before_read(fd, -1, iov_len(iov, cnt));
	return REAL(readv)(fd, iov, cnt);
}

EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	before_read(fd, off, iov_len(iov, cnt));
	return REAL(preadv)(fd, iov, cnt, off);
}
EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
	__attribute__((alias("preadv")));

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct file_io io;
	bool hooked;

	hooked = before_write(fd, -1, n, &io);
	return after_io(hooked, &io, REAL(write)(fd, buf, n));
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	struct file_io io;
	bool hooked;

	hooked = before_write(fd, off, n, &io);
	return after_io(hooked, &io, REAL(pwrite)(fd, buf, n, off));
}
EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
	__attribute__((alias("pwrite")));

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	struct file_io io;
	bool hooked;

	hooked = before_write(fd, -1, iov_len(iov, cnt), &io);
	return after_io(hooked, &io, REAL(writev)(fd, iov, cnt));
}

EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct file_io io;
	bool hooked;

	hooked = before_write(fd, off, iov_len(iov, cnt), &io);
	return after_io(hooked, &io, REAL(pwritev)(fd, iov, cnt, off));
}
EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
	__attribute__((alias("pwritev")));

/* ftruncate, truncate and fallocate change a mapped file's bytes under its
 * mapping: the pages that map what they cut or zero follow (file.c). */
EXPORT int ftruncate(int fd, off_t len)
{
	struct file_io io;
	int saved = errno;
	bool hooked = unlikely(file_mapped_any()) && file_truncate_begin(fd, NULL, len, &io);

	errno = saved;
	return (int)after_io(hooked, &io, REAL(ftruncate)(fd, len));
}
EXPORT int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

EXPORT int truncate(const char *path, off_t len)
{
	struct file_io io;
	int saved = errno;
	bool hooked = unlikely(file_mapped_any()) && file_truncate_begin(-1, path, len, &io);

	errno = saved;
	return (int)after_io(hooked, &io, REAL(truncate)(path, len));
}
EXPORT int truncate64(const char *path, off_t len) __attribute__((alias("truncate")));

EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
	struct file_io io;
	int saved = errno;
	bool hooked = unlikely(file_mapped_any()) && file_fallocate_begin(fd, mode, off, len, &io);

	errno = saved;
	return (int)after_io(hooked, &io, REAL(fallocate)(fd, mode, off, len));
}
EXPORT int fallocate64(int fd, int mode, off_t off, off_t len) __attribute__((alias("fallocate")));
