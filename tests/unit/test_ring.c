/* SPDX-License-Identifier: MIT */
/*
 * test_ring: the paging threads' io_uring setup (base/ring.c).
 *
 * A RING_OWNED ring (SINGLE_ISSUER | DEFER_TASKRUN) belongs to the task
 * that enables it, not to the one that set it up: the fault handler's and
 * the scanner's rings are set up by the thread that starts them (and, in
 * a forked child, by the forking thread) and enabled by the thread itself,
 * which must then be the only one that can submit. And a kernel that
 * refuses the flags gets the fallback's.
 */
#include "helpers.h"

#include "ring.h"
#include "sys.h"

#include <fcntl.h>
#include <pthread.h>

static char *bufs;
static int files[1];

static void setup(struct io_uring *ring, unsigned flags, unsigned fallback)
{
	char err[256] = "";
	int r;

	bufs = sys_alloc_meta(2 * T_PAGE);
	files[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	t_check(bufs && files[0] >= 0, "setup: %s", strerror(errno));
	r = ring_setup(ring, 8, flags, fallback, bufs, 2, files, 1, err, sizeof(err));
	if (r == -EPERM || r == -ENOSYS)
		t_skip("io_uring unavailable: %s", err);
	t_check(r == 0, "ring_setup: %s", err);
}

/* Submit one NOP and wait for it: 0, or the error of the submission (the
 * NOP then stays queued, and goes with the next one). */
static int nop(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int r;

	t_check(sqe, "no sqe");
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 7);
	r = io_uring_submit_and_wait(ring, 1);
	if (r < 0)
		return r;
	while (io_uring_peek_cqe(ring, &cqe) == 0) {
		t_eq(cqe->user_data, 7);
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

static void *enable_and_submit(void *arg)
{
	struct io_uring *ring = arg;

	ring_enable(ring, "the test thread");
	t_eq(nop(ring), 0);
	t_eq(nop(ring), 0);
	return NULL;
}

static void owned_by_the_enabler(void)
{
	struct io_uring ring;
	pthread_t t;

	setup(&ring, RING_OWNED, 0);
	if (!(ring.flags & IORING_SETUP_R_DISABLED))
		t_skip("the kernel has no SINGLE_ISSUER | DEFER_TASKRUN (Linux 6.1)");
	t_check(ring_deferred(&ring), "a RING_OWNED ring defers its completions");
	/* Set up here, not yet anyone's: nobody may submit. */
	t_eq(nop(&ring), (uint64_t)-EBADFD);
	t_check(!pthread_create(&t, NULL, enable_and_submit, &ring), "pthread_create");
	pthread_join(t, NULL);
	/* It is the other thread's now. */
	t_eq(nop(&ring), (uint64_t)-EEXIST);
}

static void fallback_flags(void)
{
	struct io_uring ring;

	/* A flag no kernel knows: refused with EINVAL, as 6.0 refuses
	 * DEFER_TASKRUN; the fallback is taken. */
	setup(&ring, RING_OWNED | (1u << 30), IORING_SETUP_COOP_TASKRUN);
	t_eq(ring.flags, IORING_SETUP_COOP_TASKRUN);
	t_check(!ring_deferred(&ring), "the fallback does not defer");
	ring_enable(&ring, "the test"); /* nothing to enable */
	t_eq(nop(&ring), 0);
}

static const struct t_case cases[] = {
	T_CASE(owned_by_the_enabler),
	T_CASE(fallback_flags),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 10, argc, argv);
}
