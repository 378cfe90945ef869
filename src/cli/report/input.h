/* uswap report's inputs: files read whole, the stats file, and lookups that
 * return NULL, NAN or 0 for a member that is missing or of another type. */
#ifndef USWAP_REPORT_INPUT_H
#define USWAP_REPORT_INPUT_H

#include <stddef.h>

struct json_object;

/* realloc, or exit on out of memory. */
void *input_xrealloc(void *p, size_t n);
char *input_read_all(const char *path, size_t *len);

/* The stats file, checked to be one; exits with the reason if not. */
struct json_object *input_load_stats(const char *path);

struct json_object *input_get(struct json_object *o, const char *path);
double input_num(struct json_object *o, const char *path);
const char *input_str(struct json_object *o, const char *path);
size_t input_len(struct json_object *arr);

#endif
