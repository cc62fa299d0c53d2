/*
 * auth.c - decide whether a peer address may attach to the brick, from the
 * auth.allow and auth.reject pattern lists.  Pure functions, no state.
 */
#include "config.h"

#include "auth.h"

#include <fnmatch.h>
#include <string.h>
#include <strings.h>

#define AUTH_PATTERN_MAX 128

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

bool server_auth_match(const char *list, const char *addr)
{
	const char *p = list;

	if (!list || !addr)
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
		/* An entry too long to be an address matches nothing. */
		if (len && len < sizeof(pattern)) {
			memcpy(pattern, p, len);
			pattern[len] = '\0';
			if (auth_match_one(pattern, addr))
				return true;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

bool server_auth_allowed(const char *allow, const char *reject,
			 const char *addr)
{
	if (server_auth_match(reject, addr))
		return false;
	return server_auth_match(allow, addr);
}
