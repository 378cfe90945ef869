/* uswap report's number formats, shared by the text summary and the page.
 * They return "n/a" for NAN, or a string in a ring of 32 static buffers of
 * FMT_BUF_LEN bytes: valid until 32 more have been formatted. */
#ifndef USWAP_REPORT_FMT_H
#define USWAP_REPORT_FMT_H

#include <stdio.h>

#define FMT_BUF_LEN 64

/* The next buffer of the ring, for formats of one's own. */
char *fmt_buf(void);
const char *fmt_bytes(double v);
const char *fmt_count(double v);
const char *fmt_pct(double v);
const char *fmt_ns(double ns);
const char *fmt_cut(const char *s, size_t width);
/* s HTML-escaped onto f (NULL writes nothing). */
void fmt_esc(FILE *f, const char *s);

#endif
