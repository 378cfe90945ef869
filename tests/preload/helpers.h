/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared scaffolding for the tests/preload programs.
 *
 * Every program here is an ordinary, unmodified-looking C program: it
 * knows nothing about uswap and only uses malloc, mmap and system calls.
 * The Python driver (run_case.py) runs it under the CLI or under
 * LD_PRELOAD and checks the stats; the program checks its own data.
 *
 * On top of ../common.h and ../pages.h (page patterns, mincore, make_cold)
 * it has the system-call scaffolding the tests/compat, tests/fork and
 * tests/file programs use too: t_sys, t_now, sizes and the limit, reads
 * of /proc, whole reads and writes.
 *
 * Exit codes follow the automake/meson convention (as in liburing's
 * test/): 0 pass, 1 fail, 77 skip.
 */
#ifndef USWAP_TEST_HELPERS_H
#define USWAP_TEST_HELPERS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../common.h"
#include "../pages.h"

/* A system call returning -1 is a test failure, with errno spelled out. */
#define t_sys(expr)                                                            \
	({                                                                     \
		__typeof__(expr) t_ret_ = (expr);                              \
		if (t_ret_ == (__typeof__(expr))-1)                            \
			t_fail("%s: %s", #expr, strerror(errno));              \
		t_ret_;                                                        \
	})

static inline double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


/* "64M", "4096", "2G" -> bytes (binary units); 0 on a parse error. */
static inline uint64_t t_parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	return *end ? 0 : v;
}

/* Lines in /proc/self/maps, i.e. the number of VMAs. Reads with a stack
 * buffer and raw read() so the probe itself allocates nothing. */
static inline long t_nr_maps(void)
{
	char buf[16384];
	long nr = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			nr += buf[i] == '\n';
	close(fd);
	return nr;
}

static inline long t_read_long_file(const char *path)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* A "VmRSS:"-style field of /proc/self/status in KiB, -1 if absent. */
static inline long t_status_kb(const char *field)
{
	char buf[4096], *p;
	size_t flen = strlen(field);
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, field, flen) && p[flen] == ':')
			return strtol(p + flen + 1, NULL, 10);
	return -1;
}

/* An unnamed read-write temp file in @dir: O_TMPFILE, or where the file
 * system lacks it, a "@prefix-XXXXXX" file unlinked at once. */
static inline int t_open_tmpfile(const char *dir, const char *prefix)
{
	char path[PATH_MAX + 64];
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s/%s-XXXXXX", dir, prefix);
	fd = t_sys(mkstemp(path));
	unlink(path);
	return fd;
}

/* Write or read all @len bytes (retrying short transfers and EINTR); a
 * failure or an early EOF fails the test. */
static inline void t_write_full(int fd, const void *buf, size_t len, const char *what)
{
	for (size_t put = 0; put < len;) {
		ssize_t n = write(fd, (const char *)buf + put, len - put);

		if (n < 0 && errno == EINTR)
			continue;
		t_check(n > 0, "%s: write returned %zd after %zu of %zu bytes: %s",
			what, n, put, len, n < 0 ? strerror(errno) : "?");
		put += (size_t)n;
	}
}

static inline void t_read_full(int fd, void *buf, size_t len, const char *what)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		t_check(n > 0, "%s: read returned %zd after %zu of %zu bytes: %s",
			what, n, got, len, n < 0 ? strerror(errno) : "EOF");
		got += (size_t)n;
	}
}

/* The memory limit the program runs under: argv override, else the
 * USWAP_LIMIT the CLI exported, else @fallback. */
static inline uint64_t t_limit_bytes(const char *arg, uint64_t fallback)
{
	uint64_t v = t_parse_size(arg);

	if (!v)
		v = t_parse_size(getenv("USWAP_LIMIT"));
	return v ? v : fallback;
}

#endif /* USWAP_TEST_HELPERS_H */
