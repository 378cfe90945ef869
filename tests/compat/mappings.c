/* SPDX-License-Identifier: MIT */
/*
 * mappings: the mmap family, madvise, mprotect and mlock on private
 * anonymous memory whose pages were evicted before the call; after each
 * call every page must hold exactly what Linux promises. (mapping_ops in
 * tests/preload covers a first pass of mremap/DONTNEED/munmap; this goes
 * further and checks coldness with mincore before every call.)
 *
 *   map_fixed      MAP_FIXED (anonymous, then a file) over the middle of an
 *                  evicted mapping: new contents zero / the file's, the
 *                  neighbours intact through further eviction.
 *   munmap_middle  a hole punched in an evicted mapping: neighbours intact,
 *                  the hole faults (SEGV_MAPERR), MAP_FIXED_NOREPLACE
 *                  refills it with zeros.
 *   mremap         grow in place, shrink, move (MREMAP_MAYMOVE), MREMAP_FIXED
 *                  onto another evicted mapping, MREMAP_DONTUNMAP.
 *   madv_dontneed  MADV_DONTNEED: zeros on next touch, neighbours intact.
 *   madv_free      MADV_FREE: each page reads either its old data or zeros;
 *                  a page written after the call keeps what was written.
 *   madv_willneed  MADV_WILLNEED on an evicted range: data intact.
 *   madv_pageout   MADV_COLD and MADV_PAGEOUT on a half-evicted range.
 *   mprotect_ro    read-only pages: reads fine, writes raise the program's
 *                  SIGSEGV (SEGV_ACCERR at the address), nothing changes;
 *                  back to read/write, writes persist through eviction.
 *   mprotect_none  PROT_NONE guard pages inside an evicted mapping.
 *   wx_toggle      write x86-64 code, mprotect RX, call it, mprotect RW,
 *                  rewrite, ... while another thread churns memory and the
 *                  code page is evicted in between.
 *   noreserve      4 TiB PROT_NONE|MAP_NORESERVE (commit pieces with mmap
 *                  MAP_FIXED and mprotect) and 1 TiB read/write
 *                  MAP_NORESERVE (scattered touches): VmRSS stays small,
 *                  mmap+munmap stay fast (compared with the raw syscall).
 *   populate       MAP_POPULATE: zeros, then writes persist through eviction.
 *   mlock          an mlock'ed 4 MiB buffer stays resident (mincore after
 *                  every 1 MiB of churn, 10x the limit in all) with its data;
 *                  mlock2(MLOCK_ONFAULT) likewise; after munlock it is
 *                  evictable again.
 *   mlockall       (own run) mlockall(MCL_CURRENT) with a small heap: that
 *                  heap stays resident through churn; after munlockall it
 *                  can be evicted again.
 */
#include "compat.h"

#include <setjmp.h>
#include <sys/syscall.h>

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define MiB T_MIB
#define PG T_PAGE_SIZE

/* ---- probing: does an access fault, and how ----------------------------- */

static sigjmp_buf p_jmp;
static volatile sig_atomic_t p_armed, p_code;
static void *volatile p_addr;

static void p_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!p_armed) {
		char msg[160];
		int n = snprintf(msg, sizeof(msg), "FAIL mappings: unexpected signal %d at %p "
				 "(case %s)\n", sig, si->si_addr, c_current);

		(void)!write(2, msg, (size_t)n);
		_exit(T_EXIT_FAIL);
	}
	p_armed = 0;
	p_code = si->si_code;
	p_addr = si->si_addr;
	siglongjmp(p_jmp, 1);
}

static void p_install(void)
{
	struct sigaction sa = { .sa_sigaction = p_handler, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	t_check(!sigaction(SIGSEGV, &sa, NULL), "sigaction");
}

/* 0 if the access worked, else the si_code of the SIGSEGV (checked to be
 * at @p). A write stores @val. */
static int probe(void *p, int write, char val)
{
	if (sigsetjmp(p_jmp, 1)) {
		t_check(p_addr == p, "fault at %p, expected %p", p_addr, p);
		return p_code;
	}
	p_armed = 1;
	if (write)
		*(volatile char *)p = val;
	else
		(void)*(volatile char *)p;
	p_armed = 0;
	return 0;
}

/* ---- per-page patterns (page-relative, so moved data can be checked) ---- */

static void fill(char *p, size_t n, uint64_t tag)
{
	t_pattern_fill(p, n, tag, 0);
}

static void check(const char *what, const char *p, size_t n, uint64_t tag, size_t off)
{
	t_check_pattern(what, p, n, tag, off);
}

static void check_zero(const char *what, const char *p, size_t n)
{
	long nz = c_first_nonzero(p, n);

	t_check(nz < 0, "%s: byte %ld of %zu is 0x%02x, expected zero", what, nz, n,
		(uint8_t)p[nz]);
}

static void check_unmapped(const char *what, char *p)
{
	int code = probe(p, 0, 0);

	t_check(code == SEGV_MAPERR, "%s: access at %p gave %s (si_code %d), expected SEGV_MAPERR",
		what, (void *)p, code ? "SIGSEGV" : "no fault", code);
}

/* ---- cases -------------------------------------------------------------- */

static void case_map_fixed(void)
{
	size_t n = 8 * MiB, hole = 2 * MiB;
	char *a = c_map(n), *mid = a + 3 * MiB, *q;
	int fd = c_open_tmpfile();
	char *file = malloc(hole);

	fill(a, n, 0xf1);
	c_make_cold("mapping before MAP_FIXED", a, n);
	q = mmap(mid, hole, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	t_check(q == mid, "mmap MAP_FIXED returned %p, expected %p (%s)", (void *)q, (void *)mid,
		strerror(errno));
	check_zero("MAP_FIXED anonymous range", mid, hole);
	check("below MAP_FIXED", a, (size_t)(mid - a), 0xf1, 0);
	check("above MAP_FIXED", mid + hole, n - 3 * MiB - hole, 0xf1, 3 * MiB + hole);
	fill(mid, hole, 0xf2);
	c_make_cold("mapping after MAP_FIXED", a, n);
	check("MAP_FIXED range after eviction", mid, hole, 0xf2, 0);
	check("below MAP_FIXED after eviction", a, (size_t)(mid - a), 0xf1, 0);
	check("above MAP_FIXED after eviction", mid + hole, n - 3 * MiB - hole, 0xf1, 3 * MiB + hole);

	/* A file mapped over the (again evicted) middle. */
	t_check(file, "malloc");
	fill(file, hole, 0xf3);
	t_write_full(fd, file, hole, "temp file");
	c_make_cold("mapping before file MAP_FIXED", a, n);
	q = mmap(mid, hole, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
	t_check(q == mid, "file mmap MAP_FIXED: %s", strerror(errno));
	check("file mapped over managed memory", mid, hole, 0xf3, 0);
	c_make_cold("mapping around the file", a, 3 * MiB);
	check("below the file mapping", a, (size_t)(mid - a), 0xf1, 0);
	check("above the file mapping", mid + hole, n - 3 * MiB - hole, 0xf1, 3 * MiB + hole);
	check("file mapping after churn", mid, hole, 0xf3, 0);
	/* And anonymous memory back over the file. */
	q = mmap(mid, hole, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	t_check(q == mid, "mmap MAP_FIXED over the file: %s", strerror(errno));
	check_zero("anonymous over the file", mid, hole);
	fill(mid, hole, 0xf4);
	c_make_cold("mapping after the second MAP_FIXED", a, n);
	check("second MAP_FIXED range", mid, hole, 0xf4, 0);
	check("below, at the end", a, (size_t)(mid - a), 0xf1, 0);
	t_sys(munmap(a, n));
	close(fd);
	free(file);
}

static void case_munmap_middle(void)
{
	size_t n = 8 * MiB;
	char *a = c_map(n), *hole = a + 3 * MiB, *q;

	fill(a, n, 0xa1);
	c_make_cold("mapping before munmap", a, n);
	t_sys(munmap(hole, 2 * MiB));
	check("below the hole", a, 3 * MiB, 0xa1, 0);
	check("above the hole", hole + 2 * MiB, 3 * MiB, 0xa1, 5 * MiB);
	check_unmapped("first page of the hole", hole);
	check_unmapped("last page of the hole", hole + 2 * MiB - 1);
	c_make_cold("both sides of the hole", a, 3 * MiB);
	check("below the hole after eviction", a, 3 * MiB, 0xa1, 0);
	check("above the hole after eviction", hole + 2 * MiB, 3 * MiB, 0xa1, 5 * MiB);
	q = mmap(hole, 2 * MiB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	t_check(q == hole, "MAP_FIXED_NOREPLACE into the hole: %p (%s)", (void *)q, strerror(errno));
	check_zero("refilled hole", hole, 2 * MiB);
	fill(hole, 2 * MiB, 0xa2);
	c_make_cold("refilled mapping", a, n);
	check("refilled hole after eviction", hole, 2 * MiB, 0xa2, 0);
	check("below, at the end", a, 3 * MiB, 0xa1, 0);
	check("above, at the end", hole + 2 * MiB, 3 * MiB, 0xa1, 5 * MiB);
	t_sys(munmap(a, n));
}

static void case_mremap(void)
{
	size_t n = 4 * MiB;
	char *a, *b, *q, *blocker;

	/* Grow in place: room guaranteed by unmapping the back half. */
	a = c_map(2 * n);
	t_sys(munmap(a + n, n));
	fill(a, n, 0x61);
	c_make_cold("before mremap grow", a, n);
	q = mremap(a, n, 2 * n, 0);
	t_check(q == a, "mremap grow in place: %p (%s)", (void *)q, strerror(errno));
	check("grown mapping, old part", a, n, 0x61, 0);
	check_zero("grown mapping, new part", a + n, n);
	fill(a + n, n, 0x62);
	c_make_cold("grown mapping", a, 2 * n);
	check("grown mapping, old part after eviction", a, n, 0x61, 0);
	check("grown mapping, new part after eviction", a + n, n, 0x62, 0);

	/* Shrink. */
	c_make_cold("before mremap shrink", a, 2 * n);
	q = mremap(a, 2 * n, n / 2, 0);
	t_check(q == a, "mremap shrink: %p (%s)", (void *)q, strerror(errno));
	check("shrunk mapping", a, n / 2, 0x61, 0);
	check_unmapped("past the shrunk end", a + n / 2);
	c_make_cold("shrunk mapping", a, n / 2);
	check("shrunk mapping after eviction", a, n / 2, 0x61, 0);

	/* Move: the space after it is taken, so growing must move. */
	blocker = mmap(a + n / 2, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	t_check(blocker == a + n / 2, "blocker mapping: %s", strerror(errno));
	c_make_cold("before mremap move", a, n / 2);
	q = mremap(a, n / 2, 3 * n, MREMAP_MAYMOVE);
	t_check(q != MAP_FAILED && q != a, "mremap MAYMOVE: %p (%s)", (void *)q, strerror(errno));
	check_unmapped("old address after the move", a);
	check("moved mapping", q, n / 2, 0x61, 0);
	check_zero("moved mapping's new tail", q + n / 2, 3 * n - n / 2);
	fill(q + n / 2, n, 0x63);
	c_make_cold("moved mapping", q, 3 * n / 2);
	check("moved mapping after eviction", q, n / 2, 0x61, 0);
	check("moved mapping's tail after eviction", q + n / 2, n, 0x63, 0);
	munmap(blocker, PG);
	a = q; /* 3n long */

	/* MREMAP_FIXED onto another, evicted, managed mapping. */
	b = c_map(2 * n);
	fill(b, 2 * n, 0x64);
	c_make_cold("MREMAP_FIXED target", b, 2 * n);
	c_make_cold("MREMAP_FIXED source", a, 3 * n / 2);
	q = mremap(a, 3 * n / 2, 3 * n / 2, MREMAP_MAYMOVE | MREMAP_FIXED, b);
	t_check(q == b, "mremap FIXED: %p (%s)", (void *)q, strerror(errno));
	check_unmapped("source after MREMAP_FIXED", a);
	check("MREMAP_FIXED data", b, n / 2, 0x61, 0);
	check("MREMAP_FIXED data tail", b + n / 2, n, 0x63, 0);
	check("MREMAP_FIXED target's untouched end", b + 3 * n / 2, n / 2, 0x64, 3 * n / 2);
	c_make_cold("after MREMAP_FIXED", b, 2 * n);
	check("MREMAP_FIXED data after eviction", b, n / 2, 0x61, 0);
	check("MREMAP_FIXED data tail after eviction", b + n / 2, n, 0x63, 0);
	check("target's end after eviction", b + 3 * n / 2, n / 2, 0x64, 3 * n / 2);
	munmap(a + 3 * n / 2, 3 * n - 3 * n / 2);
	t_sys(munmap(b, 2 * n));

	/* MREMAP_DONTUNMAP: the old range stays mapped, empty. */
	a = c_map(n);
	fill(a, n, 0x65);
	c_make_cold("before MREMAP_DONTUNMAP", a, n);
	q = mremap(a, n, n, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
	if (q == MAP_FAILED && errno == EINVAL) {
		t_log("    MREMAP_DONTUNMAP not supported here (EINVAL)");
		t_sys(munmap(a, n));
		return;
	}
	t_check(q != MAP_FAILED && q != a, "mremap DONTUNMAP: %p (%s)", (void *)q, strerror(errno));
	check("MREMAP_DONTUNMAP new range", q, n, 0x65, 0);
	check_zero("MREMAP_DONTUNMAP old range", a, n);
	fill(a, n, 0x66);
	c_make_cold("both DONTUNMAP ranges", q, n);
	c_make_cold("old DONTUNMAP range", a, n);
	check("old range's new data after eviction", a, n, 0x66, 0);
	check("new range after eviction", q, n, 0x65, 0);
	t_sys(munmap(a, n));
	t_sys(munmap(q, n));
}

static void case_madv_dontneed(void)
{
	size_t n = 8 * MiB;
	char *a = c_map(n);

	fill(a, n, 0xd1);
	c_make_cold("before MADV_DONTNEED", a, n);
	t_sys(madvise(a + 2 * MiB, 3 * MiB, MADV_DONTNEED));
	check_zero("MADV_DONTNEED range", a + 2 * MiB, 3 * MiB);
	check("below MADV_DONTNEED", a, 2 * MiB, 0xd1, 0);
	check("above MADV_DONTNEED", a + 5 * MiB, 3 * MiB, 0xd1, 5 * MiB);
	fill(a + 2 * MiB, 3 * MiB, 0xd2);
	c_make_cold("after MADV_DONTNEED", a, n);
	check("rewritten range after eviction", a + 2 * MiB, 3 * MiB, 0xd2, 0);
	check("below, after eviction", a, 2 * MiB, 0xd1, 0);
	t_sys(munmap(a, n));
}

static void case_madv_free(void)
{
	size_t n = 8 * MiB, nr = n / PG, kept = 0, zeroed = 0;
	char *a = c_map(n);

	fill(a, n, 0xe1);
	/* Half evicted, half resident: both kinds of page get MADV_FREE. */
	c_make_cold("before MADV_FREE", a, n);
	check("re-read second half", a + n / 2, n / 2, 0xe1, n / 2);
	t_sys(madvise(a, n, MADV_FREE));
	/* Each page: its old contents, or zeros (freed), never a mix. */
	for (size_t i = 0; i < nr; i++) {
		char *p = a + i * PG;

		if (c_first_nonzero(p, PG) < 0) {
			zeroed++;
		} else {
			check("MADV_FREE page kept", p, PG, 0xe1, i * PG);
			kept++;
		}
	}
	t_log("    after MADV_FREE: %zu pages kept their data, %zu read zeros", kept, zeroed);
	/* A write after MADV_FREE keeps the page: write every odd page fully
	 * and one byte of every 4th even page. */
	for (size_t i = 0; i < nr; i++) {
		if (i % 2)
			t_pattern_fill(a + i * PG, PG, 0xe2, i * PG);
		else if (i % 8 == 0)
			a[i * PG + 123] = 0x77;
	}
	c_make_cold("after writes to MADV_FREE pages", a, n);
	for (size_t i = 0; i < nr; i++) {
		char *p = a + i * PG;

		if (i % 2) {
			check("page written after MADV_FREE", p, PG, 0xe2, i * PG);
		} else if (i % 8 == 0) {
			char save = p[123];

			t_check(save == 0x77, "page %zu: the byte written after MADV_FREE reads 0x%02x",
				i, (uint8_t)save);
			/* The rest: either old data or zeros. */
			p[123] = (char)t_pattern_byte(0xe1, i * PG + 123);
			if (c_first_nonzero(p, PG) >= 0 && t_pattern_check(p, PG, 0xe1, i * PG) >= 0) {
				p[123] = 0;
				t_check(c_first_nonzero(p, PG) < 0,
					"page %zu (one byte written after MADV_FREE) holds "
					"neither its old data nor zeros", i);
			}
		} else if (c_first_nonzero(p, PG) >= 0) {
			check("untouched MADV_FREE page", p, PG, 0xe1, i * PG);
		}
	}
	t_sys(munmap(a, n));
}

static void case_madv_willneed(void)
{
	size_t n = 8 * MiB;
	char *a = c_map(n);
	long before, after;

	fill(a, n, 0x71);
	before = c_make_cold_n("before MADV_WILLNEED", a, n, 1);
	t_sys(madvise(a, n, MADV_WILLNEED));
	usleep(300 * 1000);
	after = t_nr_nonresident(a, n);
	t_log("    MADV_WILLNEED: %ld pages non-resident before, %ld 300 ms after", before, after);
	check("after MADV_WILLNEED", a, n, 0x71, 0);
	/* A partly cold range with an unaligned length. */
	c_make_cold("before the second MADV_WILLNEED", a, n);
	t_sys(madvise(a + MiB, 3 * MiB + 5, MADV_WILLNEED));
	check("after the second MADV_WILLNEED", a, n, 0x71, 0);
	t_sys(munmap(a, n));
}

static void case_madv_pageout(void)
{
	size_t n = 8 * MiB;
	char *a = c_map(n);
	long cold;

	fill(a, n, 0x81);
	c_make_cold("before MADV_COLD", a, n);
	check("re-read (hot again)", a, n / 2, 0x81, 0);
	t_sys(madvise(a, n, MADV_COLD));
	check("after MADV_COLD", a, n, 0x81, 0);
	c_make_cold("before MADV_PAGEOUT", a, n);
	check("re-read (hot again)", a, n / 2, 0x81, 0);
	t_sys(madvise(a, n, MADV_PAGEOUT));
	usleep(300 * 1000);
	cold = t_nr_nonresident(a, n);
	t_log("    MADV_PAGEOUT: %ld of %zu pages non-resident 300 ms later", cold, n / PG);
	check("after MADV_PAGEOUT", a, n, 0x81, 0);
	fill(a, n, 0x82);
	t_sys(madvise(a, n, MADV_PAGEOUT));
	check("rewritten, after MADV_PAGEOUT", a, n, 0x82, 0);
	c_make_cold("after MADV_PAGEOUT", a, n);
	check("rewritten, after eviction", a, n, 0x82, 0);
	t_sys(munmap(a, n));
}

static void case_mprotect_ro(void)
{
	size_t n = 4 * MiB;
	char *a = c_map(n);
	int code;

	fill(a, n, 0x91);
	c_make_cold("before mprotect(PROT_READ)", a, n);
	t_sys(mprotect(a, n, PROT_READ));
	check("read-only pages", a, n, 0x91, 0);
	for (size_t off = 0; off < n; off += 512 * 1024 + 8) {
		code = probe(a + off, 1, 0x5a);
		t_check(code == SEGV_ACCERR, "write to a read-only page at +%zu: %s (si_code %d)",
			off, code ? "SIGSEGV" : "no fault", code);
	}
	c_make_cold_n("read-only mapping (evicting it is optional)", a, n, 0);
	check("read-only pages after churn", a, n, 0x91, 0);
	code = probe(a + n - 1, 1, 0x5a);
	t_check(code == SEGV_ACCERR, "write to the last read-only byte: si_code %d", code);
	t_sys(mprotect(a, n, PROT_READ | PROT_WRITE));
	check("after mprotect back to read/write", a, n, 0x91, 0);
	fill(a + MiB, MiB, 0x92);
	c_make_cold("read/write again", a, n);
	check("rewritten part", a + MiB, MiB, 0x92, 0);
	check("first part", a, MiB, 0x91, 0);
	check("last part", a + 2 * MiB, 2 * MiB, 0x91, 2 * MiB);
	/* Read-only while evicted, on a half of it. */
	t_sys(mprotect(a + 2 * MiB, 2 * MiB, PROT_READ));
	check("evicted, then read-only", a + 2 * MiB, 2 * MiB, 0x91, 2 * MiB);
	code = probe(a + 3 * MiB, 1, 0x5a);
	t_check(code == SEGV_ACCERR, "write after mprotect of an evicted range: si_code %d", code);
	t_check(probe(a + MiB, 1, (char)t_pattern_byte(0x92, 0)) == 0,
		"the read/write half faulted");
	t_sys(munmap(a, n));
}

static void case_mprotect_none(void)
{
	size_t n = 8 * MiB;
	char *a = c_map(n);
	char *g1 = a + 2 * MiB, *g2 = a + 6 * MiB - PG;
	int code;

	fill(a, n, 0xb1);
	t_sys(mprotect(g1, PG, PROT_NONE));
	t_sys(mprotect(g2, PG, PROT_NONE));
	c_make_cold("mapping with guard pages", a, n);
	code = probe(g1, 0, 0);
	t_check(code == SEGV_ACCERR, "read of guard page 1: si_code %d", code);
	code = probe(g2 + PG - 1, 1, 1);
	t_check(code == SEGV_ACCERR, "write to guard page 2: si_code %d", code);
	check("below guard 1", a, 2 * MiB, 0xb1, 0);
	check("between the guards", g1 + PG, (size_t)(g2 - g1) - PG, 0xb1, 2 * MiB + PG);
	check("above guard 2", g2 + PG, 2 * MiB, 0xb1, 6 * MiB);
	c_make_cold("mapping with guard pages again", a, n);
	check("between the guards after eviction", g1 + PG, (size_t)(g2 - g1) - PG, 0xb1, 2 * MiB + PG);
	/* Lift a guard: its old contents are back. */
	t_sys(mprotect(g1, PG, PROT_READ | PROT_WRITE));
	check("former guard page", g1, PG, 0xb1, 2 * MiB);
	code = probe(g2, 0, 0);
	t_check(code == SEGV_ACCERR, "guard page 2 after the first was lifted: si_code %d", code);
	t_sys(munmap(a, n));
}

/* ---- W^X ----------------------------------------------------------------- */

static atomic_int wx_stop;

static void *wx_churner(void *arg)
{
	(void)arg;
	while (!atomic_load(&wx_stop))
		t_churn_sweep(&c_churn);
	return NULL;
}

static void case_wx_toggle(void)
{
	size_t n = 16 * PG;
	char *code = c_map(n);
	pthread_t ch;
	struct t_rng r;
	int nr_cold_rw = 0, nr_cold_rx = 0;

	t_rng_seed(&r, 0x3e3);
	memset(code, 0xcc, n); /* int3 everywhere: every page touched */
	t_check(!pthread_create(&ch, NULL, wx_churner, NULL), "pthread_create");
	for (int i = 0; i < 60; i++) {
		/* mov eax, imm32; ret - sometimes straddling a page boundary. */
		size_t off = i % 3 == 0 ? (t_rng_below(&r, 15) + 1) * PG - 3 : t_rng_below(&r, n - 8);
		uint32_t imm = (uint32_t)t_rng_next(&r);
		int (*fn)(void);
		int got;

		t_sys(mprotect(code, n, PROT_READ | PROT_WRITE));
		code[off] = (char)0xb8;
		memcpy(code + off + 1, &imm, 4);
		code[off + 5] = (char)0xc3;
		if (i % 20 == 0) {
			c_make_cold_n("code pages while RW", code, n, 0);
			nr_cold_rw += t_nr_nonresident(code + off, 6) > 0;
		}
		t_sys(mprotect(code, n, PROT_READ | PROT_EXEC));
		__builtin___clear_cache(code, code + n);
		if (i % 20 == 10) {
			c_make_cold_max("code pages while RX", code, n, 0, 4);
			nr_cold_rx += t_nr_nonresident(code + off, 6) > 0;
		}
		fn = (int (*)(void))(void *)(code + off);
		got = fn();
		t_check((uint32_t)got == imm, "iteration %d: generated code returned %#x, expected %#x",
			i, (unsigned)got, (unsigned)imm);
		t_check(probe(code + off, 1, 0) == SEGV_ACCERR,
			"iteration %d: code page writable while RX", i);
	}
	atomic_store(&wx_stop, 1);
	pthread_join(ch, NULL);
	t_log("    60 W^X toggles; code evicted while RW in %d, while RX in %d of 3 checks",
	      nr_cold_rw, nr_cold_rx);
	t_check(c_native || nr_cold_rw > 0, "the code pages never went cold while RW");
	t_sys(munmap(code, n));
}

/* ---- huge MAP_NORESERVE reservations ------------------------------------- */

static double timed_mmap_munmap(size_t len, int prot, int raw, void **keep)
{
	double t0 = t_now();
	void *p;

	if (raw)
		p = (void *)syscall(SYS_mmap, NULL, len, prot,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	else
		p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	t_check(p != MAP_FAILED, "mmap(%zu GiB, NORESERVE): %s", len >> 30, strerror(errno));
	if (keep) {
		*keep = p;
		return t_now() - t0;
	}
	if (raw)
		t_check(!syscall(SYS_munmap, p, len), "raw munmap");
	else
		t_sys(munmap(p, len));
	return t_now() - t0;
}

static void case_noreserve(void)
{
	size_t big = 4UL << 40, rw = 1UL << 40;
	long rss0 = t_status_kb("VmRSS"), rss1, rss1b, rss2;
	double t_raw_none, t_raw_rw, t_none, t_rw, t_map_none, t_map_rw, t0;
	char *none, *data;
	struct t_rng r;
	size_t offs[64];

	/* Baseline: the raw system calls, and the plain calls with no touch. */
	t_raw_none = timed_mmap_munmap(big, PROT_NONE, 1, NULL);
	t_raw_rw = timed_mmap_munmap(rw, PROT_READ | PROT_WRITE, 1, NULL);
	t_none = timed_mmap_munmap(big, PROT_NONE, 0, NULL);
	t_rw = timed_mmap_munmap(rw, PROT_READ | PROT_WRITE, 0, NULL);

	/* Go/JVM style: reserve 4 TiB, commit scattered 64 KiB pieces with
	 * MAP_FIXED and with mprotect, use them. */
	t_map_none = timed_mmap_munmap(big, PROT_NONE, 0, (void **)&none);
	t_rng_seed(&r, 4);
	for (int i = 0; i < 16; i++) {
		char *p = none + (t_rng_below(&r, big / (1UL << 30)) << 30) + (size_t)i * 65536;

		if (i % 2) {
			t_check(mmap(p, 65536, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p,
				"commit with MAP_FIXED: %s", strerror(errno));
		} else {
			t_sys(mprotect(p, 65536, PROT_READ | PROT_WRITE));
		}
		check_zero("committed piece", p, 65536);
		fill(p, 65536, 0x400 + (uint64_t)i);
		offs[i] = (size_t)(p - none);
	}
	/* ASan style: 1 TiB read/write, scattered touches. */
	t0 = t_now();
	data = mmap(NULL, rw, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	t_map_rw = t_now() - t0;
	t_check(data != MAP_FAILED, "mmap 1 TiB: %s", strerror(errno));
	for (int i = 0; i < 64; i++) {
		fill(data + (t_mix64((uint64_t)i) % (rw / PG)) * PG, PG, 0x500 + (uint64_t)i);
	}
	rss1 = t_status_kb("VmRSS");
	c_make_cold_n("touched pieces of the reservations", data + (t_mix64(0) % (rw / PG)) * PG, PG, 0);
	for (int i = 0; i < 16; i++)
		check("committed piece after churn", none + offs[i], 65536, 0x400 + (uint64_t)i, 0);
	for (int i = 0; i < 64; i++)
		check("scattered page after churn", data + (t_mix64((uint64_t)i) % (rw / PG)) * PG, PG,
		      0x500 + (uint64_t)i, 0);
	rss1b = t_status_kb("VmRSS"); /* with the churn area resident now too */
	t0 = t_now();
	t_sys(munmap(none, big));
	t_sys(munmap(data, rw));
	t_map_none += t_now() - t0; /* reported with the mmap: both unmaps */
	rss2 = t_status_kb("VmRSS");
	t_log("    mmap+munmap 4 TiB PROT_NONE: %.3f ms (raw syscalls %.3f ms)", t_none * 1e3,
	      t_raw_none * 1e3);
	t_log("    mmap+munmap 1 TiB RW:        %.3f ms (raw syscalls %.3f ms)", t_rw * 1e3,
	      t_raw_rw * 1e3);
	t_log("    used: mmap 4 TiB + 1 TiB, commit/touch, munmap both: %.3f ms (+%.3f ms mmap 1 TiB)",
	      t_map_none * 1e3, t_map_rw * 1e3);
	t_log("    VmRSS: %ld KiB before, %ld KiB with the pieces touched; "
	      "%ld KiB after churn, %ld KiB after munmap", rss0, rss1, rss1b, rss2);
	t_check(t_none + t_rw + t_map_none + t_map_rw < 5.0,
		"mmap/munmap of huge NORESERVE ranges took %.1f s",
		t_none + t_rw + t_map_none + t_map_rw);
	/* 16 x 64 KiB + 64 pages touched: allow 32 MiB for everything. */
	t_check(rss1 >= 0 && rss1 - rss0 < 32 * 1024, "VmRSS grew by %ld KiB for ~1.3 MiB touched",
		rss1 - rss0);
	t_check(rss2 <= rss1b + 1024, "VmRSS grew by %ld KiB in munmap", rss2 - rss1b);
}

static void case_populate(void)
{
	size_t n = 8 * MiB;
	char *a = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	t_check(a != MAP_FAILED, "mmap MAP_POPULATE: %s", strerror(errno));
	t_log("    right after mmap(MAP_POPULATE): %ld of %zu pages non-resident",
	      t_nr_nonresident(a, n), n / PG);
	check_zero("MAP_POPULATE mapping", a, n);
	fill(a, n, 0xc1);
	c_make_cold("MAP_POPULATE mapping", a, n);
	check("MAP_POPULATE mapping after eviction", a, n, 0xc1, 0);
	t_sys(munmap(a, n));
}

/* ---- mlock --------------------------------------------------------------- */

struct locked_ranges {
	char **p;
	size_t *len;
	int nr;
	size_t done;		/* bytes churned before this pass */
	unsigned long checks;
};

/* After each MiB of a churn pass: every locked range must be resident. */
static void check_locked(struct t_churn *c, size_t swept, void *arg)
{
	struct locked_ranges *l = arg;

	for (int k = 0; k < l->nr; k++) {
		long out = t_nr_nonresident(l->p[k], l->len[k]);

		if (out != 0) {
			pthread_mutex_unlock(&c->lock);
			t_fail("locked range %d: %ld of %zu pages non-resident "
			       "after %zu MiB of churn", k, out, l->len[k] / PG,
			       (l->done + swept - PG) / MiB);
		}
	}
	l->checks++;
}

/* Churn @times x the limit in 1 MiB steps; after each step every page of
 * each locked range must be resident. */
static void churn_checking_locked(double times, char **p, size_t *len, int nr)
{
	size_t total = (size_t)(times * (double)c_limit);
	struct locked_ranges l = { .p = p, .len = len, .nr = nr };

	while (l.done < total) {
		t_churn_sweep_hook(&c_churn, MiB, check_locked, &l);
		l.done += c_churn.len;
	}
	t_log("    %zu MiB churned, locked ranges resident at all %lu checks", l.done / MiB,
	      l.checks);
}

static void case_mlock(void)
{
	size_t n = 4 * MiB, n2 = 2 * MiB;
	char *a = NULL, *b = c_map(n2);
	char *p[2];
	size_t len[2];

	t_check(!posix_memalign((void **)&a, PG, n), "posix_memalign");
	fill(a, n, 0x1c);
	if (mlock(a, n)) {
		if (errno == EPERM || errno == ENOMEM)
			t_skip("mlock: %s (RLIMIT_MEMLOCK)", strerror(errno));
		t_fail("mlock: %s", strerror(errno));
	}
	t_check(t_nr_nonresident(a, n) == 0, "mlock'ed buffer not all resident right after mlock");
	if (syscall(SYS_mlock2, b, n2, MLOCK_ONFAULT))
		t_fail("mlock2(MLOCK_ONFAULT): %s", strerror(errno));
	fill(b, n2, 0x1d); /* faulted in, and so locked */
	p[0] = a;
	len[0] = n;
	p[1] = b;
	len[1] = n2;
	churn_checking_locked(10.0, p, len, 2);
	check("mlock'ed buffer after churn", a, n, 0x1c, 0);
	check("mlock2(ONFAULT) buffer after churn", b, n2, 0x1d, 0);

	/* Unlocked, both are ordinary memory again. */
	t_sys(munlock(a, n));
	t_sys(munlock(b, n2));
	c_make_cold("buffer after munlock", a, n);
	c_make_cold("mlock2 buffer after munlock", b, n2);
	check("buffer after munlock and eviction", a, n, 0x1c, 0);
	check("mlock2 buffer after munlock and eviction", b, n2, 0x1d, 0);
	/* Part of it locked again: only that part is pinned. */
	t_sys(mlock(a + MiB, MiB));
	p[0] = a + MiB;
	len[0] = MiB;
	churn_checking_locked(3.0, p, len, 1);
	c_make_cold("unlocked rest of the buffer", a + 2 * MiB, 2 * MiB);
	check("partly locked buffer", a, n, 0x1c, 0);
	t_sys(munlock(a + MiB, MiB));
	free(a);
	t_sys(munmap(b, n2));
}

static void case_mlockall(void)
{
	size_t n = 4 * MiB, small = 64;
	char *a, *s[64];
	char *p[1];
	size_t len[1];

	/* A small heap: one 4 MiB block and 64 small ones. The churn area is
	 * mapped after mlockall(MCL_CURRENT), so it is not locked. */
	t_sys(munmap(c_churn.mem, c_churn.len));
	t_check(!posix_memalign((void **)&a, PG, n), "posix_memalign");
	fill(a, n, 0x2c);
	for (int i = 0; i < 64; i++) {
		s[i] = malloc(small);
		t_check(s[i], "malloc");
		t_pattern_fill(s[i], small, 0x2d, (size_t)i * small);
	}
	if (mlockall(MCL_CURRENT)) {
		if (errno == EPERM || errno == ENOMEM)
			t_skip("mlockall: %s", strerror(errno));
		t_fail("mlockall: %s", strerror(errno));
	}
	t_check(t_nr_nonresident(a, n) == 0, "heap block not resident right after mlockall");
	t_churn_start(&c_churn, c_map(c_churn.len), c_churn.len);
	p[0] = a;
	len[0] = n;
	churn_checking_locked(10.0, p, len, 1);
	check("heap block locked by mlockall", a, n, 0x2c, 0);
	for (int i = 0; i < 64; i++) {
		t_check(t_nr_nonresident(s[i], small) == 0, "small block %d evicted", i);
		check("small block locked by mlockall", s[i], small, 0x2d, (size_t)i * small);
	}
	t_sys(munlockall());
	c_make_cold("heap block after munlockall", a, n);
	check("heap block after munlockall and eviction", a, n, 0x2c, 0);
	for (int i = 0; i < 64; i++) {
		check("small block at the end", s[i], small, 0x2d, (size_t)i * small);
		free(s[i]);
	}
	free(a);
}

static const struct c_case cases[] = {
	{ "map_fixed", case_map_fixed, "MAP_FIXED over evicted managed memory", 0 },
	{ "munmap_middle", case_munmap_middle, "munmap of the middle of an evicted mapping", 0 },
	{ "mremap", case_mremap, "mremap grow, shrink, MAYMOVE, FIXED, DONTUNMAP on evicted memory", 0 },
	{ "madv_dontneed", case_madv_dontneed, "MADV_DONTNEED on evicted memory", 0 },
	{ "madv_free", case_madv_free, "MADV_FREE on evicted memory", 0 },
	{ "madv_willneed", case_madv_willneed, "MADV_WILLNEED on evicted memory", 0 },
	{ "madv_pageout", case_madv_pageout, "MADV_COLD and MADV_PAGEOUT on half-evicted memory", 0 },
	{ "mprotect_ro", case_mprotect_ro, "read-only pages keep raising SIGSEGV on write", 0 },
	{ "mprotect_none", case_mprotect_none, "PROT_NONE guard pages inside evicted memory", 0 },
	{ "wx_toggle", case_wx_toggle, "W^X code generation under memory pressure", 0 },
	{ "noreserve", case_noreserve, "4 TiB / 1 TiB MAP_NORESERVE reservations", 0 },
	{ "populate", case_populate, "MAP_POPULATE", 0 },
	{ "mlock", case_mlock, "mlock/mlock2/munlock: locked pages are never evicted", 0 },
	{ "mlockall", case_mlockall, "mlockall(MCL_CURRENT) with a small heap", 1 },
};

int main(int argc, char **argv)
{
	p_install();
	return c_main(argc, argv, "mappings", cases, sizeof(cases) / sizeof(cases[0]), 125, 100);
}
