/*
 * dht-lookup.c - cluster/distribute: finding names and directories.
 *
 * A name is looked up on the child it hashes to in its parent's layout.
 * A linkto file there sends the lookup to the child it names.  A name the
 * hashed child does not have is looked up on every child once (a file
 * placed by hand, a stale layout, a rename in progress).  A directory is
 * looked up on every child, with its layout xattr (mortar.xattr-req);
 * copies missing on a child are made there (same gfid) and a layout with
 * a missing range, a hole or an overlap is written again, under an
 * inodelk in the domain "distribute.layout" on the first child.  Nothing
 * is repaired while a child is down: the layout of the live children is
 * used as it is.
 *
 * Directory layouts are cached in the inode ctx and read again after
 * layout-refresh-timeout seconds.
 */
#include "config.h"

#include "dht.h"

#include "graph.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static const char dht_xattr_req[] =
    DHT_XATTR_LAYOUT "\0" DHT_XATTR_LINKTO "\0" DHT_XATTR_EXCHANGE;

/* Ask the brick to return the layout and linkto xattrs with a lookup,
 * after the names a translator above asked for (they pass through).  The
 * child's xdata may be shared with its parent: copy before editing. */
void dht_xattr_req_add(struct xl_call *child)
{
	struct xl_dict *d =
	    child->args.xdata ? xl_dict_copy(child->args.xdata) : xl_dict_new();
	const struct xl_dict_pair *above;
	char *names;
	uint32_t len;

	if (!d)
		return;
	if (child->args.xdata)
		xl_dict_unref(child->args.xdata);
	child->args.xdata = d;
	above = xl_dict_get(d, XL_KEY_XATTR_REQ);
	if (!above || above->len == 0) {
		xl_dict_set(d, XL_KEY_XATTR_REQ, dht_xattr_req,
			    sizeof(dht_xattr_req));
		return;
	}
	/* "a\0b\0" + ours; the parent's list may lack its final NUL */
	len = above->len + 1 + (uint32_t)sizeof(dht_xattr_req);
	names = xl_malloc(child->parent->xl, len);
	if (!names)
		return;
	memcpy(names, above->value, above->len);
	names[above->len] = '\0';
	memcpy(names + above->len + 1, dht_xattr_req, sizeof(dht_xattr_req));
	xl_dict_set(d, XL_KEY_XATTR_REQ, names, len);
	xl_free(child->parent->xl, names);
}

int dht_hashed_subvol(struct xl *xl, const struct xl_loc *loc)
{
	struct xl_inode *ref = NULL;
	struct dht_ictx *ctx;
	int s = -1;

	if (!loc->name)
		return -1;
	ctx = loc->parent ? dht_ictx(xl, loc->parent, false)
			  : dht_ictx_by_gfid(xl, loc->pargfid, &ref);
	if (ctx) {
		pthread_mutex_lock(&ctx->lock);
		if (ctx->layout_valid)
			s = dht_layout_search(ctx->ranges, dht_priv(xl)->n,
					      dht_hash_name(loc->name));
		pthread_mutex_unlock(&ctx->lock);
	}
	if (ref)
		xl_inode_unref(ref);
	return s;
}

/* A reply that carries an exchange's intent: noted (the first one). */
static bool dht_note_intent(struct xl_call *call, const struct xl_reply *r)
{
	struct dht_local *local = dht_local(call);
	const struct xl_dict_pair *p =
	    r->xdata ? xl_dict_get(r->xdata, DHT_XATTR_EXCHANGE) : NULL;

	if (!p)
		return false;
	if (!local->xintent)
		local->xintent = xl_iobuf_from(p->value, p->len);
	return local->xintent != NULL;
}

/* ---- directories ----------------------------------------------------- */

int dht_local_arrays(struct dht_local *local, int n)
{
	if (!local->ranges)
		local->ranges =
		    xl_calloc(local->xl, (size_t)n, sizeof(*local->ranges));
	if (!local->dir_on)
		local->dir_on = xl_calloc(local->xl, (size_t)n, sizeof(bool));
	if (!local->missing)
		local->missing = xl_calloc(local->xl, (size_t)n, sizeof(bool));
	if (!local->ranges || !local->dir_on || !local->missing)
		return -ENOMEM;
	memset(local->ranges, 0, (size_t)n * sizeof(*local->ranges));
	memset(local->dir_on, 0, (size_t)n * sizeof(bool));
	memset(local->missing, 0, (size_t)n * sizeof(bool));
	return 0;
}

/* Store the gathered layout in the directory's inode ctx. */
void dht_layout_cache(struct xl *xl, struct xl_call *call, const uint8_t *gfid,
		      bool valid)
{
	struct dht_priv *priv = dht_priv(xl);
	struct dht_local *local = dht_local(call);
	struct xl_inode *inode = local->dir_inode;
	struct dht_ictx *ctx;

	if (!inode || memcmp(inode->gfid, gfid, XL_GFID_LEN) != 0) {
		/* A directory found by name: its inode is not the one the
		 * call holds.  Keep it alive with the call so the caller's
		 * completion finds the ctx (see dht_lookup_reply). */
		inode = NULL;
		if (xl->graph && xl->graph->itable && !xl_gfid_is_null(gfid))
			inode = xl_inode_get(xl->graph->itable, gfid);
		if (!inode)
			return;
		if (local->hold)
			xl_inode_unref(local->hold);
		local->hold = inode;
	}
	ctx = dht_ictx(xl, inode, true);
	if (!ctx)
		return;
	pthread_mutex_lock(&ctx->lock);
	ctx->is_dir = true;
	memcpy(ctx->ranges, local->ranges,
	       (size_t)priv->n * sizeof(ctx->ranges[0]));
	ctx->layout_valid = valid;
	ctx->layout_ms = dht_now_ms();
	pthread_mutex_unlock(&ctx->lock);
}

static void dht_dir_done(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);
	struct dht_where *w = local->cur;
	bool usable = false;

	for (int i = 0; i < priv->n; i++)
		if (local->dir_on[i] && local->ranges[i].present)
			usable = true;
	dht_layout_cache(call->xl, call, local->attr.gfid, usable);
	if (w) {
		w->found = true;
		w->is_dir = true;
		w->attr = local->attr;
		w->ret = 0;
		w->xchg = local->dir_xchg;
	}
	local->lnext(call);
}

/* The layout lock on the directory (local->attr.gfid), whole range. */
static int dht_fill_unlock(struct xl_call *call, struct xl_call *child,
			   int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	(void)subvol;
	(void)k;
	return dht_inodelk_args(child, local->attr.gfid, DHT_LOCK_LAYOUT, false,
				local->owner, 0, 0);
}

static void dht_layout_unlocked(struct xl_call *call, struct xl_call *child,
				void *cookie)
{
	(void)child;
	(void)cookie;
	dht_dir_done(call);
}

int dht_fill_layout_set(struct xl_call *call, struct xl_call *child, int subvol,
			int k, void *cookie)
{
	struct dht_local *local = dht_local(call);
	uint8_t buf[DHT_LAYOUT_XATTR_LEN];

	(void)cookie;
	(void)k;
	dht_range_encode(&local->ranges[subvol], buf);
	memcpy(child->args.loc.gfid, local->attr.gfid, XL_GFID_LEN);
	child->args.xname = strdup(DHT_XATTR_LAYOUT);
	child->args.data = xl_iobuf_from(buf, sizeof(buf));
	if (!child->args.xname || !child->args.data)
		return -ENOMEM;
	return dht_set_internal(&child->args.xdata);
}

void dht_layout_set_failed(struct xl_call *call, struct xl_call **children,
			   const int *subvols, int n, const char *what)
{
	struct dht_local *local = dht_local(call);
	struct xl *xl = call->xl;
	char g[XL_GFID_STR_LEN];

	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret < 0) {
			xl_warn(xl->name,
				"%s: layout of %s not written on %s: "
				"errno=%d",
				what, xl_gfid_to_str(local->attr.gfid, g),
				dht_priv(xl)->subvols[subvols[k]]->name,
				-children[k]->reply.ret);
			local->ranges[subvols[k]].present = false;
		}
	}
}

static void dht_layout_written(struct xl_call *call, struct xl_call **children,
			       const int *subvols, int n, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	local->repaired = true;
	dht_layout_set_failed(call, children, subvols, n, "repair");
	if (local->owner) {
		dht_send(call, XL_FOP_INODELK, local->layout_lock_on,
			 dht_fill_unlock, dht_layout_unlocked, NULL);
		return;
	}
	dht_dir_done(call);
}

/* Decide the new ranges and write them (lock already held if any). */
static void dht_layout_rewrite(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);
	int subvols[DHT_MAX_SUBVOLS], n = 0;
	bool keep, ign[DHT_MAX_SUBVOLS];

	/* Keep the ranges of the copies that had them when they still
	 * cover the space: the others (new copies, a new brick's) then only
	 * get empty ranges; spreading over them is fix-layout's job. */
	for (int i = 0; i < priv->n; i++)
		ign[i] = !local->dir_on[i] || !local->ranges[i].present;
	keep = dht_layout_check(local->ranges, priv->n, ign) == DHT_LAYOUT_OK;
	if (keep) {
		for (int i = 0; i < priv->n; i++) {
			if (!local->dir_on[i] || local->ranges[i].present)
				continue;
			local->ranges[i].start = 1;
			local->ranges[i].stop = 0;
			local->ranges[i].commit = 1;
			subvols[n++] = i;
		}
	} else {
		dht_layout_assign(local->ranges, priv->n, local->dir_on,
				  (uint32_t)dht_now_ms());
		for (int i = 0; i < priv->n; i++)
			if (local->dir_on[i])
				subvols[n++] = i;
	}
	pthread_mutex_lock(&priv->lock);
	priv->repairs++;
	pthread_mutex_unlock(&priv->lock);
	for (int i = 0; i < priv->n; i++)
		if (!local->dir_on[i])
			local->ranges[i].present = false;
	if (n == 0) {
		dht_layout_written(call, NULL, NULL, 0, NULL);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_SETXATTR,
				      .index = subvols,
				      .n = n,
				      .fill = dht_fill_layout_set,
				      .done = dht_layout_written});
}

static int dht_fill_lock(struct xl_call *call, struct xl_call *child,
			 int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	(void)subvol;
	(void)k;
	return dht_inodelk_args(child, local->attr.gfid, DHT_LOCK_LAYOUT, true,
				local->owner, 0, 0);
}

static void dht_layout_locked(struct xl_call *call, struct xl_call *child,
			      void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	if (child->reply.ret < 0) {
		/* Could not lock: use the layout as it is for now. */
		local->owner = 0;
		dht_dir_done(call);
		return;
	}
	dht_layout_rewrite(call);
}

static void dht_dir_fix_layout(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);

	local->layout_lock_on = -1;
	for (int i = 0; i < priv->n && local->layout_lock_on < 0; i++)
		if (local->dir_on[i])
			local->layout_lock_on = i;
	if (local->layout_lock_on < 0) {
		dht_dir_done(call);
		return;
	}
	local->owner = dht_lock_owner(call->xl);
	dht_send(call, XL_FOP_INODELK, local->layout_lock_on, dht_fill_lock,
		 dht_layout_locked, NULL);
}

static int dht_fill_mkdir(struct xl_call *call, struct xl_call *child,
			  int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);
	int ret;

	(void)cookie;
	(void)subvol;
	(void)k;
	ret = xl_loc_copy(&child->args.loc, local->cur_loc);
	memcpy(child->args.loc.gfid, local->attr.gfid, XL_GFID_LEN);
	child->args.mode = local->attr.mode & 07777;
	child->args.umask = 0;
	child->cred.uid = local->attr.uid;
	child->cred.gid = local->attr.gid;
	child->cred.ngroups = 0;
	return ret;
}

static void dht_dir_mkdir_done(struct xl_call *call, struct xl_call **children,
			       const int *subvols, int n, void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct xl *xl = call->xl;
	char g[XL_GFID_STR_LEN];

	(void)cookie;
	for (int k = 0; k < n; k++) {
		int s = subvols[k];

		if (children[k]->reply.ret == 0) {
			local->repaired = true;
			local->dir_on[s] = true;
			local->missing[s] = false;
			xl_info(xl->name, "directory %s (%s) made on %s",
				local->cur_loc->name,
				xl_gfid_to_str(local->attr.gfid, g),
				dht_priv(xl)->subvols[s]->name);
		}
	}
	dht_dir_fix_layout(call);
}

/*
 * Every child's answer about a directory is in: merge the attributes,
 * note where it is missing and what layout it has, then repair when all
 * children are up.
 */
static void dht_dir_gather(struct xl_call *call, struct xl_call **children,
			   const int *subvols, int n, void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct dht_priv *priv = dht_priv(call->xl);
	int missing[DHT_MAX_SUBVOLS], nmiss = 0, answered = 0;
	bool first = true, down = false, need = false;
	const struct xl_dict_pair *p;
	bool ign[DHT_MAX_SUBVOLS];

	(void)cookie;
	if (dht_local_arrays(local, priv->n) < 0) {
		local->ret = -ENOMEM;
		local->lnext(call);
		return;
	}
	local->dir_xchg = false;
	for (int k = 0; k < n; k++) {
		struct xl_reply *r = &children[k]->reply;
		int s = subvols[k];

		if (r->ret == 0 && S_ISDIR(r->attr.mode)) {
			/* being exchanged: no repair now, whatever it looks
			 * like (its copies are renamed one by one) */
			if (dht_note_intent(call, r))
				local->dir_xchg = down = true;
			if (!first && memcmp(r->attr.gfid, local->attr.gfid,
					     XL_GFID_LEN)) {
				xl_warn(call->xl->name,
					"directory copy on %s has another gfid",
					priv->subvols[s]->name);
				continue;
			}
			if (first)
				local->attr = r->attr;
			else
				xl_iatt_merge_dir(&local->attr, &r->attr);
			first = false;
			local->dir_on[s] = true;
			answered++;
			p = r->xdata ? xl_dict_get(r->xdata, DHT_XATTR_LAYOUT)
				     : NULL;
			if (p)
				dht_range_decode(p->value, p->len,
						 &local->ranges[s]);
		} else if (r->ret == -ENOENT || r->ret == -ESTALE) {
			local->missing[s] = true;
			missing[nmiss++] = s;
		} else {
			down = true;
		}
	}
	if (n < priv->n)
		down = true; /* some child was not even asked: it is down */
	if (first) {
		local->ret = down ? -ENOTCONN : -ENOENT;
		if (local->cur)
			local->cur->ret = local->ret;
		local->lnext(call);
		return;
	}
	local->ret = 0;
	for (int i = 0; i < priv->n; i++) {
		ign[i] = !local->dir_on[i];
		if (local->dir_on[i] && !local->ranges[i].present)
			need = true;
	}
	if (dht_layout_check(local->ranges, priv->n, ign) != DHT_LAYOUT_OK)
		need = true;
	if (nmiss && local->cur_loc && local->cur_loc->name)
		need = true;
	else
		nmiss = 0; /* by gfid: cannot make what has no name here */
	if (!need || down) {
		dht_dir_done(call);
		return;
	}
	if (nmiss) {
		xl_fan(call, &(struct xl_fan){.fop = XL_FOP_MKDIR,
					      .index = missing,
					      .n = nmiss,
					      .fill = dht_fill_mkdir,
					      .done = dht_dir_mkdir_done});
		return;
	}
	dht_dir_fix_layout(call);
}

static int dht_fill_lookup(struct xl_call *call, struct xl_call *child,
			   int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);
	int ret;

	(void)cookie;
	(void)subvol;
	(void)k;
	if (local->cur_loc) {
		ret = xl_loc_copy(&child->args.loc, local->cur_loc);
		if (ret < 0)
			return ret;
	} else {
		memcpy(child->args.loc.gfid, local->dir_gfid, XL_GFID_LEN);
	}
	if (call->args.xdata && call->fop == XL_FOP_LOOKUP)
		child->args.xdata = xl_dict_ref(call->args.xdata);
	dht_xattr_req_add(child);
	return 0;
}

/* Look a directory up on every live child (by local->cur_loc when set,
 * else by local->dir_gfid), merge, repair; then local->lnext. */
static void dht_dir_lookup_all(struct xl_call *call)
{
	int subvols[DHT_MAX_SUBVOLS];
	int n = dht_up_subvols(call->xl, subvols);
	struct dht_local *local = dht_local(call);

	if (n == 0) {
		local->ret = -ENOTCONN;
		if (local->cur)
			local->cur->ret = -ENOTCONN;
		local->lnext(call);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
				      .index = subvols,
				      .n = n,
				      .fill = dht_fill_lookup,
				      .done = dht_dir_gather});
}

void dht_layout_get(struct xl_call *call, const uint8_t *gfid,
		    struct xl_inode *inode, dht_next_fn next)
{
	struct xl *xl = call->xl;
	struct dht_priv *priv = dht_priv(xl);
	struct dht_local *local = dht_local(call);
	struct xl_inode *ref = NULL;
	struct dht_ictx *ctx;
	bool fresh = false;

	if (!local) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	local->ret = 0;
	ctx = inode ? dht_ictx(xl, inode, false)
		    : dht_ictx_by_gfid(xl, gfid, &ref);
	if (ctx) {
		pthread_mutex_lock(&ctx->lock);
		fresh = ctx->layout_valid &&
			dht_now_ms() - ctx->layout_ms <
			    (int64_t)priv->layout_refresh_sec * 1000;
		pthread_mutex_unlock(&ctx->lock);
	}
	if (fresh) {
		if (ref)
			xl_inode_unref(ref);
		next(call);
		return;
	}
	if (local->dir_inode)
		xl_inode_unref(local->dir_inode);
	local->dir_inode = inode ? xl_inode_ref(inode) : ref;
	if (inode && ref)
		xl_inode_unref(ref);
	memcpy(local->dir_gfid, gfid, XL_GFID_LEN);
	local->lnext = next;
	local->cur = NULL;
	local->cur_loc = NULL;
	dht_dir_lookup_all(call);
}

/* ---- names ----------------------------------------------------------- */

static void dht_resolve_done(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_where *w = local->rw;

	local->cur = NULL;
	local->cur_loc = NULL;
	if (w && w->found && w->xchg && local->xintent &&
	    local->xtries < DHT_XCHG_TRIES) {
		/* in the middle of an exchange: not answered from there */
		dht_exchange_wait(call);
		return;
	}
	local->rnext(call);
}

static void dht_where_file(struct xl_call *call, struct dht_where *w,
			   const struct xl_reply *r, int cached)
{
	w->found = true;
	w->is_dir = false;
	w->attr = r->attr;
	w->cached = cached;
	w->ret = 0;
	w->xchg = dht_note_intent(call, r);
}

static void dht_everywhere_gather(struct xl_call *call,
				  struct xl_call **children, const int *subvols,
				  int n, void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct dht_where *w = local->cur;
	int found = -1, linkto_target = -1;
	bool down = n < dht_priv(call->xl)->n;

	(void)cookie;
	for (int k = 0; k < n; k++) {
		struct xl_reply *r = &children[k]->reply;
		int s = subvols[k];

		if (r->ret == 0 && S_ISDIR(r->attr.mode)) {
			/* A directory: gather it as one (repairs it). */
			local->lnext = dht_resolve_done;
			dht_dir_gather(call, children, subvols, n, NULL);
			return;
		}
		if (r->ret == 0 && dht_is_linkto(&r->attr, r->xdata)) {
			if (s == w->hashed || w->linkto_at < 0) {
				w->linkto_at = s;
				linkto_target =
				    dht_linkto_subvol(call->xl, r->xdata);
			}
			continue;
		}
		if (r->ret == 0) {
			/* Two data copies (a stale one): prefer the one the
			 * linkto names, else the hashed, else the first. */
			if (found < 0 || s == w->hashed || s == linkto_target)
				found = k;
			continue;
		}
		if (r->ret != -ENOENT && r->ret != -ESTALE)
			down = true;
	}
	if (found >= 0) {
		dht_where_file(call, w, &children[found]->reply,
			       subvols[found]);
	} else {
		/* A missing name whose hashed child is up is missing;
		 * else it may be on the down child. */
		w->ret =
		    (w->hashed >= 0 && dht_is_up(call->xl, w->hashed)) || !down
			? -ENOENT
			: -ENOTCONN;
	}
	dht_resolve_done(call);
}

static void dht_lookup_everywhere(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	int subvols[DHT_MAX_SUBVOLS];
	int n = dht_up_subvols(call->xl, subvols);

	if (n == 0) {
		local->cur->ret = -ENOTCONN;
		dht_resolve_done(call);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
				      .index = subvols,
				      .n = n,
				      .fill = dht_fill_lookup,
				      .done = dht_everywhere_gather});
}

static void dht_target_cbk(struct xl_call *call, struct xl_call *child,
			   void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct xl_reply *r = &child->reply;
	int t = (int)(intptr_t)cookie;

	if (r->ret == 0 && S_ISREG(r->attr.mode) &&
	    !dht_is_linkto(&r->attr, r->xdata)) {
		dht_where_file(call, local->cur, r, t);
		dht_resolve_done(call);
		return;
	}
	dht_lookup_everywhere(call);
}

static void dht_hashed_cbk(struct xl_call *call, struct xl_call *child,
			   void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct dht_where *w = local->cur;
	struct xl_reply *r = &child->reply;
	int t;

	(void)cookie;
	if (r->ret == 0 && S_ISDIR(r->attr.mode)) {
		local->lnext = dht_resolve_done;
		dht_dir_lookup_all(call);
		return;
	}
	if (r->ret == 0 && dht_is_linkto(&r->attr, r->xdata)) {
		w->linkto_at = w->hashed;
		t = dht_linkto_subvol(call->xl, r->xdata);
		if (t >= 0 && t != w->hashed && dht_is_up(call->xl, t)) {
			dht_send(call, XL_FOP_LOOKUP, t, dht_fill_lookup,
				 dht_target_cbk, (void *)(intptr_t)t);
			return;
		}
		if (t >= 0 && t != w->hashed) {
			w->ret = -ENOTCONN;
			dht_resolve_done(call);
			return;
		}
		dht_lookup_everywhere(call);
		return;
	}
	if (r->ret == 0) {
		dht_where_file(call, w, r, w->hashed);
		dht_resolve_done(call);
		return;
	}
	if (r->ret == -ENOENT || r->ret == -ESTALE || r->ret == -ENOTCONN) {
		dht_lookup_everywhere(call);
		return;
	}
	w->ret = r->ret;
	dht_resolve_done(call);
}

static void dht_resolve_hashed(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_where *w = local->cur;

	w->hashed = dht_hashed_subvol(call->xl, local->cur_loc);
	if (w->hashed < 0 || !dht_is_up(call->xl, w->hashed)) {
		dht_lookup_everywhere(call);
		return;
	}
	dht_send(call, XL_FOP_LOOKUP, w->hashed, dht_fill_lookup,
		 dht_hashed_cbk, NULL);
}

static void dht_resolve_parent(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	/* dht_layout_get cleared cur: set it again. */
	local->cur = local->resolving_loc2 ? &local->w2 : &local->w;
	local->cur_loc =
	    local->resolving_loc2 ? &call->args.loc2 : &call->args.loc;
	dht_resolve_hashed(call);
}

void dht_resolve(struct xl_call *call, const struct xl_loc *loc,
		 struct dht_where *w, dht_next_fn next)
{
	struct dht_local *local = dht_local(call);

	if (!local) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	memset(w, 0, sizeof(*w));
	w->hashed = w->cached = w->linkto_at = -1;
	w->ret = -ENOENT;
	local->rnext = next;
	local->rloc = loc;
	local->rw = w;
	if (local->xintent) {
		xl_iobuf_unref(local->xintent);
		local->xintent = NULL;
	}
	/* Which loc this is, for dht_resolve_parent. */
	local->resolving_loc2 = loc == &call->args.loc2;
	dht_layout_get(call, loc->pargfid, loc->parent, dht_resolve_parent);
}

/* ---- files by gfid ----------------------------------------------------- */

static void dht_locate_gather(struct xl_call *call, struct xl_call **children,
			      const int *subvols, int n, void *cookie)
{
	struct dht_local *local = dht_local(call);
	bool down = n < dht_priv(call->xl)->n;

	(void)cookie;
	local->located = -1;
	for (int k = 0; k < n; k++) {
		struct xl_reply *r = &children[k]->reply;

		if (r->ret == 0 && !dht_is_linkto(&r->attr, r->xdata) &&
		    !dht_is_migrated_copy(&r->attr)) {
			if (local->located < 0 || S_ISDIR(r->attr.mode)) {
				local->located = subvols[k];
				local->attr = r->attr;
			}
		} else if (r->ret != 0 && r->ret != -ENOENT &&
			   r->ret != -ESTALE) {
			down = true;
		}
	}
	if (local->located >= 0) {
		struct xl_loc loc = {0};

		memcpy(loc.gfid, local->attr.gfid, XL_GFID_LEN);
		loc.inode = local->dir_inode;
		dht_ictx_set_file(call->xl, &loc, &local->attr, local->located);
		local->ret = 0;
	} else {
		local->ret = down ? -ENOTCONN : -ESTALE;
	}
	local->rnext(call);
}

void dht_locate(struct xl_call *call, const uint8_t *gfid,
		struct xl_inode *inode, dht_next_fn next)
{
	struct dht_local *local = dht_local(call);
	int subvols[DHT_MAX_SUBVOLS], n;
	struct xl_inode *ref = NULL;
	struct dht_ictx *ctx;

	if (!local) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	local->rnext = next;
	local->located = -1;
	local->ret = 0;
	ctx = inode ? dht_ictx(call->xl, inode, false)
		    : dht_ictx_by_gfid(call->xl, gfid, &ref);
	if (ctx) {
		pthread_mutex_lock(&ctx->lock);
		local->located = ctx->is_dir ? -2 : ctx->cached;
		pthread_mutex_unlock(&ctx->lock);
	}
	if (ref)
		xl_inode_unref(ref);
	if (local->located != -1) {
		local->located_cached = true; /* from the cache: may be stale */
		next(call);
		return;
	}
	local->located_cached = false;
	memcpy(local->dir_gfid, gfid, XL_GFID_LEN);
	if (local->dir_inode)
		xl_inode_unref(local->dir_inode);
	local->dir_inode = inode ? xl_inode_ref(inode) : NULL;
	local->cur_loc = NULL;
	n = dht_up_subvols(call->xl, subvols);
	if (n == 0) {
		local->ret = -ENOTCONN;
		next(call);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
				      .index = subvols,
				      .n = n,
				      .fill = dht_fill_lookup,
				      .done = dht_locate_gather});
}

/* ---- the lookup fop ---------------------------------------------------- */

static void dht_lookup_reply(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_where *w = &local->w;

	if (!w->found) {
		xl_unwind_error(call, w->ret ? w->ret : -ENOENT);
		return;
	}
	call->reply.ret = 0;
	call->reply.attr = w->attr;
	/* Repaired or mid-exchange: caches above keep nothing of it. */
	if (local->repaired || w->xchg)
		xl_reply_no_cache(&call->reply);
	if (!w->is_dir) {
		struct xl_inode *inode = NULL;

		/* Keep the inode (and the ctx on it) alive until the caller
		 * took its own reference in its completion. */
		if (xl_gfid_is_null(w->attr.gfid) == false && call->xl->graph &&
		    call->xl->graph->itable)
			inode =
			    xl_inode_get(call->xl->graph->itable, w->attr.gfid);
		if (inode) {
			if (local->hold)
				xl_inode_unref(local->hold);
			local->hold = inode;
		}
		dht_ictx_set_file(call->xl, &call->args.loc, &w->attr,
				  w->cached);
	}
	xl_unwind(call);
}

static void dht_lookup_gfid_done(struct xl_call *call);

/* A file asked where the ctx said: gone from there (migrated, removed by
 * hand) means asking every child once. */
static void dht_lookup_cached_cbk(struct xl_call *call, struct xl_call *child,
				  void *cookie)
{
	struct xl_reply *r = &child->reply;
	struct xl_inode *ref = NULL;
	struct dht_ictx *ctx;

	(void)cookie;
	if ((r->ret == -ENOENT || r->ret == -ESTALE) ||
	    (r->ret == 0 && (dht_is_linkto(&r->attr, r->xdata) ||
			     dht_is_migrated_copy(&r->attr)))) {
		ctx =
		    call->args.loc.inode
			? dht_ictx(call->xl, call->args.loc.inode, false)
			: dht_ictx_by_gfid(call->xl, call->args.loc.gfid, &ref);
		if (ctx) {
			pthread_mutex_lock(&ctx->lock);
			ctx->cached = -1;
			pthread_mutex_unlock(&ctx->lock);
		}
		if (ref)
			xl_inode_unref(ref);
		dht_locate(call, call->args.loc.gfid, call->args.loc.inode,
			   dht_lookup_gfid_done);
		return;
	}
	xl_reply_move(&call->reply, r);
	xl_unwind(call);
}

static void dht_lookup_gfid_done(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (local->located == -2) {
		/* A directory known from the ctx: read it again. */
		local->lnext = dht_lookup_reply;
		local->cur = &local->w;
		local->w.found = false;
		memcpy(local->dir_gfid, call->args.loc.gfid, XL_GFID_LEN);
		local->cur_loc = NULL;
		dht_dir_lookup_all(call);
		return;
	}
	if (local->located >= 0 && local->located_cached) {
		/* From the cache: ask that child. */
		dht_send(call, XL_FOP_LOOKUP, local->located, dht_fill_lookup,
			 dht_lookup_cached_cbk, NULL);
		return;
	}
	if (local->ret < 0 || local->located < 0) {
		xl_unwind_error(call, local->ret < 0 ? local->ret : -ESTALE);
		return;
	}
	if (S_ISDIR(local->attr.mode)) {
		local->lnext = dht_lookup_reply;
		local->cur = &local->w;
		memcpy(local->dir_gfid, call->args.loc.gfid, XL_GFID_LEN);
		local->cur_loc = NULL;
		dht_dir_lookup_all(call);
		return;
	}
	local->w.found = true;
	local->w.attr = local->attr;
	local->w.cached = local->located;
	dht_lookup_reply(call);
}

void dht_lookup(struct xl *xl, struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct xl_loc *loc = &call->args.loc;

	(void)xl;
	if (!local) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (loc->name && !xl_gfid_is_null(loc->pargfid)) {
		dht_resolve(call, loc, &local->w, dht_lookup_reply);
		return;
	}
	dht_locate(call, loc->gfid, loc->inode, dht_lookup_gfid_done);
}
