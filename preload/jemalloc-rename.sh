#!/bin/sh
# Make a private copy of Debian's PIC jemalloc archive for the preload object:
# drop its C++ operators (they pull in libstdc++; libstdc++'s own operator new
# calls our malloc), rename its public API to jx_* so that only our thin
# wrappers export malloc, and send its own mmap/munmap/madvise/mprotect to raw
# system calls so that jemalloc's unmanaged metadata never enters our hooks,
# and hand its fork handlers to ours (boot.c), which order them.
set -eu
in=$1
out=$2
tmp=$out.tmp
cp "$in" "$tmp"
ar d "$tmp" jemalloc_cpp.pic.o 2>/dev/null || true
map=$out.syms
: > "$map"
for s in malloc calloc realloc free posix_memalign aligned_alloc memalign valloc \
         malloc_usable_size mallocx rallocx xallocx sallocx dallocx sdallocx nallocx \
         mallctl mallctlnametomib mallctlbymib malloc_stats_print malloc_message \
         malloc_conf malloc_conf_2_conf_harder; do
	echo "$s jx_$s" >> "$map"
done
for s in mmap munmap madvise mprotect pthread_atfork; do
	echo "$s uswap_je_$s" >> "$map"
done
objcopy --redefine-syms="$map" "$tmp" "$out"
rm -f "$tmp" "$map"
