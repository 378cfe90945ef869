/* SPDX-License-Identifier: MIT */
/*
 * forkhelp.h - what the tests/fork programs share on top of
 * tests/preload/helpers.h: waiting for a child with a deadline (a hung
 * child is a failure, not a hung test), /proc/self/maps lookups, and
 * walking and classifying the links in /proc/self/fd.
 *
 * Like every test program here, nothing in it knows about uswap beyond
 * the names the kernel gives to the file descriptors a paging runtime
 * would hold (a swap file, a userfaultfd, an io_uring, an eventfd).
 */
#ifndef USWAP_TEST_FORKHELP_H
#define USWAP_TEST_FORKHELP_H

#include "../preload/helpers.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* "exit 0", "exit 3", "killed by signal 9 (Killed)". */
static inline const char *t_status_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)),
			 WTERMSIG(status) == SIGALRM ? " - hung, its alarm fired" : "");
	else
		snprintf(buf, len, "status %#x", status);
	return buf;
}

/*
 * Reap @pid within @timeout_s seconds; on a timeout kill it and fail.
 * Returns the raw wait status.
 */
static inline int t_wait_child(pid_t pid, double timeout_s, const char *who)
{
	double deadline = t_now() + timeout_s;
	int status = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			t_fail("waitpid(%s, pid %d): %s", who, (int)pid, strerror(errno));
		if (t_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			t_fail("%s (pid %d) did not finish within %.0f s (hang?)", who,
			       (int)pid, timeout_s);
		}
		usleep(2000);
	}
}

/* Reap @pid and require exit status @want; returns 0 or 1 (failure). */
static inline int t_expect_child(pid_t pid, int want, double timeout_s, const char *who)
{
	char buf[96];
	int status = t_wait_child(pid, timeout_s, who);

	if (WIFEXITED(status) && WEXITSTATUS(status) == want)
		return 0;
	t_log("FAIL: %s (pid %d): %s, expected exit %d", who, (int)pid,
	      t_status_text(status, buf, sizeof(buf)), want);
	return 1;
}

/* Whether a mapping whose path contains @needle is in /proc/self/maps.
 * Raw read() with a stack buffer: the probe allocates nothing. */
static inline int t_maps_contain(const char *needle)
{
	char buf[8192 + 256];
	size_t keep = 0, nlen = strlen(needle);
	ssize_t n;
	int found = 0, fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (!found && (n = read(fd, buf + keep, 8192)) > 0) {
		size_t len = keep + (size_t)n;

		buf[len] = 0;
		found = memmem(buf, len, needle, nlen) != NULL;
		/* carry the tail over so a name cut by the read boundary is seen */
		keep = len < nlen ? len : nlen;
		memmove(buf, buf + len - keep, keep);
	}
	close(fd);
	return found;
}

/*
 * The next open descriptor in @d (opendir("/proc/self/fd")) and, in @link,
 * what it links to; -1 at the end. Skips "." and "..", @d's own
 * descriptor, and descriptors whose link cannot be read (closed since).
 */
/* /proc/self/fd read with raw getdents64 and fstat by raw system call:
 * libuswap's readdir and fstat hide the runtime's own descriptors, which
 * these probes look for. */
struct t_fd_dir {
	int fd;
	long n, off;
	char buf[8192];
};

static inline int t_fd_dir_open(struct t_fd_dir *d)
{
	d->fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d->n = d->off = 0;
	return d->fd;
}

static inline void t_fd_dir_close(struct t_fd_dir *d)
{
	close(d->fd);
}

static inline int t_raw_fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}

static inline int t_next_fd(struct t_fd_dir *d, char *link, size_t size)
{
	for (;;) {
		struct dirent64 *e;
		char path[64];
		ssize_t n;
		int fd;

		if (d->off >= d->n) {
			d->n = syscall(SYS_getdents64, d->fd, d->buf, sizeof(d->buf));
			d->off = 0;
			if (d->n <= 0)
				return -1;
		}
		e = (struct dirent64 *)(d->buf + d->off);
		d->off += e->d_reclen;
		if (e->d_name[0] == '.' || (fd = atoi(e->d_name)) == d->fd)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, size - 1);
		if (n < 0)
			continue;
		link[n] = 0;
		return fd;
	}
}

/* The kinds of descriptor a paging runtime holds. */
enum t_fd_kind {
	FD_OTHER = 0,
	FD_SWAP,     /* an unlinked regular file: "DIR/#123 (deleted)", "uswap-swap-..." */
	FD_UFFD,     /* anon_inode:[userfaultfd] or /dev/userfaultfd */
	FD_IO_URING, /* anon_inode:[io_uring] */
	FD_EVENTFD,  /* anon_inode:[eventfd] */
	FD_NR_KINDS,
};

static const char *const t_fd_kind_name[FD_NR_KINDS] = {
	"other", "swap", "uffd", "io_uring", "eventfd",
};

static inline enum t_fd_kind t_classify_fd_link(const char *link)
{
	size_t len = strlen(link);
	static const char deleted[] = " (deleted)";

	if (strstr(link, "anon_inode:[userfaultfd]") || !strcmp(link, "/dev/userfaultfd"))
		return FD_UFFD;
	if (strstr(link, "anon_inode:[io_uring]"))
		return FD_IO_URING;
	if (strstr(link, "anon_inode:[eventfd]"))
		return FD_EVENTFD;
	if (strstr(link, "uswap-swap-"))
		return FD_SWAP;
	/* O_TMPFILE files read "DIR/#NNN (deleted)"; an unlinked named file
	 * "PATH (deleted)". Either is what an anonymous swap file looks like
	 * (a memfd or a POSIX shm object is not one). */
	if (link[0] == '/' && strncmp(link, "/memfd:", 7) && strncmp(link, "/dev/shm/", 9) && len > sizeof(deleted) - 1 &&
	    !strcmp(link + len - (sizeof(deleted) - 1), deleted))
		return FD_SWAP;
	return FD_OTHER;
}

#endif /* USWAP_TEST_FORKHELP_H */
