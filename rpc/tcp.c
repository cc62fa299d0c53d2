/*
 * tcp.c - the TCP transport: non-blocking sockets on the event loop, one
 * event source per connection.  The connection core (conn.c) runs the
 * connection; frames travel by the stream writer and reader (stream.c),
 * given sendmsg and read on the socket.  What is TCP's own: connect and
 * accept, keepalive and TCP_NODELAY, shutdown on close, the epoll mask,
 * the addresses.
 *
 * TLS: a connection made with a TLS configuration runs a TLS session
 * (tls.h) on its socket and gives the stream its TLS byte ops instead of
 * sendmsg and read.  The TLS handshake comes first, on the handler: an
 * outgoing connection stays connecting until it is done (so the
 * client's connect timeout bounds it and on_connected means "verified
 * peer"); an accepted one is open from the start, as a plain one, but
 * reads no frame and writes nothing before it is done (the server's
 * handshake deadline bounds it).
 */
#include "config.h"

#include "evloop.h"
#include "log.h"
#include "stream.h"
#include "tls.h"
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct tcp_conn {
	struct rpc_tconn c; /* first: the core's part */
	int fd;
	struct rpc_stream stream; /* reader: handler only */
	struct rpc_tls_conn *tls; /* NULL for plain TCP */
	bool tls_hs;		  /* c->lock (written by the handler): the TLS
				   * handshake is in progress */
	uint32_t tls_hs_events;	  /* c->lock: what the handshake waits for */
};

struct rpc_tlistener {
	atomic_int refs;
	struct rpc_evloop *loop;
	int fd;
	uint64_t id;
	uint16_t port;
	pthread_mutex_t lock; /* held around accept callbacks */
	bool closed;	      /* lock */
	rpc_tp_accept_fn accept;
	void *lctx;
	struct rpc_tls *tls; /* NULL, or one reference */
};

static struct tcp_conn *tcp_of(struct rpc_tconn *c)
{
	return (struct tcp_conn *)c;
}

/* "::ffff:1.2.3.4" -> "1.2.3.4" so v4 peers look the same on a v6 socket */
static void tcp_fmt_host(const struct sockaddr_storage *ss, socklen_t len,
			 char *host, char *port)
{
	char h[NI_MAXHOST], p[NI_MAXSERV];

	host[0] = '\0';
	if (port)
		port[0] = '\0';
	if (getnameinfo((const struct sockaddr *)ss, len, h, sizeof(h), p,
			sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV))
		return;
	snprintf(host, RPC_ADDR_LEN, "%.63s",
		 strncmp(h, "::ffff:", 7) == 0 && strchr(h, '.') ? h + 7 : h);
	if (port)
		snprintf(port, NI_MAXSERV, "%s", p);
}

static void tcp_fill_addrs(struct rpc_tconn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char port[NI_MAXSERV];
	int fd = tcp_of(c)->fd;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		tcp_fmt_host(&ss, len, c->peer_host, port);
		snprintf(c->peer, sizeof(c->peer),
			 strchr(c->peer_host, ':') ? "[%.40s]:%s" : "%.40s:%s",
			 c->peer_host, port);
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		tcp_fmt_host(&ss, len, c->local_host, NULL);
}

/* A peer that vanishes without a FIN (power loss, partition) is found by
 * keepalive within about idle + intvl * cnt seconds.  The client's pings
 * find it sooner; this is for servers, which do not ping, so a lost
 * client's locks and fds are released. */
#define TCP_KA_IDLE  20
#define TCP_KA_INTVL 5
#define TCP_KA_CNT   4

static void tcp_keepalive(int fd)
{
	int one = 1, idle = TCP_KA_IDLE, intvl = TCP_KA_INTVL, cnt = TCP_KA_CNT;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* ---- the transport's part of a connection ---------------------------- */

static ssize_t tcp_send_bytes(struct rpc_tconn *c, const struct iovec *iov,
			      int iovcnt)
{
	struct msghdr msg = {.msg_iov = (struct iovec *)iov,
			     .msg_iovlen = (size_t)iovcnt};

	return sendmsg(tcp_of(c)->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static ssize_t tcp_recv_bytes(struct rpc_tconn *c, void *buf, size_t len)
{
	return read(tcp_of(c)->fd, buf, len);
}

static const struct rpc_stream_io tcp_stream_io = {
    .send_bytes = tcp_send_bytes,
    .recv_bytes = tcp_recv_bytes,
};

static ssize_t tcp_tls_send_bytes(struct rpc_tconn *c, const struct iovec *iov,
				  int iovcnt)
{
	return rpc_tls_conn_send(tcp_of(c)->tls, iov, iovcnt);
}

static ssize_t tcp_tls_recv_bytes(struct rpc_tconn *c, void *buf, size_t len)
{
	return rpc_tls_conn_recv(tcp_of(c)->tls, buf, len);
}

static const struct rpc_stream_io tcp_tls_stream_io = {
    .send_bytes = tcp_tls_send_bytes,
    .recv_bytes = tcp_tls_recv_bytes,
};

static int tcp_flush_locked(struct rpc_tconn *c)
{
	return rpc_stream_flush_locked(c, &tcp_of(c)->stream);
}

static void tcp_rearm_locked(struct rpc_tconn *c)
{
	struct tcp_conn *t = tcp_of(c);
	uint32_t mask;

	if (t->tls_hs)
		mask = t->tls_hs_events | EPOLLRDHUP;
	else if (t->tls)
		mask = rpc_stream_mask_locked(c) | rpc_tls_conn_events(t->tls);
	else
		mask = rpc_stream_mask_locked(c);
	rpc_ev_rearm(c->loop, c->src, t->fd, mask);
}

/* A non-blocking connect finished (writable) or failed. */
static int tcp_connected(struct rpc_tconn *c, uint32_t ev)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return 0;
	if (getsockopt(tcp_of(c)->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err)
		return -err;
	tcp_fill_addrs(c);
	if (tcp_of(c)->tls) {
		/* connected once the TLS handshake is done */
		pthread_mutex_lock(&c->lock);
		tcp_of(c)->tls_hs = true;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	rpc_tconn_connected(c);
	return 0;
}

/* One step of the TLS handshake.  1 done, 0 waiting, -errno failed. */
static int tcp_tls_step(struct rpc_tconn *c)
{
	struct tcp_conn *t = tcp_of(c);
	uint32_t want = 0;
	int ret = rpc_tls_conn_handshake(t->tls, c->peer, &want);

	if (ret < 0)
		return ret;
	if (ret == 1)
		rpc_tls_conn_peer_cn(t->tls, c->peer_cn);
	pthread_mutex_lock(&c->lock);
	t->tls_hs_events = want;
	t->tls_hs = ret == 0;
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static int tcp_process(struct rpc_tconn *c, uint32_t ev)
{
	struct tcp_conn *t = tcp_of(c);
	int ret;

	if (c->state == RPC_TC_CONNECTING && !t->tls_hs) {
		ret = tcp_connected(c, ev);
		if (ret || !t->tls_hs)
			return ret;
	}
	if (t->tls_hs) {
		ret = tcp_tls_step(c);
		if (ret <= 0)
			return ret;
		if (c->state == RPC_TC_CONNECTING)
			rpc_tconn_connected(c);
		/* what came with the handshake's end, what waits to go */
		ev |= EPOLLIN | EPOLLOUT;
	} else if (t->tls && (ev & rpc_tls_conn_events(t->tls))) {
		/* a read waited to write, or a write to read: redo both */
		ev |= EPOLLIN | EPOLLOUT;
	}
	return rpc_stream_process(c, &t->stream, ev);
}

/* Wakes a peer blocked on us and makes our own reads end. */
static void tcp_shutdown_locked(struct rpc_tconn *c)
{
	shutdown(tcp_of(c)->fd, SHUT_RDWR);
}

static void tcp_detach(struct rpc_tconn *c)
{
	rpc_ev_del(c->loop, c->src, tcp_of(c)->fd);
}

static void tcp_destroy(struct rpc_tconn *c)
{
	struct tcp_conn *t = tcp_of(c);

	rpc_stream_fini(&t->stream);
	rpc_tls_conn_free(t->tls); /* before the fd it uses is closed */
	if (t->fd >= 0)
		close(t->fd);
}

static const struct rpc_tconn_io tcp_io = {
    .flush_locked = tcp_flush_locked,
    .want_write_locked = tcp_rearm_locked,
    .process = tcp_process,
    .shutdown_locked = tcp_shutdown_locked,
    .rearm_locked = tcp_rearm_locked,
    .detach = tcp_detach,
    .destroy = tcp_destroy,
};

/* A connection on fd, which it owns from here on (closed on failure);
 * over TLS when tls is set (an accepted one, state open, is the TLS
 * server). */
static struct rpc_tconn *tcp_new(struct rpc_evloop *loop, int fd,
				 enum rpc_tconn_state state,
				 struct rpc_tls *tls)
{
	struct rpc_tconn *c =
	    rpc_tconn_new(sizeof(struct tcp_conn), &tcp_io, loop, state);
	struct tcp_conn *t = tcp_of(c);
	int one = 1;

	if (!c) {
		close(fd);
		return NULL;
	}
	t->fd = fd;
	if (tls) {
		t->tls = rpc_tls_conn_new(tls, fd, state == RPC_TC_OPEN);
		/* an accepted one starts with the handshake, waiting to read */
		t->tls_hs = t->tls && state == RPC_TC_OPEN;
		t->tls_hs_events = EPOLLIN;
	}
	if ((tls && !t->tls) ||
	    rpc_stream_init(&t->stream,
			    tls ? &tcp_tls_stream_io : &tcp_stream_io)) {
		rpc_tconn_unref(c);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tcp_keepalive(fd);
	return c;
}

static int tcp_connect(struct rpc_evloop *loop, const struct sockaddr *sa,
		       socklen_t salen, struct rpc_tls *tls,
		       const struct rpc_tp_cbs *cbs, void *ctx,
		       struct rpc_tconn **out)
{
	struct rpc_tconn *c;
	int fd, ret;

	*out = NULL;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd == -1)
		return -errno;
	if (connect(fd, sa, salen) == -1 && errno != EINPROGRESS) {
		ret = -errno;
		close(fd);
		return ret;
	}
	c = tcp_new(loop, fd, RPC_TC_CONNECTING, tls);
	if (!c)
		return -ENOMEM;
	c->cbs = cbs;
	c->ctx = ctx;
	cbs->ctx_ref(ctx);
	/* hold the lock so the first event waits until c->src is set */
	pthread_mutex_lock(&c->lock);
	ret = rpc_ev_add(loop, fd, EPOLLOUT, &rpc_tconn_ev_ops, c, &c->src);
	pthread_mutex_unlock(&c->lock);
	if (ret) {
		rpc_tconn_unref(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* ---- listening ------------------------------------------------------- */

static void tcp_l_ref(void *obj)
{
	struct rpc_tlistener *l = obj;

	atomic_fetch_add(&l->refs, 1);
}

static void tcp_l_unref(void *obj)
{
	struct rpc_tlistener *l = obj;

	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	if (l->fd >= 0)
		close(l->fd);
	rpc_tls_unref(l->tls);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void tcp_accept_one(struct rpc_tlistener *l, int fd)
{
	struct rpc_tconn *c = tcp_new(l->loop, fd, RPC_TC_OPEN, l->tls);
	const struct rpc_tp_cbs *cbs = NULL;
	void *ctx;

	if (!c)
		return;
	tcp_fill_addrs(c);
	c->pause_on_queue = true;
	ctx = l->accept(l->lctx, c, &cbs);
	if (!ctx) {
		rpc_tconn_unref(c);
		return;
	}
	c->cbs = cbs;
	c->ctx = ctx;
	pthread_mutex_lock(&c->lock);
	if (rpc_ev_add(l->loop, fd, EPOLLIN | EPOLLRDHUP, &rpc_tconn_ev_ops, c,
		       &c->src)) {
		/* never registered: report the close directly */
		c->state = RPC_TC_CLOSED;
		pthread_mutex_unlock(&c->lock);
		cbs->on_closed(ctx, c, -ENOMEM);
		rpc_tconn_unref(c);
		return;
	}
	pthread_mutex_unlock(&c->lock);
	rpc_tconn_unref(c); /* the loop and the owner hold theirs */
}

static void tcp_l_handle(void *obj, uint32_t ev)
{
	struct rpc_tlistener *l = obj;
	int fd;

	pthread_mutex_lock(&l->lock);
	while (!l->closed) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				xl_warn("rpc", "accept failed: errno=%d",
					errno);
			break;
		}
		tcp_accept_one(l, fd);
	}
	if (!l->closed)
		rpc_ev_rearm(l->loop, l->id, l->fd, EPOLLIN);
	pthread_mutex_unlock(&l->lock);
}

static const struct rpc_ev_ops tcp_l_ev_ops = {
    .handle = tcp_l_handle,
    .ref = tcp_l_ref,
    .unref = tcp_l_unref,
};

static int tcp_bind(const char *host, uint16_t port, char **err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL, *ai;
	char portstr[8];
	int fd = -1, one = 1, zero = 0, ret;

	snprintf(portstr, sizeof(portstr), "%u", port);
	ret = getaddrinfo(host && *host ? host : "::", portstr, &hints, &res);
	if (ret && !(host && *host))
		ret = getaddrinfo("0.0.0.0", portstr, &hints, &res);
	if (ret) {
		if (err && asprintf(err, "cannot resolve %s: %s", host,
				    gai_strerror(ret)) == -1)
			*err = NULL;
		return -EADDRNOTAVAIL;
	}
	ret = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			ret = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && !(host && *host))
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
				   sizeof(zero));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 1024) == 0)
			break;
		ret = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0 && err &&
	    asprintf(err, "cannot listen on %s:%u: %s", host ? host : "*", port,
		     strerror(-ret)) == -1)
		*err = NULL;
	return fd >= 0 ? fd : ret;
}

static int tcp_listen(struct rpc_evloop *loop, const char *host, uint16_t port,
		      struct rpc_tls *tls, rpc_tp_accept_fn accept, void *lctx,
		      struct rpc_tlistener **out, char **err)
{
	struct rpc_tlistener *l;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, ret;

	*out = NULL;
	fd = tcp_bind(host, port, err);
	if (fd < 0)
		return fd;
	l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	atomic_init(&l->refs, 1);
	l->loop = loop;
	l->fd = fd;
	l->accept = accept;
	l->lctx = lctx;
	l->tls = tls ? rpc_tls_ref(tls) : NULL;
	pthread_mutex_init(&l->lock, NULL);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		l->port = ntohs(ss.ss_family == AF_INET6
				    ? ((struct sockaddr_in6 *)&ss)->sin6_port
				    : ((struct sockaddr_in *)&ss)->sin_port);
	pthread_mutex_lock(&l->lock);
	ret = rpc_ev_add(loop, fd, EPOLLIN, &tcp_l_ev_ops, l, &l->id);
	pthread_mutex_unlock(&l->lock);
	if (ret) {
		tcp_l_unref(l);
		return ret;
	}
	*out = l;
	return 0;
}

static uint16_t tcp_listener_port(struct rpc_tlistener *l)
{
	return l->port;
}

static void tcp_listener_close(struct rpc_tlistener *l)
{
	pthread_mutex_lock(&l->lock);
	l->closed = true;
	pthread_mutex_unlock(&l->lock);
	rpc_ev_del(l->loop, l->id, l->fd);
	tcp_l_unref(l);
}

const struct rpc_transport_ops rpc_tcp_ops = {
    .name = "tcp",
    .listen = tcp_listen,
    .listener_port = tcp_listener_port,
    .listener_close = tcp_listener_close,
    .connect = tcp_connect,
    .rx_limit = rpc_tconn_rx_limit,
};
