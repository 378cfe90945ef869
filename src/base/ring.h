/* io_uring setup for the runtime's threads: one ring per thread, its I/O
 * buffers registered (one per page-sized slot, so read_fixed and
 * write_fixed can name them) and its files registered, kept out of forked
 * children (IORING_SETUP and io_uring_ring_dontfork). */
#ifndef USWAP_RING_H
#define USWAP_RING_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>

/* The setup flags of a ring that one thread owns: only that thread
 * submits (SINGLE_ISSUER, 6.0), and completions are posted when it asks
 * for them, in io_uring_enter with GETEVENTS, instead of interrupting it
 * (DEFER_TASKRUN, 6.1). SINGLE_ISSUER binds the ring to the task that
 * creates it: it is created disabled (R_DISABLED), set up by the thread
 * that starts its owner, and enabled by the owner itself (ring_enable),
 * which that binds it to. */
#define RING_OWNED \
	(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED)

/* A ring of entries entries with flags; where the kernel refuses them,
 * with fallback, else with none. nbufs page buffers from bufs registered,
 * and nfiles files. 0, or -errno with a reason in err. */
int ring_setup(struct io_uring *ring, unsigned entries, unsigned flags, unsigned fallback,
	       char *bufs, unsigned nbufs, const int *files, unsigned nfiles, char *err,
	       size_t errlen);
/* First thing in the thread that submits to ring: enable it if it was
 * created disabled (RING_OWNED), making this thread its owner. On failure
 * nothing could be paged: the program ends, as ring_check would end it. */
void ring_enable(struct io_uring *ring, const char *who);
/* Were completions deferred to the owner's io_uring_enter (DEFER_TASKRUN)? */
static inline bool ring_deferred(const struct io_uring *ring)
{
	return ring->flags & IORING_SETUP_DEFER_TASKRUN;
}
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
