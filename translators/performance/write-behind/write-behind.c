/*
 * write-behind.c - performance/write-behind: answer a write at once and
 * send it below in the background, so one writer keeps several writes in
 * flight instead of paying a network round trip per write.
 *
 * Per file (inode) a window of window-size bytes may be acknowledged and
 * not yet answered by the brick; over it, a write waits (unanswered) for
 * room: back-pressure, never an unbounded queue.  cache-size bounds the
 * sum over all files.  A write that overlaps one still in flight waits
 * for it, so the brick (whose io-threads may reorder) applies overlapping
 * writes in order.
 *
 * Errors are never lost: the first error of a write already acknowledged
 * is kept on the file and answered by the next write, fsync or flush
 * (close) of it, once.  Every other fop on a file with writes in flight
 * (read, stat, setattr, fsync, flush, release, locks, fallocate, lseek,
 * open, xattrs) waits until they are answered, then goes down: a reader
 * of this client sees its own writes, the size is right, and close
 * returns only when the data is on the bricks (close-to-open for other
 * clients).  A lookup or readdirplus answer for such a file has its size
 * raised to the end of the writes in flight.
 *
 * Writes through an fd opened O_SYNC, O_DSYNC, O_DIRECT or O_APPEND (the
 * brick appends at its end whatever the offset) are not written behind (they
 * wait like the other fops, then go down); nor is a write that comes while
 * other calls wait for the file's writes: it queues behind them, so a steady
 * writer cannot starve them.
 *
 * Locking: each file's struct wb_inode has its own lock, guarding all of
 * its fields; priv->ctx_lock only serialises creating those.  Neither is
 * held while winding or unwinding.  Lock order: ctx_lock, then a file's.
 */
#include "config.h"

#include "buf.h"
#include "graph.h"
#include "inode.h"
#include "log.h"
#include "xlator.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wb_inode;

/* One write, from its arrival until the child answers it. */
struct wb_req {
	struct wb_req *next; /* wi->reqs, arrival order */
	struct wb_inode *wi;
	struct xl_call *call;	  /* the write (ref while unanswered) */
	int64_t start, end;	  /* [start, end) */
	bool sent;		  /* wound down (and acknowledged) */
	struct wb_req *send_next; /* a batch to wind, outside the lock */
};

/* A call waiting for a file's writes to be answered (FIFO). */
struct wb_waiter {
	struct wb_waiter *next;
	struct xl_call *call;
};

/* What write-behind keeps on a file (inode ctx slot).  lock guards all. */
struct wb_inode {
	pthread_mutex_t lock;
	struct wb_req *reqs;	   /* sent and waiting, in arrival order */
	struct wb_waiter *waiters; /* fops waiting for reqs to drain */
	struct wb_waiter **waiters_tail; /* &waiters when empty */
	uint64_t inflight;		 /* bytes sent and not answered */
	int error; /* first error of an acknowledged write */
};

struct wb_priv {
	uint64_t window;     /* per file */
	uint64_t cache_size; /* all files */
	pthread_mutex_t ctx_lock;
	atomic_uint_fast64_t total_inflight;
	atomic_int busy_inodes; /* inodes with reqs: skip work when 0 */
	atomic_uint_fast64_t written_behind, waited_window, waited_overlap;
	atomic_uint_fast64_t deferred_errors, drained;
};

static struct wb_priv *wb_priv(struct xl *xl)
{
	return xl->private;
}

/* ---- the file's state --------------------------------------------------- */

static struct xl_inode *wb_call_inode(struct xl_call *call)
{
	if (call->args.fd && call->args.fd->inode)
		return call->args.fd->inode;
	return call->args.loc.inode;
}

/* The file's state, made on first use (create: for writes). */
static struct wb_inode *wb_inode_get(struct xl *xl, struct xl_inode *inode,
				     bool create)
{
	struct wb_priv *priv = wb_priv(xl);
	struct wb_inode *wi;

	if (!inode)
		return NULL;
	wi = xl_inode_ctx_get(inode, xl);
	if (wi || !create)
		return wi;
	pthread_mutex_lock(&priv->ctx_lock);
	wi = xl_inode_ctx_get(inode, xl);
	if (!wi) {
		wi = calloc(1, sizeof(*wi));
		if (wi) {
			pthread_mutex_init(&wi->lock, NULL);
			wi->waiters_tail = &wi->waiters;
			xl_inode_ctx_set(inode, xl, wi);
		}
	}
	pthread_mutex_unlock(&priv->ctx_lock);
	return wi;
}

static void wb_inode_ctx_free(struct xl *xl, void *ctx)
{
	struct wb_inode *wi = ctx;

	(void)xl;
	/* An inode dies only when no call holds it: nothing is queued. */
	pthread_mutex_destroy(&wi->lock);
	free(wi);
}

static bool wb_overlaps(const struct wb_req *a, const struct wb_req *b)
{
	return a->start < b->end && b->start < a->end;
}

/* Whether req (not sent) may go now: every earlier request sent (order
 * kept), none of them overlapping it, room in the window and the cache
 * (a file with nothing in flight always gets one, so writes progress). */
static bool wb_can_send_locked(struct wb_priv *priv, struct wb_inode *wi,
			       struct wb_req *req, bool *overlap)
{
	uint64_t size = (uint64_t)(req->end - req->start);

	*overlap = false;
	for (struct wb_req *r = wi->reqs; r && r != req; r = r->next) {
		if (!r->sent)
			return false;
		if (wb_overlaps(r, req)) {
			*overlap = true;
			return false;
		}
	}
	if (wi->inflight == 0)
		return true;
	return wi->inflight + size <= priv->window &&
	       atomic_load(&priv->total_inflight) + size <= priv->cache_size;
}

/* Mark the requests that may go now as sent; return them (linked by
 * send_next) for the caller to wind outside the lock. */
static struct wb_req *wb_take_sendable_locked(struct wb_priv *priv,
					      struct wb_inode *wi)
{
	struct wb_req *first = NULL, **tail = &first;
	bool overlap;

	for (struct wb_req *r = wi->reqs; r; r = r->next) {
		if (r->sent)
			continue;
		if (!wb_can_send_locked(priv, wi, r, &overlap)) {
			if (overlap)
				atomic_fetch_add(&priv->waited_overlap, 1);
			else
				atomic_fetch_add(&priv->waited_window, 1);
			break;
		}
		r->sent = true;
		wi->inflight += (uint64_t)(r->end - r->start);
		atomic_fetch_add(&priv->total_inflight,
				 (uint64_t)(r->end - r->start));
		*tail = r;
		tail = &r->send_next;
	}
	*tail = NULL;
	return first;
}

/* ---- writes ---------------------------------------------------------- */

static void wb_send_list(struct xl *xl, struct wb_req *list);
static void wb_resume(struct xl *xl, struct wb_waiter *list);

/* A request is over (the child answered ret, or it could not be sent):
 * take it off the file, keep a failure of an acknowledged write, and send
 * or wake what it held up.  Frees req. */
static void wb_req_done(struct xl *xl, struct wb_req *req, int ret, bool acked)
{
	struct wb_inode *wi = req->wi;
	struct wb_priv *priv = wb_priv(xl);
	uint64_t size = (uint64_t)(req->end - req->start);
	struct wb_waiter *wake = NULL;
	struct wb_req *send, **pp;
	char g[XL_GFID_STR_LEN];

	pthread_mutex_lock(&wi->lock);
	for (pp = &wi->reqs; *pp && *pp != req; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = req->next;
	if (req->sent) {
		wi->inflight -= size;
		atomic_fetch_sub(&priv->total_inflight, size);
	}
	if (acked && ret < 0 && !wi->error) {
		wi->error = ret;
		atomic_fetch_add(&priv->deferred_errors, 1);
		xl_warn(xl->name,
			"a write answered early failed: gfid=%s offset=%" PRId64
			" errno=%d; the next write, fsync or close of the "
			"file returns it",
			xl_gfid_to_str(req->call->args.fd->gfid, g), req->start,
			-ret);
	}
	send = wb_take_sendable_locked(priv, wi);
	if (!wi->reqs) {
		wake = wi->waiters;
		wi->waiters = NULL;
		wi->waiters_tail = &wi->waiters;
		atomic_fetch_sub(&priv->busy_inodes, 1);
	}
	pthread_mutex_unlock(&wi->lock);
	xl_call_unref(req->call);
	free(req);
	wb_send_list(xl, send);
	wb_resume(xl, wake);
}

static void wb_write_cbk(struct xl_call *parent, struct xl_call *child,
			 void *cookie)
{
	struct wb_req *req = cookie;
	int ret = child->reply.ret;

	if (ret >= 0 && ret < (int)(req->end - req->start))
		ret = -EIO; /* short: the rest was answered as written */
	wb_req_done(parent->xl, req, ret, true);
}

/* Wind each request and answer its write to the caller as done. */
static void wb_send_list(struct xl *xl, struct wb_req *list)
{
	struct wb_priv *priv = wb_priv(xl);

	while (list) {
		struct wb_req *req = list;
		struct xl_call *call = req->call;
		struct xl_call *child = xl_call_child(call);

		list = req->send_next;
		if (!child) {
			/* Not sent: answered now as the error it is. */
			wb_req_done(xl, req, -ENOMEM, false);
			xl_unwind_error(call, -ENOMEM);
			continue;
		}
		atomic_fetch_add(&priv->written_behind, 1);
		call->reply.ret = (int)(req->end - req->start);
		/* req (and its ref on call) lives until the child answers.
		 * The caller has its answer first: the send below copies the
		 * data into the socket, and the writer need not wait for
		 * that. */
		xl_unwind(call);
		xl_call_send(child, xl->children[0], wb_write_cbk, req);
	}
}

/* Writes that must reach the brick one by one, in order: O_SYNC, O_DSYNC
 * and O_DIRECT ask for it; an O_APPEND fd's brick fd appends at its end
 * whatever the offset, so two appends in flight could land swapped. */
static bool wb_sync_fd(const struct xl_call *call)
{
	const int32_t sync = O_SYNC | O_DSYNC | O_DIRECT | O_APPEND;
	int32_t f = call->args.fd ? call->args.fd->flags : 0;

	return (f & sync) != 0 || (call->args.flags & sync) != 0;
}

static void wb_pass_or_wait(struct xl *xl, struct xl_call *call);

static void wb_write(struct xl *xl, struct xl_call *call)
{
	struct wb_priv *priv = wb_priv(xl);
	struct wb_inode *wi;
	struct wb_req *req, **tail, *send;
	int err;

	if (!call->args.fd || call->args.offset < 0 || wb_sync_fd(call) ||
	    !call->args.data) {
		wb_pass_or_wait(xl, call);
		return;
	}
	wi = wb_inode_get(xl, call->args.fd->inode, true);
	req = wi ? calloc(1, sizeof(*req)) : NULL;
	if (!req) {
		wb_pass_or_wait(xl, call);
		return;
	}
	req->wi = wi;
	req->call = call;
	req->start = call->args.offset;
	req->end = call->args.offset + (int64_t)call->args.data->size;
	xl_call_ref(call);
	pthread_mutex_lock(&wi->lock);
	err = wi->error;
	if (err) {
		wi->error = 0;
		pthread_mutex_unlock(&wi->lock);
		xl_call_unref(call);
		free(req);
		xl_unwind_error(call, err);
		return;
	}
	if (wi->waiters) {
		/* Calls wait for the file's writes to drain: queue behind
		 * them (FIFO), or a steady writer would starve a reader or a
		 * close.  It then goes down as they do, not behind. */
		pthread_mutex_unlock(&wi->lock);
		xl_call_unref(call);
		free(req);
		wb_pass_or_wait(xl, call);
		return;
	}
	if (!wi->reqs)
		atomic_fetch_add(&priv->busy_inodes, 1);
	for (tail = &wi->reqs; *tail; tail = &(*tail)->next)
		;
	*tail = req;
	send = wb_take_sendable_locked(priv, wi);
	pthread_mutex_unlock(&wi->lock);
	wb_send_list(xl, send);
}

/* ---- everything else on a file with writes in flight -------------------- */

/* flush and fsync (and the first write after) answer a kept error. */
static void wb_error_cbk(struct xl_call *parent, struct xl_call *child,
			 void *cookie)
{
	struct wb_inode *wi = cookie;
	int err = 0;

	if (wi) {
		pthread_mutex_lock(&wi->lock);
		err = wi->error;
		wi->error = 0;
		pthread_mutex_unlock(&wi->lock);
	}
	xl_reply_move(&parent->reply, &child->reply);
	if (err && parent->reply.ret >= 0) {
		xl_reply_clear(&parent->reply);
		parent->reply.ret = err;
	}
	xl_unwind(parent);
}

static void wb_go_down(struct xl *xl, struct xl_call *call)
{
	struct wb_inode *wi = wb_inode_get(xl, wb_call_inode(call), false);

	if (call->fop == XL_FOP_FLUSH || call->fop == XL_FOP_FSYNC) {
		xl_wind(call, xl->children[0], wb_error_cbk, wi);
		return;
	}
	xl_default_fop(xl, call);
}

static void wb_resume(struct xl *xl, struct wb_waiter *list)
{
	while (list) {
		struct wb_waiter *w = list;

		list = w->next;
		wb_go_down(xl, w->call);
		free(w);
	}
}

/* Go down now, or once the file's writes in flight are answered. */
static void wb_pass_or_wait(struct xl *xl, struct xl_call *call)
{
	struct wb_priv *priv = wb_priv(xl);
	struct wb_inode *wi;
	struct wb_waiter *w;

	if (atomic_load(&priv->busy_inodes) == 0) {
		wb_go_down(xl, call);
		return;
	}
	wi = wb_inode_get(xl, wb_call_inode(call), false);
	if (!wi) {
		wb_go_down(xl, call);
		return;
	}
	pthread_mutex_lock(&wi->lock);
	if (!wi->reqs) {
		pthread_mutex_unlock(&wi->lock);
		wb_go_down(xl, call);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		pthread_mutex_unlock(&wi->lock);
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	w->call = call;
	*wi->waiters_tail = w;
	wi->waiters_tail = &w->next;
	atomic_fetch_add(&priv->drained, 1);
	pthread_mutex_unlock(&wi->lock);
}

/* ---- answers that carry a file's size ------------------------------------
 */

/* The end of the writes in flight on gfid's file, or -1. */
static int64_t wb_pending_end(struct xl *xl, const uint8_t *gfid)
{
	struct xl_inode *inode = xl_inode_find(xl->graph->itable, gfid);
	struct wb_inode *wi;
	int64_t end = -1;

	if (!inode)
		return -1;
	wi = wb_inode_get(xl, inode, false);
	if (wi) {
		pthread_mutex_lock(&wi->lock);
		for (struct wb_req *r = wi->reqs; r; r = r->next)
			if (r->sent && r->end > end)
				end = r->end;
		pthread_mutex_unlock(&wi->lock);
	}
	xl_inode_unref(inode);
	return end;
}

static void wb_raise_size(struct xl *xl, struct xl_iatt *ia)
{
	int64_t end = wb_pending_end(xl, ia->gfid);

	if (end > 0 && (uint64_t)end > ia->size)
		ia->size = (uint64_t)end;
}

static void wb_size_cbk(struct xl_call *parent, struct xl_call *child,
			void *cookie)
{
	struct wb_priv *priv = wb_priv(parent->xl);
	struct xl_reply *r;

	(void)cookie;
	xl_reply_move(&parent->reply, &child->reply);
	r = &parent->reply;
	if (r->ret >= 0 && atomic_load(&priv->busy_inodes) > 0) {
		if (parent->fop == XL_FOP_READDIRPLUS) {
			for (uint32_t i = 0; i < r->entry_count; i++)
				if (!xl_gfid_is_null(r->entries[i].attr.gfid))
					wb_raise_size(parent->xl,
						      &r->entries[i].attr);
		} else if (!xl_gfid_is_null(r->attr.gfid)) {
			wb_raise_size(parent->xl, &r->attr);
		}
	}
	xl_unwind(parent);
}

static void wb_with_size(struct xl *xl, struct xl_call *call)
{
	xl_wind(call, xl->children[0], wb_size_cbk, NULL);
}

/* ---- set-up ------------------------------------------------------------ */

static int wb_init(struct xl *xl, char **err)
{
	struct wb_priv *priv;
	int64_t v;

	if (xl->child_count != 1) {
		if (asprintf(err, "performance/write-behind needs exactly one "
				  "child") < 0)
			*err = NULL;
		return -EINVAL;
	}
	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	xl_opt_int(xl, "window-size", &v);
	priv->window = (uint64_t)v;
	xl_opt_int(xl, "cache-size", &v);
	priv->cache_size = (uint64_t)v;
	if (priv->cache_size < priv->window) {
		if (asprintf(err,
			     "cache-size (%" PRIu64 ") is smaller than "
			     "window-size (%" PRIu64 ")",
			     priv->cache_size, priv->window) < 0)
			*err = NULL;
		free(priv);
		return -EINVAL;
	}
	pthread_mutex_init(&priv->ctx_lock, NULL);
	xl->private = priv;
	return 0;
}

static void wb_fini(struct xl *xl)
{
	struct wb_priv *priv = xl->private;

	if (!priv)
		return;
	pthread_mutex_destroy(&priv->ctx_lock);
	free(priv);
	xl->private = NULL;
}

static void wb_dump(struct xl *xl, FILE *out)
{
	struct wb_priv *priv = wb_priv(xl);

	fprintf(out,
		"window-size=%" PRIu64 " cache-size=%" PRIu64
		" in-flight-bytes=%" PRIu64 " files-with-writes=%d\n"
		"written-behind=%" PRIu64 " waited-window=%" PRIu64
		" waited-overlap=%" PRIu64 " fops-drained=%" PRIu64
		" deferred-errors=%" PRIu64 "\n",
		priv->window, priv->cache_size,
		(uint64_t)atomic_load(&priv->total_inflight),
		atomic_load(&priv->busy_inodes),
		(uint64_t)atomic_load(&priv->written_behind),
		(uint64_t)atomic_load(&priv->waited_window),
		(uint64_t)atomic_load(&priv->waited_overlap),
		(uint64_t)atomic_load(&priv->drained),
		(uint64_t)atomic_load(&priv->deferred_errors));
}

static const struct xl_option_desc wb_options[] = {
    {.key = "window-size",
     .type = XL_OPT_SIZE,
     .default_value = "4M",
     .min = 128 << 10,
     .max = 1 << 30,
     .help = "bytes of one file's writes answered before the bricks "
	     "answered them; a write beyond waits for room"},
    {.key = "cache-size",
     .type = XL_OPT_SIZE,
     .default_value = "64M",
     .min = 128 << 10,
     .max = (int64_t)16 << 30,
     .help = "bytes of all files' writes answered before the bricks "
	     "answered them (at least window-size)"},
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "performance/write-behind",
    .description = "answers writes at once and sends them in the "
		   "background; errors come back at the next write, fsync "
		   "or close",
    .init = wb_init,
    .fini = wb_fini,
    .dump = wb_dump,
    .options = wb_options,
    .inode_ctx_free = wb_inode_ctx_free,
    .min_children = 1,
    .max_children = 1,
    .fops =
	{
	    [XL_FOP_WRITE] = wb_write,
	    [XL_FOP_READ] = wb_pass_or_wait,
	    [XL_FOP_STAT] = wb_pass_or_wait,
	    [XL_FOP_SETATTR] = wb_pass_or_wait,
	    [XL_FOP_OPEN] = wb_pass_or_wait,
	    [XL_FOP_FLUSH] = wb_pass_or_wait,
	    [XL_FOP_RELEASE] = wb_pass_or_wait,
	    [XL_FOP_FSYNC] = wb_pass_or_wait,
	    [XL_FOP_LK] = wb_pass_or_wait,
	    [XL_FOP_FLOCK] = wb_pass_or_wait,
	    [XL_FOP_FALLOCATE] = wb_pass_or_wait,
	    [XL_FOP_LSEEK] = wb_pass_or_wait,
	    [XL_FOP_GETXATTR] = wb_pass_or_wait,
	    [XL_FOP_SETXATTR] = wb_pass_or_wait,
	    [XL_FOP_REMOVEXATTR] = wb_pass_or_wait,
	    [XL_FOP_RCHECKSUM] = wb_pass_or_wait,
	    [XL_FOP_LOOKUP] = wb_with_size,
	    [XL_FOP_READDIRPLUS] = wb_with_size,
	},
};
