/*
 * rpc.h - what the protocol translators and brickd see of rpc/: an event
 * loop, a client connection with request/reply matching, a listening
 * server, and the codec that turns fops into frame bodies.
 *
 * Frame (all integers little-endian):
 *
 *   u32 magic 'MRTR'   u16 version   u16 type (request/reply/notice)
 *   u32 body_len       u32 bulk_len  u64 xid   u32 proc  u32 reserved
 *   body_len bytes of body, then bulk_len bytes of bulk data
 *
 * body_len and bulk_len are bounded (RPC_BODY_MAX, RPC_BULK_MAX); a frame
 * that breaks a bound, has a bad magic or version closes the connection.
 * A notice is a frame the server sends on its own (xid 0, no reply):
 * proc is the notice's kind (enum rpc_notice); a client drops kinds it
 * does not know.  A server sends notices only to a client whose handshake
 * asked for them; a server that receives one closes the connection.
 * The bulk part (read/write data, big xattr values) travels in its own
 * xl_iobuf: over TCP it is read straight into one and written from one
 * with sendmsg, never copied in between; the RDMA transport copies it
 * into and out of its registered slots (bulk by RDMA read/write is not
 * written yet).
 *
 * Threads: every callback runs on an event loop thread and must not block.
 * rpc_clnt_call and rpc_conn_reply may be called from any thread.
 */
#ifndef MORTAR_RPC_H
#define MORTAR_RPC_H

#include "buf.h"
#include "fop.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RPC_MAGIC	 0x5254524du /* "MRTR" */
#define RPC_VERSION	 1
#define RPC_HEADER_LEN	 32
#define RPC_BODY_MAX	 (256u << 10)			/* largest body */
#define RPC_BULK_MAX	 (XL_IO_SIZE_MAX + (64u << 10)) /* largest bulk */
#define RPC_DEFAULT_PORT 24010

enum rpc_type { RPC_T_REQUEST = 1, RPC_T_REPLY = 2, RPC_T_NOTICE = 3 };

/* The handshake (protocol/client and protocol/server, rpc/handshake.c):
 * the client's flags word and the server's capabilities word. */
#define RPC_HS_TAKES_NOTICES 0x1u /* flag: send me notices */
#define RPC_CAP_NOTICES	     0x1u /* capability: notices will come */
#define RPC_PROTO_VERSION    1u	  /* the fop protocol both ends speak */

/* Kinds of notice (the proc of an RPC_T_NOTICE frame). */
enum rpc_notice {
	RPC_NOTICE_INVAL = 1, /* a cache invalidation: struct xl_upcall */
	/* the client volfile of a volume changed in the brick's volfile
	 * directory: body = the volume name (string) */
	RPC_NOTICE_VOLFILE = 2,
};

/* Procedures: 0..XL_FOP_COUNT-1 are the fops; the rest are calls of the
 * protocol itself. */
enum rpc_proc {
	RPC_PROC_HANDSHAKE = 1000, /* first call on every connection */
	RPC_PROC_PING = 1001,	   /* answered by the rpc layer itself */
	RPC_PROC_GETSPEC = 1002,   /* fetch a client volfile by volume name */
	/* only its version: u32 status, u64 number, u64 hash
	 * (volfile-version.h); an older brick answers -ENOSYS */
	RPC_PROC_GETSPEC_VERSION = 1003,
};

/* A received frame.  body is valid only during the callback; take a ref
 * on bulk to keep it. */
struct rpc_msg {
	enum rpc_type type;
	uint32_t proc;
	uint64_t xid;
	const uint8_t *body;
	size_t body_len;
	struct xl_iobuf *bulk; /* borrowed; NULL when bulk_len is 0 */
};

/* ---- event loop ---------------------------------------------------- */

struct rpc_evloop;
/* threads: epoll threads serving all connections of this loop (>= 1). */
struct rpc_evloop *rpc_evloop_new(int threads);
int rpc_evloop_start(struct rpc_evloop *loop);
void rpc_evloop_stop(struct rpc_evloop *loop); /* joins the threads */
void rpc_evloop_free(struct rpc_evloop *loop);

/* ---- TLS (tcp only) ------------------------------------------------ */

/* Where the certificate options point when not set. */
#define RPC_TLS_DIR "/etc/mortar/tls"
/* Longest certificate common name kept for auth; a longer one (or one
 * with a NUL inside) is kept as "", which no cn: entry matches. */
#define RPC_TLS_CN_MAX 128

/* This end's certificate (PEM, may carry its chain), its private key,
 * and the CA certificates (PEM) the peer's certificate must chain to. */
struct rpc_tls_files {
	const char *cert;
	const char *key;
	const char *ca;
};

/* A TLS configuration (one OpenSSL context), shared by the connections
 * made with it; refcounted.  TLS 1.3 only; the peer must present a
 * certificate signed by ca, both ways (a server refuses a client without
 * one).  The server's name is not checked against its certificate: the
 * CA is the trust, and bricks are often named by address.  */
struct rpc_tls;
/* 0 with *out, or -errno with *err a malloc'd message naming the file
 * and OpenSSL's reason (-EPROTONOSUPPORT: built without TLS). */
int rpc_tls_new(const struct rpc_tls_files *files, bool server,
		struct rpc_tls **out, char **err);
struct rpc_tls *rpc_tls_ref(struct rpc_tls *tls);
void rpc_tls_unref(struct rpc_tls *tls);
/* Whether this build has TLS. */
bool rpc_tls_built(void);

/* ---- client -------------------------------------------------------- */

struct rpc_clnt;

struct rpc_clnt_opts {
	const char *transport;	 /* "tcp" (default) or "rdma" */
	int ping_timeout_sec;	 /* silent peer declared dead; default 10 */
	int reconnect_min_ms;	 /* backoff start; default 100 */
	int reconnect_max_ms;	 /* backoff cap; default 5000 */
	size_t max_queued_bytes; /* back-pressure threshold; default 64 MiB */
	bool no_reconnect;	 /* one-shot tools (volfile fetch, tests) */
	/* TLS over tcp, NULL for plain; the client takes its own ref.  A
	 * failed TLS handshake is a failed connect (-EPROTO); a brick that
	 * requires TLS answers a plain client's first call with
	 * -EPROTONOSUPPORT. */
	struct rpc_tls *tls;
};

struct rpc_clnt_cbs {
	/* Connected (before any handshake). */
	void (*on_connect)(void *ctx);
	/* Connection lost or failed; err is -errno.  Every pending call has
	 * already been answered with that error.  A lost connection is
	 * -ENOTCONN or -ETIMEDOUT; a connect that failed gives its cause
	 * (-ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, ...).  Reconnect follows
	 * unless no_reconnect. */
	void (*on_disconnect)(void *ctx, int err);
	/* A notice frame from the server (msg->type RPC_T_NOTICE, msg->proc
	 * its kind).  NULL: notices are dropped. */
	void (*on_notice)(void *ctx, const struct rpc_msg *msg);
};

struct rpc_clnt *rpc_clnt_new(struct rpc_evloop *loop, const char *host,
			      uint16_t port, const struct rpc_clnt_opts *opts,
			      const struct rpc_clnt_cbs *cbs, void *ctx);
/* Start connecting (asynchronous). */
int rpc_clnt_start(struct rpc_clnt *clnt);
/* Close now and reconnect with backoff (protocol/client uses it when a
 * handshake fails). */
void rpc_clnt_reconnect(struct rpc_clnt *clnt);
/* The same, with the next attempt no sooner than ms from now (a brick
 * that refused the handshake is asked again later, with no thread
 * waiting for it). */
void rpc_clnt_reconnect_after(struct rpc_clnt *clnt, unsigned ms);
/* Stop, fail pending calls with -ENOTCONN, free. */
void rpc_clnt_destroy(struct rpc_clnt *clnt);
bool rpc_clnt_connected(struct rpc_clnt *clnt);

/* Reply to one call.  status is 0 with reply set, or -errno (-ENOTCONN when
 * the connection is lost, -ETIMEDOUT when the peer went silent for the
 * ping timeout) with reply NULL.  Called exactly once per accepted call. */
typedef void (*rpc_reply_fn)(void *cookie, int status,
			     const struct rpc_msg *reply);

/* Send a request; body is copied, bulk is referenced (may be NULL).
 * Returns 0 (reply_fn will run) or -errno (-ENOTCONN when not connected;
 * reply_fn will not run).  Blocks the calling thread while more than
 * max_queued_bytes are queued, unless called from an event loop thread. */
int rpc_clnt_call(struct rpc_clnt *clnt, uint32_t proc, const void *body,
		  size_t body_len, struct xl_iobuf *bulk, rpc_reply_fn fn,
		  void *cookie);

/* ---- server -------------------------------------------------------- */

struct rpc_srv;
struct rpc_conn;

struct rpc_srv_cbs {
	void (*on_connect)(void *ctx, struct rpc_conn *conn);
	/* A request other than PING.  Answer with rpc_conn_reply, now or
	 * later from any thread (take a ref on conn to keep it). */
	void (*on_request)(void *ctx, struct rpc_conn *conn,
			   const struct rpc_msg *req);
	/* The connection is gone: release its per-client state. */
	void (*on_disconnect)(void *ctx, struct rpc_conn *conn);
};

/* Listen on host:port ("0.0.0.0" / "::" / NULL for all).  port 0 picks a
 * free port; rpc_srv_port tells which.  tls (NULL for plain; the server
 * takes its own ref): every connection does a TLS handshake first, within
 * the handshake timeout, and frames flow only after it; a plain client is
 * refused (its first call answered -EPROTONOSUPPORT, then closed). */
struct rpc_srv *rpc_srv_new(struct rpc_evloop *loop, const char *host,
			    uint16_t port, const char *transport,
			    struct rpc_tls *tls, const struct rpc_srv_cbs *cbs,
			    void *ctx, char **err);
uint16_t rpc_srv_port(struct rpc_srv *srv);
/* A connection that has not completed a handshake (a HANDSHAKE reply with
 * status 0) ms after it arrived is closed; 30000 unless set.  Applies to
 * the connections already there too.  0 or -errno. */
int rpc_srv_set_handshake_timeout(struct rpc_srv *srv, int ms);
void rpc_srv_destroy(struct rpc_srv *srv);

int rpc_conn_reply(struct rpc_conn *conn, uint64_t xid, uint32_t proc,
		   const void *body, size_t body_len, struct xl_iobuf *bulk);
/* Send a notice of kind proc (enum rpc_notice) to the client; body is
 * copied.  Any thread.  0, -ENOTCONN after close, or -errno. */
int rpc_conn_notice(struct rpc_conn *conn, uint32_t proc, const void *body,
		    size_t body_len);
/* Each request counts toward the connection's in-flight cap until its
 * reply is sent (the connection stops reading at the cap).  A request the
 * owner may keep unanswered for an unbounded time (a blocking lock request
 * waiting for another client) must not hold a place: rpc_conn_park gives
 * the place up, so the connection keeps reading and answering pings; the
 * owner bounds such requests itself, and calls rpc_conn_unpark right
 * before it sends the reply (which gives a place up again).  Any thread. */
void rpc_conn_park(struct rpc_conn *conn);
void rpc_conn_unpark(struct rpc_conn *conn);
void rpc_conn_close(struct rpc_conn *conn); /* e.g. after a bad request */
struct rpc_conn *rpc_conn_ref(struct rpc_conn *conn);
void rpc_conn_unref(struct rpc_conn *conn);
const char *rpc_conn_peer(struct rpc_conn *conn); /* "127.0.0.1:5234" */
/* The peer's address without port, for auth.allow matching. */
const char *rpc_conn_peer_host(struct rpc_conn *conn);
/* The local address the peer connected to, without port (the address a
 * generated client volfile should point at). */
const char *rpc_conn_local_host(struct rpc_conn *conn);
/* The common name of the client's verified TLS certificate, "" without
 * TLS.  Valid from the first request on (the TLS handshake is done
 * before any frame). */
const char *rpc_conn_peer_cn(struct rpc_conn *conn);
void rpc_conn_set_ctx(struct rpc_conn *conn, void *ctx);
void *rpc_conn_get_ctx(struct rpc_conn *conn);

/* ---- codec --------------------------------------------------------- */

/* A growing writer.  Errors are sticky: check err once at the end. */
struct rpc_wbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int err; /* 0 or -ENOMEM */
};
/* A bounds-checked reader.  Any read past the end, or a string/array
 * longer than its bound, sets err = -EBADMSG and returns zeros from then
 * on. */
struct rpc_rbuf {
	const uint8_t *data;
	size_t len;
	size_t pos;
	int err;
};

void rpc_wbuf_init(struct rpc_wbuf *w);
void rpc_wbuf_free(struct rpc_wbuf *w);
void rpc_put_u8(struct rpc_wbuf *w, uint8_t v);
void rpc_put_u16(struct rpc_wbuf *w, uint16_t v);
void rpc_put_u32(struct rpc_wbuf *w, uint32_t v);
void rpc_put_u64(struct rpc_wbuf *w, uint64_t v);
void rpc_put_bytes(struct rpc_wbuf *w, const void *p,
		   uint32_t len);		     /* u32 len + bytes */
void rpc_put_str(struct rpc_wbuf *w, const char *s); /* NULL allowed */

void rpc_rbuf_init(struct rpc_rbuf *r, const void *data, size_t len);
uint8_t rpc_get_u8(struct rpc_rbuf *r);
uint16_t rpc_get_u16(struct rpc_rbuf *r);
uint32_t rpc_get_u32(struct rpc_rbuf *r);
uint64_t rpc_get_u64(struct rpc_rbuf *r);
/* Borrowed pointer into the buffer, at most max bytes. */
const void *rpc_get_bytes(struct rpc_rbuf *r, uint32_t max, uint32_t *len);
/* New malloc'd NUL-terminated string of at most max bytes with no NUL
 * inside; *out NULL when the sender sent NULL. 0 or -EBADMSG/-ENOMEM. */
int rpc_get_str(struct rpc_rbuf *r, uint32_t max, char **out);

/*
 * Fop bodies.  remote_fd is the brick's number for args.fd (the codec never
 * sees xl_fd objects): the client passes its mapping, the server gets the
 * number back and resolves it.  *bulk_out gets a new ref to the data that
 * travels as bulk (write data, setxattr value), or NULL.  Decoders validate
 * everything: names (xl_name_is_valid), sizes against XL_IO_SIZE_MAX and
 * the xattr bounds, counts against the body length; -EBADMSG on any
 * violation, args/reply left cleared.
 */
int rpc_encode_call(struct rpc_wbuf *w, enum xl_fop fop,
		    const struct xl_cred *cred, const struct xl_args *args,
		    uint64_t remote_fd, struct xl_iobuf **bulk_out);
int rpc_decode_call(struct rpc_rbuf *r, enum xl_fop fop, struct xl_cred *cred,
		    struct xl_args *args, uint64_t *remote_fd,
		    struct xl_iobuf *bulk);
/* For open/create/opendir the reply also carries the brick's new fd
 * number (remote_fd); 0 otherwise. */
int rpc_encode_reply(struct rpc_wbuf *w, enum xl_fop fop,
		     const struct xl_reply *reply, uint64_t remote_fd,
		     struct xl_iobuf **bulk_out);
int rpc_decode_reply(struct rpc_rbuf *r, enum xl_fop fop,
		     struct xl_reply *reply, uint64_t *remote_fd,
		     struct xl_iobuf *bulk);

/* Handshake bodies.  The request: u32 version, volume (string), the
 * client's identity (string, at most RPC_HS_IDENTITY_MAX), u32 flags; the
 * reply: u32 status (0 or -errno), u32 capabilities.  Decoders: 0 or
 * -EBADMSG (or -ENOMEM); hs->volume and hs->identity are malloc'd (NULL
 * when sent as NULL), rpc_handshake_clear frees them. */
#define RPC_HS_IDENTITY_MAX 1024
struct rpc_handshake {
	uint32_t version;
	char *volume;
	char *identity;
	uint32_t flags;
};
int rpc_encode_handshake(struct rpc_wbuf *w, uint32_t version,
			 const char *volume, const char *identity,
			 uint32_t flags);
int rpc_decode_handshake(struct rpc_rbuf *r, struct rpc_handshake *hs);
void rpc_handshake_clear(struct rpc_handshake *hs);
int rpc_encode_handshake_reply(struct rpc_wbuf *w, int32_t status,
			       uint32_t caps);
int rpc_decode_handshake_reply(struct rpc_rbuf *r, int32_t *status,
			       uint32_t *caps);

/* Notice bodies.  An invalidation: u32 what, u64 gen, gfid, pargfid,
 * name (string, NULL allowed).  The decoder checks the name
 * (xl_name_is_valid), keeps the XL_UP_* bits it knows and turns an
 * invalidation with none (a newer brick's kind of change) into
 * XL_UP_ATTR | XL_UP_XATTR; it ignores bytes after the fields (a newer
 * brick may append some).  up->name points into *name_out (malloc'd,
 * the caller frees it).  0 or -EBADMSG / -ENOMEM. */
struct xl_upcall;
int rpc_encode_notice_inval(struct rpc_wbuf *w, const struct xl_upcall *up);
int rpc_decode_notice_inval(struct rpc_rbuf *r, struct xl_upcall *up,
			    char **name_out);

#endif
