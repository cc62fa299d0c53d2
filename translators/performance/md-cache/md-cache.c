/*
 * md-cache.c - performance/md-cache: answer lookup, stat and the getxattr
 * of chosen names (security.capability, which the kernel asks for before
 * every write, among them) from a cache of what earlier replies said, and
 * "no such name" / "no such xattr" too, instead of a round trip to the
 * bricks each.
 *
 * Coherence: an item lives md-cache-timeout seconds at most.  With bricks
 * that run features/upcall, another client's change comes as a cache
 * notice (xl upcall from protocol/client) and drops what it names at once,
 * so the timeout can be long (it must stay <= the bricks'
 * cache-invalidation-timeout).  This client's own changes drop what they
 * touch before they go down and again when they come back.  A reply fills
 * the cache only if nothing it fills was invalidated since the fop went
 * down (generations, md-cache-table.h), so a reply read on the brick
 * before a change cannot re-fill the cache after the change's notice.  A
 * brick lost or back (XL_UP_FORGET_ALL from protocol/client, CHILD_DOWN
 * or CHILD_UP here) empties the cache.  open always goes to the bricks
 * and drops the file's attributes first (close-to-open): what comes after
 * an open is what the bricks say; flush (close) drops them too.  Notices
 * pass on up (the FUSE bridge tells the kernel).
 *
 * Where it sits: above performance/write-behind.  Every write through this
 * client drops the file's attributes here, and what is cached is what
 * write-behind answered (a lookup's size already raised to the end of its
 * writes in flight, a stat answered once they landed), so a cached size is
 * never below what this client wrote.  Below write-behind it would cache
 * the bricks' sizes while writes are still in flight.
 *
 * Complete directories (md-cache-table.h): a directory this client made
 * knows all its names, so the lookup before each create or mkdir in it
 * is answered ENOENT here; each of this client's own entry changes there
 * that settled (no notice for the directory came while it was out) keeps
 * it so, anything else makes it ask the bricks again.
 *
 * Calls with xdata (a translator above asking for something) pass through
 * without being answered here; their replies still fill.  A reply marked
 * XL_KEY_NO_CACHE (a replica copy to heal or in split-brain, a directory
 * unify or distribute just repaired) fills nothing and drops what was
 * cached for its object, so the next call meets the translator that
 * decides: a split-brain's EIO is never hidden behind a cached stat.
 *
 * Locking: priv->lock guards the table; never held across a wind, an
 * unwind or an upcall.
 */
#include "config.h"

#include "buf.h"
#include "log.h"
#include "md-cache.h"
#include "xdata-keys.h"
#include "xlator.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Per-call state: the generation and time the fop went down with. */
struct mdc_local {
	uint64_t since;
	uint64_t wound_ms;
	/* A change: */
	uint64_t parent_seq;  /* its parent's inval_seq after it, or 0 */
	bool parent_complete; /* the parent was, when it went down */
	uint64_t parent_complete_expires; /* until then */
	uint64_t child_seq; /* a mkdir's new directory's inval_seq, or 0 */
	enum { MDC_NO_VICTIM, MDC_VICTIM, MDC_VICTIM_UNKNOWN } victim_is;
	uint8_t victim[XL_GFID_LEN]; /* the inode losing the name it removes */
};

uint64_t mdc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool mdc_xattr_cached(struct mdc_priv *priv, const char *name)
{
	for (int i = 0; name && i < priv->nxattr_names; i++)
		if (strcmp(priv->xattr_names[i], name) == 0)
			return true;
	return false;
}

/* The inode a call acts on by identity, or NULL. */
static const uint8_t *mdc_call_gfid(const struct xl_call *call)
{
	return xl_gfid_is_null(call->args.loc.gfid) ? NULL
						    : call->args.loc.gfid;
}

static void mdc_inval(struct xl *xl, const uint8_t *gfid, uint32_t what,
		      const uint8_t *pargfid, const char *name)
{
	struct mdc_priv *priv = xl->private;

	pthread_mutex_lock(&priv->lock);
	mdc_invalidate(&priv->table, gfid, what, pargfid, name);
	pthread_mutex_unlock(&priv->lock);
}

/* Sample the generation for a fop going down (touching the inode it is
 * on, so its fill is judged by that inode's own invalidations). */
static struct mdc_local *mdc_begin(struct xl *xl, struct xl_call *call,
				   const uint8_t *touch)
{
	struct mdc_priv *priv = xl->private;
	struct mdc_local *lo = xl_call_local(call);

	if (!lo)
		return NULL;
	pthread_mutex_lock(&priv->lock);
	if (touch)
		mdc_table_touch(&priv->table, touch);
	lo->since = mdc_table_seq(&priv->table);
	pthread_mutex_unlock(&priv->lock);
	lo->wound_ms = mdc_now_ms();
	return lo;
}

/* ---- reads answered from the cache ------------------------------------- */

/* A reply a translator below marked XL_KEY_NO_CACHE: keep nothing of it
 * and drop what is cached for the object and the name (a stat answered
 * from here would hide the split-brain's EIO, or a heal's outcome). */
static void mdc_no_cache(struct xl_call *call, const struct xl_reply *r)
{
	const struct xl_args *a = &call->args;
	const uint8_t *gfid = mdc_call_gfid(call);
	const uint32_t all = XL_UP_ATTR | XL_UP_XATTR;

	if (gfid)
		mdc_inval(call->xl, gfid, all, NULL, NULL);
	if ((xl_fop_info[call->fop].reply & XL_R_ATTR) &&
	    !xl_gfid_is_null(r->attr.gfid))
		mdc_inval(call->xl, r->attr.gfid, all, NULL, NULL);
	if (call->fop == XL_FOP_LOOKUP && a->loc.name)
		mdc_inval(call->xl, NULL, XL_UP_ENTRY, a->loc.pargfid,
			  a->loc.name);
	if (call->fop == XL_FOP_READDIRPLUS)
		for (uint32_t i = 0; i < r->entry_count; i++)
			if (!xl_gfid_is_null(r->entries[i].attr.gfid))
				mdc_inval(call->xl, r->entries[i].attr.gfid,
					  all, NULL, NULL);
}

uint32_t mdc_fill_dirents_locked(struct mdc_priv *priv, const uint8_t *dir,
				 const struct xl_reply *r, uint64_t since,
				 uint64_t wound_ms)
{
	uint32_t lost = 0;

	for (uint32_t i = 0; i < r->entry_count; i++) {
		const struct xl_dirent *d = &r->entries[i];

		if (!d->name || strcmp(d->name, ".") == 0 ||
		    strcmp(d->name, "..") == 0)
			continue;
		if (xl_gfid_is_null(d->attr.gfid) ||
		    !xl_name_is_valid(d->name) ||
		    mdc_fill_attr(&priv->table, &d->attr, since, wound_ms) !=
			0 ||
		    (dir && mdc_fill_entry(&priv->table, dir, d->name,
					   d->attr.gfid, since, wound_ms) != 0))
			lost++;
	}
	return lost;
}

static void mdc_fill_cbk(struct xl_call *call, struct xl_call *child,
			 void *cookie)
{
	struct mdc_priv *priv = call->xl->private;
	struct mdc_local *lo = cookie;
	const struct xl_args *a = &call->args;
	const struct xl_reply *r = &child->reply;

	if (r->ret >= 0 && xl_dict_get(r->xdata, XL_KEY_NO_CACHE)) {
		mdc_no_cache(call, r);
		xl_default_cbk(call, child, NULL);
		return;
	}
	pthread_mutex_lock(&priv->lock);
	switch (call->fop) {
	case XL_FOP_LOOKUP:
		if (r->ret >= 0 &&
		    mdc_fill_attr(&priv->table, &r->attr, lo->since,
				  lo->wound_ms) == 0 &&
		    a->loc.name)
			mdc_fill_entry(&priv->table, a->loc.pargfid,
				       a->loc.name, r->attr.gfid, lo->since,
				       lo->wound_ms);
		else if (r->ret == -ENOENT && a->loc.name)
			mdc_fill_entry(&priv->table, a->loc.pargfid,
				       a->loc.name, NULL, lo->since,
				       lo->wound_ms);
		break;
	case XL_FOP_STAT:
	case XL_FOP_OPEN:
		if (r->ret >= 0)
			mdc_fill_attr(&priv->table, &r->attr, lo->since,
				      lo->wound_ms);
		break;
	case XL_FOP_GETXATTR:
		if (r->ret >= 0 && r->data && r->data->size == (size_t)r->ret &&
		    mdc_call_gfid(call))
			mdc_fill_xattr(&priv->table, a->loc.gfid, a->xname,
				       true, r->data->data,
				       (uint32_t)r->data->size, lo->since,
				       lo->wound_ms);
		else if (r->ret == -ENODATA && mdc_call_gfid(call))
			mdc_fill_xattr(&priv->table, a->loc.gfid, a->xname,
				       false, NULL, 0, lo->since, lo->wound_ms);
		break;
	case XL_FOP_READDIRPLUS:
		if (r->ret >= 0)
			mdc_fill_dirents_locked(priv, mdc_call_gfid(call), r,
						lo->since, lo->wound_ms);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&priv->lock);
	xl_default_cbk(call, child, NULL);
}

static void mdc_wind_fill(struct xl *xl, struct xl_call *call,
			  const uint8_t *touch)
{
	struct mdc_local *lo = mdc_begin(xl, call, touch);

	if (!lo) {
		xl_default_fop(xl, call);
		return;
	}
	xl_wind(call, xl->children[0], mdc_fill_cbk, lo);
}

static void mdc_lookup(struct xl *xl, struct xl_call *call)
{
	struct mdc_priv *priv = xl->private;
	const struct xl_loc *loc = &call->args.loc;
	enum mdc_lookup found = MDC_MISS;
	uint64_t now = mdc_now_ms();
	struct xl_iatt ia;

	if (!call->args.xdata) {
		pthread_mutex_lock(&priv->lock);
		if (loc->name)
			found = mdc_get_entry(&priv->table, loc->pargfid,
					      loc->name, now, &ia);
		else if (mdc_call_gfid(call) &&
			 mdc_get_attr(&priv->table, loc->gfid, now, &ia))
			found = MDC_FOUND;
		pthread_mutex_unlock(&priv->lock);
	}
	if (found == MDC_NOENT) {
		xl_unwind_error(call, -ENOENT);
		return;
	}
	if (found == MDC_FOUND) {
		call->reply.ret = 0;
		call->reply.attr = ia;
		xl_unwind(call);
		return;
	}
	if (!call->args.xdata)
		mdc_prefetch_on_miss(xl, call);
	mdc_wind_fill(xl, call, loc->name ? loc->pargfid : mdc_call_gfid(call));
}

static void mdc_stat(struct xl *xl, struct xl_call *call)
{
	struct mdc_priv *priv = xl->private;
	const uint8_t *gfid = mdc_call_gfid(call);
	struct xl_iatt ia;
	bool hit = false;

	if (gfid && !call->args.xdata) {
		pthread_mutex_lock(&priv->lock);
		hit = mdc_get_attr(&priv->table, gfid, mdc_now_ms(), &ia);
		pthread_mutex_unlock(&priv->lock);
	}
	if (hit) {
		call->reply.ret = 0;
		call->reply.attr = ia;
		xl_unwind(call);
		return;
	}
	mdc_wind_fill(xl, call, gfid);
}

static void mdc_getxattr(struct xl *xl, struct xl_call *call)
{
	struct mdc_priv *priv = xl->private;
	const uint8_t *gfid = mdc_call_gfid(call);
	const void *value = NULL;
	uint32_t len = 0;
	int found = -ENOENT;

	if (!gfid || call->args.xdata ||
	    !mdc_xattr_cached(priv, call->args.xname)) {
		xl_default_fop(xl, call);
		return;
	}
	pthread_mutex_lock(&priv->lock);
	found = mdc_get_xattr(&priv->table, gfid, call->args.xname,
			      mdc_now_ms(), &value, &len);
	if (found == 1) {
		/* the bridge answers size queries and ERANGE from it */
		call->reply.data = xl_iobuf_from(value, len);
		if (!call->reply.data)
			found = -ENOMEM;
	}
	pthread_mutex_unlock(&priv->lock);
	if (found == 0) {
		xl_unwind_error(call, -ENODATA);
		return;
	}
	if (found == 1) {
		call->reply.ret = (int32_t)len;
		xl_unwind(call);
		return;
	}
	mdc_wind_fill(xl, call, gfid);
}

/* close-to-open: an open meets the bricks, and what it says is fresh. */
static void mdc_open(struct xl *xl, struct xl_call *call)
{
	const uint8_t *gfid = mdc_call_gfid(call);

	if (gfid)
		mdc_inval(xl, gfid, XL_UP_ATTR | XL_UP_XATTR, NULL, NULL);
	mdc_wind_fill(xl, call, gfid);
}

static void mdc_readdirplus(struct xl *xl, struct xl_call *call)
{
	mdc_wind_fill(xl, call, mdc_call_gfid(call));
}

/* ---- changes: drop what they touch ------------------------------------- */

/* Which inode call removes a name of (unlink, rmdir, a rename over an
 * existing name), by name only: into lo->victim when the cache knows
 * it.  priv->lock held. */
static void mdc_find_victim_locked(struct mdc_priv *priv,
				   const struct xl_call *call,
				   struct mdc_local *lo)
{
	const struct xl_loc *l =
	    call->fop == XL_FOP_RENAME ? &call->args.loc2 : &call->args.loc;
	struct xl_iatt ia;

	lo->victim_is = MDC_NO_VICTIM;
	if (call->fop != XL_FOP_UNLINK && call->fop != XL_FOP_RMDIR &&
	    call->fop != XL_FOP_RENAME)
		return;
	if (!l->name)
		return;
	if (!xl_gfid_is_null(l->gfid)) {
		memcpy(lo->victim, l->gfid, XL_GFID_LEN);
		lo->victim_is = MDC_VICTIM;
		return;
	}
	if (mdc_entry_known(&priv->table, l->pargfid, l->name, lo->victim)) {
		lo->victim_is = MDC_VICTIM;
		return;
	}
	/* a rename onto a free name replaces nothing; the cache cannot
	 * tell a free name from an unknown one unless it cached ENOENT */
	if (call->fop == XL_FOP_RENAME &&
	    mdc_get_entry(&priv->table, l->pargfid, l->name, mdc_now_ms(),
			  &ia) == MDC_NOENT)
		return;
	lo->victim_is = MDC_VICTIM_UNKNOWN;
}

/* What a change drops: before it goes down (so no read in flight
 * re-fills the old value) and after it came back (so no read that went
 * down meanwhile does).  The inode losing a name was found before (the
 * first invalidation drops the entry that says which it is).
 * priv->lock held. */
static void mdc_change_inval_locked(struct mdc_priv *priv,
				    const struct xl_call *call,
				    const struct mdc_local *lo)
{
	const struct xl_args *a = &call->args;
	const uint8_t *gfid = mdc_call_gfid(call);
	struct mdc_table *t = &priv->table;
	uint32_t inode_what = XL_UP_ATTR;

	switch (call->fop) {
	case XL_FOP_SETXATTR:
	case XL_FOP_REMOVEXATTR:
		inode_what |= XL_UP_XATTR;
		break;
	case XL_FOP_UNLINK:
	case XL_FOP_RMDIR:
		inode_what |= XL_UP_XATTR | XL_UP_DELETED;
		break;
	default:
		break;
	}
	if (gfid)
		mdc_invalidate(t, gfid, inode_what, NULL, NULL);
	if (lo->victim_is == MDC_VICTIM)
		/* its link count and ctime changed */
		mdc_invalidate(t, lo->victim, XL_UP_ATTR, NULL, NULL);
	else if (lo->victim_is == MDC_VICTIM_UNKNOWN)
		/* an inode lost a name and nothing here says which: its
		 * link count may be cached anywhere */
		mdc_invalidate(t, NULL, XL_UP_FORGET_ALL, NULL, NULL);
	if (a->loc.name)
		mdc_invalidate(t, NULL, XL_UP_ENTRY, a->loc.pargfid,
			       a->loc.name);
	if (a->loc2.name)
		mdc_invalidate(
		    t, xl_gfid_is_null(a->loc2.gfid) ? NULL : a->loc2.gfid,
		    XL_UP_ENTRY | XL_UP_ATTR, a->loc2.pargfid, a->loc2.name);
}

/* Entry changes in one directory whose reply can carry the directory's
 * new attributes (storage/posix, XL_KEY_POSTPARENT). */
static bool mdc_postparent_fop(int fop)
{
	return fop == XL_FOP_CREATE || fop == XL_FOP_MKNOD ||
	       fop == XL_FOP_MKDIR || fop == XL_FOP_SYMLINK ||
	       fop == XL_FOP_UNLINK || fop == XL_FOP_RMDIR;
}

/*
 * Until when a complete parent stays complete after this client's own
 * entry change in it settled.  On one brick (or one replica set) the
 * change renewed this client's interest in the parent on every brick
 * that holds it (features/upcall notes the changer), so the parent's
 * names stay known for another timeout from when the change went down.
 * Over distribute or unify the change reached one brick of several:
 * the others' record of this client may lapse, so the time its
 * completeness began (the mkdir) still bounds it.
 */
static uint64_t mdc_complete_until(const struct mdc_priv *priv,
				   const struct mdc_local *lo)
{
	uint64_t renewed = lo->wound_ms + priv->table.timeout_ms;

	if (priv->postparent && renewed > lo->parent_complete_expires)
		return renewed;
	return lo->parent_complete_expires;
}

/*
 * What the reply of an entry change tells, kept when nothing invalidated
 * the parent between this change's first invalidation and now (its
 * inval_seq is still the one that invalidation gave it; another client's
 * change in the directory meanwhile came as a notice and bumped it): the
 * parent's new attributes, and which inode a new name names (so a later
 * unlink of it knows its victim instead of dropping the whole cache).
 * The check, this change's second invalidation and the fills are one
 * locked step, so no notice can come between them.
 */
static void mdc_change_done_locked(struct mdc_priv *priv, struct xl_call *call,
				   struct xl_reply *r, struct mdc_local *lo)
{
	const uint8_t *pargfid = call->args.loc.pargfid;
	struct mdc_table *t = &priv->table;
	struct xl_iatt ia;
	bool settled, parent, child;

	settled = lo->parent_seq && r->ret >= 0 &&
		  mdc_inval_seq(t, pargfid) == lo->parent_seq;
	parent = settled && priv->postparent &&
		 xl_dict_get_iatt(r->xdata, XL_KEY_POSTPARENT, &ia) == 0 &&
		 memcmp(ia.gfid, pargfid, XL_GFID_LEN) == 0;
	child = lo->child_seq && r->ret >= 0 &&
		memcmp(r->attr.gfid, call->args.loc.gfid, XL_GFID_LEN) == 0 &&
		mdc_inval_seq(t, r->attr.gfid) == lo->child_seq;
	mdc_change_inval_locked(priv, call, lo);
	if (parent)
		mdc_set_attr(t, &ia, mdc_now_ms());
	if (settled && call->fop != XL_FOP_UNLINK &&
	    call->fop != XL_FOP_RMDIR && !xl_gfid_is_null(r->attr.gfid))
		mdc_fill_entry(t, pargfid, call->args.loc.name, r->attr.gfid,
			       mdc_table_seq(t), mdc_now_ms());
	if (settled && lo->parent_complete)
		mdc_set_complete(t, pargfid, mdc_complete_until(priv, lo));
	/* A new directory is empty; the bricks noted this client's interest
	 * in it when the mkdir reached them (features/upcall). */
	if (child)
		mdc_set_complete(t, r->attr.gfid, lo->wound_ms + t->timeout_ms);
	if (r->xdata)
		xl_dict_del(r->xdata, XL_KEY_POSTPARENT);
}

static void mdc_change_cbk(struct xl_call *call, struct xl_call *child,
			   void *cookie)
{
	struct mdc_priv *priv = call->xl->private;
	struct xl_reply *r = &child->reply;

	pthread_mutex_lock(&priv->lock);
	mdc_change_done_locked(priv, call, r, cookie);
	/* a new node's or a renamed one's gfid may only be known now */
	if (r->ret >= 0 && (xl_fop_info[call->fop].reply & XL_R_ATTR) &&
	    !xl_gfid_is_null(r->attr.gfid))
		mdc_invalidate(&priv->table, r->attr.gfid, XL_UP_ATTR, NULL,
			       NULL);
	pthread_mutex_unlock(&priv->lock);
	xl_default_cbk(call, child, NULL);
}

/* Ask the brick for the parent's attributes after the change: the
 * call's own xdata gets the key (a copy when there was one: the dict may
 * be shared with the caller). */
static void mdc_ask_postparent(struct xl_call *call)
{
	struct xl_dict *d =
	    call->args.xdata ? xl_dict_copy(call->args.xdata) : xl_dict_new();

	if (!d)
		return;
	if (xl_dict_set_u64(d, XL_KEY_POSTPARENT, 1) != 0) {
		xl_dict_unref(d);
		return;
	}
	xl_dict_unref(call->args.xdata);
	call->args.xdata = d;
}

static void mdc_change(struct xl *xl, struct xl_call *call)
{
	struct mdc_priv *priv = xl->private;
	struct mdc_local *lo = xl_call_local(call);
	const struct xl_loc *loc = &call->args.loc;
	bool entry = mdc_postparent_fop(call->fop) && loc->name;
	bool new_dir = call->fop == XL_FOP_MKDIR && loc->name &&
		       !xl_gfid_is_null(loc->gfid);

	if (!lo) {
		/* no room to remember what to drop again: drop it all */
		mdc_inval(xl, NULL, XL_UP_FORGET_ALL, NULL, NULL);
		xl_default_fop(xl, call);
		return;
	}
	lo->wound_ms = mdc_now_ms();
	pthread_mutex_lock(&priv->lock);
	lo->parent_complete =
	    entry && mdc_is_complete(&priv->table, loc->pargfid, lo->wound_ms,
				     &lo->parent_complete_expires);
	/* so a notice about the new directory before the reply counts */
	if (new_dir)
		mdc_table_touch(&priv->table, loc->gfid);
	mdc_find_victim_locked(priv, call, lo);
	mdc_change_inval_locked(priv, call, lo);
	lo->parent_seq = entry ? mdc_inval_seq(&priv->table, loc->pargfid) : 0;
	lo->child_seq = new_dir ? mdc_inval_seq(&priv->table, loc->gfid) : 0;
	pthread_mutex_unlock(&priv->lock);
	if (lo->parent_seq && priv->postparent)
		mdc_ask_postparent(call);
	xl_wind(call, xl->children[0], mdc_change_cbk, lo);
}

/* ---- events ---------------------------------------------------------------
 */

static void mdc_upcall(struct xl *xl, struct xl *from,
		       const struct xl_upcall *up)
{
	(void)from;
	mdc_inval(xl, up->gfid, up->what, up->pargfid, up->name);
	xl_upcall_parents(xl, up);
}

static int mdc_notify(struct xl *xl, enum xl_event ev, struct xl *from)
{
	if (ev == XL_EV_CHILD_DOWN || ev == XL_EV_CHILD_UP)
		mdc_inval(xl, NULL, XL_UP_FORGET_ALL, NULL, NULL);
	return xl_notify_default(xl, ev, from);
}

/* ---- translator ------------------------------------------------------------
 */

static void mdc_fini(struct xl *xl);

/* Whether a translator below xl puts several bricks' directories
 * together (XL_TRAIT_MERGES_DIRS): one brick's attributes of a directory
 * are then not the volume's, so the brick's postparent cannot be used. */
static bool mdc_merges_below(const struct xl *xl)
{
	for (int i = 0; i < xl->child_count; i++) {
		if ((xl->children[i]->desc->traits & XL_TRAIT_MERGES_DIRS) ||
		    mdc_merges_below(xl->children[i]))
			return true;
	}
	return false;
}

static int mdc_init(struct xl *xl, char **err)
{
	struct mdc_priv *priv;
	int64_t timeout = 1, max = 65536, prefetch_after = 8;
	const char *names = "";
	char *copy, *save = NULL;
	int ret;

	xl_opt_int(xl, "md-cache-timeout", &timeout);
	xl_opt_int(xl, "max-entries", &max);
	xl_opt_str(xl, "cache-xattrs", &names);
	xl_opt_int(xl, "prefetch-dir-after", &prefetch_after);
	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	pthread_mutex_init(&priv->lock, NULL);
	xl->private = priv;
	priv->postparent = !mdc_merges_below(xl);
	priv->prefetch_after = (uint32_t)prefetch_after;
	ret = mdc_table_init(&priv->table, xl, (uint32_t)max,
			     (uint64_t)timeout * 1000u);
	copy = strdup(names);
	if (ret != 0 || !copy) {
		free(copy);
		*err = strdup("no memory for the cache");
		mdc_fini(xl);
		return -ENOMEM;
	}
	for (char *tok = strtok_r(copy, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (priv->nxattr_names == MDC_XATTR_NAMES_MAX) {
			if (asprintf(err, "cache-xattrs: more than %d names",
				     MDC_XATTR_NAMES_MAX) < 0)
				*err = NULL;
			free(copy);
			mdc_fini(xl);
			return -EINVAL;
		}
		priv->xattr_names[priv->nxattr_names] = strdup(tok);
		if (priv->xattr_names[priv->nxattr_names])
			priv->nxattr_names++;
	}
	free(copy);
	return 0;
}

static void mdc_fini(struct xl *xl)
{
	struct mdc_priv *priv = xl->private;

	if (!priv)
		return;
	mdc_table_fini(&priv->table);
	for (int i = 0; i < priv->nxattr_names; i++)
		free(priv->xattr_names[i]);
	pthread_mutex_destroy(&priv->lock);
	free(priv);
	xl->private = NULL;
}

static void mdc_dump(struct xl *xl, FILE *out)
{
	struct mdc_priv *priv = xl->private;
	struct mdc_stats st;
	uint32_t count, max;

	if (!priv)
		return;
	pthread_mutex_lock(&priv->lock);
	st = priv->table.stats;
	count = priv->table.count;
	max = priv->table.max;
	pthread_mutex_unlock(&priv->lock);
	fprintf(out,
		"cached-inodes=%u\nmax-entries=%u\nhits=%" PRIu64
		"\nmisses=%" PRIu64 "\nrefused-fills=%" PRIu64
		"\nevictions=%" PRIu64 "\ninvalidations=%" PRIu64
		"\nparent-fills=%" PRIu64 "\ncomplete-noents=%" PRIu64
		"\npostparent=%s\n",
		count, max, st.hits, st.misses, st.refused_fills, st.evictions,
		st.invalidations, st.parent_fills, st.complete_noents,
		priv->postparent ? "on" : "off");
	fprintf(out,
		"dir-prefetches=%" PRIu64 "\ndir-prefetches-whole=%" PRIu64
		"\ndir-prefetched-names=%" PRIu64 "\n",
		(uint64_t)atomic_load(&priv->prefetches),
		(uint64_t)atomic_load(&priv->prefetches_whole),
		(uint64_t)atomic_load(&priv->prefetched_names));
}

static const struct xl_option_desc mdc_options[] = {
    {.key = "md-cache-timeout",
     .type = XL_OPT_TIME,
     .default_value = "1",
     .min = 0,
     .max = 3600,
     .help = "seconds a cached attribute, xattr or entry is used at most; "
	     "with bricks that send cache notices (features/upcall) it can "
	     "be long, up to their cache-invalidation-timeout; 0 caches "
	     "nothing"},
    {.key = "max-entries",
     .type = XL_OPT_INT,
     .default_value = "65536",
     .min = 16,
     .max = 16777216,
     .help = "inodes cached at most (least recently used go first)"},
    {.key = "prefetch-dir-after",
     .type = XL_OPT_INT,
     .default_value = "8",
     .min = 0,
     .max = 1000000,
     .help = "lookups by name in one directory that miss the cache before "
	     "the directory is read whole into it (readdirplus, in the "
	     "background), so the next names are answered here; a directory "
	     "read to its end is known whole until a change in it; 0 never "
	     "reads ahead"},
    {.key = "cache-xattrs",
     .type = XL_OPT_STR,
     .default_value = "security.capability,security.selinux,"
		      "system.posix_acl_access,system.posix_acl_default",
     .help = "comma list of the xattr names whose values (or absence) "
	     "are cached"},
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "performance/md-cache",
    .description = "caches attributes, chosen xattrs and entries (positive "
		   "and negative), coherent by cache notices",
    .init = mdc_init,
    .fini = mdc_fini,
    .notify = mdc_notify,
    .dump = mdc_dump,
    .options = mdc_options,
    .local_size = sizeof(struct mdc_local),
    .min_children = 1,
    .max_children = 1,
    .upcall = mdc_upcall,
    .fops =
	{
	    [XL_FOP_LOOKUP] = mdc_lookup,
	    [XL_FOP_STAT] = mdc_stat,
	    [XL_FOP_GETXATTR] = mdc_getxattr,
	    [XL_FOP_OPEN] = mdc_open,
	    [XL_FOP_READDIRPLUS] = mdc_readdirplus,
	    [XL_FOP_SETATTR] = mdc_change,
	    [XL_FOP_WRITE] = mdc_change,
	    [XL_FOP_FALLOCATE] = mdc_change,
	    [XL_FOP_FLUSH] = mdc_change,
	    [XL_FOP_FSYNC] = mdc_change,
	    [XL_FOP_SETXATTR] = mdc_change,
	    [XL_FOP_REMOVEXATTR] = mdc_change,
	    [XL_FOP_CREATE] = mdc_change,
	    [XL_FOP_MKNOD] = mdc_change,
	    [XL_FOP_MKDIR] = mdc_change,
	    [XL_FOP_SYMLINK] = mdc_change,
	    [XL_FOP_LINK] = mdc_change,
	    [XL_FOP_UNLINK] = mdc_change,
	    [XL_FOP_RMDIR] = mdc_change,
	    [XL_FOP_RENAME] = mdc_change,
	    [XL_FOP_XATTROP] = mdc_change,
	},
};
