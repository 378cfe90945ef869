/* The swap file and its slot allocator. One slot = one page at offset
 * slot * 4096. The file grows in chunks as slots are needed, up to the cap.
 * Slot metadata is one bit per slot. Callers hold rt.lock. */
#ifndef USWAP_SWAP_H
#define USWAP_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct swap {
	int fd;
	bool direct;          /* O_DIRECT (off on file systems that refuse it, e.g. tmpfs) */
	uint64_t file_slots;  /* slots backed by the file's current size */
	uint64_t max_slots;   /* cap from --swap-size, or the 32-bit slot space */
	uint64_t nr_used;
	uint64_t cursor;      /* next-fit: pages evicted together get neighbouring slots */
	uint64_t *bitmap;
	int grow_error;       /* errno of the last failed growth, 0 if none */
	/* Copy-on-fork: slots a forked child is still copying to its own file
	 * may be freed here but not reused until every such child is done
	 * (its end of a pipe is written or closed). */
	uint64_t *frozen;
	int frozen_fds[32];
	unsigned nr_frozen;
};

extern struct swap swap;

/* Create the swap file: anonymous (O_TMPFILE, else created and unlinked,
 * mode 0600) under path if it is a directory, else at path (which must not
 * exist), else under $TMPDIR or /tmp. On failure writes a reason to err. */
int swap_open(const char *path, uint64_t cap_bytes, char *err, size_t errlen);
/* A free slot, growing the file if needed; UINT32_MAX when full. */
uint32_t swap_slot_alloc(void);
void swap_slot_free(uint32_t slot);

/* Parent, at fork: freeze the slots in use until the child closes the
 * other end of done_fd's pipe. Child: open a swap file of its own and copy
 * the slots in use into it, at the same offsets. */
void swap_freeze(int done_fd);
static inline bool swap_slot_frozen(uint32_t slot)
{
	return swap.frozen && (swap.frozen[slot / 64] >> (slot % 64) & 1);
}
void swap_thaw_poll(void);
int swap_fork_child(const char *path, char *err, size_t errlen);

static inline uint64_t swap_offset(uint32_t slot)
{
	return (uint64_t)slot << 12;
}

#endif
