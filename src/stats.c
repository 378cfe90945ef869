#define _GNU_SOURCE
#include "stats.h"

#include "config.h"
#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

struct stats stats;

int stats_write_json(const char *path)
{
	char buf[8192];
	int n = 0, fd;
	ssize_t w;

	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "{\"limit_bytes\": %llu",
		      (unsigned long long)config.limit_bytes);
#define X(name)                                                                                 \
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, ", \"" #name "\": %llu",               \
		      (unsigned long long)__atomic_load_n(&stats.name, __ATOMIC_RELAXED));
	STAT_LIST(X)
#undef X
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, ", \"swappiness\": %d, \"track\": \"%s\"}\n",
		      config.swappiness, config.track == TRACK_UFFD ? "uffd" : "mprotect");
	fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_line("cannot write stats file %s", path);
		return -1;
	}
	w = syscall(SYS_write, fd, buf, (size_t)n);
	syscall(SYS_close, fd);
	return w == n ? 0 : -1;
}

void stats_print_summary(void)
{
	log_line("limit %llu MiB, resident peak %llu MiB, faults %llu (major %llu), "
		 "swapped out %llu MiB, in %llu MiB, refaults %llu, throttled %llu (%.3f s), swap peak %llu MiB",
		 (unsigned long long)(config.limit_bytes >> 20),
		 (unsigned long long)(stats.resident_peak_bytes >> 20),
		 (unsigned long long)stats.pgfault, (unsigned long long)stats.pgmajfault,
		 (unsigned long long)(stats.pswpout >> 8), (unsigned long long)(stats.pswpin >> 8),
		 (unsigned long long)stats.workingset_refault_anon,
		 (unsigned long long)stats.throttle_count, (double)stats.throttle_ns / 1e9,
		 (unsigned long long)(stats.swap_bytes_peak >> 20));
}
