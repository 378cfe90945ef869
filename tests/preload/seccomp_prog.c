/*
 * A program that fences itself in with seccomp after it started (with
 * SECCOMP_FILTER_FLAG_TSYNC, so the filter also holds on threads it did not
 * start), with evicted memory: it fills 48 MiB with a pattern, installs the
 * filter, then reads the memory back.
 *   uring      io_uring_enter fails with EPERM
 *   ioctl      ioctl fails with EPERM
 *   uffd-fork  userfaultfd kills the process; then it forks a child that
 *              reads the memory back and writes more
 * Natively each prints its counts and exits 0; under a pager that needs
 * what the filter refuses, the first two cannot be paged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MB 48

static size_t nr_words = (size_t)MB << 17;

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

static int refuse(long nr, uint32_t action)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	uint64_t *p = malloc(nr_words * 8);
	int r;

	if (!p)
		return 1;
	for (size_t i = 0; i < nr_words; i++)
		p[i] = pattern(i, 1);
	if (!strcmp(what, "uring"))
		r = refuse(SYS_io_uring_enter, SECCOMP_RET_ERRNO | EPERM);
	else if (!strcmp(what, "ioctl"))
		r = refuse(SYS_ioctl, SECCOMP_RET_ERRNO | EPERM);
	else if (!strcmp(what, "uffd-fork"))
		r = refuse(SYS_userfaultfd, SECCOMP_RET_KILL_PROCESS);
	else {
		fprintf(stderr, "usage: seccomp_prog uring|ioctl|uffd-fork\n");
		return 2;
	}
	if (r) {
		perror("seccomp");
		return 1;
	}
	printf("filter installed\n");
	fflush(stdout);
	if (!strcmp(what, "uffd-fork")) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			uint64_t *q = malloc(nr_words * 8);
			size_t bad = bad_words(p, 1);

			if (!q)
				_exit(1);
			for (size_t i = 0; i < nr_words; i++)
				q[i] = pattern(i, 2);
			bad += bad_words(q, 2);
			printf("child: %zu bad words\n", bad);
			fflush(stdout);
			_exit(bad != 0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid) {
			perror("fork/waitpid");
			return 1;
		}
		printf("child exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			return 1;
	}
	printf("parent: %zu bad words\n", bad_words(p, 1));
	return 0;
}
