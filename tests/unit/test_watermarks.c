/* SPDX-License-Identifier: MIT */
/*
 * test_watermarks: pager_init() turns the limit and the watermark
 * fractions of config into free-page watermarks.
 *
 * The rules (src/mm/pager.c): each watermark starts as fraction * limit pages;
 * high is raised to low + batch so the scanner works in whole batches;
 * nothing exceeds half the limit; and min <= low <= high always holds.
 * The invariants are checked for every combination below, and the exact
 * values for the defaults at a few limits, worked out by hand, so a change
 * of rounding or of a rule shows up here.
 */
#include "helpers.h"

#include "config.h"
#include "pager.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void set(double min, double low, double high, unsigned batch)
{
	config.wmark_min = min;
	config.wmark_low = low;
	config.wmark_high = high;
	config.batch = batch;
}

/* The invariants, whatever the inputs. */
static void check_rules(uint64_t bytes)
{
	uint64_t pages = bytes >> 12;
	/* What the fractions alone would give (before any adjustment). */
	uint64_t raw_low = (uint64_t)(config.wmark_low * (double)pages);
	uint64_t raw_high = (uint64_t)(config.wmark_high * (double)pages);

	t_check(pager.limit_pages == pages, "limit %" PRIu64 " bytes: limit_pages %" PRIu64
		", expected %" PRIu64, bytes, pager.limit_pages, pages);
	t_check(pager.wmark_min <= pager.wmark_low && pager.wmark_low <= pager.wmark_high,
		"limit %" PRIu64 " pages, fractions %g/%g/%g batch %u: min %" PRIu64 " low %" PRIu64
		" high %" PRIu64 " out of order", pages, config.wmark_min, config.wmark_low,
		config.wmark_high, config.batch, pager.wmark_min, pager.wmark_low, pager.wmark_high);
	t_check(pager.wmark_high <= pages / 2,
		"limit %" PRIu64 " pages: high %" PRIu64 " above half the limit", pages, pager.wmark_high);
	/* At least a batch between low and high, unless the half-limit cap
	 * is what stopped it. */
	t_check(pager.wmark_high >= pager.wmark_low + config.batch || pager.wmark_high == pages / 2,
		"limit %" PRIu64 " pages batch %u: low %" PRIu64 " high %" PRIu64
		" less than a batch apart and not capped", pages, config.batch, pager.wmark_low,
		pager.wmark_high);
	/* Never lower than the fractions ask for, except where capped. */
	t_check(pager.wmark_high >= raw_high || pager.wmark_high == pages / 2,
		"high %" PRIu64 " below the fraction's %" PRIu64, pager.wmark_high, raw_high);
	t_check(pager.wmark_low == raw_low || pager.wmark_low == pager.wmark_high,
		"low %" PRIu64 " differs from the fraction's %" PRIu64 " without being capped",
		pager.wmark_low, raw_low);
}

static void expect(uint64_t bytes, uint64_t min, uint64_t low, uint64_t high)
{
	pager_init(bytes);
	check_rules(bytes);
	t_check(pager.wmark_min == min && pager.wmark_low == low && pager.wmark_high == high,
		"limit %" PRIu64 " MiB, fractions %g/%g/%g batch %u: got %" PRIu64 "/%" PRIu64
		"/%" PRIu64 ", expected %" PRIu64 "/%" PRIu64 "/%" PRIu64, bytes >> 20,
		config.wmark_min, config.wmark_low, config.wmark_high, config.batch, pager.wmark_min,
		pager.wmark_low, pager.wmark_high, min, low, high);
}

static void defaults(void)
{
	/* The built-in config: 0 / 0.02 / 0.04, batch 32. */
	t_check(config.wmark_min == 0.0 && config.wmark_low == 0.02 && config.wmark_high == 0.04 &&
			config.batch == 32,
		"defaults changed: %g/%g/%g batch %u; update this test's arithmetic",
		config.wmark_min, config.wmark_low, config.wmark_high, config.batch);
	/* 1M = 256 pages: low 5; high 10 is raised to 5 + 32. */
	expect(1 * MiB, 0, 5, 37);
	/* 32M = 8192 pages: 163.84 -> 163, 327.68 -> 327 (gap 164 >= 32). */
	expect(32 * MiB, 0, 163, 327);
	/* 1G = 262144 pages. */
	expect(1 * GiB, 0, 5242, 10485);
	/* 64G = 16777216 pages. */
	expect(64 * GiB, 0, 335544, 671088);
}

static void custom_fractions(void)
{
	/* Plain fractions, far from every adjustment. */
	set(0.1, 0.2, 0.3, 32);
	expect(32 * MiB, 819, 1638, 2457);

	/* Batch gap: at 1M, 51 -> 76 is less than a batch, high = 51 + 32. */
	set(0.1, 0.2, 0.3, 32);
	expect(1 * MiB, 25, 51, 83);

	/* Half-limit cap: low + batch would pass 128 of 256 pages; high stops
	 * at 128 and low (125) stays, less than a batch below it. */
	set(0.0, 0.49, 0.49, 32);
	expect(1 * MiB, 0, 125, 128);

	/* A batch larger than the limit: high stops at half the limit; min
	 * and low keep their fractions, being below it... */
	set(0.3, 0.4, 0.45, 1024);
	expect(1 * MiB, 76, 102, 128);

	/* ...and min above low (config_load refuses it, pager_init still
	 * keeps the order). */
	set(0.3, 0.1, 0.2, 32);
	expect(32 * MiB, 819, 819, 1638);

	/* Equal fractions. */
	set(0.25, 0.25, 0.25, 16);
	expect(1 * GiB, 65536, 65536, 65552);

	/* Batch of one page. */
	set(0.0, 0.02, 0.02, 1);
	expect(64 * GiB, 0, 335544, 335545);
}

static void tiny_and_odd_limits(void)
{
	/* Limits below the configured minimum can still reach pager_init
	 * (raised or lowered at run time): the order holds down to zero. */
	set(0.0, 0.02, 0.04, 32);
	expect(0, 0, 0, 0);
	expect(4096, 0, 0, 0);
	expect(64 * 4096, 0, 1, 32);
	/* Bytes that are not a whole page count whole pages only. */
	expect(1 * MiB + 4095, 0, 5, 37);
}

/* Every combination of a spread of limits, fractions and batches. */
static void sweep(void)
{
	static const uint64_t limits[] = {
		0, 4096, 1 * MiB, 1 * MiB + 4096, 3 * MiB, 32 * MiB, 100 * MiB, 1 * GiB,
		64 * GiB, 1ULL << 46,
	};
	static const double fr[] = { 0.0, 0.001, 0.02, 0.04, 0.1, 0.25, 0.4, 0.49, 0.4999 };
	static const unsigned batches[] = { 1, 8, 32, 256, 1024 };
	size_t nf = sizeof(fr) / sizeof(fr[0]);

	for (size_t a = 0; a < nf; a++)
		for (size_t b = a; b < nf; b++)
			for (size_t c = b; c < nf; c++)
				for (size_t k = 0; k < sizeof(batches) / sizeof(batches[0]); k++)
					for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
						set(fr[a], fr[b], fr[c], batches[k]);
						pager_init(limits[l]);
						check_rules(limits[l]);
					}
}

/* Raising or lowering the limit later derives the watermarks afresh: no
 * value left over from an earlier limit. */
static void reset_between_calls(void)
{
	set(0.0, 0.02, 0.04, 32);
	expect(64 * GiB, 0, 335544, 671088);
	expect(1 * MiB, 0, 5, 37);
	expect(32 * MiB, 0, 163, 327);
}

static const struct t_case cases[] = {
	T_CASE(defaults),
	T_CASE(custom_fractions),
	T_CASE(tiny_and_odd_limits),
	T_CASE(sweep),
	T_CASE(reset_between_calls),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 10, argc, argv);
}
