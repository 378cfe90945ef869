/* io_uring setup for the runtime's threads: one ring per thread, its I/O
 * buffers registered (one per page-sized slot, so read_fixed and
 * write_fixed can name them) and its files registered, kept out of forked
 * children (IORING_SETUP and io_uring_ring_dontfork). */
#ifndef USWAP_RING_H
#define USWAP_RING_H

#include <liburing.h>
#include <stddef.h>

/* A ring of entries entries with flags (retried without them if the
 * kernel refuses them), nbufs page buffers from bufs registered, and
 * nfiles files. 0, or -errno with a reason in err. */
int ring_setup(struct io_uring *ring, unsigned entries, unsigned flags, char *bufs, unsigned nbufs,
	       const int *files, unsigned nfiles, char *err, size_t errlen);
/* In a forked child, a ring of the parent's: not mapped here (dontfork),
 * only its descriptors are; close those and forget the rest. */
void ring_forget(struct io_uring *ring);
/* r, a result of io_uring_enter (submit, wait) on one of our rings, on
 * behalf of who ("the fault handler"). A ring that exists cannot be refused
 * io_uring_enter but by a seccomp filter (or an LSM) the program installed:
 * then nothing can be paged in or out any more, and rather than hang the
 * program ends the way the OOM killer would end it (SIGKILL), with a line
 * that says so. Returns r otherwise. */
int ring_check(int r, const char *who);

#endif
