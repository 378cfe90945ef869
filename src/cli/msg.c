#include "msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "uswap: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_msg(const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(prefix, fmt, ap);
	va_end(ap);
}

int cli_error(const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(prefix, fmt, ap);
	va_end(ap);
	return 2;
}

void cli_die(const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(prefix, fmt, ap);
	va_end(ap);
	exit(2);
}
