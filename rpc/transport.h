/*
 * transport.h - the interface every transport implements (private to rpc/).
 *
 * A transport moves frames: it connects or accepts, sends a frame given as
 * an iovec list (header + body) plus an optional bulk iobuf, and delivers
 * whole received frames.  tcp.c and rdma.c implement the ops table below;
 * what a connection does once it exists (send, wait, close, references,
 * addresses) is the same for every transport and lives in the connection
 * core (conn.c), declared here too.  clnt.c and srv.c use only this file,
 * so a new transport drops in without them changing.
 *
 * References: a struct rpc_tconn is refcounted (rpc_tconn_ref/unref).  It
 * holds one reference on its owner's ctx (cbs->ctx_ref at creation,
 * ctx_unref when the tconn is freed), so callbacks never see a freed ctx.
 *
 * Callbacks run on a loop thread, never two at once for one tconn, and
 * never with a transport lock held (they may call send and close):
 *   on_connected  outgoing connection established
 *   on_frame      one whole frame; return < 0 to close the connection
 *   on_closed     exactly once per tconn that was connected or connecting;
 *                 nothing is delivered after it
 */
#ifndef MORTAR_RPC_TRANSPORT_H
#define MORTAR_RPC_TRANSPORT_H

#include "frame.h"
#include "rpc.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct rpc_tconn;
struct rpc_tlistener;

struct rpc_tp_cbs {
	void (*on_connected)(void *ctx, struct rpc_tconn *c);
	int (*on_frame)(void *ctx, struct rpc_tconn *c,
			const struct rpc_frame_hdr *h, const uint8_t *body,
			struct xl_iobuf *bulk);
	void (*on_closed)(void *ctx, struct rpc_tconn *c, int err);
	void (*ctx_ref)(void *ctx);
	void (*ctx_unref)(void *ctx);
};

/* Listener side: a new connection arrived.  Return its ctx with one
 * reference taken and *cbs set, or NULL to refuse it. */
typedef void *(*rpc_tp_accept_fn)(void *lctx, struct rpc_tconn *c,
				  const struct rpc_tp_cbs **cbs);

#define RPC_ADDR_LEN 64

struct rpc_transport_ops {
	const char *name;
	/* tls: NULL for plain, else every accepted connection does a TLS
	 * handshake before its first frame (the listener takes a ref).  A
	 * transport without TLS fails with -EPROTONOSUPPORT. */
	int (*listen)(struct rpc_evloop *loop, const char *host, uint16_t port,
		      struct rpc_tls *tls, rpc_tp_accept_fn accept, void *lctx,
		      struct rpc_tlistener **out, char **err);
	uint16_t (*listener_port)(struct rpc_tlistener *l);
	/* No accept callback runs once this returns. */
	void (*listener_close)(struct rpc_tlistener *l);
	/* Asynchronous: on_connected (after the TLS handshake, with tls)
	 * or on_closed follows. */
	int (*connect)(struct rpc_evloop *loop, const struct sockaddr *sa,
		       socklen_t salen, struct rpc_tls *tls,
		       const struct rpc_tp_cbs *cbs, void *ctx,
		       struct rpc_tconn **out);
	/* Stop reading c while *count (kept by the owner) is at least max;
	 * set once, before the first frame; count must live as long as c.
	 * NULL when the transport bounds its peers otherwise (rdma: the
	 * credits it grants). */
	void (*rx_limit)(struct rpc_tconn *c, atomic_uint *count,
			 unsigned int max);
};

extern const struct rpc_transport_ops rpc_tcp_ops;
#ifdef HAVE_RDMA
extern const struct rpc_transport_ops rpc_rdma_ops;
#endif

/* The transport called name ("tcp" when NULL), or NULL if not built. */
const struct rpc_transport_ops *rpc_transport_find(const char *name);

/* ---- a connection, whatever its transport (conn.c) -------------------- */

/* Queue one frame; iov is copied, bulk referenced (copied by a transport
 * that needs the frame in one buffer: rdma).  0 or -errno (-ENOTCONN once
 * closed). */
int rpc_tconn_send(struct rpc_tconn *c, const struct iovec *iov, int iovcnt,
		   struct xl_iobuf *bulk);
/* Block until at most limit bytes are queued or the connection is closed
 * or timeout_ms passed. */
void rpc_tconn_wait_queued(struct rpc_tconn *c, size_t limit, int timeout_ms);
/* Close (idempotent, any thread); on_closed(err) follows. */
void rpc_tconn_close(struct rpc_tconn *c, int err);
struct rpc_tconn *rpc_tconn_ref(struct rpc_tconn *c);
void rpc_tconn_unref(struct rpc_tconn *c);
/* "host:port", host of the peer, local host; "" when unknown. */
void rpc_tconn_addrs(struct rpc_tconn *c, char *peer, char *peer_host,
		     char *local_host);
/* The peer certificate's common name (RPC_TLS_CN_MAX + 1 bytes), "" when
 * not TLS.  Set before the first frame is delivered. */
void rpc_tconn_peer_cn(struct rpc_tconn *c, char *cn);
/* The owner lowered the count given to rx_limit: resume reading if it had
 * stopped for it (nothing to do when no limit was set).  Any thread, no
 * lock of the owner held (it may run c's handler). */
void rpc_tconn_rx_poke(struct rpc_tconn *c);

#endif
