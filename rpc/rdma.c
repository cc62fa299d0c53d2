/*
 * rdma.c - the RDMA transport: librdmacm for connections, libibverbs RC
 * queue pairs for data, behind the same ops as tcp.c.
 *
 * Each connection owns a protection domain, one completion queue with its
 * completion channel, and two registered slot pools (rdma-flow.c): one for
 * posted receives, one for sends.  A frame (header, body, bulk) is copied
 * into one buffer and cut into slot-sized chunks; chunks carry the credits
 * the sender returns.  Credits (one per receive the peer has posted) keep
 * us from sending into a receive queue that has no buffer.
 *
 * STATUS: compiled, never run.  This machine has no RDMA device, so no test
 * exercises this file beyond device discovery (listen/connect fail with
 * -ENODEV "no RDMA device").  Bulk travels in send/recv chunks, not yet by
 * RDMA read/write; that is the next step once hardware is available.
 *
 * The connection core (conn.c) runs the connection: queue, close, wait,
 * the handler loop.  Two event sources (the connection's cm event channel,
 * which kicks go to, and its completion channel) feed its one handler.
 */
#include "config.h"

#include "conn.h"
#include "evloop.h"
#include "log.h"
#include "rdma-flow.h"
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <netdb.h>
#include <pthread.h>
#include <rdma/rdma_cma.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define RDMA_SLOTS	64 /* receives posted = credits granted */
#define RDMA_SLOT_SIZE	(64u << 10)
#define RDMA_CQ_SIZE	(2 * RDMA_SLOTS + 8)
#define RDMA_RESOLVE_MS 5000
#define RDMA_EV_CM	(1u << 27) /* event came from the cm channel */
#define RDMA_EV_CQ	(1u << 26) /* event came from the completion channel */
#define RDMA_WR_RECV	(1ull << 32)

struct rdma_conn {
	struct rpc_tconn c; /* first: the core's part */
	struct rdma_event_channel *ech;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cch;
	struct ibv_cq *cq;
	struct ibv_mr *send_mr, *recv_mr;
	struct rpc_rdma_pool send_pool, recv_pool;
	uint64_t cq_src;
	bool cq_registered;
	struct rpc_rdma_credits credits; /* c.lock */
	struct rpc_rdma_reasm reasm;	 /* handler only */
};

struct rpc_tlistener {
	atomic_int refs;
	struct rpc_evloop *loop;
	struct rdma_event_channel *ech;
	struct rdma_cm_id *id;
	uint64_t src;
	uint16_t port;
	pthread_mutex_t lock;
	bool closed;
	rpc_tp_accept_fn accept;
	void *lctx;
};

static struct rdma_conn *rdma_of(struct rpc_tconn *c)
{
	return (struct rdma_conn *)c;
}

/* 0 when at least one RDMA device is present, else -ENODEV. */
static int rdt_probe(char **err)
{
	int n = 0;
	struct ibv_device **devs = ibv_get_device_list(&n);

	if (devs)
		ibv_free_device_list(devs);
	if (n > 0)
		return 0;
	if (err)
		*err = strdup("rdma transport: no RDMA device");
	return -ENODEV;
}

/* Verbs objects go in reverse order of creation. */
static void rdt_teardown(struct rpc_tconn *c)
{
	struct rdma_conn *r = rdma_of(c);

	if (r->id && r->id->qp)
		rdma_destroy_qp(r->id);
	if (r->send_mr)
		ibv_dereg_mr(r->send_mr);
	if (r->recv_mr)
		ibv_dereg_mr(r->recv_mr);
	if (r->cq)
		ibv_destroy_cq(r->cq);
	if (r->cch)
		ibv_destroy_comp_channel(r->cch);
	if (r->pd)
		ibv_dealloc_pd(r->pd);
	if (r->id)
		rdma_destroy_id(r->id);
	if (r->ech)
		rdma_destroy_event_channel(r->ech);
	r->send_mr = r->recv_mr = NULL;
	r->cq = NULL;
	r->cch = NULL;
	r->pd = NULL;
	r->id = NULL;
	r->ech = NULL;
}

static int rdt_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -errno;
	return 0;
}

static void rdt_fill_addrs(struct rpc_tconn *c)
{
	struct rdma_conn *r = rdma_of(c);
	struct sockaddr *sa = rdma_get_peer_addr(r->id);
	char h[NI_MAXHOST], p[NI_MAXSERV];

	if (sa &&
	    !getnameinfo(sa, sizeof(struct sockaddr_storage), h, sizeof(h), p,
			 sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(c->peer_host, sizeof(c->peer_host), "%.63s", h);
		snprintf(c->peer, sizeof(c->peer), "%.48s:%.8s", h, p);
	}
	sa = rdma_get_local_addr(r->id);
	if (sa && !getnameinfo(sa, sizeof(struct sockaddr_storage), h,
			       sizeof(h), NULL, 0, NI_NUMERICHOST))
		snprintf(c->local_host, sizeof(c->local_host), "%.63s", h);
}

/* ---- verbs setup ----------------------------------------------------- */

static int rdt_post_recv(struct rpc_tconn *c, uint32_t idx)
{
	struct rdma_conn *r = rdma_of(c);
	struct ibv_sge sge = {
	    .addr = (uintptr_t)rpc_rdma_pool_slot(&r->recv_pool, idx),
	    .length = (uint32_t)r->recv_pool.slot_size,
	    .lkey = r->recv_mr->lkey,
	};
	struct ibv_recv_wr wr = {
	    .wr_id = RDMA_WR_RECV | idx, .sg_list = &sge, .num_sge = 1};
	struct ibv_recv_wr *bad;

	return -ibv_post_recv(r->id->qp, &wr, &bad);
}

static const struct rpc_ev_ops rdt_cq_ev_ops;

/* PD, CQ, QP, registered pools, all receives posted. */
static int rdt_setup_qp(struct rpc_tconn *c)
{
	struct rdma_conn *r = rdma_of(c);
	struct ibv_qp_init_attr qa = {0};
	uint32_t idx;
	int ret;

	r->pd = ibv_alloc_pd(r->id->verbs);
	r->cch = r->pd ? ibv_create_comp_channel(r->id->verbs) : NULL;
	r->cq = r->cch ? ibv_create_cq(r->id->verbs, RDMA_CQ_SIZE, c, r->cch, 0)
		       : NULL;
	if (!r->cq)
		return -ENOMEM;
	ret = rpc_rdma_pool_init(&r->send_pool, RDMA_SLOTS, RDMA_SLOT_SIZE);
	if (!ret)
		ret = rpc_rdma_pool_init(&r->recv_pool, RDMA_SLOTS,
					 RDMA_SLOT_SIZE);
	if (ret)
		return ret;
	r->send_mr =
	    ibv_reg_mr(r->pd, r->send_pool.mem, RDMA_SLOTS * RDMA_SLOT_SIZE,
		       IBV_ACCESS_LOCAL_WRITE);
	r->recv_mr =
	    ibv_reg_mr(r->pd, r->recv_pool.mem, RDMA_SLOTS * RDMA_SLOT_SIZE,
		       IBV_ACCESS_LOCAL_WRITE);
	if (!r->send_mr || !r->recv_mr)
		return -ENOMEM;
	qa.send_cq = r->cq;
	qa.recv_cq = r->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = RDMA_SLOTS;
	qa.cap.max_recv_wr = RDMA_SLOTS;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	if (rdma_create_qp(r->id, r->pd, &qa))
		return -errno;
	rpc_rdma_credits_init(&r->credits, RDMA_SLOTS);
	while (rpc_rdma_pool_get(&r->recv_pool, &idx) == 0) {
		ret = rdt_post_recv(c, idx);
		if (ret)
			return ret;
	}
	ret = rdt_nonblock(r->cch->fd);
	if (!ret && ibv_req_notify_cq(r->cq, 0))
		ret = -EIO;
	if (!ret)
		ret = rpc_ev_add(c->loop, r->cch->fd, EPOLLIN, &rdt_cq_ev_ops,
				 c, &r->cq_src);
	r->cq_registered = !ret;
	return ret;
}

/* ---- sending ----------------------------------------------------------- */

static int rdt_post_chunk(struct rpc_tconn *c, const uint8_t *frame,
			  size_t total, size_t *off)
{
	struct rdma_conn *r = rdma_of(c);
	uint32_t idx;
	uint8_t *slot;
	size_t n;
	struct ibv_sge sge;
	struct ibv_send_wr wr = {0}, *bad;
	int ret;

	if (rpc_rdma_pool_get(&r->send_pool, &idx))
		return -ENOBUFS;
	slot = rpc_rdma_pool_slot(&r->send_pool, idx);
	if (total)
		n = rpc_rdma_frag_next(frame, total, off,
				       rpc_rdma_credits_collect(&r->credits),
				       slot, r->send_pool.slot_size);
	else /* a pure credit update */
		n = rpc_rdma_frag_credit_update(
		    rpc_rdma_credits_collect(&r->credits), slot);
	sge.addr = (uintptr_t)slot;
	sge.length = (uint32_t)n;
	sge.lkey = r->send_mr->lkey;
	wr.wr_id = idx;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = IBV_WR_SEND;
	wr.send_flags = IBV_SEND_SIGNALED;
	ret = ibv_post_send(r->id->qp, &wr, &bad);
	if (ret) {
		rpc_rdma_pool_put(&r->send_pool, idx);
		return -ret;
	}
	return 0;
}

/* Cut queued frames into chunks while credits and send slots last. */
static int rdt_flush_locked(struct rpc_tconn *c)
{
	struct rdma_conn *r = rdma_of(c);
	struct rpc_tconn_out *o;
	size_t end;
	int ret;

	/* copy_bulk: each queued frame is all in o->hb */
	while ((o = c->outq)) {
		if (!r->send_pool.nfree ||
		    !rpc_rdma_credits_take_data(&r->credits))
			break;
		end = o->done;
		ret = rdt_post_chunk(c, o->hb, o->hb_len, &end);
		if (ret)
			return ret;
		rpc_tconn_out_done_locked(c, end - o->done);
	}
	if (rpc_rdma_credits_need_update(&r->credits) && r->send_pool.nfree &&
	    rpc_rdma_credits_take(&r->credits)) {
		size_t off = 0;

		return rdt_post_chunk(c, NULL, 0, &off);
	}
	return 0;
}

/* ---- receiving --------------------------------------------------------- */

/* A whole frame arrived: check it and hand it up. */
static int rdt_deliver(struct rpc_tconn *c, uint8_t *frame, size_t len)
{
	struct rpc_frame_hdr h;
	struct xl_iobuf *bulk = NULL;
	int ret;

	if (len < RPC_HEADER_LEN || rpc_frame_parse(frame, &h) ||
	    len != RPC_HEADER_LEN + (size_t)h.body_len + h.bulk_len)
		return -EBADMSG;
	if (h.bulk_len) {
		bulk = xl_iobuf_from(frame + RPC_HEADER_LEN + h.body_len,
				     h.bulk_len);
		if (!bulk)
			return -ENOMEM;
	}
	ret = c->cbs->on_frame(c->ctx, c, &h, frame + RPC_HEADER_LEN, bulk);
	if (bulk)
		xl_iobuf_unref(bulk);
	return ret < 0 ? ret : 0;
}

static int rdt_on_recv(struct rpc_tconn *c, uint32_t idx, size_t len)
{
	struct rdma_conn *r = rdma_of(c);
	const uint8_t *slot = rpc_rdma_pool_slot(&r->recv_pool, idx);
	uint32_t credits;
	uint8_t *frame;
	size_t flen;
	int ret, done;

	if (!slot)
		return -EBADMSG;
	done = rpc_rdma_reasm_add(&r->reasm, slot, len,
				  RPC_HEADER_LEN + RPC_BODY_MAX + RPC_BULK_MAX,
				  &credits);
	pthread_mutex_lock(&c->lock);
	ret = done < 0 ? done : rpc_rdma_credits_grant(&r->credits, credits);
	if (!ret)
		ret = rdt_post_recv(c, idx);
	if (!ret)
		rpc_rdma_credits_reposted(&r->credits);
	pthread_mutex_unlock(&c->lock);
	if (ret || done != 1)
		return ret;
	frame = rpc_rdma_reasm_take(&r->reasm, &flen);
	ret = rdt_deliver(c, frame, flen);
	free(frame);
	return ret;
}

static int rdt_poll_cq(struct rpc_tconn *c)
{
	struct rdma_conn *r = rdma_of(c);
	struct ibv_cq *ev_cq;
	void *ev_ctx;
	struct ibv_wc wc[16];
	int n, ret = 0;

	if (ibv_get_cq_event(r->cch, &ev_cq, &ev_ctx) == 0) {
		ibv_ack_cq_events(ev_cq, 1);
		if (ibv_req_notify_cq(r->cq, 0))
			return -EIO;
	}
	while (!ret && (n = ibv_poll_cq(r->cq, 16, wc)) > 0) {
		for (int i = 0; i < n && !ret; i++) {
			if (wc[i].status != IBV_WC_SUCCESS) {
				ret = -EIO;
			} else if (wc[i].wr_id & RDMA_WR_RECV) {
				ret = rdt_on_recv(c, (uint32_t)wc[i].wr_id,
						  wc[i].byte_len);
			} else {
				pthread_mutex_lock(&c->lock);
				rpc_rdma_pool_put(&r->send_pool,
						  (uint32_t)wc[i].wr_id);
				pthread_mutex_unlock(&c->lock);
			}
		}
	}
	if (n < 0 && !ret)
		ret = -EIO;
	if (!ret) {
		pthread_mutex_lock(&c->lock);
		if (c->state == RPC_TC_OPEN)
			ret = rdt_flush_locked(c);
		pthread_mutex_unlock(&c->lock);
	}
	return ret;
}

/* ---- connection manager events ----------------------------------------- */

static int rdt_cm_event(struct rpc_tconn *c, struct rdma_cm_event *ev)
{
	struct rdma_conn *r = rdma_of(c);
	struct rdma_conn_param cp = {.retry_count = 7, .rnr_retry_count = 7};
	int ret = 0;

	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		if (rdma_resolve_route(r->id, RDMA_RESOLVE_MS))
			ret = -errno;
		break;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		ret = rdt_setup_qp(c);
		if (!ret && rdma_connect(r->id, &cp))
			ret = -errno;
		break;
	case RDMA_CM_EVENT_ESTABLISHED:
		rdt_fill_addrs(c);
		rpc_tconn_connected(c);
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
		ret = -ECONNRESET;
		break;
	case RDMA_CM_EVENT_REJECTED:
		ret = -ECONNREFUSED;
		break;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
		ret = -EHOSTUNREACH;
		break;
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		ret = -ENOTCONN;
		break;
	default:
		break;
	}
	return ret;
}

static int rdt_drain_cm(struct rpc_tconn *c)
{
	struct rdma_conn *r = rdma_of(c);
	struct rdma_cm_event *ev, copy;
	int ret = 0;

	while (!ret && rdma_get_cm_event(r->ech, &ev) == 0) {
		copy = *ev;
		rdma_ack_cm_event(ev);
		ret = rdt_cm_event(c, &copy);
	}
	return ret;
}

static int rdt_process(struct rpc_tconn *c, uint32_t ev)
{
	struct rdma_conn *r = rdma_of(c);
	int ret = 0;

	if (ev & RDMA_EV_CM)
		ret = rdt_drain_cm(c);
	if (!ret && (ev & RDMA_EV_CQ) && r->cq)
		ret = rdt_poll_cq(c);
	return ret;
}

static void rdt_rearm_locked(struct rpc_tconn *c)
{
	struct rdma_conn *r = rdma_of(c);

	rpc_ev_rearm(c->loop, c->src, r->ech->fd, EPOLLIN);
	if (r->cq_registered)
		rpc_ev_rearm(c->loop, r->cq_src, r->cch->fd, EPOLLIN);
}

/* Closed: disconnect, unregister both channels. */
static void rdt_detach(struct rpc_tconn *c)
{
	struct rdma_conn *r = rdma_of(c);

	if (r->id)
		rdma_disconnect(r->id);
	if (r->cq_registered)
		rpc_ev_del(c->loop, r->cq_src, r->cch->fd);
	rpc_ev_del(c->loop, c->src, r->ech->fd);
}

static void rdt_destroy(struct rpc_tconn *c)
{
	struct rdma_conn *r = rdma_of(c);

	rdt_teardown(c);
	rpc_rdma_pool_fini(&r->send_pool);
	rpc_rdma_pool_fini(&r->recv_pool);
	rpc_rdma_reasm_fini(&r->reasm);
}

static const struct rpc_tconn_io rdt_io = {
    .flush_locked = rdt_flush_locked,
    /* no want_write: completions flush (rdt_poll_cq) */
    .process = rdt_process,
    .rearm_locked = rdt_rearm_locked,
    .detach = rdt_detach,
    .destroy = rdt_destroy,
    .copy_bulk = true, /* frames are cut from one buffer into slots */
};

static struct rpc_tconn *rdt_new(struct rpc_evloop *loop)
{
	return rpc_tconn_new(sizeof(struct rdma_conn), &rdt_io, loop,
			     RPC_TC_CONNECTING);
}

static void rdt_cm_handle(void *obj, uint32_t ev)
{
	rpc_tconn_handle(obj, ev | RDMA_EV_CM);
}

static void rdt_cq_handle(void *obj, uint32_t ev)
{
	rpc_tconn_handle(obj, ev | RDMA_EV_CQ);
}

static const struct rpc_ev_ops rdt_cm_ev_ops = {
    .handle = rdt_cm_handle,
    .ref = rpc_tconn_ev_ref,
    .unref = rpc_tconn_ev_unref,
};

static const struct rpc_ev_ops rdt_cq_ev_ops = {
    .handle = rdt_cq_handle,
    .ref = rpc_tconn_ev_ref,
    .unref = rpc_tconn_ev_unref,
};

/* A connection with its own cm event channel, registered on the loop. */
static int rdt_attach_channel(struct rpc_tconn *c)
{
	struct rdma_conn *r = rdma_of(c);
	int ret;

	r->ech = rdma_create_event_channel();
	if (!r->ech)
		return -errno ? -errno : -ENOMEM;
	ret = rdt_nonblock(r->ech->fd);
	if (ret)
		return ret;
	pthread_mutex_lock(&c->lock);
	ret = rpc_ev_add(c->loop, r->ech->fd, EPOLLIN, &rdt_cm_ev_ops, c,
			 &c->src);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static int rdt_connect_op(struct rpc_evloop *loop, const struct sockaddr *sa,
			  socklen_t salen, struct rpc_tls *tls,
			  const struct rpc_tp_cbs *cbs, void *ctx,
			  struct rpc_tconn **out)
{
	struct rpc_tconn *c;
	struct rdma_conn *r;
	char *msg = NULL;
	int ret;

	*out = NULL;
	if (tls)
		return -EPROTONOSUPPORT; /* TLS is tcp's */
	ret = rdt_probe(&msg);
	if (ret) {
		xl_warn("rpc", "%s", msg ? msg : "rdma unavailable");
		free(msg);
		return ret;
	}
	c = rdt_new(loop);
	if (!c)
		return -ENOMEM;
	r = rdma_of(c);
	c->cbs = cbs;
	c->ctx = ctx;
	cbs->ctx_ref(ctx);
	ret = rdt_attach_channel(c);
	if (!ret && rdma_create_id(r->ech, &r->id, c, RDMA_PS_TCP))
		ret = -errno;
	if (!ret && rdma_resolve_addr(r->id, NULL, (struct sockaddr *)sa,
				      RDMA_RESOLVE_MS))
		ret = -errno;
	if (ret) {
		if (c->src)
			rpc_ev_del(loop, c->src, r->ech->fd);
		rpc_tconn_unref(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* ---- listening ----------------------------------------------------------- */

static void rdt_l_ref(void *obj)
{
	struct rpc_tlistener *l = obj;

	atomic_fetch_add(&l->refs, 1);
}

static void rdt_l_unref(void *obj)
{
	struct rpc_tlistener *l = obj;

	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	if (l->id)
		rdma_destroy_id(l->id);
	if (l->ech)
		rdma_destroy_event_channel(l->ech);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* A connect request: a new tconn with its own channel, accepted. */
static void rdt_accept_one(struct rpc_tlistener *l, struct rdma_cm_id *id)
{
	struct rpc_tconn *c = rdt_new(l->loop);
	struct rdma_conn_param cp = {.rnr_retry_count = 7};
	struct rdma_conn *r = rdma_of(c);
	const struct rpc_tp_cbs *cbs = NULL;
	void *ctx = NULL;

	if (!c) {
		rdma_reject(id, NULL, 0);
		rdma_destroy_id(id);
		return;
	}
	r->id = id;
	id->context = c;
	if (rdt_attach_channel(c) || rdma_migrate_id(id, r->ech) ||
	    rdt_setup_qp(c))
		goto fail;
	rdt_fill_addrs(c);
	ctx = l->accept(l->lctx, c, &cbs);
	if (!ctx)
		goto fail;
	c->cbs = cbs;
	c->ctx = ctx;
	if (rdma_accept(id, &cp)) {
		rpc_tconn_close(c, -errno);
		rpc_tconn_unref(c);
		return;
	}
	rpc_tconn_unref(c); /* the loop and the owner hold theirs */
	return;
fail:
	rdma_reject(id, NULL, 0);
	if (r->cq_registered)
		rpc_ev_del(c->loop, r->cq_src, r->cch->fd);
	if (c->src)
		rpc_ev_del(c->loop, c->src, r->ech->fd);
	rpc_tconn_unref(c);
}

static void rdt_l_handle(void *obj, uint32_t ev)
{
	struct rpc_tlistener *l = obj;
	struct rdma_cm_event *cm;
	struct rdma_cm_id *id;
	enum rdma_cm_event_type type;

	pthread_mutex_lock(&l->lock);
	while (!l->closed && rdma_get_cm_event(l->ech, &cm) == 0) {
		type = cm->event;
		id = cm->id;
		rdma_ack_cm_event(cm);
		if (type == RDMA_CM_EVENT_CONNECT_REQUEST)
			rdt_accept_one(l, id);
	}
	if (!l->closed)
		rpc_ev_rearm(l->loop, l->src, l->ech->fd, EPOLLIN);
	pthread_mutex_unlock(&l->lock);
}

static const struct rpc_ev_ops rdt_l_ev_ops = {
    .handle = rdt_l_handle,
    .ref = rdt_l_ref,
    .unref = rdt_l_unref,
};

static int rdt_listen(struct rpc_evloop *loop, const char *host, uint16_t port,
		      struct rpc_tls *tls, rpc_tp_accept_fn accept, void *lctx,
		      struct rpc_tlistener **out, char **err)
{
	struct rpc_tlistener *l;
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char portstr[8];
	int ret;

	*out = NULL;
	if (tls) {
		if (err)
			*err = strdup("TLS is for the tcp transport only");
		return -EPROTONOSUPPORT;
	}
	ret = rdt_probe(err);
	if (ret)
		return ret;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	atomic_init(&l->refs, 1);
	pthread_mutex_init(&l->lock, NULL);
	l->loop = loop;
	l->accept = accept;
	l->lctx = lctx;
	snprintf(portstr, sizeof(portstr), "%u", port);
	ret = getaddrinfo(host && *host ? host : "0.0.0.0", portstr, &hints,
			  &res);
	if (ret) {
		ret = -EADDRNOTAVAIL;
		goto fail;
	}
	l->ech = rdma_create_event_channel();
	if (!l->ech || rdt_nonblock(l->ech->fd) ||
	    rdma_create_id(l->ech, &l->id, l, RDMA_PS_TCP) ||
	    rdma_bind_addr(l->id, res->ai_addr) || rdma_listen(l->id, 128)) {
		ret = errno ? -errno : -EIO;
		goto fail;
	}
	l->port = ntohs(rdma_get_src_port(l->id));
	pthread_mutex_lock(&l->lock);
	ret = rpc_ev_add(loop, l->ech->fd, EPOLLIN, &rdt_l_ev_ops, l, &l->src);
	pthread_mutex_unlock(&l->lock);
	if (ret)
		goto fail;
	freeaddrinfo(res);
	*out = l;
	return 0;
fail:
	if (err && !*err &&
	    asprintf(err, "rdma listen on %s:%u failed: %s", host ? host : "*",
		     port, strerror(-ret)) == -1)
		*err = NULL;
	if (res)
		freeaddrinfo(res);
	rdt_l_unref(l);
	return ret;
}

static uint16_t rdt_listener_port(struct rpc_tlistener *l)
{
	return l->port;
}

static void rdt_listener_close(struct rpc_tlistener *l)
{
	pthread_mutex_lock(&l->lock);
	l->closed = true;
	pthread_mutex_unlock(&l->lock);
	rpc_ev_del(l->loop, l->src, l->ech->fd);
	rdt_l_unref(l);
}

const struct rpc_transport_ops rpc_rdma_ops = {
    .name = "rdma",
    .listen = rdt_listen,
    .listener_port = rdt_listener_port,
    .listener_close = rdt_listener_close,
    .connect = rdt_connect_op,
    /* no rx_limit: the credits we grant bound what a peer sends */
};
