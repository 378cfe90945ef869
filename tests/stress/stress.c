/* SPDX-License-Identifier: MIT */
/*
 * stress.c - checksummed memory stress with forks and a hang watchdog.
 *
 * An ordinary program (it knows nothing about uswap): N worker threads do
 * random read/verify/modify/write on a large region, malloc/realloc/free
 * churn, mmap/munmap/mremap churn and madvise(DONTNEED/FREE) churn, all
 * with content verification; a fork thread forks every few ms and each
 * child verifies a sample of what it inherited and exits with a status the
 * parent checks; a watchdog prints every thread's state when one makes no
 * progress for --watchdog seconds.
 *
 * Every page of the big region is self-describing: word 0 is a magic xor
 * the page index (or BUSY while its owner rewrites it), word 1 the page's
 * generation, words 2.. a pattern of (seed, index, generation). Each page
 * is owned by one worker (index % threads), which keeps the generation it
 * wrote last in shadow[]; so a wrong byte anywhere, a stale page or a page
 * read back as zeros is caught, with its address, the expected and the
 * found word, and the operation.
 *
 * A child sees, for every writer thread, a prefix of that thread's stores
 * (a store to a page fork has already copied blocks until the fork is
 * done), so the writer orders its stores (BUSY, body, header, shadow) and
 * the child accepts a page generation of shadow or shadow + 1.
 *
 * Exit: 0 all verified (one summary line), 1 a setup error, 2 mismatches
 * (or a child that did not exit 0), 3 a hang (the report on stderr).
 *
 *   stress --threads 32 --mb 256 --phases rw --fork-ms 20 --forks 1000
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common.h"

#define PAGE 4096UL
#define WORDS (PAGE / 8)
#define MAGIC_PAGE 0x5354524553535047ULL /* "STRESSPG" */
#define MAGIC_BUSY 0x4255535942555359ULL /* "BUSYBUSY" */
#define MAGIC_MAP 0x4d41505041474521ULL
#define MAGIC_HEAP 0x48454150424c4b21ULL

/* shadow[]: generation in the low bits, the state after an madvise above. */
#define SH_ZERO (1ULL << 62) /* DONTNEED: must read back as zeros */
#define SH_FREE (1ULL << 61) /* FREE: zeros or generation */
#define SH_GEN(s) ((s) & ((1ULL << 56) - 1))

#define EXIT_OK 0
#define EXIT_ERROR 1
#define EXIT_MISMATCH 2
#define EXIT_HANG 3

#define MAP_SLOTS 16
#define HEAP_SLOTS 64
#define MAX_CHILDREN 64
#define MAX_RECS 260

enum { PH_RW = 1, PH_MALLOC = 2, PH_MMAP = 4, PH_MADVISE = 8 };

static struct {
	int threads;
	uint64_t mb;
	double seconds;
	uint64_t seed;
	unsigned phases;
	int fork_ms;
	long forks;
	int children;
	int child_pages;
	int map_pages;	   /* the largest churned mapping, pages */
	int heap_slots;	   /* blocks each worker keeps */
	uint64_t heap_max; /* the largest block, bytes */
	int watchdog;
	bool prefill;
	bool final_verify;
	int max_report;
	bool child_exit;    /* exit() rather than _exit() in children */
	bool region_malloc; /* the big region from malloc, not mmap */
	int signal_exit;    /* 1: end by a signal handler calling _exit, 2: exit */
	bool inject_zero;   /* self-test: zero a page behind its owner's back */
	bool inject_hang;   /* self-test: worker 0 stops making progress */
	bool compressible;  /* pattern words keep one byte: pages compress */
} opt = {
	.threads = 4,
	.mb = 128,
	.seconds = 10,
	.seed = 1,
	.phases = PH_RW | PH_MALLOC | PH_MMAP | PH_MADVISE,
	.fork_ms = 0,
	.forks = 0,
	.children = 4,
	.child_pages = 64,
	.map_pages = 32,
	.heap_slots = 64,
	.heap_max = 2 << 20,
	.watchdog = 20,
	.prefill = true,
	.final_verify = true,
	.max_report = 20,
};

/* ---- per-thread progress records, read by the watchdog ------------------ */

struct rec {
	char name[16];
	_Atomic pid_t tid;
	_Atomic int watched; /* 0: idle on purpose (the main thread waiting) */
	_Atomic uint64_t ops;
	_Atomic uint64_t last_ns;
	_Atomic(const char *) op;
	_Atomic uintptr_t addr;
};

static struct rec recs[MAX_RECS];
static _Atomic int nrecs;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct rec *rec_new(const char *name, int watched)
{
	struct rec *r = &recs[atomic_fetch_add(&nrecs, 1)];

	snprintf(r->name, sizeof(r->name), "%s", name);
	atomic_store(&r->tid, (pid_t)syscall(SYS_gettid));
	atomic_store(&r->op, "start");
	atomic_store(&r->last_ns, now_ns());
	atomic_store(&r->watched, watched);
	return r;
}

/* Before each operation: what it is and where; counts as progress. */
static inline void rec_op(struct rec *r, const char *op, const void *addr)
{
	atomic_store_explicit(&r->op, op, memory_order_relaxed);
	atomic_store_explicit(&r->addr, (uintptr_t)addr, memory_order_relaxed);
	atomic_store_explicit(&r->last_ns, now_ns(), memory_order_relaxed);
	atomic_fetch_add_explicit(&r->ops, 1, memory_order_relaxed);
}

/* ---- output without stdio or malloc (safe in children and the watchdog) -- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(2, buf + off, (size_t)(n - off));

		if (w <= 0 && errno != EINTR)
			break;
		if (w > 0)
			off += (int)w;
	}
}

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("stress: error: %s", buf);
	syscall(SYS_exit_group, EXIT_ERROR);
	_exit(EXIT_ERROR);
}

static _Atomic uint64_t mismatches;
static bool in_child;

/* One wrong word: say where, what was expected, what was found. */
static void mismatch(const char *who, const char *op, const void *addr, uint64_t expected,
		     uint64_t got, const char *note)
{
	uint64_t n = atomic_fetch_add(&mismatches, 1);

	if ((int)n < opt.max_report)
		say("stress: MISMATCH %s%s op=%s addr=%p expected=0x%016llx got=0x%016llx%s%s",
		    in_child ? "child " : "", who, op, addr, (unsigned long long)expected,
		    (unsigned long long)got, note ? " " : "", note ? note : "");
}

/* ---- patterns ----------------------------------------------------------- */

static inline uint64_t pat(uint64_t a, uint64_t b, uint64_t i)
{
	uint64_t v = t_mix64(a * 0x9e3779b97f4a7c15ULL ^ t_mix64(b ^ (i << 40)) ^ opt.seed);

	/* --compressible: one random byte a word, the rest zeros (lz4 keeps
	 * about a third of a page): a stale page still differs in ~510 words. */
	return opt.compressible ? v & 0xff : v;
}

static bool all_zero(const uint64_t *w, size_t nwords)
{
	for (size_t i = 0; i < nwords; i++)
		if (w[i])
			return false;
	return true;
}

static inline uint64_t rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return t_mix64(*s);
}

/* ---- the big region ------------------------------------------------------ */

static uint64_t *region; /* npages pages */
static size_t npages;
static _Atomic uint64_t *shadow; /* per page: generation | state */
static _Atomic int stop;
static _Atomic int prefilled;

static inline uint64_t *page_at(size_t idx)
{
	return region + idx * WORDS;
}

static void page_write(size_t idx, uint64_t gen)
{
	volatile uint64_t *p = page_at(idx);

	p[0] = MAGIC_BUSY;
	atomic_thread_fence(memory_order_release);
	for (size_t i = 2; i < WORDS; i++)
		p[i] = pat(idx, gen, i);
	p[1] = gen;
	atomic_thread_fence(memory_order_release);
	p[0] = MAGIC_PAGE ^ idx;
	atomic_thread_fence(memory_order_release);
	atomic_store(&shadow[idx], gen);
}

/*
 * Check a page against generation @gen: false with one mismatch line if
 * any word is wrong. @zero_ok: an all-zero page is also right.
 */
static bool page_check(const char *who, const char *op, size_t idx, uint64_t gen, bool zero_ok)
{
	const uint64_t *p = page_at(idx);
	bool z = all_zero(p, WORDS);

	if (z && zero_ok)
		return true;
	if (p[0] != (MAGIC_PAGE ^ idx)) {
		mismatch(who, op, &p[0], MAGIC_PAGE ^ idx, p[0],
			 z ? "(page read back as zeros)" : "(page header)");
		return false;
	}
	if (p[1] != gen) {
		mismatch(who, op, &p[1], gen, p[1], "(page generation: stale or wrong page)");
		return false;
	}
	for (size_t i = 2; i < WORDS; i++)
		if (p[i] != pat(idx, gen, i)) {
			mismatch(who, op, &p[i], pat(idx, gen, i), p[i], "(page body)");
			return false;
		}
	return true;
}

/* The owner's exact check, from its shadow entry. */
static void page_verify_owner(const char *who, const char *op, size_t idx)
{
	uint64_t s = atomic_load(&shadow[idx]);
	const uint64_t *p = page_at(idx);

	if (s & SH_ZERO) {
		for (size_t i = 0; i < WORDS; i++)
			if (p[i]) {
				mismatch(who, op, &p[i], 0, p[i],
					 "(MADV_DONTNEED page must read zeros)");
				return;
			}
		return;
	}
	if (SH_GEN(s) == 0) { /* never written (no prefill) */
		for (size_t i = 0; i < WORDS; i++)
			if (p[i]) {
				mismatch(who, op, &p[i], 0, p[i],
					 "(untouched page must read zeros)");
				return;
			}
		return;
	}
	page_check(who, op, idx, SH_GEN(s), (s & SH_FREE) != 0);
}

/* ---- mmap slots ---------------------------------------------------------- */

struct mslot {
	uint64_t *addr;
	size_t n; /* pages */
	uint64_t tag;
};

static void map_fill(struct mslot *m, size_t from, size_t to)
{
	for (size_t p = from; p < to; p++) {
		uint64_t *w = m->addr + p * WORDS;

		w[0] = MAGIC_MAP ^ m->tag ^ p;
		for (size_t i = 1; i < WORDS; i++)
			w[i] = pat(m->tag, p, i);
	}
}

/* Pages [from, to) carry their pattern (or zeros, if @zero_ok). */
static bool map_check(const char *who, const char *op, struct mslot *m, size_t from, size_t to,
		      bool zero_ok)
{
	for (size_t p = from; p < to; p++) {
		uint64_t *w = m->addr + p * WORDS;
		bool z = all_zero(w, WORDS);

		if (z && zero_ok)
			continue;
		if (w[0] != (MAGIC_MAP ^ m->tag ^ p)) {
			mismatch(who, op, w, MAGIC_MAP ^ m->tag ^ p, w[0],
				 z ? (p == 0 ? "(mapping's first page read back as zeros)" :
					       "(mapping page read back as zeros)") :
				     "(mapping page header)");
			return false;
		}
		for (size_t i = 1; i < WORDS; i++)
			if (w[i] != pat(m->tag, p, i)) {
				mismatch(who, op, &w[i], pat(m->tag, p, i), w[i],
					 "(mapping page body)");
				return false;
			}
	}
	return true;
}

static bool must_be_zero(const char *who, const char *op, uint64_t *w, size_t nwords,
			 const char *note)
{
	for (size_t i = 0; i < nwords; i++)
		if (w[i]) {
			mismatch(who, op, &w[i], 0, w[i], note);
			return false;
		}
	return true;
}

/* A fresh mapping: zeros, then written in full and its first page read back. */
static void map_new(struct rec *r, struct mslot *m, uint64_t *rs)
{
	size_t n = 1 + rnd(rs) % (size_t)opt.map_pages;
	void *a;

	rec_op(r, "mmap", NULL);
	a = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		die("mmap %zu pages: %s", n * PAGE, strerror(errno));
	m->addr = a;
	m->n = n;
	m->tag = rnd(rs);
	rec_op(r, "mmap-fresh-check", a);
	must_be_zero(r->name, "mmap-fresh", a, WORDS, "(fresh mmap page is not zero)");
	rec_op(r, "mmap-fill", a);
	map_fill(m, 0, n);
	rec_op(r, "mmap-first-page-check", a);
	map_check(r->name, "mmap-first-page", m, 0, 1, false);
}

static void map_del(struct rec *r, struct mslot *m)
{
	rec_op(r, "munmap-check", m->addr);
	map_check(r->name, "munmap-check", m, 0, m->n, false);
	rec_op(r, "munmap", m->addr);
	if (munmap(m->addr, m->n * PAGE))
		die("munmap %p: %s", (void *)m->addr, strerror(errno));
	m->addr = NULL;
}

static void map_op(struct rec *r, struct mslot *slots, uint64_t *rs, bool advise)
{
	struct mslot *m = &slots[rnd(rs) % MAP_SLOTS];
	unsigned k = (unsigned)(rnd(rs) % 100);

	if (!m->addr) {
		if (!advise)
			map_new(r, m, rs);
		return;
	}
	if (advise) {
		size_t a = rnd(rs) % m->n, b = a + 1 + rnd(rs) % (m->n - a);
		bool dontneed = k < 50;
		uint64_t *at = m->addr + a * WORDS;

		rec_op(r, dontneed ? "madvise-dontneed" : "madvise-free", at);
		if (madvise(at, (b - a) * PAGE, dontneed ? MADV_DONTNEED : MADV_FREE) &&
		    !(errno == EINVAL && !dontneed))
			die("madvise %p: %s", (void *)at, strerror(errno));
		rec_op(r, dontneed ? "dontneed-check" : "free-check", at);
		if (dontneed) {
			must_be_zero(r->name, "madvise-dontneed", at, (b - a) * WORDS,
				     "(MADV_DONTNEED page must read zeros)");
			map_check(r->name, "madvise-dontneed-rest", m, 0, a, false);
			map_check(r->name, "madvise-dontneed-rest", m, b, m->n, false);
		} else {
			map_check(r->name, "madvise-free", m, 0, m->n, true);
		}
		rec_op(r, "madvise-refill", at);
		map_fill(m, a, b);
		return;
	}
	if (k < 40) {
		map_del(r, m);
	} else if (k < 75) {
		size_t nn = 1 + rnd(rs) % (size_t)opt.map_pages, keep = nn < m->n ? nn : m->n;
		void *a;

		rec_op(r, "mremap-check", m->addr);
		map_check(r->name, "mremap-before", m, 0, m->n, false);
		rec_op(r, "mremap", m->addr);
		a = mremap(m->addr, m->n * PAGE, nn * PAGE, MREMAP_MAYMOVE);
		if (a == MAP_FAILED)
			die("mremap %p %zu -> %zu pages: %s", (void *)m->addr, m->n, nn,
			    strerror(errno));
		m->addr = a;
		m->n = nn;
		rec_op(r, "mremap-after-check", a);
		map_check(r->name, "mremap-kept", m, 0, keep, false);
		if (nn > keep) {
			must_be_zero(r->name, "mremap-grown", m->addr + keep * WORDS,
				     (nn - keep) * WORDS, "(grown mremap page is not zero)");
			map_fill(m, keep, nn);
			map_check(r->name, "mremap-grown-readback", m, keep, keep + 1, false);
		}
	} else {
		rec_op(r, "map-rewrite", m->addr);
		map_check(r->name, "map-rewrite-before", m, 0, m->n, false);
		m->tag = rnd(rs);
		map_fill(m, 0, m->n);
		map_check(r->name, "map-rewrite-readback", m, 0, 1, false);
	}
}

/* ---- malloc slots -------------------------------------------------------- */

struct hslot {
	uint64_t *p;
	size_t words;
	uint64_t tag;
};

static size_t heap_size(uint64_t *rs)
{
	unsigned k = (unsigned)(rnd(rs) % 100);

	if (opt.heap_max / 8 < (16 << 10) + (240 << 10) && opt.heap_max >= 16)
		return 2 + rnd(rs) % (opt.heap_max / 8 - 1); /* --heap-max */
	if (k < 70)
		return 2 + rnd(rs) % 512; /* up to 4 KiB */
	if (k < 95)
		return 512 + rnd(rs) % (16 << 10); /* up to 128 KiB */
	return (16 << 10) + rnd(rs) % (240 << 10); /* up to 2 MiB */
}

static void heap_fill(struct hslot *h, size_t from, size_t to)
{
	if (from == 0 && to > 0)
		h->p[0] = MAGIC_HEAP ^ h->tag;
	for (size_t i = from ? from : 1; i < to; i++)
		h->p[i] = pat(h->tag, 0, i);
}

static bool heap_check(const char *who, const char *op, struct hslot *h, size_t to)
{
	if (h->p[0] != (MAGIC_HEAP ^ h->tag)) {
		mismatch(who, op, h->p, MAGIC_HEAP ^ h->tag, h->p[0],
			 all_zero(h->p, to < WORDS ? to : WORDS) ? "(block reads as zeros)" :
								   "(block header)");
		return false;
	}
	for (size_t i = 1; i < to; i++)
		if (h->p[i] != pat(h->tag, 0, i)) {
			mismatch(who, op, &h->p[i], pat(h->tag, 0, i), h->p[i], "(block body)");
			return false;
		}
	return true;
}

static void heap_op(struct rec *r, struct hslot *slots, int nslots, uint64_t *rs)
{
	struct hslot *h = &slots[rnd(rs) % (uint64_t)nslots];
	unsigned k = (unsigned)(rnd(rs) % 100);

	if (!h->p) {
		h->words = heap_size(rs);
		h->tag = rnd(rs);
		rec_op(r, "malloc", NULL);
		h->p = malloc(h->words * 8);
		if (!h->p)
			die("malloc %zu bytes failed", h->words * 8);
		rec_op(r, "malloc-fill", h->p);
		heap_fill(h, 0, h->words);
		return;
	}
	rec_op(r, "heap-check", h->p);
	heap_check(r->name, k < 50 ? "free-check" : "realloc-before", h, h->words);
	if (k < 50) {
		rec_op(r, "free", h->p);
		free(h->p);
		h->p = NULL;
	} else {
		size_t nw = heap_size(rs), keep = nw < h->words ? nw : h->words;
		uint64_t *np;

		rec_op(r, "realloc", h->p);
		np = realloc(h->p, nw * 8);
		if (!np)
			die("realloc %zu bytes failed", nw * 8);
		h->p = np;
		rec_op(r, "realloc-check", np);
		heap_check(r->name, "realloc-kept", h, keep);
		heap_fill(h, keep, nw);
		h->words = nw;
	}
}

/* ---- workers ------------------------------------------------------------- */

struct worker {
	pthread_t th;
	int id;
	struct rec *r;
	uint64_t rs;
	struct mslot maps[MAP_SLOTS];
	struct hslot *heap; /* opt.heap_slots */
	uint64_t n_rw, n_heap, n_map, n_adv;
};

static struct worker *workers;

static size_t owned_page(struct worker *w)
{
	size_t per = (npages - (size_t)w->id + (size_t)opt.threads - 1) / (size_t)opt.threads;

	return (size_t)w->id + (size_t)opt.threads * (size_t)(rnd(&w->rs) % per);
}

static void rw_op(struct worker *w, bool advise)
{
	size_t idx = owned_page(w);
	uint64_t s = atomic_load(&shadow[idx]);
	unsigned k = (unsigned)(rnd(&w->rs) % 100);

	rec_op(w->r, advise ? "rw-verify-before-madvise" : "rw-verify", page_at(idx));
	page_verify_owner(w->r->name, advise ? "rw-madvise-verify" : "rw-read", idx);
	if (advise) {
		bool dontneed = k < 50;
		uint64_t gen = SH_GEN(s);

		if (!gen && !(s & SH_ZERO))
			return;
		/* the state first: a child's snapshot may end between the two */
		atomic_store(&shadow[idx], gen | (dontneed ? SH_ZERO : SH_FREE));
		rec_op(w->r, dontneed ? "rw-madvise-dontneed" : "rw-madvise-free", page_at(idx));
		if (madvise(page_at(idx), PAGE, dontneed ? MADV_DONTNEED : MADV_FREE) &&
		    !(errno == EINVAL && !dontneed))
			die("madvise region page %zu: %s", idx, strerror(errno));
		rec_op(w->r, "rw-after-madvise-check", page_at(idx));
		page_verify_owner(w->r->name, dontneed ? "rw-after-dontneed" : "rw-after-free",
				  idx);
		return;
	}
	if (k < 25)
		return; /* a read */
	rec_op(w->r, "rw-write", page_at(idx));
	page_write(idx, SH_GEN(s) + 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned wsum = 0, wt[4];
	char name[16];

	snprintf(name, sizeof(name), "worker%d", w->id);
	w->r = rec_new(name, 1);
	if (opt.prefill) {
		for (size_t idx = (size_t)w->id; idx < npages; idx += (size_t)opt.threads) {
			rec_op(w->r, "prefill", page_at(idx));
			page_write(idx, 1);
		}
	}
	atomic_fetch_add(&prefilled, 1);
	rec_op(w->r, "wait-start", NULL);
	while (atomic_load(&prefilled) < opt.threads + 1 && !atomic_load(&stop)) {
		rec_op(w->r, "wait-start", NULL);
		usleep(1000);
	}
	wt[0] = (opt.phases & PH_RW) ? 60 : 0;
	wt[1] = (opt.phases & PH_MALLOC) ? 20 : 0;
	wt[2] = (opt.phases & PH_MMAP) ? 10 : 0;
	wt[3] = (opt.phases & PH_MADVISE) ? 10 : 0;
	for (int i = 0; i < 4; i++)
		wsum += wt[i];
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned k;

		if (opt.inject_hang && w->id == 0) {
			rec_op(w->r, "inject-hang", NULL);
			for (;;)
				pause();
		}
		if (!wsum) {
			rec_op(w->r, "idle", NULL);
			usleep(1000);
			continue;
		}
		k = (unsigned)(rnd(&w->rs) % wsum);
		if (k < wt[0]) {
			rw_op(w, false);
			w->n_rw++;
		} else if (k < wt[0] + wt[1]) {
			heap_op(w->r, w->heap, opt.heap_slots, &w->rs);
			w->n_heap++;
		} else if (k < wt[0] + wt[1] + wt[2]) {
			map_op(w->r, w->maps, &w->rs, false);
			w->n_map++;
		} else {
			/* madvise: on the big region if rw is on, else on the maps */
			if ((opt.phases & PH_RW) && (rnd(&w->rs) & 1))
				rw_op(w, true);
			else if (opt.phases & PH_MMAP)
				map_op(w->r, w->maps, &w->rs, true);
			else
				rw_op(w, true);
			w->n_adv++;
		}
	}
	rec_op(w->r, "done", NULL);
	atomic_store(&w->r->watched, 0);
	return NULL;
}

/* The final sweep and cleanup, by each worker's own data. */
static void worker_finish(struct worker *w, struct rec *r)
{
	if (opt.final_verify)
		for (size_t idx = (size_t)w->id; idx < npages; idx += (size_t)opt.threads) {
			rec_op(r, "final-verify", page_at(idx));
			page_verify_owner(w->r->name, "final-verify", idx);
		}
	for (int i = 0; i < MAP_SLOTS; i++)
		if (w->maps[i].addr)
			map_del(r, &w->maps[i]);
	for (int i = 0; i < opt.heap_slots; i++)
		if (w->heap[i].p) {
			rec_op(r, "final-heap-check", w->heap[i].p);
			heap_check(w->r->name, "final-heap-check", &w->heap[i], w->heap[i].words);
			free(w->heap[i].p);
		}
}

/* ---- forks --------------------------------------------------------------- */

static struct {
	_Atomic pid_t pid;
	_Atomic uint64_t start_ns;
} kids[MAX_CHILDREN];

static _Atomic uint64_t n_forks, n_kids_ok, n_kids_bad;

/* In the child: a sample of the region, the forker's own maps and blocks. */
static int child_main(struct rec *r, struct mslot *maps, struct hslot *heap, uint64_t forkno)
{
	uint64_t rs = opt.seed ^ t_mix64(forkno + 0x1234);
	struct mslot fresh;

	in_child = true;
	for (int i = 0; i < opt.child_pages; i++) {
		size_t idx = rnd(&rs) % npages;
		uint64_t s = atomic_load(&shadow[idx]), g = SH_GEN(s);
		const uint64_t *p = page_at(idx);

		if (p[0] == MAGIC_BUSY)
			continue; /* its writer was in the middle of it */
		if (all_zero(p, WORDS)) {
			if (!(s & (SH_ZERO | SH_FREE)) && g != 0)
				mismatch("region", "child-inherited", p, MAGIC_PAGE ^ idx, 0,
					 "(inherited page read back as zeros)");
			continue;
		}
		/* the writer may have finished the page but not its shadow */
		page_check("region", "child-inherited", idx, p[1] == g + 1 ? g + 1 : g, false);
	}
	for (int i = 0; i < MAP_SLOTS; i++)
		if (maps[i].addr)
			map_check("forker", "child-inherited-map", &maps[i], 0, maps[i].n, false);
	for (int i = 0; i < HEAP_SLOTS; i++)
		if (heap[i].p)
			heap_check("forker", "child-inherited-heap", &heap[i], heap[i].words);
	/* its own writes: COW copies of a few pages, and a fresh mapping */
	for (int i = 0; i < 4 && opt.child_pages; i++) {
		size_t idx = rnd(&rs) % npages;
		uint64_t *p = page_at(idx);

		if (p[0] != (MAGIC_PAGE ^ idx))
			continue;
		for (size_t j = 2; j < WORDS; j++)
			p[j] = pat(idx, 0xc0ffee00 + forkno, j);
		p[1] = 0xc0ffee00 + forkno;
		page_check("region", "child-cow-write", idx, 0xc0ffee00 + forkno, false);
	}
	map_new(r, &fresh, &rs);
	map_check("forker", "child-fresh-mmap", &fresh, 0, fresh.n, false);
	return atomic_load(&mismatches) ? EXIT_MISMATCH : EXIT_OK;
}

static void reap(bool block)
{
	for (int i = 0; i < opt.children; i++) {
		pid_t pid = atomic_load(&kids[i].pid);
		int st;
		pid_t got;

		if (!pid)
			continue;
		got = waitpid(pid, &st, block ? 0 : WNOHANG);
		if (got == 0)
			continue;
		if (got < 0)
			die("waitpid %d: %s", pid, strerror(errno));
		atomic_store(&kids[i].pid, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			atomic_fetch_add(&n_kids_ok, 1);
			continue;
		}
		atomic_fetch_add(&n_kids_bad, 1);
		atomic_fetch_add(&mismatches, 1);
		if (WIFEXITED(st))
			say("stress: MISMATCH child %d exited %d%s", pid, WEXITSTATUS(st),
			    WEXITSTATUS(st) == EXIT_MISMATCH ? " (mismatches, above)" : "");
		else
			say("stress: MISMATCH child %d killed by signal %d (%s)", pid, WTERMSIG(st),
			    strsignal(WTERMSIG(st)));
	}
}

static void *forker_main(void *arg)
{
	struct rec *r = rec_new("forker", 1);
	struct mslot maps[MAP_SLOTS] = { 0 };
	struct hslot heap[HEAP_SLOTS] = { 0 };
	uint64_t rs = opt.seed ^ 0xf0f0f0f0ULL;

	(void)arg;
	atomic_fetch_add(&prefilled, 1);
	while (atomic_load(&prefilled) < opt.threads + 1) {
		rec_op(r, "wait-start", NULL);
		usleep(1000);
	}
	while (!atomic_load(&stop)) {
		struct timespec ts = { opt.fork_ms / 1000, (long)(opt.fork_ms % 1000) * 1000000L };
		int slot = -1;
		pid_t pid;

		rec_op(r, "sleep", NULL);
		nanosleep(&ts, NULL);
		/* a fresh mapping (or a changed one) and a block right before the fork */
		if (opt.phases & PH_MMAP)
			map_op(r, maps, &rs, false);
		if (opt.phases & PH_MALLOC)
			heap_op(r, heap, HEAP_SLOTS, &rs);
		rec_op(r, "reap", NULL);
		reap(false);
		for (int i = 0; i < opt.children; i++)
			if (!atomic_load(&kids[i].pid)) {
				slot = i;
				break;
			}
		if (slot < 0)
			continue;
		rec_op(r, "fork", NULL);
		atomic_store(&kids[slot].start_ns, now_ns());
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			int rc = child_main(r, maps, heap, atomic_load(&n_forks));

			if (opt.child_exit)
				exit(rc);
			_exit(rc);
		}
		atomic_store(&kids[slot].pid, pid);
		if (atomic_fetch_add(&n_forks, 1) + 1 >= (uint64_t)opt.forks && opt.forks > 0)
			atomic_store(&stop, 1);
	}
	rec_op(r, "reap-all", NULL);
	reap(true);
	for (int i = 0; i < MAP_SLOTS; i++)
		if (maps[i].addr)
			map_del(r, &maps[i]);
	for (int i = 0; i < HEAP_SLOTS; i++)
		if (heap[i].p) {
			heap_check("forker", "final-heap-check", &heap[i], heap[i].words);
			free(heap[i].p);
		}
	rec_op(r, "done", NULL);
	atomic_store(&r->watched, 0);
	return NULL;
}

/* ---- the watchdog -------------------------------------------------------- */

static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return n;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* The name of the system call a thread is in, from /proc/.../syscall. */
static const char *syscall_name(const char *sc)
{
#ifdef __x86_64__
	static const struct {
		int nr;
		const char *name;
	} names[] = {
		{ 0, "read" },	       { 1, "write" },	      { 7, "poll" },
		{ 9, "mmap" },	       { 10, "mprotect" },    { 11, "munmap" },
		{ 16, "ioctl" },       { 25, "mremap" },      { 28, "madvise" },
		{ 34, "pause" },       { 35, "nanosleep" },   { 56, "clone" },
		{ 57, "fork" },	       { 60, "exit" },	      { 61, "wait4" },
		{ 62, "kill" },	       { 202, "futex" },      { 230, "clock_nanosleep" },
		{ 231, "exit_group" }, { 232, "epoll_wait" }, { 426, "io_uring_enter" },
		{ 435, "clone3" },
	};
	char *end;
	long nr = strtol(sc, &end, 10);

	if (end != sc)
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (names[i].nr == nr)
				return names[i].name;
#endif
	(void)sc;
	return "";
}

/* One line per thread of process @pid: state, wchan, syscall, our record. */
static void report_threads(pid_t pid, bool self)
{
	char dir[64], buf[4096];
	int fd;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		say("stress:   (cannot open %s: %s)", dir, strerror(errno));
		return;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			char path[128], stat[512], wchan[128], sc[256], who[96] = "";
			char comm[32] = "?", state = '?';
			int tid;

			off += d->d_reclen;
			if (d->d_name[0] == '.')
				continue;
			tid = atoi(d->d_name);
			snprintf(path, sizeof(path), "%s/%d/stat", dir, tid);
			if (read_small(path, stat, sizeof(stat)) > 0) {
				char *l = strchr(stat, '('), *rp = strrchr(stat, ')');

				if (l && rp && rp > l) {
					size_t cl = (size_t)(rp - l - 1);

					if (cl >= sizeof(comm))
						cl = sizeof(comm) - 1;
					memcpy(comm, l + 1, cl);
					comm[cl] = 0;
					if (rp[1] == ' ')
						state = rp[2];
				}
			}
			snprintf(path, sizeof(path), "%s/%d/wchan", dir, tid);
			if (read_small(path, wchan, sizeof(wchan)) < 0)
				snprintf(wchan, sizeof(wchan), "?");
			snprintf(path, sizeof(path), "%s/%d/syscall", dir, tid);
			if (read_small(path, sc, sizeof(sc)) < 0)
				snprintf(sc, sizeof(sc), "?");
			if (strlen(sc) > 60)
				sc[60] = 0;
			if (self) {
				uint64_t t = now_ns();

				for (int i = 0; i < atomic_load(&nrecs); i++) {
					struct rec *r = &recs[i];

					if (atomic_load(&r->tid) != tid)
						continue;
					snprintf(who, sizeof(who),
						 " [%s last_op=%s addr=%#lx ops=%llu idle=%.1fs]",
						 r->name, atomic_load(&r->op),
						 (unsigned long)atomic_load(&r->addr),
						 (unsigned long long)atomic_load(&r->ops),
						 (double)(t - atomic_load(&r->last_ns)) / 1e9);
				}
			}
			say("stress:   tid %d (%s) state %c wchan %s syscall %s%s%s%s", tid, comm,
			    state, wchan, syscall_name(sc), *syscall_name(sc) ? " " : "", sc, who);
		}
	}
	close(fd);
}

static _Noreturn void hang(const char *what)
{
	say("stress: HANG: %s", what);
	say("stress: threads of pid %d:", (int)getpid());
	report_threads(getpid(), true);
	for (int i = 0; i < opt.children; i++) {
		pid_t pid = atomic_load(&kids[i].pid);

		if (!pid)
			continue;
		say("stress: threads of child %d (forked %.1fs ago):", (int)pid,
		    (double)(now_ns() - atomic_load(&kids[i].start_ns)) / 1e9);
		report_threads(pid, false);
		kill(pid, SIGKILL);
	}
	say("stress: exiting %d (hang)", EXIT_HANG);
	syscall(SYS_exit_group, EXIT_HANG);
	_exit(EXIT_HANG);
}

static void *watchdog_main(void *arg)
{
	uint64_t limit = (uint64_t)opt.watchdog * 1000000000ULL;
	char what[256];

	(void)arg;
	rec_new("watchdog", 0);
	for (;;) {
		uint64_t t;

		sleep(1);
		t = now_ns();
		for (int i = 0; i < atomic_load(&nrecs); i++) {
			struct rec *r = &recs[i];
			uint64_t last = atomic_load(&r->last_ns);

			if (!atomic_load(&r->watched) || t < last || t - last < limit)
				continue;
			snprintf(what, sizeof(what),
				 "%s made no progress for %.1fs (last op %s at %#lx)", r->name,
				 (double)(t - last) / 1e9, atomic_load(&r->op),
				 (unsigned long)atomic_load(&r->addr));
			hang(what);
		}
		for (int i = 0; i < opt.children; i++) {
			pid_t pid = atomic_load(&kids[i].pid);
			uint64_t st = atomic_load(&kids[i].start_ns);

			if (pid && t > st && t - st >= limit) {
				snprintf(what, sizeof(what),
					 "child %d has not exited %.1fs after its fork", (int)pid,
					 (double)(t - st) / 1e9);
				hang(what);
			}
		}
	}
	return NULL;
}

/* ---- --signal-exit: the run ends in a signal handler on a busy worker ----- */

static void on_exit_signal(int sig)
{
	struct rec *r = NULL;
	uint64_t m = atomic_load(&mismatches);
	pid_t tid = (pid_t)syscall(SYS_gettid);

	(void)sig;
	for (int i = 0; i < atomic_load(&nrecs); i++)
		if (atomic_load(&recs[i].tid) == tid)
			r = &recs[i];
	if (r)
		rec_op(r, opt.signal_exit == 1 ? "signal-handler-_exit" : "signal-handler-exit",
		       NULL);
	say("stress: %s signal-exit (%s from a handler) forks=%llu mismatches=%llu",
	    m ? "FAILED" : "ok", opt.signal_exit == 1 ? "_exit" : "exit",
	    (unsigned long long)atomic_load(&n_forks), (unsigned long long)m);
	if (opt.signal_exit == 1)
		_exit(m ? EXIT_MISMATCH : EXIT_OK);
	exit(m ? EXIT_MISMATCH : EXIT_OK);
}

/* ---- options and main ---------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: stress [options]\n"
		   "  --threads N       worker threads (default 4, max 256)\n"
		   "  --mb N            the big region, MiB (default 128)\n"
		   "  --region R        the big region from mmap (default) or malloc\n"
		   "  --seconds S       how long the churn runs (default 10)\n"
		   "  --seed N          (default 1)\n"
		   "  --phases LIST     of rw,malloc,mmap,madvise (default all), or none\n"
		   "  --fork-ms N       fork every N ms (default 0: no forks)\n"
		   "  --forks N         end the run after N forks (default 0: at --seconds)\n"
		   "  --map-pages N     largest churned mapping, pages (default 32)\n"
		   "  --heap-slots N    malloc blocks each worker keeps (default 64)\n"
		   "  --heap-max B      blocks of up to B bytes, evenly (default: mostly\n"
		   "                    small, up to 2 MiB)\n"
		   "  --children N      children alive at once (default 4)\n"
		   "  --child-pages N   region pages each child verifies (default 64)\n"
		   "  --child-exit      children end with exit(), not _exit()\n"
		   "  --watchdog S      hang report after S s without progress (default 20)\n"
		   "  --no-prefill      do not write every page first\n"
		   "  --no-final-verify do not verify every page at the end\n"
		   "  --max-report N    mismatch lines printed (default 20)\n"
		   "  --signal-exit F   at the end, a signal handler on a busy worker calls F\n"
		   "                    (_exit or exit) while the others still run\n"
		   "  --inject-zero     self-test: zero a page behind its owner (exit 2)\n"
		   "  --inject-hang     self-test: a worker stops (exit 3)\n"
		   "exit: 0 ok, 1 error, 2 mismatch, 3 hang\n");
}

static long num(const char *o, const char *v, long lo, long hi)
{
	char *end;
	long n;

	if (!v)
		die("%s needs a value", o);
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		die("%s: '%s' is not a number in %ld..%ld", o, v, lo, hi);
	return n;
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(o, "--threads")) {
			opt.threads = (int)num(o, v, 1, MAX_RECS - 4), i++;
		} else if (!strcmp(o, "--mb")) {
			opt.mb = (uint64_t)num(o, v, 1, 1 << 20), i++;
		} else if (!strcmp(o, "--seconds")) {
			char *end;

			if (!v || (opt.seconds = strtod(v, &end), *end) || opt.seconds < 0)
				die("--seconds: '%s' is not a duration", v ? v : "");
			i++;
		} else if (!strcmp(o, "--seed")) {
			opt.seed = (uint64_t)num(o, v, 0, __LONG_MAX__), i++;
		} else if (!strcmp(o, "--phases")) {
			char buf[128], *save, *t;

			if (!v)
				die("--phases needs a value");
			snprintf(buf, sizeof(buf), "%s", v);
			opt.phases = 0;
			for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (!strcmp(t, "rw"))
					opt.phases |= PH_RW;
				else if (!strcmp(t, "malloc"))
					opt.phases |= PH_MALLOC;
				else if (!strcmp(t, "mmap"))
					opt.phases |= PH_MMAP;
				else if (!strcmp(t, "madvise"))
					opt.phases |= PH_MADVISE;
				else if (strcmp(t, "none"))
					die("--phases: unknown phase '%s' (rw, malloc, mmap, madvise, none)",
					    t);
			}
			i++;
		} else if (!strcmp(o, "--fork-ms")) {
			opt.fork_ms = (int)num(o, v, 0, 100000), i++;
		} else if (!strcmp(o, "--forks")) {
			opt.forks = num(o, v, 0, __LONG_MAX__), i++;
		} else if (!strcmp(o, "--children")) {
			opt.children = (int)num(o, v, 1, MAX_CHILDREN), i++;
		} else if (!strcmp(o, "--child-pages")) {
			opt.child_pages = (int)num(o, v, 0, 1 << 20), i++;
		} else if (!strcmp(o, "--map-pages")) {
			opt.map_pages = (int)num(o, v, 1, 1 << 18), i++;
		} else if (!strcmp(o, "--heap-slots")) {
			opt.heap_slots = (int)num(o, v, 1, 1 << 20), i++;
		} else if (!strcmp(o, "--heap-max")) {
			opt.heap_max = (uint64_t)num(o, v, 16, 2 << 20), i++;
		} else if (!strcmp(o, "--child-exit")) {
			opt.child_exit = true;
		} else if (!strcmp(o, "--watchdog")) {
			opt.watchdog = (int)num(o, v, 1, 3600), i++;
		} else if (!strcmp(o, "--compressible")) {
			opt.compressible = true;
		} else if (!strcmp(o, "--no-prefill")) {
			opt.prefill = false;
		} else if (!strcmp(o, "--no-final-verify")) {
			opt.final_verify = false;
		} else if (!strcmp(o, "--region")) {
			if (v && !strcmp(v, "malloc"))
				opt.region_malloc = true;
			else if (v && !strcmp(v, "mmap"))
				opt.region_malloc = false;
			else
				die("--region: '%s' is not mmap or malloc", v ? v : "");
			i++;
		} else if (!strcmp(o, "--signal-exit")) {
			if (v && !strcmp(v, "_exit"))
				opt.signal_exit = 1;
			else if (v && !strcmp(v, "exit"))
				opt.signal_exit = 2;
			else
				die("--signal-exit: '%s' is not _exit or exit", v ? v : "");
			i++;
		} else if (!strcmp(o, "--inject-zero")) {
			opt.inject_zero = true;
		} else if (!strcmp(o, "--inject-hang")) {
			opt.inject_hang = true;
		} else if (!strcmp(o, "--max-report")) {
			opt.max_report = (int)num(o, v, 0, 1 << 20), i++;
		} else {
			usage(stderr);
			die("unknown option '%s'", o);
		}
	}
	if (opt.forks && !opt.fork_ms)
		die("--forks needs --fork-ms");
}

int main(int argc, char **argv)
{
	pthread_t wd, fk;
	struct rec *mr;
	uint64_t t0, t1, ops = 0, rw = 0, heap = 0, map = 0, adv = 0, m;
	int err;

	parse(argc, argv);
	npages = (size_t)(opt.mb << 20) / PAGE;
	if (npages < (size_t)opt.threads)
		die("--mb %llu is too small for %d threads", (unsigned long long)opt.mb,
		    opt.threads);
	if (opt.region_malloc) {
		region = aligned_alloc(PAGE, npages * PAGE);
		if (!region)
			region = MAP_FAILED;
		else
			memset(region, 0, npages * PAGE);
	} else {
		region = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (region == MAP_FAILED)
		die("mmap the %llu MiB region: %s", (unsigned long long)opt.mb, strerror(errno));
	shadow = calloc(npages, sizeof(*shadow));
	workers = calloc((size_t)opt.threads, sizeof(*workers));
	if (!shadow || !workers)
		die("out of memory for the shadow table");
	mr = rec_new("main", 1);
	if ((err = pthread_create(&wd, NULL, watchdog_main, NULL)))
		die("pthread_create: %s", strerror(err));
	if (!opt.fork_ms)
		atomic_fetch_add(&prefilled, 1);
	t0 = now_ns();
	for (int i = 0; i < opt.threads; i++) {
		workers[i].id = i;
		workers[i].rs = t_mix64(opt.seed * 1000003ULL + (uint64_t)i);
		workers[i].heap = calloc((size_t)opt.heap_slots, sizeof(struct hslot));
		if (!workers[i].heap)
			die("out of memory for the block table");
		if ((err = pthread_create(&workers[i].th, NULL, worker_main, &workers[i])))
			die("pthread_create: %s", strerror(err));
	}
	if (opt.fork_ms && (err = pthread_create(&fk, NULL, forker_main, NULL)))
		die("pthread_create: %s", strerror(err));
	rec_op(mr, "wait-for-the-run", NULL);
	atomic_store(&mr->watched, 0); /* the workers are watched; main waits */
	while (atomic_load(&prefilled) < opt.threads + 1)
		usleep(10000);
	t1 = now_ns();
	while (!atomic_load(&stop) && (double)(now_ns() - t1) / 1e9 < opt.seconds)
		usleep(10000);
	if (opt.signal_exit) {
		struct sigaction sa = { .sa_handler = on_exit_signal };
		uint64_t t2 = now_ns();

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
		pthread_kill(workers[0].th, SIGUSR1);
		while (now_ns() - t2 < (uint64_t)opt.watchdog * 1000000000ULL)
			usleep(10000);
		hang("the signal handler's exit did not end the process");
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(workers[i].th, NULL);
	if (opt.fork_ms)
		pthread_join(fk, NULL);
	rec_op(mr, "final", NULL);
	atomic_store(&mr->watched, 1);
	if (opt.inject_zero) {
		size_t idx = npages / 2;

		say("stress: self-test: zeroing page %zu at %p behind its owner", idx,
		    (void *)page_at(idx));
		atomic_store(&shadow[idx], SH_GEN(atomic_load(&shadow[idx])) | 1);
		if (madvise(page_at(idx), PAGE, MADV_DONTNEED))
			die("madvise: %s", strerror(errno));
	}
	for (int i = 0; i < opt.threads; i++) {
		worker_finish(&workers[i], mr);
		rw += workers[i].n_rw;
		heap += workers[i].n_heap;
		map += workers[i].n_map;
		adv += workers[i].n_adv;
	}
	ops = rw + heap + map + adv;
	m = atomic_load(&mismatches);
	printf("stress: %s seed=%llu threads=%d mb=%llu ops=%llu rw=%llu malloc=%llu mmap=%llu "
	       "madvise=%llu forks=%llu children_ok=%llu children_bad=%llu mismatches=%llu "
	       "seconds=%.1f\n",
	       m ? "FAILED" : "ok", (unsigned long long)opt.seed, opt.threads,
	       (unsigned long long)opt.mb, (unsigned long long)ops, (unsigned long long)rw,
	       (unsigned long long)heap, (unsigned long long)map, (unsigned long long)adv,
	       (unsigned long long)atomic_load(&n_forks),
	       (unsigned long long)atomic_load(&n_kids_ok),
	       (unsigned long long)atomic_load(&n_kids_bad), (unsigned long long)m,
	       (double)(now_ns() - t0) / 1e9);
	fflush(stdout);
	rec_op(mr, "exit", NULL);
	exit(m ? EXIT_MISMATCH : EXIT_OK);
}
