/*
 * fork_stdio: FILEs of fopen (in the managed heap) that were evicted when
 * the program forks must reach the child intact. glibc re-initialises
 * every FILE's lock in the child before any atfork handler runs; a FILE
 * missing from the child's unregistered copy read zeros there and the
 * child crashed in fprintf. Exit 0 pass, 1 setup error, 2 wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NR_FILES 64

int main(void)
{
	char dir[] = "/tmp/fork_stdio.XXXXXX", path[128], want[64], a[64], b[64];
	size_t n = (size_t)96 << 20;
	FILE *f[NR_FILES];
	char *big;
	pid_t c;
	int st;

	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	for (int i = 0; i < NR_FILES; i++) {
		snprintf(path, sizeof(path), "%s/%d", dir, i);
		f[i] = fopen(path, "w+");
		if (!f[i])
			return perror("fopen"), 1;
		unlink(path);
		fprintf(f[i], "parent %d\n", i);
		fflush(f[i]);
	}
	/* Three passes over 96 MiB: under a small limit the FILEs go out. */
	big = malloc(n);
	if (!big)
		return 1;
	memset(big, 7, n);
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < n; i += 4096)
			big[i]++;
	c = fork();
	if (c < 0)
		return perror("fork"), 1;
	if (c == 0) {
		for (int i = 0; i < NR_FILES; i++)
			if (fprintf(f[i], "child %d\n", i) < 0 || fflush(f[i]))
				_exit(3);
		_exit(0);
	}
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st)) {
		printf("fork_stdio: child failed (status %#x)\n", st);
		return 2;
	}
	for (int i = 0; i < NR_FILES; i++) {
		rewind(f[i]);
		if (!fgets(a, sizeof(a), f[i]) || !fgets(b, sizeof(b), f[i])) {
			printf("fork_stdio: file %d is short\n", i);
			return 2;
		}
		snprintf(want, sizeof(want), "parent %d\nchild %d\n", i, i);
		if (strlen(a) + strlen(b) != strlen(want) || strncmp(a, want, strlen(a)) ||
		    strcmp(b, want + strlen(a))) {
			printf("fork_stdio: file %d holds %s%s", i, a, b);
			return 2;
		}
		fclose(f[i]);
	}
	rmdir(dir);
	printf("fork_stdio: ok\n");
	return 0;
}
