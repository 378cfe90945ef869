/* uswap: run a program under a resident-memory limit.
 *
 * The CLI validates every setting (through the same table the preload
 * reads), checks that userfaultfd and the swap location work, then execs
 * the program with the preload object and USWAP_* variables. Being an exec,
 * the program keeps our pid, and its exit status or death by signal is what
 * the shell sees. */
#define _GNU_SOURCE
#include "config.h"
#include "ctl_client.h"
#include "msg.h"
#include "outfile.h"
#include "probe.h"
#include "report/report.h"
#include "swap.h"
#include "uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef USWAP_VERSION
#define USWAP_VERSION "0"
#endif
#ifndef USWAP_INSTALLED_PRELOAD
#define USWAP_INSTALLED_PRELOAD ""
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: uswap --limit SIZE [options] -- COMMAND [ARGS...]\n"
		"       uswap report RUN [-o OUT.html] [--trace FILE]\n"
		"       uswap ctl PID [show | set KEY=VALUE... | reclaim SIZE]\n"
		"\n"
		"Run COMMAND with its resident memory limited to SIZE; cold pages go to a swap file.\n"
		"\n");
	/* The settings' options, from the one table (base/config.h). */
	for (int i = 0; i < NR_CONFIG_SETTINGS; i++) {
		const struct config_setting *s = &config_settings[i];
		char head[64];
		const char *h = s->help;

		if (!s->option || !*h)
			continue;
		snprintf(head, sizeof(head), "%s%s%s%s", i == CONFIG_VERBOSE ? "-v, " : "",
			 s->option, s->arg ? " " : "", s->arg ? s->arg : "");
		fprintf(f, "  %-19s", head);
		if (strlen(head) > 19)
			fprintf(f, "\n  %-19s", "");
		for (;;) {
			const char *nl = strchr(h, '\n');

			fprintf(f, " %.*s\n", nl ? (int)(nl - h) : (int)strlen(h), h);
			if (!nl)
				break;
			h = nl + 1;
			fprintf(f, "  %-19s", "");
		}
	}
	fprintf(f, "  --run DIR           stats in DIR/stats.json, trace in DIR/trace.csv\n"
		   "                      (see uswap report DIR)\n"
		   "  -h, --help          this help\n"
		   "      --version       print the version\n");
}

#define die(...) cli_die("", __VA_ARGS__)
#define warn(...) cli_msg("warning: ", __VA_ARGS__)

static void find_preload(char *out, size_t len)
{
	const char *env = getenv("USWAP_PRELOAD");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(out, len, "%s/preload/libuswap.so", exe);
			if (access(out, R_OK) == 0)
				return;
			snprintf(out, len, "%s/../lib/uswap/libuswap.so", exe);
			if (access(out, R_OK) == 0)
				return;
		}
	}
	if (*USWAP_INSTALLED_PRELOAD && access(USWAP_INSTALLED_PRELOAD, R_OK) == 0) {
		snprintf(out, len, "%s", USWAP_INSTALLED_PRELOAD);
		return;
	}
	die("cannot find libuswap.so next to the uswap binary; set USWAP_PRELOAD");
}

/* --run DIR: one directory for a run's stats and trace (uswap report DIR).
 * Explicit --stats or --trace options still win. Nothing is created until
 * every option has been checked (make_run_dir). */
static const char *run_dir;

static void set_run_dir(const char *dir)
{
	char path[PATH_MAX];

	if (!*dir)
		die("empty run directory name");
	run_dir = dir;
	snprintf(path, sizeof(path), "%s/stats.json", dir);
	setenv("USWAP_STATS", path, 0);
	snprintf(path, sizeof(path), "%s/trace.csv", dir);
	setenv("USWAP_TRACE", path, 0);
}

/* Whether path lies in a run directory that does not exist yet. */
static bool in_new_run_dir(const char *path)
{
	size_t n = run_dir ? strlen(run_dir) : 0;

	return n && !strncmp(path, run_dir, n) && path[n] == '/' && access(run_dir, F_OK);
}

static void check_run_dir(void)
{
	struct stat st;
	char parent[PATH_MAX], *slash;

	if (!run_dir)
		return;
	if (!stat(run_dir, &st)) {
		if (!S_ISDIR(st.st_mode))
			die("cannot use run directory %s: %s", run_dir, strerror(ENOTDIR));
		return;
	}
	if (errno != ENOENT)
		die("cannot use run directory %s: %s", run_dir, strerror(errno));
	snprintf(parent, sizeof(parent), "%s", run_dir);
	while ((slash = strrchr(parent, '/')) && slash > parent && !slash[1])
		*slash = 0; /* "dir/" */
	slash = strrchr(parent, '/');
	if (!slash)
		snprintf(parent, sizeof(parent), ".");
	else
		slash[slash == parent ? 1 : 0] = 0;
	if (access(parent, W_OK | X_OK))
		die("cannot create run directory %s: %s", run_dir, strerror(errno));
}

static void make_run_dir(void)
{
	if (run_dir && mkdir(run_dir, 0755) && errno != EEXIST)
		die("cannot create run directory %s: %s", run_dir, strerror(errno));
}

/* A file the runtime writes at exit or while running: fail now, not then,
 * and create nothing (the runtime makes it, see base/outfile.h). */
static void check_output(const char *what, const char *path)
{
	char err[512];

	if (!path || in_new_run_dir(path))
		return;
	if (outfile_check(what, path, err, sizeof(err)))
		die("%s", err);
}

/* The options before COMMAND: each is checked and set in the environment.
 * Returns the index of COMMAND (argc if none), or -1 after --help or
 * --version; dies on a bad option. *limit: the --limit given, if any. */
static int parse_options(int argc, char **argv, const char **limit)
{
	char err[512];
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct config_setting *o = NULL;
		size_t k;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return -1;
		}
		if (!strcmp(a, "--version")) {
			printf("uswap %s\n", USWAP_VERSION);
			return -1;
		}
		if (!strcmp(a, "-v"))
			a = "--verbose";
		if (!strncmp(a, "--run", 5) && (a[5] == 0 || a[5] == '=')) {
			if (!a[5] && i + 1 >= argc)
				die("option %s needs a value", "--run");
			set_run_dir(a[5] ? a + 6 : argv[++i]);
			continue;
		}
		for (k = 0; k < NR_CONFIG_SETTINGS; k++) {
			size_t n;

			if (!config_settings[k].option)
				continue;
			n = strlen(config_settings[k].option);
			if (!strncmp(a, config_settings[k].option, n) &&
			    (a[n] == 0 || a[n] == '=')) {
				o = &config_settings[k];
				val = a[n] == '=' ? a + n + 1 : NULL;
				break;
			}
		}
		if (o && !o->arg && val)
			o = NULL; /* a flag takes no value */
		if (!o)
			die("unknown option '%s' (see uswap --help)", a);
		if (!o->arg) {
			/* A flag. */
			setenv(o->env, "1", 1);
			continue;
		}
		if (!val) {
			if (i + 1 >= argc)
				die("option %s needs a value", o->option);
			val = argv[++i];
		}
		if (config_check(o->env, val, err, sizeof(err)))
			die("%s", err);
		setenv(o->env, val, 1);
		if (!strcmp(o->env, "USWAP_LIMIT"))
			*limit = val;
	}
	return i;
}

int main(int argc, char **argv)
{
	char err[512], preload[PATH_MAX], *ld;
	const char *limit = NULL;
	enum probe pr;
	int i;

	/* Subcommands, before any option is read. */
	if (argc > 1 && !strcmp(argv[1], "report"))
		return report_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc - 1, argv + 1);
	i = parse_options(argc, argv, &limit);
	if (i < 0)
		return 0;
	if (!limit)
		die("--limit is required (for example: uswap --limit 256M -- COMMAND)");
	if (i >= argc)
		die("no command given (usage: uswap --limit SIZE -- COMMAND [ARGS...])");
	/* A new tree: its top process makes its own (statsfile.c). */
	unsetenv("USWAP_CHILDREN_DIR");
	if (config_load(err, sizeof(err)))
		die("%s", err);
	check_run_dir();
	check_output("trace file", config.trace_path);
	check_output("stats file", config.stats_path);
	if (uffd_open(err, sizeof(err)))
		die("%s", err);
	if (swap_open(config.swap_path, config.swap_size, err, sizeof(err)))
		die("%s", err);
	/* Everything is checked: only now is anything created. */
	pr = probe_program(argv[i], err, sizeof(err));
	if (pr != PROBE_SANITIZER)
		find_preload(preload, sizeof(preload));
	make_run_dir();
	switch (pr) {
	case PROBE_OK:
		break;
	case PROBE_STATIC:
		warn("%s is statically linked: the preload cannot reach it; running it unmanaged",
		     argv[i]);
		break;
	case PROBE_SECURE:
		warn("%s is setuid, setgid or has file capabilities: the loader ignores LD_PRELOAD "
		     "for it; running it unmanaged",
		     argv[i]);
		break;
	case PROBE_SANITIZER:
		/* Its runtime must come first and replaces malloc: leave it be. */
		warn("%s is built with a sanitizer (%s), which replaces malloc and maps its own shadow; "
		     "running it unmanaged",
		     argv[i], err);
		execvp(argv[i], &argv[i]);
		die("cannot run %s: %s", argv[i], strerror(errno));
	}
	ld = getenv("LD_PRELOAD");
	if (ld && *ld) {
		char *both;

		if (asprintf(&both, "%s:%s", preload, ld) < 0)
			die("out of memory");
		setenv("LD_PRELOAD", both, 1);
	} else {
		setenv("LD_PRELOAD", preload, 1);
	}
	snprintf(err, sizeof(err), "%d", (int)getpid());
	setenv("USWAP_STATS_PID", err, 1);
	execvp(argv[i], &argv[i]);
	die("cannot run %s: %s", argv[i], strerror(errno));
}
