/*
 * unify-entry.c - cluster/unify fops that make, remove and move names
 * other than creating files: mkdir, rmdir, unlink, link, rename.
 *
 * A directory is on every child: mkdir and rmdir go to all of them at
 * once and are undone where they succeeded when another child refused,
 * so every child keeps agreeing.  A file stays on its child: link and
 * rename act there; rename removes an old target on another child only
 * after the rename succeeded, so a reader always finds one of the two.
 * Locking: see unify.h.
 */
#include "config.h"

#include "unify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* ---- mkdir ------------------------------------------------------- */

static void unify_mkdir_undone(struct xl_call *call, struct xl_call **children,
			       const int *index, int n, void *cookie)
{
	struct unify_local *local = call->local;

	(void)children;
	(void)n;
	(void)index;
	(void)cookie;
	xl_unwind_error(call, local->saved.ret);
}

static void unify_mkdir_done(struct xl_call *call, struct xl_call **children,
			     const int *index, int n, void *cookie)
{
	struct unify_local *local = call->local;
	uint64_t made = 0;
	int first_ok = -1, err = 0;
	bool all_exist = true;

	(void)cookie;
	for (int k = 0; k < n; k++) {
		int ret = children[k]->reply.ret;

		if (ret == 0) {
			made |= unify_bit(index[k]);
			all_exist = false;
			if (first_ok < 0)
				first_ok = k;
		} else if (ret != -EEXIST) {
			all_exist = false;
			if (!err)
				err = ret;
		}
	}
	if (all_exist) {
		xl_unwind_error(call, -EEXIST);
		return;
	}
	if (err || first_ok < 0) {
		/* Undo: a directory must be on every child or on none. */
		local->saved.ret = err ? err : -EIO;
		unify_fan(call, made, XL_FOP_RMDIR, xl_fill_copy,
			  unify_mkdir_undone);
		return;
	}
	xl_reply_move(&local->saved, &children[first_ok]->reply);
	unify_merge_dir_times(&local->saved.attr, children, n);
	unify_lookup_finish(call, UNIFY_CTX_DIR);
}

void unify_mkdir(struct xl *xl, struct xl_call *call)
{
	if (unify_need_all(call))
		unify_fan(call, unify_all_mask(unify_priv(xl)), XL_FOP_MKDIR,
			  xl_fill_copy, unify_mkdir_done);
}

/* ---- removing entries ---------------------------------------------- */

static void unify_unlink_done(struct xl_call *call, struct xl_call **children,
			      const int *index, int n, void *cookie)
{
	int err = -ENOENT, ok = -1;

	(void)index;
	(void)cookie;
	for (int k = 0; k < n; k++) {
		int ret = children[k]->reply.ret;

		if (ret == 0 && ok < 0)
			ok = k;
		else if (ret < 0 && ret != -ENOENT && err == -ENOENT)
			err = ret;
	}
	if (ok >= 0) {
		xl_reply_move(&call->reply, &children[ok]->reply);
		xl_unwind(call);
		return;
	}
	if (err == -ENOENT && n < unify_priv(call->xl)->n)
		err = -ENOTCONN; /* it may be on the child that is down */
	xl_unwind_error(call, err);
}

/* unlink: on every live child, so a name on two children goes away. */
void unify_unlink(struct xl *xl, struct xl_call *call)
{
	unify_fan(call, unify_up_mask(unify_priv(xl)), XL_FOP_UNLINK,
		  xl_fill_copy, unify_unlink_done);
}

static void unify_rmdir_restored(struct xl_call *call,
				 struct xl_call **children, const int *index,
				 int n, void *cookie)
{
	struct unify_local *local = call->local;

	(void)cookie;
	for (int k = 0; k < n; k++)
		if (children[k]->reply.ret < 0)
			xl_warn(call->xl->name,
				"rmdir %s: could not recreate it on %s: %d",
				call->args.loc.name,
				call->xl->children[index[k]]->name,
				children[k]->reply.ret);
	xl_unwind_error(call, local->saved.ret);
}

static void unify_rmdir_done(struct xl_call *call, struct xl_call **children,
			     const int *index, int n, void *cookie)
{
	struct unify_local *local = call->local;
	uint64_t removed = 0;
	int err = 0;

	(void)cookie;
	for (int k = 0; k < n; k++) {
		int ret = children[k]->reply.ret;

		if (ret == 0)
			removed |= unify_bit(index[k]);
		else if (ret != -ENOENT && (!err || ret == -ENOTEMPTY))
			err = ret;
	}
	if (!err && !removed)
		err = -ENOENT;
	if (!err) {
		xl_unwind_error(call, 0);
		return;
	}
	/* Not empty (or failed) somewhere: put it back where it went. */
	local->saved.ret = err;
	unify_fan(call, removed, XL_FOP_MKDIR, unify_fill_mkdir,
		  unify_rmdir_restored);
}

/* Slots 0..idx-1 looked the directory up, idx.. asked whether rmdir
 * would work (unify_rmdir). */
static void unify_rmdir_looked(struct xl_call *call, struct xl_call **children,
			       const int *index, int n, void *cookie)
{
	struct unify_local *local = call->local;
	int err = -ENOENT, found = -1, half = local->idx;

	(void)index;
	(void)cookie;
	for (int k = 0; k < half && found < 0; k++) {
		struct xl_reply *r = &children[k]->reply;

		if (r->ret == 0)
			found = k;
		else if (r->ret != -ENOENT)
			err = r->ret;
	}
	if (found < 0) {
		xl_unwind_error(call, err);
		return;
	}
	if (!S_ISDIR(children[found]->reply.attr.mode)) {
		xl_unwind_error(call, -ENOTDIR);
		return;
	}
	for (int k = half; k < n; k++) {
		int ret = children[k]->reply.ret;

		if (ret < 0 && ret != -ENOENT) {
			xl_unwind_error(call, ret); /* ENOTEMPTY: untouched */
			return;
		}
	}
	local->attr = children[found]->reply.attr;
	unify_fan(call, unify_all_mask(unify_priv(call->xl)), XL_FOP_RMDIR,
		  xl_fill_copy, unify_rmdir_done);
}

/* First half of the slots: a lookup; second half: a check-only rmdir. */
static int unify_fill_rmdir(struct xl_call *call, struct xl_call *child,
			    int index, int slot, void *cookie)
{
	struct unify_local *local = call->local;

	if (slot >= local->idx)
		return unify_fill_check(call, child, index, slot, cookie);
	child->fop = XL_FOP_LOOKUP;
	return xl_fill_copy(call, child, index, slot, cookie);
}

/*
 * rmdir: in one fan-out, look the directory up on every child (its
 * attributes, to put it back if a racing create makes one child refuse)
 * and ask each whether rmdir would work there; only when every child
 * says yes is it removed from all at once.  A directory that is not
 * empty on one child is never removed from the others.
 */
void unify_rmdir(struct xl *xl, struct xl_call *call)
{
	struct unify_local *local = xl_call_local(call);
	int index[UNIFY_MAX_CHILDREN * 2];
	int n = xl->child_count;

	if (!local) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (!unify_need_all(call))
		return;
	for (int i = 0; i < n; i++)
		index[i] = index[n + i] = i;
	local->idx = n; /* first slot of the second half */
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_RMDIR,
				      .index = index,
				      .n = 2 * n,
				      .fill = unify_fill_rmdir,
				      .done = unify_rmdir_looked});
}

/* ---- link and rename ----------------------------------------------- */

static void unify_link_cbk(struct xl_call *parent, struct xl_call *child,
			   void *cookie)
{
	struct xl_inode *inode = NULL;
	int i = (int)(intptr_t)cookie;

	xl_reply_move(&parent->reply, &child->reply);
	if (parent->reply.ret >= 0)
		inode = unify_ctx_set(parent->xl, parent->reply.attr.gfid,
				      parent->args.loc.inode, (uintptr_t)i + 1);
	xl_unwind(parent);
	unify_inode_put(inode);
}

static void unify_link_resolved(struct xl_call *call, struct xl_call **children,
				const int *index, int n, void *cookie)
{
	struct xl *xl = call->xl;

	(void)cookie;
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret != 0)
			continue;
		if (S_ISDIR(children[k]->reply.attr.mode)) {
			xl_unwind_error(call, -EPERM);
			return;
		}
		int i = index[k];
		xl_wind(call, xl->children[i], unify_link_cbk,
			(void *)(intptr_t)i);
		return;
	}
	xl_unwind_error(call, n < unify_priv(xl)->n ? -ENOTCONN : -ENOENT);
}

/* link: the new name goes on the file's child. */
void unify_link(struct xl *xl, struct xl_call *call)
{
	int where = unify_where(xl, call);

	if (!unify_may_add_name(call))
		return;
	if (where == UNIFY_WHERE_DIR) {
		xl_unwind_error(call, -EPERM);
		return;
	}
	if (where >= 0) {
		if (!unify_child_up(unify_priv(xl), where)) {
			xl_unwind_error(call, -ENOTCONN);
			return;
		}
		xl_wind(call, xl->children[where], unify_link_cbk,
			(void *)(intptr_t)where);
		return;
	}
	unify_fan(call, unify_up_mask(unify_priv(xl)), XL_FOP_LOOKUP,
		  unify_fill_gfid, unify_link_resolved);
}

static void unify_rename_dir_undone(struct xl_call *call,
				    struct xl_call **children, const int *index,
				    int n, void *cookie)
{
	struct unify_local *local = call->local;

	(void)children;
	(void)n;
	(void)index;
	(void)cookie;
	xl_unwind_error(call, local->saved.ret);
}

static void unify_rename_dir_done(struct xl_call *call,
				  struct xl_call **children, const int *index,
				  int n, void *cookie)
{
	struct unify_local *local = call->local;
	uint64_t done = 0;
	int err = 0, ok = -1;

	(void)cookie;
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret == 0) {
			done |= unify_bit(index[k]);
			if (ok < 0)
				ok = k;
		} else if (!err) {
			err = children[k]->reply.ret;
		}
	}
	if (!err) {
		xl_reply_move(&call->reply, &children[ok]->reply);
		xl_unwind(call);
		return;
	}
	/* Put the renamed copies back so every child agrees again. */
	local->saved.ret = err;
	unify_fan(call, done, XL_FOP_RENAME, unify_fill_swap,
		  unify_rename_dir_undone);
}

static void unify_rename_cleaned(struct xl_call *call,
				 struct xl_call **children, const int *index,
				 int n, void *cookie)
{
	struct unify_local *local = call->local;

	(void)cookie;
	for (int k = 0; k < n; k++)
		if (children[k]->reply.ret < 0 &&
		    children[k]->reply.ret != -ENOENT)
			xl_warn(call->xl->name,
				"rename onto %s: old target left on %s: %d",
				call->args.loc2.name,
				call->xl->children[index[k]]->name,
				children[k]->reply.ret);
	xl_reply_move(&call->reply, &local->saved);
	xl_unwind(call);
}

static void unify_rename_file_cbk(struct xl_call *parent, struct xl_call *child,
				  void *cookie)
{
	struct unify_local *local = parent->local;

	(void)cookie;
	if (child->reply.ret < 0 || !local->mask) {
		xl_default_cbk(parent, child, NULL);
		return;
	}
	/* The new name now exists on the source's child; only then drop the
	 * old target on the others, so a reader always finds one of them. */
	xl_reply_move(&local->saved, &child->reply);
	unify_fan(parent, local->mask, XL_FOP_UNLINK, unify_fill_loc2,
		  unify_rename_cleaned);
}

/*
 * RENAME_EXCHANGE where the two objects are not on the same children.
 * Each object stays where it is: two files on different children are
 * each renamed to the other's name on their own child; a file and a
 * directory are exchanged on the file's child and the directory is
 * renamed to the file's old name on every other child.  Not atomic
 * across children; a partial failure is answered with its error.
 */
static void unify_exchange(struct xl_call *call, int src, bool src_dir,
			   uint64_t dst_files)
{
	struct unify_local *local = call->local;
	struct unify_priv *priv = unify_priv(call->xl);
	uint64_t mask;

	if (!src_dir && !dst_files) { /* file <-> directory */
		local->keep = src;
		local->swap = unify_all_mask(priv) & ~unify_bit(src);
		mask = unify_all_mask(priv);
	} else if (src_dir) { /* directory <-> file */
		local->keep = __builtin_ctzll(dst_files);
		local->swap = 0;
		mask = unify_all_mask(priv);
	} else { /* two files on different children */
		local->keep = -1;
		local->swap = dst_files;
		mask = unify_bit(src) | dst_files;
	}
	if (dst_files & (dst_files - 1)) {
		xl_unwind_error(call, -EIO); /* target on two children */
		return;
	}
	if ((mask & unify_up_mask(priv)) != mask) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	unify_fan(call, mask, XL_FOP_RENAME, unify_fill_exchange,
		  unify_dir_change_done);
}

/* Every child said whether the directory rename over a directory would
 * work there: all yes, rename everywhere; else the first refusal. */
static void unify_rename_dir_checked(struct xl_call *call,
				     struct xl_call **children,
				     const int *index, int n, void *cookie)
{
	(void)index;
	(void)cookie;
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret < 0) {
			xl_unwind_error(call, children[k]->reply.ret);
			return;
		}
	}
	unify_fan(call, unify_all_mask(unify_priv(call->xl)), XL_FOP_RENAME,
		  xl_fill_copy, unify_rename_dir_done);
}

/* What the lookups of both names found: decide and act.  Slots
 * 0..half-1 looked up the source, half.. the target (unify_rename). */
static void unify_rename_looked(struct xl_call *call, struct xl_call **children,
				const int *index, int n, void *cookie)
{
	struct unify_local *local = call->local;
	struct xl *xl = call->xl;
	struct unify_priv *priv = unify_priv(xl);
	int half = local->idx, src = -1, err = -ENOENT;
	uint64_t dst_files = 0, dst_dirs = 0;
	bool src_dir = false;

	(void)cookie;
	for (int k = 0; k < n; k++) {
		struct xl_reply *r = &children[k]->reply;
		int i = index[k];

		if (k < half) {
			if (r->ret == 0 && src < 0) {
				src = i;
				src_dir = S_ISDIR(r->attr.mode);
			} else if (r->ret < 0 && r->ret != -ENOENT) {
				err = r->ret;
			}
		} else if (r->ret == 0) {
			if (S_ISDIR(r->attr.mode))
				dst_dirs |= unify_bit(i);
			else
				dst_files |= unify_bit(i);
		}
	}
	if (src < 0) {
		xl_unwind_error(
		    call, err == -ENOENT && half < priv->n ? -ENOTCONN : err);
		return;
	}
	if ((call->args.flags & RENAME_EXCHANGE) && !(dst_files | dst_dirs)) {
		xl_unwind_error(call, -ENOENT);
		return;
	}
	if ((call->args.flags & RENAME_EXCHANGE) &&
	    (src_dir != (dst_dirs != 0) ||
	     (!src_dir && dst_files != unify_bit(src)))) {
		unify_exchange(call, src, src_dir, dst_files);
		return;
	}
	if (src_dir) {
		if (!unify_need_all(call))
			return;
		/* Over a directory: every child checks first (empty there
		 * too?), so no child replaces a directory another refuses. */
		unify_fan(call, unify_all_mask(priv), XL_FOP_RENAME,
			  dst_dirs ? unify_fill_check : xl_fill_copy,
			  dst_dirs ? unify_rename_dir_checked
				   : unify_rename_dir_done);
		return;
	}
	if ((call->args.flags & RENAME_NOREPLACE) && (dst_files | dst_dirs)) {
		xl_unwind_error(call, -EEXIST);
		return;
	}
	/* A new name for the file: a down child may hold it already. */
	if (!(dst_files | dst_dirs) && !unify_may_add_name(call))
		return;
	if (dst_dirs) {
		xl_unwind_error(call, -EISDIR);
		return;
	}
	local->src = src;
	local->mask = dst_files & ~unify_bit(src);
	if (!unify_child_up(priv, src)) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	xl_wind(call, xl->children[src], unify_rename_file_cbk, NULL);
}

/* A lookup of the source (first half of the slots) or the target. */
static int unify_fill_rename_lookup(struct xl_call *call, struct xl_call *child,
				    int index, int slot, void *cookie)
{
	struct unify_local *local = call->local;

	if (slot >= local->idx)
		return unify_fill_loc2(call, child, index, slot, cookie);
	return xl_fill_copy(call, child, index, slot, cookie);
}

/*
 * rename: look both names up on every live child in one fan-out (first
 * half of the slots the source, second half the target), then either
 * rename a directory everywhere or a file on its own child (and drop an
 * old target that lived on another child).
 */
void unify_rename(struct xl *xl, struct xl_call *call)
{
	struct unify_local *local = xl_call_local(call);
	uint64_t up = unify_up_mask(unify_priv(xl));
	int index[UNIFY_MAX_CHILDREN * 2];
	int n = 0;

	if (!local) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	for (int i = 0; i < xl->child_count; i++)
		if (up & unify_bit(i))
			index[n++] = i;
	for (int k = 0; k < n; k++)
		index[n + k] = index[k];
	local->idx = n; /* first slot of the second half */
	local->mask = 0;
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
				      .index = index,
				      .n = 2 * n,
				      .fill = unify_fill_rename_lookup,
				      .done = unify_rename_looked});
}
