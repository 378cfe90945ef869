/*
 * The mmap family, the mlock family, msync, madvise and mprotect: to the
 * runtime (rt_*). The program's private anonymous mappings are sampled as
 * allocations (sites.h).
 */
#define _GNU_SOURCE
/* Define mmap and mmap64 under their own names (meson sets _FILE_OFFSET_BITS=64,
 * which would turn our mmap into mmap64). */
#undef _FILE_OFFSET_BITS
#include "boot.h"
#include "file.h"
#include "interpose.h"
#include "madvise.h"
#include "mlock.h"
#include "mmap.h"
#include "mprotect.h"
#include "sites.h"
#include "sys.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

static inline bool sample_map(size_t len, int flags)
{
	return (flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE && sites_tick(len);
}

static __attribute__((noinline)) void *sampled_mmap(void *addr, size_t len, int prot, int flags,
						    int fd, off_t off)
{
	bool s = sites_begin(len);
	void *p = rt_mmap(addr, len, prot, flags, fd, off);

	if (s)
		sites_end(p == MAP_FAILED ? NULL : p, PAGE_ALIGN_UP(len));
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	boot_ensure_init();
	if (sample_map(len, flags))
		return sampled_mmap(addr, len, prot, flags, fd, off);
	return rt_mmap(addr, len, prot, flags, fd, off);
}
EXPORT void *uswap_mmap64(void *addr, size_t len, int prot, int flags, int fd,
			  off_t off) __asm__("mmap64");
EXPORT void *uswap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	boot_ensure_init();
	if (sample_map(len, flags))
		return sampled_mmap(addr, len, prot, flags, fd, off);
	return rt_mmap(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	sites_unmap((uintptr_t)addr, len); /* before the range can be reused */
	return rt_munmap(addr, len);
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	struct sites_moved moved;
	void *new_addr = NULL, *p;

	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	sites_take((uintptr_t)old, old_len, &moved);
	p = rt_mremap(old, old_len, new_len, flags, new_addr);
	if (p == MAP_FAILED)
		sites_put(&moved, (uintptr_t)old, old_len);
	else
		sites_put(&moved, (uintptr_t)p, PAGE_ALIGN_UP(new_len));
	return p;
}

EXPORT int madvise(void *addr, size_t len, int advice)
{
	return rt_madvise(addr, len, advice);
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	return rt_mprotect(addr, len, prot);
}

EXPORT int mlock(const void *addr, size_t len)
{
	return rt_mlock(addr, len, 0, true);
}

EXPORT int mlock2(const void *addr, size_t len, unsigned flags)
{
	return rt_mlock(addr, len, flags, true);
}

EXPORT int munlock(const void *addr, size_t len)
{
	return rt_mlock(addr, len, 0, false);
}

EXPORT int mlockall(int flags)
{
	return rt_mlockall(flags);
}

EXPORT int munlockall(void)
{
	return rt_munlockall();
}

EXPORT int msync(void *addr, size_t len, int flags)
{
	return rt_msync(addr, len, flags);
}
