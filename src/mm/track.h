/* Access tracking: how an inactive page is armed so that its next access
 * traps, and how the trap is undone.
 *
 * TRACK_UFFD (default): the page is moved out with UFFDIO_MOVE to a staging
 *   page, taken for it while it is armed. Any access, by the program or by the kernel on its behalf
 *   (read() into the buffer, a futex), raises an ordinary userfaultfd fault,
 *   which the handler answers by moving it back. No VMA is split, nothing
 *   fails with EFAULT.
 * TRACK_MPROTECT (opt-in): the page is made PROT_NONE in place and the trap is
 *   SIGSEGV. Kernel accesses to an armed page fail with EFAULT and every armed
 *   page splits a VMA; see README. Kept to measure against.
 *
 * All functions are called with the pager lock held and return 0 or
 * -errno. Activation, the policy of what a trap means, is policy/aging.c. */
#ifndef USWAP_TRACK_H
#define USWAP_TRACK_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The mechanism in use: config.track, or mprotect where the kernel lacks
 * UFFDIO_MOVE. */
extern enum track_mode track_mode;

int track_init(char *err, unsigned long errlen);
/* TRACK_UFFD: reserve and register the staging area, a page for each of frames. */
int track_init_staging(uint64_t frames, char *err, size_t errlen);
/* The staging page of frame f, while it is armed. */
uintptr_t track_staging(uint32_t f);
/* mlockall: the staging area stays unlocked (UFFDIO_MOVE refuses to move
 * between a locked and an unlocked VMA). */
void track_munlock_staging(void);
/* In a forked child: the child's own /proc/self/mem, the staging area
 * registered with the child's userfaultfd. */
int track_fork_child(char *err, size_t errlen);
int track_arm(uint32_t f);
/* Arm n (>= 2) frames whose pages sit at consecutive addresses, rising or
 * falling, with one UFFDIO_MOVE where it can (TRACK_UFFD). armed[i] tells
 * whether frames[i] was; returns how many were. The caller arms the rest
 * with track_arm. */
unsigned track_arm_run(const uint32_t *frames, unsigned n, bool *armed);
/* A page not in the program's view yet (being swapped in), with the
 * contents of buf: armed at once, its contents put straight in a staging
 * page (TRACK_UFFD). -EINVAL: not here; install it and arm it after. */
int track_arm_filled(uint32_t f, const void *buf);
/* Undo the arming on a trap; the page is back where the program sees it. */
int track_disarm(uint32_t f);
/* Copy the armed page's contents to buf (for writeout). */
int track_copy_out(uint32_t f, void *buf);
/* Read a resident page, armed or not, without touching it (no fault). */
int track_read_page(uint32_t f, void *buf);
/* Write n bytes at offset off of a resident page, armed or not. */
int track_write_bytes(uint32_t f, size_t off, const void *src, size_t n);
/* Write a page to addr through /proc/self/mem (any protection; a private
 * file mapping gets its own copy, as a write would give it). */
int track_poke(uintptr_t addr, const void *page);
/* Free the memory of an armed page whose copy is safely on the swap file,
 * or that the program released. The page's next access faults MISSING. */
void track_drop(uint32_t f);
/* Frames track_drop_batch takes at once at most. */
#define TRACK_DROP_BATCH 64
/* Can drops be batched (TRACK_UFFD: the staging page is out of the
 * program's sight; under mprotect the page itself must come back at once)? */
bool track_can_drop_batch(void);
/* track_drop of n (<= TRACK_DROP_BATCH) armed frames whose copies are safe
 * and which nobody else can reach (in transit, engine/scan.c): no lock
 * needed. One process_madvise where the kernel allows it. */
void track_drop_batch(const uint32_t *frames, unsigned n);

#endif
