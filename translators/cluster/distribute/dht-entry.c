/*
 * dht-entry.c - cluster/distribute: fops that make, remove or rename
 * names.
 *
 * Files (create, mknod, symlink) go to the child their name hashes to in
 * the parent's layout.  When that child has less free space than
 * min-free-disk the file goes to the live child with the most, and a
 * linkto file (doc/cluster.md) on the hashed child points at it.  A
 * create whose hashed child is down fails with ENOTCONN: the linkto that
 * would let other clients find the file cannot be written there.
 *
 * A directory is made on the hashed child first (so EEXIST is decided
 * once), then on every other live child in parallel with the same gfid,
 * then its layout is written on all of them.  rmdir removes it everywhere
 * after checking that no child holds anything but linkto files (which it
 * removes); it needs every child up.  A file renamed to a name that
 * hashes elsewhere stays where its data is; a linkto is left on the new
 * hashed child.  rename with RENAME_EXCHANGE is in dht-exchange.c.
 */
#include "config.h"

#include "dht.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int dht_fill_loc(struct xl_call *call, struct xl_call *child, int subvol,
			int k, void *cookie)
{
	(void)cookie;
	(void)subvol;
	(void)k;
	return xl_loc_copy(&child->args.loc, &call->args.loc);
}

static int dht_fill_loc2(struct xl_call *call, struct xl_call *child,
			 int subvol, int k, void *cookie)
{
	(void)cookie;
	(void)subvol;
	(void)k;
	return xl_loc_copy(&child->args.loc, &call->args.loc2);
}

/* ---- linkto files -------------------------------------------------------- */

/* The linkto file is made with its xattr (posix sets the internal xattrs
 * of a mknod's xdata before its final stat): it is never seen without
 * the xattr that tells it from a user's file of the same mode. */
static int dht_fill_linkto_mknod(struct xl_call *call, struct xl_call *child,
				 int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);
	const char *name =
	    dht_priv(call->xl)->subvols[local->linkto_target]->name;
	int ret;

	(void)cookie;
	(void)subvol;
	(void)k;
	ret = xl_loc_copy(&child->args.loc, local->linkto_loc);
	memcpy(child->args.loc.gfid, local->linkto_gfid, XL_GFID_LEN);
	child->args.mode = DHT_LINKTO_MODE;
	child->args.umask = 0;
	if (ret < 0)
		return ret;
	if (child->args.xdata)
		xl_dict_unref(child->args.xdata);
	child->args.xdata = xl_dict_new();
	if (!child->args.xdata)
		return -ENOMEM;
	ret = xl_dict_set(child->args.xdata, DHT_XATTR_LINKTO, name,
			  (uint32_t)strlen(name) + 1);
	return ret < 0 ? ret : dht_set_internal(&child->args.xdata);
}

static int dht_fill_linkto_name(struct xl_call *call, struct xl_call *child,
				int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	(void)subvol;
	(void)k;
	return xl_loc_copy(&child->args.loc, local->linkto_loc);
}

static void dht_linkto_mknod_cbk(struct xl_call *call, struct xl_call *child,
				 void *cookie);

static void dht_linkto_stale_gone(struct xl_call *call, struct xl_call *child,
				  void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)child;
	(void)cookie;
	/* Once more: the gfid may still be taken there by another name's
	 * linkto (linked to then, below). */
	local->linkto_retried = false;
	local->linkto_tries++;
	dht_send(call, XL_FOP_MKNOD, local->linkto_on, dht_fill_linkto_mknod,
		 dht_linkto_mknod_cbk, NULL);
}

static int dht_fill_linkto_link(struct xl_call *call, struct xl_call *child,
				int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	(void)subvol;
	(void)k;
	memcpy(child->args.loc.gfid, local->linkto_gfid, XL_GFID_LEN);
	return xl_loc_copy(&child->args.loc2, local->linkto_loc);
}

static void dht_linkto_linked(struct xl_call *call, struct xl_call *child,
			      void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	local->ret = child->reply.ret < 0 ? child->reply.ret : 0;
	local->knext(call);
}

static void dht_linkto_exists_cbk(struct xl_call *call, struct xl_call *child,
				  void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct xl_reply *r = &child->reply;

	(void)cookie;
	if (r->ret == 0 && dht_is_linkto(&r->attr, r->xdata) &&
	    local->linkto_tries < 2) {
		/* A stale linkto in the way: replace it. */
		dht_send(call, XL_FOP_UNLINK, local->linkto_on,
			 dht_fill_linkto_name, dht_linkto_stale_gone, NULL);
		return;
	}
	if (r->ret == -ENOENT) {
		/* The name is free: the gfid is taken there, by the linkto
		 * of another name of the same file (hard links; a brick
		 * holds one object per gfid).  This name becomes a name of
		 * that linkto too. */
		dht_send(call, XL_FOP_LINK, local->linkto_on,
			 dht_fill_linkto_link, dht_linkto_linked, NULL);
		return;
	}
	local->ret = -EEXIST;
	local->knext(call);
}

static int dht_fill_linkto_lookup(struct xl_call *call, struct xl_call *child,
				  int subvol, int k, void *cookie)
{
	int ret = dht_fill_linkto_name(call, child, subvol, k, cookie);

	dht_xattr_req_add(child);
	return ret;
}

static void dht_linkto_mknod_cbk(struct xl_call *call, struct xl_call *child,
				 void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	if (child->reply.ret == -EEXIST && !local->linkto_retried) {
		local->linkto_retried = true;
		dht_send(call, XL_FOP_LOOKUP, local->linkto_on,
			 dht_fill_linkto_lookup, dht_linkto_exists_cbk, NULL);
		return;
	}
	local->ret = child->reply.ret < 0 ? child->reply.ret : 0;
	local->knext(call);
}

void dht_linkto_make(struct xl_call *call, int on, const struct xl_loc *loc,
		     const uint8_t *gfid, int target, dht_next_fn next)
{
	struct dht_local *local = dht_local(call);

	local->knext = next;
	local->linkto_on = on;
	local->linkto_target = target;
	local->linkto_loc = loc;
	local->linkto_retried = false;
	local->linkto_tries = 0;
	memcpy(local->linkto_gfid, gfid, XL_GFID_LEN);
	dht_send(call, XL_FOP_MKNOD, on, dht_fill_linkto_mknod,
		 dht_linkto_mknod_cbk, NULL);
}

/* ---- create, mknod, symlink ------------------------------------------ */

/* Whether child i keeps min-free-disk after the last statfs; *avail is
 * its free bytes. */
static bool dht_space_ok(struct dht_priv *priv, int i, uint64_t *avail)
{
	const struct xl_statfs *s = &priv->sfs[i];
	uint64_t unit = s->frsize ? s->frsize : s->bsize;
	uint64_t total = s->blocks * unit;

	*avail = s->bavail * unit;
	if (total == 0)
		return true; /* never read: do not judge */
	if (priv->min_free_bytes)
		return *avail >= (uint64_t)priv->min_free_bytes;
	return *avail * 100 >= total * (uint64_t)priv->min_free_percent;
}

static void dht_newfile_cbk(struct xl_call *call, struct xl_call *child,
			    void *cookie)
{
	struct dht_local *local = dht_local(call);
	int target = (int)(intptr_t)cookie;

	if (child->reply.ret >= 0) {
		struct xl_inode *inode = NULL;

		if (call->xl->graph && call->xl->graph->itable)
			inode = xl_inode_get(call->xl->graph->itable,
					     child->reply.attr.gfid);
		if (inode) {
			if (local->hold)
				xl_inode_unref(local->hold);
			local->hold = inode;
		}
		dht_ictx_set_file(call->xl, &call->args.loc, &child->reply.attr,
				  target);
		if (call->fop == XL_FOP_CREATE && call->args.fd) {
			struct dht_fdctx *f =
			    dht_fdctx(call->xl, call->args.fd, true);

			if (f) {
				pthread_mutex_lock(&f->lock);
				f->subvol = target;
				f->opened[target] = true;
				pthread_mutex_unlock(&f->lock);
			}
		}
	} else if (local->w.linkto_at >= 0) {
		/* The data file failed: take the linkto back. */
		dht_send(call, XL_FOP_UNLINK, local->w.linkto_at, dht_fill_loc,
			 dht_ignore_cbk, NULL);
	}
	xl_reply_move(&call->reply, &child->reply);
	xl_unwind(call);
}

static void dht_newfile_wind(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);

	if (local->ret < 0) {
		xl_unwind_error(call, local->ret);
		return;
	}
	xl_wind(call, priv->subvols[local->new_on], dht_newfile_cbk,
		(void *)(intptr_t)local->new_on);
}

static void dht_newfile_linkto_done(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (local->ret == 0)
		local->w.linkto_at = local->linkto_on;
	else
		local->w.linkto_at = -1;
	dht_newfile_wind(call);
}

static void dht_newfile_space(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);
	int h = local->w.hashed, best = -1;
	uint64_t avail, best_avail = 0, h_avail = 0;

	pthread_mutex_lock(&priv->lock);
	if (!dht_space_ok(priv, h, &h_avail)) {
		for (int i = 0; i < priv->n; i++) {
			if (i == h || !priv->up[i] ||
			    !dht_space_ok(priv, i, &avail))
				continue;
			if (best < 0 || avail > best_avail) {
				best = i;
				best_avail = avail;
			}
		}
	}
	if (best >= 0)
		priv->linkto_creates++;
	pthread_mutex_unlock(&priv->lock);
	local->ret = 0;
	if (best < 0) {
		local->new_on = h;
		dht_newfile_wind(call);
		return;
	}
	xl_debug(call->xl->name, "%s: %s is short of space, placed on %s",
		 call->args.loc.name, priv->subvols[h]->name,
		 priv->subvols[best]->name);
	local->new_on = best;
	dht_linkto_make(call, h, &call->args.loc, call->args.loc.gfid, best,
			dht_newfile_linkto_done);
}

static void dht_newfile_placed(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);
	int subvols[DHT_MAX_SUBVOLS];
	int h;

	if (local->ret < 0) {
		xl_unwind_error(call, local->ret);
		return;
	}
	h = dht_hashed_subvol(call->xl, &call->args.loc);
	if (h < 0 || !dht_is_up(call->xl, h)) {
		/* A hole is a child that was down when the layout was
		 * read; a layout with a hole while all are up is broken. */
		xl_unwind_error(
		    call, h < 0 && dht_up_subvols(call->xl, subvols) == priv->n
			      ? -EIO
			      : -ENOTCONN);
		return;
	}
	memset(&local->w, 0, sizeof(local->w));
	local->w.hashed = h;
	local->w.linkto_at = -1;
	local->new_on = h;
	if (xl_gfid_is_null(call->args.loc.gfid))
		xl_gfid_generate(call->args.loc.gfid);
	if (priv->min_free_bytes == 0 && priv->min_free_percent == 0) {
		dht_newfile_wind(call);
		return;
	}
	{
		uint64_t avail, want;
		bool near;

		/* Close to the limit: read it for every create, so a burst
		 * of creates cannot overshoot it by a second's worth. */
		pthread_mutex_lock(&priv->lock);
		dht_space_ok(priv, h, &avail);
		want = priv->min_free_bytes;
		if (!want) {
			const struct xl_statfs *s = &priv->sfs[h];
			want = s->blocks * (s->frsize ? s->frsize : s->bsize) *
			       (uint64_t)priv->min_free_percent / 100;
		}
		near = avail < 2 * want;
		pthread_mutex_unlock(&priv->lock);
		dht_statfs_refresh(call, near, dht_newfile_space);
	}
}

/* A fop that makes a new name: the parent's layout first, then next. */
static void dht_new_name(struct xl_call *call, dht_next_fn next)
{
	struct xl_loc *loc = &call->args.loc;

	if (!dht_local(call)) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (!loc->name) {
		xl_unwind_error(call, -EINVAL);
		return;
	}
	dht_layout_get(call, loc->pargfid, loc->parent, next);
}

static void dht_newfile(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	dht_new_name(call, dht_newfile_placed);
}

void dht_create(struct xl *xl, struct xl_call *call)
{
	dht_newfile(xl, call);
}

void dht_mknod(struct xl *xl, struct xl_call *call)
{
	dht_newfile(xl, call);
}

void dht_symlink(struct xl *xl, struct xl_call *call)
{
	dht_newfile(xl, call);
}

/* ---- mkdir ------------------------------------------------------------- */

/*
 * The layout is decided before the directory exists, over the children
 * that are up, and travels in each child's mkdir (posix sets it before
 * the directory's final stat, doc/cluster.md): the attributes mkdir
 * answers, merged over the copies as stat merges them, are the ones the
 * directory keeps, and no setxattr round trip follows.  The hashed child
 * goes first (it decides EEXIST).  When another child fails, the layout
 * is decided again over the children that have the directory and written
 * with setxattr, as a repair would.
 */

static void dht_mkdir_layout_done(struct xl_call *call,
				  struct xl_call **children, const int *subvols,
				  int n, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	dht_layout_set_failed(call, children, subvols, n, "mkdir");
	dht_layout_cache(call->xl, call, local->attr.gfid, true);
	xl_reply_move(&call->reply, &local->saved);
	xl_unwind(call);
}

static void dht_mkdir_others_done(struct xl_call *call,
				  struct xl_call **children, const int *subvols,
				  int n, void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);
	int on[DHT_MAX_SUBVOLS], non = 0;
	bool all = true;

	(void)cookie;
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret == 0)
			xl_iatt_merge_dir(&local->saved.attr,
					  &children[k]->reply.attr);
		else
			all = local->dir_on[subvols[k]] = false;
	}
	if (all) {
		dht_layout_cache(call->xl, call, local->attr.gfid, true);
		xl_reply_move(&call->reply, &local->saved);
		xl_unwind(call);
		return;
	}
	dht_layout_assign(local->ranges, priv->n, local->dir_on,
			  (uint32_t)dht_now_ms());
	for (int i = 0; i < priv->n; i++) {
		if (local->dir_on[i])
			on[non++] = i;
		else
			local->ranges[i].present = false;
	}
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_SETXATTR,
				      .index = on,
				      .n = non,
				      .fill = dht_fill_layout_set,
				      .done = dht_mkdir_layout_done});
}

/* A child's mkdir: the parent's args with this child's range of the new
 * layout as an internal xattr to set at creation. */
static int dht_fill_mkdir(struct xl_call *call, struct xl_call *child,
			  int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);
	uint8_t buf[DHT_LAYOUT_XATTR_LEN];
	struct xl_dict *d;
	int ret = xl_fill_copy(call, child, subvol, k, cookie);

	if (ret < 0)
		return ret;
	if (!xl_gfid_is_null(local->attr.gfid))
		memcpy(child->args.loc.gfid, local->attr.gfid, XL_GFID_LEN);
	/* the child's xdata is shared with the parent: edit a copy */
	d = child->args.xdata ? xl_dict_copy(child->args.xdata) : xl_dict_new();
	if (child->args.xdata)
		xl_dict_unref(child->args.xdata);
	child->args.xdata = d;
	if (!d)
		return -ENOMEM;
	dht_range_encode(&local->ranges[subvol], buf);
	ret = xl_dict_set(d, DHT_XATTR_LAYOUT, buf, sizeof(buf));
	return ret < 0 ? ret : dht_set_internal(&child->args.xdata);
}

static void dht_mkdir_hashed_done(struct xl_call *call,
				  struct xl_call **children, const int *subvols,
				  int n, void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);
	int others[DHT_MAX_SUBVOLS], no = 0;

	(void)cookie;
	if (n == 0 || children[0]->reply.ret < 0) {
		if (n == 0)
			call->reply.ret = -ENOTCONN;
		else
			xl_reply_move(&call->reply, &children[0]->reply);
		xl_unwind(call);
		return;
	}
	local->attr = children[0]->reply.attr;
	xl_reply_move(&local->saved, &children[0]->reply);
	for (int i = 0; i < priv->n; i++)
		if (local->dir_on[i] && i != subvols[0])
			others[no++] = i;
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_MKDIR,
				      .index = others,
				      .n = no,
				      .fill = dht_fill_mkdir,
				      .done = dht_mkdir_others_done});
}

static void dht_mkdir_placed(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);
	int h, up[DHT_MAX_SUBVOLS], nup;

	if (local->ret < 0) {
		xl_unwind_error(call, local->ret);
		return;
	}
	h = dht_hashed_subvol(call->xl, &call->args.loc);
	if (h < 0 || !dht_is_up(call->xl, h)) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	/* The arrays may hold the parent's layout (dht_layout_get): reused,
	 * not allocated again. */
	if (dht_local_arrays(local, priv->n) < 0) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	nup = dht_up_subvols(call->xl, up);
	for (int k = 0; k < nup; k++)
		local->dir_on[up[k]] = true;
	local->dir_on[h] = true;
	if (dht_layout_assign(local->ranges, priv->n, local->dir_on,
			      (uint32_t)dht_now_ms()) < 0) {
		xl_unwind_error(call, -EINVAL);
		return;
	}
	if (xl_gfid_is_null(call->args.loc.gfid))
		xl_gfid_generate(call->args.loc.gfid);
	memset(local->attr.gfid, 0, XL_GFID_LEN);
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_MKDIR,
				      .index = &h,
				      .n = 1,
				      .fill = dht_fill_mkdir,
				      .done = dht_mkdir_hashed_done});
}

void dht_mkdir(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	dht_new_name(call, dht_mkdir_placed);
}

/* ---- unlink -------------------------------------------------------------- */

static void dht_unlink_linkto_cbk(struct xl_call *call, struct xl_call *child,
				  void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	if (child->reply.ret < 0 && child->reply.ret != -ENOENT)
		xl_warn(call->xl->name,
			"unlink %s: linkto on %s stays: errno=%d",
			call->args.loc.name,
			dht_priv(call->xl)->subvols[local->w.linkto_at]->name,
			-child->reply.ret);
	xl_reply_move(&call->reply, &local->saved);
	xl_unwind(call);
}

static void dht_unlink_data_cbk(struct xl_call *call, struct xl_call *child,
				void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	if (child->reply.ret < 0 || local->w.linkto_at < 0 ||
	    local->w.linkto_at == local->w.cached) {
		xl_reply_move(&call->reply, &child->reply);
		xl_unwind(call);
		return;
	}
	xl_reply_move(&local->saved, &child->reply);
	dht_send(call, XL_FOP_UNLINK, local->w.linkto_at, xl_fill_copy,
		 dht_unlink_linkto_cbk, NULL);
}

static void dht_unlink_resolved(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (!local->w.found) {
		xl_unwind_error(call, local->w.ret ? local->w.ret : -ENOENT);
		return;
	}
	if (local->w.is_dir) {
		xl_unwind_error(call, -EISDIR);
		return;
	}
	dht_send(call, XL_FOP_UNLINK, local->w.cached, xl_fill_copy,
		 dht_unlink_data_cbk, NULL);
}

/* A fop on an existing name (args.loc): find it into local->w, then next. */
static void dht_old_name(struct xl_call *call, dht_next_fn next)
{
	struct dht_local *local = dht_local(call);

	if (!local) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	dht_resolve(call, &call->args.loc, &local->w, next);
}

void dht_unlink(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	dht_old_name(call, dht_unlink_resolved);
}

/* ---- rmdir ----------------------------------------------------------- */

static void dht_rmdir_done(struct xl_call *call, struct xl_call **children,
			   const int *subvols, int n, void *cookie)
{
	int ret = -ENOENT, first_ok = -1;

	(void)cookie;
	(void)subvols;
	for (int k = 0; k < n; k++) {
		int r = children[k]->reply.ret;

		if (r == 0 && first_ok < 0)
			first_ok = k;
		if (r < 0 && r != -ENOENT) {
			ret = r;
			break;
		}
		if (r == 0)
			ret = 0;
	}
	if (ret < 0) {
		xl_warn(call->xl->name, "rmdir %s: errno=%d",
			call->args.loc.name, -ret);
		xl_unwind_error(call, ret);
		return;
	}
	xl_reply_move(&call->reply, &children[first_ok]->reply);
	xl_unwind(call);
}

static void dht_rmdir_all(struct xl_call *call)
{
	dht_fan_up(call, XL_FOP_RMDIR, xl_fill_copy, dht_rmdir_done);
}

static void dht_rmdir_cleaned(struct xl_call *call, struct xl_call **children,
			      const int *subvols, int n, void *cookie)
{
	(void)cookie;
	(void)children;
	(void)subvols;
	(void)n;
	dht_local(call)->rmnext(call);
}

static int dht_fill_rmdir_linkto(struct xl_call *call, struct xl_call *child,
				 int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	(void)subvol;
	memcpy(child->args.loc.pargfid, local->rmw->attr.gfid, XL_GFID_LEN);
	child->args.loc.name = strdup(local->names[k]);
	return child->args.loc.name ? 0 : -ENOMEM;
}

static int dht_rmdir_note(struct dht_local *local, int subvol, const char *name)
{
	char **names = xl_realloc(local->xl, local->names,
				  (size_t)(local->nnames + 1) * sizeof(char *));
	int *sv;

	if (!names)
		return -ENOMEM;
	local->names = names;
	sv = xl_realloc(local->xl, local->name_sv,
			(size_t)(local->nnames + 1) * sizeof(int));
	if (!sv)
		return -ENOMEM;
	local->name_sv = sv;
	if (!(names[local->nnames] = xl_strdup(local->xl, name)))
		return -ENOMEM;
	sv[local->nnames++] = subvol;
	return 0;
}

static int dht_fill_rmdir_release(struct xl_call *call, struct xl_call *child,
				  int subvol, int k, void *cookie)
{
	(void)subvol;
	(void)k;
	(void)cookie;
	child->args.fd = xl_fd_ref(dht_local(call)->fd);
	return 0;
}

static void dht_rmdir_listed(struct xl_call *call, struct xl_call **children,
			     const int *subvols, int n, void *cookie)
{
	struct dht_local *local = dht_local(call);
	int ret = 0;

	(void)cookie;
	for (int k = 0; k < n && ret == 0; k++) {
		struct xl_reply *r = &children[k]->reply;

		if (r->ret < 0) {
			ret = r->ret == -ENOENT ? 0 : r->ret;
			continue;
		}
		uint32_t cursor = 0;

		for (uint32_t i = 0; i < r->entry_count && ret == 0; i++) {
			const struct xl_dirent *d = &r->entries[i];

			if (!d->name || !strcmp(d->name, ".") ||
			    !strcmp(d->name, ".."))
				continue;
			if (dht_dirent_is_linkto(d, r->xdata, &cursor))
				ret =
				    dht_rmdir_note(local, subvols[k], d->name);
			else
				ret = -ENOTEMPTY;
		}
	}
	/* The bricks keep a directory open until they are told: dropping
	 * our ref only forgets protocol/client's slot. */
	for (int k = 0; k < n; k++)
		dht_send(call, XL_FOP_RELEASEDIR, subvols[k],
			 dht_fill_rmdir_release, dht_ignore_cbk, NULL);
	xl_fd_unref(local->fd);
	local->fd = NULL;
	if (ret < 0) {
		xl_unwind_error(call, ret);
		return;
	}
	if (local->nnames == 0) {
		local->rmnext(call);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_UNLINK,
				      .index = local->name_sv,
				      .n = local->nnames,
				      .fill = dht_fill_rmdir_linkto,
				      .done = dht_rmdir_cleaned});
}

static int dht_fill_rmdir_read(struct xl_call *call, struct xl_call *child,
			       int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	(void)subvol;
	(void)k;
	memcpy(child->args.loc.gfid, local->rmw->attr.gfid, XL_GFID_LEN);
	child->args.fd = xl_fd_ref(local->fd);
	child->args.offset = 0;
	child->args.size = 128 * 1024;
	return child->fop == XL_FOP_READDIRPLUS ? dht_readdirp_req(child) : 0;
}

static void dht_rmdir_opened(struct xl_call *call, struct xl_call **children,
			     const int *subvols, int n, void *cookie)
{
	int ok[DHT_MAX_SUBVOLS], nok = 0;

	(void)cookie;
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret == 0)
			ok[nok++] = subvols[k];
		else if (children[k]->reply.ret != -ENOENT) {
			xl_unwind_error(call, children[k]->reply.ret);
			return;
		}
	}
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_READDIRPLUS,
				      .index = ok,
				      .n = nok,
				      .fill = dht_fill_rmdir_read,
				      .done = dht_rmdir_listed});
}

/* ENOTEMPTY unless the directory local->rmw holds no more than linkto
 * files on every child; those are removed, then local->rmnext runs.  Every
 * child must be up. */
static void dht_dir_check_empty(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);
	int subvols[DHT_MAX_SUBVOLS], n;

	n = dht_up_subvols(call->xl, subvols);
	if (n < priv->n) {
		/* Removing it from the live children only would bring it
		 * back from the down one later. */
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	local->fd = xl_fd_new(call->xl->graph, local->rmw->attr.gfid, NULL,
			      O_RDONLY, true);
	if (!local->fd) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_OPENDIR,
				      .index = subvols,
				      .n = n,
				      .fill = dht_fill_rmdir_read,
				      .done = dht_rmdir_opened});
}

static void dht_rmdir_resolved(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (!local->w.found) {
		xl_unwind_error(call, local->w.ret ? local->w.ret : -ENOENT);
		return;
	}
	if (!local->w.is_dir) {
		xl_unwind_error(call, -ENOTDIR);
		return;
	}
	local->rmw = &local->w;
	local->rmnext = dht_rmdir_all;
	dht_dir_check_empty(call);
}

void dht_rmdir(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	dht_old_name(call, dht_rmdir_resolved);
}

/* ---- rename ------------------------------------------------------------ */

static void dht_rename_finish(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	dht_ictx_set_file(call->xl, &call->args.loc, &local->w.attr,
			  local->w.cached);
	xl_reply_move(&call->reply, &local->saved);
	xl_unwind(call);
}

static void dht_rename_old_linkto_cbk(struct xl_call *call,
				      struct xl_call *child, void *cookie)
{
	(void)child;
	(void)cookie;
	dht_rename_finish(call);
}

/* D: the old name's linkto goes. */
static void dht_rename_step_old(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (local->ret < 0)
		xl_warn(call->xl->name,
			"rename %s -> %s: linkto not made: "
			"errno=%d",
			call->args.loc.name, call->args.loc2.name, -local->ret);
	if (local->w.linkto_at >= 0 && local->w.linkto_at != local->w.cached) {
		dht_send(call, XL_FOP_UNLINK, local->w.linkto_at, dht_fill_loc,
			 dht_rename_old_linkto_cbk, NULL);
		return;
	}
	dht_rename_finish(call);
}

static void dht_rename_new_cleared(struct xl_call *call, struct xl_call *child,
				   void *cookie)
{
	struct dht_local *local = dht_local(call);
	int hd = local->w2.hashed, c = local->w.cached;

	(void)child;
	(void)cookie;
	local->ret = 0;
	if (hd >= 0 && hd != c && dht_is_up(call->xl, hd)) {
		dht_linkto_make(call, hd, &call->args.loc2, local->w.attr.gfid,
				c, dht_rename_step_old);
		return;
	}
	dht_rename_step_old(call);
}

/* C: the new name gets a linkto on its hashed child when the data is
 * elsewhere; an old linkto for the new name is removed first. */
static void dht_rename_data_cbk(struct xl_call *call, struct xl_call *child,
				void *cookie)
{
	struct dht_local *local = dht_local(call);
	int l2 = local->w2.linkto_at;

	(void)cookie;
	if (child->reply.ret < 0) {
		xl_reply_move(&call->reply, &child->reply);
		xl_unwind(call);
		return;
	}
	xl_reply_move(&local->saved, &child->reply);
	if (l2 >= 0 && l2 != local->w.cached) {
		dht_send(call, XL_FOP_UNLINK, l2, dht_fill_loc2,
			 dht_rename_new_cleared, NULL);
		return;
	}
	dht_rename_new_cleared(call, NULL, NULL);
}

/* B: rename where the data is. */
static void dht_rename_data(struct xl_call *call, struct xl_call *child,
			    void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)child;
	(void)cookie;
	dht_send(call, XL_FOP_RENAME, local->w.cached, xl_fill_copy,
		 dht_rename_data_cbk, NULL);
}

static void dht_rename_dir_done(struct xl_call *call, struct xl_call **children,
				const int *subvols, int n, void *cookie)
{
	int ok = -1;

	(void)cookie;
	(void)subvols;
	for (int k = 0; k < n; k++) {
		int r = children[k]->reply.ret;

		if (r < 0 && r != -ENOENT) {
			xl_unwind_error(call, r);
			return;
		}
		if (r == 0 && ok < 0)
			ok = k;
	}
	if (ok < 0) {
		xl_unwind_error(call, -ENOENT);
		return;
	}
	xl_reply_move(&call->reply, &children[ok]->reply);
	xl_unwind(call);
}

/* A directory renamed on every child at once. */
static void dht_rename_dir_all(struct xl_call *call)
{
	int subvols[DHT_MAX_SUBVOLS], n;

	n = dht_up_subvols(call->xl, subvols);
	if (n < dht_priv(call->xl)->n) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_RENAME,
				      .index = subvols,
				      .n = n,
				      .fill = xl_fill_copy,
				      .done = dht_rename_dir_done});
}

static void dht_rename_resolved2(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_where *w = &local->w, *w2 = &local->w2;

	if ((call->args.flags & RENAME_NOREPLACE) && w2->found) {
		xl_unwind_error(call, -EEXIST);
		return;
	}
	if (w->is_dir && w2->found && w2->is_dir &&
	    memcmp(w->attr.gfid, w2->attr.gfid, XL_GFID_LEN) != 0) {
		/* Over a directory: each child would judge emptiness by its
		 * own part of it, and some would replace it while others
		 * fail with ENOTEMPTY. */
		local->rmw = w2;
		local->rmnext = dht_rename_dir_all;
		dht_dir_check_empty(call);
		return;
	}
	if (w->is_dir) {
		dht_rename_dir_all(call);
		return;
	}
	if (!dht_is_up(call->xl, w->cached)) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	/* A: a file the new name replaces, whose data is elsewhere. */
	if (w2->found && !w2->is_dir && w2->cached != w->cached &&
	    memcmp(w2->attr.gfid, w->attr.gfid, XL_GFID_LEN) != 0) {
		if (w2->linkto_at == w->cached)
			w2->linkto_at = -1; /* the rename replaces it */
		dht_send(call, XL_FOP_UNLINK, w2->cached, dht_fill_loc2,
			 dht_rename_data, NULL);
		return;
	}
	if (w2->linkto_at == w->cached)
		w2->linkto_at = -1;
	dht_rename_data(call, NULL, NULL);
}

static void dht_rename_resolved1(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (!local->w.found) {
		xl_unwind_error(call, local->w.ret ? local->w.ret : -ENOENT);
		return;
	}
	dht_resolve(call, &call->args.loc2, &local->w2, dht_rename_resolved2);
}

void dht_rename(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	if (dht_rename_is_resume(call)) {
		dht_rename_resume(call);
		return;
	}
	if (!call->args.loc.name || !call->args.loc2.name ||
	    (call->args.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    (call->args.flags & RENAME_NOREPLACE &&
	     call->args.flags & RENAME_EXCHANGE)) {
		xl_unwind_error(call, -EINVAL);
		return;
	}
	if (call->args.flags & RENAME_EXCHANGE) {
		dht_exchange(call); /* dht-exchange.c */
		return;
	}
	dht_old_name(call, dht_rename_resolved1);
}

/* ---- link ------------------------------------------------------------ */

static void dht_link_linkto_done(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	xl_reply_move(&call->reply, &local->saved);
	xl_unwind(call);
}

static void dht_link_cbk(struct xl_call *call, struct xl_call *child,
			 void *cookie)
{
	struct dht_local *local = dht_local(call);
	int hd = dht_hashed_subvol(call->xl, &call->args.loc2);

	(void)cookie;
	if (child->reply.ret < 0 || hd < 0 || hd == local->link_on ||
	    !dht_is_up(call->xl, hd)) {
		xl_reply_move(&call->reply, &child->reply);
		xl_unwind(call);
		return;
	}
	xl_reply_move(&local->saved, &child->reply);
	dht_linkto_make(call, hd, &call->args.loc2, local->saved.attr.gfid,
			local->link_on, dht_link_linkto_done);
}

static void dht_link_placed(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (local->ret < 0) {
		xl_unwind_error(call, local->ret);
		return;
	}
	dht_send(call, XL_FOP_LINK, local->link_on, xl_fill_copy, dht_link_cbk,
		 NULL);
}

static void dht_link_located(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	int target = local->located;

	if (local->ret < 0 || target == -1) {
		xl_unwind_error(call, local->ret < 0 ? local->ret : -ESTALE);
		return;
	}
	if (target == -2) {
		xl_unwind_error(call, -EPERM); /* a directory */
		return;
	}
	local->link_on = target; /* the link is made where the file is */
	dht_layout_get(call, call->args.loc2.pargfid, call->args.loc2.parent,
		       dht_link_placed);
}

void dht_link(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	if (!dht_local(call)) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	dht_locate(call, call->args.loc.gfid, call->args.loc.inode,
		   dht_link_located);
}
