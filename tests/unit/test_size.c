/* SPDX-License-Identifier: MIT */
/*
 * test_size: config_parse_size() and the size-valued settings checked by
 * config_check() (USWAP_LIMIT, USWAP_SWAP_SIZE, USWAP_HEAP_RESERVE).
 *
 * Sizes are decimal integers with an optional binary unit K/M/G/T (either
 * case), optionally followed by "i" and/or "B": "64M", "64MiB", "64MB".
 * Anything else, including signs and leading blanks that strtoull() would
 * quietly skip, is -EINVAL; a value that does not fit in 64 bits is
 * -ERANGE.
 */
#include "helpers.h"

#include "config.h"
#include "expect_config.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

static void expect_size(const char *s, uint64_t want)
{
	uint64_t got = 0xdeadbeef;
	int r = config_parse_size(s, &got);

	t_check(r == 0, "config_parse_size(\"%s\") = %d (%s), expected 0", s, r, strerror(-r));
	t_check(got == want, "config_parse_size(\"%s\") gave %" PRIu64 ", expected %" PRIu64,
		s, got, want);
}

static void expect_size_error(const char *s, int want)
{
	uint64_t got = 0;
	int r = config_parse_size(s, &got);

	t_check(r == want, "config_parse_size(\"%s\") = %d (bytes %" PRIu64 "), expected %d (%s)",
		s, r, got, want, strerror(-want));
}

static void parse_accepts(void)
{
	/* "0" is a valid size (USWAP_SWAP_SIZE=0 means no cap); the range
	 * check for the limit is config_check's business, not the parser's. */
	expect_size("0", 0);
	expect_size("1", 1);
	expect_size("4096", 4096);
	expect_size("64K", 64 * KiB);
	expect_size("64k", 64 * KiB);
	expect_size("256M", 256 * MiB);
	expect_size("256m", 256 * MiB);
	expect_size("2G", 2 * GiB);
	expect_size("2g", 2 * GiB);
	expect_size("1T", TiB);
	expect_size("1t", TiB);
	expect_size("64MiB", 64 * MiB);
	expect_size("64MB", 64 * MiB);
	expect_size("64Mb", 64 * MiB);
	expect_size("64KiB", 64 * KiB);
	expect_size("64Mi", 64 * MiB);
	expect_size("007M", 7 * MiB);
	/* Largest values that still fit in 64 bits. */
	expect_size("18446744073709551615", UINT64_MAX);
	expect_size("16777215T", 16777215ULL * TiB);
	expect_size("17179869183G", 17179869183ULL * GiB);
}

static void parse_rejects(void)
{
	static const char *const bad[] = {
		"", "abc", "M", "12Q", "-5M", "+5M", " 5M", "5MM", "5.5M", "5M ", "5 M",
		"0x10", "1e3", "64iB", "64B", "64MiBB", "64BM", "5KM", "5Mx", "-0",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_size_error(bad[i], -EINVAL);
	expect_size_error(NULL, -EINVAL);
}

static void parse_overflow(void)
{
	static const char *const huge[] = {
		"99999999999T",         /* 2^36.5 TiB */
		"16777216T",            /* exactly 2^64 */
		"17179869184G",         /* exactly 2^64 */
		"18446744073709551616", /* 2^64, no unit */
		"99999999999999999999999999M",
	};
	uint64_t got;

	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		int r = config_parse_size(huge[i], &got);

		t_check(r == -ERANGE || r == -EINVAL,
			"config_parse_size(\"%s\") = %d, expected -ERANGE or -EINVAL", huge[i], r);
	}
	/* Overflow in the shift, not only in strtoull, reports a range error. */
	expect_size_error("16777216T", -ERANGE);
	expect_size_error("18446744073709551616", -ERANGE);
}

static void check_limit(void)
{
	expect_rejected("USWAP_LIMIT", "0", "out of range");
	expect_rejected("USWAP_LIMIT", "512K", "out of range");
	expect_rejected("USWAP_LIMIT", "1048575", "out of range");
	expect_rejected("USWAP_LIMIT", "65T", "out of range");
	expect_rejected("USWAP_LIMIT", "1M ", NULL);
	expect_rejected("USWAP_LIMIT", "abc", NULL);
	expect_rejected("USWAP_LIMIT", "", NULL);
	expect_rejected("USWAP_LIMIT", "-1M", NULL);
	expect_rejected("USWAP_LIMIT", "99999999999T", NULL);
	expect_accepted("USWAP_LIMIT", "1M");
	expect_accepted("USWAP_LIMIT", "1048576");
	expect_accepted("USWAP_LIMIT", "1024K");
	expect_accepted("USWAP_LIMIT", "256M");
	expect_accepted("USWAP_LIMIT", "64T");
}

static void check_swap_size(void)
{
	expect_accepted("USWAP_SWAP_SIZE", "0");
	expect_accepted("USWAP_SWAP_SIZE", "1M");
	expect_accepted("USWAP_SWAP_SIZE", "4G");
	expect_rejected("USWAP_SWAP_SIZE", "512K", NULL);
	expect_rejected("USWAP_SWAP_SIZE", "1", NULL);
	expect_rejected("USWAP_SWAP_SIZE", "x", NULL);
}

static void check_heap_reserve(void)
{
	expect_accepted("USWAP_HEAP_RESERVE", "64M");
	expect_accepted("USWAP_HEAP_RESERVE", "32T");
	expect_rejected("USWAP_HEAP_RESERVE", "63M", NULL);
	expect_rejected("USWAP_HEAP_RESERVE", "33T", NULL);
	expect_rejected("USWAP_HEAP_RESERVE", "lots", NULL);
}

/* config_check validates; it must not change the live config. */
static void check_is_pure(void)
{
	uint64_t limit = config.limit_bytes, swap_size = config.swap_size;
	uint64_t heap = config.heap_reserve;
	char err[256];

	t_eq(config_check("USWAP_LIMIT", "3G", err, sizeof(err)), 0);
	t_eq(config_check("USWAP_SWAP_SIZE", "5G", err, sizeof(err)), 0);
	t_eq(config_check("USWAP_HEAP_RESERVE", "128M", err, sizeof(err)), 0);
	t_eq(config.limit_bytes, limit);
	t_eq(config.swap_size, swap_size);
	t_eq(config.heap_reserve, heap);
}

static const struct t_case cases[] = {
	T_CASE(parse_accepts),
	T_CASE(parse_rejects),
	T_CASE(parse_overflow),
	T_CASE(check_limit),
	T_CASE(check_swap_size),
	T_CASE(check_heap_reserve),
	T_CASE(check_is_pure),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 10, argc, argv);
}
