/* --limit auto (autolimit.c): the limit sized by stall time, like a
 * userspace memory.high controller (senpai). Its lock is the second in the
 * lock order (mm/pager.h): the controller and the live settings change the
 * limit under it. */
#ifndef USWAP_AUTOLIMIT_H
#define USWAP_AUTOLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jbuf;
struct psi_times;

/* From config: auto or the fixed limit as given; the highest limit the
 * frame table can hold; the first period starts at now. */
void autolimit_init(uint64_t now);
/* Every monitor interval: one step of the controller, once a period has
 * passed (p: the stall totals now). */
void autolimit_step(uint64_t now, const struct psi_times *p);
/* A live change (ctl set limit=): auto, or a fixed limit of bytes.
 * Switching to auto starts the controller from the limit in force. */
void autolimit_set(bool on, uint64_t bytes);
/* In a forked child, before its monitor starts: the lock is free (the
 * parent's monitor may have held it across the fork, waiting in
 * autolimit_set for the pager lock that the forking thread held). */
void autolimit_fork_child(void);

bool autolimit_on(void);
/* The fixed limit as given (not rounded to pages). */
uint64_t autolimit_given_bytes(void);
/* The largest limit this run can hold, in pages. */
uint64_t autolimit_cap_pages(void);
/* The "auto" member of the stats file, with its leading comma; nothing
 * for a fixed limit. */
void autolimit_json(struct jbuf *j);
/* ", auto limit settled at N MiB (S steps)" for -v; "" for a fixed limit. */
void autolimit_summary(char *buf, size_t len);

#endif
