/* Frames (one per resident managed page) and the LRU lists. No I/O here.
 * All of it is under the pager lock. */
#ifndef USWAP_LRU_H
#define USWAP_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define NIL UINT32_MAX
#define NO_SLOT UINT32_MAX

/* As the kernel's: inactive/active x anon/file. lru_of() picks one. */
enum lru_list {
	LRU_INACTIVE_ANON,
	LRU_ACTIVE_ANON,
	LRU_INACTIVE_FILE,
	LRU_ACTIVE_FILE,
	NR_LRU_LISTS,
	LRU_NONE = 0xff, /* isolated: swap-in or writeback in flight */
};

enum frame_flags {
	F_STAGED = 1 << 0,    /* armed to trap: moved to staging or PROT_NONE (inactive) */
	F_WRITEBACK = 1 << 1, /* its copy is being written to the swap file */
	F_DEAD = 1 << 2,      /* freed while I/O was in flight: the completion frees it */
	F_ALLOCATED = 1 << 3,
	F_WORKINGSET = 1 << 4,	     /* was activated: a refault of it is thrashing (restore) */
	F_REFAULT_ACTIVATE = 1 << 5, /* swap-in in flight: place on the active head */
	F_READAHEAD = 1 << 6,	     /* swap-in started by read-ahead, not by a fault */
	F_MLOCKED = 1 << 7,	     /* in an mlock'd range: off the lists, never evicted */
	F_FILE = 1 << 8,   /* its clean copy is in its file (file LRU); hash = that copy's */
	F_REREAD = 1 << 9, /* file read in flight when the program wrote the file: read again */
	F_RA_WATCH = 1 << 10, /* read ahead from a slot cluster, not yet touched (starts armed) */
};

/*
 * A keyed 128-bit hash of a page's contents: XXH3-128 under a secret drawn
 * from getrandom when the runtime starts (lru_hash_init), kept across fork and
 * never written out. It proves a page still equals its swap (or file) copy
 * before it is dropped without writing: two different pages agree by
 * chance with probability 2^-128, and a program cannot aim for a collision
 * without the secret. Not a MAC against an attacker who reads our memory.
 * Where the kernel has WP_ASYNC the dirty bit is asked first
 * (policy/aging.c); the hash is the second check. Its low 32 bits are the
 * swap slot's checksum (mm/swap.h).
 */
typedef XXH128_hash_t page_hash_t;

/* 48 bytes per resident page. */
struct frame {
	uintptr_t addr;	  /* the page's address in the program */
	page_hash_t hash; /* content hash of the copy in slot, when slot is set */
	uint32_t prev;
	uint32_t next;
	uint32_t slot; /* a swap slot holding a copy still valid, or NO_SLOT */
	uint16_t flags;
	uint8_t lru;
	uint8_t unused;
	uint32_t origin; /* obs/origin.c: the origin whose resident pages this is one of */
};

struct lru_head {
	uint32_t head, tail; /* head = most recently added */
	uint64_t nr;
	uint64_t peak;
};

struct lru {
	struct frame *frames;
	uint32_t cap;
	uint32_t free_head;
	uint32_t next_fresh;   /* frames past this index were never used */
	uint64_t nr_allocated; /* resident pages, counting reserved ones */
	struct lru_head lists[NR_LRU_LISTS];
};

extern struct lru lru;

int lru_init(uint32_t cap);
/* A free frame for addr (of origin, see obs/origin.h), or NIL when all cap
 * frames are in use. */
uint32_t lru_frame_alloc(uintptr_t addr, uint32_t origin);
void lru_frame_free(uint32_t f);

/* Put f at the head (most recent) or tail of a list. f must be off all lists. */
void lru_add(uint32_t f, enum lru_list l, bool at_head);
void lru_del(uint32_t f);
void lru_move(uint32_t f, enum lru_list l, bool at_head);

static inline struct frame *lru_frame(uint32_t f)
{
	return &lru.frames[f];
}

/* The hash's key (see page_hash_t): this process's, drawn by lru_hash_init
 * (0 or -errno of getrandom) once, before any page is hashed. */
extern unsigned char lru_hash_secret[XXH3_SECRET_DEFAULT_SIZE];
int lru_hash_init(void);

static inline page_hash_t lru_page_hash(const void *page)
{
	return XXH3_128bits_withSecret(page, 4096, lru_hash_secret, sizeof(lru_hash_secret));
}

static inline bool lru_hash_equal(page_hash_t a, page_hash_t b)
{
	return XXH128_isEqual(a, b);
}

/* The list a frame belongs on. */
static inline enum lru_list lru_of(const struct frame *fr, bool active)
{
	return (enum lru_list)(((fr->flags & F_FILE) ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON) +
			       active);
}

static inline bool lru_is_file(enum lru_list l)
{
	return l == LRU_INACTIVE_FILE || l == LRU_ACTIVE_FILE;
}

static inline uint32_t lru_tail(enum lru_list l)
{
	return lru.lists[l].tail;
}

#endif
