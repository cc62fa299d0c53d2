/*
 * auth.c - decide whether a peer may attach to the brick, from the
 * auth.allow and auth.reject lists: address patterns, and cn: entries for
 * the common name of a TLS client certificate.  Pure functions, no state.
 */
#include "config.h"

#include "auth.h"

#include <fnmatch.h>
#include <string.h>
#include <strings.h>

#define AUTH_PATTERN_MAX 160 /* "cn:" and a name of RPC_TLS_CN_MAX */
#define AUTH_CN_PREFIX	 "cn:"

static bool auth_match_one(const char *pattern, const char *addr)
{
	static const char v4mapped[] = "::ffff:";
	size_t plen = strlen(v4mapped);

	if (strcmp(pattern, "*") == 0)
		return true;
	/* Plain addresses compare case-insensitively (IPv6 hex digits);
	 * globs go through fnmatch, where '*' also crosses '.' and ':'. */
	if (strcasecmp(pattern, addr) == 0)
		return true;
	if (fnmatch(pattern, addr, FNM_CASEFOLD) == 0)
		return true;
	/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; the
	 * admin writes the IPv4 form. */
	if (strncasecmp(addr, v4mapped, plen) == 0 && strchr(addr + plen, '.'))
		return auth_match_one(pattern, addr + plen);
	return false;
}

/* A "cn:" entry: only a peer with a certificate name can match it. */
static bool auth_match_cn(const char *pattern, const char *cn)
{
	if (!cn || !*cn || !*pattern)
		return false;
	return fnmatch(pattern, cn, FNM_CASEFOLD) == 0;
}

static bool auth_match_entry(const char *entry, const char *addr,
			     const char *cn)
{
	size_t plen = strlen(AUTH_CN_PREFIX);

	if (strncasecmp(entry, AUTH_CN_PREFIX, plen) == 0)
		return auth_match_cn(entry + plen, cn);
	return addr && auth_match_one(entry, addr);
}

bool server_auth_match(const char *list, const char *addr, const char *cn)
{
	const char *p = list;

	if (!list)
		return false;
	while (*p) {
		char pattern[AUTH_PATTERN_MAX];
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		/* An entry too long to be an address or a name matches
		 * nothing. */
		if (len && len < sizeof(pattern)) {
			memcpy(pattern, p, len);
			pattern[len] = '\0';
			if (auth_match_entry(pattern, addr, cn))
				return true;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

bool server_auth_allowed(const char *allow, const char *reject,
			 const char *addr, const char *cn)
{
	if (server_auth_match(reject, addr, cn))
		return false;
	return server_auth_match(allow, addr, cn);
}
