/*
 * conn.h - the connection core every transport builds on (private to rpc/;
 * clnt.c and srv.c see only transport.h).
 *
 * The core owns what a connection is whatever carries its bytes: the
 * reference count, the state (connecting, open, closing, closed), the
 * output queue with its lock and the wait for it to drain, the close, the
 * read flow control, and the handler loop that serializes a connection's
 * events.  A transport embeds struct rpc_tconn at the start of its own
 * connection struct and fills a struct rpc_tconn_io with what only it can
 * do: write the queue, handle its events, stop its I/O, arm its event
 * sources, unregister them, free its resources.
 *
 * Threads: the handler runs on one loop thread at a time (busy flag;
 * events that arrive meanwhile are merged into pending_ev and handled by
 * the running handler).  Only the handler reads and runs callbacks.  Any
 * thread may send: the queue is written under c->lock, so frames never
 * interleave.  Closing from outside only marks the connection and kicks
 * the handler, which finishes the close and calls on_closed: so on_closed
 * never races with on_frame.
 *
 * Lock order: the owner's locks (clnt->lock), then c->lock.  No callback
 * of the owner runs with c->lock held.
 */
#ifndef MORTAR_RPC_CONN_H
#define MORTAR_RPC_CONN_H

#include "evloop.h"
#include "transport.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rpc_tconn_state {
	RPC_TC_CONNECTING,
	RPC_TC_OPEN,
	RPC_TC_CLOSING,
	RPC_TC_CLOSED
};

/* One queued frame: header+body copied into hb, bulk referenced (or, for
 * a transport with copy_bulk, copied into hb after the body). */
struct rpc_tconn_out {
	struct rpc_tconn_out *next;
	uint8_t *hb;
	size_t hb_len;
	struct xl_iobuf *bulk;
	size_t done; /* bytes of hb then bulk already handed to the transport */
};

/* What a transport provides.  _locked ops run with c->lock held and must
 * not call back into the owner. */
struct rpc_tconn_io {
	/* Hand as much of c->outq to the transport as it takes now, drop
	 * what is done (rpc_tconn_out_done).  0 (maybe blocked) or -errno
	 * when the connection is broken. */
	int (*flush_locked)(struct rpc_tconn *c);
	/* The queue stays blocked after a send and no handler runs: arrange
	 * to be called when the transport takes more (tcp: EPOLLOUT).  NULL
	 * when the transport's completions flush by themselves. */
	void (*want_write_locked)(struct rpc_tconn *c);
	/* Events on the handler thread, no lock held: connect progress,
	 * reading, completions.  0, or -errno to close. */
	int (*process)(struct rpc_tconn *c, uint32_t ev);
	/* The connection starts closing: wake what blocks on its I/O (tcp:
	 * shutdown).  May be NULL. */
	void (*shutdown_locked)(struct rpc_tconn *c);
	/* The handler is done for now: arm the event sources again. */
	void (*rearm_locked)(struct rpc_tconn *c);
	/* Closed: unregister the event sources (before on_closed). */
	void (*detach)(struct rpc_tconn *c);
	/* The last reference is gone: free the transport's part (not c). */
	void (*destroy)(struct rpc_tconn *c);
	/* Copy bulk into the frame buffer at send: the transport needs one
	 * contiguous frame (rdma cuts it into registered slots). */
	bool copy_bulk;
};

struct rpc_tconn {
	atomic_int refs;
	const struct rpc_tconn_io *io;
	struct rpc_evloop *loop;
	uint64_t src; /* the event source kicks go to; set before events */
	const struct rpc_tp_cbs *cbs;
	void *ctx; /* one reference, dropped with the last unref */

	pthread_mutex_t lock;
	pthread_cond_t drained;		    /* queued went down or closing */
	_Atomic enum rpc_tconn_state state; /* written under lock */
	int close_err;			    /* lock */
	bool busy;			    /* lock: a handler is running */
	uint32_t pending_ev;		    /* lock: events seen while busy */
	struct rpc_tconn_out *outq;	    /* lock */
	struct rpc_tconn_out **outq_tail;   /* lock */
	size_t queued;			    /* lock: bytes not yet handed on */
	bool pause_on_queue;   /* accepted: stop reading while queued is big */
	atomic_uint *rx_count; /* owner's requests in flight, or NULL */
	unsigned int rx_max;   /* stop reading at this many */
	bool rx_stopped;       /* lock: the reader stopped; kick it to resume */

	/* filled by the transport before on_connected or its accept */
	char peer[RPC_ADDR_LEN];
	char peer_host[RPC_ADDR_LEN];
	char local_host[RPC_ADDR_LEN];
	/* filled by a TLS transport before the first frame */
	char peer_cn[RPC_TLS_CN_MAX + 1];
};

/* Allocate size bytes (a transport struct starting with struct rpc_tconn),
 * zeroed, one reference, in state st.  NULL on ENOMEM. */
struct rpc_tconn *rpc_tconn_new(size_t size, const struct rpc_tconn_io *io,
				struct rpc_evloop *loop,
				enum rpc_tconn_state st);

/* For a transport's flush: n more bytes of the queue's head were handed
 * on; frames that are complete are freed, waiters are woken. */
void rpc_tconn_out_done_locked(struct rpc_tconn *c, size_t n);

/* Connecting -> open, then on_connected (addresses filled before).  A
 * failure to connect is process returning -errno. */
void rpc_tconn_connected(struct rpc_tconn *c);

/* The handler loop: a transport's event sources call it (rpc_tconn_ev_ops
 * for a transport with one source, else its own ops around these). */
void rpc_tconn_handle(struct rpc_tconn *c, uint32_t ev);
void rpc_tconn_ev_ref(void *obj);
void rpc_tconn_ev_unref(void *obj);
extern const struct rpc_ev_ops rpc_tconn_ev_ops;

/* Read flow control, for the reader.  Whether it may take more frames
 * now; true when it must stop (then it is marked stopped, so whoever
 * lifts the cause kicks it again with EPOLLIN). */
bool rpc_tconn_rx_ok_locked(struct rpc_tconn *c);
bool rpc_tconn_rx_pause(struct rpc_tconn *c);
/* The reader stopped and may go on again: true once, and the caller reads
 * (bytes may wait in a buffer, which no event would announce). */
bool rpc_tconn_rx_resume_locked(struct rpc_tconn *c);
/* The read limit op for transports whose reader uses the above. */
void rpc_tconn_rx_limit(struct rpc_tconn *c, atomic_uint *count,
			unsigned int max);

#endif
