/*
 * tls.h - one TLS session over a connected non-blocking socket (private
 * to rpc/): what tcp.c needs to carry its frames over TLS without knowing
 * OpenSSL.  The configuration (struct rpc_tls, the OpenSSL context) is in
 * rpc.h; tls.c implements both, tls-off.c stands in for a build without
 * OpenSSL.
 *
 * Threads: the stream writer sends under the connection's lock from any
 * thread while the handler reads without it; an OpenSSL session is not
 * safe for that, so every call below takes the session's own lock (lock
 * order: the connection's lock, then the session's).  The handshake runs
 * on the handler only.
 *
 * Log lines: a failed handshake or a TLS error on an open connection is
 * logged here, once, with the peer and OpenSSL's reason; so is a plain
 * rpc client that reached a TLS listener.
 */
#ifndef MORTAR_RPC_TLS_H
#define MORTAR_RPC_TLS_H

#include "rpc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct rpc_tls_conn;

/* A session on fd (borrowed: the caller closes it after freeing the
 * session).  server: the accepting end.  NULL on ENOMEM. */
struct rpc_tls_conn *rpc_tls_conn_new(struct rpc_tls *tls, int fd, bool server);
void rpc_tls_conn_free(struct rpc_tls_conn *s);

/* Advance the handshake (peer names the other end for log lines; it is
 * copied).  1 done (the peer's certificate verified), 0 not yet
 * (*events: the epoll events to wait for), or -errno, logged:
 * -EPROTO (TLS failed: certificate, version, not a TLS peer),
 * -EPROTONOSUPPORT (server: a plain rpc client, refused), -ECONNRESET
 * (the peer closed). */
int rpc_tls_conn_handshake(struct rpc_tls_conn *s, const char *peer,
			   uint32_t *events);

/* The byte ops of stream.h, once the handshake is done: sendmsg-like and
 * read-like, -1 with errno EAGAIN when they must wait, EPROTO on a TLS
 * error (logged). */
ssize_t rpc_tls_conn_send(struct rpc_tls_conn *s, const struct iovec *iov,
			  int iovcnt);
ssize_t rpc_tls_conn_recv(struct rpc_tls_conn *s, void *buf, size_t len);

/* Events the session waits for beyond the stream's own: EPOLLOUT when a
 * read must write first, EPOLLIN when a write must read first (neither
 * happens with TLS 1.3 as configured here, but OpenSSL allows it). */
uint32_t rpc_tls_conn_events(struct rpc_tls_conn *s);

/* The peer certificate's common name after the handshake ("" if none),
 * copied into cn (RPC_TLS_CN_MAX + 1 bytes). */
void rpc_tls_conn_peer_cn(struct rpc_tls_conn *s, char *cn);

#endif
