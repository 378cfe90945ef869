#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config config = {
	.swappiness = 60,
	.track = TRACK_UFFD,
	.compress = COMPRESS_LZ4,
	.compress_pool = 0.25,
	.compress_pool_auto = true,
	.swap_cluster = 16,
	/* Free-memory watermarks as fractions of the limit.  The spacing follows
	 * the kernel's min/low/high (low = 1.25 min, high = 1.5 min would be too
	 * tight at small limits, where one 32-page batch is a large fraction);
	 * these values keep a batch or two of headroom at a 32 MiB limit. */
	.wmark_min = 0.0,
	.wmark_low = 0.02,
	.wmark_high = 0.04,
	.heap_reserve = 64ULL << 30,
	.batch = 32,
	.granule_pages = 16,
	.wq_cap = 65536,
	.stats_pid = -1,
	.refault_activate = true,
	.file_maps = true,
	.auto_target = 1.0,
	.auto_step = 0.05,
	.auto_period_ns = 1000000000ULL,
	.interval_ns = 100000000ULL,
	.sample_bytes = 0, /* off by default: see README (an unexplained interaction) */
};

int config_parse_size(const char *s, uint64_t *ret_bytes)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		break;
	}
	if (shift && (*end == 'i' || *end == 'I'))
		end++;
	if (shift && (*end == 'b' || *end == 'B'))
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (~0ULL >> shift))
		return -ERANGE;
	*ret_bytes = (uint64_t)v << shift;
	return 0;
}

int config_parse_duration(const char *s, uint64_t *ret_ns)
{
	char *end;
	double v, mult = 1e6;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		return -EINVAL;
	if (!strcmp(end, "ms") || !*end)
		mult = 1e6;
	else if (!strcmp(end, "s"))
		mult = 1e9;
	else if (!strcmp(end, "us"))
		mult = 1e3;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mult = 60e9;
	else
		return -EINVAL;
	if (!(v * mult < 1e18))
		return -ERANGE;
	*ret_ns = (uint64_t)(v * mult);
	return 0;
}

static int parse_fraction(const char *s, double *ret)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !(v >= 0.0 && v < 0.5))
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_int(const char *s, long lo, long hi, long *ret)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s) && !(*s == '-' && isdigit((unsigned char)s[1])))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi)
		return -EINVAL;
	*ret = v;
	return 0;
}

const struct config_setting config_settings[NR_CONFIG_SETTINGS] = {
#define ROW(id, env, opt, key, arg, help) [CONFIG_##id] = { env, opt, key, arg, help },
	CONFIG_SETTINGS(ROW)
#undef ROW
};

static int parse_choice(const char *v, const char *a, const char *b, bool *ret_b)
{
	if (!strcmp(v, a))
		*ret_b = false;
	else if (!strcmp(v, b))
		*ret_b = true;
	else
		return -EINVAL;
	return 0;
}

/* Apply one setting. Returns 0, or -EINVAL with a message in err. */
static int apply(struct config *c, enum config_id id, const char *v, char *err, size_t errlen)
{
	const char *env = config_settings[id].env;
	uint64_t sz, ns;
	long n;
	double f;
	bool b;

	switch (id) {
	case CONFIG_LIMIT:
		if (!strcmp(v, "auto")) {
			c->limit_auto = true;
			c->limit_bytes = 0; /* runtime_init: start from the machine's memory */
			break;
		}
		if (config_parse_size(v, &sz)) {
			snprintf(
				err, errlen,
				"invalid limit '%s': expected a size like 64M, 512K or 2G, or auto",
				v);
			return -EINVAL;
		}
		if (sz < (1ULL << 20)) {
			snprintf(err, errlen,
				 "limit '%s' is out of range: the smallest limit is 1M", v);
			return -EINVAL;
		}
		if (sz > (1ULL << 46)) {
			snprintf(err, errlen,
				 "limit '%s' is out of range: the largest limit is 64T", v);
			return -EINVAL;
		}
		c->limit_bytes = sz;
		c->limit_auto = false;
		break;
	case CONFIG_TRACE:
		c->trace_path = *v ? v : NULL;
		break;
	case CONFIG_INTERVAL:
	case CONFIG_AUTO_PERIOD:
		if (config_parse_duration(v, &ns) || ns < 10000000ULL || ns > 60000000000ULL) {
			snprintf(
				err, errlen,
				"invalid %s '%s': expected a duration from 10ms to 60s, like 100ms or 2s",
				id == CONFIG_AUTO_PERIOD ? "auto period" : "interval", v);
			return -EINVAL;
		}
		*(id == CONFIG_AUTO_PERIOD ? &c->auto_period_ns : &c->interval_ns) = ns;
		break;
	case CONFIG_SAMPLE_BYTES:
		if (config_parse_size(v, &sz) || (sz && sz < 4096) || sz > (1ULL << 40)) {
			snprintf(
				err, errlen,
				"invalid sample period '%s': expected a size from 4K to 1T, or 0 for off",
				v);
			return -EINVAL;
		}
		c->sample_bytes = sz;
		break;
	case CONFIG_AUTO_TARGET:
	case CONFIG_AUTO_STEP: {
		bool target = id == CONFIG_AUTO_TARGET;
		char *end;

		errno = 0;
		f = strtod(v, &end);
		if (!*v || *end || errno || !(target ? f > 0 && f < 100 : f > 0 && f <= 0.5)) {
			snprintf(
				err, errlen,
				target ?
					"invalid auto target '%s': expected a stall percentage above 0 and below 100" :
					"invalid auto step '%s': expected a fraction above 0, at most 0.5",
				v);
			return -EINVAL;
		}
		*(target ? &c->auto_target : &c->auto_step) = f;
		break;
	}
	case CONFIG_SWAP:
		if (!*v) {
			snprintf(err, errlen, "empty swap path");
			return -EINVAL;
		}
		c->swap_path = v;
		break;
	case CONFIG_SWAP_SIZE:
		if (config_parse_size(v, &sz) || (sz && sz < (1ULL << 20))) {
			snprintf(
				err, errlen,
				"invalid swap size '%s': expected a size of at least 1M, or 0 for no cap",
				v);
			return -EINVAL;
		}
		c->swap_size = sz;
		break;
	case CONFIG_SWAPPINESS:
		if (!strcmp(v, "auto")) {
			c->swappiness = SWAPPINESS_AUTO;
		} else if (parse_int(v, 0, 200, &n)) {
			snprintf(
				err, errlen,
				"invalid swappiness '%s': expected an integer from 0 to 200, or auto",
				v);
			return -EINVAL;
		} else {
			c->swappiness = (int)n;
		}
		break;
	case CONFIG_STATS:
		c->stats_path = *v ? v : NULL;
		break;
	case CONFIG_CHILDREN_DIR:
		c->children_dir = *v ? v : NULL;
		break;
	case CONFIG_VERBOSE:
		c->verbose = *v && strcmp(v, "0");
		break;
	case CONFIG_DEBUG:
		c->debug = *v && strcmp(v, "0");
		break;
	case CONFIG_NO_CHILDREN:
		c->no_children = *v && strcmp(v, "0");
		break;
	case CONFIG_SWAP_ENCRYPT:
		c->swap_encrypt = *v && strcmp(v, "0");
		break;
	case CONFIG_NEW_ANON:
		if (parse_choice(v, "active", "inactive", &b)) {
			snprintf(err, errlen, "invalid --new-anon '%s': expected active or inactive", v);
			return -EINVAL;
		}
		c->new_anon_inactive = b;
		break;
	case CONFIG_TRACK:
		if (parse_choice(v, "uffd", "mprotect", &b)) {
			snprintf(err, errlen,
				 "invalid tracking mechanism '%s': expected uffd or mprotect", v);
			return -EINVAL;
		}
		c->track = b ? TRACK_MPROTECT : TRACK_UFFD;
		break;
	case CONFIG_COMPRESS:
		if (!strcmp(v, "lz4")) {
			c->compress = COMPRESS_LZ4;
		} else if (!strcmp(v, "zstd")) {
			c->compress = COMPRESS_ZSTD;
		} else if (!strcmp(v, "off")) {
			c->compress = COMPRESS_OFF;
		} else {
			snprintf(err, errlen, "invalid compressor '%s': expected lz4, zstd or off", v);
			return -EINVAL;
		}
		break;
	case CONFIG_COMPRESS_POOL: {
		char *end;

		if (!strcmp(v, "auto")) {
			c->compress_pool_auto = true;
			break;
		}
		f = strtod(v, &end);
		if (end == v || *end || !(f >= 0.05 && f <= 0.9)) {
			snprintf(err, errlen,
				 "invalid compressed pool share '%s': expected a fraction from 0.05 to 0.9, or auto",
				 v);
			return -EINVAL;
		}
		c->compress_pool = f;
		c->compress_pool_auto = false;
		break;
	}
	case CONFIG_SWAP_CLUSTER:
		if (parse_int(v, 0, 64, &n) || (n & (n - 1))) {
			snprintf(err, errlen,
				 "invalid swap cluster '%s': expected 0 or a power of two up to 64", v);
			return -EINVAL;
		}
		c->swap_cluster = (unsigned)n;
		break;
	case CONFIG_WMARK_MIN:
	case CONFIG_WMARK_LOW:
	case CONFIG_WMARK_HIGH:
		if (parse_fraction(v, &f)) {
			snprintf(err, errlen,
				 "invalid watermark %s='%s': expected a fraction from 0 to 0.5",
				 env, v);
			return -EINVAL;
		}
		*(id == CONFIG_WMARK_MIN ? &c->wmark_min :
		  id == CONFIG_WMARK_LOW ? &c->wmark_low :
					   &c->wmark_high) = f;
		break;
	case CONFIG_HEAP_RESERVE:
		if (config_parse_size(v, &sz) || sz < (64ULL << 20) || sz > (1ULL << 45)) {
			snprintf(err, errlen,
				 "invalid heap reserve '%s': expected a size from 64M to 32T", v);
			return -EINVAL;
		}
		c->heap_reserve = sz;
		break;
	case CONFIG_BATCH:
		if (parse_int(v, 1, 1024, &n)) {
			snprintf(err, errlen, "invalid batch '%s': expected 1 to 1024 pages", v);
			return -EINVAL;
		}
		c->batch = (unsigned)n;
		break;
	case CONFIG_GRANULE:
		if (parse_int(v, 1, 512, &n) || (n & (n - 1))) {
			snprintf(
				err, errlen,
				"invalid granule '%s': expected a power of two from 1 to 512 pages",
				v);
			return -EINVAL;
		}
		c->granule_pages = (unsigned)n;
		break;
	case CONFIG_WQ_CAP:
		if (parse_int(v, 2, 1L << 20, &n) || (n & (n - 1))) {
			snprintf(
				err, errlen,
				"invalid USWAP_WQ_CAP '%s': expected a power of two from 2 to 1048576",
				v);
			return -EINVAL;
		}
		c->wq_cap = (unsigned)n;
		break;
	case CONFIG_STATS_PID:
		if (parse_int(v, 1, 1L << 30, &n)) {
			snprintf(err, errlen, "invalid USWAP_STATS_PID '%s'", v);
			return -EINVAL;
		}
		c->stats_pid = n;
		break;
	case CONFIG_ON_FORK:
		if (parse_choice(v, "managed", "unmanaged", &b)) {
			snprintf(err, errlen,
				 "invalid fork policy '%s': expected managed or unmanaged", v);
			return -EINVAL;
		}
		c->fork_unmanaged = b;
		break;
	case CONFIG_REFAULT_ACTIVATE:
		if (!strcmp(v, "1") || !strcmp(v, "on"))
			c->refault_activate = true;
		else if (!strcmp(v, "0") || !strcmp(v, "off"))
			c->refault_activate = false;
		else {
			snprintf(err, errlen, "invalid refault activation '%s': expected on or off",
				 v);
			return -EINVAL;
		}
		break;
	case CONFIG_FILE_MAPS:
		if (parse_choice(v, "kernel", "managed", &b)) {
			snprintf(err, errlen,
				 "invalid file mapping policy '%s': expected managed or kernel", v);
			return -EINVAL;
		}
		c->file_maps = b;
		break;
	case CONFIG_FILE_CACHE:
		if (parse_choice(v, "keep", "drop", &b)) {
			snprintf(err, errlen,
				 "invalid file cache policy '%s': expected keep or drop", v);
			return -EINVAL;
		}
		c->file_cache_drop = b;
		break;
	case NR_CONFIG_SETTINGS:
		break;
	}
	return 0;
}

static int id_of(const char *env)
{
	for (int i = 0; i < NR_CONFIG_SETTINGS; i++)
		if (!strcmp(env, config_settings[i].env))
			return i;
	return -1;
}

int config_apply(struct config *c, const char *env, const char *value, char *err, size_t errlen)
{
	int id = id_of(env);

	if (id < 0) {
		snprintf(err, errlen, "unknown setting %s", env);
		return -EINVAL;
	}
	return apply(c, (enum config_id)id, value, err, errlen);
}

int config_check(const char *env, const char *value, char *err, size_t errlen)
{
	struct config scratch = config;

	return config_apply(&scratch, env, value, err, errlen);
}

int config_check_watermarks(const struct config *c, char *err, size_t errlen)
{
	if (!(c->wmark_min <= c->wmark_low && c->wmark_low <= c->wmark_high)) {
		snprintf(err, errlen, "watermarks must satisfy min <= low <= high (got %g, %g, %g)",
			 c->wmark_min, c->wmark_low, c->wmark_high);
		return -EINVAL;
	}
	return 0;
}

bool config_is_live(const char *env)
{
	int id = id_of(env);

	return id >= 0 && config_settings[id].key;
}

const char *config_key_env(const char *key, size_t len)
{
	for (int i = 0; i < NR_CONFIG_SETTINGS; i++) {
		const char *k = config_settings[i].key;

		if (k && strlen(k) == len && !memcmp(k, key, len))
			return config_settings[i].env;
	}
	return NULL;
}

const char *config_live_keys(void)
{
	static char keys[256];

	if (!keys[0]) {
		size_t n = 0;

		for (int i = 0; i < NR_CONFIG_SETTINGS; i++)
			if (config_settings[i].key)
				n += (size_t)snprintf(keys + n, sizeof(keys) - n, "%s%s",
						      n ? ", " : "", config_settings[i].key);
	}
	return keys;
}

/* Owned copies of the settings, "NAME=value": the string settings point
 * into them. Static: the runtime keeps out of the program's heap, and
 * config_load runs before anything else could allocate. */
static char saved_buf[32768];
static size_t saved_top;
static const char *saved[NR_CONFIG_SETTINGS];

/* Copy "name=value" into saved_buf; returns the copy's value part. */
static const char *save_copy(const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	char *p;

	if (nl + vl + 2 > sizeof(saved_buf) - saved_top)
		return NULL;
	p = saved_buf + saved_top;
	memcpy(p, name, nl);
	p[nl] = '=';
	memcpy(p + nl + 1, value, vl + 1);
	saved_top += nl + vl + 2;
	return p + nl + 1;
}

static int save_setting(enum config_id id, const char *value, char *err, size_t errlen)
{
	const char *env = config_settings[id].env, *v = save_copy(env, value);

	if (!v) {
		snprintf(err, errlen,
			 "the settings are too long (%s and the others over %zu bytes)", env,
			 sizeof(saved_buf));
		return -ENOMEM;
	}
	if (apply(&config, id, v, err, errlen))
		return -EINVAL;
	saved[id] = v - strlen(env) - 1;
	return 0;
}

int config_set(enum config_id id, const char *value, char *err, size_t errlen)
{
	return save_setting(id, value, err, errlen);
}

const char *config_saved_entry(enum config_id id)
{
	return id < NR_CONFIG_SETTINGS ? saved[id] : NULL;
}

int config_load(char *err, size_t errlen)
{
	const char *lim = getenv("USWAP_LIMIT"), *tmp = getenv("TMPDIR");

	if (!lim)
		return -ENOENT;
	saved_top = 0;
	memset(saved, 0, sizeof(saved));
	config.tmpdir = NULL;
	if (tmp && *tmp) {
		config.tmpdir = save_copy("TMPDIR", tmp);
		if (!config.tmpdir) {
			snprintf(err, errlen, "TMPDIR is too long");
			return -EINVAL;
		}
	}
	for (int i = 0; i < NR_CONFIG_SETTINGS; i++) {
		const char *v = getenv(config_settings[i].env);

		if (v && save_setting((enum config_id)i, v, err, errlen))
			return -EINVAL;
	}
	return config_check_watermarks(&config, err, errlen);
}
