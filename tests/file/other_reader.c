/* SPDX-License-Identifier: MIT */
/*
 * other_reader: another process sees what was written through a MAP_SHARED
 * mapping once msync(MS_SYNC) over it has returned, and all of it once the
 * mapping is unmapped.
 *
 * A file of --mb MiB (generation 0) is mapped MAP_SHARED read-write. In
 * each of --iters iterations the program rewrites half of the pages through
 * the mapping in random order (whole pages, or one 1 KiB block), msyncs a
 * random page-aligned range of 1/8 to 1/2 of the mapping, saves its model
 * of that range to a file, and starts a copy of itself with posix_spawn()
 * (`other_reader check ...`) that reads the range with pread() and compares
 * it with the model. While the checker runs, the program keeps writing to
 * pages outside the range. At the end it unmaps the file and a last checker
 * reads all of it. Pages outside a synced range are not checked until the
 * munmap: natively another process sees them at once, but the runtime only
 * promises "no later than msync/munmap/exit".
 */
#include "filetest.h"

#include <spawn.h>

#define FID 4
#define OUTSIDE_GEN_BASE 100

extern char **environ;

static struct {
	int check;		/* this is the checker */
	uint64_t size;
	unsigned iters;
	uint64_t seed;
	const char *dir, *file, *genmap;
	uint64_t from, len;	/* checker: the range */
} opt = { .size = 64 * T_MIB, .iters = 8, .seed = 1 };

static unsigned long nr_writes;

static void write_page(uint8_t *map, struct ft_model *m, struct t_rng *r,
		       size_t page, unsigned gen)
{
	unsigned blk = 0, nr = FT_BLOCKS_PER_PAGE;
	uint64_t off;

	if (t_rng_below(r, 4) == 0) {
		blk = (unsigned)t_rng_below(r, FT_BLOCKS_PER_PAGE);
		nr = 1;
	}
	off = page * FT_PAGE + blk * FT_BLOCK;
	ft_fill(map + off, FID, gen, off, nr * FT_BLOCK);
	ft_model_set(m, off, nr * FT_BLOCK, gen);
	nr_writes++;
}

/* Start a checker of file bytes [from, from+len) against @genmap. */
static pid_t spawn_checker(const char *file, const char *genmap, uint64_t from,
			   uint64_t len, uint64_t size)
{
	char a_from[32], a_len[32], a_size[32];
	char *argv[] = {
		(char *)"other_reader", (char *)"check", (char *)"--file", (char *)file,
		(char *)"--genmap", (char *)genmap, (char *)"--from", a_from,
		(char *)"--len", a_len, (char *)"--size", a_size, NULL,
	};
	pid_t pid;
	int r;

	snprintf(a_from, sizeof(a_from), "%llu", (unsigned long long)from);
	snprintf(a_len, sizeof(a_len), "%llu", (unsigned long long)len);
	snprintf(a_size, sizeof(a_size), "%llu", (unsigned long long)size);
	r = posix_spawn(&pid, ft_self_exe(), NULL, NULL, argv, environ);
	t_check(r == 0, "posix_spawn(checker): %s", strerror(r));
	return pid;
}

static void save_model(const char *genmap, const struct ft_model *m)
{
	int gfd = open(genmap, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	t_check(gfd >= 0, "open(%s): %s", genmap, strerror(errno));
	ft_pwrite_full(gfd, m->gen, m->nr_blocks, 0);
	t_sys(close(gfd));
}

static int do_check(void)
{
	int fd = open(opt.file, O_RDONLY | O_CLOEXEC);
	int gfd = open(opt.genmap, O_RDONLY | O_CLOEXEC);
	struct ft_model m;
	size_t bad;

	t_check(fd >= 0 && gfd >= 0, "checker: open: %s", strerror(errno));
	ft_model_init(&m, FID, opt.size);
	ft_pread_full(gfd, m.gen, m.nr_blocks, 0);
	bad = ft_verify_fd("other process, pread()", fd, opt.from, opt.len, &m);
	if (bad)
		t_log("checker: %zu bad blocks in [%llu, %llu)", bad,
		      (unsigned long long)opt.from,
		      (unsigned long long)(opt.from + opt.len));
	return bad ? T_EXIT_FAIL : T_EXIT_PASS;
}

int main(int argc, char **argv)
{
	const char *path, *genmap;
	size_t nr_pages;
	struct ft_model m;
	struct t_rng rng;
	uint32_t *perm;
	uint8_t *map;
	int fd, failed = 0;
	uint64_t synced = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (i == 1 && !strcmp(a, "check"))
			opt.check = 1;
		else if (!strcmp(a, "--mb"))
			opt.size = ft_optul(argc, argv, &i) * T_MIB;
		else if (!strcmp(a, "--iters"))
			opt.iters = (unsigned)ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--seed"))
			opt.seed = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--dir"))
			opt.dir = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--file"))
			opt.file = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--genmap"))
			opt.genmap = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--from"))
			opt.from = ft_optsize(argc, argv, &i);
		else if (!strcmp(a, "--len"))
			opt.len = ft_optsize(argc, argv, &i);
		else if (!strcmp(a, "--size"))
			opt.size = ft_optsize(argc, argv, &i);
		else
			t_fail("usage: %s [--mb N] [--iters N] [--seed N] [--dir DIR]\n"
			       "       %s check --file F --genmap G --from OFF --len LEN "
			       "--size SIZE", argv[0], argv[0]);
	}
	ft_require_4k_pages();
	if (opt.check)
		return do_check();
	t_check(opt.size && opt.iters >= 1 && opt.iters < OUTSIDE_GEN_BASE,
		"--mb > 0, --iters 1..99");

	path = ft_path(opt.dir, "other_reader.dat");
	genmap = ft_path(opt.dir, "other_reader.genmap");
	fd = ft_create(path, FID, opt.size);
	nr_pages = opt.size / FT_PAGE;
	ft_model_init(&m, FID, opt.size);
	perm = malloc(nr_pages * sizeof(*perm));
	t_check(perm, "malloc: out of memory");
	t_rng_seed(&rng, opt.seed);
	map = ft_map(opt.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	for (unsigned it = 1; it <= opt.iters && !failed; it++) {
		size_t first, nr;
		pid_t pid;

		ft_shuffle(perm, nr_pages, &rng);
		for (size_t i = 0; i < nr_pages / 2; i++)
			write_page(map, &m, &rng, perm[i], it);

		nr = nr_pages / 8 + t_rng_below(&rng, nr_pages * 3 / 8);
		first = t_rng_below(&rng, nr_pages - nr + 1);
		t_sys(msync(map + first * FT_PAGE, nr * FT_PAGE, MS_SYNC));
		save_model(genmap, &m);
		pid = spawn_checker(path, genmap, first * FT_PAGE, nr * FT_PAGE, opt.size);
		synced += nr;

		/* The checker has its snapshot of the model; go on elsewhere. */
		ft_shuffle(perm, nr_pages, &rng);
		for (size_t i = 0; i < nr_pages / 8; i++)
			if (perm[i] < first || perm[i] >= first + nr)
				write_page(map, &m, &rng, perm[i], OUTSIDE_GEN_BASE + it);
		if (ft_wait(pid, "checker after msync")) {
			t_log("iteration %u: the range [%zu, %zu) of pages synced by "
			      "msync(MS_SYNC) is not what another process reads",
			      it, first, first + nr);
			failed = 1;
		}
	}
	if (!failed) {
		size_t bad = ft_verify("mapping at the end", map, 0, opt.size, &m);

		t_sys(munmap(map, opt.size));
		save_model(genmap, &m);
		if (ft_wait(spawn_checker(path, genmap, 0, opt.size, opt.size),
			    "checker after munmap")) {
			t_log("after munmap, another process does not read what was "
			      "written through the mapping");
			failed = 1;
		}
		failed |= bad != 0;
	}
	t_sys(close(fd));
	t_log("other_reader: %llu MiB, %u iterations, %lu writes, %llu MiB synced "
	      "and checked by other processes: %s",
	      (unsigned long long)(opt.size / T_MIB), opt.iters, nr_writes,
	      (unsigned long long)(synced * FT_PAGE / T_MIB), failed ? "FAIL" : "ok");
	return failed ? T_EXIT_FAIL : T_EXIT_PASS;
}
