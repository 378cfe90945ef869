/*
 * A program that drops its privileges while it has evicted memory (run as
 * root): it fills --mb MiB with a pattern, then changes its credentials the
 * way setpriv does (PR_SET_KEEPCAPS, setresuid, capset to get its
 * effective set back, setresgid, setgroups, capset to drop everything),
 * checks that every thread of the process now has the same credentials,
 * reads its memory back, forks a child that reads it back too and writes
 * more, and prints one line per step. Its output is the same natively.
 * Exit 0 pass, 1 fail, 77 skip (not root).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534

/* glibc exports capset; libcap's header declares it. */
extern int capset(cap_user_header_t hdrp, const cap_user_data_t datap);

static size_t nr_words;

static uint64_t pattern(size_t i, uint64_t seed)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL ^ seed;

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ULL;
}

static size_t bad_words(const uint64_t *p, uint64_t seed)
{
	size_t bad = 0;

	for (size_t i = 0; i < nr_words; i++)
		bad += p[i] != pattern(i, seed);
	return bad;
}

static int caps(uint32_t eff0, uint32_t eff1, int keep_permitted)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective = eff0 & d[0].permitted;
	d[1].effective = eff1 & d[1].permitted;
	if (!keep_permitted)
		d[0].permitted = d[1].permitted = d[0].inheritable = d[1].inheritable = 0;
	/* libc's capset, as libcap-ng (setpriv) calls it. */
	return capset(&h, d);
}

/* Every thread's Uid, Gid, Groups and CapEff lines, which must agree. */
static int threads_agree(void)
{
	char first[512] = "", path[300], buf[4096], mine[512];
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");
	int ok = 1;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		FILE *f;
		size_t n = 0;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		f = fopen(path, "r");
		if (!f)
			return 0;
		mine[0] = 0;
		while (fgets(buf, sizeof(buf), f))
			if (!strncmp(buf, "Uid:", 4) || !strncmp(buf, "Gid:", 4) ||
			    !strncmp(buf, "Groups:", 7) || !strncmp(buf, "CapEff:", 7) ||
			    !strncmp(buf, "CapPrm:", 7))
				n += snprintf(mine + n, sizeof(mine) - n, "%s", buf);
		fclose(f);
		if (!first[0])
			strcpy(first, mine);
		else if (strcmp(first, mine)) {
			fprintf(stderr, "thread %s differs:\n%s\nfrom:\n%s", e->d_name, mine, first);
			ok = 0;
		}
	}
	closedir(d);
	return ok;
}

int main(int argc, char **argv)
{
	size_t mb = argc > 2 && !strcmp(argv[1], "--mb") ? strtoul(argv[2], NULL, 0) : 48;
	gid_t nobody = NOBODY;
	uint64_t *p, *q;
	uid_t r, e, s;
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		printf("skip: needs root\n");
		return 77;
	}
	nr_words = mb << 17;
	p = malloc(nr_words * 8);
	if (!p)
		return 1;
	for (size_t i = 0; i < nr_words; i++)
		p[i] = pattern(i, 1);
	/* setpriv's order: the uid first, keeping the capabilities to go on. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setresuid(NOBODY, NOBODY, NOBODY)) {
		perror("setresuid");
		return 1;
	}
	printf("setresuid: %d\n", (int)getuid());
	if (caps(~0u, ~0u, 1)) {
		perror("capset");
		return 1;
	}
	if (setresgid(NOBODY, NOBODY, NOBODY) || setgroups(1, &nobody)) {
		perror("setresgid/setgroups");
		return 1;
	}
	printf("setresgid, setgroups: %d %d\n", (int)getgid(), (int)getgroups(0, NULL));
	/* Everything dropped: no thread of ours may keep what the program let go. */
	if (caps(0, 0, 0)) {
		perror("capset drop");
		return 1;
	}
	getresuid(&r, &e, &s);
	printf("credentials: uid %d %d %d, threads agree: %s\n", (int)r, (int)e, (int)s,
	       threads_agree() ? "yes" : "NO");
	printf("parent reads back: %zu bad words\n", bad_words(p, 1));
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		size_t bad = bad_words(p, 1);

		q = malloc(nr_words * 8);
		if (!q)
			_exit(1);
		for (size_t i = 0; i < nr_words; i++)
			q[i] = pattern(i, 2);
		bad += bad_words(q, 2) + bad_words(p, 1);
		printf("child (uid %d) reads back: %zu bad words\n", (int)getuid(), bad);
		fflush(stdout);
		_exit(bad != 0);
	}
	if (waitpid(pid, &st, 0) != pid) {
		perror("waitpid");
		return 1;
	}
	printf("child exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	printf("parent again: %zu bad words\n", bad_words(p, 1));
	return !(WIFEXITED(st) && !WEXITSTATUS(st) && !bad_words(p, 1) && threads_agree());
}
