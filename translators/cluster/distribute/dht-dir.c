/*
 * dht-dir.c - cluster/distribute: open directories and the volume.
 *
 * opendir opens the directory on every live child with the same xl_fd
 * (each protocol/client keeps its own remote fd in its slot).  readdir
 * walks the children in order: child i's entries, then child i+1's from
 * its start.  The child's index is kept in the low bits of every d_off we
 * hand out, so the next readdir (even by another thread) knows where to
 * resume (xl_doff_encode, xlators-api/merge.h, shared with
 * cluster/unify).  Linkto files are hidden (each child's readdirplus says
 * which entries carry the linkto xattr: a user's file of mode 01000 is
 * listed); directories are listed from the first child only.  statfs sums the
 * children (scaled to the first child's block size).
 */
#include "config.h"

#include "dht.h"

#include "merge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

/* ---- opendir --------------------------------------------------------- */

static void dht_opendir_done(struct xl_call *call, struct xl_call **children,
			     const int *subvols, int n, void *cookie)
{
	struct dht_fdctx *f = dht_fdctx(call->xl, call->args.fd, true);
	int ok = -1, err = -ENOTCONN;

	(void)cookie;
	if (!f) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	pthread_mutex_lock(&f->lock);
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret == 0) {
			f->opened[subvols[k]] = true;
			if (ok < 0)
				ok = k;
		} else if (err == -ENOTCONN) {
			err = children[k]->reply.ret;
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (ok < 0) {
		xl_unwind_error(call, err);
		return;
	}
	xl_reply_move(&call->reply, &children[ok]->reply);
	xl_unwind(call);
}

void dht_opendir(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	dht_fan_up(call, XL_FOP_OPENDIR, xl_fill_copy, dht_opendir_done);
}

/* ---- readdir ------------------------------------------------------------- */

/* The first child >= from that holds fd open, or -1. */
static int dht_next_opened(struct xl *xl, struct dht_fdctx *f, int from)
{
	int n = dht_priv(xl)->n, found = -1;

	pthread_mutex_lock(&f->lock);
	for (int i = from < 0 ? 0 : from; i < n && found < 0; i++)
		if (f->opened[i])
			found = i;
	pthread_mutex_unlock(&f->lock);
	return found;
}

static void dht_readdir_from(struct xl_call *call, int idx, uint64_t off);

static int dht_fill_readdir(struct xl_call *call, struct xl_call *child,
			    int subvol, int k, void *cookie)
{
	int ret = xl_fill_copy(call, child, subvol, k, cookie);

	child->args.offset = (int64_t)dht_local(call)->rd_off;
	return ret < 0 ? ret : dht_readdirp_req(child);
}

static void dht_readdir_cbk(struct xl_call *call, struct xl_call *child,
			    void *cookie)
{
	struct dht_priv *priv = dht_priv(call->xl);
	struct dht_fdctx *f = dht_fdctx(call->xl, call->args.fd, false);
	struct xl_reply *r = &child->reply;
	int idx = (int)(intptr_t)cookie,
	    first = dht_next_opened(call->xl, f, 0);
	uint32_t kept = 0, cursor = 0;
	uint64_t last_off = 0;

	if (r->ret < 0 && r->ret != -ENOTCONN) {
		xl_reply_move(&call->reply, r);
		xl_unwind(call);
		return;
	}
	if (r->ret < 0 || r->entry_count == 0) {
		/* Its end, or it went down since opendir: the next child. */
		dht_readdir_from(call, dht_next_opened(call->xl, f, idx + 1),
				 0);
		return;
	}
	for (uint32_t i = 0; i < r->entry_count; i++) {
		struct xl_dirent *d = &r->entries[i];
		bool dot = d->name &&
			   (!strcmp(d->name, ".") || !strcmp(d->name, ".."));
		bool dir = d->d_type == DT_DIR || S_ISDIR(d->attr.mode);
		bool keep = d->name &&
			    !dht_dirent_is_linkto(d, r->xdata, &cursor) &&
			    (idx == first || (!dot && !dir));

		last_off = d->d_off;
		if (!keep) {
			free(d->name);
			d->name = NULL;
			continue;
		}
		d->d_off = xl_doff_encode(priv->n, idx, d->d_off);
		/* one copy's times: the kernel looks it up (merged) */
		if (dir && !dot && priv->n > 1)
			xl_dirent_drop_dir_attr(d);
		if (kept != i) {
			r->entries[kept] = *d;
			d->name = NULL;
		}
		kept++;
	}
	if (kept == 0) {
		/* All hidden: read on in the same child. */
		dht_readdir_from(call, idx, last_off);
		return;
	}
	for (uint32_t i = kept; i < r->entry_count; i++)
		free(r->entries[i].name);
	r->entry_count = kept;
	if (r->xdata)
		xl_dict_del(r->xdata,
			    DHT_XATTR_LINKTO); /* ours, not the caller's */
	xl_reply_move(&call->reply, r);
	xl_unwind(call);
}

static void dht_readdir_from(struct xl_call *call, int idx, uint64_t off)
{
	struct dht_local *local = dht_local(call);

	if (idx < 0) {
		call->reply.ret = 0; /* end of the directory */
		call->reply.entry_count = 0;
		xl_unwind(call);
		return;
	}
	local->rd_off = off;
	dht_send(call, XL_FOP_READDIRPLUS, idx, dht_fill_readdir,
		 dht_readdir_cbk, (void *)(intptr_t)idx);
}

void dht_readdir(struct xl *xl, struct xl_call *call)
{
	struct dht_priv *priv = dht_priv(xl);
	struct dht_fdctx *f = dht_fdctx(xl, call->args.fd, false);
	uint64_t off = 0;
	int idx = 0, at;

	if (!f) {
		xl_unwind_error(call, -EBADF);
		return;
	}
	if (!dht_local(call)) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (call->args.offset != 0)
		xl_doff_decode(priv->n, (uint64_t)call->args.offset, &idx,
			       &off);
	if (idx >= priv->n) {
		xl_unwind_error(call, -EINVAL);
		return;
	}
	at = dht_next_opened(xl, f, idx);
	dht_readdir_from(call, at, at == idx ? off : 0);
}

/* ---- statfs -------------------------------------------------------------- */

static void dht_statfs_store(struct xl *xl, struct xl_call **children,
			     const int *subvols, int n)
{
	struct dht_priv *priv = dht_priv(xl);

	pthread_mutex_lock(&priv->lock);
	for (int k = 0; k < n; k++)
		if (children[k]->reply.ret == 0)
			priv->sfs[subvols[k]] = children[k]->reply.statfs;
	priv->sfs_ms = dht_now_ms();
	pthread_mutex_unlock(&priv->lock);
}

static void dht_statfs_done(struct xl_call *call, struct xl_call **children,
			    const int *subvols, int n, void *cookie)
{
	int ok = 0, err = -ENOTCONN;

	(void)cookie;
	dht_statfs_store(call->xl, children, subvols, n);
	memset(&call->reply.statfs, 0, sizeof(call->reply.statfs));
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret < 0) {
			err = children[k]->reply.ret;
			continue;
		}
		xl_statfs_add(&call->reply.statfs, &children[k]->reply.statfs);
		ok++;
	}
	call->reply.ret = ok ? 0 : err;
	xl_unwind(call);
}

static int dht_fill_statfs(struct xl_call *call, struct xl_call *child,
			   int subvol, int k, void *cookie)
{
	(void)cookie;
	(void)call;
	(void)subvol;
	(void)k;
	memcpy(child->args.loc.gfid, xl_gfid_root, XL_GFID_LEN);
	return 0;
}

void dht_statfs(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	dht_fan_up(call, XL_FOP_STATFS, dht_fill_statfs, dht_statfs_done);
}

static void dht_statfs_refreshed(struct xl_call *call,
				 struct xl_call **children, const int *subvols,
				 int n, void *cookie)
{
	(void)cookie;
	dht_statfs_store(call->xl, children, subvols, n);
	dht_local(call)->next(call);
}

void dht_statfs_refresh(struct xl_call *call, bool force, dht_next_fn next)
{
	struct dht_priv *priv = dht_priv(call->xl);
	int subvols[DHT_MAX_SUBVOLS], n;
	bool fresh;

	pthread_mutex_lock(&priv->lock);
	fresh = priv->sfs_ms && dht_now_ms() - priv->sfs_ms < 1000;
	pthread_mutex_unlock(&priv->lock);
	if (fresh && !force) {
		next(call);
		return;
	}
	n = dht_up_subvols(call->xl, subvols);
	dht_local(call)->next = next;
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_STATFS,
				      .index = subvols,
				      .n = n,
				      .fill = dht_fill_statfs,
				      .done = dht_statfs_refreshed});
}
