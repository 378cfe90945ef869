/* The control protocol: `uswap ctl PID` and the runtime's control socket
 * (src/control/ctl.c). One connection, one request line, one reply:
 *
 *   show                 a JSON object: the live counters, the settings in
 *                        force, the stall figures ("now_<trace column>")
 *   set KEY=VALUE ...    "ok", or "error: ..."; all checked, all or nothing
 *   reclaim SIZE         "ok reclaimed N bytes", or "error: ..."
 *
 * The socket is abstract (no file), named "uswap.<pid>". */
#ifndef USWAP_CTL_SCHEMA_H
#define USWAP_CTL_SCHEMA_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define USWAP_CTL_VERSION 1

/* Longest request line, newline included. */
#define USWAP_CTL_MAX_REQUEST 4096

/* The socket address of pid; returns the length to pass to connect or bind. */
static inline socklen_t uswap_ctl_addr(struct sockaddr_un *a, int pid)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* Abstract: sun_path[0] stays 0; the name is not a file. */
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "uswap.%d", pid);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

#endif
