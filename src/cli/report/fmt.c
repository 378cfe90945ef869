/* uswap report's number formatting, shared by the text summary and the page. */
#include "fmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- number formatting: into a ring of static buffers, "n/a" for NAN ---- */

char *fmt_buf(void)
{
	static char ring[32][FMT_BUF_LEN];
	static unsigned int i;

	return ring[i++ % 32];
}

const char *fmt_bytes(double v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	char *b = fmt_buf();
	int u = 0;

	if (isnan(v))
		return "n/a";
	while (fabs(v) >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	/* 64 MiB, 1.50 GiB, 98.3 MiB: three figures, none for round sizes. */
	snprintf(b, FMT_BUF_LEN,
		 !u || v == floor(v) ? "%.0f %s" :
		 fabs(v) < 10	     ? "%.2f %s" :
				       "%.1f %s",
		 v, units[u]);
	return b;
}

/* A count with thousands separators: 1,234,567. */
const char *fmt_count(double v)
{
	char tmp[40], *b = fmt_buf(), *o = b;
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

const char *fmt_pct(double v)
{
	char *b = fmt_buf();

	if (isnan(v))
		return "n/a";
	snprintf(b, FMT_BUF_LEN, v != 0 && fabs(v) < 0.1 ? "%.3f%%" : "%.1f%%", v);
	return b;
}

const char *fmt_ns(double ns)
{
	char *b = fmt_buf();

	if (isnan(ns))
		return "n/a";
	if (ns == 0)
		return "0";
	if (ns >= 1e9)
		snprintf(b, FMT_BUF_LEN, "%.2f s", ns / 1e9);
	else if (ns >= 1e6)
		snprintf(b, FMT_BUF_LEN, "%.1f ms", ns / 1e6);
	else
		snprintf(b, FMT_BUF_LEN, "%.0f us", ns / 1e3);
	return b;
}

/* A name cut to width from the left: paths differ at their ends. */
const char *fmt_cut(const char *s, size_t width)
{
	char *b = fmt_buf();
	size_t n = strlen(s ? s : "");

	if (!s)
		return "?";
	if (n <= width || width < 8 || width > 60)
		return s;
	s += n - (width - 3);
	while ((*s & 0xc0) == 0x80) /* not in the middle of a UTF-8 sequence */
		s++;
	snprintf(b, FMT_BUF_LEN, "...%s", s);
	return b;
}

void fmt_esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}
