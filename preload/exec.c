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

#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* LD_PRELOAD's list without us: every entry (separated by ':' or ' ', as
 * ld.so reads it) whose last path component is exactly libuswap.so goes
 * (the CLI sets a path ending in /libuswap.so; or the bare name); the rest
 * are kept in order, joined by ':'. out has len bytes (strlen(list) + 1 is
 * always enough); returns the length of the kept list. */
static size_t preload_without_us(const char *list, char *out, size_t len)
{
	static const char us[] = "libuswap.so";
	const size_t ul = sizeof(us) - 1;
	size_t n = 0, l;

	for (const char *t = list; *(t += strspn(t, ": ")); t += l) {
		l = strcspn(t, ": ");
		if (l >= ul && !memcmp(t + l - ul, us, ul) && (l == ul || t[l - ul - 1] == '/'))
			continue;
		if (n + (n ? 1 : 0) + l >= len)
			continue;
		if (n)
			out[n++] = ':';
		memcpy(out + n, t, l);
		n += l;
	}
	if (len)
		out[n] = 0;
	return n;
}

void exec_no_children(void)
{
	const char *ld = getenv("LD_PRELOAD");
	size_t len;
	char *kept;

	unsetenv("USWAP_LIMIT"); /* without a limit the runtime stays off */
	if (!ld)
		return;
	len = strlen(ld) + 1;
	kept = malloc(len);
	if (!kept)
		return;
	if (preload_without_us(ld, kept, len))
		setenv("LD_PRELOAD", kept, 1);
	else
		unsetenv("LD_PRELOAD");
	free(kept);
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
		if (!strncmp(envp[i], "LD_PRELOAD=", 11)) {
			size_t len = strlen(envp[i]) + 1;
			char *v = malloc(len);

			if (!v)
				continue;
			memcpy(v, "LD_PRELOAD=", 11);
			preload_without_us(envp[i] + 11, v + 11, len - 11);
			out[k++] = v;
			continue;
		}
		out[k++] = envp[i];
	}
	out[k] = NULL;
	log_line(
		"warning: %s is built with a sanitizer (%s), which replaces malloc; running it unmanaged",
		file, detail);
	return out;
}

REAL_SLOT(execvpe);
REAL_SLOT(posix_spawn);
REAL_SLOT(posix_spawnp);

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
	return REAL(execvpe)(file, argv, env_for(file, envp));
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return REAL(posix_spawn)(pid, path, fa, attr, argv, env_for(path, envp));
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return REAL(posix_spawnp)(pid, file, fa, attr, argv, env_for(file, envp));
}
