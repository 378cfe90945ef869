/*
 * The control socket, served by the monitor thread (monitor.c).
 *
 * One request line per connection, one reply, then close:
 *
 *   show                 the JSON of live_snapshot_json
 *   set KEY=VALUE ...    live_set: all checked first, all or nothing
 *   reclaim SIZE         live_reclaim, like memory.reclaim
 *
 * The socket is a file in a private directory (include/uswap/ctl.h): an
 * abstract name could be bound by any local user before us. The monitor
 * thread also writes the trace, so no client may hold it: every socket is
 * non-blocking, up to CTL_MAX_CONNS connections are served side by side
 * from the monitor's poll (a newer one closes the oldest), each with a
 * request of at most USWAP_CTL_MAX_REQUEST bytes and a deadline of
 * IO_TIMEOUT_NS for the whole exchange; a client that is slower loses its
 * connection. Nothing here allocates from the program's heap: requests and
 * short replies live in the connection table, the show reply in a jbuf.
 */
#define _GNU_SOURCE
#include "ctl.h"

#include "uswap/ctl.h"

#include "config.h"
#include "fds.h"
#include "jbuf.h"
#include "log.h"
#include "live.h"
#include "sys.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_NS 2000000000ULL
#define RECLAIM_TIMEOUT_NS 10000000000ULL
#define MAX_WORDS 32
/* New connections taken per wakeup: a flood cannot push out a client whose
 * request is on its way before it has had one more poll. */
#define ACCEPT_BATCH (CTL_MAX_CONNS / 2)
#define REQUESTS "show, set KEY=VALUE... or reclaim SIZE"

/* Where the socket goes, settled once by ctl_init. */
static char sock_dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char dir_err[160]; /* why there is no sock_dir */
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pid_t sock_owner; /* the process whose file sock_path is */

static int listen_fd = -1;
/* The socket's identity: the program may close our descriptor (daemons
 * close every fd) and open something else under its number. */
static dev_t listen_dev;
static ino_t listen_ino;

/* One client. */
struct conn {
	int fd;	   /* -1: a free slot */
	ino_t ino; /* the socket's identity, as for listen_fd */
	uint64_t deadline;
	uint64_t seq;  /* accept order: the oldest goes first */
	size_t n;      /* request bytes so far */
	bool replying; /* the request is answered: out is being sent */
	const char *out;
	size_t out_n, sent;
	struct jbuf big;  /* a show reply */
	char small[1024]; /* any other reply */
	char req[USWAP_CTL_MAX_REQUEST + 1];
};

static struct conn conns[CTL_MAX_CONNS] = {
	[0 ... CTL_MAX_CONNS - 1] = { .fd = -1 },
};
static uint64_t next_seq;

/* ---- descriptors ----------------------------------------------------------
 * Every descriptor this file owns is made here, close-on-exec and
 * non-blocking. */

static int new_socket(void)
{
	return fds_keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
}

static int new_conn_fd(int lfd)
{
	return fds_keep(accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK));
}

/* ---- the socket ------------------------------------------------------------ */

void ctl_init(void)
{
	uid_t uid = geteuid();

	if (uswap_ctl_dir(sock_dir, sizeof(sock_dir), getenv("XDG_RUNTIME_DIR"), getenv("TMPDIR"),
			  uid)) {
		sock_dir[0] = 0;
		snprintf(dir_err, sizeof(dir_err),
			 "the socket directory under XDG_RUNTIME_DIR or TMPDIR is too long a path");
	}
}

/* The directory exists and is ours alone, or err says why not. */
static int private_dir(char *err, size_t errlen)
{
	char why[200];
	uid_t uid = geteuid();

	if (mkdir(sock_dir, 0700) == 0) {
		/* A umask may have taken bits away: put back exactly 0700. */
		if (chmod(sock_dir, 0700))
			return snprintf(err, errlen, "cannot chmod %s: %s", sock_dir,
					strerror(errno)),
			       -errno;
	} else if (errno != EEXIST) {
		int e = errno;

		snprintf(err, errlen, "cannot create %s: %s", sock_dir, strerror(e));
		return -e;
	}
	if (uswap_ctl_private(sock_dir, uid, why, sizeof(why))) {
		snprintf(err, errlen, "refusing the socket directory: %s", why);
		return -EPERM;
	}
	return 0;
}

int ctl_listen(char *err, size_t errlen)
{
	struct sockaddr_un a;
	socklen_t len;
	struct stat st;
	int fd, r;

	if (!sock_dir[0])
		return snprintf(err, errlen, "%s",
				dir_err[0] ? dir_err : "ctl_init was not called"),
		       -EINVAL;
	len = uswap_ctl_addr(&a, sock_dir, (int)getpid());
	if (!len)
		return snprintf(err, errlen, "socket path in %s is too long", sock_dir),
		       -ENAMETOOLONG;
	r = private_dir(err, errlen);
	if (r)
		return r;
	fd = new_socket();
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return r;
	}
	/* Our pid's name: what is there is a dead process's socket (ours
	 * before an exec, or another with this pid), or something only our
	 * own user could have put in the directory. */
	if (unlink(a.sun_path) && errno != ENOENT) {
		r = -errno;
		snprintf(err, errlen, "cannot replace %s: %s", a.sun_path, strerror(errno));
		fds_close(fd);
		return r;
	}
	if (bind(fd, (struct sockaddr *)&a, len) || listen(fd, 16)) {
		r = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", a.sun_path, strerror(errno));
		fds_close(fd);
		return r;
	}
	if (sys_fstat(fd, &st)) {
		r = -errno;
		snprintf(err, errlen, "control socket: fstat: %s", strerror(errno));
		fds_close(fd);
		unlink(a.sun_path);
		return r;
	}
	memcpy(sock_path, a.sun_path, sizeof(sock_path));
	sock_owner = getpid();
	listen_dev = st.st_dev;
	listen_ino = st.st_ino;
	listen_fd = fd;
	return 0;
}

static void conn_free(struct conn *c, bool close_fd)
{
	if (close_fd)
		fds_close(c->fd);
	jbuf_free(&c->big);
	c->big = (struct jbuf){ 0 };
	c->fd = -1;
}

void ctl_exit(void)
{
	if (sock_path[0] && sock_owner == getpid())
		unlink(sock_path);
}

/* ---- replies --------------------------------------------------------------- */

/* Is the descriptor still our socket? (the program may have closed it) */
static bool conn_ours(const struct conn *c)
{
	struct stat st;

	return !sys_fstat(c->fd, &st) && S_ISSOCK(st.st_mode) && st.st_ino == c->ino;
}

/* Is listen_fd still our listening socket? */
static bool listen_ours(void)
{
	struct stat st;

	return !sys_fstat(listen_fd, &st) && st.st_dev == listen_dev && st.st_ino == listen_ino;
}

void ctl_fork_child(void)
{
	/* The parent's descriptors are the parent's to close; our copies go.
	 * The parent's socket file stays: it is not ours to remove. The
	 * parent's monitor ran on through the fork, so a number noted here
	 * may have been closed before the descriptor table was copied: only
	 * what is still that socket is closed, never a descriptor that has
	 * taken its number since. */
	if (listen_fd >= 0 && listen_ours())
		fds_close(listen_fd);
	listen_fd = -1;
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		if (conns[i].fd >= 0)
			conn_free(&conns[i], conn_ours(&conns[i]));
}

/* Send what the socket takes now; the whole reply sent or a dead client
 * ends the connection. */
static void conn_write(struct conn *c)
{
	while (c->sent < c->out_n) {
		ssize_t r;

		if (!conn_ours(c)) {
			conn_free(c, false);
			return;
		}
		r = send(c->fd, c->out + c->sent, c->out_n - c->sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			c->sent += (size_t)r;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && errno == EAGAIN) {
			return; /* POLLOUT, or the deadline */
		} else {
			break;
		}
	}
	conn_free(c, true);
}

/* The reply to send (a short one in c->small, or c->big). */
static void reply(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->small, sizeof(c->small) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(c->small) - 2)
		n = sizeof(c->small) - 2;
	/* A message may quote the client's value (config_apply's do): no
	 * terminal escapes or other raw bytes go back to it. */
	for (int i = 0; i < n; i++)
		if (!isprint((unsigned char)c->small[i]))
			c->small[i] = '?';
	c->small[n++] = '\n';
	c->out = c->small;
	c->out_n = (size_t)n;
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

static void do_show(struct conn *c)
{
	live_snapshot_json(&c->big);
	jbuf_printf(&c->big, "\n");
	if (c->big.oom) {
		reply(c, "error: out of memory for the snapshot");
	} else {
		c->out = c->big.p;
		c->out_n = c->big.n;
	}
}

static void do_set(struct conn *c, int n, char **w)
{
	const char *env[MAX_WORDS], *val[MAX_WORDS];
	char err[512], e[80];

	if (n == 0) {
		reply(c, "error: set needs KEY=VALUE (settable: %s)", config_live_keys());
		return;
	}
	for (int i = 0; i < n; i++) {
		char *eq = strchr(w[i], '=');

		if (!eq || eq == w[i] || !eq[1]) {
			reply(c, "error: expected KEY=VALUE, got '%s'", echo(w[i], e, sizeof(e)));
			return;
		}
		env[i] = config_key_env(w[i], (size_t)(eq - w[i]));
		if (!env[i]) {
			*eq = 0;
			reply(c, "error: unknown setting '%s' (settable: %s)",
			      echo(w[i], e, sizeof(e)), config_live_keys());
			return;
		}
		val[i] = eq + 1;
	}
	err[0] = 0;
	if (live_set(n, env, val, err, sizeof(err)))
		reply(c, "error: %s", err[0] ? err : "the settings were refused");
	else
		reply(c, "ok");
}

static void do_reclaim(struct conn *c, int n, char **w)
{
	uint64_t bytes, pages;
	int64_t r;
	char e[80];

	if (n != 1) {
		reply(c, "error: reclaim needs one SIZE, like 64M");
		return;
	}
	if (config_parse_size(w[0], &bytes)) {
		reply(c, "error: invalid size '%s': expected a size like 64M, 512K or 2G",
		      echo(w[0], e, sizeof(e)));
		return;
	}
	pages = (bytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
	r = pages ? live_reclaim(pages, RECLAIM_TIMEOUT_NS) : 0;
	/* The reclaim took its own time: the reply gets a fresh deadline. */
	c->deadline = sys_now_ns() + IO_TIMEOUT_NS;
	if (r < 0)
		reply(c, "error: reclaim failed: %s", strerror((int)-r));
	else
		reply(c, "ok reclaimed %llu bytes", (unsigned long long)r << PAGE_SHIFT);
}

static void handle(struct conn *c, char *req)
{
	char *w[MAX_WORDS + 1], *save = NULL, e[80];
	int n = 0;

	for (char *t = strtok_r(req, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (n > MAX_WORDS) {
			reply(c, "error: too many words in the request");
			return;
		}
		w[n++] = t;
	}
	if (n == 0)
		reply(c, "error: empty request (expected " REQUESTS ")");
	else if (!strcmp(w[0], "show") && n == 1)
		do_show(c);
	else if (!strcmp(w[0], "show"))
		reply(c, "error: show takes no arguments");
	else if (!strcmp(w[0], "set"))
		do_set(c, n - 1, w + 1);
	else if (!strcmp(w[0], "reclaim"))
		do_reclaim(c, n - 1, w + 1);
	else
		reply(c, "error: unknown request '%s' (expected " REQUESTS ")",
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

/* The request line is complete (n bytes, without its newline): answer. */
static void conn_request(struct conn *c, size_t n)
{
	c->req[n] = 0;
	/* A NUL inside the line would hide the rest of it. */
	for (size_t i = 0; i < n; i++)
		if (!c->req[i])
			c->req[i] = '?';
	handle(c, c->req);
	c->replying = true;
	conn_write(c);
}

/* Read what has come; a client that ends the stream instead of the line
 * has sent its request too. */
static void conn_read(struct conn *c)
{
	while (c->n < USWAP_CTL_MAX_REQUEST) {
		ssize_t r;
		char *nl;

		if (!conn_ours(c)) {
			conn_free(c, false);
			return;
		}
		r = recv(c->fd, c->req + c->n, USWAP_CTL_MAX_REQUEST - c->n, MSG_DONTWAIT);
		if (r == 0) {
			conn_request(c, c->n);
			return;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_free(c, true);
			return;
		}
		nl = memchr(c->req + c->n, '\n', (size_t)r);
		c->n += (size_t)r;
		if (nl) {
			conn_request(c, (size_t)(nl - c->req));
			return;
		}
	}
	reply(c, "error: request longer than %d bytes", USWAP_CTL_MAX_REQUEST);
	c->replying = true;
	conn_write(c);
}

/* A free slot, or the oldest connection's, closed. */
static struct conn *conn_slot(void)
{
	struct conn *old = &conns[0];

	for (int i = 0; i < CTL_MAX_CONNS; i++) {
		if (conns[i].fd < 0)
			return &conns[i];
		if (conns[i].seq < old->seq)
			old = &conns[i];
	}
	conn_free(old, conn_ours(old));
	return old;
}

/* Take up to ACCEPT_BATCH new connections and read what they sent. */
static void accept_new(void)
{
	struct stat st;

	/* Never accept on a descriptor the program has taken over. */
	if (!listen_ours()) {
		log_once("warning: the program closed the control socket; uswap ctl is off");
		listen_fd = -1;
		return;
	}
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = new_conn_fd(listen_fd);
		struct conn *c;
		unsigned uid;

		if (fd < 0) {
			/* Out of descriptors: the listening socket stays
			 * readable, and the monitor would spin on it; pace it. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
			return;
		}
		if (sys_fstat(fd, &st)) {
			fds_close(fd);
			continue;
		}
		c = conn_slot();
		*c = (struct conn){ .fd = fd,
				    .ino = st.st_ino,
				    .deadline = sys_now_ns() + IO_TIMEOUT_NS,
				    .seq = next_seq++ };
		if (!peer_allowed(fd, &uid)) {
			if (uid == (unsigned)-1)
				reply(c,
				      "error: permission denied: the peer's credentials are unknown");
			else
				reply(c,
				      "error: permission denied: uid %u may not control this process",
				      uid);
			c->replying = true;
			conn_write(c);
			continue;
		}
		conn_read(c);
	}
}

int ctl_pollfds(struct pollfd *p, uint64_t *wake)
{
	int n = 0;

	if (listen_fd >= 0)
		p[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
	for (int i = 0; i < CTL_MAX_CONNS; i++) {
		struct conn *c = &conns[i];

		if (c->fd < 0)
			continue;
		p[n++] = (struct pollfd){ .fd = c->fd, .events = c->replying ? POLLOUT : POLLIN };
		if (c->deadline < *wake)
			*wake = c->deadline;
	}
	return n;
}

void ctl_events(const struct pollfd *p, int n)
{
	uint64_t now;

	/* The connections first: a request already here is answered before
	 * newcomers can push its connection out. */
	for (int k = 0; k < n; k++) {
		struct conn *c = NULL;

		if (!p[k].revents || p[k].fd == listen_fd)
			continue;
		for (int i = 0; i < CTL_MAX_CONNS; i++)
			if (conns[i].fd == p[k].fd)
				c = &conns[i];
		if (!c)
			continue;
		if (p[k].revents & POLLNVAL)
			conn_free(c, false); /* the program closed it: not ours now */
		else if (c->replying)
			conn_write(c);
		else
			conn_read(c);
	}
	for (int k = 0; k < n; k++) {
		if (p[k].fd != listen_fd || listen_fd < 0 || !p[k].revents)
			continue;
		if (p[k].revents & (POLLNVAL | POLLERR)) {
			log_once(
				"warning: the program closed the control socket; uswap ctl is off");
			listen_fd = -1;
		} else {
			accept_new();
		}
	}
	now = sys_now_ns();
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		if (conns[i].fd >= 0 && conns[i].deadline <= now)
			conn_free(&conns[i], conn_ours(&conns[i]));
}
