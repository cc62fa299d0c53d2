/*
 * unify-ticket.c - where this client's round-robin starts.
 *
 * Every client runs its own rotation over the children.  Started at child
 * 0 everywhere, N clients that each create one file put all N files on
 * the first brick.  So the rotation is shared through the bricks: when
 * the first child comes up, the client takes a ticket from it, an
 * xattrop adding 1 to the counter UNIFY_TICKET_XATTR on that brick's root
 * directory (atomic on the brick, so no two mounts get the same number),
 * and starts at child (ticket - 1) mod N.  The k-th client to mount then
 * starts at child k mod N: N clients creating one file each spread with
 * at most one file of difference between any two children.
 *
 * Until the answer comes (it is sent before the volume is up, so in
 * practice before the first create), or when the first child is down at
 * mount or cannot count (a replicate set answers xattrop ENOTSUP), the
 * rotation starts at a point drawn from the client's identity (host, pid,
 * clock): spread at random rather than all at child 0.
 *
 * One ticket per mount, whatever the number of files: a create costs no
 * extra round trip.
 */
#include "config.h"

#include "unify.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A start point from this client's identity: FNV-1a over host, pid and
 * the clock. */
unsigned unify_ticket_identity(void)
{
	char host[128] = "";
	struct timespec ts;
	uint64_t h = 1469598103934665603ull;
	uint64_t mix[2];

	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	mix[0] = (uint64_t)getpid();
	mix[1] = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	for (const char *p = host; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	for (size_t i = 0; i < sizeof(mix); i++)
		h = (h ^ ((const uint8_t *)mix)[i]) * 1099511628211ull;
	return (unsigned)(h ^ (h >> 32));
}

static void unify_ticket_cbk(struct xl_call *none, struct xl_call *call,
			     void *cookie)
{
	struct xl *xl = cookie;
	struct unify_priv *priv = unify_priv(xl);
	const struct xl_dict_pair *p = NULL;
	uint64_t be, ticket = 0;

	(void)none;
	if (call->reply.ret == 0)
		p = xl_dict_get(call->reply.xdata, UNIFY_TICKET_XATTR);
	if (p && p->len == sizeof(be)) {
		memcpy(&be, p->value, sizeof(be));
		ticket = be64toh(be);
	}
	pthread_mutex_lock(&priv->lock);
	if (ticket) {
		priv->ticket = ticket;
		priv->cursor = (unsigned)((ticket - 1) % (uint64_t)priv->n);
	} else {
		priv->ticket_failed = true;
	}
	pthread_mutex_unlock(&priv->lock);
	if (ticket)
		xl_debug(xl->name, "round-robin ticket %llu: starting at %s",
			 (unsigned long long)ticket,
			 xl->children[(ticket - 1) % (uint64_t)priv->n]->name);
	else
		xl_info(xl->name,
			"no round-robin ticket from %s (errno=%d): the "
			"rotation starts at a point drawn from this client",
			xl->children[0]->name,
			call->reply.ret < 0 ? -call->reply.ret : EPROTO);
	atomic_fetch_sub(&priv->refresh_in, 1);
}

void unify_ticket_take(struct xl *xl)
{
	struct unify_priv *priv = unify_priv(xl);
	struct xl_args a;
	uint64_t one = htobe64(1);
	bool go;

	pthread_mutex_lock(&priv->lock);
	go = !priv->ticket_sent && !priv->stopping;
	priv->ticket_sent = true;
	pthread_mutex_unlock(&priv->lock);
	if (!go)
		return;
	memset(&a, 0, sizeof(a));
	memcpy(a.loc.gfid, xl_gfid_root, XL_GFID_LEN);
	a.flags = XL_XATTROP_ADD64;
	a.xdata = xl_dict_new();
	if (!a.xdata ||
	    xl_dict_set(a.xdata, UNIFY_TICKET_XATTR, &one, sizeof(one)) < 0) {
		if (a.xdata)
			xl_dict_unref(a.xdata);
		pthread_mutex_lock(&priv->lock);
		priv->ticket_failed = true;
		pthread_mutex_unlock(&priv->lock);
		return;
	}
	atomic_fetch_add(&priv->refresh_in, 1);
	xl_call_internal(xl, XL_ORIGIN_NONE, xl->children[0], XL_FOP_XATTROP,
			 NULL, &a, unify_ticket_cbk, xl);
}
