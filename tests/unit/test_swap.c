/* SPDX-License-Identifier: MIT */
/*
 * test_swap: the swap file and its slot allocator (src/mm/swap.c).
 *
 * Each case works in its own mkdtemp() directory under /tmp and removes it;
 * rmdir() failing at the end means swap_open() left a file behind. The
 * file's size is read with fstat() on swap.fd, so growth is observed on the
 * file itself, not through the allocator's own bookkeeping. The no_odirect
 * cases simulate a file system without O_DIRECT by interposing open64 and
 * mkostemp64 in this binary.
 */
#include "helpers.h"

#include "lru.h" /* NO_SLOT */
#include "swap.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define GROW_BYTES (64ULL << 20) /* the file grows 64 MiB at a time */
#define GROW_SLOTS (GROW_BYTES >> 12)

static char dir[64];

/*
 * A file system that refuses O_DIRECT and O_TMPFILE (ramfs; tmpfs before
 * Linux 6.6; some FUSE and network file systems), simulated by interposing
 * the calls swap.c makes (open64, mkostemp64 and fcntl64, the names under
 * _FILE_OFFSET_BITS=64; asm labels sidestep the fortify inline wrappers).
 * As the kernel does, an O_CREAT open with O_DIRECT creates the file
 * before it refuses O_DIRECT with EINVAL (do_dentry_open runs after the
 * create), so the failed attempt leaves the new file behind. Checked
 * against a real ramfs mount, which behaves the same.
 */
static bool no_odirect;

int t_open64(const char *path, int flags, ...) __asm__("open64");
int t_mkostemp64(char *tmpl, int flags) __asm__("mkostemp64");

int t_open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd;

	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (no_odirect && (flags & O_TMPFILE) == O_TMPFILE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (no_odirect && (flags & O_DIRECT)) {
		fd = (int)syscall(SYS_openat, AT_FDCWD, path, flags & ~O_DIRECT, mode);
		if (fd < 0)
			return -1;
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

/* swap.c turns O_DIRECT on with fcntl after the open; refuse it here. */
int t_fcntl64(int fd, int cmd, ...) __asm__("fcntl64");
int t_fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	if (no_odirect && cmd == F_SETFL && (arg & O_DIRECT)) {
		errno = EINVAL;
		return -1;
	}
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

int t_mkostemp64(char *tmpl, int flags)
{
	/* mkostemps is a different symbol: the real thing, not this one. */
	int fd = mkostemps(tmpl, 0, no_odirect ? flags & ~O_DIRECT : flags);

	if (fd >= 0 && no_odirect && (flags & O_DIRECT)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* On a failed check, do not leave the case's directory behind. */
static void cleanup_dir(void)
{
	char path[512];
	struct dirent *e;
	DIR *d;

	if (!*dir || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/uswap-test-swap-XXXXXX");
	t_check(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	atexit(cleanup_dir);
}

static size_t nr_dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	t_check(d, "opendir %s: %s", path, strerror(errno));
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void remove_dir(void)
{
	t_check(rmdir(dir) == 0, "rmdir %s: %s (swap_open left a file behind?)", dir,
		strerror(errno));
	dir[0] = 0;
}

static uint64_t file_size(void)
{
	struct stat st;

	t_sys(fstat(swap.fd, &st));
	t_check(S_ISREG(st.st_mode), "swap fd is not a regular file");
	return (uint64_t)st.st_size;
}

static void open_swap(const char *path, uint64_t cap)
{
	char err[512] = "";
	int r = swap_open(path, cap, err, sizeof(err));

	t_check(r == 0, "swap_open(%s, %" PRIu64 ") = %d: %s", path, cap, r, err);
	t_check(swap.fd >= 0, "swap_open succeeded without an fd");
}

static uint32_t alloc_slot(void)
{
	uint32_t s = swap_slot_alloc();

	t_check(s != NO_SLOT, "swap_slot_alloc failed after %" PRIu64 " slots (grow_error %d: %s)",
		swap.nr_used, swap.grow_error, strerror(swap.grow_error));
	return s;
}

/* A slot's page can be written and read back at swap_offset(). With
 * O_DIRECT the buffer must be aligned, so use a page-aligned one always. */
static void check_slot_io(uint32_t slot, uint8_t fill)
{
	static uint8_t buf[4096] __attribute__((aligned(4096)));

	memset(buf, fill, sizeof(buf));
	t_check(pwrite(swap.fd, buf, sizeof(buf), (off_t)swap_offset(slot)) == (ssize_t)sizeof(buf),
		"pwrite slot %u: %s", slot, strerror(errno));
	memset(buf, 0, sizeof(buf));
	t_check(pread(swap.fd, buf, sizeof(buf), (off_t)swap_offset(slot)) == (ssize_t)sizeof(buf),
		"pread slot %u: %s", slot, strerror(errno));
	for (size_t i = 0; i < sizeof(buf); i++)
		t_check(buf[i] == fill, "slot %u byte %zu reads %#x, wrote %#x", slot, i, buf[i], fill);
}

static void anonymous_in_dir(void)
{
	make_dir();
	open_swap(dir, 0);
	/* Anonymous: nothing with a name appears in the directory. */
	t_eq(nr_dir_entries(dir), 0);
	t_eq(file_size(), 0);
	t_check(fcntl(swap.fd, F_GETFD) & FD_CLOEXEC, "swap fd lacks FD_CLOEXEC");
	t_eq(swap.max_slots, UINT32_MAX); /* the 32-bit slot space less NO_SLOT */
	remove_dir();
}

static void consecutive_slots(void)
{
	enum { N = 1000 };
	uint32_t s[N];

	make_dir();
	open_swap(dir, 0);
	for (int i = 0; i < N; i++) {
		s[i] = alloc_slot();
		/* Fresh file, no frees: next-fit hands out 0, 1, 2, ... */
		t_eq(s[i], (uint32_t)i);
	}
	t_eq(swap.nr_used, N);
	check_slot_io(s[0], 0x11);
	check_slot_io(s[N - 1], 0x22);
	check_slot_io(s[0], 0x11);
	remove_dir();
}

static void grows_in_chunks(void)
{
	/* Cap a little over one chunk, not a multiple of 64 slots: the second
	 * growth stops at the cap, and the last bitmap word is partial. */
	const uint64_t cap_slots = GROW_SLOTS + 100;
	uint64_t i;

	make_dir();
	open_swap(dir, cap_slots << 12);
	t_eq(swap.max_slots, cap_slots);
	t_eq(file_size(), 0);
	t_eq(alloc_slot(), 0);
	t_eq(file_size(), GROW_BYTES);
	for (i = 1; i < GROW_SLOTS; i++)
		t_eq(alloc_slot(), i);
	t_eq(file_size(), GROW_BYTES); /* full chunk used, not grown yet */
	t_eq(alloc_slot(), GROW_SLOTS);
	t_eq(file_size(), cap_slots << 12); /* second chunk clipped to the cap */
	for (i = GROW_SLOTS + 1; i < cap_slots; i++)
		t_eq(alloc_slot(), i);
	t_eq(swap.nr_used, cap_slots);
	t_eq(swap_slot_alloc(), NO_SLOT);
	t_eq(swap_slot_alloc(), NO_SLOT);
	t_eq(file_size(), cap_slots << 12);
	check_slot_io((uint32_t)(cap_slots - 1), 0x5a);
	remove_dir();
}

static bool slot_is_used(uint32_t slot)
{
	return swap.bitmap[slot / 64] & (1ULL << (slot % 64));
}

static void free_and_reuse(void)
{
	make_dir();
	open_swap(dir, 0);
	for (uint32_t i = 0; i < 200; i++)
		t_eq(alloc_slot(), i);

	swap_slot_free(10);
	t_eq(swap.nr_used, 199);
	t_check(!slot_is_used(10), "freed slot 10 still marked used");
	t_check(slot_is_used(9) && slot_is_used(11), "freeing slot 10 released a neighbour");
	/* Next-fit: a freed slot behind the cursor is not taken at once, so
	 * pages evicted together still get neighbouring slots. */
	t_eq(alloc_slot(), 200);
	t_eq(alloc_slot(), 201);
	t_check(!slot_is_used(10), "slot 10 taken out of order");
	swap_slot_free(NO_SLOT); /* a no-op by contract */
	t_eq(swap.nr_used, 201);
	remove_dir();
}

static void cap_exhaustion(void)
{
	/* 1 MiB = 256 slots. */
	bool seen[256] = { false };
	uint32_t s;

	make_dir();
	open_swap(dir, 1 << 20);
	t_eq(swap.max_slots, 256);
	for (int i = 0; i < 256; i++) {
		s = alloc_slot();
		t_check(s < 256 && !seen[s], "allocation %d gave slot %u (out of range or twice)", i, s);
		seen[s] = true;
	}
	t_eq(file_size(), 1 << 20); /* growth clipped to the cap */
	t_eq(swap_slot_alloc(), NO_SLOT);
	t_eq(swap.nr_used, 256);

	/* Free two; exactly those two come back (the cursor wraps), then full. */
	swap_slot_free(17);
	swap_slot_free(200);
	t_eq(swap.nr_used, 254);
	s = alloc_slot();
	t_check(s == 17 || s == 200, "after freeing 17 and 200 got slot %u", s);
	t_eq(alloc_slot(), s == 17 ? 200 : 17);
	t_eq(swap_slot_alloc(), NO_SLOT);
	t_eq(file_size(), 1 << 20);
	remove_dir();
}

/* A cap that is not a whole page, nor a multiple of 64 slots: whole slots
 * only, and the partial last bitmap word is masked. */
static void odd_cap(void)
{
	bool seen[100] = { false };

	make_dir();
	open_swap(dir, 100 * 4096 + 123);
	t_eq(swap.max_slots, 100);
	for (int i = 0; i < 100; i++) {
		uint32_t s = alloc_slot();

		t_check(s < 100 && !seen[s], "allocation %d gave slot %u", i, s);
		seen[s] = true;
	}
	t_eq(swap_slot_alloc(), NO_SLOT);
	t_eq(file_size(), 100 * 4096);
	remove_dir();
}

static void wrap_reuses_before_growing(void)
{
	make_dir();
	open_swap(dir, 0);
	for (uint64_t i = 0; i < GROW_SLOTS; i++)
		alloc_slot();
	t_eq(file_size(), GROW_BYTES);
	swap_slot_free(5);
	swap_slot_free(9000);
	/* The chunk is full except 5 and 9000: both are used before growing. */
	uint32_t a = alloc_slot(), b = alloc_slot();

	t_check((a == 5 && b == 9000) || (a == 9000 && b == 5), "got %u and %u, expected 5 and 9000",
		a, b);
	t_eq(file_size(), GROW_BYTES);
	t_eq(alloc_slot(), GROW_SLOTS);
	t_eq(file_size(), 2 * GROW_BYTES);
	remove_dir();
}

static void new_file_path(void)
{
	char path[128];
	struct stat st;

	make_dir();
	snprintf(path, sizeof(path), "%s/swapfile", dir);
	open_swap(path, 0);
	/* Created, then unlinked: anonymous from here on. */
	t_check(stat(path, &st) < 0 && errno == ENOENT, "swap file %s still has a name", path);
	t_eq(nr_dir_entries(dir), 0);
	t_eq(alloc_slot(), 0);
	check_slot_io(0, 0xa5);
	remove_dir();
}

static void missing_dir(void)
{
	char path[128], err[512] = "";
	int r;

	make_dir();
	snprintf(path, sizeof(path), "%s/no/such/dir", dir);
	r = swap_open(path, 0, err, sizeof(err));
	t_eq(r, -ENOENT);
	t_check(strstr(err, path), "message does not name the path %s: %s", path, err);
	t_check(strstr(err, strerror(ENOENT)), "message does not give the reason: %s", err);
	t_eq(nr_dir_entries(dir), 0);
	remove_dir();
}

static void existing_file_refused(void)
{
	static const char content[] = "precious data, not a swap file\n";
	char path[128], err[512] = "", buf[64] = "";
	struct stat st;
	int fd, r;

	make_dir();
	snprintf(path, sizeof(path), "%s/taken", dir);
	fd = t_sys(open(path, O_WRONLY | O_CREAT | O_EXCL, 0644));
	t_sys(write(fd, content, sizeof(content) - 1));
	t_sys(close(fd));

	r = swap_open(path, 0, err, sizeof(err));
	t_eq(r, -EEXIST);
	t_check(strstr(err, path), "message does not name the path %s: %s", path, err);
	t_check(strstr(err, strerror(EEXIST)), "message does not give the reason: %s", err);

	/* Left intact: same name, size, mode and content. */
	t_sys(stat(path, &st));
	t_eq(st.st_size, sizeof(content) - 1);
	t_eq(st.st_mode & 07777, 0644);
	fd = t_sys(open(path, O_RDONLY));
	t_sys(read(fd, buf, sizeof(buf) - 1));
	close(fd);
	t_check(!strcmp(buf, content), "existing file changed: \"%s\"", buf);

	t_sys(unlink(path));
	remove_dir();
}

/* Without O_DIRECT the swap file still opens, buffered, and works. */
static void no_odirect_fallback(void)
{
	no_odirect = true;
	make_dir();
	open_swap(dir, 0);
	t_check(!swap.direct, "swap.direct set on a file system without O_DIRECT");
	t_eq(alloc_slot(), 0);
	check_slot_io(0, 0x3c);
	/* Stray files are no_odirect_dir_clean's business. */
	cleanup_dir();
}

/* A new file path on such a file system: the O_DIRECT attempt creates the
 * file, so the buffered retry with O_EXCL finds it and fails. */
static void no_odirect_new_file(void)
{
	char path[128], err[512] = "";
	int r;

	no_odirect = true;
	make_dir();
	snprintf(path, sizeof(path), "%s/swapfile", dir);
	r = swap_open(path, 0, err, sizeof(err));
	t_check(r == 0, "swap_open(%s) without O_DIRECT = %d: %s", path, r, err);
	t_eq(nr_dir_entries(dir), 0);
	remove_dir();
}

/* A directory on such a file system: mkostemp's O_DIRECT attempt leaves a
 * named uswap-swap-XXXXXX file behind on every start. */
static void no_odirect_dir_clean(void)
{
	no_odirect = true;
	make_dir();
	open_swap(dir, 0);
	t_check(nr_dir_entries(dir) == 0, "%zu stray file(s) left in %s", nr_dir_entries(dir), dir);
	remove_dir();
}

static const struct t_case cases[] = {
	T_CASE(anonymous_in_dir),
	T_CASE(consecutive_slots),
	T_CASE(grows_in_chunks),
	T_CASE(free_and_reuse),
	T_CASE(cap_exhaustion),
	T_CASE(odd_cap),
	T_CASE(wrap_reuses_before_growing),
	T_CASE(new_file_path),
	T_CASE(missing_dir),
	T_CASE(existing_file_refused),
	T_CASE(no_odirect_fallback),
	T_CASE(no_odirect_new_file),
	T_CASE(no_odirect_dir_clean),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 20, argc, argv);
}
