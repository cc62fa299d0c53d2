/*
 * replicate-eager.c - cluster/replicate: writes and entry changes, with
 * eager locking.
 *
 * Entry changes (create, mknod, mkdir, symlink, link, unlink, rmdir, a
 * rename inside one directory) take the same path on their parent
 * directory, with the entry lock and entry counters (ai->etype): a client
 * making or removing many names in one directory pays the lock and the
 * pre-op once, not per name.  Another client's change there waits at the
 * brick until the hold ends (idle, or AFR_EAGER_MAX_HOLD_MS).
 *
 * The first write on a file takes the data lock and does the pre-op once
 * (struct afr_inode.estate), the following writes from this client only
 * do the fop, and the post-op and unlock run when the file has been idle
 * for post-op-delay-msec (the timer thread), or on flush, or when another
 * transaction of this client needs the data lock, or after
 * AFR_EAGER_MAX_HOLD_MS of writes without a pause (so other writers and
 * heals get their turn).  A client crash in between leaves the counters
 * raised on every copy: "maybe dirty", which heal examines, never
 * "clean".
 *
 *   NONE --first write--> LOCKING --locks, pre-op--> LOCKED
 *   LOCKED --idle / flush / release_asap--> RELEASING --post-op,
 *   unlock--> NONE
 *
 * Writes that arrive while the lock is being taken or given back wait on
 * ai->waiters and are sent when it is LOCKED again.
 *
 * Ownership: a struct afr_eager lives from lock to unlock and holds a
 * ref on its afr_inode.  ai->lock guards the eager fields; it is never
 * held while sending.
 */
#include "config.h"

#include "replicate.h"
#include "replicate-txn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Longest an eager lock is kept while writes keep coming. */
#define AFR_EAGER_MAX_HOLD_MS 1000

/* ---- eager locking for writes ------------------------------------------ */

struct afr_eager {
	struct afr_priv *priv;
	struct afr_inode *ai; /* ref */
	int pos;
	uint32_t on;
	uint32_t locked;
	int rets[AFR_MAX_CHILDREN];
	atomic_int left;
	bool releasing;
	struct xl_origin origin; /* what its internal calls were made for */
};

static void afr_eager_lock_next(struct afr_eager *e);
void afr_eager_release(struct afr_priv *priv, struct afr_inode *ai);

static uint64_t afr_eager_owner(struct afr_inode *ai)
{
	return (uint64_t)(uintptr_t)ai ^ 0x5a5a000000000000ull;
}

/* Resume every waiter (after lock, failure, or release).  err < 0: the
 * lock could not be had. */
static void afr_eager_wake(struct afr_inode *ai, struct afr_waiter *w, int err)
{
	struct afr_waiter *next;

	for (; w; w = next) {
		next = w->next;
		if (err)
			xl_unwind_error(w->call, err);
		else
			w->resume(w->call, ai);
		free(w);
	}
}

/* Reverse a list built by pushing at the head, so waiters resume in
 * arrival order. */
static struct afr_waiter *afr_waiters_take_locked(struct afr_inode *ai)
{
	struct afr_waiter *w = ai->waiters, *rev = NULL, *next;

	ai->waiters = NULL;
	for (; w; w = next) {
		next = w->next;
		w->next = rev;
		rev = w;
	}
	return rev;
}

static void afr_eager_locked(struct afr_eager *e, int err)
{
	struct afr_inode *ai = e->ai;
	struct afr_waiter *w;

	pthread_mutex_lock(&ai->lock);
	if (err) {
		ai->estate = AFR_E_NONE;
		ai->eon = ai->efailed = ai->elocked = 0;
	} else {
		ai->estate = AFR_E_LOCKED;
		ai->eon = e->on;
		/* A child left out (down, or its lock or pre-op failed) misses
		 * every change of this transaction: no read may come from it
		 * until a lookup judges the object again. */
		ai->bad |= ((1u << e->priv->n) - 1) & ~e->on;
		ai->efailed = 0;
		ai->elocked = e->locked;
		ai->last_ms = afr_now_ms();
		ai->locked_ms = ai->last_ms;
	}
	w = afr_waiters_take_locked(ai);
	pthread_mutex_unlock(&ai->lock);
	if (err) {
		/* Nothing held: drop the eager's ref. */
		struct afr_priv *priv = e->priv;

		afr_eager_wake(ai, w, err);
		afr_inode_put(priv, ai);
		free(e);
		return;
	}
	/* The eager object is not needed while locked; the release makes a
	 * new one.  The ref on ai stays with the LOCKED state. */
	free(e);
	afr_eager_wake(ai, w, 0);
}

static void afr_eager_unlock_cbk(struct xl_call *none, struct xl_call *ic,
				 void *ctx);

static void afr_eager_preop_cbk(struct xl_call *none, struct xl_call *ic,
				void *ctx)
{
	int child = ic ? afr_ic_child(ic) : -1;
	struct xl_reply *r = ic ? &ic->reply : NULL;
	struct afr_eager *e = ctx;

	(void)none;
	if (child >= 0 && r->ret < 0) {
		e->rets[child] = r->ret;
		xl_debug(e->priv->xl->name, "pre-op on %s failed: errno=%d",
			 e->priv->children[child]->name, -r->ret);
	}
	if (atomic_fetch_sub(&e->left, 1) != 1)
		return;
	for (int i = 0; i < e->priv->n; i++)
		if (e->rets[i] < 0)
			e->on &= ~(1u << i);
	if (!afr_quorum_ok(e->priv, e->on)) {
		/* Give back the locks, then fail the waiters. */
		struct xl_args a;
		struct afr_priv *priv = e->priv;

		e->releasing = true;
		atomic_store(&e->left, afr_popcount(e->locked) + 1);
		for (int i = 0; i < priv->n; i++)
			if (e->locked & (1u << i)) {
				afr_inodelk_args(
				    &a, e->ai->gfid, e->ai->etype, F_UNLCK,
				    afr_eager_owner(e->ai), F_SETLK);
				xl_call_internal(priv->xl, e->origin,
						 priv->children[i],
						 XL_FOP_INODELK, NULL, &a,
						 afr_eager_unlock_cbk, e);
			}
		afr_eager_unlock_cbk(NULL, NULL, e);
		return;
	}
	afr_eager_locked(e, 0);
}

static void afr_eager_preop(struct afr_eager *e)
{
	struct afr_priv *priv = e->priv;
	struct xl_args a;
	uint32_t all = (1u << priv->n) - 1;

	if (!afr_quorum_ok(priv, e->on)) {
		atomic_store(&e->left, 1);
		afr_eager_preop_cbk(NULL, NULL, e);
		return;
	}
	atomic_store(&e->left, afr_popcount(e->on) + 1);
	for (int i = 0; i < priv->n; i++) {
		e->rets[i] = 0;
		if (!(e->on & (1u << i)))
			continue;
		if (afr_xattrop_args(priv, &a, e->ai->gfid, e->ai->etype, all,
				     1)) {
			xl_call_internal_fail(priv->xl, priv->children[i],
					      XL_FOP_XATTROP, -ENOMEM,
					      afr_eager_preop_cbk, e);
			continue;
		}
		xl_call_internal(priv->xl, e->origin, priv->children[i],
				 XL_FOP_XATTROP, NULL, &a, afr_eager_preop_cbk,
				 e);
	}
	afr_eager_preop_cbk(NULL, NULL, e);
}

static void afr_eager_lock_cbk(struct xl_call *none, struct xl_call *ic,
			       void *ctx)
{
	int child = afr_ic_child(ic);
	struct xl_reply *r = &ic->reply;
	struct afr_eager *e = ctx;

	(void)none;
	if (r->ret == 0)
		e->locked |= 1u << child;
	else {
		e->on &= ~(1u << child);
		xl_debug(e->priv->xl->name, "inodelk on %s failed: errno=%d",
			 e->priv->children[child]->name, -r->ret);
	}
	e->pos++;
	afr_eager_lock_next(e);
}

static void afr_eager_lock_next(struct afr_eager *e)
{
	struct afr_priv *priv = e->priv;
	struct xl_args a;

	while (e->pos < priv->n) {
		int i = e->pos;

		if (!(e->on & (1u << i))) {
			e->pos++;
			continue;
		}
		afr_inodelk_args(&a, e->ai->gfid, e->ai->etype, F_WRLCK,
				 afr_eager_owner(e->ai), F_SETLKW);
		xl_call_internal(priv->xl, e->origin, priv->children[i],
				 XL_FOP_INODELK, NULL, &a, afr_eager_lock_cbk,
				 e);
		return;
	}
	afr_eager_preop(e);
}

/* Called with ai->lock held and estate NONE: start taking the lock. */
static void afr_eager_start_locked(struct afr_priv *priv, struct afr_inode *ai,
				   struct xl_call *call, int type,
				   struct afr_eager **out)
{
	struct afr_eager *e = calloc(1, sizeof(*e));

	*out = e;
	if (!e)
		return;
	ai->estate = AFR_E_LOCKING;
	ai->etype = type;
	ai->release_asap = false;
	e->priv = priv;
	e->ai = ai;
	e->on = afr_up_mask(priv);
	e->origin = xl_call_origin(call);
	ai->eorigin = e->origin;
}

static void afr_eager_unlock_cbk(struct xl_call *none, struct xl_call *ic,
				 void *ctx)
{
	struct afr_eager *e = ctx;
	struct afr_inode *ai = e->ai;
	struct afr_priv *priv = e->priv;
	struct afr_waiter *w;

	(void)none;
	(void)ic;
	if (atomic_fetch_sub(&e->left, 1) != 1)
		return;
	if (ai->estate == AFR_E_LOCKING) {
		/* Failed lock attempt (no quorum): answer the waiters. */
		afr_eager_locked(e, -EROFS);
		return;
	}
	pthread_mutex_lock(&ai->lock);
	ai->estate = AFR_E_NONE;
	ai->eon = ai->efailed = ai->elocked = 0;
	ai->release_asap = false;
	w = afr_waiters_take_locked(ai);
	pthread_mutex_unlock(&ai->lock);
	free(e);
	/* Waiters that are writes start a new lock cycle by themselves. */
	afr_eager_wake(ai, w, 0);
	afr_inode_put(priv, ai);
}

static void afr_eager_postop_cbk(struct xl_call *none, struct xl_call *ic,
				 void *ctx)
{
	struct afr_eager *e = ctx;
	struct afr_priv *priv = e->priv;
	struct xl_args a;

	(void)none;
	(void)ic;
	if (atomic_fetch_sub(&e->left, 1) != 1)
		return;
	atomic_store(&e->left, afr_popcount(e->locked) + 1);
	for (int i = 0; i < priv->n; i++)
		if (e->locked & (1u << i)) {
			afr_inodelk_args(&a, e->ai->gfid, e->ai->etype, F_UNLCK,
					 afr_eager_owner(e->ai), F_SETLK);
			xl_call_internal(priv->xl, e->origin, priv->children[i],
					 XL_FOP_INODELK, NULL, &a,
					 afr_eager_unlock_cbk, e);
		}
	afr_eager_unlock_cbk(NULL, NULL, e);
}

/* Post-op and unlock of ai's eager transaction.  estate must have been
 * switched to RELEASING by the caller (under ai->lock). */
void afr_eager_release(struct afr_priv *priv, struct afr_inode *ai)
{
	struct afr_eager *e = calloc(1, sizeof(*e));
	struct xl_args a;
	uint32_t ok;

	if (!e) {
		/* Keep it locked; the timer tries again. */
		pthread_mutex_lock(&ai->lock);
		ai->estate = AFR_E_LOCKED;
		pthread_mutex_unlock(&ai->lock);
		return;
	}
	pthread_mutex_lock(&ai->lock);
	e->priv = priv;
	e->ai = ai;
	e->on = ai->eon;
	e->locked = ai->elocked;
	e->origin = ai->eorigin;
	ok = ai->eon & ~ai->efailed;
	pthread_mutex_unlock(&ai->lock);
	e->releasing = true;
	atomic_store(&e->left, afr_popcount(e->on) + 1);
	for (int i = 0; i < priv->n; i++) {
		if (!(e->on & (1u << i)))
			continue;
		if (!ok ||
		    afr_xattrop_args(priv, &a, ai->gfid, ai->etype, ok, -1)) {
			afr_eager_postop_cbk(NULL, NULL, e);
			continue;
		}
		xl_call_internal(priv->xl, e->origin, priv->children[i],
				 XL_FOP_XATTROP, NULL, &a, afr_eager_postop_cbk,
				 e);
	}
	afr_eager_postop_cbk(NULL, NULL, e);
}

/* ai->lock held: should the eager transaction end now? */
bool afr_eager_due_locked(struct afr_priv *priv, struct afr_inode *ai,
			  uint64_t now)
{
	if (ai->estate != AFR_E_LOCKED || ai->inflight > 0)
		return false;
	return ai->release_asap ||
	       now >= ai->last_ms + (uint64_t)priv->post_op_delay_ms;
}

void afr_eager_tick(struct afr_priv *priv)
{
	struct afr_inode *due[64];
	int n = 0;
	uint64_t now = afr_now_ms();

	pthread_mutex_lock(&priv->lock);
	for (int b = 0; b < AFR_BUCKETS && n < 64; b++)
		for (struct afr_inode *ai = priv->table[b]; ai && n < 64;
		     ai = ai->hash_next) {
			pthread_mutex_lock(&ai->lock);
			if (afr_eager_due_locked(priv, ai, now)) {
				ai->estate = AFR_E_RELEASING;
				due[n++] = ai;
			}
			pthread_mutex_unlock(&ai->lock);
		}
	pthread_mutex_unlock(&priv->lock);
	for (int i = 0; i < n; i++)
		afr_eager_release(priv, due[i]);
}

/* Eager transactions not ended yet (priv->lock held); those idle are
 * switched to RELEASING into due[] (at most max). */
static int afr_eager_held_locked(struct afr_priv *priv, struct afr_inode **due,
				 int max, int *ndue)
{
	int held = 0;

	for (int b = 0; b < AFR_BUCKETS; b++)
		for (struct afr_inode *ai = priv->table[b]; ai;
		     ai = ai->hash_next) {
			pthread_mutex_lock(&ai->lock);
			if (ai->estate != AFR_E_NONE)
				held++;
			if (ai->estate == AFR_E_LOCKED && !ai->inflight &&
			    *ndue < max) {
				ai->estate = AFR_E_RELEASING;
				due[(*ndue)++] = ai;
			}
			pthread_mutex_unlock(&ai->lock);
		}
	return held;
}

/*
 * At fini (the children are still connected: they are finished after
 * us): end every eager transaction and wait for it, at most 2 s, so an
 * unmount right after a burst of creates leaves the directories' counters
 * clean.  What is left when time runs out stays "maybe dirty", which heal
 * handles; the bricks drop the locks with the connections.
 */
void afr_eager_release_all(struct afr_priv *priv)
{
	for (int k = 0; k < 200; k++) {
		struct afr_inode *due[64];
		int n = 0, held;

		pthread_mutex_lock(&priv->lock);
		held = afr_eager_held_locked(priv, due, 64, &n);
		pthread_mutex_unlock(&priv->lock);
		for (int i = 0; i < n; i++) {
			pthread_mutex_lock(&due[i]->lock);
			due[i]->release_asap = true;
			pthread_mutex_unlock(&due[i]->lock);
			afr_eager_release(priv, due[i]);
		}
		if (!held)
			return;
		usleep(10000);
	}
	xl_warn(priv->xl->name, "eager locks still held at exit: their "
				"objects stay marked for heal");
}

/* Queue call on ai until the eager transaction is released (flush, a
 * data transaction).  Returns false when nothing is held: go on now. */
bool afr_eager_wait_release(struct afr_priv *priv, struct afr_inode *ai,
			    struct xl_call *call,
			    void (*resume)(struct xl_call *,
					   struct afr_inode *))
{
	struct afr_waiter *w;
	bool start = false;

	pthread_mutex_lock(&ai->lock);
	if (ai->estate == AFR_E_NONE) {
		pthread_mutex_unlock(&ai->lock);
		return false;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		pthread_mutex_unlock(&ai->lock);
		return false;
	}
	w->call = call;
	w->resume = resume;
	w->next = ai->waiters;
	ai->waiters = w;
	ai->release_asap = true;
	if (afr_eager_due_locked(priv, ai, afr_now_ms())) {
		ai->estate = AFR_E_RELEASING;
		start = true;
	}
	pthread_mutex_unlock(&ai->lock);
	if (start)
		afr_eager_release(priv, ai);
	return true;
}

static void afr_write_send(struct xl_call *call, struct afr_inode *ai);
static void afr_entry_send(struct xl_call *call, struct afr_inode *ai);

/* A new name some children made and others did not: its object is not
 * read from the others. */
static void afr_new_entry_bad(struct afr_priv *priv, struct xl_call *call,
			      uint32_t failed)
{
	struct afr_inode *ai;

	if (!failed || call->reply.ret < 0 ||
	    (call->fop != XL_FOP_CREATE && call->fop != XL_FOP_MKNOD &&
	     call->fop != XL_FOP_MKDIR && call->fop != XL_FOP_SYMLINK))
		return;
	ai = afr_inode_get(priv, call->args.loc.gfid);
	if (!ai)
		return;
	pthread_mutex_lock(&ai->lock);
	ai->bad |= failed;
	pthread_mutex_unlock(&ai->lock);
	afr_inode_put(priv, ai);
}

/* A write (on l->ai, the file) or an entry change (on l->ai, the parent
 * directory) sent under the eager lock came back. */
static void afr_eager_fop_done(struct xl_call *call, struct xl_call **children,
			       const int *index, int n, void *cookie)
{
	struct afr_local *l = afr_local(call);
	struct afr_priv *priv = l->priv;
	struct afr_inode *ai = l->ai;
	uint32_t ok, sent = 0, failed;
	bool start;

	(void)cookie;
	for (int k = 0; k < n; k++)
		sent |= 1u << index[k];
	ok = afr_collect(children, n, index, afr_reply_child(call),
			 &call->reply);
	failed = sent & ~ok;
	/* Failed the same way everywhere (EEXIST, ENOENT, ENOTEMPTY):
	 * nothing diverged, nobody to blame. */
	if (!ok && call->fop != XL_FOP_WRITE)
		failed = 0;
	afr_new_entry_bad(priv, call, failed);
	pthread_mutex_lock(&ai->lock);
	ai->efailed |= failed;
	ai->bad |= failed;
	ai->inflight--;
	ai->last_ms = afr_now_ms();
	start = afr_eager_due_locked(priv, ai, ai->last_ms) &&
		(ai->release_asap || priv->post_op_delay_ms == 0);
	if (start)
		ai->estate = AFR_E_RELEASING;
	pthread_mutex_unlock(&ai->lock);
	if (failed)
		xl_debug(priv->xl->name, "%s failed on children 0x%x",
			 xl_fop_name(call->fop), failed);
	if (start)
		afr_eager_release(priv, ai);
	xl_unwind(call);
}

/* Send the write (type AFR_DATA) or entry change (AFR_ENTRY) under the
 * held eager lock of ai, or queue it. */
static void afr_eager_send(struct xl_call *call, struct afr_inode *ai, int type)
{
	void (*resume)(struct xl_call *, struct afr_inode *) =
	    type == AFR_DATA ? afr_write_send : afr_entry_send;
	struct afr_local *l = afr_local(call);
	struct afr_priv *priv = l->priv;
	struct afr_eager *e = NULL;
	struct afr_waiter *w;
	uint32_t on;
	bool release = false;

	pthread_mutex_lock(&ai->lock);
	/* A writer that never pauses gives the lock back now and then, so
	 * others waiting for it (another client, a heal) get their turn:
	 * the brick grants blocked locks in order. */
	if (ai->estate == AFR_E_LOCKED && !ai->release_asap &&
	    afr_now_ms() > ai->locked_ms + AFR_EAGER_MAX_HOLD_MS)
		ai->release_asap = true;
	/* Held for the other kind (never expected: files take writes,
	 * directories entry changes): give it back, then take ours. */
	if (ai->estate == AFR_E_LOCKED && ai->etype != type)
		ai->release_asap = true;
	if (ai->estate == AFR_E_LOCKED && !ai->release_asap) {
		on = ai->eon & ~ai->efailed & afr_up_mask(priv);
		/* A child of the transaction that went down misses this
		 * write even though no write to it failed: the post-op must
		 * keep blaming it. */
		ai->efailed |= ai->eon & ~on;
		ai->bad |= ai->eon & ~on;
		if (!afr_quorum_ok(priv, on)) {
			pthread_mutex_unlock(&ai->lock);
			xl_warn(priv->xl->name, "write without quorum: EROFS");
			xl_unwind_error(call, -EROFS);
			return;
		}
		if (type == AFR_DATA && !afr_data_ok_locked(priv, ai, on)) {
			pthread_mutex_unlock(&ai->lock);
			afr_no_good_data(priv, ai->gfid);
			xl_unwind_error(call, -ENOTCONN);
			return;
		}
		ai->inflight++;
		pthread_mutex_unlock(&ai->lock);
		xl_fan(call, &(struct xl_fan){.fop = call->fop,
					      .mask = on,
					      .fill = xl_fill_copy,
					      .done = afr_eager_fop_done});
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		pthread_mutex_unlock(&ai->lock);
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	w->call = call;
	w->resume = resume;
	w->next = ai->waiters;
	ai->waiters = w;
	if (ai->release_asap && afr_eager_due_locked(priv, ai, afr_now_ms())) {
		ai->estate = AFR_E_RELEASING;
		release = true;
	}
	if (ai->estate == AFR_E_NONE) {
		afr_eager_start_locked(priv, ai, call, type, &e);
		if (!e) {
			ai->waiters = w->next;
			pthread_mutex_unlock(&ai->lock);
			free(w);
			xl_unwind_error(call, -ENOMEM);
			return;
		}
	}
	pthread_mutex_unlock(&ai->lock);
	if (release)
		afr_eager_release(priv, ai);
	if (e) {
		/* The LOCKING..NONE cycle holds its own ref on ai. */
		afr_inode_get(priv, ai->gfid);
		afr_eager_lock_next(e);
	}
}

static void afr_write_send(struct xl_call *call, struct afr_inode *ai)
{
	afr_eager_send(call, ai, AFR_DATA);
}

static void afr_entry_send(struct xl_call *call, struct afr_inode *ai)
{
	afr_eager_send(call, ai, AFR_ENTRY);
}

void afr_entry_eager(struct xl_call *call, const uint8_t *parent)
{
	struct afr_local *l = afr_local(call);
	struct afr_priv *priv = call->xl->private;

	if (!l) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (!afr_quorum_ok(priv, afr_up_mask(priv))) {
		xl_warn(priv->xl->name, "%s without quorum: EROFS",
			xl_fop_name(call->fop));
		xl_unwind_error(call, -EROFS);
		return;
	}
	l->ai = afr_inode_get(priv, parent);
	if (!l->ai) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	afr_entry_send(call, l->ai);
}

void afr_writev(struct xl *xl, struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	struct afr_priv *priv = xl->private;

	if (!l || !call->args.fd) {
		xl_unwind_error(call, l ? -EBADF : -ENOMEM);
		return;
	}
	if (!afr_quorum_ok(priv, afr_up_mask(priv))) {
		xl_warn(xl->name, "write without quorum: EROFS");
		xl_unwind_error(call, -EROFS);
		return;
	}
	l->ai = afr_inode_get(priv, call->args.fd->gfid);
	if (!l->ai) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (!afr_data_ok(priv, l->ai, afr_up_mask(priv))) {
		afr_no_good_data(priv, l->ai->gfid);
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	afr_write_send(call, l->ai);
}
