/* fuzz_ctl: the control socket's request parser, through ctl_events itself.
 * Each input is sent whole on a new connection to the listening socket (as
 * `uswap ctl` or any local client could), the client's side shut, and
 * ctl_events answers it (the monitor thread's loop): the request line read (bounded), split into words
 * and dispatched to show, set (live_set: config_apply on the live settings)
 * or reclaim. The reply must come, end in a newline and be one line (show:
 * one JSON line) and printable. live_reclaim is replaced: the real one waits for a
 * scanner this process does not run. */
#define _GNU_SOURCE
#include "fuzz.h"

/* live.c, with live_reclaim renamed so that the stub below replaces it. */
#define live_reclaim live_reclaim_real
#include "../../src/control/live.c"
#undef live_reclaim

#include "ctl.h"
#include "uswap/ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int64_t live_reclaim(uint64_t pages, uint64_t timeout_ns)
{
	(void)live_reclaim_real;
	return (int64_t)(pages & 0xffff);
}

static int lfd = -1;
static struct sockaddr_un addr;
static socklen_t addrlen;
static char reply[1 << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], dir[108];
	size_t n = 0;
	int fd;

	if (lfd < 0) {
		config.limit_bytes = 256 << 20;
		pager_init(config.limit_bytes);
		autolimit_init(sys_now_ns());
		ctl_init();
		lfd = ctl_listen(err, sizeof(err));
		if (lfd < 0) {
			fprintf(stderr, "fuzz_ctl: %s\n", err);
			abort();
		}
		atexit(ctl_exit);
		if (uswap_ctl_dir(dir, sizeof(dir), getenv("XDG_RUNTIME_DIR"), getenv("TMPDIR"),
				  geteuid()))
			abort();
		addrlen = uswap_ctl_addr(&addr, dir, (int)getpid());
	}
	/* The request is at most USWAP_CTL_MAX_REQUEST bytes, and what is sent
	 * must fit in the socket's buffer: no more than twice that. */
	if (size > 2 * USWAP_CTL_MAX_REQUEST)
		size = 2 * USWAP_CTL_MAX_REQUEST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, addrlen)) {
		perror("fuzz_ctl: connect");
		abort();
	}
	if (size && send(fd, data, size, MSG_NOSIGNAL) != (ssize_t)size) {
		perror("fuzz_ctl: send");
		abort();
	}
	shutdown(fd, SHUT_WR);
	/* The monitor's loop (monitor.c), until the reply has ended: ctl
	 * serves the connection, then closes it. */
	for (int round = 0;; round++) {
		struct pollfd p[CTL_MAX_POLLFDS];
		uint64_t wake = UINT64_MAX;
		int np = ctl_pollfds(p, &wake);
		ssize_t r;

		if (round > 10000) {
			fprintf(stderr, "fuzz_ctl: no end of the reply after %d rounds\n", round);
			abort();
		}
		poll(p, (nfds_t)np, 1);
		ctl_events(p, np);
		r = recv(fd, reply + n, sizeof(reply) - 1 - n, 0);
		if (r > 0)
			n += (size_t)r;
		else if (r == 0)
			break;
		else if (errno != EAGAIN && errno != EINTR)
			break;
	}
	close(fd);
	if (!n || reply[n - 1] != '\n' || memchr(reply, '\n', n) != reply + n - 1) {
		fprintf(stderr, "fuzz_ctl: not one reply line (%zu bytes): %.*s\n", n, (int)n,
			reply);
		abort();
	}
	/* Nothing of the client's is sent back raw: a reply is printable
	 * ASCII (`uswap ctl` prints it on a terminal). */
	for (size_t i = 0; i + 1 < n; i++)
		if (reply[i] < 0x20 || reply[i] > 0x7e) {
			fprintf(stderr, "fuzz_ctl: byte 0x%02x at %zu of the reply: %.*s\n",
				(unsigned char)reply[i], i, (int)n, reply);
			abort();
		}
	/* The settings stay what a set left them: the next input starts from
	 * there, as the next `uswap ctl` would. */
	return 0;
}
