/* Checks the CLI makes on the program before it execs it. */
#ifndef USWAP_PROBE_H
#define USWAP_PROBE_H

#include <stdbool.h>
#include <stddef.h>

enum probe {
	PROBE_OK,	 /* a dynamically linked program (or not ELF: a script) */
	PROBE_STATIC,	 /* no ELF interpreter: LD_PRELOAD cannot reach it */
	PROBE_SECURE,	 /* setuid/setgid/capabilities: the loader ignores LD_PRELOAD */
	PROBE_SANITIZER, /* links a sanitizer runtime (named in detail) */
};

enum probe probe_program(const char *name, char *detail, size_t len);

#endif
