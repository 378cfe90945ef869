/* uswap report's page: the tables and the HTML around them, the CSS inline. */
#include "html.h"

#include "../msg.h"
#include "fmt.h"
#include "input.h"
#include "outfile.h"
#include "summary.h"
#include "svg.h"
#include "trace.h"
#include "uswap/stats.h"

#include <json-c/json.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef USWAP_VERSION
#define USWAP_VERSION "0"
#endif

#define TOP_HTML 25 /* rows in the page's tables */

#define rdie(...) cli_die("report: ", __VA_ARGS__)

/* ---- tables ---- */

static void th(FILE *f, const char *const *cols, int n)
{
	fputs("<thead><tr>", f);
	for (int i = 0; i < n; i++) {
		fputs(cols[i][0] == '<' ? "<th>" : "<th class=\"num\">", f);
		fputs(cols[i] + (cols[i][0] == '<'), f);
		fputs("</th>", f);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
}

static void td(FILE *f, const char *v)
{
	fputs("<td class=\"num\">", f);
	fmt_esc(f, v);
	fputs("</td>", f);
}

static void tdtext(FILE *f, const char *v, const char *cls)
{
	fprintf(f, "<td class=\"%s\">", cls);
	fmt_esc(f, v ? v : "?");
	fputs("</td>", f);
}

static void more_rows(FILE *f, size_t n, const char *what)
{
	if (n > TOP_HTML)
		fprintf(f, "<p class=\"note\">%zu more %s not shown.</p>\n", n - TOP_HTML, what);
}

static void regions_html(FILE *f, struct json_object *st)
{
	static const char *const cols[] = { "<region", "<kind", "size",	     "resident", "res peak",
					    "faults",  "major", "evictions", "refaults", "<mapped" };
	struct json_object *regs = input_get(st, "regions");
	size_t n = input_len(regs);

	fputs("<h2 id=\"regions\">Top regions</h2>\n", f);
	if (!n) {
		fputs("<p class=\"empty\">no regions in this stats file</p>\n", f);
		return;
	}
	fputs("<table id=\"regions-table\">\n", f);
	th(f, cols, 10);
	for (size_t i = 0; i < n && i < TOP_HTML; i++) {
		struct json_object *r = json_object_array_get_idx(regs, i);
		struct json_object *m = input_get(r, "mapped");

		fputs("<tr>", f);
		tdtext(f, input_str(r, "name"), "name");
		tdtext(f, input_str(r, "kind"), "kind");
		td(f, fmt_bytes(input_num(r, "size_bytes")));
		td(f, fmt_bytes(input_num(r, "resident_bytes")));
		td(f, fmt_bytes(input_num(r, "resident_peak_bytes")));
		td(f, fmt_count(input_num(r, "faults")));
		td(f, fmt_count(input_num(r, "majfaults")));
		td(f, fmt_count(input_num(r, "evictions")));
		td(f, fmt_count(input_num(r, "refaults")));
		tdtext(f, !m ? "?" : json_object_get_boolean(m) ? "yes" : "unmapped", "kind");
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	more_rows(f, n, "regions");
}

static void frames_html(FILE *f, struct json_object *frames)
{
	size_t n = input_len(frames);

	if (!n)
		return;
	fprintf(f, "<details><summary>%zu frame%s</summary><ol class=\"frames\">", n,
		n == 1 ? "" : "s");
	for (size_t k = 0; k < n; k++) {
		struct json_object *fr = json_object_array_get_idx(frames, k);

		fputs("<li>", f);
		fmt_esc(f, json_object_is_type(fr, json_type_string) ? json_object_get_string(fr) :
								       "?");
		fputs("</li>", f);
	}
	fputs("</ol></details>", f);
}

static void sites_html(FILE *f, struct json_object *st)
{
	static const char *const cols[] = { "<allocating function",
					    "allocated",
					    "samples",
					    "faults",
					    "major",
					    "evictions",
					    "refaults" };
	struct json_object *sites = input_get(st, "sites.sites");
	size_t n = input_len(sites);

	fputs("<h2 id=\"sites\">Top allocation sites</h2>\n", f);
	if (!input_get(st, "sites")) {
		fputs("<p class=\"empty\">no allocation sites in this stats file</p>\n", f);
		return;
	}
	fprintf(f,
		"<p class=\"note\">Call stacks sampled every %s allocated on average "
		"(%s samples); counts are scaled to estimates for the whole site.</p>\n",
		fmt_bytes(input_num(st, "sites.sample_bytes")),
		fmt_count(input_num(st, "sites.samples")));
	if (!n) {
		fputs("<p class=\"empty\">no sites sampled (--sample-bytes 0, or too little "
		      "allocated)</p>\n",
		      f);
		return;
	}
	fputs("<table id=\"sites-table\">\n", f);
	th(f, cols, 7);
	for (size_t i = 0; i < n && i < TOP_HTML; i++) {
		struct json_object *s = json_object_array_get_idx(sites, i);

		fputs("<tr><td class=\"name\"><code>", f);
		fmt_esc(f, input_str(s, "function") ? input_str(s, "function") : "?");
		fputs("</code>", f);
		frames_html(f, input_get(s, "frames"));
		fputs("</td>", f);
		td(f, fmt_bytes(input_num(s, "alloc_bytes")));
		td(f, fmt_count(input_num(s, "samples")));
		td(f, fmt_count(input_num(s, "faults")));
		td(f, fmt_count(input_num(s, "majfaults")));
		td(f, fmt_count(input_num(s, "evictions")));
		td(f, fmt_count(input_num(s, "refaults")));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	more_rows(f, n, "sites");
}

static int by_stall(const void *a, const void *b)
{
	double x = input_num(*(struct json_object *const *)a, "stall_pct");
	double y = input_num(*(struct json_object *const *)b, "stall_pct");

	x = isnan(x) ? -1 : x;
	y = isnan(y) ? -1 : y;
	return (x < y) - (x > y);
}

static void threads_html(FILE *f, struct json_object *st)
{
	static const char *const cols[] = { "tid",	 "<name",	 "faults", "major",
					    "throttled", "swap-in wait", "stall" };
	struct json_object *arr = input_get(st, "threads"), **t;
	size_t n = input_len(arr);

	fputs("<h2 id=\"threads\">Threads</h2>\n", f);
	if (!n) {
		fputs("<p class=\"empty\">no per-thread figures in this stats file</p>\n", f);
		return;
	}
	/* Most stalled first: they are the ones a limit slows down. */
	t = input_xrealloc(NULL, n * sizeof(*t));
	for (size_t i = 0; i < n; i++)
		t[i] = json_object_array_get_idx(arr, i);
	qsort(t, n, sizeof(*t), by_stall);
	fputs("<table id=\"threads-table\">\n", f);
	th(f, cols, 7);
	for (size_t i = 0; i < n && i < TOP_HTML; i++) {
		fputs("<tr>", f);
		fprintf(f, "<td class=\"num\">%.0f</td>", input_num(t[i], "tid"));
		tdtext(f, input_str(t[i], "name"), "name");
		td(f, fmt_count(input_num(t[i], "faults")));
		td(f, fmt_count(input_num(t[i], "majfaults")));
		td(f, fmt_ns(input_num(t[i], "throttle_ns")));
		td(f, fmt_ns(input_num(t[i], "swapin_ns")));
		td(f, fmt_pct(input_num(t[i], "stall_pct")));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	more_rows(f, n, "threads");
	free(t);
}

static void psi_html(FILE *f, struct json_object *st)
{
	static const char *const cols[] = { "<resource",  "some",      "full",	   "some avg10",
					    "full avg10", "some time", "full time" };
	static const char *const res[][2] = {
		{ "memory", "memory (either)" },
		{ "throttle", "waiting for a free frame" },
		{ "swapin", "waiting for a read" },
	};

	fputs("<h2 id=\"psi\">Stall (PSI)</h2>\n", f);
	if (!input_get(st, "psi")) {
		fputs("<p class=\"empty\">no stall figures in this stats file</p>\n", f);
		return;
	}
	fputs("<table id=\"psi-table\">\n", f);
	th(f, cols, 7);
	for (int i = 0; i < 3; i++) {
		struct json_object *p = input_get(input_get(st, "psi"), res[i][0]);

		if (!p)
			continue;
		fputs("<tr>", f);
		tdtext(f, res[i][1], "name");
		td(f, fmt_pct(input_num(p, "some_pct")));
		td(f, fmt_pct(input_num(p, "full_pct")));
		td(f, fmt_pct(input_num(p, "some_avg10")));
		td(f, fmt_pct(input_num(p, "full_avg10")));
		td(f, fmt_ns(input_num(p, "some_ns")));
		td(f, fmt_ns(input_num(p, "full_ns")));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n<p class=\"note\"><b>some</b>: at least one thread stalled; "
	      "<b>full</b>: all the program's threads stalled (a lower bound: threads asleep for "
	      "other reasons count as not stalled). Percent of the whole run; avg10: of the last "
	      "10 s.</p>\n",
	      f);
}

static void counters_html(FILE *f, struct json_object *st)
{
	/* Not static: USWAP_STAT_KEY checks each name with a comma expression,
	 * which C does not allow in a static's initializer. */
	const char *const keys[][2] = {
		{ USWAP_STAT_KEY(pgfault), "faults served" },
		{ USWAP_STAT_KEY(pgmajfault), "faults served from swap" },
		{ USWAP_STAT_KEY(pgzerofill), "first touches filled with zeros" },
		{ USWAP_STAT_KEY(pswpin), "pages read from swap" },
		{ USWAP_STAT_KEY(pswpout), "pages written to swap" },
		{ USWAP_STAT_KEY(pgpgin), "file pages read from their files" },
		{ USWAP_STAT_KEY(pgpgout), "file pages written back" },
		{ USWAP_STAT_KEY(pgscan_anon), "inactive anon pages scanned" },
		{ USWAP_STAT_KEY(pgsteal_anon), "anon pages reclaimed" },
		{ USWAP_STAT_KEY(pgscan_file), "inactive file pages scanned" },
		{ USWAP_STAT_KEY(pgsteal_file), "file pages reclaimed" },
		{ USWAP_STAT_KEY(pgsteal_clean), "reclaimed without I/O" },
		{ USWAP_STAT_KEY(pgactivate), "pages activated" },
		{ USWAP_STAT_KEY(pgdeactivate), "pages deactivated" },
		{ USWAP_STAT_KEY(workingset_refault_anon), "anon refaults" },
		{ USWAP_STAT_KEY(workingset_activate_anon), "anon refaults activated" },
		{ USWAP_STAT_KEY(workingset_refault_file), "file refaults" },
		{ USWAP_STAT_KEY(workingset_activate_file), "file refaults activated" },
		{ USWAP_STAT_KEY(throttle_count), "faults that waited for memory" },
		{ USWAP_STAT_KEY(throttle_ns), "time they waited" },
		{ USWAP_STAT_KEY(resident_peak_bytes), "peak resident" },
		{ USWAP_STAT_KEY(swap_bytes_peak), "peak swap in use" },
		{ USWAP_STAT_KEY(scanner_cpu_ns), "scanner thread CPU time" },
		{ USWAP_STAT_KEY(handler_cpu_ns), "fault handler CPU time" },
		{ USWAP_STAT_KEY(swap_write_errors), "failed swap writes" },
		{ USWAP_STAT_KEY(swap_full), "evictions skipped: swap full" },
	};

	fputs("<h2 id=\"counters\">Counters</h2>\n"
	      "<table id=\"counters-table\" class=\"narrow\">\n",
	      f);
	fputs("<thead><tr><th>counter</th><th>meaning</th><th class=\"num\">value</th></tr></thead>"
	      "<tbody>\n",
	      f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *k = keys[i][0];
		double v = input_num(st, k);
		size_t kl = strlen(k);

		if (isnan(v))
			continue;
		fputs("<tr>", f);
		fprintf(f, "<td class=\"name\"><code>%s</code></td>", k);
		tdtext(f, keys[i][1], "kind");
		td(f, kl > 6 && !strcmp(k + kl - 6, "_bytes") ? fmt_bytes(v) :
		      kl > 3 && !strcmp(k + kl - 3, "_ns")    ? fmt_ns(v) :
								fmt_count(v));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

/* ---- the page ---- */

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
	"color:#1f2937;background:#f8fafc;margin:0}"
	"main{max-width:960px;margin:0 auto;padding:20px 24px 40px;background:#fff;"
	"box-shadow:0 0 0 1px #e5e7eb}"
	"h1{font-size:22px;margin:4px 0 2px}"
	"h2{font-size:17px;margin:30px 0 8px;padding-bottom:4px;border-bottom:1px solid #e5e7eb}"
	"code{font:12.5px/1.3 ui-monospace,'DejaVu Sans Mono',monospace}"
	".cmd{margin:2px 0;word-break:break-all}"
	".meta{color:#6b7280;margin:2px 0 14px;font-size:13px}"
	".cards{display:grid;grid-template-columns:repeat(3,1fr);gap:10px}"
	".card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;background:#f9fafb}"
	".card .k{font-size:12px;color:#6b7280;text-transform:uppercase;letter-spacing:.04em}"
	".card .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}"
	".card .s{font-size:12px;color:#6b7280}"
	"figure{margin:14px 0 18px}figcaption{font-weight:600;margin-bottom:4px}"
	"svg.plot{max-width:100%;height:auto;display:block}"
	"svg .bg{fill:#fff}svg .grid{stroke:#eef0f3;stroke-width:1}"
	"svg .axis{stroke:#9ca3af;stroke-width:1}"
	"svg text{font-family:inherit;font-size:12px;fill:#374151}svg .tick{fill:#6b7280}"
	"svg .label{font-size:12.5px;fill:#374151}"
	"svg .series{fill:none;stroke-width:1.8;stroke-linejoin:round}"
	"svg .mark{stroke-width:1.5;stroke-dasharray:5 4}svg .marklabel{font-weight:600}"
	".empty{color:#6b7280;font-style:italic;padding:18px;border:1px dashed #d1d5db;"
	"border-radius:6px;text-align:center;background:#fafafa}"
	".note{color:#6b7280;font-size:12.5px;margin:4px 0}"
	"table{border-collapse:collapse;width:100%;font-size:13px}"
	"th,td{padding:4px 8px;border-bottom:1px solid #eef0f3;text-align:left;vertical-align:top}"
	"th{background:#f3f4f6;font-weight:600;white-space:nowrap}"
	"td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"td.name{word-break:break-all}td.kind{color:#4b5563}"
	"tbody tr:nth-child(even){background:#fafbfc}"
	"details summary{color:#6b7280;font-size:12px;cursor:pointer}"
	"ol.frames{margin:2px 0;padding-left:22px;"
	"font:12px ui-monospace,'DejaVu Sans Mono',monospace}"
	"table.narrow{width:auto}"
	"footer{color:#9ca3af;font-size:12px;margin-top:30px}";

static void card(FILE *f, const char *key, const char *value, const char *sub)
{
	fputs("<div class=\"card\"><div class=\"k\">", f);
	fmt_esc(f, key);
	fputs("</div><div class=\"v\">", f);
	fmt_esc(f, value);
	fputs("</div><div class=\"s\">", f);
	fmt_esc(f, sub);
	fputs("</div></div>\n", f);
}

static void headline_html(FILE *f, const struct summary *s)
{
	char sub[160];

	fputs("<section class=\"cards\" id=\"headline\">\n", f);
	card(f, "limit", fmt_bytes(s->limit), summary_limit_note(s));
	snprintf(sub, sizeof(sub), "swap peak %s", fmt_bytes(s->swap_peak));
	card(f, "peak resident", fmt_bytes(s->resident_peak), sub);
	snprintf(sub, sizeof(sub), "of %s faults", fmt_count(s->faults));
	card(f, "major faults", fmt_count(s->majfaults), sub);
	snprintf(sub, sizeof(sub), "anon %s, file %s", fmt_count(s->refault_anon),
		 fmt_count(s->refault_file));
	card(f, "refaults", fmt_count(s->refault_anon + s->refault_file), sub);
	snprintf(sub, sizeof(sub), "last 10 s: %s / %s", fmt_pct(s->some10), fmt_pct(s->full10));
	snprintf(sub + 100, 60, "%s / %s", fmt_pct(s->some), fmt_pct(s->full));
	card(f, "stall some / full", sub + 100, sub);
	if (isnan(s->tolerance))
		snprintf(sub, sizeof(sub), "no miss-ratio curve");
	else
		snprintf(sub, sizeof(sub), "major faults within %.0f%% of unconstrained",
			 s->tolerance);
	card(f, "recommended size", fmt_bytes(s->recommended), sub);
	fputs("</section>\n", f);
}

static void meta_html(FILE *f, struct json_object *st, const struct summary *s,
		      const char *stats_path, const struct trace *tr)
{
	struct json_object *sw = input_get(st, "swappiness");
	double procs = input_num(st, "children.processes");

	fputs("<p class=\"cmd\"><code>", f);
	fmt_esc(f, s->command ? s->command : "(command not recorded)");
	fputs("</code></p>\n<p class=\"meta\">", f);
	if (!isnan(input_num(st, "run.pid")))
		fprintf(f, "pid %.0f &middot; ", input_num(st, "run.pid"));
	if (!isnan(s->duration))
		fprintf(f, "%.1f s &middot; ", s->duration);
	if (!isnan(input_num(st, "run.interval_ms")))
		fprintf(f, "trace every %.0f ms &middot; ", input_num(st, "run.interval_ms"));
	if (sw) {
		fputs("swappiness ", f);
		fmt_esc(f, json_object_get_string(sw));
		fputs(" &middot; ", f);
	}
	if (input_str(st, "track")) {
		fputs("tracking ", f);
		fmt_esc(f, input_str(st, "track"));
		fputs(" &middot; ", f);
	}
	if (procs > 0)
		fprintf(f, "%s child processes &middot; ", fmt_count(procs));
	fputs("stats <code>", f);
	fmt_esc(f, stats_path);
	fputs("</code> &middot; trace ", f);
	if (tr->path) {
		fputs("<code>", f);
		fmt_esc(f, tr->path);
		fprintf(f, "</code> (%zu rows)", tr->n);
	} else {
		fputs("none", f);
	}
	fputs("</p>\n", f);
}

void html_write(const char *out, struct json_object *st, const struct summary *s,
		const char *stats_path, const struct trace *tr)
{
	char err[512], tmp[4096];
	FILE *f;
	int fd, r;

	/* Never through a link or into a FIFO: a new file renamed into
	 * place (base/outfile.h). */
	if (outfile_check("report", out, err, sizeof(err)))
		rdie("%s", err);
	fd = outfile_create(out, tmp, sizeof(tmp));
	if (fd < 0)
		rdie("cannot write report %s: %s", out, strerror(-fd));
	f = fdopen(fd, "w");
	if (!f) {
		unlink(tmp);
		rdie("cannot write report %s: %s", out, strerror(errno));
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>uswap report: ",
	      f);
	fmt_esc(f, s->command ? s->command : stats_path);
	fprintf(f, "</title>\n<style>%s</style>\n</head><body><main>\n<h1>uswap report</h1>\n",
		css);
	meta_html(f, st, s, stats_path, tr);
	headline_html(f, s);
	svg_plots(f, tr);
	svg_mrc(f, st, s);
	regions_html(f, st);
	sites_html(f, st);
	threads_html(f, st);
	psi_html(f, st);
	counters_html(f, st);
	fputs("<footer>generated by uswap " USWAP_VERSION " report</footer>\n"
	      "</main></body></html>\n",
	      f);
	if (ferror(f) | fclose(f)) {
		unlink(tmp);
		rdie("cannot write %s: %s", out, strerror(errno));
	}
	r = outfile_commit(tmp, out);
	if (r)
		rdie("cannot write report %s: %s", out, strerror(-r));
}
