/* The stats file (statsfile.c): every counter and what the run measured,
 * as one JSON object (include/uswap/stats.h), written at exit; and the -v
 * summary. */
#ifndef USWAP_STATSFILE_H
#define USWAP_STATSFILE_H

#include <stddef.h>
#include <stdint.h>

/* At start-up, in the top process the CLI started (USWAP_STATS_PID):
 * the private directory its descendants report to (config.children_dir).
 * 0, or -errno with err. */
int statsfile_init(char *err, size_t errlen);

/* At exit: the top process writes --stats (summing what its descendants
 * appended), a descendant appends its counters for it; with -v, the
 * summary on stderr. heap_bytes: the malloc heap's size. */
void statsfile_exit(uint64_t heap_bytes);

#endif
