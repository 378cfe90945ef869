/* What the CLI (and the preload, at exec) checks about a program before running it: whether the
 * preload can reach it at all (a static binary, secure-execution mode) and
 * whether it brings a sanitizer runtime that replaces malloc. */
#define _GNU_SOURCE
#include "probe.h"
#include "sys.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The file execvp would run for name. */
static int resolve(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/'))
		return snprintf(out, len, "%s", name) < (int)len ? 0 : -1;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		int n = (int)(end - path);

		if (snprintf(out, len, "%.*s/%s", n ? n : 1, n ? path : ".", name) < (int)len &&
		    access(out, X_OK) == 0)
			return 0;
		path = *end ? end + 1 : end;
	}
	return -1;
}

static const char *sanitizer_of(const char *s)
{
	if (strstr(s, "libasan") || !strcmp(s, "__asan_init"))
		return "AddressSanitizer";
	if (strstr(s, "libtsan") || !strcmp(s, "__tsan_init"))
		return "ThreadSanitizer";
	if (strstr(s, "libmsan") || !strcmp(s, "__msan_init"))
		return "MemorySanitizer";
	if (strstr(s, "libhwasan") || !strcmp(s, "__hwasan_init"))
		return "HWAddressSanitizer";
	return NULL;
}

static bool in_file(const void *base, size_t size, uint64_t off, uint64_t len)
{
	(void)base;
	return off <= size && len <= size - off;
}

/* Names in the dynamic section (DT_NEEDED) and the dynamic symbols. */
static const char *find_sanitizer(const unsigned char *m, size_t size)
{
	const Elf64_Ehdr *eh = (const void *)m;
	const Elf64_Shdr *sh;

	if (!eh->e_shoff || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_file(m, size, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
		return NULL;
	sh = (const void *)(m + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strs;
		const char *str, *hit;

		if ((sh[i].sh_type != SHT_DYNAMIC && sh[i].sh_type != SHT_DYNSYM) ||
		    sh[i].sh_link >= eh->e_shnum)
			continue;
		strs = &sh[sh[i].sh_link];
		if (!in_file(m, size, sh[i].sh_offset, sh[i].sh_size) ||
		    !in_file(m, size, strs->sh_offset, strs->sh_size) || !strs->sh_size)
			continue;
		str = (const char *)m + strs->sh_offset;
		if (sh[i].sh_type == SHT_DYNAMIC) {
			const Elf64_Dyn *d = (const void *)(m + sh[i].sh_offset);

			for (size_t k = 0; k < sh[i].sh_size / sizeof(*d) && d[k].d_tag != DT_NULL;
			     k++)
				if (d[k].d_tag == DT_NEEDED && d[k].d_un.d_val < strs->sh_size &&
				    memchr(str + d[k].d_un.d_val, 0,
					   strs->sh_size - d[k].d_un.d_val) &&
				    (hit = sanitizer_of(str + d[k].d_un.d_val)))
					return hit;
		} else {
			const Elf64_Sym *sym = (const void *)(m + sh[i].sh_offset);

			for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++)
				if (sym[k].st_name < strs->sh_size &&
				    sym[k].st_shndx != SHN_UNDEF &&
				    memchr(str + sym[k].st_name, 0,
					   strs->sh_size - sym[k].st_name) &&
				    (hit = sanitizer_of(str + sym[k].st_name)))
					return hit;
		}
	}
	return NULL;
}

enum probe probe_program(const char *name, char *detail, size_t len)
{
	char path[4096];
	const unsigned char *m;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	enum probe res = PROBE_OK;
	bool interp = false;
	struct stat st;
	const char *san;
	int fd;

	*detail = 0;
	if (resolve(name, path, sizeof(path)) || stat(path, &st) || !S_ISREG(st.st_mode))
		return PROBE_OK; /* execvp will say what is wrong */
	/* Secure execution: the loader ignores LD_PRELOAD paths with a slash. */
	if (((st.st_mode & S_ISUID) && st.st_uid != getuid()) ||
	    ((st.st_mode & S_ISGID) && st.st_gid != getgid()) ||
	    getxattr(path, "security.capability", NULL, 0) > 0)
		return PROBE_SECURE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return PROBE_OK;
	m = (size_t)st.st_size >= sizeof(Elf64_Ehdr) ?
		    sys_mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) :
		    MAP_FAILED;
	close(fd);
	if (m == MAP_FAILED)
		return PROBE_OK;
	eh = (const void *)m;
	/* Only 64-bit ELF executables are ours to judge; scripts name their interpreter. */
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_file(m, (size_t)st.st_size, eh->e_phoff,
		     (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		goto out;
	ph = (const void *)(m + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++)
		interp |= ph[i].p_type == PT_INTERP;
	if (!interp) {
		res = PROBE_STATIC;
		goto out;
	}
	san = find_sanitizer(m, (size_t)st.st_size);
	if (san) {
		snprintf(detail, len, "%s", san);
		res = PROBE_SANITIZER;
	}
out:
	sys_munmap((void *)m, (size_t)st.st_size);
	return res;
}
