/* The control socket: `uswap ctl PID` reads and changes a running
 * program's settings through it. An abstract unix socket "\0uswap.<pid>"
 * served by the monitor thread, one request line and one reply per
 * connection; only the process's own user or root may use it. The
 * protocol is include/uswap/ctl.h. */
#ifndef USWAP_CTL_H
#define USWAP_CTL_H

#include <stddef.h>

/* Create and listen on this process's socket: returns the listening fd
 * (close-on-exec, non-blocking) or -errno with err saying why. */
int ctl_listen(char *err, size_t errlen);
/* The listening fd is readable: accept one connection and answer it.
 * Returns within a few seconds whatever the client does (a reclaim
 * request takes as long as the reclaim, up to its own timeout): 0, or
 * -EBADF if lfd is no longer our socket (the program closed it, and the
 * number may now be the program's): stop polling it. */
int ctl_serve(int lfd);
/* In a forked child: close the parent's listening socket, which must not
 * keep the parent's name bound once the parent is gone. Idempotent. */
void ctl_fork_child(void);

#endif
