/* SPDX-License-Identifier: MIT */
/*
 * eof_tail: the partial page at the end of a file mapping.
 *
 * A file of --mb MiB + --tail bytes (not a multiple of the page size) is
 * mapped read-write, MAP_SHARED (or MAP_PRIVATE with --private), with the
 * length rounded up to whole pages - no page lies wholly past the end of
 * the file, which would be SIGBUS. As mmap(2) says, the rest of the last
 * page reads as zeros, and what is written there is not written to the
 * file. The program checks, with the mapping several times the limit so the
 * last page is evicted between the steps:
 *   - the whole mapping reads the file; the tail past EOF reads zeros,
 *     before and after the last page was evicted
 *   - after generation 1 is written over [0, EOF) and generation 2 over
 *     the tail, the mapping reads generation 1 up to EOF; past EOF a
 *     private mapping reads its own writes, a shared one each byte either
 *     its write or zero (Linux zeroes the tail of a page cache page when it
 *     writes the page back, so both happen natively)
 *   - after msync (shared) and munmap the file has its old size, pread()
 *     stops at EOF and reads generation 1 (shared) or 0 (private) up to it
 *   - a new read-only mapping reads the same up to EOF, and past it zeros
 *     (private) or either (shared)
 * and the same for a 100-byte file mapped as one page.
 */
#include "filetest.h"

#define FID_BIG 7
#define FID_SMALL 8

static struct {
	uint64_t mb, tail;
	const char *dir;
	int private_map;
} opt = { .mb = 64, .tail = 1234 };

static unsigned long nr_bad;

/* [0, eof) must be @gen; the tail [eof, len) zeros (tail_gen < 0), the
 * bytes of tail_gen, or (either) each byte zero or tail_gen's. */
static void check_mapping(const char *what, const uint8_t *p, unsigned fid,
			  uint64_t eof, uint64_t len, unsigned gen, int tail_gen,
			  int either)
{
	uint64_t last = eof & ~(FT_PAGE - 1);
	long r;

	/* Whole pages, then the last page: the full check is the eviction. */
	for (uint64_t off = 0; off < last; off += FT_PAGE) {
		r = ft_mismatch(p + off, fid, gen, off, FT_PAGE);
		if (r >= 0) {
			nr_bad++;
			ft_report(what, p + off + r, FT_PAGE - (size_t)r, fid,
				  off + (uint64_t)r, gen);
		}
	}
	r = ft_mismatch(p + last, fid, gen, last, eof - last);
	if (r >= 0) {
		nr_bad++;
		ft_report(what, p + last + r, eof - last - (size_t)r, fid,
			  last + (uint64_t)r, gen);
	}
	for (uint64_t off = eof; off < len; off++) {
		uint8_t want = tail_gen < 0 ? 0 : ft_byte(fid, (unsigned)tail_gen, off);

		if (p[off] == want || (either && p[off] == 0))
			continue;
		nr_bad++;
		if (atomic_fetch_add(&ft_nr_reports, 1) < FT_MAX_REPORTS)
			t_log("%s: byte %llu, %llu past EOF: %#04x, expected %#04x%s",
			      what, (unsigned long long)off,
			      (unsigned long long)(off - eof), p[off], want,
			      either ? " or 0" : "");
		break;
	}
}

static void check_file(const char *what, int fd, unsigned fid, uint64_t eof,
		       unsigned gen)
{
	uint8_t *buf = malloc(FT_IO_CHUNK);
	uint8_t extra;

	t_check(buf, "malloc: out of memory");
	t_check(ft_file_size(fd) == eof, "%s: file size %llu, expected %llu", what,
		(unsigned long long)ft_file_size(fd), (unsigned long long)eof);
	for (uint64_t off = 0; off < eof; off += FT_IO_CHUNK) {
		size_t n = eof - off < FT_IO_CHUNK ? eof - off : FT_IO_CHUNK;
		long r;

		ft_pread_full(fd, buf, n, off);
		r = ft_mismatch(buf, fid, gen, off, n);
		if (r >= 0) {
			nr_bad++;
			ft_report(what, buf + r, n - (size_t)r, fid, off + (uint64_t)r, gen);
		}
	}
	t_check(pread(fd, &extra, 1, (off_t)eof) == 0, "%s: pread() at EOF %llu "
		"read a byte: the tail writes extended the file", what,
		(unsigned long long)eof);
	free(buf);
}

static void one_file(const char *name, unsigned fid, uint64_t eof)
{
	int flags = opt.private_map ? MAP_PRIVATE : MAP_SHARED;
	uint64_t len = (eof + FT_PAGE - 1) & ~(FT_PAGE - 1);
	unsigned written = opt.private_map ? 0 : 1;
	int fd = ft_create(ft_path(opt.dir, name), fid, eof);
	uint8_t *map = ft_map(len, PROT_READ | PROT_WRITE, flags, fd, 0);

	check_mapping("mapping as created", map, fid, eof, len, 0, -1, 0);
	check_mapping("mapping read again", map, fid, eof, len, 0, -1, 0);

	ft_fill(map, fid, 1, 0, eof);
	ft_fill(map + eof, fid, 2, eof, len - eof);
	check_mapping("mapping after the writes", map, fid, eof, len, 1, 2,
		      !opt.private_map);
	check_mapping("mapping read again after the writes", map, fid, eof, len, 1, 2,
		      !opt.private_map);
	if (!opt.private_map)
		t_sys(msync(map, len, MS_SYNC));
	t_check(ft_file_size(fd) == eof, "%s: file size %llu after the tail writes",
		name, (unsigned long long)ft_file_size(fd));
	t_sys(munmap(map, len));
	check_file("file after munmap", fd, fid, eof, written);

	map = ft_map(len, PROT_READ, MAP_SHARED, fd, 0);
	check_mapping("new mapping", map, fid, eof, len, written, opt.private_map ? -1 : 2,
		      1);
	t_sys(munmap(map, len));
	check_file("file at the end", fd, fid, eof, written);
	t_sys(close(fd));
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--mb"))
			opt.mb = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--tail"))
			opt.tail = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--dir"))
			opt.dir = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--private"))
			opt.private_map = 1;
		else
			t_fail("usage: %s [--mb N] [--tail BYTES] [--dir DIR] [--private]",
			       argv[0]);
	}
	ft_require_4k_pages();
	t_check(opt.tail % FT_PAGE, "--tail must not be a multiple of %lu", FT_PAGE);

	one_file("eof_tail.dat", FID_BIG, opt.mb * T_MIB + opt.tail);
	one_file("eof_tail_small.dat", FID_SMALL, 100);
	t_log("eof_tail: %s, %llu MiB + %llu bytes and 100 bytes: %lu bad",
	      opt.private_map ? "MAP_PRIVATE" : "MAP_SHARED",
	      (unsigned long long)opt.mb, (unsigned long long)opt.tail, nr_bad);
	return nr_bad ? T_EXIT_FAIL : T_EXIT_PASS;
}
