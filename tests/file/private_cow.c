/* SPDX-License-Identifier: MIT */
/*
 * private_cow: writes through a MAP_PRIVATE file mapping stay private.
 *
 * A file of --mb MiB (generation 0) is mapped MAP_PRIVATE read-write,
 * through a descriptor opened O_RDONLY (allowed for a private mapping; with
 * --close-fd it is closed right after mmap), and written through the mapping in --rounds rounds: each round visits the
 * pages in a fresh random order; a fixed quarter of the pages is never
 * written, of the rest a quarter is left alone, half are rewritten whole
 * and one 1 KiB block of the last quarter is written (the rest of that page
 * must then hold the file's bytes of the moment of the first write). Every
 * 8th write reads a random page back through the mapping, every 64th
 * checks a random page of the file with pread(). At the end every block of
 * the mapping is checked, and the whole file with pread(): it must be
 * exactly what it was (generation 0). With the file several times the
 * limit, dirty private pages go to swap and clean ones are dropped and read
 * from the file again.
 *
 * --pwrite: the program also pwrite()s 1 KiB blocks of the file all along
 * (every 16th write, generations 100 and up). As on Linux, a page never
 * written through the mapping shows the file's current bytes, and a page
 * written through it keeps its private copy whatever the file does. (POSIX
 * leaves the first unspecified; Linux and the runtime's promise - "the
 * program sees exactly the bytes it would see natively" - do not.)
 */
#include "filetest.h"

#define FID 3
#define READ_EVERY 8
#define PWRITE_EVERY 16
#define FILE_CHECK_EVERY 64
#define PWRITE_GEN_BASE 100

static struct {
	uint64_t size;
	unsigned rounds;
	uint64_t seed;
	const char *dir;
	int pwrite, close_fd;
} opt = { .size = 64 * T_MIB, .rounds = 3, .seed = 1 };

static uint8_t *map;
static int fd;
static size_t nr_pages;
static struct ft_model file_m;	/* what the file holds */
static struct ft_model priv_m;	/* private copies, where cowed[] */
static uint8_t *cowed;		/* page written through the mapping */
static unsigned long nr_writes, nr_pwrites, nr_bad;

static int is_never_written(size_t page)
{
	return t_mix64(opt.seed ^ (page * 0x9e37)) % 4 == 0;
}

/* Check mapped page @page: private copy or the file's current bytes. */
static size_t check_page(size_t page, const char *what)
{
	const struct ft_model *m = cowed[page] ? &priv_m : &file_m;

	return ft_verify(what, map + page * FT_PAGE, page * FT_PAGE, FT_PAGE, m);
}

static void private_write(size_t page, unsigned blk, unsigned nr, unsigned gen)
{
	uint64_t off = page * FT_PAGE + blk * FT_BLOCK;

	if (!cowed[page]) { /* the first write copies the file's page */
		memcpy(priv_m.gen + page * FT_BLOCKS_PER_PAGE,
		       file_m.gen + page * FT_BLOCKS_PER_PAGE, FT_BLOCKS_PER_PAGE);
		cowed[page] = 1;
	}
	ft_model_set(&priv_m, off, nr * FT_BLOCK, gen);
	ft_fill(map + off, FID, gen, off, nr * FT_BLOCK);
}

static void file_pwrite(struct t_rng *r, unsigned gen)
{
	uint64_t off = t_rng_below(r, file_m.nr_blocks) * FT_BLOCK;
	uint8_t buf[FT_BLOCK];

	ft_fill(buf, FID, gen, off, FT_BLOCK);
	ft_pwrite_full(fd, buf, FT_BLOCK, off);
	ft_model_set(&file_m, off, FT_BLOCK, gen);
	nr_pwrites++;
}

static void file_check_page(size_t page, const char *what)
{
	uint8_t buf[FT_PAGE];

	ft_pread_full(fd, buf, FT_PAGE, page * FT_PAGE);
	nr_bad += ft_verify(what, buf, page * FT_PAGE, FT_PAGE, &file_m);
}

static void round_run(unsigned gen, uint32_t *perm, struct t_rng *side)
{
	struct t_rng rng;

	t_rng_seed(&rng, opt.seed * 1000003 + gen);
	ft_shuffle(perm, nr_pages, &rng);
	for (size_t i = 0; i < nr_pages; i++) {
		size_t page = perm[i];
		unsigned pick = (unsigned)t_rng_below(&rng, 4);

		if (is_never_written(page) || pick == 0)
			continue;
		if (pick < 3)
			private_write(page, 0, FT_BLOCKS_PER_PAGE, gen);
		else
			private_write(page, (unsigned)t_rng_below(&rng, FT_BLOCKS_PER_PAGE),
				      1, gen);
		nr_writes++;
		if (nr_writes % READ_EVERY == 0)
			nr_bad += check_page(t_rng_below(side, nr_pages),
					     "mapping re-read during the rounds");
		if (opt.pwrite && nr_writes % PWRITE_EVERY == 0)
			file_pwrite(side, PWRITE_GEN_BASE + gen);
		if (nr_writes % FILE_CHECK_EVERY == 0)
			file_check_page(t_rng_below(side, nr_pages),
					"file (pread) during the rounds");
	}
}

int main(int argc, char **argv)
{
	const char *path;
	size_t bad_map = 0, bad_file, nr_cowed = 0;
	struct t_rng side;
	uint32_t *perm;

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
		else if (!strcmp(a, "--pwrite"))
			opt.pwrite = 1;
		else if (!strcmp(a, "--close-fd"))
			opt.close_fd = 1;
		else
			t_fail("usage: %s [--mb N] [--rounds N] [--seed N] [--dir DIR] "
			       "[--pwrite] [--close-fd]", argv[0]);
	}
	ft_require_4k_pages();
	t_check(opt.size && opt.rounds >= 1 && opt.rounds < PWRITE_GEN_BASE,
		"--mb > 0, --rounds 1..99");

	path = ft_path(opt.dir, "private_cow.dat");
	fd = ft_create(path, FID, opt.size);
	nr_pages = opt.size / FT_PAGE;
	ft_model_init(&file_m, FID, opt.size);
	ft_model_init(&priv_m, FID, opt.size);
	cowed = calloc(nr_pages, 1);
	perm = malloc(nr_pages * sizeof(*perm));
	t_check(cowed && perm, "malloc: out of memory");
	t_rng_seed(&side, opt.seed ^ 0x51de);
	{
		int rfd = open(path, O_RDONLY | O_CLOEXEC);

		t_check(rfd >= 0, "open(%s, O_RDONLY): %s", path, strerror(errno));
		map = ft_map(opt.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, rfd, 0);
		if (opt.close_fd)
			t_sys(close(rfd));
	}

	for (unsigned g = 1; g <= opt.rounds; g++)
		round_run(g, perm, &side);

	for (size_t p = 0; p < nr_pages; p++) {
		bad_map += check_page(p, "mapping after the rounds");
		nr_cowed += cowed[p];
	}
	t_sys(munmap(map, opt.size));
	t_check(ft_file_size(fd) == opt.size, "file size changed to %llu",
		(unsigned long long)ft_file_size(fd));
	bad_file = ft_verify_fd("file (pread) after munmap", fd, 0, opt.size, &file_m);
	t_sys(close(fd));
	t_log("private_cow: %llu MiB, %u rounds, %lu private writes (%zu pages "
	      "copied), %lu pwrites: %lu bad during, %zu bad blocks in the mapping, "
	      "%zu in the file", (unsigned long long)(opt.size / T_MIB), opt.rounds,
	      nr_writes, nr_cowed, nr_pwrites, nr_bad, bad_map, bad_file);
	return nr_bad || bad_map || bad_file ? T_EXIT_FAIL : T_EXIT_PASS;
}
