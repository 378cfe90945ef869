/*
 * The runtime: start-up, exit, and what the preload layer asks of the core
 * as a whole. Start-up brings the modules up bottom-up (the pager, the
 * userfaultfd, tracking, the swap file, the frames, the heap), then the
 * threads that use them (handler, scanner, monitor); only then is memory
 * managed.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include "aging.h"
#include "balance.h"
#include "config.h"
#include "debug.h"
#include "fault.h"
#include "fds.h"
#include "file.h"
#include "heap.h"
#include "lru.h"
#include "mapfile.h"
#include "monitor.h"
#include "pager.h"
#include "poolsize.h"
#include "scan.h"
#include "statsfile.h"
#include "swap.h"
#include "track.h"
#include "zpool.h"
#include "uffd.h"
#include "workingset.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static pid_t owner; /* the process the runtime's threads belong to */

int runtime_init(char *err, size_t errlen)
{
	/* --limit auto: the controller starts from the machine's memory and works down. */
	uint64_t limit = config.limit_auto ? (uint64_t)sysconf(_SC_PHYS_PAGES) << PAGE_SHIFT :
					     config.limit_bytes;
	uint64_t cap;
	int r;

	owner = getpid();
	debug_init(config.debug);
	balance_init();
	workingset_init();
	mapfile_init();
	pager_init(limit);
	/* Count what we need against RLIMIT_NOFILE before taking any. */
	r = fds_check(err, errlen);
	if (r)
		return r;
	r = uffd_open(err, errlen);
	if (r)
		goto fail;
	r = track_init(err, errlen);
	if (r)
		goto fail;
	r = swap_open(config.swap_path, config.swap_size, err, errlen);
	if (r)
		goto fail;
	if (config.swap_encrypt) {
		r = swap_encrypt_init(err, errlen);
		if (r)
			goto fail;
	}
	r = zpool_init(pager.limit_pages, err, errlen);
	if (r)
		goto fail;
	poolsize_init();
	/* Frames: the limit plus room for the limit to be raised later. */
	cap = pager.limit_pages * 2 + 1024;
	if (cap > UINT32_MAX - 1)
		cap = UINT32_MAX - 1;
	r = lru_hash_init();
	if (r) {
		snprintf(err, errlen, "cannot draw the page-hash key: getrandom: %s", strerror(-r));
		goto fail;
	}
	if (lru_init((uint32_t)cap)) {
		snprintf(err, errlen, "cannot allocate page frame table");
		r = -ENOMEM;
		goto fail;
	}
	r = track_init_staging(cap, err, errlen);
	if (r)
		goto fail;
	r = heap_init(err, errlen);
	if (r)
		goto fail;
	r = pager_open(err, errlen);
	if (r)
		goto fail;
	r = fault_start(err, errlen);
	if (r)
		goto fail;
	r = scan_start(err, errlen);
	if (r)
		return r;
	r = statsfile_init(err, errlen);
	if (r)
		return r;
	r = monitor_start(err, errlen);
	if (r)
		return r;
	pager_enable();
	return 0;
fail:
	/* No thread of ours runs yet: a process that goes on unmanaged
	 * must not keep our descriptors (the userfaultfd with the heap
	 * registered, among them). */
	fds_close_all();
	return r;
}

bool runtime_owns(void)
{
	return pager.enabled && owner == getpid();
}

void runtime_fork_child(void)
{
	owner = getpid();
}

void runtime_exit(void)
{
	if (!runtime_owns())
		return;
	/* A signal handler may end the program (exit, _exit) on a thread that
	 * is inside the runtime, holding the pager lock: what needs the lock
	 * is then skipped rather than waited for, for good. */
	file_flush_all();
	fault_exit_counters();
	scan_exit_counters();
	monitor_stop();
	statsfile_exit(heap_bytes());
}

bool runtime_traps_sigsegv(void)
{
	return track_mode == TRACK_MPROTECT;
}

int runtime_sigsegv(uintptr_t addr)
{
	return fault_sigsegv(addr);
}
