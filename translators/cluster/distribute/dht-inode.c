/*
 * dht-inode.c - cluster/distribute: fops on a known file or directory,
 * and the write path while the rebalance tool migrates a file.
 *
 * A file's fops go to the child holding its data: the fd's child for fd
 * fops, else the child cached in the inode ctx (found again on every
 * child when the cache is missing or stale: ENOENT/ESTALE there).  A
 * directory's setattr and xattr changes go to every live child; its stat
 * merges the copies' times; other reads ask the first live child.
 *
 * Migration (see extras/tools/rebalance-ops.c): while a file is copied
 * from child S to child D, its copy on S has the mode bits S_ISVTX|S_ISGID
 * and the xattr trusted.mortar.dht.linkto naming D.  A write, truncate or
 * fallocate whose reply from S shows those bits is repeated on D (read
 * from S's xattr for every repeat, or found by gfid once S's copy is
 * gone from its name; the same fd, opened there by gfid) while holding an
 * inodelk on S's copy over the written range in the domain
 * "distribute.migrate".  The tool copies each chunk under the same lock and
 * switches the file over under a lock on the whole file, so every write reaches
 * D either through the copy or through the repeat, in order.  Once the
 * switch is done (S's copy has no name left), an fd opened before follows
 * the file to D on its next read, fstat or change (dht_fd_switch).
 */
#include "config.h"

#include "dht.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static bool dht_fop_changes(enum xl_fop fop)
{
	return fop == XL_FOP_SETATTR || fop == XL_FOP_SETXATTR ||
	       fop == XL_FOP_REMOVEXATTR;
}

static bool dht_shows_migration(const struct xl_reply *r)
{
	return r->ret >= 0 && S_ISREG(r->attr.mode) &&
	       (r->attr.mode & DHT_MIGRATE_BITS) == DHT_MIGRATE_BITS;
}

/* ---- migration repeats ------------------------------------------------- */

static void dht_repeat_finish(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (local->ret < 0 && local->ret != -ENOENT && local->ret != -ESTALE) {
		/* S has the change but D may not: say so rather than let a
		 * migration finish without it. */
		xl_warn(call->xl->name,
			"%s repeated on the migration target "
			"failed: errno=%d",
			xl_fop_name(call->fop), -local->ret);
		xl_unwind_error(call, -EIO);
		return;
	}
	xl_reply_move(&call->reply, &local->saved);
	xl_unwind(call);
}

static int dht_fill_mlock(struct xl_call *call, struct xl_call *child,
			  int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);
	bool write = call->fop == XL_FOP_WRITE && call->args.data;

	(void)cookie;
	(void)subvol;
	(void)k;
	return dht_inodelk_args(child, local->saved.attr.gfid, DHT_LOCK_MIGRATE,
				local->mlock_lock, local->owner,
				write ? call->args.offset : 0,
				write ? (int64_t)call->args.data->size : 0);
}

static void dht_repeat_unlocked(struct xl_call *call, struct xl_call *child,
				void *cookie)
{
	(void)child;
	(void)cookie;
	dht_repeat_finish(call);
}

static void dht_repeat_send(struct xl_call *call);
static void dht_repeat_done(struct xl_call *call, struct xl_call *child,
			    void *cookie);
static int dht_fill_dst_open(struct xl_call *call, struct xl_call *child,
			     int subvol, int k, void *cookie);

/* The fd was open on an earlier, abandoned target (unlinked since):
 * opened on the current one, the repeat is sent again. */
static void dht_reopen_cbk(struct xl_call *call, struct xl_call *child,
			   void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	if (child->reply.ret < 0) {
		/* No target any more: the migration was abandoned. */
		local->ret = 0;
		dht_repeat_done(call, child, NULL);
		return;
	}
	dht_repeat_send(call);
}

static void dht_repeat_done(struct xl_call *call, struct xl_call *child,
			    void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);

	(void)cookie;
	if (child->fop == call->fop && child->reply.ret >= 0 &&
	    child->reply.attr.nlink == 0 && call->args.fd &&
	    !local->linkto_retried) {
		local->linkto_retried = true; /* once */
		dht_send(call, XL_FOP_OPEN, local->linkto_target,
			 dht_fill_dst_open, dht_reopen_cbk, NULL);
		return;
	}
	local->ret = child->reply.ret < 0 && child->fop == call->fop
			 ? child->reply.ret
			 : 0;
	pthread_mutex_lock(&priv->lock);
	priv->migrate_repeats++;
	pthread_mutex_unlock(&priv->lock);
	local->mlock_lock = false; /* unlock */
	dht_send(call, XL_FOP_INODELK, local->linkto_on, dht_fill_mlock,
		 dht_repeat_unlocked, NULL);
}

static int dht_fill_repeat(struct xl_call *call, struct xl_call *child,
			   int subvol, int k, void *cookie)
{
	int ret = xl_fill_copy(call, child, subvol, k, cookie);

	if (ret == 0 && child->args.fd)
		memcpy(child->args.loc.gfid, child->args.fd->gfid, XL_GFID_LEN);
	return ret;
}

static void dht_repeat_send(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	dht_send(call, call->fop, local->linkto_target, dht_fill_repeat,
		 dht_repeat_done, NULL);
}

static void dht_repeat_locked(struct xl_call *call, struct xl_call *child,
			      void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	if (child->reply.ret < 0) {
		local->ret = child->reply.ret;
		dht_repeat_finish(call);
		return;
	}
	dht_repeat_send(call);
}

static void dht_repeat_lock(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	local->owner = dht_lock_owner(call->xl);
	local->mlock_lock = true;
	dht_send(call, XL_FOP_INODELK, local->linkto_on, dht_fill_mlock,
		 dht_repeat_locked, NULL);
}

static int dht_fill_dst_open(struct xl_call *call, struct xl_call *child,
			     int subvol, int k, void *cookie)
{
	(void)cookie;
	(void)subvol;
	(void)k;
	memcpy(child->args.loc.gfid, call->args.fd->gfid, XL_GFID_LEN);
	child->args.fd = xl_fd_ref(call->args.fd);
	child->args.flags = O_RDWR;
	return 0;
}

static void dht_dst_open_cbk(struct xl_call *call, struct xl_call *child,
			     void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct dht_fdctx *f = cookie;

	if (child->reply.ret < 0) {
		/* The target went away (migration abandoned): S has it. */
		local->ret = child->reply.ret;
		dht_repeat_finish(call);
		return;
	}
	pthread_mutex_lock(&f->lock);
	f->dst_open = true;
	f->opened[local->linkto_target] = true;
	pthread_mutex_unlock(&f->lock);
	dht_repeat_lock(call);
}

/* The target is known: open the fd there first when needed. */
static void dht_repeat_target(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_fdctx *f =
	    call->args.fd ? dht_fdctx(call->xl, call->args.fd, false) : NULL;
	bool need_open = false;

	if (f) {
		pthread_mutex_lock(&f->lock);
		if (f->migrate_dst != local->linkto_target) {
			f->migrate_dst = local->linkto_target;
			f->dst_open = f->opened[local->linkto_target];
		}
		need_open = !f->dst_open;
		pthread_mutex_unlock(&f->lock);
	}
	if (need_open) {
		dht_send(call, XL_FOP_OPEN, local->linkto_target,
			 dht_fill_dst_open, dht_dst_open_cbk, f);
		return;
	}
	dht_repeat_lock(call);
}

static int dht_fill_linkto_get(struct xl_call *call, struct xl_call *child,
			       int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	(void)subvol;
	(void)k;
	/* By the fd when there is one: once the migration is over, S's
	 * name and gfid handle are gone and only open fds reach it. */
	if (call->args.fd)
		child->args.fd = xl_fd_ref(call->args.fd);
	else
		memcpy(child->args.loc.gfid, local->saved.attr.gfid,
		       XL_GFID_LEN);
	child->args.xname = strdup(DHT_XATTR_LINKTO);
	child->args.size = 256;
	if (!child->args.xname)
		return -ENOMEM;
	return dht_set_internal(&child->args.xdata);
}

static int dht_fill_gfid_lookup(struct xl_call *call, struct xl_call *child,
				int subvol, int k, void *cookie)
{
	(void)cookie;
	(void)subvol;
	(void)k;
	memcpy(child->args.loc.gfid, dht_local(call)->saved.attr.gfid,
	       XL_GFID_LEN);
	dht_xattr_req_add(child);
	return 0;
}

/* Who holds the data now that S's copy is gone from its name: the child
 * (other than S) with a regular, non-linkto file of this gfid. */
static void dht_target_found(struct xl_call *call, struct xl_call **children,
			     const int *subvols, int n, void *cookie)
{
	struct dht_local *local = dht_local(call);
	int dst = -1;

	(void)cookie;
	for (int k = 0; k < n && dst < 0; k++) {
		struct xl_reply *r = &children[k]->reply;

		if (r->ret == 0 && S_ISREG(r->attr.mode) &&
		    !dht_is_linkto(&r->attr, r->xdata) &&
		    subvols[k] != local->linkto_on)
			dst = subvols[k];
	}
	if (dst < 0) {
		xl_warn(call->xl->name,
			"%s on a file whose migration finished: no target "
			"found, the change is on the old copy only",
			xl_fop_name(call->fop));
		local->ret = -EIO;
		dht_repeat_finish(call);
		return;
	}
	local->linkto_target = dst;
	dht_repeat_target(call);
}

static void dht_linkto_got(struct xl_call *call, struct xl_call *child,
			   void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct xl_reply *r = &child->reply;
	char name[256];
	int dst = -1;

	(void)cookie;
	if ((r->ret == -ESTALE || r->ret == -ENOENT) && call->args.fd) {
		/* The switch is done: S's name (and with it its gfid
		 * handle) is gone and the brick no longer answers for the
		 * copy this fd holds.  Find the target by gfid. */
		int subvols[DHT_MAX_SUBVOLS];
		int n = dht_up_subvols(call->xl, subvols);

		xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
					      .index = subvols,
					      .n = n,
					      .fill = dht_fill_gfid_lookup,
					      .done = dht_target_found});
		return;
	}
	if (r->ret >= 0 && r->data && r->data->size > 0 &&
	    r->data->size < sizeof(name)) {
		memcpy(name, r->data->data, r->data->size);
		name[r->data->size] = '\0';
		dst = dht_subvol_index(call->xl, name);
	}
	if (dst < 0 || dst == local->linkto_on) {
		/* The bits without a target: not a migration (a user's
		 * mode), or it just finished. */
		local->ret = 0;
		dht_repeat_finish(call);
		return;
	}
	local->linkto_target = dst;
	dht_repeat_target(call);
}

/* ---- an fd whose file finished migrating -------------------------------- */

/*
 * After step 4 of a migration (doc/cluster.md) S's copy has no name left
 * (nlink 0) and keeps the mark; an fd opened before still reaches it, so
 * a read would return S's data, which no longer changes (writes through
 * fds opened since go to D only).  The first read, fstat or change
 * through such an fd whose reply shows both moves the fd to the target
 * for good: the target is S's linkto xattr (or, when S no longer answers
 * for the copy, the child with a regular file of that gfid), it must be
 * the file now (no linkto xattr), the fd is opened there, becomes the
 * fd's child, and the fop is sent there.  When that cannot be done the
 * fop's own fallback runs (local->next: S's answer, or the repeat).
 */

static bool dht_migration_done(const struct xl_reply *r)
{
	return r->ret >= 0 && dht_is_migrated_copy(&r->attr);
}

/* Whether fd may still be moved (not known to have nowhere to go). */
static bool dht_fd_may_switch(struct xl *xl, struct xl_fd *fd)
{
	struct dht_fdctx *f = dht_fdctx(xl, fd, false);
	bool may;

	if (!f)
		return false;
	pthread_mutex_lock(&f->lock);
	may = !f->no_switch;
	pthread_mutex_unlock(&f->lock);
	return may;
}

/* The fd cannot be moved; for good (its file has no target: a user's
 * mode, a file removed while migrating) or for now. */
static void dht_switch_fail(struct xl_call *call, bool for_good)
{
	struct dht_local *local = dht_local(call);
	struct dht_fdctx *f = dht_fdctx(call->xl, call->args.fd, false);

	if (f && for_good) {
		pthread_mutex_lock(&f->lock);
		f->no_switch = true;
		pthread_mutex_unlock(&f->lock);
	}
	local->next(call);
}

static void dht_switch_resent(struct xl_call *call, struct xl_call *child,
			      void *cookie)
{
	(void)cookie;
	xl_reply_move(&call->reply, &child->reply);
	xl_unwind(call);
}

static void dht_switch_opened(struct xl_call *call, struct xl_call *child,
			      void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct dht_fdctx *f = dht_fdctx(call->xl, call->args.fd, false);
	struct dht_priv *priv = dht_priv(call->xl);
	char g[XL_GFID_STR_LEN];

	(void)cookie;
	if (child->reply.ret < 0 || !f) {
		dht_switch_fail(call, false);
		return;
	}
	pthread_mutex_lock(&f->lock);
	f->subvol = local->linkto_target;
	f->opened[local->linkto_target] = true;
	f->migrate_dst = -1;
	f->dst_open = false;
	pthread_mutex_unlock(&f->lock);
	xl_info(call->xl->name, "fd of %s follows its file from %s to %s",
		xl_gfid_to_str(call->args.fd->gfid, g),
		priv->subvols[local->linkto_on]->name,
		priv->subvols[local->linkto_target]->name);
	xl_reply_clear(&local->saved);
	dht_send(call, call->fop, local->linkto_target, dht_fill_repeat,
		 dht_switch_resent, NULL);
}

/* Open the fd on the target with its own access mode (opened again when
 * an earlier repeat opened it there: that copy may be an abandoned one). */
static int dht_fill_switch_open(struct xl_call *call, struct xl_call *child,
				int subvol, int k, void *cookie)
{
	(void)cookie;
	(void)subvol;
	(void)k;
	memcpy(child->args.loc.gfid, call->args.fd->gfid, XL_GFID_LEN);
	child->args.fd = xl_fd_ref(call->args.fd);
	child->args.flags =
	    call->args.fd->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
	return 0;
}

static void dht_switch_open(struct xl_call *call)
{
	dht_send(call, XL_FOP_OPEN, dht_local(call)->linkto_target,
		 dht_fill_switch_open, dht_switch_opened, NULL);
}

/* The target S's xattr names, looked up by gfid: the file now? */
static void dht_switch_checked(struct xl_call *call, struct xl_call *child,
			       void *cookie)
{
	struct xl_reply *r = &child->reply;

	(void)cookie;
	if (r->ret == 0 && S_ISREG(r->attr.mode) &&
	    !dht_is_linkto(&r->attr, r->xdata)) {
		dht_switch_open(call);
		return;
	}
	/* Still a linkto (S lost its names while being copied: removed,
	 * the migration is abandoned) or gone: S stays the file. */
	dht_switch_fail(call,
			r->ret == 0 || r->ret == -ENOENT || r->ret == -ESTALE);
}

static void dht_switch_found(struct xl_call *call, struct xl_call **children,
			     const int *subvols, int n, void *cookie)
{
	struct dht_local *local = dht_local(call);
	bool down = n < dht_priv(call->xl)->n;
	int dst = -1;

	(void)cookie;
	for (int k = 0; k < n && dst < 0; k++) {
		struct xl_reply *r = &children[k]->reply;

		if (r->ret == 0 && S_ISREG(r->attr.mode) &&
		    !dht_is_linkto(&r->attr, r->xdata) &&
		    subvols[k] != local->linkto_on)
			dst = subvols[k];
		else if (r->ret < 0 && r->ret != -ENOENT && r->ret != -ESTALE)
			down = true;
	}
	if (dst < 0) {
		dht_switch_fail(call, !down);
		return;
	}
	local->linkto_target = dst;
	dht_switch_open(call);
}

static void dht_switch_target(struct xl_call *call, struct xl_call *child,
			      void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct xl_reply *r = &child->reply;
	char name[256];
	int dst = -1;

	(void)cookie;
	if (r->ret == -ESTALE || r->ret == -ENOENT) {
		int subvols[DHT_MAX_SUBVOLS];
		int n = dht_up_subvols(call->xl, subvols);

		xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
					      .index = subvols,
					      .n = n,
					      .fill = dht_fill_gfid_lookup,
					      .done = dht_switch_found});
		return;
	}
	if (r->ret >= 0 && r->data && r->data->size > 0 &&
	    r->data->size < sizeof(name)) {
		memcpy(name, r->data->data, r->data->size);
		name[r->data->size] = '\0';
		dst = dht_subvol_index(call->xl, name);
	}
	if (dst < 0 || dst == local->linkto_on || !dht_is_up(call->xl, dst)) {
		/* No target named (a user's mode bits on a file with no name
		 * left): for good; a target that is down: for now. */
		dht_switch_fail(call, dst < 0 || dst == local->linkto_on);
		return;
	}
	local->linkto_target = dst;
	dht_send(call, XL_FOP_LOOKUP, dst, dht_fill_gfid_lookup,
		 dht_switch_checked, NULL);
}

/* The reply from child s (in local->saved) shows a finished migration:
 * move the fd (call->args.fd), then send the fop to the target; else
 * local->next. */
static void dht_fd_switch(struct xl_call *call, int s, dht_next_fn fallback)
{
	struct dht_local *local = dht_local(call);

	local->linkto_on = s;
	local->next = fallback;
	dht_send(call, XL_FOP_GETXATTR, s, dht_fill_linkto_get,
		 dht_switch_target, NULL);
}

/* Whether the reply of child s to call shows that call's fd should
 * follow its file to a migration target. */
static bool dht_fd_should_switch(struct xl_call *call, const struct xl_reply *r)
{
	return dht_local(call) && call->args.fd && !call->args.fd->is_dir &&
	       call->fop != XL_FOP_OPEN && dht_migration_done(r) &&
	       dht_fd_may_switch(call->xl, call->args.fd);
}

static void dht_answer_saved(struct xl_call *call)
{
	xl_reply_move(&call->reply, &dht_local(call)->saved);
	xl_unwind(call);
}

/* A fop through an fd answered by child s (cookie). */
static void dht_fd_follow_cbk(struct xl_call *call, struct xl_call *child,
			      void *cookie)
{
	if (!dht_fd_should_switch(call, &child->reply)) {
		xl_reply_move(&call->reply, &child->reply);
		xl_unwind(call);
		return;
	}
	xl_reply_move(&dht_local(call)->saved, &child->reply);
	dht_fd_switch(call, (int)(intptr_t)cookie, dht_answer_saved);
}

/* ---- changes during a migration ------------------------------------------ */

static void dht_repeat_start(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	local->ret = 0;
	/* The target is read again for every repeat, not taken from the
	 * fd: a run that was abandoned and a later one to another child
	 * would otherwise send the repeats to the first one's target. */
	dht_send(call, XL_FOP_GETXATTR, local->linkto_on, dht_fill_linkto_get,
		 dht_linkto_got, NULL);
}

/* A changing fop on child s answered (reply in child): repeat it on the
 * migration target when the reply shows one (or, when the migration is
 * over, move the fd there and send it there); else unwind it. */
static void dht_after_change(struct xl_call *call, struct xl_call *child, int s)
{
	struct dht_local *local = dht_local(call);

	if (!local || !dht_shows_migration(&child->reply)) {
		xl_reply_move(&call->reply, &child->reply);
		xl_unwind(call);
		return;
	}
	/* A change sent again to D must do nothing when D has it already
	 * (done on S before the copy's last read): not through an O_APPEND
	 * fd, which appends wherever it is told to write.  That one is
	 * repeated as during the copy, at its offset. */
	if (dht_fd_should_switch(call, &child->reply) &&
	    !(call->args.fd->flags & O_APPEND)) {
		xl_reply_move(&local->saved, &child->reply);
		dht_fd_switch(call, s, dht_repeat_start);
		return;
	}
	xl_reply_move(&local->saved, &child->reply);
	local->linkto_on = s;
	dht_repeat_start(call);
}

/* ---- files ----------------------------------------------------------- */

static void dht_inode_located(struct xl_call *call);

static bool dht_stale_retry(struct xl_call *call, const struct xl_reply *r,
			    dht_next_fn next)
{
	struct dht_local *local = dht_local(call);
	struct xl_inode *ref = NULL;
	struct dht_ictx *ctx;

	bool attr = r->ret >= 0 &&
		    (call->fop == XL_FOP_STAT || call->fop == XL_FOP_SETATTR ||
		     call->fop == XL_FOP_OPEN);

	/* The cached child no longer has it: gone (migrated), a copy with
	 * no name left that an fd keeps (by gfid it still answers), or what
	 * may be only a linkto of it there (a brick holds one object per
	 * gfid: after a migration or an exchange the linkto can have the
	 * gfid; the mode alone cannot tell, the lookup everywhere does). */
	if ((r->ret != -ENOENT && r->ret != -ESTALE &&
	     !(attr && (dht_is_migrated_copy(&r->attr) ||
			r->attr.mode == DHT_LINKTO_MODE))) ||
	    !local->located_cached || local->stale_retried)
		return false;
	local->stale_retried = 1;
	ctx = call->args.loc.inode
		  ? dht_ictx(call->xl, call->args.loc.inode, false)
		  : dht_ictx_by_gfid(call->xl, call->args.loc.gfid, &ref);
	if (ctx) {
		pthread_mutex_lock(&ctx->lock);
		ctx->cached = -1;
		pthread_mutex_unlock(&ctx->lock);
	}
	if (ref)
		xl_inode_unref(ref);
	dht_locate(call, call->args.loc.gfid, call->args.loc.inode, next);
	return true;
}

static void dht_file_cbk(struct xl_call *call, struct xl_call *child,
			 void *cookie)
{
	int s = (int)(intptr_t)cookie;

	if (dht_stale_retry(call, &child->reply, dht_inode_located))
		return;
	if (call->fop == XL_FOP_SETATTR && (call->args.valid & XL_SET_SIZE)) {
		dht_after_change(call, child, s);
		return;
	}
	if (dht_fd_should_switch(call, &child->reply)) {
		dht_fd_follow_cbk(call, child, cookie);
		return;
	}
	xl_reply_move(&call->reply, &child->reply);
	xl_unwind(call);
}

/* ---- directories ------------------------------------------------------- */

static void dht_dir_change_done(struct xl_call *call, struct xl_call **children,
				const int *subvols, int n, void *cookie)
{
	int ok = -1;
	bool stat = call->fop == XL_FOP_STAT;

	(void)cookie;
	(void)subvols;
	for (int k = 0; k < n; k++) {
		struct xl_reply *r = &children[k]->reply;

		if (r->ret < 0 && r->ret != -ENOENT && !stat) {
			xl_reply_move(&call->reply, r);
			xl_unwind(call);
			return;
		}
		if (r->ret < 0)
			continue;
		if (ok < 0) {
			ok = k;
			continue;
		}
		/* stat: the newest times of all copies */
		xl_iatt_merge_dir(&children[ok]->reply.attr, &r->attr);
	}
	if (ok < 0) {
		xl_reply_move(&call->reply, &children[0]->reply);
		if (n == 0)
			call->reply.ret = -ENOTCONN;
		xl_unwind(call);
		return;
	}
	xl_reply_move(&call->reply, &children[ok]->reply);
	xl_unwind(call);
}

static void dht_dir_fop(struct xl_call *call)
{
	int subvols[DHT_MAX_SUBVOLS];
	int n;

	if (dht_fop_changes(call->fop) || call->fop == XL_FOP_STAT) {
		dht_fan_up(call, call->fop, xl_fill_copy, dht_dir_change_done);
		return;
	}
	n = dht_up_subvols(call->xl, subvols);
	if (n == 0) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	xl_wind(call, dht_priv(call->xl)->subvols[subvols[0]], xl_default_cbk,
		NULL);
}

/* After dht_locate: wind the call to the file's child with cbk (cookie:
 * the child's index), or answer it (a directory: dir_err, or the
 * directory path when dir_err is 0). */
static void dht_wind_located(struct xl_call *call, xl_cbk_fn cbk, int dir_err)
{
	struct dht_local *local = dht_local(call);
	int s = local->located;

	if (s == -2 && !dir_err) {
		dht_dir_fop(call);
		return;
	}
	if (s == -2 || local->ret < 0 || s < 0) {
		xl_unwind_error(call, s == -2	       ? dir_err
				      : local->ret < 0 ? local->ret
						       : -ESTALE);
		return;
	}
	xl_wind(call, dht_priv(call->xl)->subvols[s], cbk, (void *)(intptr_t)s);
}

static void dht_inode_located(struct xl_call *call)
{
	dht_wind_located(call, dht_file_cbk, 0);
}

void dht_inode_fop(struct xl *xl, struct xl_call *call)
{
	struct dht_fdctx *f = dht_fdctx(xl, call->args.fd, false);

	if (!dht_local(call)) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (f && f->subvol >= 0) {
		dht_local(call)->located_cached = false;
		xl_wind(call, dht_priv(xl)->subvols[f->subvol], dht_file_cbk,
			(void *)(intptr_t)f->subvol);
		return;
	}
	if (call->args.fd && call->args.fd->is_dir) {
		dht_dir_fop(call);
		return;
	}
	dht_locate(call, call->args.loc.gfid, call->args.loc.inode,
		   dht_inode_located);
}

/* ---- open files ------------------------------------------------------ */

static void dht_open_located(struct xl_call *call);

static void dht_open_cbk(struct xl_call *call, struct xl_call *child,
			 void *cookie)
{
	int s = (int)(intptr_t)cookie;
	struct dht_fdctx *f;

	if (dht_stale_retry(call, &child->reply, dht_open_located))
		return;
	if (child->reply.ret >= 0) {
		f = dht_fdctx(call->xl, call->args.fd, true);
		if (!f) {
			xl_unwind_error(call, -ENOMEM);
			return;
		}
		pthread_mutex_lock(&f->lock);
		f->subvol = s;
		f->opened[s] = true;
		pthread_mutex_unlock(&f->lock);
		if (call->args.flags & O_TRUNC) {
			/* A truncating open of a file being migrated is
			 * repeated on the target like a truncate. */
			dht_after_change(call, child, s);
			return;
		}
	}
	xl_reply_move(&call->reply, &child->reply);
	xl_unwind(call);
}

static void dht_open_located(struct xl_call *call)
{
	dht_wind_located(call, dht_open_cbk, -EISDIR);
}

void dht_open(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	if (!dht_local(call)) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	dht_locate(call, call->args.loc.gfid, call->args.loc.inode,
		   dht_open_located);
}

static int dht_fd_subvol(struct xl *xl, struct xl_fd *fd)
{
	struct dht_fdctx *f = dht_fdctx(xl, fd, false);
	int s = -1;

	if (f) {
		pthread_mutex_lock(&f->lock);
		s = f->subvol;
		pthread_mutex_unlock(&f->lock);
	}
	return s;
}

static void dht_change_cbk(struct xl_call *call, struct xl_call *child,
			   void *cookie)
{
	dht_after_change(call, child, (int)(intptr_t)cookie);
}

static void dht_fsyncdir_done(struct xl_call *call, struct xl_call **children,
			      const int *subvols, int n, void *cookie)
{
	(void)cookie;
	(void)subvols;
	call->reply.ret = 0;
	for (int k = 0; k < n; k++)
		if (children[k]->reply.ret < 0)
			call->reply.ret = children[k]->reply.ret;
	xl_unwind(call);
}

void dht_fd_fop(struct xl *xl, struct xl_call *call)
{
	int s;

	if (call->args.fd && call->args.fd->is_dir) {
		int subvols[DHT_MAX_SUBVOLS];
		int n = dht_fd_subvols(xl, call->args.fd, subvols);

		xl_fan(call, &(struct xl_fan){.fop = call->fop,
					      .index = subvols,
					      .n = n,
					      .fill = xl_fill_copy,
					      .done = dht_fsyncdir_done});
		return;
	}
	s = dht_fd_subvol(xl, call->args.fd);
	if (s < 0) {
		xl_unwind_error(call, -EBADF);
		return;
	}
	if (call->fop == XL_FOP_FALLOCATE) {
		xl_wind(call, dht_priv(xl)->subvols[s], dht_change_cbk,
			(void *)(intptr_t)s);
		return;
	}
	if (call->fop == XL_FOP_READ) {
		xl_wind(call, dht_priv(xl)->subvols[s], dht_fd_follow_cbk,
			(void *)(intptr_t)s);
		return;
	}
	xl_wind(call, dht_priv(xl)->subvols[s], xl_default_cbk, NULL);
}

void dht_write(struct xl *xl, struct xl_call *call)
{
	int s = dht_fd_subvol(xl, call->args.fd);

	if (s < 0) {
		xl_unwind_error(call, -EBADF);
		return;
	}
	xl_wind(call, dht_priv(xl)->subvols[s], dht_change_cbk,
		(void *)(intptr_t)s);
}
