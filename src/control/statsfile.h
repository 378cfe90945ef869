/* The stats file (statsfile.c): every counter and what the run measured,
 * as one JSON object (include/uswap/stats.h), written at exit; and the -v
 * summary. */
#ifndef USWAP_STATSFILE_H
#define USWAP_STATSFILE_H

#include <stdint.h>

/* At exit: the top process writes --stats (summing what its descendants
 * appended), a descendant appends its counters for it; with -v, the
 * summary on stderr. heap_bytes: the malloc heap's size. */
void statsfile_exit(uint64_t heap_bytes);

#endif
