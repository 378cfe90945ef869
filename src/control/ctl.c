/*
 * The control socket, served by the monitor thread (monitor.c).
 *
 * One connection at a time, one request line, one reply, then close:
 *
 *   show                 the JSON of live_snapshot_json
 *   set KEY=VALUE ...    live_set: all checked first, all or nothing
 *   reclaim SIZE         live_reclaim, like memory.reclaim
 *
 * The monitor thread also writes the trace, so a client must never hold it:
 * the connection is non-blocking and the whole exchange (the request line
 * and the reply) has a deadline of IO_TIMEOUT_NS; a client that is slower
 * loses its connection. Nothing here allocates from the program's heap:
 * the request lives on the stack and the show reply in a jbuf.
 */
#define _GNU_SOURCE
#include "ctl.h"

#include "uswap/ctl.h"

#include "config.h"
#include "jbuf.h"
#include "log.h"
#include "live.h"
#include "sys.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_NS 2000000000ULL
#define RECLAIM_TIMEOUT_NS 10000000000ULL
#define MAX_WORDS 32
#define REQUESTS "show, set KEY=VALUE... or reclaim SIZE"

static int listen_fd = -1;
/* The socket's identity: the program may close our descriptor (daemons
 * close every fd) and open something else under its number. */
static dev_t listen_dev;
static ino_t listen_ino;

int ctl_listen(char *err, size_t errlen)
{
	struct sockaddr_un a;
	socklen_t len = uswap_ctl_addr(&a, (int)getpid());
	struct stat st;
	int fd, r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return r;
	}
	if (bind(fd, (struct sockaddr *)&a, len) || listen(fd, 16)) {
		r = -errno;
		snprintf(err, errlen, "cannot listen on @%s: %s", a.sun_path + 1, strerror(errno));
		close(fd);
		return r;
	}
	if (fstat(fd, &st)) {
		r = -errno;
		snprintf(err, errlen, "control socket: fstat: %s", strerror(errno));
		close(fd);
		return r;
	}
	listen_dev = st.st_dev;
	listen_ino = st.st_ino;
	listen_fd = fd;
	return fd;
}

void ctl_fork_child(void)
{
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
}

/* ---- one connection ------------------------------------------------------- */

/* Wait until fd is ready for events, or the deadline passes (-ETIMEDOUT). */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	uint64_t now = sys_now_ns();
	int r;

	if (now >= deadline)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r ? 0 : -ETIMEDOUT;
}

/* The request line, without its newline; a client that ends the stream
 * instead of the line has sent its request too. Returns its length. */
static ssize_t read_line(int fd, char *buf, size_t cap, uint64_t deadline)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
		char *nl;

		if (r == 0)
			return (ssize_t)n;
		if (r > 0) {
			nl = memchr(buf + n, '\n', (size_t)r);
			n += (size_t)r;
			if (nl)
				return nl - buf;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		r = wait_fd(fd, POLLIN, deadline);
		if (r)
			return r;
	}
	return -E2BIG;
}

static void send_all(int fd, const char *p, size_t n, uint64_t deadline)
{
	while (n) {
		ssize_t r = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r > 0) {
			p += r;
			n -= (size_t)r;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r == 0 || errno != EAGAIN || wait_fd(fd, POLLOUT, deadline)) {
			return; /* the client went away or is too slow: drop the reply */
		}
	}
}

static void reply(int fd, uint64_t deadline, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply(int fd, uint64_t deadline, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	/* A message may quote the client's value (config_apply's do): no
	 * terminal escapes or other raw bytes go back to it. */
	for (int i = 0; i < n; i++)
		if (!isprint((unsigned char)buf[i]))
			buf[i] = '?';
	buf[n++] = '\n';
	send_all(fd, buf, (size_t)n, deadline);
}

/* A client's word, safe to echo in an error: printable, at most 64 bytes. */
static const char *echo(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < len && i < 64; i++)
		out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (s[i])
		out[i++] = '.', out[i++] = '.', out[i++] = '.';
	out[i] = 0;
	return out;
}

static void do_show(int fd, uint64_t deadline)
{
	struct jbuf j = { 0 };

	live_snapshot_json(&j);
	jbuf_printf(&j, "\n");
	if (j.oom)
		reply(fd, deadline, "error: out of memory for the snapshot");
	else
		send_all(fd, j.p, j.n, deadline);
	jbuf_free(&j);
}

static void do_set(int fd, int n, char **w, uint64_t deadline)
{
	const char *env[MAX_WORDS], *val[MAX_WORDS];
	char err[512], e[80];

	if (n == 0) {
		reply(fd, deadline, "error: set needs KEY=VALUE (settable: %s)",
		      config_live_keys());
		return;
	}
	for (int i = 0; i < n; i++) {
		char *eq = strchr(w[i], '=');

		if (!eq || eq == w[i] || !eq[1]) {
			reply(fd, deadline, "error: expected KEY=VALUE, got '%s'",
			      echo(w[i], e, sizeof(e)));
			return;
		}
		env[i] = config_key_env(w[i], (size_t)(eq - w[i]));
		if (!env[i]) {
			*eq = 0;
			reply(fd, deadline, "error: unknown setting '%s' (settable: %s)",
			      echo(w[i], e, sizeof(e)), config_live_keys());
			return;
		}
		val[i] = eq + 1;
	}
	err[0] = 0;
	if (live_set(n, env, val, err, sizeof(err)))
		reply(fd, deadline, "error: %s", err[0] ? err : "the settings were refused");
	else
		reply(fd, deadline, "ok");
}

static void do_reclaim(int fd, int n, char **w, uint64_t deadline)
{
	uint64_t bytes, pages;
	int64_t r;
	char e[80];

	if (n != 1) {
		reply(fd, deadline, "error: reclaim needs one SIZE, like 64M");
		return;
	}
	if (config_parse_size(w[0], &bytes)) {
		reply(fd, deadline,
		      "error: invalid size '%s': expected a size like 64M, 512K or 2G",
		      echo(w[0], e, sizeof(e)));
		return;
	}
	pages = (bytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
	r = pages ? live_reclaim(pages, RECLAIM_TIMEOUT_NS) : 0;
	/* The reclaim took its own time: the reply gets a fresh deadline. */
	deadline = sys_now_ns() + IO_TIMEOUT_NS;
	if (r < 0)
		reply(fd, deadline, "error: reclaim failed: %s", strerror((int)-r));
	else
		reply(fd, deadline, "ok reclaimed %llu bytes", (unsigned long long)r << PAGE_SHIFT);
}

static void handle(int fd, char *req, uint64_t deadline)
{
	char *w[MAX_WORDS + 1], *save = NULL, e[80];
	int n = 0;

	for (char *t = strtok_r(req, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (n > MAX_WORDS) {
			reply(fd, deadline, "error: too many words in the request");
			return;
		}
		w[n++] = t;
	}
	if (n == 0)
		reply(fd, deadline, "error: empty request (expected " REQUESTS ")");
	else if (!strcmp(w[0], "show") && n == 1)
		do_show(fd, deadline);
	else if (!strcmp(w[0], "show"))
		reply(fd, deadline, "error: show takes no arguments");
	else if (!strcmp(w[0], "set"))
		do_set(fd, n - 1, w + 1, deadline);
	else if (!strcmp(w[0], "reclaim"))
		do_reclaim(fd, n - 1, w + 1, deadline);
	else
		reply(fd, deadline, "error: unknown request '%s' (expected " REQUESTS ")",
		      echo(w[0], e, sizeof(e)));
}

/* May the peer control us? The same user as our effective uid, or root. */
static bool peer_allowed(int fd, unsigned *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || len != sizeof(cr)) {
		*uid = (unsigned)-1;
		return false;
	}
	*uid = cr.uid;
	return cr.uid == geteuid() || cr.uid == 0;
}

int ctl_serve(int lfd)
{
	char req[USWAP_CTL_MAX_REQUEST + 1];
	uint64_t deadline;
	struct stat st;
	unsigned uid;
	ssize_t n;
	int fd;

	/* Never accept on a descriptor the program has taken over. */
	if (lfd < 0 || lfd != listen_fd || fstat(lfd, &st) || st.st_dev != listen_dev ||
	    st.st_ino != listen_ino) {
		log_once("warning: the program closed the control socket; uswap ctl is off");
		return -EBADF;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		/* Out of descriptors: the listening socket stays readable, and
		 * the monitor would spin on it; pace it instead. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
		return 0;
	}
	deadline = sys_now_ns() + IO_TIMEOUT_NS;
	if (!peer_allowed(fd, &uid)) {
		if (uid == (unsigned)-1)
			reply(fd, deadline,
			      "error: permission denied: the peer's credentials are unknown");
		else
			reply(fd, deadline,
			      "error: permission denied: uid %u may not control this process", uid);
		close(fd);
		return 0;
	}
	n = read_line(fd, req, USWAP_CTL_MAX_REQUEST, deadline);
	if (n == -E2BIG) {
		reply(fd, deadline, "error: request longer than %d bytes", USWAP_CTL_MAX_REQUEST);
	} else if (n >= 0) {
		req[n] = 0;
		/* A NUL inside the line would hide the rest of it. */
		for (ssize_t i = 0; i < n; i++)
			if (!req[i])
				req[i] = '?';
		handle(fd, req, deadline);
	}
	close(fd);
	return 0;
}
