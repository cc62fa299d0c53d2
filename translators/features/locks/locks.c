/*
 * locks.c - features/locks: POSIX record locks (LK) and flock locks (FLOCK)
 * held on the brick, between io-threads and storage/posix.
 *
 * Lock state lives in a table of struct lk_inode keyed by gfid.  Each inode
 * has two independent lock lists (POSIX and flock never conflict with each
 * other, as on Linux) and a FIFO queue of parked blocking requests for
 * each.  The range arithmetic is in xlators-api/lk-range.c.
 *
 * Internal locks (INODELK, doc/cluster.md) are what the cluster
 * translators serialise their transactions with: byte ranges like POSIX
 * locks, but kept per named domain (a list of struct lk_domain on the
 * inode), never conflicting with POSIX locks or other domains, owned by
 * (client-id, args.lock.owner) and independent of any open fd, so a
 * disconnect drops them through a separate INODELK that carries
 * "mortar.disconnect".
 *
 * Owners: a POSIX lock belongs to (client-id, lk owner), a flock lock to
 * (client-id, the xl_fd it was taken through).  client-id comes from the
 * xdata key "mortar.client-id" that protocol/server sets (0 when absent,
 * e.g. a graph without protocol/server).
 *
 * A blocking request (F_SETLKW, flock without LOCK_NB) that cannot be
 * granted is parked: the call is kept in a waiter and not answered, and no
 * thread waits for it.  Whoever releases a range grants the waiters that
 * fit and answers them after dropping the table mutex.  How many one
 * connection may park is bounded by protocol/server (ENOLCK beyond it).
 *
 * Gone clients.  protocol/server cleans up after a lost connection with
 * calls carrying "mortar.disconnect": a RELEASE per fd the client left
 * open and one INODELK that sweeps every inode (POSIX, flock and internal
 * locks and waiters of that client-id).  Requests the client sent before
 * it went can still be on their way: queued in io-threads, or taken by
 * one worker while another runs the cleanup.  Granted or parked after the
 * cleanup, such a request would hold a lock for a client that no longer
 * exists until the brick restarts.  So the first cleanup call that
 * arrives records the client-id in priv->gone, under the table mutex, and
 * every LK / FLOCK / INODELK of a recorded id is refused with ENOTCONN
 * (its answer goes nowhere).  Each request is thus either handled before
 * the sweep, which then drops what it got, or refused: whatever the
 * number of io-threads and the order they run in.  The record stays
 * until protocol/server sends "mortar.client-forget" for the id, which it
 * does once every call of that client and every cleanup call has been
 * answered, when no request of the id can reach us any more; client-ids
 * are never reused.  So priv->gone holds only clients whose cleanup is
 * still in progress, a few entries at any time.
 *
 * Locking: priv->mutex guards the whole table (buckets, every lk_inode,
 * its lists and queues, the gone clients, the counters).  It is never held
 * while winding or unwinding: answers are collected on a chain under the mutex
 * and sent after it is released.
 */
#include "config.h"

#include "lk-range.h"

#include "buf.h"
#include "inode.h"
#include "log.h"
#include "xlator.h"
#include "xdata-keys.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#define LK_BUCKETS 256

/* The internal locks of one domain on one inode. */
struct lk_domain {
	struct lk_domain *next;
	char *name;
	struct xl_lk_list held;
	struct xl_lk_waitq wait;
};

struct lk_inode {
	struct lk_inode *hash_next;
	uint8_t gfid[XL_GFID_LEN];
	struct xl_lk_list posix;
	struct xl_lk_list flocks;
	struct xl_lk_waitq posix_wait;
	struct xl_lk_waitq flock_wait;
	struct lk_domain *domains; /* internal locks, by domain name */
};

/* A client-id whose disconnect cleanup ran (see the header). */
struct lk_gone {
	struct lk_gone *next;
	uint64_t client;
};

struct lk_priv {
	pthread_mutex_t mutex; /* guards everything below */
	struct lk_inode *buckets[LK_BUCKETS];
	uint64_t inode_count;
	struct lk_gone *gone; /* cleaned-up client-ids not yet forgotten */
	unsigned gone_count;
	uint64_t late_refused; /* requests of gone clients refused */
	uint64_t parked;       /* requests ever parked */
	uint64_t refused;      /* EAGAIN / EWOULDBLOCK answers */
	uint64_t deadlocks;
	uint64_t internal_parked; /* INODELK requests ever parked */
};

/* ---- table ----------------------------------------------------------- */

static unsigned lk_hash(const uint8_t *gfid)
{
	unsigned h = 0;

	for (int i = 0; i < XL_GFID_LEN; i++)
		h = h * 31 + gfid[i];
	return h % LK_BUCKETS;
}

/* The inode for gfid, created when create is set.  NULL when absent (or on
 * ENOMEM when creating). */
static struct lk_inode *lk_inode_get_locked(struct xl *xl, struct lk_priv *priv,
					    const uint8_t *gfid, bool create)
{
	unsigned b = lk_hash(gfid);
	struct lk_inode *ino;

	for (ino = priv->buckets[b]; ino; ino = ino->hash_next)
		if (memcmp(ino->gfid, gfid, XL_GFID_LEN) == 0)
			return ino;
	if (!create)
		return NULL;
	ino = xl_calloc(xl, 1, sizeof(*ino));
	if (!ino)
		return NULL;
	memcpy(ino->gfid, gfid, XL_GFID_LEN);
	xl_lk_waitq_init(&ino->posix_wait);
	xl_lk_waitq_init(&ino->flock_wait);
	ino->hash_next = priv->buckets[b];
	priv->buckets[b] = ino;
	priv->inode_count++;
	return ino;
}

/* Free ino if it holds no lock and no waiter any more. */
static void lk_inode_put_locked(struct xl *xl, struct lk_priv *priv,
				struct lk_inode *ino)
{
	struct lk_inode **pp;

	if (!ino || ino->posix.head || ino->flocks.head ||
	    ino->posix_wait.count || ino->flock_wait.count || ino->domains)
		return;
	for (pp = &priv->buckets[lk_hash(ino->gfid)]; *pp;
	     pp = &(*pp)->hash_next) {
		if (*pp == ino) {
			*pp = ino->hash_next;
			priv->inode_count--;
			xl_free(xl, ino);
			return;
		}
	}
}

/* ---- answering parked calls ------------------------------------------ */

/* Append every waiter of chain src to *dst (both NULL-terminated). */
static void lk_chain_append(struct xl_lk_waiter **dst, struct xl_lk_waiter *src)
{
	while (*dst)
		dst = &(*dst)->next;
	*dst = src;
}

/* Take the waiters of (who | client) off q, to be answered with err. */
static void lk_cancel_locked(struct xl_lk_waitq *q,
			     const struct xl_lk_owner *who, bool any_owner,
			     int err, struct xl_lk_waiter **chain)
{
	struct xl_lk_waiter *w;

	while ((w = xl_lk_waitq_take(q, who, any_owner))) {
		w->ret = err;
		lk_chain_append(chain, w);
	}
}

/* Take every waiter off q, to be answered with err. */
static void lk_cancel_all_locked(struct xl_lk_waitq *q, int err,
				 struct xl_lk_waiter **chain)
{
	while (q->head) {
		struct xl_lk_waiter *w = q->head;

		xl_lk_waitq_remove(q, w);
		w->ret = err;
		lk_chain_append(chain, w);
	}
}

/* Answer and free every waiter of chain.  Called without the mutex. */
static void lk_answer(struct xl *xl, struct xl_lk_waiter *chain)
{
	while (chain) {
		struct xl_lk_waiter *w = chain;
		struct xl_call *call = w->data;
		int ret = w->ret;

		chain = w->next;
		xl_free(xl, w);
		if (ret == 0 && call->fop == XL_FOP_LK)
			call->reply.lock = call->args.lock;
		xl_debug(xl->name, "lock %s: unique=%" PRIu64 " ret=%d",
			 ret == 0 ? "granted" : "cancelled", call->unique, ret);
		call->reply.ret = ret;
		xl_unwind(call);
	}
}

/* ---- helpers on calls ------------------------------------------------ */

static uint64_t lk_client_id(const struct xl_call *call)
{
	uint64_t id = 0;

	if (call->args.xdata)
		xl_dict_get_u64(call->args.xdata, XL_KEY_CLIENT_ID, &id);
	return id;
}

static bool lk_is_disconnect(const struct xl_call *call)
{
	uint64_t v = 0;

	if (call->args.xdata)
		xl_dict_get_u64(call->args.xdata, XL_KEY_DISCONNECT, &v);
	return v != 0;
}

static bool lk_is_forget(const struct xl_call *call)
{
	uint64_t v = 0;

	if (call->args.xdata)
		xl_dict_get_u64(call->args.xdata, XL_KEY_CLIENT_FORGET, &v);
	return v != 0;
}

/* ---- gone clients ------------------------------------------------------ */

static bool lk_client_gone_locked(const struct lk_priv *priv, uint64_t client)
{
	if (client == 0)
		return false; /* no protocol/server: never cleaned up */
	for (const struct lk_gone *g = priv->gone; g; g = g->next)
		if (g->client == client)
			return true;
	return false;
}

/* A request of a gone client arrived after its cleanup: refuse it (0 when
 * the client is not gone).  Logged at debug only: a client that dies with
 * many requests queued would flood the log. */
static int lk_refuse_gone_locked(struct xl *xl, struct lk_priv *priv,
				 const struct xl_call *call, uint64_t client)
{
	if (!lk_client_gone_locked(priv, client))
		return 0;
	priv->late_refused++;
	xl_debug(xl->name,
		 "%s of gone client refused: unique=%" PRIu64
		 " client=%" PRIu64,
		 xl_fop_name(call->fop), call->unique, client);
	return -ENOTCONN;
}

/* Record that client's cleanup has started.  Without memory the record is
 * lost: late requests of that client could then be granted, so say so. */
static void lk_mark_gone_locked(struct xl *xl, struct lk_priv *priv,
				uint64_t client)
{
	struct lk_gone *g;

	if (client == 0 || lk_client_gone_locked(priv, client))
		return;
	g = xl_calloc(xl, 1, sizeof(*g));
	if (!g) {
		xl_err(xl->name,
		       "cannot record gone client: client=%" PRIu64 " errno=%d",
		       client, ENOMEM);
		return;
	}
	g->client = client;
	g->next = priv->gone;
	priv->gone = g;
	priv->gone_count++;
}

/* "mortar.client-forget": no request of the client can arrive any more. */
static void lk_forget(struct xl *xl, struct xl_call *call)
{
	struct lk_priv *priv = xl->private;
	uint64_t client = lk_client_id(call);

	pthread_mutex_lock(&priv->mutex);
	for (struct lk_gone **pp = &priv->gone; *pp; pp = &(*pp)->next) {
		struct lk_gone *g = *pp;

		if (g->client == client) {
			*pp = g->next;
			priv->gone_count--;
			xl_free(xl, g);
			break;
		}
	}
	pthread_mutex_unlock(&priv->mutex);
	call->reply.ret = 0;
	xl_unwind(call);
}

/* A cancel (xdata "mortar.lk-cancel") asks to withdraw a parked blocking
 * request of the same owner, range and type: the client sends it when the
 * waiting process is interrupted (the kernel waits for the answer even for
 * SIGKILL once the request reached the file system). */
static bool lk_is_cancel(const struct xl_call *call)
{
	uint64_t v = 0;

	if (call->args.xdata)
		xl_dict_get_u64(call->args.xdata, XL_KEY_LK_CANCEL, &v);
	return v != 0;
}

static const uint8_t *lk_call_gfid(const struct xl_call *call)
{
	if (call->args.fd)
		return call->args.fd->gfid;
	return call->args.loc.gfid;
}

static uint64_t lk_fd_owner(const struct xl_fd *fd)
{
	return (uint64_t)(uintptr_t)fd;
}

/* Would owner `who` waiting for a lock of `holder` close a cycle?  Scans
 * every inode: holder waiting anywhere for a range that who holds. */
static bool lk_deadlock_locked(struct lk_priv *priv,
			       const struct xl_lk_owner *who,
			       const struct xl_lk_owner *holder)
{
	for (int b = 0; b < LK_BUCKETS; b++)
		for (struct lk_inode *ino = priv->buckets[b]; ino;
		     ino = ino->hash_next)
			if (xl_lk_waitq_waits_on(&ino->posix_wait, &ino->posix,
						 holder, who))
				return true;
	return false;
}

/* ---- LK -------------------------------------------------------------- */

/*
 * Withdraw the parked request matching req (owner, range, type) from q: it
 * is answered EINTR, and waiters it held back may be granted now.  0, or
 * -ENOENT when nothing matches (not parked yet, or granted already: the
 * client retries until its original call is answered).
 */
static int lk_withdraw_locked(struct xl_lk_waitq *q, struct xl_lk_list *held,
			      const struct xl_lk_range *req,
			      struct xl_lk_waiter **chain)
{
	for (struct xl_lk_waiter *w = q->head; w; w = w->next) {
		if (!xl_lk_owner_equal(&w->req.who, &req->who) ||
		    w->req.start != req->start || w->req.end != req->end ||
		    w->req.type != req->type)
			continue;
		xl_lk_waitq_remove(q, w);
		w->next = NULL;
		w->ret = -EINTR;
		lk_chain_append(chain, w);
		xl_lk_waitq_grant(q, held, chain);
		return 0;
	}
	return -ENOENT;
}

/* Answer a cancel for the POSIX (posix = true) or flock queue. */
static void lk_cancel(struct xl *xl, struct xl_call *call,
		      const struct xl_lk_range *req, bool posix)
{
	struct lk_priv *priv = xl->private;
	struct xl_lk_waiter *chain = NULL;
	struct lk_inode *ino;
	int ret = -ENOENT;

	pthread_mutex_lock(&priv->mutex);
	ino = lk_inode_get_locked(xl, priv, lk_call_gfid(call), false);
	if (ino) {
		ret = posix ? lk_withdraw_locked(&ino->posix_wait, &ino->posix,
						 req, &chain)
			    : lk_withdraw_locked(&ino->flock_wait, &ino->flocks,
						 req, &chain);
		lk_inode_put_locked(xl, priv, ino);
	}
	pthread_mutex_unlock(&priv->mutex);
	call->reply.ret = ret;
	xl_unwind(call);
	lk_answer(xl, chain);
}

static void lk_getlk(struct xl *xl, struct xl_call *call,
		     const struct xl_lk_range *req)
{
	struct lk_priv *priv = xl->private;
	struct xl_flock *out = &call->reply.lock;
	const struct xl_lk_range *c = NULL;
	struct lk_inode *ino;

	*out = call->args.lock;
	out->type = F_UNLCK;
	pthread_mutex_lock(&priv->mutex);
	ino = lk_inode_get_locked(xl, priv, lk_call_gfid(call), false);
	if (ino)
		c = xl_lk_list_conflict(&ino->posix, req);
	if (c) {
		out->type = (int16_t)c->type;
		out->whence = SEEK_SET;
		out->start = c->start;
		out->len = xl_lk_range_len(c->start, c->end);
		out->pid = c->pid;
		out->owner = c->who.owner;
	}
	pthread_mutex_unlock(&priv->mutex);
	call->reply.ret = 0;
	xl_unwind(call);
}

/*
 * F_SETLK / F_SETLKW.  Returns 1 when the call was parked (not to be
 * answered now), else 0 or -errno for the caller to answer.  *chain gets
 * the waiters the change lets through.
 */
static int lk_setlk_locked(struct xl *xl, struct lk_priv *priv,
			   struct xl_call *call, const struct xl_lk_range *req,
			   struct xl_lk_waiter **chain)
{
	struct lk_inode *ino;
	const struct xl_lk_range *c;
	struct xl_lk_waiter *w;
	int ret;

	ret = lk_refuse_gone_locked(xl, priv, call, req->who.client);
	if (ret < 0)
		return ret;
	ino = lk_inode_get_locked(xl, priv, lk_call_gfid(call),
				  req->type != F_UNLCK);
	if (!ino)
		return req->type == F_UNLCK ? 0 : -ENOMEM;
	c = req->type == F_UNLCK ? NULL : xl_lk_list_conflict(&ino->posix, req);
	if (!c) {
		ret = xl_lk_list_apply(&ino->posix, req);
	} else if (call->args.cmd != F_SETLKW) {
		priv->refused++;
		ret = -EAGAIN;
	} else if (lk_deadlock_locked(priv, &req->who, &c->who)) {
		priv->deadlocks++;
		ret = -EDEADLK;
	} else {
		w = xl_calloc(xl, 1, sizeof(*w));
		if (!w) {
			ret = -ENOMEM;
			goto out;
		}
		w->req = *req;
		w->data = call;
		xl_lk_waitq_push(&ino->posix_wait, w);
		priv->parked++;
		return 1;
	}
	/* An unlock, a downgrade or a merge can let waiters through. */
	xl_lk_waitq_grant(&ino->posix_wait, &ino->posix, chain);
out:
	lk_inode_put_locked(xl, priv, ino);
	return ret;
}

static void lk_lk(struct xl *xl, struct xl_call *call)
{
	struct lk_priv *priv = xl->private;
	const struct xl_flock *fl = &call->args.lock;
	struct xl_lk_waiter *chain = NULL;
	struct xl_lk_range req = {.type = fl->type, .pid = fl->pid};
	int ret;

	req.who.client = lk_client_id(call);
	req.who.owner = fl->owner;
	if (fl->whence != SEEK_SET ||
	    (fl->type != F_RDLCK && fl->type != F_WRLCK &&
	     fl->type != F_UNLCK)) {
		ret = -EINVAL;
		goto out;
	}
	ret = xl_lk_range_from_flock(fl->start, fl->len, &req.start, &req.end);
	if (ret < 0)
		goto out;
	if (call->args.cmd == F_GETLK && fl->type == F_UNLCK) {
		ret = -EINVAL; /* as fcntl(2) */
		goto out;
	}
	if (call->args.cmd == F_GETLK) {
		lk_getlk(xl, call, &req);
		return;
	}
	if (lk_is_cancel(call)) {
		lk_cancel(xl, call, &req, true);
		return;
	}
	if (call->args.cmd != F_SETLK && call->args.cmd != F_SETLKW) {
		ret = -EINVAL;
		goto out;
	}
	pthread_mutex_lock(&priv->mutex);
	ret = lk_setlk_locked(xl, priv, call, &req, &chain);
	pthread_mutex_unlock(&priv->mutex);
	if (ret == 1) {
		xl_debug(xl->name,
			 "lk parked: unique=%" PRIu64 " client=%" PRIu64
			 " owner=%" PRIx64,
			 call->unique, req.who.client, req.who.owner);
		return;
	}
	if (ret == 0)
		call->reply.lock = *fl;
out:
	call->reply.ret = ret;
	xl_unwind(call);
	lk_answer(xl, chain);
}

/* ---- FLOCK ----------------------------------------------------------- */

/* Returns 1 when parked, else 0 or -errno.  Conversion (SH<->EX) releases
 * the old lock first, as flock(2) does, so a failed LOCK_NB conversion
 * leaves the file unlocked by this fd. */
static int lk_flock_locked(struct xl *xl, struct lk_priv *priv,
			   struct xl_call *call, const struct xl_lk_range *req,
			   bool nonblock, struct xl_lk_waiter **chain)
{
	struct lk_inode *ino;
	struct xl_lk_waiter *w;
	int ret;

	ret = lk_refuse_gone_locked(xl, priv, call, req->who.client);
	if (ret < 0)
		return ret;
	ino = lk_inode_get_locked(xl, priv, lk_call_gfid(call),
				  req->type != F_UNLCK);
	if (!ino)
		return req->type == F_UNLCK ? 0 : -ENOMEM;
	for (const struct xl_lk_range *r = ino->flocks.head; r; r = r->next)
		if (xl_lk_owner_equal(&r->who, &req->who) &&
		    r->type == req->type)
			goto out; /* already held as asked: nothing to do */
	xl_lk_list_drop(&ino->flocks, &req->who, false);
	if (req->type == F_UNLCK) {
		ret = 0;
	} else if (!xl_lk_list_conflict(&ino->flocks, req)) {
		ret = xl_lk_list_apply(&ino->flocks, req);
	} else if (nonblock) {
		priv->refused++;
		ret = -EWOULDBLOCK;
	} else {
		w = xl_calloc(xl, 1, sizeof(*w));
		if (!w) {
			ret = -ENOMEM;
			goto out;
		}
		w->req = *req;
		w->data = call;
		xl_lk_waitq_push(&ino->flock_wait, w);
		priv->parked++;
		ret = 1;
	}
	xl_lk_waitq_grant(&ino->flock_wait, &ino->flocks, chain);
out:
	if (ret != 1)
		lk_inode_put_locked(xl, priv, ino);
	return ret;
}

static void lk_flock(struct xl *xl, struct xl_call *call)
{
	struct lk_priv *priv = xl->private;
	struct xl_lk_waiter *chain = NULL;
	struct xl_lk_range req = {
	    .start = 0, .end = XL_LK_EOF, .pid = call->cred.pid};
	int op = call->args.cmd & ~LOCK_NB;
	int ret = 0;

	if (!call->args.fd) {
		ret = -EBADF;
		goto out;
	}
	req.who.client = lk_client_id(call);
	req.who.owner = lk_fd_owner(call->args.fd);
	if (op == LOCK_SH)
		req.type = F_RDLCK;
	else if (op == LOCK_EX)
		req.type = F_WRLCK;
	else if (op == LOCK_UN)
		req.type = F_UNLCK;
	else {
		ret = -EINVAL;
		goto out;
	}
	if (lk_is_cancel(call)) {
		lk_cancel(xl, call, &req, false);
		return;
	}
	pthread_mutex_lock(&priv->mutex);
	ret = lk_flock_locked(xl, priv, call, &req,
			      (call->args.cmd & LOCK_NB) != 0, &chain);
	pthread_mutex_unlock(&priv->mutex);
	if (ret == 1)
		return;
out:
	call->reply.ret = ret;
	xl_unwind(call);
	lk_answer(xl, chain);
}

/* ---- INODELK (internal locks) ---------------------------------------- */

/* The domain called name on ino, created when create is set. */
static struct lk_domain *lk_domain_get_locked(struct xl *xl,
					      struct lk_inode *ino,
					      const char *name, bool create)
{
	struct lk_domain *d;

	for (d = ino->domains; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	if (!create)
		return NULL;
	d = xl_calloc(xl, 1, sizeof(*d));
	if (!d)
		return NULL;
	d->name = strdup(name);
	if (!d->name) {
		xl_free(xl, d);
		return NULL;
	}
	xl_lk_waitq_init(&d->wait);
	d->next = ino->domains;
	ino->domains = d;
	return d;
}

/* Unlink and free the domains of ino that hold nothing any more. */
static void lk_domains_prune_locked(struct xl *xl, struct lk_inode *ino)
{
	struct lk_domain **pp = &ino->domains;

	while (*pp) {
		struct lk_domain *d = *pp;

		if (d->held.head || d->wait.count) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		free(d->name);
		xl_free(xl, d);
	}
}

/* Drop every lock and waiter of client any->client on ino, POSIX and
 * flock (internal: with domains); waiters are answered ENOTCONN and those
 * they held back are granted.  Returns how many granted ranges went. */
static unsigned lk_inode_drop_client_locked(struct lk_inode *ino,
					    const struct xl_lk_owner *any,
					    bool domains,
					    struct xl_lk_waiter **chain)
{
	unsigned dropped = 0;

	dropped += xl_lk_list_drop(&ino->posix, any, true);
	dropped += xl_lk_list_drop(&ino->flocks, any, true);
	lk_cancel_locked(&ino->posix_wait, any, true, -ENOTCONN, chain);
	lk_cancel_locked(&ino->flock_wait, any, true, -ENOTCONN, chain);
	xl_lk_waitq_grant(&ino->posix_wait, &ino->posix, chain);
	xl_lk_waitq_grant(&ino->flock_wait, &ino->flocks, chain);
	for (struct lk_domain *d = domains ? ino->domains : NULL; d;
	     d = d->next) {
		dropped += xl_lk_list_drop(&d->held, any, true);
		lk_cancel_locked(&d->wait, any, true, -ENOTCONN, chain);
		xl_lk_waitq_grant(&d->wait, &d->held, chain);
	}
	return dropped;
}

/* A client is gone: it is recorded as gone, and every lock and parked
 * request it has, on every inode, goes (internal ones, and POSIX and
 * flock ones too: a lock taken through an fd the client was closing is
 * on no fd the per-fd cleanup reaches).  The requests are answered
 * ENOTCONN (the server drops those answers) and whoever they held back is
 * granted. */
static void lk_inodelk_disconnect(struct xl *xl, struct xl_call *call)
{
	struct lk_priv *priv = xl->private;
	struct xl_lk_owner any = {lk_client_id(call), 0};
	struct xl_lk_waiter *chain = NULL;
	unsigned dropped = 0;

	pthread_mutex_lock(&priv->mutex);
	lk_mark_gone_locked(xl, priv, any.client);
	for (int b = 0; b < LK_BUCKETS; b++) {
		struct lk_inode *ino = priv->buckets[b], *next;

		for (; ino; ino = next) {
			next = ino->hash_next;
			dropped += lk_inode_drop_client_locked(ino, &any, true,
							       &chain);
			lk_domains_prune_locked(xl, ino);
			lk_inode_put_locked(xl, priv, ino);
		}
	}
	pthread_mutex_unlock(&priv->mutex);
	if (dropped)
		xl_info(xl->name,
			"locks of gone client dropped: client=%" PRIu64
			" ranges=%u",
			any.client, dropped);
	call->reply.ret = 0;
	xl_unwind(call);
	lk_answer(xl, chain);
}

/* Returns 1 when parked, else 0 or -errno for the caller to answer. */
static int lk_inodelk_locked(struct xl *xl, struct lk_priv *priv,
			     struct xl_call *call,
			     const struct xl_lk_range *req,
			     struct xl_lk_waiter **chain)
{
	bool unlock = req->type == F_UNLCK;
	struct lk_inode *ino;
	struct lk_domain *d = NULL;
	struct xl_lk_waiter *w;
	int ret;

	ret = lk_refuse_gone_locked(xl, priv, call, req->who.client);
	if (ret < 0)
		return ret;
	ino = lk_inode_get_locked(xl, priv, lk_call_gfid(call), !unlock);
	if (ino)
		d = lk_domain_get_locked(xl, ino, call->args.xname, !unlock);
	if (!d) {
		ret = unlock ? 0 : -ENOMEM;
		goto out;
	}
	if (unlock || !xl_lk_list_conflict(&d->held, req)) {
		ret = xl_lk_list_apply(&d->held, req);
	} else if (call->args.cmd != F_SETLKW) {
		priv->refused++;
		ret = -EAGAIN;
	} else {
		w = xl_calloc(xl, 1, sizeof(*w));
		if (!w) {
			ret = -ENOMEM;
			goto out;
		}
		w->req = *req;
		w->data = call;
		xl_lk_waitq_push(&d->wait, w);
		priv->internal_parked++;
		return 1;
	}
	xl_lk_waitq_grant(&d->wait, &d->held, chain);
out:
	if (ino) {
		lk_domains_prune_locked(xl, ino);
		lk_inode_put_locked(xl, priv, ino);
	}
	return ret;
}

static void lk_inodelk(struct xl *xl, struct xl_call *call)
{
	struct lk_priv *priv = xl->private;
	const struct xl_flock *fl = &call->args.lock;
	struct xl_lk_waiter *chain = NULL;
	struct xl_lk_range req = {.type = fl->type, .pid = fl->pid};
	const uint8_t *gfid = lk_call_gfid(call);
	int ret;

	if (lk_is_forget(call)) {
		lk_forget(xl, call);
		return;
	}
	if (lk_is_disconnect(call)) {
		lk_inodelk_disconnect(xl, call);
		return;
	}
	req.who.client = lk_client_id(call);
	req.who.owner = fl->owner;
	ret = -EINVAL;
	if (!call->args.xname || !call->args.xname[0] || xl_gfid_is_null(gfid))
		goto out;
	if (fl->type != F_RDLCK && fl->type != F_WRLCK && fl->type != F_UNLCK)
		goto out;
	if (call->args.cmd != F_SETLK && call->args.cmd != F_SETLKW)
		goto out;
	ret = xl_lk_range_from_flock(fl->start, fl->len, &req.start, &req.end);
	if (ret < 0)
		goto out;
	pthread_mutex_lock(&priv->mutex);
	ret = lk_inodelk_locked(xl, priv, call, &req, &chain);
	pthread_mutex_unlock(&priv->mutex);
	if (ret == 1) {
		xl_debug(xl->name,
			 "inodelk parked: unique=%" PRIu64
			 " domain=%s client=%" PRIu64 " owner=%" PRIx64,
			 call->unique, call->args.xname, req.who.client,
			 req.who.owner);
		return;
	}
out:
	call->reply.ret = ret;
	xl_unwind(call);
	lk_answer(xl, chain);
}

/* ---- FLUSH, RELEASE, RELEASEDIR ----------------------------------------- */

/*
 * FLUSH (close(2) of one descriptor): the POSIX locks of (client, lk
 * owner) on the inode go, as with close on a local file.  Parked requests
 * of that owner are cancelled with EINTR too: a process killed while in
 * F_SETLKW closes its files on exit, and granting it later would leave a
 * lock nobody can release until the client disconnects.
 */
static void lk_flush(struct xl *xl, struct xl_call *call)
{
	struct lk_priv *priv = xl->private;
	struct xl_lk_owner who = {lk_client_id(call), call->cred.lk_owner};
	struct xl_lk_waiter *chain = NULL;
	struct lk_inode *ino;

	pthread_mutex_lock(&priv->mutex);
	ino = lk_inode_get_locked(xl, priv, lk_call_gfid(call), false);
	if (ino) {
		xl_lk_list_drop(&ino->posix, &who, false);
		lk_cancel_locked(&ino->posix_wait, &who, false, -EINTR, &chain);
		xl_lk_waitq_grant(&ino->posix_wait, &ino->posix, &chain);
		lk_inode_put_locked(xl, priv, ino);
	}
	pthread_mutex_unlock(&priv->mutex);
	lk_answer(xl, chain);
	xl_wind(call, xl->children[0], xl_default_cbk, NULL);
}

/*
 * RELEASE / RELEASEDIR: the flock locks (and parked flock requests) taken
 * through this fd go.  With "mortar.disconnect" (protocol/server cleaning
 * up a lost client) the client is recorded as gone and every lock and
 * waiter of that client on the inode goes; the waiters are answered
 * ENOTCONN, which the server drops anyway.
 */
static void lk_release(struct xl *xl, struct xl_call *call)
{
	struct lk_priv *priv = xl->private;
	uint64_t client = lk_client_id(call);
	bool disconnect = lk_is_disconnect(call);
	struct xl_lk_waiter *chain = NULL;
	struct lk_inode *ino;

	pthread_mutex_lock(&priv->mutex);
	if (disconnect)
		lk_mark_gone_locked(xl, priv, client);
	ino = lk_inode_get_locked(xl, priv, lk_call_gfid(call), false);
	if (ino && call->args.fd) {
		struct xl_lk_owner fdo = {client, lk_fd_owner(call->args.fd)};

		xl_lk_list_drop(&ino->flocks, &fdo, false);
		lk_cancel_locked(&ino->flock_wait, &fdo, false, -EBADF, &chain);
	}
	if (ino && disconnect) {
		struct xl_lk_owner any = {client, 0};

		lk_inode_drop_client_locked(ino, &any, false, &chain);
	}
	if (ino) {
		xl_lk_waitq_grant(&ino->posix_wait, &ino->posix, &chain);
		xl_lk_waitq_grant(&ino->flock_wait, &ino->flocks, &chain);
		lk_inode_put_locked(xl, priv, ino);
	}
	pthread_mutex_unlock(&priv->mutex);
	lk_answer(xl, chain);
	xl_wind(call, xl->children[0], xl_default_cbk, NULL);
}

/* ---- init, fini, dump ------------------------------------------------ */

static int lk_init(struct xl *xl, char **err)
{
	struct lk_priv *priv;

	if (xl->child_count != 1) {
		*err = strdup("features/locks needs exactly one subvolume");
		return -EINVAL;
	}
	priv = xl_calloc(xl, 1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	pthread_mutex_init(&priv->mutex, NULL);
	xl->private = priv;
	return 0;
}

static void lk_fini(struct xl *xl)
{
	struct lk_priv *priv = xl->private;
	struct xl_lk_waiter *chain = NULL;

	if (!priv)
		return;
	pthread_mutex_lock(&priv->mutex);
	for (int b = 0; b < LK_BUCKETS; b++) {
		while (priv->buckets[b]) {
			struct lk_inode *ino = priv->buckets[b];

			priv->buckets[b] = ino->hash_next;
			xl_lk_list_free(&ino->posix);
			xl_lk_list_free(&ino->flocks);
			lk_cancel_all_locked(&ino->posix_wait, -ENOTCONN,
					     &chain);
			lk_cancel_all_locked(&ino->flock_wait, -ENOTCONN,
					     &chain);
			for (struct lk_domain *d = ino->domains; d;
			     d = d->next) {
				xl_lk_list_free(&d->held);
				lk_cancel_all_locked(&d->wait, -ENOTCONN,
						     &chain);
			}
			lk_domains_prune_locked(xl, ino);
			xl_free(xl, ino);
		}
	}
	while (priv->gone) {
		struct lk_gone *g = priv->gone;

		priv->gone = g->next;
		xl_free(xl, g);
	}
	pthread_mutex_unlock(&priv->mutex);
	lk_answer(xl, chain);
	pthread_mutex_destroy(&priv->mutex);
	xl_free(xl, priv);
	xl->private = NULL;
}

static const char *lk_type_name(int type)
{
	return type == F_WRLCK ? "write" : type == F_RDLCK ? "read" : "unlock";
}

static void lk_dump_range(FILE *out, const char *kind, const char *state,
			  const char *gfid, const struct xl_lk_range *r)
{
	fprintf(out,
		"  %s %s gfid=%s type=%s start=%" PRId64 " len=%" PRId64
		" client-id=%" PRIu64 " owner=%" PRIx64 " pid=%" PRIu32 "\n",
		kind, state, gfid, lk_type_name(r->type), r->start,
		xl_lk_range_len(r->start, r->end), r->who.client, r->who.owner,
		r->pid);
}

static void lk_dump_inode(FILE *out, const struct lk_inode *ino)
{
	char gfid[XL_GFID_STR_LEN];

	xl_gfid_to_str(ino->gfid, gfid);
	for (const struct xl_lk_range *r = ino->posix.head; r; r = r->next)
		lk_dump_range(out, "posix", "granted", gfid, r);
	for (const struct xl_lk_waiter *w = ino->posix_wait.head; w;
	     w = w->next)
		lk_dump_range(out, "posix", "waiting", gfid, &w->req);
	for (const struct xl_lk_range *r = ino->flocks.head; r; r = r->next)
		lk_dump_range(out, "flock", "granted", gfid, r);
	for (const struct xl_lk_waiter *w = ino->flock_wait.head; w;
	     w = w->next)
		lk_dump_range(out, "flock", "waiting", gfid, &w->req);
	for (const struct lk_domain *d = ino->domains; d; d = d->next) {
		for (const struct xl_lk_range *r = d->held.head; r; r = r->next)
			lk_dump_range(out, d->name, "granted", gfid, r);
		for (const struct xl_lk_waiter *w = d->wait.head; w;
		     w = w->next)
			lk_dump_range(out, d->name, "waiting", gfid, &w->req);
	}
}

static void lk_dump(struct xl *xl, FILE *out)
{
	struct lk_priv *priv = xl->private;

	if (!priv)
		return;
	pthread_mutex_lock(&priv->mutex);
	fprintf(out,
		"locks: inodes=%" PRIu64 " parked-total=%" PRIu64
		" internal-parked-total=%" PRIu64 " refused=%" PRIu64
		" deadlocks=%" PRIu64 " gone-clients=%u"
		" late-refused=%" PRIu64 "\n",
		priv->inode_count, priv->parked, priv->internal_parked,
		priv->refused, priv->deadlocks, priv->gone_count,
		priv->late_refused);
	for (int b = 0; b < LK_BUCKETS; b++)
		for (const struct lk_inode *ino = priv->buckets[b]; ino;
		     ino = ino->hash_next)
			lk_dump_inode(out, ino);
	pthread_mutex_unlock(&priv->mutex);
}

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "features/locks",
    .description = "POSIX record locks, flock locks and internal (inodelk) "
		   "locks on the brick",
    .init = lk_init,
    .fini = lk_fini,
    .dump = lk_dump,
    .min_children = 1,
    .max_children = 1,
    .fops =
	{
	    [XL_FOP_LK] = lk_lk,
	    [XL_FOP_FLOCK] = lk_flock,
	    [XL_FOP_FLUSH] = lk_flush,
	    [XL_FOP_RELEASE] = lk_release,
	    [XL_FOP_RELEASEDIR] = lk_release,
	    [XL_FOP_INODELK] = lk_inodelk,
	},
};
