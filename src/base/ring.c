#define _GNU_SOURCE
#include "ring.h"

#include "fds.h"
#include "log.h"

#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_BUFS 1024

static int ring_init(struct io_uring *ring, unsigned entries, unsigned flags)
{
	struct io_uring_params p = { .flags = flags };

	return io_uring_queue_init_params(entries, ring, &p);
}

int ring_setup(struct io_uring *ring, unsigned entries, unsigned flags, unsigned fallback,
	       char *bufs, unsigned nbufs, const int *files, unsigned nfiles, char *err,
	       size_t errlen)
{
	struct iovec v[MAX_BUFS];
	int r;

	if (nbufs > MAX_BUFS) {
		snprintf(err, errlen, "io_uring setup: too many buffers (%u)", nbufs);
		return -EINVAL;
	}
	/* An older kernel refuses flags it does not know with EINVAL. */
	r = ring_init(ring, entries, flags);
	if (r == -EINVAL && fallback != flags)
		r = ring_init(ring, entries, fallback);
	if (r == -EINVAL && fallback)
		r = ring_init(ring, entries, 0);
	if (r == -EMFILE || r == -ENFILE) {
		snprintf(err, errlen, "io_uring setup: %s (raise ulimit -n)", strerror(-r));
		return r;
	}
	if (r) {
		snprintf(err, errlen,
			 "io_uring unavailable: %s (check sysctl kernel.io_uring_disabled)",
			 strerror(-r));
		return r;
	}
	/* Out of the program's way (fds.c); liburing enters by enter_ring_fd. */
	ring->ring_fd = ring->enter_ring_fd = fds_keep(ring->ring_fd);
	/* A forked child must not see (or write) the parent's ring. */
	io_uring_ring_dontfork(ring);
	for (unsigned i = 0; i < nbufs; i++)
		v[i] = (struct iovec){ bufs + ((size_t)i << PAGE_SHIFT), PAGE_SIZE };
	r = io_uring_register_buffers(ring, v, nbufs);
	if (!r)
		r = io_uring_register_files(ring, files, nfiles);
	if (r) {
		snprintf(err, errlen, "io_uring registration failed: %s", strerror(-r));
		return r;
	}
	return 0;
}

void ring_enable(struct io_uring *ring, const char *who)
{
	int r;

	if (!(ring->flags & IORING_SETUP_R_DISABLED))
		return;
	r = io_uring_enable_rings(ring);
	if (r)
		log_oom_kill("fatal: cannot enable the io_uring of %s (%s): "
			     "the program cannot be paged",
			     who, strerrorname_np(-r));
}

void ring_forget(struct io_uring *ring)
{
	if (ring->ring_fd >= 0)
		fds_close(ring->ring_fd);
	if (ring->enter_ring_fd != ring->ring_fd && ring->enter_ring_fd >= 0)
		fds_close(ring->enter_ring_fd);
	memset(ring, 0, sizeof(*ring));
	ring->ring_fd = ring->enter_ring_fd = -1;
}

int ring_check(int r, const char *who)
{
	if (r == -EPERM || r == -EACCES || r == -ENOSYS)
		log_oom_kill("fatal: io_uring_enter refused (%s) in %s: a seccomp filter? "
			     "the program cannot be paged",
			     strerrorname_np(-r), who);
	return r;
}
