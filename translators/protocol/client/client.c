/*
 * client.c - protocol/client: one brick connection.  Sends every fop to
 * the brick as an rpc call and unwinds the decoded reply; does the
 * handshake, keeps the brick's fd numbers in the fd ctx, reopens fds by
 * gfid after a reconnect, and tells the parents when the brick comes and
 * goes (CHILD_UP / CHILD_DOWN).
 *
 * Locks and reconnects.  The brick drops a connection's locks with it, so
 * an fd that held a lock comes back from a reconnect reopened but with
 * its locks lost: every fop on it fails EBADFD, as if it were closed, so
 * the application never goes on writing under a lock nobody holds.  Only
 * cluster/replicate can give such an fd its locks back, when another copy
 * kept them meanwhile: lock requests carrying "mortar.lk-restore"
 * (non-blocking) pass, and the marker "mortar.lk-restored" (an F_GETLK
 * answered here) returns the fd to normal once the restore requests it
 * counts were all granted on the current connection (xdata-keys.h).
 * Without a replica above (one brick, distribute) nobody sends them and
 * the fd stays lost until it is closed.
 *
 * Cache notices: the handshake asks the brick for notices; each one the
 * brick sends (another client changed an inode this one looked at) goes
 * to the parents as a cache notice (xl_upcall_parents), and a notice
 * kind this build does not know is dropped.  A lost connection, and a new
 * one, send XL_UP_FORGET_ALL up: whatever was cached from this brick may
 * have changed while no notice could come.
 *
 * Threads: fops arrive on any thread; replies and connection events run
 * on the shared event loop's threads.  priv->lock guards the connection
 * state and the list of fd ctxs (and each ctx's fields); it is never held
 * across an rpc call or a notify.
 */
#include "config.h"

#include "buf.h"
#include "call.h"
#include "graph.h"
#include "inode.h"
#include "log.h"
#include "proto-tls.h"
#include "rpc.h"
#include "xdata-keys.h"
#include "xlator.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_DUMP_FDS_MAX 64

/* The one event loop every protocol/client of the process shares. */
static pthread_mutex_t client_loop_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rpc_evloop *client_loop; /* client_loop_lock */
static int client_loop_users;	       /* client_loop_lock */

/*
 * What this translator keeps on an open fd: the brick's number for it, and
 * what is needed to open it again after a reconnect.  Refcounted under
 * priv->lock: the fd's ctx slot holds one ref, a reopen in flight another.
 */
struct client_fdctx {
	struct client_fdctx *next, *prev; /* priv->fds */
	int refs;
	bool linked;
	uint64_t remote_fd;
	uint64_t generation; /* connection the number is valid on */
	int32_t flags;
	bool is_dir;
	bool bad; /* could not be reopened: every fop fails EBADFD */
	/* A lock was granted through this fd.  The brick drops locks with
	 * the connection, so after a reconnect such an fd is reopened with
	 * its locks lost: the application must not go on believing it holds
	 * them. */
	bool locked;
	/* Reopened after its locks went with a connection: every fop fails
	 * EBADFD but restore requests and the restored marker (see the
	 * file's comment).  restore_grants counts the restore requests
	 * granted on the current connection. */
	bool lost;
	int restore_grants;
	uint8_t gfid[XL_GFID_LEN];
};

struct client_priv {
	struct xl *xl;
	const char *host; /* options, owned by xl->options */
	const char *subvol;
	uint16_t port;
	char identity[256]; /* "<hostname>-<pid>-<random>" */
	struct rpc_clnt *clnt;

	pthread_mutex_t lock; /* guards everything below */
	uint64_t generation;  /* bumped on every connect */
	bool connected;	      /* transport up */
	bool up;	      /* handshaken and fds reopened: fops go */
	int reopen_pending;
	bool started; /* rpc_clnt_start done (first PARENT_UP) */
	/* A refused handshake is retried later, with backoff, instead of
	 * at once: a brick that says ENOENT or EACCES will say it again, and
	 * the log should not fill with it.  The connection is dropped and
	 * the rpc client's timer reconnects after the delay (no thread per
	 * brick connection waits for it). */
	int refusals;	  /* consecutive refused handshakes */
	int last_refusal; /* its errno, to log a change once */
	struct client_fdctx *fds;
	int fd_count;
	atomic_int pending; /* fops sent, not yet answered */
};

/* Per-call state of a fop in flight. */
struct client_local {
	uint64_t generation;
};

/* What a reopen reply needs. */
struct client_reopen {
	struct client_priv *priv;
	struct client_fdctx *ctx; /* ref */
	uint64_t generation;
};

static void client_fdctx_put_locked(struct client_priv *priv,
				    struct client_fdctx *ctx)
{
	if (--ctx->refs > 0)
		return;
	if (ctx->linked) {
		if (ctx->prev)
			ctx->prev->next = ctx->next;
		else
			priv->fds = ctx->next;
		if (ctx->next)
			ctx->next->prev = ctx->prev;
		priv->fd_count--;
	}
	free(ctx);
}

/* Drop the fd slot's ref (release, or the runtime freeing the fd). */
static void client_fdctx_drop(struct client_priv *priv,
			      struct client_fdctx *ctx)
{
	pthread_mutex_lock(&priv->lock);
	client_fdctx_put_locked(priv, ctx);
	pthread_mutex_unlock(&priv->lock);
}

static void client_fd_ctx_free(struct xl *xl, void *ctx)
{
	if (!ctx)
		return;
	if (!xl->private) {
		/* The translator is gone (fini unlinked every ctx). */
		free(ctx);
		return;
	}
	client_fdctx_drop(xl->private, ctx);
}

/* A status from the rpc layer as the errno a fop reports. */
static int client_status_errno(int status)
{
	/* A silent or lost brick is ENOTCONN to callers; ETIMEDOUT is not
	 * a file error applications expect. */
	if (status == -ETIMEDOUT || status == -ECONNRESET ||
	    status == -ECONNREFUSED || status == -EPIPE)
		return -ENOTCONN;
	return status;
}

static bool client_fop_opens(enum xl_fop fop)
{
	return xl_fop_is(fop, XL_F_OPENS_FD);
}

/* ---- fops ------------------------------------------------------------ */

/* Mark the fd of a granted lock (see client_fdctx.locked).  Once marked
 * it stays marked: an unlock may leave other ranges locked, and telling
 * them apart would mean tracking the brick's lock table here. */
static void client_note_lock(struct client_priv *priv, struct xl_call *call)
{
	struct client_fdctx *ctx;
	bool taken = false;

	if (call->fop == XL_FOP_LK)
		taken =
		    (call->args.cmd == F_SETLK || call->args.cmd == F_SETLKW) &&
		    (call->args.lock.type == F_RDLCK ||
		     call->args.lock.type == F_WRLCK);
	else if (call->fop == XL_FOP_FLOCK)
		taken = (call->args.cmd & ~LOCK_NB) == LOCK_SH ||
			(call->args.cmd & ~LOCK_NB) == LOCK_EX;
	if (!taken || !call->args.fd)
		return;
	pthread_mutex_lock(&priv->lock);
	ctx = xl_fd_ctx_get(call->args.fd, priv->xl);
	if (ctx)
		ctx->locked = true;
	pthread_mutex_unlock(&priv->lock);
}

static bool client_xdata_flag(const struct xl_call *call, const char *key,
			      uint64_t *value)
{
	*value = 0;
	return call->args.xdata &&
	       xl_dict_get_u64(call->args.xdata, key, value) == 0 && *value;
}

/* A request that may pass on an fd with its locks lost: a non-blocking
 * restore of a lock, or the unlock that undoes one. */
static bool client_is_restore(const struct xl_call *call)
{
	uint64_t v;

	if (!client_xdata_flag(call, XL_KEY_LK_RESTORE, &v))
		return false;
	if (call->fop == XL_FOP_LK)
		return call->args.cmd == F_SETLK;
	if (call->fop == XL_FOP_FLOCK)
		return (call->args.cmd & LOCK_NB) ||
		       (call->args.cmd & ~LOCK_NB) == LOCK_UN;
	return false;
}

/* A granted restore request that re-took a lock on a lost fd counts
 * toward the restored marker, if it went over the fd's connection. */
static void client_note_restore(struct client_priv *priv, struct xl_call *call,
				uint64_t generation)
{
	struct client_fdctx *ctx;
	bool takes = call->fop == XL_FOP_LK
			 ? call->args.lock.type != F_UNLCK
			 : (call->args.cmd & ~LOCK_NB) != LOCK_UN;

	if (!takes || !call->args.fd || !client_is_restore(call))
		return;
	pthread_mutex_lock(&priv->lock);
	ctx = xl_fd_ctx_get(call->args.fd, priv->xl);
	if (ctx && ctx->lost && ctx->generation == generation)
		ctx->restore_grants++;
	pthread_mutex_unlock(&priv->lock);
}

/* The restored marker (XL_KEY_LK_RESTORED = grants), answered here. */
static void client_lk_restored(struct client_priv *priv, struct xl_call *call,
			       uint64_t grants)
{
	char gfid[XL_GFID_STR_LEN] = "";
	struct client_fdctx *ctx = NULL;
	bool back = false;
	int ret = 0;

	pthread_mutex_lock(&priv->lock);
	if (call->args.fd)
		ctx = xl_fd_ctx_get(call->args.fd, priv->xl);
	if (!priv->up)
		ret = -ENOTCONN;
	else if (!ctx || ctx->bad || ctx->generation != priv->generation)
		ret = -EBADFD;
	else if (ctx->lost && (uint64_t)ctx->restore_grants != grants)
		ret = -ESTALE;
	else if (ctx->lost) {
		ctx->lost = false;
		back = true;
		xl_gfid_to_str(ctx->gfid, gfid);
	}
	pthread_mutex_unlock(&priv->lock);
	if (back)
		xl_info(priv->xl->name,
			"fd locks restored: gfid=%s requests=%" PRIu64, gfid,
			grants);
	call->reply.lock = call->args.lock;
	call->reply.lock.type = F_UNLCK;
	xl_unwind_error(call, ret);
}

static void client_release_cbk(void *cookie, int status,
			       const struct rpc_msg *msg)
{
	/* Nothing waits for a release; the brick closes the fd anyway when
	 * the connection goes. */
}

/* Encode a call that carries no bulk data (release, reopen). */
static int client_encode_nobulk(struct rpc_wbuf *w, enum xl_fop fop,
				const struct xl_cred *cred,
				const struct xl_args *args, uint64_t remote_fd)
{
	struct xl_iobuf *bulk = NULL;
	int ret = rpc_encode_call(w, fop, cred, args, remote_fd, &bulk);

	if (bulk)
		xl_iobuf_unref(bulk);
	return ret;
}

/* Tell the brick to close its fd number (no answer awaited). */
static void client_send_release(struct client_priv *priv, bool is_dir,
				uint64_t remote_fd)
{
	enum xl_fop fop = is_dir ? XL_FOP_RELEASEDIR : XL_FOP_RELEASE;
	struct xl_args none = {0};
	struct xl_cred cred = {0};
	struct rpc_wbuf w;

	rpc_wbuf_init(&w);
	if (client_encode_nobulk(&w, fop, &cred, &none, remote_fd) == 0 &&
	    w.err == 0)
		rpc_clnt_call(priv->clnt, (uint32_t)fop, w.data, w.len, NULL,
			      client_release_cbk, NULL);
	rpc_wbuf_free(&w);
}

/* Remember the brick's number for an fd this call just opened. */
static int client_keep_fd(struct client_priv *priv, struct xl_call *call,
			  uint64_t remote_fd, uint64_t generation)
{
	struct xl_fd *fd = call->args.fd;
	struct client_fdctx *ctx, *old;

	if (!fd)
		return 0;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->refs = 1;
	ctx->remote_fd = remote_fd;
	ctx->generation = generation;
	ctx->flags = call->args.flags;
	ctx->is_dir = call->fop == XL_FOP_OPENDIR;
	/* A create may have opened an existing file rather than the gfid
	 * proposed in fd->gfid: the reply says which file it is. */
	if (call->fop == XL_FOP_CREATE &&
	    !xl_gfid_is_null(call->reply.attr.gfid))
		memcpy(ctx->gfid, call->reply.attr.gfid, XL_GFID_LEN);
	else if (!xl_gfid_is_null(fd->gfid))
		memcpy(ctx->gfid, fd->gfid, XL_GFID_LEN);
	else if (!xl_gfid_is_null(call->reply.attr.gfid))
		memcpy(ctx->gfid, call->reply.attr.gfid, XL_GFID_LEN);
	else
		memcpy(ctx->gfid, call->args.loc.gfid, XL_GFID_LEN);

	pthread_mutex_lock(&priv->lock);
	ctx->linked = true;
	ctx->next = priv->fds;
	if (priv->fds)
		priv->fds->prev = ctx;
	priv->fds = ctx;
	priv->fd_count++;
	pthread_mutex_unlock(&priv->lock);

	old = xl_fd_ctx_set(fd, priv->xl, ctx);
	if (old)
		client_fdctx_drop(priv, old);
	return 0;
}

static void client_fop_cbk(void *cookie, int status, const struct rpc_msg *msg)
{
	struct xl_call *call = cookie;
	struct xl *xl = call->xl;
	struct client_priv *priv = xl->private;
	struct client_local *local = call->local;
	uint64_t remote_fd = 0;
	struct rpc_rbuf r;
	int ret;

	atomic_fetch_sub(&priv->pending, 1);
	if (status < 0) {
		xl_unwind_error(call, client_status_errno(status));
		return;
	}
	rpc_rbuf_init(&r, msg->body, msg->body_len);
	ret = rpc_decode_reply(&r, call->fop, &call->reply, &remote_fd,
			       msg->bulk);
	if (ret != 0) {
		xl_err(xl->name, "bad %s reply from %s: errno=%d",
		       xl_fop_name(call->fop), priv->host, -ret);
		xl_unwind_error(call, -EIO);
		return;
	}
	if (call->reply.ret >= 0 && client_fop_opens(call->fop)) {
		ret = client_keep_fd(priv, call, remote_fd,
				     local ? local->generation : 0);
		if (ret != 0) {
			/* We cannot use the brick fd: give it back. */
			client_send_release(priv, call->fop == XL_FOP_OPENDIR,
					    remote_fd);
			xl_reply_clear(&call->reply);
			call->reply.ret = ret;
		}
	}
	if (call->reply.ret >= 0) {
		client_note_lock(priv, call);
		client_note_restore(priv, call, local ? local->generation : 0);
	}
	xl_unwind(call);
}

/* The brick's number for call->args.fd, checked against the current
 * connection.  0, or -EBADFD. */
static int client_remote_fd_locked(struct client_priv *priv,
				   struct xl_call *call, uint64_t *remote_fd)
{
	uint32_t need = xl_fop_info[call->fop].args;
	struct client_fdctx *ctx;

	*remote_fd = 0;
	if (client_fop_opens(call->fop) || !(need & (XL_A_FD | XL_A_FD_OPT)))
		return 0;
	if (!call->args.fd)
		return (need & XL_A_FD) ? -EBADFD : 0;
	ctx = xl_fd_ctx_get(call->args.fd, priv->xl);
	/* fstat and friends on an fd this brick never opened (a cluster
	 * translator opened it elsewhere) go by the loc instead. */
	if (!ctx && (need & XL_A_FD_OPT))
		return 0;
	if (!ctx || ctx->bad || ctx->generation != priv->generation)
		return -EBADFD;
	if (ctx->lost && !client_is_restore(call))
		return -EBADFD;
	*remote_fd = ctx->remote_fd;
	return 0;
}

/* A flush with no POSIX locks to drop (XL_KEY_FLUSH_NO_LOCKS) is answered
 * here, once its fd is known to be good on this connection: the brick
 * would do nothing else with it. */
static bool client_flush_here(const struct xl_call *call)
{
	uint64_t v;

	return call->fop == XL_FOP_FLUSH &&
	       client_xdata_flag(call, XL_KEY_FLUSH_NO_LOCKS, &v);
}

static void client_fop(struct xl *xl, struct xl_call *call)
{
	struct client_priv *priv = xl->private;
	struct client_local *local = xl_call_local(call);
	struct xl_iobuf *bulk = NULL;
	uint64_t remote_fd = 0, generation;
	struct rpc_wbuf w;
	uint64_t grants;
	bool up;
	int ret;

	if (!local) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	if (call->fop == XL_FOP_LK && call->args.cmd == F_GETLK &&
	    call->args.xdata &&
	    xl_dict_get_u64(call->args.xdata, XL_KEY_LK_RESTORED, &grants) ==
		0) {
		client_lk_restored(priv, call, grants);
		return;
	}
	pthread_mutex_lock(&priv->lock);
	up = priv->up;
	generation = priv->generation;
	ret = up ? client_remote_fd_locked(priv, call, &remote_fd) : -ENOTCONN;
	pthread_mutex_unlock(&priv->lock);
	if (ret != 0) {
		xl_unwind_error(call, ret);
		return;
	}
	if (client_flush_here(call)) {
		call->reply.ret = 0;
		xl_unwind(call);
		return;
	}
	local->generation = generation;
	rpc_wbuf_init(&w);
	ret = rpc_encode_call(&w, call->fop, &call->cred, &call->args,
			      remote_fd, &bulk);
	if (ret == 0 && w.err)
		ret = w.err;
	if (ret == 0) {
		atomic_fetch_add(&priv->pending, 1);
		ret = rpc_clnt_call(priv->clnt, (uint32_t)call->fop, w.data,
				    w.len, bulk, client_fop_cbk, call);
		if (ret != 0)
			atomic_fetch_sub(&priv->pending, 1);
	}
	if (bulk)
		xl_iobuf_unref(bulk);
	rpc_wbuf_free(&w);
	if (ret != 0)
		xl_unwind_error(call, client_status_errno(ret));
}

/* release / releasedir: tell the brick if the number is still valid on
 * this connection, forget the fd, answer at once. */
static void client_release(struct xl *xl, struct xl_call *call)
{
	struct client_priv *priv = xl->private;
	struct client_fdctx *ctx = NULL;
	uint64_t remote_fd = 0;
	bool send = false;
	struct rpc_wbuf w;

	if (call->args.fd)
		ctx = xl_fd_ctx_set(call->args.fd, xl, NULL);
	if (ctx) {
		pthread_mutex_lock(&priv->lock);
		send = priv->connected && !ctx->bad &&
		       ctx->generation == priv->generation;
		remote_fd = ctx->remote_fd;
		client_fdctx_put_locked(priv, ctx);
		pthread_mutex_unlock(&priv->lock);
	}
	if (send) {
		rpc_wbuf_init(&w);
		if (client_encode_nobulk(&w, call->fop, &call->cred,
					 &call->args, remote_fd) == 0 &&
		    w.err == 0)
			rpc_clnt_call(priv->clnt, (uint32_t)call->fop, w.data,
				      w.len, NULL, client_release_cbk, NULL);
		rpc_wbuf_free(&w);
	}
	call->reply.ret = 0;
	xl_unwind(call);
}

/* ---- connection: handshake, reopen, up/down -------------------------- */

static void client_forget_all(struct client_priv *priv)
{
	struct xl_upcall up = {.what = XL_UP_FORGET_ALL};

	xl_upcall_parents(priv->xl, &up);
}

/* The brick's volfile of a volume changed: for the program running the
 * graph (it asks for the new version), not for the translators. */
static void client_volfile_notice(struct client_priv *priv,
				  const struct rpc_msg *msg)
{
	struct rpc_rbuf r;
	char *volume = NULL;

	rpc_rbuf_init(&r, msg->body, msg->body_len);
	if (rpc_get_str(&r, XL_NAME_MAX, &volume) == 0 && volume &&
	    xl_name_is_valid(volume))
		xl_graph_volfile_notice(priv->xl->graph, volume);
	free(volume);
}

/* A notice frame from the brick (an rpc loop thread). */
static void client_on_notice(void *ctx, const struct rpc_msg *msg)
{
	struct client_priv *priv = ctx;
	struct xl_upcall up;
	struct rpc_rbuf r;
	char *name = NULL;
	int ret;

	if (msg->proc == RPC_NOTICE_VOLFILE) {
		client_volfile_notice(priv, msg);
		return;
	}
	if (msg->proc != RPC_NOTICE_INVAL)
		return; /* a newer brick's kind of notice */
	rpc_rbuf_init(&r, msg->body, msg->body_len);
	ret = rpc_decode_notice_inval(&r, &up, &name);
	if (ret != 0) {
		/* Cannot tell what changed: drop it all. */
		xl_debug(priv->xl->name, "bad notice: errno=%d", -ret);
		client_forget_all(priv);
		return;
	}
	up.client_id = 0;
	xl_upcall_parents(priv->xl, &up);
	free(name);
}

/* Connection ready for fops: announce it unless it changed meanwhile. */
static void client_set_up(struct client_priv *priv, uint64_t generation)
{
	bool announce = false;

	pthread_mutex_lock(&priv->lock);
	if (priv->connected && priv->generation == generation && !priv->up) {
		priv->up = true;
		announce = true;
	}
	pthread_mutex_unlock(&priv->lock);
	if (!announce)
		return;
	xl_info(priv->xl->name, "connected to %s:%u volume=%s", priv->host,
		priv->port, priv->subvol);
	client_forget_all(priv);
	xl_notify_parents(priv->xl, XL_EV_CHILD_UP);
}

static void client_reopen_cbk(void *cookie, int status,
			      const struct rpc_msg *msg)
{
	struct client_reopen *ro = cookie;
	struct client_priv *priv = ro->priv;
	struct client_fdctx *ctx = ro->ctx;
	struct xl_reply reply = {0};
	uint64_t remote_fd = 0;
	char gfid[XL_GFID_STR_LEN];
	struct rpc_rbuf r;
	bool is_dir = ctx->is_dir, orphan;
	int ret = status, left;

	if (status == 0) {
		rpc_rbuf_init(&r, msg->body, msg->body_len);
		ret = rpc_decode_reply(
		    &r, ctx->is_dir ? XL_FOP_OPENDIR : XL_FOP_OPEN, &reply,
		    &remote_fd, msg->bulk);
		if (ret == 0)
			ret = reply.ret < 0 ? reply.ret : 0;
		xl_reply_clear(&reply);
	}
	xl_gfid_to_str(ctx->gfid, gfid);
	pthread_mutex_lock(&priv->lock);
	if (ret == 0) {
		ctx->remote_fd = remote_fd;
		ctx->generation = ro->generation;
	} else if (status == 0 && priv->generation == ro->generation) {
		/* The brick answered no: this fd is lost for good.  (A lost
		 * connection is not the fd's fault: retried next time.) */
		ctx->bad = true;
	}
	left = --priv->reopen_pending;
	/* Released while the reopen ran: nobody will release the new brick
	 * fd, so do it now. */
	orphan = ret == 0 && ctx->refs == 1;
	client_fdctx_put_locked(priv, ctx);
	pthread_mutex_unlock(&priv->lock);
	if (orphan)
		client_send_release(priv, is_dir, remote_fd);
	if (ret != 0 && status == 0)
		xl_err(priv->xl->name,
		       "cannot reopen fd: gfid=%s errno=%d; "
		       "fops on it fail with EBADFD",
		       gfid, -ret);
	if (left == 0)
		client_set_up(priv, ro->generation);
	free(ro);
}

/* Reopen, by gfid, every fd opened on an older connection.  The brick
 * forgot them when the connection dropped. */
static void client_reopen_all(struct client_priv *priv, uint64_t generation)
{
	struct client_fdctx **todo = NULL;
	int count = 0, n = 0, lost = 0, left;

	pthread_mutex_lock(&priv->lock);
	/* The brick dropped the locks of the old connection.  An fd that
	 * held some must not let its owner write as if it still had them
	 * while another client takes them: it is reopened with its locks
	 * lost (EBADFD for every fop) until a replica restores them. */
	for (struct client_fdctx *c = priv->fds; c; c = c->next) {
		if (c->bad || !c->locked || c->generation == generation)
			continue;
		c->lost = true;
		c->restore_grants = 0;
		lost++;
	}
	for (struct client_fdctx *c = priv->fds; c; c = c->next)
		if (!c->bad && c->generation != generation)
			count++;
	if (count)
		todo = calloc((size_t)count, sizeof(*todo));
	for (struct client_fdctx *c = priv->fds; todo && c; c = c->next) {
		if (c->bad || c->generation == generation)
			continue;
		c->refs++;
		todo[n++] = c;
	}
	if (count && !todo) {
		/* No memory to reopen: those fds are lost. */
		for (struct client_fdctx *c = priv->fds; c; c = c->next)
			if (c->generation != generation)
				c->bad = true;
		xl_err(priv->xl->name, "cannot reopen %d fds: errno=%d", count,
		       ENOMEM);
	}
	/* One extra count so the last reopen cannot finish before all are
	 * sent. */
	priv->reopen_pending = n + 1;
	pthread_mutex_unlock(&priv->lock);

	if (lost)
		xl_warn(priv->xl->name,
			"%d fds held locks through the previous connection "
			"to %s:%u; the brick dropped them: those fds fail "
			"with EBADFD unless a replica restores their locks",
			lost, priv->host, priv->port);

	if (n)
		xl_info(priv->xl->name, "reopening %d fds on %s:%u", n,
			priv->host, priv->port);
	for (int i = 0; i < n; i++) {
		struct client_reopen *ro = calloc(1, sizeof(*ro));
		struct client_fdctx *c = todo[i];
		struct xl_args args = {0};
		struct xl_cred cred = {0};
		enum xl_fop fop = c->is_dir ? XL_FOP_OPENDIR : XL_FOP_OPEN;
		struct rpc_wbuf w;
		int ret = -ENOMEM;

		rpc_wbuf_init(&w);
		memcpy(args.loc.gfid, c->gfid, XL_GFID_LEN);
		args.flags = c->flags & ~(O_TRUNC | O_CREAT | O_EXCL);
		if (ro) {
			ro->priv = priv;
			ro->ctx = c;
			ro->generation = generation;
			ret = client_encode_nobulk(&w, fop, &cred, &args, 0);
			if (ret == 0)
				ret = w.err;
		}
		if (ret == 0)
			ret = rpc_clnt_call(priv->clnt, (uint32_t)fop, w.data,
					    w.len, NULL, client_reopen_cbk, ro);
		rpc_wbuf_free(&w);
		if (ret != 0 && ro) {
			client_reopen_cbk(ro, ret < 0 ? ret : -EIO, NULL);
		} else if (ret != 0) {
			pthread_mutex_lock(&priv->lock);
			priv->reopen_pending--;
			client_fdctx_put_locked(priv, c);
			pthread_mutex_unlock(&priv->lock);
		}
	}
	free(todo);

	pthread_mutex_lock(&priv->lock);
	left = --priv->reopen_pending;
	pthread_mutex_unlock(&priv->lock);
	if (left == 0)
		client_set_up(priv, generation);
}

/* The brick said no.  Log it once (and when the reason changes), and
 * try again after a backoff of 1 s doubling up to 30 s. */
static void client_handshake_refused(struct client_priv *priv, int err)
{
	const char *why = err == -ENOENT   ? "no such volume on the brick"
			  : err == -EACCES ? "not allowed by the brick's auth"
			  : err == -EPROTO ? "protocol version mismatch"
			  : err == -EPROTONOSUPPORT
			      ? "the brick requires TLS: set option tls on "
				"(mortar-volgen --tls) with a client "
				"certificate"
			      : "error";
	uint64_t delay;
	bool loud;

	pthread_mutex_lock(&priv->lock);
	loud = priv->last_refusal != err;
	priv->last_refusal = err;
	if (priv->refusals < 5)
		priv->refusals++;
	delay = 1000ull << (priv->refusals - 1);
	if (delay > 30000)
		delay = 30000;
	pthread_mutex_unlock(&priv->lock);
	rpc_clnt_reconnect_after(priv->clnt, (unsigned)delay);
	if (loud)
		xl_err(priv->xl->name,
		       "handshake with %s:%u refused: volume=%s errno=%d (%s)",
		       priv->host, priv->port, priv->subvol, -err, why);
	else
		xl_debug(priv->xl->name, "handshake refused again: errno=%d",
			 -err);
}

static void client_handshake_cbk(void *cookie, int status,
				 const struct rpc_msg *msg)
{
	struct client_priv *priv = cookie;
	struct rpc_rbuf r;
	uint64_t generation;
	uint32_t caps;
	int32_t ret;

	if (status < 0) {
		/* The disconnect callback follows; reconnect is automatic. */
		xl_debug(priv->xl->name, "handshake lost: errno=%d", -status);
		return;
	}
	rpc_rbuf_init(&r, msg->body, msg->body_len);
	/* capabilities: none used yet */
	if (rpc_decode_handshake_reply(&r, &ret, &caps) != 0)
		ret = -EPROTO;
	if (ret != 0) {
		client_handshake_refused(priv, ret);
		return;
	}
	pthread_mutex_lock(&priv->lock);
	priv->refusals = 0;
	priv->last_refusal = 0;
	generation = priv->generation;
	pthread_mutex_unlock(&priv->lock);
	client_reopen_all(priv, generation);
}

static void client_send_handshake(struct client_priv *priv)
{
	struct rpc_wbuf w;
	int ret;

	rpc_wbuf_init(&w);
	ret = rpc_encode_handshake(&w, RPC_PROTO_VERSION, priv->subvol,
				   priv->identity, RPC_HS_TAKES_NOTICES);
	if (ret == 0)
		ret = rpc_clnt_call(priv->clnt, RPC_PROC_HANDSHAKE, w.data,
				    w.len, NULL, client_handshake_cbk, priv);
	rpc_wbuf_free(&w);
	if (ret != 0) {
		xl_warn(priv->xl->name, "cannot send handshake: errno=%d",
			-ret);
		rpc_clnt_reconnect(priv->clnt);
	}
}

static void client_on_connect(void *ctx)
{
	struct client_priv *priv = ctx;

	pthread_mutex_lock(&priv->lock);
	priv->generation++;
	priv->connected = true;
	priv->up = false;
	pthread_mutex_unlock(&priv->lock);
	client_send_handshake(priv);
}

static void client_on_disconnect(void *ctx, int err)
{
	struct client_priv *priv = ctx;
	bool was_up;

	pthread_mutex_lock(&priv->lock);
	was_up = priv->up;
	priv->connected = false;
	priv->up = false;
	pthread_mutex_unlock(&priv->lock);
	if (!was_up) {
		xl_debug(priv->xl->name, "cannot reach %s:%u: errno=%d",
			 priv->host, priv->port, -err);
		return;
	}
	xl_warn(priv->xl->name, "disconnected from %s:%u: errno=%d", priv->host,
		priv->port, -err);
	client_forget_all(priv);
	xl_notify_parents(priv->xl, XL_EV_CHILD_DOWN);
}

/* ---- translator ------------------------------------------------------ */

static int client_loop_get(struct rpc_evloop **out)
{
	int ret = 0;

	pthread_mutex_lock(&client_loop_lock);
	if (!client_loop) {
		client_loop = rpc_evloop_new(2);
		if (!client_loop) {
			ret = -ENOMEM;
		} else {
			ret = rpc_evloop_start(client_loop);
			if (ret != 0) {
				rpc_evloop_free(client_loop);
				client_loop = NULL;
			}
		}
	}
	if (ret == 0) {
		client_loop_users++;
		*out = client_loop;
	}
	pthread_mutex_unlock(&client_loop_lock);
	return ret;
}

static void client_loop_put(void)
{
	struct rpc_evloop *loop = NULL;

	pthread_mutex_lock(&client_loop_lock);
	if (--client_loop_users == 0) {
		loop = client_loop;
		client_loop = NULL;
	}
	pthread_mutex_unlock(&client_loop_lock);
	if (loop) {
		rpc_evloop_stop(loop);
		rpc_evloop_free(loop);
	}
}

static void client_make_identity(char *buf, size_t size)
{
	char host[128] = "unknown";
	uint32_t rnd = 0;

	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	snprintf(buf, size, "%s-%d-%08x", host, (int)getpid(), rnd);
}

static void client_fini(struct xl *xl);

static int client_init(struct xl *xl, char **err)
{
	static const struct rpc_clnt_cbs cbs = {
	    .on_connect = client_on_connect,
	    .on_disconnect = client_on_disconnect,
	    .on_notice = client_on_notice,
	};
	struct rpc_clnt_opts opts = {0};
	struct client_priv *priv;
	struct rpc_evloop *loop = NULL;
	int64_t port = RPC_DEFAULT_PORT, ping = 10;
	int ret;

	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	priv->xl = xl;
	pthread_mutex_init(&priv->lock, NULL);
	xl->private = priv;
	if (xl_opt_str(xl, "remote-host", &priv->host) != 0 ||
	    xl_opt_str(xl, "remote-subvolume", &priv->subvol) != 0) {
		*err = strdup("remote-host and remote-subvolume are required");
		ret = -EINVAL;
		goto fail;
	}
	xl_opt_int(xl, "remote-port", &port);
	xl_opt_int(xl, "ping-timeout", &ping);
	opts.transport = "tcp";
	xl_opt_str(xl, "transport-type", &opts.transport);
	opts.ping_timeout_sec = (int)ping;
	priv->port = (uint16_t)port;
	client_make_identity(priv->identity, sizeof(priv->identity));
	ret = proto_tls_setup(xl, opts.transport, false, &opts.tls, err);
	if (ret != 0)
		goto fail;

	ret = client_loop_get(&loop);
	if (ret != 0) {
		if (asprintf(err, "cannot start the event loop: %s",
			     strerror(-ret)) < 0)
			*err = NULL;
		rpc_tls_unref(opts.tls);
		goto fail;
	}
	priv->clnt =
	    rpc_clnt_new(loop, priv->host, priv->port, &opts, &cbs, priv);
	rpc_tls_unref(opts.tls); /* the rpc client holds its own */
	if (!priv->clnt) {
		client_loop_put();
		if (asprintf(err, "cannot set up a %s client for %s:%u",
			     opts.transport, priv->host, priv->port) < 0)
			*err = NULL;
		ret = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	client_fini(xl);
	return ret;
}

static void client_fini(struct xl *xl)
{
	struct client_priv *priv = xl->private;

	if (!priv)
		return;
	if (priv->clnt) {
		/* Fails every pending call (their fops unwind ENOTCONN). */
		rpc_clnt_destroy(priv->clnt);
		client_loop_put();
	}
	/* fds that outlive the graph free their ctx alone (see
	 * client_fd_ctx_free with no priv). */
	pthread_mutex_lock(&priv->lock);
	for (struct client_fdctx *c = priv->fds; c; c = c->next)
		c->linked = false;
	priv->fds = NULL;
	pthread_mutex_unlock(&priv->lock);
	pthread_mutex_destroy(&priv->lock);
	free(priv);
	xl->private = NULL;
}

static int client_notify(struct xl *xl, enum xl_event ev, struct xl *from)
{
	struct client_priv *priv = xl->private;
	int ret;

	bool start;

	if (ev != XL_EV_PARENT_UP || !priv)
		return 0;
	/* Every parent sends PARENT_UP; connect once. */
	pthread_mutex_lock(&priv->lock);
	start = !priv->started;
	priv->started = true;
	pthread_mutex_unlock(&priv->lock);
	if (!start)
		return 0;
	ret = rpc_clnt_start(priv->clnt);
	if (ret != 0)
		xl_err(xl->name, "cannot connect to %s:%u: errno=%d",
		       priv->host, priv->port, -ret);
	return ret;
}

static void client_dump(struct xl *xl, FILE *out)
{
	struct client_priv *priv = xl->private;
	char gfid[XL_GFID_STR_LEN];
	int shown = 0;

	if (!priv)
		return;
	pthread_mutex_lock(&priv->lock);
	fprintf(out,
		"remote-host=%s\nremote-port=%u\nremote-subvolume=%s\n"
		"identity=%s\nconnected=%d\nup=%d\ngeneration=%" PRIu64 "\n"
		"pending=%d\nfds=%d\nrefused-handshakes=%d\n",
		priv->host, priv->port, priv->subvol, priv->identity,
		priv->connected, priv->up, priv->generation,
		atomic_load(&priv->pending), priv->fd_count, priv->refusals);
	for (struct client_fdctx *c = priv->fds;
	     c && shown < CLIENT_DUMP_FDS_MAX; c = c->next, shown++)
		fprintf(out,
			"fd.%d=gfid:%s remote:%" PRIu64 " dir:%d bad:%d "
			"locked:%d lost:%d stale:%d\n",
			shown, xl_gfid_to_str(c->gfid, gfid), c->remote_fd,
			c->is_dir, c->bad, c->locked, c->lost,
			c->generation != priv->generation);
	pthread_mutex_unlock(&priv->lock);
}

static const char *const client_transports[] = {"tcp", "rdma", NULL};

static const struct xl_option_desc client_options[] = {
    {.key = "remote-host",
     .type = XL_OPT_STR,
     .required = true,
     .help = "brick host name or address"},
    {.key = "remote-port",
     .type = XL_OPT_INT,
     .default_value = "24010",
     .min = 1,
     .max = 65535,
     .help = "brick port"},
    {.key = "remote-subvolume",
     .type = XL_OPT_STR,
     .required = true,
     .help = "name of the volume on the brick to attach to"},
    {.key = "transport-type",
     .type = XL_OPT_ENUM,
     .default_value = "tcp",
     .choices = client_transports,
     .help = "tcp or rdma"},
    {.key = "ping-timeout",
     .type = XL_OPT_TIME,
     .default_value = "10",
     .min = 1,
     .max = 1800,
     .help = "seconds of silence before the brick is declared down"},
    {.key = "tls",
     .type = XL_OPT_BOOL,
     .default_value = "off",
     .help = "TLS 1.3 to the brick (which must have tls on); the brick's "
	     "certificate must be signed by tls-ca"},
    {.key = "tls-cert",
     .type = XL_OPT_PATH,
     .default_value = RPC_TLS_DIR "/client.crt",
     .help = "this client's certificate (PEM), with tls on; its common "
	     "name is what auth.allow cn: entries match"},
    {.key = "tls-key",
     .type = XL_OPT_PATH,
     .default_value = RPC_TLS_DIR "/client.key",
     .help = "this client's private key (PEM), with tls on"},
    {.key = "tls-ca",
     .type = XL_OPT_PATH,
     .default_value = RPC_TLS_DIR "/ca.crt",
     .help = "CA certificates (PEM) the brick's certificate must chain "
	     "to"},
    {0},
};

static void client_send_fop(struct xl *xl, struct xl_call *call)
{
	if (call->fop == XL_FOP_RELEASE || call->fop == XL_FOP_RELEASEDIR)
		client_release(xl, call);
	else
		client_fop(xl, call);
}

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "protocol/client",
    .description = "sends fops to one brick over rpc",
    .init = client_init,
    .fini = client_fini,
    .notify = client_notify,
    .dump = client_dump,
    .options = client_options,
    .local_size = sizeof(struct client_local),
    .fd_ctx_free = client_fd_ctx_free,
    .fops =
	{
	    /* every fop goes to the brick: a new fop cannot be forgotten
	     * here (client_send_fop sends releases their own way) */
	    [0 ... XL_FOP_COUNT - 1] = client_send_fop,
	},
};
