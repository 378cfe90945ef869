/* SPDX-License-Identifier: MIT */
/*
 * exec_probe: what a program started by exec() from another program
 * inherits - whether it runs with libuswap.so mapped, and which of the
 * starter's file descriptors it got.
 *
 *   exec_probe probe [--tag NAME] [--expect-managed 0|1] [--kcmp-parent] [--mb N]
 *
 * looks at itself twice, at the start of main() and after paging --mb MiB
 * of malloc'd memory through a verify pass:
 *   - /proc/self/maps: is a libuswap mapping present (managed=1)?
 *   - LD_PRELOAD: does it name libuswap (ld_preload_uswap=1)?
 *   - /proc/self/fd: how many links of each kind a paging runtime holds
 *     (swap file = an unlinked regular file such as "DIR/#123 (deleted)"
 *     or "uswap-swap-*", anon_inode:[userfaultfd], [io_uring], [eventfd]);
 *   - leaks, exactly: a descriptor that is the same open file as one of
 *     its parent's (kcmp(2) KCMP_FILE against /proc/PPID/fd, with
 *     --kcmp-parent), or the same inode as the starter's swap file
 *     (FORKT_PARENT_SWAP="dev:ino,..." set by `exec_probe parent`).
 * It prints one line, "probe TAG: managed=.. ld_preload_uswap=.. swap=..
 * uffd=.. io_uring=.. eventfd=.. (at start ...) leaks=..", and exits 1 on
 * a leak, on a managed state other than --expect-managed, or, when it is
 * expected unmanaged, on any runtime-like descriptor at all (it has no
 * runtime of its own, so any such descriptor was inherited). The Python
 * driver compares the managed counts with a directly started probe's.
 *
 *   exec_probe parent --probe PATH --how fork-exec,posix-spawn,system,exec
 *                     [--mb N] [--probe-mb N] [--expect-child-managed 0|1]
 *                     [--self-managed 0|1]
 *
 * pages --mb MiB itself (so its swap file, userfaultfd and rings are in
 * use), records its own swap file's identity in FORKT_PARENT_SWAP, then
 * starts the probe each way in turn and requires exit 0 ("exec" replaces
 * the process, so it must come last), and verifies its own memory again.
 */
#include "forkhelp.h"

#include <spawn.h>
#include <sys/syscall.h>

#ifndef KCMP_FILE
#define KCMP_FILE 0
#endif

extern char **environ;

struct fd_scan {
	int count[FD_NR_KINDS];
	int leaks;
};

static const char *tag = "probe";
static int kcmp_warned;

static int parent_swap_match(const struct stat *st)
{
	const char *env = getenv("FORKT_PARENT_SWAP");

	while (env && *env) {
		unsigned long long dev, ino;
		const char *comma;

		if (sscanf(env, "%llu:%llu", &dev, &ino) == 2 && (unsigned long long)st->st_dev == dev &&
		    (unsigned long long)st->st_ino == ino)
			return 1;
		comma = strchr(env, ',');
		env = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* Is @fd the same open file as one of @ppid's descriptors? */
static int shared_with_parent(int fd, pid_t ppid, int *pfd_out)
{
	char path[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)ppid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		int pfd;
		long r;

		if (e->d_name[0] == '.')
			continue;
		pfd = atoi(e->d_name);
		r = syscall(SYS_kcmp, (long)getpid(), (long)ppid, (long)KCMP_FILE, (long)fd, (long)pfd);
		if (r == 0) {
			*pfd_out = pfd;
			closedir(d);
			return 1;
		}
		if (r < 0 && (errno == ENOSYS || errno == EPERM) && !kcmp_warned) {
			kcmp_warned = 1;
			t_log("probe %s: kcmp unavailable (%s); relying on the other checks", tag,
			      strerror(errno));
		}
	}
	closedir(d);
	return 0;
}

static void scan_fds(struct fd_scan *s, int kcmp_parent, const char *when)
{
	static struct t_fd_dir d;
	pid_t ppid = getppid();
	char link[4096];
	int fd;

	memset(s, 0, sizeof(*s));
	t_check(t_fd_dir_open(&d) >= 0, "open /proc/self/fd: %s", strerror(errno));
	while ((fd = t_next_fd(&d, link, sizeof(link))) >= 0) {
		enum t_fd_kind kind = t_classify_fd_link(link);
		struct stat st;
		int pfd;

		s->count[kind]++;
		if (t_raw_fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && parent_swap_match(&st)) {
			t_log("LEAK (%s) probe %s: fd %d -> %s is the starter's swap file", when, tag,
			      fd, link);
			s->leaks++;
		}
		if (kind != FD_OTHER && kcmp_parent && shared_with_parent(fd, ppid, &pfd)) {
			t_log("LEAK (%s) probe %s: fd %d -> %s is the same open file as fd %d of "
			      "its parent (pid %d)", when, tag, fd, link, pfd, (int)ppid);
			s->leaks++;
		}
		if (kind != FD_OTHER)
			t_log("  probe %s (%s): fd %d -> %s [%s]", tag, when, fd, link,
			      t_fd_kind_name[kind]);
	}
	t_fd_dir_close(&d);
}

static uint64_t page_some(unsigned long mb)
{
	size_t len = mb * T_MIB;
	char *p = malloc(len);
	long bad;

	t_check(p, "malloc(%zu)", len);
	t_pattern_fill(p, len, 0xe4ec ^ mb, 0);
	for (int pass = 0; pass < 2; pass++) {
		bad = t_pattern_check(p, len, 0xe4ec ^ mb, 0);
		t_check(bad < 0, "probe %s: byte %ld of its %lu MiB wrong (0x%02x)", tag, bad, mb,
			(unsigned char)p[bad]);
	}
	bad = (long)t_checksum((const uint64_t *)p, len / 8);
	free(p);
	return (uint64_t)bad;
}

static int mode_probe(int argc, char **argv)
{
	int expect = -1, kcmp_parent = 0, fails = 0, managed, ld_uswap;
	unsigned long mb = 48;
	struct fd_scan s0, s1;
	const char *ld;
	uint64_t sum;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--kcmp-parent"))
			kcmp_parent = 1;
		else if (!strcmp(argv[i], "--tag") && i + 1 < argc)
			tag = argv[++i];
		else if (!strcmp(argv[i], "--expect-managed") && i + 1 < argc)
			expect = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mb") && i + 1 < argc)
			mb = strtoul(argv[++i], NULL, 0);
		else
			t_fail("probe: bad argument %s", argv[i]);
	}
	managed = t_maps_contain("libuswap");
	ld = getenv("LD_PRELOAD");
	ld_uswap = ld && strstr(ld, "libuswap");
	scan_fds(&s0, kcmp_parent, "start");
	sum = page_some(mb);
	scan_fds(&s1, kcmp_parent, "end");

	printf("probe %s: managed=%d ld_preload_uswap=%d swap=%d uffd=%d io_uring=%d eventfd=%d "
	       "(at start swap=%d uffd=%d io_uring=%d eventfd=%d) leaks=%d sum=%016llx\n", tag,
	       managed, ld_uswap, s1.count[FD_SWAP], s1.count[FD_UFFD], s1.count[FD_IO_URING],
	       s1.count[FD_EVENTFD], s0.count[FD_SWAP], s0.count[FD_UFFD], s0.count[FD_IO_URING],
	       s0.count[FD_EVENTFD], s0.leaks + s1.leaks, (unsigned long long)sum);
	fflush(stdout);

	if (s0.leaks + s1.leaks) {
		t_log("FAIL: probe %s: %d descriptors leaked from the program that started it", tag,
		      s0.leaks + s1.leaks);
		fails++;
	}
	if (expect >= 0 && managed != expect) {
		t_log("FAIL: probe %s: libuswap is %smapped, expected %s", tag, managed ? "" : "not ",
		      expect ? "a managed program" : "an unmanaged one");
		fails++;
	}
	if (expect == 0) {
		if (ld_uswap) {
			t_log("FAIL: probe %s: LD_PRELOAD still names libuswap: %s", tag, ld);
			fails++;
		}
		for (int k = FD_SWAP; k < FD_NR_KINDS; k++)
			if (s0.count[k] || s1.count[k]) {
				t_log("FAIL: probe %s: unmanaged, yet holds %d %s descriptor(s): "
				      "inherited", tag, s0.count[k] > s1.count[k] ? s0.count[k] : s1.count[k],
				      t_fd_kind_name[k]);
				fails++;
			}
	}
	return fails ? T_EXIT_FAIL : T_EXIT_PASS;
}

/* -- parent -- */

static char *shell_quote(const char *s)
{
	size_t n = 3;
	char *out, *o;

	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	out = o = malloc(n);
	t_check(out, "malloc");
	*o++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else
			*o++ = *p;
	}
	*o++ = '\'';
	*o = 0;
	return out;
}

static void record_own_swap(void)
{
	char env[1024] = "";
	static struct t_fd_dir d;
	int nr[FD_NR_KINDS] = { 0 }, fd;
	char link[4096];

	t_check(t_fd_dir_open(&d) >= 0, "open /proc/self/fd: %s", strerror(errno));
	while ((fd = t_next_fd(&d, link, sizeof(link))) >= 0) {
		struct stat st;

		nr[t_classify_fd_link(link)]++;
		if (t_classify_fd_link(link) == FD_SWAP && t_raw_fstat(fd, &st) == 0 &&
		    strlen(env) + 48 < sizeof(env))
			snprintf(env + strlen(env), sizeof(env) - strlen(env), "%s%llu:%llu",
				 *env ? "," : "", (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino);
	}
	t_fd_dir_close(&d);
	t_log("parent: holds swap=%d uffd=%d io_uring=%d eventfd=%d; its swap file(s): %s",
	      nr[FD_SWAP], nr[FD_UFFD], nr[FD_IO_URING], nr[FD_EVENTFD], *env ? env : "(none)");
	setenv("FORKT_PARENT_SWAP", env, 1);
}

static int mode_parent(int argc, char **argv)
{
	const char *probe = NULL, *how = "fork-exec,posix-spawn,system";
	const char *probe_mb = "48", *expect_child = "1";
	int self_managed = -1, fails = 0;
	unsigned long mb = 64;
	char *hows, *save = NULL;
	size_t len;
	char *mem;
	long bad;

	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			t_fail("parent: %s needs a value", argv[i]);
		if (!strcmp(argv[i], "--probe"))
			probe = argv[++i];
		else if (!strcmp(argv[i], "--how"))
			how = argv[++i];
		else if (!strcmp(argv[i], "--mb"))
			mb = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--probe-mb"))
			probe_mb = argv[++i];
		else if (!strcmp(argv[i], "--expect-child-managed"))
			expect_child = argv[++i];
		else if (!strcmp(argv[i], "--self-managed"))
			self_managed = atoi(argv[++i]);
		else
			t_fail("parent: bad argument %s", argv[i]);
	}
	t_check(probe, "parent: --probe PATH is required");
	if (self_managed >= 0) {
		int m = t_maps_contain("libuswap");

		t_check(m == self_managed, "parent: libuswap is %smapped in the top program, "
			"expected %smanaged", m ? "" : "not ", self_managed ? "" : "un");
	}
	len = mb * T_MIB;
	mem = malloc(len);
	t_check(mem, "malloc(%zu)", len);
	t_pattern_fill(mem, len, 0x9a4e, 0);
	bad = t_pattern_check(mem, len, 0x9a4e, 0);
	t_check(bad < 0, "parent: byte %ld of its own memory wrong", bad);
	record_own_swap();

	hows = strdup(how);
	for (char *h = strtok_r(hows, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
		char *args[] = { (char *)probe, "probe", "--tag", h, "--expect-managed",
				 (char *)expect_child, "--mb", (char *)probe_mb, "--kcmp-parent", NULL };
		char who[64];
		pid_t pid;

		snprintf(who, sizeof(who), "probe started by %s", h);
		fflush(NULL);
		if (!strcmp(h, "fork-exec")) {
			pid = t_sys(fork());
			if (pid == 0) {
				execv(probe, args);
				_exit(127);
			}
			fails += t_expect_child(pid, 0, 80, who);
		} else if (!strcmp(h, "posix-spawn")) {
			int r = posix_spawn(&pid, probe, NULL, NULL, args, environ);

			t_check(r == 0, "posix_spawn(%s): %s", probe, strerror(r));
			fails += t_expect_child(pid, 0, 80, who);
		} else if (!strcmp(h, "system")) {
			char cmd[8192] = "";
			int status;

			for (int k = 0; args[k]; k++) {
				char *q = shell_quote(args[k]);

				snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%s", k ? " " : "", q);
				free(q);
			}
			status = system(cmd);
			if (!(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
				char buf[96];

				t_log("FAIL: %s: %s", who, status == -1 ? strerror(errno)
					: t_status_text(status, buf, sizeof(buf)));
				fails++;
			}
		} else if (!strcmp(h, "exec")) {
			/* The starter is gone after this: nothing to kcmp against. */
			args[8] = NULL;
			bad = t_pattern_check(mem, len, 0x9a4e, 0);
			t_check(bad < 0, "parent: byte %ld of its own memory wrong before exec", bad);
			execv(probe, args);
			t_fail("execv(%s): %s", probe, strerror(errno));
		} else
			t_fail("parent: unknown --how %s", h);
	}
	bad = t_pattern_check(mem, len, 0x9a4e, 0);
	t_check(bad < 0, "parent: byte %ld of its own memory wrong at the end", bad);
	free(mem);
	free(hows);
	t_log("parent: done, %d failure(s)", fails);
	return fails ? T_EXIT_FAIL : T_EXIT_PASS;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "probe"))
		return mode_probe(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "parent"))
		return mode_parent(argc, argv);
	fprintf(stderr, "usage: exec_probe probe|parent ...\n");
	return T_EXIT_FAIL;
}
