/*
 * dht-readdir.c - cluster/distribute: readdir over every child, each
 * child's next batch read ahead, all children at once.
 *
 * What the caller sees is a walk of the children in order: child i's
 * entries, then child i+1's from its start.  The child's index is kept in
 * the low bits of every d_off handed out (xl_doff_encode, merge.h, shared
 * with cluster/unify), so any readdir (by another thread, after a
 * seekdir) says where to resume.  Linkto files are hidden (each child's
 * readdirplus says which entries carry the linkto xattr: a user's file of
 * mode 01000 is listed); directories, "." and ".." are listed from the
 * first child holding the fd only.  A child that went down (ENOTCONN) or
 * has no more entries is left for the next one; any other error is the
 * answer.
 *
 * Read-ahead.  Walked one child after another, a small directory on N
 * children costs 2N round trips (a batch, then the empty answer that ends
 * the child), one after the other.  So an open directory keeps one slot
 * per child: one prefetched batch, the child offset and size it was asked
 * with, and its state (none, in flight, ready).  The first readdir at
 * offset 0 asks every child for its first batch at once; serving a
 * batch of child i asks for child i's next one (from the batch's last
 * d_off) straight away, so the kernel's next readdir usually finds it
 * ready.  A readdir for (i, off) takes the slot's batch when it was asked
 * at off with no larger a size (ready: at once; in flight: the call is
 * parked on the slot and the prefetch's answer resumes it); otherwise (a
 * seekdir, a second reader of the same fd, a second call waiting) it
 * reads the child directly, as the walk always did.  Either way the batch
 * goes through the same filter (dht_readdir_answer), so the listing is
 * the plain walk's.  Memory: at most one batch per child per fd.
 *
 * Why the first readdir and not opendir starts it: a batch is asked with
 * the readdir's size, xdata and credentials, which opendir does not have,
 * and a directory opened for anything but listing costs nothing.  A
 * readdir at offset 0 later (rewinddir) replaces what is ready, so a
 * rewound listing sees the directory as it is now.
 *
 * Lifetime: a prefetch in flight holds a ref to the fd (slot->fd), so the
 * fd ctx, and the slots in it, outlive it; dropping that ref is the last
 * thing its answer does.  releasedir stops new prefetches and frees ready
 * batches; the fd ctx free (the last fd ref) frees the rest.  A parked
 * call holds its own fd ref.
 *
 * Locking: the fd ctx lock guards the slots and f->released; it is never
 * held while winding or unwinding (a prefetch may be answered on the
 * thread that sends it).
 */
#include "config.h"

#include "dht.h"

#include "merge.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum dht_rd_state {
	DHT_RD_NONE,
	DHT_RD_FLIGHT, /* asked, not answered yet */
	DHT_RD_READY,  /* answered: reply holds the batch */
};

/* One child's prefetched batch; f->lock guards all but f and idx. */
struct dht_rdslot {
	struct dht_fdctx *f; /* set once: the ctx holding the slot */
	int idx;	     /* set once: the child */
	enum dht_rd_state state;
	uint64_t off;		/* FLIGHT, READY: child offset asked at */
	uint64_t size;		/* FLIGHT, READY: size asked */
	struct xl_reply reply;	/* READY */
	struct xl_call *waiter; /* FLIGHT: a readdir parked on it, or NULL */
	struct xl_fd *fd;	/* FLIGHT: ref keeping the fd (and f) alive */
};

/* What a readdir found in its child's slot. */
enum dht_rd_got {
	DHT_RD_MISS,   /* nothing usable: read the child directly */
	DHT_RD_TAKEN,  /* the batch, moved to the caller */
	DHT_RD_PARKED, /* parked: the prefetch's answer resumes the call */
};

static void dht_readdir_from(struct xl_call *call, int idx, uint64_t off);

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

/* f's slots, made on first use; NULL on ENOMEM (then nothing is read
 * ahead). */
static struct dht_rdslot *dht_rd_slots_locked(struct xl *xl,
					      struct dht_fdctx *f)
{
	int n = dht_priv(xl)->n;

	if (f->rd)
		return f->rd;
	f->rd = xl_calloc(xl, (size_t)n, sizeof(*f->rd));
	if (!f->rd)
		return NULL;
	f->rd_count = n;
	for (int i = 0; i < n; i++) {
		f->rd[i].f = f;
		f->rd[i].idx = i;
	}
	return f->rd;
}

/* ---- the filter: one child's batch as the caller's answer --------------- */

/* Answer call with child idx's batch r (borrowed; what is kept is moved
 * to the call), or go on to where the walk goes next.  A non-empty batch
 * asks for the child's next one before it goes up. */
static void dht_readdir_answer(struct xl_call *call, int idx,
			       struct xl_reply *r);

static void dht_rd_cbk(struct xl_call *parent, struct xl_call *call,
		       void *cookie)
{
	struct dht_rdslot *s = cookie;
	struct dht_fdctx *f = s->f;
	struct xl_call *waiter;
	struct xl_reply r;
	struct xl_fd *fd;
	int idx = s->idx;

	(void)parent;
	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&f->lock);
	waiter = s->waiter;
	fd = s->fd;
	s->waiter = NULL;
	s->fd = NULL;
	s->state = DHT_RD_NONE;
	if (waiter) {
		xl_reply_move(&r, &call->reply);
	} else if (!f->released && call->reply.ret != -ENOMEM) {
		/* ENOMEM is ours, not the child's: a readdir asks again */
		xl_reply_move(&s->reply, &call->reply);
		s->state = DHT_RD_READY;
	}
	pthread_mutex_unlock(&f->lock);
	if (waiter) {
		dht_readdir_answer(waiter, idx, &r);
		xl_reply_clear(&r);
	}
	/* Last: it may be the fd's last ref, and free f with the slot. */
	xl_fd_unref(fd);
}

/* Ask child idx for its batch at off into its slot, with call's size,
 * xdata and credentials; nothing when one is in flight there already or
 * the fd is released.  A ready batch there is replaced. */
static void dht_rd_prefetch(struct xl_call *call, struct dht_fdctx *f, int idx,
			    uint64_t off)
{
	struct xl *xl = call->xl;
	struct dht_priv *priv = dht_priv(xl);
	struct dht_rdslot *s = NULL;
	struct xl_args args;
	int err;

	pthread_mutex_lock(&f->lock);
	if (!f->released && dht_rd_slots_locked(xl, f))
		s = &f->rd[idx];
	if (s && s->state == DHT_RD_FLIGHT)
		s = NULL;
	if (s) {
		xl_reply_clear(&s->reply);
		s->state = DHT_RD_FLIGHT;
		s->off = off;
		s->size = call->args.size;
		s->fd = xl_fd_ref(call->args.fd);
	}
	pthread_mutex_unlock(&f->lock);
	if (!s)
		return;
	memset(&args, 0, sizeof(args));
	args.fd = xl_fd_ref(call->args.fd);
	args.offset = (int64_t)off;
	args.size = call->args.size;
	if (call->args.xdata)
		args.xdata = xl_dict_ref(call->args.xdata);
	err = xl_loc_copy(&args.loc, &call->args.loc);
	if (!err)
		err = dht_readdirp_xdata(&args.xdata);
	if (err) {
		xl_args_clear(&args);
		xl_call_internal_fail(xl, priv->subvols[idx],
				      XL_FOP_READDIRPLUS, err, dht_rd_cbk, s);
		return;
	}
	xl_call_internal(xl, xl_call_origin(call), priv->subvols[idx],
			 XL_FOP_READDIRPLUS, &call->cred, &args, dht_rd_cbk, s);
}

/* Take child idx's batch at off for call, or park call on it. */
static enum dht_rd_got dht_rd_take(struct xl_call *call, struct dht_fdctx *f,
				   int idx, uint64_t off, struct xl_reply *out)
{
	struct dht_priv *priv = dht_priv(call->xl);
	enum dht_rd_got got = DHT_RD_MISS;
	struct dht_rdslot *s;

	pthread_mutex_lock(&f->lock);
	s = f->rd ? &f->rd[idx] : NULL;
	if (s && s->state != DHT_RD_NONE && s->off == off &&
	    s->size <= call->args.size) {
		if (s->state == DHT_RD_READY) {
			xl_reply_move(out, &s->reply);
			s->state = DHT_RD_NONE;
			got = DHT_RD_TAKEN;
		} else if (!s->waiter) {
			s->waiter = call;
			got = DHT_RD_PARKED;
		}
	}
	/* Counted before the unlock: a parked call may be gone after it. */
	atomic_fetch_add(got == DHT_RD_TAKEN	? &priv->rd_hits
			 : got == DHT_RD_PARKED ? &priv->rd_waits
						: &priv->rd_misses,
			 1);
	pthread_mutex_unlock(&f->lock);
	return got;
}

static void dht_readdir_answer(struct xl_call *call, int idx,
			       struct xl_reply *r)
{
	struct dht_priv *priv = dht_priv(call->xl);
	struct dht_fdctx *f = dht_fdctx(call->xl, call->args.fd, false);
	int first = dht_next_opened(call->xl, f, 0);
	uint32_t kept = 0, cursor = 0;
	uint64_t last_off = 0, next_off;
	int next_idx;

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
		dht_rd_prefetch(call, f, idx, last_off);
		dht_readdir_from(call, idx, last_off);
		return;
	}
	/* Read ahead the child's next batch while this one goes up: from
	 * where the next readdir will ask it, the d_off of the last entry
	 * kept as it decodes (xl_doff_encode drops low bits of hash
	 * offsets; entries hidden after it are read, and hidden, again). */
	xl_doff_decode(priv->n, r->entries[kept - 1].d_off, &next_idx,
		       &next_off);
	dht_rd_prefetch(call, f, idx, next_off);
	for (uint32_t i = kept; i < r->entry_count; i++)
		free(r->entries[i].name);
	r->entry_count = kept;
	if (r->xdata)
		xl_dict_del(r->xdata,
			    DHT_XATTR_LINKTO); /* ours, not the caller's */
	xl_reply_move(&call->reply, r);
	xl_unwind(call);
}

/* ---- reading a child directly -------------------------------------------- */

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
	dht_readdir_answer(call, (int)(intptr_t)cookie, &child->reply);
}

/* Child idx's entries from its offset off (idx -1: the end). */
static void dht_readdir_from(struct xl_call *call, int idx, uint64_t off)
{
	struct dht_fdctx *f = dht_fdctx(call->xl, call->args.fd, false);
	struct xl_reply r;

	if (idx < 0) {
		call->reply.ret = 0; /* end of the directory */
		call->reply.entry_count = 0;
		xl_unwind(call);
		return;
	}
	memset(&r, 0, sizeof(r));
	switch (dht_rd_take(call, f, idx, off, &r)) {
	case DHT_RD_TAKEN:
		dht_readdir_answer(call, idx, &r);
		xl_reply_clear(&r);
		return;
	case DHT_RD_PARKED:
		return;
	case DHT_RD_MISS:
		break;
	}
	dht_local(call)->rd_off = off;
	dht_send(call, XL_FOP_READDIRPLUS, idx, dht_fill_readdir,
		 dht_readdir_cbk, (void *)(intptr_t)idx);
}

/* ---- the fop and the fd's end -------------------------------------------- */

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
	if (call->args.offset == 0) {
		/* The start (or a rewind): every child's first batch at
		 * once; this call waits for the first child's. */
		for (int i = dht_next_opened(xl, f, 0); i >= 0;
		     i = dht_next_opened(xl, f, i + 1))
			dht_rd_prefetch(call, f, i, 0);
	}
	at = dht_next_opened(xl, f, idx);
	dht_readdir_from(call, at, at == idx ? off : 0);
}

void dht_readdir_release(struct xl *xl, struct xl_fd *fd)
{
	struct dht_fdctx *f = dht_fdctx(xl, fd, false);

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->released = true;
	for (int i = 0; f->rd && i < f->rd_count; i++) {
		if (f->rd[i].state != DHT_RD_READY)
			continue;
		xl_reply_clear(&f->rd[i].reply);
		f->rd[i].state = DHT_RD_NONE;
	}
	pthread_mutex_unlock(&f->lock);
}

void dht_readdir_ctx_free(struct xl *xl, struct dht_fdctx *f)
{
	/* No lock: the fd's last ref is gone, so no prefetch is in flight
	 * (each holds one) and no readdir runs. */
	for (int i = 0; f->rd && i < f->rd_count; i++)
		xl_reply_clear(&f->rd[i].reply);
	xl_free(xl, f->rd);
	f->rd = NULL;
}
