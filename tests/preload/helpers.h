/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared scaffolding for the tests/preload programs.
 *
 * Every program here is an ordinary, unmodified-looking C program: it
 * knows nothing about uswap and only uses malloc, mmap and system calls.
 * The Python driver (run_case.py) runs it under the CLI or under
 * LD_PRELOAD and checks the stats; the program checks its own data.
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
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../common.h"

#define T_PAGE_SIZE 4096UL
#define T_MIB (1024UL * 1024UL)

#define t_log(...)                                                             \
	do {                                                                   \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
	} while (0)


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


/* FNV-1a over 64-bit words: order sensitive, so a swapped pair of pages or
 * a shifted word changes it. */
static inline uint64_t t_checksum(const uint64_t *w, size_t nr_words)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < nr_words; i++) {
		h ^= w[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Byte pattern for I/O buffers: byte i of stream @seed. Generated, never
 * stored, so the check does not depend on another buffer that may itself
 * have been corrupted by the same bug. */
static inline uint8_t t_pattern_byte(uint64_t seed, size_t i)
{
	return (uint8_t)(t_mix64(seed ^ (i >> 3)) >> ((i & 7) * 8));
}

static inline void t_pattern_fill(void *buf, size_t len, uint64_t seed,
				  size_t stream_off)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = t_pattern_byte(seed, stream_off + i);
}

/* Returns the offset of the first wrong byte, or -1 when all match. */
static inline long t_pattern_check(const void *buf, size_t len, uint64_t seed,
				   size_t stream_off)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != t_pattern_byte(seed, stream_off + i))
			return (long)i;
	return -1;
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

/*
 * How many pages of [p, p+len) are not resident according to mincore(2).
 * uswap evicts by taking the page out of the page table (UFFDIO_MOVE or a
 * zap), so an evicted page reads as not resident here; this is how the
 * tests know a buffer really went cold rather than trusting the pressure.
 */
static inline long t_nr_nonresident(const void *p, size_t len)
{
	static __thread unsigned char vec[4096];
	uintptr_t start = (uintptr_t)p & ~(T_PAGE_SIZE - 1);
	uintptr_t end = ((uintptr_t)p + len + T_PAGE_SIZE - 1) & ~(T_PAGE_SIZE - 1);
	long nr = 0;

	for (uintptr_t a = start; a < end; a += sizeof(vec) * T_PAGE_SIZE) {
		size_t chunk = end - a;

		if (chunk > sizeof(vec) * T_PAGE_SIZE)
			chunk = sizeof(vec) * T_PAGE_SIZE;
		if (mincore((void *)a, chunk, vec))
			return -1;
		for (size_t i = 0; i < chunk / T_PAGE_SIZE; i++)
			nr += !(vec[i] & 1);
	}
	return nr;
}

static inline size_t t_nr_pages(const void *p, size_t len)
{
	uintptr_t start = (uintptr_t)p & ~(T_PAGE_SIZE - 1);
	uintptr_t end = ((uintptr_t)p + len + T_PAGE_SIZE - 1) & ~(T_PAGE_SIZE - 1);

	return (end - start) / T_PAGE_SIZE;
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
