/* The bootstrap (boot.c): the runtime starts on the first call into us (or
 * at load, in the constructor). Until it is up, and for the initialising
 * thread's own nested calls while it starts the runtime's threads, a small
 * static bump arena serves malloc. Once managed, each thread's mallocs go
 * to one jemalloc arena whose extents come from the managed heap.
 *
 * The fast paths (boot_ensure_init, boot_bind_thread, boot_owns) are
 * inline: malloc and free pay a load and a branch, no call. */
#ifndef USWAP_PRELOAD_BOOT_H
#define USWAP_PRELOAD_BOOT_H

#include "jx.h"
#include "sys.h"

#include <stdbool.h>
#include <stddef.h>

/* Hidden also where only declared: the inlines below address them
 * directly, as boot.c does, not through the GOT. */
#pragma GCC visibility push(hidden)

enum { BOOT_NEW, BOOT_INIT, BOOT_MANAGED, BOOT_OFF };
extern int boot_state;
/* The managed arena, and whether the calling thread is bound to it. */
extern unsigned boot_arena;
extern __thread bool boot_bound __attribute__((tls_model("initial-exec")));

#define BOOT_HEAP_SIZE (1 << 20)
extern char boot_heap[BOOT_HEAP_SIZE];

/* The slow path of boot_ensure_init: starts the runtime if nobody has. */
bool boot_ensure_init_slow(void);

/* n bytes aligned to align from the bootstrap arena (NULL: exhausted); a
 * block's size is in the word before it. Never freed. */
void *boot_alloc(size_t n, size_t align);

#pragma GCC visibility pop

/* True once the runtime is up (managed or off); false for the initialising
 * thread's own nested calls, which the bootstrap arena serves. */
static inline bool boot_ensure_init(void)
{
	if (likely(__atomic_load_n(&boot_state, __ATOMIC_ACQUIRE) >= BOOT_MANAGED))
		return true;
	return boot_ensure_init_slow();
}

/* The calling thread's mallocs go to the managed arena (once managed). */
static inline void boot_bind_thread(void)
{
	if (likely(boot_bound))
		return;
	boot_bound = true;
	if (boot_state == BOOT_MANAGED)
		jx_mallctl("thread.arena", NULL, NULL, &boot_arena, sizeof(boot_arena));
}

/* p is a block of the bootstrap arena, and its size. */
static inline bool boot_owns(const void *p)
{
	return (const char *)p >= boot_heap && (const char *)p < boot_heap + sizeof(boot_heap);
}

static inline size_t boot_size(const void *p)
{
	return ((const size_t *)p)[-1];
}

#endif
