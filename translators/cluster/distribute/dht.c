/*
 * dht.c - cluster/distribute: one namespace over N subvolumes, each file
 * placed on the subvolume its name hashes to in its directory's layout
 * (elastic hashing, no metadata server).  This file holds init/fini,
 * child up/down, the helpers that send to children, inode and fd contexts, and
 * the descriptor; see dht.h for the others.
 *
 * Up/down: the volume is reported up to the parents once every child is
 * up, or child-up-timeout seconds after start when at least one is; down
 * when the last child goes.  A fop that needs a down child fails with
 * ENOTCONN at once (protocol/client answers so), never waits.
 */
#include "config.h"

#include "dht.h"

#include "graph.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dht_priv *dht_priv(struct xl *xl)
{
	return xl->private;
}

int64_t dht_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dht_subvol_index(struct xl *xl, const char *name)
{
	struct dht_priv *priv = dht_priv(xl);

	for (int i = 0; i < priv->n; i++)
		if (strcmp(priv->subvols[i]->name, name) == 0)
			return i;
	return -1;
}

bool dht_is_up(struct xl *xl, int i)
{
	struct dht_priv *priv = dht_priv(xl);
	bool up;

	if (i < 0 || i >= priv->n)
		return false;
	pthread_mutex_lock(&priv->lock);
	up = priv->up[i];
	pthread_mutex_unlock(&priv->lock);
	return up;
}

int dht_up_subvols(struct xl *xl, int *subvols)
{
	struct dht_priv *priv = dht_priv(xl);
	int n = 0;

	pthread_mutex_lock(&priv->lock);
	for (int i = 0; i < priv->n; i++)
		if (priv->up[i])
			subvols[n++] = i;
	pthread_mutex_unlock(&priv->lock);
	return n;
}

uint64_t dht_lock_owner(struct xl *xl)
{
	return atomic_fetch_add(&dht_priv(xl)->lock_owner_seq, 1) + 1;
}

int dht_inodelk_args(struct xl_call *child, const uint8_t *gfid,
		     const char *domain, bool lock, uint64_t owner,
		     int64_t start, int64_t len)
{
	memcpy(child->args.loc.gfid, gfid, XL_GFID_LEN);
	child->args.xname = strdup(domain);
	child->args.cmd = lock ? F_SETLKW : F_SETLK;
	child->args.lock.type = lock ? F_WRLCK : F_UNLCK;
	child->args.lock.whence = SEEK_SET;
	child->args.lock.owner = owner;
	child->args.lock.start = start;
	child->args.lock.len = len;
	return child->args.xname ? 0 : -ENOMEM;
}

int dht_fd_subvols(struct xl *xl, struct xl_fd *fd, int *subvols)
{
	struct dht_fdctx *f = dht_fdctx(xl, fd, false);
	int n = 0;

	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < dht_priv(xl)->n; i++)
		if (f->opened[i])
			subvols[n++] = i;
	pthread_mutex_unlock(&f->lock);
	return n;
}

struct dht_local *dht_local(struct xl_call *call)
{
	struct dht_local *local = xl_call_local(call);

	if (local)
		local->xl = call->xl;
	return local;
}

static void dht_local_free(void *p)
{
	struct dht_local *local = p;

	xl_free(local->xl, local->ranges);
	xl_free(local->xl, local->dir_on);
	xl_free(local->xl, local->missing);
	if (local->dir_inode)
		xl_inode_unref(local->dir_inode);
	if (local->hold)
		xl_inode_unref(local->hold);
	if (local->fd)
		xl_fd_unref(local->fd);
	dht_xchg_free(local->xl, local->xchg);
	if (local->xintent)
		xl_iobuf_unref(local->xintent);
	for (int i = 0; i < local->nnames; i++)
		xl_free(local->xl, local->names[i]);
	xl_free(local->xl, local->names);
	xl_free(local->xl, local->name_sv);
	xl_reply_clear(&local->saved);
}

/* ---- contexts -------------------------------------------------------- */

/* Put ctx in *slot (guarded by lock) unless another thread was first:
 * returns the ctx that is in the slot; ours is freed when it lost. */
static void *dht_ctx_install(struct xl *xl, pthread_mutex_t *lock, void **slot,
			     void *ctx, pthread_mutex_t *ctx_lock)
{
	void *old;

	pthread_mutex_lock(lock);
	old = *slot;
	if (!old)
		*slot = ctx;
	pthread_mutex_unlock(lock);
	if (!old)
		return ctx;
	pthread_mutex_destroy(ctx_lock);
	xl_free(xl, ctx);
	return old;
}

struct dht_ictx *dht_ictx(struct xl *xl, struct xl_inode *inode, bool create)
{
	struct dht_priv *priv = dht_priv(xl);
	struct dht_ictx *ctx;

	if (!inode)
		return NULL;
	ctx = xl_inode_ctx_get(inode, xl);
	if (ctx || !create)
		return ctx;
	ctx = xl_calloc(
	    xl, 1, sizeof(*ctx) + (size_t)priv->n * sizeof(ctx->ranges[0]));
	if (!ctx)
		return NULL;
	pthread_mutex_init(&ctx->lock, NULL);
	ctx->cached = -1;
	/* Two threads may race to create it: keep the first. */
	return dht_ctx_install(xl, &inode->lock, &inode->ctx[xl->index], ctx,
			       &ctx->lock);
}

struct dht_ictx *dht_ictx_by_gfid(struct xl *xl, const uint8_t *gfid,
				  struct xl_inode **ref)
{
	struct xl_graph *g = xl->graph;

	*ref = NULL;
	if (!g || !g->itable || xl_gfid_is_null(gfid))
		return NULL;
	*ref = xl_inode_find(g->itable, gfid);
	return *ref ? dht_ictx(xl, *ref, false) : NULL;
}

static void dht_inode_ctx_free(struct xl *xl, void *p)
{
	struct dht_ictx *ctx = p;

	pthread_mutex_destroy(&ctx->lock);
	xl_free(xl, ctx);
}

/* Remember where a file (or that a directory) found by a lookup or made
 * by a create lives.  The inode is created in the table when needed and
 * the ref dropped again: the caller (the bridge) finds it while its own
 * answer holds it, see dht_lookup. */
void dht_ictx_set_file(struct xl *xl, const struct xl_loc *loc,
		       const struct xl_iatt *attr, int cached)
{
	struct xl_inode *inode = loc->inode ? xl_inode_ref(loc->inode) : NULL;
	struct dht_ictx *ctx;

	if (!inode && xl->graph && xl->graph->itable &&
	    !xl_gfid_is_null(attr->gfid))
		inode = xl_inode_get(xl->graph->itable, attr->gfid);
	if (!inode)
		return;
	if (memcmp(inode->gfid, attr->gfid, XL_GFID_LEN) == 0) {
		ctx = dht_ictx(xl, inode, true);
		if (ctx) {
			pthread_mutex_lock(&ctx->lock);
			ctx->is_dir = S_ISDIR(attr->mode);
			if (!ctx->is_dir)
				ctx->cached = cached;
			pthread_mutex_unlock(&ctx->lock);
		}
	}
	xl_inode_unref(inode);
}

struct dht_fdctx *dht_fdctx(struct xl *xl, struct xl_fd *fd, bool create)
{
	struct dht_priv *priv = dht_priv(xl);
	struct dht_fdctx *ctx;

	if (!fd)
		return NULL;
	ctx = xl_fd_ctx_get(fd, xl);
	if (ctx || !create)
		return ctx;
	ctx = xl_calloc(xl, 1, sizeof(*ctx) + (size_t)priv->n * sizeof(bool));
	if (!ctx)
		return NULL;
	pthread_mutex_init(&ctx->lock, NULL);
	ctx->subvol = -1;
	ctx->migrate_dst = -1;
	ctx->lk_owner = dht_lock_owner(xl);
	return dht_ctx_install(xl, &fd->lock, &fd->ctx[xl->index], ctx,
			       &ctx->lock);
}

static void dht_fd_ctx_free(struct xl *xl, void *p)
{
	struct dht_fdctx *ctx = p;

	dht_readdir_ctx_free(xl, ctx);
	pthread_mutex_destroy(&ctx->lock);
	xl_free(xl, ctx);
}

/* ---- linkto files ---------------------------------------------------- */

/* A linkto file is told by its xattr, never by its mode alone: a user may
 * chmod 1000 a file of their own.  The mode is checked too, as the
 * source copy of a migration names its target in the same xattr. */
bool dht_is_linkto(const struct xl_iatt *attr, const struct xl_dict *xdata)
{
	return attr->mode == DHT_LINKTO_MODE && xdata &&
	       xl_dict_get(xdata, DHT_XATTR_LINKTO);
}

bool dht_is_migrated_copy(const struct xl_iatt *attr)
{
	return S_ISREG(attr->mode) &&
	       (attr->mode & DHT_MIGRATE_BITS) == DHT_MIGRATE_BITS &&
	       attr->nlink == 0;
}

int dht_readdirp_xdata(struct xl_dict **xdata)
{
	static const char req[] = DHT_XATTR_LINKTO;
	struct xl_dict *d = *xdata ? xl_dict_copy(*xdata) : xl_dict_new();

	if (*xdata)
		xl_dict_unref(*xdata);
	*xdata = d;
	if (!d)
		return -ENOMEM;
	return xl_dict_set(d, XL_KEY_XATTR_REQ, req, sizeof(req));
}

int dht_readdirp_req(struct xl_call *child)
{
	return dht_readdirp_xdata(&child->args.xdata);
}

bool dht_dirent_is_linkto(const struct xl_dirent *d,
			  const struct xl_dict *xdata, uint32_t *cursor)
{
	const struct xl_dict_pair *p;
	const char *list;
	size_t nl;

	if (d->attr.mode != DHT_LINKTO_MODE || !d->name || !xdata ||
	    !(p = xl_dict_get(xdata, DHT_XATTR_LINKTO)))
		return false;
	list = p->value;
	nl = strlen(d->name) + 1;
	/* The brick lists the names in listing order: try where the last
	 * match ended first. */
	if (*cursor + nl <= p->len &&
	    memcmp(list + *cursor, d->name, nl) == 0) {
		*cursor += (uint32_t)nl;
		return true;
	}
	for (uint32_t off = 0; off < p->len;) {
		size_t l = strnlen(list + off, p->len - off) + 1;

		if (l == nl && off + l <= p->len &&
		    memcmp(list + off, d->name, nl) == 0) {
			*cursor = off + (uint32_t)l;
			return true;
		}
		off += (uint32_t)l;
	}
	return false;
}

/* The child a linkto's xattr names (in a lookup reply's xdata), -1. */
int dht_linkto_subvol(struct xl *xl, const struct xl_dict *xdata)
{
	const struct xl_dict_pair *p;
	char name[256];

	if (!xdata || !(p = xl_dict_get(xdata, DHT_XATTR_LINKTO)) ||
	    p->len == 0 || p->len >= sizeof(name))
		return -1;
	memcpy(name, p->value, p->len);
	name[p->len] = '\0';
	return dht_subvol_index(xl, name);
}

int dht_set_internal(struct xl_dict **xdata)
{
	if (!*xdata && !(*xdata = xl_dict_new()))
		return -ENOMEM;
	return xl_dict_set_u64(*xdata, XL_KEY_INTERNAL, 1);
}

/* ---- sending to children -------------------------------------------- */

void dht_fan_up(struct xl_call *call, enum xl_fop fop, xl_fill_fn fill,
		xl_gather_fn done)
{
	int subvols[DHT_MAX_SUBVOLS];
	int n = dht_up_subvols(call->xl, subvols);

	if (n == 0) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = fop,
				      .index = subvols,
				      .n = n,
				      .fill = fill,
				      .done = done});
}

void dht_release(struct xl *xl, struct xl_call *call)
{
	int subvols[DHT_MAX_SUBVOLS];
	int n = dht_fd_subvols(xl, call->args.fd, subvols);

	if (call->fop == XL_FOP_RELEASEDIR)
		dht_readdir_release(xl, call->args.fd);
	/* Each child's slot is closed when the fd dies (fd_ctx_free of
	 * protocol/client); this tells the ones that hold it now. */
	for (int k = 0; k < n; k++)
		dht_send(call, call->fop, subvols[k], xl_fill_copy,
			 dht_ignore_cbk, NULL);
	call->reply.ret = 0;
	xl_unwind(call);
}

void dht_ignore_cbk(struct xl_call *call, struct xl_call *child, void *cookie)
{
	(void)call;
	(void)child;
	(void)cookie;
}

/* The completion of a single child that could not be allocated. */
static void dht_send_enomem(struct xl_call *call, enum xl_fop fop,
			    xl_cbk_fn cbk, void *cookie, int err)
{
	struct xl_call stub;

	memset(&stub, 0, sizeof(stub));
	stub.fop = fop;
	stub.parent = call;
	stub.reply.ret = err;
	cbk(call, &stub, cookie);
	xl_reply_clear(&stub.reply);
}

void dht_send(struct xl_call *call, enum xl_fop fop, int subvol,
	      xl_fill_fn fill, xl_cbk_fn cbk, void *cookie)
{
	struct dht_priv *priv = dht_priv(call->xl);
	struct xl_call *c = xl_call_child_fop(call, fop);
	int err = c ? 0 : -ENOMEM;

	if (c && fill)
		err = fill(call, c, subvol, 0, cookie);
	if (err) {
		if (c)
			xl_call_unref(c);
		dht_send_enomem(call, fop, cbk, cookie, err);
		return;
	}
	xl_call_send(c, priv->subvols[subvol], cbk, cookie);
}

/* ---- up / down ------------------------------------------------------- */

/* Called with priv->lock held; returns the event to send (0: none). */
static enum xl_event dht_up_state_locked(struct dht_priv *priv, bool timeout)
{
	int up = 0;

	for (int i = 0; i < priv->n; i++)
		up += priv->up[i];
	if (!priv->sent_up && up > 0 && (up == priv->n || timeout)) {
		priv->sent_up = true;
		return XL_EV_CHILD_UP;
	}
	if (priv->sent_up && up == 0) {
		priv->sent_up = false;
		return XL_EV_CHILD_DOWN;
	}
	return 0;
}

static void *dht_up_timer(void *arg)
{
	struct xl *xl = arg;
	struct dht_priv *priv = dht_priv(xl);
	struct timespec deadline;
	enum xl_event ev = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += priv->up_wait_sec;
	pthread_mutex_lock(&priv->lock);
	while (!priv->stopping && !priv->sent_up &&
	       pthread_cond_timedwait(&priv->cond, &priv->lock, &deadline) !=
		   ETIMEDOUT)
		;
	if (!priv->stopping)
		ev = dht_up_state_locked(priv, true);
	pthread_mutex_unlock(&priv->lock);
	if (ev) {
		xl_warn(xl->name,
			"not every subvolume is up after %d s: "
			"serving with the ones that are",
			priv->up_wait_sec);
		xl_notify_parents(xl, ev);
	}
	return NULL;
}

static int dht_notify(struct xl *xl, enum xl_event ev, struct xl *from)
{
	struct dht_priv *priv = dht_priv(xl);
	enum xl_event send = 0;
	int i;

	if (ev == XL_EV_PARENT_UP) {
		pthread_mutex_lock(&priv->lock);
		if (!priv->timer_started &&
		    pthread_create(&priv->timer, NULL, dht_up_timer, xl) == 0)
			priv->timer_started = true;
		pthread_mutex_unlock(&priv->lock);
		return xl_notify_default(xl, ev, from);
	}
	i = from ? dht_subvol_index(xl, from->name) : -1;
	if (i < 0)
		return 0;
	pthread_mutex_lock(&priv->lock);
	priv->up[i] = ev == XL_EV_CHILD_UP;
	send = dht_up_state_locked(priv, false);
	pthread_cond_broadcast(&priv->cond);
	pthread_mutex_unlock(&priv->lock);
	xl_info(xl->name, "subvolume %s is %s", from->name,
		ev == XL_EV_CHILD_UP ? "up" : "down");
	if (send)
		xl_notify_parents(xl, send);
	return 0;
}

/* ---- init ------------------------------------------------------------ */

/* "10%" or "5%" -> percent; "1G", "512M", "100000" -> bytes. */
static int dht_parse_min_free(const char *s, int64_t *bytes, int *percent,
			      char **err)
{
	size_t len = strlen(s);
	char *end;

	*bytes = 0;
	*percent = 0;
	if (len > 0 && s[len - 1] == '%') {
		long v = strtol(s, &end, 10);

		if (end != s + len - 1 || end == s || v < 0 || v > 100)
			goto bad;
		*percent = (int)v;
		return 0;
	}
	if (xl_parse_size(s, bytes) == 0 && *bytes >= 0)
		return 0;
bad:
	if (asprintf(err,
		     "option 'min-free-disk': '%s' is neither a size "
		     "(1G, 512M) nor a percentage (10%%)",
		     s) < 0)
		*err = NULL;
	return -EINVAL;
}

static int dht_init(struct xl *xl, char **err)
{
	struct dht_priv *priv;
	const char *mfd = NULL;
	int64_t v;
	int ret;

	if (xl->child_count < 1 || xl->child_count > DHT_MAX_SUBVOLS) {
		if (asprintf(err, "cluster/distribute needs 1..%d subvolumes",
			     DHT_MAX_SUBVOLS) < 0)
			*err = NULL;
		return -EINVAL;
	}
	priv = xl_calloc(xl, 1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	priv->n = xl->child_count;
	priv->subvols = xl->children;
	priv->up = xl_calloc(xl, (size_t)priv->n, sizeof(bool));
	priv->sfs = xl_calloc(xl, (size_t)priv->n, sizeof(*priv->sfs));
	if (!priv->up || !priv->sfs) {
		ret = -ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&priv->lock, NULL);
	pthread_cond_init(&priv->cond, NULL);
	xl_opt_str(xl, "min-free-disk", &mfd);
	ret = dht_parse_min_free(mfd ? mfd : "0", &priv->min_free_bytes,
				 &priv->min_free_percent, err);
	if (ret < 0)
		goto fail_lock;
	if (xl_opt_int(xl, "layout-refresh-timeout", &v) == 0)
		priv->layout_refresh_sec = (int)v;
	if (xl_opt_int(xl, "child-up-timeout", &v) == 0)
		priv->up_wait_sec = (int)v;
	priv->exchange_debug_stop = -1;
	if (xl_opt_int(xl, "exchange-debug-stop", &v) == 0)
		priv->exchange_debug_stop = (int)v;
	xl->private = priv;
	return 0;
fail_lock:
	pthread_cond_destroy(&priv->cond);
	pthread_mutex_destroy(&priv->lock);
fail:
	xl_free(xl, priv->up);
	xl_free(xl, priv->sfs);
	xl_free(xl, priv);
	return ret;
}

static void dht_fini(struct xl *xl)
{
	struct dht_priv *priv = dht_priv(xl);

	if (!priv)
		return;
	pthread_mutex_lock(&priv->lock);
	priv->stopping = true;
	pthread_cond_broadcast(&priv->cond);
	pthread_mutex_unlock(&priv->lock);
	if (priv->timer_started)
		pthread_join(priv->timer, NULL);
	pthread_cond_destroy(&priv->cond);
	pthread_mutex_destroy(&priv->lock);
	xl_free(xl, priv->up);
	xl_free(xl, priv->sfs);
	xl_free(xl, priv);
	xl->private = NULL;
}

static void dht_dump(struct xl *xl, FILE *out)
{
	struct dht_priv *priv = dht_priv(xl);

	pthread_mutex_lock(&priv->lock);
	fprintf(out, "subvolumes=%d up=", priv->n);
	for (int i = 0; i < priv->n; i++)
		fprintf(out, "%s%s:%s", i ? "," : "", priv->subvols[i]->name,
			priv->up[i] ? "up" : "down");
	fprintf(out,
		"\nmin_free_bytes=%" PRId64 " min_free_percent=%d\n"
		"linkto_creates=%" PRIu64 " dir_repairs=%" PRIu64
		" migrate_repeats=%" PRIu64 "\n"
		"readdir_prefetch_hits=%" PRIu64
		" readdir_prefetch_waits=%" PRIu64
		" readdir_prefetch_misses=%" PRIu64 "\n",
		priv->min_free_bytes, priv->min_free_percent,
		priv->linkto_creates, priv->repairs, priv->migrate_repeats,
		(uint64_t)atomic_load(&priv->rd_hits),
		(uint64_t)atomic_load(&priv->rd_waits),
		(uint64_t)atomic_load(&priv->rd_misses));
	pthread_mutex_unlock(&priv->lock);
}

static const struct xl_option_desc dht_options[] = {
    {.key = "min-free-disk",
     .type = XL_OPT_STR,
     .default_value = "10%",
     .help = "free space a subvolume keeps, a size (512M, 1G) or a "
	     "percentage (10%); a new file whose hashed subvolume has less "
	     "goes to the one with the most, with a linkto file on the "
	     "hashed one; 0 turns it off"},
    {.key = "layout-refresh-timeout",
     .type = XL_OPT_TIME,
     .default_value = "5",
     .min = 0,
     .max = 3600,
     .help = "seconds a directory's cached layout is used before it is "
	     "read again (so a fix-layout by another client is seen)"},
    {.key = "exchange-debug-stop",
     .type = XL_OPT_INT,
     .default_value = "-1",
     .min = -1,
     .max = 64,
     .help = "testing only: a rename exchange across bricks stops for good "
	     "before this step (0: right after writing its intents), as a "
	     "client that dies there would; -1: never"},
    {.key = "child-up-timeout",
     .type = XL_OPT_TIME,
     .default_value = "5",
     .min = 0,
     .max = 600,
     .help = "seconds to wait at start for every subvolume before "
	     "serving with the ones that are up"},
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "cluster/distribute",
    .description = "one namespace over many subvolumes; files placed by "
		   "the hash of their name in per-directory layouts",
    .init = dht_init,
    .fini = dht_fini,
    .notify = dht_notify,
    .dump = dht_dump,
    .options = dht_options,
    .local_size = sizeof(struct dht_local),
    .local_free = dht_local_free,
    .inode_ctx_free = dht_inode_ctx_free,
    .fd_ctx_free = dht_fd_ctx_free,
    .min_children = 1,
    .max_children = DHT_MAX_SUBVOLS,
    .unhandled = XL_UNHANDLED_REFUSE,
    .traits = XL_TRAIT_MERGES_DIRS,
    .fops =
	{
	    [XL_FOP_LOOKUP] = dht_lookup,
	    [XL_FOP_STAT] = dht_inode_fop,
	    [XL_FOP_SETATTR] = dht_inode_fop,
	    [XL_FOP_ACCESS] = dht_inode_fop,
	    [XL_FOP_READLINK] = dht_inode_fop,
	    [XL_FOP_MKNOD] = dht_mknod,
	    [XL_FOP_MKDIR] = dht_mkdir,
	    [XL_FOP_UNLINK] = dht_unlink,
	    [XL_FOP_RMDIR] = dht_rmdir,
	    [XL_FOP_SYMLINK] = dht_symlink,
	    [XL_FOP_RENAME] = dht_rename,
	    [XL_FOP_LINK] = dht_link,
	    [XL_FOP_CREATE] = dht_create,
	    [XL_FOP_OPEN] = dht_open,
	    [XL_FOP_READ] = dht_fd_fop,
	    [XL_FOP_WRITE] = dht_write,
	    [XL_FOP_FLUSH] = dht_fd_fop,
	    [XL_FOP_RELEASE] = dht_release,
	    [XL_FOP_FSYNC] = dht_fd_fop,
	    [XL_FOP_OPENDIR] = dht_opendir,
	    [XL_FOP_READDIR] = dht_readdir,
	    [XL_FOP_READDIRPLUS] = dht_readdir,
	    [XL_FOP_RELEASEDIR] = dht_release,
	    [XL_FOP_FSYNCDIR] = dht_fd_fop,
	    [XL_FOP_STATFS] = dht_statfs,
	    [XL_FOP_SETXATTR] = dht_inode_fop,
	    [XL_FOP_GETXATTR] = dht_inode_fop,
	    [XL_FOP_LISTXATTR] = dht_inode_fop,
	    [XL_FOP_REMOVEXATTR] = dht_inode_fop,
	    [XL_FOP_LK] = dht_fd_fop,
	    [XL_FOP_FLOCK] = dht_fd_fop,
	    [XL_FOP_FALLOCATE] = dht_fd_fop,
	    [XL_FOP_LSEEK] = dht_fd_fop,
	    [XL_FOP_INODELK] = dht_inode_fop,
	    [XL_FOP_XATTROP] = dht_inode_fop,
	    [XL_FOP_RCHECKSUM] = dht_fd_fop,
	},
};
