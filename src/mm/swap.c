#define _GNU_SOURCE
#include "swap.h"

#include "fds.h"
#include "lru.h"
#include "stats.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/stat.h>

struct swap swap = { .fd = -1, .parent_fd = -1, .done_fd = -1 };

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

/* A new swap file, O_DIRECT where the file system allows it. */
static int create(const char *path, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	int fd, fl;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = path ? open_file(path, 0) : open_in_dir(dir, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create swap file %s%s: %s", path ? path : dir,
			 path ? "" : " (set TMPDIR or --swap)", strerror(errno));
		return -errno;
	}
	/* O_DIRECT keeps evicted data out of the page cache; a file system
	 * that refuses it (tmpfs before 6.6, ramfs) gets buffered I/O. Set
	 * after open, so a refusal leaves no stray file behind. */
	fd = fds_keep(fd); /* out of the program's way (fds.c) */
	fl = fcntl(fd, F_GETFL);
	swap.direct = fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
	return fd;
}

int swap_open(const char *path, uint64_t cap_bytes, char *err, size_t errlen)
{
	int fd = create(path, err, errlen);

	if (fd < 0)
		return fd;
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
			uint64_t free = ~(swap.bitmap[w] | (swap.frozen ? swap.frozen[w] : 0));

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

/* No inherited slot left: let the parent reuse its slots. */
static void release_parent(void)
{
	fds_close(swap.parent_fd);
	if (swap.done_fd >= 0)
		fds_close(swap.done_fd);
	swap.parent_fd = swap.done_fd = -1;
}

void swap_slot_free(uint32_t slot)
{
	if (slot == NO_SLOT)
		return;
	swap.bitmap[slot / 64] &= ~(1ULL << (slot % 64));
	swap.nr_used--;
	if (swap_slot_inherited(slot)) {
		swap.inherited[slot / 64] &= ~(1ULL << (slot % 64));
		if (--swap.nr_inherited == 0)
			release_parent();
	}
}

#define MAX_FROZEN 4096

void swap_freeze(int done_fd)
{
	uint64_t words = (swap.file_slots + 63) / 64;

	if (!swap.frozen)
		swap.frozen = sys_alloc_meta((swap.max_slots + 63) / 64 * 8);
	if (!swap.frozen_fds)
		swap.frozen_fds = sys_alloc_meta(MAX_FROZEN * sizeof(int));
	if (!swap.frozen || !swap.frozen_fds || swap.nr_frozen == MAX_FROZEN) {
		/* Nowhere to remember it: wait until the child is done. */
		char c;

		(void)!sys_read(done_fd, &c, 1);
		fds_close(done_fd);
		return;
	}
	for (uint64_t w = 0; w < words; w++)
		swap.frozen[w] |= swap.bitmap[w];
	swap.frozen_fds[swap.nr_frozen++] = done_fd;
}

void swap_thaw_poll(void)
{
	struct pollfd p[64];
	unsigned n = 0;

	if (!swap.nr_frozen)
		return;
	for (unsigned i = 0; i < swap.nr_frozen; i += 64) {
		unsigned k = swap.nr_frozen - i < 64 ? swap.nr_frozen - i : 64;

		for (unsigned j = 0; j < k; j++)
			p[j] = (struct pollfd){ .fd = swap.frozen_fds[i + j], .events = POLLIN };
		(void)!poll(p, k, 0);
		for (unsigned j = 0; j < k; j++) {
			if (p[j].revents)
				fds_close(p[j].fd); /* the child is done (or gone) */
			else
				swap.frozen_fds[n++] = p[j].fd;
		}
	}
	swap.nr_frozen = n;
	if (!n)
		memset(swap.frozen, 0, (swap.file_slots + 63) / 64 * 8);
}

/* Copy [off, off+len) of one file to the same offsets of another. */
static int copy_range(int from, int to, uint64_t off, uint64_t len)
{
	static char *buf;
	loff_t in = (loff_t)off, out = (loff_t)off;

	while (len) {
		ssize_t n = copy_file_range(from, &in, to, &out, len, 0);

		if (n <= 0)
			break;
		len -= (uint64_t)n;
	}
	/* copy_file_range refused (EXDEV, EINVAL with O_DIRECT): by hand. */
	if (len && !buf && !(buf = sys_alloc_meta(1 << 20)))
		return -ENOMEM;
	while (len) {
		size_t n = len < (1 << 20) ? (size_t)len : (1 << 20);
		ssize_t r = sys_pread(from, buf, n, in);

		if (r <= 0 || sys_pwrite(to, buf, (size_t)r, out) != r)
			return r < 0 ? -errno : -EIO;
		in += r;
		out += r;
		len -= (uint64_t)r;
	}
	return 0;
}

int swap_fork_child(const char *path, int done_fd, char *err, size_t errlen)
{
	uint64_t words = (swap.file_slots + 63) / 64, run = 0, nrun = 0;
	int fd, r = 0;

	for (unsigned i = 0; i < swap.nr_frozen; i++)
		fds_close(swap.frozen_fds[i]); /* the parent's other children */
	swap.nr_frozen = 0;
	if (swap.frozen)
		memset(swap.frozen, 0, words * 8);
	fd = create(path, err, errlen);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)(swap.file_slots << 12))) {
		snprintf(err, errlen, "cannot size the swap file: %s", strerror(errno));
		fds_close(fd);
		return -errno;
	}
	if (!swap.inherited && !(swap.inherited = sys_alloc_meta((swap.max_slots + 63) / 64 * 8))) {
		snprintf(err, errlen, "cannot allocate the inherited slot map");
		fds_close(fd);
		return -ENOMEM;
	}
	/* Forked from a child that still reads from its own parent's file:
	 * copy those slots (there are few, usually), the rest is inherited. */
	for (uint64_t s = 0; swap.parent_fd >= 0 && s <= swap.file_slots && !r; s++) {
		if (s < swap.file_slots && swap_slot_inherited((uint32_t)s)) {
			if (!nrun)
				run = s;
			nrun++;
		} else if (nrun) {
			r = copy_range(swap.parent_fd, fd, run << 12, nrun << 12);
			nrun = 0;
		}
	}
	if (r) {
		snprintf(err, errlen, "cannot copy the swap file: %s", strerror(-r));
		fds_close(fd);
		return r;
	}
	/* Inherited now: every slot in use but those just copied. */
	swap.nr_inherited = 0;
	for (uint64_t w = 0; w < words; w++) {
		swap.inherited[w] = swap.bitmap[w] &
				    (swap.parent_fd >= 0 ? ~swap.inherited[w] : ~0ULL);
		swap.nr_inherited += (uint64_t)__builtin_popcountll(swap.inherited[w]);
	}
	if (swap.parent_fd >= 0)
		release_parent();
	swap.parent_fd = swap.fd;
	swap.fd = fd;
	swap.done_fd = done_fd;
	if (!swap.nr_inherited)
		release_parent();
	return 0;
}

void swap_close(void)
{
	fds_close(swap.fd);
	if (swap.parent_fd >= 0)
		fds_close(swap.parent_fd);
	if (swap.done_fd >= 0)
		fds_close(swap.done_fd);
	swap.fd = swap.parent_fd = swap.done_fd = -1;
}
