/* SPDX-License-Identifier: MIT */
/*
 * madvise_file: madvise() on a file mapping with dirty pages keeps Linux's
 * meaning.
 *
 * A file of --mb MiB (generation 0) is mapped read-write, MAP_SHARED (or
 * MAP_PRIVATE with --private); generation 1 is written over the even pages.
 * Then, twice (the second time after writing generation 2 over the pages
 * 3 mod 4), each advice is given on 64 random ranges of 1 to 256 pages and
 * the whole mapping is checked after each:
 *   MADV_DONTNEED  shared: nothing changes (the writes are the file's);
 *                  private: the ranges read the file again (generation 0)
 *   MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED   nothing changes
 *   MADV_FREE      EINVAL (not for file mappings), nothing changes
 * After munmap the file holds the shared writes, or generation 0 (private).
 */
#include "filetest.h"

#define FID 13
#define NR_RANGES 64

static const struct {
	int advice;
	const char *name;
} advices[] = {
	{ MADV_DONTNEED, "MADV_DONTNEED" },
	{ MADV_COLD, "MADV_COLD" },
	{ MADV_PAGEOUT, "MADV_PAGEOUT" },
	{ MADV_WILLNEED, "MADV_WILLNEED" },
	{ MADV_FREE, "MADV_FREE" },
};

static struct {
	uint64_t size;
	const char *dir;
	int private_map;
} opt = { .size = 64 * T_MIB };

int main(int argc, char **argv)
{
	size_t nr_pages, nr_bad = 0;
	struct ft_model m;
	struct t_rng rng;
	uint8_t *map;
	int fd;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--mb"))
			opt.size = ft_optul(argc, argv, &i) * T_MIB;
		else if (!strcmp(a, "--dir"))
			opt.dir = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--private"))
			opt.private_map = 1;
		else
			t_fail("usage: %s [--mb N] [--dir DIR] [--private]", argv[0]);
	}
	ft_require_4k_pages();
	t_check(opt.size >= 2 * T_MIB, "--mb: at least 2");

	fd = ft_create(ft_path(opt.dir, "madvise_file.dat"), FID, opt.size);
	nr_pages = opt.size / FT_PAGE;
	ft_model_init(&m, FID, opt.size);
	map = ft_map(opt.size, PROT_READ | PROT_WRITE,
		     opt.private_map ? MAP_PRIVATE : MAP_SHARED, fd, 0);
	t_rng_seed(&rng, 13);

	for (int pass = 1; pass <= 2; pass++) {
		for (size_t p = pass == 1 ? 0 : 3; p < nr_pages; p += pass == 1 ? 2 : 4) {
			ft_fill(map + p * FT_PAGE, FID, (unsigned)pass, p * FT_PAGE, FT_PAGE);
			ft_model_set(&m, p * FT_PAGE, FT_PAGE, (unsigned)pass);
		}
		for (size_t a = 0; a < sizeof(advices) / sizeof(advices[0]); a++) {
			char what[64];
			size_t bad;

			for (int i = 0; i < NR_RANGES; i++) {
				size_t nr = 1 + t_rng_below(&rng, 256);
				size_t first = t_rng_below(&rng, nr_pages - nr + 1);
				int r = madvise(map + first * FT_PAGE, nr * FT_PAGE,
						advices[a].advice);

				if (advices[a].advice == MADV_FREE) {
					if (r == 0 || errno != EINVAL) {
						t_log("madvise(MADV_FREE) on a file mapping: %s, "
						      "expected EINVAL", r ? strerror(errno) : "0");
						nr_bad++;
					}
					continue;
				}
				t_check(r == 0, "madvise(%s): %s", advices[a].name, strerror(errno));
				if (advices[a].advice == MADV_DONTNEED && opt.private_map)
					ft_model_set(&m, first * FT_PAGE, nr * FT_PAGE, 0);
			}
			snprintf(what, sizeof(what), "pass %d, after %s", pass, advices[a].name);
			bad = ft_verify(what, map, 0, opt.size, &m);
			if (bad)
				t_log("%s: %zu bad blocks", what, bad);
			nr_bad += bad;
		}
	}
	t_sys(munmap(map, opt.size));
	if (opt.private_map)
		memset(m.gen, 0, m.nr_blocks);
	nr_bad += ft_verify_fd("file after munmap", fd, 0, opt.size, &m);
	t_sys(close(fd));
	t_log("madvise_file: %s, %llu MiB: %zu bad", opt.private_map ? "MAP_PRIVATE" :
	      "MAP_SHARED", (unsigned long long)(opt.size / T_MIB), nr_bad);
	return nr_bad ? T_EXIT_FAIL : T_EXIT_PASS;
}
