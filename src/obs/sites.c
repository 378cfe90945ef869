/*
 * Call-site attribution: which allocating call stacks the paging comes from.
 *
 * Sampling (sites.h): an allocation of s bytes is sampled with probability
 * q = 1 - exp(-s/N). Its stack is taken with libunwind's unw_backtrace
 * before the allocator runs (no allocator or runtime lock held: an unwind
 * takes the loader's lock), deduplicated into a site, and its range
 * [p, p+s) is kept as a live record until it is freed or unmapped.
 *
 * Estimates (Horvitz-Thompson): a site's alloc_bytes adds s/q per sample;
 * an event of a page adds, for each live record that overlaps the page,
 * (bytes of the page it covers / page size) / q. A page shared by several
 * small allocations thus splits its events among them by the bytes each
 * owns, and each sampled one stands for the unsampled ones of its site:
 * the estimate is unbiased for "events split by bytes". Events stay with
 * the site when the allocation is freed.
 *
 * libunwind is dlopen'ed RTLD_LOCAL, not linked: libunwind.so.8 exports
 * _Unwind_Backtrace, _Unwind_RaiseException and a weak backtrace(), and
 * as a dependency of a preloaded object it would take those over for the
 * whole program (its _Unwind_Backtrace is ~5x slower than libgcc's, and
 * a C program that later loads C++ code would unwind exceptions with it).
 * Loaded locally only its unw_* functions are reachable, and only by us.
 * It also keeps the core library (linked by the CLI and the unit tests)
 * free of a link-time dependency.
 *
 * All memory here is sys_alloc_meta, never managed: sites_event runs in
 * the fault handler under the pager lock, and takes the sites lock with a bounded
 * spin (an event is dropped, and counted, rather than wait on an
 * application thread that holds it).
 */
#define _GNU_SOURCE
#include "sites.h"

#include "origin.h"
#include "symbolize.h"
#include "config.h"
#include "jbuf.h"
#include "log.h"
#include "sys.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define MAX_SITES 4096	      /* then the "other" bucket, site 0 */
#define SITE_SLOTS 8192	      /* hash of stacks, power of two */
#define SITE_FRAMES 24	      /* frames kept per stack */
#define UNWIND_FRAMES 64      /* frames taken (ours are skipped) */
#define MAX_RECS (256u << 10) /* live sampled records */
#define SET_MIN_SLOTS 1024
#define TOP_SITES 50
#define EV_SPIN 4000 /* sites_event's tries before dropping an event */

#define KEY_EMPTY 0
#define KEY_DELETED 1

struct site {
	uint64_t hash;
	uint32_t nframes;
	uint64_t samples;
	double alloc_bytes;
	double ev[NR_EV];
	uintptr_t ip[SITE_FRAMES];
};

/* A live sampled allocation: a node of a treap keyed by start. Records
 * never overlap (a new one ends the stale ones under it). */
struct rec {
	uintptr_t start, end;
	double inv_q;
	uint32_t site;
	uint32_t prio;
	uint32_t left, right; /* 0: none; also the free list's link */
};

__thread int64_t sites_countdown __attribute__((tls_model("initial-exec")));
struct sites_live sites_live;

static struct {
	struct sys_lock lock;
	bool ready; /* sites_init ran: on is final */
	bool on;
	double mean;		    /* N */
	uintptr_t self_lo, self_hi; /* our object: its frames are skipped */
	uintptr_t unw_lo, unw_hi;   /* libunwind's */
	int (*backtrace)(void **, int);
	struct site *site;
	uint32_t *slot; /* site hash: index + 1, 0 empty */
	uint32_t nr_sites;
	uint64_t samples, dropped_samples, dropped_events;
	struct rec *rec;
	uint32_t root, free_rec, top_rec;
	uint32_t set_used; /* set slots live or deleted */
	uint64_t rng;	   /* treap priorities, under the lock */
} S;

/* Per thread: the random stream, and the sample being taken. */
static __thread uint64_t t_rng __attribute__((tls_model("initial-exec")));
static __thread bool t_busy __attribute__((tls_model("initial-exec")));
static __thread struct {
	double inv_q;
	uint32_t n;
	void *ip[UNWIND_FRAMES];
} t_pend __attribute__((tls_model("initial-exec")));

/* ---- setup ---------------------------------------------------------------- */

struct range_arg {
	uintptr_t addr, lo, hi;
};

static int find_range(struct dl_phdr_info *info, size_t size, void *p)
{
	struct range_arg *a = p;
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (a->addr < lo || a->addr >= hi)
		return 0;
	a->lo = lo;
	a->hi = hi;
	return 1;
}

/* The address range of the loaded object that holds addr. */
static void object_range(const void *addr, uintptr_t *lo, uintptr_t *hi)
{
	struct range_arg a = { (uintptr_t)addr, 0, 0 };

	dl_iterate_phdr(find_range, &a);
	*lo = a.lo;
	*hi = a.hi;
}

static bool load_unwinder(void)
{
	__typeof__(unw_set_caching_policy) *policy;
	unw_addr_space_t *as;
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return false;
	S.backtrace = (__typeof__(S.backtrace))dlsym(h, "unw_backtrace");
	if (!S.backtrace)
		return false;
	/* Per-thread caches: no global cache lock (which blocks signals). */
	policy = (__typeof__(policy))dlsym(h, "_ULx86_64_set_caching_policy");
	as = dlsym(h, "_ULx86_64_local_addr_space");
	if (policy && as)
		policy(*as, UNW_CACHE_PER_THREAD);
	object_range((const void *)S.backtrace, &S.unw_lo, &S.unw_hi);
	return true;
}

static void sites_setup(bool managed);

#define FILTER_BITS_PER_SLOT 8

/* Keys, filter bits and counts in one mapping. */
static struct sites_set *set_new(uint64_t slots)
{
	uint64_t nbits = slots * FILTER_BITS_PER_SLOT;
	size_t keys = sizeof(struct sites_set) + slots * sizeof(uintptr_t);
	struct sites_set *s = sys_alloc_meta(keys + nbits / 8 + nbits);

	if (s) {
		s->mask = slots - 1;
		s->shift = 64 - (unsigned)__builtin_ctzll(slots);
		s->bshift = 64 - (unsigned)__builtin_ctzll(nbits);
		s->bits = (uint64_t *)((char *)s + keys);
		s->count = (uint8_t *)s->bits + nbits / 8;
	}
	return s;
}

static void filter_add(struct sites_set *s, uintptr_t p)
{
	uint64_t b = sites_hash(p, s->bshift);

	if (s->count[b] == 255)
		return;
	if (s->count[b]++ == 0)
		__atomic_store_n(&s->bits[b >> 6], s->bits[b >> 6] | (1ULL << (b & 63)),
				 __ATOMIC_RELEASE);
}

static void filter_del(struct sites_set *s, uintptr_t p)
{
	uint64_t b = sites_hash(p, s->bshift);

	if (s->count[b] == 255)
		return; /* saturated: set until the next rebuild */
	if (--s->count[b] == 0)
		__atomic_store_n(&s->bits[b >> 6], s->bits[b >> 6] & ~(1ULL << (b & 63)),
				 __ATOMIC_RELEASE);
}

void sites_init(bool managed)
{
	sites_setup(managed);
	__atomic_store_n(&S.ready, true, __ATOMIC_RELEASE);
}

static void sites_setup(bool managed)
{
	if (!managed || !config.sample_bytes)
		return;
	S.site = sys_alloc_meta(MAX_SITES * sizeof(*S.site));
	S.slot = sys_alloc_meta(SITE_SLOTS * sizeof(*S.slot));
	S.rec = sys_alloc_meta((MAX_RECS + 1) * sizeof(*S.rec));
	sites_live.set = set_new(SET_MIN_SLOTS);
	if (!S.site || !S.slot || !S.rec || !sites_live.set) {
		log_line("warning: no memory for call-site sampling; it is off");
		return;
	}
	if (!load_unwinder()) {
		log_line("warning: cannot load libunwind.so.8 (%s); call-site sampling is off",
			 dlerror());
		return;
	}
	object_range((const void *)sites_init, &S.self_lo, &S.self_hi);
	S.nr_sites = 1; /* site 0: "other", when the table is full */
	S.top_rec = 1;	/* record 0: the treap's nil */
	S.rng = sys_now_ns() | 1;
	S.mean = (double)config.sample_bytes;
	__atomic_store_n(&S.on, true, __ATOMIC_RELEASE);
}

void sites_thread_exclude(void)
{
	t_busy = true;
}

/* ---- the sampling decision ------------------------------------------------ */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* An exponentially distributed interval of mean N bytes. */
static int64_t next_interval(void)
{
	double u;

	if (!t_rng)
		t_rng = (sys_now_ns() ^ ((uint64_t)sys_gettid() << 32)) | 1;
	/* 53 random bits in (0, 1]: -log never sees 0. */
	u = (double)((xorshift(&t_rng) >> 11) + 1) * (1.0 / 9007199254740992.0);
	return (int64_t)fmin(-log(u) * S.mean, 9e18) + 1;
}

/* Our own frames and libunwind's come first: skip them. */
static bool ours(uintptr_t ip)
{
	return (ip >= S.self_lo && ip < S.self_hi) || (ip >= S.unw_lo && ip < S.unw_hi);
}

bool sites_begin(size_t n)
{
	bool first = !t_rng;
	int got;

	if (t_busy) {
		/* Re-entered (an unwinder's own allocation) or excluded. */
		sites_countdown = S.on ? next_interval() : INT64_MAX;
		return false;
	}
	if (!__atomic_load_n(&S.on, __ATOMIC_ACQUIRE)) {
		/* Off: never again; not decided yet: ask again next time. */
		sites_countdown = __atomic_load_n(&S.ready, __ATOMIC_ACQUIRE) ? INT64_MAX : 0;
		return false;
	}
	if (first) {
		/* A new thread starts with a countdown of 0: draw its first
		 * interval as if it ran before this allocation. */
		sites_countdown += next_interval();
		if (sites_countdown >= 0)
			return false;
	}
	sites_countdown = next_interval();
	t_busy = true;
	got = S.backtrace(t_pend.ip, UNWIND_FRAMES);
	t_pend.n = got > 0 ? (uint32_t)got : 0;
	t_pend.inv_q = 1.0 / -expm1(-(double)(n ? n : 1) / S.mean);
	return true;
}

/* ---- sites ---------------------------------------------------------------- */

static uint64_t stack_hash(void *const *ip, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ n;

	for (uint32_t i = 0; i < n; i++) {
		h ^= (uintptr_t)ip[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

/* The site of a stack, new if need be; 0 when the table is full. Under the lock. */
static uint32_t site_get(void *const *ip, uint32_t n)
{
	uint64_t h = stack_hash(ip, n);
	uint32_t i = (uint32_t)(h >> 32) & (SITE_SLOTS - 1);
	struct site *s;

	for (;; i = (i + 1) & (SITE_SLOTS - 1)) {
		uint32_t k = S.slot[i];

		if (!k)
			break;
		s = &S.site[k - 1];
		if (s->hash == h && s->nframes == n && !memcmp(s->ip, ip, n * sizeof(*ip)))
			return k - 1;
	}
	if (S.nr_sites == MAX_SITES)
		return 0;
	s = &S.site[S.nr_sites];
	s->hash = h;
	s->nframes = n;
	memcpy(s->ip, ip, n * sizeof(*ip));
	S.slot[i] = S.nr_sites + 1;
	return S.nr_sites++;
}

/* ---- the set of live start addresses (lock-free readers, sites.h) -------- */

static void set_add_to(struct sites_set *s, uintptr_t p)
{
	uint64_t i = sites_hash(p, s->shift);

	while (s->key[i] > KEY_DELETED)
		i = (i + 1) & s->mask;
	if (s->key[i] == KEY_EMPTY)
		S.set_used++;
	__atomic_store_n(&s->key[i], p, __ATOMIC_RELEASE);
	filter_add(s, p);
}

/* Drop the deleted slots, and double while over an eighth live: the load
 * (live and deleted) stays under a quarter, so free()'s probe of a pointer
 * that was not sampled mostly reads one empty slot, and always ends. */
static bool set_rebuild(void)
{
	struct sites_set *old = sites_live.set, *s = old;
	uint64_t slots = old->mask + 1;
	uint32_t live = sites_live.nr;

	while ((uint64_t)(live + 1) * 8 > slots)
		slots *= 2;
	if (slots != old->mask + 1) {
		s = set_new(slots);
		if (!s)
			return false;
	}
	__atomic_store_n(&sites_live.seq, sites_live.seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	S.set_used = 0;
	if (s == old) {
		/* In place: readers see empty slots all along, so their probes
		 * end; the odd seq sends them to the lock. */
		for (uint64_t i = 0; i <= s->mask; i++)
			__atomic_store_n(&s->key[i], KEY_EMPTY, __ATOMIC_RELAXED);
		for (uint64_t i = 0; i < (s->mask + 1) * FILTER_BITS_PER_SLOT / 64; i++)
			__atomic_store_n(&s->bits[i], 0, __ATOMIC_RELAXED);
		memset(s->count, 0, (s->mask + 1) * FILTER_BITS_PER_SLOT);
	}
	/* The live keys are the records' starts. */
	for (uint32_t r = 1; r < S.top_rec; r++)
		if (S.rec[r].end)
			set_add_to(s, S.rec[r].start);
	/* An old, smaller set stays mapped: a reader may still be probing it
	 * (it then sees seq move and asks again). At most the size of the
	 * current one in all. */
	__atomic_store_n(&sites_live.set, s, __ATOMIC_RELEASE);
	__atomic_store_n(&sites_live.seq, sites_live.seq + 1, __ATOMIC_RELEASE);
	return true;
}

static bool set_add(uintptr_t p)
{
	struct sites_set *s = sites_live.set;

	if ((uint64_t)(S.set_used + 1) * 4 > s->mask + 1 && !set_rebuild())
		return false;
	set_add_to(sites_live.set, p);
	return true;
}

static void set_del(uintptr_t p)
{
	struct sites_set *s = sites_live.set;

	for (uint64_t i = sites_hash(p, s->shift); s->key[i] != KEY_EMPTY; i = (i + 1) & s->mask)
		if (s->key[i] == p) {
			__atomic_store_n(&s->key[i], KEY_DELETED, __ATOMIC_RELEASE);
			filter_del(s, p);
			return;
		}
}

/* ---- live records: a treap by start address -------------------------------- */

#define R(i) (S.rec[i])

static uint32_t t_merge(uint32_t a, uint32_t b)
{
	if (!a || !b)
		return a ? a : b;
	if (R(a).prio > R(b).prio) {
		R(a).right = t_merge(R(a).right, b);
		return a;
	}
	R(b).left = t_merge(a, R(b).left);
	return b;
}

/* l: the records starting before key; r: the rest. */
static void t_split(uint32_t t, uintptr_t key, uint32_t *l, uint32_t *r)
{
	if (!t) {
		*l = *r = 0;
	} else if (R(t).start < key) {
		t_split(R(t).right, key, &R(t).right, r);
		*l = t;
	} else {
		t_split(R(t).left, key, l, &R(t).left);
		*r = t;
	}
}

/* The first record that ends after addr (records do not overlap: their
 * ends are in the order of their starts). */
static uint32_t t_first_after(uintptr_t addr)
{
	uint32_t t = S.root, best = 0;

	while (t) {
		if (R(t).end > addr) {
			best = t;
			t = R(t).left;
		} else {
			t = R(t).right;
		}
	}
	return best;
}

static void rec_remove(uint32_t r)
{
	uint32_t l, m, rest;

	t_split(S.root, R(r).start, &l, &m);
	t_split(m, R(r).start + 1, &m, &rest);
	S.root = t_merge(l, rest);
	set_del(R(r).start);
	R(r).end = 0;
	R(r).left = S.free_rec;
	S.free_rec = r;
	__atomic_sub_fetch(&sites_live.nr, 1, __ATOMIC_RELAXED);
}

/* End every record overlapping [start, end). */
static void rec_remove_range(uintptr_t start, uintptr_t end)
{
	uint32_t r;

	while ((r = t_first_after(start)) && R(r).start < end)
		rec_remove(r);
}

static void rec_add(uintptr_t start, size_t len, uint32_t site, double inv_q)
{
	uint32_t r, l, rest;

	rec_remove_range(start, start + len); /* stale: that memory was freed */
	if (S.free_rec) {
		r = S.free_rec;
		S.free_rec = R(r).left;
	} else if (S.top_rec <= MAX_RECS) {
		r = S.top_rec++;
	} else {
		S.dropped_samples++;
		return;
	}
	if (!set_add(start)) {
		R(r).left = S.free_rec;
		S.free_rec = r;
		S.dropped_samples++;
		return;
	}
	R(r) = (struct rec){ .start = start,
			     .end = start + len,
			     .inv_q = inv_q,
			     .site = site,
			     .prio = (uint32_t)xorshift(&S.rng) };
	t_split(S.root, start, &l, &rest);
	S.root = t_merge(t_merge(l, r), rest);
	__atomic_add_fetch(&sites_live.nr, 1, __ATOMIC_RELAXED);
}

/* The record starting exactly at p, or 0. */
static uint32_t rec_at(uintptr_t p)
{
	uint32_t r = t_first_after(p);

	return r && R(r).start == p ? r : 0;
}

/* ---- the hooks' entry points ------------------------------------------------- */

void sites_end(void *p, size_t n)
{
	uint32_t skip = 0, site;

	if (!p) {
		t_busy = false;
		return;
	}
	while (skip < t_pend.n && ours((uintptr_t)t_pend.ip[skip]))
		skip++;
	sys_lock(&S.lock);
	site = site_get(t_pend.ip + skip,
			t_pend.n - skip < SITE_FRAMES ? t_pend.n - skip : SITE_FRAMES);
	S.site[site].samples++;
	S.site[site].alloc_bytes += (double)n * t_pend.inv_q;
	S.samples++;
	rec_add((uintptr_t)p, n ? n : 1, site, t_pend.inv_q);
	sys_unlock(&S.lock);
	t_busy = false;
}

void sites_free_slow(void *p)
{
	uint32_t r;

	sys_lock(&S.lock);
	r = rec_at((uintptr_t)p);
	if (r)
		rec_remove(r);
	sys_unlock(&S.lock);
}

void sites_unmap(uintptr_t addr, size_t len)
{
	if (!__atomic_load_n(&sites_live.nr, __ATOMIC_RELAXED))
		return;
	sys_lock(&S.lock);
	rec_remove_range(addr, addr + PAGE_ALIGN_UP(len));
	sys_unlock(&S.lock);
}

void sites_take(uintptr_t addr, size_t len, struct sites_moved *m)
{
	uint32_t r;

	m->taken = false;
	if (!__atomic_load_n(&sites_live.nr, __ATOMIC_RELAXED))
		return;
	sys_lock(&S.lock);
	r = rec_at(addr);
	if (r) {
		m->site = R(r).site;
		m->inv_q = R(r).inv_q;
		m->taken = true;
	}
	rec_remove_range(addr, addr + PAGE_ALIGN_UP(len));
	sys_unlock(&S.lock);
}

void sites_put(const struct sites_moved *m, uintptr_t addr, size_t len)
{
	if (!m->taken)
		return;
	sys_lock(&S.lock);
	rec_add(addr, len, m->site, m->inv_q);
	sys_unlock(&S.lock);
}

/* ---- events (fault handler and scanner, under the pager lock) ---------------------- */

/* Never wait on a program thread: it may be faulting on a page whose
 * fault is what we are counting. */
static bool lock_bounded(void)
{
	for (int i = 0; i < EV_SPIN; i++) {
		uint32_t c = 0;

		if (__atomic_compare_exchange_n(&S.lock.word, &c, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
		__builtin_ia32_pause();
	}
	return false;
}

void sites_event(uintptr_t addr, enum obs_ev ev)
{
	uintptr_t pg = PAGE_ALIGN_DOWN(addr), pe = pg + PAGE_SIZE;
	uint32_t r;

	if (!__atomic_load_n(&sites_live.nr, __ATOMIC_RELAXED) || (unsigned)ev >= NR_EV)
		return;
	if (!lock_bounded()) {
		__atomic_add_fetch(&S.dropped_events, 1, __ATOMIC_RELAXED);
		return;
	}
	/* Each record overlapping the page gets its share of it, by bytes. */
	for (r = t_first_after(pg); r && R(r).start < pe; r = t_first_after(R(r).end)) {
		uintptr_t lo = R(r).start > pg ? R(r).start : pg;
		uintptr_t hi = R(r).end < pe ? R(r).end : pe;

		double share = (double)(hi - lo) / (double)PAGE_SIZE * R(r).inv_q;

		S.site[R(r).site].ev[ev] += share;
		if (ev == EV_MAJFAULT) /* a major fault is a fault too */
			S.site[R(r).site].ev[EV_FAULT] += share;
		if (R(r).end >= pe)
			break;
	}
	sys_unlock(&S.lock);
}

/* ---- fork ------------------------------------------------------------------- */

void sites_fork_prepare(void)
{
	if (S.on)
		sys_lock(&S.lock);
}

void sites_fork_parent(void)
{
	if (S.on)
		sys_unlock(&S.lock);
}

/* The child's own counts start at zero (the parent reports its own);
 * its memory is a copy, so the live records stay true. */
void sites_fork_child(void)
{
	if (!S.on)
		return;
	S.lock.word = 0;
	S.samples = S.dropped_samples = S.dropped_events = 0;
	for (uint32_t i = 0; i < S.nr_sites; i++) {
		S.site[i].samples = 0;
		S.site[i].alloc_bytes = 0;
		memset(S.site[i].ev, 0, sizeof(S.site[i].ev));
	}
}

static double site_weight(const struct site *s)
{
	return s->ev[EV_EVICT] + s->ev[EV_REFAULT];
}

static bool site_before(const struct site *a, const struct site *b)
{
	if (site_weight(a) != site_weight(b))
		return site_weight(a) > site_weight(b);
	if (a->ev[EV_FAULT] != b->ev[EV_FAULT])
		return a->ev[EV_FAULT] > b->ev[EV_FAULT];
	return a->samples > b->samples;
}

/* The top sites, copied out under the lock (symbols are looked up
 * without it: dladdr takes the loader's lock). Returns how many. */
static uint32_t top_sites(struct site *top)
{
	uint32_t n = 0;

	sys_lock(&S.lock);
	for (uint32_t i = 0; i < S.nr_sites; i++) {
		const struct site *s = &S.site[i];
		uint32_t k;

		if (!s->samples && !site_weight(s) && !s->ev[EV_FAULT])
			continue;
		if (n == TOP_SITES && !site_before(s, &top[n - 1]))
			continue;
		k = n < TOP_SITES ? n++ : n - 1;
		for (; k > 0 && site_before(s, &top[k - 1]); k--)
			top[k] = top[k - 1];
		top[k] = *s;
	}
	sys_unlock(&S.lock);
	return n;
}

static unsigned long long est(double x)
{
	return (unsigned long long)(x + 0.5);
}

void sites_json(struct jbuf *j)
{
	struct site *top;
	struct symbolizer *y;
	uint32_t n;

	jbuf_printf(j,
		    "{\"sample_bytes\": %llu, \"samples\": %llu, \"dropped_samples\": %llu, "
		    "\"dropped_events\": %llu, \"sites\": [",
		    S.on ? (unsigned long long)config.sample_bytes : 0ULL,
		    (unsigned long long)S.samples, (unsigned long long)S.dropped_samples,
		    (unsigned long long)__atomic_load_n(&S.dropped_events, __ATOMIC_RELAXED));
	top = S.on ? sys_alloc_meta(TOP_SITES * sizeof(*top)) : NULL;
	y = top ? symbolize_new() : NULL;
	n = y ? top_sites(top) : 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct site *s = &top[i];

		jbuf_printf(j, "%s{\"frames\": [", i ? ", " : "");
		for (uint32_t f = 0; f < s->nframes; f++) {
			jbuf_printf(j, "%s", f ? ", " : "");
			symbolize_frame_json(j, y, s->ip[f]);
		}
		jbuf_printf(j, "], \"function\": ");
		symbolize_function_json(j, y, s->ip, s->nframes);
		jbuf_printf(j,
			    ", \"alloc_bytes\": %llu, \"samples\": %llu, \"faults\": %llu, "
			    "\"majfaults\": %llu, \"evictions\": %llu, \"refaults\": %llu}",
			    est(s->alloc_bytes), (unsigned long long)s->samples,
			    est(s->ev[EV_FAULT]), est(s->ev[EV_MAJFAULT]), est(s->ev[EV_EVICT]),
			    est(s->ev[EV_REFAULT]));
	}
	jbuf_printf(j, "]}");
	symbolize_free(y);
	if (top)
		sys_munmap(top, PAGE_ALIGN_UP(TOP_SITES * sizeof(*top)));
}
