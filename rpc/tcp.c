/*
 * tcp.c - the TCP transport: non-blocking sockets on the event loop,
 * frames read header / body / bulk (bulk straight into a new iobuf), frames
 * written with sendmsg from an output queue that survives partial writes.
 *
 * Threads: the handler of a connection runs on one loop thread at a time
 * (busy flag; events that arrive meanwhile are merged into pending_ev and
 * handled by the running handler).  Only the handler reads the socket and
 * runs callbacks.  Any thread may send: writes happen under c->lock, so
 * frames never interleave.  Closing from outside only marks the connection
 * and kicks the handler, which finishes the close and calls on_closed: so
 * on_closed never races with on_frame.
 */
#include "config.h"

#include "evloop.h"
#include "log.h"
#include "tcp-flow.h"
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
#include <time.h>
#include <unistd.h>

#define TCP_RX_SIZE (64u << 10)
#define TCP_IOV_MAX 64

enum tcp_state { TCP_S_CONNECTING, TCP_S_OPEN, TCP_S_CLOSING, TCP_S_CLOSED };
enum tcp_stage { TCP_HDR, TCP_BODY, TCP_BULK };

/* One queued frame: header+body copied into hb, bulk referenced. */
struct tcp_out {
	struct tcp_out *next;
	uint8_t *hb;
	size_t hb_len;
	struct xl_iobuf *bulk;
	size_t done; /* bytes of hb then bulk already written */
};

struct rpc_tconn {
	atomic_int refs;
	struct rpc_evloop *loop;
	int fd;
	uint64_t id; /* event source id, set before the first event */
	const struct rpc_tp_cbs *cbs;
	void *ctx; /* one reference, dropped in tcp_free */

	pthread_mutex_t lock;
	pthread_cond_t drained;	      /* queued went down or state changed */
	_Atomic enum tcp_state state; /* written under lock */
	int close_err;		      /* lock */
	bool busy;		      /* lock: a handler is running */
	uint32_t pending_ev;	      /* lock: events seen while busy */
	struct tcp_out *outq;	      /* lock */
	struct tcp_out **outq_tail;
	size_t queued;	       /* lock: bytes not yet written */
	bool pause_on_queue;   /* accepted: stop reading while queued is big */
	atomic_uint *rx_count; /* owner's requests in flight, or NULL */
	unsigned int rx_max;   /* stop reading at this many */
	bool rx_stopped;       /* lock: the reader stopped; kick it to resume */

	/* reader: handler only */
	enum tcp_stage stage;
	uint8_t hdr[RPC_HEADER_LEN];
	size_t got;
	struct rpc_frame_hdr h;
	uint8_t *body;
	struct xl_iobuf *bulk;
	uint8_t *rx;
	size_t rx_len, rx_pos;

	char peer[RPC_ADDR_LEN];
	char peer_host[RPC_ADDR_LEN];
	char local_host[RPC_ADDR_LEN];
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
};

static atomic_size_t tcp_queued_peak;

size_t rpc_tcp_queued_peak(void)
{
	return atomic_load(&tcp_queued_peak);
}

void rpc_tcp_queued_peak_reset(void)
{
	atomic_store(&tcp_queued_peak, 0);
}

static struct rpc_tconn *tcp_ref(struct rpc_tconn *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

static void tcp_out_free(struct tcp_out *o)
{
	if (o->bulk)
		xl_iobuf_unref(o->bulk);
	free(o->hb);
	free(o);
}

static void tcp_unref(struct rpc_tconn *c)
{
	struct tcp_out *o;

	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	while ((o = c->outq)) {
		c->outq = o->next;
		tcp_out_free(o);
	}
	free(c->body);
	if (c->bulk)
		xl_iobuf_unref(c->bulk);
	free(c->rx);
	if (c->fd >= 0)
		close(c->fd);
	if (c->ctx)
		c->cbs->ctx_unref(c->ctx);
	pthread_cond_destroy(&c->drained);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void tcp_ev_ref(void *obj)
{
	tcp_ref(obj);
}

static void tcp_ev_unref(void *obj)
{
	tcp_unref(obj);
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

	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0) {
		tcp_fmt_host(&ss, len, c->peer_host, port);
		snprintf(c->peer, sizeof(c->peer),
			 strchr(c->peer_host, ':') ? "[%.40s]:%s" : "%.40s:%s",
			 c->peer_host, port);
	}
	len = sizeof(ss);
	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0)
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

static struct rpc_tconn *tcp_new(struct rpc_evloop *loop, int fd,
				 enum tcp_state state)
{
	struct rpc_tconn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c)
		return NULL;
	c->rx = malloc(TCP_RX_SIZE);
	if (!c->rx) {
		free(c);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	c->loop = loop;
	c->fd = fd;
	c->state = state;
	c->outq_tail = &c->outq;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->drained, NULL);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tcp_keepalive(fd);
	return c;
}

/* ---- writing --------------------------------------------------------- */

/* Write as much of the queue as the socket takes.  0 (maybe blocked) or
 * -errno when the connection is broken. */
static int tcp_flush_locked(struct rpc_tconn *c)
{
	struct iovec iov[TCP_IOV_MAX];
	struct msghdr msg = {.msg_iov = iov};
	struct tcp_out *o;
	ssize_t n;
	size_t left;
	int cnt;

	while (c->outq) {
		cnt = 0;
		for (o = c->outq; o && cnt < TCP_IOV_MAX - 1; o = o->next) {
			size_t bl = o->bulk ? o->bulk->size : 0;

			if (o->done < o->hb_len) {
				iov[cnt].iov_base = o->hb + o->done;
				iov[cnt++].iov_len = o->hb_len - o->done;
			}
			if (bl) {
				size_t skip = o->done > o->hb_len
						  ? o->done - o->hb_len
						  : 0;
				iov[cnt].iov_base = o->bulk->data + skip;
				iov[cnt++].iov_len = bl - skip;
			}
		}
		msg.msg_iovlen = (size_t)cnt;
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		c->queued -= (size_t)n;
		left = (size_t)n;
		while (left && (o = c->outq)) {
			size_t total =
			    o->hb_len + (o->bulk ? o->bulk->size : 0);
			size_t take = total - o->done;

			if (take > left) {
				o->done += left;
				break;
			}
			left -= take;
			c->outq = o->next;
			if (!c->outq)
				c->outq_tail = &c->outq;
			tcp_out_free(o);
		}
		pthread_cond_broadcast(&c->drained);
	}
	return 0;
}

/* Whether the reader may take more frames now. */
static bool tcp_rx_ok_locked(struct rpc_tconn *c)
{
	if (c->rx_count && atomic_load(c->rx_count) >= c->rx_max)
		return false;
	return !c->pause_on_queue || c->queued <= RPC_TCP_QUEUE_PAUSE;
}

/* The reader stopped and may go on again: true once, and the caller
 * kicks the handler with EPOLLIN (bytes may wait in the rx buffer, which
 * no epoll event would announce). */
static bool tcp_rx_resume_locked(struct rpc_tconn *c)
{
	if (!c->rx_stopped || !tcp_rx_ok_locked(c) || c->state != TCP_S_OPEN)
		return false;
	c->rx_stopped = false;
	return true;
}

static uint32_t tcp_mask_locked(struct rpc_tconn *c)
{
	uint32_t mask = c->outq ? EPOLLOUT : 0;

	if (c->state == TCP_S_CONNECTING)
		return EPOLLOUT;
	/* Not reading: a peer's EOF is found when it is read again, or by
	 * EPOLLHUP/EPOLLERR, which epoll always reports. */
	if (tcp_rx_ok_locked(c))
		mask |= EPOLLIN | EPOLLRDHUP;
	return mask;
}

void rpc_tcp_rx_limit(struct rpc_tconn *c, atomic_uint *count, unsigned int max)
{
	pthread_mutex_lock(&c->lock);
	c->rx_count = count;
	c->rx_max = max;
	pthread_mutex_unlock(&c->lock);
}

void rpc_tcp_rx_poke(struct rpc_tconn *c)
{
	bool kick;

	/* The reader checks the count and marks itself stopped under the
	 * lock: a count lowered after that finds it stopped here. */
	pthread_mutex_lock(&c->lock);
	kick = tcp_rx_resume_locked(c);
	pthread_mutex_unlock(&c->lock);
	if (kick)
		rpc_ev_kick(c->loop, c->id, EPOLLIN);
}

/* Mark closing; the handler finishes.  Returns true if it was open. */
static bool tcp_mark_closing_locked(struct rpc_tconn *c, int err)
{
	if (c->state == TCP_S_CLOSING || c->state == TCP_S_CLOSED)
		return false;
	c->state = TCP_S_CLOSING;
	c->close_err = err;
	shutdown(c->fd, SHUT_RDWR);
	pthread_cond_broadcast(&c->drained);
	return true;
}

static void tcp_close(struct rpc_tconn *c, int err)
{
	bool kick;

	pthread_mutex_lock(&c->lock);
	kick = tcp_mark_closing_locked(c, err);
	pthread_mutex_unlock(&c->lock);
	if (kick)
		rpc_ev_kick(c->loop, c->id, 0);
}

static int tcp_send(struct rpc_tconn *c, const struct iovec *iov, int iovcnt,
		    struct xl_iobuf *bulk)
{
	struct tcp_out *o = calloc(1, sizeof(*o));
	size_t len = 0, peak;
	int ret = 0;
	bool kick = false;

	if (!o)
		return -ENOMEM;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	o->hb = malloc(len ? len : 1);
	if (!o->hb) {
		free(o);
		return -ENOMEM;
	}
	for (int i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue; /* iov_base may be NULL */
		memcpy(o->hb + o->hb_len, iov[i].iov_base, iov[i].iov_len);
		o->hb_len += iov[i].iov_len;
	}
	if (bulk && bulk->size)
		o->bulk = xl_iobuf_ref(bulk);

	pthread_mutex_lock(&c->lock);
	if (c->state != TCP_S_OPEN) {
		pthread_mutex_unlock(&c->lock);
		tcp_out_free(o);
		return -ENOTCONN;
	}
	*c->outq_tail = o;
	c->outq_tail = &o->next;
	c->queued += o->hb_len + (o->bulk ? o->bulk->size : 0);
	peak = atomic_load(&tcp_queued_peak);
	while (c->queued > peak && !atomic_compare_exchange_weak(
				       &tcp_queued_peak, &peak, c->queued))
		;
	if (c->outq == o) {
		ret = tcp_flush_locked(c);
		if (ret) {
			kick = tcp_mark_closing_locked(c, ret);
			ret = 0; /* queued: the close answers it */
		} else if (c->outq && !c->busy) {
			/* blocked: ask for EPOLLOUT; a running handler
			 * re-arms with it itself when it finishes */
			rpc_ev_rearm(c->loop, c->id, c->fd, tcp_mask_locked(c));
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (kick)
		rpc_ev_kick(c->loop, c->id, 0);
	return ret;
}

static void tcp_wait_queued(struct rpc_tconn *c, size_t limit, int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->lock);
	while (c->queued > limit && c->state == TCP_S_OPEN)
		if (pthread_cond_timedwait(&c->drained, &c->lock, &ts))
			break;
	pthread_mutex_unlock(&c->lock);
}

/* ---- reading --------------------------------------------------------- */

static void tcp_copy_rx(struct rpc_tconn *c, void *dst, size_t want)
{
	size_t n = c->rx_len - c->rx_pos;

	if (n > want)
		n = want;
	memcpy(dst, c->rx + c->rx_pos, n);
	c->rx_pos += n;
	c->got += n;
}

/* Header complete: validate it and set up the body. */
static int tcp_start_frame(struct rpc_tconn *c)
{
	if (rpc_frame_parse(c->hdr, &c->h)) {
		xl_warn("rpc", "bad frame header from %s: closing", c->peer);
		return -EBADMSG;
	}
	c->body = malloc(c->h.body_len ? c->h.body_len : 1);
	if (!c->body)
		return -ENOMEM;
	c->stage = TCP_BODY;
	c->got = 0;
	return 0;
}

static int tcp_deliver(struct rpc_tconn *c)
{
	int ret = c->cbs->on_frame(c->ctx, c, &c->h, c->body, c->bulk);

	free(c->body);
	c->body = NULL;
	if (c->bulk)
		xl_iobuf_unref(c->bulk);
	c->bulk = NULL;
	c->stage = TCP_HDR;
	c->got = 0;
	return ret < 0 ? ret : 0;
}

/* Advance the frame in progress with buffered bytes and, for bulk, straight
 * socket reads.  1 when the rx buffer is empty, 0 to go on, -errno. */
static int tcp_step(struct rpc_tconn *c)
{
	ssize_t n;
	int ret;

	switch (c->stage) {
	case TCP_HDR:
		tcp_copy_rx(c, c->hdr + c->got, RPC_HEADER_LEN - c->got);
		if (c->got < RPC_HEADER_LEN)
			return 1;
		return tcp_start_frame(c);
	case TCP_BODY:
		tcp_copy_rx(c, c->body + c->got, c->h.body_len - c->got);
		if (c->got < c->h.body_len)
			return 1;
		if (!c->h.bulk_len)
			return tcp_deliver(c);
		c->bulk = xl_iobuf_new(c->h.bulk_len);
		if (!c->bulk)
			return -ENOMEM;
		c->stage = TCP_BULK;
		c->got = 0;
		return 0;
	case TCP_BULK:
		tcp_copy_rx(c, c->bulk->data + c->got, c->h.bulk_len - c->got);
		while (c->got < c->h.bulk_len &&
		       c->h.bulk_len - c->got >= TCP_RX_SIZE / 4) {
			/* big remainder: read it in place, no copy */
			n = read(c->fd, c->bulk->data + c->got,
				 c->h.bulk_len - c->got);
			if (n <= 0)
				return 1; /* let the rx read find out why */
			c->got += (size_t)n;
		}
		if (c->got < c->h.bulk_len)
			return 1;
		c->bulk->size = c->h.bulk_len;
		ret = tcp_deliver(c);
		return ret;
	}
	return -EINVAL;
}

/* True when the reader must stop taking frames for now (and is then
 * marked stopped, so that whoever lifts the cause kicks it again). */
static bool tcp_rx_pause(struct rpc_tconn *c)
{
	bool stop;

	pthread_mutex_lock(&c->lock);
	stop = !tcp_rx_ok_locked(c);
	if (stop)
		c->rx_stopped = true;
	pthread_mutex_unlock(&c->lock);
	return stop;
}

/* Read until the socket is empty or reading pauses.  0, or -errno to
 * close.  force: the socket hung up or failed; read to find out. */
static int tcp_read(struct rpc_tconn *c, bool force)
{
	ssize_t n;
	int ret;

	for (;;) {
		if (!force && tcp_rx_pause(c))
			return 0;
		if (c->rx_pos == c->rx_len) {
			c->rx_pos = c->rx_len = 0;
			n = read(c->fd, c->rx, TCP_RX_SIZE);
			if (n == 0)
				return -ECONNRESET;
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return 0;
				return -errno;
			}
			c->rx_len = (size_t)n;
		}
		do {
			ret = tcp_step(c);
			if (ret < 0)
				return ret;
			/* a callback may have closed us */
			if (c->state != TCP_S_OPEN)
				return 0;
			/* a frame was delivered: its answer may fill the
			 * queue, or its owner hold us */
			if (!force && c->stage == TCP_HDR && c->got == 0 &&
			    tcp_rx_pause(c))
				return 0;
		} while (ret == 0 || c->rx_pos < c->rx_len);
	}
}

/* ---- handler --------------------------------------------------------- */

static void tcp_finish(struct rpc_tconn *c)
{
	struct tcp_out *o;
	int err;

	pthread_mutex_lock(&c->lock);
	c->state = TCP_S_CLOSED;
	err = c->close_err;
	while ((o = c->outq)) {
		c->outq = o->next;
		tcp_out_free(o);
	}
	c->outq_tail = &c->outq;
	c->queued = 0;
	pthread_cond_broadcast(&c->drained);
	pthread_mutex_unlock(&c->lock);
	rpc_ev_del(c->loop, c->id, c->fd);
	c->cbs->on_closed(c->ctx, c, err);
}

static void tcp_fail(struct rpc_tconn *c, int err)
{
	pthread_mutex_lock(&c->lock);
	tcp_mark_closing_locked(c, err);
	pthread_mutex_unlock(&c->lock);
}

static void tcp_connected(struct rpc_tconn *c, uint32_t ev)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err) {
		tcp_fail(c, -err);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (c->state == TCP_S_CONNECTING)
		c->state = TCP_S_OPEN;
	pthread_mutex_unlock(&c->lock);
	tcp_fill_addrs(c);
	c->cbs->on_connected(c->ctx, c);
}

static void tcp_process(struct rpc_tconn *c, uint32_t ev)
{
	enum tcp_state st;
	int ret = 0;

	if (ev & RPC_EV_SHUTDOWN)
		tcp_fail(c, -ENOTCONN);
	pthread_mutex_lock(&c->lock);
	st = c->state;
	if (st == TCP_S_OPEN && (ev & EPOLLOUT))
		ret = tcp_flush_locked(c);
	if (tcp_rx_resume_locked(c))
		ev |= EPOLLIN; /* the queue drained below the pause mark */
	pthread_mutex_unlock(&c->lock);
	if (st == TCP_S_CONNECTING)
		tcp_connected(c, ev);
	else if (st == TCP_S_OPEN && !ret &&
		 (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		ret = tcp_read(c, ev & (EPOLLHUP | EPOLLERR));
	if (ret)
		tcp_fail(c, ret);
}

static void tcp_handle(void *obj, uint32_t ev)
{
	struct rpc_tconn *c = obj;

	pthread_mutex_lock(&c->lock);
	if (c->busy || c->state == TCP_S_CLOSED) {
		c->pending_ev |= ev;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->busy = true;
	pthread_mutex_unlock(&c->lock);
	for (;;) {
		if (c->state == TCP_S_CLOSING) {
			tcp_finish(c);
			break;
		}
		tcp_process(c, ev);
		pthread_mutex_lock(&c->lock);
		if (c->pending_ev && c->state != TCP_S_CLOSING) {
			ev = c->pending_ev;
			c->pending_ev = 0;
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		if (c->state == TCP_S_CLOSING) {
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		c->busy = false;
		rpc_ev_rearm(c->loop, c->id, c->fd, tcp_mask_locked(c));
		pthread_mutex_unlock(&c->lock);
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->busy = false;
	pthread_mutex_unlock(&c->lock);
}

static const struct rpc_ev_ops tcp_conn_ev_ops = {
    .handle = tcp_handle,
    .ref = tcp_ev_ref,
    .unref = tcp_ev_unref,
};

static int tcp_connect(struct rpc_evloop *loop, const struct sockaddr *sa,
		       socklen_t salen, const struct rpc_tp_cbs *cbs, void *ctx,
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
	c = tcp_new(loop, fd, TCP_S_CONNECTING);
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->cbs = cbs;
	c->ctx = ctx;
	cbs->ctx_ref(ctx);
	/* hold the lock so the first event waits until c->id is set */
	pthread_mutex_lock(&c->lock);
	ret = rpc_ev_add(loop, fd, EPOLLOUT, &tcp_conn_ev_ops, c, &c->id);
	pthread_mutex_unlock(&c->lock);
	if (ret) {
		tcp_unref(c);
		return ret;
	}
	*out = c;
	return 0;
}

static void tcp_addrs(struct rpc_tconn *c, char *peer, char *peer_host,
		      char *local_host)
{
	if (peer)
		memcpy(peer, c->peer, RPC_ADDR_LEN);
	if (peer_host)
		memcpy(peer_host, c->peer_host, RPC_ADDR_LEN);
	if (local_host)
		memcpy(local_host, c->local_host, RPC_ADDR_LEN);
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
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void tcp_accept_one(struct rpc_tlistener *l, int fd)
{
	struct rpc_tconn *c = tcp_new(l->loop, fd, TCP_S_OPEN);
	const struct rpc_tp_cbs *cbs = NULL;
	void *ctx;

	if (!c) {
		close(fd);
		return;
	}
	tcp_fill_addrs(c);
	c->pause_on_queue = true;
	ctx = l->accept(l->lctx, c, &cbs);
	if (!ctx) {
		tcp_unref(c);
		return;
	}
	c->cbs = cbs;
	c->ctx = ctx;
	pthread_mutex_lock(&c->lock);
	if (rpc_ev_add(l->loop, fd, EPOLLIN | EPOLLRDHUP, &tcp_conn_ev_ops, c,
		       &c->id)) {
		/* never registered: report the close directly */
		c->state = TCP_S_CLOSED;
		pthread_mutex_unlock(&c->lock);
		cbs->on_closed(ctx, c, -ENOMEM);
		tcp_unref(c);
		return;
	}
	pthread_mutex_unlock(&c->lock);
	tcp_unref(c); /* the loop and the owner hold theirs */
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
		      rpc_tp_accept_fn accept, void *lctx,
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
    .send = tcp_send,
    .wait_queued = tcp_wait_queued,
    .close = tcp_close,
    .ref = tcp_ref,
    .unref = tcp_unref,
    .addrs = tcp_addrs,
};
