/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared scaffolding for the tests/unit programs.
 *
 * Each program tests one module of the runtime core by linking core_lib
 * directly. Exit codes follow the automake/meson convention (as in
 * liburing's test/): 0 pass, 1 fail, 77 skip.
 *
 * A program is a table of cases (wayland's tests/ style). t_run() runs each
 * case in a forked child with a timeout, so every case starts from the
 * core's zero-initialised globals (lru, swap, regions, config): several
 * init functions assume they run once per process and do not reset state
 * left by an earlier call. A crash in one case is reported as that case's
 * failure and the others still run. T_BUG marks a case that demonstrates a
 * known bug in src/ (reported as xfail until it passes).
 */
#ifndef USWAP_UNIT_HELPERS_H
#define USWAP_UNIT_HELPERS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common.h"
#include "debug.h"

#define T_PAGE 4096UL


/* Fail unless two integers are equal; prints both and the expressions. */
#define t_eq(got, want)                                                        \
	do {                                                                   \
		uint64_t t_g_ = (uint64_t)(got), t_w_ = (uint64_t)(want);      \
		if (t_g_ != t_w_)                                              \
			t_fail("%s == %" PRIu64 " (%#" PRIx64 "), expected %s"  \
			       " == %" PRIu64 " (%#" PRIx64 ")",               \
			       #got, t_g_, t_g_, #want, t_w_, t_w_);           \
	} while (0)

/* A system call returning -1 is a test failure, with errno spelled out. */
#define t_sys(expr)                                                            \
	({                                                                     \
		__typeof__(expr) t_ret_ = (expr);                              \
		if (t_ret_ == (__typeof__(expr))-1)                            \
			t_fail("%s: %s", #expr, strerror(errno));              \
		t_ret_;                                                        \
	})

/* splitmix64 seeding + xorshift64*: reproducible, no libc rand state. */

/* The seed of randomised cases: T_SEED from the environment, else fixed, so
 * a failure reproduces; the seed is printed with the case. */
static inline uint64_t t_seed(void)
{
	const char *s = getenv("T_SEED");

	return s && *s ? strtoull(s, NULL, 0) : 0x5eed;
}

struct t_case {
	const char *name;
	void (*fn)(void); /* returns to pass; t_fail()/t_skip() exit the child */
	const char *known_bug; /* non-NULL: expected to fail, see T_BUG */
};

#define T_CASE(fn) { #fn, fn, NULL }
/*
 * A case that shows a known bug in src/: its failure is reported as "xfail"
 * and does not fail the program; once it passes, the program fails with
 * "XPASS" so the marker gets dropped and the case guards the fix.
 */
#define T_BUG(fn, why) { #fn, fn, why }

/*
 * Run each case in a child with a per-case timeout (seconds). Optional
 * argv[1] runs only the case of that name. Returns the exit code for main:
 * fail if any case failed, skip if every case skipped, else pass.
 */
static inline int t_run(const struct t_case *cases, size_t nr, unsigned timeout,
			int argc, char **argv)
{
	size_t nr_run = 0, nr_fail = 0, nr_skip = 0;
	const char *scale = getenv("T_TIMEOUT_SCALE");

	/* T_TIMEOUT_SCALE=N: N times the timeout (a sanitized build, see
	 * tests/sanitize.sh). */
	if (scale && atoi(scale) > 0)
		timeout *= (unsigned)atoi(scale);

	for (size_t i = 0; i < nr; i++) {
		int status;
		pid_t pid;

		if (argc > 1 && strcmp(argv[1], cases[i].name))
			continue;
		nr_run++;
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "fork: %s\n", strerror(errno));
			return T_EXIT_FAIL;
		}
		if (pid == 0) {
			const char *dbg = getenv("USWAP_DEBUG");

			/* USWAP_DEBUG=1: the core's assertions on, as in the runtime. */
			debug_init(dbg && *dbg && strcmp(dbg, "0"));
			alarm(timeout);
			cases[i].fn();
			fflush(NULL);
			_exit(T_EXIT_PASS);
		}
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "waitpid: %s\n", strerror(errno));
				return T_EXIT_FAIL;
			}
		}
		if (cases[i].known_bug && WIFEXITED(status) && WEXITSTATUS(status) == T_EXIT_PASS) {
			fprintf(stderr, "XPASS %s: passes now; the known bug (%s) looks fixed: "
				"turn T_BUG into T_CASE\n", cases[i].name, cases[i].known_bug);
			nr_fail++;
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == T_EXIT_PASS) {
			fprintf(stderr, "ok   %s\n", cases[i].name);
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == T_EXIT_SKIP) {
			fprintf(stderr, "skip %s\n", cases[i].name);
			nr_skip++;
		} else if (cases[i].known_bug) {
			fprintf(stderr, "xfail %s: known bug: %s\n", cases[i].name, cases[i].known_bug);
		} else {
			if (WIFSIGNALED(status))
				fprintf(stderr, "FAIL %s: killed by signal %d (%s)%s\n",
					cases[i].name, WTERMSIG(status), strsignal(WTERMSIG(status)),
					WTERMSIG(status) == SIGALRM ? ": timed out" : "");
			else
				fprintf(stderr, "FAIL %s: exit %d\n", cases[i].name,
					WEXITSTATUS(status));
			nr_fail++;
		}
	}
	if (!nr_run) {
		fprintf(stderr, "no case named %s\n", argc > 1 ? argv[1] : "?");
		return T_EXIT_FAIL;
	}
	if (nr_fail)
		return T_EXIT_FAIL;
	return nr_skip == nr_run ? T_EXIT_SKIP : T_EXIT_PASS;
}

#define T_RUN(cases, timeout, argc, argv)                                      \
	t_run(cases, sizeof(cases) / sizeof((cases)[0]), timeout, argc, argv)

#endif /* USWAP_UNIT_HELPERS_H */
