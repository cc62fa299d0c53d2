/*
 * replicate-dir.c - cluster/replicate: open directories and list them.
 *
 * opendir opens the directory on every up child.  A listing is read from
 * one copy for the whole life of the fd (the brick's offsets mean nothing
 * on another copy): the first readdir picks a good copy and keeps it in
 * the fd's ctx.  A listing that starts again at offset 0 may pick again
 * (the kept copy went away).
 *
 * fd ctx: struct afr_fdctx (replicate.h, shared with the lock records of
 * files), calloc'd, freed by afr_fd_ctx_free or on releasedir; guarded by
 * the fd's lock (xl_fd_ctx_get/set).
 */
#include "config.h"

#include "replicate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void afr_fd_ctx_free(struct xl *xl, void *ctx)
{
	if (ctx)
		afr_fdctx_free(xl->private, ctx);
}

static void afr_dir_anyok_done(struct xl_call *call, struct xl_call **children,
			       const int *index, int n, void *cookie)
{
	int first_err = -1;

	(void)index;
	(void)cookie;
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret >= 0) {
			xl_reply_move(&call->reply, &children[k]->reply);
			xl_unwind(call);
			return;
		}
		if (first_err < 0)
			first_err = k;
	}
	if (first_err >= 0)
		xl_reply_move(&call->reply, &children[first_err]->reply);
	else
		call->reply.ret = -ENOTCONN;
	xl_unwind(call);
}

static void afr_dir_fanout(struct xl_call *call, uint32_t mask)
{
	struct afr_priv *priv = call->xl->private;

	if (!(mask & ((1u << priv->n) - 1))) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = call->fop,
				      .mask = mask,
				      .fill = xl_fill_copy,
				      .done = afr_dir_anyok_done});
}

void afr_opendir(struct xl *xl, struct xl_call *call)
{
	afr_dir_fanout(call, afr_up_mask(xl->private));
}

void afr_releasedir(struct xl *xl, struct xl_call *call)
{
	struct afr_priv *priv = xl->private;
	struct afr_fdctx *ctx = NULL;

	if (call->args.fd)
		ctx = xl_fd_ctx_set(call->args.fd, xl, NULL);
	if (ctx)
		afr_fdctx_free(priv, ctx);
	afr_dir_fanout(call, (1u << priv->n) - 1);
}

/* A listing of a directory with entries to heal (or in split-brain) is
 * one copy's: no cache keeps it, so a name it lacks is still looked up,
 * and that lookup is what heals the name (md-cache's directory prefetch
 * would otherwise answer ENOENT, or the old entry, from it). */
static void afr_readdir_cbk(struct xl_call *call, struct xl_call *child,
			    void *cookie)
{
	struct afr_local *l = afr_local(call);

	(void)cookie;
	xl_reply_move(&call->reply, &child->reply);
	if (call->reply.ret >= 0 && l && call->args.fd) {
		if (!l->ai)
			l->ai = afr_inode_get(l->priv, call->args.fd->gfid);
		if (afr_unsettled(l->priv, l->ai))
			xl_reply_no_cache(&call->reply);
	}
	xl_unwind(call);
}

void afr_readdir(struct xl *xl, struct xl_call *call)
{
	struct afr_priv *priv = xl->private;
	struct afr_local *l = afr_local(call);
	struct afr_fdctx *ctx;
	int c = -1;

	if (!l || !call->args.fd) {
		xl_unwind_error(call, l ? -EBADF : -ENOMEM);
		return;
	}
	ctx = xl_fd_ctx_get(call->args.fd, xl);
	if (ctx && call->args.offset != 0)
		c = ctx->child;
	if (c < 0 || !(afr_up_mask(priv) & (1u << c))) {
		if (call->args.offset != 0 && ctx) {
			/* The copy this listing came from is gone. */
			xl_unwind_error(call, -EIO);
			return;
		}
		l->ai = afr_inode_get(priv, call->args.fd->gfid);
		c = afr_read_child(priv, l->ai, 0);
		if (c < 0) {
			xl_unwind_error(call, -ENOTCONN);
			return;
		}
		if (!ctx) {
			struct afr_fdctx *old;

			ctx = calloc(1, sizeof(*ctx));
			if (!ctx) {
				xl_unwind_error(call, -ENOMEM);
				return;
			}
			old = xl_fd_ctx_set(call->args.fd, xl, ctx);
			if (old)
				afr_fdctx_free(priv, old);
		}
		ctx->child = c;
	}
	xl_wind(call, priv->children[c], afr_readdir_cbk, NULL);
}
