/* SPDX-License-Identifier: MIT */
/*
 * common.h - what every uswap test program shares: the exit codes of the
 * automake/meson convention (as in liburing's test/: 0 pass, 1 fail,
 * 77 skip) and the fail/skip/check macros.
 */
#ifndef USWAP_TEST_COMMON_H
#define USWAP_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#define T_EXIT_PASS 0
#define T_EXIT_FAIL 1
#define T_EXIT_SKIP 77

#define t_fail(...)                                                            \
	do {                                                                   \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		exit(T_EXIT_FAIL);                                             \
	} while (0)

#define t_skip(...)                                                            \
	do {                                                                   \
		fprintf(stderr, "SKIP: ");                                     \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		exit(T_EXIT_SKIP);                                             \
	} while (0)

/* Fail unless @cond holds; the message says what was expected. */
#define t_check(cond, ...)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			t_fail(__VA_ARGS__);                                   \
	} while (0)

#endif
