#define _GNU_SOURCE
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int sys_ret(long r)
{
	return r < 0 ? -errno : (int)r;
}

/* path's directory into dir ("." for a bare name). */
static int dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (!slash)
		n = snprintf(dir, len, ".");
	else if (slash == path)
		n = snprintf(dir, len, "/");
	else
		n = snprintf(dir, len, "%.*s", (int)(slash - path), path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* What path is now: 0 absent, 1 a regular file, else -errno: -ELOOP a
 * symbolic link, -EINVAL something else (FIFO, device, directory). */
static int kind_of(const char *path)
{
	struct stat st;

	if (syscall(SYS_newfstatat, AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	return S_ISREG(st.st_mode) ? 1 : -EINVAL;
}

/* path, in the sticky directory dir, belongs to someone else (not us, not
 * the directory's owner): only root may replace it. */
static bool sticky_foreign(const char *path, const char *dir)
{
	struct stat f, d;
	uid_t me = geteuid();

	return me != 0 && !syscall(SYS_newfstatat, AT_FDCWD, path, &f, AT_SYMLINK_NOFOLLOW) &&
	       !syscall(SYS_newfstatat, AT_FDCWD, dir, &d, 0) && (d.st_mode & S_ISVTX) &&
	       f.st_uid != me && d.st_uid != me;
}

int outfile_check(const char *what, const char *path, char *err, size_t errlen)
{
	char dir[4096];
	int k;

	if (!path || !*path) {
		snprintf(err, errlen, "empty %s name", what);
		return -EINVAL;
	}
	k = kind_of(path);
	if (k == -ELOOP) {
		snprintf(err, errlen, "cannot write %s %s: it is a symbolic link (not followed)",
			 what, path);
		return k;
	}
	if (k == -EINVAL) {
		snprintf(err, errlen,
			 "cannot write %s %s: not a regular file (a FIFO, device or directory)",
			 what, path);
		return k;
	}
	if (k < 0) {
		snprintf(err, errlen, "cannot write %s %s: %s", what, path, strerror(-k));
		return k;
	}
	if (dir_of(path, dir, sizeof(dir))) {
		snprintf(err, errlen, "cannot write %s %s: %s", what, path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	if (syscall(SYS_faccessat, AT_FDCWD, dir, W_OK | X_OK)) {
		int e = errno;

		snprintf(err, errlen, "cannot write %s %s: directory %s: %s", what, path, dir,
			 strerror(e));
		return -e;
	}
	if (k == 1 && sticky_foreign(path, dir)) {
		/* In /tmp, say: the rename at the end would fail (EPERM). */
		snprintf(err, errlen,
			 "cannot write %s %s: another user's file in a shared (sticky) directory",
			 what, path);
		return -EPERM;
	}
	return 0;
}

/* Six random letters and digits (getrandom; the time if it fails). */
static void random_suffix(char *out)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[6];

	if (syscall(SYS_getrandom, r, sizeof(r), 0) != (long)sizeof(r)) {
		struct timespec ts;
		unsigned long long v;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (unsigned long long)ts.tv_nsec * 2654435761ULL ^ (unsigned long long)getpid();
		for (int i = 0; i < 6; i++, v >>= 8)
			r[i] = (unsigned char)v;
	}
	for (int i = 0; i < 6; i++)
		out[i] = set[r[i] % (sizeof(set) - 1)];
	out[6] = 0;
}

int outfile_create(const char *path, char *tmp, size_t tmplen)
{
	for (int tries = 0; tries < 100; tries++) {
		char sfx[7];
		int n, fd;

		random_suffix(sfx);
		n = snprintf(tmp, tmplen, "%s.tmp-%s", path, sfx);
		if (n < 0 || (size_t)n >= tmplen)
			return -ENAMETOOLONG;
		fd = sys_ret(syscall(SYS_openat, AT_FDCWD, tmp,
				     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
		if (fd != -EEXIST)
			return fd;
	}
	return -EEXIST;
}

int outfile_commit(const char *tmp, const char *path)
{
	int k = kind_of(path);

	if (k >= 0 && !syscall(SYS_renameat, AT_FDCWD, tmp, AT_FDCWD, path))
		return 0;
	if (k >= 0)
		k = -errno;
	syscall(SYS_unlinkat, AT_FDCWD, tmp, 0);
	return k;
}

int outfile_mkdtemp(const char *prefix, char *out, size_t outlen)
{
	for (int tries = 0; tries < 100; tries++) {
		char sfx[7];
		int n;

		random_suffix(sfx);
		n = snprintf(out, outlen, "%s%s", prefix, sfx);
		if (n < 0 || (size_t)n >= outlen)
			return -ENAMETOOLONG;
		if (!syscall(SYS_mkdirat, AT_FDCWD, out, 0700))
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}
