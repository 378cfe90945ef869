/* userfaultfd: open, feature probing, register, and the fill/move ioctls.
 * Every function returns 0 or a negative errno. */
#ifndef USWAP_UFFD_H
#define USWAP_UFFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uffd_caps {
	bool move;     /* UFFDIO_MOVE (6.8): soft eviction */
	bool wp_async; /* WP_ASYNC + PAGEMAP_SCAN (6.7): dirty tracking without faults */
};

extern int uffd_fd;
/* While set (by the fault handler during a fork), the fill and move calls
 * do not wake the faulting thread; the caller wakes it with uffd_wake once
 * its bookkeeping is complete. */
extern bool uffd_dontwake;
extern int uffd_pagemap_fd;
extern struct uffd_caps uffd_caps;

/* Open a userfaultfd that serves kernel-mode faults. On failure, writes a
 * one-line reason naming the missing permission or sysctl into why. */
int uffd_open(char *why, size_t whylen);
int uffd_register(uintptr_t start, size_t len);
/* Close the userfaultfd and pagemap descriptors (a forked child's copies). */
void uffd_close(void);
/* In a forked child, before uffd_open: a seccomp filter the program
 * installed may kill the process at userfaultfd() (SECCOMP_RET_KILL_*),
 * where no error could be reported. If /proc/self/status shows a filter,
 * uffd_open first runs in a throwaway copy of this process (a raw clone
 * with no exit signal). 0: go on; -EPERM with why: the copy was killed. */
int uffd_probe(char *why, size_t whylen);
int uffd_zeropage(uintptr_t addr);
int uffd_copy(uintptr_t dst, const void *src, bool wp);
/* UFFDIO_COPY of len bytes (whole pages) from src to dst, in one call
 * where it can: the bytes copied from the start (it stops at the first
 * page already present, and wakes the range), or -errno if none. */
long uffd_copy_run(uintptr_t dst, const void *src, size_t len);
int uffd_move(uintptr_t dst, uintptr_t src, size_t len);
/* UFFDIO_MOVE of a run of whole pages in one call: the bytes moved from the
 * start (it stops at the first page it cannot move: a hole, a page shared
 * copy-on-write, a VMA boundary), or -errno if none. Never wakes. Both
 * moves count a page that reached dst as moved, whatever the error said. */
long uffd_move_run(uintptr_t dst, uintptr_t src, size_t len);
int uffd_wake(uintptr_t addr, size_t len);
int uffd_writeprotect(uintptr_t addr, size_t len);
/* 1 if the page was written since it was last write-protected, 0 if not, <0 on error. */
int uffd_page_written(uintptr_t addr);
/* Is the page at addr present? (/proc/self/pagemap bit 63) */
bool uffd_page_present(uintptr_t addr);

#endif
