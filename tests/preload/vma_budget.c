/* SPDX-License-Identifier: MIT */
/*
 * vma_budget: a large random-access working set does not cost one VMA per
 * page.
 *
 * Tracking access with per-page mprotect splits the mapping into one VMA
 * per run of pages with equal protection; a random working set many times
 * the limit then needs tens of thousands of VMAs and hits vm.max_map_count
 * (65530 by default): mmap/mprotect fail with ENOMEM and the program dies.
 * uswap must keep the map count small whatever it does inside.
 *
 * --mb (default 2048) of memory, half in 128 MiB mmap regions and half in
 * 128 MiB malloc chunks, is touched one word per page in a fresh random
 * order on each of --passes passes (each touch checks the value the
 * previous pass left), then verified in address order (every
 * --verify-stride'th page; 1 = all). /proc/self/maps is counted every 4096
 * touches; the maximum must stay below --max-maps (default 1000).
 * vm.max_map_count is read and reported, never changed.
 */
#include "helpers.h"

#define BLOCK_BYTES (128UL * T_MIB)
#define PAGES_PER_BLOCK (BLOCK_BYTES / T_PAGE_SIZE)
#define DEFAULT_MAX_MAP_COUNT 65530

static unsigned long mb = 2048, nr_passes = 2, max_maps_allowed = 1000;
static unsigned long verify_stride = 1;
static char **block;	/* block index -> base */
static int *block_is_mmap;
static size_t nr_blocks, nr_pages;
static long maps_max, maps_min = 1L << 30, nr_samples;

static inline uint64_t *page_word(size_t idx)
{
	return (uint64_t *)(block[idx / PAGES_PER_BLOCK] +
			    (idx % PAGES_PER_BLOCK) * T_PAGE_SIZE);
}

static inline uint64_t value_for(size_t idx, unsigned long pass)
{
	return t_mix64(((uint64_t)pass << 40) ^ idx) | 1;
}

static void sample_maps(void)
{
	long n = t_nr_maps();

	t_check(n > 0, "cannot read /proc/self/maps");
	nr_samples++;
	if (n > maps_max)
		maps_max = n;
	if (n < maps_min)
		maps_min = n;
	if (n >= (long)max_maps_allowed)
		t_fail("/proc/self/maps has %ld lines (limit %lu) after %ld samples",
		       n, max_maps_allowed, nr_samples);
}

int main(int argc, char **argv)
{
	long max_map_count = t_read_long_file("/proc/sys/vm/max_map_count");
	unsigned long nr_bad = 0;
	uint32_t *perm;
	struct t_rng r;
	double t0 = t_now(), tp;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mb"))
			mb = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--passes"))
			nr_passes = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--max-maps"))
			max_maps_allowed = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--verify-stride"))
			verify_stride = strtoul(argv[i + 1], NULL, 0);
		else
			t_fail("usage: %s [--mb N] [--passes N] [--max-maps N] "
			       "[--verify-stride N]", argv[0]);
	}
	t_check(verify_stride >= 1, "--verify-stride must be >= 1");
	t_check(mb >= 256 && mb % 256 == 0, "--mb must be a multiple of 256");
	t_log("vma_budget: vm.max_map_count = %ld%s", max_map_count,
	      max_map_count == DEFAULT_MAX_MAP_COUNT ? " (default)"
						     : " (NOT the default 65530)");

	nr_blocks = mb * T_MIB / BLOCK_BYTES;
	nr_pages = nr_blocks * PAGES_PER_BLOCK;
	block = malloc(nr_blocks * sizeof(*block));
	block_is_mmap = malloc(nr_blocks * sizeof(*block_is_mmap));
	perm = malloc(nr_pages * sizeof(*perm));
	t_check(block && block_is_mmap && perm, "metadata malloc");
	for (size_t b = 0; b < nr_blocks; b++) {
		block_is_mmap[b] = b % 2 == 0;
		if (block_is_mmap[b]) {
			block[b] = mmap(NULL, BLOCK_BYTES, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			t_check(block[b] != MAP_FAILED, "mmap block %zu: %s", b,
				strerror(errno));
		} else {
			block[b] = malloc(BLOCK_BYTES);
			t_check(block[b], "malloc block %zu", b);
		}
	}
	for (size_t i = 0; i < nr_pages; i++)
		perm[i] = (uint32_t)i;
	t_rng_seed(&r, 2024);
	sample_maps();

	for (unsigned long pass = 1; pass <= nr_passes; pass++) {
		tp = t_now();
		for (size_t i = nr_pages - 1; i > 0; i--) {
			size_t j = t_rng_below(&r, i + 1);
			uint32_t tmp = perm[i];

			perm[i] = perm[j];
			perm[j] = tmp;
		}
		for (size_t k = 0; k < nr_pages; k++) {
			size_t idx = perm[k];
			uint64_t *w = page_word(idx);
			uint64_t old = *w;

			/* Pass 1 sees fresh memory: mmap'd is zero by
			 * definition; malloc'd is unspecified, so unchecked. */
			if (pass > 1 ? old != value_for(idx, pass - 1)
				     : (block_is_mmap[idx / PAGES_PER_BLOCK] && old)) {
				if (nr_bad++ < 8)
					t_log("pass %lu: page %zu holds %016llx, "
					      "expected %016llx", pass, idx,
					      (unsigned long long)old,
					      (unsigned long long)(pass > 1 ? value_for(idx, pass - 1) : 0));
			}
			*w = value_for(idx, pass);
			if (k % 4096 == 0)
				sample_maps();
		}
		t_log("pass %lu: %zu random page touches in %.1fs, maps max %ld",
		      pass, nr_pages, t_now() - tp, maps_max);
	}

	tp = t_now();
	for (size_t idx = 0; idx < nr_pages; idx += verify_stride) {
		if (*page_word(idx) != value_for(idx, nr_passes)) {
			if (nr_bad++ < 16)
				t_log("final: page %zu holds %016llx", idx,
				      (unsigned long long)*page_word(idx));
		}
		if (idx % 4096 < verify_stride)
			sample_maps();
	}
	sample_maps();
	t_log("final verify (address order, stride %lu) in %.1fs",
	      verify_stride, t_now() - tp);
	t_log("vma_budget: %lu MiB, %zu pages, %lu passes, %lu mismatches, "
	      "maps lines min %ld max %ld over %ld samples, vm.max_map_count %ld, "
	      "%.1fs total", mb, nr_pages, nr_passes, nr_bad, maps_min, maps_max,
	      nr_samples, max_map_count, t_now() - t0);
	t_check(nr_bad == 0, "%lu pages held the wrong value", nr_bad);
	return T_EXIT_PASS;
}
