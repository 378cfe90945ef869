/*
 * Anon and file pages under one limit, for the split LRUs.
 *
 *   mixed_lists balance DIR FILE_MB ANON_MB PASSES
 *	A hot anonymous working set (ANON_MB, touched after every MiB of
 *	file read) and a file larger than the limit read through a read-only
 *	MAP_SHARED mapping in PASSES passes. Which kind goes first is the
 *	runtime's swappiness; the driver reads the counters.
 *   mixed_lists thrash DIR SET_MB PASSES
 *	The workingset.c scenario. Phase 1 makes a set A of file pages
 *	active (read again and again while a stream of other file pages
 *	keeps memory under pressure); phase 2 never touches A again and
 *	loops PASSES times over a new set B of the same size. A + B exceed
 *	the limit, B alone fits. Without refault activation B cycles through
 *	the inactive list and misses on every pass while the stale A holds
 *	the active list; with it, B's refaults are activated and B settles.
 *	The driver compares the runtime's pgpgin (file pages read) of the two.
 *
 * Every page read is checked against the bytes the program wrote (a hash
 * of the file offset), every anon page against its pattern; exit 1 on a
 * mismatch. The file is created in DIR and removed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common.h"

#define MIB (1UL << 20)
#define PAGE 4096UL

/* The word at file offset @off (and, inverted, at anon word @off). */
static uint64_t word(uint64_t off)
{
	return t_mix64(off);
}

static int make_file(const char *dir, size_t len, char *path, size_t pathlen)
{
	uint64_t *buf = malloc(MIB);
	int fd;

	snprintf(path, pathlen, "%s/mixed_lists.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || !buf) {
		perror("mixed_lists: create file");
		exit(2);
	}
	for (size_t off = 0; off < len; off += MIB) {
		for (size_t i = 0; i < MIB / 8; i++)
			buf[i] = word(off + i * 8);
		if (write(fd, buf, MIB) != (ssize_t)MIB) {
			perror("mixed_lists: write file");
			exit(2);
		}
	}
	free(buf);
	/* Start cold: what the runtime reads comes from the disk, as it would
	 * for the kernel after a drop_caches. */
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return fd;
}

static unsigned long bad;

/* Read the pages of [off, off+len) of the mapping; check one word each. */
static uint64_t read_range(const uint64_t *map, size_t off, size_t len)
{
	uint64_t sum = 0;

	for (size_t o = off; o < off + len; o += PAGE) {
		uint64_t v = map[o / 8 + (o / PAGE) % 512];

		if (v != word(o + ((o / PAGE) % 512) * 8) && bad++ < 5)
			fprintf(stderr, "mixed_lists: file offset %zu reads %#llx\n", o, (unsigned long long)v);
		sum += v;
	}
	return sum;
}

static int balance(const char *dir, size_t file_mb, size_t anon_mb, int passes)
{
	size_t flen = file_mb * MIB, alen = anon_mb * MIB;
	char path[4096];
	int fd = make_file(dir, flen, path, sizeof(path));
	uint64_t *map = mmap(NULL, flen, PROT_READ, MAP_SHARED, fd, 0), sum = 0;
	uint64_t *anon = malloc(alen);

	if (map == MAP_FAILED || !anon) {
		perror("mixed_lists: mmap");
		return 2;
	}
	for (size_t i = 0; i < alen / 8; i += 512)
		anon[i] = ~word(i);
	for (int p = 0; p < passes; p++)
		for (size_t off = 0; off < flen; off += MIB) {
			sum += read_range(map, off, MIB);
			for (size_t i = 0; i < alen / 8; i += 512)
				if (anon[i] != ~word(i) && bad++ < 5)
					fprintf(stderr, "mixed_lists: anon word %zu is wrong\n", i);
		}
	munmap(map, flen);
	close(fd);
	unlink(path);
	printf("sum %llx\n", (unsigned long long)sum);
	return bad ? 1 : 0;
}

static int thrash(const char *dir, size_t set_mb, int passes)
{
	size_t set = set_mb * MIB, stream = 2 * set, flen = 2 * set + stream;
	char path[4096];
	int fd = make_file(dir, flen, path, sizeof(path));
	const uint64_t *map = mmap(NULL, flen, PROT_READ, MAP_SHARED, fd, 0);
	uint64_t sum = 0;

	if (map == MAP_FAILED) {
		perror("mixed_lists: mmap");
		return 2;
	}
	/* Phase 1: A (at 0) read 8 times, each time with an eighth of the
	 * stream (past both sets, twice their size) read once in between. */
	for (int p = 0; p < 8; p++) {
		sum += read_range(map, 0, set);
		sum += read_range(map, 2 * set + p * (stream / 8), stream / 8);
	}
	/* Phase 2: only B (at set). */
	for (int p = 0; p < passes; p++)
		sum += read_range(map, set, set);
	munmap((void *)map, flen);
	close(fd);
	unlink(path);
	printf("sum %llx\n", (unsigned long long)sum);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "balance"))
		return balance(argv[2], strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0), atoi(argv[5]));
	if (argc == 5 && !strcmp(argv[1], "thrash"))
		return thrash(argv[2], strtoul(argv[3], NULL, 0), atoi(argv[4]));
	fprintf(stderr, "usage: mixed_lists balance DIR FILE_MB ANON_MB PASSES\n"
			"       mixed_lists thrash DIR SET_MB PASSES\n");
	return 2;
}
