/* SPDX-License-Identifier: MIT */
/*
 * cross_process: a file mapping seen from two processes.
 *
 * On Linux a MAP_SHARED file mapping is the page cache itself: a store by
 * one process that maps the file is a load of every other at once, and a
 * write() to the file by any process reads back through the mapping. This
 * is what programs that share a mapped file between processes rely on (a
 * forked worker pool, SQLite's -shm index, LMDB). The runtime's promise
 * "the program sees exactly the bytes it would see natively" covers it; an
 * emulation with a private anonymous copy per process does not by itself.
 * A MAP_PRIVATE mapping, inherited by fork(), is a copy-on-write snapshot.
 *
 *   fork          the parent maps a file of --mb MiB MAP_SHARED, writes
 *                 generation 1 over it and forks. The child checks 1,
 *                 writes 2 over the odd pages and tells the parent (pipe);
 *                 the parent must load 2 there, writes 3 over the even
 *                 pages and tells the child, which must load 3 there. The
 *                 child exits; the parent checks the mapping and, after
 *                 munmap, the file (pread()).
 *   fork_private  the same with MAP_PRIVATE: the parent writes 1 over the
 *                 even pages and forks; the child must load 1 there and the
 *                 file elsewhere, writes 2 over pages 1 mod 4; the parent
 *                 must not see it, writes 3 over pages 3 mod 4, which the
 *                 child must not see. The file stays generation 0.
 *   foreign       the program maps the file MAP_SHARED, reads every page,
 *                 stores generation 1 into pages 0 mod 4, reads the pages
 *                 1 mod 4 of the first 4 MiB again (so they are resident),
 *                 then starts a copy of itself (`pwrite` mode, posix_spawn)
 *                 that pwrite()s 2 over pages 1 mod 4 (clean in the mapping)
 *                 and over the first 1 KiB of pages 0 mod 4 (dirty in it).
 *                 After it exits, the mapping must load the new bytes there
 *                 and the old ones elsewhere, and after munmap the file must
 *                 hold the same (a page written back late must not undo the
 *                 other program's write). Each class of page is reported
 *                 apart: clean and just read, clean, dirty, untouched.
 */
#include "filetest.h"

#include <spawn.h>

#define FID 10
#define HOT_PAGES 1024	/* foreign: clean pages read just before the pwrite */

extern char **environ;

static struct {
	const char *mode;
	uint64_t size;
	const char *dir, *file;
} opt = { .size = 64 * T_MIB };

static size_t nr_pages;
static struct ft_model model;
static uint8_t *map;

/* Store @gen over the whole pages @p with p % @mod == @rem. */
static void store_pages(unsigned mod, unsigned rem, unsigned gen)
{
	for (size_t p = rem; p < nr_pages; p += mod) {
		ft_fill(map + p * FT_PAGE, FID, gen, p * FT_PAGE, FT_PAGE);
		ft_model_set(&model, p * FT_PAGE, FT_PAGE, gen);
	}
}

/* Expect @gen (whole pages) on pages p % @mod == @rem, in the model only. */
static void expect_pages(unsigned mod, unsigned rem, unsigned gen)
{
	for (size_t p = rem; p < nr_pages; p += mod)
		ft_model_set(&model, p * FT_PAGE, FT_PAGE, gen);
}

/* Check the pages p % @mod == @rem in [from, to) through the mapping;
 * returns (and reports) how many are wrong. */
static size_t check_range(const char *what, unsigned mod, unsigned rem, size_t from,
			  size_t to)
{
	size_t bad = 0, nr = 0;

	for (size_t p = from + (rem + mod - from % mod) % mod; p < to; p += mod, nr++)
		bad += ft_verify(what, map + p * FT_PAGE, p * FT_PAGE, FT_PAGE, &model) != 0;
	if (bad)
		t_log("%s: %zu of %zu pages wrong", what, bad, nr);
	return bad;
}

static size_t check_pages(const char *what, unsigned mod, unsigned rem)
{
	return check_range(what, mod, rem, 0, nr_pages);
}

static void pipe_send(int fd)
{
	t_check(write(fd, "x", 1) == 1, "pipe write: %s", strerror(errno));
}

static void pipe_recv(int fd)
{
	char c;

	t_check(read(fd, &c, 1) == 1, "pipe read: the other process is gone");
}

/*
 * fork and fork_private: the two processes take turns. @shared says whether
 * each sees the other's stores.
 */
static int do_fork(int fd, int shared)
{
	int c2p[2], p2c[2];
	size_t bad = 0;
	pid_t pid;

	if (shared)
		store_pages(1, 0, 1);
	else
		store_pages(2, 0, 1);
	t_sys(pipe(c2p));
	t_sys(pipe(p2c));
	pid = t_sys(fork());
	if (pid == 0) {
		bad += check_pages("child, after the fork", 1, 0);
		store_pages(shared ? 2 : 4, 1, 2);
		pipe_send(c2p[1]);
		pipe_recv(p2c[0]);
		if (shared) {
			expect_pages(2, 0, 3);
			bad += check_pages("child, the parent's stores", 2, 0);
			bad += check_pages("child, its own stores", 2, 1);
		} else {
			bad += check_pages("child, pages only the parent wrote since", 4, 3);
			bad += check_pages("child, the rest", 4, 0);
			bad += check_pages("child, its own stores", 4, 1);
			bad += check_pages("child, the rest", 4, 2);
		}
		_exit(bad ? T_EXIT_FAIL : T_EXIT_PASS);
	}
	pipe_recv(c2p[0]);
	if (shared) {
		expect_pages(2, 1, 2);
		bad += check_pages("parent, the child's stores", 2, 1);
		store_pages(2, 0, 3);
	} else {
		bad += check_pages("parent, pages only the child wrote", 4, 1);
		store_pages(4, 3, 3);
	}
	pipe_send(p2c[1]);
	if (ft_wait(pid, "child")) {
		t_log("the child did not load what it should have");
		bad++;
	}
	bad += check_pages("parent, at the end", 1, 0);
	t_sys(munmap(map, opt.size));
	if (!shared)
		memset(model.gen, 0, model.nr_blocks);
	bad += ft_verify_fd("file after munmap", fd, 0, opt.size, &model);
	return bad ? T_EXIT_FAIL : T_EXIT_PASS;
}

static int do_foreign(int fd, const char *path)
{
	char a_size[32];
	char *argv[] = {
		(char *)"cross_process", (char *)"pwrite", (char *)"--file",
		(char *)path, (char *)"--size", a_size, NULL,
	};
	size_t bad;
	pid_t pid;
	int r;

	bad = check_pages("mapping as created", 1, 0);
	store_pages(4, 0, 1);
	bad += check_range("clean pages, read again", 4, 1, 0, HOT_PAGES);
	snprintf(a_size, sizeof(a_size), "%llu", (unsigned long long)opt.size);
	r = posix_spawn(&pid, ft_self_exe(), NULL, NULL, argv, environ);
	t_check(r == 0, "posix_spawn: %s", strerror(r));
	if (ft_wait(pid, "pwrite process"))
		return T_EXIT_FAIL;
	expect_pages(4, 1, 2);
	for (size_t p = 0; p < nr_pages; p += 4)
		ft_model_set(&model, p * FT_PAGE, FT_BLOCK, 2);
	bad += check_range("pages clean and just read in the mapping, pwrite() by another "
			   "process", 4, 1, 0, HOT_PAGES);
	bad += check_range("pages clean in the mapping, pwrite() by another process", 4, 1,
			   HOT_PAGES, nr_pages);
	bad += check_pages("pages dirty in the mapping, 1 KiB pwrite() by another process",
			   4, 0);
	bad += check_pages("pages nobody wrote", 4, 2);
	bad += check_pages("pages nobody wrote", 4, 3);
	t_sys(munmap(map, opt.size));
	bad += ft_verify_fd("file after munmap", fd, 0, opt.size, &model);
	return bad ? T_EXIT_FAIL : T_EXIT_PASS;
}

/* The other process of `foreign`. */
static int do_pwrite(void)
{
	int fd = open(opt.file, O_WRONLY | O_CLOEXEC);
	uint8_t buf[FT_PAGE];

	t_check(fd >= 0, "open(%s): %s", opt.file, strerror(errno));
	for (size_t p = 0; p < opt.size / FT_PAGE; p++) {
		size_t len = p % 4 == 1 ? FT_PAGE : p % 4 == 0 ? FT_BLOCK : 0;

		if (!len)
			continue;
		ft_fill(buf, FID, 2, p * FT_PAGE, len);
		ft_pwrite_full(fd, buf, len, p * FT_PAGE);
	}
	t_sys(close(fd));
	return T_EXIT_PASS;
}

int main(int argc, char **argv)
{
	const char *path;
	int fd, ret, is_private;

	if (argc >= 2)
		opt.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--mb"))
			opt.size = ft_optul(argc, argv, &i) * T_MIB;
		else if (!strcmp(a, "--size"))
			opt.size = ft_optsize(argc, argv, &i);
		else if (!strcmp(a, "--dir"))
			opt.dir = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--file"))
			opt.file = ft_optarg(argc, argv, &i);
		else
			opt.mode = NULL;
	}
	if (!opt.mode || (strcmp(opt.mode, "fork") && strcmp(opt.mode, "fork_private") &&
			  strcmp(opt.mode, "foreign") && strcmp(opt.mode, "pwrite")))
		t_fail("usage: %s fork|fork_private|foreign [--mb N] [--dir DIR]", argv[0]);
	ft_require_4k_pages();
	t_check(opt.size >= 2 * HOT_PAGES * FT_PAGE, "--mb: at least 8");
	if (!strcmp(opt.mode, "pwrite"))
		return do_pwrite();

	is_private = !strcmp(opt.mode, "fork_private");
	path = ft_path(opt.dir, "cross_process.dat");
	fd = ft_create(path, FID, opt.size);
	nr_pages = opt.size / FT_PAGE;
	ft_model_init(&model, FID, opt.size);
	map = ft_map(opt.size, PROT_READ | PROT_WRITE, is_private ? MAP_PRIVATE : MAP_SHARED,
		     fd, 0);
	if (!strcmp(opt.mode, "foreign"))
		ret = do_foreign(fd, path);
	else
		ret = do_fork(fd, !is_private);
	t_sys(close(fd));
	t_log("cross_process %s: %llu MiB: %s", opt.mode,
	      (unsigned long long)(opt.size / T_MIB), ret ? "FAIL" : "ok");
	return ret;
}
