/* uswap ctl PID [show | set KEY=VALUE... | reclaim SIZE]
 *
 * The client of the control socket (src/control/ctl.c, the protocol in
 * include/uswap/ctl.h): one request, one reply.
 * The request is checked here first (its syntax, the keys, the size), so a
 * typo gets its error without a round trip; the values of `set` are checked
 * by the runtime, which knows what this run can hold. Any error is one
 * line on stderr and exit status 2, as for the rest of the CLI.
 *
 * The peer is not trusted: the socket must be served by the process asked
 * for (or a descendant of it) and its uid (unless we are root), the reply
 * is read up to USWAP_CTL_MAX_REPLY bytes within the timeout, and its bytes
 * are never printed raw: control characters, terminal escapes and bytes
 * that are not UTF-8 come out escaped (\u00XX in JSON, \xNN in text). */
#define _GNU_SOURCE
#include "ctl_client.h"

#include "config.h"
#include "msg.h"
#include "uswap/ctl.h"

#include <json-c/json.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* How long to wait for the answer: the runtime gives a reclaim 10 s. */
#define ANSWER_TIMEOUT_S 10
#define RECLAIM_TIMEOUT_S 30

static void ctl_usage(FILE *f)
{
	fprintf(f,
		"usage: uswap ctl [--json] PID [show]\n"
		"       uswap ctl PID set KEY=VALUE [KEY=VALUE...]\n"
		"       uswap ctl PID reclaim SIZE\n"
		"\n"
		"Read or change the settings of a program running under uswap.\n"
		"\n"
		"  show              the live counters and the settings in force\n"
		"                    (--json: as one JSON object)\n"
		"  set KEY=VALUE     change settings; all are checked first and none\n"
		"                    changes if one is wrong (the values are those of\n"
		"                    the options of the same names: limit=128M)\n"
		"  reclaim SIZE      evict up to SIZE of the coldest pages now\n"
		"\n"
		"Keys: %s\n",
		config_live_keys());
}

/* An error: one line, and the exit status that goes with it. */
#define fail(...) cli_error("ctl: ", __VA_ARGS__)

static int parse_pid(const char *s, int *pid)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*pid = (int)v;
	return 0;
}

/* The request line from the command words, checked; NULL after an error. */
static char *build_request(int n, char **w, int *status)
{
	size_t len = 0;
	char *req, *p;

	*status = 2;
	if (n == 0 || !strcmp(w[0], "show")) {
		if (n > 1)
			return fail("show takes no arguments"), NULL;
		*status = 0;
		return strdup("show\n");
	}
	if (!strcmp(w[0], "set")) {
		if (n == 1)
			return fail("set needs KEY=VALUE (settable: %s)", config_live_keys()), NULL;
		for (int i = 1; i < n; i++) {
			const char *eq = strchr(w[i], '=');

			if (!eq || eq == w[i] || !eq[1] || strpbrk(w[i], " \t\n\r"))
				return fail("expected KEY=VALUE, got '%s'", w[i]), NULL;
			if (!config_key_env(w[i], (size_t)(eq - w[i])))
				return fail("unknown setting '%.*s' (settable: %s)",
					    (int)(eq - w[i]), w[i], config_live_keys()),
				       NULL;
		}
	} else if (!strcmp(w[0], "reclaim")) {
		uint64_t bytes;

		if (n != 2)
			return fail("reclaim needs one SIZE, like 64M"), NULL;
		if (config_parse_size(w[1], &bytes))
			return fail("invalid size '%s': expected a size like 64M, 512K or 2G",
				    w[1]),
			       NULL;
	} else {
		return fail("unknown command '%s' (expected show, set KEY=VALUE... or reclaim SIZE)",
			    w[0]),
		       NULL;
	}
	for (int i = 0; i < n; i++)
		len += strlen(w[i]) + 1;
	if (len > USWAP_CTL_MAX_REQUEST)
		return fail("request longer than %d bytes", USWAP_CTL_MAX_REQUEST), NULL;
	req = p = malloc(len + 1);
	if (!req)
		return fail("out of memory"), NULL;
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s%s", w[i], i + 1 < n ? " " : "\n");
	*status = 0;
	return req;
}

/* ---- the peer's bytes, made safe to print ---------------------------------- */

/* The length of a valid UTF-8 sequence at s (of at most n bytes) and its
 * code point, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len;
	unsigned c, min;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Characters a terminal acts on, or that reorder what it shows: C0, DEL,
 * C1, the line separators and the bidirectional controls. */
static bool unsafe_cp(unsigned c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x200e && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

/* s[0..n) made printable, in a new string: json keeps a JSON text JSON
 * (escapes inside strings as \u00XX, whitespace outside them a space),
 * otherwise escapes are \xNN per byte. */
static char *clean(const char *s0, size_t n, bool json)
{
	const unsigned char *s = (const unsigned char *)s0;
	char *out = malloc(n * 6 + 1), *o = out;
	bool in_str = false, esc = false;

	if (!out) {
		fail("out of memory");
		exit(2);
	}
	for (size_t i = 0; i < n;) {
		unsigned cp = s[i];
		size_t len = s[i] < 0x80 ? 1 : utf8_seq(s + i, n - i, &cp);

		if (len && !unsafe_cp(cp)) {
			if (json && !esc && cp == '"')
				in_str = !in_str;
			esc = json && in_str && !esc && cp == '\\';
			memcpy(o, s + i, len);
			o += len;
			i += len;
			continue;
		}
		esc = false;
		if (!json) {
			/* Each byte of it, whether it was UTF-8 or not. */
			for (size_t k = 0; k < (len ? len : 1); k++)
				o += sprintf(o, "\\x%02x", s[i + k]);
		} else if (!in_str && (cp == '\n' || cp == '\r' || cp == '\t')) {
			*o++ = ' ';
		} else if (len) {
			o += sprintf(o, "\\u%04x", cp);
		} else {
			/* Not UTF-8: the byte as the code point of its value. */
			o += sprintf(o, "\\u%04x", s[i]);
		}
		i += len ? len : 1;
	}
	*o = 0;
	return out;
}

/* As clean for a C string in text. */
static char *clean_str(const char *s)
{
	return clean(s, strlen(s), false);
}

/* ---- finding and checking the peer ----------------------------------------- */

/* The parent of process p, or -1. */
static int parent_of(int p)
{
	char path[64], buf[512], *rp;
	int ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", p);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (rp = strrchr(buf, ')')) &&
	    sscanf(rp + 1, " %*c %d", &ppid) != 1)
		ppid = -1;
	fclose(f);
	return ppid;
}

/* Is p pid or one of its descendants? */
static bool in_tree(int p, int pid)
{
	for (int i = 0; i < 4096 && p > 0; i++, p = parent_of(p))
		if (p == pid)
			return true;
	return false;
}

/* May this peer answer for pid? The process itself or a descendant, of
 * our own uid unless we are root. */
static int check_peer(int fd, int pid, const char *path)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char *p;
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) || len != sizeof(cr))
		return fail("cannot check who serves %s: %s", path, strerror(errno));
	if ((cr.pid == pid || in_tree(cr.pid, pid)) && (cr.uid == geteuid() || geteuid() == 0))
		return 0;
	p = clean_str(path);
	r = fail("refusing %s: it is served by process %d (uid %u), not by process %d or its "
		 "children as uid %u",
		 p, (int)cr.pid, (unsigned)cr.uid, pid, (unsigned)geteuid());
	free(p);
	return r;
}

/* Where the socket of pid may be: ours, then those of the process's uid
 * (a root client looking at another user's program). The first that is a
 * socket file, in a; 0, -ENOENT, or -EPERM once the reason is printed. */
static int find_socket(int pid, struct sockaddr_un *a, socklen_t *alen)
{
	char dirs[4][sizeof(a->sun_path)], proc[32];
	const char *xdg = getenv("XDG_RUNTIME_DIR"), *tmp = getenv("TMPDIR");
	uid_t uid = geteuid();
	struct stat st;
	int n = 0;

	snprintf(proc, sizeof(proc), "/proc/%d", pid);
	if (!stat(proc, &st))
		uid = st.st_uid;
	/* Its socket is in a directory of its user's that we cannot enter. */
	if (uid != geteuid() && geteuid() != 0)
		return fail("permission denied: process %d runs as uid %u, not as uid %u", pid,
			    (unsigned)uid, (unsigned)geteuid()),
		       -EPERM;
	if (!uswap_ctl_dir(dirs[n], sizeof(dirs[n]), xdg, tmp, geteuid()))
		n++;
	if (uid != geteuid()) {
		char run[64];

		snprintf(run, sizeof(run), "/run/user/%u", (unsigned)uid);
		if (!uswap_ctl_dir(dirs[n], sizeof(dirs[n]), run, tmp, uid))
			n++;
		if (!uswap_ctl_dir(dirs[n], sizeof(dirs[n]), NULL, tmp, uid))
			n++;
		if (!uswap_ctl_dir(dirs[n], sizeof(dirs[n]), NULL, NULL, uid))
			n++;
	}
	for (int i = 0; i < n; i++) {
		*alen = uswap_ctl_addr(a, dirs[i], pid);
		if (*alen && !lstat(a->sun_path, &st) && S_ISSOCK(st.st_mode))
			return 0;
	}
	return -ENOENT;
}

static int connect_to(int pid, int timeout_s, int *fd)
{
	struct timeval tv = { .tv_sec = timeout_s };
	struct sockaddr_un a;
	socklen_t len;

	if (kill(pid, 0) && errno == ESRCH)
		return fail("no process %d", pid);
	switch (find_socket(pid, &a, &len)) {
	case 0:
		break;
	case -EPERM:
		return 2;
	default:
		return fail("no uswap runtime in process %d (is it running under uswap?)", pid);
	}
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return fail("socket: %s", strerror(errno));
	setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(*fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(*fd, (struct sockaddr *)&a, len) == 0)
		return check_peer(*fd, pid, a.sun_path);
	if (errno == ECONNREFUSED || errno == ENOENT)
		return fail("no uswap runtime in process %d (is it running under uswap?)", pid);
	return fail("cannot connect to process %d: %s", pid, strerror(errno));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Send the request and read the whole reply (the runtime closes after it),
 * at most USWAP_CTL_MAX_REPLY bytes within timeout_s. */
static int exchange(int fd, int pid, int timeout_s, const char *req, char **out)
{
	size_t n = 0, cap = 65536, len = strlen(req);
	char *buf = malloc(cap);
	double end = now_s() + timeout_s;

	if (!buf)
		return fail("out of memory");
	while (len) {
		ssize_t r = send(fd, req, len, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break; /* the runtime may have answered already (permission) */
		req += r;
		len -= (size_t)r;
	}
	for (;;) {
		ssize_t r;

		if (n >= USWAP_CTL_MAX_REPLY)
			return free(buf), fail("process %d sent a reply longer than %u MiB: not a "
					       "uswap reply",
					       pid, USWAP_CTL_MAX_REPLY >> 20);
		if (now_s() > end)
			return free(buf),
			       fail("process %d did not answer within %d s", pid, timeout_s);
		if (n + 1 >= cap) {
			char *p = realloc(buf, cap *= 2);

			if (!p)
				return free(buf), fail("out of memory");
			buf = p;
		}
		r = recv(fd, buf + n, cap - n - 1, 0);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return free(buf),
			       fail("process %d did not answer within %d s", pid, timeout_s);
		if (n && errno == ECONNRESET)
			break;
		return free(buf),
		       fail("reading the answer of process %d: %s", pid, strerror(errno));
	}
	buf[n] = 0;
	if (!n)
		return free(buf),
		       fail("process %d closed the connection without answering (is it exiting?)",
			    pid);
	if (memchr(buf, 0, n))
		return free(buf), fail("process %d sent a NUL byte: not a uswap reply", pid);
	if (buf[n - 1] == '\n')
		buf[n - 1] = 0;
	*out = buf;
	return 0;
}

/* ---- show: the snapshot as aligned "name value" lines ---------------------- */

struct line {
	char *name, *value;
};

struct lines {
	struct line *v;
	size_t n, cap;
	size_t width;
};

static void add_line(struct lines *l, const char *name, char *value)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 128;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v) {
			fail("out of memory");
			exit(2);
		}
	}
	l->v[l->n].name = clean_str(name);
	l->v[l->n].value = clean_str(value);
	free(value);
	if (strlen(l->v[l->n].name) > l->width)
		l->width = strlen(l->v[l->n].name);
	l->n++;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* A value, with bytes and nanoseconds also in units a person reads. */
static char *format_value(const char *name, struct json_object *v)
{
	const char *text = json_object_get_type(v) == json_type_string ?
				   json_object_get_string(v) :
				   json_object_to_json_string_ext(
					   v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_SPACED);
	char *out = NULL;
	int r = -1;

	if (json_object_get_type(v) == json_type_int && ends_with(name, "_bytes")) {
		double b = (double)json_object_get_int64(v);

		if (b >= 1 << 30)
			r = asprintf(&out, "%s (%.2f GiB)", text, b / (1 << 30));
		else if (b >= 1 << 20)
			r = asprintf(&out, "%s (%.1f MiB)", text, b / (1 << 20));
		else if (b >= 1 << 10)
			r = asprintf(&out, "%s (%.1f KiB)", text, b / (1 << 10));
	} else if (json_object_get_type(v) == json_type_int && ends_with(name, "_ns")) {
		double ns = (double)json_object_get_int64(v);

		if (ns >= 1e9)
			r = asprintf(&out, "%s (%.2f s)", text, ns / 1e9);
		else if (ns >= 1e6)
			r = asprintf(&out, "%s (%.1f ms)", text, ns / 1e6);
	}
	if (r < 0)
		out = strdup(text);
	return out;
}

/* Nested objects become dotted names: psi.memory.some_pct. */
static void flatten(struct lines *l, const char *prefix, struct json_object *obj)
{
	struct json_object_iterator it = json_object_iter_begin(obj);
	struct json_object_iterator end = json_object_iter_end(obj);

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		char *name;

		if (asprintf(&name, "%s%s%s", prefix, *prefix ? "." : "", key) < 0)
			exit(fail("out of memory"));
		if (json_object_get_type(v) == json_type_object)
			flatten(l, name, v);
		else
			add_line(l, name, format_value(name, v));
		free(name);
	}
}

static int print_show(int pid, const char *reply)
{
	struct json_object *obj = json_tokener_parse(reply);
	struct lines l = { 0 };

	if (!obj || json_object_get_type(obj) != json_type_object)
		return fail("process %d sent a snapshot that is not a JSON object", pid);
	flatten(&l, "", obj);
	for (size_t i = 0; i < l.n; i++) {
		printf("%-*s %s\n", (int)l.width, l.v[i].name, l.v[i].value);
		free(l.v[i].name);
		free(l.v[i].value);
	}
	free(l.v);
	json_object_put(obj);
	return 0;
}

/* show --json: the reply as it came, once it is known to be a JSON
 * object, escaped where it is not plain text. */
static int print_json(int pid, const char *reply)
{
	struct json_object *obj = json_tokener_parse(reply);
	bool ok = obj && json_object_get_type(obj) == json_type_object;
	char *c;

	json_object_put(obj);
	if (!ok)
		return fail("process %d sent a snapshot that is not a JSON object", pid);
	c = clean(reply, strlen(reply), true);
	puts(c);
	free(c);
	return 0;
}

static int print_reply(int pid, const char *cmd, const char *reply, bool json)
{
	unsigned long long bytes;
	size_t n = strlen(reply);
	char *c;
	int r;

	if (!strncmp(reply, "error: ", 7)) {
		c = clean_str(reply + 7);
		r = fail("%s", c);
		free(c);
		return r;
	}
	if (!strcmp(cmd, "show"))
		return json ? print_json(pid, reply) : print_show(pid, reply);
	if (!strcmp(cmd, "set") && !strcmp(reply, "ok"))
		return 0;
	if (!strcmp(cmd, "reclaim") && sscanf(reply, "ok reclaimed %llu bytes", &bytes) == 1) {
		if (json)
			printf("{\"reclaimed_bytes\": %llu}\n", bytes);
		else
			printf("reclaimed %llu bytes (%.1f MiB)\n", bytes,
			       (double)bytes / (1 << 20));
		return 0;
	}
	c = clean(reply, n > 200 ? 200 : n, false);
	r = fail("unexpected answer from process %d: %s", pid, c);
	free(c);
	return r;
}

int ctl_main(int argc, char **argv)
{
	char **words = calloc((size_t)argc + 1, sizeof(*words)), *req, *reply = NULL;
	const char *pid_arg = NULL, *cmd;
	int n = 0, pid, fd = -1, status, timeout_s;
	bool json = false;

	if (!words)
		return fail("out of memory");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			ctl_usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!pid_arg)
			pid_arg = argv[i];
		else
			words[n++] = argv[i];
	}
	if (!pid_arg) {
		ctl_usage(stderr);
		return 2;
	}
	if (parse_pid(pid_arg, &pid))
		return fail("invalid PID '%s': expected a process id", pid_arg);
	req = build_request(n, words, &status);
	if (!req)
		return status;
	cmd = n ? words[0] : "show";
	timeout_s = !strcmp(cmd, "reclaim") ? RECLAIM_TIMEOUT_S : ANSWER_TIMEOUT_S;
	status = connect_to(pid, timeout_s, &fd);
	if (!status)
		status = exchange(fd, pid, timeout_s, req, &reply);
	if (!status)
		status = print_reply(pid, cmd, reply, json);
	if (fd >= 0)
		close(fd);
	free(reply);
	free(req);
	free(words);
	return status;
}
