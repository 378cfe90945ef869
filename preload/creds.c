/*
 * set*id and capset: the program's credential changes, followed by the
 * runtime's threads (base/thread.c explains why glibc would otherwise
 * abort). Each hook notes the calling thread, then calls libc's.
 */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS
#include "interpose.h"
#include "thread.h"

#include <grp.h>
#include <linux/capability.h>
#include <sys/types.h>
#include <unistd.h>

/* glibc exports capset; libcap's header declares it, not glibc's. */
extern int capset(cap_user_header_t hdrp, const cap_user_data_t datap);

#define CREDS_HOOK(name, params, args)  \
	REAL_SLOT(name);                \
	EXPORT int name params          \
	{                               \
		int r_;                 \
		thread_creds_capture(); \
		r_ = REAL(name) args;   \
		thread_creds_done();    \
		return r_;              \
	}

CREDS_HOOK(setuid, (uid_t u), (u))
CREDS_HOOK(setgid, (gid_t g), (g))
CREDS_HOOK(seteuid, (uid_t u), (u))
CREDS_HOOK(setegid, (gid_t g), (g))
CREDS_HOOK(setreuid, (uid_t r, uid_t e), (r, e))
CREDS_HOOK(setregid, (gid_t r, gid_t e), (r, e))
CREDS_HOOK(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
CREDS_HOOK(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))
CREDS_HOOK(setgroups, (size_t n, const gid_t *l), (n, l))

REAL_SLOT(capset);
EXPORT int capset(cap_user_header_t hdrp, const cap_user_data_t datap)
{
	int r = REAL(capset)(hdrp, datap);

	/* pid 0 or our own tid: the calling thread changed. */
	if (!r && hdrp && (!hdrp->pid || hdrp->pid == gettid()))
		thread_creds_mirror();
	return r;
}
