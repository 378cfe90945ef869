/*
 * Naming the frames of sampled call stacks, at exit (sites.c).
 *
 * dladdr names only exported symbols: the program's static functions (and
 * a program not linked -rdynamic exports none) need the .symtab of the
 * file, read here from a private read-only mapping of it. C++ names are
 * demangled with the program's own __cxa_demangle, if it has one.
 */
#define _GNU_SOURCE
#include "symbolize.h"

#include "jbuf.h"
#include "sys.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MODULES 128

struct module {
	const struct link_map *lm;
	uintptr_t base;
	char name[64]; /* basename */
	bool alloc;    /* the allocator's side: libc, libstdc++, ld.so, us */
	void *map;
	size_t maplen;
	const ElfW(Sym) * sym;
	size_t nsym;
	const char *str;
	size_t strsz;
};

struct symbolizer {
	struct module *mod;
	uint32_t nr;
};

static void elf_load(struct module *m, const char *path)
{
	const ElfW(Ehdr) * eh;
	const ElfW(Shdr) * sh, *pick = NULL;
	struct stat st;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(*eh)) {
		close(fd);
		return;
	}
	m->map = sys_mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		return;
	}
	m->maplen = (size_t)st.st_size;
	eh = m->map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(*sh) ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(*sh) > m->maplen)
		return;
	sh = (const ElfW(Shdr) *)((const char *)m->map + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_DYNSYM && !pick))
			pick = &sh[i];
	if (!pick || pick->sh_link >= eh->e_shnum || pick->sh_offset + pick->sh_size > m->maplen ||
	    sh[pick->sh_link].sh_offset + sh[pick->sh_link].sh_size > m->maplen)
		return;
	m->sym = (const ElfW(Sym) *)((const char *)m->map + pick->sh_offset);
	m->nsym = pick->sh_size / sizeof(ElfW(Sym));
	m->str = (const char *)m->map + sh[pick->sh_link].sh_offset;
	m->strsz = sh[pick->sh_link].sh_size;
}

static bool alloc_module(const char *name)
{
	static const char *const prefix[] = { "libc.so", "libstdc++.so", "ld-linux", "libuswap" };

	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (!strncmp(name, prefix[i], strlen(prefix[i])))
			return true;
	return false;
}

static struct module *module_of(struct symbolizer *y, uintptr_t ip)
{
	const struct link_map *lm = NULL;
	struct module *m;
	char exe[512];
	const char *path, *base;
	Dl_info info;

	if (!dladdr1((void *)(ip - 1), &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return NULL;
	for (uint32_t i = 0; i < y->nr; i++)
		if (y->mod[i].lm == lm)
			return &y->mod[i];
	if (y->nr == MAX_MODULES)
		return NULL;
	m = &y->mod[y->nr++];
	m->lm = lm;
	m->base = lm->l_addr;
	path = lm->l_name;
	if (!path || !path[0]) {
		/* The main program: its link map has no name. */
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		exe[n > 0 ? n : 0] = 0;
		path = n > 0 ? exe : "/proc/self/exe";
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	memcpy(m->name, base, strnlen(base, sizeof(m->name) - 1)); /* zeroed: stays a string */
	m->alloc = alloc_module(m->name);
	elf_load(m, path);
	return m;
}

/* The function holding ip: its name and ip's offset in it. */
static const char *sym_of(const struct module *m, uintptr_t ip, uintptr_t *off)
{
	uintptr_t a = ip - 1 - m->base;
	Dl_info info;

	for (size_t i = 0; m->sym && i < m->nsym; i++) {
		const ElfW(Sym) *s = &m->sym[i];
		int type = ELF64_ST_TYPE(s->st_info);

		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF ||
		    a < s->st_value || a >= s->st_value + s->st_size || s->st_name >= m->strsz)
			continue;
		*off = ip - m->base - s->st_value;
		return m->str + s->st_name;
	}
	if (dladdr((void *)(ip - 1), &info) && info.dli_sname && info.dli_saddr) {
		*off = ip - (uintptr_t)info.dli_saddr;
		return info.dli_sname;
	}
	return NULL;
}

/* C++ names, demangled by libstdc++ if the program has it (at exit, out
 * of our locks: it mallocs). */
typedef char *demangle_fn(const char *, char *, size_t *, int *);

static const char *demangled(const char *name, char **out)
{
	static demangle_fn *demangle;
	int status = -1;

	*out = NULL;
	if (strncmp(name, "_Z", 2))
		return name;
	if (!demangle)
		demangle = (demangle_fn *)dlsym(RTLD_DEFAULT, "__cxa_demangle");
	if (demangle)
		*out = demangle(name, NULL, NULL, &status);
	return status == 0 && *out ? *out : name;
}

/* "name+0xoff (mod)", or the name alone without a module. */
static void name_json(struct jbuf *j, const char *name, uintptr_t off, const char *mod)
{
	char *d, buf[1024];

	name = demangled(name, &d);
	if (mod)
		snprintf(buf, sizeof(buf), "%s+0x%lx (%s)", name, (unsigned long)off, mod);
	jbuf_str(j, mod ? buf : name);
	free(d);
}

/* The standard library's templates, compiled into the program. */
static bool std_template(const char *name)
{
	return !strncmp(name, "_ZNSt", 5) || !strncmp(name, "_ZNKSt", 6) ||
	       !strncmp(name, "_ZSt", 4) || !strncmp(name, "_ZN9__gnu_cxx", 13) ||
	       !strncmp(name, "_ZNK9__gnu_cxx", 14);
}

void symbolize_frame_json(struct jbuf *j, struct symbolizer *y, uintptr_t ip)
{
	struct module *m = module_of(y, ip);
	const char *fn = NULL;
	uintptr_t off = 0;
	char buf[512];

	if (m)
		fn = sym_of(m, ip, &off);
	if (fn) {
		name_json(j, fn, off, m->name);
		return;
	}
	if (m)
		snprintf(buf, sizeof(buf), "0x%lx (%s)", (unsigned long)(ip - m->base), m->name);
	else
		snprintf(buf, sizeof(buf), "0x%lx", (unsigned long)ip);
	jbuf_str(j, buf);
}

/* The first frame in the program's code, past the allocator's wrappers
 * (strdup in libc, operator new and std::string in libstdc++) and the
 * standard templates instantiated in the program (std::vector's
 * _M_realloc_insert); the first frame if there is none. */
void symbolize_function_json(struct jbuf *j, struct symbolizer *y, const uintptr_t *ip, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct module *m = module_of(y, ip[i]);
		const char *fn;
		uintptr_t off;

		if (!m || m->alloc)
			continue;
		fn = sym_of(m, ip[i], &off);
		if (fn && std_template(fn))
			continue;
		if (fn)
			name_json(j, fn, 0, NULL);
		else
			symbolize_frame_json(j, y, ip[i]);
		return;
	}
	if (n)
		symbolize_frame_json(j, y, ip[0]);
	else
		jbuf_str(j, "(other)");
}

struct symbolizer *symbolize_new(void)
{
	struct symbolizer *y = sys_alloc_meta(sizeof(*y));

	if (y && !(y->mod = sys_alloc_meta(MAX_MODULES * sizeof(*y->mod)))) {
		sys_munmap(y, PAGE_ALIGN_UP(sizeof(*y)));
		y = NULL;
	}
	return y;
}

void symbolize_free(struct symbolizer *y)
{
	if (!y)
		return;
	for (uint32_t i = 0; i < y->nr; i++)
		if (y->mod[i].map)
			sys_munmap(y->mod[i].map, y->mod[i].maplen);
	sys_munmap(y->mod, PAGE_ALIGN_UP(MAX_MODULES * sizeof(*y->mod)));
	sys_munmap(y, PAGE_ALIGN_UP(sizeof(*y)));
}
