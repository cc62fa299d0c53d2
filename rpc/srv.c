/*
 * srv.c - the rpc server: listens, wraps each accepted transport connection
 * in a refcounted rpc_conn, answers pings itself and hands every other
 * request to the owner.
 *
 * References: the transport connection holds one on its rpc_conn (its ctx),
 * the server's list holds one until on_disconnect has run, and users take
 * their own with rpc_conn_ref.  An rpc_conn holds its transport connection
 * until that closes (conn->tconn becomes NULL), so replies to a closed
 * connection are dropped with -ENOTCONN.
 *
 * Flow: a peer that sends requests and never reads the answers must not
 * grow our memory.  A TCP connection stops reading while many reply bytes
 * are queued (conn-flow.h); a connection also stops reading while
 * RPC_SRV_INFLIGHT_MAX of its requests wait for an answer (the transport's
 * rx_limit op; rdma has none, the credits it grants bound its peers), and
 * one that has not completed a handshake greet_ms (SRV_GREET_MS unless
 * set) after it arrived is closed (a sweep timer, every quarter of
 * greet_ms).
 * Requests the owner parks (rpc_conn_park: blocking lock requests, which
 * wait as long as another client holds the lock) do not count: else a
 * connection with enough of them would stop reading, pings included, and
 * its client would declare the brick dead.  The owner bounds those.
 *
 * Locking: srv->lock protects closing and the connection list; conn->lock
 * protects conn->tconn, ctx and greeted.  Order: srv->lock before
 * conn->lock; no callback runs with either held.
 */
#include "config.h"

#include "evloop.h"
#include "log.h"
#include "conn-flow.h"
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SRV_DESTROY_WAIT_MS 10000
/* default time a peer has to complete a handshake (see
 * rpc_srv_set_handshake_timeout) */
#define SRV_GREET_MS 30000
#define SRV_SWEEP_MS 5000 /* how often that is checked, at most */

struct rpc_srv {
	atomic_int refs;
	struct rpc_evloop *loop;
	const struct rpc_transport_ops *tp;
	struct rpc_tlistener *listener;
	struct rpc_srv_cbs cbs;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t gone;	/* a connection left the list */
	bool closing;		/* lock */
	struct rpc_conn *conns; /* lock; doubly linked */
	int sweep_fd;		/* timerfd for the handshake deadline */
	uint64_t sweep_id;
	atomic_int greet_ms; /* the handshake deadline */
};

struct rpc_conn {
	atomic_int refs;
	struct rpc_srv *srv; /* reference */
	pthread_mutex_t lock;
	struct rpc_tconn *tconn;      /* lock; NULL once closed */
	void *ctx;		      /* lock */
	struct rpc_conn *prev, *next; /* srv->lock */
	uint64_t born_ms;	      /* accepted at (rpc_now_ms) */
	bool greeted;		      /* lock: a handshake succeeded */
	atomic_uint inflight;	      /* requests not yet answered */
	char peer[RPC_ADDR_LEN];
	char peer_host[RPC_ADDR_LEN];
	char local_host[RPC_ADDR_LEN];
	/* the TLS peer's common name, copied from the transport at the
	 * first frame (handler only until then; constant after) */
	char peer_cn[RPC_TLS_CN_MAX + 1];
	bool cn_known;
};

static void srv_unref(struct rpc_srv *srv)
{
	if (atomic_fetch_sub(&srv->refs, 1) != 1)
		return;
	if (srv->sweep_fd >= 0)
		close(srv->sweep_fd);
	pthread_cond_destroy(&srv->gone);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

struct rpc_conn *rpc_conn_ref(struct rpc_conn *conn)
{
	atomic_fetch_add(&conn->refs, 1);
	return conn;
}

void rpc_conn_unref(struct rpc_conn *conn)
{
	if (!conn || atomic_fetch_sub(&conn->refs, 1) != 1)
		return;
	if (conn->tconn)
		rpc_tconn_unref(conn->tconn);
	pthread_mutex_destroy(&conn->lock);
	srv_unref(conn->srv);
	free(conn);
}

static void srv_conn_ref(void *ctx)
{
	rpc_conn_ref(ctx);
}

static void srv_conn_unref(void *ctx)
{
	rpc_conn_unref(ctx);
}

/* ---- transport callbacks --------------------------------------------- */

static int srv_on_frame(void *ctx, struct rpc_tconn *c,
			const struct rpc_frame_hdr *h, const uint8_t *body,
			struct xl_iobuf *bulk)
{
	struct rpc_conn *conn = ctx;
	struct rpc_srv *srv = conn->srv;
	struct rpc_msg msg = {
	    .type = RPC_T_REQUEST,
	    .proc = h->proc,
	    .xid = h->xid,
	    .body = body,
	    .body_len = h->body_len,
	    .bulk = bulk,
	};

	if (h->type != RPC_T_REQUEST) {
		xl_warn("rpc", "%s frame from client %s: closing",
			h->type == RPC_T_NOTICE ? "notice" : "reply",
			conn->peer);
		return -EBADMSG;
	}
	if (!conn->cn_known) {
		rpc_tconn_peer_cn(c, conn->peer_cn);
		conn->cn_known = true;
	}
	if (h->proc == RPC_PROC_PING) {
		rpc_conn_reply(conn, h->xid, h->proc, NULL, 0, NULL);
		return 0;
	}
	/* the transport stops reading at RPC_SRV_INFLIGHT_MAX */
	atomic_fetch_add(&conn->inflight, 1);
	if (srv->cbs.on_request)
		srv->cbs.on_request(srv->ctx, conn, &msg);
	return 0;
}

static void srv_on_closed(void *ctx, struct rpc_tconn *c, int err)
{
	struct rpc_conn *conn = ctx;
	struct rpc_srv *srv = conn->srv;
	struct rpc_tconn *t;

	pthread_mutex_lock(&conn->lock);
	t = conn->tconn;
	conn->tconn = NULL;
	pthread_mutex_unlock(&conn->lock);
	if (t)
		rpc_tconn_unref(t);
	xl_debug("rpc", "client %s disconnected: err=%d", conn->peer, err);
	if (srv->cbs.on_disconnect)
		srv->cbs.on_disconnect(srv->ctx, conn);

	pthread_mutex_lock(&srv->lock);
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	conn->prev = conn->next = NULL;
	pthread_cond_broadcast(&srv->gone);
	pthread_mutex_unlock(&srv->lock);
	rpc_conn_unref(conn); /* the list's reference */
}

static void srv_on_connected(void *ctx, struct rpc_tconn *c)
{
	/* accepted connections are connected from the start */
}

static const struct rpc_tp_cbs srv_tp_cbs = {
    .on_connected = srv_on_connected,
    .on_frame = srv_on_frame,
    .on_closed = srv_on_closed,
    .ctx_ref = srv_conn_ref,
    .ctx_unref = srv_conn_unref,
};

static void *srv_accept(void *lctx, struct rpc_tconn *c,
			const struct rpc_tp_cbs **cbs)
{
	struct rpc_srv *srv = lctx;
	struct rpc_conn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return NULL;
	/* one for the transport (returned), one for the list */
	atomic_init(&conn->refs, 2);
	pthread_mutex_init(&conn->lock, NULL);
	conn->born_ms = rpc_now_ms();
	rpc_tconn_addrs(c, conn->peer, conn->peer_host, conn->local_host);
	pthread_mutex_lock(&srv->lock);
	if (srv->closing) {
		pthread_mutex_unlock(&srv->lock);
		pthread_mutex_destroy(&conn->lock);
		free(conn);
		return NULL;
	}
	atomic_fetch_add(&srv->refs, 1);
	conn->srv = srv;
	conn->tconn = rpc_tconn_ref(c);
	/* a transport without the op bounds its peers otherwise (credits) */
	if (srv->tp->rx_limit)
		srv->tp->rx_limit(c, &conn->inflight, RPC_SRV_INFLIGHT_MAX);
	conn->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = conn;
	srv->conns = conn;
	pthread_mutex_unlock(&srv->lock);
	xl_debug("rpc", "client %s connected", conn->peer);
	if (srv->cbs.on_connect)
		srv->cbs.on_connect(srv->ctx, conn);
	*cbs = &srv_tp_cbs;
	return conn;
}

/* ---- handshake deadline ---------------------------------------------- */

static void srv_sweep_ref(void *obj)
{
	struct rpc_srv *srv = obj;

	atomic_fetch_add(&srv->refs, 1);
}

static void srv_sweep_unref(void *obj)
{
	srv_unref(obj);
}

/* Close every connection that is past its handshake deadline. */
static void srv_sweep_handle(void *obj, uint32_t ev)
{
	struct rpc_srv *srv = obj;
	struct rpc_tconn *late[64];
	struct rpc_conn *conn;
	uint64_t v, now = rpc_now_ms();
	int greet_ms = atomic_load(&srv->greet_ms);
	size_t n = 0;

	if (read(srv->sweep_fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		xl_debug("rpc", "sweep timer read: errno=%d", errno);
	pthread_mutex_lock(&srv->lock);
	for (conn = srv->conns; conn && n < 64; conn = conn->next) {
		pthread_mutex_lock(&conn->lock);
		if (conn->tconn && !conn->greeted &&
		    now - conn->born_ms >= (uint64_t)greet_ms) {
			xl_warn("rpc", "no handshake from %s in %d ms: closing",
				conn->peer, greet_ms);
			late[n++] = rpc_tconn_ref(conn->tconn);
		}
		pthread_mutex_unlock(&conn->lock);
	}
	if (!srv->closing)
		rpc_ev_rearm(srv->loop, srv->sweep_id, srv->sweep_fd, EPOLLIN);
	pthread_mutex_unlock(&srv->lock);
	/* more than 64 late: the rest go on the next round */
	for (size_t i = 0; i < n; i++) {
		rpc_tconn_close(late[i], -ETIMEDOUT);
		rpc_tconn_unref(late[i]);
	}
}

static const struct rpc_ev_ops srv_sweep_ops = {
    .handle = srv_sweep_handle,
    .ref = srv_sweep_ref,
    .unref = srv_sweep_unref,
};

/* Sweep every quarter of the deadline (at most every SRV_SWEEP_MS), so
 * a late peer goes within 1.25 deadlines. */
static int srv_sweep_arm(struct rpc_srv *srv, int greet_ms)
{
	long ms = greet_ms / 4;
	struct itimerspec its;

	if (ms > SRV_SWEEP_MS)
		ms = SRV_SWEEP_MS;
	if (ms < 10)
		ms = 10;
	its.it_interval.tv_sec = ms / 1000;
	its.it_interval.tv_nsec = (ms % 1000) * 1000000;
	its.it_value = its.it_interval;
	return timerfd_settime(srv->sweep_fd, 0, &its, NULL) == -1 ? -errno : 0;
}

static int srv_sweep_start(struct rpc_srv *srv)
{
	int ret;

	srv->sweep_fd =
	    timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (srv->sweep_fd < 0)
		return -errno;
	ret = srv_sweep_arm(srv, atomic_load(&srv->greet_ms));
	if (ret)
		return ret;
	return rpc_ev_add(srv->loop, srv->sweep_fd, EPOLLIN, &srv_sweep_ops,
			  srv, &srv->sweep_id);
}

/* ---- API ------------------------------------------------------------- */

struct rpc_srv *rpc_srv_new(struct rpc_evloop *loop, const char *host,
			    uint16_t port, const char *transport,
			    struct rpc_tls *tls, const struct rpc_srv_cbs *cbs,
			    void *ctx, char **err)
{
	struct rpc_srv *srv;
	int ret;

	if (err)
		*err = NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	atomic_init(&srv->refs, 1);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->gone, NULL);
	srv->sweep_fd = -1;
	atomic_init(&srv->greet_ms, SRV_GREET_MS);
	srv->loop = loop;
	srv->cbs = *cbs;
	srv->ctx = ctx;
	srv->tp = rpc_transport_find(transport);
	if (!srv->tp) {
		if (err)
			*err = strdup("transport not supported by this build");
		srv_unref(srv);
		return NULL;
	}
	ret = srv_sweep_start(srv);
	if (ret) {
		xl_err("rpc", "cannot start the handshake timer: errno=%d",
		       -ret);
		if (err)
			*err = strdup("cannot start the handshake timer");
		srv_unref(srv);
		return NULL;
	}
	ret = srv->tp->listen(loop, host, port, tls, srv_accept, srv,
			      &srv->listener, err);
	if (ret) {
		xl_err("rpc", "cannot listen on %s:%u: errno=%d",
		       host ? host : "*", port, -ret);
		rpc_ev_del(loop, srv->sweep_id, srv->sweep_fd);
		srv_unref(srv);
		return NULL;
	}
	return srv;
}

uint16_t rpc_srv_port(struct rpc_srv *srv)
{
	return srv->tp->listener_port(srv->listener);
}

int rpc_srv_set_handshake_timeout(struct rpc_srv *srv, int ms)
{
	if (ms <= 0)
		return -EINVAL;
	atomic_store(&srv->greet_ms, ms);
	return srv_sweep_arm(srv, ms);
}

/* Close every connection and wait (bounded) until each one's
 * on_disconnect has run.  Call it from outside the loop's threads. */
void rpc_srv_destroy(struct rpc_srv *srv)
{
	struct rpc_tconn **list = NULL;
	struct rpc_conn *conn;
	struct timespec ts;
	size_t n = 0, cap = 0;

	if (!srv)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->closing = true;
	pthread_mutex_unlock(&srv->lock);
	rpc_ev_del(srv->loop, srv->sweep_id, srv->sweep_fd);
	srv->tp->listener_close(srv->listener);

	pthread_mutex_lock(&srv->lock);
	for (conn = srv->conns; conn; conn = conn->next) {
		pthread_mutex_lock(&conn->lock);
		if (conn->tconn && n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct rpc_tconn **nl =
			    realloc(list, ncap * sizeof(*list));

			if (nl) {
				list = nl;
				cap = ncap;
			}
		}
		if (conn->tconn && n < cap)
			list[n++] = rpc_tconn_ref(conn->tconn);
		pthread_mutex_unlock(&conn->lock);
	}
	pthread_mutex_unlock(&srv->lock);
	for (size_t i = 0; i < n; i++) {
		rpc_tconn_close(list[i], -ESHUTDOWN);
		rpc_tconn_unref(list[i]);
	}
	free(list);

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += SRV_DESTROY_WAIT_MS / 1000;
	pthread_mutex_lock(&srv->lock);
	while (srv->conns && !rpc_evloop_in_loop())
		if (pthread_cond_timedwait(&srv->gone, &srv->lock, &ts))
			break;
	if (srv->conns)
		xl_warn("rpc", "server destroyed with connections still "
			       "closing");
	pthread_mutex_unlock(&srv->lock);
	srv_unref(srv);
}

/* One request fewer in flight (never below zero, however many answers the
 * owner sends). */
static void srv_inflight_dec(struct rpc_conn *conn)
{
	unsigned int n = atomic_load(&conn->inflight);

	while (n && !atomic_compare_exchange_weak(&conn->inflight, &n, n - 1))
		;
}

void rpc_conn_park(struct rpc_conn *conn)
{
	struct rpc_tconn *t = NULL;

	srv_inflight_dec(conn);
	pthread_mutex_lock(&conn->lock);
	if (conn->tconn)
		t = rpc_tconn_ref(conn->tconn);
	pthread_mutex_unlock(&conn->lock);
	if (t) {
		rpc_tconn_rx_poke(t);
		rpc_tconn_unref(t);
	}
}

void rpc_conn_unpark(struct rpc_conn *conn)
{
	atomic_fetch_add(&conn->inflight, 1);
}

int rpc_conn_reply(struct rpc_conn *conn, uint64_t xid, uint32_t proc,
		   const void *body, size_t body_len, struct xl_iobuf *bulk)
{
	size_t bulk_len = bulk ? bulk->size : 0;
	uint8_t hdr[RPC_HEADER_LEN];
	struct iovec iov[2];
	struct rpc_tconn *t = NULL;
	int ret;

	if (body_len > RPC_BODY_MAX || bulk_len > RPC_BULK_MAX)
		return -EMSGSIZE;
	if (!body && body_len)
		return -EINVAL;
	pthread_mutex_lock(&conn->lock);
	if (conn->tconn)
		t = rpc_tconn_ref(conn->tconn);
	pthread_mutex_unlock(&conn->lock);
	if (!t)
		return -ENOTCONN;
	rpc_frame_encode(hdr, RPC_T_REPLY, (uint32_t)body_len,
			 (uint32_t)bulk_len, xid, proc);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = body_len;
	ret = rpc_tconn_send(t, iov, 2, bulk);
	if (ret == 0 && proc != RPC_PROC_PING) {
		srv_inflight_dec(conn);
		rpc_tconn_rx_poke(t);
		/* the handshake's answer starts with its status */
		if (proc == RPC_PROC_HANDSHAKE && body_len >= 4 &&
		    !memcmp(body, "\0\0\0\0", 4)) {
			pthread_mutex_lock(&conn->lock);
			conn->greeted = true;
			pthread_mutex_unlock(&conn->lock);
		}
	}
	rpc_tconn_unref(t);
	return ret;
}

int rpc_conn_notice(struct rpc_conn *conn, uint32_t proc, const void *body,
		    size_t body_len)
{
	uint8_t hdr[RPC_HEADER_LEN];
	struct iovec iov[2];
	struct rpc_tconn *t = NULL;
	int ret;

	if (body_len > RPC_BODY_MAX)
		return -EMSGSIZE;
	if (!body && body_len)
		return -EINVAL;
	pthread_mutex_lock(&conn->lock);
	if (conn->tconn)
		t = rpc_tconn_ref(conn->tconn);
	pthread_mutex_unlock(&conn->lock);
	if (!t)
		return -ENOTCONN;
	rpc_frame_encode(hdr, RPC_T_NOTICE, (uint32_t)body_len, 0, 0, proc);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = body_len;
	ret = rpc_tconn_send(t, iov, 2, NULL);
	rpc_tconn_unref(t);
	return ret;
}

void rpc_conn_close(struct rpc_conn *conn)
{
	struct rpc_tconn *t = NULL;

	pthread_mutex_lock(&conn->lock);
	if (conn->tconn)
		t = rpc_tconn_ref(conn->tconn);
	pthread_mutex_unlock(&conn->lock);
	if (t) {
		rpc_tconn_close(t, -ECONNABORTED);
		rpc_tconn_unref(t);
	}
}

const char *rpc_conn_peer(struct rpc_conn *conn)
{
	return conn->peer;
}

const char *rpc_conn_peer_host(struct rpc_conn *conn)
{
	return conn->peer_host;
}

const char *rpc_conn_peer_cn(struct rpc_conn *conn)
{
	return conn->peer_cn;
}

const char *rpc_conn_local_host(struct rpc_conn *conn)
{
	return conn->local_host;
}

void rpc_conn_set_ctx(struct rpc_conn *conn, void *ctx)
{
	pthread_mutex_lock(&conn->lock);
	conn->ctx = ctx;
	pthread_mutex_unlock(&conn->lock);
}

void *rpc_conn_get_ctx(struct rpc_conn *conn)
{
	void *ctx;

	pthread_mutex_lock(&conn->lock);
	ctx = conn->ctx;
	pthread_mutex_unlock(&conn->lock);
	return ctx;
}
