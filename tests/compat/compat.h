/* SPDX-License-Identifier: MIT */
/*
 * compat.h - scaffolding shared by the tests/compat programs.
 *
 * Every program here is an ordinary C program that knows nothing of uswap:
 * it uses malloc, mmap, signals, threads and system calls the way real
 * programs do and checks that each behaves exactly as Linux documents.
 * meson runs each one natively (with --native) and under the uswap CLI;
 * both runs must pass. Exit codes: 0 pass, 1 fail, 77 skip.
 *
 * "Cold" memory: c_make_cold() is t_make_cold() of ../pages.h: it sweeps a
 * churn area of 1.25x the limit (a working set slightly over the limit
 * makes the idle buffer the coldest page under any LRU) until mincore(2)
 * reports at least half of the buffer non-resident, and fails otherwise -
 * unless --native, where nothing is ever evicted. So a test never trusts
 * the pressure: it sees the buffer go out before the operation under test.
 *
 * Cases: each program has a table of named cases; `--case a,b` runs a
 * subset (default: all), `--list` prints the names.
 */
#ifndef USWAP_COMPAT_H
#define USWAP_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "../preload/helpers.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>

#define C_MAX_SWEEPS 16

static int c_native;		/* --native: nothing is evicted, don't require it */
static uint64_t c_limit;	/* the limit the program runs under */
static struct t_churn c_churn = T_CHURN_INIT; /* churn area: 1.25x the limit, mmap'd */
static unsigned long c_nr_cold_checks;
static const char *c_prog = "compat";
static const char *c_current = "(setup)"; /* the case running, for the alarm */
static char c_tmpdir[1024];

/* Sweep until at least half of [p, p+len) is non-resident; fail if it never
 * is (under uswap). @required=0 only reports. Returns the cold page count. */
static inline long c_make_cold_max(const char *what, const void *p, size_t len,
				   int required, int max_sweeps)
{
	long cold = t_make_cold(&c_churn, what, p, len, required, max_sweeps, c_native);

	c_nr_cold_checks++;
	t_log("    %-34s %5ld/%-5zu pages cold", what, cold, t_nr_pages(p, len));
	return cold;
}

static inline long c_make_cold_n(const char *what, const void *p, size_t len, int required)
{
	return c_make_cold_max(what, p, len, required, C_MAX_SWEEPS);
}

static inline void c_make_cold(const char *what, const void *p, size_t len)
{
	c_make_cold_n(what, p, len, 1);
}

/* Bytes of [p, p+len) that are not zero: -1 if all are, else the offset. */
static inline long c_first_nonzero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return (long)i;
	return -1;
}

/* A private anonymous read/write mapping (managed under uswap). */
static inline void *c_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	t_check(p != MAP_FAILED, "mmap(%zu): %s", len, strerror(errno));
	return p;
}

/* A malloc'd buffer holding @seed's pattern, pushed out. */
static inline char *c_cold_pattern(const char *what, size_t len, uint64_t seed)
{
	char *p = malloc(len);

	t_check(p, "malloc(%zu)", len);
	t_pattern_fill(p, len, seed, 0);
	c_make_cold(what, p, len);
	return p;
}

/* A malloc'd buffer holding junk (dirty, so it is written out), pushed out. */
static inline char *c_cold_junk(const char *what, size_t len, uint64_t junk)
{
	return c_cold_pattern(what, len, junk ^ 0x6a756e6bULL);
}

static inline int c_open_tmpfile(void)
{
	return t_open_tmpfile(c_tmpdir, "uswap-compat");
}

struct c_case {
	const char *name;
	void (*fn)(void);
	const char *what;
	int manual;	/* run only when named with --case */
};

static inline void c_on_alarm(int sig)
{
	char msg[256];
	int n;

	(void)sig;
	n = snprintf(msg, sizeof(msg), "FAIL %s: case %s timed out (deadlock?)\n",
		     c_prog, c_current);
	(void)!write(2, msg, (size_t)n);
	_exit(T_EXIT_FAIL);
}

static inline int c_selected(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!list)
		return 1;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && !strncmp(p, name, n))
			return 1;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

/*
 * Parse --native, --limit SIZE, --case LIST, --list, --timeout S; map the
 * churn area (@churn_factor_pct percent of the limit) and run the cases.
 */
static inline int c_main(int argc, char **argv, const char *prog,
		  const struct c_case *cases, size_t nr_cases,
		  unsigned churn_factor_pct, unsigned timeout_s)
{
	const char *limit_arg = NULL, *list = NULL, *t;
	double t0 = t_now();
	size_t nr_run = 0, churn_len;

	c_prog = prog;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--native"))
			c_native = 1;
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			limit_arg = argv[++i];
		else if (!strcmp(argv[i], "--case") && i + 1 < argc)
			list = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_s = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--list")) {
			for (size_t k = 0; k < nr_cases; k++)
				printf("%-24s %s\n", cases[k].name, cases[k].what);
			return T_EXIT_PASS;
		} else
			t_fail("usage: %s [--native] [--limit SIZE] [--case a,b] "
			       "[--timeout S] [--list]", argv[0]);
	}
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p), k;

		for (k = 0; k < nr_cases; k++)
			if (strlen(cases[k].name) == l && !strncmp(cases[k].name, p, l))
				break;
		t_check(k < nr_cases, "unknown case '%.*s' (see --list)", (int)l, p);
		p = e ? e + 1 : p + l;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	c_limit = t_limit_bytes(limit_arg, 16 * T_MIB);
	t = getenv("TMPDIR");
	snprintf(c_tmpdir, sizeof(c_tmpdir), "%s", t && *t ? t : "/tmp");
	signal(SIGALRM, c_on_alarm);
	alarm(timeout_s);

	churn_len = t_churn_len(c_limit, churn_factor_pct);
	t_churn_start(&c_churn, c_map(churn_len), churn_len);
	t_log("%s: limit %llu MiB, churn %zu MiB%s", prog,
	      (unsigned long long)(c_limit / T_MIB), c_churn.len / T_MIB,
	      c_native ? " (native: coldness not required)" : "");

	for (size_t k = 0; k < nr_cases; k++) {
		double t1 = t_now();

		if (!c_selected(list, cases[k].name) || (cases[k].manual && !list))
			continue;
		c_current = cases[k].name;
		t_log("%s: %s", cases[k].name, cases[k].what);
		cases[k].fn();
		t_log("  ok %s (%.1fs)", cases[k].name, t_now() - t1);
		nr_run++;
	}
	c_current = "(final churn check)";
	t_churn_check(&c_churn);
	t_log("%s: %zu cases passed; %lu cold checks, %lu sweeps, %.1fs", prog,
	      nr_run, c_nr_cold_checks, c_churn.nr_sweeps, t_now() - t0);
	return T_EXIT_PASS;
}

#endif /* USWAP_COMPAT_H */
