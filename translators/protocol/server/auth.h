/*
 * auth.h - address matching for protocol/server's auth.allow / auth.reject.
 * Private to protocol/server (and its unit test); not installed.
 */
#ifndef MORTAR_SERVER_AUTH_H
#define MORTAR_SERVER_AUTH_H

#include <stdbool.h>

/* True when addr matches one pattern of the comma-separated list.  A
 * pattern is an address, "*", or a glob with '*' (10.1.*).  Spaces around
 * entries are ignored.  IPv4-mapped IPv6 peers (::ffff:a.b.c.d) also match
 * their IPv4 form.  NULL or empty list matches nothing. */
bool server_auth_match(const char *list, const char *addr);

/* The decision at handshake: reject wins over allow. */
bool server_auth_allowed(const char *allow, const char *reject,
			 const char *addr);

#endif
