/* Access tracking: how an inactive page is armed so that its next access
 * traps, and how the trap is undone.
 *
 * TRACK_UFFD (default): the page is moved out with UFFDIO_MOVE to its frame's
 *   staging page. Any access, by the program or by the kernel on its behalf
 *   (read() into the buffer, a futex), raises an ordinary userfaultfd fault,
 *   which the handler answers by moving it back. No VMA is split, nothing
 *   fails with EFAULT.
 * TRACK_MPROTECT (opt-in): the page is made PROT_NONE in place and the trap is
 *   SIGSEGV. Kernel accesses to an armed page fail with EFAULT and every armed
 *   page splits a VMA; see README. Kept to measure against.
 *
 * All functions are called with rt.lock held and return 0 or -errno. */
#ifndef USWAP_TRACK_H
#define USWAP_TRACK_H

#include <stddef.h>
#include <stdint.h>

int track_init(char *err, unsigned long errlen);
int track_arm(uint32_t f);
/* Undo the arming on a trap; the page is back where the program sees it. */
int track_disarm(uint32_t f);
/* A trap on an armed page: disarm it and activate it (the reference bit). */
int track_reference(uint32_t f);
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
/* An mprotect-mode trap at addr, from the SIGSEGV handler: 1 if it was ours. */
int track_sigsegv(uintptr_t addr);

#endif
