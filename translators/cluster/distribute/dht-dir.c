/*
 * dht-dir.c - cluster/distribute: open directories and the volume.
 *
 * opendir opens the directory on every live child with the same xl_fd
 * (each protocol/client keeps its own remote fd in its slot); which
 * children hold it is kept in the fd ctx (opened[]), for readdir
 * (dht-readdir.c) and releasedir.  statfs sums the children (scaled to the
 * first child's block size).
 */
#include "config.h"

#include "dht.h"

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
