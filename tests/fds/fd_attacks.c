/* SPDX-License-Identifier: MIT */
/*
 * fd_attacks: a program that does to its descriptors what real programs
 * do, with a working set larger than the limit, and checks every byte.
 *
 *   fd_attacks closerange        close_range(3, ~0U, 0), as before an exec
 *   fd_attacks procfd            close what /proc/self/fd lists (readdir,
 *                                then raw getdents64, which sees all)
 *   fd_attacks dup2              dup2 /dev/null onto every number listed
 *                                by getdents64 and onto 3..31
 *   fd_attacks fork              the same close_range in a forked child
 *   fd_attacks shared DIR        MAP_SHARED file A written after
 *                                close_range and 40 opens of file B: A
 *                                holds every change, B none
 *
 * Exit 0 pass, 1 fail. Knows nothing about uswap.
 */
#include "../preload/helpers.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define FILL_MB 64

static uint64_t *mem;
static size_t nr_words;

static uint64_t word(size_t i, uint64_t seed)
{
	return t_mix64(i * 0x9e3779b97f4a7c15ULL ^ seed);
}

static void fill(uint64_t seed)
{
	for (size_t i = 0; i < nr_words; i++)
		mem[i] = word(i, seed);
}

static void verify(const char *what, uint64_t seed)
{
	for (size_t i = 0; i < nr_words; i++)
		if (mem[i] != word(i, seed))
			t_fail("%s: word %zu (page %zu) differs", what, i, i * 8 / T_PAGE_SIZE);
}

static void setup(void)
{
	nr_words = ((size_t)FILL_MB << 20) / 8;
	mem = mmap(NULL, nr_words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		t_fail("mmap: %s", strerror(errno));
	fill(1);
	verify("after fill", 1);
}

/* Every open descriptor, by raw getdents64 (no libc listing in between). */
static int list_fds(int *fds, int max)
{
	char buf[8192];
	int dfd = t_sys(open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	int n = 0;
	long got;

	while ((got = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			int fd = atoi(d->d_name);

			if (d->d_name[0] != '.' && fd != dfd && n < max)
				fds[n++] = fd;
			off += d->d_reclen;
		}
	}
	close(dfd);
	return n;
}

static void after(const char *what)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "after %s", what);
	verify(msg, 1);
}

static void do_closerange(void)
{
	if (close_range(3, ~0U, 0))
		t_fail("close_range: %s", strerror(errno));
	after("close_range");
}

static void do_procfd(void)
{
	int fds[4096], n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		t_fail("opendir: %s", strerror(errno));
	while ((e = readdir(d)) && n < 4096)
		if (e->d_name[0] != '.' && atoi(e->d_name) >= 3 && atoi(e->d_name) != dirfd(d))
			fds[n++] = atoi(e->d_name);
	closedir(d);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	verify("after closing what readdir listed", 1);
	n = list_fds(fds, 4096);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 3)
			close(fds[i]);
	after("closing what getdents64 listed");
}

static void do_dup2(void)
{
	int fds[4096], n = list_fds(fds, 4096);
	int null = t_sys(open("/dev/null", O_RDWR));

	for (int i = 0; i < n; i++)
		if (fds[i] >= 3 && fds[i] != null)
			(void)dup2(null, fds[i]);
	for (int fd = 3; fd < 32; fd++)
		if (fd != null)
			(void)dup2(null, fd);
	after("dup2 onto every descriptor");
}

static void do_fork(void)
{
	pid_t pid = t_sys(fork());
	int st;

	if (pid == 0) {
		if (close_range(3, ~0U, 0))
			t_fail("child: close_range: %s", strerror(errno));
		verify("child, after close_range", 1);
		fill(3);
		verify("child, after close_range", 3);
		_exit(0);
	}
	t_sys(waitpid(pid, &st, 0));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		t_fail("child failed (status %#x)", st);
	after("the child's close_range");
}

#define A_LEN (32UL << 20)
#define B_LEN (1UL << 20)

static void do_shared(const char *dir)
{
	char a[4096], b[4096];
	static char page[T_PAGE_SIZE];
	int fa, fb;
	uint64_t *map;
	struct stat st;

	snprintf(a, sizeof(a), "%s/A", dir);
	snprintf(b, sizeof(b), "%s/B", dir);
	fb = t_sys(open(b, O_RDWR | O_CREAT | O_TRUNC, 0600));
	memset(page, 0xbb, sizeof(page));
	for (size_t off = 0; off < B_LEN; off += sizeof(page))
		t_check(write(fb, page, sizeof(page)) == (ssize_t)sizeof(page), "write B");
	fa = t_sys(open(a, O_RDWR | O_CREAT | O_TRUNC, 0600));
	t_sys(ftruncate(fa, (off_t)A_LEN));
	map = mmap(NULL, A_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fa, 0);
	if (map == MAP_FAILED)
		t_fail("mmap A: %s", strerror(errno));
	for (size_t i = 0; i < A_LEN / 8; i += T_PAGE_SIZE / 8)
		map[i] = 0; /* every page of A mapped once */
	if (close_range(3, ~0U, 0))
		t_fail("close_range: %s", strerror(errno));
	for (int i = 0; i < 40; i++)
		t_sys(open(b, O_RDWR));
	for (size_t i = 0; i < A_LEN / 8; i++)
		map[i] = word(i, 7);
	t_sys(msync(map, A_LEN, MS_SYNC));
	t_sys(munmap(map, A_LEN));
	fa = t_sys(open(a, O_RDONLY));
	for (size_t off = 0; off < A_LEN; off += sizeof(page)) {
		const uint64_t *w = (const uint64_t *)page;

		t_check(pread(fa, page, sizeof(page), (off_t)off) == (ssize_t)sizeof(page),
			"read A at %zu", off);
		for (size_t j = 0; j < sizeof(page) / 8; j++)
			if (w[j] != word(off / 8 + j, 7))
				t_fail("A: the change at byte %zu is missing", off + j * 8);
	}
	fb = t_sys(open(b, O_RDONLY));
	t_sys(fstat(fb, &st));
	t_check(st.st_size == (off_t)B_LEN, "B grew to %lld bytes", (long long)st.st_size);
	for (size_t off = 0; off < B_LEN; off += sizeof(page)) {
		t_check(pread(fb, page, sizeof(page), (off_t)off) == (ssize_t)sizeof(page),
			"read B");
		for (size_t j = 0; j < sizeof(page); j++)
			if ((unsigned char)page[j] != 0xbb)
				t_fail("B: byte %zu was written (A's bytes went to B)", off + j);
	}
	verify("after the shared file", 1);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	setup();
	if (!strcmp(mode, "closerange"))
		do_closerange();
	else if (!strcmp(mode, "procfd"))
		do_procfd();
	else if (!strcmp(mode, "dup2"))
		do_dup2();
	else if (!strcmp(mode, "fork"))
		do_fork();
	else if (!strcmp(mode, "shared") && argc > 2)
		do_shared(argv[2]);
	else
		t_fail("usage: fd_attacks closerange|procfd|dup2|fork|shared DIR");
	printf("ok %s\n", mode);
	return 0;
}
