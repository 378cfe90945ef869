/* The control protocol: `uswap ctl PID` and the runtime's control socket
 * (src/control/ctl.c). One connection, one request line, one reply:
 *
 *   show                 a JSON object: the live counters, the settings in
 *                        force, the stall figures ("now_<trace column>")
 *   set KEY=VALUE ...    "ok", or "error: ..."; all checked, all or nothing
 *   reclaim SIZE         "ok reclaimed N bytes", or "error: ..."
 *
 * The socket is a file "uswap.<pid>.sock" in a directory only its user can
 * enter (mode 0700, owned by the process's effective uid, not a symlink):
 *
 *   $XDG_RUNTIME_DIR/uswap/   if XDG_RUNTIME_DIR is an absolute path to a
 *                             directory of the user's with mode 0700
 *   ${TMPDIR:-/tmp}/uswap-<uid>/   otherwise
 *
 * The client also checks who answers (SO_PEERCRED: the process it asked
 * for, or one of its descendants, of its own uid unless it is root). */
#ifndef USWAP_CTL_SCHEMA_H
#define USWAP_CTL_SCHEMA_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#define USWAP_CTL_VERSION 1

/* Longest request line, newline included. */
#define USWAP_CTL_MAX_REQUEST 4096
/* Longest reply the client reads (a show reply is a few KiB). */
#define USWAP_CTL_MAX_REPLY (4u << 20)

/* Is dir a directory of uid's that only uid can enter (mode 0700, not a
 * symlink)? 0, or a reason in why. */
static inline int uswap_ctl_private(const char *dir, uid_t uid, char *why, size_t len)
{
	struct stat st;

	if (lstat(dir, &st))
		return snprintf(why, len, "%s: %s", dir, strerror(errno)), -1;
	if (S_ISLNK(st.st_mode))
		return snprintf(why, len, "%s is a symlink, not a private directory", dir), -1;
	if (!S_ISDIR(st.st_mode))
		return snprintf(why, len, "%s is not a directory", dir), -1;
	if (st.st_uid != uid)
		return snprintf(why, len, "%s is owned by uid %u, not by uid %u", dir,
				(unsigned)st.st_uid, (unsigned)uid),
		       -1;
	if ((st.st_mode & 07777) != 0700)
		return snprintf(why, len, "%s has mode %04o, not 0700", dir,
				(unsigned)(st.st_mode & 07777)),
		       -1;
	return 0;
}

/* The socket directory of uid's programs, given the values of
 * XDG_RUNTIME_DIR and TMPDIR (NULL if unset). Returns 0, or -1 if the path
 * would not fit in len. */
static inline int uswap_ctl_dir(char *buf, size_t len, const char *xdg, const char *tmpdir,
				uid_t uid)
{
	char why[256];
	int n;

	if (xdg && xdg[0] == '/' && !uswap_ctl_private(xdg, uid, why, sizeof(why)))
		n = snprintf(buf, len, "%s/uswap", xdg);
	else
		n = snprintf(buf, len, "%s/uswap-%u", tmpdir && tmpdir[0] == '/' ? tmpdir : "/tmp",
			     (unsigned)uid);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The socket address of pid in dir; returns the length to pass to connect
 * or bind, or 0 if the path does not fit in sun_path. */
static inline socklen_t uswap_ctl_addr(struct sockaddr_un *a, const char *dir, int pid)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path, sizeof(a->sun_path), "%s/uswap.%d.sock", dir, pid);
	if (n < 0 || (size_t)n >= sizeof(a->sun_path))
		return 0;
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
}

#endif
