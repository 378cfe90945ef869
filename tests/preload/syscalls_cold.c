/* SPDX-License-Identifier: MIT */
/*
 * syscalls_cold: the kernel reads and writes evicted (cold) managed pages.
 *
 * A page uswap has evicted is absent from the page table, so when the
 * kernel copies to or from it inside a system call (copy_to_user in read(),
 * copy_from_user in write(), the futex word in pthread_cond_wait, argv in
 * execve) the access must be served by the runtime's fault handler, not
 * turned into EFAULT, a short transfer, or zeros.
 *
 * Every buffer is malloc'd (managed), filled with junk so it is dirty, then
 * pushed out by sweeping a churn area of 1.25x the limit. (Not more: a
 * churn much larger than the limit never refaults within the working-set
 * distance, so a split-LRU policy rightly treats it as a stream and keeps
 * evicting the stream instead of our buffer - measured: ~1 GiB of 4x churn
 * before a 1 MiB buffer went cold. At 1.25x the churn is a working set and
 * the idle buffer is the coldest page, under LRU and split LRU alike.)
 * The test does not trust the pressure: make_cold() sweeps until mincore(2)
 * reports at least half of the buffer's pages non-resident, and fails
 * otherwise (pass --native to run without uswap, where nothing is ever
 * evicted).
 *
 * Cases: read()/write() on a pipe, write()/pread()/preadv() on a temp file,
 * send()/recv() and sendmsg()/recvmsg() (with the msghdr and iovec array
 * cold too) on a socketpair, fgets/fread/fwrite through stdio with a cold
 * FILE buffer, posix_spawn with a cold path and argv, and a mutex plus two
 * condvars in a cold malloc'd struct used by a producer and a consumer
 * while a third thread churns memory. All bytes are checked against a
 * generated pattern, and so is every page of the churn area on every pass.
 */
#include "helpers.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define BUF_LEN (1UL << 20) /* 1 MiB, 256 pages */
#define MAX_SWEEPS 12

extern char **environ;

static int native;	  /* --native: no runtime; don't require coldness */
/* 1.25x the limit, mmap'd (managed). Passes never overlap: the main thread
 * sweeps, except during test_mutex_cond where only the churner thread does. */
static struct t_churn churn = T_CHURN_INIT;
static unsigned long nr_cold_checks;
static char tmpdir[4096];

/*
 * Sweep the churn area until at least half of [p, p+len) is non-resident.
 * @required=0 only reports (for memory we do not own exclusively, such as a
 * glibc FILE in a shared small-object page).
 */
static void make_cold(const char *what, const void *p, size_t len, int required)
{
	long cold = t_make_cold(&churn, what, p, len, required, MAX_SWEEPS, native);

	nr_cold_checks++;
	t_log("  %-28s %4ld/%-4zu pages cold", what, cold, t_nr_pages(p, len));
}

/* A malloc'd buffer holding dirty junk, pushed out; unaligned on purpose
 * when @skew is set so transfers straddle page boundaries. */
static char *cold_buf(const char *what, size_t len, size_t skew, uint64_t junk)
{
	char *raw = malloc(len + skew);

	t_check(raw, "malloc(%zu)", len + skew);
	t_pattern_fill(raw, len + skew, junk, 0);
	make_cold(what, raw + skew, len, 1);
	return raw + skew;
}

static char *cold_src(const char *what, size_t len, size_t skew, uint64_t seed)
{
	char *raw = malloc(len + skew);

	t_check(raw, "malloc(%zu)", len + skew);
	t_pattern_fill(raw + skew, len, seed, 0);
	make_cold(what, raw + skew, len, 1);
	return raw + skew;
}

/* The other end of a pipe or socket, in a thread, with a hot stack buffer. */
struct peer {
	int fd;
	size_t len;
	uint64_t seed;
	pthread_t tid;
};

static void *peer_write(void *arg)
{
	struct peer *p = arg;
	char buf[65536];

	for (size_t off = 0; off < p->len; off += sizeof(buf)) {
		size_t n = p->len - off < sizeof(buf) ? p->len - off : sizeof(buf);

		t_pattern_fill(buf, n, p->seed, off);
		t_write_full(p->fd, buf, n, "peer write");
	}
	return NULL;
}

static void *peer_read(void *arg)
{
	struct peer *p = arg;
	char buf[65536];

	for (size_t off = 0; off < p->len;) {
		size_t want = p->len - off < sizeof(buf) ? p->len - off : sizeof(buf);
		ssize_t n = read(p->fd, buf, want);

		t_check(n > 0, "peer read: %zd at %zu: %s", n, off,
			n < 0 ? strerror(errno) : "EOF");
		t_check_pattern("peer read (data written from a cold source)", buf,
			      (size_t)n, p->seed, off);
		off += (size_t)n;
	}
	return NULL;
}

static void peer_start(struct peer *p, int fd, size_t len, uint64_t seed,
		       void *(*fn)(void *))
{
	p->fd = fd;
	p->len = len;
	p->seed = seed;
	t_check(!pthread_create(&p->tid, NULL, fn, p), "pthread_create");
}

static void test_pipe(void)
{
	int fds[2];
	struct peer peer;
	char *dst, *src;

	t_log("pipe:");
	t_sys(pipe2(fds, O_CLOEXEC));

	/* read() into a cold destination. */
	dst = cold_buf("pipe read() dst", BUF_LEN, 37, 0xd1);
	peer_start(&peer, fds[1], BUF_LEN, 0x101, peer_write);
	t_read_full(fds[0], dst, BUF_LEN, "pipe read into cold buffer");
	pthread_join(peer.tid, NULL);
	t_check_pattern("pipe read() into cold buffer", dst, BUF_LEN, 0x101, 0);

	/* write() from a cold source. */
	src = cold_src("pipe write() src", BUF_LEN, 0, 0x102);
	peer_start(&peer, fds[0], BUF_LEN, 0x102, peer_read);
	t_write_full(fds[1], src, BUF_LEN, "pipe write from cold buffer");
	pthread_join(peer.tid, NULL);

	close(fds[0]);
	close(fds[1]);
	free(dst - 37);
	free(src);
}

static void test_file(void)
{
	int fd = t_open_tmpfile(tmpdir, "uswap-cold");
	char *src, *dst, *a, *b;
	struct iovec iov[2];
	size_t half = BUF_LEN / 2 + 1234;
	ssize_t n;

	t_log("temp file:");
	src = cold_src("file write() src", BUF_LEN, 0, 0x201);
	t_write_full(fd, src, BUF_LEN, "write to file from cold buffer");

	dst = cold_buf("file pread() dst", BUF_LEN, 3000, 0xd2);
	n = pread(fd, dst, BUF_LEN, 0);
	t_check(n == (ssize_t)BUF_LEN, "pread into cold buffer returned %zd: %s",
		n, n < 0 ? strerror(errno) : "short");
	t_check_pattern("pread() into cold buffer", dst, BUF_LEN, 0x201, 0);

	a = cold_buf("file preadv() iov[0]", half, 11, 0xd3);
	b = cold_buf("file preadv() iov[1]", BUF_LEN - half, 0, 0xd4);
	iov[0] = (struct iovec){ a, half };
	iov[1] = (struct iovec){ b, BUF_LEN - half };
	n = preadv(fd, iov, 2, 0);
	t_check(n == (ssize_t)BUF_LEN, "preadv into cold buffers returned %zd: %s",
		n, n < 0 ? strerror(errno) : "short");
	t_check_pattern("preadv() iov[0]", a, half, 0x201, 0);
	t_check_pattern("preadv() iov[1]", b, BUF_LEN - half, 0x201, half);

	close(fd);
	free(src);
	free(dst - 3000);
	free(a - 11);
	free(b);
}

static void test_socket(void)
{
	int sv[2];
	struct peer peer;
	char *src, *dst, *d1, *d2;
	struct msghdr *msg;
	struct iovec *iov;
	ssize_t n;

	t_log("socketpair:");
	t_sys(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));

	/* recv() into a cold buffer, data sent by a peer thread. */
	dst = cold_buf("recv() dst", BUF_LEN, 5, 0xd5);
	peer_start(&peer, sv[1], BUF_LEN, 0x301, peer_write);
	n = recv(sv[0], dst, BUF_LEN, MSG_WAITALL);
	t_check(n == (ssize_t)BUF_LEN, "recv(MSG_WAITALL) into cold buffer "
		"returned %zd: %s", n, n < 0 ? strerror(errno) : "short");
	pthread_join(peer.tid, NULL);
	t_check_pattern("recv() into cold buffer", dst, BUF_LEN, 0x301, 0);

	/* send() from a cold buffer. */
	src = cold_src("send() src", BUF_LEN, 0, 0x302);
	peer_start(&peer, sv[1], BUF_LEN, 0x302, peer_read);
	for (size_t off = 0; off < BUF_LEN;) {
		n = send(sv[0], src + off, BUF_LEN - off, 0);
		t_check(n > 0, "send from cold buffer: %zd: %s", n, strerror(errno));
		off += (size_t)n;
	}
	pthread_join(peer.tid, NULL);

	/* recvmsg() with msghdr, iovec array and both buffers cold. */
	msg = calloc(1, 64 * 1024);	/* large: own pages */
	t_check(msg, "calloc");
	iov = (struct iovec *)(msg + 1);
	d1 = malloc(BUF_LEN / 4 + 1);
	d2 = malloc(BUF_LEN - BUF_LEN / 4 - 1);
	t_check(d1 && d2, "malloc");
	t_pattern_fill(d1, BUF_LEN / 4 + 1, 0xd6, 0);
	t_pattern_fill(d2, BUF_LEN - BUF_LEN / 4 - 1, 0xd7, 0);
	iov[0] = (struct iovec){ d1, BUF_LEN / 4 + 1 };
	iov[1] = (struct iovec){ d2, BUF_LEN - BUF_LEN / 4 - 1 };
	msg->msg_iov = iov;
	msg->msg_iovlen = 2;
	make_cold("recvmsg() msghdr+iovec", msg, 64 * 1024, 1);
	make_cold("recvmsg() iov[0]", d1, BUF_LEN / 4 + 1, 1);
	make_cold("recvmsg() iov[1]", d2, BUF_LEN - BUF_LEN / 4 - 1, 1);
	peer_start(&peer, sv[1], BUF_LEN, 0x303, peer_write);
	n = recvmsg(sv[0], msg, MSG_WAITALL);
	t_check(n == (ssize_t)BUF_LEN, "recvmsg into cold iovecs returned %zd: %s",
		n, n < 0 ? strerror(errno) : "short");
	pthread_join(peer.tid, NULL);
	t_check_pattern("recvmsg() iov[0]", d1, BUF_LEN / 4 + 1, 0x303, 0);
	t_check_pattern("recvmsg() iov[1]", d2, BUF_LEN - BUF_LEN / 4 - 1, 0x303,
		      BUF_LEN / 4 + 1);

	/* sendmsg() from the same (again cold) structures. */
	t_pattern_fill(d1, BUF_LEN / 4 + 1, 0x304, 0);
	t_pattern_fill(d2, BUF_LEN - BUF_LEN / 4 - 1, 0x304, BUF_LEN / 4 + 1);
	make_cold("sendmsg() msghdr+iovec", msg, 64 * 1024, 1);
	make_cold("sendmsg() iov[0]", d1, BUF_LEN / 4 + 1, 1);
	make_cold("sendmsg() iov[1]", d2, BUF_LEN - BUF_LEN / 4 - 1, 1);
	peer_start(&peer, sv[1], BUF_LEN, 0x304, peer_read);
	for (size_t sent = 0; sent < BUF_LEN;) {
		n = sendmsg(sv[0], msg, 0);
		t_check(n > 0, "sendmsg from cold iovecs: %zd: %s", n, strerror(errno));
		sent += (size_t)n;
		/* A partial send: advance the (managed) iovecs. */
		for (size_t k = (size_t)n; k;) {
			size_t step = k < iov[0].iov_len ? k : iov[0].iov_len;

			iov[0].iov_base = (char *)iov[0].iov_base + step;
			iov[0].iov_len -= step;
			k -= step;
			if (!iov[0].iov_len) {
				iov[0] = iov[1];
				iov[1].iov_len = 0;
				msg->msg_iovlen = 1;
			}
		}
	}
	pthread_join(peer.tid, NULL);

	close(sv[0]);
	close(sv[1]);
	free(dst - 5);
	free(src);
	free(d1);
	free(d2);
	free(msg);
}

#define NR_LINES 100000

static int line_format(char *out, size_t len, size_t i)
{
	return snprintf(out, len, "%08zu %016llx\n", i,
			(unsigned long long)t_mix64(i ^ 0x51d10));
}

static void test_stdio(void)
{
	char path[4200], path2[4200], want[64], *line, *vbuf, *dst, *src;
	size_t file_len = 0, got;
	FILE *f;
	int fd;

	t_log("stdio:");
	snprintf(path, sizeof(path), "%s/uswap-stdio-XXXXXX", tmpdir);
	fd = t_sys(mkstemp(path));
	{
		FILE *w = fdopen(fd, "w");

		t_check(w, "fdopen");
		for (size_t i = 0; i < NR_LINES; i++) {
			int n = line_format(want, sizeof(want), i);

			fputs(want, w);
			file_len += (size_t)n;
		}
		t_check(fclose(w) == 0, "fclose: %s", strerror(errno));
	}

	/* fgets through glibc's own FILE buffer, pushed out between batches. */
	f = fopen(path, "r");
	t_check(f, "fopen: %s", strerror(errno));
	line = malloc(256);
	t_check(line, "malloc");
	for (size_t i = 0; i < NR_LINES; i++) {
		if (i % 25000 == 10) {
			make_cold("FILE (glibc buffer)", f->_IO_buf_base,
				  (size_t)(f->_IO_buf_end - f->_IO_buf_base), 0);
		}
		t_check(fgets(line, 256, f), "fgets line %zu: EOF/error", i);
		line_format(want, sizeof(want), i);
		t_check(!strcmp(line, want), "fgets line %zu: got '%.40s' want '%.40s'",
			i, line, want);
	}
	t_check(!fgets(line, 256, f), "fgets: data past the end");
	fclose(f);

	/* fread with a malloc'd setvbuf buffer that goes cold mid-stream. */
	f = fopen(path, "r");
	t_check(f, "fopen: %s", strerror(errno));
	vbuf = malloc(65536);
	t_check(vbuf && !setvbuf(f, vbuf, _IOFBF, 65536), "setvbuf");
	dst = malloc(file_len);
	t_check(dst, "malloc");
	memset(dst, 0xee, file_len);
	got = fread(dst, 1, 10000, f);
	t_check(got == 10000, "fread: %zu", got);
	make_cold("fread setvbuf buffer", vbuf, 65536, 1);
	make_cold("fread destination", dst + 10000, file_len - 10000, 1);
	while (got < file_len) {
		size_t n = fread(dst + got, 1, 3000, f);

		t_check(n > 0, "fread after %zu of %zu bytes", got, file_len);
		got += n;
		if (got > file_len / 2 && got - n <= file_len / 2)
			make_cold("fread setvbuf buffer again", vbuf, 65536, 1);
	}
	fclose(f);
	for (size_t i = 0, off = 0; i < NR_LINES; i++) {
		int n = line_format(want, sizeof(want), i);

		t_check(!memcmp(dst + off, want, (size_t)n),
			"fread: line %zu differs: '%.25s'", i, dst + off);
		off += (size_t)n;
	}
	free(vbuf);

	/* fwrite from a cold source through a cold setvbuf buffer. */
	snprintf(path2, sizeof(path2), "%s/uswap-stdio-w-XXXXXX", tmpdir);
	fd = t_sys(mkstemp(path2));
	f = fdopen(fd, "w");
	t_check(f, "fdopen");
	vbuf = malloc(65536);
	t_check(vbuf && !setvbuf(f, vbuf, _IOFBF, 65536), "setvbuf");
	src = malloc(BUF_LEN);
	t_check(src, "malloc");
	t_pattern_fill(src, BUF_LEN, 0x401, 0);
	t_check(fwrite(src, 1, 40000, f) == 40000, "fwrite");
	make_cold("fwrite setvbuf buffer", vbuf, 65536, 1);
	make_cold("fwrite source", src + 40000, BUF_LEN - 40000, 1);
	for (size_t off = 40000; off < BUF_LEN; off += 5000) {
		size_t n = BUF_LEN - off < 5000 ? BUF_LEN - off : 5000;

		t_check(fwrite(src + off, 1, n, f) == n, "fwrite at %zu", off);
	}
	t_check(fclose(f) == 0, "fclose: %s", strerror(errno));
	fd = t_sys(open(path2, O_RDONLY | O_CLOEXEC));
	{
		char *back = malloc(BUF_LEN);

		t_check(back, "malloc");
		t_read_full(fd, back, BUF_LEN, "read back fwrite output");
		t_check_pattern("fwrite output read back", back, BUF_LEN, 0x401, 0);
		free(back);
	}
	close(fd);
	unlink(path);
	unlink(path2);
	free(line);
	free(dst);
	free(src);
	free(vbuf);
}

/* posix_spawn (CLONE_VM|CLONE_VFORK in glibc): the kernel reads the path and
 * argv strings from the parent's cold pages during execve. */
static void test_spawn(void)
{
	const char *msg_fmt = "cold-argv-%016llx";
	char *blk, *path, *arg, **argv, out[128], want[64];
	posix_spawn_file_actions_t fa;
	int fds[2], status;
	size_t got = 0;
	pid_t pid;
	ssize_t n;

	t_log("posix_spawn:");
	blk = malloc(64 * 1024);
	t_check(blk, "malloc");
	memset(blk, 0x5a, 64 * 1024);
	path = blk + 100;
	arg = blk + 20000;
	argv = (char **)(blk + 40000);
	strcpy(path, "/bin/echo");
	snprintf(want, sizeof(want), msg_fmt, (unsigned long long)t_mix64(77));
	strcpy(arg, want);
	argv[0] = path;
	argv[1] = arg;
	argv[2] = NULL;
	make_cold("spawn path+argv", blk, 64 * 1024, 1);

	t_sys(pipe2(fds, O_CLOEXEC));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	errno = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	t_check(errno == 0, "posix_spawn with cold path/argv: %s", strerror(errno));
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while ((n = read(fds[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	out[got] = 0;
	t_sys(waitpid(pid, &status, 0));
	t_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"spawned echo: status 0x%x", status);
	strcat(want, "\n");
	t_check(!strcmp(out, want), "spawned echo printed '%s', want '%s'", out, want);
	free(blk);
}

/* A mutex and two condvars in a cold malloc'd struct. */
struct mailbox {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	uint64_t seq, val;
	int full;
	char pad[32768]; /* a large allocation: the struct owns its pages */
};

#define NR_ROUNDS 3000
#define NR_COLD_WAITS 5

static atomic_int churn_stop;
static unsigned long nr_consumer_bad;

static void *churner(void *arg)
{
	(void)arg;
	while (!atomic_load(&churn_stop))
		t_churn_sweep(&churn);
	return NULL;
}

static void *consumer(void *arg)
{
	struct mailbox *mb = arg;

	for (uint64_t i = 1; i <= NR_ROUNDS; i++) {
		pthread_mutex_lock(&mb->lock);
		while (!mb->full)
			pthread_cond_wait(&mb->not_empty, &mb->lock);
		if (mb->seq != i || mb->val != t_mix64(i)) {
			if (nr_consumer_bad++ < 5)
				t_log("consumer: round %llu got seq %llu val %llx",
				      (unsigned long long)i,
				      (unsigned long long)mb->seq,
				      (unsigned long long)mb->val);
		}
		mb->full = 0;
		pthread_cond_signal(&mb->not_full);
		pthread_mutex_unlock(&mb->lock);
	}
	return NULL;
}

static void test_mutex_cond(void)
{
	/* Page-aligned: the lock and the condvars share its first page. */
	size_t mb_size = (sizeof(struct mailbox) + T_PAGE_SIZE - 1) & ~(size_t)(T_PAGE_SIZE - 1);
	struct mailbox *mb = aligned_alloc(T_PAGE_SIZE, mb_size);
	pthread_t cons, churn_tid;
	int nr_cold_seen = 0, nr_waits = 0;
	double t0 = t_now();

	t_log("mutex/condvar in a cold struct:");
	t_check(mb, "malloc");
	memset(mb, 0, sizeof(*mb));
	pthread_mutex_init(&mb->lock, NULL);
	pthread_cond_init(&mb->not_empty, NULL);
	pthread_cond_init(&mb->not_full, NULL);

	t_check(!pthread_create(&cons, NULL, consumer, mb), "pthread_create");
	t_check(!pthread_create(&churn_tid, NULL, churner, NULL), "pthread_create");

	for (uint64_t i = 1; i <= NR_ROUNDS; i++) {
		if (i % (NR_ROUNDS / NR_COLD_WAITS) == 0) {
			/*
			 * Leave the mailbox alone (the consumer sleeps in
			 * pthread_cond_wait) until the page with the lock and
			 * condvars is out. The churn alone need not push it
			 * out: a page used 600 times since the last wait is
			 * active, and LRU keeps it there while the churn cycles
			 * through the inactive list, so ask for it (again each
			 * second, in case the ask found it under writeback).
			 */
			double deadline = t_now() + 10.0, next_ask = 0;
			long cold = 0;

			nr_waits++;
			while (t_now() < deadline && !native) {
				if (t_now() >= next_ask) {
					t_sys(madvise(mb, T_PAGE_SIZE, MADV_PAGEOUT));
					next_ask = t_now() + 1.0;
				}
				cold = t_nr_nonresident(mb, T_PAGE_SIZE);
				if (cold == 1)
					break;
				usleep(10000);
			}
			nr_cold_seen += cold == 1;
		}
		pthread_mutex_lock(&mb->lock);
		while (mb->full)
			pthread_cond_wait(&mb->not_full, &mb->lock);
		mb->seq = i;
		mb->val = t_mix64(i);
		mb->full = 1;
		pthread_cond_signal(&mb->not_empty);
		pthread_mutex_unlock(&mb->lock);
	}
	pthread_join(cons, NULL);
	atomic_store(&churn_stop, 1);
	pthread_join(churn_tid, NULL);

	t_log("  %d rounds in %.1fs; lock page seen cold in %d of %d waits; "
	      "churn generations %lu", NR_ROUNDS, t_now() - t0, nr_cold_seen,
	      nr_waits, churn.gen);
	t_check(nr_consumer_bad == 0, "consumer saw %lu wrong messages",
		nr_consumer_bad);
	t_check(native || nr_cold_seen >= 1,
		"the mailbox page never went cold in %d waits of 10 s", nr_waits);
	pthread_mutex_destroy(&mb->lock);
	pthread_cond_destroy(&mb->not_empty);
	pthread_cond_destroy(&mb->not_full);
	free(mb);
}

static void on_alarm(int sig)
{
	static const char msg[] = "FAIL syscalls_cold: timed out (deadlock?)\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(T_EXIT_FAIL);
}

int main(int argc, char **argv)
{
	const char *limit_arg = NULL, *t;
	uint64_t limit;
	double t0 = t_now();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--native"))
			native = 1;
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			limit_arg = argv[++i];
		else
			t_fail("usage: %s [--limit SIZE] [--native]", argv[0]);
	}
	limit = t_limit_bytes(limit_arg, 16 * T_MIB);
	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s", t && *t ? t : "/tmp");
	signal(SIGALRM, on_alarm);
	alarm(240);

	t_churn_map(&churn, limit, 125);
	t_log("syscalls_cold: limit %llu MiB, churn %zu MiB%s",
	      (unsigned long long)(limit / T_MIB), churn.len / T_MIB,
	      native ? " (native: coldness not required)" : "");

	test_pipe();
	test_file();
	test_socket();
	test_stdio();
	test_spawn();
	test_mutex_cond();

	t_churn_check(&churn);
	t_log("syscalls_cold: all bytes verified; %lu cold checks, %lu sweeps, "
	      "%.1fs", nr_cold_checks, churn.nr_sweeps, t_now() - t0);
	return T_EXIT_PASS;
}
