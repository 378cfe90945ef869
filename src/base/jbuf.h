/* A growable text buffer for JSON output, backed by sys_mmap (no malloc:
 * usable from the runtime's own threads and at exit). */
#ifndef USWAP_JBUF_H
#define USWAP_JBUF_H

#include <stddef.h>
#include <stdint.h>

struct jbuf {
	char *p;
	size_t n, cap;
	int oom; /* an allocation failed: the text is truncated */
};

void jbuf_printf(struct jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal, quotes included, escaped. */
void jbuf_str(struct jbuf *j, const char *s);
/* A JSON array of n numbers: [1, 2, 3]. */
void jbuf_u64s(struct jbuf *j, const uint64_t *v, size_t n);
void jbuf_free(struct jbuf *j);

#endif
