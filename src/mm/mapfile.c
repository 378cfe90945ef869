/*
 * The files the program has mapped and uswap manages (runtime/file.c):
 * one entry per file, holding a descriptor of our own, referenced by the
 * regions that map it. Under the pager lock; mapfile_nr is read without
 * it by the read/write hooks, which do nothing while it is 0.
 */
#define _GNU_SOURCE
#include "mapfile.h"

#include "config.h"
#include "fds.h"
#include "log.h"
#include "pager.h"
#include "sys.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MAPFILES 1024

static bool cache_drop; /* --file-cache drop */

static struct mapfile *mapfiles;
unsigned mapfile_nr;

void mapfile_get(struct mapfile *mf)
{
	if (mf)
		mf->refs++;
}

void mapfile_put(struct mapfile *mf)
{
	if (mf && --mf->refs == 0) {
		fds_close(mf->fd);
		mf->fd = -1;
		__atomic_store_n(&mapfile_nr, mapfile_nr - 1, __ATOMIC_RELAXED);
	}
}

struct mapfile *mapfile_find(dev_t dev, ino_t ino)
{
	for (unsigned i = 0; mapfiles && i < MAX_MAPFILES; i++)
		if (mapfiles[i].refs && mapfiles[i].dev == dev && mapfiles[i].ino == ino)
			return &mapfiles[i];
	return NULL;
}

/* A reference to the file behind fd (one entry per file), or NULL. */
struct mapfile *mapfile_open(int fd, const struct stat *st)
{
	bool writable = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	struct mapfile *mf = mapfile_find(st->st_dev, st->st_ino);
	char link[64];
	int nfd;
	ssize_t n;

	if (mf && (mf->writable || !writable)) {
		mf->refs++;
		return mf;
	}
	/* An open file description of our own (its readahead state and
	 * fadvise hints are not the program's); a copy of the program's if the
	 * file cannot be opened again. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	nfd = open(link, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (nfd < 0)
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	/* Out of the program's way: a program that closes every descriptor
	 * and opens another file must not get this number (fds.c). */
	nfd = fds_keep(nfd);
	if (nfd < 0)
		return NULL;
	if (mf) {
		/* Mapped read-only before, for writing now: keep the better descriptor. */
		fds_close(mf->fd);
		mf->fd = nfd;
		mf->writable = true;
		mf->refs++;
		return mf;
	}
	if (!mapfiles && !(mapfiles = sys_alloc_meta(MAX_MAPFILES * sizeof(*mapfiles)))) {
		fds_close(nfd);
		return NULL;
	}
	for (unsigned i = 0; i < MAX_MAPFILES; i++) {
		if (mapfiles[i].refs)
			continue;
		mf = &mapfiles[i];
		*mf = (struct mapfile){ .fd = nfd,
					.dev = st->st_dev,
					.ino = st->st_ino,
					.refs = 1,
					.writable = writable };
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, mf->path, sizeof(mf->path) - 1);
		mf->path[n > 0 ? n : 0] = 0;
		__atomic_store_n(&mapfile_nr, mapfile_nr + 1, __ATOMIC_RELAXED);
		return mf;
	}
	fds_close(nfd);
	log_once("more than %d files mapped at once: the rest are left to the kernel",
		 MAX_MAPFILES);
	return NULL;
}

size_t mapfile_page_bytes(struct mapfile *mf, uint64_t off)
{
	struct stat st;

	if (sys_fstat(mf->fd, &st) || (uint64_t)st.st_size <= off)
		return 0;
	return (uint64_t)st.st_size - off < PAGE_SIZE ? (size_t)((uint64_t)st.st_size - off) :
							PAGE_SIZE;
}

void mapfile_init(void)
{
	cache_drop = config.file_cache_drop;
}

void mapfile_set_cache_drop(bool drop)
{
	pager_lock();
	cache_drop = drop;
	pager_unlock();
}

bool mapfile_cache_drop(void)
{
	return cache_drop;
}

void mapfile_evicted(struct mapfile *mf, uint64_t off)
{
	if (cache_drop)
		posix_fadvise(mf->fd, (off_t)off, PAGE_SIZE, POSIX_FADV_DONTNEED);
}
