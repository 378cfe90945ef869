/* SPDX-License-Identifier: MIT */
/*
 * fork_pages: a forked child sees every byte its parent had, and after the
 * fork parent and child own their memory separately.
 *
 * An ordinary program: it knows nothing about uswap. Its footprint (--mb)
 * is half malloc() chunks of mixed sizes (each with an odd-sized tail) and
 * half MAP_PRIVATE|MAP_ANONYMOUS regions, cut into 4 KiB slots, plus a
 * linked list of small malloc'd nodes. Each slot holds
 *
 *   word 0        MAGIC ^ slot index
 *   word 1        tag = owner << 24 | generation
 *   words 2..510  splitmix stream seeded by (index, tag)
 *   word 511      FNV-1a checksum of words 0..510
 *
 * and the expected tag of every slot is kept in a malloc'd array (so it is
 * paged and inherited too). Every process in the tree writes with its own
 * owner number, so a slot that shows another process's data, a stale
 * generation, zeros or a torn page is told apart in the report.
 *
 * Modes (first argument):
 *
 *   basic      fill, (--expect-cold) require mincore() to show much of it
 *              non-resident, fork. The child verifies every byte, rewrites
 *              every slot with its own pattern, allocates --child-mb more,
 *              verifies all of it, and (--expect-cold) must have paged
 *              (its slots non-resident again) and stayed under --max-rss.
 *              Meanwhile the parent rewrites the same addresses with a
 *              different pattern twice; after the child exits it verifies.
 *   threads    --threads workers verify and rewrite random slots; two more
 *              threads exit (their cached stacks keep TLS vectors in
 *              malloc'd memory, which goes cold); the main thread forks
 *              --forks times while the workers fault. Each child
 *              verifies every slot no worker held locked at the fork, uses
 *              malloc and a thread of its own, and exits; at the end the
 *              parent stops the workers and verifies everything.
 *   nested     a chain of --depth forks: each level verifies what it
 *              inherited, rewrites half the slots, forks the next level,
 *              then rewrites all slots with its own pattern, waits and
 *              verifies. The last level also allocates --child-mb.
 *   loop       --forks fork+exit children in sequence, each verifying a
 *              sample of slots that were non-resident at the fork plus the
 *              slots the parent rewrote just before it; prints the time,
 *              and fails early (with the rate) past --budget seconds.
 *   exit       --forks children that _exit()/exit() at once, reaped late,
 *              while the parent keeps rewriting; then a full verify.
 *   unmanaged  as basic, but the child must end with every slot resident
 *              (nothing pages it: the --on-fork unmanaged policy, or no
 *              runtime at all) and its RSS above the footprint.
 *   churn      rewrite and verify forever (until killed), with a forked
 *              child doing the same (--children) and a spawned copy of
 *              this program (--exec-child PATH); for the signal tests.
 *   selftest   the checker must catch a flipped byte, another owner's
 *              slot, a zeroed page, a flipped tail byte and a broken list
 *              node in a forked child: exactly 5 reports.
 *
 * Exit: 0 pass, 1 fail, 77 skip. Every child has an alarm, and the parent
 * reaps with a deadline, so a hang is reported as one.
 */
#include "forkhelp.h"

#include <pthread.h>
#include <stdatomic.h>
#include <spawn.h>
#include <sys/prctl.h>

#define SLOT_WORDS T_SLOT_WORDS
#define SLOT_MAGIC 0x464f524b534c4f54ULL /* "FORKSLOT" */
#define TAG_LOCKED 0x80000000u
#define TAG(owner, gen) (((uint32_t)(owner) << 24) | ((uint32_t)(gen) & 0xffffffu))
#define TAG_OWNER(t) (((t) >> 24) & 0x7fu)
#define TAG_GEN(t) ((t) & 0xffffffu)
#define MAX_REPORTS 8
#define NR_NODES 20000
#define STRIDE_PRIME 1000003UL
#define CHILD_ALARM 85

extern char **environ;

static struct {
	const char *mode;
	unsigned long mb, child_mb;
	unsigned int threads, forks, depth, sample, children;
	int expect_cold_pct;   /* require this % of the slots non-resident */
	double budget_s;       /* loop: fail once the forks take longer than this */
	unsigned long max_rss_mb; /* a managed child's VmHWM bound */
	uint64_t seed;
	const char *exec_child;
	int die_with_parent;
} opt = {
	.mb = 96, .child_mb = 64, .threads = 3, .forks = 6, .depth = 2,
	.sample = 64, .seed = 1,
};

struct node {
	struct node *next;
	uint64_t idx;
	uint32_t len;
	uint32_t pad;
	uint64_t sum; /* FNV over idx, len and payload */
	uint8_t payload[];
};

static struct {
	struct t_slots s;	/* the slots, their chunks and regions */
	_Atomic uint32_t *tag;
	struct node *list;
} M;

static const char *me = "parent";
static unsigned int my_owner;
static atomic_ulong nr_bad;
static atomic_ulong nr_reported;

/* ---- slots ---------------------------------------------------------------- */

static uint64_t slot_seed(size_t idx, uint32_t tag)
{
	return t_mix64(((uint64_t)idx << 32) ^ tag ^ (opt.seed << 56));
}

static void slot_fill(uint64_t *w, size_t idx, uint32_t tag)
{
	t_slot_fill(w, SLOT_MAGIC ^ idx, tag, slot_seed(idx, tag));
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&nr_bad, 1);
	if (atomic_fetch_add(&nr_reported, 1) >= MAX_REPORTS)
		return;
	fprintf(stderr, "mismatch [%s pid %d] ", me, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* True when the slot holds exactly (idx, tag); otherwise reports it. */
static int slot_verify(const uint64_t *w, size_t idx, uint32_t tag, const char *phase)
{
	size_t bad = t_slot_first_bad(w, SLOT_MAGIC ^ idx, tag, slot_seed(idx, tag)), nz = 0;

	if (bad == SLOT_WORDS)
		return 1;
	for (size_t i = 0; i < SLOT_WORDS; i++)
		nz += w[i] != 0;
	report("%s: slot %zu at %p: expected owner %u gen %u; found word0 naming slot %llu, "
	       "word1 owner %u gen %u; first bad word %zu; %zu of %zu words non-zero%s",
	       phase, idx, (const void *)w, TAG_OWNER(tag), TAG_GEN(tag),
	       (unsigned long long)(w[0] ^ SLOT_MAGIC), TAG_OWNER((uint32_t)w[1]),
	       TAG_GEN((uint32_t)w[1]), bad, nz, SLOT_WORDS,
	       nz == 0 ? " (the page reads as zeros: lost)" : "");
	return 0;
}

static uint32_t tag_of(size_t idx)
{
	return atomic_load_explicit(&M.tag[idx], memory_order_acquire) & ~TAG_LOCKED;
}

/* Rewrite every slot with @owner's pattern (next generation), in a
 * pseudo-random order so the writes do not follow the LRU order. */
static void rewrite_all(unsigned int owner)
{
	size_t n = M.s.nr_slots, start = (size_t)t_mix64(owner ^ getpid()) % n;

	for (size_t k = 0; k < n; k++) {
		size_t idx = (start + k * STRIDE_PRIME) % n;
		uint32_t t = TAG(owner, TAG_GEN(tag_of(idx)) + 1);

		slot_fill(M.s.slot[idx], idx, t);
		atomic_store_explicit(&M.tag[idx], t, memory_order_release);
	}
}

/* Rewrite the slots idx % 2 == @parity with @owner's pattern. */
static void rewrite_half(unsigned int owner, unsigned int parity)
{
	for (size_t idx = parity; idx < M.s.nr_slots; idx += 2) {
		uint32_t t = TAG(owner, TAG_GEN(tag_of(idx)) + 1);

		slot_fill(M.s.slot[idx], idx, t);
		atomic_store(&M.tag[idx], t);
	}
}

/* ---- tails and the small-node list ----------------------------------------- */

static uint64_t tail_seed(size_t chunk)
{
	return t_mix64(0x7a11ULL ^ (chunk << 8) ^ opt.seed);
}

static uint64_t node_sum(const struct node *n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ n->idx ^ ((uint64_t)n->len << 40);

	for (uint32_t i = 0; i < n->len; i++) {
		h ^= n->payload[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct node *node_new(uint64_t idx)
{
	uint32_t len = 8 + (uint32_t)(t_mix64(idx ^ 0xbeef) % 120);
	struct node *n = malloc(sizeof(*n) + len);

	t_check(n, "[%s] malloc(node) failed", me);
	n->idx = idx;
	n->len = len;
	n->pad = 0;
	t_pattern_fill(n->payload, len, idx ^ 0x51, 0);
	n->sum = node_sum(n);
	n->next = NULL;
	return n;
}

static void list_build(void)
{
	struct node **pp = &M.list;

	for (uint64_t i = 0; i < NR_NODES; i++) {
		*pp = node_new(i);
		pp = &(*pp)->next;
	}
}

/* Walk the list: NR_NODES nodes, each intact. */
static void list_verify(const char *phase)
{
	size_t count = 0;

	for (struct node *n = M.list; n; n = n->next) {
		if (n->sum != node_sum(n) || t_pattern_check(n->payload, n->len, n->idx ^ 0x51, 0) >= 0) {
			report("%s: list node %zu (idx %llu) at %p corrupt", phase, count,
			       (unsigned long long)n->idx, (void *)n);
			return;
		}
		if (++count > NR_NODES)
			break;
	}
	if (count != NR_NODES)
		report("%s: list has %zu nodes, expected %d", phase, count, NR_NODES);
}

/* A child's own malloc use: replace every other node with a fresh one. */
static void list_churn(uint64_t salt)
{
	for (struct node *n = M.list; n && n->next; n = n->next) {
		struct node *old = n->next, *fresh = node_new(old->idx);

		fresh->next = old->next;
		memset(old, 0xdd, sizeof(*old));
		free(old);
		n->next = fresh;
		n = fresh;
	}
	(void)salt;
}

/* ---- layout ----------------------------------------------------------------- */

static void layout_build(void)
{
	struct t_rng r;
	size_t want = opt.mb * T_MIB / T_PAGE_SIZE, n;

	t_rng_seed(&r, opt.seed ^ 0xf0f);
	M.tag = malloc(want * sizeof(*M.tag));
	t_check(M.tag, "metadata malloc failed");
	t_slots_build(&M.s, want, &r);
	for (size_t c = 0; c < M.s.nr_chunks; c++)
		t_pattern_fill(M.s.chunk[c].p + M.s.chunk[c].nr_slots * T_PAGE_SIZE,
			       M.s.chunk[c].tail, tail_seed(c), 0);
	n = M.s.nr_slots;
	for (size_t i = 0; i < n; i++) {
		atomic_init(&M.tag[i], TAG(0, 1));
		slot_fill(M.s.slot[i], i, TAG(0, 1));
	}
	list_build();
}

/* Verify every slot (skipping those a worker held locked: @locked counts
 * them), every chunk tail and the list. Returns the mismatches found. */
static unsigned long verify_all(const char *phase, size_t *locked)
{
	unsigned long before = atomic_load(&nr_bad);

	for (size_t idx = 0; idx < M.s.nr_slots; idx++) {
		uint32_t t = atomic_load(&M.tag[idx]);

		if (t & TAG_LOCKED) {
			t_check(locked, "[%s] %s: slot %zu is locked", me, phase, idx);
			(*locked)++;
			continue;
		}
		slot_verify(M.s.slot[idx], idx, t, phase);
	}
	for (size_t c = 0; c < M.s.nr_chunks; c++) {
		const char *tail = M.s.chunk[c].p + M.s.chunk[c].nr_slots * T_PAGE_SIZE;
		long bad = t_pattern_check(tail, M.s.chunk[c].tail, tail_seed(c), 0);

		if (bad >= 0)
			report("%s: tail of malloc chunk %zu (%zu bytes at %p): byte %ld wrong", phase,
			       c, M.s.chunk[c].tail, (const void *)tail, bad);
	}
	list_verify(phase);
	return atomic_load(&nr_bad) - before;
}

/* Pages of the slot memory (chunks and regions) that are not resident. */
static void slot_residency(size_t *cold, size_t *total)
{
	*cold = *total = 0;
	for (size_t c = 0; c < M.s.nr_chunks; c++) {
		size_t len = M.s.chunk[c].nr_slots * T_PAGE_SIZE + M.s.chunk[c].tail;
		long nr = t_nr_nonresident(M.s.chunk[c].p, len);

		t_check(nr >= 0, "mincore: %s", strerror(errno));
		*cold += (size_t)nr;
		*total += t_nr_pages(M.s.chunk[c].p, len);
	}
	for (size_t r = 0; r < M.s.nr_regions; r++) {
		long nr = t_nr_nonresident(M.s.region[r].p, M.s.region[r].len);

		t_check(nr >= 0, "mincore: %s", strerror(errno));
		*cold += (size_t)nr;
		*total += t_nr_pages(M.s.region[r].p, M.s.region[r].len);
	}
}

/* With --expect-cold P: at least P% of the slot pages must be non-resident. */
static void expect_cold(const char *when)
{
	size_t cold, total;

	slot_residency(&cold, &total);
	t_log("[%s] %s: %zu of %zu pages non-resident (%.0f%%)", me, when, cold, total,
	      100.0 * (double)cold / (double)total);
	if (opt.expect_cold_pct && cold * 100 < total * (size_t)opt.expect_cold_pct)
		t_fail("[%s] %s: only %zu of %zu pages non-resident, expected at least %d%% "
		       "(is the memory being paged?)", me, when, cold, total, opt.expect_cold_pct);
}

/* ---- extra memory a child allocates after the fork ------------------------- */

struct extra {
	char *m;       /* malloc'd half */
	char *r;       /* mmap'd half */
	size_t len;    /* of each half */
};

static uint64_t extra_seed(int half)
{
	return t_mix64((uint64_t)getpid() * 2 + (uint64_t)half + 0xe47a);
}

static void extra_alloc(struct extra *x, unsigned long mb)
{
	x->len = mb * T_MIB / 2;
	x->m = malloc(x->len);
	t_check(x->m, "[%s] malloc(%zu) after fork failed", me, x->len);
	x->r = mmap(NULL, x->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	t_check(x->r != MAP_FAILED, "[%s] mmap(%zu) after fork: %s", me, x->len, strerror(errno));
	t_pattern_fill(x->m, x->len, extra_seed(0), 0);
	t_pattern_fill(x->r, x->len, extra_seed(1), 0);
}

static void extra_verify(const struct extra *x, const char *phase)
{
	long bad = t_pattern_check(x->m, x->len, extra_seed(0), 0);

	if (bad >= 0)
		report("%s: malloc'd %zu MiB allocated after fork: byte %ld wrong", phase,
		       x->len / T_MIB, bad);
	bad = t_pattern_check(x->r, x->len, extra_seed(1), 0);
	if (bad >= 0)
		report("%s: mmap'd %zu MiB allocated after fork: byte %ld wrong", phase,
		       x->len / T_MIB, bad);
}

static void extra_free(struct extra *x)
{
	free(x->m);
	t_sys(munmap(x->r, x->len));
}

static void child_begin(const char *name, unsigned int owner)
{
	me = name;
	my_owner = owner;
	atomic_store(&nr_reported, 0);
	alarm(CHILD_ALARM);
}

static void log_rss(const char *when)
{
	t_log("[%s] %s: VmRSS %ld KiB, VmHWM %ld KiB", me, when, t_status_kb("VmRSS"),
	      t_status_kb("VmHWM"));
}

static void check_hwm(void)
{
	long hwm = t_status_kb("VmHWM");

	if (opt.max_rss_mb && hwm > (long)(opt.max_rss_mb * 1024))
		report("peak RSS (VmHWM) %ld KiB exceeds %lu MiB: the child is not kept under the "
		       "limit", hwm, opt.max_rss_mb);
}

static int finish(const char *what)
{
	unsigned long bad = atomic_load(&nr_bad);

	t_log("[%s pid %d] %s: %lu mismatches", me, (int)getpid(), what, bad);
	return bad ? T_EXIT_FAIL : T_EXIT_PASS;
}

/* ---- modes ------------------------------------------------------------------ */

static int mode_basic(int child_unmanaged)
{
	double t0 = t_now();
	int fails = 0;
	pid_t pid;

	layout_build();
	t_log("[parent] filled %zu slots (%lu MiB) in %zu malloc chunks + %zu mmap regions, "
	      "%d small nodes, %.1fs", M.s.nr_slots, opt.mb, M.s.nr_chunks, M.s.nr_regions, NR_NODES,
	      t_now() - t0);
	expect_cold("before fork");
	fflush(NULL);
	pid = t_sys(fork());
	if (pid == 0) {
		struct extra x;
		size_t cold, total;

		child_begin("child", 2);
		t0 = t_now();
		verify_all("child: inherited from parent", NULL);
		t_log("[child] verified everything inherited in %.1fs", t_now() - t0);
		rewrite_all(2);
		list_churn(2);
		extra_alloc(&x, opt.child_mb);
		verify_all("child: own writes", NULL);
		extra_verify(&x, "child: own allocation");
		log_rss("after writing");
		slot_residency(&cold, &total);
		if (child_unmanaged) {
			/* Nothing may page an unmanaged child: everything it just
			 * touched is still resident, and its RSS holds all of it. */
			long rss = t_status_kb("VmRSS");

			t_log("[child] %zu of %zu slot pages non-resident", cold, total);
			if (cold)
				report("unmanaged child: %zu of %zu slot pages are not resident after "
				       "touching all of them (something still pages it)", cold, total);
			if (rss < (long)((opt.mb + opt.child_mb) * 1024 * 9 / 10))
				report("unmanaged child: VmRSS %ld KiB < 90%% of the %lu MiB it "
				       "touched", rss, opt.mb + opt.child_mb);
		} else if (opt.expect_cold_pct) {
			/* It paged its own memory: much of it is non-resident again. */
			t_log("[child] %zu of %zu slot pages non-resident after writing", cold, total);
			if (cold * 100 < total * (size_t)opt.expect_cold_pct / 2)
				report("child: only %zu of %zu slot pages non-resident after writing "
				       "%lu MiB: it is not paging", cold, total, opt.mb + opt.child_mb);
		}
		check_hwm();
		extra_free(&x);
		exit(finish("child done"));
	}
	me = "parent";
	t0 = t_now();
	rewrite_all(1);
	verify_all("parent: own rewrite while the child runs", NULL);
	rewrite_all(1);
	t_log("[parent] rewrote everything twice in %.1fs while the child ran", t_now() - t0);
	fails += t_expect_child(pid, 0, 90, "child");
	verify_all("parent: after the child exited", NULL);
	list_churn(1);
	verify_all("parent: final", NULL);
	return fails ? T_EXIT_FAIL : finish("done");
}

/* -- threads -- */

static atomic_int stop_workers;
static atomic_ulong worker_ops;

static void *worker(void *arg)
{
	unsigned long id = (unsigned long)arg;
	struct t_rng r;

	t_rng_seed(&r, opt.seed * 977 + id);
	while (!atomic_load_explicit(&stop_workers, memory_order_relaxed)) {
		size_t idx = t_rng_below(&r, M.s.nr_slots);
		uint32_t t = atomic_load_explicit(&M.tag[idx], memory_order_acquire);

		if ((t & TAG_LOCKED) || !atomic_compare_exchange_strong(&M.tag[idx], &t, t | TAG_LOCKED))
			continue;
		slot_verify(M.s.slot[idx], idx, t, "worker");
		if (t_rng_below(&r, 4)) {
			t = TAG(1, TAG_GEN(t) + 1);
			slot_fill(M.s.slot[idx], idx, t);
		}
		atomic_store_explicit(&M.tag[idx], t, memory_order_release);
		atomic_fetch_add_explicit(&worker_ops, 1, memory_order_relaxed);
	}
	return NULL;
}

/*
 * Threads that exit before the forks, as a shrinking thread pool's do:
 * glibc caches their stacks with their TLS vectors (DTVs) still allocated
 * by malloc, i.e. in managed memory that goes cold. A later pthread_create
 * (in a child: its runtime's own threads too) reuses such a stack and
 * reads the old DTV. Each records its DTV address (x86-64: %fs:8) so the
 * test can say whether that page was resident at the fork.
 */
static void *short_lived(void *arg)
{
#if defined(__x86_64__)
	void *dtv;

	__asm__ volatile("mov %%fs:8, %0" : "=r"(dtv));
	*(void **)arg = dtv;
#else
	*(void **)arg = NULL;
#endif
	return NULL;
}

static int dtv_pages_cold(void *const *dtv, int n)
{
	int cold = 0;

	for (int i = 0; i < n; i++) {
		unsigned char v = 1;

		if (dtv[i] && !mincore((void *)((uintptr_t)dtv[i] & ~(T_PAGE_SIZE - 1)), T_PAGE_SIZE, &v))
			cold += !(v & 1);
	}
	return cold;
}

static void *child_thread(void *arg)
{
	struct extra *x = arg;

	extra_alloc(x, 8);
	extra_verify(x, "child thread: own allocation");
	return NULL;
}

static int mode_threads(void)
{
	pthread_t tid[64];
	int fails = 0;

	t_check(opt.threads >= 1 && opt.threads <= 64, "--threads 1..64");
	layout_build();
	/* Age the fill before the workers start, so they fault on cold pages. */
	rewrite_all(1);
	expect_cold("before the workers start");
	for (unsigned long i = 0; i < opt.threads; i++)
		t_check(!pthread_create(&tid[i], NULL, worker, (void *)i), "pthread_create");
	{
		pthread_t sl[2];
		void *dtv[2] = { NULL, NULL };
		double until = t_now() + 5;

		for (int k = 0; k < 2; k++)
			t_check(!pthread_create(&sl[k], NULL, short_lived, &dtv[k]), "pthread_create");
		for (int k = 0; k < 2; k++)
			pthread_join(sl[k], NULL);
		/* Under pressure the workers push the idle DTV pages out. */
		while (opt.expect_cold_pct && dtv_pages_cold(dtv, 2) < 2 && t_now() < until)
			usleep(50000);
		t_log("[parent] 2 threads exited before the forks; their TLS vectors at %p, %p: "
		      "%d of 2 pages non-resident", dtv[0], dtv[1], dtv_pages_cold(dtv, 2));
	}
	for (unsigned int f = 0; f < opt.forks; f++) {
		pid_t pid;

		usleep(250000);
		fflush(NULL);
		pid = t_sys(fork());
		if (pid == 0) {
			char name[32];
			size_t locked = 0;
			pthread_t t;
			struct extra x;

			snprintf(name, sizeof(name), "child %u", f);
			child_begin(name, 2);
			verify_all("child: inherited from a multithreaded parent", &locked);
			if (locked > opt.threads)
				report("%zu slots locked at the fork, but only %u workers", locked,
				       opt.threads);
			/* malloc, mmap and a new thread work in the child. */
			t_check(!pthread_create(&t, NULL, child_thread, &x), "[%s] pthread_create", me);
			pthread_join(t, NULL);
			t_log("[%s] %zu slots were mid-update at the fork (skipped)", me, locked);
			rewrite_half(2, f & 1);
			locked = 0;
			verify_all("child: own writes", &locked);
			extra_free(&x);
			exit(finish("child done"));
		}
		{
			char who[64];

			snprintf(who, sizeof(who), "child %u of a multithreaded parent", f);
			fails += t_expect_child(pid, 0, 60, who);
		}
	}
	atomic_store(&stop_workers, 1);
	for (unsigned int i = 0; i < opt.threads; i++)
		pthread_join(tid[i], NULL);
	t_log("[parent] workers did %lu operations during %u forks",
	      atomic_load(&worker_ops), opt.forks);
	verify_all("parent: after the forks", NULL);
	return fails ? T_EXIT_FAIL : finish("done");
}

/* -- nested -- */

static int nested_level(unsigned int level)
{
	char name[32];
	int fails = 0;

	if (level == 0)
		me = "top";
	else {
		snprintf(name, sizeof(name), "level %u", level);
		child_begin(strdup(name), 10 + level);
	}
	if (level > 0) {
		verify_all("inherited", NULL);
		/* A mixture for the next level: half this level's data. */
		rewrite_half(10 + level, level & 1);
	}
	if (level < opt.depth) {
		pid_t pid;

		fflush(NULL);
		pid = t_sys(fork());
		if (pid == 0)
			exit(nested_level(level + 1));
		/* Same addresses, this level's own pattern, while the child runs. */
		rewrite_all(50 + level);
		verify_all("own rewrite while the child runs", NULL);
		fails += t_expect_child(pid, 0, 90, "next level");
		verify_all("after the next level exited", NULL);
	} else {
		struct extra x;

		rewrite_all(50 + level);
		extra_alloc(&x, opt.child_mb);
		verify_all("leaf: own writes", NULL);
		extra_verify(&x, "leaf: own allocation");
		check_hwm();
		extra_free(&x);
	}
	return fails ? T_EXIT_FAIL : finish("done");
}

static int mode_nested(void)
{
	t_check(opt.depth >= 1 && opt.depth <= 8, "--depth 1..8");
	layout_build();
	expect_cold("before the first fork");
	return nested_level(0);
}

/* -- loop -- */

static int mode_loop(void)
{
	size_t *sample = malloc(opt.sample * sizeof(*sample)), nr_rew = 16;
	size_t rewritten[16], cold_total = 0, sampled_total = 0;
	unsigned int nr_cold_iters = 0;
	double t0, t_fork = 0;
	struct t_rng r;
	int fails = 0;

	layout_build();
	t_check(sample, "malloc");
	t_rng_seed(&r, opt.seed ^ 0x100b);
	expect_cold("before the first fork");
	t0 = t_now();
	for (unsigned int i = 0; i < opt.forks && !fails; i++) {
		size_t nr = 0, cold_here = 0;
		pid_t pid;
		double tf;

		/* The parent moves on between forks: each child sees a new state. */
		for (size_t k = 0; k < nr_rew; k++) {
			size_t idx = t_rng_below(&r, M.s.nr_slots);
			uint32_t t = TAG(1, TAG_GEN(tag_of(idx)) + 1);

			slot_fill(M.s.slot[idx], idx, t);
			atomic_store(&M.tag[idx], t);
			rewritten[k] = idx;
		}
		/* Sample slots whose page is not resident now (any, natively). */
		for (unsigned int tries = 0; nr < opt.sample && tries < opt.sample * 64; tries++) {
			size_t idx = t_rng_below(&r, M.s.nr_slots);
			unsigned char v;

			if (mincore((void *)((uintptr_t)M.s.slot[idx] & ~(T_PAGE_SIZE - 1)), T_PAGE_SIZE, &v))
				t_fail("mincore: %s", strerror(errno));
			if (!(v & 1))
				cold_here++;
			else if (opt.expect_cold_pct && tries < opt.sample * 32)
				continue; /* prefer cold ones */
			sample[nr++] = idx;
		}
		cold_total += cold_here;
		sampled_total += nr;
		nr_cold_iters += cold_here * 2 >= nr;
		fflush(NULL);
		tf = t_now();
		pid = t_sys(fork());
		if (pid == 0) {
			child_begin("loop child", 2);
			for (size_t k = 0; k < nr; k++)
				slot_verify(M.s.slot[sample[k]], sample[k], tag_of(sample[k]), "sampled");
			for (size_t k = 0; k < nr_rew; k++)
				slot_verify(M.s.slot[rewritten[k]], rewritten[k], tag_of(rewritten[k]),
					    "rewritten just before the fork");
			if (atomic_load(&nr_bad)) {
				t_log("[loop child %u] %lu mismatches", i, atomic_load(&nr_bad));
				_exit(T_EXIT_FAIL);
			}
			if (i & 1)
				exit(T_EXIT_PASS);
			_exit(T_EXIT_PASS);
		}
		{
			char who[64];

			snprintf(who, sizeof(who), "loop child %u of %u", i + 1, opt.forks);
			fails += t_expect_child(pid, 0, 30, who);
		}
		t_fork += t_now() - tf;
		if (opt.budget_s && t_now() - t0 > opt.budget_s && i + 1 < opt.forks) {
			double dt = t_now() - t0;

			printf("fork_loop: only %u of %u forks in %.2f s (%.2f ms per "
			       "fork+verify+exit+wait): over the %.0f s budget\n", i + 1, opt.forks,
			       dt, dt * 1e3 / (i + 1), opt.budget_s);
			fflush(stdout);
			t_fail("fork is too slow: %u forks would take about %.0f s (%.2f ms each), "
			       "the budget is %.0f s", opt.forks, dt / (i + 1) * opt.forks,
			       dt * 1e3 / (i + 1), opt.budget_s);
		}
	}
	{
		double dt = t_now() - t0;

		printf("fork_loop: %u forks in %.2f s (%.2f ms per fork+verify+exit+wait, "
		       "%.2f ms of it in the fork/child); %zu of %zu sampled slots were "
		       "non-resident at their fork\n", opt.forks, dt, dt * 1e3 / opt.forks,
		       t_fork * 1e3 / opt.forks, cold_total, sampled_total);
		fflush(stdout);
	}
	if (fails)
		return T_EXIT_FAIL;
	if (opt.expect_cold_pct && nr_cold_iters * 2 < opt.forks)
		t_fail("only %u of %u children got a mostly non-resident sample", nr_cold_iters,
		       opt.forks);
	verify_all("parent: after the loop", NULL);
	free(sample);
	return finish("done");
}

/* -- exit -- */

static int mode_exit(void)
{
	pid_t *pids;
	int fails = 0;
	size_t per = 0;

	layout_build();
	expect_cold("before the first fork");
	pids = malloc(opt.forks * sizeof(*pids));
	t_check(pids, "malloc");
	per = M.s.nr_slots / (opt.forks ? opt.forks : 1) + 1;
	for (unsigned int i = 0; i < opt.forks; i++) {
		fflush(NULL);
		pids[i] = t_sys(fork());
		if (pids[i] == 0) {
			if (i % 3 == 0)
				_exit(7);
			if (i % 3 == 1)
				exit(7);
			_Exit(7);
		}
		/* Keep paging without waiting: a slice of slots, new generation. */
		for (size_t k = i * per; k < (i + 1) * per && k < M.s.nr_slots; k++) {
			uint32_t t = TAG(1, TAG_GEN(tag_of(k)) + 1);

			slot_verify(M.s.slot[k], k, tag_of(k), "parent: between forks");
			slot_fill(M.s.slot[k], k, t);
			atomic_store(&M.tag[k], t);
		}
	}
	for (unsigned int i = 0; i < opt.forks; i++) {
		char who[64];

		snprintf(who, sizeof(who), "child %u of %u that exits at once", i + 1, opt.forks);
		fails += t_expect_child(pids[i], 7, 30, who);
	}
	verify_all("parent: after all children exited", NULL);
	rewrite_all(1);
	verify_all("parent: final", NULL);
	free(pids);
	return fails ? T_EXIT_FAIL : finish("done");
}

/* -- churn (signal tests) -- */

static int mode_churn(void)
{
	pid_t parent = getppid();

	if (opt.die_with_parent) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			return T_EXIT_PASS;
	}
	layout_build();
	for (unsigned int c = 0; c < opt.children; c++) {
		fflush(NULL);
		if (t_sys(fork()) == 0) {
			child_begin("churn child", 2);
			alarm(0);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() == 1)
				_exit(0);
			break;
		}
	}
	if (opt.exec_child && !strcmp(me, "parent")) {
		char *argv[] = { (char *)opt.exec_child, "churn", "--mb", "48",
				 "--die-with-parent", NULL };
		pid_t pid;
		int r = posix_spawn(&pid, opt.exec_child, NULL, NULL, argv, environ);

		t_check(r == 0, "posix_spawn(%s): %s", opt.exec_child, strerror(r));
	}
	for (unsigned long pass = 1;; pass++) {
		rewrite_all(my_owner + 1);
		if (verify_all("churn", NULL))
			return T_EXIT_FAIL;
		if (pass == 1)
			t_log("[%s pid %d] churning", me, (int)getpid());
	}
}

/* -- self-test -- */

static int mode_selftest(void)
{
	pid_t pid;
	int fails;

	opt.mb = opt.mb > 16 ? 16 : opt.mb;
	layout_build();
	fflush(NULL);
	pid = t_sys(fork());
	if (pid == 0) {
		size_t a = M.s.nr_slots / 3, b = M.s.nr_slots / 2, c = M.s.nr_slots - 1;
		unsigned long bad;

		child_begin("self-test child", 2);
		((uint8_t *)M.s.slot[a])[1234] ^= 0x10;     /* one flipped bit */
		slot_fill(M.s.slot[b], b, TAG(1, 1));       /* another owner's data */
		memset(M.s.slot[c], 0, T_PAGE_SIZE);        /* a lost page */
		for (size_t k = 0; k < M.s.nr_chunks; k++)  /* one tail byte */
			if (M.s.chunk[k].tail) {
				M.s.chunk[k].p[M.s.chunk[k].nr_slots * T_PAGE_SIZE + M.s.chunk[k].tail - 1] ^= 1;
				break;
			}
		M.list->next->next->payload[3] ^= 0x80;   /* a small node */
		bad = verify_all("self-test", NULL);
		t_log("fork_pages self-test: %lu mismatches reported (want 5)", bad);
		_exit(bad == 5 ? T_EXIT_PASS : T_EXIT_FAIL);
	}
	fails = t_expect_child(pid, 0, 30, "self-test child");
	/* The parent's copy is untouched by the child's corruption. */
	verify_all("self-test parent", NULL);
	return fails ? T_EXIT_FAIL : finish("self-test parent");
}

static void usage(void)
{
	fprintf(stderr, "usage: fork_pages basic|threads|nested|loop|exit|unmanaged|churn|selftest "
			"[--mb N] [--child-mb N] [--threads N] [--forks N] [--depth N] "
			"[--sample N] [--expect-cold PCT] [--max-rss MB] [--seed N] "
			"[--children N] [--exec-child PATH] [--die-with-parent] [--budget S]\n");
	exit(T_EXIT_FAIL);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	opt.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--die-with-parent")) {
			opt.die_with_parent = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "--mb"))
			opt.mb = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--child-mb"))
			opt.child_mb = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--threads"))
			opt.threads = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--forks"))
			opt.forks = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--depth"))
			opt.depth = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--sample"))
			opt.sample = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--children"))
			opt.children = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--expect-cold"))
			opt.expect_cold_pct = atoi(argv[++i]);
		else if (!strcmp(a, "--budget"))
			opt.budget_s = atof(argv[++i]);
		else if (!strcmp(a, "--max-rss"))
			opt.max_rss_mb = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--seed"))
			opt.seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(a, "--exec-child"))
			opt.exec_child = argv[++i];
		else
			usage();
	}
	if (!opt.mb || opt.mb > 4096)
		usage();
	if (!strcmp(opt.mode, "basic"))
		return mode_basic(0);
	if (!strcmp(opt.mode, "unmanaged"))
		return mode_basic(1);
	if (!strcmp(opt.mode, "threads"))
		return mode_threads();
	if (!strcmp(opt.mode, "nested"))
		return mode_nested();
	if (!strcmp(opt.mode, "loop"))
		return mode_loop();
	if (!strcmp(opt.mode, "exit"))
		return mode_exit();
	if (!strcmp(opt.mode, "churn"))
		return mode_churn();
	if (!strcmp(opt.mode, "selftest"))
		return mode_selftest();
	usage();
}
