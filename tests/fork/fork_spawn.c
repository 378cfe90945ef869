/* SPDX-License-Identifier: MIT */
/*
 * fork_spawn: vfork()+execve(), posix_spawn(), system() and popen() whose
 * path, argv, environment and command strings all live in memory that has
 * gone cold (mincore() says non-resident).
 *
 * An ordinary program. Everything the kernel or the C library reads to
 * start the new program sits in one malloc'd "cold block": the strings
 * (several thousand bytes each, straddling page boundaries), the argv and
 * envp pointer arrays, a copy of every environment string we inherited
 * (so LD_PRELOAD and the like come from cold memory too), the system() and
 * popen() commands, and for those two an environment variable installed
 * with putenv() (which does not copy). Before every call a churn area of
 * 1.25x the limit is swept until at least half of the used block is
 * non-resident (with --expect-cold; natively nothing ever is).
 *
 * The started program is /bin/sh printing its arguments and variables;
 * what it prints must be exactly the strings, regenerated independently of
 * the cold copies. The churn pages are checked on every sweep.
 *
 *   fork_spawn [--limit SIZE] [--expect-cold]
 */
#include "forkhelp.h"

#include <spawn.h>

#define BLOCK_LEN (256UL * 1024)
#define MAX_SWEEPS 12

extern char **environ;

static int expect_cold;
static char *block;	   /* the cold block (malloc'd) */
static size_t block_top;
/* 1.25x the limit (mmap'd); a pass that finds a churn page changed fails. */
static struct t_churn churn = { .check_each_pass = 1, .lock = PTHREAD_MUTEX_INITIALIZER };
static int fails;

static void make_cold(const char *what)
{
	size_t nr = t_nr_pages(block, block_top);
	int sweeps;
	long cold = t_churn_until_cold(&churn, block, block_top, MAX_SWEEPS, !expect_cold, &sweeps);

	t_check(cold >= 0, "mincore: %s", strerror(errno));
	t_log("%-14s cold block: %ld of %zu pages non-resident after %d sweeps of %zu MiB", what,
	      cold, nr, sweeps, churn.len / T_MIB);
	if (expect_cold && (size_t)cold * 2 < nr)
		t_fail("%s: the cold block did not go cold (%ld of %zu pages non-resident)", what,
		       cold, nr);
}

/* Text for shell-safe strings: [a-z0-9], stream @seed. */
static void gen_text(char *out, size_t len, uint64_t seed)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[t_mix64(seed * 0x10001 + i) % 36];
	out[len] = 0;
}

/* Room in the cold block: strings start 100 bytes before a page end, so
 * each one straddles at least one page boundary. */
static char *cold_alloc(size_t len, size_t align)
{
	char *p;

	block_top = (block_top + align - 1) & ~(align - 1);
	t_check(block_top + len <= BLOCK_LEN, "cold block full");
	p = block + block_top;
	block_top += len;
	return p;
}

static char *cold_str(const char *s)
{
	size_t len = strlen(s) + 1;
	size_t page_left = T_PAGE_SIZE - ((uintptr_t)(block + block_top) & (T_PAGE_SIZE - 1));
	char *p;

	if (len > 200 && page_left > 100)
		block_top += page_left - 100; /* straddle the next boundary */
	p = cold_alloc(len, 1);
	memcpy(p, s, len);
	return p;
}

static char *cold_text(size_t len, uint64_t seed, const char *prefix)
{
	size_t plen = strlen(prefix);
	char *tmp = malloc(plen + len + 1);
	char *p;

	t_check(tmp, "malloc");
	memcpy(tmp, prefix, plen);
	gen_text(tmp + plen, len, seed);
	p = cold_str(tmp);
	free(tmp);
	return p;
}

/* Expected output: the texts of @seeds/@lens, one per line, regenerated. */
static char *expected_lines(const uint64_t *seeds, const size_t *lens, int n, size_t *out_len)
{
	size_t total = 0, off = 0;
	char *out;

	for (int i = 0; i < n; i++)
		total += lens[i] + 1;
	out = malloc(total + 1);
	t_check(out, "malloc");
	for (int i = 0; i < n; i++) {
		gen_text(out + off, lens[i], seeds[i]);
		off += lens[i];
		out[off++] = '\n';
	}
	*out_len = total;
	return out;
}

static char *read_all(int fd, size_t *len)
{
	size_t cap = 65536, got = 0;
	char *buf = malloc(cap);

	t_check(buf, "malloc");
	for (;;) {
		ssize_t n;

		if (got == cap) {
			buf = realloc(buf, cap *= 2);
			t_check(buf, "realloc");
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		t_check(n >= 0, "read: %s", strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return buf;
}

static void compare(const char *what, const char *got, size_t got_len, const char *want,
		    size_t want_len)
{
	size_t i;

	for (i = 0; i < got_len && i < want_len && got[i] == want[i]; i++)
		;
	if (i == got_len && i == want_len) {
		t_log("%-14s ok: %zu bytes of output match", what, got_len);
		return;
	}
	t_log("FAIL: %s: output differs at byte %zu (got %zu bytes, expected %zu): "
	      "got 0x%02x, expected 0x%02x", what, i, got_len, want_len,
	      i < got_len ? (unsigned char)got[i] : 0, i < want_len ? (unsigned char)want[i] : 0);
	fails++;
}

static void check_status(const char *what, int status)
{
	char buf[96];

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	t_log("FAIL: %s: the started program ended with %s", what,
	      t_status_text(status, buf, sizeof(buf)));
	fails++;
}

/* Texts and their seeds. */
enum { ARG1, ARG2, VAR_A, VAR_B, VAR_C, LIT_SYS, LIT_POPEN, NR_TEXTS };
static const size_t text_len[NR_TEXTS] = { 5000, 3000, 6000, 2500, 4000, 3000, 2000 };
static uint64_t text_seed(int i)
{
	return 0x5eed0000ULL + (uint64_t)i * 7919;
}

static char **cold_argv, **cold_envp, *cold_path;

static void build_exec_strings(void)
{
	static const char script[] =
		"printf '%s\\n' \"$1\" \"$2\" \"$FORKT_A\" \"$FORKT_B\"";
	size_t nenv = 0, k = 0;

	while (environ[nenv])
		nenv++;
	cold_argv = (char **)cold_alloc(8 * sizeof(char *), 16);
	cold_envp = (char **)cold_alloc((nenv + 3) * sizeof(char *), 16);
	cold_path = cold_str("/bin/sh");
	cold_argv[0] = cold_path;
	cold_argv[1] = cold_str("-c");
	cold_argv[2] = cold_str(script);
	cold_argv[3] = cold_str("fork_spawn_sh");
	cold_argv[4] = cold_text(text_len[ARG1], text_seed(ARG1), "");
	cold_argv[5] = cold_text(text_len[ARG2], text_seed(ARG2), "");
	cold_argv[6] = NULL;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "FORKT_", 6))
			cold_envp[k++] = cold_str(environ[i]);
	cold_envp[k++] = cold_text(text_len[VAR_A], text_seed(VAR_A), "FORKT_A=");
	cold_envp[k++] = cold_text(text_len[VAR_B], text_seed(VAR_B), "FORKT_B=");
	cold_envp[k] = NULL;
}

static void check_exec_output(const char *what, int fd, pid_t pid)
{
	static const int which[] = { ARG1, ARG2, VAR_A, VAR_B };
	uint64_t seeds[4];
	size_t lens[4], got_len, want_len;
	char *got, *want;

	for (int i = 0; i < 4; i++) {
		seeds[i] = text_seed(which[i]);
		lens[i] = text_len[which[i]];
	}
	got = read_all(fd, &got_len);
	close(fd);
	check_status(what, t_wait_child(pid, 60, what));
	want = expected_lines(seeds, lens, 4, &want_len);
	compare(what, got, got_len, want, want_len);
	free(got);
	free(want);
}

static void test_vfork(void)
{
	int fds[2];
	pid_t pid;

	make_cold("vfork+execve");
	t_sys(pipe2(fds, O_CLOEXEC));
	pid = vfork();
	if (pid == 0) {
		dup2(fds[1], 1);
		execve(cold_path, cold_argv, cold_envp);
		_exit(127);
	}
	t_check(pid > 0, "vfork: %s", strerror(errno));
	close(fds[1]);
	check_exec_output("vfork+execve", fds[0], pid);
}

static void test_posix_spawn(void)
{
	posix_spawn_file_actions_t fa;
	int fds[2], r;
	pid_t pid;

	t_sys(pipe2(fds, O_CLOEXEC));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	make_cold("posix_spawn");
	r = posix_spawn(&pid, cold_path, &fa, NULL, cold_argv, cold_envp);
	t_check(r == 0, "posix_spawn: %s", strerror(r));
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	check_exec_output("posix_spawn", fds[0], pid);
}

/* system() and popen(): the command string and a putenv()'d variable are
 * cold; so is the environ array glibc keeps in malloc'd memory. */
static char *cold_var_c, *cold_cmd_sys, *cold_cmd_popen;
static char out_path[4096];

static void build_shell_strings(void)
{
	const char *tmp = getenv("TMPDIR");
	char *lit, *cmd;
	size_t cap = 16384;

	snprintf(out_path, sizeof(out_path), "%s/fork_spawn.%d.out", tmp && *tmp ? tmp : "/tmp",
		 (int)getpid());
	cold_var_c = cold_text(text_len[VAR_C], text_seed(VAR_C), "FORKT_C=");
	cmd = malloc(cap);
	lit = malloc(cap);
	t_check(cmd && lit, "malloc");
	gen_text(lit, text_len[LIT_SYS], text_seed(LIT_SYS));
	snprintf(cmd, cap, "printf '%%s\\n' \"$FORKT_C\" '%s' > '%s'", lit, out_path);
	cold_cmd_sys = cold_str(cmd);
	gen_text(lit, text_len[LIT_POPEN], text_seed(LIT_POPEN));
	snprintf(cmd, cap, "printf '%%s\\n' \"$FORKT_C\" '%s'", lit);
	cold_cmd_popen = cold_str(cmd);
	free(cmd);
	free(lit);
}

static void test_system(void)
{
	uint64_t seeds[2] = { text_seed(VAR_C), text_seed(LIT_SYS) };
	size_t lens[2] = { text_len[VAR_C], text_len[LIT_SYS] }, got_len, want_len;
	char *got, *want;
	int status, fd;

	unlink(out_path);
	make_cold("system");
	status = system(cold_cmd_sys);
	t_check(status != -1, "system: %s", strerror(errno));
	check_status("system", status);
	fd = open(out_path, O_RDONLY | O_CLOEXEC);
	t_check(fd >= 0, "system: the command did not write %s: %s", out_path, strerror(errno));
	got = read_all(fd, &got_len);
	close(fd);
	unlink(out_path);
	want = expected_lines(seeds, lens, 2, &want_len);
	compare("system", got, got_len, want, want_len);
	free(got);
	free(want);
}

static void test_popen(void)
{
	uint64_t seeds[2] = { text_seed(VAR_C), text_seed(LIT_POPEN) };
	size_t lens[2] = { text_len[VAR_C], text_len[LIT_POPEN] }, want_len, got_len = 0;
	char *got = malloc(65536), *want;
	FILE *f;
	size_t n;
	int status;

	t_check(got, "malloc");
	make_cold("popen");
	f = popen(cold_cmd_popen, "r");
	t_check(f, "popen: %s", strerror(errno));
	while ((n = fread(got + got_len, 1, 65536 - got_len, f)) > 0)
		got_len += n;
	status = pclose(f);
	t_check(status != -1, "pclose: %s", strerror(errno));
	check_status("popen", status);
	want = expected_lines(seeds, lens, 2, &want_len);
	compare("popen", got, got_len, want, want_len);
	free(got);
	free(want);
}

int main(int argc, char **argv)
{
	const char *limit_arg = NULL;
	uint64_t limit;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--expect-cold"))
			expect_cold = 1;
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			limit_arg = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--limit SIZE] [--expect-cold]\n", argv[0]);
			return T_EXIT_FAIL;
		}
	}
	limit = t_limit_bytes(limit_arg, 32 * T_MIB);
	t_churn_map(&churn, limit, 125);
	block = malloc(BLOCK_LEN);
	t_check(block, "malloc");
	memset(block, 0x5a, BLOCK_LEN); /* dirty: the block must be written out */
	block_top = T_PAGE_SIZE - ((uintptr_t)block & (T_PAGE_SIZE - 1));

	build_exec_strings();
	build_shell_strings();
	t_log("cold block %zu KiB (%zu KiB used), churn %zu MiB", BLOCK_LEN / 1024, block_top / 1024,
	      churn.len / T_MIB);

	test_vfork();
	test_posix_spawn();
	t_check(putenv(cold_var_c) == 0, "putenv: %s", strerror(errno));
	test_system();
	test_popen();
	unsetenv("FORKT_C");

	t_check(!fails, "%d of 4 ways to start a program failed", fails);
	t_log("fork_spawn: all 4 ways to start a program read their cold strings intact");
	return T_EXIT_PASS;
}
