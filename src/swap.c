#define _GNU_SOURCE
#include "swap.h"

#include "lru.h"
#include "stats.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct swap swap = { .fd = -1 };

/* Grow the file 64 MiB at a time: few fallocate calls, little waste. */
#define GROW_SLOTS (16384ULL)
#define SLOT_SPACE (1ULL << 32)

static int open_in_dir(const char *dir, int direct)
{
	char tmpl[4096];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC | direct, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	if (snprintf(tmpl, sizeof(tmpl), "%s/uswap-swap-XXXXXX", dir) >= (int)sizeof(tmpl)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmpl, O_CLOEXEC | direct);
	if (fd >= 0)
		unlink(tmpl);
	return fd;
}

static int open_file(const char *path, int direct)
{
	struct stat st;
	int fd;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return open_in_dir(path, direct);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | direct, 0600);
	if (fd >= 0)
		unlink(path);
	return fd;
}

int swap_open(const char *path, uint64_t cap_bytes, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	const char *where;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	where = path ? path : dir;
	fd = path ? open_file(path, 0) : open_in_dir(dir, 0);
	if (fd >= 0) {
		/* O_DIRECT keeps evicted data out of the page cache; a file system
		 * that refuses it (tmpfs before 6.6, ramfs) gets buffered I/O.
		 * Set after open, so a refusal leaves no stray file behind. */
		int fl = fcntl(fd, F_GETFL);

		swap.direct = fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot create swap file %s%s: %s", where,
			 path ? "" : " (set TMPDIR or --swap)", strerror(errno));
		return -errno;
	}
	swap.fd = fd;
	swap.max_slots = cap_bytes ? cap_bytes >> 12 : SLOT_SPACE - 1;
	if (swap.max_slots >= SLOT_SPACE)
		swap.max_slots = SLOT_SPACE - 1;
	swap.bitmap = sys_alloc_meta((swap.max_slots + 63) / 64 * 8);
	if (!swap.bitmap) {
		snprintf(err, errlen, "cannot allocate swap slot map");
		return -ENOMEM;
	}
	return 0;
}

static int grow(void)
{
	uint64_t want = swap.file_slots + GROW_SLOTS;

	if (want > swap.max_slots)
		want = swap.max_slots;
	if (want <= swap.file_slots)
		return -ENOSPC;
	if (fallocate(swap.fd, 0, 0, (off_t)(want << 12)) != 0) {
		int e = errno;

		if (e != EOPNOTSUPP || ftruncate(swap.fd, (off_t)(want << 12)) != 0) {
			swap.grow_error = e;
			return -e;
		}
	}
	swap.grow_error = 0;
	swap.file_slots = want;
	stats.swap_file_bytes = want << 12;
	return 0;
}

uint32_t swap_slot_alloc(void)
{
	for (int tries = 0; tries < 2; tries++) {
		uint64_t words = (swap.file_slots + 63) / 64;

		for (uint64_t n = 0; n < words; n++) {
			uint64_t w = (swap.cursor / 64 + n) % words;
			uint64_t free = ~swap.bitmap[w];

			if (w * 64 + 64 > swap.file_slots)
				free &= (1ULL << (swap.file_slots - w * 64)) - 1;
			if (free) {
				uint64_t s = w * 64 + (uint64_t)__builtin_ctzll(free);

				swap.bitmap[w] |= 1ULL << (s % 64);
				swap.cursor = s + 1;
				swap.nr_used++;
				stat_max(&stats.swap_bytes_peak, swap.nr_used << 12);
				return (uint32_t)s;
			}
		}
		uint64_t old = swap.file_slots;

		if (grow())
			return NO_SLOT;
		swap.cursor = old;
	}
	return NO_SLOT;
}

void swap_slot_free(uint32_t slot)
{
	if (slot == NO_SLOT)
		return;
	swap.bitmap[slot / 64] &= ~(1ULL << (slot % 64));
	swap.nr_used--;
}
