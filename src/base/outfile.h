/* The files uswap writes (outfile.c): the stats file, the trace, the
 * report, the descendants' records. None is written through a symbolic
 * link or into a FIFO, device or directory; a new file is made with
 * O_EXCL under a temporary name in its directory and renamed into place,
 * so a name someone else made first is replaced, never written through.
 * Raw system calls: the stats file is written from exit paths. */
#ifndef USWAP_OUTFILE_H
#define USWAP_OUTFILE_H

#include <stddef.h>

/* Can path be written? It must be absent or a regular file (not a link),
 * in a directory we may create files in. 0, or -errno with a line in err
 * naming what (e.g. "stats file") and the problem. Never blocks (a FIFO is
 * not opened) and creates nothing. */
int outfile_check(const char *what, const char *path, char *err, size_t errlen);

/* A new file next to path ("<path>.tmp-XXXXXX", O_EXCL | O_NOFOLLOW,
 * mode 0644 less the umask); its name goes to tmp (tmplen bytes). Returns
 * the descriptor (O_CLOEXEC) or -errno. */
int outfile_create(const char *path, char *tmp, size_t tmplen);

/* Rename tmp over path, unless path now is something other than a
 * regular file (-ELOOP a symbolic link, -EINVAL a FIFO, device or
 * directory); tmp is removed on failure. 0 or -errno. */
int outfile_commit(const char *tmp, const char *path);

/* A new private directory "<prefix>XXXXXX" (mode 0700, made with mkdir,
 * which never follows a link); its name goes to out. 0 or -errno. */
int outfile_mkdtemp(const char *prefix, char *out, size_t outlen);

#endif
