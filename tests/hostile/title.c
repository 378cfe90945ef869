/* title: a program that sets its process title the way nginx, postgres
 * and redis do: it moves environ to the heap and overwrites the original
 * argv+environ area. Knows nothing about uswap; exit 0 pass, 1 fail.
 *
 *   title [--shallow] fork MB       then forks a child that writes and
 *                                    checks MB MiB; the parent waits
 *   title [--shallow] exec MB PROG  then execs "PROG fork MB" (a
 *                                    grandchild of the rewrite)
 *   title [--shallow] server MB exit|flag
 *                                    writes MB MiB, prints "ready", waits
 *                                    for SIGTERM: "exit" calls exit(0) in
 *                                    the handler, "flag" returns from main
 *
 * --plain leaves the title alone (the same program, for other tests).
 * --shallow copies only environ's pointer array, not the strings, so the
 * program's own environ then holds empty strings (as after a title that
 * covers the whole area): a child exec'd from it inherits nothing.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void set_title(char **argv, int argc, int shallow)
{
	char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	char **env;
	int n = 0;

	while (environ[n])
		n++;
	env = malloc((size_t)(n + 1) * sizeof(*env));
	for (int i = 0; i < n; i++) {
		if (environ[i] == end) /* the area runs on contiguously */
			end = environ[i] + strlen(environ[i]) + 1;
		env[i] = shallow ? environ[i] : strdup(environ[i]);
	}
	env[n] = NULL;
	environ = env;
	memset(start, 0, (size_t)(end - start));
	snprintf(start, (size_t)(end - start), "title: master process");
}

static int touch(size_t mb)
{
	size_t n = mb << 20;
	unsigned char *p = malloc(n);

	if (!p)
		return 1;
	for (size_t i = 0; i < n; i += 4096)
		memset(p + i, (int)(i / 4096 * 7 + 1), 4096);
	for (size_t i = 0; i < n; i += 4096)
		for (size_t j = 0; j < 4096; j += 512)
			if (p[i + j] != (unsigned char)(i / 4096 * 7 + 1)) {
				fprintf(stderr, "title: page %zu reads %u\n", i / 4096, p[i + j]);
				return 1;
			}
	free(p);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term_exit(int sig)
{
	(void)sig;
	exit(0);
}

static void on_term_flag(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	int shallow = argc > 1 && !strcmp(argv[1], "--shallow");
	int plain = argc > 1 && !strcmp(argv[1], "--plain");
	int a = 1 + shallow + plain, st;
	char mode[16], prog[4096], how[16] = "";
	size_t mb;
	pid_t pid;

	if (argc < a + 2) {
		fprintf(stderr,
			"usage: title [--shallow|--plain] fork|exec|server MB [PROG|exit|flag]\n");
		return 2;
	}
	/* The title overwrites argv: keep what we need first. */
	snprintf(mode, sizeof(mode), "%s", argv[a]);
	mb = strtoul(argv[a + 1], NULL, 10);
	if (argc > a + 2)
		snprintf(argc > a + 2 && !strcmp(mode, "exec") ? prog : how,
			 !strcmp(mode, "exec") ? sizeof(prog) : sizeof(how), "%s", argv[a + 2]);
	if (!plain)
		set_title(argv, argc, shallow);

	if (!strcmp(mode, "fork")) {
		pid = fork();
		if (pid == 0)
			_exit(touch(mb));
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			return 1;
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "title: child failed (status %#x)\n", st);
			return 1;
		}
		printf("fork ok\n");
		return 0;
	}
	if (!strcmp(mode, "exec")) {
		char mbs[32];

		snprintf(mbs, sizeof(mbs), "%zu", mb);
		execl(prog, prog, "fork", mbs, (char *)NULL);
		perror("title: exec");
		return 1;
	}
	if (!strcmp(mode, "server")) {
		struct sigaction sa = { 0 };

		sa.sa_handler = !strcmp(how, "exit") ? on_term_exit : on_term_flag;
		sigaction(SIGTERM, &sa, NULL);
		if (touch(mb))
			return 1;
		printf("ready\n");
		fflush(stdout);
		while (!stop)
			pause();
		printf("stopping\n");
		return 0;
	}
	fprintf(stderr, "title: unknown mode %s\n", mode);
	return 2;
}
