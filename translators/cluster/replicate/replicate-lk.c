/*
 * replicate-lk.c - cluster/replicate: POSIX record locks (lk) and flock.
 *
 * A lock is taken on every live copy, so it outlives the death of any
 * brick but the last that granted it: another client still meets it on
 * the copies that remain.
 *
 *   lock      the caller's request on each up child in child order, one
 *             after the other, each as asked (blocking or not).  Every
 *             client takes the copies in the same order, so two blocking
 *             requests cannot deadlock: whoever holds copy i waits only
 *             for copies after i, whichever copies each client sees.  A
 *             refusal (EAGAIN for F_SETLK / LOCK_NB, EINTR for a withdrawn
 *             blocking request, any other error) is undone on the copies
 *             that granted it, then answered.  A child that is down or
 *             never opened the fd (ENOTCONN, EBADFD) is skipped.
 *   unlock    on every up child at once; done when any copy did it.
 *   F_GETLK   on every up child at once; a conflicting lock any copy
 *             reports wins.
 *   cancel    (xdata mortar.lk-cancel from the FUSE bridge: withdraw a
 *             parked blocking request) on every up child at once: the
 *             request waits on one copy, whichever it is.
 *
 * Limit: the undo is an unlock of the request's range (flock: LOCK_UN),
 * so a conversion (read lock to write lock, LOCK_SH to LOCK_EX) refused
 * on a later copy also gives up what the owner held there on the earlier
 * ones.
 *
 * What each fd holds.  Every lock change through an fd (lk and flock; not
 * F_GETLK, a cancel or the internal inodelk) is booked, once answered, in
 * the fd's record (replicate-lkstate.c): the ranges and flock it holds
 * and the children that hold all of them continuously.  A flush (close)
 * books that the owner's POSIX locks went.  replicate-lkheal.c reads the
 * records to give a returning child the locks another child kept.  A
 * restore must see records that no change is about to alter, and no
 * change may slip between a restore's requests, so on each gfid:
 *   ai->lk_busy       lock changes sent, not yet booked; a restore starts
 *                     only when none is (the last one to be booked starts
 *                     it);
 *   ai->lk_restoring  a restore runs: lock changes and flushes of the gfid
 *                     wait in ai->lk_parked and go on, in order, when it
 *                     ends (a few round trips to one brick).  Cancels and
 *                     F_GETLK never wait.
 * A blocking request in flight (F_SETLKW waiting for another client)
 * thus delays a restore of its gfid until it is granted or withdrawn.
 *
 * State: the call's afr_local: tried = copies that granted, child = the
 * next child to ask, reply = the first grant's answer, ai and lk_gated =
 * the change is counted in ai->lk_busy and is booked when answered.
 */
#include "config.h"

#include "replicate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

static bool afr_lk_is_unlock(const struct xl_call *call)
{
	if (call->fop == XL_FOP_FLOCK)
		return (call->args.cmd & LOCK_UN) != 0;
	return call->args.cmd != F_GETLK && call->args.lock.type == F_UNLCK;
}

static bool afr_lk_skip_error(int ret)
{
	return ret == -ENOTCONN || ret == -EBADFD;
}

/* ---- bookkeeping: what each fd holds ------------------------------------ */

/* A lock change through a file's fd: booked in its record. */
static bool afr_lk_tracked(const struct xl_call *call)
{
	return (call->fop == XL_FOP_LK || call->fop == XL_FOP_FLOCK) &&
	       call->args.fd && !call->args.fd->is_dir;
}

/* The request as the bookkeeping sees it; -EINVAL when the brick will
 * refuse it anyway (nothing to book). */
static int afr_lk_req_of(const struct xl_call *call, struct afr_lkreq *req)
{
	int op = call->args.cmd & ~LOCK_NB;

	memset(req, 0, sizeof(*req));
	if (call->fop == XL_FOP_FLOCK) {
		req->flock = true;
		req->end = XL_LK_EOF;
		if (op == LOCK_SH)
			req->type = F_RDLCK;
		else if (op == LOCK_EX)
			req->type = F_WRLCK;
		else if (op == LOCK_UN)
			req->type = F_UNLCK;
		else
			return -EINVAL;
		return 0;
	}
	req->type = call->args.lock.type;
	req->owner = call->args.lock.owner;
	req->pid = call->args.lock.pid;
	if (req->type != F_RDLCK && req->type != F_WRLCK &&
	    req->type != F_UNLCK)
		return -EINVAL;
	return xl_lk_range_from_flock(
	    call->args.lock.start, call->args.lock.len, &req->start, &req->end);
}

/* Park call on ai until the restore running there ends.  _locked. */
static int afr_lk_park_locked(struct afr_inode *ai, struct xl_call *call,
			      void (*resume)(struct xl_call *call,
					     struct afr_inode *ai))
{
	struct afr_waiter *w = calloc(1, sizeof(*w)), **pp;

	if (!w)
		return -ENOMEM;
	w->call = call;
	w->resume = resume;
	for (pp = &ai->lk_parked; *pp; pp = &(*pp)->next)
		;
	*pp = w;
	return 0;
}

/* A new fd ctx for a file's lock record, with its own ref on ai. */
static struct afr_fdctx *afr_lk_new_ctx(struct afr_priv *priv,
					struct afr_inode *ai, struct xl_fd *fd)
{
	struct afr_fdctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->child = -1;
	afr_inode_ref(priv, ai);
	ctx->ai = ai;
	afr_lkfd_init(&ctx->lk, (uint32_t)((1ull << priv->n) - 1));
	ctx->lk.fd = fd;
	return ctx;
}

/*
 * A lock change enters ai: 0 (counted in ai->lk_busy, the fd's record
 * linked when it locks), 1 (parked: resume runs it when the restore ends)
 * or -errno.
 */
static int
afr_lk_enter(struct afr_priv *priv, struct xl_call *call, struct afr_inode *ai,
	     void (*resume)(struct xl_call *call, struct afr_inode *ai))
{
	struct xl_fd *fd = call->args.fd;
	bool locking = !afr_lk_is_unlock(call);
	struct afr_fdctx *ctx, *spare = NULL;
	int ret = 0;

	if (locking && !xl_fd_ctx_get(fd, priv->xl)) {
		spare = afr_lk_new_ctx(priv, ai, fd);
		if (!spare)
			return -ENOMEM;
	}
	pthread_mutex_lock(&ai->lock);
	if (ai->lk_restoring) {
		ret = afr_lk_park_locked(ai, call, resume);
		if (ret == 0)
			ret = 1;
	} else {
		ai->lk_busy++;
		ctx = locking ? xl_fd_ctx_get(fd, priv->xl) : NULL;
		if (locking && !ctx) {
			xl_fd_ctx_set(fd, priv->xl, spare);
			ctx = spare;
			spare = NULL;
		}
		if (ctx && ctx->ai == ai && !ctx->lk_linked) {
			ctx->lk.next = ai->lkfds;
			ai->lkfds = &ctx->lk;
			ctx->lk_linked = true;
		}
	}
	pthread_mutex_unlock(&ai->lock);
	if (spare)
		afr_fdctx_free(priv, spare);
	return ret;
}

/* The change is answered: book it with outcome (granted: the children
 * that granted a lock) and leave ai; the last change out starts the
 * restore a returning child waits for.  No-op for calls not gated. */
static void afr_lk_leave(struct xl_call *call, enum afr_lk_outcome outcome,
			 uint32_t granted)
{
	struct afr_local *l = afr_local(call);
	struct afr_priv *priv = call->xl->private;
	struct afr_inode *ai = l ? l->ai : NULL;
	struct afr_fdctx *ctx;
	struct afr_lkreq req;
	bool start = false;

	if (!l || !l->lk_gated || !ai)
		return;
	l->lk_gated = false;
	pthread_mutex_lock(&ai->lock);
	ctx = xl_fd_ctx_get(call->args.fd, priv->xl);
	if (ai->lkfds && afr_lk_req_of(call, &req) == 0)
		afr_lkfd_book(ai->lkfds,
			      ctx && ctx->lk_linked && ctx->ai == ai ? &ctx->lk
								     : NULL,
			      &req, outcome, granted);
	if (--ai->lk_busy == 0 && ai->lk_want && !ai->lk_restoring) {
		ai->lk_restoring = true;
		start = true;
	}
	pthread_mutex_unlock(&ai->lock);
	if (start) {
		afr_inode_ref(priv, ai);
		afr_lkheal_start(priv, ai);
	}
}

static void afr_lk_unwind(struct xl_call *call, enum afr_lk_outcome outcome,
			  uint32_t granted)
{
	afr_lk_leave(call, outcome, granted);
	xl_unwind(call);
}

static void afr_lk_unwind_error(struct xl_call *call, int err,
				enum afr_lk_outcome outcome)
{
	afr_lk_leave(call, outcome, 0);
	xl_unwind_error(call, err);
}

bool afr_lk_flush(struct afr_priv *priv, struct xl_call *call,
		  struct afr_inode *ai,
		  void (*resume)(struct xl_call *call, struct afr_inode *ai))
{
	bool parked = false;

	if (!ai)
		return false;
	pthread_mutex_lock(&ai->lock);
	/* Without memory to wait the flush goes on: the owner's locks may
	 * then come back on a copy the restore reaches after the flush. */
	if (ai->lk_restoring)
		parked = afr_lk_park_locked(ai, call, resume) == 0;
	if (!parked && ai->lkfds)
		afr_lkfd_flushed(ai->lkfds, call->cred.lk_owner);
	pthread_mutex_unlock(&ai->lock);
	return parked;
}

/* Unlink ctx's record from its gfid.  _locked: ctx->ai->lock held. */
static void afr_lk_unlink_locked(struct afr_fdctx *ctx)
{
	struct afr_lkfd **pp;

	if (!ctx->lk_linked)
		return;
	for (pp = &ctx->ai->lkfds; *pp; pp = &(*pp)->next)
		if (*pp == &ctx->lk) {
			*pp = ctx->lk.next;
			break;
		}
	ctx->lk.next = NULL;
	ctx->lk_linked = false;
}

void afr_lk_release(struct afr_priv *priv, struct xl_fd *fd)
{
	struct afr_fdctx *ctx = xl_fd_ctx_get(fd, priv->xl);

	/* From now on no restore takes a ref on this fd: its last ref may go
	 * once the release is answered. */
	if (!ctx || !ctx->ai)
		return;
	pthread_mutex_lock(&ctx->ai->lock);
	afr_lk_unlink_locked(ctx);
	pthread_mutex_unlock(&ctx->ai->lock);
}

void afr_fdctx_free(struct afr_priv *priv, struct afr_fdctx *ctx)
{
	if (ctx->ai && priv) {
		pthread_mutex_lock(&ctx->ai->lock);
		afr_lk_unlink_locked(ctx);
		pthread_mutex_unlock(&ctx->ai->lock);
		afr_inode_put(priv, ctx->ai);
	}
	afr_lkfd_clear(&ctx->lk);
	free(ctx);
}

/* ---- on every child at once: unlock, F_GETLK, cancel -------------------- */

static void afr_lk_all_done(struct xl_call *call, struct xl_call **children,
			    const int *index, int n, void *cookie)
{
	int ok = -1, err = -1;

	(void)index;
	(void)cookie;
	for (int k = 0; k < n; k++) {
		struct xl_reply *r = &children[k]->reply;

		if (r->ret < 0) {
			if (err < 0 ||
			    afr_lk_skip_error(children[err]->reply.ret))
				err = k;
			continue;
		}
		/* F_GETLK: a copy that reports a conflicting lock wins. */
		if (ok < 0 ||
		    (call->fop == XL_FOP_LK && call->args.cmd == F_GETLK &&
		     children[ok]->reply.lock.type == F_UNLCK &&
		     r->lock.type != F_UNLCK))
			ok = k;
	}
	if (ok >= 0)
		xl_reply_move(&call->reply, &children[ok]->reply);
	else if (err >= 0)
		xl_reply_move(&call->reply, &children[err]->reply);
	else
		call->reply.ret = -ENOTCONN;
	/* Only unlocks are gated among the calls that end here: booked done
	 * whatever the copies said (the application is told it holds
	 * nothing there; a copy that failed to unlock holds more). */
	afr_lk_unwind(call, AFR_LK_UNLOCKED, 0);
}

static void afr_lk_all(struct xl_call *call, uint32_t mask, xl_fill_fn fill,
		       xl_gather_fn done)
{
	struct afr_priv *priv = call->xl->private;

	if (!(mask & ((1u << priv->n) - 1))) {
		afr_lk_unwind_error(call, -ENOTCONN, AFR_LK_UNLOCKED);
		return;
	}
	xl_fan(call,
	       &(struct xl_fan){
		   .fop = call->fop, .mask = mask, .fill = fill, .done = done});
}

/* ---- lock: child after child, undone on a refusal ----------------------- */

static void afr_lk_next(struct xl_call *call);

/* The undo of a granted lock: the same request turned into an unlock. */
static int afr_lk_fill_undo(struct xl_call *call, struct xl_call *child,
			    int index, int slot, void *cookie)
{
	int ret = xl_fill_copy(call, child, index, slot, cookie);

	if (ret < 0)
		return ret;
	if (child->fop == XL_FOP_FLOCK) {
		child->args.cmd = LOCK_UN;
	} else {
		child->args.cmd = F_SETLK;
		child->args.lock.type = F_UNLCK;
	}
	return 0;
}

static void afr_lk_undone(struct xl_call *call, struct xl_call **children,
			  const int *index, int n, void *cookie)
{
	struct afr_local *l = afr_local(call);
	int err = l->reply.ret;

	(void)index;
	(void)cookie;
	for (int k = 0; k < n; k++)
		if (children[k]->reply.ret < 0 &&
		    !afr_lk_skip_error(children[k]->reply.ret))
			xl_warn(call->xl->name,
				"undoing a refused %s: unlock failed: "
				"errno=%d",
				xl_fop_name(call->fop),
				-children[k]->reply.ret);
	afr_lk_unwind_error(call, err, AFR_LK_UNDONE);
}

/* Answer err after unlocking what this request was granted. */
static void afr_lk_refuse(struct xl_call *call, int err)
{
	struct afr_local *l = afr_local(call);

	xl_reply_clear(&l->reply);
	l->reply.ret = err;
	if (!l->tried) {
		afr_lk_unwind_error(call, err, AFR_LK_REFUSED);
		return;
	}
	afr_lk_all(call, l->tried, afr_lk_fill_undo, afr_lk_undone);
}

static void afr_lk_cbk(struct xl_call *call, struct xl_call *child,
		       void *cookie)
{
	struct afr_local *l = afr_local(call);
	int c = (int)(intptr_t)cookie;
	int ret = child->reply.ret;

	if (ret >= 0) {
		if (!l->tried)
			xl_reply_move(&l->reply, &child->reply);
		l->tried |= 1u << c;
	} else if (!afr_lk_skip_error(ret)) {
		afr_lk_refuse(call, ret);
		return;
	} else if (!l->tried && l->reply.ret == 0) {
		l->reply.ret = ret; /* answered if no copy grants */
	}
	afr_lk_next(call);
}

static void afr_lk_next(struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	uint32_t up = afr_up_mask(l->priv);

	while (l->child < l->priv->n && !(up & (1u << l->child)))
		l->child++;
	if (l->child >= l->priv->n) {
		if (l->tried) {
			xl_reply_move(&call->reply, &l->reply);
			afr_lk_unwind(call, AFR_LK_GRANTED, l->tried);
		} else {
			afr_lk_unwind_error(
			    call, l->reply.ret ? l->reply.ret : -ENOTCONN,
			    AFR_LK_UNSENT);
		}
		return;
	}
	l->child++;
	xl_wind(call, l->priv->children[l->child - 1], afr_lk_cbk,
		(void *)(intptr_t)(l->child - 1));
}

static bool afr_lk_is_query(const struct xl_call *call)
{
	return (call->fop == XL_FOP_LK && call->args.cmd == F_GETLK) ||
	       (call->args.xdata &&
		xl_dict_get(call->args.xdata, XL_KEY_LK_CANCEL));
}

static void afr_lk_dispatch(struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	uint32_t up = afr_up_mask(l->priv);

	if (!up) {
		afr_lk_unwind_error(call, -ENOTCONN, AFR_LK_UNSENT);
		return;
	}
	if (afr_lk_is_unlock(call) || afr_lk_is_query(call)) {
		afr_lk_all(call, up, xl_fill_copy, afr_lk_all_done);
		return;
	}
	l->child = 0;
	l->tried = 0;
	afr_lk_next(call);
}

/* Enter the gfid's gate (again, after waiting for a restore), then go. */
static void afr_lk_gated(struct xl_call *call, struct afr_inode *ai)
{
	struct afr_local *l = afr_local(call);
	int ret = afr_lk_enter(l->priv, call, ai, afr_lk_gated);

	if (ret == 1)
		return;
	if (ret < 0) {
		xl_unwind_error(call, ret);
		return;
	}
	l->lk_gated = true;
	afr_lk_dispatch(call);
}

void afr_lk(struct xl *xl, struct xl_call *call)
{
	struct afr_local *l = afr_local(call);

	if (!l) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (!afr_up_mask(xl->private)) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	if (!afr_lk_tracked(call) || afr_lk_is_query(call)) {
		afr_lk_dispatch(call);
		return;
	}
	l->ai = afr_inode_get(xl->private, call->args.fd->gfid);
	if (!l->ai) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	afr_lk_gated(call, l->ai);
}
