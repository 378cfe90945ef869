#define _GNU_SOURCE
#include "swap.h"

#include "config.h"
#include "fds.h"
#include "log.h"
#include "lru.h"
#include "stats.h"
#include "sys.h"
#include "zpool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <stdbool.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/stat.h>

struct swap swap = { .fd = -1, .parent_fd = -1, .done_fd = -1 };

/* Grow the file 64 MiB at a time: few fallocate calls, little waste. */
#define GROW_SLOTS (16384ULL)
#define MIN_GROW_SLOTS (256ULL) /* 1 MiB */
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
	const char *dir = config.tmpdir; /* TMPDIR as loaded: never read again */
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
	swap.cap_set = cap_bytes != 0;
	if (swap.max_slots >= SLOT_SPACE)
		swap.max_slots = SLOT_SPACE - 1;
	swap.bitmap = sys_alloc_meta((swap.max_slots + 63) / 64 * 8);
	if (!swap.bitmap) {
		snprintf(err, errlen, "cannot allocate swap slot map");
		return -ENOMEM;
	}
	return 0;
}

/* A metadata array from old to len bytes (old 0: a new one). */
static int resize(void **p, size_t old, size_t len)
{
	void *q =
		old ? sys_mremap(*p, PAGE_ALIGN_UP(old), PAGE_ALIGN_UP(len), MREMAP_MAYMOVE, NULL) :
		      sys_alloc_meta(len);

	if (!q || q == MAP_FAILED)
		return -ENOMEM;
	*p = q;
	return 0;
}

/* fallocate, or a sparse file where the file system has no fallocate. */
static int extend(uint64_t slots)
{
	if (fallocate(swap.fd, 0, 0, (off_t)(slots << 12)) == 0)
		return 0;
	if (errno == EOPNOTSUPP && ftruncate(swap.fd, (off_t)(slots << 12)) == 0)
		return 0;
	return -errno;
}

/* Grow by GROW_SLOTS, or, where the file system has less room, by halves
 * of it down to MIN_GROW_SLOTS: 60 MiB free still gives 60 MiB of swap. */
static int grow(void)
{
	uint64_t step = GROW_SLOTS, want;
	int e;

	if (swap.file_slots >= swap.max_slots) {
		swap.at_cap = true;
		return -ENOSPC;
	}
	for (;;) {
		want = swap.file_slots + step;
		if (want > swap.max_slots)
			want = swap.max_slots;
		e = extend(want);
		if (!e)
			break;
		if ((e != -ENOSPC && e != -EDQUOT && e != -EFBIG) || step <= MIN_GROW_SLOTS ||
		    want - swap.file_slots <= MIN_GROW_SLOTS) {
			swap.grow_error = -e;
			return e;
		}
		step /= 2;
	}
	if (want > swap.sum_slots) {
		/* The checksums (and seals) grow with the file, doubling. */
		uint64_t n = want > 2 * swap.sum_slots ? want : 2 * swap.sum_slots;

		if (n > swap.max_slots)
			n = swap.max_slots;
		if (resize((void **)&swap.sum, swap.sum_slots * 4, n * 4) ||
		    resize((void **)&swap.owner, swap.sum_slots * sizeof(uintptr_t),
			   n * sizeof(uintptr_t)) ||
		    (swap.encrypt &&
		     resize((void **)&swap.seal, swap.sum_slots * sizeof(struct swap_seal),
			    n * sizeof(struct swap_seal)))) {
			swap.grow_error = ENOMEM;
			return -ENOMEM;
		}
		swap.sum_slots = n;
	}
	swap.grow_error = 0;
	swap.file_slots = want;
	stats.swap_file_bytes = want << 12;
	return 0;
}

void swap_full_reason(char *buf, size_t len)
{
	unsigned long long mib = (unsigned long long)(swap.file_slots >> 8);

	if (swap.grow_error)
		snprintf(buf, len, "the swap file cannot grow past %llu MiB: %s", mib,
			 strerror(swap.grow_error));
	else if (swap.at_cap && swap.cap_set)
		snprintf(buf, len, "the swap file is full at its --swap-size cap of %llu MiB", mib);
	else if (swap.at_cap)
		snprintf(buf, len, "the swap file is full at %llu MiB (slot space)", mib);
	else
		snprintf(buf, len, "no swap slot free in %llu MiB", mib);
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

/* --swap-encrypt. The key is made here from getrandom and lives only in a
 * locked page left out of core dumps; a forked child inherits it (it reads
 * its parent's slots) but draws its own nonce prefix, so no nonce is used
 * twice under the key: nonce = 16 random bytes of this process + a write
 * counter. The slot number is the associated data: a sealed page copied to
 * another slot fails too. */
static struct seal_key {
	unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	unsigned char prefix[16];
	uint64_t counter;
} * seal_key;

int swap_encrypt_init(char *err, size_t errlen)
{
	int r;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "--swap-encrypt: libsodium cannot start");
		return -EINVAL;
	}
	seal_key = sys_alloc_meta(PAGE_SIZE);
	if (!seal_key) {
		snprintf(err, errlen, "--swap-encrypt: cannot allocate the key");
		return -ENOMEM;
	}
	if (mlock(seal_key, PAGE_SIZE))
		log_line("warning: --swap-encrypt: cannot lock the key in memory: %s",
			 strerror(errno));
	(void)sys_madvise(seal_key, PAGE_SIZE, MADV_DONTDUMP);
	r = sys_random(seal_key, sizeof(seal_key->key) + sizeof(seal_key->prefix));
	if (r) {
		snprintf(err, errlen, "--swap-encrypt: getrandom: %s", strerror(-r));
		return r;
	}
	if (swap.sum_slots &&
	    resize((void **)&swap.seal, 0, swap.sum_slots * sizeof(struct swap_seal))) {
		snprintf(err, errlen, "--swap-encrypt: cannot allocate the slot seals");
		return -ENOMEM;
	}
	swap.encrypt = true;
	return 0;
}

void swap_seal_page(uint32_t slot, void *buf, page_hash_t hash)
{
	struct swap_seal *s;

	swap.sum[slot] = (uint32_t)hash.low64;
	if (!swap.encrypt)
		return;
	s = &swap.seal[slot];
	memcpy(s->nonce, seal_key->prefix, 16);
	seal_key->counter++;
	memcpy(s->nonce + 16, &seal_key->counter, 8);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(buf, s->tag, NULL, buf, PAGE_SIZE,
							    (const unsigned char *)&slot,
							    sizeof(slot), NULL, s->nonce,
							    seal_key->key);
}

int swap_open_page(uint32_t slot, void *buf, page_hash_t *hash)
{
	if (slot >= swap.sum_slots)
		return -EBADMSG;
	if (swap.encrypt) {
		struct swap_seal *s = &swap.seal[slot];

		/* The tag is the check: the checksum is not needed too. */
		if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
			    buf, NULL, buf, PAGE_SIZE, s->tag, (const unsigned char *)&slot,
			    sizeof(slot), s->nonce, seal_key->key))
			return -EBADMSG;
	}
	*hash = lru_page_hash(buf);
	return swap.encrypt || swap.sum[slot] == (uint32_t)hash->low64 ? 0 : -EBADMSG;
}

int swap_read_page(uint32_t slot, void *buf)
{
	ssize_t n;
	page_hash_t h;

	if (zpool_has(slot))
		return zpool_load(slot, buf);
	n = sys_pread(swap_read_fd(slot), buf, PAGE_SIZE, (off_t)swap_offset(slot));
	if (n != PAGE_SIZE)
		return n < 0 ? -errno : -EIO;
	return swap_open_page(slot, buf, &h);
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
	/* Its pool entry goes too; one under writeback keeps the slot until
	 * the write lands (zpool_wb_end). */
	if (!zpool_drop(slot))
		return;
	swap.bitmap[slot / 64] &= ~(1ULL << (slot % 64));
	swap.owner[slot] = 0;
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
	if (swap.encrypt && sys_random(seal_key->prefix, sizeof(seal_key->prefix))) {
		snprintf(err, errlen, "--swap-encrypt: getrandom: %s", strerror(errno));
		return -EIO;
	}
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
