/* SPDX-License-Identifier: MIT */
/*
 * io_paths: every system call that reads or writes a file agrees with a
 * MAP_SHARED mapping of it, at once, as through the page cache natively.
 *
 * A file of --mb MiB is mapped MAP_SHARED read-write; a shadow file (never
 * mapped) gets the same bytes and is the model. Each path below has its own
 * part of the file (so a path that fails does not make the next one fail)
 * and, --iters times, works on a random byte range of it (1 byte to 3
 * pages, unaligned):
 *
 * read paths: store new bytes through the mapping (the page is dirty and
 * resident), then read the range with the path; it must return them:
 *   read  pread  readv  preadv  preadv2  sendfile (file to a pipe)
 *   splice (file to a pipe)  copy_file_range (to a scratch file)
 *   fread (an unbuffered FILE of the same file; fseek first)
 * write paths: load the range through the mapping first (half the time
 * store into it: resident, clean or dirty), write new bytes with the path,
 * then load the range through the mapping; it must show them:
 *   write  pwrite  writev  pwritev  pwritev2  sendfile (scratch to file)
 *   splice (pipe to file)  copy_file_range (scratch to file)
 *   fwrite (+fflush)  fallocate PUNCH_HOLE  fallocate ZERO_RANGE  (zeros)
 * (stdio calls glibc's internal read/write, which a preloaded library does
 * not see.)
 * --set basic runs only read, pread, readv, preadv, write, pwrite, writev
 * and pwritev; --set more only the others; --set all (default) both.
 * Every 16th iteration a sweep through a quarter of the mapping pushes
 * pages out in between. At the end the file is compared with the shadow
 * whole (pread), and again after munmap. Each path's failures are counted
 * and reported apart; a path the file system refuses (EOPNOTSUPP, EINVAL,
 * ENOSYS) is reported as skipped, not failed.
 */
#include "filetest.h"

#include <linux/falloc.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#define FID 14
#define MAX_LEN (3 * FT_PAGE + 100)
#define SWEEP_EVERY 16

static struct {
	uint64_t size;
	unsigned long iters;
	uint64_t seed;
	const char *dir, *set;
} opt = { .size = 64 * T_MIB, .iters = 200, .seed = 1, .set = "all" };

static int fd, shadow_fd, scratch_fd, pipefd[2];
static FILE *stream;
static uint8_t *map;
static unsigned gen_counter;
static volatile uint64_t sweep_sink;

enum kind { READ_PATH, WRITE_PATH };

struct path {
	const char *name;
	enum kind kind;
	/* read: fill @buf with file bytes [off, off+len); write: put @buf
	 * there (NULL @buf: the path writes zeros). 0, or an errno when the
	 * file system does not support the call. */
	int (*io)(uint8_t *buf, uint64_t off, size_t len);
	int is_basic;		/* in --set basic */
	unsigned long nr_bad, nr_done;
	int unsupported;
};

/* ---- read paths ------------------------------------------------------------ */

static int rd_read(uint8_t *buf, uint64_t off, size_t len)
{
	t_sys(lseek(fd, (off_t)off, SEEK_SET));
	t_check(t_sys(read(fd, buf, len)) == (ssize_t)len, "short read");
	return 0;
}

static int rd_pread(uint8_t *buf, uint64_t off, size_t len)
{
	t_check(t_sys(pread(fd, buf, len, (off_t)off)) == (ssize_t)len, "short pread");
	return 0;
}

/* Two pieces, split in the middle, so a vector really has two entries. */
static void split(struct iovec *iov, uint8_t *buf, size_t len)
{
	iov[0] = (struct iovec){ buf, len / 2 };
	iov[1] = (struct iovec){ buf + len / 2, len - len / 2 };
}

static int rd_readv(uint8_t *buf, uint64_t off, size_t len)
{
	struct iovec iov[2];

	split(iov, buf, len);
	t_sys(lseek(fd, (off_t)off, SEEK_SET));
	t_check(t_sys(readv(fd, iov, 2)) == (ssize_t)len, "short readv");
	return 0;
}

static int rd_preadv(uint8_t *buf, uint64_t off, size_t len)
{
	struct iovec iov[2];

	split(iov, buf, len);
	t_check(t_sys(preadv(fd, iov, 2, (off_t)off)) == (ssize_t)len, "short preadv");
	return 0;
}

static int rd_preadv2(uint8_t *buf, uint64_t off, size_t len)
{
	struct iovec iov[2];
	ssize_t n;

	split(iov, buf, len);
	n = preadv2(fd, iov, 2, (off_t)off, 0);
	if (n < 0 && errno == ENOSYS)
		return ENOSYS;
	t_check(n == (ssize_t)len, "preadv2: %zd: %s", n, strerror(errno));
	return 0;
}

static void drain_pipe(uint8_t *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = t_sys(read(pipefd[0], buf + got, len - got));

		t_check(n > 0, "pipe: end of data");
		got += (size_t)n;
	}
}

static int rd_sendfile(uint8_t *buf, uint64_t off, size_t len)
{
	off_t o = (off_t)off;
	ssize_t n = sendfile(pipefd[1], fd, &o, len);

	if (n < 0 && (errno == EINVAL || errno == ENOSYS))
		return errno;
	t_check(n == (ssize_t)len, "sendfile: %zd: %s", n, strerror(errno));
	drain_pipe(buf, len);
	return 0;
}

static int rd_splice(uint8_t *buf, uint64_t off, size_t len)
{
	loff_t o = (loff_t)off;
	ssize_t n = splice(fd, &o, pipefd[1], NULL, len, 0);

	if (n < 0 && (errno == EINVAL || errno == ENOSYS))
		return errno;
	t_check(n == (ssize_t)len, "splice: %zd: %s", n, strerror(errno));
	drain_pipe(buf, len);
	return 0;
}

static int rd_copy_file_range(uint8_t *buf, uint64_t off, size_t len)
{
	loff_t in = (loff_t)off, out = 0;
	ssize_t n = copy_file_range(fd, &in, scratch_fd, &out, len, 0);

	if (n < 0 && (errno == EOPNOTSUPP || errno == EXDEV || errno == ENOSYS ||
		      errno == EINVAL))
		return errno;
	t_check(n == (ssize_t)len, "copy_file_range: %zd: %s", n, strerror(errno));
	ft_pread_full(scratch_fd, buf, len, 0);
	return 0;
}

static int rd_fread(uint8_t *buf, uint64_t off, size_t len)
{
	t_check(fseeko(stream, (off_t)off, SEEK_SET) == 0, "fseeko: %s", strerror(errno));
	t_check(fread(buf, 1, len, stream) == len, "short fread");
	return 0;
}

/* ---- write paths ----------------------------------------------------------- */

static int wr_write(uint8_t *buf, uint64_t off, size_t len)
{
	t_sys(lseek(fd, (off_t)off, SEEK_SET));
	t_check(t_sys(write(fd, buf, len)) == (ssize_t)len, "short write");
	return 0;
}

static int wr_pwrite(uint8_t *buf, uint64_t off, size_t len)
{
	ft_pwrite_full(fd, buf, len, off);
	return 0;
}

static int wr_writev(uint8_t *buf, uint64_t off, size_t len)
{
	struct iovec iov[2];

	split(iov, buf, len);
	t_sys(lseek(fd, (off_t)off, SEEK_SET));
	t_check(t_sys(writev(fd, iov, 2)) == (ssize_t)len, "short writev");
	return 0;
}

static int wr_pwritev(uint8_t *buf, uint64_t off, size_t len)
{
	struct iovec iov[2];

	split(iov, buf, len);
	t_check(t_sys(pwritev(fd, iov, 2, (off_t)off)) == (ssize_t)len, "short pwritev");
	return 0;
}

static int wr_pwritev2(uint8_t *buf, uint64_t off, size_t len)
{
	struct iovec iov[2];
	ssize_t n;

	split(iov, buf, len);
	n = pwritev2(fd, iov, 2, (off_t)off, 0);
	if (n < 0 && errno == ENOSYS)
		return ENOSYS;
	t_check(n == (ssize_t)len, "pwritev2: %zd: %s", n, strerror(errno));
	return 0;
}

static int wr_sendfile(uint8_t *buf, uint64_t off, size_t len)
{
	off_t in = 0;
	ssize_t n;

	ft_pwrite_full(scratch_fd, buf, len, 0);
	t_sys(lseek(fd, (off_t)off, SEEK_SET));
	n = sendfile(fd, scratch_fd, &in, len);
	if (n < 0 && (errno == EINVAL || errno == ENOSYS))
		return errno;
	t_check(n == (ssize_t)len, "sendfile: %zd: %s", n, strerror(errno));
	return 0;
}

static int wr_splice(uint8_t *buf, uint64_t off, size_t len)
{
	loff_t o = (loff_t)off;
	ssize_t n;

	t_check(t_sys(write(pipefd[1], buf, len)) == (ssize_t)len, "short pipe write");
	n = splice(pipefd[0], NULL, fd, &o, len, 0);
	if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
		int e = errno;

		drain_pipe(buf, len);
		return e;
	}
	t_check(n == (ssize_t)len, "splice: %zd: %s", n, strerror(errno));
	return 0;
}

static int wr_copy_file_range(uint8_t *buf, uint64_t off, size_t len)
{
	loff_t in = 0, out = (loff_t)off;
	ssize_t n;

	ft_pwrite_full(scratch_fd, buf, len, 0);
	n = copy_file_range(scratch_fd, &in, fd, &out, len, 0);
	if (n < 0 && (errno == EOPNOTSUPP || errno == EXDEV || errno == ENOSYS ||
		      errno == EINVAL))
		return errno;
	t_check(n == (ssize_t)len, "copy_file_range: %zd: %s", n, strerror(errno));
	return 0;
}

static int wr_fwrite(uint8_t *buf, uint64_t off, size_t len)
{
	t_check(fseeko(stream, (off_t)off, SEEK_SET) == 0, "fseeko: %s", strerror(errno));
	t_check(fwrite(buf, 1, len, stream) == len, "short fwrite");
	t_check(fflush(stream) == 0, "fflush: %s", strerror(errno));
	return 0;
}

static int wr_fallocate(int mode, uint64_t off, size_t len)
{
	if (fallocate(fd, mode, (off_t)off, (off_t)len) < 0) {
		t_check(errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL,
			"fallocate(%#x): %s", mode, strerror(errno));
		return errno;
	}
	return 0;
}

static int wr_punch_hole(uint8_t *buf, uint64_t off, size_t len)
{
	return wr_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

static int wr_zero_range(uint8_t *buf, uint64_t off, size_t len)
{
	return wr_fallocate(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
}

#define PATH(n, k, f) { .name = (n), .kind = (k), .io = (f) }
#define BASIC(n, k, f) { .name = (n), .kind = (k), .io = (f), .is_basic = 1 }

static struct path paths[] = {
	BASIC("read", READ_PATH, rd_read),
	BASIC("pread", READ_PATH, rd_pread),
	BASIC("readv", READ_PATH, rd_readv),
	BASIC("preadv", READ_PATH, rd_preadv),
	PATH("preadv2", READ_PATH, rd_preadv2),
	PATH("sendfile (from the file)", READ_PATH, rd_sendfile),
	PATH("splice (from the file)", READ_PATH, rd_splice),
	PATH("copy_file_range (from the file)", READ_PATH, rd_copy_file_range),
	PATH("fread", READ_PATH, rd_fread),
	BASIC("write", WRITE_PATH, wr_write),
	BASIC("pwrite", WRITE_PATH, wr_pwrite),
	BASIC("writev", WRITE_PATH, wr_writev),
	BASIC("pwritev", WRITE_PATH, wr_pwritev),
	PATH("pwritev2", WRITE_PATH, wr_pwritev2),
	PATH("sendfile (into the file)", WRITE_PATH, wr_sendfile),
	PATH("splice (into the file)", WRITE_PATH, wr_splice),
	PATH("copy_file_range (into the file)", WRITE_PATH, wr_copy_file_range),
	PATH("fwrite+fflush", WRITE_PATH, wr_fwrite),
	PATH("fallocate(PUNCH_HOLE)", WRITE_PATH, wr_punch_hole),
	PATH("fallocate(ZERO_RANGE)", WRITE_PATH, wr_zero_range),
};
#define NR_PATHS (sizeof(paths) / sizeof(paths[0]))

/* ---- the checks ------------------------------------------------------------ */

/* Compare @got with the shadow's bytes [off, off+len); report the first
 * wrong byte (under @p's name) and return 1 if there is one. */
static int compare(struct path *p, const char *how, const uint8_t *got, uint64_t off,
		   size_t len)
{
	static uint8_t want[FT_IO_CHUNK];
	char whose[80];
	size_t i;

	ft_pread_full(shadow_fd, want, len, off);
	if (!memcmp(got, want, len))
		return 0;
	for (i = 0; got[i] == want[i]; i++)
		;
	if (atomic_fetch_add(&ft_nr_reports, 1) >= FT_MAX_REPORTS)
		return 1;
	ft_whose(whose, sizeof(whose), got + i, len - i, FID, off + i);
	t_log("%s: %s of [%llu, +%zu): offset %llu (page %llu +%llu) holds %#04x, "
	      "expected %#04x; found %s", p->name, how, (unsigned long long)off, len,
	      (unsigned long long)(off + i), (unsigned long long)((off + i) / FT_PAGE),
	      (unsigned long long)((off + i) % FT_PAGE), got[i], want[i], whose);
	return 1;
}

/* A range inside the part of the file of path @i. */
static void pick_range(struct t_rng *r, size_t i, uint64_t *ret_off, size_t *ret_len)
{
	uint64_t part = opt.size / NR_PATHS & ~(FT_PAGE - 1);
	size_t len = 1 + t_rng_below(r, t_rng_below(r, 2) ? 300 : MAX_LEN);
	uint64_t off = i * part + t_rng_below(r, part - len + 1);

	*ret_off = off;
	*ret_len = len;
}

static void sweep(struct t_rng *r)
{
	uint64_t start = t_rng_below(r, opt.size / 4 * 3) & ~(FT_PAGE - 1);
	uint64_t sum = 0;

	for (uint64_t o = start; o < start + opt.size / 4; o += FT_PAGE)
		sum += map[o];
	sweep_sink = sum;
}

static void one(size_t i, struct t_rng *r, unsigned long it)
{
	static uint8_t buf[MAX_LEN];
	struct path *p = &paths[i];
	unsigned gen = ++gen_counter;
	int err, bad = 0;
	uint64_t off;
	size_t len;

	pick_range(r, i, &off, &len);
	ft_fill(buf, FID, gen, off, len);
	if (p->kind == READ_PATH) {
		ft_fill(map + off, FID, gen, off, len);	/* dirty, resident */
		ft_pwrite_full(shadow_fd, buf, len, off);
		memset(buf, 0, len);
		err = p->io(buf, off, len);
		if (!err)
			bad = compare(p, "read after a store", buf, off, len);
	} else {
		int zeros = p->io == wr_punch_hole || p->io == wr_zero_range;

		if (t_rng_below(r, 2)) {	/* resident and dirty */
			uint8_t tmp[MAX_LEN];

			ft_fill(map + off, FID, gen + 0x8000, off, len);
			ft_fill(tmp, FID, gen + 0x8000, off, len);
			ft_pwrite_full(shadow_fd, tmp, len, off);
		} else {			/* resident and clean */
			bad = compare(p, "load before the write", map + off, off, len);
		}
		if (zeros)
			memset(buf, 0, len);
		err = p->io(buf, off, len);
		if (!err) {
			ft_pwrite_full(shadow_fd, buf, len, off);
			bad |= compare(p, "load after the write", map + off, off, len);
		}
	}
	p->nr_bad += bad;
	if (err) {
		if (!p->unsupported)
			t_log("%s: not supported here (%s): skipped", p->name, strerror(err));
		p->unsupported = 1;
	}
	p->nr_done++;
	if (it % SWEEP_EVERY == 0)
		sweep(r);
}

static int in_set(const struct path *p)
{
	return !strcmp(opt.set, "all") || p->is_basic == !strcmp(opt.set, "basic");
}

int main(int argc, char **argv)
{
	unsigned long nr_bad = 0;
	struct path whole = { .name = "whole file" };
	struct t_rng rng;
	uint8_t *buf;
	const char *path;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--mb"))
			opt.size = ft_optul(argc, argv, &i) * T_MIB;
		else if (!strcmp(a, "--iters"))
			opt.iters = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--seed"))
			opt.seed = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--dir"))
			opt.dir = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--set"))
			opt.set = ft_optarg(argc, argv, &i);
		else
			t_fail("usage: %s [--mb N] [--iters N] [--seed N] [--dir DIR] "
			       "[--set basic|more|all]", argv[0]);
	}
	t_check(!strcmp(opt.set, "basic") || !strcmp(opt.set, "more") ||
		!strcmp(opt.set, "all"), "--set: basic, more or all");
	ft_require_4k_pages();
	t_check(opt.size >= 4 * T_MIB, "--mb: at least 4");

	path = ft_path(opt.dir, "io_paths.dat");
	fd = ft_create(path, FID, opt.size);
	shadow_fd = ft_create(ft_path(opt.dir, "io_paths.shadow"), FID, opt.size);
	scratch_fd = ft_create(ft_path(opt.dir, "io_paths.scratch"), FID, 0);
	stream = fopen(path, "r+");
	t_check(stream, "fopen(%s): %s", path, strerror(errno));
	/* Unbuffered: glibc may serve an fseek+fread from its buffer, stale
	 * natively too once something else wrote the file. */
	setvbuf(stream, NULL, _IONBF, 0);
	t_sys(pipe(pipefd));
	map = ft_map(opt.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_rng_seed(&rng, opt.seed);

	for (unsigned long it = 1; it <= opt.iters; it++)
		for (size_t i = 0; i < NR_PATHS; i++)
			if (in_set(&paths[i]))
				one(i, &rng, it);

	buf = malloc(FT_IO_CHUNK);
	t_check(buf, "malloc: out of memory");
	for (uint64_t off = 0; off < opt.size; off += FT_IO_CHUNK) {
		whole.nr_bad += compare(&whole, "load of the whole mapping", map + off, off,
					FT_IO_CHUNK);
		ft_pread_full(fd, buf, FT_IO_CHUNK, off);
		whole.nr_bad += compare(&whole, "pread of the whole file", buf, off, FT_IO_CHUNK);
	}
	t_sys(munmap(map, opt.size));
	for (uint64_t off = 0; off < opt.size; off += FT_IO_CHUNK) {
		ft_pread_full(fd, buf, FT_IO_CHUNK, off);
		whole.nr_bad += compare(&whole, "pread after munmap", buf, off, FT_IO_CHUNK);
	}
	free(buf);
	fclose(stream);

	for (size_t i = 0; i < NR_PATHS; i++) {
		struct path *p = &paths[i];

		if (!in_set(p))
			continue;
		t_log("io_paths: %-32s %s", p->name, p->unsupported ? "skipped (unsupported)" :
		      p->nr_bad ? "FAIL" : "ok");
		if (p->nr_bad)
			t_log("          %lu of %lu operations wrong", p->nr_bad, p->nr_done);
		nr_bad += p->nr_bad;
	}
	t_log("io_paths: whole-file checks: %s (a path that failed above leaves its part "
	      "of the file wrong)", whole.nr_bad ? "FAIL" : "ok");
	nr_bad += whole.nr_bad;
	return nr_bad ? T_EXIT_FAIL : T_EXIT_PASS;
}
