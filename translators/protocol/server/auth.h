/*
 * auth.h - address matching for protocol/server's auth.allow / auth.reject.
 * Private to protocol/server (and its unit test); not installed.
 */
#ifndef MORTAR_SERVER_AUTH_H
#define MORTAR_SERVER_AUTH_H

#include <stdbool.h>

/* True when the peer matches one entry of the comma-separated list.  An
 * entry is an address, "*", a glob with '*' (10.1.*), or "cn:" and a name
 * or glob (cn:client1, cn:*.lab) that matches the common name of the
 * peer's verified TLS certificate, case-insensitively.  cn is "" or NULL
 * without TLS: then no cn: entry matches.  Spaces around entries are
 * ignored.  IPv4-mapped IPv6 peers (::ffff:a.b.c.d) also match their IPv4
 * form.  NULL or empty list matches nothing. */
bool server_auth_match(const char *list, const char *addr, const char *cn);

/* The decision at handshake: reject wins over allow. */
bool server_auth_allowed(const char *allow, const char *reject,
			 const char *addr, const char *cn);

#endif
