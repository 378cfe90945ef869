#define _GNU_SOURCE
#include "debug.h"

#include "log.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

bool debug_checks;

void debug_init(bool on)
{
	debug_checks = on;
}

void debug_fail(const char *what, const char *file, int line)
{
	log_line("internal error: %s:%d: assertion failed: %s", file, line, what);
	syscall(SYS_kill, getpid(), SIGABRT);
	for (;;)
		pause();
}
