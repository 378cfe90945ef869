/* uswap report RUN: a run's stats file and trace turned into one
 * self-contained HTML page and a plain-text summary on stdout.
 *
 * The page has no scripts, fonts or stylesheets of its own to fetch: the CSS
 * is inline and the plots are SVG drawn here, so it reads the same offline,
 * with JavaScript off, or mailed as an attachment. The stats file is parsed
 * with json-c; the trace (CSV with a header line, or JSON lines) by hand,
 * one row at a time. Everything but the flat counters is optional: older
 * stats files have no psi, regions, sites or mrc, and a run may have no
 * trace; each part of the page says what it lacks instead of failing.
 *
 * This file takes the arguments and finds the inputs; input.c reads them,
 * trace.c the trace, summary.c has the figures and the text summary, html.c
 * the page with svg.c's plots, fmt.c the number formats they share. */
#define _GNU_SOURCE
#include "report.h"

#include "../msg.h"
#include "html.h"
#include "input.h"
#include "summary.h"
#include "trace.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define rdie(...) cli_die("report: ", __VA_ARGS__)

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		rdie("out of memory");
	return s;
}

/* ---- arguments and inputs ---- */

static void report_usage(FILE *f)
{
	fputs("usage: uswap report RUN [-o OUT.html] [--trace FILE]\n"
	      "\n"
	      "RUN is a directory written by uswap --run (stats.json and trace.csv or\n"
	      "trace.jsonl), or a stats file (--stats); --trace names its trace. Writes an\n"
	      "HTML page (default RUN/report.html, or the stats file's name with .html)\n"
	      "and prints a summary.\n",
	      f);
}

static bool exists(const char *path)
{
	struct stat sb;

	return path && !stat(path, &sb) && S_ISREG(sb.st_mode);
}

/* The default trace: the run directory's, else the one the stats file names. */
static const char *find_trace(const char *dir, struct json_object *st)
{
	static const char *const names[] = { "trace.csv", "trace.jsonl", "trace.json" };
	const char *named = input_str(st, "run.trace");

	for (size_t i = 0; dir && i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);

		if (exists(p))
			return p;
		free(p);
	}
	return exists(named) ? named : NULL;
}

static char *default_out(const char *dir, const char *stats_path)
{
	const char *dot = strrchr(stats_path, '.'), *slash = strrchr(stats_path, '/');

	if (dir)
		return xasprintf("%s/report.html", dir);
	if (dot && (!slash || dot > slash) && strcmp(dot, ".html"))
		return xasprintf("%.*s.html", (int)(dot - stats_path), stats_path);
	return xasprintf("%s.html", stats_path);
}

/* "-o X", "-oX", "--output X" or "--output=X"; NULL if a is not the option. */
static const char *opt_val(int argc, char **argv, int *i, const char *sht, const char *lng)
{
	const char *a = argv[*i];
	size_t n = strlen(lng);

	if ((sht && !strcmp(a, sht)) || !strcmp(a, lng)) {
		if (*i + 1 >= argc)
			rdie("option %s needs a value", a);
		return argv[++*i];
	}
	if (sht && !strncmp(a, sht, 2) && a[2])
		return a + 2;
	if (!strncmp(a, lng, n) && a[n] == '=')
		return a + n + 1;
	return NULL;
}

int report_main(int argc, char **argv)
{
	const char *run = NULL, *out = NULL, *trace = NULL, *v, *stats_path;
	struct json_object *st;
	struct trace tr = { 0 };
	struct summary sum;
	char *dir = NULL;
	struct stat sb;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			report_usage(stdout);
			return 0;
		} else if ((v = opt_val(argc, argv, &i, "-o", "--output"))) {
			out = v;
		} else if ((v = opt_val(argc, argv, &i, NULL, "--trace"))) {
			trace = v;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			rdie("unknown option '%s' "
			     "(usage: uswap report RUN [-o OUT.html] [--trace FILE])",
			     argv[i]);
		} else if (run) {
			rdie("one run at a time "
			     "(usage: uswap report RUN [-o OUT.html] [--trace FILE])");
		} else {
			run = argv[i];
		}
	}
	if (!run)
		rdie("no run given (usage: uswap report RUN [-o OUT.html] [--trace FILE])");
	/* A file is a stats file; anything else names a run directory, so a
	 * missing one is reported as its missing stats.json. */
	if (!stat(run, &sb) && !S_ISDIR(sb.st_mode)) {
		stats_path = run;
	} else {
		size_t n = strlen(run);

		/* "run/" and "run" are the same run: no "run//stats.json". */
		dir = xasprintf("%.*s", (int)(n - (n > 1 && run[n - 1] == '/')), run);
		stats_path = xasprintf("%s/stats.json", dir);
	}
	st = input_load_stats(stats_path);
	if (!trace)
		trace = find_trace(dir, st);
	if (trace)
		trace_load(&tr, trace);
	if (!out)
		out = default_out(dir, stats_path);
	summary_compute(&sum, st, &tr);
	html_write(out, st, &sum, stats_path, &tr);
	summary_print(&sum, st, &tr, out);
	return 0;
}
