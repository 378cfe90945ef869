/* Aging (aging.c): how pages move between the active and inactive lists.
 * Under the pager lock. */
#ifndef USWAP_AGING_H
#define USWAP_AGING_H

#include <stdbool.h>
#include <stdint.h>

/* The inactive:active target for a limit of limit_pages (the kernel's
 * inactive_ratio). */
void aging_init(uint64_t limit_pages);
/* Is the inactive list of the kind too short for its active list? */
bool aging_inactive_is_low(bool file);
/* Deactivate one page: arm it to trap and put it on its inactive list (at
 * the head, or the tail for MADV_PAGEOUT), its dirtiness noted first. Also
 * how a new file page, which starts inactive but unarmed, is armed when it
 * first reaches the tail. 0, or -EAGAIN when mprotect tracking's VMA
 * budget is spent. */
int aging_deactivate(uint32_t f, bool to_tail);
/* A page just read ahead (not on a list) starts inactive and armed, so
 * that its first touch traps. buf: its contents, not installed yet (they
 * go straight to staging where tracking allows); NULL: installed. 0, or
 * -errno: the caller installs it if need be and puts it on the active list
 * (an mlock'd range, mprotect's VMA budget spent, no staging for it). */
int aging_readahead_arm(uint32_t f, const void *buf);
/* The most pages aging_refill arms with one move. */
#define AGING_RUN_MAX 64
/* Deactivate about nr pages from the active tail while the inactive list
 * is low, runs of neighbouring pages at once (a run may exceed nr). */
void aging_refill(bool file, unsigned nr);
/* An unarmed page at the tail f of an inactive list (a new file page, or a
 * new anon page with --new-anon inactive): armed, with the pages after it
 * on the list that sit at consecutive addresses as one run, all onto the
 * head for one more trip. Pages armed, or -EAGAIN when mprotect's VMA
 * budget is spent. */
int aging_arm_inactive(uint32_t f);
/* A new anon page (a first touch; swapped_in: read from swap, not a
 * workingset refault) onto the list --new-anon says: the active head (a
 * swap-in: the active tail, first to be deactivated), or the inactive head
 * unarmed. */
void aging_add_new_anon(uint32_t f, bool swapped_in);
/* A trap on an armed (inactive) page: disarm it and activate it, the
 * reference bit. 0 or -errno (the page could not be brought back). */
int aging_activate(uint32_t f);

#endif
