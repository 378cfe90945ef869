#define _GNU_SOURCE
#include "jbuf.h"

#include "sys.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static int jbuf_grow(struct jbuf *j, size_t need)
{
	size_t cap = j->cap ? j->cap : 16384;
	char *p;

	while (cap < j->n + need + 1)
		cap *= 2;
	if (cap == j->cap)
		return 0;
	p = sys_mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		j->oom = 1;
		return -1;
	}
	if (j->p) {
		memcpy(p, j->p, j->n);
		sys_munmap(j->p, j->cap);
	}
	j->p = p;
	j->cap = cap;
	return 0;
}

void jbuf_printf(struct jbuf *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->oom)
		return;
	for (;;) {
		size_t room = j->cap - j->n;

		va_start(ap, fmt);
		n = vsnprintf(j->p ? j->p + j->n : NULL, j->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (j->p && (size_t)n < room) {
			j->n += (size_t)n;
			return;
		}
		if (jbuf_grow(j, (size_t)n))
			return;
	}
}

void jbuf_str(struct jbuf *j, const char *s)
{
	jbuf_printf(j, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			jbuf_printf(j, "\\%c", c);
		else if (c < 0x20)
			jbuf_printf(j, "\\u%04x", c);
		else
			jbuf_printf(j, "%c", c);
	}
	jbuf_printf(j, "\"");
}

void jbuf_u64s(struct jbuf *j, const uint64_t *v, size_t n)
{
	jbuf_printf(j, "[");
	for (size_t i = 0; i < n; i++)
		jbuf_printf(j, "%s%llu", i ? ", " : "", (unsigned long long)v[i]);
	jbuf_printf(j, "]");
}

void jbuf_free(struct jbuf *j)
{
	if (j->p)
		sys_munmap(j->p, j->cap);
	*j = (struct jbuf){ 0 };
}
