/*
 * File mappings, emulated.
 *
 * userfaultfd cannot register a regular file's mapping, so a file mmap the
 * program asks for is made by the kernel (which checks the descriptor's
 * mode, the offset and the flags, and picks the address), then replaced in
 * place by an anonymous mapping of the same protection that we register: a
 * REGION_FILE region that remembers the file (our own descriptor of it)
 * and the offset. Its pages are filled from the file on first touch
 * (engine/fault.c) and live on the file LRU. Reclaim (engine/scan.c) drops a page that
 * still equals its file's copy (content hash) with no I/O; writes a
 * changed MAP_SHARED page back to the file first; sends a changed
 * MAP_PRIVATE page to swap, as the kernel treats a copied-on-write page as
 * anonymous.
 *
 * Coherence. The resident pages of a MAP_SHARED mapping are this process's
 * own copy of the file, not the kernel's page cache, so:
 *   - the program's writes through the mapping reach the file when the
 *     page is reclaimed, and at msync(), munmap(), exit() / _exit(), and
 *     before the program read()s or write()s those bytes of the file
 *     itself (the preload hooks the read and write families);
 *   - bytes the program write()s to a file it has mapped are copied into
 *     the resident pages that map them (unwritten MAP_PRIVATE pages too);
 *   - other processes' changes to the file are seen for pages that are not
 *     resident (read on the next fault), not in resident ones;
 *   - at fork() MAP_SHARED file mappings go back to the kernel, so parent
 *     and child keep sharing them.
 * A process killed by a signal loses the changes not yet written back
 * (msync before anything that must survive a crash, as POSIX says).
 */
#define _GNU_SOURCE
#include "file.h"

#include "config.h"
#include "log.h"
#include "lru.h"
#include "mapfile.h"
#include "mlock.h"
#include "page.h"
#include "pager.h"
#include "region.h"
#include "stats.h"
#include "swap.h"
#include "track.h"
#include "uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Two mappings of one file in one process, one of them MAP_SHARED, must see
 * each other's stores at once (one page cache natively); our copies would
 * not. So such files are the kernel's: their managed regions are handed
 * back (release_region) and every later mapping of them is left alone while
 * a shared kernel mapping of them is known to exist (kmaps, forgotten at
 * munmap).
 */
struct kmap {
	uintptr_t start, end;
	dev_t dev;
	ino_t ino;
};
#define MAX_KMAPS 256
static struct kmap kmaps[MAX_KMAPS];
static unsigned nr_kmaps;

static void kmap_add(uintptr_t start, size_t len, dev_t dev, ino_t ino)
{
	if (nr_kmaps == MAX_KMAPS) {
		log_once("more than %d shared file mappings left to the kernel: later mappings of "
			 "those files may be managed and not see their stores",
			 MAX_KMAPS);
		return;
	}
	kmaps[nr_kmaps++] = (struct kmap){ start, start + len, dev, ino };
}

void file_kmap_forget(uintptr_t s, uintptr_t e)
{
	for (unsigned i = 0; i < nr_kmaps;)
		if (kmaps[i].start >= s && kmaps[i].end <= e)
			kmaps[i] = kmaps[--nr_kmaps];
		else
			i++;
}

static bool kmap_of(dev_t dev, ino_t ino)
{
	for (unsigned i = 0; i < nr_kmaps; i++)
		if (kmaps[i].dev == dev && kmaps[i].ino == ino)
			return true;
	return false;
}

/* Copy one page of a private region that the program changed (resident and
 * not equal to the file's copy, or in swap) to the same page of to. */
static void keep_private_page(struct region *r, uintptr_t a, uintptr_t to)
{
	static char *buf;
	uint64_t w = *region_pst(r, a);
	uint32_t f = ps_frame(w);
	bool have = false;

	if (!buf && !(buf = sys_alloc_meta(PAGE_SIZE)))
		return;
	if (ps_type(w) == PS_RESIDENT)
		have = !track_read_page(f, buf) && (!(lru_frame(f)->flags & F_FILE) ||
						    !lru_hash_equal(lru_page_hash(buf), lru_frame(f)->hash));
	else if (ps_type(w) == PS_SWAPPED) {
		int err = swap_read_page(ps_slot(w), buf);

		if (err == -EBADMSG)
			log_oom_kill("swap page at %#lx (slot %u) fails its %s: the swap "
				     "file was changed behind uswap; killing the program",
				     (unsigned long)a, ps_slot(w),
				     swap.encrypt ? "authentication" : "checksum");
		have = !err;
	}
	if (have && track_poke(to, buf))
		log_line("lost a private page of %s handing it to the kernel", r->file->path);
}

/*
 * Hand region i back to the kernel: a mapping of its file at the same
 * address, offset and protection. A shared region's changes are written
 * to the file first; a private one's changed pages are copied into the
 * new mapping (which makes them its private copies, as the kernel's COW
 * would have). Then region i is gone.
 */
static void release_region(size_t i)
{
	struct region *r = &region_table[i];
	uintptr_t s = r->start, e = r->end, tmp;
	int prot = r->app_prot != -1 ? r->app_prot :
		   r->file->writable ? PROT_READ | PROT_WRITE :
				       PROT_READ;
	struct mapfile *mf = r->file;
	uint64_t off = r->file_off;
	bool shared = r->shared;

	mapfile_get(mf);
	if (shared) {
		file_flush_locked(s, e);
		tmp = (uintptr_t)sys_mmap(NULL, e - s, prot, MAP_SHARED, mf->fd, (off_t)off);
	} else {
		tmp = (uintptr_t)sys_mmap(NULL, e - s, prot, MAP_PRIVATE, mf->fd, (off_t)off);
		if (tmp != (uintptr_t)MAP_FAILED) {
			struct region_walk walk = { 0 };
			uintptr_t lo, hi;

			r = region_lookup(s);
			region_span(r, s, e, &lo, &hi);
			for (uintptr_t a = region_next(r, &walk, lo, hi); a < hi;
			     a = region_next(r, &walk, a + PAGE_SIZE, hi))
				keep_private_page(r, a, tmp + (a - s));
		}
	}
	if (tmp == (uintptr_t)MAP_FAILED) {
		log_line("cannot hand a file mapping of %s back to the kernel: %s", mf->path,
			 strerror(errno));
		mapfile_put(mf);
		return;
	}
	page_discard(s, e - s);
	region_remove(s, e);
	if (sys_mremap((void *)tmp, e - s, e - s, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)s) ==
	    MAP_FAILED)
		log_line("cannot hand a file mapping of %s back to the kernel: %s", mf->path,
			 strerror(errno));
	else if (shared)
		kmap_add(s, e - s, mf->dev, mf->ino);
	mapfile_put(mf);
	stats.file_maps_released++;
}

/* Hand every managed region of the file back to the kernel. */
static void release_file(dev_t dev, ino_t ino)
{
	size_t i = 0;

	while (i < region_nr)
		if (region_table[i].kind == REGION_FILE && region_table[i].file->dev == dev &&
		    region_table[i].file->ino == ino)
			release_region(i); /* regions[i] is the next one now */
		else
			i++;
}

/* Would managing a new mapping of this file break the coherence of two
 * mappings (see kmaps)? If so the file's regions go back to the kernel. */
static bool file_conflict(const struct stat *st, bool shared)
{
	bool others = false, shared_other = false;

	if (kmap_of(st->st_dev, st->st_ino))
		return true;
	region_for_each(r)
		if (r->kind == REGION_FILE && r->file->dev == st->st_dev &&
		    r->file->ino == st->st_ino) {
			others = true;
			shared_other |= r->shared;
		}
	if (!others || (!shared && !shared_other))
		return false;
	release_file(st->st_dev, st->st_ino);
	return true;
}

static bool may_manage(int prot, int flags, int fd, struct stat *st)
{
	int type = flags & MAP_TYPE;

	return config.file_maps && !mlock_future() &&
	       (prot == PROT_READ || prot == (PROT_READ | PROT_WRITE)) &&
	       (type == MAP_PRIVATE || type == MAP_SHARED || type == MAP_SHARED_VALIDATE) &&
	       !(flags & (MAP_GROWSDOWN | MAP_STACK | MAP_HUGETLB | MAP_LOCKED | MAP_SYNC)) &&
	       fstat(fd, st) == 0 && S_ISREG(st->st_mode);
}

void *file_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	struct stat st;
	bool manage = may_manage(prot, flags, fd, &st);
	struct mapfile *mf = NULL;
	struct region *r = NULL;
	void *p;

	len = PAGE_ALIGN_UP(len);
	pager_lock();
	/* The kernel checks the call, picks the address, and for MAP_FIXED
	 * replaces what was there: changes of a shared file mapping there are
	 * written back first. */
	if ((flags & MAP_FIXED) && region_overlaps((uintptr_t)addr, len))
		file_flush_locked((uintptr_t)addr, (uintptr_t)addr + len);
	if (manage && file_conflict(&st, (flags & MAP_TYPE) != MAP_PRIVATE))
		manage = false;
	p = sys_mmap(addr, len, prot, manage ? flags & ~MAP_POPULATE : flags, fd, off);
	if (p == MAP_FAILED)
		goto out;
	file_kmap_forget((uintptr_t)p, (uintptr_t)p + len);
	if (region_overlaps((uintptr_t)p, len)) {
		page_discard((uintptr_t)p, len);
		region_remove((uintptr_t)p, (uintptr_t)p + len);
	}
	if (!manage || !(mf = mapfile_open(fd, &st)))
		goto kernel;
	if (sys_mmap(p, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
		     0) == MAP_FAILED)
		goto remap;
	if (uffd_register((uintptr_t)p, len) ||
	    !(r = region_add((uintptr_t)p, (uintptr_t)p + len, REGION_FILE)))
		goto remap;
	r->file = mf;
	r->file_off = (uint64_t)off;
	r->shared = (flags & MAP_TYPE) != MAP_PRIVATE;
	r->app_prot = prot;
	r->origin = region_origin_new(r, mf->path);
	stats.file_maps_managed++;
	pager_unlock();
	if (flags & MAP_POPULATE)
		pager_populate(p, len, prot);
	return p;
remap:
	/* Could not take it over: the kernel's mapping again, as asked. */
	p = sys_mmap(p, len, prot, (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED, fd, off);
	mapfile_put(mf);
kernel:
	if (p != MAP_FAILED) {
		stats.file_maps_kernel++;
		if ((flags & MAP_TYPE) != MAP_PRIVATE && (manage || fstat(fd, &st) == 0) &&
		    S_ISREG(st.st_mode))
			kmap_add((uintptr_t)p, len, st.st_dev, st.st_ino);
	}
out:
	pager_unlock();
	return p;
}

/* Write back one resident page of a shared file region if it changed. */
static int flush_page(struct region *r, uintptr_t a, uint32_t f)
{
	static char *buf;
	struct frame *fr = lru_frame(f);
	uint64_t off = region_file_off(r, a);
	page_hash_t h;
	size_t n;

	if (!buf && !(buf = sys_alloc_meta(PAGE_SIZE)))
		return -ENOMEM;
	if (!(fr->flags & F_FILE) || track_read_page(f, buf))
		return 0;
	h = lru_page_hash(buf);
	if (lru_hash_equal(h, fr->hash))
		return 0;
	n = mapfile_page_bytes(r->file, off);
	if (n && sys_pwrite(r->file->fd, buf, n, (off_t)off) != (ssize_t)n) {
		int err = errno ? -errno : -EIO;

		stats.file_write_errors++;
		return err;
	}
	fr->hash = h;
	stats.pgpgout++;
	return 0;
}

static bool is_shared_file(const struct region *r)
{
	return r->kind == REGION_FILE && r->shared;
}

/* Call fn on each resident page of the MAP_SHARED file regions within
 * [s, e); stop at the first nonzero return and give it back. */
static int each_shared_page(uintptr_t s, uintptr_t e,
			    int (*fn)(struct region *, uintptr_t, uint32_t))
{
	region_for_each_in(r, s, e) {
		struct region_walk walk = { 0 };
		uintptr_t lo, hi;

		if (!is_shared_file(r))
			continue;
		region_span(r, s, e, &lo, &hi);
		for (uintptr_t a = region_next(r, &walk, lo, hi); a < hi;
		     a = region_next(r, &walk, a + PAGE_SIZE, hi)) {
			uint64_t w = *region_pst(r, a);
			int rc;

			if (ps_type(w) == PS_RESIDENT && (rc = fn(r, a, ps_frame(w))))
				return rc;
		}
	}
	return 0;
}

/* Not to be written back now: a write of it is in flight, or a write()
 * of the program is changing its bytes in the file (file_io_begin..end):
 * our copy lacks them until file_io_end puts them in. */
static int busy_page(struct region *r, uintptr_t a, uint32_t f)
{
	return (lru_frame(f)->flags & F_WRITEBACK) || mapfile_busy(r->file, region_file_off(r, a));
}

static int flush_err;

static int flush_one(struct region *r, uintptr_t a, uint32_t f)
{
	int rc = flush_page(r, a, f);

	if (rc && !flush_err)
		flush_err = rc;
	return 0; /* on to the next page: write back all that can be */
}

/* Wait a little for what another thread must finish (a write in flight
 * landing), the pager lock let go meanwhile. */
static void nap_unlocked(void)
{
	struct timespec ts = { 0, 200000 };

	pager_unlock();
	nanosleep(&ts, NULL);
	pager_lock();
}

int file_flush_locked(uintptr_t s, uintptr_t e)
{
	int err;

	/* A write in flight carries an older copy: let it land first; and
	 * let a write() on these bytes finish putting them in the pages. */
	while (each_shared_page(s, e, busy_page))
		nap_unlocked();
	flush_err = 0;
	each_shared_page(s, e, flush_one);
	err = flush_err;
	if (err)
		log_once("writing a shared file mapping back failed: %s", strerror(-err));
	return err;
}

void file_flush_all(void)
{
	if (!pager.enabled || !file_mapped_any())
		return;
	/* From a signal handler that ends the program on a thread inside the
	 * runtime: that thread holds the lock, and the pages are still owed. */
	if (pager_held_by_me()) {
		file_flush_locked(0, UINTPTR_MAX);
		return;
	}
	pager_lock();
	file_flush_locked(0, UINTPTR_MAX);
	pager_unlock();
}

void file_fork_prepare(void)
{
	size_t i = 0;

	if (!mapfile_nr)
		return;
	while (i < region_nr)
		if (is_shared_file(&region_table[i]))
			release_region(i); /* regions[i] is the next one now */
		else
			i++;
}

int rt_msync(void *addr, size_t len, int flags)
{
	uintptr_t s = (uintptr_t)addr, e = PAGE_ALIGN_UP(s + len);
	struct mapfile *sync[16];
	unsigned nsync = 0;
	int r = (int)syscall(SYS_msync, addr, len, flags), err = 0;

	if (r || !pager.enabled || !file_mapped_any())
		return r;
	pager_lock();
	/* MS_ASYNC too: Linux makes the bytes visible at once (one page cache). */
	err = file_flush_locked(s, e);
	if (flags & MS_SYNC)
		region_for_each_in(rg, s, e)
			if (nsync < 16 && is_shared_file(rg) &&
			    (!nsync || sync[nsync - 1] != rg->file)) {
				sync[nsync++] = rg->file;
				mapfile_get(rg->file);
			}
	pager_unlock();
	for (unsigned i = 0; i < nsync; i++)
		if (fdatasync(sync[i]->fd) && !err)
			err = -errno;
	if (nsync) {
		pager_lock();
		for (unsigned i = 0; i < nsync; i++)
			mapfile_put(sync[i]);
		pager_unlock();
	}
	if (err) {
		errno = EIO;
		return -1;
	}
	return 0;
}

void file_advise(uintptr_t s, size_t len, int advice)
{
	int fadv = advice == MADV_RANDOM     ? POSIX_FADV_RANDOM :
		   advice == MADV_SEQUENTIAL ? POSIX_FADV_SEQUENTIAL :
					       POSIX_FADV_NORMAL;

	if (!file_mapped_any())
		return;
	pager_lock();
	region_for_each_in(r, s, s + len)
		if (r->kind == REGION_FILE)
			posix_fadvise(r->file->fd, 0, 0, fadv);
	pager_unlock();
}

bool file_within(uintptr_t s, uintptr_t e)
{
	region_for_each_in(r, s, e)
		if (r->kind == REGION_FILE)
			return true;
	return false;
}

bool file_may_write(uintptr_t s, uintptr_t e)
{
	region_for_each_in(r, s, e)
		if (is_shared_file(r) && !r->file->writable)
			return false;
	return true;
}

/* ---- read() and write() on a mapped file ---------------------------------- */

/* The page-aligned addresses of r that map file bytes [lo, hi): [*s, *e). */
static bool file_span(const struct region *r, uint64_t lo, uint64_t hi, uintptr_t *s, uintptr_t *e)
{
	uint64_t rlo = r->file_off, rhi = r->file_off + (r->end - r->start);

	if (hi <= rlo || lo >= rhi)
		return false;
	*s = r->start + PAGE_ALIGN_DOWN((lo > rlo ? lo : rlo) - rlo);
	*e = r->start + PAGE_ALIGN_UP((hi < rhi ? hi : rhi) - rlo);
	return true;
}

/* No writeback of file bytes [lo, hi) of mf until release_writeback: the
 * program is changing them in the file, and our copy lacks the change. */
static void hold_writeback(struct mapfile *mf, uint64_t lo, uint64_t hi)
{
	if (!mf->writers++) {
		mf->busy_lo = lo;
		mf->busy_hi = hi;
	} else {
		mf->busy_lo = lo < mf->busy_lo ? lo : mf->busy_lo;
		mf->busy_hi = hi > mf->busy_hi ? hi : mf->busy_hi;
	}
	mapfile_get(mf);
}

static void release_writeback(struct mapfile *mf)
{
	if (!--mf->writers)
		mf->busy_lo = mf->busy_hi = 0;
	mapfile_put(mf);
}

bool file_io_begin(int fd, long off, size_t len, bool write, struct file_io *io)
{
	struct stat st;
	struct mapfile *mf;
	uintptr_t s, e;

	if (!pager.enabled || !file_mapped_any() || !len)
		return false;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return false;
	if (off < 0) {
		int fl = fcntl(fd, F_GETFL);

		off = write && fl >= 0 && (fl & O_APPEND) ? (long)st.st_size :
							    (long)lseek(fd, 0, SEEK_CUR);
		if (off < 0)
			return false;
	}
	pager_lock();
	mf = mapfile_find(st.st_dev, st.st_ino);
	if (!mf) {
		pager_unlock();
		return false;
	}
	/* What the call reads, or overwrites in part, must be in the file first. */
	for (size_t i = 0; i < region_nr; i++)
		if (region_table[i].file == mf && region_table[i].shared &&
		    file_span(&region_table[i], (uint64_t)off, (uint64_t)off + len, &s, &e))
			file_flush_locked(s, e); /* may drop the lock: regions may move */
	*io = (struct file_io){ .mf = mf,
				.lo = (uint64_t)off,
				.hi = (uint64_t)off + len,
				.kind = write ? FILE_IO_WRITE : FILE_IO_READ };
	/* No writeback of these bytes until file_io_end has copied the new
	 * ones into the pages (an older copy must not land after). */
	if (write)
		hold_writeback(mf, io->lo, io->hi);
	pager_unlock();
	return write;
}

/*
 * Bytes [b0, b1) of the page at a of r changed in the file: put the new ones
 * (read from the file, or zeros) into our copy where it is the file's (a
 * MAP_SHARED page, or a MAP_PRIVATE one the program has not written). A
 * page being read in is read again instead. -1: the page could not be read.
 */
static int patch_page(struct region *r, uintptr_t a, size_t b0, size_t b1, bool zeros)
{
	static char *page;
	uint64_t w = *region_pst(r, a), poff = region_file_off(r, a);
	uint32_t f = ps_frame(w);
	struct frame *fr = lru_frame(f);
	bool clean;

	if (ps_type(w) == PS_READING && (fr->flags & F_FILE)) {
		fr->flags |= F_REREAD; /* its read may have seen the old bytes */
		return 0;
	}
	if (ps_type(w) != PS_RESIDENT || !(fr->flags & F_FILE) || (fr->flags & F_WRITEBACK))
		return 0;
	if ((!page && !(page = sys_alloc_meta(PAGE_SIZE))) || track_read_page(f, page))
		return -1;
	/* A MAP_PRIVATE page the program wrote is its own copy now. */
	clean = lru_hash_equal(lru_page_hash(page), fr->hash);
	if (!r->shared && !clean)
		return 0;
	if (zeros)
		memset(page + b0, 0, b1 - b0);
	else if (sys_pread(r->file->fd, page + b0, b1 - b0, (off_t)(poff + b0)) !=
		 (ssize_t)(b1 - b0))
		return 0;
	if (track_write_bytes(f, b0, page + b0, b1 - b0))
		return 0;
	if (clean)
		fr->hash = lru_page_hash(page);
	return 0;
}

/* Copy the file's bytes [lo, hi) into the resident pages of r that map them. */
static void patch_region(struct region *r, uint64_t lo, uint64_t hi)
{
	uintptr_t s, e;

	if (!file_span(r, lo, hi, &s, &e))
		return;
	for (uintptr_t a = s; a < e; a += PAGE_SIZE) {
		uint64_t poff = region_file_off(r, a);
		uint64_t b0 = (lo > poff ? lo : poff) - poff,
			 b1 = (hi < poff + PAGE_SIZE ? hi : poff + PAGE_SIZE) - poff;

		patch_page(r, a, (size_t)b0, (size_t)b1, false);
	}
}

/* ---- ftruncate(), truncate() and fallocate() on a mapped file -------------- */

static int in_writeback(struct region *r, uintptr_t a, uint32_t f)
{
	(void)r;
	(void)a;
	return (lru_frame(f)->flags & F_WRITEBACK) != 0;
}

/* Is a write of one of mf's pages mapping file bytes [lo, hi) in flight? */
static bool writeback_in(struct mapfile *mf, uint64_t lo, uint64_t hi)
{
	uintptr_t s, e;

	region_for_each(r)
		if (r->file == mf && r->shared && file_span(r, lo, hi, &s, &e) &&
		    each_shared_page(s, e, in_writeback))
			return true;
	return false;
}

static bool cut_begin(const struct stat *st, uint64_t lo, uint64_t hi, bool cut,
		      struct file_io *io)
{
	struct mapfile *mf;

	pager_lock();
	mf = mapfile_find(st->st_dev, st->st_ino);
	if (!mf) {
		pager_unlock();
		return false;
	}
	/* No writeback there from now on, and the writes in flight there
	 * (older bytes) land before the call: after it one would put the old
	 * bytes back, or lengthen the file again. */
	hold_writeback(mf, lo, hi);
	while (writeback_in(mf, lo, hi))
		nap_unlocked();
	*io = (struct file_io){
		.mf = mf, .lo = lo, .hi = hi, .kind = cut ? FILE_IO_CUT : FILE_IO_HOLE
	};
	pager_unlock();
	return true;
}

bool file_truncate_begin(int fd, const char *path, long len, struct file_io *io)
{
	struct stat st;

	if (!pager.enabled || !file_mapped_any() || len < 0)
		return false;
	if ((path ? stat(path, &st) : fstat(fd, &st)) || !S_ISREG(st.st_mode))
		return false;
	/* Growing, the bytes past the old end read zeros: in the page that
	 * held it too, whatever the program stored past the end there. */
	return cut_begin(&st, (uint64_t)len < (uint64_t)st.st_size ? (uint64_t)len :
								    (uint64_t)st.st_size,
			 UINT64_MAX, true, io);
}

bool file_fallocate_begin(int fd, int mode, long off, long len, struct file_io *io)
{
	struct stat st;

	if (!pager.enabled || !file_mapped_any() || off < 0 || len <= 0 ||
	    fstat(fd, &st) || !S_ISREG(st.st_mode))
		return false;
	if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
		/* The file's bytes move: its mappings go back to the kernel,
		 * which moves its page cache with them. */
		pager_lock();
		if (mapfile_find(st.st_dev, st.st_ino))
			release_file(st.st_dev, st.st_ino);
		pager_unlock();
		return false;
	}
	if (!(mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)))
		return false; /* the bytes stay as they are */
	return cut_begin(&st, (uint64_t)off, (uint64_t)off + (uint64_t)len, false, io);
}

/* Bytes [b0, b1) of the page at a of r read zeros in the file now. */
static void zero_part(struct region *r, uintptr_t a, size_t b0, size_t b1)
{
	if (patch_page(r, a, b0, b1, true))
		log_once("cannot zero a page of %s that the program cut from the file: "
			 "it keeps its old bytes", r->file->path);
}

/*
 * The file bytes [lo, hi) that r maps are gone (cut: the file ends at lo
 * now) or read zeros (a hole), as the kernel's page cache has it after the
 * call: pages wholly within go (cut, as truncate_pagecache unmaps even a
 * private mapping's copies; a hole, in a MAP_SHARED mapping), their next
 * touch reading the file; the rest read zeros there where they are the
 * file's copy.
 */
static void cut_region(struct region *r, uint64_t lo, uint64_t hi, bool cut)
{
	uint64_t rlo = r->file_off, rhi = rlo + (r->end - r->start);
	uint64_t clo = (lo > rlo ? lo : rlo) - rlo, chi = (hi < rhi ? hi : rhi) - rlo;
	uint64_t whole_lo = PAGE_ALIGN_UP(clo), whole_hi = PAGE_ALIGN_DOWN(chi);
	struct region_walk walk = { 0 };

	if (clo >= chi)
		return;
	if (clo & (PAGE_SIZE - 1))
		zero_part(r, r->start + PAGE_ALIGN_DOWN(clo), clo & (PAGE_SIZE - 1),
			  chi - PAGE_ALIGN_DOWN(clo) < PAGE_SIZE ? chi - PAGE_ALIGN_DOWN(clo) :
								 PAGE_SIZE);
	if ((chi & (PAGE_SIZE - 1)) && whole_hi >= whole_lo)
		zero_part(r, r->start + whole_hi, 0, chi & (PAGE_SIZE - 1));
	if (whole_lo >= whole_hi)
		return;
	if (cut || r->shared) {
		uintptr_t s = r->start + whole_lo;
		size_t len = whole_hi - whole_lo;

		if (sys_madvise((void *)s, len, MADV_DONTNEED))
			log_once("cannot drop the pages of %s that the program cut from the file: %s",
				 r->file->path, strerror(errno));
		page_discard(s, len);
		return;
	}
	for (uintptr_t a = region_next(r, &walk, r->start + whole_lo, r->start + whole_hi);
	     a < r->start + whole_hi; a = region_next(r, &walk, a + PAGE_SIZE, r->start + whole_hi))
		zero_part(r, a, 0, PAGE_SIZE);
}

void file_io_end(struct file_io *io, ssize_t r)
{
	struct mapfile *mf = io->mf;

	pager_lock();
	region_for_each(rg)
		if (rg->file == mf) {
			if (io->kind == FILE_IO_WRITE && r > 0)
				patch_region(rg, io->lo, io->lo + (uint64_t)r);
			else if (io->kind != FILE_IO_WRITE && r == 0)
				cut_region(rg, io->lo, io->hi, io->kind == FILE_IO_CUT);
		}
	release_writeback(mf);
	pager_unlock();
}
