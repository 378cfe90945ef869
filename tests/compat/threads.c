/* SPDX-License-Identifier: MIT */
/*
 * threads: many threads on evicted memory, threads that exit (or are
 * cancelled) while their evicted memory is faulted and freed, and deep
 * recursion on big thread stacks.
 *
 *   fault32     48 threads released at once onto their own evicted buffers
 *               and onto one shared evicted table (the same pages faulted
 *               by many threads at the same time); each hashes its data.
 *   exit_race   worker threads allocate and fill buffers, hand them to the
 *               main thread and exit (returning, pthread_exit, detached)
 *               while main faults those evicted buffers in and frees them;
 *               then threads cancelled (asynchronously) in the middle of
 *               faulting their evicted buffer, the buffer freed, and the
 *               memory reused: calloc must return zeros, malloc + fill
 *               must read back what was written.
 *   bigstack    a thread with a 256 MiB glibc-allocated stack recurses
 *               64 MiB deep (4000-byte frames, each checked on unwind)
 *               while another thread churns managed memory.
 *   heapstack   the same on a stack the program malloc'd itself
 *               (pthread_attr_setstack): the stack pages are managed
 *               memory, evicted at depth and faulted back on unwind.
 *   wq_full     64 threads rewrite buffers that together are four times
 *               the limit, all at once: they all wait for memory together.
 *               meson runs it with USWAP_WQ_CAP=8 (a test-only setting
 *               that shrinks the fault handler's wait queue), so the queue
 *               fills; a fault that finds it full must still be served:
 *               every thread finishes, with its data, within the deadline.
 *   store_race  4 threads store into pages of a buffer that a churn keeps
 *               evicting, reading back, and arming (the tracking fault of a
 *               page with a clean swap copy, where the store races the
 *               re-armed write protection); each store's value is kept in
 *               an unmanaged MAP_SHARED shadow. Every page must read its
 *               last store, during the run and after it is evicted again:
 *               a store lost to a clean drop reads an older value.
 */
#include "compat.h"

#include <sched.h>

/* ---- fault32 ------------------------------------------------------------ */

#define F_THREADS 48
#define F_BUF (768UL * 1024)
#define F_SHARED (2UL * T_MIB)
#define F_ROUNDS 2

static char *f_buf[F_THREADS];
static char *f_shared;
static uint64_t f_want[F_THREADS];
static pthread_barrier_t f_start, f_done;
static atomic_int f_bad;
static int f_round;

static uint64_t f_seed(int t, int round)
{
	return t_mix64(((uint64_t)round << 32) | (unsigned)t) ^ 0xf32;
}

static uint64_t pattern_hash(size_t len, uint64_t seed)
{
	/* The hash of what t_pattern_fill(len, seed) writes, computed from
	 * a page-sized scratch buffer so it never depends on managed data. */
	uint64_t h = 0xcbf29ce484222325ULL, page[T_PAGE_SIZE / 8];

	for (size_t off = 0; off < len; off += T_PAGE_SIZE) {
		t_pattern_fill(page, T_PAGE_SIZE, seed, off);
		for (size_t i = 0; i < T_PAGE_SIZE / 8; i++) {
			h ^= page[i];
			h *= 0x100000001b3ULL;
		}
	}
	return h;
}

static void *f_worker(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int round = 0; round < F_ROUNDS; round++) {
		uint64_t h;
		size_t start;

		pthread_barrier_wait(&f_start);
		/* Everyone at once: own buffer (hashed), then the shared table
		 * from a per-thread starting page, wrapping around. */
		h = t_checksum((const uint64_t *)f_buf[t], F_BUF / 8);
		start = ((size_t)t * 37 % (F_SHARED / T_PAGE_SIZE)) * T_PAGE_SIZE;
		if (h != f_want[t]) {
			t_log("thread %d round %d: own buffer hash %016llx, want %016llx",
			      t, round, (unsigned long long)h,
			      (unsigned long long)f_want[t]);
			atomic_fetch_add(&f_bad, 1);
		}
		/* The shared table is checked exactly: each page carries its
		 * pattern, verified page by page, in this thread's order. */
		for (size_t i = 0; i < F_SHARED; i += T_PAGE_SIZE) {
			size_t off = (start + i) % F_SHARED;
			long b = t_pattern_check(f_shared + off, T_PAGE_SIZE, 0x5a5a, off);

			if (b >= 0) {
				t_log("thread %d round %d: shared table byte %zu wrong",
				      t, round, off + (size_t)b);
				atomic_fetch_add(&f_bad, 1);
				break;
			}
		}
		/* New generation of the own buffer for the next round. */
		t_pattern_fill(f_buf[t], F_BUF, f_seed(t, round + 1), 0);
		pthread_barrier_wait(&f_done);
	}
	return NULL;
}

static void case_fault32(void)
{
	pthread_t tid[F_THREADS];

	t_check(F_THREADS >= 32, "at least 32 threads");
	pthread_barrier_init(&f_start, NULL, F_THREADS + 1);
	pthread_barrier_init(&f_done, NULL, F_THREADS + 1);
	f_shared = malloc(F_SHARED);
	t_check(f_shared, "malloc");
	t_pattern_fill(f_shared, F_SHARED, 0x5a5a, 0);
	for (int t = 0; t < F_THREADS; t++) {
		f_buf[t] = malloc(F_BUF);
		t_check(f_buf[t], "malloc");
		t_pattern_fill(f_buf[t], F_BUF, f_seed(t, 0), 0);
	}
	for (int t = 0; t < F_THREADS; t++)
		t_check(!pthread_create(&tid[t], NULL, f_worker, (void *)(intptr_t)t),
			"pthread_create %d", t);

	for (f_round = 0; f_round < F_ROUNDS; f_round++) {
		int nr_cold_threads = 0;
		long shared_cold;

		for (int t = 0; t < F_THREADS; t++)
			f_want[t] = pattern_hash(F_BUF, f_seed(t, f_round));
		/* Push everything out: at least 32 threads must start on a
		 * buffer that is mostly non-resident, and the shared table
		 * must be too. */
		for (int sweep = 0; sweep < C_MAX_SWEEPS; sweep++) {
			t_churn_sweep(&c_churn);
			nr_cold_threads = 0;
			for (int t = 0; t < F_THREADS; t++)
				nr_cold_threads += (size_t)t_nr_nonresident(f_buf[t], F_BUF) * 2 >=
						   F_BUF / T_PAGE_SIZE;
			shared_cold = t_nr_nonresident(f_shared, F_SHARED);
			if (c_native || (nr_cold_threads >= 32 &&
					 (size_t)shared_cold * 2 >= F_SHARED / T_PAGE_SIZE))
				break;
		}
		t_log("    round %d: %d of %d thread buffers cold, shared table %ld/%lu pages cold",
		      f_round, nr_cold_threads, F_THREADS, shared_cold, F_SHARED / T_PAGE_SIZE);
		t_check(c_native || nr_cold_threads >= 32,
			"only %d thread buffers went cold", nr_cold_threads);
		t_check(c_native || (size_t)shared_cold * 2 >= F_SHARED / T_PAGE_SIZE,
			"the shared table did not go cold");
		pthread_barrier_wait(&f_start);
		pthread_barrier_wait(&f_done);
		t_check(atomic_load(&f_bad) == 0, "round %d: %d threads saw wrong data",
			f_round, atomic_load(&f_bad));
	}
	for (int t = 0; t < F_THREADS; t++) {
		pthread_join(tid[t], NULL);
		free(f_buf[t]);
	}
	free(f_shared);
	pthread_barrier_destroy(&f_start);
	pthread_barrier_destroy(&f_done);
}

/* ---- exit_race ---------------------------------------------------------- */

#define X_ROUNDS 2
#define X_THREADS 24
#define X_PER_THREAD 6
#define X_KEEP 2

struct x_item {
	char *p;
	size_t len;
	uint64_t seed;
};

static struct x_item x_queue[X_THREADS * X_PER_THREAD];
static atomic_int x_head, x_tail;
static pthread_barrier_t x_filled;
static atomic_int x_go, x_detached_done, x_bad;
static atomic_int x_stop_churn;

static size_t x_size(struct t_rng *r)
{
	static const size_t sizes[] = { 100, 5000, 65536, 300000, 1 << 20 };

	return sizes[t_rng_below(r, 5)] + t_rng_below(r, 64);
}

static void *x_worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	struct t_rng r;
	struct x_item keep[X_KEEP];

	t_rng_seed(&r, (uint64_t)t * 7919 + 1);
	for (int k = 0; k < X_PER_THREAD; k++) {
		size_t len = x_size(&r);
		uint64_t seed = t_rng_next(&r);
		char *p = malloc(len);

		t_check(p, "malloc");
		t_pattern_fill(p, len, seed, 0);
		if (k < X_KEEP) {
			keep[k] = (struct x_item){ p, len, seed };
		} else {
			int slot = atomic_fetch_add(&x_tail, 1);

			x_queue[slot] = (struct x_item){ p, len, seed };
		}
	}
	pthread_barrier_wait(&x_filled);
	while (!atomic_load(&x_go))
		sched_yield();
	/* Fault our own kept buffers in, free them, and exit at once, while
	 * main faults and frees the ones we handed over. */
	for (int k = 0; k < X_KEEP; k++) {
		if (t_pattern_check(keep[k].p, keep[k].len, keep[k].seed, 0) >= 0)
			atomic_fetch_add(&x_bad, 1);
		free(keep[k].p);
	}
	switch (t % 3) {
	case 0:
		return NULL;
	case 1:
		pthread_exit(NULL);
	default:
		atomic_fetch_add(&x_detached_done, 1);
		return NULL;
	}
}

static void *x_churner(void *arg)
{
	(void)arg;
	while (!atomic_load(&x_stop_churn))
		t_churn_sweep(&c_churn);
	return NULL;
}

/* Cancelled while faulting: the thread reads its evicted buffer in an
 * endless loop with asynchronous cancellation enabled. */
struct x_cancel {
	char *p;
	size_t len;
	atomic_int started;
	volatile uint64_t sink;
};

static void *x_cancel_worker(void *arg)
{
	struct x_cancel *c = arg;
	uint64_t s = 0;

	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	atomic_store(&c->started, 1);
	for (;;) {
		for (size_t i = 0; i < c->len; i += T_PAGE_SIZE)
			s += *(volatile uint64_t *)(c->p + i);
		c->sink = s;
	}
	return NULL;
}

static void case_exit_race(void)
{
	pthread_t tid[X_THREADS], churn_tid;
	struct t_rng r;
	int nr_consumed = 0;

	for (int round = 0; round < X_ROUNDS; round++) {
		int nr_joinable = 0, total;
		size_t cold_pages = 0, all_pages = 0;

		atomic_store(&x_head, 0);
		atomic_store(&x_tail, 0);
		atomic_store(&x_go, 0);
		atomic_store(&x_detached_done, 0);
		pthread_barrier_init(&x_filled, NULL, X_THREADS + 1);
		for (int t = 0; t < X_THREADS; t++) {
			pthread_attr_t a;

			pthread_attr_init(&a);
			if (t % 3 == 2)
				pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
			t_check(!pthread_create(&tid[t], &a, x_worker,
						(void *)(intptr_t)(round * X_THREADS + t)),
				"pthread_create");
			pthread_attr_destroy(&a);
		}
		pthread_barrier_wait(&x_filled);
		total = atomic_load(&x_tail);
		/* Everything handed over must be mostly out before the race. */
		for (int sweep = 0; sweep < C_MAX_SWEEPS; sweep++) {
			t_churn_sweep(&c_churn);
			cold_pages = all_pages = 0;
			for (int i = 0; i < total; i++) {
				cold_pages += (size_t)t_nr_nonresident(x_queue[i].p, x_queue[i].len);
				all_pages += t_nr_pages(x_queue[i].p, x_queue[i].len);
			}
			if (c_native || cold_pages * 2 >= all_pages)
				break;
		}
		t_log("    round %d: %d buffers handed over, %zu/%zu pages cold",
		      round, total, cold_pages, all_pages);
		t_check(c_native || cold_pages * 2 >= all_pages, "handed-over buffers stayed resident");

		atomic_store(&x_stop_churn, 0);
		t_check(!pthread_create(&churn_tid, NULL, x_churner, NULL), "pthread_create");
		atomic_store(&x_go, 1);
		/* Consume from the back while the workers exit. */
		for (int i = total - 1; i >= 0; i--) {
			struct x_item *it = &x_queue[i];
			long bad = t_pattern_check(it->p, it->len, it->seed, 0);

			if (bad >= 0) {
				t_log("handed-over buffer %d (%zu bytes): byte %ld wrong", i,
				      it->len, bad);
				atomic_fetch_add(&x_bad, 1);
			}
			free(it->p);
			nr_consumed++;
		}
		for (int t = 0; t < X_THREADS; t++)
			if (t % 3 != 2) {
				pthread_join(tid[t], NULL);
				nr_joinable++;
			}
		while (atomic_load(&x_detached_done) < X_THREADS - nr_joinable)
			usleep(1000);
		atomic_store(&x_stop_churn, 1);
		pthread_join(churn_tid, NULL);
		pthread_barrier_destroy(&x_filled);
		t_check(atomic_load(&x_bad) == 0, "round %d: %d buffers held wrong data",
			round, atomic_load(&x_bad));
	}
	t_log("    %d handed-over buffers verified and freed", nr_consumed);

	/* Cancelled in the middle of faulting. */
	t_rng_seed(&r, 99);
	for (int round = 0; round < 3; round++) {
		struct x_cancel c = { .len = 4 * T_MIB };
		pthread_t t;
		void *ret;

		c.p = c_cold_junk("cancel victim buffer", c.len, (uint64_t)round);
		t_check(!pthread_create(&t, NULL, x_cancel_worker, &c), "pthread_create");
		while (!atomic_load(&c.started))
			sched_yield();
		usleep((useconds_t)(200 + t_rng_below(&r, 3000)));
		t_check(!pthread_cancel(t), "pthread_cancel");
		t_check(!pthread_join(t, &ret), "pthread_join");
		t_check(ret == PTHREAD_CANCELED, "cancelled thread returned %p", ret);
		free(c.p);
		/* Reuse: whatever the cancelled fault left in flight must not
		 * show up in new allocations. */
		for (int k = 0; k < 2; k++) {
			size_t len = 1 * T_MIB + k * 4096;
			char *z = calloc(1, len);
			char *m = malloc(len);
			long nz;

			t_check(z && m, "calloc/malloc");
			nz = c_first_nonzero(z, len);
			t_check(nz < 0, "calloc after a cancelled fault: byte %ld is 0x%02x",
				nz, (uint8_t)z[nz]);
			t_pattern_fill(m, len, 0xabc + (uint64_t)k, 0);
			t_churn_sweep(&c_churn);
			t_check_pattern("malloc after a cancelled fault", m, len, 0xabc + (uint64_t)k, 0);
			nz = c_first_nonzero(z, len);
			t_check(nz < 0, "calloc'd memory after eviction: byte %ld is 0x%02x",
				nz, (uint8_t)z[nz]);
			free(z);
			free(m);
		}
	}
}

/* ---- bigstack / heapstack ----------------------------------------------- */

#define S_FRAME 4000
#define S_DEPTH (64UL * T_MIB / 4096)

static atomic_long s_bad;
static atomic_int s_stop;
static char *s_stack_lo, *s_stack_hi;	/* the malloc'd stack, when there is one */
static long s_cold_at_depth = -1;

static __attribute__((noinline)) uint64_t s_recurse(unsigned long depth, uint64_t seed)
{
	char buf[S_FRAME];
	uint64_t r = 0;

	t_pattern_fill(buf, S_FRAME, seed ^ depth, 0);
	__asm__ volatile("" : : "r"(buf) : "memory");
	if (depth < S_DEPTH) {
		r = s_recurse(depth + 1, seed);
	} else if (s_stack_lo) {
		/* Deepest point: how much of the used stack is out. */
		s_cold_at_depth = t_nr_nonresident(buf, (size_t)(s_stack_hi - buf));
	}
	__asm__ volatile("" : : "r"(buf) : "memory");
	if (t_pattern_check(buf, S_FRAME, seed ^ depth, 0) >= 0 &&
	    atomic_fetch_add(&s_bad, 1) < 5)
		t_log("frame at depth %lu lost its contents", depth);
	return r + (uint8_t)buf[depth % S_FRAME];
}

static void *s_thread(void *arg)
{
	uint64_t *out = arg;

	*out = s_recurse(0, 0x57ac);
	return NULL;
}

static void *s_churner(void *arg)
{
	(void)arg;
	while (!atomic_load(&s_stop))
		t_churn_sweep(&c_churn);
	return NULL;
}

static void run_stack_case(int heap_stack)
{
	size_t stack_len = 256 * T_MIB;
	pthread_attr_t a;
	pthread_t t, ch;
	uint64_t res = 0, want = 0;
	void *stk = NULL;
	double t0 = t_now();

	for (unsigned long d = 0; d <= S_DEPTH; d++)
		want += t_pattern_byte(0x57ac ^ d, d % S_FRAME);
	pthread_attr_init(&a);
	if (heap_stack) {
		stack_len = 128 * T_MIB;
		t_check(!posix_memalign(&stk, 4096, stack_len), "posix_memalign stack");
		s_stack_lo = stk;
		s_stack_hi = (char *)stk + stack_len;
		t_check(!pthread_attr_setstack(&a, stk, stack_len), "pthread_attr_setstack");
	} else {
		t_check(!pthread_attr_setstacksize(&a, stack_len), "pthread_attr_setstacksize");
	}
	atomic_store(&s_stop, 0);
	atomic_store(&s_bad, 0);
	t_check(!pthread_create(&ch, NULL, s_churner, NULL), "pthread_create churner");
	t_check(!pthread_create(&t, &a, s_thread, &res), "pthread_create (%zu MiB stack)",
		stack_len / T_MIB);
	pthread_join(t, NULL);
	atomic_store(&s_stop, 1);
	pthread_join(ch, NULL);
	pthread_attr_destroy(&a);
	t_log("    %lu frames (%lu MiB) on a %zu MiB %s stack in %.1fs%s", S_DEPTH + 1,
	      (S_DEPTH + 1) * 4096 / T_MIB, stack_len / T_MIB,
	      heap_stack ? "malloc'd" : "glibc", t_now() - t0, "");
	if (heap_stack)
		t_log("    stack pages non-resident at the deepest point: %ld", s_cold_at_depth);
	t_check(atomic_load(&s_bad) == 0, "%ld stack frames lost their contents",
		atomic_load(&s_bad));
	t_check(res == want, "recursion result %llu, expected %llu",
		(unsigned long long)res, (unsigned long long)want);
	if (heap_stack) {
		/* 64 MiB of stack under a limit of a few MiB: most must have gone out. */
		t_check(c_native || s_cold_at_depth > (long)(c_limit / T_PAGE_SIZE),
			"the malloc'd stack stayed resident (%ld pages cold)", s_cold_at_depth);
		free(stk);
		s_stack_lo = s_stack_hi = NULL;
	}
}

static void case_bigstack(void)
{
	run_stack_case(0);
}

static void case_heapstack(void)
{
	run_stack_case(1);
}

/* ---- wq_full ------------------------------------------------------------ */

#define Q_THREADS 64
#define Q_BUF (256UL * 1024)
#define Q_PASSES 3
#define Q_DEADLINE_S 8.0

static char *q_buf[Q_THREADS];
static pthread_barrier_t q_start;
static atomic_int q_done, q_bad;

static uint64_t q_seed(int t, int pass)
{
	return t_mix64(((uint64_t)pass << 32) | (unsigned)t) ^ 0x9f11;
}

static void *q_worker(void *arg)
{
	int t = (int)(intptr_t)arg;

	pthread_barrier_wait(&q_start);
	for (int pass = 0; pass < Q_PASSES; pass++) {
		long b = t_pattern_check(q_buf[t], Q_BUF, q_seed(t, pass), 0);

		if (b >= 0 && atomic_fetch_add(&q_bad, 1) < 5)
			t_log("thread %d pass %d: byte %ld wrong", t, pass, b);
		t_pattern_fill(q_buf[t], Q_BUF, q_seed(t, pass + 1), 0);
	}
	atomic_fetch_add(&q_done, 1);
	return NULL;
}

static void case_wq_full(void)
{
	pthread_t tid[Q_THREADS];
	double t0;
	int done;

	for (int t = 0; t < Q_THREADS; t++) {
		q_buf[t] = malloc(Q_BUF);
		t_check(q_buf[t], "malloc");
		t_pattern_fill(q_buf[t], Q_BUF, q_seed(t, 0), 0);
	}
	pthread_barrier_init(&q_start, NULL, Q_THREADS + 1);
	for (int t = 0; t < Q_THREADS; t++)
		t_check(!pthread_create(&tid[t], NULL, q_worker, (void *)(intptr_t)t),
			"pthread_create %d", t);
	t0 = t_now();
	pthread_barrier_wait(&q_start);
	/* A thread whose fault was dropped sleeps in the kernel for good:
	 * wait for them all, but not for ever. */
	while ((done = atomic_load(&q_done)) < Q_THREADS && t_now() - t0 < Q_DEADLINE_S)
		usleep(10000);
	t_log("    %d of %d threads done in %.1fs", done, Q_THREADS, t_now() - t0);
	t_check(done == Q_THREADS, "%d threads still blocked after %.0f s (a fault never served?)",
		Q_THREADS - done, Q_DEADLINE_S);
	for (int t = 0; t < Q_THREADS; t++) {
		pthread_join(tid[t], NULL);
		t_check_pattern("buffer after the run", q_buf[t], Q_BUF, q_seed(t, Q_PASSES), 0);
		free(q_buf[t]);
	}
	pthread_barrier_destroy(&q_start);
	t_check(atomic_load(&q_bad) == 0, "%d threads saw wrong data", atomic_load(&q_bad));
}

/* ---- store_race --------------------------------------------------------- */

#define S_THREADS 4
#define S_BUF (8UL * T_MIB)
#define S_SECONDS 3.0

static uint64_t *s_buf;	   /* managed: the pages stored into */
static uint64_t *s_shadow; /* MAP_SHARED (not managed): each page's last value */
static atomic_int r_stop, r_bad;
static atomic_ulong r_stores;

static void s_check_page(size_t i, const char *when)
{
	uint64_t *p = s_buf + i * (T_PAGE_SIZE / 8), want = s_shadow[i];

	if ((p[0] != want || p[T_PAGE_SIZE / 8 - 1] != ~want) && atomic_fetch_add(&r_bad, 1) < 5)
		t_log("page %zu %s: reads %#llx/%#llx, its last store was %#llx", i, when,
		      (unsigned long long)p[0], (unsigned long long)~p[T_PAGE_SIZE / 8 - 1],
		      (unsigned long long)want);
}

static void *s_writer(void *arg)
{
	size_t t = (size_t)(intptr_t)arg, nr = S_BUF / T_PAGE_SIZE;
	uint64_t gen = 0;

	while (!atomic_load(&r_stop)) {
		gen++;
		/* Every S_THREADS-th page is this thread's. A read pass brings
		 * them back (each keeps its clean swap copy), a pause lets the
		 * scanner arm some and drop others clean, then a store pass:
		 * a store to an armed page is a tracking fault. */
		for (size_t i = t; i < nr; i += S_THREADS)
			s_check_page(i, "before a store");
		usleep(5000);
		for (size_t i = t; i < nr && !atomic_load(&r_stop); i += S_THREADS) {
			uint64_t *p = s_buf + i * (T_PAGE_SIZE / 8);
			uint64_t v = t_mix64((gen << 32) | i) | 1;

			s_check_page(i, "before a store");
			p[0] = v;
			p[T_PAGE_SIZE / 8 - 1] = ~v;
			s_shadow[i] = v;
			atomic_fetch_add(&r_stores, 1);
			if (i % 64 == t)
				usleep(200);
		}
	}
	return NULL;
}

static void case_store_race(void)
{
	size_t nr = S_BUF / T_PAGE_SIZE;
	pthread_t tid[S_THREADS];
	double t0;

	s_buf = c_map(S_BUF);
	s_shadow = mmap(NULL, nr * 8, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	t_check(s_shadow != MAP_FAILED, "mmap shadow: %s", strerror(errno));
	for (size_t i = 0; i < nr; i++) {
		s_buf[i * (T_PAGE_SIZE / 8)] = s_shadow[i] = i + 1;
		s_buf[i * (T_PAGE_SIZE / 8) + T_PAGE_SIZE / 8 - 1] = ~(uint64_t)(i + 1);
	}
	/* Out once, so each page has a swap copy when the stores start. */
	c_make_cold("buffer before the stores", s_buf, S_BUF);
	for (size_t t = 0; t < S_THREADS; t++)
		t_check(!pthread_create(&tid[t], NULL, s_writer, (void *)(intptr_t)t),
			"pthread_create");
	t0 = t_now();
	while (t_now() - t0 < S_SECONDS)
		t_churn_sweep(&c_churn);
	atomic_store(&r_stop, 1);
	for (size_t t = 0; t < S_THREADS; t++)
		pthread_join(tid[t], NULL);
	t_log("    %lu stores by %d threads in %.1fs", atomic_load(&r_stores), S_THREADS,
	      t_now() - t0);
	c_make_cold("buffer after the stores", s_buf, S_BUF);
	for (size_t i = 0; i < nr; i++)
		s_check_page(i, "after eviction");
	t_check(atomic_load(&r_bad) == 0, "%d page reads saw a store lost", atomic_load(&r_bad));
	t_sys(munmap(s_buf, S_BUF));
	t_sys(munmap(s_shadow, nr * 8));
}

static const struct c_case cases[] = {
	{ "fault32", case_fault32, "48 threads fault evicted buffers and a shared table at once", 0 },
	{ "exit_race", case_exit_race, "threads exit/are cancelled while their evicted memory is faulted and freed", 0 },
	{ "bigstack", case_bigstack, "64 MiB recursion on a 256 MiB glibc thread stack", 0 },
	{ "heapstack", case_heapstack, "64 MiB recursion on a malloc'd 128 MiB thread stack", 0 },
	{ "wq_full", case_wq_full, "64 threads wait for memory at once (a full wait queue)", 0 },
	{ "store_race", case_store_race, "stores racing tracking faults survive eviction", 0 },
};

int main(int argc, char **argv)
{
	return c_main(argc, argv, "threads", cases, sizeof(cases) / sizeof(cases[0]), 125, 100);
}
