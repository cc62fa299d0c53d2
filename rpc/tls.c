/*
 * tls.c - TLS with OpenSSL 3: the configuration (one SSL_CTX per
 * rpc_tls: TLS 1.3 only, certificates verified both ways) and the
 * session of one connection, driven non-blocking by tcp.c's handler.
 * See rpc.h (configuration) and tls.h (sessions).
 *
 * Choices, and why:
 * - No session tickets, no renegotiation (TLS 1.3 has none), read-ahead
 *   on: after the handshake, reading never has to write and writing never
 *   has to read, so the stream code stays as it is for plain TCP.
 * - No close_notify on close: the connection's close runs from any
 *   thread and the rpc layer knows its frame boundaries, so a truncation
 *   cannot pass for an end; an EOF without close_notify is taken as an
 *   end (SSL_OP_IGNORE_UNEXPECTED_EOF).
 * - A plain rpc client that reaches a TLS listener is recognised by its
 *   frame magic and answered, in plain, with -EPROTONOSUPPORT to its
 *   first call, so it can say why it was refused.
 * - The same failure from the same peer is logged at warning once, then
 *   at debug: a client retries with backoff, the log should not fill.
 */
#include "config.h"

#include "frame.h"
#include "log.h"
#include "tls.h"
#include "transport.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define TLS_WHY_LEN 256

struct rpc_tls {
	atomic_int refs;
	SSL_CTX *ctx;
	bool server;
	pthread_mutex_t lock;	/* last_failure */
	char last_failure[320]; /* "peer host: why" logged last */
};

struct rpc_tls_conn {
	pthread_mutex_t lock; /* every SSL call on ssl */
	struct rpc_tls *tls;  /* one reference */
	SSL *ssl;
	int fd;
	bool server;
	bool ready;	 /* handshake done */
	bool peeked;	 /* server: the first bytes were looked at */
	bool failed;	 /* an error was logged: no second line */
	uint32_t events; /* lock: extra epoll events a call waits for */
	char peer[RPC_ADDR_LEN];
	char cn[RPC_TLS_CN_MAX + 1];
};

bool rpc_tls_built(void)
{
	return true;
}

/* OpenSSL's reason for the failure at the head of the error queue
 * ("certificate verify failed"), or fallback. */
static void tls_reason(char *why, size_t len, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(why, len, "%s", r ? r : fallback);
	ERR_clear_error();
}

static int tls_fail_msg(char **err, const char *what, const char *file)
{
	char why[TLS_WHY_LEN];

	tls_reason(why, sizeof(why), "unknown error");
	if (asprintf(err, "TLS: %s %s: %s", what, file, why) < 0)
		*err = NULL;
	return -EINVAL;
}

/* A missing or unreadable file says so, rather than OpenSSL's "system
 * library" reason. */
static int tls_check_file(const char *what, const char *file, char **err)
{
	if (!file || !*file) {
		if (asprintf(err, "TLS: no %s file given", what) < 0)
			*err = NULL;
		return -EINVAL;
	}
	if (access(file, R_OK) != 0) {
		int e = errno;

		if (asprintf(err, "TLS: cannot read the %s %s: %s", what, file,
			     strerror(e)) < 0)
			*err = NULL;
		return -e;
	}
	return 0;
}

static int tls_ctx_setup(SSL_CTX *ctx, const struct rpc_tls_files *f,
			 bool server, char **err)
{
	int ret;

	if ((ret = tls_check_file("certificate", f->cert, err)) ||
	    (ret = tls_check_file("key", f->key, err)) ||
	    (ret = tls_check_file("CA certificate", f->ca, err)))
		return ret;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
		return tls_fail_msg(err, "cannot require", "TLS 1.3");
	if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1)
		return tls_fail_msg(err, "cannot load the certificate",
				    f->cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1)
		return tls_fail_msg(err, "cannot load the key", f->key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail_msg(err,
				    "the key does not match the "
				    "certificate; key",
				    f->key);
	if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1)
		return tls_fail_msg(err, "cannot load the CA certificates",
				    f->ca);
	SSL_CTX_set_verify(ctx,
			   SSL_VERIFY_PEER |
			       (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
			   NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
				     SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (server)
		SSL_CTX_set_num_tickets(ctx, 0);
	return 0;
}

int rpc_tls_new(const struct rpc_tls_files *files, bool server,
		struct rpc_tls **out, char **err)
{
	struct rpc_tls *t;
	int ret;

	*out = NULL;
	*err = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ctx =
	    SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!t->ctx) {
		free(t);
		return tls_fail_msg(err, "cannot create a context", "");
	}
	ret = tls_ctx_setup(t->ctx, files, server, err);
	if (ret) {
		SSL_CTX_free(t->ctx);
		free(t);
		return ret;
	}
	atomic_init(&t->refs, 1);
	t->server = server;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

struct rpc_tls *rpc_tls_ref(struct rpc_tls *tls)
{
	atomic_fetch_add(&tls->refs, 1);
	return tls;
}

void rpc_tls_unref(struct rpc_tls *tls)
{
	if (!tls || atomic_fetch_sub(&tls->refs, 1) != 1)
		return;
	SSL_CTX_free(tls->ctx);
	pthread_mutex_destroy(&tls->lock);
	free(tls);
}

/* ---- log lines ------------------------------------------------------- */

/* Log a connection's failure once; a repeat of the last failure logged
 * with this configuration (same peer host, same reason) goes to debug. */
static void tls_log_failure(struct rpc_tls_conn *s, const char *event,
			    const char *why)
{
	char key[sizeof(s->tls->last_failure)];
	const char *colon = strrchr(s->peer, ':');
	bool repeat;

	if (s->failed)
		return;
	s->failed = true;
	snprintf(key, sizeof(key), "%.*s %s",
		 colon ? (int)(colon - s->peer) : (int)strlen(s->peer), s->peer,
		 why);
	pthread_mutex_lock(&s->tls->lock);
	repeat = strcmp(key, s->tls->last_failure) == 0;
	if (!repeat)
		memcpy(s->tls->last_failure, key, sizeof(key));
	pthread_mutex_unlock(&s->tls->lock);
	xl_log(repeat ? XL_LOG_DEBUG : XL_LOG_WARNING, "rpc", "%s %s: %s",
	       event, s->peer, why);
}

/* ---- sessions -------------------------------------------------------- */

struct rpc_tls_conn *rpc_tls_conn_new(struct rpc_tls *tls, int fd, bool server)
{
	struct rpc_tls_conn *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ssl = SSL_new(tls->ctx);
	if (!s->ssl || SSL_set_fd(s->ssl, fd) != 1) {
		SSL_free(s->ssl);
		free(s);
		ERR_clear_error();
		return NULL;
	}
	if (server)
		SSL_set_accept_state(s->ssl);
	else
		SSL_set_connect_state(s->ssl);
	s->tls = rpc_tls_ref(tls);
	s->fd = fd;
	s->server = server;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void rpc_tls_conn_free(struct rpc_tls_conn *s)
{
	if (!s)
		return;
	SSL_free(s->ssl);
	rpc_tls_unref(s->tls);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* A plain client's first frame: answer its call with -EPROTONOSUPPORT
 * (a handshake and a volfile request both start their reply with the
 * status; the zero after it is empty capabilities, or an empty volfile),
 * after taking what it sent, so the close is a FIN and not a reset that
 * could drop the answer. */
static void tls_refuse_plain(struct rpc_tls_conn *s, const uint8_t *hdr)
{
	struct rpc_frame_hdr h;
	uint8_t out[RPC_HEADER_LEN + 8], sink[4096];
	uint32_t status = (uint32_t)-EPROTONOSUPPORT;

	if (rpc_frame_parse(hdr, &h) != 0 || h.type != RPC_T_REQUEST)
		return;
	while (recv(s->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	rpc_frame_encode(out, RPC_T_REPLY, 8, 0, h.xid, h.proc);
	for (int i = 0; i < 4; i++)
		out[RPC_HEADER_LEN + i] = (uint8_t)(status >> (8 * i));
	memset(out + RPC_HEADER_LEN + 4, 0, 4);
	if (send(s->fd, out, sizeof(out), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		xl_debug("rpc", "refusal to %s not sent: errno=%d", s->peer,
			 errno);
}

/* Server, before OpenSSL reads: is this a TLS client at all?  1 go on
 * with the handshake, 0 wait (*events), -errno refused. */
static int tls_peek_first(struct rpc_tls_conn *s, uint32_t *events)
{
	uint8_t hdr[RPC_HEADER_LEN];
	ssize_t n;

	do
		n = recv(s->fd, hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		*events = EPOLLIN;
		return 0;
	}
	if (n == -1)
		return -errno;
	if (n == 0) {
		/* a port probe, or a client that gave up: not worth a line */
		xl_debug("rpc", "%s closed before the TLS handshake", s->peer);
		return -ECONNRESET;
	}
	if (n >= 4 && hdr[0] == 'M' && hdr[1] == 'R' && hdr[2] == 'T' &&
	    hdr[3] == 'R') {
		/* A real client writes its header in one go; waiting for
		 * the rest would spin on bytes that are there. */
		if (n == RPC_HEADER_LEN)
			tls_refuse_plain(s, hdr);
		tls_log_failure(s, "refused plain TCP client",
				"this brick requires TLS (the client needs "
				"option tls on and a certificate)");
		return -EPROTONOSUPPORT;
	}
	s->peeked = true;
	return 1;
}

/* The common name of the verified peer certificate into s->cn. */
static void tls_take_cn(struct rpc_tls_conn *s)
{
	X509 *cert = SSL_get0_peer_certificate(s->ssl);
	X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
	int idx =
	    name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	unsigned char *utf8 = NULL;
	int len;

	s->cn[0] = '\0';
	if (idx < 0)
		return;
	len = ASN1_STRING_to_UTF8(
	    &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (len > 0 && len <= RPC_TLS_CN_MAX &&
	    memchr(utf8, '\0', (size_t)len) == NULL) {
		memcpy(s->cn, utf8, (size_t)len);
		s->cn[len] = '\0';
	}
	OPENSSL_free(utf8);
}

/* Why the handshake failed, in words an admin can act on. */
static void tls_handshake_why(struct rpc_tls_conn *s, char *why, size_t len)
{
	long vr = SSL_get_verify_result(s->ssl);
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (vr != X509_V_OK)
		snprintf(why, len, "%s certificate not accepted: %s",
			 s->server ? "the client's" : "the brick's",
			 X509_verify_cert_error_string(vr));
	else if (r && strstr(r, "alert"))
		snprintf(why, len, "the peer refused the TLS session (%s)", r);
	else if (r && strstr(r, "wrong version number"))
		snprintf(why, len, "the peer does not speak TLS (%s)", r);
	else
		snprintf(why, len, "%s", r ? r : "protocol error");
	ERR_clear_error();
}

int rpc_tls_conn_handshake(struct rpc_tls_conn *s, const char *peer,
			   uint32_t *events)
{
	char why[TLS_WHY_LEN];
	int r, e, ret;

	pthread_mutex_lock(&s->lock);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	if (s->server && !s->peeked) {
		ret = tls_peek_first(s, events);
		if (ret != 1)
			goto out;
	}
	ERR_clear_error();
	errno = 0; /* SSL_ERROR_SYSCALL with errno 0 is an end of stream */
	r = SSL_do_handshake(s->ssl);
	if (r == 1) {
		tls_take_cn(s);
		s->ready = true;
		xl_debug("rpc", "TLS with %s: %s, peer cn=%s", s->peer,
			 SSL_get_cipher_name(s->ssl), s->cn);
		ret = 1;
		goto out;
	}
	e = SSL_get_error(s->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*events = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
		ret = 0;
		goto out;
	}
	if (e == SSL_ERROR_ZERO_RETURN ||
	    (e == SSL_ERROR_SYSCALL &&
	     (errno == 0 || errno == ECONNRESET || errno == EPIPE))) {
		ERR_clear_error();
		tls_log_failure(s, "TLS handshake failed with",
				"the peer closed the connection (is TLS on "
				"at both ends? a plain brick closes TLS "
				"clients)");
		ret = -ECONNRESET;
		goto out;
	}
	if (e == SSL_ERROR_SYSCALL) {
		ret = errno ? -errno : -EPROTO;
		ERR_clear_error();
		tls_log_failure(s, "TLS handshake failed with", strerror(-ret));
		goto out;
	}
	tls_handshake_why(s, why, sizeof(why));
	tls_log_failure(s, "TLS handshake failed with", why);
	ret = -EPROTO;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* An SSL_read/SSL_write that returned r <= 0: set errno and return -1, or
 * 0 for the end of the stream.  Called with s->lock held. */
static ssize_t tls_io_fail(struct rpc_tls_conn *s, int r, bool reading)
{
	char why[TLS_WHY_LEN];
	int e = SSL_get_error(s->ssl, r);

	s->events = 0;
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		if (reading != (e == SSL_ERROR_WANT_READ))
			s->events =
			    e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == 0)
			return 0;
		return -1; /* errno from the socket */
	default:
		tls_handshake_why(s, why, sizeof(why));
		tls_log_failure(s, "TLS error on the connection with", why);
		errno = EPROTO;
		return -1;
	}
}

ssize_t rpc_tls_conn_send(struct rpc_tls_conn *s, const struct iovec *iov,
			  int iovcnt)
{
	size_t total = 0;
	ssize_t ret = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->ready) {
		pthread_mutex_unlock(&s->lock);
		errno = EAGAIN;
		return -1;
	}
	/* One SSL_write per piece.  After a "want", the next call starts
	 * with the same piece (the writer has not moved), which is what
	 * OpenSSL asks of a retried write. */
	for (int i = 0; i < iovcnt; i++) {
		size_t len =
		    iov[i].iov_len > INT_MAX ? INT_MAX : iov[i].iov_len;
		int r;

		if (!len)
			continue;
		ERR_clear_error();
		errno = 0;
		r = SSL_write(s->ssl, iov[i].iov_base, (int)len);
		if (r > 0) {
			total += (size_t)r;
			if ((size_t)r < len)
				break;
			continue;
		}
		if (total)
			break; /* report the progress; the error comes again */
		ret = tls_io_fail(s, r, false);
		if (ret == 0) {
			errno = EPIPE;
			ret = -1;
		}
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return total ? (ssize_t)total : ret;
}

ssize_t rpc_tls_conn_recv(struct rpc_tls_conn *s, void *buf, size_t len)
{
	ssize_t ret;
	int r;

	pthread_mutex_lock(&s->lock);
	if (!s->ready) {
		pthread_mutex_unlock(&s->lock);
		errno = EAGAIN;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	r = SSL_read(s->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	ret = r > 0 ? r : tls_io_fail(s, r, true);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

uint32_t rpc_tls_conn_events(struct rpc_tls_conn *s)
{
	uint32_t ev;

	pthread_mutex_lock(&s->lock);
	ev = s->events;
	pthread_mutex_unlock(&s->lock);
	return ev;
}

void rpc_tls_conn_peer_cn(struct rpc_tls_conn *s, char *cn)
{
	pthread_mutex_lock(&s->lock);
	memcpy(cn, s->cn, sizeof(s->cn));
	pthread_mutex_unlock(&s->lock);
}
