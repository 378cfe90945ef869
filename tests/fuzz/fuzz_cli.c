/* cli_msg, cli_error and cli_die for the harnesses that run CLI code (see
 * fuzz.h), and the anonymous input files. */
#define _GNU_SOURCE
#include "fuzz.h"

#include "msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

jmp_buf fuzz_die_jmp;
int fuzz_die_armed;

/* FUZZ_VERBOSE=1 in the environment: print the messages, to see where an
 * input ends. */
static void say(const char *prefix, const char *fmt, va_list ap)
{
	if (!getenv("FUZZ_VERBOSE"))
		return;
	fprintf(stderr, "uswap: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_msg(const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(prefix, fmt, ap);
	va_end(ap);
}

int cli_error(const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(prefix, fmt, ap);
	va_end(ap);
	return 2;
}

void cli_die(const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(prefix, fmt, ap);
	va_end(ap);
	if (!fuzz_die_armed) {
		fprintf(stderr, "fuzz: cli_die outside fuzz_try\n");
		abort();
	}
	fuzz_die_armed = 0;
	longjmp(fuzz_die_jmp, 1);
}

int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
		perror("fuzz: memfd");
		abort();
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}
