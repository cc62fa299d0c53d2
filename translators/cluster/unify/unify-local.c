/*
 * unify-local.c - nufa without local-volume-name: find the subvolume
 * served by this machine.
 *
 * A client volfile served by a brick is the same for every client, so it
 * cannot name each client's local brick.  Then the local subvolume is the
 * first child whose subtree holds a protocol/client whose remote-host is
 * an address of this machine (loopback, or an address of one of its
 * interfaces).  Runs once at init (name resolution may block there, never
 * in a fop).
 */
#include "config.h"

#include "unify.h"

#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static bool unify_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr,
			      sizeof(struct in6_addr)) == 0;
	return false;
}

static bool unify_addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)
				  ->sin_addr.s_addr) >>
			24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

/* host (a name or an address) is this machine. */
static bool unify_host_is_local(const char *host, struct ifaddrs *ifs)
{
	struct addrinfo hints, *res = NULL, *ai;
	bool local = false;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return false;
	for (ai = res; ai && !local; ai = ai->ai_next) {
		if (unify_addr_is_loopback(ai->ai_addr)) {
			local = true;
			break;
		}
		for (struct ifaddrs *i = ifs; i && !local; i = i->ifa_next)
			local = i->ifa_addr &&
				unify_addr_equal(ai->ai_addr, i->ifa_addr);
	}
	freeaddrinfo(res);
	return local;
}

static const char *unify_opt_value(const struct xl *xl, const char *key)
{
	for (int i = 0; i < xl->option_count; i++)
		if (strcmp(xl->options[i].key, key) == 0)
			return xl->options[i].value;
	return NULL;
}

/* xl or a translator below it is a protocol/client to this machine. */
static bool unify_subtree_is_local(const struct xl *xl, struct ifaddrs *ifs,
				   int depth)
{
	const char *host;

	if (depth > 16)
		return false;
	if (strcmp(xl->desc->type, "protocol/client") == 0) {
		host = unify_opt_value(xl, "remote-host");
		return host && unify_host_is_local(host, ifs);
	}
	for (int i = 0; i < xl->child_count; i++)
		if (unify_subtree_is_local(xl->children[i], ifs, depth + 1))
			return true;
	return false;
}

int unify_find_local(struct xl *xl)
{
	struct ifaddrs *ifs = NULL;
	int found = -1;

	if (getifaddrs(&ifs) != 0)
		ifs = NULL;
	for (int i = 0; i < xl->child_count && found < 0; i++)
		if (unify_subtree_is_local(xl->children[i], ifs, 0))
			found = i;
	if (ifs)
		freeifaddrs(ifs);
	return found;
}
