/*
 * stream.c - frames over a byte stream: the output queue written as one
 * iovec list, frames read header / body / bulk.  See stream.h.
 */
#include "config.h"

#include "log.h"
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define STREAM_RX_SIZE (64u << 10)
#define STREAM_IOV_MAX 64

int rpc_stream_init(struct rpc_stream *s, const struct rpc_stream_io *io)
{
	s->io = io;
	s->rx = malloc(STREAM_RX_SIZE);
	return s->rx ? 0 : -ENOMEM;
}

void rpc_stream_fini(struct rpc_stream *s)
{
	free(s->body);
	if (s->bulk)
		xl_iobuf_unref(s->bulk);
	free(s->rx);
}

/* A byte op failed with err (not EINTR): 0 when it would block (the next
 * event goes on), else -err. */
static int stream_io_err(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK ? 0 : -err;
}

/* ---- writing --------------------------------------------------------- */

int rpc_stream_flush_locked(struct rpc_tconn *c, struct rpc_stream *s)
{
	struct iovec iov[STREAM_IOV_MAX];
	struct rpc_tconn_out *o;
	ssize_t n;
	int cnt;

	while (c->outq) {
		cnt = 0;
		for (o = c->outq; o && cnt < STREAM_IOV_MAX - 1; o = o->next) {
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
		n = s->io->send_bytes(c, iov, cnt);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return stream_io_err(errno);
		rpc_tconn_out_done_locked(c, (size_t)n);
	}
	return 0;
}

uint32_t rpc_stream_mask_locked(struct rpc_tconn *c)
{
	uint32_t mask = c->outq ? EPOLLOUT : 0;

	if (c->state == RPC_TC_CONNECTING)
		return EPOLLOUT;
	/* Not reading: a peer's EOF is found when it is read again, or by
	 * EPOLLHUP/EPOLLERR, which epoll always reports. */
	if (rpc_tconn_rx_ok_locked(c))
		mask |= EPOLLIN | EPOLLRDHUP;
	return mask;
}

/* ---- reading --------------------------------------------------------- */

static void stream_copy_rx(struct rpc_stream *s, void *dst, size_t want)
{
	size_t n = s->rx_len - s->rx_pos;

	if (n > want)
		n = want;
	memcpy(dst, s->rx + s->rx_pos, n);
	s->rx_pos += n;
	s->got += n;
}

/* A TLS handshake record (type 22, version 3.x) where a frame header
 * should be: a TLS peer on a plain connection. */
static bool stream_looks_like_tls(const uint8_t *hdr)
{
	return hdr[0] == 0x16 && hdr[1] == 0x03 && hdr[2] <= 0x04;
}

/* Header complete: validate it and set up the body. */
static int stream_start_frame(struct rpc_tconn *c, struct rpc_stream *s)
{
	if (rpc_frame_parse(s->hdr, &s->h)) {
		if (stream_looks_like_tls(s->hdr))
			xl_warn("rpc",
				"TLS client %s refused: this end does not use "
				"TLS (option tls off): closing",
				c->peer);
		else
			xl_warn("rpc", "bad frame header from %s: closing",
				c->peer);
		return -EBADMSG;
	}
	s->body = malloc(s->h.body_len ? s->h.body_len : 1);
	if (!s->body)
		return -ENOMEM;
	s->stage = RPC_STREAM_BODY;
	s->got = 0;
	return 0;
}

static int stream_deliver(struct rpc_tconn *c, struct rpc_stream *s)
{
	int ret = c->cbs->on_frame(c->ctx, c, &s->h, s->body, s->bulk);

	free(s->body);
	s->body = NULL;
	if (s->bulk)
		xl_iobuf_unref(s->bulk);
	s->bulk = NULL;
	s->stage = RPC_STREAM_HDR;
	s->got = 0;
	return ret < 0 ? ret : 0;
}

/* Advance the frame in progress with buffered bytes and, for bulk, straight
 * reads.  1 when the rx buffer is empty, 0 to go on, -errno. */
static int stream_step(struct rpc_tconn *c, struct rpc_stream *s)
{
	ssize_t n;

	switch (s->stage) {
	case RPC_STREAM_HDR:
		stream_copy_rx(s, s->hdr + s->got, RPC_HEADER_LEN - s->got);
		if (s->got < RPC_HEADER_LEN)
			return 1;
		return stream_start_frame(c, s);
	case RPC_STREAM_BODY:
		stream_copy_rx(s, s->body + s->got, s->h.body_len - s->got);
		if (s->got < s->h.body_len)
			return 1;
		if (!s->h.bulk_len)
			return stream_deliver(c, s);
		s->bulk = xl_iobuf_new(s->h.bulk_len);
		if (!s->bulk)
			return -ENOMEM;
		s->stage = RPC_STREAM_BULK;
		s->got = 0;
		return 0;
	case RPC_STREAM_BULK:
		stream_copy_rx(s, s->bulk->data + s->got,
			       s->h.bulk_len - s->got);
		while (s->got < s->h.bulk_len &&
		       s->h.bulk_len - s->got >= STREAM_RX_SIZE / 4) {
			/* big remainder: read it in place, no copy */
			n = s->io->recv_bytes(c, s->bulk->data + s->got,
					      s->h.bulk_len - s->got);
			if (n <= 0)
				return 1; /* let the rx read find out why */
			s->got += (size_t)n;
		}
		if (s->got < s->h.bulk_len)
			return 1;
		s->bulk->size = s->h.bulk_len;
		return stream_deliver(c, s);
	}
	return -EINVAL;
}

/* Read until the stream is empty or reading pauses.  0, or -errno to
 * close.  force: the stream hung up or failed; read to find out. */
static int stream_read(struct rpc_tconn *c, struct rpc_stream *s, bool force)
{
	ssize_t n;
	int ret;

	for (;;) {
		if (!force && rpc_tconn_rx_pause(c))
			return 0;
		if (s->rx_pos == s->rx_len) {
			s->rx_pos = s->rx_len = 0;
			n = s->io->recv_bytes(c, s->rx, STREAM_RX_SIZE);
			if (n == 0)
				return -ECONNRESET;
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				return stream_io_err(errno);
			s->rx_len = (size_t)n;
		}
		do {
			ret = stream_step(c, s);
			if (ret < 0)
				return ret;
			/* a callback may have closed us */
			if (c->state != RPC_TC_OPEN)
				return 0;
			/* a frame was delivered: its answer may fill the
			 * queue, or its owner hold us */
			if (!force && s->stage == RPC_STREAM_HDR &&
			    s->got == 0 && rpc_tconn_rx_pause(c))
				return 0;
		} while (ret == 0 || s->rx_pos < s->rx_len);
	}
}

int rpc_stream_process(struct rpc_tconn *c, struct rpc_stream *s, uint32_t ev)
{
	enum rpc_tconn_state st;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	st = c->state;
	if (st == RPC_TC_OPEN && (ev & EPOLLOUT))
		ret = rpc_stream_flush_locked(c, s);
	if (rpc_tconn_rx_resume_locked(c))
		ev |= EPOLLIN; /* the queue drained below the pause mark */
	pthread_mutex_unlock(&c->lock);
	if (st == RPC_TC_OPEN && !ret &&
	    (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		ret = stream_read(c, s, ev & (EPOLLHUP | EPOLLERR));
	return ret;
}
