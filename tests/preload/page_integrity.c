/* SPDX-License-Identifier: MIT */
/*
 * page_integrity: every byte written to managed memory comes back, across
 * eviction, swap-in and concurrent rewrites.
 *
 * The footprint (--mb, default 320 MiB; run under a 32 MiB limit) is split
 * between malloc() chunks of mixed sizes and MAP_PRIVATE|MAP_ANONYMOUS
 * regions. It is cut into 4 KiB "slots", one per page (malloc'd slots need
 * not be page aligned, so some straddle two pages). Each slot holds
 *
 *   word 0        MAGIC ^ slot index
 *   word 1        generation
 *   words 2..510  splitmix stream seeded by (index, generation)
 *   word 511      FNV-1a checksum of words 0..510
 *
 * so a page that comes back zeroed, stale (older generation), from another
 * slot, or torn is told apart in the report.
 *
 * The slot table and the per-slot expected generation live in malloc'd
 * (managed) memory too; the generation word doubles as a per-slot lock
 * (bit 31), so the lock words themselves get evicted and faulted back.
 *
 * Phases: fill all slots (gen 1); verify all in reverse order; --threads
 * workers verify+rewrite (3/4) or only verify (1/4) random slots; verify
 * all; free everything, then check that fresh mmap and calloc memory reads
 * as zero (an evicted page's swap slot must not leak into new memory).
 *
 * --self-test corrupts two slots behind the checker's back and passes only
 * if exactly those two are reported, proving the checker can fail.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdatomic.h>

#define SLOT_WORDS T_SLOT_WORDS
#define SLOT_MAGIC 0x5553574150504147ULL /* "USWAPPAG" */
#define GEN_LOCKED 0x80000000u
#define MAX_REPORTS 8

struct options {
	unsigned long mb;
	unsigned int nr_threads;
	unsigned long nr_ops;
	uint64_t seed;
	int self_test;
};

struct layout {
	struct t_slots s;	     /* the slots, their chunks and regions */
	_Atomic uint32_t *gen;	     /* expected generation | GEN_LOCKED */
};

static struct layout L;
static struct options opt = {
	.mb = 320, .nr_threads = 4, .nr_ops = 40000, .seed = 1,
};
static atomic_ulong nr_mismatch;
static atomic_ulong nr_reported;

static uint64_t slot_seed(size_t idx, uint32_t gen)
{
	return t_mix64(((uint64_t)idx << 32) ^ gen ^ opt.seed);
}

static void slot_fill(uint64_t *w, size_t idx, uint32_t gen)
{
	t_slot_fill(w, SLOT_MAGIC ^ idx, gen, slot_seed(idx, gen));
}

/* Returns true when the slot holds exactly (idx, gen); otherwise counts and
 * describes the mismatch. */
static int slot_verify(const uint64_t *w, size_t idx, uint32_t gen,
		       const char *phase)
{
	size_t bad_word = t_slot_first_bad(w, SLOT_MAGIC ^ idx, gen, slot_seed(idx, gen));

	if (bad_word == SLOT_WORDS)
		return 1;

	atomic_fetch_add(&nr_mismatch, 1);
	if (atomic_fetch_add(&nr_reported, 1) < MAX_REPORTS) {
		int all_zero = 1;

		for (size_t i = 0; i < SLOT_WORDS; i++)
			all_zero &= w[i] == 0;
		t_log("mismatch [%s] slot %zu at %p: expected gen %u, word0 "
		      "names slot %llu, word1 gen %llu, first bad word %zu%s",
		      phase, idx, (const void *)w, gen,
		      (unsigned long long)(w[0] ^ SLOT_MAGIC),
		      (unsigned long long)w[1], bad_word,
		      all_zero ? " (page reads as all zeros)" : "");
	}
	return 0;
}

/* Cut opt.mb MiB into slots: half from malloc chunks, half from mmap. */
static void layout_build(void)
{
	struct t_rng r;
	size_t want = opt.mb * T_MIB / T_PAGE_SIZE;

	t_rng_seed(&r, opt.seed ^ 0x1a7);
	L.gen = malloc(want * sizeof(*L.gen));
	t_check(L.gen, "metadata malloc failed");
	t_slots_build(&L.s, want, &r);
}

static void *worker(void *arg)
{
	unsigned long id = (unsigned long)arg;
	unsigned long done = 0, busy = 0;
	struct t_rng r;

	t_rng_seed(&r, opt.seed * 131 + id);
	while (done < opt.nr_ops) {
		size_t idx = t_rng_below(&r, L.s.nr_slots);
		uint32_t g = atomic_load_explicit(&L.gen[idx], memory_order_acquire);
		int rewrite = t_rng_below(&r, 4) != 0;

		if ((g & GEN_LOCKED) ||
		    !atomic_compare_exchange_strong(&L.gen[idx], &g, g | GEN_LOCKED)) {
			busy++;
			continue;
		}
		slot_verify(L.s.slot[idx], idx, g, "random");
		if (rewrite) {
			g++;
			slot_fill(L.s.slot[idx], idx, g);
		}
		atomic_store_explicit(&L.gen[idx], g, memory_order_release);
		done++;
	}
	(void)busy;
	return NULL;
}

static void verify_all(const char *phase, int reverse)
{
	for (size_t k = 0; k < L.s.nr_slots; k++) {
		size_t idx = reverse ? L.s.nr_slots - 1 - k : k;

		slot_verify(L.s.slot[idx], idx, atomic_load(&L.gen[idx]), phase);
	}
}

/* After everything was freed: brand-new anonymous memory must read as zero
 * even if it reuses addresses whose old contents sit in the swap file. */
static void check_fresh_zero(void)
{
	size_t len = opt.mb * T_MIB / 4;
	unsigned long nr_bad = 0;
	uint64_t *m, *c;

	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	t_check(m != MAP_FAILED, "mmap fresh: %s", strerror(errno));
	for (size_t i = 0; i < len / sizeof(*m); i += 7)
		nr_bad += m[i] != 0;
	t_check(nr_bad == 0, "fresh mmap: %lu sampled words not zero", nr_bad);
	t_sys(munmap(m, len));

	c = calloc(len / sizeof(*c), sizeof(*c));
	t_check(c, "calloc(%zu) failed", len);
	for (size_t i = 0; i < len / sizeof(*c); i += 7)
		nr_bad += c[i] != 0;
	t_check(nr_bad == 0, "calloc: %lu sampled words not zero", nr_bad);
	free(c);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--mb N] [--threads N] [--ops N-per-thread] "
		"[--seed N] [--self-test]\n", argv0);
	exit(T_EXIT_FAIL);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--self-test")) {
			opt.self_test = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage(argv[0]);
		if (!strcmp(a, "--mb"))
			opt.mb = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--threads"))
			opt.nr_threads = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--ops"))
			opt.nr_ops = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(a, "--seed"))
			opt.seed = strtoull(argv[++i], NULL, 0);
		else
			usage(argv[0]);
	}
	if (!opt.mb || !opt.nr_threads || opt.nr_threads > 64)
		usage(argv[0]);
}

int main(int argc, char **argv)
{
	pthread_t tid[64];
	double t0 = t_now(), t_fill, t_rev, t_rand, t_final;
	unsigned long mismatch;

	parse_args(argc, argv);
	layout_build();

	for (size_t i = 0; i < L.s.nr_slots; i++) {
		atomic_init(&L.gen[i], 1);
		slot_fill(L.s.slot[i], i, 1);
	}
	t_fill = t_now();

	if (opt.self_test) {
		/* One flipped bit in the middle of a slot, one stale slot. */
		size_t a = L.s.nr_slots / 3, b = L.s.nr_slots - 2;

		L.s.slot[a][SLOT_WORDS / 2] ^= 1ULL << 17;
		atomic_store(&L.gen[b], 2);
		verify_all("self-test", 0);
		mismatch = atomic_load(&nr_mismatch);
		t_log("page_integrity self-test: %lu mismatches reported (want 2)",
		      mismatch);
		return mismatch == 2 ? T_EXIT_PASS : T_EXIT_FAIL;
	}

	verify_all("reverse", 1);
	t_rev = t_now();

	for (unsigned long i = 0; i < opt.nr_threads; i++)
		t_check(!pthread_create(&tid[i], NULL, worker, (void *)i),
			"pthread_create failed");
	for (unsigned int i = 0; i < opt.nr_threads; i++)
		pthread_join(tid[i], NULL);
	t_rand = t_now();

	verify_all("final", 0);
	t_final = t_now();

	mismatch = atomic_load(&nr_mismatch);
	{
		uint64_t total_gen = 0;

		for (size_t i = 0; i < L.s.nr_slots; i++)
			total_gen += atomic_load(&L.gen[i]);
		t_log("page_integrity: %zu slots (%lu MiB) in %zu malloc chunks "
		      "+ %zu mmap regions; %u threads x %lu ops; rewrites %llu; "
		      "mismatches %lu; fill %.1fs reverse %.1fs random %.1fs "
		      "final %.1fs",
		      L.s.nr_slots, opt.mb, L.s.nr_chunks, L.s.nr_regions,
		      opt.nr_threads, opt.nr_ops,
		      (unsigned long long)(total_gen - L.s.nr_slots), mismatch,
		      t_fill - t0, t_rev - t_fill, t_rand - t_rev, t_final - t_rand);
	}
	t_check(mismatch == 0, "%lu slot mismatches", mismatch);

	for (size_t i = 0; i < L.s.nr_chunks; i++)
		free(L.s.chunk[i].p);
	for (size_t i = 0; i < L.s.nr_regions; i++)
		t_sys(munmap(L.s.region[i].p, L.s.region[i].len));
	free(L.s.slot);
	free((void *)L.gen);
	free(L.s.chunk);
	free(L.s.region);

	check_fresh_zero();
	return T_EXIT_PASS;
}
