/* uswap report's trace: the per-interval rows a run's monitor wrote, one
 * array per column. */
#include "trace.h"

#include "../msg.h"
#include "input.h"

#include <json-c/json.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define rdie(...) cli_die("report: ", __VA_ARGS__)
#define rwarn(...) cli_msg("report: warning: ", __VA_ARGS__)

static const char *const col_names[TRACE_NCOL] = { USWAP_TRACE_TIME,
#define TRACE_NAME_(id, name, desc) #name,
						   USWAP_TRACE_COLUMNS(TRACE_NAME_)
#undef TRACE_NAME_
};

static int col_lookup(const char *name)
{
	for (int c = 0; c < TRACE_NCOL; c++)
		if (!strcmp(name, col_names[c]))
			return c;
	return -1;
}

/* A new row, all NAN until filled. */
static size_t trace_add(struct trace *tr)
{
	if (tr->n == tr->cap) {
		tr->cap = tr->cap ? tr->cap * 2 : 256;
		for (int c = 0; c < TRACE_NCOL; c++)
			tr->v[c] = input_xrealloc(tr->v[c], tr->cap * sizeof(double));
	}
	for (int c = 0; c < TRACE_NCOL; c++)
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
	for (int c = 0; c < TRACE_NCOL; c++) {
		double d = input_num(o, col_names[c]);

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
void trace_load(struct trace *tr, const char *path)
{
	size_t len, lineno = 0;
	char *buf = input_read_all(path, &len), *p, why[128];
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
				if (nf < 0 || !tr->have[C_T]) {
					free(buf);
					rdie("%s:%zu: not a uswap trace header (no \"t\" column)",
					     path, lineno);
				}
				continue;
			}
		}
		ok = json ? jsonl_row(tr, line, why, sizeof(why)) :
			    csv_row(tr, line, map, nf, why, sizeof(why));
		if (ok)
			continue;
		if (last_partial) {
			rwarn("%s:%zu: unfinished last line ignored", path, lineno);
			tr->n--;
			break;
		}
		/* Freed first: the fuzzer runs this many times in one process. */
		free(buf);
		rdie("%s:%zu: malformed trace line: %s", path, lineno, why);
	}
	free(buf);
}
