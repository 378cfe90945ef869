/* uswap report's plots: SVG drawn here, so the page needs nothing to fetch
 * and reads the same with JavaScript off. */
#include "svg.h"

#include "fmt.h"
#include "input.h"
#include "summary.h"
#include "trace.h"

#include <json-c/json.h>

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_BYTES 4096.0 /* the runtime's page: list sizes are in pages */

/* ---- SVG plots ---- */

enum unit { U_COUNT, U_BYTES, U_PCT, U_SEC };

struct series {
	const char *name, *color;
	double *x, *y; /* owned: freed with the chart */
	size_t n;
	bool dashed;
	bool step; /* holds its value until the next sample (the limit) */
};

struct mark { /* a vertical line across the plot */
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
	const char *empty; /* why there is nothing to draw */
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
	if (fabs(v) < a->step / 2) /* "0", not "0k" or "-0.0" */
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
		fprintf(f, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", ML - 6,
			y + 4);
		tick_label(f, ay, v);
		fputs("</text>\n", f);
	}
	for (double v = ceil(ax->lo / ax->step - 1e-9) * ax->step; v <= ax->hi + ax->step * 1e-6;
	     v += ax->step) {
		double x = ax_px(ax, v);

		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>", x,
			x, MT, H - MB);
		fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", x,
			H - MB + 16);
		tick_label(f, ax, v);
		fputs("</text>\n", f);
	}
	fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", ML, W - MR,
		H - MB, H - MB);
	fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n", ML, ML, MT,
		H - MB);
	fprintf(f, "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
		(ML + W - MR) / 2, H - 10);
	fmt_esc(f, c->xlabel);
	fprintf(f,
		"</text>\n<text class=\"label\" transform=\"translate(16 %d) rotate(-90)\" "
		"text-anchor=\"middle\">",
		(MT + H - MB) / 2);
	fmt_esc(f, c->ylabel);
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

static void series_svg(FILE *f, const struct series *s, const struct axis *ax,
		       const struct axis *ay)
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

		fprintf(f,
			"<g class=\"legend\"><line x1=\"%.0f\" x2=\"%.0f\" y1=\"18\" y2=\"18\" "
			"stroke=\"%s\" stroke-width=\"3\"%s/><text x=\"%.0f\" y=\"22\">",
			x, x + 20, s->color, s->dashed ? " stroke-dasharray=\"6 4\"" : "", x + 26);
		fmt_esc(f, s->name);
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

		fprintf(f,
			"<line class=\"mark\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" "
			"stroke=\"%s\"/>",
			x, x, MT, H - MB, m->color);
		fprintf(f,
			"<text class=\"marklabel\" x=\"%.1f\" y=\"%d\" style=\"fill:%s\" "
			"text-anchor=\"%s\">",
			right ? x - 5 : x + 5, MT + 14 + 15 * i, m->color, right ? "end" : "start");
		fmt_esc(f, m->label);
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
	fmt_esc(f, c->title);
	fputs("</figcaption>\n", f);
	if (!c->empty && !series_range(c, &x0, &x1, &y1))
		c->empty = "no data in the trace";
	if (c->empty) {
		fputs("<div class=\"empty\">", f);
		fmt_esc(f, c->empty);
		fputs("</div>\n", f);
	} else {
		axis_fit(&ax, c->x_from_zero ? fmin(0, x0) : x0, x1, c->xunit, 8, true);
		axis_fit(&ay, 0, y1 * 1.04, c->yunit, 5, false);
		fprintf(f,
			"<svg class=\"plot\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
			"role=\"img\" aria-label=\"",
			W, H, W, H);
		fmt_esc(f, c->title);
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
		fmt_esc(f, c->note);
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
	s->x = input_xrealloc(NULL, n * sizeof(double));
	s->y = input_xrealloc(NULL, n * sizeof(double));
	s->n = 0;
	return s;
}

/* A gauge column, times scale; NULL if the trace lacks it. */
static struct series *gauge(struct chart *c, const struct trace *tr, enum trace_col a,
			    enum trace_col b, double scale, const char *name, const char *color)
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
static struct series *rate(struct chart *c, const struct trace *tr, enum trace_col a,
			   enum trace_col b, double scale, const char *name, const char *color)
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
		if (!(dt > 0) || !(d >= 0)) /* also drops NAN */
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

void svg_plots(FILE *f, const struct trace *tr)
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
		gauge(&c, tr, C_INACTIVE_ANON, C_INACTIVE_ANON, PAGE_BYTES, "inactive anon",
		      "#93c5fd");
		gauge(&c, tr, C_ACTIVE_FILE, C_ACTIVE_FILE, PAGE_BYTES, "active file", "#16a34a");
		gauge(&c, tr, C_INACTIVE_FILE, C_INACTIVE_FILE, PAGE_BYTES, "inactive file",
		      "#86efac");
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
		rate(&c, tr, C_STALL_FULL, C_STALL_FULL, 1e-7, "full: all threads stalled",
		     "#dc2626");
	}
	chart_html(f, &c);
}

/* The miss-ratio curve: predicted major faults at larger limits. */
void svg_mrc(FILE *f, struct json_object *st, const struct summary *sum)
{
	struct json_object *pts = input_get(st, "mrc.points");
	size_t n = input_len(pts);
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

			s->x[s->n] = input_num(p, "limit_bytes");
			s->y[s->n++] = input_num(p, "majfaults");
		}
	}
	if (!isnan(sum->mrc_limit) || !isnan(sum->limit)) {
		double l = isnan(sum->mrc_limit) ? sum->limit : sum->mrc_limit;

		snprintf(run, sizeof(run), "this run's limit %s", fmt_bytes(l));
		c.m[c.nm++] = (struct mark){ l, run, "#dc2626" };
	}
	if (!isnan(sum->recommended)) {
		snprintf(rec, sizeof(rec), "recommended %s", fmt_bytes(sum->recommended));
		c.m[c.nm++] = (struct mark){ sum->recommended, rec, "#16a34a" };
	}
	if (!isnan(sum->recommended))
		c.note = "Predicted from the refault distances: a page that came back after D "
			 "other pages were evicted would have stayed resident with D more pages of "
			 "room. The recommended size is the smallest limit whose predicted major "
			 "faults are within the tolerance of an unconstrained run's (the cold "
			 "faults).";
	chart_html(f, &c);
}
