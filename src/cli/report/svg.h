/* uswap report's plots, each an HTML figure with an inline SVG, or with a
 * note saying why there is nothing to draw. */
#ifndef USWAP_REPORT_SVG_H
#define USWAP_REPORT_SVG_H

#include <stdio.h>

struct json_object;
struct summary;
struct trace;

/* The sections of plots over time, from the trace. */
void svg_plots(FILE *f, const struct trace *tr);
/* The working-set section: the stats file's miss-ratio curve. */
void svg_mrc(FILE *f, struct json_object *st, const struct summary *sum);

#endif
