/*
 * stream.h - frames over a byte stream (private to rpc/): the writer and
 * the reader of a stream transport's connections (tcp now; TLS gives its
 * own two byte ops and reuses the rest).
 *
 * The writer hands the connection's output queue to send_bytes as one
 * iovec list, surviving partial writes; the bulk part goes from its iobuf,
 * never copied.  The reader takes header, body and bulk in turn through a
 * 64 KiB buffer, a large bulk remainder straight into its new iobuf, and
 * honours the core's read flow control.  Reader state belongs to the
 * connection's handler.
 */
#ifndef MORTAR_RPC_STREAM_H
#define MORTAR_RPC_STREAM_H

#include "conn.h"
#include "frame.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* What a stream transport provides: non-blocking byte I/O. */
struct rpc_stream_io {
	/* Like sendmsg(MSG_DONTWAIT): bytes taken, or -1 with errno set
	 * (EAGAIN when nothing fits now). */
	ssize_t (*send_bytes)(struct rpc_tconn *c, const struct iovec *iov,
			      int iovcnt);
	/* Like read(2) on a non-blocking fd: bytes read, 0 at the end of
	 * the stream, or -1 with errno set (EAGAIN when nothing waits). */
	ssize_t (*recv_bytes)(struct rpc_tconn *c, void *buf, size_t len);
};

enum rpc_stream_stage { RPC_STREAM_HDR, RPC_STREAM_BODY, RPC_STREAM_BULK };

struct rpc_stream {
	const struct rpc_stream_io *io;
	enum rpc_stream_stage stage;
	uint8_t hdr[RPC_HEADER_LEN];
	size_t got; /* bytes of the current stage */
	struct rpc_frame_hdr h;
	uint8_t *body;
	struct xl_iobuf *bulk;
	uint8_t *rx; /* bytes read ahead of the frame in progress */
	size_t rx_len, rx_pos;
};

/* 0 or -ENOMEM. */
int rpc_stream_init(struct rpc_stream *s, const struct rpc_stream_io *io);
void rpc_stream_fini(struct rpc_stream *s);

/* The flush_locked op of a stream transport. */
int rpc_stream_flush_locked(struct rpc_tconn *c, struct rpc_stream *s);
/* The epoll events an open or connecting stream waits for. */
uint32_t rpc_stream_mask_locked(struct rpc_tconn *c);
/* Events of an open connection: write on EPOLLOUT, read what arrived.
 * 0, or -errno to close. */
int rpc_stream_process(struct rpc_tconn *c, struct rpc_stream *s, uint32_t ev);

#endif
