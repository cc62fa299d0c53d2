/*
 * unify.c - cluster/unify: one namespace over N subvolumes, no namespace
 * brick, no metadata server.
 *
 * Directories exist on every child: mkdir, rmdir, rename of a directory,
 * setattr and xattr changes go to all of them in parallel and need every
 * child up (ENOTCONN otherwise).  Every other object lives on one child,
 * chosen by the scheduler (unify-sched.c) at create / mknod / symlink and
 * found again by a parallel lookup on all children; the answer is kept in
 * the inode ctx (unify.h).  A lookup that finds a directory missing on
 * some child recreates it there with the same gfid, mode and owner.  A
 * name that is a file on two children (someone edited bricks by hand) is
 * served from the lowest-index child and logged, rate-limited per name.
 *
 * Children going down: the volume is up while one child is; objects on a
 * down child fail with ENOTCONN; new files go to live children.  A lookup
 * that does not find a name on the live children answers ENOENT even if a
 * child is down (so creating new files keeps working).
 *
 * mkdir, rmdir, unlink, link and rename are in unify-entry.c; open
 * directories, readdir, statfs and the free-space refresh in
 * unify-dir.c.  Locking: see unify.h.
 */
#include "config.h"

#include "unify.h"

#include "graph.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void unify_route(struct xl *xl, struct xl_call *call, int where);

/* ---- children ------------------------------------------------------ */

bool unify_child_up(struct unify_priv *priv, int i)
{
	bool up;

	pthread_mutex_lock(&priv->lock);
	up = priv->sched[i].up;
	pthread_mutex_unlock(&priv->lock);
	return up;
}

uint64_t unify_up_mask(struct unify_priv *priv)
{
	uint64_t mask = 0;

	pthread_mutex_lock(&priv->lock);
	for (int i = 0; i < priv->n; i++)
		if (priv->sched[i].up)
			mask |= unify_bit(i);
	pthread_mutex_unlock(&priv->lock);
	return mask;
}

uint64_t unify_all_mask(struct unify_priv *priv)
{
	return priv->n == 64 ? UINT64_MAX : unify_bit(priv->n) - 1;
}

static int unify_child_index(struct xl *xl, struct xl *child)
{
	for (int i = 0; i < xl->child_count; i++)
		if (xl->children[i] == child)
			return i;
	return -1;
}

/* ---- inode ctx ------------------------------------------------------ */

/*
 * Remember where the object gfid is.  Returns a new ref on its inode (or
 * NULL): the caller holds it until it has unwound, so the inode (and the
 * ctx) is still there when the FUSE bridge takes its own ref from the
 * reply.  hint is an inode the call already holds for gfid, if any.
 */
struct xl_inode *unify_ctx_set(struct xl *xl, const uint8_t *gfid,
			       struct xl_inode *hint, uintptr_t value)
{
	struct xl_inode *inode;

	if (xl_gfid_is_null(gfid))
		return NULL;
	if (hint && memcmp(hint->gfid, gfid, XL_GFID_LEN) == 0)
		inode = xl_inode_ref(hint);
	else
		inode = xl_inode_get(xl->graph->itable, gfid);
	if (inode)
		xl_inode_ctx_set(inode, xl, (void *)value);
	return inode;
}

void unify_inode_put(struct xl_inode *inode)
{
	if (inode)
		xl_inode_unref(inode);
}

/* Where the object a by-identity call acts on is: a child index, or
 * UNIFY_WHERE_DIR, or UNIFY_WHERE_NONE when not known yet. */
int unify_where(struct xl *xl, struct xl_call *call)
{
	struct xl_fd *fd = call->args.fd;
	struct xl_inode *inode = NULL, *found = NULL;
	const uint8_t *gfid = call->args.loc.gfid;
	uintptr_t v = 0;
	int where = UNIFY_WHERE_NONE;

	if (fd) {
		if (fd->is_dir)
			return UNIFY_WHERE_DIR;
		gfid = fd->gfid;
		inode = fd->inode;
	} else {
		inode = call->args.loc.inode;
	}
	if (xl_gfid_is_root(gfid))
		return UNIFY_WHERE_DIR;
	if (!inode && !xl_gfid_is_null(gfid))
		inode = found = xl_inode_find(xl->graph->itable, gfid);
	if (inode) {
		v = (uintptr_t)xl_inode_ctx_get(inode, xl);
		if (v == UNIFY_CTX_DIR || (!v && S_ISDIR(inode->type)))
			where = UNIFY_WHERE_DIR;
		else if (v > 0 && v <= (uintptr_t)unify_priv(xl)->n)
			where = (int)v - 1;
	}
	unify_inode_put(found);
	return where;
}

/* ---- fan-out to a set of children ---------------------------------- */

/* ---- fill functions of the fan-outs (xl_fill_fn) -------------------- */

/* A copy of the call's args whose xdata is the child's own: the copy
 * shares the parent's dict, so one to be edited is copied first. */
static int unify_fill_own_xdata(struct xl_call *call, struct xl_call *child)
{
	struct xl_args *a = &child->args;
	struct xl_dict *d;
	int ret = xl_args_copy(a, &call->args);

	if (ret < 0)
		return ret;
	d = a->xdata ? xl_dict_copy(a->xdata) : xl_dict_new();
	if (a->xdata)
		xl_dict_unref(a->xdata);
	a->xdata = d;
	return d ? 0 : -ENOMEM;
}

int unify_fill_check(struct xl_call *call, struct xl_call *child, int index,
		     int slot, void *cookie)
{
	int ret = unify_fill_own_xdata(call, child);

	(void)index;
	(void)slot;
	(void)cookie;
	if (ret < 0)
		return ret;
	return xl_dict_set_u64(child->args.xdata, XL_KEY_CHECK_ONLY, 1) < 0
		   ? -ENOMEM
		   : 0;
}

int unify_fill_gfid(struct xl_call *call, struct xl_call *child, int index,
		    int slot, void *cookie)
{
	int ret = xl_args_copy(&child->args, &call->args);

	(void)index;
	(void)slot;
	(void)cookie;
	if (ret < 0)
		return ret;
	free(child->args.loc.name);
	child->args.loc.name = NULL;
	memset(child->args.loc.pargfid, 0, XL_GFID_LEN);
	return 0;
}

int unify_fill_mkdir(struct xl_call *call, struct xl_call *child, int index,
		     int slot, void *cookie)
{
	struct unify_local *local = call->local;
	struct xl_args *a = &child->args;
	int ret = xl_args_copy(a, &call->args);

	(void)index;
	(void)slot;
	(void)cookie;
	if (ret < 0)
		return ret;
	memcpy(a->loc.gfid, local->attr.gfid, XL_GFID_LEN);
	a->mode = local->attr.mode & 07777;
	a->umask = 0;
	child->cred.uid = local->attr.uid;
	child->cred.gid = local->attr.gid;
	return 0;
}

static void unify_args_swap(struct xl_args *a)
{
	struct xl_loc tmp = a->loc;

	a->loc = a->loc2;
	a->loc2 = tmp;
}

int unify_fill_swap(struct xl_call *call, struct xl_call *child, int index,
		    int slot, void *cookie)
{
	int ret = xl_args_copy(&child->args, &call->args);

	(void)index;
	(void)slot;
	(void)cookie;
	if (ret < 0)
		return ret;
	unify_args_swap(&child->args);
	return 0;
}

int unify_fill_loc2(struct xl_call *call, struct xl_call *child, int index,
		    int slot, void *cookie)
{
	struct xl_args *a = &child->args;
	int ret = xl_args_copy(a, &call->args);

	(void)index;
	(void)slot;
	(void)cookie;
	if (ret < 0)
		return ret;
	xl_loc_clear(&a->loc);
	a->loc = a->loc2;
	memset(&a->loc2, 0, sizeof(a->loc2));
	return 0;
}

int unify_fill_exchange(struct xl_call *call, struct xl_call *child, int index,
			int slot, void *cookie)
{
	struct unify_local *local = call->local;
	struct xl_args *a = &child->args;
	int ret = xl_args_copy(a, &call->args);

	(void)slot;
	(void)cookie;
	if (ret < 0 || index == local->keep)
		return ret;
	a->flags = 0;
	if (local->swap & unify_bit(index))
		unify_args_swap(a);
	return 0;
}

/*
 * Send `fop` to every child in mask at once, each child's args filled by
 * fill (xl_fill_copy or a unify_fill_*); done gets the answers in child
 * order with their child indices.  An empty mask runs done with no
 * answers.  The per-call state is made first: fills and gathers use it.
 */
void unify_fan(struct xl_call *call, uint64_t mask, enum xl_fop fop,
	       xl_fill_fn fill, xl_gather_fn done)
{
	if (!xl_call_local(call)) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	xl_fan(call, &(struct xl_fan){
			 .fop = fop, .mask = mask, .fill = fill, .done = done});
}

/* Wind one fop to child i, refusing at once when it is down. */
static void unify_wind_one(struct xl *xl, struct xl_call *call, int i,
			   xl_cbk_fn cbk)
{
	struct unify_priv *priv = unify_priv(xl);

	if (!unify_child_up(priv, i)) {
		atomic_fetch_add(&priv->enotconn, 1);
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	xl_wind(call, xl->children[i], cbk, NULL);
}

/* Every child must be up for a change to a directory. */
bool unify_need_all(struct xl_call *call)
{
	struct unify_priv *priv = unify_priv(call->xl);

	if (unify_up_mask(priv) == unify_all_mask(priv))
		return true;
	atomic_fetch_add(&priv->enotconn, 1);
	xl_unwind_error(call, -ENOTCONN);
	return false;
}

/* ---- lookup -------------------------------------------------------- */

bool unify_may_add_name(struct xl_call *call)
{
	struct unify_priv *priv = unify_priv(call->xl);

	if (priv->create_while_down)
		return true;
	return unify_need_all(call);
}

static uint64_t unify_name_hash(const uint8_t *pargfid, const char *name)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < XL_GFID_LEN; i++)
		h = (h ^ pargfid[i]) * 1099511628211ull;
	for (const char *p = name ? name : ""; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

/* Log a name found as a file on two children once per name per minute. */
static void unify_warn_dup(struct xl *xl, const struct xl_loc *loc,
			   uint64_t files, int winner)
{
	struct unify_priv *priv = unify_priv(xl);
	uint64_t h = unify_name_hash(loc->pargfid, loc->name);
	struct unify_warned *w = &priv->warned[h % UNIFY_WARN_SLOTS];
	time_t now = time(NULL);
	char pg[XL_GFID_STR_LEN];
	bool warn;

	pthread_mutex_lock(&priv->lock);
	warn = w->hash != h || now - w->when >= 60;
	if (warn) {
		w->hash = h;
		w->when = now;
	}
	pthread_mutex_unlock(&priv->lock);
	if (!warn)
		return;
	atomic_fetch_add(&priv->dup_names, 1);
	xl_warn(xl->name,
		"name is a file on several subvolumes (edited by hand?): "
		"pargfid=%s name=%s subvolumes=0x%" PRIx64
		" serving=%s; remove the wrong copy from its brick",
		xl_gfid_to_str(loc->pargfid, pg), loc->name ? loc->name : "",
		files, xl->children[winner]->name);
}

void unify_lookup_finish(struct xl_call *call, uintptr_t ctx)
{
	struct unify_local *local = call->local;
	struct xl_inode *inode;

	xl_reply_move(&call->reply, &local->saved);
	inode = unify_ctx_set(call->xl, call->reply.attr.gfid,
			      call->args.loc.inode, ctx);
	xl_unwind(call);
	unify_inode_put(inode);
}

static void unify_heal_done(struct xl_call *call, struct xl_call **children,
			    const int *index, int n, void *cookie)
{
	struct unify_local *local = call->local;
	struct xl *xl = call->xl;
	char g[XL_GFID_STR_LEN];

	(void)cookie;
	for (int k = 0; k < n; k++) {
		int ret = children[k]->reply.ret;

		if (ret == 0)
			atomic_fetch_add(&unify_priv(xl)->dir_heals, 1);
		xl_log(ret == 0 || ret == -EEXIST ? XL_LOG_INFO
						  : XL_LOG_WARNING,
		       xl->name,
		       "directory recreated on %s: gfid=%s name=%s ret=%d",
		       xl->children[index[k]]->name,
		       xl_gfid_to_str(local->attr.gfid, g), call->args.loc.name,
		       ret);
	}
	/* Repaired just now: caches above keep nothing of this answer. */
	xl_reply_no_cache(&local->saved);
	unify_lookup_finish(call, UNIFY_CTX_DIR);
}

static void unify_lookup_done(struct xl_call *call, struct xl_call **children,
			      const int *index, int n, void *cookie)
{
	struct unify_local *local = call->local;
	uint64_t dirs = 0, files = 0, missing = 0;
	int first_dir = -1, first_file = -1, err = -ENOENT;
	bool unsure = false;

	(void)cookie;
	for (int k = 0; k < n; k++) {
		struct xl_reply *r = &children[k]->reply;
		int i = index[k];

		if (r->ret == 0 && S_ISDIR(r->attr.mode)) {
			dirs |= unify_bit(i);
			if (first_dir < 0)
				first_dir = k;
		} else if (r->ret == 0) {
			files |= unify_bit(i);
			if (first_file < 0)
				first_file = k;
		} else if (r->ret == -ENOENT) {
			missing |= unify_bit(i);
		} else {
			unsure = true;
			if (err == -ENOENT)
				err = r->ret;
		}
	}
	if (n < unify_priv(call->xl)->n)
		unsure = true; /* a child is down */
	if (first_dir >= 0) {
		xl_reply_move(&local->saved, &children[first_dir]->reply);
		unify_merge_dir_times(&local->saved.attr, children, n);
		if (files)
			xl_warn(call->xl->name,
				"name is a directory and a file: name=%s; "
				"serving the directory",
				call->args.loc.name ? call->args.loc.name : "");
		if (missing && !unsure && call->args.loc.name) {
			local->attr = local->saved.attr;
			unify_fan(call, missing, XL_FOP_MKDIR, unify_fill_mkdir,
				  unify_heal_done);
			return;
		}
		unify_lookup_finish(call, UNIFY_CTX_DIR);
		return;
	}
	if (first_file >= 0) {
		int winner = index[first_file];

		xl_reply_move(&local->saved, &children[first_file]->reply);
		if (files & (files - 1)) {
			unify_warn_dup(call->xl, &call->args.loc, files,
				       winner);
			xl_reply_no_cache(&local->saved);
		}
		unify_lookup_finish(call, (uintptr_t)winner + 1);
		return;
	}
	if (n == 0)
		err = -ENOTCONN;
	else if (err == -ENOTCONN)
		err = -ENOENT; /* not on the live children */
	xl_unwind_error(call, err);
}

static void unify_lookup(struct xl *xl, struct xl_call *call)
{
	unify_fan(call, unify_up_mask(unify_priv(xl)), XL_FOP_LOOKUP,
		  xl_fill_copy, unify_lookup_done);
}

/* ---- by-identity fops ---------------------------------------------- */

/* The answer of a nameless lookup made to find an object. */
static void unify_resolve_done(struct xl_call *call, struct xl_call **children,
			       const int *index, int n, void *cookie)
{
	struct xl_inode *inode = NULL;
	int where = UNIFY_WHERE_NONE, err = -ENOENT;
	bool down = n < unify_priv(call->xl)->n;

	(void)cookie;
	for (int k = 0; k < n && where == UNIFY_WHERE_NONE; k++) {
		struct xl_reply *r = &children[k]->reply;

		if (r->ret == 0)
			where =
			    S_ISDIR(r->attr.mode) ? UNIFY_WHERE_DIR : index[k];
		else if (r->ret != -ENOENT)
			err = r->ret;
	}
	if (where == UNIFY_WHERE_NONE) {
		xl_unwind_error(call, down && err == -ENOENT ? -ENOTCONN : err);
		return;
	}
	inode = unify_ctx_set(
	    call->xl, call->args.fd ? call->args.fd->gfid : call->args.loc.gfid,
	    call->args.fd ? call->args.fd->inode : call->args.loc.inode,
	    where == UNIFY_WHERE_DIR ? UNIFY_CTX_DIR : (uintptr_t)where + 1);
	unify_route(call->xl, call, where);
	unify_inode_put(inode);
}

static void unify_write_cbk(struct xl_call *parent, struct xl_call *child,
			    void *cookie)
{
	struct unify_priv *priv = unify_priv(parent->xl);
	int i = (int)(intptr_t)cookie;

	atomic_fetch_sub(&priv->pending_writes[i], 1);
	xl_default_cbk(parent, child, NULL);
}

static bool unify_fop_changes_dir(enum xl_fop fop)
{
	return fop == XL_FOP_SETATTR || fop == XL_FOP_SETXATTR ||
	       fop == XL_FOP_REMOVEXATTR || fop == XL_FOP_XATTROP;
}

/* A directory is on every child: its times are the newest of its copies
 * (a file made or removed on any child changed it), folded into attr
 * from every successful answer among children. */
void unify_merge_dir_times(struct xl_iatt *attr, struct xl_call **children,
			   int n)
{
	for (int k = 0; k < n; k++) {
		const struct xl_reply *r = &children[k]->reply;

		if (r->ret == 0 && S_ISDIR(r->attr.mode) &&
		    memcmp(r->attr.gfid, attr->gfid, XL_GFID_LEN) == 0)
			xl_iatt_merge_dir(attr, &r->attr);
	}
}

/* A change to a directory, done on every child (or a stat, asked of
 * every live child): answer with the first child's reply and the
 * copies' merged times, or the first error. */
void unify_dir_change_done(struct xl_call *call, struct xl_call **children,
			   const int *index, int n, void *cookie)
{
	bool stat = call->fop == XL_FOP_STAT;
	int pick = 0;

	(void)index;
	(void)cookie;
	/* A change must have worked everywhere: the first error wins.  A
	 * stat answers from the copies that answered (one that went down
	 * meanwhile only leaves its times out). */
	for (int k = 0; k < n; k++) {
		if (stat && children[k]->reply.ret == 0) {
			pick = k;
			break;
		}
		if (!stat && children[k]->reply.ret < 0) {
			pick = k;
			break;
		}
	}
	if (n == 0) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	xl_reply_move(&call->reply, &children[pick]->reply);
	if (call->reply.ret == 0 && (xl_fop_info[call->fop].reply & XL_R_ATTR))
		unify_merge_dir_times(&call->reply.attr, children, n);
	xl_unwind(call);
}

static void unify_route(struct xl *xl, struct xl_call *call, int where)
{
	struct unify_priv *priv = unify_priv(xl);
	uint64_t up;

	if (where == UNIFY_WHERE_NONE) {
		up = unify_up_mask(priv);
		if (xl_gfid_is_null(call->args.fd ? call->args.fd->gfid
						  : call->args.loc.gfid)) {
			xl_unwind_error(call, -EINVAL);
			return;
		}
		if (call->args.fd)
			memcpy(call->args.loc.gfid, call->args.fd->gfid,
			       XL_GFID_LEN);
		unify_fan(call, up, XL_FOP_LOOKUP, unify_fill_gfid,
			  unify_resolve_done);
		return;
	}
	if (where == UNIFY_WHERE_DIR) {
		if (unify_fop_changes_dir(call->fop)) {
			if (unify_need_all(call))
				unify_fan(call, unify_all_mask(priv), call->fop,
					  xl_fill_copy, unify_dir_change_done);
			return;
		}
		up = unify_up_mask(priv);
		if (!up) {
			xl_unwind_error(call, -ENOTCONN);
			return;
		}
		if (call->fop == XL_FOP_STAT) {
			unify_fan(call, up, call->fop, xl_fill_copy,
				  unify_dir_change_done);
			return;
		}
		xl_wind(call, xl->children[__builtin_ctzll(up)], xl_default_cbk,
			NULL);
		return;
	}
	if (call->fop == XL_FOP_WRITE && unify_child_up(priv, where)) {
		atomic_fetch_add(&priv->pending_writes[where], 1);
		xl_wind(call, xl->children[where], unify_write_cbk,
			(void *)(intptr_t)where);
		return;
	}
	unify_wind_one(xl, call, where, xl_default_cbk);
}

/* stat, setattr, access, readlink, open, read, write, flush, release,
 * fsync, xattrs, lk, flock, fallocate, lseek: to where the object is. */
static void unify_by_identity(struct xl *xl, struct xl_call *call)
{
	unify_route(xl, call, unify_where(xl, call));
}

/* ---- creating files ------------------------------------------------ */

static void unify_create_cbk(struct xl_call *parent, struct xl_call *child,
			     void *cookie)
{
	struct xl *xl = parent->xl;
	struct unify_priv *priv = unify_priv(xl);
	int i = (int)(intptr_t)cookie;
	struct xl_inode *inode = NULL;

	xl_reply_move(&parent->reply, &child->reply);
	if (parent->reply.ret >= 0) {
		pthread_mutex_lock(&priv->lock);
		priv->placed[i]++;
		pthread_mutex_unlock(&priv->lock);
		inode = unify_ctx_set(xl, parent->reply.attr.gfid,
				      parent->args.fd ? parent->args.fd->inode
						      : NULL,
				      (uintptr_t)i + 1);
	}
	xl_unwind(parent);
	unify_inode_put(inode);
}

/* create, mknod, symlink: on the child the scheduler picks. */
static void unify_new_file(struct xl *xl, struct xl_call *call)
{
	struct unify_priv *priv = unify_priv(xl);
	struct unify_sched_child snap[UNIFY_MAX_CHILDREN];
	int i;

	if (!unify_may_add_name(call))
		return;
	unify_refresh(xl, false);
	pthread_mutex_lock(&priv->lock);
	for (int k = 0; k < priv->n; k++) {
		snap[k] = priv->sched[k];
		snap[k].pending_writes = atomic_load(&priv->pending_writes[k]);
	}
	priv->rnd = priv->rnd * 1103515245u + 12345u;
	i = unify_sched_pick(&priv->conf, snap, priv->n, &priv->cursor,
			     priv->rnd >> 8);
	pthread_mutex_unlock(&priv->lock);
	if (i < 0) {
		atomic_fetch_add(&priv->enotconn, 1);
		xl_unwind_error(call, i);
		return;
	}
	xl_debug(xl->name, "placing %s on %s", call->args.loc.name,
		 xl->children[i]->name);
	xl_wind(call, xl->children[i], unify_create_cbk, (void *)(intptr_t)i);
}

/* ---- set-up -------------------------------------------------------- */

static void *unify_waiter_main(void *arg)
{
	struct xl *xl = arg;
	struct unify_priv *priv = unify_priv(xl);
	struct timespec until;
	bool tell;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += priv->child_wait;
	pthread_mutex_lock(&priv->lock);
	while (!priv->stopping && !priv->parent_up && priv->up_count < priv->n)
		if (pthread_cond_timedwait(&priv->up_cond, &priv->lock,
					   &until) != 0)
			break;
	tell = !priv->stopping && !priv->parent_up && priv->up_count > 0;
	if (tell)
		priv->parent_up = true;
	pthread_mutex_unlock(&priv->lock);
	if (tell) {
		xl_info(xl->name, "volume up with some of %d subvolumes",
			priv->n);
		xl_notify_parents(xl, XL_EV_CHILD_UP);
	}
	pthread_mutex_lock(&priv->lock);
	priv->waiter_running = false;
	pthread_mutex_unlock(&priv->lock);
	return NULL;
}

/*
 * CHILD_UP / CHILD_DOWN from a child.  The parents hear CHILD_UP when the
 * first child comes up, or, with child-up-timeout > 0, once every child
 * is up or that many seconds after the first one came up (so a fresh
 * mount does not place its first files on the first child to connect);
 * and CHILD_DOWN when the last child went down.
 */
static int unify_notify(struct xl *xl, enum xl_event ev, struct xl *from)
{
	struct unify_priv *priv = unify_priv(xl);
	int i = unify_child_index(xl, from);
	bool tell = false, start_waiter = false, was;

	if (ev == XL_EV_PARENT_UP || i < 0 || !priv)
		return xl_notify_default(xl, ev, from);
	pthread_mutex_lock(&priv->lock);
	was = priv->sched[i].up;
	priv->sched[i].up = ev == XL_EV_CHILD_UP;
	if (ev == XL_EV_CHILD_UP && !was)
		priv->up_count++;
	if (ev == XL_EV_CHILD_DOWN && was) {
		priv->up_count--;
		priv->sched[i].stats_known = false;
	}
	if (ev == XL_EV_CHILD_UP && !priv->parent_up) {
		if (priv->up_count == priv->n || priv->child_wait == 0) {
			priv->parent_up = tell = true;
			pthread_cond_broadcast(&priv->up_cond);
		} else if (!priv->waiter_running) {
			priv->waiter_running = start_waiter = true;
		}
	}
	if (ev == XL_EV_CHILD_DOWN && was && priv->up_count == 0 &&
	    priv->parent_up) {
		priv->parent_up = false;
		tell = true;
	}
	pthread_mutex_unlock(&priv->lock);
	if (was != (ev == XL_EV_CHILD_UP))
		xl_log(ev == XL_EV_CHILD_UP ? XL_LOG_INFO : XL_LOG_WARNING,
		       xl->name, "subvolume %s is %s", from->name,
		       ev == XL_EV_CHILD_UP ? "up" : "down");
	if (ev == XL_EV_CHILD_UP) {
		if (i == 0)
			unify_ticket_take(xl);
		unify_refresh(xl, true);
	}
	if (start_waiter) {
		if (pthread_create(&priv->waiter, NULL, unify_waiter_main,
				   xl) == 0) {
			pthread_detach(priv->waiter);
		} else {
			pthread_mutex_lock(&priv->lock);
			priv->waiter_running = false;
			priv->parent_up = tell = true;
			pthread_mutex_unlock(&priv->lock);
		}
	}
	if (tell)
		xl_notify_parents(xl, ev);
	return 0;
}

static int unify_init_sched(struct xl *xl, struct unify_priv *priv, char **err)
{
	const char *s = NULL;
	int64_t v = 0;
	int ret;

	ret = xl_opt_str(xl, "scheduler", &s);
	if (ret == 0 && unify_sched_parse(s, &priv->conf.kind) != 0)
		ret = -EINVAL;
	if (ret == 0)
		ret = xl_opt_int(xl, "min-free-disk", &v);
	priv->conf.min_free_pct = (unsigned)v;
	if (ret == 0)
		ret = xl_opt_int(xl, "alu.disk-usage.entry-threshold",
				 (int64_t *)&priv->conf.alu_disk_threshold);
	if (ret == 0)
		ret = xl_opt_int(xl, "alu.file-count.entry-threshold",
				 (int64_t *)&priv->conf.alu_files_threshold);
	if (ret == 0)
		ret = xl_opt_int(xl, "alu.write-usage.entry-threshold",
				 (int64_t *)&priv->conf.alu_write_threshold);
	if (ret == 0)
		ret =
		    xl_opt_int(xl, "refresh-interval", &priv->refresh_interval);
	if (ret == 0)
		ret = xl_opt_int(xl, "child-up-timeout", &priv->child_wait);
	if (ret == 0)
		ret = xl_opt_bool(xl, "create-while-down",
				  &priv->create_while_down);
	if (ret < 0)
		return ret;
	priv->conf.local = -1;
	if (xl_opt_str(xl, "local-volume-name", &s) == 0 && s) {
		for (int i = 0; i < xl->child_count; i++)
			if (strcmp(xl->children[i]->name, s) == 0)
				priv->conf.local = i;
		if (priv->conf.local < 0) {
			if (asprintf(err,
				     "cluster/unify: local-volume-name %s is "
				     "not a subvolume of %s",
				     s, xl->name) < 0)
				*err = NULL;
			return -EINVAL;
		}
	}
	if (priv->conf.kind == UNIFY_SCHED_NUFA && priv->conf.local < 0) {
		priv->conf.local = unify_find_local(xl);
		if (priv->conf.local < 0)
			xl_warn(xl->name,
				"nufa: no subvolume is on this "
				"machine and local-volume-name is not set: "
				"new files go round-robin");
		else
			xl_info(xl->name, "nufa: local subvolume is %s",
				xl->children[priv->conf.local]->name);
	}
	return 0;
}

static int unify_init(struct xl *xl, char **err)
{
	struct unify_priv *priv;
	int ret;

	if (xl->child_count < 1 || xl->child_count > UNIFY_MAX_CHILDREN) {
		if (asprintf(err, "cluster/unify needs 1 to %d subvolumes",
			     UNIFY_MAX_CHILDREN) < 0)
			*err = NULL;
		return -EINVAL;
	}
	priv = xl_calloc(xl, 1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	priv->xl = xl;
	priv->n = xl->child_count;
	priv->rnd = (unsigned)getpid() ^ (unsigned)time(NULL);
	priv->cursor = unify_ticket_identity() % (unsigned)priv->n;
	ret = unify_init_sched(xl, priv, err);
	if (ret < 0) {
		xl_free(xl, priv);
		return ret;
	}
	pthread_mutex_init(&priv->lock, NULL);
	pthread_cond_init(&priv->up_cond, NULL);
	xl->private = priv;
	return 0;
}

static void unify_fini(struct xl *xl)
{
	struct unify_priv *priv = unify_priv(xl);
	bool running = true;

	if (!priv)
		return;
	/* The detached child-up waiter clears waiter_running last. */
	for (int k = 0; running && k < 1000; k++) {
		pthread_mutex_lock(&priv->lock);
		priv->stopping = true;
		pthread_cond_broadcast(&priv->up_cond);
		running = priv->waiter_running;
		pthread_mutex_unlock(&priv->lock);
		if (running)
			usleep(1000);
	}
	/* A statfs refresh still out holds a pointer to priv: give it a
	 * moment (the children fail their calls when they stop). */
	for (int k = 0; k < 200 && atomic_load(&priv->refresh_in); k++)
		usleep(10000);
	pthread_cond_destroy(&priv->up_cond);
	pthread_mutex_destroy(&priv->lock);
	xl_free(xl, priv);
	xl->private = NULL;
}

static void unify_dump(struct xl *xl, FILE *out)
{
	struct unify_priv *priv = unify_priv(xl);

	if (!priv)
		return;
	pthread_mutex_lock(&priv->lock);
	fprintf(out,
		"unify: scheduler=%s subvolumes=%d up=%d min-free-disk=%u%% "
		"cursor=%u ticket=%" PRIu64 "%s local=%s\n",
		unify_sched_name(priv->conf.kind), priv->n, priv->up_count,
		priv->conf.min_free_pct, priv->cursor, priv->ticket,
		priv->ticket_failed ? "(none: from identity)" : "",
		priv->conf.local >= 0 ? xl->children[priv->conf.local]->name
				      : "-");
	for (int i = 0; i < priv->n; i++) {
		const struct unify_sched_child *c = &priv->sched[i];

		fprintf(
		    out,
		    "unify: subvolume=%s state=%s stats=%s free=%" PRIu64
		    " total=%" PRIu64 " files=%" PRIu64
		    " pending-writes=%" PRIu64 " placed=%" PRIu64 " room=%s\n",
		    xl->children[i]->name, c->up ? "up" : "down",
		    c->stats_known ? "known" : "unknown", c->free_bytes,
		    c->total_bytes, c->files,
		    (uint64_t)atomic_load(&priv->pending_writes[i]),
		    priv->placed[i],
		    unify_sched_has_room(c, priv->conf.min_free_pct) ? "yes"
								     : "no");
	}
	pthread_mutex_unlock(&priv->lock);
	fprintf(out,
		"unify: duplicate-names=%" PRIu64 " dir-heals=%" PRIu64
		" enotconn=%" PRIu64 "\n",
		(uint64_t)atomic_load(&priv->dup_names),
		(uint64_t)atomic_load(&priv->dir_heals),
		(uint64_t)atomic_load(&priv->enotconn));
}

static void unify_local_free(void *p)
{
	struct unify_local *local = p;

	xl_reply_clear(&local->saved);
}

static const char *const unify_sched_choices[] = {"rr", "random", "alu", "nufa",
						  NULL};

static const struct xl_option_desc unify_options[] = {
    {
	.key = "scheduler",
	.type = XL_OPT_ENUM,
	.default_value = "rr",
	.choices = unify_sched_choices,
	.help = "where new files go: rr (round-robin), random, alu (least "
		"usage: free space, then file count, then pending writes, "
		"within the alu.* thresholds) or nufa (the subvolume named by "
		"local-volume-name while it has room, else round-robin)",
    },
    {
	.key = "min-free-disk",
	.type = XL_OPT_PERCENT,
	.default_value = "5",
	.help = "a subvolume with less free space than this share of its "
		"size gets no new files while another one has room",
    },
    {
	.key = "local-volume-name",
	.type = XL_OPT_STR,
	.help = "nufa: the subvolume new files prefer; must name one of "
		"the subvolumes (default: the first subvolume whose "
		"protocol/client remote-host is an address of this machine)",
    },
    {
	.key = "alu.disk-usage.entry-threshold",
	.type = XL_OPT_SIZE,
	.default_value = "1G",
	.min = 0,
	.max = (int64_t)1 << 50,
	.help = "alu: a subvolume whose free space is more than this below "
		"the emptiest subvolume's gets no new files",
    },
    {
	.key = "alu.file-count.entry-threshold",
	.type = XL_OPT_INT,
	.default_value = "10000",
	.min = 0,
	.max = 1000000000,
	.help = "alu: among those, one holding more than this many files "
		"above the least-filled one gets no new files",
    },
    {
	.key = "alu.write-usage.entry-threshold",
	.type = XL_OPT_INT,
	.default_value = "64",
	.min = 0,
	.max = 1000000,
	.help = "alu: among those, one with more than this many writes in "
		"flight above the least-busy one gets no new files",
    },
    {
	.key = "refresh-interval",
	.type = XL_OPT_TIME,
	.default_value = "5",
	.min = 0,
	.max = 3600,
	.help = "seconds between statfs refreshes of the subvolumes' free "
		"space (asked in the background when a file is created; 0 = "
		"at every create)",
    },
    {
	.key = "create-while-down",
	.type = XL_OPT_BOOL,
	.default_value = "off",
	.help = "allow new names (create, mknod, symlink, link, rename onto a "
		"new name) while a subvolume is down; it may hold the same "
		"name, which then exists twice when it returns (off: such "
		"calls fail with ENOTCONN until every subvolume is up)",
    },
    {
	.key = "child-up-timeout",
	.type = XL_OPT_TIME,
	.default_value = "0",
	.min = 0,
	.max = 600,
	.help = "seconds to wait for every subvolume before the volume "
		"reports itself up with only some of them (0: up as soon as "
		"one subvolume is)",
    },
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "cluster/unify",
    .description = "one namespace over several subvolumes: directories on "
		   "all, each file on one chosen by a scheduler",
    .init = unify_init,
    .fini = unify_fini,
    .notify = unify_notify,
    .dump = unify_dump,
    .options = unify_options,
    .local_size = sizeof(struct unify_local),
    .local_free = unify_local_free,
    .fd_ctx_free = unify_dirfd_free,
    .min_children = 1,
    .max_children = UNIFY_MAX_CHILDREN,
    .unhandled = XL_UNHANDLED_REFUSE,
    .traits = XL_TRAIT_MERGES_DIRS,
    .fops =
	{
	    [XL_FOP_LOOKUP] = unify_lookup,
	    [XL_FOP_STAT] = unify_by_identity,
	    [XL_FOP_SETATTR] = unify_by_identity,
	    [XL_FOP_ACCESS] = unify_by_identity,
	    [XL_FOP_READLINK] = unify_by_identity,
	    [XL_FOP_MKNOD] = unify_new_file,
	    [XL_FOP_MKDIR] = unify_mkdir,
	    [XL_FOP_UNLINK] = unify_unlink,
	    [XL_FOP_RMDIR] = unify_rmdir,
	    [XL_FOP_SYMLINK] = unify_new_file,
	    [XL_FOP_RENAME] = unify_rename,
	    [XL_FOP_LINK] = unify_link,
	    [XL_FOP_CREATE] = unify_new_file,
	    [XL_FOP_OPEN] = unify_by_identity,
	    [XL_FOP_READ] = unify_by_identity,
	    [XL_FOP_WRITE] = unify_by_identity,
	    [XL_FOP_FLUSH] = unify_by_identity,
	    [XL_FOP_RELEASE] = unify_by_identity,
	    [XL_FOP_FSYNC] = unify_by_identity,
	    [XL_FOP_OPENDIR] = unify_opendir,
	    [XL_FOP_READDIR] = unify_readdir,
	    [XL_FOP_READDIRPLUS] = unify_readdir,
	    [XL_FOP_RELEASEDIR] = unify_releasedir,
	    [XL_FOP_FSYNCDIR] = unify_fsyncdir,
	    [XL_FOP_STATFS] = unify_statfs,
	    [XL_FOP_SETXATTR] = unify_by_identity,
	    [XL_FOP_GETXATTR] = unify_by_identity,
	    [XL_FOP_LISTXATTR] = unify_by_identity,
	    [XL_FOP_REMOVEXATTR] = unify_by_identity,
	    [XL_FOP_LK] = unify_by_identity,
	    [XL_FOP_FLOCK] = unify_by_identity,
	    [XL_FOP_FALLOCATE] = unify_by_identity,
	    [XL_FOP_LSEEK] = unify_by_identity,
	    [XL_FOP_INODELK] = unify_by_identity,
	    [XL_FOP_XATTROP] = unify_by_identity,
	    [XL_FOP_RCHECKSUM] = unify_by_identity,
	},
};
