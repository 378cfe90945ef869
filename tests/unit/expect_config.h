/* SPDX-License-Identifier: MIT */
/*
 * expect_config.h - assertions on config_check(), shared by test_size and
 * test_config: a rejection is -EINVAL with one line, no "uswap:" prefix
 * (the CLI adds it), naming the bad value.
 */
#ifndef USWAP_UNIT_EXPECT_CONFIG_H
#define USWAP_UNIT_EXPECT_CONFIG_H

#include "helpers.h"

#include "config.h"

/* config_check(env, value) must reject @value and name it in the message. */
static inline void expect_rejected(const char *env, const char *value, const char *also)
{
	char err[256] = "";
	int r = config_check(env, value, err, sizeof(err));

	t_check(r == -EINVAL, "config_check(%s, \"%s\") = %d, expected -EINVAL", env, value, r);
	t_check(*err, "config_check(%s, \"%s\") rejected it without a message", env, value);
	t_check(!strchr(err, '\n'), "message for %s=\"%s\" is not one line: %s", env, value, err);
	t_check(strncmp(err, "uswap:", 6), "message for %s=\"%s\" carries a prefix: %s", env, value, err);
	if (*value) {
		char quoted[128];

		snprintf(quoted, sizeof(quoted), "'%s'", value);
		t_check(strstr(err, quoted), "message for %s=\"%s\" does not name the value: %s",
			env, value, err);
	}
	if (also)
		t_check(strstr(err, also), "message for %s=\"%s\" lacks \"%s\": %s", env, value, also, err);
}

static inline void expect_accepted(const char *env, const char *value)
{
	char err[256] = "";
	int r = config_check(env, value, err, sizeof(err));

	t_check(r == 0, "config_check(%s, \"%s\") = %d (%s), expected 0", env, value, r, err);
}

#endif
