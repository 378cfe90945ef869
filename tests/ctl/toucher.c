/* The program uswap ctl tests control: it keeps touching a fixed set of
 * pages, so its resident size follows the limit it is given at run time.
 *
 *   toucher MIB SECONDS PROGRESS_FILE [fork|orphan]
 *
 * Each pass writes every page of MIB MiB (malloc'd) and checks what the
 * previous pass wrote there, then records the pass count in PROGRESS_FILE
 * ("PASSES running" or "PASSES paused"). SIGUSR1 pauses the program,
 * SIGUSR2 resumes it (the test reclaims from an idle program to see its
 * resident size drop). Exits 0
 * after SECONDS or on SIGTERM, 1 if a page lost its content.
 *
 * fork: after the first pass the program forks; the child goes on touching
 * its copy and records its passes in PROGRESS_FILE.child, the parent waits
 * for it at the end. orphan: the same, but the parent exits as soon as the
 * child has started its passes, leaving the child running. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static volatile sig_atomic_t paused, stop;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		paused = 1;
	else if (sig == SIGUSR2)
		paused = 0;
	else
		stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(const char *path, unsigned long passes, int is_paused)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%lu %s\n", passes, is_paused ? "paused" : "running");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0) {
		if (write(fd, buf, (size_t)n) != n)
			perror("progress");
		close(fd);
	}
}

/* Fork; the child's progress goes to PATH.child. Returns the child's pid
 * in the parent, 0 in the child (with *path switched), -1 on failure. */
static pid_t spawn(const char *path, char **child_path)
{
	static char buf[4096];
	pid_t pid;

	snprintf(buf, sizeof(buf), "%s.child", path);
	pid = fork();
	if (pid < 0)
		perror("fork");
	if (pid == 0)
		*child_path = buf;
	return pid;
}

/* orphan: return once the child has recorded a pass. */
static int wait_started(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s.child", path);
	while (access(buf, F_OK))
		usleep(10000);
	return 0;
}

int main(int argc, char **argv)
{
	size_t npages, i;
	unsigned long pass = 0;
	double end;
	uint64_t *mem;
	struct sigaction sa = { .sa_handler = on_signal };
	const char *fork_mode = argc > 4 ? argv[4] : NULL;
	char *progress_path = argv[3];
	pid_t child = 0;
	bool forked = false;

	if (argc != 4 && !(argc == 5 && (!strcmp(argv[4], "fork") || !strcmp(argv[4], "orphan")))) {
		fprintf(stderr, "usage: toucher MIB SECONDS PROGRESS_FILE [fork|orphan]\n");
		return 2;
	}
	npages = (size_t)atol(argv[1]) << 20 >> 12;
	end = now() + atof(argv[2]);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	mem = malloc(npages * PAGE);
	if (!mem) {
		perror("malloc");
		return 2;
	}
	while (!stop && now() < end) {
		if (pass == 1 && fork_mode && !forked) {
			forked = true;
			child = spawn(argv[3], &progress_path);
			if (child < 0)
				return 2;
			if (child > 0 && !strcmp(fork_mode, "orphan"))
				return wait_started(progress_path);
		}
		for (i = 0; i < npages; i++) {
			uint64_t *p = mem + i * (PAGE / sizeof(*mem));

			/* A pass under a small limit takes seconds: pause within it. */
			if (paused && !(i & 63)) {
				progress(progress_path, pass, 1);
				while (paused && !stop)
					usleep(10000);
				progress(progress_path, pass, 0);
			}
			if (stop)
				break;

			/* Page i holds (pass << 32 | i) in its first and last word. */
			if (pass && (p[0] != ((pass - 1) << 32 | i) || p[PAGE / 8 - 1] != p[0])) {
				fprintf(stderr, "toucher: page %zu lost its content in pass %lu\n", i, pass);
				return 1;
			}
			p[0] = p[PAGE / 8 - 1] = (uint64_t)pass << 32 | i;
		}
		pass++;
		progress(progress_path, pass, 0);
	}
	printf("toucher%s: %lu passes\n", forked && child == 0 ? " child" : "", pass);
	if (child > 0) {
		int status;

		kill(child, SIGTERM);
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "toucher: the child failed (status %#x)\n", status);
			return 1;
		}
	}
	return 0;
}
