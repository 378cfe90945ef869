/* SPDX-License-Identifier: MIT */
/*
 * io_coherence: file I/O by the program and its mappings of the same file
 * agree at once, as they do through the page cache natively.
 *
 * A file of --mb MiB is mapped MAP_SHARED read-write (view "shared") and,
 * per --views, once more as:
 *   ro       MAP_SHARED, PROT_READ
 *   private  MAP_PRIVATE, PROT_READ|PROT_WRITE, never written (so on Linux
 *            it shows the file's current bytes)
 *   alias    a second MAP_SHARED read-write mapping, also written through
 * Then --ops random operations on random byte ranges (1 byte to 3 pages,
 * unaligned, a third of them across a page boundary):
 *   pwrite(), lseek()+write()        then, half the time, the same range
 *                                    read back through a random view
 *   store through a writable view    then, half the time, pread() of it
 *   read through a random view, pread(), lseek()+read()
 * With an alias view, a first phase stores into 256 pages through both
 * writable views at once (64 bytes at +0 through 'shared', at +2048
 * through 'alias'), msyncs both and checks with pread() that no page lost
 * either store (a whole page written back from one view over the other's).
 * The model is a shadow file, never mapped, that receives the same bytes
 * (each write's bytes are generation "operation number" of ft_byte()); every
 * read is compared with the shadow's pread(). Every --verify-every
 * operations and at the end, every view and the file are compared whole;
 * after munmap the file once more. The mappings together are several times
 * the limit, so pages are evicted between the operations that touch them.
 */
#include "filetest.h"

#define FID 5
#define MAX_LEN (3 * FT_PAGE + 100)
#define MAX_VIEWS 4

enum op { OP_PWRITE, OP_WRITE, OP_MAP_WRITE, OP_MAP_READ, OP_PREAD, OP_READ, NR_OPS };

static const char *const op_names[NR_OPS] = {
	"pwrite", "write", "store", "load", "pread", "read",
};
/* Out of 100. */
static const unsigned op_weight[NR_OPS] = { 20, 5, 20, 30, 20, 5 };

struct view {
	const char *name;
	uint8_t *p;
	int writable;
};

static struct {
	uint64_t size;
	unsigned long nr_ops, verify_every;
	uint64_t seed;
	const char *dir, *views;
} opt = { .size = 64 * T_MIB, .nr_ops = 20000, .verify_every = 5000, .seed = 1,
	  .views = "shared,ro,private,alias" };

static int fd, shadow_fd;
static struct view views[MAX_VIEWS];
static int nr_views, nr_writable;
static uint32_t *last_op;	/* per page: the last operation that wrote it */
static uint8_t *last_kind;
static unsigned long nr_bad, nr_done[NR_OPS];

static void note_write(uint64_t off, size_t len, unsigned long op, enum op kind)
{
	for (uint64_t p = off / FT_PAGE; p <= (off + len - 1) / FT_PAGE; p++) {
		last_op[p] = (uint32_t)op;
		last_kind[p] = (uint8_t)kind;
	}
}

/* Compare @got (file bytes [off, off+len) as read by @how) with the shadow. */
static void compare(const char *how, const uint8_t *got, uint64_t off, size_t len,
		    unsigned long op)
{
	static uint8_t want[FT_IO_CHUNK];
	char whose[80];
	size_t i;

	ft_pread_full(shadow_fd, want, len, off);
	if (!memcmp(got, want, len))
		return;
	for (i = 0; got[i] == want[i]; i++)
		;
	nr_bad++;
	if (atomic_fetch_add(&ft_nr_reports, 1) >= FT_MAX_REPORTS)
		return;
	ft_whose(whose, sizeof(whose), got + i, len - i, FID, off + i);
	t_log("op %lu, %s of [%llu, +%zu): file offset %llu (page %llu +%llu) "
	      "holds %#04x, expected %#04x; found %s (generations are op numbers "
	      "mod 65536); the page was last written by op %u (%s)",
	      op, how, (unsigned long long)off, len, (unsigned long long)(off + i),
	      (unsigned long long)((off + i) / FT_PAGE),
	      (unsigned long long)((off + i) % FT_PAGE), got[i], want[i], whose,
	      last_op[(off + i) / FT_PAGE], op_names[last_kind[(off + i) / FT_PAGE]]);
}

static void pick_range(struct t_rng *r, uint64_t *ret_off, size_t *ret_len)
{
	unsigned kind = (unsigned)t_rng_below(r, 10);
	size_t len = kind < 6 ? 1 + t_rng_below(r, 256) :
		     kind < 9 ? 1 + t_rng_below(r, FT_PAGE + 64) : 1 + t_rng_below(r, MAX_LEN);
	uint64_t off;

	if (t_rng_below(r, 3) == 0) { /* across a page boundary */
		uint64_t boundary = (1 + t_rng_below(r, opt.size / FT_PAGE - 1)) * FT_PAGE;

		len = len < 2 ? 2 : len;
		off = boundary - 1 - t_rng_below(r, len - 1);
	} else {
		off = t_rng_below(r, opt.size);
	}
	if (off + len > opt.size)
		off = opt.size - len;
	*ret_off = off;
	*ret_len = len;
}

static struct view *pick_view(struct t_rng *r, int writable)
{
	unsigned n = (unsigned)t_rng_below(r, writable ? (unsigned)nr_writable :
					     (unsigned)nr_views);

	for (int i = 0; i < nr_views; i++)
		if (!writable || views[i].writable)
			if (n-- == 0)
				return &views[i];
	return &views[0];
}

static void read_view(struct t_rng *r, uint64_t off, size_t len, unsigned long op)
{
	struct view *v = pick_view(r, 0);
	char how[64];

	snprintf(how, sizeof(how), "load through '%s'", v->name);
	compare(how, v->p + off, off, len, op);
	nr_done[OP_MAP_READ]++;
}

static void read_file(uint64_t off, size_t len, unsigned long op, enum op kind)
{
	static uint8_t buf[MAX_LEN];

	if (kind == OP_READ) {
		ssize_t n;

		t_sys(lseek(fd, (off_t)off, SEEK_SET));
		n = t_sys(read(fd, buf, len));
		t_check((size_t)n == len, "read: %zd of %zu bytes", n, len);
	} else {
		ft_pread_full(fd, buf, len, off);
	}
	compare(op_names[kind], buf, off, len, op);
	nr_done[kind]++;
}

static void one_op(struct t_rng *r, unsigned long op)
{
	static uint8_t buf[MAX_LEN];
	unsigned w = (unsigned)t_rng_below(r, 100);
	unsigned gen = (unsigned)(op & 0xffff);
	enum op kind = OP_PWRITE;
	uint64_t off;
	size_t len;

	while (w >= op_weight[kind])
		w -= op_weight[kind++];
	pick_range(r, &off, &len);
	switch (kind) {
	case OP_PWRITE:
	case OP_WRITE:
		ft_fill(buf, FID, gen, off, len);
		if (kind == OP_WRITE) {
			ssize_t n;

			t_sys(lseek(fd, (off_t)off, SEEK_SET));
			n = t_sys(write(fd, buf, len));
			t_check((size_t)n == len, "write: %zd of %zu bytes", n, len);
		} else {
			ft_pwrite_full(fd, buf, len, off);
		}
		ft_pwrite_full(shadow_fd, buf, len, off);
		note_write(off, len, op, kind);
		nr_done[kind]++;
		if (t_rng_below(r, 2))
			read_view(r, off, len, op);
		break;
	case OP_MAP_WRITE: {
		struct view *v = pick_view(r, 1);

		ft_fill(v->p + off, FID, gen, off, len);
		ft_fill(buf, FID, gen, off, len);
		ft_pwrite_full(shadow_fd, buf, len, off);
		note_write(off, len, op, kind);
		nr_done[kind]++;
		if (t_rng_below(r, 2))
			read_file(off, len, op, OP_PREAD);
		break;
	}
	case OP_MAP_READ:
		read_view(r, off, len, op);
		break;
	case OP_PREAD:
	case OP_READ:
		read_file(off, len, op, kind);
		break;
	case NR_OPS:
		break;
	}
}

/* Every view and the file, whole, against the shadow. */
static void verify_all(const char *when, unsigned long op, int mapped)
{
	uint8_t *buf = malloc(FT_IO_CHUNK);
	char how[96];

	t_check(buf, "malloc: out of memory");
	for (uint64_t off = 0; off < opt.size; off += FT_IO_CHUNK) {
		for (int i = 0; mapped && i < nr_views; i++) {
			snprintf(how, sizeof(how), "%s: '%s' whole", when, views[i].name);
			compare(how, views[i].p + off, off, FT_IO_CHUNK, op);
		}
		ft_pread_full(fd, buf, FT_IO_CHUNK, off);
		snprintf(how, sizeof(how), "%s: pread() whole", when);
		compare(how, buf, off, FT_IO_CHUNK, op);
	}
	free(buf);
}

/* Two writable views store into the same pages; after msync of both, the
 * file must hold both stores. */
static void alias_phase(void)
{
	const size_t nr = 256, step = opt.size / FT_PAGE / nr;
	const unsigned gen_a = 0xfff0, gen_b = 0xfff1;
	unsigned long lost_a = 0, lost_b = 0;
	struct view *b = &views[1];
	uint8_t buf[64];

	while (!b->writable)	/* the second writable view: 'alias' */
		b++;

	for (size_t i = 0; i < nr; i++) {
		uint64_t off = i * step * FT_PAGE;

		ft_fill(views[0].p + off, FID, gen_a, off, 64);
		ft_fill(buf, FID, gen_a, off, 64);
		ft_pwrite_full(shadow_fd, buf, 64, off);
		ft_fill(b->p + off + 2048, FID, gen_b, off + 2048, 64);
		ft_fill(buf, FID, gen_b, off + 2048, 64);
		ft_pwrite_full(shadow_fd, buf, 64, off + 2048);
	}
	for (int v = 0; v < nr_views; v++)
		t_sys(msync(views[v].p, opt.size, MS_SYNC));
	for (size_t i = 0; i < nr; i++) {
		uint64_t off = i * step * FT_PAGE;

		ft_pread_full(fd, buf, 64, off);
		lost_a += ft_mismatch(buf, FID, gen_a, off, 64) >= 0;
		ft_pread_full(fd, buf, 64, off + 2048);
		lost_b += ft_mismatch(buf, FID, gen_b, off + 2048, 64) >= 0;
	}
	if (lost_a || lost_b)
		t_log("two views, one page: after msync of both, %lu of %zu pages lost "
		      "the store through 'shared', %lu the store through '%s'", lost_a, nr,
		      lost_b, b->name);
	nr_bad += lost_a + lost_b;
}

static void add_view(const char *name)
{
	int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED, writable = 1;

	if (!strcmp(name, "ro")) {
		prot = PROT_READ;
		writable = 0;
	} else if (!strcmp(name, "private")) {
		flags = MAP_PRIVATE;
		writable = 0;
	} else {
		t_check(!strcmp(name, "shared") || !strcmp(name, "alias"),
			"--views: shared, ro, private, alias; not %s", name);
	}
	t_check(nr_views < MAX_VIEWS, "--views: at most %d", MAX_VIEWS);
	views[nr_views++] = (struct view){
		.name = name, .writable = writable,
		.p = ft_map(opt.size, prot, flags, fd, 0),
	};
	nr_writable += writable;
}

int main(int argc, char **argv)
{
	char *list, *name, *save = NULL;
	struct t_rng rng;
	unsigned long op;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--mb"))
			opt.size = ft_optul(argc, argv, &i) * T_MIB;
		else if (!strcmp(a, "--ops"))
			opt.nr_ops = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--verify-every"))
			opt.verify_every = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--seed"))
			opt.seed = ft_optul(argc, argv, &i);
		else if (!strcmp(a, "--dir"))
			opt.dir = ft_optarg(argc, argv, &i);
		else if (!strcmp(a, "--views"))
			opt.views = ft_optarg(argc, argv, &i);
		else
			t_fail("usage: %s [--mb N] [--ops N] [--verify-every N] [--seed N] "
			       "[--dir DIR] [--views shared,ro,private,alias]", argv[0]);
	}
	ft_require_4k_pages();
	t_check(opt.size >= FT_IO_CHUNK && opt.verify_every, "--mb >= 1, --verify-every >= 1");

	fd = ft_create(ft_path(opt.dir, "io_coherence.dat"), FID, opt.size);
	shadow_fd = ft_create(ft_path(opt.dir, "io_coherence.shadow"), FID, opt.size);
	last_op = calloc(opt.size / FT_PAGE, sizeof(*last_op));
	last_kind = calloc(opt.size / FT_PAGE, 1);
	t_check(last_op && last_kind, "calloc: out of memory");

	add_view("shared");
	list = strdup(opt.views);
	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save))
		if (strcmp(name, "shared"))
			add_view(name);

	if (nr_writable > 1)
		alias_phase();
	t_rng_seed(&rng, opt.seed);
	for (op = 1; op <= opt.nr_ops; op++) {
		one_op(&rng, op);
		if (op % opt.verify_every == 0)
			verify_all("full check", op, 1);
	}
	verify_all("final check", op, 1);
	for (int i = 0; i < nr_views; i++)
		t_sys(munmap(views[i].p, opt.size));
	t_check(ft_file_size(fd) == opt.size, "file size changed to %llu",
		(unsigned long long)ft_file_size(fd));
	verify_all("after munmap", op, 0);
	t_sys(close(fd));
	t_sys(close(shadow_fd));
	t_log("io_coherence: %llu MiB, views %s, %lu ops (pwrite %lu, write %lu, "
	      "store %lu, load %lu, pread %lu, read %lu): %lu bad reads",
	      (unsigned long long)(opt.size / T_MIB), opt.views, opt.nr_ops,
	      nr_done[OP_PWRITE], nr_done[OP_WRITE], nr_done[OP_MAP_WRITE],
	      nr_done[OP_MAP_READ], nr_done[OP_PREAD], nr_done[OP_READ], nr_bad);
	free(list);
	return nr_bad ? T_EXIT_FAIL : T_EXIT_PASS;
}
