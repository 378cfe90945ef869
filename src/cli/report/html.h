/* uswap report's page: one self-contained HTML file. */
#ifndef USWAP_REPORT_HTML_H
#define USWAP_REPORT_HTML_H

struct json_object;
struct summary;
struct trace;

/* Writes the page to out; exits if it cannot. */
void html_write(const char *out, struct json_object *st, const struct summary *s,
		const char *stats_path, const struct trace *tr);

#endif
