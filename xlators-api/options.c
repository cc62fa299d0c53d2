/*
 * options.c - option validation against a translator's table, and the
 * typed getters translators call from init.
 */
#include "config.h"

#include "xlator.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *opt_errf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static char *opt_errf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static int opt_parse_int(const char *s, int64_t *out)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int xl_parse_size(const char *s, int64_t *out)
{
	char *end;
	int shift = 0;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 0:
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (toupper((unsigned char)*end) == 'B' ||
		    (toupper((unsigned char)*end) == 'I' &&
		     toupper((unsigned char)end[1]) == 'B'))
			end += toupper((unsigned char)*end) == 'B' ? 1 : 2;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (INT64_MAX >> shift))
		return -ERANGE;
	*out = (int64_t)v << shift;
	return 0;
}

int xl_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"on", "yes", "true", "enable", "1"};
	static const char *const no[] = {"off", "no", "false", "disable", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int opt_parse_percent(const char *s, int64_t *out)
{
	char buf[32];
	size_t len = strlen(s);

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len + 1);
	if (buf[len - 1] == '%')
		buf[len - 1] = 0;
	if (opt_parse_int(buf, out) || *out < 0 || *out > 100)
		return -EINVAL;
	return 0;
}

/* One address pattern: an IPv4/IPv6 literal, or IPv4 with '*' octets, or
 * '*' alone; or "cn:" and a certificate name (glob allowed) of at most
 * 128 bytes, which protocol/server matches against TLS clients. */
static bool opt_addr_pattern_ok(const char *p, size_t len)
{
	char buf[64];
	unsigned char tmp[16];

	if (len > 3 && len <= 3 + 128 && strncasecmp(p, "cn:", 3) == 0)
		return true;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, p, len);
	buf[len] = 0;
	if (strcmp(buf, "*") == 0)
		return true;
	if (inet_pton(AF_INET, buf, tmp) == 1 ||
	    inet_pton(AF_INET6, buf, tmp) == 1)
		return true;
	/* IPv4 with wildcards: each dot-separated part is 0-255 or '*'. */
	int parts = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok;
	     tok = strtok_r(NULL, ".", &save)) {
		int64_t v;
		parts++;
		if (strcmp(tok, "*") == 0)
			continue;
		if (opt_parse_int(tok, &v) || v < 0 || v > 255)
			return false;
	}
	return parts >= 1 && parts <= 4 && strchr(p, '*') != NULL;
}

static int opt_check_range(const struct xl_option_desc *od, int64_t v,
			   const char *value, char **err)
{
	if ((od->min || od->max) && (v < od->min || v > od->max)) {
		*err = opt_errf("option '%s': value '%s' out of range "
				"%" PRId64 "..%" PRId64,
				od->key, value, od->min, od->max);
		return -ERANGE;
	}
	return 0;
}

int xl_option_validate(const struct xl_option_desc *od, const char *value,
		       char **err)
{
	int64_t v;
	bool b;

	*err = NULL;
	switch (od->type) {
	case XL_OPT_STR:
		return 0;
	case XL_OPT_INT:
	case XL_OPT_TIME:
		if (opt_parse_int(value, &v)) {
			*err = opt_errf("option '%s': '%s' is not an integer",
					od->key, value);
			return -EINVAL;
		}
		return opt_check_range(od, v, value, err);
	case XL_OPT_SIZE:
		if (xl_parse_size(value, &v)) {
			*err = opt_errf("option '%s': '%s' is not a size "
					"(e.g. 4096, 64K, 1M, 2G)",
					od->key, value);
			return -EINVAL;
		}
		return opt_check_range(od, v, value, err);
	case XL_OPT_PERCENT:
		if (opt_parse_percent(value, &v)) {
			*err = opt_errf("option '%s': '%s' is not a percentage "
					"0..100",
					od->key, value);
			return -EINVAL;
		}
		return 0;
	case XL_OPT_BOOL:
		if (xl_parse_bool(value, &b)) {
			*err = opt_errf("option '%s': '%s' is not on/off",
					od->key, value);
			return -EINVAL;
		}
		return 0;
	case XL_OPT_ENUM:
		for (int i = 0; od->choices && od->choices[i]; i++)
			if (strcmp(od->choices[i], value) == 0)
				return 0;
		*err = opt_errf("option '%s': '%s' is not one of the allowed "
				"values",
				od->key, value);
		return -EINVAL;
	case XL_OPT_PATH:
		if (value[0] != '/') {
			*err = opt_errf("option '%s': '%s' is not an absolute "
					"path",
					od->key, value);
			return -EINVAL;
		}
		return 0;
	case XL_OPT_ADDRLIST:
		for (const char *p = value; *p;) {
			size_t len = strcspn(p, ", ");
			if (len && !opt_addr_pattern_ok(p, len)) {
				*err = opt_errf("option '%s': '%.*s' is not an "
						"address, pattern or cn:NAME",
						od->key, (int)len, p);
				return -EINVAL;
			}
			p += len;
			p += strspn(p, ", ");
		}
		return 0;
	}
	*err = opt_errf("option '%s': unknown option type", od->key);
	return -EINVAL;
}

const struct xl_option_desc *xl_option_find(const struct xl_option_desc *table,
					    const char *key)
{
	for (; table && table->key; table++)
		if (strcmp(table->key, key) == 0)
			return table;
	return NULL;
}

static const char *opt_value(struct xl *xl, const char *key)
{
	for (int i = 0; i < xl->option_count; i++)
		if (strcmp(xl->options[i].key, key) == 0)
			return xl->options[i].value;
	return NULL;
}

int xl_opt_str(struct xl *xl, const char *key, const char **out)
{
	const char *v = opt_value(xl, key);

	if (!v)
		return -ENOENT;
	*out = v;
	return 0;
}

int xl_opt_int(struct xl *xl, const char *key, int64_t *out)
{
	const struct xl_option_desc *od =
	    xl_option_find(xl->desc->options, key);
	const char *v = opt_value(xl, key);

	if (!v || !od)
		return -ENOENT;
	switch (od->type) {
	case XL_OPT_SIZE:
		return xl_parse_size(v, out);
	case XL_OPT_PERCENT:
		return opt_parse_percent(v, out);
	default:
		return opt_parse_int(v, out);
	}
}

int xl_opt_bool(struct xl *xl, const char *key, bool *out)
{
	const char *v = opt_value(xl, key);

	if (!v)
		return -ENOENT;
	return xl_parse_bool(v, out);
}
