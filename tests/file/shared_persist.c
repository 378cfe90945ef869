/* SPDX-License-Identifier: MIT */
/*
 * shared_persist: what is written through a MAP_SHARED mapping is in the
 * file - after munmap(), after the program ends without msync or munmap,
 * for what was msync'ed after the program is killed with SIGKILL, and all
 * of it after the program dies of SIGTERM (natively the page cache holds
 * every write, whatever becomes of the process).
 *
 * A file of --mb MiB (generation 0) is mapped MAP_SHARED read-write from
 * --offset on and rewritten through the mapping in --rounds rounds. Each
 * round visits the mapped pages in a fresh random order and leaves a
 * quarter of them alone, rewrites half of them whole and writes a single
 * 1 KiB block of the last quarter (so that page must be read from the file
 * before it is partly written), all with the round's generation; every 64th
 * write also checks a random page written before. With the file several
 * times the memory limit, pages are written back, dropped and read again
 * all along. The plan is a pure function of (--seed, --mb, --rounds,
 * --offset), so a later run can replay it to know what the file must hold.
 *
 * Modes:
 *   persist  the rounds; every block checked through the mapping; munmap;
 *            the whole file checked with pread() (the part before --offset
 *            must still be generation 0). --unmap pieces: munmap in random
 *            pieces of 1 to 512 pages, in random order (each must write its
 *            own pages back); --unmap fixed: the same pieces replaced by
 *            MAP_FIXED anonymous mappings (an implicit munmap); --unmap
 *            mremap: first move the mapping with mremap(MREMAP_FIXED) and
 *            check it at the new address. --close-fd: close the descriptor
 *            right after mmap (as many programs do), open the file again
 *            to check it; --unlink: unlink the file right after mmap, check
 *            it through the descriptor
 *   exit     (--file PATH) the rounds and the mapping check, then the
 *            program ends without msync or munmap: --exit-how return (from
 *            main), exit or _exit; the driver then runs `verify`
 *   kill     (--file PATH) the rounds, msync(MS_SYNC) of the mapping; with
 *            --after one eighth of the pages rewritten again (not synced);
 *            then "synced" on stdout, and the mapping is read and checked
 *            over and over until the driver's SIGKILL (or a 300 s timeout).
 *            --no-msync: no msync, "written" on stdout (for SIGTERM: the
 *            program dies of a signal, not by exit, with dirty pages)
 *   verify   (--file PATH) replay the plan, check the file with pread():
 *            exactly, except that with --after a block rewritten after the
 *            msync may hold, word by word, its synced or its new bytes
 *
 * An --offset of 1 GiB or more makes the file sparse: a hole up to
 * --offset (not checked), generation 0 after it; --mb is the whole size.
 *
 * --self-test (persist): flip one byte through the mapping behind the
 * model's back; passes only if both checks report exactly that one block.
 */
#include "filetest.h"

#define FID 1
#define CHECK_EVERY 64
#define KILL_TIMEOUT_S 300
#define SPARSE_FROM (1ULL << 30)	/* an --offset this large: a hole before it */

enum mode { MODE_PERSIST, MODE_EXIT, MODE_KILL, MODE_VERIFY };

struct options {
	enum mode mode;
	uint64_t size;		/* file size */
	uint64_t offset;	/* mapping starts here */
	unsigned rounds;
	uint64_t seed;
	const char *dir, *file, *exit_how, *unmap;
	int after, self_test, no_msync, close_fd, unlink_file;
};

static struct options opt = {
	.size = 64 * T_MIB, .rounds = 3, .seed = 1, .exit_how = "return",
	.unmap = "whole",
};

/* What one run does to its mapping: the plan's writes and the model. */
struct run {
	uint8_t *map;		/* NULL when only replaying the plan */
	size_t nr_pages;	/* mapped pages */
	struct ft_model model;
	uint32_t *perm;
	struct t_rng check_rng;	/* picks pages to re-check; not the plan's */
	unsigned long nr_writes, nr_bad;
};

/* Apply one write of the plan: blocks [blk, blk+nr) of mapped page @page. */
static void plan_write(struct run *r, size_t page, unsigned blk, unsigned nr,
		       unsigned gen)
{
	uint64_t off = opt.offset + page * FT_PAGE + blk * FT_BLOCK;

	ft_model_set(&r->model, off, nr * FT_BLOCK, gen);
	if (!r->map)
		return;
	ft_fill(r->map + (off - opt.offset), FID, gen, off, nr * FT_BLOCK);
	if (++r->nr_writes % CHECK_EVERY == 0) {
		size_t p = t_rng_below(&r->check_rng, r->nr_pages);
		uint64_t poff = opt.offset + p * FT_PAGE;

		r->nr_bad += ft_verify("re-read during the rounds",
				       r->map + p * FT_PAGE, poff, FT_PAGE, &r->model);
	}
}

/* Round @gen of the plan (1..rounds); gen rounds+1 is the --after pass. */
static void plan_round(struct run *r, unsigned gen)
{
	struct t_rng rng;
	int after = gen > opt.rounds;

	t_rng_seed(&rng, opt.seed * 1000003 + gen);
	ft_shuffle(r->perm, r->nr_pages, &rng);
	for (size_t i = 0; i < r->nr_pages; i++) {
		size_t page = r->perm[i];
		unsigned pick = (unsigned)t_rng_below(&rng, after ? 8 : 4);

		if (after ? pick != 0 : pick == 0)
			continue;
		if (after || pick < 3)
			plan_write(r, page, 0, FT_BLOCKS_PER_PAGE, gen);
		else
			plan_write(r, page, (unsigned)t_rng_below(&rng, FT_BLOCKS_PER_PAGE),
				   1, gen);
	}
}

static void run_init(struct run *r, uint8_t *map)
{
	memset(r, 0, sizeof(*r));
	r->map = map;
	r->nr_pages = (opt.size - opt.offset) / FT_PAGE;
	ft_model_init(&r->model, FID, opt.size);
	r->perm = malloc(r->nr_pages * sizeof(*r->perm));
	t_check(r->perm, "malloc: out of memory");
	t_rng_seed(&r->check_rng, opt.seed ^ 0xc4ec);
}

static void run_rounds(struct run *r)
{
	for (unsigned g = 1; g <= opt.rounds; g++)
		plan_round(r, g);
}

static size_t verify_map(struct run *r, const char *what)
{
	return ft_verify(what, r->map, opt.offset, opt.size - opt.offset, &r->model);
}

/* Where the file's data starts: a sparse file has a hole before. */
static uint64_t data_start(void)
{
	return opt.offset >= SPARSE_FROM ? opt.offset : 0;
}

/* Create, map, then the rounds; *ret_fd is -1 with --close-fd. */
static void map_and_write(struct run *r, const char *path, int *ret_fd)
{
	int fd = ft_create_from(path, FID, opt.size, data_start());

	run_init(r, ft_map(opt.size - opt.offset, PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, opt.offset));
	if (opt.close_fd) {
		t_sys(close(fd));
		fd = -1;
	}
	if (opt.unlink_file)
		t_sys(unlink(path));
	run_rounds(r);
	*ret_fd = fd;
}

/* munmap [map, map+len) in random pieces, in random order; @fixed: map
 * anonymous memory over each piece instead, and unmap that at the end. */
static void unmap_pieces(uint8_t *map, size_t len, int fixed)
{
	size_t nr_pages = len / FT_PAGE, nr = 0;
	uint32_t *start = malloc((nr_pages + 1) * sizeof(*start));
	uint32_t *order = malloc((nr_pages + 1) * sizeof(*order));
	struct t_rng rng;

	t_check(start && order, "malloc: out of memory");
	t_rng_seed(&rng, opt.seed ^ 0x91ec);
	for (size_t p = 0; p < nr_pages; p += 1 + t_rng_below(&rng, 512))
		start[nr++] = (uint32_t)p;
	start[nr] = (uint32_t)nr_pages;
	ft_shuffle(order, nr, &rng);
	for (size_t i = 0; i < nr; i++) {
		size_t k = order[i];
		uint8_t *p = map + (size_t)start[k] * FT_PAGE;
		size_t n = (size_t)(start[k + 1] - start[k]) * FT_PAGE;

		if (fixed)
			t_check(mmap(p, n, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p,
				"mmap(MAP_FIXED) over the mapping: %s", strerror(errno));
		else
			t_sys(munmap(p, n));
	}
	if (fixed)
		t_sys(munmap(map, len));
	t_log("shared_persist: %s in %zu pieces", fixed ? "replaced by MAP_FIXED" :
	      "unmapped", nr);
	free(start);
	free(order);
}

/* Move the mapping to a fresh address with mremap(MREMAP_FIXED). */
static uint8_t *move_mapping(uint8_t *map, size_t len)
{
	void *to = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *moved;

	t_check(to != MAP_FAILED, "mmap(reservation): %s", strerror(errno));
	moved = mremap(map, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	t_check(moved == to, "mremap(MREMAP_FIXED): %s", strerror(errno));
	return moved;
}

static int do_persist(void)
{
	const char *path = ft_path(opt.dir, "shared_persist.dat");
	uint64_t planted = 0;
	size_t bad_map, bad_file;
	struct run r;
	int fd;

	map_and_write(&r, path, &fd);
	if (opt.self_test) {
		struct t_rng rng;

		t_rng_seed(&rng, opt.seed ^ 0x5e1f);
		planted = opt.offset + t_rng_below(&rng, opt.size - opt.offset);
		r.map[planted - opt.offset] ^= 0x40;
	}
	bad_map = verify_map(&r, "mapping after the rounds");
	if (!strcmp(opt.unmap, "mremap")) {
		r.map = move_mapping(r.map, opt.size - opt.offset);
		bad_map += verify_map(&r, "mapping moved by mremap");
	}
	if (!strcmp(opt.unmap, "pieces") || !strcmp(opt.unmap, "fixed"))
		unmap_pieces(r.map, opt.size - opt.offset, !strcmp(opt.unmap, "fixed"));
	else
		t_sys(munmap(r.map, opt.size - opt.offset));
	if (fd < 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		t_check(fd >= 0, "open(%s): %s", path, strerror(errno));
	}
	t_check(ft_file_size(fd) == opt.size, "file size %llu after munmap, expected %llu",
		(unsigned long long)ft_file_size(fd), (unsigned long long)opt.size);
	bad_file = ft_verify_fd("file after munmap", fd, data_start(),
				opt.size - data_start(), &r.model);
	t_sys(close(fd));
	t_log("shared_persist: %llu MiB from offset %llu, %u rounds, %lu writes: "
	      "%lu bad re-reads, %zu bad blocks in the mapping, %zu in the file",
	      (unsigned long long)(opt.size / T_MIB), (unsigned long long)opt.offset,
	      opt.rounds, r.nr_writes, r.nr_bad, bad_map, bad_file);
	if (opt.self_test) {
		t_check(r.nr_bad == 0 && bad_map == 1 && bad_file == 1,
			"self-test: the byte flipped at %llu was not reported exactly "
			"once by each check", (unsigned long long)planted);
		t_log("self-test: the flipped byte at %llu was caught",
		      (unsigned long long)planted);
		return T_EXIT_PASS;
	}
	return r.nr_bad || bad_map || bad_file ? T_EXIT_FAIL : T_EXIT_PASS;
}

static int do_exit(void)
{
	size_t bad;
	struct run r;
	int fd;

	map_and_write(&r, opt.file, &fd);
	bad = verify_map(&r, "mapping after the rounds");
	t_log("shared_persist exit: %lu writes, %lu bad re-reads, %zu bad blocks; "
	      "ending by %s with the mapping dirty", r.nr_writes, r.nr_bad, bad,
	      opt.exit_how);
	if (r.nr_bad || bad)
		return T_EXIT_FAIL;
	fflush(NULL);
	if (!strcmp(opt.exit_how, "_exit"))
		_exit(T_EXIT_PASS);
	if (!strcmp(opt.exit_how, "exit"))
		exit(T_EXIT_PASS);
	return T_EXIT_PASS; /* from main */
}

static int do_kill(void)
{
	double t0 = t_now();
	size_t bad;
	struct run r;
	int fd;

	map_and_write(&r, opt.file, &fd);
	if (!opt.no_msync)
		t_sys(msync(r.map, opt.size - opt.offset, MS_SYNC));
	if (opt.after)
		plan_round(&r, opt.rounds + 1);
	bad = verify_map(&r, "mapping before the kill");
	if (r.nr_bad || bad)
		return T_EXIT_FAIL;
	printf(opt.no_msync ? "written\n" : "synced\n");
	fflush(stdout);
	while (t_now() - t0 < KILL_TIMEOUT_S)
		if (verify_map(&r, "mapping while waiting for the kill"))
			return T_EXIT_FAIL;
	t_fail("not killed within %d s", KILL_TIMEOUT_S);
}

/* The file after the kill: blocks the --after pass did not rewrite hold
 * exactly their synced bytes, the others each word old or new. */
static int do_verify(void)
{
	int fd = open(opt.file, O_RDONLY | O_CLOEXEC);
	struct ft_model synced;
	uint8_t *buf = malloc(FT_IO_CHUNK);
	size_t nr_bad = 0, nr_rewritten = 0;
	struct run r;

	t_check(fd >= 0, "open(%s): %s", opt.file, strerror(errno));
	t_check(buf, "malloc: out of memory");
	t_check(ft_file_size(fd) == opt.size, "file size %llu, expected %llu",
		(unsigned long long)ft_file_size(fd), (unsigned long long)opt.size);
	run_init(&r, NULL);
	run_rounds(&r);
	ft_model_init(&synced, FID, opt.size);
	memcpy(synced.gen, r.model.gen, synced.nr_blocks);
	if (opt.after)
		plan_round(&r, opt.rounds + 1);

	for (uint64_t off = data_start(); off < opt.size; off += FT_IO_CHUNK) {
		ft_pread_full(fd, buf, FT_IO_CHUNK, off);
		for (uint64_t b = 0; b < FT_IO_CHUNK; b += FT_BLOCK) {
			size_t blk = (off + b) / FT_BLOCK;
			unsigned old = synced.gen[blk], now = r.model.gen[blk];

			if (old == now) {
				nr_bad += ft_verify("file", buf + b, off + b, FT_BLOCK, &synced);
				continue;
			}
			nr_rewritten++;
			for (uint64_t w = 0; w < FT_BLOCK; w += 8) {
				uint64_t v, i = (off + b + w) / 8;

				memcpy(&v, buf + b + w, 8);
				if (v != ft_word(FID, old, i) && v != ft_word(FID, now, i)) {
					nr_bad++;
					ft_report("file (block rewritten after msync)", buf + b + w,
						  8, FID, off + b + w, now);
					break;
				}
			}
		}
	}
	t_log("shared_persist verify: %llu MiB, %zu blocks rewritten after the "
	      "msync, %zu bad blocks", (unsigned long long)(opt.size / T_MIB),
	      nr_rewritten, nr_bad);
	return nr_bad ? T_EXIT_FAIL : T_EXIT_PASS;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s persist|exit|kill|verify [--mb N] [--offset SIZE] "
		"[--rounds N] [--seed N]\n"
		"       [--dir DIR] [--file PATH] [--exit-how return|exit|_exit] "
		"[--after] [--no-msync]\n"
		"       [--unmap whole|pieces|fixed|mremap] [--close-fd] [--unlink] "
		"[--self-test]\n", argv0);
	exit(T_EXIT_FAIL);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "persist", "exit", "kill", "verify" };
	int have_mode = 0;

	if (argc < 2)
		usage(argv[0]);
	for (int m = 0; m < 4; m++)
		if (!strcmp(argv[1], modes[m])) {
			opt.mode = (enum mode)m;
			have_mode = 1;
		}
	if (!have_mode)
		usage(argv[0]);
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--mb"))
			opt.size = ft_optul(argc, argv, &i) * T_MIB;
		else if (!strcmp(a, "--offset"))
			opt.offset = ft_optsize(argc, argv, &i);
		else if (!strcmp(a, "--rounds"))
			opt.rounds = (unsigned)ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--seed"))
			opt.seed = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--dir"))
			opt.dir = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--file"))
			opt.file = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--exit-how"))
			opt.exit_how = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--after"))
			opt.after = 1;
		else if (!strcmp(a, "--no-msync"))
			opt.no_msync = 1;
		else if (!strcmp(a, "--close-fd"))
			opt.close_fd = 1;
		else if (!strcmp(a, "--unlink"))
			opt.unlink_file = 1;
		else if (!strcmp(a, "--unmap"))
			opt.unmap = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--self-test"))
			opt.self_test = 1;
		else
			usage(argv[0]);
	}
	ft_require_4k_pages();
	t_check(opt.size && opt.offset % FT_PAGE == 0 && opt.offset < opt.size,
		"--offset must be page aligned and inside the file");
	t_check(opt.rounds >= 1 && opt.rounds < 250, "--rounds: 1..249");
	t_check(opt.mode == MODE_PERSIST || opt.file, "%s needs --file", modes[opt.mode]);
	t_check(strcmp(opt.exit_how, "return") == 0 || strcmp(opt.exit_how, "exit") == 0 ||
		strcmp(opt.exit_how, "_exit") == 0, "--exit-how: return, exit or _exit");
	t_check(strcmp(opt.unmap, "whole") == 0 || strcmp(opt.unmap, "pieces") == 0 ||
		strcmp(opt.unmap, "fixed") == 0 || strcmp(opt.unmap, "mremap") == 0,
		"--unmap: whole, pieces, fixed or mremap");
	t_check(!(opt.close_fd && opt.unlink_file), "--close-fd or --unlink, not both");
	t_check(opt.mode == MODE_PERSIST || !(opt.close_fd || opt.unlink_file),
		"--close-fd and --unlink are for persist");
	t_check(opt.offset < SPARSE_FROM || opt.size - opt.offset <= 1024 * T_MIB,
		"a sparse file: at most 1 GiB after --offset");
	t_check(!(opt.after && opt.no_msync), "--after needs the msync");

	switch (opt.mode) {
	case MODE_PERSIST:
		return do_persist();
	case MODE_EXIT:
		return do_exit();
	case MODE_KILL:
		return do_kill();
	case MODE_VERIFY:
		return do_verify();
	}
	return T_EXIT_FAIL;
}
