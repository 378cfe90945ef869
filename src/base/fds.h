/* The runtime's descriptors (fds.c): kept at the top of the descriptor
 * range and recorded, so the preload layer's close/dup2 family can leave
 * them alone. */
#ifndef USWAP_FDS_H
#define USWAP_FDS_H

#include <stdbool.h>
#include <stddef.h>

/* Descriptors the runtime holds at once at most, outside mapped files:
 * userfaultfd, pagemap, /proc/self/mem, swap file, two eventfds, two
 * io_uring rings, the control socket, the trace, eight ctl connections
 * (CTL_MAX_CONNS), a fork pipe, a swap file inherited from a parent, and
 * before Linux 6.14 a pidfd of our own (mm/track.c). */
#define FDS_RUNTIME 22

/* Are there FDS_RUNTIME descriptors free under RLIMIT_NOFILE? 0, or
 * -EMFILE with a one-line reason in err. */
int fds_check(char *err, size_t errlen);
/* fd, a new descriptor of the runtime's (close-on-exec): move it to the
 * top of the range, record it, and return its new number (the old one is
 * closed). If it cannot move, it is recorded where it is. A negative fd
 * is returned as is, errno kept. */
int fds_keep(int fd);
/* Forget and close one of ours (negative: nothing). */
void fds_close(int fd);
/* Close every descriptor of ours (a start that failed before any thread
 * of the runtime ran). */
void fds_close_all(void);
/* Is fd one of the runtime's? Without the lock (async-signal-safe). */
bool fds_is_ours(int fd);
/* For close_range: the lowest of ours that is >= fd, or -1. Call with
 * fds_lock held. */
int fds_next(unsigned fd);
/* Held across a call that must see a stable set (close_range, dup2). */
void fds_lock(void);
void fds_unlock(void);
/* In a forked child: the lock is free (only this thread runs). */
void fds_fork_child(void);

#endif
