/* Interposing libc: EXPORT gives one of our definitions of a libc name
 * default visibility (the rest of the object is hidden; libuswap.map lists
 * what is exported); REAL(name) is the definition ours hides.
 *
 * REAL(name) yields a __typeof__(name) *, the next definition of name
 * (dlsym RTLD_NEXT), looked up on first use and kept in the file's slot for
 * name, which REAL_SLOT(name) declares at file scope: every use in the file
 * shares it, so a lookup done early (io_init, at load) serves the calls
 * made later, from a signal handler say. A relaxed load costs what a plain
 * one does; racing first uses store the same value. */
#ifndef USWAP_PRELOAD_INTERPOSE_H
#define USWAP_PRELOAD_INTERPOSE_H

#include <dlfcn.h>

#define EXPORT __attribute__((visibility("default")))

#define REAL_SLOT(name) static __typeof__(name) *real_##name

#define REAL(name)                                                                            \
	({                                                                                    \
		__typeof__(name) *real_fn_ = __atomic_load_n(&real_##name, __ATOMIC_RELAXED); \
		if (__builtin_expect(!real_fn_, 0)) {                                         \
			real_fn_ = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);               \
			__atomic_store_n(&real_##name, real_fn_, __ATOMIC_RELAXED);           \
		}                                                                             \
		real_fn_;                                                                     \
	})

#endif
