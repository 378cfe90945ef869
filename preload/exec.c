/*
 * exec: a program we cannot manage runs without us. A sanitizer runtime
 * must come first and replaces malloc (with us preloaded ASan aborts and
 * TSan crashes): such a program is run with our entry removed from
 * LD_PRELOAD, and says so once. With --no-children every program this one
 * execs runs without us.
 */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS
#include "exec.h"

#include "interpose.h"
#include "log.h"
#include "probe.h"

#include <dlfcn.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void exec_no_children(void)
{
	const char *ld = getenv("LD_PRELOAD");
	char *kept, *tok, *save = NULL;
	size_t n = 0;

	unsetenv("USWAP_LIMIT"); /* without a limit the runtime stays off */
	if (!ld)
		return;
	kept = malloc(strlen(ld) + 1);
	tok = strdup(ld);
	if (!kept || !tok)
		return;
	for (char *t = strtok_r(tok, ": ", &save); t; t = strtok_r(NULL, ": ", &save)) {
		size_t len = strlen(t);

		if (len >= 11 && !strcmp(t + len - 11, "libuswap.so"))
			continue;
		n += (size_t)sprintf(kept + n, "%s%s", n ? ":" : "", t);
	}
	kept[n] = 0;
	if (n)
		setenv("LD_PRELOAD", kept, 1);
	else
		unsetenv("LD_PRELOAD");
}

static char **env_for(const char *file, char *const envp[])
{
	char detail[64], **out;
	size_t n = 0, k = 0;

	if (!envp || probe_program(file, detail, sizeof(detail)) != PROBE_SANITIZER)
		return (char **)envp;
	while (envp[n])
		n++;
	out = malloc((n + 1) * sizeof(*out));
	if (!out)
		return (char **)envp;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(envp[i], "LD_PRELOAD=", 11) && strstr(envp[i], "libuswap.so")) {
			char *v = malloc(strlen(envp[i]) + 1), *save = NULL, *tok;
			size_t m = 11;

			if (!v)
				continue;
			memcpy(v, "LD_PRELOAD=", 12);
			tok = strdup(envp[i] + 11);
			for (char *t = tok ? strtok_r(tok, ": ", &save) : NULL; t; t = strtok_r(NULL, ": ", &save))
				if (!strstr(t, "libuswap.so"))
					m += (size_t)sprintf(v + m, "%s%s", m > 11 ? ":" : "", t);
			out[k++] = v;
			continue;
		}
		out[k++] = envp[i];
	}
	out[k] = NULL;
	log_line("warning: %s is built with a sanitizer (%s), which replaces malloc; running it unmanaged",
		 file, detail);
	return out;
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)syscall(SYS_execve, path, argv, env_for(path, envp));
}

EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	static execve_fn real;

	if (!real)
		real = (execve_fn)dlsym(RTLD_NEXT, "execvpe");
	return real(file, argv, env_for(file, envp));
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	static spawn_fn real;

	if (!real)
		real = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawn");
	return real(pid, path, fa, attr, argv, env_for(path, envp));
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	static spawn_fn real;

	if (!real)
		real = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawnp");
	return real(pid, file, fa, attr, argv, env_for(file, envp));
}
