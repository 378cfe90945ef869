/* SPDX-License-Identifier: MIT */
/*
 * read_only: a read-only file mapping several times the memory limit reads
 * the file's bytes, pass after pass.
 *
 * A file of --mb MiB (generation 0) is opened again O_RDONLY and mapped
 * PROT_READ, MAP_SHARED (or MAP_PRIVATE with --private), from --offset on;
 * with --close-fd the descriptor is closed right after mmap.
 * Three passes read every page - in order, in reverse, in random order -
 * and check it byte for byte against the generator; between the passes
 * MADV_DONTNEED drops every other MiB (for a file mapping, the next read
 * comes from the file again). Each pass also folds every page into a
 * checksum, printed at the end as "checksum <hex> pages <n>": the driver
 * compares the line of a native run with that of a run under uswap.
 */
#include "filetest.h"

#define FID 6

static struct {
	uint64_t size, offset;
	uint64_t seed;
	const char *dir;
	int private_map, close_fd;
} opt = { .size = 64 * T_MIB, .seed = 1 };

int main(int argc, char **argv)
{
	static const char *const pass_names[] = { "forward", "backward", "random" };
	size_t nr_pages, nr_bad = 0;
	uint64_t sum = 0, len;
	uint32_t *perm;
	struct t_rng rng;
	uint8_t *map;
	int fd, rfd;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--mb"))
			opt.size = ft_optul(argc, argv, &i) * T_MIB;
		else if (!strcmp(a, "--offset"))
			opt.offset = ft_optsize(argc, argv, &i);
		else if (!strcmp(a, "--seed"))
			opt.seed = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--dir"))
			opt.dir = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--private"))
			opt.private_map = 1;
		else if (!strcmp(a, "--close-fd"))
			opt.close_fd = 1;
		else
			t_fail("usage: %s [--mb N] [--offset SIZE] [--seed N] [--dir DIR] "
			       "[--private] [--close-fd]", argv[0]);
	}
	ft_require_4k_pages();
	t_check(opt.offset % FT_PAGE == 0 && opt.offset < opt.size,
		"--offset must be page aligned and inside the file");

	{
		const char *path = ft_path(opt.dir, "read_only.dat");

		fd = ft_create(path, FID, opt.size);
		rfd = open(path, O_RDONLY | O_CLOEXEC);
		t_check(rfd >= 0, "open(%s, O_RDONLY): %s", path, strerror(errno));
		t_sys(close(fd));
	}
	len = opt.size - opt.offset;
	nr_pages = len / FT_PAGE;
	map = ft_map(len, PROT_READ, opt.private_map ? MAP_PRIVATE : MAP_SHARED, rfd,
		     opt.offset);
	if (opt.close_fd)
		t_sys(close(rfd));
	perm = malloc(nr_pages * sizeof(*perm));
	t_check(perm, "malloc: out of memory");
	t_rng_seed(&rng, opt.seed);

	for (int pass = 0; pass < 3; pass++) {
		size_t bad = 0;

		ft_shuffle(perm, nr_pages, &rng);
		for (size_t i = 0; i < nr_pages; i++) {
			size_t p = pass == 0 ? i : pass == 1 ? nr_pages - 1 - i : perm[i];
			uint64_t off = opt.offset + p * FT_PAGE;
			const uint8_t *page = map + p * FT_PAGE;
			long r = ft_mismatch(page, FID, 0, off, FT_PAGE);

			if (r >= 0) {
				bad++;
				ft_report(pass_names[pass], page + r, FT_PAGE - (size_t)r, FID,
					  off + (uint64_t)r, 0);
			}
			sum += t_mix64(t_checksum((const uint64_t *)page,
						  FT_PAGE / 8) ^ off);
		}
		t_log("read_only: pass %d (%s): %zu bad pages", pass + 1, pass_names[pass],
		      bad);
		nr_bad += bad;
		for (uint64_t o = 0; o + T_MIB <= len; o += 2 * T_MIB)
			t_sys(madvise(map + o, T_MIB, MADV_DONTNEED));
	}
	t_sys(munmap(map, len));
	if (!opt.close_fd)
		t_sys(close(rfd));
	printf("checksum %016llx pages %zu\n", (unsigned long long)sum, nr_pages);
	t_log("read_only: %llu MiB %s from offset %llu, 3 passes: %zu bad pages",
	      (unsigned long long)(opt.size / T_MIB),
	      opt.private_map ? "MAP_PRIVATE" : "MAP_SHARED",
	      (unsigned long long)opt.offset, nr_bad);
	return nr_bad ? T_EXIT_FAIL : T_EXIT_PASS;
}
