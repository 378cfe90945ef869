#define _GNU_SOURCE
#include "pager.h"

#include "config.h"
#include "debug.h"
#include "fds.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

struct pager pager = { .scan_efd = -1, .fault_efd = -1 };

static void derive_watermarks(uint64_t pages)
{
	pager.limit_pages = pages;
	pager.wmark_min = (uint64_t)(pager.wmark_frac[0] * (double)pages);
	pager.wmark_low = (uint64_t)(pager.wmark_frac[1] * (double)pages);
	pager.wmark_high = (uint64_t)(pager.wmark_frac[2] * (double)pages);
	/* At least one reclaim batch between low and high, so the scanner works
	 * in whole batches; both stay under half the limit. */
	if (pager.wmark_high < pager.wmark_low + pager.batch)
		pager.wmark_high = pager.wmark_low + pager.batch;
	if (pager.wmark_high > pages / 2)
		pager.wmark_high = pages / 2;
	if (pager.wmark_low > pager.wmark_high)
		pager.wmark_low = pager.wmark_high;
	if (pager.wmark_min > pager.wmark_low)
		pager.wmark_min = pager.wmark_low;
}

static void close_efds(void)
{
	fds_close(pager.fault_efd);
	fds_close(pager.scan_efd);
	pager.fault_efd = pager.scan_efd = -1;
}

static int open_efds(char *err, size_t errlen)
{
	pager.fault_efd = fds_keep(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (pager.fault_efd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	pager.scan_efd = fds_keep(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (pager.scan_efd < 0) {
		snprintf(err, errlen, "cannot allocate scanner resources");
		return -ENOMEM;
	}
	return 0;
}

void pager_init(uint64_t limit_bytes)
{
	pager.wmark_frac[0] = config.wmark_min;
	pager.wmark_frac[1] = config.wmark_low;
	pager.wmark_frac[2] = config.wmark_high;
	pager.batch = config.batch;
	derive_watermarks(limit_bytes >> PAGE_SHIFT);
}

void pager_enable(void)
{
	pager.enabled = true;
}

void pager_set_limit(uint64_t bytes)
{
	pager_lock();
	derive_watermarks(bytes >> PAGE_SHIFT);
	zpool_set_limit(bytes >> PAGE_SHIFT);
	pager_unlock();
	if (pager.enabled) {
		/* Lower: the scanner reclaims down to it. Higher: waiters go on. */
		pager_wake_scanner();
		pager_wake_handler();
	}
}

void pager_set_watermarks(double min, double low, double high, unsigned batch)
{
	pager_lock();
	pager.wmark_frac[0] = min;
	pager.wmark_frac[1] = low;
	pager.wmark_frac[2] = high;
	pager.batch = batch;
	derive_watermarks(pager.limit_pages);
	pager_unlock();
	if (pager.enabled) {
		pager_wake_scanner();
		pager_wake_handler();
	}
}

void pager_lock(void)
{
	sys_lock(&pager.lock);
	debug_assert(pager.owner == 0);
	__atomic_store_n(&pager.owner, sys_gettid(), __ATOMIC_RELAXED);
}

void pager_unlock(void)
{
	debug_assert(pager.owner == sys_gettid());
	__atomic_store_n(&pager.owner, 0, __ATOMIC_RELAXED);
	sys_unlock(&pager.lock);
}

bool pager_held_by_me(void)
{
	return __atomic_load_n(&pager.owner, __ATOMIC_RELAXED) == sys_gettid();
}

void pager_assert_locked(void)
{
	if (!debug_checks)
		return;
	/* The forking thread holds it for the handler (see pager.h). */
	debug_assert(pager.owner == sys_gettid() ||
		     (__atomic_load_n(&pager.fork_locked, __ATOMIC_ACQUIRE) &&
		      pager.owner == pager.fork_tid));
}

void pager_wake_scanner(void)
{
	uint64_t one = 1;

	if (!__atomic_exchange_n(&pager.scanner_kick, 1, __ATOMIC_ACQ_REL))
		(void)!sys_write(pager.scan_efd, &one, sizeof(one));
}

void pager_wake_handler(void)
{
	if (__atomic_load_n(&pager.nr_waiting, __ATOMIC_RELAXED))
		pager_kick_handler();
}

void pager_kick_handler(void)
{
	uint64_t one = 1;

	(void)!sys_write(pager.fault_efd, &one, sizeof(one));
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

void *pager_populate(void *p, size_t len, int prot)
{
	uint64_t free = pager_free_pages();
	size_t n = free > pager.wmark_high ? (free - pager.wmark_high) << PAGE_SHIFT : 0;

	if (p == MAP_FAILED || !(prot & PROT_READ))
		return p;
	if (n > len)
		n = len;
	if (n)
		sys_madvise(p, n, (prot & PROT_WRITE) ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	return p;
}

/* ---- the fork barrier ---------------------------------------------------- */

static uint32_t fork_gen;

void pager_fork_park(uint32_t bit)
{
	__atomic_fetch_or(&pager.fork_parked, bit, __ATOMIC_ACQ_REL);
	sys_futex_wake(&pager.fork_parked, 1);
}

void pager_fork_begin(void)
{
	uint32_t p;

	pager.fork_tid = sys_gettid();
	__atomic_store_n(&pager.fork_parked, 0, __ATOMIC_RELEASE);
	/* A new value each time: a scanner still leaving the previous fork's
	 * wait must see that this is another one. */
	fork_gen = fork_gen + 1 ? fork_gen + 1 : 1;
	__atomic_store_n(&pager.fork_req, fork_gen, __ATOMIC_RELEASE);
	pager_wake_scanner();
	pager_kick_handler();
	while ((p = __atomic_load_n(&pager.fork_parked, __ATOMIC_ACQUIRE)) !=
	       (FORK_PARKED_SCANNER | FORK_PARKED_HANDLER))
		sys_futex_wait(&pager.fork_parked, p, -1);
	pager_lock();
}

void pager_fork_hold(void)
{
	__atomic_store_n(&pager.fork_locked, 1, __ATOMIC_RELEASE);
}

void pager_fork_end(void)
{
	__atomic_store_n(&pager.fork_locked, 0, __ATOMIC_RELEASE);
	pager_unlock();
	__atomic_store_n(&pager.fork_req, 0, __ATOMIC_RELEASE);
	sys_futex_wake(&pager.fork_req, 1);
	pager_kick_handler();
}

void pager_fork_child(void)
{
	pager.lock.word = 0;
	pager.owner = 0;
	pager.fork_req = pager.fork_locked = pager.fork_parked = 0;
	pager.nr_waiting = 0;
	pager.scanner_kick = 0;
}

int pager_open(char *err, size_t errlen)
{
	close_efds(); /* in a forked child, the parent's */
	return open_efds(err, errlen);
}

void pager_disable(void)
{
	close_efds();
	pager.enabled = false;
}
