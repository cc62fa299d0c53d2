/*
 * conn.c - the connection core shared by the transports: references, the
 * output queue and the wait for it to drain, close, read flow control and
 * the handler loop.  The contract is in conn.h (transports) and
 * transport.h (clnt.c and srv.c).
 */
#include "config.h"

#include "conn-flow.h"
#include "conn.h"
#include "evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

static atomic_size_t tconn_queued_peak;

static bool tconn_mark_closing_locked(struct rpc_tconn *c, int err);

size_t rpc_tconn_queued_peak(void)
{
	return atomic_load(&tconn_queued_peak);
}

void rpc_tconn_queued_peak_reset(void)
{
	atomic_store(&tconn_queued_peak, 0);
}

struct rpc_tconn *rpc_tconn_new(size_t size, const struct rpc_tconn_io *io,
				struct rpc_evloop *loop,
				enum rpc_tconn_state st)
{
	struct rpc_tconn *c = calloc(1, size);

	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	c->io = io;
	c->loop = loop;
	c->state = st;
	c->outq_tail = &c->outq;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->drained, NULL);
	return c;
}

struct rpc_tconn *rpc_tconn_ref(struct rpc_tconn *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

static void tconn_out_free(struct rpc_tconn_out *o)
{
	if (o->bulk)
		xl_iobuf_unref(o->bulk);
	free(o->hb);
	free(o);
}

static void tconn_outq_clear_locked(struct rpc_tconn *c)
{
	struct rpc_tconn_out *o;

	while ((o = c->outq)) {
		c->outq = o->next;
		tconn_out_free(o);
	}
	c->outq_tail = &c->outq;
	c->queued = 0;
}

void rpc_tconn_unref(struct rpc_tconn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	tconn_outq_clear_locked(c); /* the last reference: no one else */
	c->io->destroy(c);
	if (c->ctx)
		c->cbs->ctx_unref(c->ctx);
	pthread_cond_destroy(&c->drained);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void rpc_tconn_ev_ref(void *obj)
{
	rpc_tconn_ref(obj);
}

void rpc_tconn_ev_unref(void *obj)
{
	rpc_tconn_unref(obj);
}

void rpc_tconn_addrs(struct rpc_tconn *c, char *peer, char *peer_host,
		     char *local_host)
{
	if (peer)
		memcpy(peer, c->peer, RPC_ADDR_LEN);
	if (peer_host)
		memcpy(peer_host, c->peer_host, RPC_ADDR_LEN);
	if (local_host)
		memcpy(local_host, c->local_host, RPC_ADDR_LEN);
}

void rpc_tconn_peer_cn(struct rpc_tconn *c, char *cn)
{
	memcpy(cn, c->peer_cn, sizeof(c->peer_cn));
}

/* ---- the output queue ------------------------------------------------ */

void rpc_tconn_out_done_locked(struct rpc_tconn *c, size_t n)
{
	struct rpc_tconn_out *o;

	c->queued -= n;
	while (n && (o = c->outq)) {
		size_t total = o->hb_len + (o->bulk ? o->bulk->size : 0);
		size_t take = total - o->done;

		if (take > n) {
			o->done += n;
			break;
		}
		n -= take;
		c->outq = o->next;
		if (!c->outq)
			c->outq_tail = &c->outq;
		tconn_out_free(o);
	}
	pthread_cond_broadcast(&c->drained);
}

/* header+body (and bulk, for copy_bulk) in one new buffer */
static struct rpc_tconn_out *tconn_out_new(const struct rpc_tconn_io *io,
					   const struct iovec *iov, int iovcnt,
					   struct xl_iobuf *bulk)
{
	struct rpc_tconn_out *o = calloc(1, sizeof(*o));
	size_t bl = bulk ? bulk->size : 0;
	size_t len = io->copy_bulk ? bl : 0;

	if (!o)
		return NULL;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	o->hb = malloc(len ? len : 1);
	if (!o->hb) {
		free(o);
		return NULL;
	}
	for (int i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue; /* iov_base may be NULL */
		memcpy(o->hb + o->hb_len, iov[i].iov_base, iov[i].iov_len);
		o->hb_len += iov[i].iov_len;
	}
	if (bl && io->copy_bulk) {
		memcpy(o->hb + o->hb_len, bulk->data, bl);
		o->hb_len += bl;
	} else if (bl) {
		o->bulk = xl_iobuf_ref(bulk);
	}
	return o;
}

static void tconn_peak_note(size_t queued)
{
	size_t peak = atomic_load(&tconn_queued_peak);

	while (queued > peak &&
	       !atomic_compare_exchange_weak(&tconn_queued_peak, &peak, queued))
		;
}

int rpc_tconn_send(struct rpc_tconn *c, const struct iovec *iov, int iovcnt,
		   struct xl_iobuf *bulk)
{
	struct rpc_tconn_out *o = tconn_out_new(c->io, iov, iovcnt, bulk);
	bool kick = false;
	int ret;

	if (!o)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	if (c->state != RPC_TC_OPEN) {
		pthread_mutex_unlock(&c->lock);
		tconn_out_free(o);
		return -ENOTCONN;
	}
	*c->outq_tail = o;
	c->outq_tail = &o->next;
	c->queued += o->hb_len + (o->bulk ? o->bulk->size : 0);
	tconn_peak_note(c->queued);
	/* behind others: whoever made those wait flushes this one too */
	if (c->outq == o) {
		ret = c->io->flush_locked(c);
		if (ret) {
			/* queued: the close answers it */
			kick = tconn_mark_closing_locked(c, ret);
		} else if (c->outq && !c->busy && c->io->want_write_locked) {
			/* a running handler re-arms by itself when done */
			c->io->want_write_locked(c);
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (kick)
		rpc_ev_kick(c->loop, c->src, 0);
	return 0;
}

void rpc_tconn_wait_queued(struct rpc_tconn *c, size_t limit, int timeout_ms)
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
	while (c->queued > limit && c->state == RPC_TC_OPEN)
		if (pthread_cond_timedwait(&c->drained, &c->lock, &ts))
			break;
	pthread_mutex_unlock(&c->lock);
}

/* ---- read flow control ----------------------------------------------- */

bool rpc_tconn_rx_ok_locked(struct rpc_tconn *c)
{
	if (c->rx_count && atomic_load(c->rx_count) >= c->rx_max)
		return false;
	return !c->pause_on_queue || c->queued <= RPC_TCONN_QUEUE_PAUSE;
}

bool rpc_tconn_rx_resume_locked(struct rpc_tconn *c)
{
	if (!c->rx_stopped || !rpc_tconn_rx_ok_locked(c) ||
	    c->state != RPC_TC_OPEN)
		return false;
	c->rx_stopped = false;
	return true;
}

bool rpc_tconn_rx_pause(struct rpc_tconn *c)
{
	bool stop;

	pthread_mutex_lock(&c->lock);
	stop = !rpc_tconn_rx_ok_locked(c);
	if (stop)
		c->rx_stopped = true;
	pthread_mutex_unlock(&c->lock);
	return stop;
}

void rpc_tconn_rx_limit(struct rpc_tconn *c, atomic_uint *count,
			unsigned int max)
{
	pthread_mutex_lock(&c->lock);
	c->rx_count = count;
	c->rx_max = max;
	pthread_mutex_unlock(&c->lock);
}

void rpc_tconn_rx_poke(struct rpc_tconn *c)
{
	bool kick;

	/* The reader checks the count and marks itself stopped under the
	 * lock: a count lowered after that finds it stopped here. */
	pthread_mutex_lock(&c->lock);
	kick = rpc_tconn_rx_resume_locked(c);
	pthread_mutex_unlock(&c->lock);
	if (kick)
		rpc_ev_kick(c->loop, c->src, EPOLLIN);
}

/* ---- close ----------------------------------------------------------- */

/* Mark closing; true if it was not closing already.  The caller kicks
 * c->src (or is the handler, which finishes the close). */
static bool tconn_mark_closing_locked(struct rpc_tconn *c, int err)
{
	if (c->state == RPC_TC_CLOSING || c->state == RPC_TC_CLOSED)
		return false;
	c->state = RPC_TC_CLOSING;
	c->close_err = err;
	if (c->io->shutdown_locked)
		c->io->shutdown_locked(c);
	pthread_cond_broadcast(&c->drained);
	return true;
}

void rpc_tconn_close(struct rpc_tconn *c, int err)
{
	bool kick;

	pthread_mutex_lock(&c->lock);
	kick = tconn_mark_closing_locked(c, err);
	pthread_mutex_unlock(&c->lock);
	if (kick)
		rpc_ev_kick(c->loop, c->src, 0);
}

/* From the handler: mark closing (the handler loop finishes it). */
static void tconn_fail(struct rpc_tconn *c, int err)
{
	pthread_mutex_lock(&c->lock);
	tconn_mark_closing_locked(c, err);
	pthread_mutex_unlock(&c->lock);
}

void rpc_tconn_connected(struct rpc_tconn *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->state == RPC_TC_CONNECTING)
		c->state = RPC_TC_OPEN;
	pthread_mutex_unlock(&c->lock);
	c->cbs->on_connected(c->ctx, c);
}

/* Closing -> closed: drop the queue, unregister, tell the owner. */
static void tconn_finish(struct rpc_tconn *c)
{
	int err;

	pthread_mutex_lock(&c->lock);
	c->state = RPC_TC_CLOSED;
	err = c->close_err;
	tconn_outq_clear_locked(c);
	pthread_cond_broadcast(&c->drained);
	pthread_mutex_unlock(&c->lock);
	c->io->detach(c);
	c->cbs->on_closed(c->ctx, c, err);
}

/* ---- handler --------------------------------------------------------- */

void rpc_tconn_handle(struct rpc_tconn *c, uint32_t ev)
{
	int ret;

	pthread_mutex_lock(&c->lock);
	if (c->busy || c->state == RPC_TC_CLOSED) {
		c->pending_ev |= ev;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->busy = true;
	pthread_mutex_unlock(&c->lock);
	for (;;) {
		if (c->state == RPC_TC_CLOSING) {
			tconn_finish(c);
			break;
		}
		/* the loop is being freed: close */
		ret = ev & RPC_EV_SHUTDOWN ? -ENOTCONN : c->io->process(c, ev);
		if (ret)
			tconn_fail(c, ret);
		pthread_mutex_lock(&c->lock);
		if (c->pending_ev || c->state == RPC_TC_CLOSING) {
			ev = c->pending_ev;
			c->pending_ev = 0;
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		c->busy = false;
		c->io->rearm_locked(c);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->busy = false;
	pthread_mutex_unlock(&c->lock);
}

static void tconn_ev_handle(void *obj, uint32_t ev)
{
	rpc_tconn_handle(obj, ev);
}

const struct rpc_ev_ops rpc_tconn_ev_ops = {
    .handle = tconn_ev_handle,
    .ref = rpc_tconn_ev_ref,
    .unref = rpc_tconn_ev_unref,
};
