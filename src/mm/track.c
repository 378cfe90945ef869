#define _GNU_SOURCE
#include "track.h"

#include "config.h"
#include "fds.h"
#include "log.h"
#include "lru.h"
#include "pager.h"
#include "region.h"
#include "stats.h"
#include "sys.h"
#include "uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
/* Linux 6.14+: process_madvise on the caller without a pidfd. */
#define PIDFD_SELF_THREAD_GROUP (-10001)

enum track_mode track_mode;
static int mem_fd = -1; /* /proc/self/mem: reads PROT_NONE pages (FOLL_FORCE) */
/* TRACK_UFFD: the staging area, one page for each frame there can be. A
 * frame's staging page is not fixed: it is taken when the page is armed
 * and given back when it is disarmed or dropped, next-fit from a cursor,
 * so pages armed together get neighbouring staging pages and a run of
 * them moves with one UFFDIO_MOVE (track_arm_run). */
static uintptr_t staging;
static size_t staging_len;
static uint32_t *stage_of;   /* frame -> its staging page, while armed */
static uint64_t *stage_used; /* a bit a staging page; set and cleared atomically */
static uint64_t nr_stages, stage_cursor;
#define NO_STAGE UINT32_MAX
/* mprotect tracking: each armed page can split its VMA in three. Keep the
 * armed pages to a quarter of vm.max_map_count so the program's own
 * mappings never run out. */
static uint64_t max_armed;
/* track_drop_batch: the pidfd process_madvise takes (PIDFD_SELF_THREAD_GROUP
 * where the kernel knows it, else one of ours), or -1: one madvise a page. */
static int self_pidfd = -1;
static bool batch_drop;

/* Can process_madvise(MADV_DONTNEED) free our pages through pidfd? Tried
 * on a page of its own: never on a staging page, which in a forked child
 * holds an armed page of the parent's. */
static bool probe_batch_drop(int pidfd)
{
	char *p = sys_mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	struct iovec iov = { .iov_base = p, .iov_len = PAGE_SIZE };
	bool ok;

	if (p == MAP_FAILED)
		return false;
	p[0] = 1;
	ok = syscall(SYS_process_madvise, pidfd, &iov, 1, MADV_DONTNEED, 0) == PAGE_SIZE &&
	     p[0] == 0;
	sys_munmap(p, PAGE_SIZE);
	return ok;
}

static void init_batch_drop(void)
{
	int fd;

	batch_drop = false;
	if (probe_batch_drop(PIDFD_SELF_THREAD_GROUP)) {
		self_pidfd = PIDFD_SELF_THREAD_GROUP;
		batch_drop = true;
		return;
	}
	fd = fds_keep((int)syscall(SYS_pidfd_open, getpid(), 0));
	if (fd >= 0 && probe_batch_drop(fd)) {
		self_pidfd = fd;
		batch_drop = true;
		return;
	}
	if (fd >= 0)
		fds_close(fd);
	self_pidfd = -1;
}

int track_init(char *err, unsigned long errlen)
{
	track_mode = config.track;
	if (track_mode == TRACK_UFFD && !uffd_caps.move) {
		/* Before 6.8 there is no UFFDIO_MOVE: fall back to mprotect tracking. */
		log_line(
			"kernel lacks UFFDIO_MOVE (Linux 6.8+): using mprotect tracking, see README for its limits");
		track_mode = TRACK_MPROTECT;
	}
	/* /proc/self/mem reads pages the program made unreadable (PROT_NONE). */
	mem_fd = fds_keep(sys_open_self("/proc/self/mem", O_RDWR | O_CLOEXEC));
	if (mem_fd < 0) {
		snprintf(err, errlen, "uswap needs /proc/self/mem: %s", strerror(errno));
		return -errno;
	}
	if (track_mode == TRACK_MPROTECT) {
		char buf[32] = "65530";
		int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			(void)!sys_read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		max_armed = strtoull(buf, NULL, 10) / 4;
	}
	return 0;
}

/* Up to want free staging pages in a row, next-fit from the cursor: the
 * first of them, *got of them. Called with the pager lock held (one
 * allocator); frees may run at the same time (stage_free, no lock). */
static uint32_t stage_alloc(unsigned want, unsigned *got)
{
	uint64_t words = (nr_stages + 63) / 64, s = NO_STAGE;

	for (uint64_t n = 0; n <= words; n++) {
		uint64_t w = (stage_cursor / 64 + n) % words;
		uint64_t free = ~__atomic_load_n(&stage_used[w], __ATOMIC_ACQUIRE);

		if (n == 0)
			free &= ~0ULL << (stage_cursor % 64);
		if (w * 64 + 64 > nr_stages)
			free &= (1ULL << (nr_stages - w * 64)) - 1;
		if (free) {
			s = w * 64 + (uint64_t)__builtin_ctzll(free);
			break;
		}
	}
	if (s == NO_STAGE)
		return NO_STAGE; /* cannot be: no more armed pages than frames */
	*got = 0;
	while (*got < want && s + *got < nr_stages) {
		uint64_t i = s + *got, bit = 1ULL << (i % 64);

		if (__atomic_fetch_or(&stage_used[i / 64], bit, __ATOMIC_ACQ_REL) & bit)
			break;
		++*got;
	}
	stage_cursor = (s + *got) % nr_stages;
	return (uint32_t)s;
}

/* After its memory is freed (or moved away): any thread, no lock. */
static void stage_free(uint32_t s)
{
	__atomic_fetch_and(&stage_used[s / 64], ~(1ULL << (s % 64)), __ATOMIC_RELEASE);
}

/* A staging page for frame f, alone. */
static int stage_take(uint32_t f)
{
	unsigned got;
	uint32_t s = stage_alloc(1, &got);

	if (s == NO_STAGE)
		return -ENOMEM;
	stage_of[f] = s;
	return 0;
}

int track_init_staging(uint64_t frames, char *err, size_t errlen)
{
	void *p;
	int r;

	if (track_mode != TRACK_UFFD)
		return 0;
	nr_stages = frames;
	stage_of = sys_alloc_meta(frames * sizeof(*stage_of));
	stage_used = sys_alloc_meta((frames + 63) / 64 * 8);
	if (!stage_of || !stage_used) {
		snprintf(err, errlen, "cannot allocate the staging map");
		return -ENOMEM;
	}
	p = sys_mmap(NULL, frames << PAGE_SHIFT, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot reserve staging area: %s", strerror(errno));
		return -ENOMEM;
	}
	staging = (uintptr_t)p;
	staging_len = frames << PAGE_SHIFT;
	/* UFFDIO_MOVE needs its destination registered with the same uffd. */
	r = uffd_register(staging, staging_len);
	if (r) {
		snprintf(err, errlen, "cannot register staging area: %s", strerror(-r));
		return r;
	}
	init_batch_drop();
	return 0;
}

uintptr_t track_staging(uint32_t f)
{
	return staging + ((uintptr_t)stage_of[f] << PAGE_SHIFT);
}

void track_munlock_staging(void)
{
	if (staging)
		syscall(SYS_munlock, staging, staging_len);
}

int track_fork_child(char *err, size_t errlen)
{
	int r;

	if (mem_fd < 0)
		return 0;
	fds_close(mem_fd); /* the parent's memory */
	mem_fd = fds_keep(sys_open_self("/proc/self/mem", O_RDWR | O_CLOEXEC));
	if (mem_fd < 0) {
		snprintf(err, errlen, "cannot open /proc/self/mem: %s", strerror(errno));
		return -errno;
	}
	/* The new userfaultfd: the staging area again. */
	if (staging && (r = uffd_register(staging, staging_len))) {
		snprintf(err, errlen, "cannot register the staging area: %s", strerror(-r));
		return r;
	}
	/* A pidfd names the parent: the child's own. */
	if (staging && self_pidfd >= 0) {
		fds_close(self_pidfd);
		init_batch_drop();
	}
	return 0;
}

static int app_prot(uintptr_t addr)
{
	struct region *r = region_lookup(addr);

	return r ? r->app_prot : PROT_READ | PROT_WRITE;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * A page the program cannot write (it made it read-only, PROT_NONE or
 * read+exec): UFFDIO_MOVE refuses it (the staging area's protection
 * differs), but no write can race with a copy, so copy it to staging and
 * drop it. Its next fault copies it back (track_disarm).
 */
static int arm_by_copy(uint32_t f)
{
	static char *buf;
	struct frame *fr = lru_frame(f);
	int r;

	if (!uffd_page_present(fr->addr))
		return -ENOENT;
	if (!buf && !(buf = sys_alloc_meta(PAGE_SIZE)))
		return -ENOMEM;
	if (sys_pread(mem_fd, buf, PAGE_SIZE, (off_t)fr->addr) != (ssize_t)PAGE_SIZE)
		return -EIO;
	r = uffd_copy(track_staging(f), buf, false);
	if (r)
		return r;
	if (sys_madvise((void *)fr->addr, PAGE_SIZE, MADV_DONTNEED)) {
		r = -errno;
		sys_madvise((void *)track_staging(f), PAGE_SIZE, MADV_DONTNEED);
		return r;
	}
	return 0;
}

/* Frame f's page is back with the program or gone: its staging page is free. */
static void stage_release(uint32_t f)
{
	stage_free(stage_of[f]);
	stage_of[f] = NO_STAGE;
}

static int arm_uffd(uint32_t f)
{
	struct frame *fr = lru_frame(f);
	int prot = app_prot(fr->addr);
	int r;

	if (prot != (PROT_READ | PROT_WRITE)) {
		if (prot == -1 || (prot & PROT_WRITE))
			return -EINVAL; /* unknown, or writable with other bits: leave it */
		r = stage_take(f);
		if (!r && (r = arm_by_copy(f)))
			stage_release(f);
		return r;
	}
	r = stage_take(f);
	if (r)
		return r;
	r = uffd_move(track_staging(f), fr->addr, PAGE_SIZE);
	stats.pgdeactivate_moves++;
	if (r == -EBUSY) {
		/* Shared copy-on-write with a forked parent or child: break the
		 * sharing as a write would (the contents stay), then move our own
		 * copy. A page pinned for I/O stays busy. */
		if (sys_madvise((void *)fr->addr, PAGE_SIZE, MADV_POPULATE_WRITE) == 0)
			r = uffd_move(track_staging(f), fr->addr, PAGE_SIZE);
	}
	if (r)
		stage_release(f);
	return r;
}

int track_arm(uint32_t f)
{
	struct frame *fr = lru_frame(f);

	pager_assert_locked();

	if (track_mode == TRACK_UFFD)
		return arm_uffd(f);
	if (app_prot(fr->addr) != (PROT_READ | PROT_WRITE))
		return -EINVAL; /* the program chose this page's protection: leave it */
	if (lru.lists[LRU_INACTIVE_ANON].nr + lru.lists[LRU_INACTIVE_FILE].nr +
		    pager.nr_writeback >=
	    max_armed)
		return -EAGAIN; /* VMA budget */
	return sys_mprotect((void *)fr->addr, PAGE_SIZE, PROT_NONE) ? -errno : 0;
}

unsigned track_arm_run(const uint32_t *frames, unsigned n, bool *armed)
{
	uintptr_t a0 = lru_frame(frames[0])->addr;
	bool down = n > 1 && lru_frame(frames[1])->addr < a0;
	uintptr_t lo = down ? a0 - ((uintptr_t)(n - 1) << PAGE_SHIFT) : a0;
	struct region *r = region_lookup(lo);
	unsigned done = 0, nr = 0;

	pager_assert_locked();
	for (unsigned i = 0; i < n; i++)
		armed[i] = false;
	if (track_mode != TRACK_UFFD || n < 2 || !r || r->app_prot != (PROT_READ | PROT_WRITE) ||
	    lo + ((uintptr_t)n << PAGE_SHIFT) > r->end)
		return 0;
	/* In chunks of neighbouring free staging pages; frames[done + j]
	 * goes to staging page s + j (up), or the chunk's order reversed (down:
	 * the frames' addresses fall, a move's rise). */
	while (done < n) {
		unsigned got, k;
		uint32_t s = stage_alloc(n - done, &got);
		uintptr_t src, dst;
		long moved;

		if (s == NO_STAGE)
			break;
		src = down ? a0 - ((uintptr_t)(done + got - 1) << PAGE_SHIFT) :
			     a0 + ((uintptr_t)done << PAGE_SHIFT);
		dst = staging + ((uintptr_t)s << PAGE_SHIFT);
		moved = uffd_move_run(dst, src, (size_t)got << PAGE_SHIFT);
		stats.pgdeactivate_moves++;
		k = moved > 0 ? (unsigned)(moved >> PAGE_SHIFT) : 0;
		/* The first k pages of the chunk, by address, moved. */
		for (unsigned i = 0; i < got; i++) {
			unsigned j = down ? got - 1 - i : i; /* frames[done + j] is at page i */

			if (i < k) {
				stage_of[frames[done + j]] = s + i;
				armed[done + j] = true;
				nr++;
			} else {
				stage_free(s + i);
			}
		}
		done += got;
		if (k < got)
			break;
	}
	return nr;
}

int track_arm_filled(uint32_t f, const void *buf)
{
	struct frame *fr = lru_frame(f);
	int r;

	pager_assert_locked();
	if (track_mode != TRACK_UFFD || app_prot(fr->addr) != (PROT_READ | PROT_WRITE))
		return -EINVAL;
	r = stage_take(f);
	if (r)
		return r;
	r = uffd_copy(track_staging(f), buf, false);
	if (r)
		stage_release(f);
	return r;
}

int track_disarm(uint32_t f)
{
	struct frame *fr = lru_frame(f);
	int r;

	pager_assert_locked();

	if (track_mode == TRACK_MPROTECT)
		return sys_mprotect((void *)fr->addr, PAGE_SIZE, app_prot(fr->addr)) ? -errno : 0;
	r = uffd_move(fr->addr, track_staging(f), PAGE_SIZE);
	if (r == -EINVAL || r == -EBUSY) {
		/* The program changed the page's protection since (MOVE needs equal
		 * protections), or the staging page is pinned: copy instead. */
		r = uffd_copy(fr->addr, (void *)track_staging(f), false);
		if (r == 0 || r == -EEXIST)
			sys_madvise((void *)track_staging(f), PAGE_SIZE, MADV_DONTNEED);
	}
	if (r == -EEXIST)
		r = 0;
	if (!r)
		stage_release(f);
	return r;
}

int track_copy_out(uint32_t f, void *buf)
{
	struct frame *fr = lru_frame(f);

	if (track_mode == TRACK_UFFD) {
		memcpy(buf, (void *)track_staging(f), PAGE_SIZE);
		return 0;
	}
	return sys_pread(mem_fd, buf, PAGE_SIZE, (off_t)fr->addr) == (ssize_t)PAGE_SIZE ? 0 : -EIO;
}

int track_read_page(uint32_t f, void *buf)
{
	struct frame *fr = lru_frame(f);

	if (fr->flags & F_STAGED)
		return track_copy_out(f, buf);
	return sys_pread(mem_fd, buf, PAGE_SIZE, (off_t)fr->addr) == (ssize_t)PAGE_SIZE ? 0 : -EIO;
}

int track_write_bytes(uint32_t f, size_t off, const void *src, size_t n)
{
	struct frame *fr = lru_frame(f);

	if ((fr->flags & F_STAGED) && track_mode == TRACK_UFFD) {
		memcpy((char *)track_staging(f) + off, src, n);
		return 0;
	}
	return sys_pwrite(mem_fd, src, n, (off_t)(fr->addr + off)) == (ssize_t)n ? 0 : -EIO;
}

int track_poke(uintptr_t addr, const void *page)
{
	return sys_pwrite(mem_fd, page, PAGE_SIZE, (off_t)addr) == (ssize_t)PAGE_SIZE ? 0 : -EIO;
}

void track_drop(uint32_t f)
{
	struct frame *fr = lru_frame(f);

	pager_assert_locked();

	if (track_mode == TRACK_UFFD) {
		sys_madvise((void *)track_staging(f), PAGE_SIZE, MADV_DONTNEED);
		stage_release(f);
		return;
	}
	sys_madvise((void *)fr->addr, PAGE_SIZE, MADV_DONTNEED);
	sys_mprotect((void *)fr->addr, PAGE_SIZE, app_prot(fr->addr));
}

bool track_can_drop_batch(void)
{
	return track_mode == TRACK_UFFD;
}

void track_drop_batch(const uint32_t *frames, unsigned n)
{
	struct iovec iov[TRACK_DROP_BATCH];
	unsigned nr = 0, i;
	ssize_t done;

	if (n > TRACK_DROP_BATCH)
		n = TRACK_DROP_BATCH; /* the caller's batch is no larger */
	for (i = 0; i < n; i++) {
		uintptr_t a = track_staging(frames[i]);

		if (nr && (uintptr_t)iov[nr - 1].iov_base + iov[nr - 1].iov_len == a) {
			iov[nr - 1].iov_len += PAGE_SIZE;
			continue;
		}
		iov[nr++] = (struct iovec){ .iov_base = (void *)a, .iov_len = PAGE_SIZE };
	}
	/* One call, one TLB flush for the lot (0.4-0.7 us a page here, against
	 * 3-6 us for a madvise each while the program runs on the other CPU). */
	done = batch_drop ? syscall(SYS_process_madvise, self_pidfd, iov, nr, MADV_DONTNEED, 0) : -1;
	if (done < 0)
		done = 0;
	/* What it did not do (not offered, or stopped short): one range at a time. */
	for (i = 0; i < nr; i++) {
		if ((size_t)done >= iov[i].iov_len) {
			done -= (ssize_t)iov[i].iov_len;
			continue;
		}
		sys_madvise((char *)iov[i].iov_base + done, iov[i].iov_len - (size_t)done,
			    MADV_DONTNEED);
		done = 0;
	}
	for (i = 0; i < n; i++)
		stage_release(frames[i]);
}
