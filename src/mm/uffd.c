#define _GNU_SOURCE
#include "uffd.h"

#include "fds.h"
#include "log.h"
#include "sys.h"
#include "uffd_compat.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int uffd_fd = -1;
int uffd_pagemap_fd = -1;
struct uffd_caps uffd_caps;
bool uffd_dontwake;

static int open_fd(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int dev;

	if (fd >= 0 || errno != EPERM)
		return fds_keep(fd);
	/* Unprivileged: /dev/userfaultfd (6.1+) grants kernel-mode faults by file permission. */
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		errno = EPERM;
		return -1;
	}
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	close(dev);
	return fds_keep(fd);
}

int uffd_open(char *why, size_t whylen)
{
	struct uffdio_api api = { .api = UFFD_API };
	/* THREAD_ID: a fork serves the forking thread's faults before others'. */
	uint64_t want = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_MOVE | UFFD_FEATURE_THREAD_ID;
	int fd = open_fd();

	if (fd < 0) {
		if (errno == EPERM)
			snprintf(
				why, whylen,
				"userfaultfd unavailable: permission denied (set sysctl "
				"vm.unprivileged_userfaultfd=1, or grant access to /dev/userfaultfd, or run as root)");
		else if (errno == ENOSYS)
			snprintf(
				why, whylen,
				"userfaultfd unavailable: kernel built without CONFIG_USERFAULTFD");
		else
			snprintf(why, whylen, "userfaultfd unavailable: %s", strerror(errno));
		return -errno;
	}
	/* Probe: ask for nothing to learn what the kernel offers, then reopen with what we use. */
	if (ioctl(fd, UFFDIO_API, &api)) {
		snprintf(why, whylen, "userfaultfd API handshake failed: %s", strerror(errno));
		fds_close(fd);
		return -EINVAL;
	}
	want &= api.features;
	fds_close(fd);
	fd = open_fd();
	if (fd < 0) {
		snprintf(why, whylen, "userfaultfd unavailable: %s", strerror(errno));
		return -errno;
	}
	api = (struct uffdio_api){ .api = UFFD_API, .features = want };
	if (ioctl(fd, UFFDIO_API, &api)) {
		snprintf(why, whylen, "userfaultfd API handshake failed: %s", strerror(errno));
		fds_close(fd);
		return -EINVAL;
	}
	uffd_caps.move = want & UFFD_FEATURE_MOVE;
	uffd_caps.wp_async = want & UFFD_FEATURE_WP_ASYNC;
	uffd_pagemap_fd = fds_keep(sys_open_self("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
	if (uffd_pagemap_fd < 0)
		uffd_caps.wp_async = uffd_caps.move = false;
	uffd_fd = fd;
	return 0;
}

/* Does /proc/self/status say a seccomp filter is installed? */
static bool seccomp_filtered(void)
{
	char buf[4096];
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	const char *s;

	if (fd < 0)
		return false;
	n = sys_read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	s = strstr(buf, "\nSeccomp:");
	return s && strtol(s + 9, NULL, 10) == 2; /* SECCOMP_MODE_FILTER */
}

int uffd_probe(char *why, size_t whylen)
{
	struct {
		void *handler;
		unsigned long flags, restorer, mask;
	} dfl = { 0 }; /* the kernel's sigaction: SIG_DFL */
	int st = 0;
	pid_t pid;

	if (!seccomp_filtered())
		return 0;
	/* No exit signal: the program gets no SIGCHLD for it. */
	pid = (pid_t)syscall(SYS_clone, 0UL, NULL, NULL, NULL, 0UL);
	if (pid == 0) {
		char w[256];

		/* A SECCOMP_RET_TRAP filter's SIGSYS must not run the program's handler here. */
		syscall(SYS_rt_sigaction, SIGSYS, &dfl, NULL, sizeof(dfl.mask));
		syscall(SYS_exit_group, uffd_open(w, sizeof(w)) ? 1 : 0);
	}
	if (pid < 0)
		return 0; /* cannot tell: let uffd_open try */
	while (syscall(SYS_wait4, pid, &st, __WALL, NULL) < 0 && errno == EINTR)
		;
	if (!WIFSIGNALED(st))
		return 0; /* it worked, or failed with an error uffd_open reports */
	snprintf(why, whylen, "a seccomp filter refuses userfaultfd (a probe process died of %s)",
		 strsignal(WTERMSIG(st)));
	return -EPERM;
}

void uffd_close(void)
{
	fds_close(uffd_fd);
	fds_close(uffd_pagemap_fd);
	uffd_fd = uffd_pagemap_fd = -1;
}

int uffd_register(uintptr_t start, size_t len)
{
	struct uffdio_register r = {
		.range = { .start = start, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING |
			(uffd_caps.wp_async ? UFFDIO_REGISTER_MODE_WP : 0),
	};

	return ioctl(uffd_fd, UFFDIO_REGISTER, &r) ? -errno : 0;
}

/* An ioctl on our userfaultfd (or pagemap) that the kernel itself never
 * refuses with EPERM or ENOSYS: such a result comes from a seccomp filter
 * (or an LSM) the program installed (TSYNC reaches our threads too). No page
 * can be served any more, and the faulting thread would wait for good:
 * end the program the way the OOM killer would, with a line. */
static int uffd_ioctl(int fd, unsigned long req, void *arg, const char *name)
{
	int r = ioctl(fd, req, arg);

	if (r && (errno == EPERM || errno == ENOSYS))
		log_oom_kill("fatal: userfaultfd ioctl %s refused (%s): a seccomp filter? "
			     "the program cannot be paged",
			     name, strerrorname_np(errno));
	return r;
}

/* EEXIST: another thread's fault populated the page first; the waiters still need a wake. */
static int filled(int r, uintptr_t addr)
{
	if (r == 0)
		return 0;
	if (errno == EEXIST) {
		if (!uffd_dontwake)
			uffd_wake(addr, PAGE_SIZE);
		return -EEXIST;
	}
	return -errno;
}

int uffd_zeropage(uintptr_t addr)
{
	struct uffdio_zeropage z = { .range = { .start = addr, .len = PAGE_SIZE },
				     .mode = uffd_dontwake ? UFFDIO_ZEROPAGE_MODE_DONTWAKE : 0 };
	int r;

	for (;;) {
		r = uffd_ioctl(uffd_fd, UFFDIO_ZEROPAGE, &z, "UFFDIO_ZEROPAGE");
		if (r == 0 || z.zeropage == (__s64)PAGE_SIZE)
			return 0;
		if (errno != EAGAIN)
			return filled(r, addr);
		z.zeropage = 0;
	}
}

int uffd_copy(uintptr_t dst, const void *src, bool wp)
{
	struct uffdio_copy c = {
		.dst = dst,
		.src = (uintptr_t)src,
		.len = PAGE_SIZE,
		.mode = (wp && uffd_caps.wp_async ? UFFDIO_COPY_MODE_WP : 0) |
			(uffd_dontwake ? UFFDIO_COPY_MODE_DONTWAKE : 0),
	};
	int r;

	for (;;) {
		r = uffd_ioctl(uffd_fd, UFFDIO_COPY, &c, "UFFDIO_COPY");
		if (r == 0 || c.copy == (__s64)PAGE_SIZE)
			return 0;
		if (errno != EAGAIN)
			return filled(r, dst);
		c.copy = 0;
	}
}

long uffd_copy_run(uintptr_t dst, const void *src, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct uffdio_copy c = {
			.dst = dst + done,
			.src = (uintptr_t)src + done,
			.len = len - done,
			.mode = uffd_dontwake ? UFFDIO_COPY_MODE_DONTWAKE : 0,
		};
		int r = uffd_ioctl(uffd_fd, UFFDIO_COPY, &c, "UFFDIO_COPY");

		if (r == 0)
			return (long)len;
		if (c.copy > 0)
			done += (size_t)c.copy;
		if (errno != EAGAIN)
			return done ? (long)done : -errno;
	}
	return (long)done;
}

bool uffd_page_present(uintptr_t addr)
{
	uint64_t e = 0;

	if (sys_pread(uffd_pagemap_fd, &e, sizeof(e), (off_t)(addr >> PAGE_SHIFT) * 8) != sizeof(e))
		return false;
	return e >> 63;
}

/*
 * UFFDIO_MOVE of len bytes, as many calls as EAGAIN takes: the bytes moved
 * from the start, or -errno if none. Linux 6.18 was seen to move a
 * write-protected page and still return EEXIST (shared/research notes,
 * uswap README). Trust the page tables, not the error: a page where the
 * move stopped that left src and sits at dst has moved (and is woken
 * unless mode says DONTWAKE, as the call would have).
 */
static long move_range(uintptr_t dst, uintptr_t src, size_t len, __u64 mode)
{
	struct uffdio_move m = { .dst = dst, .src = src, .len = len, .mode = mode };
	size_t done = 0;

	for (;;) {
		int r = uffd_ioctl(uffd_fd, UFFDIO_MOVE, &m, "UFFDIO_MOVE"), e = errno;

		if (r == 0)
			return (long)len;
		if (m.move > 0)
			done += (size_t)m.move;
		if (done == len)
			return (long)len; /* an error after the whole range moved is still a move */
		if (e == EAGAIN) {
			m = (struct uffdio_move){
				.dst = dst + done, .src = src + done, .len = len - done, .mode = mode
			};
			continue;
		}
		while (done < len && !uffd_page_present(src + done) && uffd_page_present(dst + done)) {
			if (!(mode & UFFDIO_MOVE_MODE_DONTWAKE))
				uffd_wake(dst + done, PAGE_SIZE);
			done += PAGE_SIZE;
		}
		return done ? (long)done : -e;
	}
}

int uffd_move(uintptr_t dst, uintptr_t src, size_t len)
{
	long d = move_range(dst, src, len, uffd_dontwake ? UFFDIO_MOVE_MODE_DONTWAKE : 0);

	if (d < 0)
		return (int)d;
	/* Part of it: only runs ask for more than a page (uffd_move_run). */
	return d == (long)len ? 0 : -EAGAIN;
}

long uffd_move_run(uintptr_t dst, uintptr_t src, size_t len)
{
	return move_range(dst, src, len, UFFDIO_MOVE_MODE_DONTWAKE);
}

int uffd_wake(uintptr_t addr, size_t len)
{
	struct uffdio_range r = { .start = addr, .len = len };

	return uffd_ioctl(uffd_fd, UFFDIO_WAKE, &r, "UFFDIO_WAKE") ? -errno : 0;
}

int uffd_writeprotect(uintptr_t addr, size_t len)
{
	struct uffdio_writeprotect w = {
		.range = { .start = addr, .len = len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	return uffd_ioctl(uffd_fd, UFFDIO_WRITEPROTECT, &w, "UFFDIO_WRITEPROTECT") ? -errno : 0;
}

int uffd_page_written(uintptr_t addr)
{
	struct page_region v;
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.start = addr,
		.end = addr + PAGE_SIZE,
		.vec = (uintptr_t)&v,
		.vec_len = 1,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	long n = uffd_ioctl(uffd_pagemap_fd, PAGEMAP_SCAN, &a, "PAGEMAP_SCAN");

	if (n < 0)
		return -errno;
	return n > 0;
}
