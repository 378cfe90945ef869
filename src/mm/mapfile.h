/* The files the program has mapped and uswap manages (mapfile.c). Under
 * the pager lock unless said. */
#ifndef USWAP_MAPFILE_H
#define USWAP_MAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct mapfile {
	int fd; /* our own descriptor of the file (close-on-exec) */
	dev_t dev;
	ino_t ino;
	long refs;		   /* regions that map it; 0 = slot free */
	unsigned writers;	   /* write() calls in flight on it (file_io_begin..end) */
	uint64_t busy_lo, busy_hi; /* bytes those calls may change: no writeback there */
	bool writable;		   /* fd open for writing */
	char path[240];
};

/* Is a write() of the program changing bytes of the page at file offset off? */
static inline bool mapfile_busy(const struct mapfile *mf, uint64_t off)
{
	return off < mf->busy_hi && off + 4096 > mf->busy_lo;
}

/* Open mapped files; read without the lock (the read/write hooks do
 * nothing while it is 0). */
extern unsigned mapfile_nr;

void mapfile_get(struct mapfile *mf);
void mapfile_put(struct mapfile *mf);
/* The entry of the file dev:ino, or NULL. */
struct mapfile *mapfile_find(dev_t dev, ino_t ino);
/* A reference to the file behind the program's fd (stat st), one entry per
 * file, or NULL. */
struct mapfile *mapfile_open(int fd, const struct stat *st);
/* --file-cache: config's at start, then live (ctl set), under the pager
 * lock. With drop, an evicted file page leaves the kernel's page cache
 * too (mapfile_evicted), so the next touch costs what it would in a memcg:
 * a read from the disk. */
void mapfile_init(void);
void mapfile_set_cache_drop(bool drop);
bool mapfile_cache_drop(void);
void mapfile_evicted(struct mapfile *mf, uint64_t off);
/* Bytes of the page at file offset off that lie within the file (0..4096). */
size_t mapfile_page_bytes(struct mapfile *mf, uint64_t off);

#endif
