/* USWAP_DEBUG=1: assertions of the core's invariants (page state
 * transitions, the pager lock's owner). Off, each costs one load and a
 * branch that is not taken. */
#ifndef USWAP_DEBUG_H
#define USWAP_DEBUG_H

#include <stdbool.h>

extern bool debug_checks;

void debug_init(bool on);
/* An invariant failed: say which, where, and abort (a core dump helps). */
void debug_fail(const char *what, const char *file, int line) __attribute__((noreturn, cold));

#define debug_assert(cond)                                        \
	do {                                                      \
		if (__builtin_expect(debug_checks, 0) && !(cond)) \
			debug_fail(#cond, __FILE__, __LINE__);    \
	} while (0)

#endif
