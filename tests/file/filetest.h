/* SPDX-License-Identifier: MIT */
/*
 * filetest.h - scaffolding shared by the tests/file programs.
 *
 * Every program here maps files with mmap(2) the way ordinary programs do
 * and checks that what it reads, through the mapping and with read(2), is
 * what Linux defines. They know nothing of uswap and pass natively; meson
 * runs each one natively and under the CLI, whose runtime emulates file
 * mappings with anonymous userfaultfd memory: a missing page is read from
 * the file, a clean page is dropped, a dirty MAP_SHARED page is written back
 * before it is dropped, a dirty MAP_PRIVATE page goes to swap. The files are
 * several times the limit, so every page is evicted and read again.
 *
 * Content. Byte OFF of file FID at generation GEN is a pure function:
 * ft_byte(fid, gen, off), one splitmix word per aligned 8 bytes. Generation
 * 0 is what a file is created with. A program keeps what it expects in a
 * compact model, one generation byte per 1 KiB block (struct ft_model: a
 * 128 MiB file costs 128 KiB), and a wrong block is reported with its file
 * offset and with the generation the bytes found belong to: stale data reads
 * as an older generation, a lost page as zeros, a page from another offset
 * or file as none.
 *
 * Files live in a fresh mkdtemp() directory under --dir DIR, else under
 * $TMPDIR (or /tmp), removed at exit with everything in it (--dir /dev/shm
 * puts them on tmpfs).
 *
 * Exit codes: 0 pass, 1 fail, 77 skip (../common.h).
 */
#ifndef USWAP_FILETEST_H
#define USWAP_FILETEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "../preload/helpers.h"

#include <limits.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define FT_PAGE 4096UL
#define FT_BLOCK 1024UL
#define FT_BLOCKS_PER_PAGE (FT_PAGE / FT_BLOCK)
#define FT_IO_CHUNK (1024UL * 1024UL)
#ifndef FT_MAX_REPORTS
#define FT_MAX_REPORTS 12	/* mismatch lines per run (-D to see more) */
#endif
#define FT_MAX_PATHS 8

/* ---- content ------------------------------------------------------------- */

/* Word @widx (file offset / 8) of file @fid at generation @gen. */
static inline uint64_t ft_word(unsigned fid, unsigned gen, uint64_t widx)
{
	return t_mix64(((uint64_t)(fid & 0xff) << 56) ^
		       ((uint64_t)(gen & 0xffff) << 40) ^ widx);
}

static inline uint8_t ft_byte(unsigned fid, unsigned gen, uint64_t off)
{
	return (uint8_t)(ft_word(fid, gen, off >> 3) >> ((off & 7) * 8));
}

/* Write bytes [off, off+len) of (fid, gen) to @dst (any alignment). */
static inline void ft_fill(void *dst, unsigned fid, unsigned gen,
			   uint64_t off, size_t len)
{
	uint8_t *p = dst;

	for (; len && (off & 7); len--)
		*p++ = ft_byte(fid, gen, off++);
	for (; len >= 8; len -= 8, off += 8, p += 8) {
		uint64_t w = ft_word(fid, gen, off >> 3);

		memcpy(p, &w, 8);
	}
	for (; len; len--)
		*p++ = ft_byte(fid, gen, off++);
}

/* Index into @p of the first byte that is not bytes [off, off+len) of
 * (fid, gen), or -1 when all match. */
static inline long ft_mismatch(const void *p, unsigned fid, unsigned gen,
			       uint64_t off, size_t len)
{
	const uint8_t *b = p;
	size_t i = 0;

	for (; i < len && ((off + i) & 7); i++)
		if (b[i] != ft_byte(fid, gen, off + i))
			return (long)i;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, b + i, 8);
		if (w != ft_word(fid, gen, (off + i) >> 3))
			break; /* find the byte below */
	}
	for (; i < len; i++)
		if (b[i] != ft_byte(fid, gen, off + i))
			return (long)i;
	return -1;
}

/* Whose bytes are these? Names the generation of @fid whose bytes at @off
 * are @found[0..8) (or fewer, up to @avail): every 16-bit generation is
 * tried, which costs a few ms and happens at most FT_MAX_REPORTS times. */
static inline void ft_whose(char *out, size_t size, const uint8_t *found,
			    size_t avail, unsigned fid, uint64_t off)
{
	size_t n = avail < 8 ? avail : 8;
	int zeros = 1;

	for (size_t i = 0; i < n; i++)
		zeros &= found[i] == 0;
	for (unsigned g = 0; g < 0x10000; g++) {
		size_t i = 0;

		while (i < n && found[i] == ft_byte(fid, g, off + i))
			i++;
		if (i == n) {
			snprintf(out, size, "generation %u's bytes", g);
			return;
		}
	}
	snprintf(out, size, zeros ? "zeros" : "bytes of no generation of this offset");
}

static atomic_ulong ft_nr_reports;

/* Report one wrong range: @found points at the first wrong byte, which is
 * at file offset @off and should be generation @gen of @fid. */
static inline void ft_report(const char *what, const uint8_t *found, size_t avail,
			     unsigned fid, uint64_t off, unsigned gen)
{
	char whose[80];

	if (atomic_fetch_add(&ft_nr_reports, 1) >= FT_MAX_REPORTS)
		return;
	ft_whose(whose, sizeof(whose), found, avail, fid, off);
	t_log("%s: file offset %llu (page %llu +%llu): byte %#04x, expected %#04x "
	      "of generation %u; found %s",
	      what, (unsigned long long)off, (unsigned long long)(off / FT_PAGE),
	      (unsigned long long)(off % FT_PAGE), found[0], ft_byte(fid, gen, off),
	      gen, whose);
}

/* ---- model: one generation per 1 KiB block ------------------------------ */

struct ft_model {
	unsigned fid;
	size_t nr_blocks;
	uint8_t *gen;	/* generation of each block; malloc'd */
};

static inline void ft_model_init(struct ft_model *m, unsigned fid, uint64_t size)
{
	t_check(size % FT_BLOCK == 0, "model of %llu bytes: not whole blocks",
		(unsigned long long)size);
	m->fid = fid;
	m->nr_blocks = size / FT_BLOCK;
	m->gen = calloc(m->nr_blocks, 1);
	t_check(m->gen, "calloc(%zu): out of memory", m->nr_blocks);
}

static inline void ft_model_free(struct ft_model *m)
{
	free(m->gen);
	m->gen = NULL;
}

/* Set blocks of [off, off+len) to @gen; both multiples of FT_BLOCK. */
static inline void ft_model_set(struct ft_model *m, uint64_t off, uint64_t len,
				unsigned gen)
{
	memset(m->gen + off / FT_BLOCK, (int)gen, len / FT_BLOCK);
}

/* Write blocks [off, off+len) of the model's current generations into @dst
 * (the bytes the file should hold there). */
static inline void ft_model_fill(const struct ft_model *m, void *dst,
				 uint64_t off, uint64_t len)
{
	for (uint64_t b = 0; b < len; b += FT_BLOCK)
		ft_fill((uint8_t *)dst + b, m->fid, m->gen[(off + b) / FT_BLOCK],
			off + b, FT_BLOCK);
}

/*
 * Check @p, holding file bytes [off, off+len) (multiples of FT_BLOCK),
 * against the model; report the first wrong byte of each wrong block (up to
 * FT_MAX_REPORTS in all). Returns the number of wrong blocks.
 */
static inline size_t ft_verify(const char *what, const void *p, uint64_t off,
			       uint64_t len, const struct ft_model *m)
{
	const uint8_t *b = p;
	size_t nr_bad = 0;

	for (uint64_t i = 0; i < len; i += FT_BLOCK) {
		unsigned g = m->gen[(off + i) / FT_BLOCK];
		long r = ft_mismatch(b + i, m->fid, g, off + i, FT_BLOCK);

		if (r >= 0) {
			nr_bad++;
			ft_report(what, b + i + r, FT_BLOCK - (size_t)r, m->fid,
				  off + i + (uint64_t)r, g);
		}
	}
	return nr_bad;
}

/* ---- file I/O ------------------------------------------------------------ */

static inline void ft_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		t_check(n >= 0, "pread(%zu at %llu): %s", len,
			(unsigned long long)off, strerror(errno));
		t_check(n > 0, "pread(%zu at %llu): end of file", len,
			(unsigned long long)off);
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
}

static inline void ft_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		t_check(n > 0, "pwrite(%zu at %llu): %s", len,
			(unsigned long long)off, n < 0 ? strerror(errno) : "wrote 0");
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
}

/* Create (or truncate) @path of @size bytes holding generation 0 of @fid
 * from @from on (a hole before: zeros); returns a read-write descriptor. */
static inline int ft_create_from(const char *path, unsigned fid, uint64_t size,
				 uint64_t from)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint8_t *buf = malloc(FT_IO_CHUNK);

	t_check(fd >= 0, "open(%s): %s", path, strerror(errno));
	t_check(buf, "malloc: out of memory");
	t_sys(ftruncate(fd, (off_t)size));
	for (uint64_t off = from; off < size; off += FT_IO_CHUNK) {
		size_t n = size - off < FT_IO_CHUNK ? size - off : FT_IO_CHUNK;

		ft_fill(buf, fid, 0, off, n);
		ft_pwrite_full(fd, buf, n, off);
	}
	free(buf);
	return fd;
}

/* Create (or truncate) @path holding generation 0 of @fid, @size bytes. */
static inline int ft_create(const char *path, unsigned fid, uint64_t size)
{
	return ft_create_from(path, fid, size, 0);
}

static inline uint64_t ft_file_size(int fd)
{
	struct stat st;

	t_sys(fstat(fd, &st));
	return (uint64_t)st.st_size;
}

/* Check file bytes [off, off+len) against the model with pread(). */
static inline size_t ft_verify_fd(const char *what, int fd, uint64_t off,
				  uint64_t len, const struct ft_model *m)
{
	uint8_t *buf = malloc(FT_IO_CHUNK);
	size_t nr_bad = 0;

	t_check(buf, "malloc: out of memory");
	for (uint64_t o = 0; o < len; o += FT_IO_CHUNK) {
		size_t n = len - o < FT_IO_CHUNK ? len - o : FT_IO_CHUNK;

		ft_pread_full(fd, buf, n, off + o);
		nr_bad += ft_verify(what, buf, off + o, n, m);
	}
	free(buf);
	return nr_bad;
}

/* mmap that fails the test when it fails. */
static inline uint8_t *ft_map(size_t len, int prot, int flags, int fd, uint64_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, (off_t)off);

	t_check(p != MAP_FAILED, "mmap(%zu, %s, fd, %llu): %s", len,
		flags & MAP_SHARED ? "MAP_SHARED" : "MAP_PRIVATE",
		(unsigned long long)off, strerror(errno));
	return p;
}

/* ---- working directory ---------------------------------------------------- */

static char ft_dir[PATH_MAX];
static char ft_paths[FT_MAX_PATHS][PATH_MAX];
static int ft_nr_paths;
static pid_t ft_owner;	/* only the process that made the dir removes it */

static void ft_cleanup(void)
{
	if (getpid() != ft_owner)
		return;
	for (int i = 0; i < ft_nr_paths; i++)
		unlink(ft_paths[i]);
	if (ft_dir[0])
		rmdir(ft_dir);
}

/* Path of a scratch file @name in the working directory, a fresh temp dir
 * under @dir (else $TMPDIR, else /tmp); it is removed at exit. */
static inline const char *ft_path(const char *dir, const char *name)
{
	if (!ft_dir[0]) {
		if (!dir)
			dir = getenv("TMPDIR");
		t_check(snprintf(ft_dir, sizeof(ft_dir), "%s/uswap-file-XXXXXX",
				 dir && *dir ? dir : "/tmp") < PATH_MAX, "--dir too long");
		t_check(mkdtemp(ft_dir), "mkdtemp(%s): %s", ft_dir, strerror(errno));
		ft_owner = getpid();
		atexit(ft_cleanup);
	}
	t_check(ft_nr_paths < FT_MAX_PATHS, "too many scratch files");
	t_check(snprintf(ft_paths[ft_nr_paths], PATH_MAX, "%s/%s", ft_dir, name) < PATH_MAX,
		"path too long in %s", ft_dir);
	return ft_paths[ft_nr_paths++];
}

/* ---- misc ------------------------------------------------------------------ */

static inline void ft_require_4k_pages(void)
{
	if (sysconf(_SC_PAGESIZE) != (long)FT_PAGE)
		t_skip("page size %ld, the tests assume 4096", sysconf(_SC_PAGESIZE));
}

/* Value of option argv[*i] (advancing *i); fails when it is missing. */
static inline const char *ft_optarg(int argc, char **argv, int *i)
{
	t_check(*i + 1 < argc, "%s needs a value", argv[*i]);
	return argv[++*i];
}

static inline uint64_t ft_optsize(int argc, char **argv, int *i)
{
	const char *name = argv[*i], *v = ft_optarg(argc, argv, i);
	uint64_t n = t_parse_size(v);

	t_check(n || !strcmp(v, "0"), "%s: bad size %s", name, v);
	return n;
}

static inline unsigned long ft_optul(int argc, char **argv, int *i)
{
	const char *name = argv[*i], *v = ft_optarg(argc, argv, i);
	char *end;
	unsigned long n = strtoul(v, &end, 0);

	t_check(*v && !*end, "%s: bad number %s", name, v);
	return n;
}

/* Fisher-Yates: @perm becomes a random order of 0..n-1. */
static inline void ft_shuffle(uint32_t *perm, size_t n, struct t_rng *r)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (size_t i = n; i > 1; i--) {
		size_t j = t_rng_below(r, i);
		uint32_t t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

/* Path of the running executable, to start another copy as a checker. */
static inline const char *ft_self_exe(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	t_check(n > 0, "readlink(/proc/self/exe): %s", strerror(errno));
	path[n] = 0;
	return path;
}

/* waitpid() and describe: 0 when the child exited 0. */
static inline int ft_wait(pid_t pid, const char *what)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		t_check(errno == EINTR, "waitpid(%s): %s", what, strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		t_log("%s: exit %d", what, WEXITSTATUS(status));
	else
		t_log("%s: killed by signal %d", what, WTERMSIG(status));
	return -1;
}

#endif /* USWAP_FILETEST_H */
