/*
 * The stats file, written at exit: the counters (include/uswap/stats.h),
 * the run and its stall, the per-region and per-site attribution, the
 * miss-ratio curve, and the sums of the managed descendants that exited
 * before the top process. Raw syscalls only: it runs from exit paths.
 */
#define _GNU_SOURCE
#include "statsfile.h"

#include "autolimit.h"
#include "balance.h"
#include "config.h"
#include "jbuf.h"
#include "log.h"
#include "mrc.h"
#include "origin.h"
#include "outfile.h"
#include "pager.h"
#include "psi.h"
#include "region.h"
#include "sites.h"
#include "stats.h"
#include "trace.h"
#include "track.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The descendants' records: one line per process, "name value" pairs,
 * appended to "records" in a private directory (mode 0700) the top process
 * makes next to the stats file at start-up, "<stats>.children-XXXXXX".
 * Forked children know it from memory, exec'd ones from
 * USWAP_CHILDREN_DIR (preload/exec.c passes it on). Nobody else can plant
 * a file or a link there, as anyone could at a fixed name in /tmp.
 */
static bool is_top(void)
{
	return config.stats_pid < 0 || config.stats_pid == getpid();
}

static int records_path(char *buf, size_t len)
{
	if (!config.children_dir)
		return -1;
	return snprintf(buf, len, "%s/records", config.children_dir) < (int)len ? 0 : -1;
}

/* A directory given to an exec'd top process: ours if it is the one for
 * this stats file, a directory (not a link) of our own that no one else
 * may enter. */
static bool dir_is_ours(const char *dir)
{
	size_t n = strlen(config.stats_path);
	struct stat st;

	return !strncmp(dir, config.stats_path, n) && !strncmp(dir + n, ".children-", 10) &&
	       !syscall(SYS_newfstatat, AT_FDCWD, dir, &st, AT_SYMLINK_NOFOLLOW) &&
	       S_ISDIR(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 077);
}

int statsfile_init(char *err, size_t errlen)
{
	char prefix[4096], dir[4096];
	int r;

	/* Only a top process the CLI named has descendants that report to it. */
	if (!config.stats_path || config.stats_pid != getpid())
		return 0;
	if (config.children_dir && dir_is_ours(config.children_dir))
		return 0; /* an exec'd top process: the same tree */
	snprintf(prefix, sizeof(prefix), "%s.children-", config.stats_path);
	r = outfile_mkdtemp(prefix, dir, sizeof(dir));
	if (r) {
		log_line("warning: cannot create a directory for the descendants' counters "
			 "%sXXXXXX: %s; the stats file will not count them",
			 prefix, strerror(-r));
		return config_set(CONFIG_CHILDREN_DIR, "", err, errlen);
	}
	return config_set(CONFIG_CHILDREN_DIR, dir, err, errlen);
}

static int append_child(void)
{
	char buf[8192], name[4096];
	int n, fd;
	ssize_t w;

	if (records_path(name, sizeof(name)))
		return -1;
	n = snprintf(buf, sizeof(buf), "pid %d", (int)getpid());
	for (size_t i = 0; i < NR_STATS; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %s %llu", stats_name((unsigned)i),
			      (unsigned long long)stats_value((unsigned)i));
	buf[n++] = '\n';
	fd = (int)syscall(SYS_openat, AT_FDCWD, name,
			  O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	w = syscall(SYS_write, fd, buf, (size_t)n); /* one append: lines never interleave */
	syscall(SYS_close, fd);
	return w == n ? 0 : -1;
}

/* Sum the lines descendants appended, then remove the records and their
 * directory. */
static uint64_t sum_children(uint64_t *sum)
{
	static char buf[1 << 20];
	char name[4096], *line, *save = NULL;
	uint64_t procs = 0;
	ssize_t n, got = 0;
	int fd;

	if (records_path(name, sizeof(name)))
		return 0;
	fd = (int)syscall(SYS_openat, AT_FDCWD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		while (got < (ssize_t)sizeof(buf) - 1 &&
		       (n = syscall(SYS_read, fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
			got += n;
		syscall(SYS_close, fd);
		syscall(SYS_unlinkat, AT_FDCWD, name, 0);
	}
	syscall(SYS_unlinkat, AT_FDCWD, config.children_dir, AT_REMOVEDIR);
	buf[got] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *s2 = NULL, *key = NULL;

		procs++;
		for (tok = strtok_r(line, " ", &s2); tok; tok = strtok_r(NULL, " ", &s2)) {
			if (!key) {
				key = tok;
				continue;
			}
			for (size_t i = 0; i < NR_STATS; i++)
				if (!strcmp(key, stats_name((unsigned)i))) {
					/* peaks are maxima, everything else adds up */
					uint64_t v = strtoull(tok, NULL, 10);

					if (strstr(key, "peak"))
						sum[i] = v > sum[i] ? v : sum[i];
					else
						sum[i] += v;
				}
			key = NULL;
		}
	}
	return procs;
}

static void run_json(struct jbuf *j)
{
	char cmd[4096];
	struct psi_times p;
	ssize_t n = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = sys_read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
	}
	for (ssize_t i = 0; i < n - 1; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	cmd[n > 0 ? n : 0] = 0;
	psi_read(&p);
	jbuf_printf(j, "\"run\": {\"pid\": %d, \"command\": ", (int)getpid());
	jbuf_str(j, cmd);
	jbuf_printf(j, ", \"duration_s\": %.3f, \"interval_ms\": %.0f, \"trace\": ",
		    (double)(p.t - psi_start_time()) / 1e9, (double)config.interval_ns / 1e6);
	if (trace_path())
		jbuf_str(j, trace_path());
	else
		jbuf_printf(j, "null");
	jbuf_printf(j, ", \"limit_mode\": \"%s\"}, \"psi\": ", autolimit_on() ? "auto" : "fixed");
	psi_json(j, &p);
	jbuf_printf(j, ", \"threads\": ");
	psi_threads_json(j, &p);
	autolimit_json(j);
}

static void summary(char *buf, size_t len)
{
	struct psi_times p;
	struct psi_pct m;
	int n;

	psi_read(&p);
	psi_pct(&p, PSI_MEMORY, &m);
	n = snprintf(buf, len, "memory stall some %.1f%% full %.1f%%", m.some, m.full);
	if (n > 0 && (size_t)n < len)
		autolimit_summary(buf + n, len - (size_t)n);
}

static bool origin_mapped(uint32_t o)
{
	region_for_each(r)
		if (r->origin == o)
			return true;
	return false;
}

static int write_json(const char *path, uint64_t heap_bytes)
{
	uint64_t sum[NR_STATS] = { 0 }, procs = sum_children(sum);
	struct jbuf j = { 0 };
	char tmp[4096];
	int fd, r = -1;

	/* The limit in force: as given, unless auto or ctl moved it. */
	jbuf_printf(&j, "{\"schema_version\": %d, \"limit_bytes\": %llu, ", USWAP_STATS_VERSION,
		    (unsigned long long)(autolimit_on() ? pager.limit_pages << PAGE_SHIFT :
							  autolimit_given_bytes()));
	stats_counters_json(&j);
	if (balance_swappiness_setting() == SWAPPINESS_AUTO)
		jbuf_printf(&j, ", \"swappiness\": \"auto\"");
	else
		jbuf_printf(&j, ", \"swappiness\": %d", balance_swappiness_setting());
	jbuf_printf(&j, ", \"track\": \"%s\"", track_mode == TRACK_UFFD ? "uffd" : "mprotect");
	/* Refault distances in pages; bucket 0 = 0, bucket i = [2^(i-1), 2^i). */
	jbuf_printf(&j, ", \"refault_distance\": {\"anon\": ");
	jbuf_u64s(&j, stats_refault_hist[0], REFAULT_BUCKETS);
	jbuf_printf(&j, ", \"file\": ");
	jbuf_u64s(&j, stats_refault_hist[1], REFAULT_BUCKETS);
	jbuf_printf(&j, "}, \"eviction_distance\": ");
	mrc_distance_json(&j);
	jbuf_printf(&j, ", ");
	run_json(&j);
	jbuf_printf(&j, ", \"regions\": ");
	origin_json(&j, origin_mapped, heap_bytes);
	jbuf_printf(&j, ", \"mrc\": ");
	mrc_json(&j, pager.limit_pages);
	if (config.sample_bytes) {
		jbuf_printf(&j, ", \"sites\": ");
		sites_json(&j);
	}
	/* Descendants (forked or exec'd, managed) that exited before us. */
	jbuf_printf(&j, ", \"children\": {\"processes\": %llu", (unsigned long long)procs);
	for (size_t i = 0; i < NR_STATS; i++)
		jbuf_printf(&j, ", \"%s\": %llu", stats_name((unsigned)i),
			    (unsigned long long)sum[i]);
	jbuf_printf(&j, "}}\n");
	/* A new file renamed into place: never through a link someone
	 * planted, and a reader sees the old stats or the new, whole. */
	fd = j.oom ? -ENOMEM : outfile_create(path, tmp, sizeof(tmp));
	if (fd >= 0) {
		r = syscall(SYS_write, fd, j.p, j.n) == (ssize_t)j.n ? 0 : -EIO;
		syscall(SYS_close, fd);
		r = r ? r : outfile_commit(tmp, path);
		if (r)
			syscall(SYS_unlinkat, AT_FDCWD, tmp, 0);
	} else {
		r = fd;
	}
	if (r)
		log_line("cannot write stats file %s: %s", path,
			 r == -ELOOP  ? "it is a symbolic link (not followed)" :
			 r == -EINVAL ? "not a regular file (a FIFO, device or directory)" :
					strerror(-r));
	jbuf_free(&j);
	return r;
}

static void print_summary(void)
{
	char more[160];

	summary(more, sizeof(more));
	log_line(
		"limit %llu MiB, resident peak %llu MiB, faults %llu (major %llu), "
		"swapped out %llu MiB, in %llu MiB, refaults %llu, throttled %llu (%.3f s), swap peak %llu MiB, %s",
		(unsigned long long)(pager.limit_pages >> 8),
		(unsigned long long)(stats.resident_peak_bytes >> 20),
		(unsigned long long)stats.pgfault, (unsigned long long)stats.pgmajfault,
		(unsigned long long)(stats.pswpout >> 8), (unsigned long long)(stats.pswpin >> 8),
		(unsigned long long)stats.workingset_refault_anon,
		(unsigned long long)stats.throttle_count, (double)stats.throttle_ns / 1e9,
		(unsigned long long)(stats.swap_bytes_peak >> 20), more);
}

void statsfile_exit(uint64_t heap_bytes)
{
	bool top = is_top();

	if (config.stats_path && top)
		write_json(config.stats_path, heap_bytes);
	else if (config.stats_path)
		append_child();
	if (config.verbose && top)
		print_summary();
}
