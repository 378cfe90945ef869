/* SPDX-License-Identifier: MIT */
/*
 * test_config: the non-size settings of config_check() and config_load().
 *
 * config_check() is what the CLI runs on each option before it execs the
 * program; config_load() is what the runtime runs on the USWAP_* variables.
 * Every rejection is -EINVAL with a one-line message that names the bad
 * value. (Size-valued settings are in test_size.)
 */
#include "helpers.h"

#include "config.h"
#include "expect_config.h"

static void swappiness(void)
{
	expect_accepted("USWAP_SWAPPINESS", "0");
	expect_accepted("USWAP_SWAPPINESS", "60");
	expect_accepted("USWAP_SWAPPINESS", "200");
	expect_rejected("USWAP_SWAPPINESS", "201", "0 to 200");
	expect_rejected("USWAP_SWAPPINESS", "-1", "0 to 200");
	expect_rejected("USWAP_SWAPPINESS", "x", NULL);
	expect_rejected("USWAP_SWAPPINESS", "", NULL);
	expect_rejected("USWAP_SWAPPINESS", "60%", NULL);
	expect_rejected("USWAP_SWAPPINESS", "1.5", NULL);
	expect_rejected("USWAP_SWAPPINESS", "99999999999999999999", NULL);
}

static void track(void)
{
	expect_accepted("USWAP_TRACK", "uffd");
	expect_accepted("USWAP_TRACK", "mprotect");
	expect_rejected("USWAP_TRACK", "foo", "uffd or mprotect");
	expect_rejected("USWAP_TRACK", "UFFD", NULL);
	expect_rejected("USWAP_TRACK", "uffd ", NULL);
	expect_rejected("USWAP_TRACK", "", NULL);
}

static void watermarks(void)
{
	static const char *const envs[] = { "USWAP_WMARK_MIN", "USWAP_WMARK_LOW", "USWAP_WMARK_HIGH" };
	static const char *const good[] = { "0", "0.0", "0.02", "0.25", "0.49", "0.4999", "1e-3" };
	static const char *const bad[] = { "0.5", "0.51", "1", "2", "-0.1", "x", "0.1x", "inf", "", "-inf" };

	for (size_t e = 0; e < 3; e++) {
		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
			expect_accepted(envs[e], good[i]);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			/* The message names which watermark as well as the value. */
			expect_rejected(envs[e], bad[i], envs[e]);
	}
}

static void integers(void)
{
	expect_accepted("USWAP_BATCH", "1");
	expect_accepted("USWAP_BATCH", "1024");
	expect_rejected("USWAP_BATCH", "0", NULL);
	expect_rejected("USWAP_BATCH", "1025", NULL);
	expect_rejected("USWAP_BATCH", "many", NULL);

	for (unsigned g = 1; g <= 512; g *= 2) {
		char v[16];

		snprintf(v, sizeof(v), "%u", g);
		expect_accepted("USWAP_GRANULE", v);
	}
	expect_rejected("USWAP_GRANULE", "0", "power of two");
	expect_rejected("USWAP_GRANULE", "3", "power of two");
	expect_rejected("USWAP_GRANULE", "24", "power of two");
	expect_rejected("USWAP_GRANULE", "1024", "power of two");

	expect_accepted("USWAP_WQ_CAP", "2");
	expect_accepted("USWAP_WQ_CAP", "8");
	expect_accepted("USWAP_WQ_CAP", "1048576");
	expect_rejected("USWAP_WQ_CAP", "1", "power of two");
	expect_rejected("USWAP_WQ_CAP", "12", "power of two");
	expect_rejected("USWAP_WQ_CAP", "2097152", "power of two");

	expect_accepted("USWAP_STATS_PID", "1");
	expect_accepted("USWAP_STATS_PID", "4194304");
	expect_rejected("USWAP_STATS_PID", "0", NULL);
	expect_rejected("USWAP_STATS_PID", "-5", NULL);
}

static void strings_and_unknown(void)
{
	char err[256] = "";

	expect_accepted("USWAP_SWAP", "/var/tmp");
	t_eq(config_check("USWAP_SWAP", "", err, sizeof(err)), -EINVAL);
	t_check(*err, "empty USWAP_SWAP rejected without a message");
	expect_accepted("USWAP_STATS", "");
	expect_accepted("USWAP_STATS", "/tmp/stats.json");
	expect_accepted("USWAP_VERBOSE", "1");
	expect_accepted("USWAP_DEBUG", "0");

	err[0] = 0;
	t_eq(config_check("USWAP_NOPE", "1", err, sizeof(err)), -EINVAL);
	t_check(strstr(err, "USWAP_NOPE"), "unknown setting not named: %s", err);
	/* A truncated message is still NUL-terminated and not overrun. */
	memset(err, 'z', sizeof(err));
	t_eq(config_check("USWAP_TRACK", "a-rather-long-value", err, 8), -EINVAL);
	t_check(strlen(err) == 7, "message not truncated to the buffer: \"%.16s\"", err);
	t_check(err[8] == 'z', "config_check wrote past errlen");
}

/* Start config_load() cases from an environment with no USWAP_* in it. */
static void clear_uswap_env(void)
{
	static const char *const names[] = {
		"USWAP_LIMIT", "USWAP_SWAP", "USWAP_SWAP_SIZE", "USWAP_SWAPPINESS", "USWAP_STATS",
		"USWAP_VERBOSE", "USWAP_DEBUG", "USWAP_TRACK", "USWAP_WMARK_MIN", "USWAP_WMARK_LOW",
		"USWAP_WMARK_HIGH", "USWAP_HEAP_RESERVE", "USWAP_BATCH", "USWAP_GRANULE",
		"USWAP_WQ_CAP", "USWAP_STATS_PID", "USWAP_TRACE", "USWAP_CHILDREN_DIR",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
}

static void load_without_limit(void)
{
	char err[256] = "";

	clear_uswap_env();
	setenv("USWAP_SWAPPINESS", "5", 1);
	t_eq(config_load(err, sizeof(err)), -ENOENT);
	/* Nothing applied when the runtime stays off. */
	t_eq(config.swappiness, 60);
}

static void load_defaults(void)
{
	char err[256] = "";

	clear_uswap_env();
	setenv("USWAP_LIMIT", "64M", 1);
	t_check(config_load(err, sizeof(err)) == 0, "config_load: %s", err);
	t_eq(config.limit_bytes, 64ULL << 20);
	t_eq(config.swappiness, 60);
	t_eq(config.track, TRACK_UFFD);
	t_eq(config.batch, 32);
	t_eq(config.swap_size, 0);
	t_check(!config.swap_path, "swap_path set without USWAP_SWAP");
	t_check(config.wmark_min <= config.wmark_low && config.wmark_low <= config.wmark_high,
		"default watermarks out of order: %g %g %g", config.wmark_min, config.wmark_low,
		config.wmark_high);
	t_check(config.wmark_high < 0.5, "default high watermark %g", config.wmark_high);
}

static void load_all(void)
{
	char err[256] = "";

	clear_uswap_env();
	setenv("USWAP_LIMIT", "1G", 1);
	setenv("USWAP_SWAP", "/var/tmp", 1);
	setenv("USWAP_SWAP_SIZE", "8G", 1);
	setenv("USWAP_SWAPPINESS", "200", 1);
	setenv("USWAP_STATS", "", 1);
	setenv("USWAP_VERBOSE", "0", 1);
	setenv("USWAP_DEBUG", "yes", 1);
	setenv("USWAP_TRACK", "mprotect", 1);
	setenv("USWAP_WMARK_MIN", "0.01", 1);
	setenv("USWAP_WMARK_LOW", "0.1", 1);
	setenv("USWAP_WMARK_HIGH", "0.2", 1);
	setenv("USWAP_HEAP_RESERVE", "1G", 1);
	setenv("USWAP_BATCH", "64", 1);
	setenv("USWAP_GRANULE", "4", 1);
	setenv("USWAP_STATS_PID", "1234", 1);
	t_check(config_load(err, sizeof(err)) == 0, "config_load: %s", err);
	t_eq(config.limit_bytes, 1ULL << 30);
	t_check(config.swap_path && !strcmp(config.swap_path, "/var/tmp"), "swap_path %s",
		config.swap_path ? config.swap_path : "(null)");
	t_eq(config.swap_size, 8ULL << 30);
	t_eq(config.swappiness, 200);
	t_check(!config.stats_path, "empty USWAP_STATS should mean no stats file");
	t_check(!config.verbose, "USWAP_VERBOSE=0 turned verbose on");
	t_check(config.debug, "USWAP_DEBUG=yes left debug off");
	t_eq(config.track, TRACK_MPROTECT);
	t_check(config.wmark_min == 0.01 && config.wmark_low == 0.1 && config.wmark_high == 0.2,
		"watermarks %g %g %g, expected 0.01 0.1 0.2", config.wmark_min, config.wmark_low,
		config.wmark_high);
	t_eq(config.heap_reserve, 1ULL << 30);
	t_eq(config.batch, 64);
	t_eq(config.granule_pages, 4);
	t_eq(config.stats_pid, 1234);
}

static void load_rejects(void)
{
	char err[256] = "";

	clear_uswap_env();
	setenv("USWAP_LIMIT", "64M", 1);
	setenv("USWAP_SWAPPINESS", "300", 1);
	t_eq(config_load(err, sizeof(err)), -EINVAL);
	t_check(strstr(err, "'300'"), "config_load message does not name the value: %s", err);

	clear_uswap_env();
	err[0] = 0;
	setenv("USWAP_LIMIT", "64Q", 1);
	t_eq(config_load(err, sizeof(err)), -EINVAL);
	t_check(strstr(err, "'64Q'"), "config_load message does not name the value: %s", err);
}

static void load_watermark_order(void)
{
	char err[256] = "";

	/* Each fraction is valid alone; together they are out of order. */
	clear_uswap_env();
	setenv("USWAP_LIMIT", "64M", 1);
	setenv("USWAP_WMARK_LOW", "0.3", 1);
	setenv("USWAP_WMARK_HIGH", "0.1", 1);
	t_eq(config_load(err, sizeof(err)), -EINVAL);
	t_check(strstr(err, "min <= low <= high"), "order message: %s", err);
	t_check(strstr(err, "0.3") && strstr(err, "0.1"), "order message lacks the values: %s", err);

	/* min above low. */
	config.wmark_min = 0.0, config.wmark_low = 0.02, config.wmark_high = 0.04;
	clear_uswap_env();
	err[0] = 0;
	setenv("USWAP_LIMIT", "64M", 1);
	setenv("USWAP_WMARK_MIN", "0.03", 1);
	t_eq(config_load(err, sizeof(err)), -EINVAL);

	/* Equal watermarks are in order. */
	config.wmark_min = 0.0, config.wmark_low = 0.02, config.wmark_high = 0.04;
	clear_uswap_env();
	setenv("USWAP_LIMIT", "64M", 1);
	setenv("USWAP_WMARK_MIN", "0.1", 1);
	setenv("USWAP_WMARK_LOW", "0.1", 1);
	setenv("USWAP_WMARK_HIGH", "0.1", 1);
	t_check(config_load(err, sizeof(err)) == 0, "equal watermarks rejected: %s", err);

	/* A NaN fraction must not reach pager_init(), where converting it to
	 * an integer is undefined: whichever check catches it, load fails. */
	config.wmark_min = 0.0, config.wmark_low = 0.02, config.wmark_high = 0.04;
	clear_uswap_env();
	setenv("USWAP_LIMIT", "64M", 1);
	setenv("USWAP_WMARK_LOW", "nan", 1);
	t_eq(config_load(err, sizeof(err)), -EINVAL);
}

/* A program that sets its process title overwrites its environment's
 * strings: the settings are copies, and exec passes the copies on. */
static void load_owns_strings(void)
{
	char err[256] = "", *v;

	clear_uswap_env();
	setenv("USWAP_LIMIT", "64M", 1);
	setenv("USWAP_STATS", "/run/stats.json", 1);
	setenv("USWAP_SWAP", "/var/swap", 1);
	setenv("USWAP_TRACE", "/run/trace.csv", 1);
	setenv("TMPDIR", "/var/tmp", 1);
	t_check(config_load(err, sizeof(err)) == 0, "config_load: %s", err);
	for (const char *const *n = (const char *const[]){ "USWAP_STATS", "USWAP_SWAP",
							   "USWAP_TRACE", "TMPDIR", NULL };
	     *n; n++) {
		v = getenv(*n);
		memset(v, 0, strlen(v));
	}
	t_check(config.stats_path && !strcmp(config.stats_path, "/run/stats.json"), "stats %s",
		config.stats_path ? config.stats_path : "(null)");
	t_check(config.swap_path && !strcmp(config.swap_path, "/var/swap"), "swap");
	t_check(config.trace_path && !strcmp(config.trace_path, "/run/trace.csv"), "trace");
	t_check(config.tmpdir && !strcmp(config.tmpdir, "/var/tmp"), "tmpdir");
	t_check(!strcmp(config_saved_entry(CONFIG_STATS), "USWAP_STATS=/run/stats.json"),
		"saved entry %s", config_saved_entry(CONFIG_STATS));
	t_check(config_saved_entry(CONFIG_SAMPLE_BYTES) == NULL, "an unset setting is saved");
	t_check(config_set(CONFIG_CHILDREN_DIR, "/run/c", err, sizeof(err)) == 0, "set: %s", err);
	t_check(!strcmp(config.children_dir, "/run/c"), "children dir");
	t_check(!strcmp(config_saved_entry(CONFIG_CHILDREN_DIR), "USWAP_CHILDREN_DIR=/run/c"),
		"saved children dir");
	clear_uswap_env();
	unsetenv("TMPDIR");
}

static const struct t_case cases[] = {
	T_CASE(swappiness),
	T_CASE(track),
	T_CASE(watermarks),
	T_CASE(integers),
	T_CASE(strings_and_unknown),
	T_CASE(load_without_limit),
	T_CASE(load_defaults),
	T_CASE(load_all),
	T_CASE(load_rejects),
	T_CASE(load_watermark_order),
	T_CASE(load_owns_strings),
};

int main(int argc, char **argv)
{
	return T_RUN(cases, 10, argc, argv);
}
