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
 * State: the call's afr_local: tried = copies that granted, child = the
 * next child to ask, reply = the first grant's answer.
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

/* ---- on every child at once: unlock, F_GETLK, cancel -------------------- */

static void afr_lk_all_done(struct xl_call *call, struct xl_call **children,
			    int n, void *cookie)
{
	int ok = -1, err = -1;

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
	xl_unwind(call);
}

static void afr_lk_all(struct xl_call *call, uint32_t mask,
		       xl_prepare_fn prepare, xl_gather_fn done)
{
	struct afr_priv *priv = call->xl->private;
	struct xl *targets[AFR_MAX_CHILDREN];
	int n = 0;

	for (int i = 0; i < priv->n; i++)
		if (mask & (1u << i))
			targets[n++] = priv->children[i];
	if (!n) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	xl_fanout(call, targets, n, prepare, done, NULL);
}

/* ---- lock: child after child, undone on a refusal ----------------------- */

static void afr_lk_next(struct xl_call *call);

/* The undo of a granted lock: the same request turned into an unlock. */
static int afr_lk_undo_prepare(struct xl_call *child, int index, void *cookie)
{
	(void)index;
	(void)cookie;
	if (child->fop == XL_FOP_FLOCK) {
		child->args.cmd = LOCK_UN;
	} else {
		child->args.cmd = F_SETLK;
		child->args.lock.type = F_UNLCK;
	}
	return 0;
}

static void afr_lk_undone(struct xl_call *call, struct xl_call **children,
			  int n, void *cookie)
{
	struct afr_local *l = afr_local(call);
	int err = l->reply.ret;

	(void)cookie;
	for (int k = 0; k < n; k++)
		if (children[k]->reply.ret < 0 &&
		    !afr_lk_skip_error(children[k]->reply.ret))
			xl_warn(call->xl->name,
				"undoing a refused %s: unlock failed: "
				"errno=%d",
				xl_fop_name(call->fop),
				-children[k]->reply.ret);
	xl_unwind_error(call, err);
}

/* Answer err after unlocking what this request was granted. */
static void afr_lk_refuse(struct xl_call *call, int err)
{
	struct afr_local *l = afr_local(call);

	xl_reply_clear(&l->reply);
	l->reply.ret = err;
	if (!l->tried) {
		xl_unwind_error(call, err);
		return;
	}
	afr_lk_all(call, l->tried, afr_lk_undo_prepare, afr_lk_undone);
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
			xl_unwind(call);
		} else {
			xl_unwind_error(call, l->reply.ret ? l->reply.ret
							   : -ENOTCONN);
		}
		return;
	}
	l->child++;
	xl_wind(call, l->priv->children[l->child - 1], afr_lk_cbk,
		(void *)(intptr_t)(l->child - 1));
}

void afr_lk(struct xl *xl, struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	uint32_t up = afr_up_mask(xl->private);

	if (!l) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (!up) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	if (afr_lk_is_unlock(call) ||
	    (call->fop == XL_FOP_LK && call->args.cmd == F_GETLK) ||
	    (call->args.xdata &&
	     xl_dict_get(call->args.xdata, XL_KEY_LK_CANCEL))) {
		afr_lk_all(call, up, NULL, afr_lk_all_done);
		return;
	}
	l->child = 0;
	l->tried = 0;
	afr_lk_next(call);
}
