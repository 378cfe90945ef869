/* fuzz_settings: the settings, every way they arrive. The input is words
 * separated by NUL bytes: a word "USWAP_X=value" goes into the environment
 * (every USWAP_* variable, also those without an option), the others are the
 * command line after "uswap". The CLI's option parser (src/cli/main.c,
 * parse_options: every option, "--opt=value" and "--opt value") runs on
 * them, then the runtime's config_load reads the result into a fresh
 * config, then each variable set is applied once more through config_apply,
 * as `uswap ctl set` does. A bad value must end in one line (cli_die or an
 * error return), never a crash. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* main.c, with its main renamed; --run DIR must not create directories. */
static int fuzz_mkdir(const char *path, mode_t mode)
{
	return 0;
}
#define mkdir(p, m) fuzz_mkdir(p, m)
#define main uswap_main
#include "../../src/cli/main.c"
#undef main
#undef mkdir

#define MAX_WORDS 64

static struct config defaults;
static int inited;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[MAX_WORDS + 2], err[512];
	const char *limit = NULL;
	int argc = 1, i;
	struct config c;

	if (!inited) {
		defaults = config;
		inited = 1;
		/* --help and --version print. */
		if (!freopen("/dev/null", "w", stdout))
			abort();
	}
	for (i = 0; i < NR_CONFIG_SETTINGS; i++)
		unsetenv(config_settings[i].env);
	config = defaults;

	buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[0] = "uswap";
	for (char *p = buf; p < buf + size + 1 && argc <= MAX_WORDS; p += strlen(p) + 1) {
		char *eq = strchr(p, '=');

		if (!strncmp(p, "USWAP_", 6) && eq) {
			*eq = 0;
			setenv(p, eq + 1, 1);
			*eq = '=';
		} else {
			argv[argc++] = p;
		}
	}
	argv[argc] = NULL;

	if (!fuzz_try()) {
		i = parse_options(argc, argv, &limit);
		fuzz_done();
		(void)i;
		/* What the runtime reads at start-up. */
		if (!config_load(err, sizeof(err)))
			config_check_watermarks(&config, err, sizeof(err));
		/* And each setting again, as a live change or a CLI check. */
		for (int k = 0; k < NR_CONFIG_SETTINGS; k++) {
			const char *v = getenv(config_settings[k].env);

			if (!v)
				continue;
			c = config;
			config_apply(&c, config_settings[k].env, v, err, sizeof(err));
			config_check(config_settings[k].env, v, err, sizeof(err));
			if (config_settings[k].key)
				config_key_env(config_settings[k].key,
					       strlen(config_settings[k].key));
		}
	}
	fuzz_done();
	free(buf);
	return 0;
}
