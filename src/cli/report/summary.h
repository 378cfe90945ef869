/* uswap report's figures, which the text summary, the headline cards and
 * the plots share, and the plain-text summary. */
#ifndef USWAP_REPORT_SUMMARY_H
#define USWAP_REPORT_SUMMARY_H

struct json_object;
struct trace;

struct summary {
	const char *command;
	double limit, limit_min, limit_max, resident_peak, swap_peak;
	double faults, majfaults, refault_anon, refault_file;
	double some, full, some10, full10, duration;
	double recommended, tolerance, mrc_limit;
	const char *limit_mode;
};

void summary_compute(struct summary *s, struct json_object *st, const struct trace *tr);
/* How the limit moved: "fixed", "changed: 64 MiB to 96 MiB"... (fmt.h's ring). */
const char *summary_limit_note(const struct summary *s);
/* The summary on stdout; out is the page written. */
void summary_print(const struct summary *s, struct json_object *st, const struct trace *tr,
		   const char *out);

#endif
