/* tests/fuzz: what the harnesses share. Each harness defines
 * LLVMFuzzerTestOneInput; built with clang's libFuzzer (meson -Dfuzz=true,
 * tests/fuzz/run.sh) it is fuzzed, built with replay.c (every build) it runs
 * the seed corpus and the crashes found so far as a normal test. */
#ifndef USWAP_FUZZ_H
#define USWAP_FUZZ_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The CLI's messages (src/cli/msg.h) for a harness that replaces msg.c:
 * quiet, and cli_die returns to fuzz_die_jmp (armed by fuzz_try) instead of
 * exiting, which libFuzzer would count as a crash. */
extern jmp_buf fuzz_die_jmp;
extern int fuzz_die_armed;
#define fuzz_try() (fuzz_die_armed = 1, setjmp(fuzz_die_jmp))
#define fuzz_done() (fuzz_die_armed = 0)

/* data in an anonymous file; its path (/proc/self/fd/N) in path. Returns the
 * fd (close it after), or aborts. */
int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t len);

#endif
