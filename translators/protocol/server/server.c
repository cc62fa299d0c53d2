/*
 * server.c - protocol/server: the brick end of the wire.  Accepts client
 * connections, checks auth at handshake, turns each request frame into a
 * root call on the brick graph and each answer back into a reply frame,
 * keeps a per-connection table of open fds, serves client volfiles
 * (GETSPEC, GETSPEC_VERSION), tells its clients when one changes
 * (RPC_NOTICE_VOLFILE, from volwatch.c's thread) and cleans up everything
 * a client leaves behind when it goes.
 *
 * Threads: requests arrive on rpc event loop threads; completions run on
 * whatever thread answers (io-threads usually).  Locks: priv->lock guards
 * the client list; client->lock guards that client's fd table.  Never
 * take priv->lock while holding a client->lock.
 *
 * A gone client: on_disconnect sends a RELEASE with "mortar.disconnect"
 * down for every fd left in its table and one INODELK with the same key
 * that drops its locks everywhere; features/locks then refuses every late
 * lock request of that client-id (requests it sent before it went may
 * still be queued in io-threads).  Every call made for a client, its
 * requests and those cleanup calls, holds a client ref until answered;
 * the last unref sends INODELK "mortar.client-forget": nothing of that
 * client-id can reach the brick any more, and locks forgets the id.
 *
 * Blocking lock requests (F_SETLKW, flock without LOCK_NB, inodelk
 * F_SETLKW) may wait as long as another client holds the lock.  They do
 * not count toward rpc's in-flight cap of the connection (rpc_conn_park),
 * which would otherwise stop reading it, pings included; instead at most
 * SERVER_MAX_LOCK_WAITS of them per connection are in progress, more are
 * refused with ENOLCK (logged once per connection).
 *
 * Cache notices: a cache notice that reaches this translator from the
 * brick graph (features/upcall) names the client it is for; it goes to
 * that client's connection as an RPC_NOTICE_INVAL notice if the client
 * asked for notices in its handshake (RPC_HS_TAKES_NOTICES), and is
 * dropped otherwise.  A notice is a frame on the existing connection, so
 * it travels in order with that client's replies.
 */
#include "config.h"

#include "auth.h"
#include "buf.h"
#include "call.h"
#include "graph.h"
#include "inode.h"
#include "log.h"
#include "proto-tls.h"
#include "rpc.h"
#include "xlator.h"
#include "volfile-version.h"
#include "volwatch.h"
#include "xdata-keys.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SERVER_MAX_FDS	   65536 /* open fds per client connection */
#define SERVER_FD_BUCKETS  256
#define SERVER_VOLFILE_MAX (1u << 20)
#define SERVER_DRAIN_MS	   5000 /* how long fini waits for in-flight calls */
/* Blocking lock requests in progress per connection (see the header): a
 * request holds little memory, and a client mount has one per process
 * waiting for a lock. */
#define SERVER_MAX_LOCK_WAITS 4096

/* One entry of a client's fd table. */
struct server_fdent {
	struct server_fdent *next;
	uint64_t num;
	struct xl_fd *fd; /* owned ref */
};

struct server_priv;

/*
 * Per-connection state, stored in the rpc_conn ctx.  Refcounted: the
 * connection holds one ref until on_disconnect, each call made for the
 * client (its requests, the cleanup calls after it went) one.
 */
struct server_client {
	struct server_client *next, *prev; /* priv->lock */
	atomic_int refs;
	struct server_priv *priv;
	uint64_t id;	       /* mortar.client-id, unique in this process */
	char peer[80];	       /* "host:port", for logs and the dump */
	char *identity;	       /* the client's own name from the handshake */
	bool takes_notices;    /* priv->lock: asked for notices */
	struct xl *subvol;     /* attached volume; NULL before handshake */
	struct rpc_conn *conn; /* ref held while in the list */

	pthread_mutex_t lock; /* guards everything below */
	bool gone;	      /* disconnected: no new fds enter the table */
	struct server_fdent *buckets[SERVER_FD_BUCKETS];
	uint32_t fd_count;
	uint32_t fd_reserved;	/* opens in flight, counted against the cap */
	uint32_t lock_waits;	/* blocking lock requests in progress */
	bool lock_waits_warned; /* the ENOLCK refusal was logged */
};

/* fd numbers come from one counter for the whole process and are never
 * reused: a number a client kept from an old connection then names no fd
 * on the new one (-EBADF) instead of some other client file. */
static atomic_uint_fast64_t server_next_fd;

struct server_priv {
	struct xl *xl;
	struct rpc_evloop *loop;
	struct rpc_srv *srv;
	uint16_t port;
	const char *allow; /* option strings, owned by xl->options */
	const char *reject;
	const char *volfile_dir;
	struct rpc_tls *tls; /* option tls on: one reference; else NULL */

	pthread_mutex_t lock; /* guards clients, next_client_id */
	struct server_client *clients;
	uint64_t next_client_id;
	atomic_int inflight;		  /* root calls not yet answered */
	struct server_volwatch *volwatch; /* volfile_dir's watch, or NULL */
};

/* What a root call needs to answer its request. */
struct server_req {
	struct server_priv *priv;
	struct server_client *client; /* ref */
	struct rpc_conn *conn;	      /* ref */
	uint64_t xid;
	uint32_t proc;
	bool reserved_fd; /* an fd slot was reserved for an open */
	bool lock_wait;	  /* a blocking lock request, parked at rpc */
};

static void server_forget_client(struct server_client *client);

/* The last unref of a client that attached tells the brick to forget its
 * id: every call made for it has been answered. */
static void server_client_unref(struct server_client *client)
{
	if (atomic_fetch_sub(&client->refs, 1) != 1)
		return;
	if (client->subvol)
		server_forget_client(client);
	/* The table was emptied at disconnect; nothing else is owned. */
	pthread_mutex_destroy(&client->lock);
	free(client->identity);
	free(client);
}

/* ---- fd table (client->lock held) ------------------------------------ */

static struct server_fdent **server_fd_slot_locked(struct server_client *c,
						   uint64_t num)
{
	struct server_fdent **pp = &c->buckets[num % SERVER_FD_BUCKETS];

	while (*pp && (*pp)->num != num)
		pp = &(*pp)->next;
	return pp;
}

/* Put fd (ref consumed) in the table; 0 and *num, or -errno.  */
static int server_fd_insert_locked(struct server_client *c, struct xl_fd *fd,
				   uint64_t *num)
{
	struct server_fdent *ent = calloc(1, sizeof(*ent));
	struct server_fdent **slot;

	if (!ent)
		return -ENOMEM;
	ent->num = atomic_fetch_add(&server_next_fd, 1) + 1;
	ent->fd = fd;
	slot = &c->buckets[ent->num % SERVER_FD_BUCKETS];
	ent->next = *slot;
	*slot = ent;
	c->fd_count++;
	*num = ent->num;
	return 0;
}

/* A new ref to the fd for num, or NULL. */
static struct xl_fd *server_fd_get(struct server_client *c, uint64_t num)
{
	struct server_fdent **slot;
	struct xl_fd *fd = NULL;

	pthread_mutex_lock(&c->lock);
	slot = server_fd_slot_locked(c, num);
	if (*slot)
		fd = xl_fd_ref((*slot)->fd);
	pthread_mutex_unlock(&c->lock);
	return fd;
}

/* Take num out of the table; returns the table's ref, or NULL. */
static struct xl_fd *server_fd_remove(struct server_client *c, uint64_t num)
{
	struct server_fdent **slot;
	struct server_fdent *ent;
	struct xl_fd *fd = NULL;

	pthread_mutex_lock(&c->lock);
	slot = server_fd_slot_locked(c, num);
	ent = *slot;
	if (ent) {
		*slot = ent->next;
		c->fd_count--;
		fd = ent->fd;
		free(ent);
	}
	pthread_mutex_unlock(&c->lock);
	return fd;
}

/* ---- replies --------------------------------------------------------- */

static void server_send_fop_reply(struct rpc_conn *conn, uint64_t xid,
				  uint32_t proc, const struct xl_reply *reply,
				  uint64_t remote_fd)
{
	struct xl_iobuf *bulk = NULL;
	struct rpc_wbuf w;
	int ret;

	rpc_wbuf_init(&w);
	ret = rpc_encode_reply(&w, (enum xl_fop)proc, reply, remote_fd, &bulk);
	if (ret == 0 && w.err != 0)
		ret = w.err;
	else if (ret == 0)
		ret = rpc_conn_reply(conn, xid, proc, w.data, w.len, bulk);
	else
		ret = ret < 0 ? ret : -ENOMEM;
	/* The answer could not be encoded or not sent (too big for a frame,
	 * no memory): send an error in its place, or the client waits for
	 * it forever.  A closed connection has nobody left to tell. */
	if (ret != 0 && ret != -ENOTCONN) {
		struct xl_reply err = {.ret = ret == -EMSGSIZE ? -EIO : ret};
		struct rpc_wbuf w2;

		xl_warn("server", "reply to %s failed: errno=%d",
			xl_fop_name((enum xl_fop)proc), -ret);
		rpc_wbuf_init(&w2);
		if (rpc_encode_reply(&w2, (enum xl_fop)proc, &err, 0, NULL) ==
			0 &&
		    w2.err == 0)
			rpc_conn_reply(conn, xid, proc, w2.data, w2.len, NULL);
		rpc_wbuf_free(&w2);
	}
	if (bulk)
		xl_iobuf_unref(bulk);
	rpc_wbuf_free(&w);
}

static void server_reply_error(struct rpc_conn *conn, uint64_t xid,
			       uint32_t proc, int err)
{
	struct xl_reply reply = {.ret = err};
	struct rpc_wbuf w;

	if (proc >= XL_FOP_COUNT) {
		/* Not a fop: the generic answer is an i32 status alone. */
		rpc_wbuf_init(&w);
		rpc_put_u32(&w, (uint32_t)err);
		if (w.err == 0)
			rpc_conn_reply(conn, xid, proc, w.data, w.len, NULL);
		rpc_wbuf_free(&w);
		return;
	}
	server_send_fop_reply(conn, xid, proc, &reply, 0);
}

/* ---- fops ------------------------------------------------------------ */

/* The fop table's facts (xlators-api/fop.c, XL_F_*). */
static bool server_fop_tags_client(enum xl_fop fop)
{
	return xl_fop_is(fop, XL_F_CLIENT_TAG);
}

static bool server_fop_opens(enum xl_fop fop)
{
	return xl_fop_is(fop, XL_F_OPENS_FD);
}

static bool server_fop_needs_dir(enum xl_fop fop)
{
	return xl_fop_is(fop, XL_F_DIR_FD);
}

static bool server_fop_needs_file(enum xl_fop fop)
{
	return xl_fop_is(fop, XL_F_FILE_FD);
}

/* Set the xdata keys the locks translator reads. */
static int server_tag_xdata(struct xl_args *args, uint64_t client_id,
			    bool disconnect)
{
	int ret;

	if (!args->xdata) {
		args->xdata = xl_dict_new();
		if (!args->xdata)
			return -ENOMEM;
	}
	ret = xl_dict_set_u64(args->xdata, XL_KEY_CLIENT_ID, client_id);
	if (ret == 0 && disconnect)
		ret = xl_dict_set_u64(args->xdata, XL_KEY_DISCONNECT, 1);
	return ret;
}

/* Completion of a cleanup call for a gone client (cookie: a client ref).
 * The client is unreffed before the call leaves priv->inflight, so fini
 * still waits for the forget that unref may send. */
static void server_cleanup_done(struct xl_call *parent, struct xl_call *call,
				void *cookie)
{
	struct server_client *client = cookie;
	struct server_priv *priv = client->priv;

	if (call->reply.ret < 0)
		xl_debug(priv->xl->name,
			 "%s after disconnect failed: client=%" PRIu64
			 " errno=%d",
			 xl_fop_name(call->fop), client->id, -call->reply.ret);
	server_client_unref(client);
	atomic_fetch_sub(&priv->inflight, 1);
}

static void server_forget_done(struct xl_call *parent, struct xl_call *call,
			       void *cookie)
{
	struct server_priv *priv = cookie;

	atomic_fetch_sub(&priv->inflight, 1);
}

/* Every call made for client has been answered: tell the brick (features/
 * locks) that no request of its id can come any more.  Runs on whatever
 * thread dropped the last ref, with no lock held. */
static void server_forget_client(struct server_client *client)
{
	struct server_priv *priv = client->priv;
	struct xl_cred cred = {0};
	struct xl_call *call;

	call = xl_call_new_root(priv->xl->graph, XL_FOP_INODELK, &cred,
				server_forget_done, priv);
	if (!call || server_tag_xdata(&call->args, client->id, false) != 0 ||
	    xl_dict_set_u64(call->args.xdata, XL_KEY_CLIENT_FORGET, 1) != 0) {
		/* locks keeps the id: a few bytes, and the id is never
		 * reused */
		xl_warn(priv->xl->name,
			"cannot forget gone client %" PRIu64 ": errno=%d",
			client->id, ENOMEM);
		if (call)
			xl_call_unref(call);
		return;
	}
	call->args.cmd = F_SETLK;
	call->args.lock.type = F_UNLCK;
	atomic_fetch_add(&priv->inflight, 1);
	xl_call_start(call, client->subvol);
}

/* Release fd (ref consumed) down the graph on behalf of a client that is
 * gone, so the brick closes it and drops the client's locks on it. */
static void server_release_orphan(struct server_priv *priv,
				  struct server_client *client,
				  struct xl_fd *fd)
{
	enum xl_fop fop = fd->is_dir ? XL_FOP_RELEASEDIR : XL_FOP_RELEASE;
	struct xl_cred cred = {0};
	struct xl_call *call;

	call = xl_call_new_root(priv->xl->graph, fop, &cred,
				server_cleanup_done, client);
	if (!call) {
		xl_err(priv->xl->name,
		       "cannot release fd of gone client "
		       "%" PRIu64 ": errno=%d",
		       client->id, ENOMEM);
		xl_fd_unref(fd);
		return;
	}
	atomic_fetch_add(&client->refs, 1); /* the cookie's */
	call->args.fd = fd;
	memcpy(call->args.loc.gfid, fd->gfid, XL_GFID_LEN);
	if (server_tag_xdata(&call->args, client->id, true) != 0)
		xl_warn(priv->xl->name,
			"release without client tags: "
			"client=%" PRIu64,
			client->id);
	atomic_fetch_add(&priv->inflight, 1);
	xl_call_start(call, client->subvol);
}

/* Drop every internal lock (inodelk) the gone client holds on the brick,
 * whichever inode it is on: those locks need no open fd, so the per-fd
 * releases above do not reach them. */
static void server_drop_internal_locks(struct server_priv *priv,
				       struct server_client *client)
{
	struct xl_cred cred = {0};
	struct xl_call *call;

	call = xl_call_new_root(priv->xl->graph, XL_FOP_INODELK, &cred,
				server_cleanup_done, client);
	if (call)
		atomic_fetch_add(&client->refs, 1); /* the cookie's */
	if (!call || server_tag_xdata(&call->args, client->id, true) != 0) {
		xl_err(priv->xl->name,
		       "cannot drop internal locks of gone client "
		       "%" PRIu64 ": errno=%d",
		       client->id, ENOMEM);
		if (call) {
			call->reply.ret = -ENOMEM;
			atomic_fetch_add(&priv->inflight, 1);
			xl_unwind(call);
		}
		return;
	}
	call->args.cmd = F_SETLK;
	call->args.lock.type = F_UNLCK;
	atomic_fetch_add(&priv->inflight, 1);
	xl_call_start(call, client->subvol);
}

/* Put the fd an open produced in the client's table and return its number
 * (0 when it could not be kept; the brick fd is then released). */
static uint64_t server_keep_fd(struct server_priv *priv,
			       struct server_client *client,
			       struct xl_call *call)
{
	struct xl_fd *fd = call->args.fd;
	uint64_t num = 0;
	bool gone;
	int ret = -ENOENT;

	if (!fd)
		return 0;
	/* The brick's gfid wins over the one the client sent: a create that
	 * found the file already there carries the client's made-up gfid,
	 * and locks (keyed by fd->gfid) would then never conflict with
	 * those taken through other fds of the same file. */
	if (!xl_gfid_is_null(call->reply.attr.gfid))
		memcpy(fd->gfid, call->reply.attr.gfid, XL_GFID_LEN);
	xl_fd_ref(fd);
	pthread_mutex_lock(&client->lock);
	gone = client->gone;
	if (!gone)
		ret = server_fd_insert_locked(client, fd, &num);
	pthread_mutex_unlock(&client->lock);
	if (ret != 0) {
		/* The client left while the open ran (or ENOMEM): close
		 * the brick fd now rather than leak it. */
		server_release_orphan(priv, client, fd);
		return 0;
	}
	return num;
}

/* Completion of a root call made for a client request: encode the answer
 * (keeping the new fd of an open) and send it. */
static void server_fop_done(struct xl_call *parent, struct xl_call *call,
			    void *cookie)
{
	struct server_req *req = cookie;
	struct server_client *client = req->client;
	struct server_priv *priv = req->priv;
	uint64_t num = 0;

	if (req->reserved_fd || req->lock_wait) {
		pthread_mutex_lock(&client->lock);
		if (req->reserved_fd)
			client->fd_reserved--;
		if (req->lock_wait)
			client->lock_waits--;
		pthread_mutex_unlock(&client->lock);
	}
	if (server_fop_opens(call->fop) && call->reply.ret >= 0) {
		num = server_keep_fd(priv, client, call);
		if (num == 0)
			call->reply.ret = -EIO;
	}
	if (req->lock_wait)
		rpc_conn_unpark(req->conn);
	server_send_fop_reply(req->conn, req->xid, req->proc, &call->reply,
			      num);
	rpc_conn_unref(req->conn);
	/* Unref before leaving priv->inflight: the last unref sends the
	 * forget, which fini must still wait for. */
	server_client_unref(client);
	atomic_fetch_sub(&priv->inflight, 1);
	free(req);
}

/* Can this lock request wait (be parked by features/locks)?  Unlocks,
 * F_SETLK, LOCK_NB and withdrawals (mortar.lk-cancel) are answered at
 * once. */
static bool server_fop_may_wait(const struct xl_call *call)
{
	const struct xl_args *a = &call->args;
	int op = a->cmd & ~LOCK_NB;

	if (a->xdata && xl_dict_get(a->xdata, XL_KEY_LK_CANCEL))
		return false;
	switch (call->fop) {
	case XL_FOP_LK:
	case XL_FOP_INODELK:
		return a->cmd == F_SETLKW && a->lock.type != F_UNLCK;
	case XL_FOP_FLOCK:
		return !(a->cmd & LOCK_NB) && (op == LOCK_SH || op == LOCK_EX);
	default:
		return false;
	}
}

/* Admit one more blocking lock request of client, or -ENOLCK past
 * SERVER_MAX_LOCK_WAITS (logged the first time on this connection). */
static int server_admit_lock_wait(struct server_priv *priv,
				  struct server_client *client)
{
	bool warn = false;
	int ret = 0;

	pthread_mutex_lock(&client->lock);
	if (client->lock_waits >= SERVER_MAX_LOCK_WAITS) {
		ret = -ENOLCK;
		warn = !client->lock_waits_warned;
		client->lock_waits_warned = true;
	} else {
		client->lock_waits++;
	}
	pthread_mutex_unlock(&client->lock);
	if (warn)
		xl_warn(priv->xl->name,
			"too many blocking lock requests, refused with ENOLCK: "
			"peer=%s id=%" PRIu64 " max=%d",
			client->peer, client->id, SERVER_MAX_LOCK_WAITS);
	return ret;
}

/* Fill call->args.fd for an open (a new fd) or an fd fop (the table's
 * fd).  0 or -errno for the reply. */
static int server_resolve_fd(struct server_priv *priv,
			     struct server_client *client, struct xl_call *call,
			     uint64_t remote_fd, bool *reserved)
{
	enum xl_fop fop = call->fop;
	uint32_t need = xl_fop_info[fop].args;
	struct xl_fd *fd;
	int ret = 0;

	if (server_fop_opens(fop)) {
		pthread_mutex_lock(&client->lock);
		if (client->fd_count + client->fd_reserved >= SERVER_MAX_FDS)
			ret = -EMFILE;
		else
			client->fd_reserved++;
		pthread_mutex_unlock(&client->lock);
		if (ret != 0)
			return ret;
		*reserved = true;
		call->args.fd =
		    xl_fd_new(priv->xl->graph, call->args.loc.gfid, NULL,
			      call->args.flags, fop == XL_FOP_OPENDIR);
		return call->args.fd ? 0 : -ENOMEM;
	}
	if (!(need & (XL_A_FD | XL_A_FD_OPT)))
		return 0;
	if (remote_fd == 0)
		return (need & XL_A_FD) ? -EBADF : 0;
	fd = server_fd_get(client, remote_fd);
	if (!fd)
		return -EBADF;
	call->args.fd = fd;
	if ((server_fop_needs_dir(fop) && !fd->is_dir) ||
	    (server_fop_needs_file(fop) && fd->is_dir))
		return -EBADF;
	/* A release takes the number out of the table at once, so no later
	 * request can use it.  Only one release can win the number. */
	if (fop == XL_FOP_RELEASE || fop == XL_FOP_RELEASEDIR) {
		struct xl_fd *table_ref = server_fd_remove(client, remote_fd);

		if (!table_ref)
			return -EBADF;
		xl_fd_unref(table_ref);
	}
	if (xl_gfid_is_null(call->args.loc.gfid))
		memcpy(call->args.loc.gfid, fd->gfid, XL_GFID_LEN);
	return 0;
}

static void server_handle_fop(struct server_priv *priv,
			      struct server_client *client,
			      struct rpc_conn *conn, const struct rpc_msg *msg)
{
	enum xl_fop fop = (enum xl_fop)msg->proc;
	struct server_req *req = NULL;
	struct xl_call *call = NULL;
	struct xl_cred cred;
	struct rpc_rbuf r;
	uint64_t remote_fd = 0;
	int ret;

	if (!client->subvol) {
		ret = -EPERM;
		goto out;
	}
	req = calloc(1, sizeof(*req));
	call =
	    xl_call_new_root(priv->xl->graph, fop, NULL, server_fop_done, req);
	if (!req || !call) {
		ret = -ENOMEM;
		goto out;
	}
	rpc_rbuf_init(&r, msg->body, msg->body_len);
	ret =
	    rpc_decode_call(&r, fop, &cred, &call->args, &remote_fd, msg->bulk);
	if (ret != 0) {
		xl_debug(priv->xl->name, "bad %s request from %s: errno=%d",
			 xl_fop_name(fop), client->peer, -ret);
		goto out;
	}
	call->cred = cred;
	/* A client may not forge the keys the brick sets itself. */
	if (call->args.xdata) {
		xl_dict_del(call->args.xdata, XL_KEY_CLIENT_ID);
		xl_dict_del(call->args.xdata, XL_KEY_DISCONNECT);
		xl_dict_del(call->args.xdata, XL_KEY_CLIENT_FORGET);
	}
	ret =
	    server_resolve_fd(priv, client, call, remote_fd, &req->reserved_fd);
	if (ret == 0 && server_fop_tags_client(fop))
		ret = server_tag_xdata(&call->args, client->id, false);
	/* Last, so nothing below can fail once it is admitted. */
	if (ret == 0 && server_fop_may_wait(call)) {
		ret = server_admit_lock_wait(priv, client);
		req->lock_wait = ret == 0;
	}
	if (ret != 0)
		goto out;
	if (req->lock_wait)
		rpc_conn_park(conn);
	req->priv = priv;
	req->client = client;
	atomic_fetch_add(&client->refs, 1);
	req->conn = rpc_conn_ref(conn);
	req->xid = msg->xid;
	req->proc = msg->proc;
	atomic_fetch_add(&priv->inflight, 1);
	xl_call_start(call, client->subvol);
	return;
out:
	if (req && req->reserved_fd) {
		pthread_mutex_lock(&client->lock);
		client->fd_reserved--;
		pthread_mutex_unlock(&client->lock);
	}
	/* The call was never started: drop it without running server_fop_done.
	 */
	if (call)
		xl_call_unref(call);
	free(req);
	server_reply_error(conn, msg->xid, msg->proc, ret);
}

/* ---- handshake and volfiles ------------------------------------------ */

static struct xl *server_find_subvol(struct server_priv *priv, const char *name)
{
	struct xl *xl = priv->xl;

	for (int i = 0; name && i < xl->child_count; i++)
		if (strcmp(xl->children[i]->name, name) == 0)
			return xl->children[i];
	return NULL;
}

static void server_handle_handshake(struct server_priv *priv,
				    struct server_client *client,
				    struct rpc_conn *conn,
				    const struct rpc_msg *msg)
{
	const char *host = rpc_conn_peer_host(conn);
	const char *cn = rpc_conn_peer_cn(conn);
	struct rpc_handshake hs;
	struct xl *subvol = NULL;
	struct rpc_rbuf r;
	struct rpc_wbuf w;
	int ret;

	rpc_rbuf_init(&r, msg->body, msg->body_len);
	ret = rpc_decode_handshake(&r, &hs);
	if (ret != 0)
		goto out;
	if (hs.version != RPC_PROTO_VERSION) {
		ret = -EPROTO;
		goto out;
	}
	if (!server_auth_allowed(priv->allow, priv->reject, host, cn)) {
		ret = -EACCES;
		goto out;
	}
	subvol = server_find_subvol(priv, hs.volume);
	if (!subvol) {
		ret = -ENOENT;
		goto out;
	}
	if (client->subvol && client->subvol != subvol) {
		/* fds of one volume must not be used on another. */
		ret = -EBUSY;
		goto out;
	}
	client->subvol = subvol;
	pthread_mutex_lock(&priv->lock);
	client->takes_notices = (hs.flags & RPC_HS_TAKES_NOTICES) != 0;
	pthread_mutex_unlock(&priv->lock);
	free(client->identity);
	client->identity = hs.identity;
	hs.identity = NULL;
out:
	if (ret == 0)
		xl_info(priv->xl->name,
			"client attached: peer=%s id=%" PRIu64
			" identity=%s volume=%s",
			client->peer, client->id, client->identity,
			subvol->name);
	else
		xl_warn(priv->xl->name,
			"handshake refused: peer=%s cn=%s volume=%s "
			"errno=%d%s",
			client->peer, *cn ? cn : "-",
			hs.volume ? hs.volume : "?", -ret,
			ret == -EACCES ? " (not in auth.allow, or in "
					 "auth.reject)"
				       : "");
	rpc_wbuf_init(&w);
	if (rpc_encode_handshake_reply(&w, ret, RPC_CAP_NOTICES) == 0)
		rpc_conn_reply(conn, msg->xid, msg->proc, w.data, w.len, NULL);
	rpc_wbuf_free(&w);
	if (ret == -EACCES)
		rpc_conn_close(conn);
	rpc_handshake_clear(&hs);
}

/* Read DIR/name.vol into *text.  0, -ENOENT when absent, or -errno. */
static int server_read_volfile(const char *dir, const char *name, char **text,
			       size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	char *buf = NULL;
	ssize_t got;
	int fd = -1, ret;

	if (snprintf(path, sizeof(path), "%s/%s.vol", dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SERVER_VOLFILE_MAX) {
		ret = -EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	got = read(fd, buf, (size_t)st.st_size);
	if (got < 0) {
		ret = -errno;
		goto out;
	}
	buf[got] = '\0';
	*text = buf;
	*len = (size_t)got;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

/* A brick's own (server) volfile sits in the same directory as the client
 * volfiles it serves; it names directories and listen addresses and is no
 * graph a client can mount, so it is not handed out. */
static bool server_volfile_is_brick(const char *text, size_t len)
{
	struct xl_volfile *vf = NULL;
	char *err = NULL;
	bool brick = false;

	/* One that does not parse is served: the client reports its error
	 * with the line number. */
	if (xl_volfile_parse(text, len, "volfile", &vf, &err) != 0) {
		free(err);
		return false;
	}
	for (int i = 0; i < vf->volume_count; i++)
		if (vf->volumes[i].type &&
		    strcmp(vf->volumes[i].type, "protocol/server") == 0)
			brick = true;
	xl_volfile_free(vf);
	return brick;
}

static int server_gen_volfile(struct server_priv *priv, struct rpc_conn *conn,
			      const char *name, char **text, size_t *len)
{
	const char *host = rpc_conn_local_host(conn);
	const char *transport = "tcp";
	int n;

	xl_opt_str(priv->xl, "transport-type", &transport);
	/* A client reached us on this address; hand it back (bracket-free:
	 * protocol/client takes a bare host).  write-behind and md-cache on
	 * top, as in the client graphs mortar-volgen writes by default. */
	n = asprintf(text,
		     "# generated by brickd for volume %s\n"
		     "volume %s-client\n"
		     "    type protocol/client\n"
		     "    option remote-host %s\n"
		     "    option remote-port %u\n"
		     "    option remote-subvolume %s\n"
		     "    option transport-type %s\n"
		     "%s"
		     "end-volume\n"
		     "volume %s-write-behind\n"
		     "    type performance/write-behind\n"
		     "    subvolumes %s-client\n"
		     "end-volume\n"
		     "volume %s\n"
		     "    type performance/md-cache\n"
		     "    subvolumes %s-write-behind\n"
		     "end-volume\n",
		     name, name, host ? host : "127.0.0.1", priv->port, name,
		     transport, priv->tls ? "    option tls on\n" : "", name,
		     name, name, name);
	if (n < 0)
		return -ENOMEM;
	*len = (size_t)n;
	return 0;
}

/* The client volfile `name` for this peer: its file in the volfile
 * directory, or one made up for a subvolume of ours.  0 with *text
 * (malloc'd) and *len, or -errno (the answer's status). */
static int server_spec_text(struct server_priv *priv,
			    struct server_client *client, struct rpc_conn *conn,
			    const char *name, char **text, size_t *len)
{
	int ret;

	if (!server_auth_allowed(priv->allow, priv->reject,
				 rpc_conn_peer_host(conn),
				 rpc_conn_peer_cn(conn)))
		return -EACCES;
	ret = -ENOENT;
	if (priv->volfile_dir)
		ret = server_read_volfile(priv->volfile_dir, name, text, len);
	if (ret == 0 && server_volfile_is_brick(*text, *len)) {
		xl_warn(priv->xl->name,
			"getspec: %s.vol is a brick volfile, not served: "
			"peer=%s",
			name, client->peer);
		free(*text);
		*text = NULL;
		ret = -EACCES;
	}
	if (ret == -ENOENT && server_find_subvol(priv, name))
		ret = server_gen_volfile(priv, conn, name, text, len);
	return ret;
}

/* GETSPEC answers the volfile's text; GETSPEC_VERSION only its version
 * (volfile-version.h), which a mounted client asks every few seconds to
 * learn of a new volfile without fetching it each time. */
static void server_handle_getspec(struct server_priv *priv,
				  struct server_client *client,
				  struct rpc_conn *conn,
				  const struct rpc_msg *msg)
{
	bool version_only = msg->proc == RPC_PROC_GETSPEC_VERSION;
	struct xl_volfile_version v = {0};
	char *name = NULL, *text = NULL;
	size_t len = 0;
	struct rpc_rbuf r;
	struct rpc_wbuf w;
	int ret;

	rpc_rbuf_init(&r, msg->body, msg->body_len);
	ret = rpc_get_str(&r, XL_NAME_MAX, &name);
	if (ret == 0 && (!name || !xl_name_is_valid(name)))
		ret = -EINVAL;
	if (ret == 0)
		ret = server_spec_text(priv, client, conn, name, &text, &len);
	xl_debug(priv->xl->name, "getspec%s: peer=%s volume=%s ret=%d",
		 version_only ? " version" : "", client->peer,
		 name ? name : "?", ret);
	rpc_wbuf_init(&w);
	rpc_put_u32(&w, (uint32_t)ret);
	if (version_only) {
		if (ret == 0)
			xl_volfile_version_of(text, len, &v);
		rpc_put_u64(&w, v.number);
		rpc_put_u64(&w, v.hash);
	} else {
		rpc_put_bytes(&w, ret == 0 ? text : "",
			      ret == 0 ? (uint32_t)len : 0);
	}
	if (w.err == 0)
		rpc_conn_reply(conn, msg->xid, msg->proc, w.data, w.len, NULL);
	rpc_wbuf_free(&w);
	free(text);
	free(name);
}

/* ---- connection callbacks -------------------------------------------- */

static void server_on_connect(void *ctx, struct rpc_conn *conn)
{
	struct server_priv *priv = ctx;
	struct server_client *client = calloc(1, sizeof(*client));

	if (!client) {
		xl_err(priv->xl->name, "no memory for client %s",
		       rpc_conn_peer(conn));
		rpc_conn_close(conn);
		return;
	}
	atomic_init(&client->refs, 1);
	client->priv = priv;
	pthread_mutex_init(&client->lock, NULL);
	snprintf(client->peer, sizeof(client->peer), "%s", rpc_conn_peer(conn));
	client->conn = rpc_conn_ref(conn);
	pthread_mutex_lock(&priv->lock);
	client->id = ++priv->next_client_id;
	client->next = priv->clients;
	if (priv->clients)
		priv->clients->prev = client;
	priv->clients = client;
	pthread_mutex_unlock(&priv->lock);
	rpc_conn_set_ctx(conn, client);
	xl_debug(priv->xl->name, "connection from %s id=%" PRIu64, client->peer,
		 client->id);
}

static void server_on_request(void *ctx, struct rpc_conn *conn,
			      const struct rpc_msg *msg)
{
	struct server_priv *priv = ctx;
	struct server_client *client = rpc_conn_get_ctx(conn);

	if (!client) {
		rpc_conn_close(conn);
		return;
	}
	if (msg->proc == RPC_PROC_HANDSHAKE)
		server_handle_handshake(priv, client, conn, msg);
	else if (msg->proc == RPC_PROC_GETSPEC ||
		 msg->proc == RPC_PROC_GETSPEC_VERSION)
		server_handle_getspec(priv, client, conn, msg);
	else if (msg->proc < XL_FOP_COUNT)
		server_handle_fop(priv, client, conn, msg);
	else
		server_reply_error(conn, msg->xid, msg->proc, -ENOSYS);
}

/* The client is gone: close every fd it left and drop its locks. */
static void server_on_disconnect(void *ctx, struct rpc_conn *conn)
{
	struct server_priv *priv = ctx;
	struct server_client *client = rpc_conn_get_ctx(conn);
	struct server_fdent *list = NULL;
	uint32_t count;

	if (!client)
		return;
	rpc_conn_set_ctx(conn, NULL);
	pthread_mutex_lock(&client->lock);
	client->gone = true;
	count = client->fd_count;
	for (int b = 0; b < SERVER_FD_BUCKETS; b++) {
		while (client->buckets[b]) {
			struct server_fdent *ent = client->buckets[b];

			client->buckets[b] = ent->next;
			ent->next = list;
			list = ent;
		}
	}
	client->fd_count = 0;
	pthread_mutex_unlock(&client->lock);

	/* Connections that never attached (volfile fetches, refused
	 * handshakes) are not worth an info line each. */
	if (client->subvol)
		xl_info(priv->xl->name,
			"client gone: peer=%s id=%" PRIu64 " open-fds=%u",
			client->peer, client->id, count);
	else
		xl_debug(priv->xl->name, "connection closed: peer=%s",
			 client->peer);
	while (list) {
		struct server_fdent *ent = list;

		list = ent->next;
		if (client->subvol)
			server_release_orphan(priv, client, ent->fd);
		else
			xl_fd_unref(ent->fd);
		free(ent);
	}
	if (client->subvol)
		server_drop_internal_locks(priv, client);

	pthread_mutex_lock(&priv->lock);
	if (client->prev)
		client->prev->next = client->next;
	else
		priv->clients = client->next;
	if (client->next)
		client->next->prev = client->prev;
	pthread_mutex_unlock(&priv->lock);
	rpc_conn_unref(client->conn);
	client->conn = NULL;
	server_client_unref(client);
}

/* ---- translator ------------------------------------------------------ */

/* Write the bound port to path atomically (temp file + rename). */
static int server_write_port_file(const char *path, uint16_t port)
{
	char tmp[PATH_MAX];
	char line[16];
	int fd, len, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	len = snprintf(line, sizeof(line), "%u\n", port);
	if (write(fd, line, (size_t)len) != len)
		ret = errno ? -errno : -EIO;
	if (close(fd) != 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) != 0)
		ret = -errno;
	if (ret != 0)
		unlink(tmp);
	return ret;
}

static void server_fini(struct xl *xl);
static void server_volfile_changed(const char *volume, void *data);

static int server_init(struct xl *xl, char **err)
{
	struct server_priv *priv;
	const char *host = "0.0.0.0", *transport = "tcp", *port_file = NULL;
	char *srv_err = NULL;
	int64_t port = RPC_DEFAULT_PORT, greet = 30;
	int ret;

	static const struct rpc_srv_cbs cbs = {
	    .on_connect = server_on_connect,
	    .on_request = server_on_request,
	    .on_disconnect = server_on_disconnect,
	};

	if (xl->child_count == 0) {
		*err = strdup("protocol/server needs at least one subvolume");
		return -EINVAL;
	}
	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	priv->xl = xl;
	pthread_mutex_init(&priv->lock, NULL);
	xl->private = priv;
	xl_opt_str(xl, "listen-host", &host);
	xl_opt_int(xl, "listen-port", &port);
	xl_opt_str(xl, "transport-type", &transport);
	if (xl_opt_str(xl, "auth.allow", &priv->allow) != 0)
		priv->allow = NULL;
	if (xl_opt_str(xl, "auth.reject", &priv->reject) != 0)
		priv->reject = NULL;
	if (xl_opt_str(xl, "volfile-dir", &priv->volfile_dir) != 0)
		priv->volfile_dir = NULL;
	if (xl_opt_str(xl, "port-file", &port_file) != 0)
		port_file = NULL;

	ret = proto_tls_setup(xl, transport, true, &priv->tls, err);
	if (ret != 0)
		goto fail;
	priv->loop = rpc_evloop_new(2);
	if (!priv->loop) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = rpc_evloop_start(priv->loop);
	if (ret != 0) {
		if (asprintf(err, "cannot start event loop: %s",
			     strerror(-ret)) < 0)
			*err = NULL;
		goto fail;
	}
	priv->srv = rpc_srv_new(priv->loop, host, (uint16_t)port, transport,
				priv->tls, &cbs, priv, &srv_err);
	if (!priv->srv) {
		if (asprintf(err, "%s", srv_err ? srv_err : "cannot listen") <
		    0)
			*err = NULL;
		free(srv_err);
		ret = -EADDRNOTAVAIL;
		goto fail;
	}
	priv->port = rpc_srv_port(priv->srv);
	xl_opt_int(xl, "handshake-timeout", &greet);
	ret = rpc_srv_set_handshake_timeout(priv->srv, (int)greet * 1000);
	if (ret != 0) {
		*err = strdup("cannot set the handshake timeout");
		goto fail;
	}
	if (port_file) {
		ret = server_write_port_file(port_file, priv->port);
		if (ret != 0) {
			if (asprintf(err, "cannot write port file %s: %s",
				     port_file, strerror(-ret)) < 0)
				*err = NULL;
			goto fail;
		}
	}
	xl_info(xl->name, "listening: host=%s port=%u transport=%s%s", host,
		priv->port, transport, priv->tls ? "+tls" : "");
	if (priv->volfile_dir) {
		char *why = NULL;

		priv->volwatch = server_volwatch_start(
		    priv->volfile_dir, server_volfile_changed, priv, &why);
		if (!priv->volwatch)
			xl_warn(xl->name,
				"%s: mounted clients learn of a new client "
				"volfile at their next check only",
				why ? why : "cannot watch the volfile dir");
		free(why);
	}
	return 0;
fail:
	server_fini(xl);
	return ret;
}

static void server_fini(struct xl *xl)
{
	struct server_priv *priv = xl->private;
	int waited = 0;

	if (!priv)
		return;
	server_volwatch_stop(priv->volwatch);
	/* Stop accepting; closing the connections runs on_disconnect, which
	 * sends the releases down while the children still exist. */
	if (priv->srv)
		rpc_srv_destroy(priv->srv);
	while (atomic_load(&priv->inflight) > 0 && waited < SERVER_DRAIN_MS) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		nanosleep(&ts, NULL);
		waited += 10;
	}
	if (atomic_load(&priv->inflight) > 0)
		xl_warn(xl->name, "shutting down with %d calls in flight",
			atomic_load(&priv->inflight));
	if (priv->loop) {
		rpc_evloop_stop(priv->loop);
		rpc_evloop_free(priv->loop);
	}
	rpc_tls_unref(priv->tls);
	pthread_mutex_destroy(&priv->lock);
	free(priv);
	xl->private = NULL;
}

static int server_notify(struct xl *xl, enum xl_event ev, struct xl *from)
{
	/* PARENT_UP goes down to the volumes; child up/down events stop
	 * here: clients learn a brick is down from the connection. */
	if (ev == XL_EV_PARENT_UP)
		return xl_notify_default(xl, ev, from);
	return 0;
}

/* A cache notice from the brick graph: send it to the client it names.
 * Runs on the thread that answers the fop that caused it. */
static void server_upcall(struct xl *xl, struct xl *from,
			  const struct xl_upcall *up)
{
	struct server_priv *priv = xl->private;
	struct rpc_conn *conn = NULL;
	struct rpc_wbuf w;

	(void)from;
	if (!priv || up->client_id == 0)
		return;
	pthread_mutex_lock(&priv->lock);
	for (struct server_client *c = priv->clients; c; c = c->next)
		if (c->id == up->client_id) {
			if (c->takes_notices)
				conn = rpc_conn_ref(c->conn);
			break;
		}
	pthread_mutex_unlock(&priv->lock);
	if (!conn)
		return; /* gone, or an older client */
	rpc_wbuf_init(&w);
	if (rpc_encode_notice_inval(&w, up) == 0)
		rpc_conn_notice(conn, RPC_NOTICE_INVAL, w.data, w.len);
	rpc_wbuf_free(&w);
	rpc_conn_unref(conn);
}

/* A client volfile changed in the volfile directory (the watch's thread):
 * tell every client that takes notices, so a mounted one asks for the
 * new version now (RPC_NOTICE_VOLFILE).  A client of another volume
 * ignores it. */
static void server_volfile_changed(const char *volume, void *data)
{
	struct server_priv *priv = data;
	struct rpc_conn **conns = NULL;
	struct rpc_wbuf w;
	size_t n = 0, cap = 0, len = 0;
	char *text = NULL;
	bool brick;

	/* A brick volfile is no client's business (and is never served). */
	if (server_read_volfile(priv->volfile_dir, volume, &text, &len) != 0)
		return; /* gone again, or unreadable: nothing to fetch */
	brick = server_volfile_is_brick(text, len);
	free(text);
	if (brick)
		return;
	pthread_mutex_lock(&priv->lock);
	for (struct server_client *c = priv->clients; c; c = c->next) {
		struct rpc_conn **grown;

		if (!c->takes_notices)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(conns, cap * sizeof(*conns));
			if (!grown)
				break;
			conns = grown;
		}
		conns[n++] = rpc_conn_ref(c->conn);
	}
	pthread_mutex_unlock(&priv->lock);
	xl_info(priv->xl->name,
		"client volfile %s.vol changed: telling %zu client(s)", volume,
		n);
	rpc_wbuf_init(&w);
	rpc_put_str(&w, volume);
	for (size_t i = 0; i < n; i++) {
		if (w.err == 0)
			rpc_conn_notice(conns[i], RPC_NOTICE_VOLFILE, w.data,
					w.len);
		rpc_conn_unref(conns[i]);
	}
	rpc_wbuf_free(&w);
	free(conns);
}

static void server_dump(struct xl *xl, FILE *out)
{
	struct server_priv *priv = xl->private;
	int n = 0;

	if (!priv)
		return;
	fprintf(out, "port=%u\ninflight=%d\n", priv->port,
		atomic_load(&priv->inflight));
	pthread_mutex_lock(&priv->lock);
	for (struct server_client *c = priv->clients; c; c = c->next) {
		uint32_t fds, waits;

		pthread_mutex_lock(&c->lock);
		fds = c->fd_count;
		waits = c->lock_waits;
		pthread_mutex_unlock(&c->lock);
		fprintf(out,
			"client.%d.peer=%s\nclient.%d.id=%" PRIu64
			"\nclient.%d.identity=%s\nclient.%d.volume=%s\n"
			"client.%d.open-fds=%u\nclient.%d.lock-waits=%u\n",
			n, c->peer, n, c->id, n,
			c->identity ? c->identity : "-", n,
			c->subvol ? c->subvol->name : "-", n, fds, n, waits);
		n++;
	}
	pthread_mutex_unlock(&priv->lock);
	fprintf(out, "clients=%d\n", n);
}

static const char *const server_transports[] = {"tcp", "rdma", NULL};

static const struct xl_option_desc server_options[] = {
    {.key = "auth.allow",
     .type = XL_OPT_ADDRLIST,
     .default_value = "*",
     .help = "addresses allowed to attach (patterns with *), or "
	     "cn:NAME for a TLS client certificate's common name"},
    {.key = "auth.reject",
     .type = XL_OPT_ADDRLIST,
     .help = "addresses or cn:NAME refused even if allowed (reject "
	     "wins)"},
    {.key = "listen-host",
     .type = XL_OPT_STR,
     .default_value = "0.0.0.0",
     .help = "address to listen on"},
    {.key = "listen-port",
     .type = XL_OPT_INT,
     .default_value = "24010",
     .min = 0,
     .max = 65535,
     .help = "port to listen on; 0 picks one"},
    {.key = "transport-type",
     .type = XL_OPT_ENUM,
     .default_value = "tcp",
     .choices = server_transports,
     .help = "tcp or rdma"},
    {.key = "volfile-dir",
     .type = XL_OPT_PATH,
     .help = "directory of client volfiles served by name (NAME.vol)"},
    {.key = "port-file",
     .type = XL_OPT_PATH,
     .help = "file to write the bound port to once listening"},
    {.key = "handshake-timeout",
     .type = XL_OPT_TIME,
     .default_value = "30",
     .min = 1,
     .max = 3600,
     .help = "seconds a new connection has to complete its handshake "
	     "(TLS, then rpc) before it is closed"},
    {.key = "tls",
     .type = XL_OPT_BOOL,
     .default_value = "off",
     .help = "TLS 1.3 on every connection; clients must present a "
	     "certificate signed by tls-ca (plain clients are refused)"},
    {.key = "tls-cert",
     .type = XL_OPT_PATH,
     .default_value = RPC_TLS_DIR "/server.crt",
     .help = "the brick's certificate (PEM), with tls on"},
    {.key = "tls-key",
     .type = XL_OPT_PATH,
     .default_value = RPC_TLS_DIR "/server.key",
     .help = "the brick's private key (PEM), with tls on"},
    {.key = "tls-ca",
     .type = XL_OPT_PATH,
     .default_value = RPC_TLS_DIR "/ca.crt",
     .help = "CA certificates (PEM) client certificates must chain to"},
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "protocol/server",
    .description = "serves the brick graph to clients over rpc",
    .init = server_init,
    .fini = server_fini,
    .notify = server_notify,
    .upcall = server_upcall,
    .dump = server_dump,
    .options = server_options,
    .min_children = 1,
    .max_children = 1,
};
