/* How reclaim divides its scanning between the anon and file lists: the
 * kernel's relative-cost rule (mm/vmscan.c, get_scan_count). Under the
 * pager lock. */
#ifndef USWAP_BALANCE_H
#define USWAP_BALANCE_H

#include <stdbool.h>
#include <stdint.h>

/* The swappiness setting: config's at start, then live (ctl set), under
 * the pager lock. The setting may be SWAPPINESS_AUTO. */
void balance_init(void);
void balance_set_swappiness(int swappiness);
int balance_swappiness_setting(void);
/* For tests: no cost, no measurement, config's swappiness. */
void balance_reset(void);

/* A list's cost: nr_io pages of I/O (a refault of a page that was in the
 * working set, or a page written out by reclaim) and nr_rotated pages
 * referenced again while inactive. */
void balance_note_cost(bool file, unsigned nr_io, unsigned nr_rotated);
/* A completed read (refault) or write (reclaim writeout), for --swappiness
 * auto: what one page of each kind costs to bring back and to write. */
void balance_note_io(bool file, bool write, uint64_t ns);
/* The measured latency of a read of this kind (EWMA), 0 before one. */
uint64_t balance_read_ns(bool file);
/* A page of this kind left memory; wrote: it had to be written first. */
void balance_note_evict(bool file, bool wrote);
/* The swappiness in force: the configured one, or for auto the measured
 * I/O cost ratio, 200 * file / (anon + file). */
int balance_swappiness(void);
/* The share of the next scan (of 1024) that goes to the anon lists. */
unsigned balance_anon_share(bool anon_ok, bool file_ok, bool cache_trim);

#endif
