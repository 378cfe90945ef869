/*
 * LRU lists of resident managed pages.
 *
 * Pages live on two lists, as in the kernel's split LRU (mm/vmscan.c):
 *
 *      new pages,            deactivate (scanner, when
 *      activated refaults    inactive is low)
 *           |               +---------------------+
 *           v               |                     v
 *    +--------------+ tail  |       head +----------------+ tail
 *    | active anon  |-------+            | inactive anon  |-----> reclaim:
 *    +--------------+                    +----------------+       write to swap
 *           ^                                     |               (or drop if the
 *           +------- referenced while inactive ---+               swap copy is clean)
 *                    (the trap fires: activate)
 *
 * An inactive page is "armed": it has been moved out of the program's
 * reach (UFFDIO_MOVE to a staging page, or PROT_NONE), so any access by
 * the program or by the kernel on its behalf traps, and the trap is the
 * reference bit. The page is still in memory and counts against the limit.
 * Reclaim takes the inactive tail: pages not referenced since they were
 * armed, i.e. second chance. Active pages carry no reference information:
 * like the kernel's anon LRU, the active list ages in FIFO order and only
 * the trap on the inactive list decides.
 *
 * Lists are doubly linked through 32-bit frame indices; frames are one flat
 * array of metadata outside managed memory. This file does no I/O and
 * takes no locks: the caller holds the pager lock.
 */
#include "lru.h"

#include "debug.h"
#include "origin.h"
#include "sys.h"

struct lru lru;
unsigned char lru_hash_secret[XXH3_SECRET_DEFAULT_SIZE];

int lru_hash_init(void)
{
	return sys_random(lru_hash_secret, sizeof(lru_hash_secret));
}

int lru_init(uint32_t cap)
{
	lru.frames = sys_alloc_meta((size_t)cap * sizeof(struct frame));
	if (!lru.frames)
		return -1;
	lru.cap = cap;
	lru.free_head = NIL;
	for (int l = 0; l < NR_LRU_LISTS; l++)
		lru.lists[l] = (struct lru_head){ .head = NIL, .tail = NIL };
	return 0;
}

uint32_t lru_frame_alloc(uintptr_t addr, uint32_t origin)
{
	uint32_t f = lru.free_head;
	struct frame *fr;

	if (f != NIL) {
		lru.free_head = lru.frames[f].next;
	} else {
		if (lru.next_fresh == lru.cap)
			return NIL;
		f = lru.next_fresh++;
	}
	fr = &lru.frames[f];
	*fr = (struct frame){ .addr = addr,
			      .prev = NIL,
			      .next = NIL,
			      .slot = NO_SLOT,
			      .flags = F_ALLOCATED,
			      .lru = LRU_NONE,
			      .origin = origin };
	lru.nr_allocated++;
	origin_resident(origin, 1);
	return f;
}

void lru_frame_free(uint32_t f)
{
	struct frame *fr = &lru.frames[f];

	/* Off every list, and not freed already. */
	debug_assert(fr->lru == LRU_NONE && (fr->flags & F_ALLOCATED));

	origin_resident(fr->origin, -1);
	fr->flags = 0;
	fr->next = lru.free_head;
	lru.free_head = f;
	lru.nr_allocated--;
}

void lru_add(uint32_t f, enum lru_list l, bool at_head)
{
	struct lru_head *h = &lru.lists[l];
	struct frame *fr = &lru.frames[f];

	debug_assert(fr->lru == LRU_NONE && (fr->flags & F_ALLOCATED));
	fr->lru = (uint8_t)l;
	if (at_head) {
		fr->prev = NIL;
		fr->next = h->head;
		if (h->head != NIL)
			lru.frames[h->head].prev = f;
		else
			h->tail = f;
		h->head = f;
	} else {
		fr->next = NIL;
		fr->prev = h->tail;
		if (h->tail != NIL)
			lru.frames[h->tail].next = f;
		else
			h->head = f;
		h->tail = f;
	}
	if (++h->nr > h->peak)
		h->peak = h->nr;
}

void lru_del(uint32_t f)
{
	struct frame *fr = &lru.frames[f];
	struct lru_head *h;

	if (fr->lru == LRU_NONE)
		return;
	h = &lru.lists[fr->lru];
	if (fr->prev != NIL)
		lru.frames[fr->prev].next = fr->next;
	else
		h->head = fr->next;
	if (fr->next != NIL)
		lru.frames[fr->next].prev = fr->prev;
	else
		h->tail = fr->prev;
	fr->prev = fr->next = NIL;
	fr->lru = LRU_NONE;
	h->nr--;
}

void lru_move(uint32_t f, enum lru_list l, bool at_head)
{
	lru_del(f);
	lru_add(f, l, at_head);
}
