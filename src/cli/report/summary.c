/* uswap report's figures, and the plain-text summary printed on stdout. */
#include "summary.h"

#include "fmt.h"
#include "input.h"
#include "trace.h"
#include "uswap/stats.h"

#include <json-c/json.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TOP_TEXT 10 /* rows in the text summary's tables */

/* ---- the figures the headline, the summary and the page share ---- */

void summary_compute(struct summary *s, struct json_object *st, const struct trace *tr)
{
	memset(s, 0, sizeof(*s));
	s->command = input_str(st, "run.command");
	s->limit = input_num(st, "limit_bytes");
	s->limit_min = s->limit_max = s->limit;
	s->limit_mode = input_str(st, "run.limit_mode");
	s->resident_peak = input_num(st, USWAP_STAT_KEY(resident_peak_bytes));
	s->swap_peak = input_num(st, USWAP_STAT_KEY(swap_bytes_peak));
	s->faults = input_num(st, USWAP_STAT_KEY(pgfault));
	s->majfaults = input_num(st, USWAP_STAT_KEY(pgmajfault));
	s->refault_anon = input_num(st, USWAP_STAT_KEY(workingset_refault_anon));
	s->refault_file = input_num(st, USWAP_STAT_KEY(workingset_refault_file));
	s->some = input_num(st, "psi.memory.some_pct");
	s->full = input_num(st, "psi.memory.full_pct");
	s->some10 = input_num(st, "psi.memory.some_avg10");
	s->full10 = input_num(st, "psi.memory.full_avg10");
	s->duration = input_num(st, "run.duration_s");
	s->recommended = input_num(st, "mrc.recommended_bytes");
	s->tolerance = input_num(st, "mrc.tolerance_pct");
	s->mrc_limit = input_num(st, "mrc.limit_bytes");
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

const char *summary_limit_note(const struct summary *s)
{
	char *b = fmt_buf();

	if (s->limit_max > s->limit_min)
		snprintf(b, FMT_BUF_LEN, "%s %s to %s",
			 s->limit_mode && !strcmp(s->limit_mode, "auto") ? "auto:" : "changed:",
			 fmt_bytes(s->limit_min), fmt_bytes(s->limit_max));
	else
		snprintf(b, FMT_BUF_LEN, "%s", s->limit_mode ? s->limit_mode : "fixed");
	return b;
}

/* ---- plain-text summary ---- */

static void text_regions(struct json_object *st)
{
	struct json_object *regs = input_get(st, "regions");
	size_t n = input_len(regs);

	if (!n)
		return;
	printf("\ntop regions (of %zu)\n", n);
	printf("  %-34s %10s %10s %12s %12s %12s %12s\n", "region", "size", "res peak", "faults",
	       "major", "evictions", "refaults");
	for (size_t i = 0; i < n && i < TOP_TEXT; i++) {
		struct json_object *r = json_object_array_get_idx(regs, i);

		printf("  %-34s %10s %10s %12s %12s %12s %12s\n", fmt_cut(input_str(r, "name"), 34),
		       fmt_bytes(input_num(r, "size_bytes")),
		       fmt_bytes(input_num(r, "resident_peak_bytes")),
		       fmt_count(input_num(r, "faults")), fmt_count(input_num(r, "majfaults")),
		       fmt_count(input_num(r, "evictions")), fmt_count(input_num(r, "refaults")));
	}
}

static void text_sites(struct json_object *st)
{
	struct json_object *sites = input_get(st, "sites.sites");
	size_t n = input_len(sites);

	if (!n)
		return;
	printf("\ntop allocation sites (of %zu; sampled every %s)\n", n,
	       fmt_bytes(input_num(st, "sites.sample_bytes")));
	printf("  %-34s %10s %12s %12s %12s %12s\n", "function", "allocated", "faults", "major",
	       "evictions", "refaults");
	for (size_t i = 0; i < n && i < TOP_TEXT; i++) {
		struct json_object *s = json_object_array_get_idx(sites, i);

		printf("  %-34s %10s %12s %12s %12s %12s\n", fmt_cut(input_str(s, "function"), 34),
		       fmt_bytes(input_num(s, "alloc_bytes")), fmt_count(input_num(s, "faults")),
		       fmt_count(input_num(s, "majfaults")), fmt_count(input_num(s, "evictions")),
		       fmt_count(input_num(s, "refaults")));
	}
}

void summary_print(const struct summary *s, struct json_object *st, const struct trace *tr,
		   const char *out)
{
	printf("uswap report: %s\n", s->command ? s->command : "(command not recorded)");
	printf("  %-18s %s (%s)\n", "limit", fmt_bytes(s->limit), summary_limit_note(s));
	printf("  %-18s %s\n", "peak resident", fmt_bytes(s->resident_peak));
	printf("  %-18s %s (of %s faults)\n", "major faults", fmt_count(s->majfaults),
	       fmt_count(s->faults));
	printf("  %-18s %s (anon %s, file %s)\n", "refaults",
	       fmt_count(s->refault_anon + s->refault_file), fmt_count(s->refault_anon),
	       fmt_count(s->refault_file));
	printf("  %-18s %s / %s", "stall some/full", fmt_pct(s->some), fmt_pct(s->full));
	if (!isnan(s->duration))
		printf(" of %.1f s", s->duration);
	putchar('\n');
	printf("  %-18s %s", "recommended size", fmt_bytes(s->recommended));
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
