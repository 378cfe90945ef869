/*
 * exec: a program we cannot manage runs without us. A sanitizer runtime
 * must come first and replaces malloc (with us preloaded ASan aborts and
 * TSan crashes): such a program is run with our entry removed from
 * LD_PRELOAD, and says so once. With --no-children every program this one
 * execs runs without us.
 *
 * Otherwise an exec'd program gets its settings from the copy taken at
 * start-up (base/config.c), not from what the program's environment holds
 * by then: a program that set its process title may have overwritten
 * its environment's strings, or passes an environment of its own. Every
 * USWAP_* setting the new environment lacks is added from the copy, and
 * our entry leads LD_PRELOAD if it is not there. What the program sets
 * itself wins (a nested `uswap --limit`, say).
 */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS
#include "exec.h"

#include "config.h"
#include "interpose.h"
#include "log.h"
#include "probe.h"
#include "sys.h"

#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char us[] = "libuswap.so";

/* Whether an LD_PRELOAD entry (length l) names us: its last path component
 * is exactly libuswap.so (the CLI sets a path ending in /libuswap.so; or
 * the bare name). */
static bool names_us(const char *t, size_t l)
{
	const size_t ul = sizeof(us) - 1;

	return l >= ul && !memcmp(t + l - ul, us, ul) && (l == ul || t[l - ul - 1] == '/');
}

/* LD_PRELOAD's list without us: every entry (separated by ':' or ' ', as
 * ld.so reads it) that names us goes; the rest are kept in order, joined
 * by ':'. out has len bytes (strlen(list) + 1 is always enough); returns
 * the length of the kept list. */
static size_t preload_without_us(const char *list, char *out, size_t len)
{
	size_t n = 0, l;

	for (const char *t = list; *(t += strspn(t, ": ")); t += l) {
		l = strcspn(t, ": ");
		if (names_us(t, l))
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

static bool preload_has_us(const char *list)
{
	size_t l;

	for (const char *t = list; *(t += strspn(t, ": ")); t += l) {
		l = strcspn(t, ": ");
		if (names_us(t, l))
			return true;
	}
	return false;
}

/* "LD_PRELOAD=<our entry>", saved at start-up: the entry naming us as the
 * loader was given it, else our own file's name. */
static char our_ld[PATH_MAX + 16];
static size_t our_ld_len;

static void save_our_entry(void)
{
	const char *ld = getenv("LD_PRELOAD"), *name = NULL;
	size_t l = 0;
	Dl_info info;

	for (const char *t = ld ? ld : ""; *(t += strspn(t, ": ")); t += l) {
		l = strcspn(t, ": ");
		if (names_us(t, l)) {
			name = t;
			break;
		}
	}
	if (!name && dladdr((void *)save_our_entry, &info) && info.dli_fname && *info.dli_fname) {
		name = info.dli_fname;
		l = strlen(name);
	}
	if (!name || l + 12 > sizeof(our_ld))
		return;
	memcpy(our_ld, "LD_PRELOAD=", 11);
	memcpy(our_ld + 11, name, l);
	our_ld[11 + l] = 0;
	our_ld_len = 11 + l;
}

void exec_init(void)
{
	const char *dir = config_saved_entry(CONFIG_CHILDREN_DIR);

	save_our_entry();
	/* system() and popen() exec through libc's own posix_spawn, which we
	 * do not see: they pass the environment as it is. */
	if (dir)
		setenv("USWAP_CHILDREN_DIR", strchr(dir, '=') + 1, 1);
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

/* The environment an exec'd program gets: on the caller's stack when it
 * fits (an exec from a vfork child must not leave a mapping behind in its
 * parent), else in a mapping of our own, undone if the exec fails. */
#define ENV_STACK_SLOTS 1024
#define ENV_STACK_LD 8192
struct env_out {
	char **vec;
	char *ld;
	size_t map_len;
	char *stack_vec[ENV_STACK_SLOTS];
	char stack_ld[ENV_STACK_LD];
};

static bool env_has(char *const envp[], const char *entry)
{
	size_t nl = strcspn(entry, "=") + 1;

	for (size_t i = 0; envp[i]; i++)
		if (!strncmp(envp[i], entry, nl))
			return true;
	return false;
}

static char *const *env_for(const char *file, char *const envp[], struct env_out *o)
{
	char detail[64];
	size_t n = 0, k = 0, slots, ldlen = 0;
	bool sanitizer, add;
	const char *ld = NULL;

	o->vec = NULL;
	o->map_len = 0;
	if (!envp)
		return envp;
	sanitizer = probe_program(file, detail, sizeof(detail)) == PROBE_SANITIZER;
	add = !sanitizer && !config.no_children;
	if (!sanitizer && !add)
		return envp;
	for (n = 0; envp[n]; n++)
		if (!strncmp(envp[n], "LD_PRELOAD=", 11))
			ld = envp[n] + 11;
	if (add && ld && preload_has_us(ld))
		ld = NULL; /* kept as it is */
	else if (add && ld)
		ldlen = our_ld_len + 1 + strlen(ld) + 1;
	else if (sanitizer && ld)
		ldlen = 11 + strlen(ld) + 1;
	slots = n + NR_CONFIG_SETTINGS + 2;
	if (slots <= ENV_STACK_SLOTS && ldlen <= ENV_STACK_LD) {
		o->vec = o->stack_vec;
		o->ld = o->stack_ld;
	} else {
		o->map_len = PAGE_ALIGN_UP(slots * sizeof(char *) + ldlen);
		o->vec = sys_mmap(NULL, o->map_len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (o->vec == MAP_FAILED) {
			o->vec = NULL;
			o->map_len = 0;
			return envp;
		}
		o->ld = (char *)(o->vec + slots);
	}
	if (ld && add) {
		/* Ours first, then the program's. */
		memcpy(o->ld, our_ld, our_ld_len);
		o->ld[our_ld_len] = ':';
		memcpy(o->ld + our_ld_len + 1, ld, strlen(ld) + 1);
	} else if (ld) {
		memcpy(o->ld, "LD_PRELOAD=", 11);
		preload_without_us(ld, o->ld + 11, ldlen - 11);
	}
	for (size_t i = 0; i < n; i++)
		o->vec[k++] = ld && !strncmp(envp[i], "LD_PRELOAD=", 11) ? o->ld : envp[i];
	if (add) {
		for (int i = 0; i < NR_CONFIG_SETTINGS; i++) {
			const char *e = config_saved_entry((enum config_id)i);

			if (e && !env_has(envp, e))
				o->vec[k++] = (char *)e;
		}
		if (our_ld_len && !env_has(envp, "LD_PRELOAD="))
			o->vec[k++] = our_ld;
	}
	o->vec[k] = NULL;
	if (sanitizer)
		log_line(
			"warning: %s is built with a sanitizer (%s), which replaces malloc; running it unmanaged",
			file, detail);
	return o->vec;
}

/* The exec failed: we are still here. */
static void env_done(struct env_out *o)
{
	if (o->map_len)
		sys_munmap(o->vec, o->map_len);
}

REAL_SLOT(execvpe);
REAL_SLOT(posix_spawn);
REAL_SLOT(posix_spawnp);

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	struct env_out o;
	int r = (int)syscall(SYS_execve, path, argv, env_for(path, envp, &o));

	env_done(&o);
	return r;
}

EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	struct env_out o;
	int r = REAL(execvpe)(file, argv, env_for(file, envp, &o));

	env_done(&o);
	return r;
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct env_out o;
	int r = REAL(posix_spawn)(pid, path, fa, attr, argv, env_for(path, envp, &o));

	env_done(&o);
	return r;
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct env_out o;
	int r = REAL(posix_spawnp)(pid, file, fa, attr, argv, env_for(file, envp, &o));

	env_done(&o);
	return r;
}

/* The list forms: libc's call its own execve, which we would not see. */
#define LIST_ARGV(first, ap, argv)             \
	size_t argc_ = 1;                      \
	va_start(ap, first);                   \
	while (va_arg(ap, const char *))       \
		argc_++;                       \
	va_end(ap);                            \
	const char *argv[argc_ + 1];           \
	argv[0] = first;                       \
	va_start(ap, first);                   \
	for (size_t i_ = 1; i_ <= argc_; i_++) \
	argv[i_] = va_arg(ap, const char *)

EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;

	LIST_ARGV(arg, ap, argv);
	va_end(ap);
	return execve(path, (char *const *)argv, environ);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;

	LIST_ARGV(arg, ap, argv);
	va_end(ap);
	return execvpe(file, (char *const *)argv, environ);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	char *const *envp;

	LIST_ARGV(arg, ap, argv);
	envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, (char *const *)argv, envp);
}
