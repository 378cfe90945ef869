/* Live settings (live.c): what `uswap ctl PID` shows and changes while the
 * program runs. Each setting lives in its owner (the limit in
 * policy/autolimit.c and mm/pager.c, swappiness in policy/balance.c, ...);
 * this module reads them all and sets them through their setters. */
#ifndef USWAP_LIVE_H
#define USWAP_LIVE_H

#include <stddef.h>
#include <stdint.h>

struct jbuf;

/* env[i]=val[i] for n pairs, in USWAP_* names. All are checked first; on
 * any error nothing changes and err says why. */
int live_set(int n, const char *const env[], const char *const val[], char *err, size_t errlen);
/* Reclaim pages now (like memory.reclaim): returns the pages reclaimed
 * (fewer if nothing more could be evicted before the timeout) or -errno. */
int64_t live_reclaim(uint64_t pages, uint64_t timeout_ns);
/* The live counters, the settings in force and the stall figures, as one
 * JSON object (what `uswap ctl PID` shows). */
void live_snapshot_json(struct jbuf *j);

#endif
