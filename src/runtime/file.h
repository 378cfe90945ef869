/* File mappings, emulated (file.c). All of it under the pager lock unless
 * said. */
#ifndef USWAP_FILE_H
#define USWAP_FILE_H

#include "mapfile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Is any file mapped (and managed)? The read/write hooks do nothing, but
 * this one load, while none is. */
static inline bool file_mapped_any(void)
{
	return __atomic_load_n(&mapfile_nr, __ATOMIC_RELAXED) != 0;
}

/* mmap of a file (not MAP_ANONYMOUS): managed if it can be, else the
 * kernel's. Caller: rt_mmap, the runtime enabled. */
void *file_mmap(void *addr, size_t len, int prot, int flags, int fd, long off);

/* Write back the changed pages of the MAP_SHARED file regions within
 * [s, e), first letting writebacks in flight there land (the pager lock is dropped
 * meanwhile). 0, or a negative errno of a failed write. */
int file_flush_locked(uintptr_t s, uintptr_t e);
/* ... of every file region. */
void file_flush_all(void);
/* The fork hook: MAP_SHARED file regions go back to the kernel, so that
 * parent and child keep sharing them. Called with the pager lock held, the
 * scanner and handler parked. */
void file_fork_prepare(void);

/* read()/write() on a file the program has mapped (preload hooks). begin
 * writes back the mapping's changes the call could see (and for a write,
 * holds off writeback of those bytes); end puts the bytes a write stored
 * into the resident pages that map them.
 *
 * ftruncate()/truncate()/fallocate() on such a file (path: truncate's,
 * else fd's file): begin holds off writeback of the bytes the call will
 * cut (past a new end) or zero (a punched or zeroed hole) and lets the
 * writes in flight there land; end, after the call, drops or zeroes the
 * pages that map those bytes as the kernel does its page cache's. A call
 * that moves the file's bytes (collapse, insert) hands its mappings back
 * to the kernel. end's r: the call's result. */
enum file_io_kind {
	FILE_IO_READ,
	FILE_IO_WRITE,
	FILE_IO_CUT,  /* the file ends at lo now */
	FILE_IO_HOLE, /* [lo, hi) reads zeros now */
};
struct file_io {
	struct mapfile *mf;
	uint64_t lo, hi;
	enum file_io_kind kind;
};
bool file_io_begin(int fd, long off, size_t len, bool write, struct file_io *io);
bool file_truncate_begin(int fd, const char *path, long len, struct file_io *io);
bool file_fallocate_begin(int fd, int mode, long off, long len, struct file_io *io);
void file_io_end(struct file_io *io, ssize_t r);

int rt_msync(void *addr, size_t len, int flags);

/* [s, e) was unmapped or replaced: forget the kernel's shared file
 * mappings there (file.c, kmaps). */
void file_kmap_forget(uintptr_t s, uintptr_t e);

/* MADV_RANDOM / SEQUENTIAL / NORMAL on file regions within [s, s+len):
 * the matching posix_fadvise on our descriptor of each file, whose
 * readahead serves our reads. */
void file_advise(uintptr_t s, size_t len, int advice);

/* Is some of [s, e) a file region? May all of it be made writable (no
 * MAP_SHARED mapping of a file opened read-only)? */
bool file_within(uintptr_t s, uintptr_t e);
bool file_may_write(uintptr_t s, uintptr_t e);

#endif
