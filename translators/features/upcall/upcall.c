/*
 * upcall.c - features/upcall: on the brick, remember which clients looked
 * at which inodes, and when one client changes an inode or a directory's
 * entries, tell every other client that looked at it (a cache notice up
 * to protocol/server, which sends it on that client's connection).
 *
 * It sits below protocol/server (brickd: posix -> locks -> upcall ->
 * io-threads), where every call carries its client's id (XL_KEY_CLIENT_ID,
 * set for the fops the fop table tags XL_F_CLIENT_TAG).  Calls without an
 * id (the brick's own cleanup) change things for everybody: every
 * recorded client is told.
 *
 * The rule that makes a client cache safe: a read is noted before it goes
 * down when its inode is known (by gfid: stat, lookup by gfid, getxattr,
 * open, readdirplus's directory), so a change answered after that is
 * always told to the reader.  A lookup by name is noted on the directory
 * before (for negative and positive entries) and on the inode it found
 * after; if that inode changed meanwhile (upcall_table_note's `since`),
 * the reader itself is told, so a reply read before the change cannot
 * stay cached.  Changes are told when the child answered them, with the
 * inode's new generation (the table's, one per inode, bumped on every
 * change).  The client side (performance/md-cache) refuses to fill its
 * cache from a reply that was wound before a notice for that inode came.
 *
 * Interest lasts cache-invalidation-timeout seconds after the last look;
 * a client cache must not keep anything longer than that without asking
 * again (md-cache-timeout <= cache-invalidation-timeout).
 *
 * Locking: priv->lock guards the table; notices are sent after it is
 * released, on the thread that answers the fop.
 */
#include "config.h"

#include "buf.h"
#include "log.h"
#include "upcall-table.h"
#include "xdata-keys.h"
#include "xlator.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct upcall_priv {
	pthread_mutex_t lock;
	struct upcall_table table; /* lock */
	atomic_uint_fast64_t notices_sent;
};

/* Per-call state: who asked, and the table's seq when it went down. */
struct upcall_local {
	uint64_t client_id;
	uint64_t seq;
	uint8_t removed[16]; /* unlink, rmdir: the inode that lost a name */
};

static uint64_t upcall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t upcall_client_id(const struct xl_call *call)
{
	uint64_t id = 0;

	if (call->args.xdata)
		xl_dict_get_u64(call->args.xdata, XL_KEY_CLIENT_ID, &id);
	return id;
}

static void upcall_send(struct xl *xl, const struct upcall_target *tg, int n,
			uint32_t what, const uint8_t *pargfid, const char *name)
{
	struct upcall_priv *priv = xl->private;

	for (int i = 0; i < n; i++) {
		struct xl_upcall up = {.what = what,
				       .gen = tg[i].gen,
				       .name = name,
				       .client_id = tg[i].client_id};

		memcpy(up.gfid, tg[i].gfid, XL_GFID_LEN);
		if (pargfid)
			memcpy(up.pargfid, pargfid, XL_GFID_LEN);
		xl_upcall_parents(xl, &up);
	}
	atomic_fetch_add(&priv->notices_sent, (uint64_t)n);
}

/* Note that client id looks at gfid; tell whoever must drop it. */
static void upcall_note(struct xl *xl, const uint8_t *gfid, uint64_t id,
			uint64_t since)
{
	struct upcall_priv *priv = xl->private;
	struct upcall_target tg[UPCALL_TARGETS_MAX];
	int n;

	if (id == 0 || xl_gfid_is_null(gfid))
		return;
	pthread_mutex_lock(&priv->lock);
	n = upcall_table_note(&priv->table, gfid, id, upcall_now_ms(), since,
			      tg);
	pthread_mutex_unlock(&priv->lock);
	/* A lost place or a change under the read: drop it all. */
	upcall_send(xl, tg, n, XL_UP_ATTR | XL_UP_XATTR, NULL, NULL);
}

/* Client id changed gfid (what: XL_UP_*); entry changes name the entry. */
static void upcall_changed(struct xl *xl, const uint8_t *gfid, uint64_t id,
			   uint32_t what, const uint8_t *pargfid,
			   const char *name)
{
	struct upcall_priv *priv = xl->private;
	struct upcall_target tg[UPCALL_TARGETS_MAX];
	uint64_t gen;
	int n;

	if (xl_gfid_is_null(gfid))
		return;
	pthread_mutex_lock(&priv->lock);
	n = upcall_table_changed(&priv->table, gfid, id, upcall_now_ms(), &gen,
				 tg);
	pthread_mutex_unlock(&priv->lock);
	/* targets of another (evicted) inode drop everything of it */
	for (int i = 0; i < n; i++) {
		if (memcmp(tg[i].gfid, gfid, XL_GFID_LEN) == 0)
			upcall_send(xl, &tg[i], 1, what, pargfid, name);
		else
			upcall_send(xl, &tg[i], 1, XL_UP_ATTR | XL_UP_XATTR,
				    NULL, NULL);
	}
}

static const uint8_t *upcall_target_gfid(const struct xl_call *call,
					 const struct xl_call *child)
{
	if (child && child->reply.ret >= 0 &&
	    (xl_fop_info[call->fop].reply & XL_R_ATTR) &&
	    !xl_gfid_is_null(child->reply.attr.gfid))
		return child->reply.attr.gfid;
	return call->args.loc.gfid;
}

/* gfid was removed and its readers told: its record is not needed. */
static void upcall_forget(struct xl *xl, const uint8_t *gfid)
{
	struct upcall_priv *priv = xl->private;

	if (xl_gfid_is_null(gfid))
		return;
	pthread_mutex_lock(&priv->lock);
	upcall_table_forget(&priv->table, gfid);
	pthread_mutex_unlock(&priv->lock);
}

/* ---- reads: note the reader ------------------------------------------- */

static void upcall_read_cbk(struct xl_call *call, struct xl_call *child,
			    void *cookie)
{
	struct upcall_local *lo = cookie;

	if (child->reply.ret >= 0) {
		/* the inode a lookup by name found */
		if (call->fop == XL_FOP_LOOKUP || call->fop == XL_FOP_STAT)
			upcall_note(call->xl, upcall_target_gfid(call, child),
				    lo->client_id, lo->seq);
		if (call->fop == XL_FOP_READDIRPLUS)
			for (uint32_t i = 0; i < child->reply.entry_count; i++)
				upcall_note(call->xl,
					    child->reply.entries[i].attr.gfid,
					    lo->client_id, lo->seq);
	}
	xl_default_cbk(call, child, NULL);
}

static void upcall_read(struct xl *xl, struct xl_call *call)
{
	struct upcall_priv *priv = xl->private;
	struct upcall_local *lo = xl_call_local(call);

	if (!lo) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	lo->client_id = upcall_client_id(call);
	pthread_mutex_lock(&priv->lock);
	lo->seq = priv->table.seq;
	pthread_mutex_unlock(&priv->lock);
	/* by name: the directory (its entries); by gfid: the inode */
	if (call->args.loc.name && call->fop == XL_FOP_LOOKUP)
		upcall_note(xl, call->args.loc.pargfid, lo->client_id,
			    UINT64_MAX);
	else
		upcall_note(xl, call->args.loc.gfid, lo->client_id, UINT64_MAX);
	xl_wind(call, xl->children[0], upcall_read_cbk, lo);
}

/* ---- changes: tell the others ------------------------------------------ */

/* The entry pargfid/name changed: its directory's readers are told. */
static void upcall_entry_changed(struct xl *xl, const uint8_t *pargfid,
				 const char *name, uint64_t id)
{
	if (name)
		upcall_changed(xl, pargfid, id, XL_UP_ENTRY | XL_UP_ATTR,
			       pargfid, name);
}

/* The inode an unlink or rmdir removed a name of: the one the client
 * named, else the one storage/posix read (XL_KEY_REMOVED, asked for by
 * upcall_ask_removed; copied into the call's local, then deleted from
 * the reply so it does not leave the brick). */
static const uint8_t *upcall_removed_gfid(struct xl_call *call,
					  struct xl_call *child)
{
	struct upcall_local *lo = xl_call_local(call);
	const struct xl_dict_pair *p =
	    child->reply.xdata ? xl_dict_get(child->reply.xdata, XL_KEY_REMOVED)
			       : NULL;

	if (p && p->len == XL_GFID_LEN && lo)
		memcpy(lo->removed, p->value, XL_GFID_LEN);
	if (p)
		xl_dict_del(child->reply.xdata, XL_KEY_REMOVED);
	if (!xl_gfid_is_null(call->args.loc.gfid))
		return call->args.loc.gfid;
	return lo ? lo->removed : call->args.loc.gfid;
}

/* Ask storage/posix which inode an unlink or rmdir removes (the call's
 * own xdata gets the key: a copy when there was one, it may be shared
 * with the caller). */
static void upcall_ask_removed(struct xl_call *call)
{
	struct xl_dict *d =
	    call->args.xdata ? xl_dict_copy(call->args.xdata) : xl_dict_new();

	if (!d)
		return;
	if (xl_dict_set_u64(d, XL_KEY_REMOVED, 1) != 0) {
		xl_dict_unref(d);
		return;
	}
	xl_dict_unref(call->args.xdata);
	call->args.xdata = d;
}

static void upcall_change_cbk(struct xl_call *call, struct xl_call *child,
			      void *cookie)
{
	struct upcall_local *lo = cookie;
	const struct xl_args *a = &call->args;
	struct xl *xl = call->xl;
	uint64_t id = lo->client_id;
	const uint8_t *removed;

	if (child->reply.ret < 0) {
		xl_default_cbk(call, child, NULL);
		return;
	}
	switch (call->fop) {
	case XL_FOP_SETATTR:
	case XL_FOP_WRITE:
	case XL_FOP_FALLOCATE:
		upcall_changed(xl, upcall_target_gfid(call, child), id,
			       XL_UP_ATTR, NULL, NULL);
		break;
	case XL_FOP_SETXATTR:
	case XL_FOP_REMOVEXATTR:
		upcall_changed(xl, a->loc.gfid, id, XL_UP_XATTR | XL_UP_ATTR,
			       NULL, NULL);
		break;
	case XL_FOP_CREATE:
	case XL_FOP_MKNOD:
	case XL_FOP_MKDIR:
	case XL_FOP_SYMLINK:
		upcall_entry_changed(xl, a->loc.pargfid, a->loc.name, id);
		break;
	case XL_FOP_LINK:
		upcall_entry_changed(xl, a->loc2.pargfid, a->loc2.name, id);
		upcall_changed(xl, a->loc.gfid, id, XL_UP_ATTR, NULL, NULL);
		break;
	case XL_FOP_UNLINK:
	case XL_FOP_RMDIR:
		removed = upcall_removed_gfid(call, child);
		upcall_entry_changed(xl, a->loc.pargfid, a->loc.name, id);
		upcall_changed(xl, removed, id,
			       XL_UP_ATTR | XL_UP_XATTR | XL_UP_DELETED,
			       a->loc.pargfid, a->loc.name);
		upcall_forget(xl, removed);
		break;
	case XL_FOP_RENAME:
		upcall_entry_changed(xl, a->loc.pargfid, a->loc.name, id);
		upcall_entry_changed(xl, a->loc2.pargfid, a->loc2.name, id);
		upcall_changed(xl, upcall_target_gfid(call, child), id,
			       XL_UP_ATTR, NULL, NULL);
		/* a replaced target, when the client knew it */
		upcall_changed(xl, a->loc2.gfid, id,
			       XL_UP_ATTR | XL_UP_XATTR | XL_UP_DELETED,
			       a->loc2.pargfid, a->loc2.name);
		upcall_forget(xl, a->loc2.gfid);
		break;
	default:
		break;
	}
	xl_default_cbk(call, child, NULL);
}

/* Fops that add, remove or move names (loc, and loc2 for link and
 * rename, are in directories). */
static bool upcall_entry_fop(int fop)
{
	switch (fop) {
	case XL_FOP_CREATE:
	case XL_FOP_MKNOD:
	case XL_FOP_MKDIR:
	case XL_FOP_SYMLINK:
	case XL_FOP_LINK:
	case XL_FOP_UNLINK:
	case XL_FOP_RMDIR:
	case XL_FOP_RENAME:
		return true;
	default:
		return false;
	}
}

static void upcall_change(struct xl *xl, struct xl_call *call)
{
	struct upcall_local *lo = xl_call_local(call);

	if (!lo) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	lo->client_id = upcall_client_id(call);
	/* The changer holds the inode too: it learns of others' changes. */
	if (call->fop != XL_FOP_UNLINK && call->fop != XL_FOP_RMDIR)
		upcall_note(xl, call->args.loc.gfid, lo->client_id, UINT64_MAX);
	else if (xl_gfid_is_null(call->args.loc.gfid))
		upcall_ask_removed(call);
	/* And the directories whose names it changes: a client cache that
	 * knows all of a directory's names (md-cache's complete directories)
	 * keeps knowing them while it only adds and removes names there. */
	if (upcall_entry_fop(call->fop)) {
		if (call->args.loc.name)
			upcall_note(xl, call->args.loc.pargfid, lo->client_id,
				    UINT64_MAX);
		if (call->args.loc2.name)
			upcall_note(xl, call->args.loc2.pargfid, lo->client_id,
				    UINT64_MAX);
	}
	xl_wind(call, xl->children[0], upcall_change_cbk, lo);
}

/* ---- translator ---------------------------------------------------------- */

static int upcall_init(struct xl *xl, char **err)
{
	struct upcall_priv *priv;
	int64_t timeout = 60, max = 65536;
	int ret;

	xl_opt_int(xl, "cache-invalidation-timeout", &timeout);
	xl_opt_int(xl, "max-inodes", &max);
	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	ret = upcall_table_init(&priv->table, xl, (uint32_t)max,
				(uint64_t)timeout * 1000u);
	if (ret != 0) {
		free(priv);
		*err = strdup("no memory for the upcall table");
		return ret;
	}
	pthread_mutex_init(&priv->lock, NULL);
	xl->private = priv;
	return 0;
}

static void upcall_fini(struct xl *xl)
{
	struct upcall_priv *priv = xl->private;

	if (!priv)
		return;
	upcall_table_fini(&priv->table);
	pthread_mutex_destroy(&priv->lock);
	free(priv);
	xl->private = NULL;
}

static void upcall_dump(struct xl *xl, FILE *out)
{
	struct upcall_priv *priv = xl->private;

	if (!priv)
		return;
	pthread_mutex_lock(&priv->lock);
	fprintf(out, "inodes=%u\nmax-inodes=%u\nchanges=%" PRIu64 "\n",
		priv->table.count, priv->table.max, priv->table.seq);
	pthread_mutex_unlock(&priv->lock);
	fprintf(out, "notices-sent=%" PRIu64 "\n",
		(uint64_t)atomic_load(&priv->notices_sent));
}

static const struct xl_option_desc upcall_options[] = {
    {.key = "cache-invalidation-timeout",
     .type = XL_OPT_TIME,
     .default_value = "60",
     .min = 1,
     .max = 86400,
     .help = "seconds a client's interest in an inode lasts after its last "
	     "look; client caches must not keep anything longer "
	     "(md-cache-timeout)"},
    {.key = "max-inodes",
     .type = XL_OPT_INT,
     .default_value = "65536",
     .min = 16,
     .max = 16777216,
     .help = "inodes recorded at most; the clients of one evicted to make "
	     "room are told to drop it"},
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "features/upcall",
    .description = "records which clients cache which inodes and tells them "
		   "when another client changes one",
    .init = upcall_init,
    .fini = upcall_fini,
    .dump = upcall_dump,
    .options = upcall_options,
    .local_size = sizeof(struct upcall_local),
    .min_children = 1,
    .max_children = 1,
    .fops =
	{
	    [XL_FOP_LOOKUP] = upcall_read,
	    [XL_FOP_STAT] = upcall_read,
	    [XL_FOP_GETXATTR] = upcall_read,
	    [XL_FOP_OPEN] = upcall_read,
	    [XL_FOP_READDIRPLUS] = upcall_read,
	    [XL_FOP_SETATTR] = upcall_change,
	    [XL_FOP_WRITE] = upcall_change,
	    [XL_FOP_FALLOCATE] = upcall_change,
	    [XL_FOP_SETXATTR] = upcall_change,
	    [XL_FOP_REMOVEXATTR] = upcall_change,
	    [XL_FOP_CREATE] = upcall_change,
	    [XL_FOP_MKNOD] = upcall_change,
	    [XL_FOP_MKDIR] = upcall_change,
	    [XL_FOP_SYMLINK] = upcall_change,
	    [XL_FOP_LINK] = upcall_change,
	    [XL_FOP_UNLINK] = upcall_change,
	    [XL_FOP_RMDIR] = upcall_change,
	    [XL_FOP_RENAME] = upcall_change,
	},
};
