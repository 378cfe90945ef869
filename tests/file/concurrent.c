/* SPDX-License-Identifier: MIT */
/*
 * concurrent: threads writing one MAP_SHARED mapping and its file at once.
 *
 * A file of --mb MiB (generation 0) is mapped MAP_SHARED read-write; its
 * pages are dealt out by page number mod 4:
 *   0, 1  two threads rewrite their pages through the mapping, --rounds
 *         rounds in random order (whole page or one 1 KiB block, the
 *         round's generation); after a quarter of the writes they pread()
 *         the page back, and every 64th write msync()s one of their pages
 *   2     a thread pwrite()s 1 to 4 blocks of its pages (generations 100
 *         and up) and, half the time, reads them back through the mapping
 *   3     a thread reads these never-written pages through the mapping,
 *         round and round, until the others are done (generation 0)
 * Then msync of the whole mapping, every block checked through the mapping
 * and with pread(), munmap, and the file checked once more. The threads'
 * pages interleave, so each 16 KiB of the mapping holds pages of all four,
 * and the mapping is several times the limit.
 *
 * --share-pages deals out 1 KiB blocks instead: thread N owns block N of
 * every page, and writes (or reads) only that one. Stores, pwrite()s and
 * loads then hit the same pages at once: a page written back, or updated
 * for a pwrite(), while another thread stores into it must lose nothing.
 * Each thread checks only its own blocks until all are done.
 */
#include "filetest.h"

#include <pthread.h>

#define FID 9
#define PWRITE_GEN_BASE 100
#define MSYNC_EVERY 64

static struct {
	uint64_t size;
	unsigned rounds;
	uint64_t seed;
	const char *dir;
	int share;
} opt = { .size = 64 * T_MIB, .rounds = 3, .seed = 1 };

static uint8_t *map;
static int fd;
static size_t nr_pages;
static struct ft_model model;	/* each thread sets only its own pages */
static atomic_ulong nr_bad, nr_writes, nr_pwrites, nr_reads, nr_msyncs;
static atomic_int nr_writers_left = 3;

/* What thread @cls may check of @page: all of it, or its own block. */
static void owned(size_t page, unsigned cls, uint64_t *off, size_t *len)
{
	*off = page * FT_PAGE + (opt.share ? cls * FT_BLOCK : 0);
	*len = opt.share ? FT_BLOCK : FT_PAGE;
}

static size_t check_map_page(size_t page, unsigned cls, const char *what)
{
	uint64_t off;
	size_t len;

	owned(page, cls, &off, &len);
	return ft_verify(what, map + off, off, len, &model);
}

static size_t check_file_page(size_t page, unsigned cls, const char *what)
{
	uint8_t buf[FT_PAGE];
	uint64_t off;
	size_t len;

	owned(page, cls, &off, &len);
	ft_pread_full(fd, buf, len, off);
	return ft_verify(what, buf, off, len, &model);
}

/* The pages of thread @cls in a fresh random order: page % 4 == cls, or
 * all of them with --share-pages. */
static size_t class_pages(uint32_t *pages, unsigned cls, struct t_rng *r)
{
	size_t n = 0;

	ft_shuffle(pages, nr_pages, r);
	for (size_t i = 0; i < nr_pages; i++)
		if (opt.share || pages[i] % 4 == cls)
			pages[n++] = pages[i];
	return n;
}

/* The blocks thread @cls writes in one of its pages. */
static void pick_blocks(struct t_rng *r, unsigned cls, unsigned *blk, unsigned *nr,
			int whole_ok)
{
	if (opt.share) {
		*blk = cls;
		*nr = 1;
		return;
	}
	if (whole_ok && t_rng_below(r, 2)) {
		*blk = 0;
		*nr = FT_BLOCKS_PER_PAGE;
		return;
	}
	*blk = (unsigned)t_rng_below(r, FT_BLOCKS_PER_PAGE);
	*nr = 1 + (unsigned)t_rng_below(r, FT_BLOCKS_PER_PAGE - *blk);
}

static void *map_writer(void *arg)
{
	unsigned cls = (unsigned)(uintptr_t)arg;
	uint32_t *pages = malloc(nr_pages * sizeof(*pages));
	struct t_rng r;
	unsigned long n = 0;

	t_check(pages, "malloc: out of memory");
	t_rng_seed(&r, opt.seed * 31 + cls);
	for (unsigned gen = 1; gen <= opt.rounds; gen++) {
		size_t nr = class_pages(pages, cls, &r);

		for (size_t i = 0; i < nr; i++) {
			size_t page = pages[i];
			unsigned blk, cnt;
			uint64_t off;

			pick_blocks(&r, cls, &blk, &cnt, 1);
			off = page * FT_PAGE + blk * FT_BLOCK;
			ft_fill(map + off, FID, gen, off, cnt * FT_BLOCK);
			ft_model_set(&model, off, cnt * FT_BLOCK, gen);
			n++;
			if (t_rng_below(&r, 4) == 0)
				nr_bad += check_file_page(page, cls, "pread() after a store");
			if (n % MSYNC_EVERY == 0) {
				size_t p = pages[t_rng_below(&r, nr)];

				t_sys(msync(map + p * FT_PAGE, FT_PAGE, MS_SYNC));
				nr_msyncs++;
			}
		}
	}
	nr_writes += n;
	nr_writers_left--;
	free(pages);
	return NULL;
}

static void *file_writer(void *arg)
{
	uint32_t *pages = malloc(nr_pages * sizeof(*pages));
	uint8_t buf[FT_PAGE];
	struct t_rng r;
	unsigned long n = 0;

	t_check(pages, "malloc: out of memory");
	t_rng_seed(&r, opt.seed * 31 + 2);
	for (unsigned gen = 1; gen <= opt.rounds; gen++) {
		size_t nr = class_pages(pages, 2, &r);

		for (size_t i = 0; i < nr; i++) {
			size_t page = pages[i];
			unsigned blk, cnt;
			uint64_t off;

			pick_blocks(&r, 2, &blk, &cnt, 0);
			off = page * FT_PAGE + blk * FT_BLOCK;
			ft_fill(buf, FID, PWRITE_GEN_BASE + gen, off, cnt * FT_BLOCK);
			ft_pwrite_full(fd, buf, cnt * FT_BLOCK, off);
			ft_model_set(&model, off, cnt * FT_BLOCK, PWRITE_GEN_BASE + gen);
			n++;
			if (t_rng_below(&r, 2))
				nr_bad += check_map_page(page, 2, "load after a pwrite()");
		}
	}
	nr_pwrites += n;
	nr_writers_left--;
	free(pages);
	return NULL;
}

static void *reader(void *arg)
{
	struct t_rng r;
	unsigned long n = 0;

	t_rng_seed(&r, opt.seed * 31 + 3);
	while (nr_writers_left > 0) {
		size_t page = opt.share ? t_rng_below(&r, nr_pages) :
			      t_rng_below(&r, nr_pages / 4) * 4 + 3;

		nr_bad += check_map_page(page, 3, opt.share ? "load of a block nobody writes" :
					 "load of a page nobody writes");
		n++;
	}
	nr_reads += n;
	return NULL;
}

int main(int argc, char **argv)
{
	void *(*const fn[4])(void *) = { map_writer, map_writer, file_writer, reader };
	pthread_t tid[4];
	size_t bad_map, bad_file, bad_end;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--mb"))
			opt.size = ft_optul(argc, argv, &i) * T_MIB;
		else if (!strcmp(a, "--rounds"))
			opt.rounds = (unsigned)ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--seed"))
			opt.seed = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--dir"))
			opt.dir = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--share-pages"))
			opt.share = 1;
		else
			t_fail("usage: %s [--mb N] [--rounds N] [--seed N] [--dir DIR] "
			       "[--share-pages]", argv[0]);
	}
	ft_require_4k_pages();
	t_check(opt.size && opt.rounds >= 1 && opt.rounds < PWRITE_GEN_BASE,
		"--mb > 0, --rounds 1..99");

	fd = ft_create(ft_path(opt.dir, "concurrent.dat"), FID, opt.size);
	nr_pages = opt.size / FT_PAGE;
	ft_model_init(&model, FID, opt.size);
	map = ft_map(opt.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	for (int i = 0; i < 4; i++) {
		int r = pthread_create(&tid[i], NULL, fn[i], (void *)(uintptr_t)i);

		t_check(r == 0, "pthread_create: %s", strerror(r));
	}
	for (int i = 0; i < 4; i++)
		pthread_join(tid[i], NULL);

	t_sys(msync(map, opt.size, MS_SYNC));
	bad_map = ft_verify("mapping at the end", map, 0, opt.size, &model);
	bad_file = ft_verify_fd("file (pread) at the end", fd, 0, opt.size, &model);
	t_sys(munmap(map, opt.size));
	bad_end = ft_verify_fd("file (pread) after munmap", fd, 0, opt.size, &model);
	t_sys(close(fd));
	t_log("concurrent%s: %llu MiB, %u rounds: %lu stores, %lu pwrites, %lu msyncs, "
	      "%lu loads of untouched pages: %lu bad during, %zu/%zu/%zu bad blocks "
	      "in the mapping/file/file after munmap", opt.share ? " --share-pages" : "",
	      (unsigned long long)(opt.size / T_MIB), opt.rounds,
	      (unsigned long)nr_writes, (unsigned long)nr_pwrites,
	      (unsigned long)nr_msyncs, (unsigned long)nr_reads,
	      (unsigned long)nr_bad, bad_map, bad_file, bad_end);
	return nr_bad || bad_map || bad_file || bad_end ? T_EXIT_FAIL : T_EXIT_PASS;
}
