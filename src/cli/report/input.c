/* uswap report's inputs: whole files read into memory, the stats file parsed
 * with json-c, and lookups into it that tolerate a missing or mistyped
 * member (older stats files lack most of the structured ones). */
#include "input.h"

#include "../msg.h"
#include "uswap/stats.h"

#include <json-c/json.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define rdie(...) cli_die("report: ", __VA_ARGS__)

void *input_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		rdie("out of memory");
	return q;
}

/* The whole file, NUL-terminated; NULL with errno set if it cannot be read
 * (fopen succeeds on a directory: the read then fails with EISDIR). */
char *input_read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0, r;
	char *buf;
	int err;

	if (!f)
		return NULL;
	buf = input_xrealloc(NULL, cap);
	do {
		if (cap - n < 4096)
			buf = input_xrealloc(buf, cap *= 2);
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
struct json_object *input_get(struct json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = 0;
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

/* A number, or NAN: NAN prints as "n/a" and drops out of plots. */
double input_num(struct json_object *o, const char *path)
{
	o = input_get(o, path);
	if (!o ||
	    !(json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double)))
		return NAN;
	return json_object_get_double(o);
}

const char *input_str(struct json_object *o, const char *path)
{
	o = input_get(o, path);
	return o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

size_t input_len(struct json_object *arr)
{
	return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

struct json_object *input_load_stats(const char *path)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t len, end;
	char *buf = input_read_all(path, &len), why[160];

	if (!buf)
		rdie("cannot read %s: %s", path, strerror(errno));
	/* uswap creates the file before the program runs and fills it at exit. */
	if (strspn(buf, " \t\r\n") == len) {
		free(buf);
		rdie("%s: empty stats file (is the run still going, or was it killed?)", path);
	}
	tok = json_tokener_new();
	if (!tok)
		rdie("out of memory");
	o = json_tokener_parse_ex(tok, buf, len > INT_MAX ? INT_MAX : (int)len);
	end = json_tokener_get_parse_end(tok);
	why[0] = 0;
	if (!o) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		if (e == json_tokener_continue || e == json_tokener_success)
			snprintf(why, sizeof(why), ": malformed JSON: unexpected end of file");
		else
			snprintf(why, sizeof(why), ":%zu: malformed JSON: %s", line_at(buf, end),
				 json_tokener_error_desc(e));
	} else {
		while (end < len && isspace((unsigned char)buf[end]))
			end++;
		if (end < len)
			snprintf(why, sizeof(why),
				 ":%zu: malformed JSON: unexpected data after the object",
				 line_at(buf, end));
		else if (!json_object_is_type(o, json_type_object) ||
			 !input_get(o, USWAP_STAT_KEY(pgfault)))
			snprintf(why, sizeof(why), ": not a uswap stats file (no pgfault)");
	}
	json_tokener_free(tok);
	free(buf);
	/* Freed before the message too: the fuzzer runs this many times in one
	 * process (tests/fuzz/fuzz_report.c). */
	if (why[0]) {
		json_object_put(o);
		rdie("%s%s", path, why);
	}
	return o;
}
