/* The control socket: `uswap ctl PID` reads and changes a running
 * program's settings through it. A unix socket file "uswap.<pid>.sock" in a
 * private directory (include/uswap/ctl.h says which), served by the monitor
 * thread: one request line and one reply per connection, a few connections
 * at once, each with a deadline; only the process's own user or root may
 * use it. The protocol is include/uswap/ctl.h. */
#ifndef USWAP_CTL_H
#define USWAP_CTL_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

/* Connections served at once; a newer one closes the oldest. */
#define CTL_MAX_CONNS 8
/* The most pollfds ctl_pollfds fills: the listening socket and the
 * connections. */
#define CTL_MAX_POLLFDS (CTL_MAX_CONNS + 1)

/* At initialisation, once: where the socket goes (XDG_RUNTIME_DIR and
 * TMPDIR are read here, never later). */
void ctl_init(void);
/* Create the private directory if needed, then bind and listen on this
 * process's socket (close-on-exec, non-blocking), replacing a stale one:
 * 0, or -errno with err saying why. */
int ctl_listen(char *err, size_t errlen);
/* The descriptors to poll now (at most CTL_MAX_POLLFDS) and their count;
 * *wake is lowered to the earliest deadline of a connection. */
int ctl_pollfds(struct pollfd *p, uint64_t *wake);
/* After poll (even one that timed out): serve what is ready, close what
 * is late. Returns within a few milliseconds whatever the clients do (a
 * reclaim request takes as long as the reclaim, up to its own timeout). */
void ctl_events(const struct pollfd *p, int n);
/* In a forked child: forget the parent's socket and connections (the
 * child's name is its own), closing our copies of those still open.
 * Idempotent. */
void ctl_fork_child(void);
/* At exit: remove this process's socket file. */
void ctl_exit(void);

#endif
