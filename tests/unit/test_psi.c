/* SPDX-License-Identifier: MIT */
/*
 * test_psi: stall accounting (src/obs/psi.c) over synthetic stalls, with a
 * fake clock.
 *
 * The rules, as psi.h and the essay atop psi.c state them:
 *  - a thread stalls from its throttle_begin to its throttle_end
 *    (PSI_THROTTLE), and from a read_begin, or a throttle_end that goes on
 *    reading, until read_end of that page, which ends every thread's read
 *    of it (PSI_SWAPIN); PSI_MEMORY is either;
 *  - "some" is the time at least one thread stalled, "full" the time all
 *    of the program's threads did (the process's threads less the
 *    runtime's own, counted by psi_sample_threads);
 *  - psi_pct: some and full as a percentage of the time since psi_reset,
 *    and over the window from the oldest psi_sample no more than 10 s old
 *    (the run's figures when there is no such sample before now);
 *  - each thread's throttle and swapin time, faults and major faults
 *    (psi_threads_json).
 *
 * The program's threads are real: helper threads blocked on a pipe, so that
 * psi_sample_threads counts them, and their tids are the ones stalled. The
 * model records each stall as an interval and, by brute force over 1 ms
 * ticks, takes the union (some) and the intersection over all threads
 * (full) of the intervals.
 */
#include "helpers.h"

#include "jbuf.h"
#include "psi.h"

#include <math.h>
#include <pthread.h>
#include <sys/syscall.h>

#define TICK 1000000ULL      /* ns: the model's resolution */
#define SEC (1000 * TICK)
#define BASE 7000000123ULL   /* the fake clock at psi_reset */

static uint64_t fake_now = BASE;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/* The fake clock at tick t of the run. */
static void at(uint64_t t)
{
	fake_now = BASE + t * TICK;
}

static int gettid_(void)
{
	return (int)syscall(SYS_gettid);
}

/* ---- the program's other threads ------------------------------------------------ */

static int block_pipe[2], ready_pipe[2];

static void *helper(void *arg)
{
	int tid = gettid_();
	char c;

	(void)arg;
	if (write(ready_pipe[1], &tid, sizeof(tid)) != sizeof(tid))
		abort();
	while (read(block_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Start n helper threads; tids[0] is this thread, tids[1..n] theirs. Then
 * reset psi and let it count the threads. */
static void start(int n, int *tids)
{
	tids[0] = gettid_();
	t_sys(pipe(block_pipe));
	t_sys(pipe(ready_pipe));
	for (int i = 1; i <= n; i++) {
		pthread_t th;

		t_check(pthread_create(&th, NULL, helper, NULL) == 0, "pthread_create failed");
		t_check(read(ready_pipe[0], &tids[i], sizeof(tids[i])) == sizeof(tids[i]),
			"helper thread did not start");
	}
	at(0);
	psi_reset(fake_clock);
	psi_sample_threads();
}

/* ---- checks ------------------------------------------------------------------------- */

static const char *const kind_name[NR_PSI] = { "throttle", "swapin", "memory" };

static void expect_totals(const char *what, const uint64_t some[NR_PSI], const uint64_t full[NR_PSI])
{
	struct psi_times p;

	psi_read(&p);
	t_check(p.t == fake_now, "%s: totals up to %" PRIu64 ", expected now %" PRIu64, what, p.t,
		fake_now);
	for (int i = 0; i < NR_PSI; i++) {
		t_check(p.some[i] == some[i], "%s: %s some %" PRIu64 " ns, expected %" PRIu64, what,
			kind_name[i], p.some[i], some[i]);
		t_check(p.full[i] == full[i], "%s: %s full %" PRIu64 " ns, expected %" PRIu64, what,
			kind_name[i], p.full[i], full[i]);
	}
}

#define S3(a, b, c) ((const uint64_t[NR_PSI]){ (a) * SEC, (b) * SEC, (c) * SEC })

static void near_eq(const char *what, const char *field, double got, double want)
{
	t_check(fabs(got - want) <= 1e-9 * (1 + fabs(want)), "%s: %s %.6f%%, expected %.6f%%", what,
		field, got, want);
}

/* A thread's line of psi_threads_json. */
struct tstall {
	uint64_t faults, majfaults, throttle_ns, swapin_ns;
};

static void thread_stall(int tid, struct tstall *ts)
{
	struct psi_times p;
	struct jbuf j = { 0 };
	char key[32];
	const char *s;
	unsigned long long v[4];

	psi_read(&p);
	psi_threads_json(&j, &p);
	t_check(j.p, "psi_threads_json wrote nothing");
	snprintf(key, sizeof(key), "{\"tid\": %d, ", tid);
	s = strstr(j.p, key);
	t_check(s, "psi_threads_json: no thread %d in %s", tid, j.p);
	s = strstr(s, "\"faults\": ");
	t_check(s && sscanf(s, "\"faults\": %llu, \"majfaults\": %llu, \"throttle_ns\": %llu, \"swapin_ns\": %llu",
			    &v[0], &v[1], &v[2], &v[3]) == 4,
		"psi_threads_json: cannot read thread %d in %s", tid, j.p);
	*ts = (struct tstall){ v[0], v[1], v[2], v[3] };
	jbuf_free(&j);
}

/* ---- directed cases ------------------------------------------------------------------ */

/* One thread (the only one): throttled 2 s, then reading 1 s. */
static void one_thread_throttle_then_read(void)
{
	int tid[1];
	struct tstall ts;
	struct psi_times p;
	struct psi_pct pct;

	start(0, tid);
	at(1000);
	psi_throttle_begin(tid[0], 0x1000);
	at(2000);
	expect_totals("throttled 1 s", S3(1, 0, 1), S3(1, 0, 1));
	at(3000);
	psi_throttle_end(tid[0], 0x1000, true, false);
	at(3500);
	/* An open stall counts up to now. */
	expect_totals("reading 0.5 s", (const uint64_t[]){ 2 * SEC, SEC / 2, 2 * SEC + SEC / 2 },
		      (const uint64_t[]){ 2 * SEC, SEC / 2, 2 * SEC + SEC / 2 });
	at(4000);
	psi_read_end(0x2000); /* another page: nothing ends */
	psi_read_end(0x1000);
	at(10000);
	/* With one thread, full is some. */
	expect_totals("after 10 s", S3(2, 1, 3), S3(2, 1, 3));
	psi_read(&p);
	psi_pct(&p, PSI_MEMORY, &pct);
	near_eq("after 10 s", "memory some", pct.some, 30);
	near_eq("after 10 s", "memory full", pct.full, 30);
	near_eq("no sample", "memory some10", pct.some10, 30); /* no sample: the run's */
	psi_pct(&p, PSI_THROTTLE, &pct);
	near_eq("after 10 s", "throttle some", pct.some, 20);
	thread_stall(tid[0], &ts);
	t_eq(ts.throttle_ns, 2 * SEC);
	t_eq(ts.swapin_ns, 1 * SEC);
	t_eq(ts.faults, 1);
	t_eq(ts.majfaults, 1);

	/* A throttle that ends without a read: a minor fault. */
	psi_throttle_begin(tid[0], 0x3000);
	at(10500);
	psi_throttle_end(tid[0], 0x3000, false, false);
	at(12000);
	expect_totals("after a minor throttle", (const uint64_t[]){ 2 * SEC + SEC / 2, SEC, 3 * SEC + SEC / 2 },
		      (const uint64_t[]){ 2 * SEC + SEC / 2, SEC, 3 * SEC + SEC / 2 });
	thread_stall(tid[0], &ts);
	t_eq(ts.faults, 2);
	t_eq(ts.majfaults, 1);
	t_eq(psi_start_time(), BASE);
}

/* Two threads: overlapping throttles, two readers of one page, and a
 * throttle overlapping the other's read. */
static void two_threads_overlap(void)
{
	int tid[2];
	struct tstall a, b;

	start(1, tid);
	at(1000);
	psi_throttle_begin(tid[0], 0x1000);
	at(2000);
	psi_throttle_begin(tid[1], 0x5000);
	at(4000);
	psi_throttle_end(tid[0], 0x1000, false, false);
	at(6000);
	psi_throttle_end(tid[1], 0x5000, false, false);
	/* throttle: some [1, 6) = 5 s, full [2, 4) = 2 s */
	expect_totals("overlapping throttles", S3(5, 0, 5), S3(2, 0, 2));

	at(7000);
	psi_read_begin(tid[0], 0x7000);
	at(8000);
	psi_read_begin(tid[1], 0x7000); /* faults on the page being read */
	at(9000);
	psi_read_end(0x7000);           /* wakes both */
	/* swapin: some [7, 9) = 2 s, full [8, 9) = 1 s */
	expect_totals("two readers of a page", S3(5, 2, 7), S3(2, 1, 3));

	at(10000);
	psi_throttle_begin(tid[0], 0x9000);
	at(11000);
	psi_read_begin(tid[1], 0xa000);
	at(12000);
	psi_throttle_end(tid[0], 0x9000, false, false);
	at(13000);
	psi_read_end(0xa000);
	/* Neither kind alone is full, memory is full [11, 12). */
	expect_totals("throttle against read", S3(7, 4, 10), S3(2, 1, 4));

	thread_stall(tid[0], &a);
	thread_stall(tid[1], &b);
	t_eq(a.throttle_ns, 5 * SEC);
	t_eq(a.swapin_ns, 2 * SEC);
	t_eq(b.throttle_ns, 4 * SEC);
	t_eq(b.swapin_ns, 3 * SEC);
	t_eq(a.faults, 3);
	t_eq(a.majfaults, 1);
	t_eq(b.faults, 3);
	t_eq(b.majfaults, 2);
}

/* Full needs every one of the program's threads: two of three stalled is not. */
static void full_needs_every_thread(void)
{
	int tid[3];

	start(2, tid);
	at(1000);
	psi_throttle_begin(tid[0], 0x1000);
	psi_throttle_begin(tid[1], 0x2000);
	at(3000);
	expect_totals("two of three throttled", S3(2, 0, 2), S3(0, 0, 0));
	psi_read_begin(tid[2], 0x3000);
	at(4000);
	expect_totals("two throttled, one reading", S3(3, 1, 3), S3(0, 0, 1));
	psi_throttle_end(tid[2], 0x3000, false, false); /* not throttled: ends nothing */
	psi_read_end(0x3000);
	psi_throttle_end(tid[1], 0x9000, false, false); /* another page: ends nothing */
	at(5000);
	expect_totals("unmatched ends", S3(4, 1, 4), S3(0, 0, 1));
	psi_throttle_begin(tid[2], 0x3000);
	at(6000);
	expect_totals("all three throttled", S3(5, 1, 5), S3(1, 0, 2));
	psi_throttle_end(tid[0], 0x1000, false, false);
	at(7000);
	expect_totals("two of three again", S3(6, 1, 6), S3(1, 0, 2));
}

/* The 10 s window, sampled every second, against hand-worked figures. */
static void window_10s(void)
{
	int tid[1];
	struct psi_times p;
	struct psi_pct pct;

	start(0, tid);
	for (int s = 1; s <= 30; s++) {
		double some10;

		at((uint64_t)s * 1000 - 500);
		/* Throttled in the second half of seconds 3..7, reading from
		 * 19.5 s to 24.5 s. */
		if (s >= 3 && s <= 7)
			psi_throttle_begin(tid[0], 0x1000);
		if (s == 20)
			psi_read_begin(tid[0], 0x2000);
		if (s == 25)
			psi_read_end(0x2000);
		at((uint64_t)s * 1000);
		if (s >= 3 && s <= 7)
			psi_throttle_end(tid[0], 0x1000, false, false);
		psi_sample_threads();
		psi_read(&p);
		psi_sample(&p);
		psi_pct(&p, PSI_MEMORY, &pct);
		/* Window: from the sample at max(1, s - 10) s. */
		{
			int from = s > 11 ? s - 10 : 1;
			double stalled = 0;

			for (int k = from + 1; k <= s; k++) /* second k is (k-1, k] */
				stalled += (k >= 3 && k <= 7) ? 0.5 : (k >= 21 && k <= 24) ? 1
					 : (k == 20 || k == 25) ? 0.5 : 0;
			some10 = s == 1 ? pct.some : 100 * stalled / (s - from);
		}
		near_eq("window_10s", "memory some10", pct.some10, some10);
		near_eq("window_10s", "memory full10", pct.full10, some10);
	}
	/* At 30 s: the window (20, 30] holds 4 + 0.5 = 4.5 s of stall; the
	 * run 2.5 + 5. */
	near_eq("window_10s at 30 s", "memory some10", pct.some10, 45);
	near_eq("window_10s at 30 s", "memory some", pct.some, 100 * (2.5 + 5) / 30);
}

/* ---- random stalls against the brute-force model --------------------------------------- */

enum { NTH = 3, NTICKS = 60000, NPAGES = 6, SAMPLE_EVERY = 1000 };
enum { IDLE, THROTTLED, READING };

struct ival {
	int th, kind; /* PSI_THROTTLE or PSI_SWAPIN */
	uint64_t t0, t1;
};

struct sample {
	uint64_t t;
	struct psi_times p;
	struct psi_pct pct[NR_PSI];
};

static void random_vs_model(void)
{
	static struct ival iv[NTICKS * NTH];
	static uint8_t cover[NTH][NTICKS];
	static uint64_t some_pre[NR_PSI][NTICKS + 1], full_pre[NR_PSI][NTICKS + 1];
	static struct sample smp[NTICKS / SAMPLE_EVERY + 1];
	int tid[NTH], state[NTH], page[NTH];
	uint64_t since[NTH], nr_faults[NTH] = { 0 }, nr_major[NTH] = { 0 };
	size_t niv = 0, nsmp = 0;
	bool in_flight[NPAGES] = { false };
	struct t_rng rng;
	uint64_t seed = t_seed();

	t_rng_seed(&rng, seed);
	fprintf(stderr, "random_vs_model: seed %#" PRIx64 " (set T_SEED to change)\n", seed);
	start(NTH - 1, tid);
	for (int th = 0; th < NTH; th++)
		state[th] = IDLE;
	for (uint64_t t = 0; t < NTICKS; t++) {
		at(t);
		for (int k = 0; k < NTH; k++) {
			int th = (int)((k + t) % NTH);
			unsigned r = (unsigned)t_rng_below(&rng, 1000);

			if (state[th] == IDLE && r < 40) {
				page[th] = (int)t_rng_below(&rng, NPAGES);
				since[th] = t;
				if (r < 20 || in_flight[page[th]]) {
					/* Faults on a page being read, or a major fault's read starts. */
					psi_read_begin(tid[th], 0x10000 + (uintptr_t)page[th] * T_PAGE);
					in_flight[page[th]] = true;
					state[th] = READING;
					nr_faults[th]++;
					nr_major[th]++;
				} else {
					psi_throttle_begin(tid[th], 0x10000 + (uintptr_t)page[th] * T_PAGE);
					state[th] = THROTTLED;
				}
			} else if (state[th] == THROTTLED && r < 80) {
				bool reading = in_flight[page[th]] || r < 40;

				psi_throttle_end(tid[th], 0x10000 + (uintptr_t)page[th] * T_PAGE, reading, false);
				iv[niv++] = (struct ival){ th, PSI_THROTTLE, since[th], t };
				nr_faults[th]++;
				nr_major[th] += reading;
				if (reading) {
					in_flight[page[th]] = true;
					state[th] = READING;
					since[th] = t;
				} else {
					state[th] = IDLE;
				}
			}
		}
		for (int pg = 0; pg < NPAGES; pg++) {
			if (!in_flight[pg] || t_rng_below(&rng, 100) >= 5)
				continue;
			psi_read_end(0x10000 + (uintptr_t)pg * T_PAGE);
			in_flight[pg] = false;
			for (int th = 0; th < NTH; th++)
				if (state[th] == READING && page[th] == pg) {
					iv[niv++] = (struct ival){ th, PSI_SWAPIN, since[th], t };
					state[th] = IDLE;
				}
		}
		if (t % SAMPLE_EVERY == 0 && t) {
			/* The monitor's interval. */
			struct sample *s = &smp[nsmp++];

			psi_sample_threads();
			psi_read(&s->p);
			psi_sample(&s->p);
			s->t = t;
			for (int i = 0; i < NR_PSI; i++)
				psi_pct(&s->p, i, &s->pct[i]);
		}
	}
	/* Stalls still open at the end run to the end. */
	for (int th = 0; th < NTH; th++)
		if (state[th] != IDLE)
			iv[niv++] = (struct ival){ th, state[th] == THROTTLED ? PSI_THROTTLE : PSI_SWAPIN,
						   since[th], NTICKS };

	/* Brute force: each tick's stalled threads, from the intervals. */
	for (size_t k = 0; k < niv; k++) {
		t_check(iv[k].t0 <= iv[k].t1, "model: interval backwards");
		for (uint64_t t = iv[k].t0; t < iv[k].t1; t++) {
			t_check(!cover[iv[k].th][t], "model: thread %d stalled twice at tick %" PRIu64,
				iv[k].th, t);
			cover[iv[k].th][t] = (uint8_t)(1 << iv[k].kind);
		}
	}
	for (uint64_t t = 0; t < NTICKS; t++)
		for (int i = 0; i < NR_PSI; i++) {
			unsigned mask = i == PSI_MEMORY ? 3 : 1u << i, nr = 0;

			for (int th = 0; th < NTH; th++)
				nr += (cover[th][t] & mask) != 0;
			some_pre[i][t + 1] = some_pre[i][t] + (nr > 0);
			full_pre[i][t + 1] = full_pre[i][t] + (nr == NTH);
		}
	t_check(full_pre[PSI_MEMORY][NTICKS] > 100 && full_pre[PSI_MEMORY][NTICKS] < some_pre[PSI_MEMORY][NTICKS] / 2 &&
			full_pre[PSI_THROTTLE][NTICKS] > 0 && full_pre[PSI_SWAPIN][NTICKS] > 0 &&
			some_pre[PSI_MEMORY][NTICKS] < NTICKS,
		"the random stalls do not exercise some and full (memory some %" PRIu64 " full %" PRIu64
		" ticks of %d)", some_pre[PSI_MEMORY][NTICKS], full_pre[PSI_MEMORY][NTICKS], NTICKS);

	for (size_t k = 0; k < nsmp; k++) {
		const struct sample *s = &smp[k];
		size_t old = k;
		char what[64];

		snprintf(what, sizeof(what), "random_vs_model at %" PRIu64 " ms", s->t);
		t_check(s->p.t == BASE + s->t * TICK, "%s: totals up to %" PRIu64, what, s->p.t);
		/* The window starts at the oldest sample at most 10 s old. */
		while (old > 0 && s->t - smp[old - 1].t <= 10 * SAMPLE_EVERY)
			old--;
		for (int i = 0; i < NR_PSI; i++) {
			uint64_t some = some_pre[i][s->t] * TICK, full = full_pre[i][s->t] * TICK;
			double run = (double)(s->t * TICK), w;

			t_check(s->p.some[i] == some && s->p.full[i] == full,
				"%s: %s some %" PRIu64 " full %" PRIu64 " ns, expected %" PRIu64 " and %" PRIu64,
				what, kind_name[i], s->p.some[i], s->p.full[i], some, full);
			near_eq(what, "some", s->pct[i].some, 100.0 * (double)some / run);
			near_eq(what, "full", s->pct[i].full, 100.0 * (double)full / run);
			if (old == k) {
				near_eq(what, "some10 (no window yet)", s->pct[i].some10, s->pct[i].some);
				continue;
			}
			w = (double)((s->t - smp[old].t) * TICK);
			near_eq(what, "some10", s->pct[i].some10,
				100.0 * (double)((some_pre[i][s->t] - some_pre[i][smp[old].t]) * TICK) / w);
			near_eq(what, "full10", s->pct[i].full10,
				100.0 * (double)((full_pre[i][s->t] - full_pre[i][smp[old].t]) * TICK) / w);
		}
	}
	t_check(nsmp == NTICKS / SAMPLE_EVERY - 1, "%zu samples", nsmp);

	/* Each thread's own stall time and faults, up to the end. */
	at(NTICKS);
	for (int th = 0; th < NTH; th++) {
		uint64_t thr = 0, rd = 0;
		struct tstall ts;

		for (size_t k = 0; k < niv; k++)
			if (iv[k].th == th && iv[k].t1 < NTICKS) /* ended: charged */
				*(iv[k].kind == PSI_THROTTLE ? &thr : &rd) += (iv[k].t1 - iv[k].t0) * TICK;
		thread_stall(tid[th], &ts);
		t_check(ts.throttle_ns == thr && ts.swapin_ns == rd && ts.faults == nr_faults[th] &&
				ts.majfaults == nr_major[th],
			"thread %d: throttle %" PRIu64 " swapin %" PRIu64 " ns, %" PRIu64 " faults %" PRIu64
			" major; expected %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64, tid[th],
			ts.throttle_ns, ts.swapin_ns, ts.faults, ts.majfaults, thr, rd, nr_faults[th],
			nr_major[th]);
	}
}

static const struct t_case cases[] = {
	T_CASE(one_thread_throttle_then_read),
	T_CASE(two_threads_overlap),
	T_CASE(full_needs_every_thread),
	T_CASE(window_10s),
	T_CASE(random_vs_model),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 20, argc, argv);
}
