/* The swap file and its slot allocator. One slot = one page at offset
 * slot * 4096. The file grows in chunks as slots are needed, up to the cap.
 * Slot metadata is one bit per slot. Callers hold the pager lock. */
#ifndef USWAP_SWAP_H
#define USWAP_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lru.h"

struct swap {
	int fd;
	bool direct;	     /* O_DIRECT (off on file systems that refuse it, e.g. tmpfs) */
	uint64_t file_slots; /* slots backed by the file's current size */
	uint64_t max_slots;  /* cap from --swap-size, or the 32-bit slot space */
	uint64_t nr_used;
	uint64_t cursor; /* next-fit: pages evicted together get neighbouring slots */
	uint64_t *bitmap;
	/* Per slot, the low 32 bits of lru_page_hash (keyed XXH3-128) of what was last written
	 * there, checked on every read: 4 bytes, with the three bitmaps and owner 12.4
	 * bytes a slot. Sized with the file (mremap). */
	uint32_t *sum;
	/* Per slot, the address of the page whose copy it holds, or 0: the
	 * reverse map slot-cluster read-ahead reads neighbours by (8 bytes a
	 * slot; a stale entry is harmless, the reader checks the page's state
	 * names the slot). Sized with sum. */
	uintptr_t *owner;
	uint64_t sum_slots;
	/* --swap-encrypt: per slot, the AEAD tag and nonce of its page (40
	 * bytes a slot; the tag is the slot's check then), grown with sum. */
	struct swap_seal *seal;
	bool encrypt;
	int grow_error; /* errno of the last failed growth, 0 if none */
	bool at_cap;	/* the file reached max_slots */
	bool cap_set;	/* max_slots is from --swap-size */
	/* Copy-on-fork, parent side: slots a forked child may still read from
	 * this file may be freed here but not reused until every such child is
	 * done with them (it closes its end of a pipe: when it execs, exits,
	 * or has no inherited slot left). */
	uint64_t *frozen;
	int *frozen_fds;
	unsigned nr_frozen;
	/* Child side: slots still holding what the parent wrote are read from
	 * the parent's file, everything new goes to our own. */
	int parent_fd;	     /* the parent's file, or -1 */
	uint64_t *inherited; /* slots whose copy is in the parent's file */
	uint64_t nr_inherited;
	int done_fd; /* our end of the parent's pipe, or -1 */
};

extern struct swap swap;

/* Create the swap file: anonymous (O_TMPFILE, else created and unlinked,
 * mode 0600) under path if it is a directory, else at path (which must not
 * exist), else under $TMPDIR or /tmp. On failure writes a reason to err. */
int swap_open(const char *path, uint64_t cap_bytes, char *err, size_t errlen);
/* A free slot, growing the file if needed; UINT32_MAX when full. */
uint32_t swap_slot_alloc(void);
/* Free a slot and its compressed pool entry; a slot whose entry is being
 * written stays allocated until the write ends (mm/zpool.h). */
void swap_slot_free(uint32_t slot);
/* Why swap_slot_alloc last failed, as a phrase for an error line: the
 * --swap-size cap, or the file system's errno when growing. */
void swap_full_reason(char *buf, size_t len);

/* Parent, at fork: freeze the slots in use until the child closes the
 * other end of done_fd's pipe. */
void swap_freeze(int done_fd);
void swap_thaw_poll(void);
/* Child, at fork: a swap file of its own; slots in use stay in the parent's
 * file (same numbers) until freed. done_fd is closed when none is left. */
int swap_fork_child(const char *path, int done_fd, char *err, size_t errlen);
/* A forked child that runs unmanaged: no swap file (ours or the parent's). */
void swap_close(void);

struct swap_seal {
	unsigned char tag[16];
	unsigned char nonce[24];
};

/* --swap-encrypt: a random key (and nonce prefix) of this process, kept in
 * locked memory left out of core dumps. */
int swap_encrypt_init(char *err, size_t errlen);
/* A page (plaintext hash given) about to be written to slot: record its
 * checksum, or encrypt buf in place and record tag and nonce. */
void swap_seal_page(uint32_t slot, void *buf, page_hash_t hash);
/* A page just read from slot: decrypt buf in place (--swap-encrypt) and
 * check it; its plaintext hash into *hash. 0, or -EBADMSG when the bytes
 * on the file are not what was written. */
int swap_open_page(uint32_t slot, void *buf, page_hash_t *hash);
/* Read slot into buf (a page, aligned for O_DIRECT) from the compressed
 * pool, or from whichever file holds it, then swap_open_page: 0, -errno,
 * -EIO on a short read, or -EBADMSG. */
int swap_read_page(uint32_t slot, void *buf);

/* Slot now holds the copy of the page at addr (reclaim, after allocating
 * or reusing it). */
static inline void swap_slot_set_owner(uint32_t slot, uintptr_t addr)
{
	swap.owner[slot] = addr;
}

/* The page whose copy slot holds, or 0 (free, or never recorded). */
static inline uintptr_t swap_slot_owner(uint64_t slot)
{
	return slot < swap.sum_slots ? swap.owner[slot] : 0;
}

static inline uint64_t swap_offset(uint32_t slot)
{
	return (uint64_t)slot << 12;
}

static inline bool swap_bit(const uint64_t *map, uint32_t slot)
{
	return map && (map[slot / 64] >> (slot % 64) & 1);
}

static inline bool swap_slot_frozen(uint32_t slot)
{
	return swap_bit(swap.frozen, slot);
}

static inline bool swap_slot_inherited(uint32_t slot)
{
	return swap_bit(swap.inherited, slot);
}

/* Where a slot's copy is: the registered file index (0 ours, 1 the
 * parent's), and the descriptor. */
static inline int swap_file_index(uint32_t slot)
{
	return swap_slot_inherited(slot) ? 1 : 0;
}

static inline int swap_read_fd(uint32_t slot)
{
	return swap_slot_inherited(slot) ? swap.parent_fd : swap.fd;
}

/* Neither frozen for a child nor the parent's: may be written in place. */
static inline bool swap_slot_writable(uint32_t slot)
{
	return !swap_slot_frozen(slot) && !swap_slot_inherited(slot);
}

#endif
