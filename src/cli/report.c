/* uswap report RUN: a run's stats file and trace turned into one
 * self-contained HTML page and a plain-text summary on stdout.
 *
 * The page has no scripts, fonts or stylesheets of its own to fetch: the CSS
 * is inline and the plots are SVG drawn here, so it reads the same offline,
 * with JavaScript off, or mailed as an attachment. The stats file is parsed
 * with json-c; the trace (CSV with a header line, or JSON lines) by hand,
 * one row at a time. Everything but the flat counters is optional: older
 * stats files have no psi, regions, sites or mrc, and a run may have no
 * trace; each part of the page says what it lacks instead of failing. */
#define _GNU_SOURCE
#include "msg.h"
#include "report.h"

#include <json-c/json.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef USWAP_VERSION
#define USWAP_VERSION "0"
#endif

#define PAGE_BYTES 4096.0 /* the runtime's page: list sizes are in pages */
#define TOP_TEXT 10	  /* rows in the text summary's tables */
#define TOP_HTML 25	  /* rows in the page's tables */

#define rdie(...) cli_die("report: ", __VA_ARGS__)
#define rwarn(...) cli_msg("report: warning: ", __VA_ARGS__)

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		rdie("out of memory");
	return q;
}

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

/* The whole file, NUL-terminated; NULL with errno set if it cannot be read
 * (fopen succeeds on a directory: the read then fails with EISDIR). */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0, r;
	char *buf;
	int err;

	if (!f)
		return NULL;
	buf = xrealloc(NULL, cap);
	do {
		if (cap - n < 4096)
			buf = xrealloc(buf, cap *= 2);
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r);
	err = ferror(f) ? (errno ? errno : EIO) : 0;
	fclose(f);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

static size_t line_at(const char *buf, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

/* ---- JSON access: every lookup tolerates a missing or mistyped member ---- */

/* The member at a dotted path ("psi.memory.some_pct"), or NULL. */
static struct json_object *jget(struct json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = 0;
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

/* A number, or NAN: NAN prints as "n/a" and drops out of plots. */
static double jnum(struct json_object *o, const char *path)
{
	o = jget(o, path);
	if (!o || !(json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double)))
		return NAN;
	return json_object_get_double(o);
}

static const char *jstr(struct json_object *o, const char *path)
{
	o = jget(o, path);
	return o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

static size_t jlen(struct json_object *arr)
{
	return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

static struct json_object *load_stats(const char *path)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t len, end;
	char *buf = read_all(path, &len);

	if (!buf)
		rdie("cannot read %s: %s", path, strerror(errno));
	/* uswap creates the file before the program runs and fills it at exit. */
	if (strspn(buf, " \t\r\n") == len)
		rdie("%s: empty stats file (is the run still going, or was it killed?)", path);
	tok = json_tokener_new();
	if (!tok)
		rdie("out of memory");
	o = json_tokener_parse_ex(tok, buf, len > INT_MAX ? INT_MAX : (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!o) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		if (e == json_tokener_continue || e == json_tokener_success)
			rdie("%s: malformed JSON: unexpected end of file", path);
		rdie("%s:%zu: malformed JSON: %s", path, line_at(buf, end), json_tokener_error_desc(e));
	}
	while (end < len && isspace((unsigned char)buf[end]))
		end++;
	if (end < len)
		rdie("%s:%zu: malformed JSON: unexpected data after the object", path, line_at(buf, end));
	if (!json_object_is_type(o, json_type_object) || !jget(o, "pgfault"))
		rdie("%s: not a uswap stats file (no pgfault)", path);
	json_tokener_free(tok);
	free(buf);
	return o;
}

/* ---- the trace ---- */

#define TRACE_COLS(X)                                                                   \
	X(T, "t") X(LIMIT, "limit_bytes") X(RESIDENT, "resident_bytes")                 \
	X(ACTIVE_ANON, "active_anon") X(INACTIVE_ANON, "inactive_anon")                \
	X(ACTIVE_FILE, "active_file") X(INACTIVE_FILE, "inactive_file")                \
	X(PGFAULT, "pgfault") X(PGMAJFAULT, "pgmajfault") X(PSWPIN, "pswpin")          \
	X(PSWPOUT, "pswpout") X(PGPGIN, "pgpgin") X(PGPGOUT, "pgpgout")                \
	X(STEAL_ANON, "pgsteal_anon") X(STEAL_FILE, "pgsteal_file")                    \
	X(REFAULT_ANON, "refault_anon") X(REFAULT_FILE, "refault_file")                \
	X(WRITEBACK, "writeback") X(THROTTLED, "throttled") X(THROTTLE_NS, "throttle_ns") \
	X(STALL_SOME, "stall_some_ns") X(STALL_FULL, "stall_full_ns")                  \
	X(SCANNER_CPU, "scanner_cpu_ns") X(HANDLER_CPU, "handler_cpu_ns")              \
	X(SWAP, "swap_bytes") X(SWAPPINESS, "swappiness")

enum col {
#define X(id, name) C_##id,
	TRACE_COLS(X)
#undef X
	NCOL
};

static const char *const col_names[NCOL] = {
#define X(id, name) name,
	TRACE_COLS(X)
#undef X
};

struct trace {
	const char *path;	/* NULL: no trace recorded */
	size_t n, cap;
	double *v[NCOL];
	bool have[NCOL];	/* the column exists (unknown ones are skipped) */
};

static int col_lookup(const char *name)
{
	for (int c = 0; c < NCOL; c++)
		if (!strcmp(name, col_names[c]))
			return c;
	return -1;
}

/* A new row, all NAN until filled. */
static size_t trace_add(struct trace *tr)
{
	if (tr->n == tr->cap) {
		tr->cap = tr->cap ? tr->cap * 2 : 256;
		for (int c = 0; c < NCOL; c++)
			tr->v[c] = xrealloc(tr->v[c], tr->cap * sizeof(double));
	}
	for (int c = 0; c < NCOL; c++)
		tr->v[c][tr->n] = NAN;
	return tr->n++;
}

/* CSV header: which known column each field holds (-1: not one we plot). */
static int csv_header(struct trace *tr, char *line, int *map, int max)
{
	int nf = 0;

	for (char *save, *f = strtok_r(line, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		if (nf == max)
			return -1;
		map[nf] = col_lookup(f);
		if (map[nf] >= 0)
			tr->have[map[nf]] = true;
		nf++;
	}
	return nf;
}

/* One CSV row; false with the reason in why. */
static bool csv_row(struct trace *tr, char *line, const int *map, int nf, char *why, size_t wlen)
{
	size_t row = trace_add(tr);
	char *p = line;
	int i;

	for (i = 0; i < nf; i++) {
		char *end;
		double d = strtod(p, &end);

		if (end == p || (*end != ',' && *end)) {
			snprintf(why, wlen, "field %d (%s) is not a number", i + 1,
				 map[i] >= 0 ? col_names[map[i]] : "unknown column");
			return false;
		}
		if (map[i] >= 0)
			tr->v[map[i]][row] = d;
		if (!*end && i + 1 < nf) {
			snprintf(why, wlen, "%d fields, the header has %d", i + 1, nf);
			return false;
		}
		p = end + 1;
	}
	if (p[-1]) {
		snprintf(why, wlen, "more fields than the header's %d", nf);
		return false;
	}
	return true;
}

static bool jsonl_row(struct trace *tr, const char *line, char *why, size_t wlen)
{
	struct json_object *o = json_tokener_parse(line);
	size_t row;

	if (!o || !json_object_is_type(o, json_type_object)) {
		snprintf(why, wlen, "not a JSON object");
		json_object_put(o);
		return false;
	}
	row = trace_add(tr);
	for (int c = 0; c < NCOL; c++) {
		double d = jnum(o, col_names[c]);

		tr->v[c][row] = d;
		tr->have[c] |= !isnan(d);
	}
	json_object_put(o);
	if (isnan(tr->v[C_T][row])) {
		snprintf(why, wlen, "no \"t\"");
		return false;
	}
	return true;
}

/* Reads the trace: CSV if its first line is not a JSON object. A bad line is
 * an error with its number, except an unfinished last line: a run killed
 * mid-write leaves one, and the rows before it are still good. */
static void load_trace(struct trace *tr, const char *path)
{
	size_t len, lineno = 0;
	char *buf = read_all(path, &len), *p, why[128];
	bool json = false, header = true;
	int map[256], nf = 0;

	if (!buf)
		rdie("cannot read trace %s: %s", path, strerror(errno));
	tr->path = path;
	for (p = buf; p < buf + len;) {
		char *nl = strchr(p, '\n'), *line = p;
		bool last_partial = !nl;
		bool ok;

		if (nl)
			*nl = 0;
		p = nl ? nl + 1 : buf + len;
		lineno++;
		line[strcspn(line, "\r")] = 0;
		if (!*line)
			continue;
		if (header) {
			header = false;
			json = *line == '{';
			if (!json) {
				nf = csv_header(tr, line, map, 256);
				if (nf < 0 || !tr->have[C_T])
					rdie("%s:%zu: not a uswap trace header (no \"t\" column)", path, lineno);
				continue;
			}
		}
		ok = json ? jsonl_row(tr, line, why, sizeof(why))
			  : csv_row(tr, line, map, nf, why, sizeof(why));
		if (ok)
			continue;
		if (last_partial) {
			rwarn("%s:%zu: unfinished last line ignored", path, lineno);
			tr->n--;
			break;
		}
		rdie("%s:%zu: malformed trace line: %s", path, lineno, why);
	}
	free(buf);
}

/* ---- number formatting: into a ring of static buffers, "n/a" for NAN ---- */

static char *fbuf(void)
{
	static char ring[32][64];
	static unsigned int i;

	return ring[i++ % 32];
}

static const char *fbytes(double v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	char *b = fbuf();
	int u = 0;

	if (isnan(v))
		return "n/a";
	while (fabs(v) >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	/* 64 MiB, 1.50 GiB, 98.3 MiB: three figures, none for round sizes. */
	snprintf(b, 64, !u || v == floor(v) ? "%.0f %s" : fabs(v) < 10 ? "%.2f %s" : "%.1f %s", v,
		 units[u]);
	return b;
}

/* A count with thousands separators: 1,234,567. */
static const char *fcount(double v)
{
	char tmp[40], *b = fbuf(), *o = b;
	int n, i;

	if (isnan(v))
		return "n/a";
	n = snprintf(tmp, sizeof(tmp), "%.0f", v);
	if (n >= (int)sizeof(tmp))
		n = (int)sizeof(tmp) - 1;
	for (i = 0; i < n; i++) {
		if (i && tmp[i - 1] != '-' && (n - i) % 3 == 0)
			*o++ = ',';
		*o++ = tmp[i];
	}
	*o = 0;
	return b;
}

static const char *fpct(double v)
{
	char *b = fbuf();

	if (isnan(v))
		return "n/a";
	snprintf(b, 64, v != 0 && fabs(v) < 0.1 ? "%.3f%%" : "%.1f%%", v);
	return b;
}

static const char *fns(double ns)
{
	char *b = fbuf();

	if (isnan(ns))
		return "n/a";
	if (ns == 0)
		return "0";
	if (ns >= 1e9)
		snprintf(b, 64, "%.2f s", ns / 1e9);
	else if (ns >= 1e6)
		snprintf(b, 64, "%.1f ms", ns / 1e6);
	else
		snprintf(b, 64, "%.0f us", ns / 1e3);
	return b;
}

/* A name cut to width from the left: paths differ at their ends. */
static const char *fcut(const char *s, size_t width)
{
	char *b = fbuf();
	size_t n = strlen(s ? s : "");

	if (!s)
		return "?";
	if (n <= width || width < 8 || width > 60)
		return s;
	s += n - (width - 3);
	while ((*s & 0xc0) == 0x80)	/* not in the middle of a UTF-8 sequence */
		s++;
	snprintf(b, 64, "...%s", s);
	return b;
}

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* ---- the figures the headline, the summary and the page share ---- */

struct summary {
	const char *command;
	double limit, limit_min, limit_max, resident_peak, swap_peak;
	double faults, majfaults, refault_anon, refault_file;
	double some, full, some10, full10, duration;
	double recommended, tolerance, mrc_limit;
	const char *limit_mode;
};

static void summarize(struct summary *s, struct json_object *st, const struct trace *tr)
{
	memset(s, 0, sizeof(*s));
	s->command = jstr(st, "run.command");
	s->limit = jnum(st, "limit_bytes");
	s->limit_min = s->limit_max = s->limit;
	s->limit_mode = jstr(st, "run.limit_mode");
	s->resident_peak = jnum(st, "resident_peak_bytes");
	s->swap_peak = jnum(st, "swap_bytes_peak");
	s->faults = jnum(st, "pgfault");
	s->majfaults = jnum(st, "pgmajfault");
	s->refault_anon = jnum(st, "workingset_refault_anon");
	s->refault_file = jnum(st, "workingset_refault_file");
	s->some = jnum(st, "psi.memory.some_pct");
	s->full = jnum(st, "psi.memory.full_pct");
	s->some10 = jnum(st, "psi.memory.some_avg10");
	s->full10 = jnum(st, "psi.memory.full_avg10");
	s->duration = jnum(st, "run.duration_s");
	s->recommended = jnum(st, "mrc.recommended_bytes");
	s->tolerance = jnum(st, "mrc.tolerance_pct");
	s->mrc_limit = jnum(st, "mrc.limit_bytes");
	/* The limit can move while the program runs (ctl set, --limit auto). */
	for (size_t i = 0; tr->have[C_LIMIT] && i < tr->n; i++) {
		double l = tr->v[C_LIMIT][i];

		if (isnan(l))
			continue;
		if (isnan(s->limit_min) || l < s->limit_min)
			s->limit_min = l;
		if (isnan(s->limit_max) || l > s->limit_max)
			s->limit_max = l;
	}
	if (isnan(s->duration) && tr->n)
		s->duration = tr->v[C_T][tr->n - 1];
	/* Older stats files have no psi: the trace has the stall totals. */
	if (isnan(s->some) && tr->n && tr->have[C_STALL_SOME] && tr->have[C_STALL_FULL] &&
	    s->duration > 0) {
		s->some = tr->v[C_STALL_SOME][tr->n - 1] / 1e9 / s->duration * 100;
		s->full = tr->v[C_STALL_FULL][tr->n - 1] / 1e9 / s->duration * 100;
	}
}

static const char *limit_note(const struct summary *s)
{
	char *b = fbuf();

	if (s->limit_max > s->limit_min)
		snprintf(b, 64, "%s %s to %s",
			 s->limit_mode && !strcmp(s->limit_mode, "auto") ? "auto:" : "changed:",
			 fbytes(s->limit_min), fbytes(s->limit_max));
	else
		snprintf(b, 64, "%s", s->limit_mode ? s->limit_mode : "fixed");
	return b;
}

/* ---- plain-text summary ---- */

static void text_regions(struct json_object *st)
{
	struct json_object *regs = jget(st, "regions");
	size_t n = jlen(regs);

	if (!n)
		return;
	printf("\ntop regions (of %zu)\n", n);
	printf("  %-34s %10s %10s %12s %12s %12s %12s\n", "region", "size", "res peak", "faults",
	       "major", "evictions", "refaults");
	for (size_t i = 0; i < n && i < TOP_TEXT; i++) {
		struct json_object *r = json_object_array_get_idx(regs, i);

		printf("  %-34s %10s %10s %12s %12s %12s %12s\n", fcut(jstr(r, "name"), 34),
		       fbytes(jnum(r, "size_bytes")), fbytes(jnum(r, "resident_peak_bytes")),
		       fcount(jnum(r, "faults")), fcount(jnum(r, "majfaults")),
		       fcount(jnum(r, "evictions")), fcount(jnum(r, "refaults")));
	}
}

static void text_sites(struct json_object *st)
{
	struct json_object *sites = jget(st, "sites.sites");
	size_t n = jlen(sites);

	if (!n)
		return;
	printf("\ntop allocation sites (of %zu; sampled every %s)\n", n,
	       fbytes(jnum(st, "sites.sample_bytes")));
	printf("  %-34s %10s %12s %12s %12s %12s\n", "function", "allocated", "faults", "major",
	       "evictions", "refaults");
	for (size_t i = 0; i < n && i < TOP_TEXT; i++) {
		struct json_object *s = json_object_array_get_idx(sites, i);

		printf("  %-34s %10s %12s %12s %12s %12s\n", fcut(jstr(s, "function"), 34),
		       fbytes(jnum(s, "alloc_bytes")), fcount(jnum(s, "faults")),
		       fcount(jnum(s, "majfaults")), fcount(jnum(s, "evictions")),
		       fcount(jnum(s, "refaults")));
	}
}

static void text_summary(const struct summary *s, struct json_object *st, const struct trace *tr,
			 const char *out)
{
	printf("uswap report: %s\n", s->command ? s->command : "(command not recorded)");
	printf("  %-18s %s (%s)\n", "limit", fbytes(s->limit), limit_note(s));
	printf("  %-18s %s\n", "peak resident", fbytes(s->resident_peak));
	printf("  %-18s %s (of %s faults)\n", "major faults", fcount(s->majfaults), fcount(s->faults));
	printf("  %-18s %s (anon %s, file %s)\n", "refaults", fcount(s->refault_anon + s->refault_file),
	       fcount(s->refault_anon), fcount(s->refault_file));
	printf("  %-18s %s / %s", "stall some/full", fpct(s->some), fpct(s->full));
	if (!isnan(s->duration))
		printf(" of %.1f s", s->duration);
	putchar('\n');
	printf("  %-18s %s", "recommended size", fbytes(s->recommended));
	if (!isnan(s->recommended) && !isnan(s->tolerance))
		printf(" (major faults within %.0f%% of an unconstrained run)", s->tolerance);
	putchar('\n');
	if (tr->path)
		printf("  %-18s %s, %zu rows\n", "trace", tr->path, tr->n);
	else
		printf("  %-18s no trace recorded\n", "trace");
	text_regions(st);
	text_sites(st);
	printf("\nreport: %s\n", out);
}

/* ---- SVG plots ---- */

enum unit { U_COUNT, U_BYTES, U_PCT, U_SEC };

struct series {
	const char *name, *color;
	double *x, *y;		/* owned: freed with the chart */
	size_t n;
	bool dashed;
	bool step;		/* holds its value until the next sample (the limit) */
};

struct mark {			/* a vertical line across the plot */
	double x;
	const char *label, *color;
};

struct chart {
	const char *id, *title, *note, *xlabel, *ylabel;
	enum unit xunit, yunit;
	bool x_from_zero;
	struct series s[6];
	int ns;
	struct mark m[2];
	int nm;
	const char *empty;	/* why there is nothing to draw */
};

struct axis {
	double lo, hi, step, div;
	const char *suffix;
	int decimals;
};

enum { W = 920, H = 290, ML = 78, MR = 26, MT = 40, MB = 48 };

/* Ticks at round values: 1-2-5 steps, or powers of two of a binary unit for
 * bytes (0, 16, 32, 48, 64 MiB reads better than 0, 20, 40, 60). */
static void axis_fit(struct axis *a, double lo, double hi, enum unit u, int ticks, bool tight)
{
	double range, rough, mag, f, lo0, hi0;

	/* All zeros (nothing throttled, no file pages) still gets a scale. */
	if (!(hi > lo))
		hi = lo + (lo > 0 ? lo : u == U_BYTES ? 1 << 20 : 1);
	lo0 = lo;
	hi0 = hi;
	a->div = 1;
	a->suffix = u == U_PCT ? "%" : "";
	if (u == U_BYTES) {
		static const char *const sfx[] = { " B", " KiB", " MiB", " GiB", " TiB" };
		int k = 0;

		while (k < 4 && fmax(fabs(hi), fabs(lo)) >= 1024 * a->div) {
			a->div *= 1024;
			k++;
		}
		a->suffix = sfx[k];
	} else if (u == U_COUNT && fmax(fabs(hi), fabs(lo)) >= 1e4) {
		a->div = hi >= 1e7 ? 1e6 : 1e3;
		a->suffix = hi >= 1e7 ? "M" : "k";
	}
	lo /= a->div;
	hi /= a->div;
	range = hi - lo;
	rough = range / ticks;
	if (u == U_BYTES && rough >= 1) {
		a->step = 1;
		while (range / a->step > ticks + 1)
			a->step *= 2;
	} else {
		mag = pow(10, floor(log10(rough)));
		f = rough / mag;
		a->step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
	}
	a->lo = floor(lo / a->step + 1e-9) * a->step;
	a->hi = ceil(hi / a->step - 1e-9) * a->step;
	a->decimals = a->step >= 1 ? 0 : (int)ceil(-log10(a->step) - 1e-9);
	a->lo *= a->div;
	a->hi *= a->div;
	a->step *= a->div;
	/* Time ends where the run ended, not at the next round tick. */
	if (tight) {
		a->lo = lo0;
		a->hi = hi0;
	}
}

static double ax_px(const struct axis *a, double v)
{
	return ML + (v - a->lo) / (a->hi - a->lo) * (W - ML - MR);
}

static double ay_px(const struct axis *a, double v)
{
	return H - MB - (v - a->lo) / (a->hi - a->lo) * (H - MT - MB);
}

static void tick_label(FILE *f, const struct axis *a, double v)
{
	if (fabs(v) < a->step / 2)	/* "0", not "0k" or "-0.0" */
		fprintf(f, "0%s", a->suffix[0] == ' ' || a->suffix[0] == '%' ? a->suffix : "");
	else
		fprintf(f, "%.*f%s", a->decimals, v / a->div, a->suffix);
}

static void axes_svg(FILE *f, const struct chart *c, const struct axis *ax, const struct axis *ay)
{
	fprintf(f, "<rect class=\"bg\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", ML, MT,
		W - ML - MR, H - MT - MB);
	for (double v = ay->lo; v <= ay->hi + ay->step / 2; v += ay->step) {
		double y = ay_px(ay, v);

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", ML,
			W - MR, y, y);
		fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", ML - 6, y + 4);
		tick_label(f, ay, v);
		fputs("</text>\n", f);
	}
	for (double v = ceil(ax->lo / ax->step - 1e-9) * ax->step; v <= ax->hi + ax->step * 1e-6;
	     v += ax->step) {
		double x = ax_px(ax, v);

		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>", x, x,
			MT, H - MB);
		fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", x,
			H - MB + 16);
		tick_label(f, ax, v);
		fputs("</text>\n", f);
	}
	fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", ML, W - MR,
		H - MB, H - MB);
	fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n", ML, ML, MT,
		H - MB);
	fprintf(f, "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (ML + W - MR) / 2,
		H - 10);
	esc(f, c->xlabel);
	fprintf(f, "</text>\n<text class=\"label\" transform=\"translate(16 %d) rotate(-90)\" "
		"text-anchor=\"middle\">", (MT + H - MB) / 2);
	esc(f, c->ylabel);
	fputs("</text>\n", f);
}

/* One point of a polyline, once per pixel column at most four times (first,
 * min, max, last): a long trace then costs what the plot can show, and the
 * peaks survive. */
struct thin {
	FILE *f;
	int col;
	double px, first, last, lo, hi;
	bool lo_first;
};

static void thin_flush(struct thin *t)
{
	if (t->col == INT_MIN)
		return;
	fprintf(t->f, "%.1f,%.1f ", t->px, t->first);
	fprintf(t->f, "%.1f,%.1f ", t->px, t->lo_first ? t->hi : t->lo);
	fprintf(t->f, "%.1f,%.1f ", t->px, t->lo_first ? t->lo : t->hi);
	fprintf(t->f, "%.1f,%.1f ", t->px, t->last);
}

static void thin_point(struct thin *t, double px, double py)
{
	int col = (int)floor(px);

	if (col != t->col) {
		thin_flush(t);
		t->col = col;
		t->px = px;
		t->first = t->lo = t->hi = py;
	}
	/* SVG y grows downwards: lo is the top of the plot. */
	if (py < t->lo) {
		t->lo = py;
		t->lo_first = false;
	}
	if (py > t->hi) {
		t->hi = py;
		t->lo_first = true;
	}
	t->last = py;
}

static void series_svg(FILE *f, const struct series *s, const struct axis *ax, const struct axis *ay)
{
	struct thin t = { .f = f, .col = INT_MIN };
	bool thin = s->n > 2 * (W - ML - MR);
	double prev = NAN;

	fprintf(f, "<polyline class=\"series\" stroke=\"%s\"%s points=\"", s->color,
		s->dashed ? " stroke-dasharray=\"6 4\"" : "");
	for (size_t i = 0; i < s->n; i++) {
		double px, py;

		if (isnan(s->x[i]) || isnan(s->y[i]))
			continue;
		px = ax_px(ax, s->x[i]);
		py = ay_px(ay, s->y[i]);
		if (thin) {
			thin_point(&t, px, py);
			continue;
		}
		if (s->step && !isnan(prev) && prev != py)
			fprintf(f, "%.1f,%.1f ", px, prev);
		fprintf(f, "%.1f,%.1f ", px, py);
		prev = py;
	}
	thin_flush(&t);
	fputs("\"/>\n", f);
}

static void legend_svg(FILE *f, const struct chart *c)
{
	double x = ML;

	for (int i = 0; i < c->ns; i++) {
		const struct series *s = &c->s[i];

		fprintf(f, "<g class=\"legend\"><line x1=\"%.0f\" x2=\"%.0f\" y1=\"18\" y2=\"18\" "
			"stroke=\"%s\" stroke-width=\"3\"%s/><text x=\"%.0f\" y=\"22\">", x, x + 20,
			s->color, s->dashed ? " stroke-dasharray=\"6 4\"" : "", x + 26);
		esc(f, s->name);
		fputs("</text></g>\n", f);
		x += 44 + 6.6 * (double)strlen(s->name);
	}
}

static void marks_svg(FILE *f, const struct chart *c, const struct axis *ax)
{
	for (int i = 0; i < c->nm; i++) {
		const struct mark *m = &c->m[i];
		double x = ax_px(ax, m->x);
		bool right = x > W - MR - 200;

		fprintf(f, "<line class=\"mark\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"%s\"/>",
			x, x, MT, H - MB, m->color);
		fprintf(f, "<text class=\"marklabel\" x=\"%.1f\" y=\"%d\" style=\"fill:%s\" text-anchor=\"%s\">",
			right ? x - 5 : x + 5, MT + 14 + 15 * i, m->color, right ? "end" : "start");
		esc(f, m->label);
		fputs("</text>\n", f);
	}
}

static bool series_range(const struct chart *c, double *x0, double *x1, double *y1)
{
	bool any = false;

	*x0 = INFINITY;
	*x1 = -INFINITY;
	*y1 = 0;
	for (int i = 0; i < c->ns; i++) {
		for (size_t k = 0; k < c->s[i].n; k++) {
			double x = c->s[i].x[k], y = c->s[i].y[k];

			if (isnan(x) || isnan(y))
				continue;
			any = true;
			*x0 = fmin(*x0, x);
			*x1 = fmax(*x1, x);
			*y1 = fmax(*y1, y);
		}
	}
	for (int i = 0; i < c->nm; i++) {
		*x0 = fmin(*x0, c->m[i].x);
		*x1 = fmax(*x1, c->m[i].x);
	}
	return any;
}

/* A figure: the title, then the plot or what stands in for it. */
static void chart_html(FILE *f, struct chart *c)
{
	struct axis ax, ay;
	double x0, x1, y1;

	fprintf(f, "<figure id=\"%s\"><figcaption>", c->id);
	esc(f, c->title);
	fputs("</figcaption>\n", f);
	if (!c->empty && !series_range(c, &x0, &x1, &y1))
		c->empty = "no data in the trace";
	if (c->empty) {
		fputs("<div class=\"empty\">", f);
		esc(f, c->empty);
		fputs("</div>\n", f);
	} else {
		axis_fit(&ax, c->x_from_zero ? fmin(0, x0) : x0, x1, c->xunit, 8, true);
		axis_fit(&ay, 0, y1 * 1.04, c->yunit, 5, false);
		fprintf(f, "<svg class=\"plot\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
			"role=\"img\" aria-label=\"", W, H, W, H);
		esc(f, c->title);
		fputs("\">\n", f);
		axes_svg(f, c, &ax, &ay);
		marks_svg(f, c, &ax);
		for (int i = 0; i < c->ns; i++)
			if (c->s[i].n)
				series_svg(f, &c->s[i], &ax, &ay);
		legend_svg(f, c);
		fputs("</svg>\n", f);
	}
	if (c->note) {
		fputs("<p class=\"note\">", f);
		esc(f, c->note);
		fputs("</p>\n", f);
	}
	fputs("</figure>\n", f);
	for (int i = 0; i < c->ns; i++) {
		free(c->s[i].x);
		free(c->s[i].y);
	}
}

/* ---- series from the trace ---- */

static struct series *add_series(struct chart *c, const char *name, const char *color, size_t n)
{
	struct series *s = &c->s[c->ns++];

	s->name = name;
	s->color = color;
	s->x = xrealloc(NULL, n * sizeof(double));
	s->y = xrealloc(NULL, n * sizeof(double));
	s->n = 0;
	return s;
}

/* A gauge column, times scale; NULL if the trace lacks it. */
static struct series *gauge(struct chart *c, const struct trace *tr, enum col a, enum col b, double scale,
		  const char *name, const char *color)
{
	struct series *s;

	if (!tr->have[a] || !tr->have[b])
		return NULL;
	s = add_series(c, name, color, tr->n);
	for (size_t i = 0; i < tr->n; i++) {
		s->x[s->n] = tr->v[C_T][i];
		s->y[s->n++] = (tr->v[a][i] + (a == b ? 0 : tr->v[b][i])) * scale;
	}
	return s;
}

/* The per-second rate of a cumulative column (plus a second one, when b is
 * not a), times scale, over each interval, plotted at the interval's end. */
static struct series *rate(struct chart *c, const struct trace *tr, enum col a, enum col b, double scale,
		 const char *name, const char *color)
{
	struct series *s;

	if (!tr->have[a] || !tr->have[b])
		return NULL;
	s = add_series(c, name, color, tr->n);
	for (size_t i = 1; i < tr->n; i++) {
		double dt = tr->v[C_T][i] - tr->v[C_T][i - 1];
		double d = tr->v[a][i] - tr->v[a][i - 1];

		if (a != b)
			d += tr->v[b][i] - tr->v[b][i - 1];
		if (!(dt > 0) || !(d >= 0))	/* also drops NAN */
			continue;
		s->x[s->n] = tr->v[C_T][i];
		s->y[s->n++] = d / dt * scale;
	}
	return s;
}

static void time_chart(struct chart *c, const struct trace *tr, const char *id, const char *title,
		       const char *ylabel, enum unit yunit)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->title = title;
	c->xlabel = "time since start (s)";
	c->ylabel = ylabel;
	c->xunit = U_SEC;
	c->yunit = yunit;
	c->x_from_zero = true;
	if (!tr->path)
		c->empty = "no trace recorded (run with --run DIR or --trace FILE)";
	else if (tr->n < 2)
		c->empty = "the trace has fewer than two rows";
}

static void plots_html(FILE *f, const struct trace *tr)
{
	struct series *s;
	struct chart c;

	fputs("<h2 id=\"memory\">Memory over time</h2>\n", f);
	time_chart(&c, tr, "plot-resident", "Resident memory vs limit", "bytes", U_BYTES);
	if (!c.empty) {
		gauge(&c, tr, C_RESIDENT, C_RESIDENT, 1, "resident", "#2563eb");
		if ((s = gauge(&c, tr, C_LIMIT, C_LIMIT, 1, "limit", "#dc2626")))
			s->step = true;
		if ((s = gauge(&c, tr, C_SWAP, C_SWAP, 1, "swap in use", "#6b7280")))
			s->dashed = true;
	}
	chart_html(f, &c);

	time_chart(&c, tr, "plot-lists", "LRU list sizes", "bytes (4 KiB pages)", U_BYTES);
	if (!c.empty) {
		gauge(&c, tr, C_ACTIVE_ANON, C_ACTIVE_ANON, PAGE_BYTES, "active anon", "#2563eb");
		gauge(&c, tr, C_INACTIVE_ANON, C_INACTIVE_ANON, PAGE_BYTES, "inactive anon", "#93c5fd");
		gauge(&c, tr, C_ACTIVE_FILE, C_ACTIVE_FILE, PAGE_BYTES, "active file", "#16a34a");
		gauge(&c, tr, C_INACTIVE_FILE, C_INACTIVE_FILE, PAGE_BYTES, "inactive file", "#86efac");
	}
	chart_html(f, &c);

	fputs("<h2 id=\"faults\">Faults and reclaim</h2>\n", f);
	time_chart(&c, tr, "plot-faults", "Fault, major fault, refault and eviction rates",
		   "events per second", U_COUNT);
	if (!c.empty) {
		rate(&c, tr, C_PGFAULT, C_PGFAULT, 1, "faults/s", "#2563eb");
		rate(&c, tr, C_PGMAJFAULT, C_PGMAJFAULT, 1, "major faults/s", "#dc2626");
		rate(&c, tr, C_REFAULT_ANON, C_REFAULT_FILE, 1, "refaults/s", "#0891b2");
		if ((s = rate(&c, tr, C_STEAL_ANON, C_STEAL_FILE, 1, "evictions/s", "#6b7280")))
			s->dashed = true;
	}
	chart_html(f, &c);

	fputs("<h2 id=\"stall\">Throttling and stall</h2>\n", f);
	time_chart(&c, tr, "plot-throttle", "Threads waiting for a free frame", "threads", U_COUNT);
	if (!c.empty) {
		gauge(&c, tr, C_THROTTLED, C_THROTTLED, 1, "throttled now (sampled)", "#7c3aed");
		rate(&c, tr, C_THROTTLE_NS, C_THROTTLE_NS, 1e-9,
		     "average over the interval (throttle time per second)", "#ea580c");
	}
	chart_html(f, &c);

	time_chart(&c, tr, "plot-stall", "Memory stall (PSI)", "percent of wall time", U_PCT);
	if (!c.empty) {
		rate(&c, tr, C_STALL_SOME, C_STALL_SOME, 1e-7, "some: at least one thread stalled",
		     "#ea580c");
		rate(&c, tr, C_STALL_FULL, C_STALL_FULL, 1e-7, "full: all threads stalled", "#dc2626");
	}
	chart_html(f, &c);
}

/* The miss-ratio curve: predicted major faults at larger limits. */
static void mrc_html(FILE *f, struct json_object *st, const struct summary *sum)
{
	struct json_object *pts = jget(st, "mrc.points");
	size_t n = jlen(pts);
	char run[96], rec[96];
	struct chart c = {
		.id = "plot-mrc",
		.title = "Miss-ratio curve: major faults this run would have taken at other limits",
		.xlabel = "limit",
		.ylabel = "predicted major faults",
		.xunit = U_BYTES,
		.yunit = U_COUNT,
	};
	struct series *s;

	fputs("<h2 id=\"mrc\">Working set</h2>\n", f);
	if (!n)
		c.empty = "no miss-ratio curve in this stats file";
	if (n) {
		s = add_series(&c, "predicted major faults", "#2563eb", n);
		for (size_t i = 0; i < n; i++) {
			struct json_object *p = json_object_array_get_idx(pts, i);

			s->x[s->n] = jnum(p, "limit_bytes");
			s->y[s->n++] = jnum(p, "majfaults");
		}
	}
	if (!isnan(sum->mrc_limit) || !isnan(sum->limit)) {
		double l = isnan(sum->mrc_limit) ? sum->limit : sum->mrc_limit;

		snprintf(run, sizeof(run), "this run's limit %s", fbytes(l));
		c.m[c.nm++] = (struct mark){ l, run, "#dc2626" };
	}
	if (!isnan(sum->recommended)) {
		snprintf(rec, sizeof(rec), "recommended %s", fbytes(sum->recommended));
		c.m[c.nm++] = (struct mark){ sum->recommended, rec, "#16a34a" };
	}
	if (!isnan(sum->recommended))
		c.note = "Predicted from the refault distances: a page that came back after D other "
			 "pages were evicted would have stayed resident with D more pages of room. "
			 "The recommended size is the smallest limit whose predicted major faults are "
			 "within the tolerance of an unconstrained run's (the cold faults).";
	chart_html(f, &c);
}

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
	esc(f, v);
	fputs("</td>", f);
}

static void tdtext(FILE *f, const char *v, const char *cls)
{
	fprintf(f, "<td class=\"%s\">", cls);
	esc(f, v ? v : "?");
	fputs("</td>", f);
}

static void more_rows(FILE *f, size_t n, const char *what)
{
	if (n > TOP_HTML)
		fprintf(f, "<p class=\"note\">%zu more %s not shown.</p>\n", n - TOP_HTML, what);
}

static void regions_html(FILE *f, struct json_object *st)
{
	static const char *const cols[] = { "<region", "<kind", "size", "resident", "res peak",
					    "faults", "major", "evictions", "refaults", "<mapped" };
	struct json_object *regs = jget(st, "regions");
	size_t n = jlen(regs);

	fputs("<h2 id=\"regions\">Top regions</h2>\n", f);
	if (!n) {
		fputs("<p class=\"empty\">no regions in this stats file</p>\n", f);
		return;
	}
	fputs("<table id=\"regions-table\">\n", f);
	th(f, cols, 10);
	for (size_t i = 0; i < n && i < TOP_HTML; i++) {
		struct json_object *r = json_object_array_get_idx(regs, i);
		struct json_object *m = jget(r, "mapped");

		fputs("<tr>", f);
		tdtext(f, jstr(r, "name"), "name");
		tdtext(f, jstr(r, "kind"), "kind");
		td(f, fbytes(jnum(r, "size_bytes")));
		td(f, fbytes(jnum(r, "resident_bytes")));
		td(f, fbytes(jnum(r, "resident_peak_bytes")));
		td(f, fcount(jnum(r, "faults")));
		td(f, fcount(jnum(r, "majfaults")));
		td(f, fcount(jnum(r, "evictions")));
		td(f, fcount(jnum(r, "refaults")));
		tdtext(f, !m ? "?" : json_object_get_boolean(m) ? "yes" : "unmapped", "kind");
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	more_rows(f, n, "regions");
}

static void frames_html(FILE *f, struct json_object *frames)
{
	size_t n = jlen(frames);

	if (!n)
		return;
	fprintf(f, "<details><summary>%zu frame%s</summary><ol class=\"frames\">", n, n == 1 ? "" : "s");
	for (size_t k = 0; k < n; k++) {
		struct json_object *fr = json_object_array_get_idx(frames, k);

		fputs("<li>", f);
		esc(f, json_object_is_type(fr, json_type_string) ? json_object_get_string(fr) : "?");
		fputs("</li>", f);
	}
	fputs("</ol></details>", f);
}

static void sites_html(FILE *f, struct json_object *st)
{
	static const char *const cols[] = { "<allocating function", "allocated", "samples", "faults",
					    "major", "evictions", "refaults" };
	struct json_object *sites = jget(st, "sites.sites");
	size_t n = jlen(sites);

	fputs("<h2 id=\"sites\">Top allocation sites</h2>\n", f);
	if (!jget(st, "sites")) {
		fputs("<p class=\"empty\">no allocation sites in this stats file</p>\n", f);
		return;
	}
	fprintf(f, "<p class=\"note\">Call stacks sampled every %s allocated on average (%s samples); "
		"counts are scaled to estimates for the whole site.</p>\n",
		fbytes(jnum(st, "sites.sample_bytes")), fcount(jnum(st, "sites.samples")));
	if (!n) {
		fputs("<p class=\"empty\">no sites sampled (--sample-bytes 0, or too little allocated)</p>\n", f);
		return;
	}
	fputs("<table id=\"sites-table\">\n", f);
	th(f, cols, 7);
	for (size_t i = 0; i < n && i < TOP_HTML; i++) {
		struct json_object *s = json_object_array_get_idx(sites, i);

		fputs("<tr><td class=\"name\"><code>", f);
		esc(f, jstr(s, "function") ? jstr(s, "function") : "?");
		fputs("</code>", f);
		frames_html(f, jget(s, "frames"));
		fputs("</td>", f);
		td(f, fbytes(jnum(s, "alloc_bytes")));
		td(f, fcount(jnum(s, "samples")));
		td(f, fcount(jnum(s, "faults")));
		td(f, fcount(jnum(s, "majfaults")));
		td(f, fcount(jnum(s, "evictions")));
		td(f, fcount(jnum(s, "refaults")));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	more_rows(f, n, "sites");
}

static int by_stall(const void *a, const void *b)
{
	double x = jnum(*(struct json_object *const *)a, "stall_pct");
	double y = jnum(*(struct json_object *const *)b, "stall_pct");

	x = isnan(x) ? -1 : x;
	y = isnan(y) ? -1 : y;
	return (x < y) - (x > y);
}

static void threads_html(FILE *f, struct json_object *st)
{
	static const char *const cols[] = { "tid", "<name", "faults", "major", "throttled",
					    "swap-in wait", "stall" };
	struct json_object *arr = jget(st, "threads"), **t;
	size_t n = jlen(arr);

	fputs("<h2 id=\"threads\">Threads</h2>\n", f);
	if (!n) {
		fputs("<p class=\"empty\">no per-thread figures in this stats file</p>\n", f);
		return;
	}
	/* Most stalled first: they are the ones a limit slows down. */
	t = xrealloc(NULL, n * sizeof(*t));
	for (size_t i = 0; i < n; i++)
		t[i] = json_object_array_get_idx(arr, i);
	qsort(t, n, sizeof(*t), by_stall);
	fputs("<table id=\"threads-table\">\n", f);
	th(f, cols, 7);
	for (size_t i = 0; i < n && i < TOP_HTML; i++) {
		fputs("<tr>", f);
		fprintf(f, "<td class=\"num\">%.0f</td>", jnum(t[i], "tid"));
		tdtext(f, jstr(t[i], "name"), "name");
		td(f, fcount(jnum(t[i], "faults")));
		td(f, fcount(jnum(t[i], "majfaults")));
		td(f, fns(jnum(t[i], "throttle_ns")));
		td(f, fns(jnum(t[i], "swapin_ns")));
		td(f, fpct(jnum(t[i], "stall_pct")));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	more_rows(f, n, "threads");
	free(t);
}

static void psi_html(FILE *f, struct json_object *st)
{
	static const char *const cols[] = { "<resource", "some", "full", "some avg10", "full avg10",
					    "some time", "full time" };
	static const char *const res[][2] = {
		{ "memory", "memory (either)" },
		{ "throttle", "waiting for a free frame" },
		{ "swapin", "waiting for a read" },
	};

	fputs("<h2 id=\"psi\">Stall (PSI)</h2>\n", f);
	if (!jget(st, "psi")) {
		fputs("<p class=\"empty\">no stall figures in this stats file</p>\n", f);
		return;
	}
	fputs("<table id=\"psi-table\">\n", f);
	th(f, cols, 7);
	for (int i = 0; i < 3; i++) {
		struct json_object *p = jget(jget(st, "psi"), res[i][0]);

		if (!p)
			continue;
		fputs("<tr>", f);
		tdtext(f, res[i][1], "name");
		td(f, fpct(jnum(p, "some_pct")));
		td(f, fpct(jnum(p, "full_pct")));
		td(f, fpct(jnum(p, "some_avg10")));
		td(f, fpct(jnum(p, "full_avg10")));
		td(f, fns(jnum(p, "some_ns")));
		td(f, fns(jnum(p, "full_ns")));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n<p class=\"note\"><b>some</b>: at least one thread stalled; "
	      "<b>full</b>: all the program's threads stalled (a lower bound: threads asleep for "
	      "other reasons count as not stalled). Percent of the whole run; avg10: of the last 10 s."
	      "</p>\n", f);
}

static void counters_html(FILE *f, struct json_object *st)
{
	static const char *const keys[][2] = {
		{ "pgfault", "faults served" },
		{ "pgmajfault", "faults served from swap" },
		{ "pgzerofill", "first touches filled with zeros" },
		{ "pswpin", "pages read from swap" },
		{ "pswpout", "pages written to swap" },
		{ "pgpgin", "file pages read from their files" },
		{ "pgpgout", "file pages written back" },
		{ "pgscan_anon", "inactive anon pages scanned" },
		{ "pgsteal_anon", "anon pages reclaimed" },
		{ "pgscan_file", "inactive file pages scanned" },
		{ "pgsteal_file", "file pages reclaimed" },
		{ "pgsteal_clean", "reclaimed without I/O" },
		{ "pgactivate", "pages activated" },
		{ "pgdeactivate", "pages deactivated" },
		{ "workingset_refault_anon", "anon refaults" },
		{ "workingset_activate_anon", "anon refaults activated" },
		{ "workingset_refault_file", "file refaults" },
		{ "workingset_activate_file", "file refaults activated" },
		{ "throttle_count", "faults that waited for memory" },
		{ "throttle_ns", "time they waited" },
		{ "resident_peak_bytes", "peak resident" },
		{ "swap_bytes_peak", "peak swap in use" },
		{ "scanner_cpu_ns", "scanner thread CPU time" },
		{ "handler_cpu_ns", "fault handler CPU time" },
		{ "swap_write_errors", "failed swap writes" },
		{ "swap_full", "evictions skipped: swap full" },
	};

	fputs("<h2 id=\"counters\">Counters</h2>\n<table id=\"counters-table\" class=\"narrow\">\n", f);
	fputs("<thead><tr><th>counter</th><th>meaning</th><th class=\"num\">value</th></tr></thead>"
	      "<tbody>\n", f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *k = keys[i][0];
		double v = jnum(st, k);
		size_t kl = strlen(k);

		if (isnan(v))
			continue;
		fputs("<tr>", f);
		fprintf(f, "<td class=\"name\"><code>%s</code></td>", k);
		tdtext(f, keys[i][1], "kind");
		td(f, kl > 6 && !strcmp(k + kl - 6, "_bytes") ? fbytes(v)
		      : kl > 3 && !strcmp(k + kl - 3, "_ns") ? fns(v) : fcount(v));
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
	".cmd{margin:2px 0;word-break:break-all}.meta{color:#6b7280;margin:2px 0 14px;font-size:13px}"
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
	"ol.frames{margin:2px 0;padding-left:22px;font:12px ui-monospace,'DejaVu Sans Mono',monospace}"
	"table.narrow{width:auto}"
	"footer{color:#9ca3af;font-size:12px;margin-top:30px}";

static void card(FILE *f, const char *key, const char *value, const char *sub)
{
	fputs("<div class=\"card\"><div class=\"k\">", f);
	esc(f, key);
	fputs("</div><div class=\"v\">", f);
	esc(f, value);
	fputs("</div><div class=\"s\">", f);
	esc(f, sub);
	fputs("</div></div>\n", f);
}

static void headline_html(FILE *f, const struct summary *s)
{
	char sub[160];

	fputs("<section class=\"cards\" id=\"headline\">\n", f);
	card(f, "limit", fbytes(s->limit), limit_note(s));
	snprintf(sub, sizeof(sub), "swap peak %s", fbytes(s->swap_peak));
	card(f, "peak resident", fbytes(s->resident_peak), sub);
	snprintf(sub, sizeof(sub), "of %s faults", fcount(s->faults));
	card(f, "major faults", fcount(s->majfaults), sub);
	snprintf(sub, sizeof(sub), "anon %s, file %s", fcount(s->refault_anon), fcount(s->refault_file));
	card(f, "refaults", fcount(s->refault_anon + s->refault_file), sub);
	snprintf(sub, sizeof(sub), "last 10 s: %s / %s", fpct(s->some10), fpct(s->full10));
	snprintf(sub + 100, 60, "%s / %s", fpct(s->some), fpct(s->full));
	card(f, "stall some / full", sub + 100, sub);
	if (isnan(s->tolerance))
		snprintf(sub, sizeof(sub), "no miss-ratio curve");
	else
		snprintf(sub, sizeof(sub), "major faults within %.0f%% of unconstrained", s->tolerance);
	card(f, "recommended size", fbytes(s->recommended), sub);
	fputs("</section>\n", f);
}

static void meta_html(FILE *f, struct json_object *st, const struct summary *s,
		      const char *stats_path, const struct trace *tr)
{
	struct json_object *sw = jget(st, "swappiness");
	double procs = jnum(st, "children.processes");

	fputs("<p class=\"cmd\"><code>", f);
	esc(f, s->command ? s->command : "(command not recorded)");
	fputs("</code></p>\n<p class=\"meta\">", f);
	if (!isnan(jnum(st, "run.pid")))
		fprintf(f, "pid %.0f &middot; ", jnum(st, "run.pid"));
	if (!isnan(s->duration))
		fprintf(f, "%.1f s &middot; ", s->duration);
	if (!isnan(jnum(st, "run.interval_ms")))
		fprintf(f, "trace every %.0f ms &middot; ", jnum(st, "run.interval_ms"));
	if (sw) {
		fputs("swappiness ", f);
		esc(f, json_object_get_string(sw));
		fputs(" &middot; ", f);
	}
	if (jstr(st, "track")) {
		fputs("tracking ", f);
		esc(f, jstr(st, "track"));
		fputs(" &middot; ", f);
	}
	if (procs > 0)
		fprintf(f, "%s child processes &middot; ", fcount(procs));
	fputs("stats <code>", f);
	esc(f, stats_path);
	fputs("</code> &middot; trace ", f);
	if (tr->path) {
		fputs("<code>", f);
		esc(f, tr->path);
		fprintf(f, "</code> (%zu rows)", tr->n);
	} else {
		fputs("none", f);
	}
	fputs("</p>\n", f);
}

static void write_html(const char *out, struct json_object *st, const struct summary *s,
		       const char *stats_path, const struct trace *tr)
{
	FILE *f = fopen(out, "w");

	if (!f)
		rdie("cannot write %s: %s", out, strerror(errno));
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>uswap report: ", f);
	esc(f, s->command ? s->command : stats_path);
	fprintf(f, "</title>\n<style>%s</style>\n</head><body><main>\n<h1>uswap report</h1>\n", css);
	meta_html(f, st, s, stats_path, tr);
	headline_html(f, s);
	plots_html(f, tr);
	mrc_html(f, st, s);
	regions_html(f, st);
	sites_html(f, st);
	threads_html(f, st);
	psi_html(f, st);
	counters_html(f, st);
	fputs("<footer>generated by uswap " USWAP_VERSION " report</footer>\n</main></body></html>\n", f);
	if (ferror(f) | fclose(f))
		rdie("cannot write %s: %s", out, strerror(errno));
}

/* ---- arguments and inputs ---- */

static void report_usage(FILE *f)
{
	fputs("usage: uswap report RUN [-o OUT.html] [--trace FILE]\n"
	      "\n"
	      "RUN is a directory written by uswap --run (stats.json and trace.csv or\n"
	      "trace.jsonl), or a stats file (--stats); --trace names its trace. Writes an\n"
	      "HTML page (default RUN/report.html, or the stats file's name with .html)\n"
	      "and prints a summary.\n", f);
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
	const char *named = jstr(st, "run.trace");

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
			rdie("unknown option '%s' (usage: uswap report RUN [-o OUT.html] [--trace FILE])",
			     argv[i]);
		} else if (run) {
			rdie("one run at a time (usage: uswap report RUN [-o OUT.html] [--trace FILE])");
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
		dir = xasprintf("%.*s", (int)(strlen(run) - (strlen(run) > 1 && run[strlen(run) - 1] == '/')),
				run);
		stats_path = xasprintf("%s/stats.json", dir);
	}
	st = load_stats(stats_path);
	if (!trace)
		trace = find_trace(dir, st);
	if (trace)
		load_trace(&tr, trace);
	if (!out)
		out = default_out(dir, stats_path);
	summarize(&sum, st, &tr);
	write_html(out, st, &sum, stats_path, &tr);
	text_summary(&sum, st, &tr, out);
	return 0;
}
