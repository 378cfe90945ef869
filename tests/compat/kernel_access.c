/* SPDX-License-Identifier: MIT */
/*
 * kernel_access: the kernel reading and writing evicted program memory,
 * beyond what tests/preload/syscalls_cold covers (read/pread/preadv/recv/
 * recvmsg/write/send/posix_spawn, a mutex + condvars, fgets/fread/fwrite
 * through a cold FILE buffer). Every buffer, and where there is one the
 * iovec array, offset word or control block, is pushed out (mincore says
 * so) before the call, and every byte is checked after.
 *
 *   readv_writev   writev/readv and pwritev2/preadv2 with cold iovec arrays
 *                  and cold segments, on a file and on a pipe.
 *   sendfile_splice sendfile and splice with the loff_t in cold memory,
 *                  splice file -> pipe -> file, vmsplice of a cold buffer.
 *   getdents       getdents64 into a cold buffer; readdir with glibc's DIR
 *                  buffer pushed out between calls.
 *   stdio          fgets/getline into cold destinations, fread/fwrite
 *                  unbuffered from/to cold buffers, fprintf/fscanf through
 *                  a cold setvbuf buffer, fmemopen and open_memstream.
 *   io_uring       READ/WRITE/READV/WRITEV into and from cold buffers (also
 *                  forced to io-wq workers with IOSQE_ASYNC), and registered
 *                  (pinned) buffers used after heavy churn.
 *   aio            POSIX aio_read/aio_write/lio_listio with cold buffers and
 *                  cold aiocbs.
 *   futex          raw FUTEX_WAIT/WAKE on cold words; rwlock, PI mutex,
 *                  barrier and semaphore in cold memory shared by threads.
 *   robust_mutex   a robust mutex whose owner exits while its page is cold:
 *                  the next locker must get EOWNERDEAD.
 *   process_vm     another process (spawned helper) reads and writes this
 *                  one's cold buffer with process_vm_readv/writev;
 *                  process_vm_readv on itself with both sides cold.
 *   proc_mem       the helper preads and pwrites the cold buffer through
 *                  /proc/PID/mem.
 */
#include "compat.h"

#include <aio.h>
#include <dirent.h>
#include <liburing.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <spawn.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define BUF (1UL * T_MIB)

extern char **environ;
static char self_exe[4096];

/* ---- a peer thread reading a pipe and checking the stream --------------- */

struct reader {
	int fd;
	size_t len;
	uint64_t seed;
	pthread_t tid;
	long bad_at;	/* -1 when all good */
	size_t got;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	char *buf = malloc(65536);

	r->bad_at = -1;
	t_check(buf, "malloc");
	while (r->got < r->len) {
		ssize_t n = read(r->fd, buf, 65536);
		long bad;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		bad = t_pattern_check(buf, (size_t)n, r->seed, r->got);
		if (bad >= 0 && r->bad_at < 0)
			r->bad_at = (long)r->got + bad;
		r->got += (size_t)n;
	}
	free(buf);
	return NULL;
}

static void reader_start(struct reader *r, int fd, size_t len, uint64_t seed)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->len = len;
	r->seed = seed;
	t_check(!pthread_create(&r->tid, NULL, reader_fn, r), "pthread_create");
}

static void reader_join(struct reader *r, const char *what)
{
	pthread_join(r->tid, NULL);
	t_check(r->got == r->len, "%s: the reader got %zu of %zu bytes", what, r->got, r->len);
	t_check(r->bad_at < 0, "%s: stream byte %ld wrong", what, r->bad_at);
}

/* ---- readv/writev -------------------------------------------------------- */

#define NSEG 5

/* Segment i of a 1 MiB stream split at odd places. */
static void seg_bounds(size_t i, size_t *off, size_t *len)
{
	static const size_t cut[NSEG + 1] = { 0, 1, 4097, 300001, 700000, BUF };

	*off = cut[i];
	*len = cut[i + 1] - cut[i];
}

static struct iovec *cold_iov(const char *what, char **seg, uint64_t fill_seed, int pattern)
{
	struct iovec *iov = malloc(64 * 1024); /* own pages */

	t_check(iov, "malloc");
	for (size_t i = 0; i < NSEG; i++) {
		size_t off, len;

		seg_bounds(i, &off, &len);
		seg[i] = malloc(len);
		t_check(seg[i], "malloc");
		if (pattern)
			t_pattern_fill(seg[i], len, fill_seed, off);
		else
			memset(seg[i], 0xee, len);
		iov[i] = (struct iovec){ seg[i], len };
	}
	c_make_cold(what, iov, 64 * 1024);
	for (size_t i = 2; i < NSEG; i++)	/* the big segments */
		c_make_cold("iovec segment", seg[i], iov[i].iov_len);
	return iov;
}

static void check_segs(const char *what, char **seg, uint64_t seed)
{
	for (size_t i = 0; i < NSEG; i++) {
		size_t off, len;

		seg_bounds(i, &off, &len);
		t_check_pattern(what, seg[i], len, seed, off);
	}
}

static void free_segs(struct iovec *iov, char **seg)
{
	for (size_t i = 0; i < NSEG; i++)
		free(seg[i]);
	free(iov);
}

static void case_readv_writev(void)
{
	int fd = c_open_tmpfile(), p[2];
	char *seg[NSEG];
	struct iovec *iov;
	ssize_t n;
	struct reader r;

	iov = cold_iov("writev iovec array", seg, 0x3101, 1);
	n = writev(fd, iov, NSEG);
	t_check(n == (ssize_t)BUF, "writev from cold iovecs: %zd (%s)", n, strerror(errno));
	free_segs(iov, seg);

	iov = cold_iov("readv iovec array", seg, 0, 0);
	t_sys(lseek(fd, 0, SEEK_SET));
	n = readv(fd, iov, NSEG);
	t_check(n == (ssize_t)BUF, "readv into cold iovecs: %zd (%s)", n, strerror(errno));
	check_segs("readv into cold iovecs", seg, 0x3101);
	free_segs(iov, seg);

	/* pwritev2/preadv2 at an offset. */
	iov = cold_iov("pwritev2 iovec array", seg, 0x3102, 1);
	n = pwritev2(fd, iov, NSEG, 12345, 0);
	t_check(n == (ssize_t)BUF, "pwritev2: %zd (%s)", n, strerror(errno));
	free_segs(iov, seg);
	iov = cold_iov("preadv2 iovec array", seg, 0, 0);
	n = preadv2(fd, iov, NSEG, 12345, 0);
	t_check(n == (ssize_t)BUF, "preadv2: %zd (%s)", n, strerror(errno));
	check_segs("preadv2 into cold iovecs", seg, 0x3102);
	free_segs(iov, seg);
	close(fd);

	/* A pipe: writev from cold segments to a reader thread. */
	t_sys(pipe2(p, O_CLOEXEC));
	iov = cold_iov("pipe writev iovec array", seg, 0x3103, 1);
	reader_start(&r, p[0], BUF, 0x3103);
	for (size_t done = 0; done < BUF;) {
		/* Partial writes on a pipe: advance the cold iovecs in place. */
		int first = 0;

		n = writev(p[1], iov, NSEG);
		t_check(n > 0, "pipe writev: %s", strerror(errno));
		done += (size_t)n;
		for (size_t k = (size_t)n; k && first < NSEG; first++) {
			size_t step = k < iov[first].iov_len ? k : iov[first].iov_len;

			iov[first].iov_base = (char *)iov[first].iov_base + step;
			iov[first].iov_len -= step;
			k -= step;
			if (iov[first].iov_len)
				break;
		}
	}
	reader_join(&r, "pipe writev from cold segments");
	close(p[1]);
	close(p[0]);
	free_segs(iov, seg);
}

/* ---- sendfile / splice / vmsplice ---------------------------------------- */

struct offsets {
	off_t off;
	loff_t loff;
	loff_t loff_out;
	char pad[65536 - 3 * sizeof(loff_t)];
};

static void case_sendfile_splice(void)
{
	int src = c_open_tmpfile(), dst = c_open_tmpfile(), p[2];
	char *buf = malloc(BUF), *back;
	struct offsets *o = malloc(sizeof(*o));
	struct reader r;
	struct iovec *iov;
	ssize_t n;

	t_check(buf && o, "malloc");
	t_pattern_fill(buf, BUF, 0x3201, 0);
	t_write_full(src, buf, BUF, "source file");
	free(buf);
	t_sys(pipe2(p, O_CLOEXEC));

	/* sendfile with the offset in cold memory. */
	memset(o, 0, sizeof(*o));
	o->off = 4096;
	c_make_cold("sendfile offset word", o, sizeof(*o));
	{
		char *got = malloc(BUF);
		size_t total = 0;

		t_check(got, "malloc");
		while (total < BUF - 4096) {
			n = sendfile(p[1], src, &o->off, BUF - 4096 - total < 65536 ? BUF - 4096 - total : 65536);
			t_check(n > 0, "sendfile with a cold offset: %zd (%s)", n, strerror(errno));
			t_read_full(p[0], got + total, (size_t)n, "pipe after sendfile");
			total += (size_t)n;
		}
		t_check(o->off == (off_t)BUF, "sendfile left the offset at %lld, want %lu",
			(long long)o->off, BUF);
		t_check_pattern("sendfile data", got, BUF - 4096, 0x3201, 4096);
		free(got);
	}

	/* splice file -> pipe -> file, both loff_t in cold memory. */
	o->loff = 0;
	o->loff_out = 100;
	c_make_cold("splice offset words", o, sizeof(*o));
	for (size_t total = 0; total < BUF;) {
		ssize_t in = splice(src, &o->loff, p[1], NULL, BUF - total < 65536 ? BUF - total : 65536, 0), out;

		t_check(in > 0, "splice file->pipe with a cold offset: %zd (%s)", in, strerror(errno));
		for (ssize_t moved = 0; moved < in; moved += out) {
			out = splice(p[0], NULL, dst, &o->loff_out, (size_t)(in - moved), 0);
			t_check(out > 0, "splice pipe->file: %zd (%s)", out, strerror(errno));
		}
		total += (size_t)in;
		if (total < BUF && total > BUF / 2 && total - (size_t)in <= BUF / 2)
			c_make_cold("splice offset words mid-way", o, sizeof(*o));
	}
	t_check(o->loff == (loff_t)BUF && o->loff_out == (loff_t)BUF + 100,
		"splice offsets %lld/%lld", (long long)o->loff, (long long)o->loff_out);
	back = c_cold_junk("buffer for the spliced copy", BUF, 1);
	n = pread(dst, back, BUF, 100);
	t_check(n == (ssize_t)BUF, "pread spliced copy: %zd", n);
	t_check_pattern("file written by splice", back, BUF, 0x3201, 0);
	free(back);

	/* vmsplice of a cold buffer (with a cold iovec). */
	buf = c_cold_pattern("vmsplice source", BUF, 0x3202);
	iov = malloc(65536);
	t_check(iov, "malloc");
	c_make_cold("vmsplice iovec", iov, 65536);
	reader_start(&r, p[0], BUF, 0x3202);
	for (size_t total = 0; total < BUF;) {
		iov[0].iov_base = buf + total;
		iov[0].iov_len = BUF - total;
		n = vmsplice(p[1], iov, 1, 0);
		t_check(n > 0, "vmsplice: %zd (%s)", n, strerror(errno));
		total += (size_t)n;
	}
	reader_join(&r, "vmsplice of a cold buffer");
	t_check_pattern("vmsplice source afterwards", buf, BUF, 0x3202, 0);
	free(buf);
	free(iov);
	free(o);
	close(p[0]);
	close(p[1]);
	close(src);
	close(dst);
}

/* ---- getdents ------------------------------------------------------------ */

#define NFILES 400

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void file_name(char *out, size_t len, int i)
{
	snprintf(out, len, "f%04d-%016llx", i, (unsigned long long)t_mix64((uint64_t)i));
}

static int name_index(const char *name)
{
	char want[64];
	int i;

	if (sscanf(name, "f%04d-", &i) != 1 || i < 0 || i >= NFILES)
		return -1;
	file_name(want, sizeof(want), i);
	return strcmp(want, name) ? -1 : i;
}

static void case_getdents(void)
{
	char dir[1200], path[1300];
	unsigned char seen[NFILES];
	char *buf;
	int dfd, nr = 0;
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/uswap-dents-XXXXXX", c_tmpdir);
	t_check(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	for (int i = 0; i < NFILES; i++) {
		char name[64];

		file_name(name, sizeof(name), i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		close(t_sys(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)));
	}

	/* getdents64 into a cold buffer, a few KiB at a time. */
	memset(seen, 0, sizeof(seen));
	dfd = t_sys(open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	buf = c_cold_junk("getdents64 buffer", 64 * 1024, 2);
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, 4096);

		t_check(n >= 0, "getdents64 into a cold buffer: %s", strerror(errno));
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *de = (struct linux_dirent64 *)(buf + off);
			int i;

			off += de->d_reclen;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			i = name_index(de->d_name);
			t_check(i >= 0, "getdents64 returned a name that was not created: '%.40s'",
				de->d_name);
			t_check(!seen[i]++, "getdents64 returned '%s' twice", de->d_name);
			nr++;
		}
		c_make_cold_n("getdents64 buffer again", buf, 64 * 1024, 1);
	}
	t_check(nr == NFILES, "getdents64 listed %d of %d files", nr, NFILES);
	close(dfd);
	free(buf);

	/* readdir: glibc's DIR (with its buffer) is heap memory. */
	memset(seen, 0, sizeof(seen));
	nr = 0;
	d = opendir(dir);
	t_check(d, "opendir: %s", strerror(errno));
	while ((errno = 0, e = readdir(d))) {
		int i;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		i = name_index(e->d_name);
		t_check(i >= 0 && !seen[i]++, "readdir: bad or repeated name '%.40s'", e->d_name);
		if (++nr % 100 == 0)
			c_make_cold_n("glibc DIR (not required)", d, 32768, 0);
	}
	t_check(errno == 0, "readdir: %s", strerror(errno));
	t_check(nr == NFILES, "readdir listed %d of %d files", nr, NFILES);
	closedir(d);
	for (int i = 0; i < NFILES; i++) {
		char name[64];

		file_name(name, sizeof(name), i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		unlink(path);
	}
	rmdir(dir);
}

/* ---- stdio --------------------------------------------------------------- */

#define NLINES 20000

static int line_fmt(char *out, size_t len, size_t i)
{
	return snprintf(out, len, "%06zu %016llx %s\n", i, (unsigned long long)t_mix64(i ^ 0x5d),
			i % 7 ? "x" : "a-longer-line-with-more-text-in-it");
}

static void case_stdio(void)
{
	char path[1200], want[128], *dst, *line = NULL, *vbuf, *src, *mem, *ms = NULL;
	size_t cap = 0, file_len = 0, ms_len = 0;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/uswap-stdio2-XXXXXX", c_tmpdir);
	fd = t_sys(mkstemp(path));
	/* fprintf through a cold setvbuf buffer. */
	f = fdopen(fd, "w+");
	t_check(f, "fdopen");
	vbuf = malloc(32768);
	t_check(vbuf && !setvbuf(f, vbuf, _IOFBF, 32768), "setvbuf");
	for (size_t i = 0; i < NLINES; i++) {
		line_fmt(want, sizeof(want), i);
		file_len += (size_t)fprintf(f, "%s", want);
		if (i == 1000)
			c_make_cold("fprintf setvbuf buffer", vbuf, 32768);
	}
	t_check(fflush(f) == 0, "fflush");

	/* fgets into a cold destination. */
	rewind(f);
	dst = c_cold_junk("fgets destination", 64 * 1024, 3);
	for (size_t i = 0; i < NLINES; i++) {
		char *d = dst + (i * 97) % (64 * 1024 - 128);

		if (i % 10000 == 9999)
			c_make_cold("fgets destination again", dst, 64 * 1024);
		t_check(fgets(d, 128, f), "fgets line %zu", i);
		line_fmt(want, sizeof(want), i);
		t_check(!strcmp(d, want), "fgets line %zu: '%.40s'", i, d);
	}
	free(dst);

	/* getline with a cold line buffer (getline writes into it, may realloc). */
	rewind(f);
	line = malloc(cap = 4096);
	t_check(line, "malloc");
	memset(line, 0x55, cap);
	for (size_t i = 0; i < NLINES; i++) {
		ssize_t n;

		if (i % 10000 == 0)
			c_make_cold("getline buffer", line, cap);
		n = getline(&line, &cap, f);
		line_fmt(want, sizeof(want), i);
		t_check(n == (ssize_t)strlen(want) && !strcmp(line, want), "getline line %zu", i);
	}
	free(line);

	/* fscanf into cold variables. */
	rewind(f);
	{
		struct vars {
			size_t idx;
			unsigned long long h;
			char word[64];
			char pad[65536];
		} *v = malloc(sizeof(*v));

		t_check(v, "malloc");
		for (size_t i = 0; i < 3000; i++) {
			if (i % 1500 == 0)
				c_make_cold("fscanf destination", v, sizeof(*v));
			t_check(fscanf(f, "%zu %llx %63s", &v->idx, &v->h, v->word) == 3, "fscanf %zu", i);
			t_check(v->idx == i && v->h == t_mix64(i ^ 0x5d), "fscanf line %zu: %zu %llx",
				i, v->idx, v->h);
		}
		free(v);
	}
	fclose(f);
	free(vbuf);

	/* Unbuffered fread/fwrite: straight system calls on cold buffers. */
	f = fopen(path, "r");
	t_check(f, "fopen");
	setvbuf(f, NULL, _IONBF, 0);
	dst = c_cold_junk("unbuffered fread destination", file_len, 4);
	t_check(fread(dst, 1, file_len, f) == file_len, "unbuffered fread");
	fclose(f);
	for (size_t i = 0, off = 0; i < NLINES; i++) {
		int n = line_fmt(want, sizeof(want), i);

		t_check(!memcmp(dst + off, want, (size_t)n), "unbuffered fread: line %zu", i);
		off += (size_t)n;
	}
	free(dst);
	src = c_cold_pattern("unbuffered fwrite source", BUF, 0x3301);
	f = fopen(path, "w+");
	t_check(f, "fopen");
	setvbuf(f, NULL, _IONBF, 0);
	t_check(fwrite(src, 1, BUF, f) == BUF, "unbuffered fwrite");
	rewind(f);
	dst = c_cold_junk("read-back destination", BUF, 5);
	t_check(fread(dst, 1, BUF, f) == BUF, "fread back");
	t_check_pattern("unbuffered fwrite output", dst, BUF, 0x3301, 0);
	fclose(f);
	free(dst);
	free(src);
	unlink(path);

	/* fmemopen over a cold buffer, both directions. */
	mem = c_cold_pattern("fmemopen buffer", BUF, 0x3302);
	f = fmemopen(mem, BUF, "r+");
	t_check(f, "fmemopen");
	dst = malloc(BUF);
	t_check(dst, "malloc");
	t_check(fread(dst, 1, BUF, f) == BUF, "fread from fmemopen");
	t_check_pattern("fmemopen read", dst, BUF, 0x3302, 0);
	rewind(f);
	t_pattern_fill(dst, BUF, 0x3303, 0);
	c_make_cold("fmemopen buffer before fwrite", mem, BUF);
	t_check(fwrite(dst, 1, BUF, f) == BUF, "fwrite to fmemopen");
	fclose(f);
	c_make_cold("fmemopen buffer after fwrite", mem, BUF);
	t_check_pattern("fmemopen written", mem, BUF, 0x3303, 0);
	free(mem);
	free(dst);

	/* open_memstream: a growing heap buffer, pushed out while it grows. */
	f = open_memstream(&ms, &ms_len);
	t_check(f, "open_memstream");
	for (size_t i = 0; i < NLINES; i++) {
		line_fmt(want, sizeof(want), i);
		fputs(want, f);
		if (i % 5000 == 4999) {
			fflush(f);
			c_make_cold_n("open_memstream buffer", ms, ms_len, 1);
		}
	}
	fclose(f);
	t_check(ms_len == file_len, "open_memstream length %zu, want %zu", ms_len, file_len);
	for (size_t i = 0, off = 0; i < NLINES; i++) {
		int n = line_fmt(want, sizeof(want), i);

		t_check(!memcmp(ms + off, want, (size_t)n), "open_memstream line %zu", i);
		off += (size_t)n;
	}
	free(ms);
}

/* ---- io_uring ------------------------------------------------------------ */

static int uring_one(struct io_uring *ring, const char *what)
{
	struct io_uring_cqe *cqe;
	int r = io_uring_submit_and_wait(ring, 1);

	t_check(r >= 0, "%s: io_uring_submit_and_wait: %s", what, strerror(-r));
	r = io_uring_wait_cqe(ring, &cqe);
	t_check(r == 0, "%s: io_uring_wait_cqe: %s", what, strerror(-r));
	r = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return r;
}

static void case_io_uring(void)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	int fd = c_open_tmpfile(), r;
	char *src, *dst, *seg[NSEG], *fixed[2];
	struct iovec *iov, reg[2];

	r = io_uring_queue_init(8, &ring, 0);
	if (r == -ENOSYS || r == -EPERM)
		t_skip("io_uring: %s", strerror(-r));
	t_check(r == 0, "io_uring_queue_init: %s", strerror(-r));

	/* WRITE from a cold buffer, READ into a cold buffer. */
	src = c_cold_pattern("io_uring WRITE source", BUF, 0x3401);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write(sqe, fd, src, BUF, 0);
	r = uring_one(&ring, "WRITE");
	t_check(r == (int)BUF, "io_uring WRITE from a cold buffer: %d (%s)", r, r < 0 ? strerror(-r) : "short");
	free(src);
	for (int async = 0; async < 2; async++) {
		dst = c_cold_junk(async ? "io_uring READ (IOSQE_ASYNC) dest" : "io_uring READ dest", BUF, 6);
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, fd, dst, BUF, 0);
		if (async)
			sqe->flags |= IOSQE_ASYNC;
		r = uring_one(&ring, "READ");
		t_check(r == (int)BUF, "io_uring READ into a cold buffer: %d (%s)", r,
			r < 0 ? strerror(-r) : "short");
		t_check_pattern("io_uring READ into a cold buffer", dst, BUF, 0x3401, 0);
		free(dst);
	}

	/* WRITEV/READV with cold iovec arrays and segments. */
	iov = cold_iov("io_uring WRITEV iovecs", seg, 0x3402, 1);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_writev(sqe, fd, iov, NSEG, 0);
	sqe->flags |= IOSQE_ASYNC;
	r = uring_one(&ring, "WRITEV");
	t_check(r == (int)BUF, "io_uring WRITEV: %d", r);
	free_segs(iov, seg);
	iov = cold_iov("io_uring READV iovecs", seg, 0, 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_readv(sqe, fd, iov, NSEG, 0);
	r = uring_one(&ring, "READV");
	t_check(r == (int)BUF, "io_uring READV: %d", r);
	check_segs("io_uring READV into cold iovecs", seg, 0x3402);
	free_segs(iov, seg);

	/* Registered buffers: pinned by the kernel, then heavy churn, then used. */
	for (int i = 0; i < 2; i++) {
		t_check(!posix_memalign((void **)&fixed[i], T_PAGE_SIZE, BUF), "posix_memalign");
		memset(fixed[i], 0x11 * (i + 1), BUF);
		reg[i] = (struct iovec){ fixed[i], BUF };
	}
	r = io_uring_register_buffers(&ring, reg, 2);
	t_check(r == 0, "io_uring_register_buffers: %s", strerror(-r));
	for (int round = 0; round < 3; round++) {
		uint64_t in_seed = 0x3410 + (uint64_t)round, out_seed = 0x3420 + (uint64_t)round;
		char *tmp = malloc(BUF);

		t_check(tmp, "malloc");
		t_pattern_fill(tmp, BUF, in_seed, 0);
		t_check(pwrite(fd, tmp, BUF, 0) == (ssize_t)BUF, "pwrite");
		/* The program writes buffer 1 now; the kernel will read it later. */
		t_pattern_fill(fixed[1], BUF, out_seed, 0);
		for (int s = 0; s < 3; s++)
			t_churn_sweep(&c_churn);
		t_log("    round %d: registered buffers %ld/%ld pages non-resident after churn",
		      round, t_nr_nonresident(fixed[0], BUF), t_nr_nonresident(fixed[1], BUF));
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read_fixed(sqe, fd, fixed[0], BUF, 0, 0);
		r = uring_one(&ring, "READ_FIXED");
		t_check(r == (int)BUF, "READ_FIXED: %d", r);
		t_check_pattern("READ_FIXED data as the program sees it", fixed[0], BUF, in_seed, 0);
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_write_fixed(sqe, fd, fixed[1], BUF, BUF, 1);
		r = uring_one(&ring, "WRITE_FIXED");
		t_check(r == (int)BUF, "WRITE_FIXED: %d", r);
		t_check(pread(fd, tmp, BUF, BUF) == (ssize_t)BUF, "pread");
		t_check_pattern("WRITE_FIXED wrote what the program had stored", tmp, BUF, out_seed, 0);
		free(tmp);
	}
	io_uring_unregister_buffers(&ring);
	free(fixed[0]);
	free(fixed[1]);
	io_uring_queue_exit(&ring);
	close(fd);
}

/* ---- POSIX AIO ----------------------------------------------------------- */

static void aio_wait(struct aiocb *cb, const char *what)
{
	const struct aiocb *list[1] = { cb };
	int e;

	while ((e = aio_error(cb)) == EINPROGRESS)
		aio_suspend(list, 1, NULL);
	t_check(e == 0, "%s: %s", what, strerror(e));
}

static void case_aio(void)
{
	int fd = c_open_tmpfile();
	struct aio_block {
		struct aiocb cb[4];
		struct aiocb *list[4];
		char pad[65536];
	} *b = calloc(1, sizeof(struct aio_block));
	char *src, *dst[4];
	ssize_t n;

	t_check(b, "calloc");
	src = c_cold_pattern("aio_write source", BUF, 0x3501);
	b->cb[0].aio_fildes = fd;
	b->cb[0].aio_buf = src;
	b->cb[0].aio_nbytes = BUF;
	b->cb[0].aio_offset = 0;
	c_make_cold("aiocb", b, sizeof(*b));
	t_check(!aio_write(&b->cb[0]), "aio_write: %s", strerror(errno));
	aio_wait(&b->cb[0], "aio_write");
	n = aio_return(&b->cb[0]);
	t_check(n == (ssize_t)BUF, "aio_write returned %zd", n);
	free(src);

	dst[0] = c_cold_junk("aio_read destination", BUF, 7);
	memset(&b->cb[0], 0, sizeof(b->cb[0]));
	b->cb[0].aio_fildes = fd;
	b->cb[0].aio_buf = dst[0];
	b->cb[0].aio_nbytes = BUF;
	c_make_cold("aiocb", b, sizeof(*b));
	t_check(!aio_read(&b->cb[0]), "aio_read: %s", strerror(errno));
	aio_wait(&b->cb[0], "aio_read");
	t_check(aio_return(&b->cb[0]) == (ssize_t)BUF, "aio_read short");
	t_check_pattern("aio_read into a cold buffer", dst[0], BUF, 0x3501, 0);
	free(dst[0]);

	/* lio_listio: four reads of quarters, list and control blocks cold. */
	for (int i = 0; i < 4; i++) {
		dst[i] = malloc(BUF / 4);
		t_check(dst[i], "malloc");
		memset(dst[i], 0xaa, BUF / 4);
		memset(&b->cb[i], 0, sizeof(b->cb[i]));
		b->cb[i].aio_fildes = fd;
		b->cb[i].aio_buf = dst[i];
		b->cb[i].aio_nbytes = BUF / 4;
		b->cb[i].aio_offset = (off_t)(i * BUF / 4);
		b->cb[i].aio_lio_opcode = LIO_READ;
		b->list[i] = &b->cb[i];
	}
	for (int i = 0; i < 4; i++)
		c_make_cold("lio_listio destination", dst[i], BUF / 4);
	c_make_cold("lio_listio list and aiocbs", b, sizeof(*b));
	t_check(!lio_listio(LIO_WAIT, b->list, 4, NULL), "lio_listio: %s", strerror(errno));
	for (int i = 0; i < 4; i++) {
		t_check(aio_error(&b->cb[i]) == 0 && aio_return(&b->cb[i]) == (ssize_t)(BUF / 4),
			"lio_listio read %d", i);
		t_check_pattern("lio_listio read", dst[i], BUF / 4, 0x3501, (size_t)i * BUF / 4);
		free(dst[i]);
	}
	free(b);
	close(fd);
}

/* ---- futexes and pthread objects in cold memory -------------------------- */

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

struct shared {
	uint32_t word;			/* raw futex */
	pthread_rwlock_t rw;
	pthread_mutex_t pi;
	pthread_mutex_t robust;
	pthread_barrier_t bar;
	sem_t sem;
	uint64_t a, b;			/* written together under rw */
	uint64_t pi_count;
	atomic_int robust_go;
	char pad[65536];
};

static struct shared *S;
static atomic_int f_stop, f_waiter_state;
static atomic_ulong f_bad;

static void *f_waiter(void *arg)
{
	(void)arg;
	atomic_store(&f_waiter_state, 1);
	while (__atomic_load_n(&S->word, __ATOMIC_ACQUIRE) == 0) {
		long r = futex(&S->word, FUTEX_WAIT_PRIVATE, 0, NULL);

		if (r && errno != EAGAIN && errno != EINTR) {
			t_log("FUTEX_WAIT: %s", strerror(errno));
			atomic_fetch_add(&f_bad, 1);
			break;
		}
	}
	atomic_store(&f_waiter_state, 2);
	return NULL;
}

static void *f_rw_worker(void *arg)
{
	int writer = (int)(intptr_t)arg;
	uint64_t i = 0;

	while (!atomic_load(&f_stop)) {
		if (writer) {
			pthread_rwlock_wrlock(&S->rw);
			S->a = ++i;
			S->b = t_mix64(i);
			pthread_rwlock_unlock(&S->rw);
		} else {
			pthread_rwlock_rdlock(&S->rw);
			if (S->b != (S->a ? t_mix64(S->a) : 0))
				atomic_fetch_add(&f_bad, 1);
			pthread_rwlock_unlock(&S->rw);
		}
		if (i % 64 == 0)
			usleep(100);
	}
	return NULL;
}

static void *f_pi_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		int r = pthread_mutex_lock(&S->pi);

		if (r) {
			t_log("PI mutex lock: %s", strerror(r));
			atomic_fetch_add(&f_bad, 1);
			return NULL;
		}
		S->pi_count++;
		pthread_mutex_unlock(&S->pi);
	}
	return NULL;
}

static void *f_bar_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++) {
		pthread_barrier_wait(&S->bar);
		if (sem_wait(&S->sem))
			atomic_fetch_add(&f_bad, 1);
	}
	return NULL;
}

static void *f_robust_owner(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&S->robust);
	atomic_store(&S->robust_go, 1);
	/* Wait (on a hot flag) until the mutex page is cold, then exit
	 * holding the mutex: the kernel must mark it OWNER_DIED. */
	while (atomic_load(&f_waiter_state) != 9)
		usleep(1000);
	return NULL;
}

static void case_futex(void)
{
	pthread_t t, rw[4], pi[3], bar[3];
	pthread_mutexattr_t ma;
	struct timespec ts;

	S = calloc(1, sizeof(*S));
	t_check(S, "calloc");
	pthread_rwlock_init(&S->rw, NULL);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
	t_check(!pthread_mutex_init(&S->pi, &ma), "PI mutex init");
	pthread_mutexattr_destroy(&ma);
	pthread_barrier_init(&S->bar, NULL, 4);
	sem_init(&S->sem, 0, 0);

	/* FUTEX_WAIT on a cold word: EAGAIN when it differs. */
	S->word = 7;
	c_make_cold("futex word (value check)", S, sizeof(*S));
	t_check(futex(&S->word, FUTEX_WAIT_PRIVATE, 0, NULL) == -1 && errno == EAGAIN,
		"FUTEX_WAIT on a cold word holding 7, expecting 0: %s", strerror(errno));
	/* With a timeout, equal value: ETIMEDOUT. */
	S->word = 0;
	c_make_cold("futex word (timed wait)", S, sizeof(*S));
	ts = (struct timespec){ 0, 20 * 1000 * 1000 };
	t_check(futex(&S->word, FUTEX_WAIT_PRIVATE, 0, &ts) == -1 && errno == ETIMEDOUT,
		"FUTEX_WAIT with timeout on a cold word: %s", strerror(errno));
	/* A waiter asleep while its word goes cold, then woken. */
	t_check(!pthread_create(&t, NULL, f_waiter, NULL), "pthread_create");
	while (atomic_load(&f_waiter_state) != 1)
		usleep(1000);
	usleep(20000);
	c_make_cold("futex word (sleeping waiter)", S, sizeof(*S));
	__atomic_store_n(&S->word, 1, __ATOMIC_RELEASE);
	c_make_cold("futex word (before FUTEX_WAKE)", S, sizeof(*S));
	for (int i = 0; i < 1000 && atomic_load(&f_waiter_state) != 2; i++) {
		futex(&S->word, FUTEX_WAKE_PRIVATE, 1, NULL);
		usleep(1000);
	}
	pthread_join(t, NULL);
	t_check(atomic_load(&f_waiter_state) == 2, "futex waiter never woke");

	/* rwlock: a writer and three readers, the lock page going cold. */
	atomic_store(&f_stop, 0);
	for (int i = 0; i < 4; i++)
		t_check(!pthread_create(&rw[i], NULL, f_rw_worker, (void *)(intptr_t)(i == 0)),
			"pthread_create");
	for (int i = 0; i < 4; i++)
		c_make_cold_n("rwlock page (in use)", S, T_PAGE_SIZE, 0);
	atomic_store(&f_stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(rw[i], NULL);
	t_check(atomic_load(&f_bad) == 0, "rwlock readers saw torn updates");
	t_log("    rwlock: %llu writes", (unsigned long long)S->a);

	/* PI mutex: contended, so FUTEX_LOCK_PI/UNLOCK_PI on a cold word. */
	c_make_cold("PI mutex", S, sizeof(*S));
	for (int i = 0; i < 3; i++)
		t_check(!pthread_create(&pi[i], NULL, f_pi_worker, NULL), "pthread_create");
	for (int i = 0; i < 2; i++)
		c_make_cold_n("PI mutex page (in use)", S, T_PAGE_SIZE, 0);
	for (int i = 0; i < 3; i++)
		pthread_join(pi[i], NULL);
	t_check(S->pi_count == 60000, "PI mutex count %llu, want 60000",
		(unsigned long long)S->pi_count);

	/* Barrier + semaphore in cold memory. */
	for (int i = 0; i < 3; i++)
		t_check(!pthread_create(&bar[i], NULL, f_bar_worker, NULL), "pthread_create");
	for (int i = 0; i < 20; i++) {
		if (i % 5 == 0)
			c_make_cold("barrier and semaphore", S, sizeof(*S));
		pthread_barrier_wait(&S->bar);
		for (int k = 0; k < 3; k++)
			sem_post(&S->sem);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(bar[i], NULL);
	t_check(atomic_load(&f_bad) == 0, "barrier/semaphore errors");

	pthread_rwlock_destroy(&S->rw);
	pthread_mutex_destroy(&S->pi);
	pthread_barrier_destroy(&S->bar);
	sem_destroy(&S->sem);
	free(S);
}

/*
 * A robust mutex whose owner exits holding it while the mutex's page is
 * cold: at the owner's exit the kernel walks its robust list and marks the
 * mutex FUTEX_OWNER_DIED, so the next locker gets EOWNERDEAD.
 */
static void case_robust_mutex(void)
{
	pthread_mutexattr_t ma;
	struct timespec ts;
	pthread_t t;
	int r;

	S = calloc(1, sizeof(*S));
	t_check(S, "calloc");
	atomic_store(&f_waiter_state, 0);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	t_check(!pthread_mutex_init(&S->robust, &ma), "robust mutex init");
	pthread_mutexattr_destroy(&ma);
	t_check(!pthread_create(&t, NULL, f_robust_owner, NULL), "pthread_create");
	while (!atomic_load(&S->robust_go))
		usleep(1000);
	/* The page holding the mutex itself must be out when the owner
	 * exits: the kernel walks the robust list in the exit path. */
	c_make_cold("robust mutex page (owner alive)", &S->robust, sizeof(S->robust));
	atomic_store(&f_waiter_state, 9);
	pthread_join(t, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	r = pthread_mutex_timedlock(&S->robust, &ts);
	t_check(r == EOWNERDEAD, "locking a robust mutex whose owner exited: %s (expected "
		"EOWNERDEAD)%s", strerror(r),
		r == ETIMEDOUT ? " - the kernel did not mark it OWNER_DIED at the owner's exit" : "");
	pthread_mutex_consistent(&S->robust);
	pthread_mutex_unlock(&S->robust);

	pthread_mutex_destroy(&S->robust);
	free(S);
}

/* ---- another process reading and writing our cold memory ----------------- */

/* Helper mode: kernel_access --helper MODE PID ADDR LEN SEED */
static int helper_main(int argc, char **argv)
{
	const char *mode;
	pid_t pid;
	uintptr_t addr;
	size_t len;
	uint64_t seed;
	char *buf, path[64];
	ssize_t n = -1;
	long bad;

	if (argc != 7)
		return 2;
	mode = argv[2];
	pid = (pid_t)strtol(argv[3], NULL, 10);
	addr = (uintptr_t)strtoull(argv[4], NULL, 16);
	len = strtoull(argv[5], NULL, 10);
	seed = strtoull(argv[6], NULL, 16);
	buf = malloc(len);
	if (!buf)
		return 2;
	if (!strcmp(mode, "pvr") || !strcmp(mode, "memr")) {
		memset(buf, 0, len);
		if (mode[0] == 'p') {
			struct iovec l = { buf, len }, r = { (void *)addr, len };

			n = process_vm_readv(pid, &l, 1, &r, 1, 0);
		} else {
			int fd;

			snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				n = pread(fd, buf, len, (off_t)addr);
				close(fd);
			}
		}
		if (n != (ssize_t)len) {
			fprintf(stderr, "helper %s: read %zd of %zu bytes: %s\n", mode, n, len,
				strerror(errno));
			return 1;
		}
		bad = t_pattern_check(buf, len, seed, 0);
		if (bad >= 0) {
			fprintf(stderr, "helper %s: byte %ld of the target's buffer is 0x%02x, "
				"expected 0x%02x\n", mode, bad, (uint8_t)buf[bad],
				t_pattern_byte(seed, (size_t)bad));
			return 1;
		}
		return 0;
	}
	if (!strcmp(mode, "pvw") || !strcmp(mode, "memw")) {
		t_pattern_fill(buf, len, seed, 0);
		if (mode[0] == 'p') {
			struct iovec l = { buf, len }, r = { (void *)addr, len };

			n = process_vm_writev(pid, &l, 1, &r, 1, 0);
		} else {
			int fd;

			snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				n = pwrite(fd, buf, len, (off_t)addr);
				close(fd);
			}
		}
		if (n != (ssize_t)len) {
			fprintf(stderr, "helper %s: wrote %zd of %zu bytes: %s\n", mode, n, len,
				strerror(errno));
			return 1;
		}
		return 0;
	}
	return 2;
}

static void run_helper(const char *mode, void *addr, size_t len, uint64_t seed)
{
	char pid_s[32], addr_s[32], len_s[32], seed_s[32];
	char *argv[] = { self_exe, "--helper", (char *)mode, pid_s, addr_s, len_s, seed_s, NULL };
	pid_t pid;
	int st;

	snprintf(pid_s, sizeof(pid_s), "%d", (int)getpid());
	snprintf(addr_s, sizeof(addr_s), "%lx", (unsigned long)(uintptr_t)addr);
	snprintf(len_s, sizeof(len_s), "%zu", len);
	snprintf(seed_s, sizeof(seed_s), "%llx", (unsigned long long)seed);
	errno = posix_spawn(&pid, self_exe, NULL, NULL, argv, environ);
	t_check(errno == 0, "posix_spawn helper: %s", strerror(errno));
	t_sys(waitpid(pid, &st, 0));
	t_check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "helper '%s' failed (status 0x%x)", mode, st);
}

static void case_process_vm(void)
{
	size_t len = 2 * BUF;
	char *buf = c_cold_pattern("buffer for process_vm_readv", len, 0x3601);

	run_helper("pvr", buf, len, 0x3601);
	t_check_pattern("buffer after process_vm_readv", buf, len, 0x3601, 0);

	c_make_cold("buffer for process_vm_writev", buf, len);
	run_helper("pvw", buf, len, 0x3602);
	t_check_pattern("buffer written by process_vm_writev", buf, len, 0x3602, 0);

	/* process_vm_readv on ourselves, both sides cold. */
	{
		char *dst = c_cold_junk("process_vm_readv(self) destination", len, 8);
		struct iovec l = { dst, len }, r = { buf, len };
		ssize_t n;

		c_make_cold("process_vm_readv(self) source", buf, len);
		n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
		t_check(n == (ssize_t)len, "process_vm_readv(self): %zd (%s)", n, strerror(errno));
		t_check_pattern("process_vm_readv(self)", dst, len, 0x3602, 0);
		free(dst);
	}
	free(buf);
}

/* /proc/PID/mem: how debuggers, PTRACE_PEEKDATA-style tools and crash
 * reporters read a process. */
static void case_proc_mem(void)
{
	size_t len = 2 * BUF;
	char *buf = c_cold_pattern("buffer for a /proc/PID/mem read", len, 0x3611);

	run_helper("memr", buf, len, 0x3611);
	t_check_pattern("buffer after the /proc/PID/mem read", buf, len, 0x3611, 0);

	c_make_cold("buffer for a /proc/PID/mem write", buf, len);
	run_helper("memw", buf, len, 0x3612);
	t_check_pattern("buffer written through /proc/PID/mem", buf, len, 0x3612, 0);
	free(buf);
}

static const struct c_case cases[] = {
	{ "readv_writev", case_readv_writev, "readv/writev/preadv2/pwritev2 with cold iovecs", 0 },
	{ "sendfile_splice", case_sendfile_splice, "sendfile/splice with cold offsets, vmsplice of cold memory", 0 },
	{ "getdents", case_getdents, "getdents64 and readdir into cold buffers", 0 },
	{ "stdio", case_stdio, "stdio on cold buffers (beyond syscalls_cold)", 0 },
	{ "io_uring", case_io_uring, "io_uring I/O into cold and registered buffers", 0 },
	{ "aio", case_aio, "POSIX AIO with cold buffers and aiocbs", 0 },
	{ "futex", case_futex, "futex, rwlock, PI mutex, barrier, semaphore in cold memory", 0 },
	{ "robust_mutex", case_robust_mutex, "a robust mutex's owner exits while the mutex is cold", 0 },
	{ "process_vm", case_process_vm, "process_vm_readv/writev from another process and on itself", 0 },
	{ "proc_mem", case_proc_mem, "another process reads and writes /proc/PID/mem", 0 },
};

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], "--helper"))
		return helper_main(argc, argv);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	t_check(n > 0, "readlink /proc/self/exe");
	self_exe[n] = 0;
	return c_main(argc, argv, "kernel_access", cases, sizeof(cases) / sizeof(cases[0]), 125, 110);
}
