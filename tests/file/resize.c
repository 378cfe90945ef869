/* SPDX-License-Identifier: MIT */
/*
 * resize: a MAP_SHARED mapping of a file whose size changes under it.
 *
 * The mapping is always --mb MiB (several times the limit); the file is
 * shorter at times. No page wholly past EOF is ever touched (that is
 * SIGBUS); sizes are not page multiples, so the page that holds EOF is
 * partial.
 *
 *   grow     the file starts at 4 MiB + 1234 bytes and grows to --mb MiB in
 *            steps of about 4 MiB, alternately by ftruncate() (the new
 *            bytes read zeros through the mapping, then are written through
 *            it) and by pwrite() past EOF (the mapping reads the new bytes);
 *            after each step all of [0, EOF) is checked through the mapping
 *   shrink   generation 1 is written over the whole file through the
 *            mapping, then ftruncate() cuts it to half - 1234 bytes: up to
 *            EOF the mapping still reads generation 1, and the rest of the
 *            page holding EOF reads zeros (Linux zeroes it in the page
 *            cache); then generation 2 is written over [0, EOF) through the
 *            mapping; after munmap the file must have kept its new size (no
 *            page past EOF written back) and hold generation 2
 *   regrow   as shrink up to the cut, then ftruncate() back to --mb MiB:
 *            what was cut reads zeros, through the mapping and in the file
 *   hole     generation 1 over the whole file, then fallocate() punches an
 *            unaligned hole in its middle third (FALLOC_FL_PUNCH_HOLE) and
 *            zeroes an unaligned range of its last third (ZERO_RANGE): both
 *            read zeros through the mapping; generation 2 is written over
 *            the first half of the hole; after munmap the file holds the
 *            same (skipped where the file system cannot punch holes)
 *
 * Under a limit above --mb the pages stay resident through the cut, so
 * the cut must reach them there (the preload hooks ftruncate, truncate
 * and fallocate); under a lower one most are evicted and read back.
 *
 * Each check reports the first wrong byte with its offset and, where the
 * bytes are of some generation, which one.
 */
#include "filetest.h"

#include <linux/falloc.h>
#include <stdbool.h>

#define FID 12
#define MAX_SEGS 64
#define GEN_ZERO (-1)

struct seg {
	uint64_t start, end;
	int gen;		/* GEN_ZERO: zeros */
};

static struct {
	const char *mode;
	uint64_t size;
	const char *dir;
} opt = { .size = 64 * T_MIB };

static struct seg segs[MAX_SEGS];	/* what [0, EOF) holds, in order */
static int nr_segs;
static unsigned long nr_bad;

/* [start, end) now holds @gen (GEN_ZERO: reads zeros); the segments it
 * overlaps are cut around it, and the list stays in order. */
static void seg_set(uint64_t start, uint64_t end, int gen)
{
	struct seg keep[MAX_SEGS];
	int n = 0;
	bool put = false;

	for (int i = 0; i < nr_segs; i++) {
		struct seg g = segs[i];

		t_check(n <= MAX_SEGS - 4, "too many segments");
		if (g.start < start)
			keep[n++] = (struct seg){ g.start, g.end < start ? g.end : start, g.gen };
		if (!put && g.end > start) {
			keep[n++] = (struct seg){ start, end, gen };
			put = true;
		}
		if (g.end > end)
			keep[n++] = (struct seg){ g.start > end ? g.start : end, g.end, g.gen };
	}
	if (!put)
		keep[n++] = (struct seg){ start, end, gen };
	memcpy(segs, keep, (size_t)n * sizeof(keep[0]));
	nr_segs = n;
}

/* The bytes [off, off+len) should hold, zeros where no segment is. */
static void expected(uint8_t *dst, uint64_t off, size_t len)
{
	memset(dst, 0, len);
	for (int i = 0; i < nr_segs; i++) {
		uint64_t a = segs[i].start > off ? segs[i].start : off;
		uint64_t b = segs[i].end < off + len ? segs[i].end : off + len;

		if (a < b && segs[i].gen != GEN_ZERO)
			ft_fill(dst + (a - off), FID, (unsigned)segs[i].gen, a, b - a);
	}
}

static void compare(const char *what, const uint8_t *got, uint64_t off, size_t len)
{
	static uint8_t want[FT_IO_CHUNK];
	char whose[80];
	size_t i;

	expected(want, off, len);
	if (!memcmp(got, want, len))
		return;
	for (i = 0; got[i] == want[i]; i++)
		;
	nr_bad++;
	if (atomic_fetch_add(&ft_nr_reports, 1) >= FT_MAX_REPORTS)
		return;
	ft_whose(whose, sizeof(whose), got + i, len - i, FID, off + i);
	t_log("%s: offset %llu (page %llu +%llu): %#04x, expected %#04x; found %s",
	      what, (unsigned long long)(off + i), (unsigned long long)((off + i) / FT_PAGE),
	      (unsigned long long)((off + i) % FT_PAGE), got[i], want[i], whose);
}

/* [0, eof) and the rest of its last page, through the mapping. */
static void check_map(const char *what, const uint8_t *map, uint64_t eof)
{
	uint64_t end = (eof + FT_PAGE - 1) & ~(FT_PAGE - 1);

	for (uint64_t off = 0; off < end; off += FT_IO_CHUNK)
		compare(what, map + off, off, end - off < FT_IO_CHUNK ? end - off : FT_IO_CHUNK);
}

static void check_file(const char *what, int fd, uint64_t eof)
{
	uint8_t *buf = malloc(FT_IO_CHUNK);

	t_check(buf, "malloc: out of memory");
	if (ft_file_size(fd) != eof) {
		nr_bad++;
		t_log("%s: file size %llu, expected %llu", what,
		      (unsigned long long)ft_file_size(fd), (unsigned long long)eof);
	}
	for (uint64_t off = 0; off < eof; off += FT_IO_CHUNK) {
		size_t n = eof - off < FT_IO_CHUNK ? eof - off : FT_IO_CHUNK;

		ft_pread_full(fd, buf, n, off);
		compare(what, buf, off, n);
	}
	free(buf);
}

static void store(uint8_t *map, uint64_t start, uint64_t end, int gen)
{
	ft_fill(map + start, FID, (unsigned)gen, start, end - start);
	seg_set(start, end, gen);
}

static void do_grow(int fd, uint8_t *map, uint64_t eof)
{
	int gen = 1;

	while (eof < opt.size) {
		uint64_t next = eof + 4 * T_MIB + 777;
		char what[96];

		next = next > opt.size ? opt.size : next;
		if (gen % 2) {
			t_sys(ftruncate(fd, (off_t)next));
			seg_set(eof, next, GEN_ZERO);
			snprintf(what, sizeof(what), "after ftruncate() to %llu",
				 (unsigned long long)next);
			check_map(what, map, next);
			store(map, eof, next, gen);
		} else {
			uint8_t *buf = malloc(next - eof);

			t_check(buf, "malloc: out of memory");
			ft_fill(buf, FID, (unsigned)gen, eof, next - eof);
			ft_pwrite_full(fd, buf, next - eof, eof);
			free(buf);
			seg_set(eof, next, gen);
		}
		snprintf(what, sizeof(what), "mapping after growing to %llu by %s",
			 (unsigned long long)next, gen % 2 ? "ftruncate" : "pwrite");
		check_map(what, map, next);
		eof = next;
		gen++;
	}
	t_sys(munmap(map, opt.size));
	check_file("file after munmap", fd, eof);
}

static void do_shrink(int fd, uint8_t *map, int regrow)
{
	uint64_t cut = opt.size / 2 - 1234;

	store(map, 0, opt.size, 1);
	check_map("mapping before the cut", map, opt.size);
	t_sys(ftruncate(fd, (off_t)cut));
	seg_set(cut, opt.size, GEN_ZERO);
	check_map("mapping after ftruncate() cut the file (up to EOF, and zeros "
		  "after it in its page)", map, cut);
	check_file("file after the cut", fd, cut);
	if (regrow) {
		t_sys(ftruncate(fd, (off_t)opt.size));
		check_map("mapping after ftruncate() grew the file back (the cut part "
			  "reads zeros)", map, opt.size);
		t_sys(munmap(map, opt.size));
		check_file("file after munmap", fd, opt.size);
		return;
	}
	store(map, 0, cut, 2);
	check_map("mapping after the writes up to the new EOF", map, cut);
	t_sys(munmap(map, opt.size));
	check_file("file after munmap", fd, cut);
}

/* fallocate(mode) over [lo, hi), which then reads zeros; false if the
 * file system cannot. */
static bool zero_range(int fd, int mode, uint64_t lo, uint64_t hi)
{
	if (fallocate(fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)lo, (off_t)(hi - lo))) {
		t_check(errno == EOPNOTSUPP || errno == ENOSYS,
			"fallocate(%#x): %s", mode, strerror(errno));
		t_log("fallocate(%#x): not supported here: skipped", mode);
		return false;
	}
	seg_set(lo, hi, GEN_ZERO);
	return true;
}

static void do_hole(int fd, uint8_t *map)
{
	uint64_t lo = opt.size / 3 + 777, hi = 2 * opt.size / 3 - 555;
	uint64_t zlo = 2 * opt.size / 3 + 4096 * 5 + 99, zhi = opt.size - 3 * 4096 - 1;

	store(map, 0, opt.size, 1);
	check_map("mapping before the holes", map, opt.size);
	if (zero_range(fd, FALLOC_FL_PUNCH_HOLE, lo, hi))
		check_map("mapping after fallocate(PUNCH_HOLE)", map, opt.size);
	if (zero_range(fd, FALLOC_FL_ZERO_RANGE, zlo, zhi))
		check_map("mapping after fallocate(ZERO_RANGE)", map, opt.size);
	store(map, lo, lo + (hi - lo) / 2, 2);
	check_map("mapping after writing into the hole", map, opt.size);
	t_sys(munmap(map, opt.size));
	check_file("file after munmap", fd, opt.size);
}

int main(int argc, char **argv)
{
	uint64_t start = 4 * T_MIB + 1234;
	uint8_t *map;
	int fd;

	if (argc >= 2)
		opt.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--mb"))
			opt.size = ft_optul(argc, argv, &i) * T_MIB;
		else if (!strcmp(a, "--dir"))
			opt.dir = ft_optarg(argc, argv, &i);
		else
			opt.mode = NULL;
	}
	if (!opt.mode || (strcmp(opt.mode, "grow") && strcmp(opt.mode, "shrink") &&
			  strcmp(opt.mode, "regrow") && strcmp(opt.mode, "hole")))
		t_fail("usage: %s grow|shrink|regrow|hole [--mb N] [--dir DIR]", argv[0]);
	ft_require_4k_pages();
	t_check(opt.size >= 16 * T_MIB, "--mb: at least 16");

	fd = ft_create(ft_path(opt.dir, "resize.dat"), FID, strcmp(opt.mode, "grow") ?
		       opt.size : start);
	seg_set(0, strcmp(opt.mode, "grow") ? opt.size : start, 0);
	map = ft_map(opt.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!strcmp(opt.mode, "grow"))
		do_grow(fd, map, start);
	else if (!strcmp(opt.mode, "hole"))
		do_hole(fd, map);
	else
		do_shrink(fd, map, !strcmp(opt.mode, "regrow"));
	t_sys(close(fd));
	t_log("resize %s: %llu MiB mapping: %lu bad", opt.mode,
	      (unsigned long long)(opt.size / T_MIB), nr_bad);
	return nr_bad ? T_EXIT_FAIL : T_EXIT_PASS;
}
