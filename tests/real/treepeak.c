// SPDX-License-Identifier: MIT
/* treepeak: run a command and report the peak RSS of the largest process of
 * its tree, and its wait status.
 *
 *   treepeak OUTFILE -- COMMAND [ARGS...]
 *
 * The command starts with default dispositions for the common signals and
 * none blocked. Writes "status <raw wait status>\nmaxrss_kib <n>\norphans <n>\n" to OUTFILE
 * and exits 0 (the command's status is in the file, signals included).
 *
 * Why a helper: a child started by a big process (the Python driver) does
 * not start from a clean slate. Python's subprocess uses vfork(), and on exec
 * Linux folds the high-water RSS of the mm being left (the parent's, under
 * vfork; a copy of it under fork) into the new program's ru_maxrss, so every
 * measured peak would be at least the driver's own. This helper is small,
 * so what it forks starts near zero.
 *
 * What is measured: wait4() on a child returns getrusage(RUSAGE_BOTH) of it,
 * whose ru_maxrss is the largest of the child's own peak and those of every
 * descendant it reaped. The helper is a child subreaper, so descendants
 * orphaned before they exit are reparented to it and reaped here too. The
 * result is max over the processes of the tree, which is the quantity that
 * matters for uswap: each managed process has the limit to itself.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Kill the descendants still reparented to us (listed in our children files). */
static void kill_children(void)
{
	char path[300], buf[4096];
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		FILE *f;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
			kill((pid_t)atoi(tok), SIGKILL);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	struct timespec t0 = { 0 }, now;
	long maxrss = 0;
	int status, main_status = 0, orphans = 0, argi = 2;
	pid_t pid, w;
	bool main_done = false;
	FILE *out;

	if (argc < 4 || strcmp(argv[2], "--")) {
		fprintf(stderr, "usage: treepeak OUTFILE -- COMMAND [ARGS...]\n");
		return 2;
	}
	argi = 3;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		perror("treepeak: PR_SET_CHILD_SUBREAPER");
	pid = fork();
	if (pid < 0) {
		perror("treepeak: fork");
		return 2;
	}
	if (pid == 0) {
		/* A clean signal state, whoever started us: a shell's background
		 * job ignores SIGINT, and Python, finding it ignored, would not
		 * raise KeyboardInterrupt (CPython's own tests check that). */
		static const int sigs[] = { SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGHUP,
					    SIGXFSZ, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD };
		sigset_t none;

		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvp(argv[argi], argv + argi);
		fprintf(stderr, "treepeak: cannot run %s: %s\n", argv[argi], strerror(errno));
		_exit(127);
	}
	for (;;) {
		struct rusage ru;

		/* Once the command is done, give leftover descendants 10 s. */
		w = wait4(-1, &status, main_done ? WNOHANG : 0, &ru);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: the whole tree is gone */
		}
		if (w == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t0.tv_sec > 10) {
				kill_children();
				main_done = false; /* block: they die now */
				continue;
			}
			usleep(20000);
			continue;
		}
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
		if (w == pid) {
			main_status = status;
			main_done = true;
			clock_gettime(CLOCK_MONOTONIC, &t0);
		} else {
			orphans++;
		}
	}
	out = fopen(argv[1], "w");
	if (!out) {
		perror("treepeak: OUTFILE");
		return 2;
	}
	fprintf(out, "status %d\nmaxrss_kib %ld\norphans %d\n", main_status, maxrss, orphans);
	return fclose(out) ? 2 : 0;
}
