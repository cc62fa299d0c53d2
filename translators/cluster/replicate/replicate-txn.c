/*
 * replicate-txn.c - cluster/replicate: every fop that changes something
 * runs in a transaction on all live children.
 *
 *   lock      inodelk on each live child, domain replicate.data /
 *             replicate.meta, or replicate.entry on the parent directory
 *             (both parents for rename, in gfid order).  First tried on
 *             every child at once without waiting (F_SETLK): one round
 *             trip when nobody else holds it.  When some child says
 *             EAGAIN, what was granted is given back and the locks are
 *             taken again with F_SETLKW one after the other in child
 *             order (the same order on every client: no deadlock), under
 *             a new owner so the give-back cannot undo them.
 *   pre-op    xattrop +1 at the type's index of every child's counter, on
 *             every locked child
 *   fop       on those children at once (xl_fan)
 *   post-op   xattrop -1 for the children where the fop worked (or all,
 *             when it failed the same way everywhere: nothing diverged)
 *   unlock    sent, and the call answered without waiting for it: the
 *             next transaction on the name waits at the brick until the
 *             unlock arrives (it has its own owner), so nothing can see
 *             the change half done; the application gains a round trip.
 *
 * A child that was down, or failed, stays blamed by the others.
 *
 * Writes, and entry changes inside one directory, take the eager path
 * (replicate-eager.c; eager-entry-lock off sends entry changes here); the
 * helpers both files use are declared in replicate-txn.h.
 *
 * Ownership: a struct afr_txn belongs to the call's local (freed with
 * it).
 */
#include "config.h"

#include "replicate.h"
#include "replicate-txn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const afr_domains[AFR_TYPES] = {
    "replicate.data", "replicate.meta", "replicate.entry"};

struct afr_txn {
	struct xl_call *call;
	struct afr_priv *priv;
	int type;
	uint8_t lk[2][XL_GFID_LEN];
	int nlk;
	uint64_t owner;
	uint32_t on;	    /* children taking part */
	uint32_t locked[2]; /* lock granted, per lk */
	uint32_t ok;	    /* fop worked */
	int pos;	    /* lock progress: pos = k * n + child */
	bool contended;	    /* a try lock said EAGAIN somewhere */
	int rets[2][AFR_MAX_CHILDREN];
	atomic_int left;
	int err; /* answer this instead of the fop's reply */
	void (*run)(struct afr_txn *t);
};

static void afr_txn_lock_next(struct afr_txn *t);
static void afr_txn_locked(struct afr_txn *t);
static void afr_txn_preop(struct afr_txn *t);
static void afr_txn_postop(struct afr_txn *t);
static void afr_txn_unlock(struct afr_txn *t);

/* ---- helpers ----------------------------------------------------------- */

/* A lock owner no other transaction of this process has: an unlock sent
 * in the background may still be on its way when the next transaction
 * locks, so owners are never reused (an address could be).  The top bits
 * keep them apart from the address-based owners of heal and eager
 * writes. */
static uint64_t afr_txn_new_owner(void)
{
	static atomic_uint_fast64_t seq;

	return 0x7e11000000000000ull |
	       ((atomic_fetch_add(&seq, 1) + 1) & 0xffffffffffffull);
}

void afr_inodelk_args(struct xl_args *a, const uint8_t *gfid, int type,
		      short lk_type, uint64_t owner, int cmd)
{
	memset(a, 0, sizeof(*a));
	afr_loc_gfid(&a->loc, gfid);
	a->cmd = cmd;
	a->lock.type = lk_type;
	a->lock.whence = SEEK_SET;
	a->lock.start = 0;
	a->lock.len = 0;
	a->lock.owner = owner;
	a->xname = strdup(afr_domains[type]);
}

int afr_xattrop_args(struct afr_priv *priv, struct xl_args *a,
		     const uint8_t *gfid, int type, uint32_t mask,
		     int64_t delta)
{
	memset(a, 0, sizeof(*a));
	afr_loc_gfid(&a->loc, gfid);
	a->flags = XL_XATTROP_ADD64;
	a->xdata = afr_pending_dict(priv, type, mask, delta);
	return a->xdata ? 0 : -ENOMEM;
}

/* The child whose reply answers a fop on an object: the copy later reads
 * of it go to, so the attributes a client caches from the reply are the
 * ones its next stat returns (the copies' times differ by the moments
 * each brick did the change). */
int afr_reply_child(struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	const uint8_t *gfid = afr_call_gfid(call);

	if (l->ai && memcmp(l->ai->gfid, gfid, XL_GFID_LEN) == 0)
		return afr_read_child(l->priv, l->ai, 0);
	return afr_read_child_of(l->priv, gfid, 0, 0);
}

/* What a fan-out's answers say: which children worked, and the reply to
 * give (moved into *reply): child prefer's when it worked (-1: none
 * preferred), else the first success, else the first error.  A failure
 * shared by every child with the same errno is consistent. */
uint32_t afr_collect(struct xl_call **children, int n, const int *idx,
		     int prefer, struct xl_reply *reply)
{
	uint32_t ok = 0, all = 0;
	int first_ok = -1, first_err = -1;
	bool same = true;

	for (int k = 0; k < n; k++) {
		all |= 1u << idx[k];
		if (children[k]->reply.ret >= 0) {
			ok |= 1u << idx[k];
			if (first_ok < 0 || idx[k] == prefer)
				first_ok = k;
		} else {
			if (first_err < 0)
				first_err = k;
			else if (children[k]->reply.ret !=
				 children[first_err]->reply.ret)
				same = false;
			if (children[k]->reply.ret == -ENOTCONN ||
			    children[k]->reply.ret == -EBADFD)
				same = false;
		}
	}
	if (first_ok >= 0) {
		xl_reply_move(reply, &children[first_ok]->reply);
		return ok;
	}
	if (first_err >= 0) {
		xl_reply_move(reply, &children[first_err]->reply);
		return same ? all : 0;
	}
	reply->ret = -ENOTCONN;
	return 0;
}

/* A data change refused by afr_data_ok: say why (rare; once per call). */
void afr_no_good_data(struct afr_priv *priv, const uint8_t *gfid)
{
	char s[XL_GFID_STR_LEN];

	xl_warn(priv->xl->name,
		"data change refused: the only data copy up is stale (the "
		"arbiter blames it) gfid=%s: ENOTCONN until the good copy "
		"is back",
		xl_gfid_to_str(gfid, s));
}

/* ---- the generic transaction ------------------------------------------ */

static void afr_txn_finish(struct afr_txn *t)
{
	struct xl_call *call = t->call;
	struct afr_local *l = afr_local(call);

	if (t->err)
		call->reply.ret = t->err;
	else
		xl_reply_move(&call->reply, &l->reply);
	xl_unwind(call);
}

static void afr_txn_lock_cbk(struct xl_call *none, struct xl_call *ic,
			     void *ctx)
{
	int child = afr_ic_child(ic);
	struct xl_reply *r = &ic->reply;
	struct afr_txn *t = ctx;
	int k = t->pos / t->priv->n;

	(void)none;
	if (r->ret == 0)
		t->locked[k] |= 1u << child;
	else {
		xl_debug(t->priv->xl->name, "inodelk on %s failed: errno=%d",
			 t->priv->children[child]->name, -r->ret);
		t->on &= ~(1u << child);
	}
	t->pos++;
	afr_txn_lock_next(t);
}

static void afr_txn_lock_next(struct afr_txn *t)
{
	struct afr_priv *priv = t->priv;
	struct xl_args a;

	while (t->pos < t->nlk * priv->n) {
		int k = t->pos / priv->n, i = t->pos % priv->n;

		if (!(t->on & (1u << i))) {
			t->pos++;
			continue;
		}
		afr_inodelk_args(&a, t->lk[k], t->type, F_WRLCK, t->owner,
				 F_SETLKW);
		xl_call_internal(priv->xl, xl_call_origin(t->call),
				 priv->children[i], XL_FOP_INODELK, NULL, &a,
				 afr_txn_lock_cbk, t);
		return;
	}
	afr_txn_locked(t);
}

/* Every lock asked for has its answer: on to the pre-op. */
static void afr_txn_locked(struct afr_txn *t)
{
	if (!afr_quorum_ok(t->priv, t->on)) {
		t->err = -EROFS;
		afr_txn_unlock(t);
		return;
	}
	afr_txn_preop(t);
}

static void afr_txn_preop_cbk(struct xl_call *none, struct xl_call *ic,
			      void *ctx)
{
	struct afr_txn *t = ctx;

	(void)none;
	(void)ic;
	/* rets were preset to the slot; see afr_txn_preop */
	if (atomic_fetch_sub(&t->left, 1) != 1)
		return;
	for (int k = 0; k < t->nlk; k++)
		for (int i = 0; i < t->priv->n; i++)
			if (t->rets[k][i] < 0)
				t->on &= ~(1u << i);
	if (!afr_quorum_ok(t->priv, t->on)) {
		t->err = -EROFS;
		afr_txn_unlock(t);
		return;
	}
	t->run(t);
}

/* The answer of one pre-op / post-op xattrop: slot = k * n + child. */
struct afr_slot {
	struct afr_txn *t;
	int k;
};

static void afr_txn_slot_cbk(struct xl_call *none, struct xl_call *ic,
			     void *ctx)
{
	int child = afr_ic_child(ic);
	struct xl_reply *r = &ic->reply;
	struct afr_slot *s = ctx;
	struct afr_txn *t = s->t;

	(void)none;
	t->rets[s->k][child] = r->ret;
	free(s);
	afr_txn_preop_cbk(NULL, NULL, t);
}

static void afr_txn_xattrop_all(struct afr_txn *t, uint32_t mask, int64_t delta,
				xl_cbk_fn cbk)
{
	struct afr_priv *priv = t->priv;
	struct xl_args a;
	int count = afr_popcount(t->on) * t->nlk;

	atomic_store(&t->left, count + 1);
	for (int k = 0; k < t->nlk; k++)
		for (int i = 0; i < priv->n; i++) {
			struct afr_slot *s;

			t->rets[k][i] = 0;
			if (!(t->on & (1u << i)))
				continue;
			s = malloc(sizeof(*s));
			if (!s || afr_xattrop_args(priv, &a, t->lk[k], t->type,
						   mask, delta) != 0) {
				free(s);
				t->rets[k][i] = -ENOMEM;
				cbk(NULL, NULL, t);
				continue;
			}
			s->t = t;
			s->k = k;
			xl_call_internal(priv->xl, xl_call_origin(t->call),
					 priv->children[i], XL_FOP_XATTROP,
					 NULL, &a, afr_txn_slot_cbk, s);
		}
	cbk(NULL, NULL, t);
}

static void afr_txn_preop(struct afr_txn *t)
{
	uint32_t all = (1u << t->priv->n) - 1;

	afr_txn_xattrop_all(t, all, 1, afr_txn_preop_cbk);
}

static void afr_txn_postop_cbk(struct xl_call *none, struct xl_call *ic,
			       void *ctx)
{
	struct afr_txn *t = ctx;

	(void)none;
	(void)ic;
	if (atomic_fetch_sub(&t->left, 1) != 1)
		return;
	afr_txn_unlock(t);
}

static void afr_txn_postop(struct afr_txn *t)
{
	if (!t->ok) {
		afr_txn_unlock(t);
		return;
	}
	/* afr_txn_slot_cbk leads to afr_txn_preop_cbk; use a plain counter
	 * for the post-op instead. */
	struct afr_priv *priv = t->priv;
	struct xl_args a;
	int count = afr_popcount(t->on) * t->nlk;

	atomic_store(&t->left, count + 1);
	for (int k = 0; k < t->nlk; k++)
		for (int i = 0; i < priv->n; i++) {
			if (!(t->on & (1u << i)))
				continue;
			if (afr_xattrop_args(priv, &a, t->lk[k], t->type, t->ok,
					     -1) != 0) {
				afr_txn_postop_cbk(NULL, NULL, t);
				continue;
			}
			xl_call_internal(priv->xl, xl_call_origin(t->call),
					 priv->children[i], XL_FOP_XATTROP,
					 NULL, &a, afr_txn_postop_cbk, t);
		}
	afr_txn_postop_cbk(NULL, NULL, t);
}

/* What an unlock sent in the background needs once the call, and the
 * transaction with it, are gone. */
struct afr_unlock {
	struct afr_priv *priv;
	atomic_int left;
};

static void afr_unlock_cbk(struct xl_call *none, struct xl_call *ic, void *ctx)
{
	struct afr_unlock *u = ctx;

	(void)none;
	if (!u)
		return;
	if (ic && ic->reply.ret < 0)
		xl_debug(u->priv->xl->name, "inodelk unlock on %s: errno=%d",
			 u->priv->children[afr_ic_child(ic)]->name,
			 -ic->reply.ret);
	if (atomic_fetch_sub(&u->left, 1) == 1)
		free(u);
}

/* Send the unlock of everything t holds and forget it; nobody waits for
 * the answers (see the top of the file).  Without memory for the
 * bookkeeping the unlocks still go, with a NULL cookie: their answers are
 * not counted. */
static void afr_unlock_send(struct afr_txn *t)
{
	struct afr_priv *priv = t->priv;
	struct afr_unlock *u = malloc(sizeof(*u));
	struct xl_args a;
	int count = 0;

	for (int k = 0; k < t->nlk; k++)
		count += afr_popcount(t->locked[k]);
	if (u) {
		u->priv = priv;
		atomic_store(&u->left, count + 1);
	}
	for (int k = 0; k < t->nlk; k++)
		for (int i = 0; i < priv->n; i++) {
			if (!(t->locked[k] & (1u << i)))
				continue;
			afr_inodelk_args(&a, t->lk[k], t->type, F_UNLCK,
					 t->owner, F_SETLK);
			xl_call_internal(priv->xl, xl_call_origin(t->call),
					 priv->children[i], XL_FOP_INODELK,
					 NULL, &a, afr_unlock_cbk, u);
		}
	for (int k = 0; k < t->nlk; k++)
		t->locked[k] = 0;
	if (u)
		afr_unlock_cbk(NULL, NULL, u);
}

static void afr_txn_unlock(struct afr_txn *t)
{
	afr_unlock_send(t);
	afr_txn_finish(t);
}

/* ---- the lock: tried everywhere at once, then in order --------------- */

static void afr_txn_try_done(struct afr_txn *t)
{
	uint32_t asked = t->on;

	if (atomic_fetch_sub(&t->left, 1) != 1)
		return;
	for (int k = 0; k < t->nlk; k++)
		for (int i = 0; i < t->priv->n; i++) {
			int ret = t->rets[k][i];

			if (!(asked & (1u << i)))
				continue;
			if (ret == 0)
				t->locked[k] |= 1u << i;
			else if (ret == -EAGAIN)
				t->contended = true;
			else {
				xl_debug(t->priv->xl->name,
					 "inodelk on %s failed: errno=%d",
					 t->priv->children[i]->name, -ret);
				t->on &= ~(1u << i);
			}
		}
	if (!t->contended) {
		atomic_fetch_add(&t->priv->txn_locks_at_once, 1);
		afr_txn_locked(t);
		return;
	}
	atomic_fetch_add(&t->priv->txn_locks_contended, 1);
	/* Another client holds it on some child: give back what was
	 * granted and wait in child order, under a new owner. */
	afr_unlock_send(t);
	t->owner = afr_txn_new_owner();
	t->pos = 0;
	afr_txn_lock_next(t);
}

static void afr_txn_try_cbk(struct xl_call *none, struct xl_call *ic, void *ctx)
{
	struct afr_slot *s = ctx;
	struct afr_txn *t = s->t;

	(void)none;
	t->rets[s->k][afr_ic_child(ic)] = ic->reply.ret;
	free(s);
	afr_txn_try_done(t);
}

/* Take the transaction's locks.  One lock to take: wait for it.  More:
 * try them all at once first. */
static void afr_txn_lock(struct afr_txn *t)
{
	struct afr_priv *priv = t->priv;
	struct xl_args a;
	int count = afr_popcount(t->on) * t->nlk;

	if (count <= 1) {
		afr_txn_lock_next(t);
		return;
	}
	atomic_store(&t->left, count + 1);
	for (int k = 0; k < t->nlk; k++)
		for (int i = 0; i < priv->n; i++) {
			struct afr_slot *s;

			t->rets[k][i] = 0;
			if (!(t->on & (1u << i)))
				continue;
			s = malloc(sizeof(*s));
			if (!s) {
				t->rets[k][i] = -ENOMEM;
				afr_txn_try_done(t);
				continue;
			}
			s->t = t;
			s->k = k;
			afr_inodelk_args(&a, t->lk[k], t->type, F_WRLCK,
					 t->owner, F_SETLK);
			xl_call_internal(priv->xl, xl_call_origin(t->call),
					 priv->children[i], XL_FOP_INODELK,
					 NULL, &a, afr_txn_try_cbk, s);
		}
	afr_txn_try_done(t);
}

/* The fop itself on t->on; then the post-op. */
static void afr_txn_fop_done(struct xl_call *call, struct xl_call **children,
			     const int *index, int n, void *cookie)
{
	struct afr_txn *t = cookie;
	struct afr_local *l = afr_local(call);
	uint32_t failed;

	t->ok =
	    afr_collect(children, n, index, afr_reply_child(call), &l->reply);
	failed = t->on & ~t->ok;
	if (failed && l->ai) {
		pthread_mutex_lock(&l->ai->lock);
		l->ai->bad |= failed;
		pthread_mutex_unlock(&l->ai->lock);
	}
	/* A new entry that only some children have: do not read it from
	 * the others. */
	if (failed && l->reply.ret >= 0 &&
	    (call->fop == XL_FOP_CREATE || call->fop == XL_FOP_MKNOD ||
	     call->fop == XL_FOP_MKDIR || call->fop == XL_FOP_SYMLINK)) {
		struct afr_inode *ai =
		    afr_inode_get(t->priv, call->args.loc.gfid);

		if (ai) {
			pthread_mutex_lock(&ai->lock);
			ai->bad |= failed;
			pthread_mutex_unlock(&ai->lock);
			afr_inode_put(t->priv, ai);
		}
	}
	afr_txn_postop(t);
}

static void afr_txn_run_fop(struct afr_txn *t)
{
	xl_fan(t->call, &(struct xl_fan){.fop = t->call->fop,
					 .mask = t->on,
					 .fill = xl_fill_copy,
					 .done = afr_txn_fop_done,
					 .cookie = t});
}

/* Start a transaction of type on (one or two) gfids for call.  The call is
 * answered when it ends. */
static void afr_txn_start(struct xl_call *call, int type, const uint8_t *g0,
			  const uint8_t *g1)
{
	struct afr_local *l = afr_local(call);
	struct afr_priv *priv = call->xl->private;
	struct afr_txn *t;
	uint32_t up = afr_up_mask(priv);

	if (!l) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (!afr_quorum_ok(priv, up)) {
		xl_warn(priv->xl->name, "%s without quorum: EROFS",
			xl_fop_name(call->fop));
		xl_unwind_error(call, -EROFS);
		return;
	}
	if (type == AFR_DATA && !afr_data_ok(priv, l->ai, up)) {
		afr_no_good_data(priv, g0);
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	l->txn = t;
	t->call = call;
	t->priv = priv;
	t->type = type;
	t->owner = afr_txn_new_owner();
	t->on = up;
	t->run = afr_txn_run_fop;
	memcpy(t->lk[0], g0, XL_GFID_LEN);
	t->nlk = 1;
	if (g1 && memcmp(g0, g1, XL_GFID_LEN) != 0) {
		/* Same order on every client. */
		if (memcmp(g0, g1, XL_GFID_LEN) > 0) {
			memcpy(t->lk[0], g1, XL_GFID_LEN);
			memcpy(t->lk[1], g0, XL_GFID_LEN);
		} else
			memcpy(t->lk[1], g1, XL_GFID_LEN);
		t->nlk = 2;
	}
	afr_txn_lock(t);
}

/* ---- other changes ---------------------------------------------------- */

static void afr_data_txn_resume(struct xl_call *call, struct afr_inode *ai)
{
	(void)ai;
	afr_txn_start(call, AFR_DATA, afr_call_gfid(call), NULL);
}

/* A data transaction other than write: first end this client's eager
 * transaction on the file, if any. */
static void afr_data_txn(struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	struct afr_priv *priv = call->xl->private;

	if (!l) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (!l->ai)
		l->ai = afr_inode_get(priv, afr_call_gfid(call));
	if (l->ai &&
	    afr_eager_wait_release(priv, l->ai, call, afr_data_txn_resume))
		return;
	afr_data_txn_resume(call, l->ai);
}

static void afr_meta_txn(struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	struct afr_priv *priv = call->xl->private;

	if (!l) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (!l->ai)
		l->ai = afr_inode_get(priv, afr_call_gfid(call));
	afr_txn_start(call, AFR_META, afr_call_gfid(call), NULL);
}

void afr_setattr(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	if (call->args.valid & XL_SET_SIZE)
		afr_data_txn(call);
	else
		afr_meta_txn(call);
}

void afr_fallocate(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	afr_data_txn(call);
}

void afr_setxattr(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	if (afr_heal_vxattr_set(call))
		return;
	afr_meta_txn(call);
}

void afr_removexattr(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	afr_meta_txn(call);
}

static void afr_entry_txn_go(struct xl_call *call, struct afr_inode *ai)
{
	const uint8_t *g1 = call->args.loc2.pargfid;

	(void)ai;
	afr_txn_start(call, AFR_ENTRY, call->args.loc.pargfid, g1);
}

/* A rename across two directories: this client's eager entry locks on
 * both are ended first (its own transaction would wait for them at the
 * brick, under another owner). */
static void afr_entry_txn_second(struct xl_call *call, struct afr_inode *ai)
{
	struct afr_priv *priv = call->xl->private;
	struct afr_inode *ai2 = afr_inode_get(priv, call->args.loc2.pargfid);
	bool wait;

	(void)ai;
	if (!ai2) {
		afr_entry_txn_go(call, NULL);
		return;
	}
	wait = afr_eager_wait_release(priv, ai2, call, afr_entry_txn_go);
	afr_inode_put(priv, ai2);
	if (!wait)
		afr_entry_txn_go(call, NULL);
}

void afr_entry_fop(struct xl *xl, struct xl_call *call)
{
	struct afr_priv *priv = xl->private;
	struct afr_local *l = afr_local(call);
	const uint8_t *g1 = NULL;
	const uint8_t *g0 = call->args.loc.pargfid;

	if (call->fop == XL_FOP_LINK)
		g0 = call->args.loc2.pargfid;
	else if (call->fop == XL_FOP_RENAME)
		g1 = call->args.loc2.pargfid;
	if (xl_gfid_is_null(g0)) {
		xl_unwind_error(call, -EINVAL);
		return;
	}
	/* One directory: under its eager entry lock. */
	if (priv->eager_entry && priv->post_op_delay_ms > 0 &&
	    (!g1 || memcmp(g0, g1, XL_GFID_LEN) == 0)) {
		afr_entry_eager(call, g0);
		return;
	}
	if (!l || !g1) {
		afr_txn_start(call, AFR_ENTRY, g0, g1);
		return;
	}
	l->ai = afr_inode_get(priv, g0);
	if (l->ai &&
	    afr_eager_wait_release(priv, l->ai, call, afr_entry_txn_second))
		return;
	afr_entry_txn_second(call, l->ai);
}

/* ---- open, flush, fsync, release ---------------------------------------- */

static void afr_anyok_done(struct xl_call *call, struct xl_call **children,
			   const int *index, int n, void *cookie)
{
	(void)cookie;
	afr_collect(children, n, index, -1, &call->reply);
	xl_unwind(call);
}

/* Send call to every up child (or all with all_children); answer the
 * first success. */
static void afr_fanout_anyok(struct xl_call *call, bool all_children)
{
	struct afr_priv *priv = call->xl->private;
	uint32_t mask = all_children ? (1u << priv->n) - 1 : afr_up_mask(priv);

	if (mask == 0) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = call->fop,
				      .mask = mask,
				      .fill = xl_fill_copy,
				      .done = afr_anyok_done});
}

static void afr_open_checked(struct xl_call *call);

/* Open checks the copies first (close-to-open: a file another client
 * wrote while a copy was away must not be read from that copy). */
void afr_open(struct xl *xl, struct xl_call *call)
{
	struct afr_local *l = afr_local(call);

	if (!l) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	l->ai = afr_inode_get(xl->private, afr_call_gfid(call));
	afr_inspect(call, afr_open_checked);
}

static void afr_open_checked(struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	struct xl *xl = call->xl;
	uint32_t sb = 0;

	if (l->ai) {
		pthread_mutex_lock(&l->ai->lock);
		sb = l->ai->sb;
		pthread_mutex_unlock(&l->ai->lock);
	}
	if (sb & (1u << AFR_DATA)) {
		char s[XL_GFID_STR_LEN];

		xl_err(xl->name,
		       "open refused: data split-brain gfid=%s "
		       "(resolve with mortar-heal resolve)",
		       xl_gfid_to_str(afr_call_gfid(call), s));
		xl_unwind_error(call, -EIO);
		return;
	}
	if (call->args.flags & O_TRUNC) {
		afr_data_txn(call);
		return;
	}
	afr_fanout_anyok(call, false);
}

static void afr_flush_resume(struct xl_call *call, struct afr_inode *ai)
{
	(void)ai;
	afr_fanout_anyok(call, false);
}

/* A flush drops the POSIX locks of its owner (close(2)): booked first,
 * after a lock restore of the file if one runs (replicate-lk.c). */
static void afr_flush_book(struct xl_call *call, struct afr_inode *ai)
{
	struct afr_priv *priv = call->xl->private;

	if (afr_lk_flush(priv, call, ai, afr_flush_book))
		return;
	if (ai && afr_eager_wait_release(priv, ai, call, afr_flush_resume))
		return;
	afr_flush_resume(call, ai);
}

void afr_flush(struct xl *xl, struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	struct afr_priv *priv = xl->private;

	if (!l || !call->args.fd) {
		afr_fanout_anyok(call, false);
		return;
	}
	l->ai = afr_inode_get(priv, call->args.fd->gfid);
	afr_flush_book(call, l->ai);
}

void afr_fsync(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	afr_fanout_anyok(call, false);
}

void afr_release(struct xl *xl, struct xl_call *call)
{
	struct afr_priv *priv = xl->private;
	struct afr_inode *ai;
	bool start = false;

	if (call->args.fd && !call->args.fd->is_dir) {
		afr_lk_release(priv, call->args.fd);
		ai = afr_inode_get(priv, call->args.fd->gfid);
		if (ai) {
			pthread_mutex_lock(&ai->lock);
			if (ai->estate == AFR_E_LOCKED) {
				ai->release_asap = true;
				if (afr_eager_due_locked(priv, ai,
							 afr_now_ms())) {
					ai->estate = AFR_E_RELEASING;
					start = true;
				}
			}
			pthread_mutex_unlock(&ai->lock);
			if (start)
				afr_eager_release(priv, ai);
			afr_inode_put(priv, ai);
		}
	}
	afr_fanout_anyok(call, true);
}
