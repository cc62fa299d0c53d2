/*
 * unify-dir.c - cluster/unify: open directories, the merged readdir,
 * statfs and the background free-space refresh.
 *
 * Readdir lists child 0, then child 1, and so on.  A d_off handed up
 * encodes (child index, the child's own d_off) so a listing resumes from
 * any offset it returned (xl_doff_*).  Each name is listed once: a
 * name of child i is skipped when a lower child has it.  To know that,
 * the directory's fd keeps the set of names of the lower children
 * (struct unify_dirfd): filled as a sequential listing goes by, or, when
 * a listing resumes somewhere else, by reading the lower children first.
 * The set costs memory in proportion to the directory's size while it is
 * open; it is dropped when the listing starts again at offset 0.
 *
 * Offsets: xl_doff_encode (xlators-api/merge.h, shared with
 * cluster/distribute).
 */
#include "config.h"

#include "unify.h"

#include "merge.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define UNIFY_FILL_SIZE (128u << 10)

struct unify_name {
	char *name; /* NULL: free slot */
	int idx;    /* lowest child that has it */
};

/* The state of one open directory (the fd's ctx slot).  lock guards every
 * field except opened, which is set before the fd is handed up. */
struct unify_dirfd {
	pthread_mutex_t lock;
	uint64_t opened;   /* children whose opendir succeeded */
	uint64_t complete; /* children whose names are all in the set */
	struct unify_name *slots;
	uint32_t cap, count;
	int track_idx;	 /* child being listed sequentially from 0, or -1 */
	uint64_t *batch; /* that child's d_offs of the last batch */
	uint32_t batch_count;
};

/* ---- name set -------------------------------------------------------- */

static uint64_t unify_str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* The slot holding name, or the free slot where it would go. */
static struct unify_name *unify_names_slot(struct unify_dirfd *d,
					   const char *name)
{
	uint32_t i = (uint32_t)unify_str_hash(name) & (d->cap - 1);

	while (d->slots[i].name && strcmp(d->slots[i].name, name) != 0)
		i = (i + 1) & (d->cap - 1);
	return &d->slots[i];
}

/* The lowest child known to have name, or -1. */
static int unify_names_find_locked(struct unify_dirfd *d, const char *name)
{
	struct unify_name *s;

	if (!d->cap)
		return -1;
	s = unify_names_slot(d, name);
	return s->name ? s->idx : -1;
}

static int unify_names_grow_locked(struct unify_dirfd *d)
{
	struct unify_name *old = d->slots;
	uint32_t old_cap = d->cap;
	uint32_t cap = old_cap ? old_cap * 2 : 256;

	d->slots = calloc(cap, sizeof(*d->slots));
	if (!d->slots) {
		d->slots = old;
		return -ENOMEM;
	}
	d->cap = cap;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i].name)
			*unify_names_slot(d, old[i].name) = old[i];
	free(old);
	return 0;
}

static int unify_names_add_locked(struct unify_dirfd *d, const char *name,
				  int idx)
{
	struct unify_name *s;

	if ((d->count + 1) * 2 > d->cap && unify_names_grow_locked(d) < 0)
		return -ENOMEM;
	s = unify_names_slot(d, name);
	if (s->name) {
		if (idx < s->idx)
			s->idx = idx;
		return 0;
	}
	s->name = strdup(name);
	if (!s->name)
		return -ENOMEM;
	s->idx = idx;
	d->count++;
	return 0;
}

static void unify_names_clear_locked(struct unify_dirfd *d)
{
	for (uint32_t i = 0; i < d->cap; i++)
		free(d->slots[i].name);
	free(d->slots);
	d->slots = NULL;
	d->cap = d->count = 0;
}

void unify_dirfd_free(struct xl *xl, void *ctx)
{
	struct unify_dirfd *d = ctx;

	(void)xl;
	if (!d)
		return;
	unify_names_clear_locked(d);
	free(d->batch);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* ---- opendir / releasedir / fsyncdir ---------------------------------- */

static void unify_opendir_done(struct xl_call *call, struct xl_call **children,
			       const int *index, int n, void *cookie)
{
	struct unify_dirfd *d;
	uint64_t opened = 0;
	int first_ok = -1, err = -ENOTCONN;

	(void)cookie;
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret == 0) {
			opened |= unify_bit(index[k]);
			if (first_ok < 0)
				first_ok = k;
		} else if (err == -ENOTCONN) {
			err = children[k]->reply.ret;
		}
	}
	if (first_ok < 0) {
		xl_unwind_error(call, err);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->opened = opened;
	d->track_idx = -1;
	d = xl_fd_ctx_set(call->args.fd, call->xl, d);
	unify_dirfd_free(call->xl, d); /* a previous one, if any */
	xl_reply_move(&call->reply, &children[first_ok]->reply);
	xl_unwind(call);
}

/* opendir on every live child with the same fd (each protocol/client keeps
 * its own remote handle in its own fd ctx slot). */
void unify_opendir(struct xl *xl, struct xl_call *call)
{
	if (!call->args.fd) {
		xl_unwind_error(call, -EBADF);
		return;
	}
	unify_fan(call, unify_up_mask(unify_priv(xl)), XL_FOP_OPENDIR,
		  xl_fill_copy, unify_opendir_done);
}

static struct unify_dirfd *unify_dirfd_get(struct xl *xl, struct xl_call *call)
{
	return call->args.fd ? xl_fd_ctx_get(call->args.fd, xl) : NULL;
}

static void unify_release_done(struct xl_call *call, struct xl_call **children,
			       const int *index, int n, void *cookie)
{
	(void)children;
	(void)n;
	(void)index;
	(void)cookie;
	xl_unwind_error(call, 0);
}

void unify_releasedir(struct xl *xl, struct xl_call *call)
{
	struct unify_dirfd *d = unify_dirfd_get(xl, call);

	unify_fan(call, d ? d->opened : 0, XL_FOP_RELEASEDIR, xl_fill_copy,
		  unify_release_done);
}

static void unify_first_error_done(struct xl_call *call,
				   struct xl_call **children, const int *index,
				   int n, void *cookie)
{
	int err = 0;

	(void)index;
	(void)cookie;
	for (int k = 0; k < n && !err; k++)
		err = children[k]->reply.ret < 0 ? children[k]->reply.ret : 0;
	xl_unwind_error(call, err);
}

void unify_fsyncdir(struct xl *xl, struct xl_call *call)
{
	struct unify_dirfd *d = unify_dirfd_get(xl, call);

	if (!d) {
		xl_unwind_error(call, -EBADF);
		return;
	}
	unify_fan(call, d->opened & unify_up_mask(unify_priv(xl)),
		  XL_FOP_FSYNCDIR, xl_fill_copy, unify_first_error_done);
}

/* ---- readdir --------------------------------------------------------- */

static void unify_rd_next(struct xl_call *call);

static void unify_fill_cbk(struct xl_call *parent, struct xl_call *child,
			   void *cookie);

/* Read child c's names into the set, from local->fill_off on. */
static void unify_fill_step(struct xl_call *call)
{
	struct unify_local *local = call->local;
	struct xl_call *child = xl_call_child_fop(call, XL_FOP_READDIR);

	if (!child) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	child->args.fd = xl_fd_ref(call->args.fd);
	child->args.offset = (int64_t)local->fill_off;
	child->args.size = UNIFY_FILL_SIZE;
	xl_call_send(child, call->xl->children[local->fill_idx], unify_fill_cbk,
		     NULL);
}

static void unify_fill_cbk(struct xl_call *parent, struct xl_call *child,
			   void *cookie)
{
	struct unify_local *local = parent->local;
	struct unify_dirfd *d = unify_dirfd_get(parent->xl, parent);
	struct xl_reply *r = &child->reply;
	int c = local->fill_idx, err = 0;

	(void)cookie;
	if (r->ret < 0)
		xl_warn(parent->xl->name,
			"readdir: cannot read the names of %s (%d); "
			"names it shares with later subvolumes may be "
			"listed twice",
			parent->xl->children[c]->name, r->ret);
	pthread_mutex_lock(&d->lock);
	for (uint32_t k = 0; r->ret >= 0 && k < r->entry_count && !err; k++)
		err = unify_names_add_locked(d, r->entries[k].name, c);
	if (r->ret < 0 || r->entry_count == 0)
		d->complete |= unify_bit(c);
	pthread_mutex_unlock(&d->lock);
	if (err) {
		xl_unwind_error(parent, err);
		return;
	}
	if (r->ret < 0 || r->entry_count == 0) {
		unify_rd_next(parent);
		return;
	}
	local->fill_off = r->entries[r->entry_count - 1].d_off;
	unify_fill_step(parent);
}

static bool unify_in_batch_locked(struct unify_dirfd *d, uint64_t off)
{
	for (uint32_t k = 0; k < d->batch_count; k++)
		if (d->batch[k] == off)
			return true;
	return false;
}

/* Keep what the sequential listing of child idx just read: its names, and
 * its offsets as valid places to continue from. */
static int unify_track_locked(struct unify_dirfd *d, int idx,
			      const struct xl_reply *r)
{
	uint64_t *batch;
	int err = 0;

	if (d->track_idx != idx)
		return 0;
	batch = realloc(d->batch, (r->entry_count + 1) * sizeof(*batch));
	if (!batch)
		return -ENOMEM;
	d->batch = batch;
	d->batch_count = r->entry_count;
	for (uint32_t k = 0; k < r->entry_count && !err; k++) {
		batch[k] = r->entries[k].d_off;
		err = unify_names_add_locked(d, r->entries[k].name, idx);
	}
	if (r->entry_count == 0)
		d->complete |= unify_bit(idx);
	return err;
}

/* Where the answer for child idx goes up: the entries no lower child
 * has, with their offsets encoded.  Steals the names it keeps. */
static uint32_t unify_rd_filter_locked(struct unify_dirfd *d, int n, int idx,
				       struct xl_reply *r,
				       struct xl_dirent *out)
{
	uint32_t kept = 0;

	for (uint32_t k = 0; k < r->entry_count; k++) {
		struct xl_dirent *e = &r->entries[k];
		int low = unify_names_find_locked(d, e->name);

		if (low >= 0 && low < idx)
			continue;
		out[kept] = *e;
		out[kept].d_off = xl_doff_encode(n, idx, e->d_off);
		e->name = NULL;
		kept++;
	}
	return kept;
}

/* Unwind the entries; for readdirplus remember where each file is (held
 * across the unwind, see unify_ctx_set) and hand up directories without
 * attributes. */
static void unify_rd_answer(struct xl_call *call, struct xl_dirent *out,
			    uint32_t kept, int idx)
{
	bool plus = call->fop == XL_FOP_READDIRPLUS;
	struct xl_inode **held = NULL;
	uint32_t nheld = 0;

	if (plus)
		held = calloc(kept ? kept : 1, sizeof(*held));
	for (uint32_t k = 0; held && k < kept; k++) {
		const struct xl_dirent *e = &out[k];

		if (strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0 ||
		    xl_gfid_is_null(e->attr.gfid))
			continue;
		if (S_ISDIR(e->attr.mode)) {
			/* No handle for a directory: the kernel looks it up
			 * before using it, and that lookup merges the copies'
			 * times and recreates it on children that lack it. */
			xl_dirent_drop_dir_attr(&out[k]);
			continue;
		}
		held[nheld] = unify_ctx_set(
		    call->xl, e->attr.gfid, NULL,
		    S_ISDIR(e->attr.mode) ? UNIFY_CTX_DIR : (uintptr_t)idx + 1);
		if (held[nheld])
			nheld++;
	}
	call->reply.entries = out;
	call->reply.entry_count = kept;
	call->reply.ret = 0;
	xl_unwind(call);
	for (uint32_t k = 0; k < nheld; k++)
		xl_inode_unref(held[k]);
	free(held);
}

static void unify_rd_cbk(struct xl_call *parent, struct xl_call *child,
			 void *cookie)
{
	struct unify_local *local = parent->local;
	struct xl *xl = parent->xl;
	struct unify_dirfd *d = unify_dirfd_get(xl, parent);
	struct xl_reply *r = &child->reply;
	struct xl_dirent *out;
	uint32_t kept;
	int err;

	(void)cookie;
	if (r->ret < 0 || r->entry_count == 0) {
		if (r->ret < 0)
			xl_warn(xl->name,
				"readdir on %s failed (%d); its "
				"entries are left out of this listing",
				xl->children[local->rd_idx]->name, r->ret);
		pthread_mutex_lock(&d->lock);
		if (r->ret >= 0 && d->track_idx == local->rd_idx)
			d->complete |= unify_bit(local->rd_idx);
		pthread_mutex_unlock(&d->lock);
		local->rd_idx++;
		local->rd_off = 0;
		unify_rd_next(parent);
		return;
	}
	out = calloc(r->entry_count, sizeof(*out));
	if (!out) {
		xl_unwind_error(parent, -ENOMEM);
		return;
	}
	pthread_mutex_lock(&d->lock);
	err = unify_track_locked(d, local->rd_idx, r);
	if (err)
		d->track_idx = -1;
	kept =
	    unify_rd_filter_locked(d, unify_priv(xl)->n, local->rd_idx, r, out);
	pthread_mutex_unlock(&d->lock);
	if (kept == 0) {
		/* Everything here is listed from a lower child: go on. */
		free(out);
		local->rd_off = r->entries[r->entry_count - 1].d_off;
		unify_rd_next(parent);
		return;
	}
	unify_rd_answer(parent, out, kept, local->rd_idx);
}

/* Serve the listing from (local->rd_idx, local->rd_off), first collecting
 * the names of lower children the set lacks. */
static void unify_rd_next(struct xl_call *call)
{
	struct unify_local *local = call->local;
	struct xl *xl = call->xl;
	struct unify_dirfd *d = unify_dirfd_get(xl, call);
	int n = unify_priv(xl)->n, fill = -1;
	struct xl_call *child;

	while (local->rd_idx < n && !(d->opened & unify_bit(local->rd_idx))) {
		local->rd_idx++;
		local->rd_off = 0;
	}
	if (local->rd_idx >= n) {
		xl_unwind_error(call, 0); /* end of the directory */
		return;
	}
	pthread_mutex_lock(&d->lock);
	for (int c = 0; c < local->rd_idx && fill < 0; c++)
		if ((d->opened & unify_bit(c)) && !(d->complete & unify_bit(c)))
			fill = c;
	if (fill < 0) {
		if (local->rd_off == 0) {
			d->track_idx = local->rd_idx;
			d->batch_count = 0;
		} else if (d->track_idx == local->rd_idx &&
			   !unify_in_batch_locked(d, local->rd_off)) {
			d->track_idx = -1;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (fill >= 0) {
		local->fill_idx = fill;
		local->fill_off = 0;
		unify_fill_step(call);
		return;
	}
	child = xl_call_child(call);
	if (!child) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	child->args.offset = (int64_t)local->rd_off;
	xl_call_send(child, xl->children[local->rd_idx], unify_rd_cbk, NULL);
}

void unify_readdir(struct xl *xl, struct xl_call *call)
{
	struct unify_dirfd *d = unify_dirfd_get(xl, call);
	struct unify_local *local = xl_call_local(call);
	uint64_t off = (uint64_t)call->args.offset;

	if (!d || !local) {
		xl_unwind_error(call, d ? -ENOMEM : -EBADF);
		return;
	}
	if (off == 0) {
		/* A new listing: forget what the last one learnt. */
		pthread_mutex_lock(&d->lock);
		unify_names_clear_locked(d);
		d->complete = 0;
		d->track_idx = -1;
		d->batch_count = 0;
		pthread_mutex_unlock(&d->lock);
		local->rd_idx = 0;
		local->rd_off = 0;
	} else {
		xl_doff_decode(unify_priv(xl)->n, off, &local->rd_idx,
			       &local->rd_off);
		if (local->rd_idx >= unify_priv(xl)->n) {
			xl_unwind_error(call, -EINVAL);
			return;
		}
	}
	unify_rd_next(call);
}

/* ---- statfs ---------------------------------------------------------- */

void unify_statfs_note(struct unify_priv *priv, int i,
		       const struct xl_statfs *sf)
{
	uint64_t unit = sf->frsize ? sf->frsize : sf->bsize;

	pthread_mutex_lock(&priv->lock);
	priv->sched[i].stats_known = priv->sched[i].up;
	priv->sched[i].free_bytes = sf->bavail * unit;
	priv->sched[i].total_bytes = sf->blocks * unit;
	priv->sched[i].files =
	    sf->files > sf->ffree ? sf->files - sf->ffree : 0;
	pthread_mutex_unlock(&priv->lock);
}

/* statfs: the sum of the live children, in the first one's block size. */
static void unify_statfs_done(struct xl_call *call, struct xl_call **children,
			      const int *index, int n, void *cookie)
{
	struct unify_priv *priv = unify_priv(call->xl);
	int err = -ENOTCONN, ok = 0;

	(void)cookie;
	memset(&call->reply.statfs, 0, sizeof(call->reply.statfs));
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret < 0) {
			err = children[k]->reply.ret;
			continue;
		}
		unify_statfs_note(priv, index[k], &children[k]->reply.statfs);
		xl_statfs_add(&call->reply.statfs, &children[k]->reply.statfs);
		ok++;
	}
	xl_unwind_error(call, ok ? 0 : err);
}

void unify_statfs(struct xl *xl, struct xl_call *call)
{
	unify_fan(call, unify_up_mask(unify_priv(xl)), XL_FOP_STATFS,
		  xl_fill_copy, unify_statfs_done);
}

/* ---- background refresh of free space -------------------------------- */

static void unify_refresh_cbk(struct xl_call *parent, struct xl_call *call,
			      void *cookie)
{
	struct xl *xl = cookie;
	struct unify_priv *priv = unify_priv(xl);
	int i = -1;

	(void)parent;
	for (int k = 0; k < xl->child_count; k++)
		if (xl->children[k] == call->xl)
			i = k;
	if (i >= 0) {
		if (call->reply.ret == 0)
			unify_statfs_note(priv, i, &call->reply.statfs);
		pthread_mutex_lock(&priv->lock);
		priv->refreshing[i] = false;
		pthread_mutex_unlock(&priv->lock);
	}
	atomic_fetch_sub(&priv->refresh_in, 1);
}

static time_t unify_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * Ask every live child for statfs in the background when its last answer
 * is older than refresh-interval (or now, when force).  At most one
 * request per child is out; nothing waits for the answers: the scheduler
 * uses what it has.
 */
void unify_refresh(struct xl *xl, bool force)
{
	struct unify_priv *priv = unify_priv(xl);
	time_t now = unify_now();

	for (int i = 0; i < priv->n; i++) {
		struct xl_call *call;
		bool go;

		pthread_mutex_lock(&priv->lock);
		go = priv->sched[i].up && !priv->refreshing[i] &&
		     !priv->stopping &&
		     (force || !priv->sched[i].stats_known ||
		      now - priv->refreshed[i] >= priv->refresh_interval);
		if (go) {
			priv->refreshing[i] = true;
			priv->refreshed[i] = now;
		}
		pthread_mutex_unlock(&priv->lock);
		if (!go)
			continue;
		call = xl_call_new_root(xl->graph, XL_FOP_STATFS, NULL,
					unify_refresh_cbk, xl);
		if (!call) {
			pthread_mutex_lock(&priv->lock);
			priv->refreshing[i] = false;
			pthread_mutex_unlock(&priv->lock);
			continue;
		}
		memcpy(call->args.loc.gfid, xl_gfid_root, XL_GFID_LEN);
		atomic_fetch_add(&priv->refresh_in, 1);
		xl_call_start(call, xl->children[i]);
	}
}
