/* Names for code addresses (symbolize.c): the function, its offset and
 * its object, from the objects' own symbol tables. */
#ifndef USWAP_SYMBOLIZE_H
#define USWAP_SYMBOLIZE_H

#include <stdint.h>

struct jbuf;
struct symbolizer;

/* A symbolizer caches the objects it has read; NULL when out of memory. */
struct symbolizer *symbolize_new(void);
void symbolize_free(struct symbolizer *y);
/* One frame as JSON: "function+0x1c (object)". */
void symbolize_frame_json(struct jbuf *j, struct symbolizer *y, uintptr_t ip);
/* The function a stack of n frames stands for: the first frame in the
 * program's code, past the allocator's wrappers and the standard templates
 * instantiated in the program. */
void symbolize_function_json(struct jbuf *j, struct symbolizer *y, const uintptr_t *ip, uint32_t n);

#endif
