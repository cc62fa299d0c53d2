/*
 * test_rpc_tcp.c - rpc client and server over TCP on 127.0.0.1, in one
 * process: concurrency, bulk, bad frames, silent peers, server loss and
 * reconnect, the handshake deadline.  Every wait is bounded.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "frame.h"
#include "rpc.h"
#include "conn-flow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS	  10000
#define NCALLS	  1000
#define NTHREADS  4
#define BULK_SIZE (1u << 20)

/* A counter one can wait on with a time limit. */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int count;
	int errors;
	int last_status;
};

static void waiter_init(struct waiter *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
}

static void waiter_fini(struct waiter *w)
{
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}

static void waiter_hit(struct waiter *w, int status, bool error)
{
	pthread_mutex_lock(&w->lock);
	w->count++;
	w->last_status = status;
	if (error)
		w->errors++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static bool waiter_wait(struct waiter *w, int target, int ms)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->lock);
	while (w->count < target)
		if (pthread_cond_timedwait(&w->cond, &w->lock, &ts))
			break;
	ok = w->count >= target;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- an echo server ---------------------------------------------------- */

struct echo {
	bool silent; /* never answer (requests are dropped) */
	bool defer;  /* keep xids in held[] for the test to answer */
	pthread_mutex_t held_lock;
	struct rpc_conn *held_conn;
	uint64_t held[RPC_SRV_INFLIGHT_MAX];
	int nheld;
	bool keep; /* keep a ref on the first connection */
	struct rpc_conn *kept;
	atomic_int requests;
	atomic_int disconnects;
};

static void echo_request(void *ctx, struct rpc_conn *conn,
			 const struct rpc_msg *req)
{
	struct echo *e = ctx;

	atomic_fetch_add(&e->requests, 1);
	if (e->defer) {
		pthread_mutex_lock(&e->held_lock);
		if (!e->held_conn)
			e->held_conn = rpc_conn_ref(conn);
		if (e->nheld < RPC_SRV_INFLIGHT_MAX)
			e->held[e->nheld++] = req->xid;
		pthread_mutex_unlock(&e->held_lock);
		return;
	}
	if (e->silent)
		return;
	rpc_conn_reply(conn, req->xid, req->proc, req->body, req->body_len,
		       req->bulk);
}

static void echo_disconnect(void *ctx, struct rpc_conn *conn)
{
	struct echo *e = ctx;

	atomic_fetch_add(&e->disconnects, 1);
}

static void echo_connect(void *ctx, struct rpc_conn *conn)
{
	struct echo *e = ctx;

	if (e->keep && !e->kept)
		e->kept = rpc_conn_ref(conn);
}

static const struct rpc_srv_cbs echo_cbs = {
    .on_connect = echo_connect,
    .on_request = echo_request,
    .on_disconnect = echo_disconnect,
};

/* ---- client helpers ---------------------------------------------------- */

struct fixture {
	struct rpc_evloop *loop;
	struct rpc_srv *srv;
	struct echo echo;
	struct rpc_clnt *clnt;
	struct waiter conn_w;	/* on_connect count */
	struct waiter disc_w;	/* on_disconnect count */
	struct waiter notice_w; /* on_notice count */
	uint32_t notice_proc;	/* the last notice's kind and body */
	char notice_body[64];
};

static void fx_on_connect(void *ctx)
{
	struct fixture *fx = ctx;

	waiter_hit(&fx->conn_w, 0, false);
}

static void fx_on_disconnect(void *ctx, int err)
{
	struct fixture *fx = ctx;

	waiter_hit(&fx->disc_w, err, false);
}

static void fx_on_notice(void *ctx, const struct rpc_msg *msg)
{
	struct fixture *fx = ctx;
	size_t n = msg->body_len < sizeof(fx->notice_body) - 1
		       ? msg->body_len
		       : sizeof(fx->notice_body) - 1;

	pthread_mutex_lock(&fx->notice_w.lock);
	fx->notice_proc = msg->proc;
	memcpy(fx->notice_body, msg->body, n);
	fx->notice_body[n] = '\0';
	pthread_mutex_unlock(&fx->notice_w.lock);
	waiter_hit(&fx->notice_w, 0, msg->type != RPC_T_NOTICE);
}

static const struct rpc_clnt_cbs fx_cbs = {
    .on_connect = fx_on_connect,
    .on_disconnect = fx_on_disconnect,
    .on_notice = fx_on_notice,
};

static struct rpc_clnt *fx_client(struct fixture *fx, uint16_t port,
				  const struct rpc_clnt_opts *opts)
{
	struct rpc_clnt *c =
	    rpc_clnt_new(fx->loop, "127.0.0.1", port, opts, &fx_cbs, fx);

	assert_non_null(c);
	assert_int_equal(rpc_clnt_start(c), 0);
	return c;
}

static int fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char *err = NULL;

	waiter_init(&fx->conn_w);
	waiter_init(&fx->disc_w);
	waiter_init(&fx->notice_w);
	fx->loop = rpc_evloop_new(NTHREADS);
	if (!fx->loop || rpc_evloop_start(fx->loop))
		return -1;
	fx->srv = rpc_srv_new(fx->loop, "127.0.0.1", 0, "tcp", NULL, &echo_cbs,
			      &fx->echo, &err);
	free(err);
	if (!fx->srv)
		return -1;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *fx = *state;

	rpc_clnt_destroy(fx->clnt);
	rpc_srv_destroy(fx->srv);
	rpc_evloop_stop(fx->loop);
	rpc_evloop_free(fx->loop);
	waiter_fini(&fx->conn_w);
	waiter_fini(&fx->disc_w);
	waiter_fini(&fx->notice_w);
	if (fx->echo.kept)
		rpc_conn_unref(fx->echo.kept);
	free(fx);
	return 0;
}

/* ---- 1000 concurrent calls -------------------------------------------- */

struct call_ctx {
	struct waiter *w;
	uint32_t want;
};

static void check_reply(void *cookie, int status, const struct rpc_msg *m)
{
	struct call_ctx *cc = cookie;
	struct rpc_rbuf r;
	bool bad = status != 0;

	if (!bad) {
		rpc_rbuf_init(&r, m->body, m->body_len);
		bad = rpc_get_u32(&r) != cc->want || r.err ||
		      m->type != RPC_T_REPLY;
	}
	waiter_hit(cc->w, status, bad);
}

struct caller {
	struct rpc_clnt *clnt;
	struct call_ctx *ctxs;
	int first, n;
	atomic_int *fails;
};

static void *caller_thread(void *arg)
{
	struct caller *c = arg;

	for (int i = c->first; i < c->first + c->n; i++) {
		struct rpc_wbuf w;

		rpc_wbuf_init(&w);
		rpc_put_u32(&w, c->ctxs[i].want);
		if (rpc_clnt_call(c->clnt, 7, w.data, w.len, NULL, check_reply,
				  &c->ctxs[i]))
			atomic_fetch_add(c->fails, 1);
		rpc_wbuf_free(&w);
	}
	return NULL;
}

static void test_concurrent_calls(void **state)
{
	struct fixture *fx = *state;
	struct call_ctx *ctxs = calloc(NCALLS, sizeof(*ctxs));
	struct caller callers[NTHREADS];
	pthread_t th[NTHREADS];
	struct waiter w;
	atomic_int fails = 0;

	waiter_init(&w);
	fx->clnt = fx_client(fx, rpc_srv_port(fx->srv), NULL);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	assert_true(rpc_clnt_connected(fx->clnt));
	for (int i = 0; i < NCALLS; i++) {
		ctxs[i].w = &w;
		ctxs[i].want = 0x1000u + (uint32_t)i;
	}
	for (int t = 0; t < NTHREADS; t++) {
		callers[t] =
		    (struct caller){fx->clnt, ctxs, t * (NCALLS / NTHREADS),
				    NCALLS / NTHREADS, &fails};
		pthread_create(&th[t], NULL, caller_thread, &callers[t]);
	}
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(atomic_load(&fails), 0);
	assert_true(waiter_wait(&w, NCALLS, WAIT_MS));
	assert_int_equal(w.count, NCALLS); /* each answered once */
	assert_int_equal(w.errors, 0);
	assert_int_equal(atomic_load(&fx->echo.requests), NCALLS);
	free(ctxs);
	waiter_fini(&w);
}

/* ---- 1 MiB bulk both ways -------------------------------------------- */

struct bulk_ctx {
	struct waiter w;
	struct xl_iobuf *sent;
	bool same;
};

static void bulk_reply(void *cookie, int status, const struct rpc_msg *m)
{
	struct bulk_ctx *b = cookie;

	b->same = status == 0 && m->bulk && m->bulk->size == b->sent->size &&
		  memcmp(m->bulk->data, b->sent->data, b->sent->size) == 0;
	waiter_hit(&b->w, status, !b->same);
}

static void test_bulk(void **state)
{
	struct fixture *fx = *state;
	struct bulk_ctx b;

	waiter_init(&b.w);
	b.sent = xl_iobuf_new(BULK_SIZE);
	for (size_t i = 0; i < BULK_SIZE; i++)
		b.sent->data[i] = (char)(i * 31 + (i >> 12));
	b.sent->size = BULK_SIZE;
	fx->clnt = fx_client(fx, rpc_srv_port(fx->srv), NULL);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	for (int round = 0; round < 3; round++)
		assert_int_equal(
		    rpc_clnt_call(fx->clnt, 15, "b", 1, b.sent, bulk_reply, &b),
		    0);
	assert_true(waiter_wait(&b.w, 3, WAIT_MS));
	assert_int_equal(b.w.errors, 0);
	assert_true(b.same);
	xl_iobuf_unref(b.sent);
	waiter_fini(&b.w);
}

/* ---- a garbage frame closes only its own connection --------------------- */

static int raw_connect(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = WAIT_MS / 1000};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int one_call(struct rpc_clnt *clnt, int *status)
{
	struct waiter w;
	struct call_ctx cc = {.w = &w, .want = 5};
	struct rpc_wbuf b;
	int ret;

	waiter_init(&w);
	rpc_wbuf_init(&b);
	rpc_put_u32(&b, 5);
	ret = rpc_clnt_call(clnt, 3, b.data, b.len, NULL, check_reply, &cc);
	rpc_wbuf_free(&b);
	if (ret == 0) {
		ret = waiter_wait(&w, 1, WAIT_MS) ? 0 : -ETIME;
		*status = w.last_status;
		if (!ret && w.errors && !w.last_status)
			ret = -EBADMSG;
	}
	waiter_fini(&w);
	return ret;
}

static void test_garbage_frame(void **state)
{
	struct fixture *fx = *state;
	uint16_t port = rpc_srv_port(fx->srv);
	uint8_t junk[RPC_HEADER_LEN], c;
	int fd, status = -1;

	fx->clnt = fx_client(fx, port, NULL);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	fd = raw_connect(port);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(0xA5 ^ i);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	/* the server closes it: EOF (or reset), not a timeout */
	ssize_t n = read(fd, &c, 1);
	assert_true(n == 0 || (n == -1 && errno == ECONNRESET));
	close(fd);

	/* a valid header with an oversized body is refused the same way */
	fd = raw_connect(port);
	rpc_frame_encode(junk, RPC_T_REQUEST, RPC_BODY_MAX + 1, 0, 1, 1);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	n = read(fd, &c, 1);
	assert_true(n == 0 || (n == -1 && errno == ECONNRESET));
	close(fd);

	assert_int_equal(one_call(fx->clnt, &status), 0);
	assert_int_equal(status, 0);
	assert_true(rpc_clnt_connected(fx->clnt));
}

/* ---- a peer that never completes a handshake is closed ---------------- */

/* Has the server closed fd (EOF or reset)?  Waits at most ms. */
static bool peer_closed(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, ms) != 1)
		return false;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
	return n == 0 || (n == -1 && errno != EAGAIN);
}

/* Notices: the server sends them on the connection, unasked; the client
 * hands each to on_notice, in order, and calls go on; a client that
 * sends a notice frame to a server is closed. */
static void test_notices(void **state)
{
	struct fixture *fx = *state;
	uint16_t port = rpc_srv_port(fx->srv);
	uint8_t hdr[RPC_HEADER_LEN];
	int fd, status = -1;
	uint64_t t0;

	fx->echo.keep = true;
	fx->clnt = fx_client(fx, port, NULL);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	t0 = now_ms();
	while (!fx->echo.kept && now_ms() - t0 < WAIT_MS)
		usleep(1000);
	assert_non_null(fx->echo.kept);
	assert_int_equal(
	    rpc_conn_notice(fx->echo.kept, RPC_NOTICE_INVAL, "first", 5), 0);
	assert_true(waiter_wait(&fx->notice_w, 1, WAIT_MS));
	assert_int_equal(fx->notice_proc, RPC_NOTICE_INVAL);
	assert_string_equal(fx->notice_body, "first");
	/* a kind this client does not know still reaches on_notice (it is
	 * the owner's to drop) and breaks nothing */
	assert_int_equal(rpc_conn_notice(fx->echo.kept, 9999, NULL, 0), 0);
	assert_true(waiter_wait(&fx->notice_w, 2, WAIT_MS));
	assert_int_equal(fx->notice_proc, 9999);
	assert_int_equal(fx->notice_w.errors, 0);
	assert_int_equal(one_call(fx->clnt, &status), 0);
	assert_int_equal(status, 0);
	assert_int_equal(fx->disc_w.count, 0);

	fd = raw_connect(port);
	rpc_frame_encode(hdr, RPC_T_NOTICE, 0, 0, 0, RPC_NOTICE_INVAL);
	assert_int_equal(write(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_true(peer_closed(fd, WAIT_MS));
	close(fd);
}

static void test_handshake_deadline(void **state)
{
	struct fixture *fx = *state;
	uint16_t port = rpc_srv_port(fx->srv);
	const int64_t greet = 400;
	uint8_t hdr[RPC_HEADER_LEN];
	int64_t gone[2] = {-1, -1};
	int fds[2], status = -1, calls = 0;
	struct call_ctx cc;
	struct waiter w;
	uint64_t t0;

	assert_int_equal(rpc_srv_set_handshake_timeout(fx->srv, 0), -EINVAL);
	assert_int_equal(rpc_srv_set_handshake_timeout(fx->srv, (int)greet), 0);
	/* a client that completes a handshake (the echo server answers it
	 * with status 0) */
	fx->clnt = fx_client(fx, port, NULL);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	waiter_init(&w);
	cc = (struct call_ctx){.w = &w, .want = 0};
	assert_int_equal(rpc_clnt_call(fx->clnt, RPC_PROC_HANDSHAKE, "\0\0\0\0",
				       4, NULL, check_reply, &cc),
			 0);
	assert_true(waiter_wait(&w, 1, WAIT_MS));
	assert_int_equal(w.errors, 0);
	waiter_fini(&w);

	/* one peer sends nothing, one half a frame header */
	t0 = now_ms();
	fds[0] = raw_connect(port);
	fds[1] = raw_connect(port);
	rpc_frame_encode(hdr, RPC_T_REQUEST, 0, 0, 1, RPC_PROC_HANDSHAKE);
	assert_int_equal(write(fds[1], hdr, 10), 10);
	while ((gone[0] < 0 || gone[1] < 0) && now_ms() - t0 < WAIT_MS) {
		/* the greeted client is served meanwhile */
		assert_int_equal(one_call(fx->clnt, &status), 0);
		assert_int_equal(status, 0);
		calls++;
		for (int i = 0; i < 2; i++)
			if (gone[i] < 0 && peer_closed(fds[i], 10))
				gone[i] = (int64_t)(now_ms() - t0);
	}
	for (int i = 0; i < 2; i++) {
		print_message("peer %d closed after %lld ms\n", i,
			      (long long)gone[i]);
		assert_true(gone[i] >= greet);
		/* swept every greet/4; the rest is slack for a loaded host */
		assert_true(gone[i] < greet + 3000);
		close(fds[i]);
	}
	assert_true(calls > 1);
	assert_true(rpc_clnt_connected(fx->clnt));
	assert_int_equal(fx->disc_w.count, 0);
}

/* ---- a silent peer times out ---------------------------------------- */

static void test_silent_peer(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	struct rpc_clnt_opts opts = {.ping_timeout_sec = 2,
				     .no_reconnect = true};
	int lfd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
	uint64_t t0;

	/* the kernel completes the handshake from the backlog: a peer that
	 * accepts and never says a word */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	getsockname(lfd, (struct sockaddr *)&sa, &len);
	fx->clnt = fx_client(fx, ntohs(sa.sin_port), &opts);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	t0 = now_ms();
	assert_int_equal(one_call(fx->clnt, &status), 0);
	assert_int_equal(status, -ETIMEDOUT);
	assert_true(now_ms() - t0 <= 2000 + 1500);
	assert_true(waiter_wait(&fx->disc_w, 1, WAIT_MS));
	assert_int_equal(fx->disc_w.last_status, -ETIMEDOUT);
	assert_false(rpc_clnt_connected(fx->clnt));
	/* not connected: refused at once */
	assert_int_equal(
	    rpc_clnt_call(fx->clnt, 1, NULL, 0, NULL, check_reply, NULL),
	    -ENOTCONN);
	close(lfd);
}

/* A refused connect reports its cause, not a bare "not connected": the
 * volfile fetch names it for each server it tried. */
static void test_refused_connect_cause(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	struct rpc_clnt_opts opts = {.ping_timeout_sec = 2,
				     .no_reconnect = true};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ret;

	/* bound but not listening: the port stays ours and refuses */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	fx->clnt = rpc_clnt_new(fx->loop, "127.0.0.1", ntohs(sa.sin_port),
				&opts, &fx_cbs, fx);
	assert_non_null(fx->clnt);
	ret = rpc_clnt_start(fx->clnt);
	if (ret == 0) { /* the usual way: the connect fails on the loop */
		assert_true(waiter_wait(&fx->disc_w, 1, WAIT_MS));
		ret = fx->disc_w.last_status;
	}
	assert_int_equal(ret, -ECONNREFUSED);
	assert_int_equal(fx->conn_w.count, 0);
	close(fd);
}

/* ---- back-pressure: a caller thread blocks instead of queueing forever -- */

struct flood {
	struct rpc_clnt *clnt;
	struct xl_iobuf *bulk;
	struct waiter *w;
	atomic_int accepted;
	atomic_int returned;
};

static void flood_reply(void *cookie, int status, const struct rpc_msg *m)
{
	waiter_hit(cookie, status, status != 0);
}

static void *flood_thread(void *arg)
{
	struct flood *f = arg;

	for (int i = 0; i < 32; i++) {
		if (rpc_clnt_call(f->clnt, 15, NULL, 0, f->bulk, flood_reply,
				  f->w) == 0)
			atomic_fetch_add(&f->accepted, 1);
		atomic_fetch_add(&f->returned, 1);
	}
	return NULL;
}

static void test_back_pressure(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	struct rpc_clnt_opts opts = {.ping_timeout_sec = 3,
				     .max_queued_bytes = 1u << 20,
				     .no_reconnect = true};
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	/* static: a failed assert must not leave the client answering into
	 * a dead stack frame during teardown */
	static struct waiter w;
	static struct flood f;
	pthread_t th;
	uint64_t t0;

	waiter_init(&w);
	f.w = &w;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0); /* never accepts, never reads */
	getsockname(lfd, (struct sockaddr *)&sa, &len);
	fx->clnt = fx_client(fx, ntohs(sa.sin_port), &opts);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	f.clnt = fx->clnt;
	f.bulk = xl_iobuf_new(BULK_SIZE);
	f.bulk->size = BULK_SIZE;
	memset(f.bulk->data, 0x5a, BULK_SIZE);
	pthread_create(&th, NULL, flood_thread, &f);
	/* 32 MiB cannot fit in socket buffers plus a 1 MiB queue */
	t0 = now_ms();
	while (now_ms() - t0 < 1000)
		usleep(10000);
	assert_true(atomic_load(&f.returned) < 32);
	/* the silent peer is declared dead; the blocked caller is released */
	pthread_join(th, NULL);
	assert_true(now_ms() - t0 < WAIT_MS);
	assert_int_equal(atomic_load(&f.returned), 32);
	assert_true(waiter_wait(&w, atomic_load(&f.accepted), WAIT_MS));
	assert_int_equal(w.errors, atomic_load(&f.accepted));
	assert_int_equal(w.last_status, -ETIMEDOUT);
	xl_iobuf_unref(f.bulk);
	close(lfd);
	waiter_fini(&w);
}

/* ---- server loss, then the client reconnects by itself ----------------- */

static void test_server_restart(void **state)
{
	struct fixture *fx = *state;
	struct rpc_clnt_opts opts = {.reconnect_min_ms = 50,
				     .reconnect_max_ms = 200};
	uint16_t port = rpc_srv_port(fx->srv);
	struct waiter w;
	struct call_ctx cc[3];
	char *err = NULL;
	int status = -1;

	waiter_init(&w);
	fx->echo.silent = true;
	fx->clnt = fx_client(fx, port, &opts);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	for (int i = 0; i < 3; i++) {
		cc[i] = (struct call_ctx){.w = &w, .want = 1};
		assert_int_equal(rpc_clnt_call(fx->clnt, 2, "x", 1, NULL,
					       check_reply, &cc[i]),
				 0);
	}
	/* wait until the server has them, then take it away */
	for (uint64_t t0 = now_ms();
	     atomic_load(&fx->echo.requests) < 3 && now_ms() - t0 < WAIT_MS;)
		usleep(1000);
	rpc_srv_destroy(fx->srv);
	fx->srv = NULL;
	assert_true(waiter_wait(&w, 3, WAIT_MS));
	assert_int_equal(w.errors, 3);
	assert_int_equal(w.last_status, -ENOTCONN);
	assert_int_equal(atomic_load(&fx->echo.disconnects), 1);
	assert_true(waiter_wait(&fx->disc_w, 1, WAIT_MS));

	/* same port again: the client finds it without help */
	fx->echo.silent = false;
	fx->srv = rpc_srv_new(fx->loop, "127.0.0.1", port, "tcp", NULL,
			      &echo_cbs, &fx->echo, &err);
	free(err);
	assert_non_null(fx->srv);
	assert_true(waiter_wait(&fx->conn_w, 2, WAIT_MS));
	assert_int_equal(one_call(fx->clnt, &status), 0);
	assert_int_equal(status, 0);
	waiter_fini(&w);
}

/* ---- destroying a client answers its pending calls --------------------- */

static void test_clnt_destroy_pending(void **state)
{
	struct fixture *fx = *state;
	struct waiter w;
	struct call_ctx cc = {.w = &w, .want = 1};

	waiter_init(&w);
	fx->echo.silent = true;
	fx->clnt = fx_client(fx, rpc_srv_port(fx->srv), NULL);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	assert_int_equal(
	    rpc_clnt_call(fx->clnt, 2, "x", 1, NULL, check_reply, &cc), 0);
	rpc_clnt_destroy(fx->clnt);
	fx->clnt = NULL;
	assert_true(waiter_wait(&w, 1, WAIT_MS));
	assert_int_equal(w.last_status, -ENOTCONN);
	waiter_fini(&w);
}

/* ---- pings keep a quiet but live connection up; conn info; late replies - */

static void test_ping_and_conn(void **state)
{
	struct fixture *fx = *state;
	struct rpc_clnt_opts opts = {.ping_timeout_sec = 1};
	struct rpc_conn *conn;
	uint64_t t0;
	int status = -1;

	fx->echo.keep = true;
	fx->clnt = fx_client(fx, rpc_srv_port(fx->srv), &opts);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	/* 2.5 ping timeouts without a call: pings must keep it alive */
	for (t0 = now_ms(); now_ms() - t0 < 2500;)
		usleep(10000);
	assert_true(rpc_clnt_connected(fx->clnt));
	assert_int_equal(fx->disc_w.count, 0);
	assert_int_equal(one_call(fx->clnt, &status), 0);
	assert_int_equal(status, 0);
	/* pings are answered by the rpc layer, never seen as requests */
	assert_int_equal(atomic_load(&fx->echo.requests), 1);

	conn = fx->echo.kept;
	assert_non_null(conn);
	assert_string_equal(rpc_conn_peer_host(conn), "127.0.0.1");
	assert_string_equal(rpc_conn_local_host(conn), "127.0.0.1");
	assert_memory_equal(rpc_conn_peer(conn), "127.0.0.1:", 10);
	rpc_conn_set_ctx(conn, fx);
	assert_ptr_equal(rpc_conn_get_ctx(conn), fx);

	/* client gone: the server sees one disconnect, late replies drop */
	rpc_clnt_destroy(fx->clnt);
	fx->clnt = NULL;
	for (t0 = now_ms();
	     atomic_load(&fx->echo.disconnects) < 1 && now_ms() - t0 < WAIT_MS;)
		usleep(1000);
	assert_int_equal(atomic_load(&fx->echo.disconnects), 1);
	assert_int_equal(rpc_conn_reply(conn, 1, 1, "x", 1, NULL), -ENOTCONN);
	rpc_conn_unref(conn);
	fx->echo.kept = NULL;
}

/* ---- destroy waits for a reply callback running on a loop thread ------- */

struct slow_cb {
	atomic_int started;
	atomic_int done;
};

static void slow_reply(void *cookie, int status, const struct rpc_msg *m)
{
	struct slow_cb *s = cookie;

	atomic_store(&s->started, 1);
	usleep(300 * 1000);
	atomic_store(&s->done, 1);
}

static void test_destroy_waits_callbacks(void **state)
{
	struct fixture *fx = *state;
	static struct slow_cb s; /* static: outlives a failed assert */
	uint64_t t0;

	fx->clnt = fx_client(fx, rpc_srv_port(fx->srv), NULL);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	assert_int_equal(
	    rpc_clnt_call(fx->clnt, 2, "x", 1, NULL, slow_reply, &s), 0);
	for (t0 = now_ms();
	     !atomic_load(&s.started) && now_ms() - t0 < WAIT_MS;)
		usleep(1000);
	assert_true(atomic_load(&s.started));
	rpc_clnt_destroy(fx->clnt);
	fx->clnt = NULL;
	/* once destroy returns, no callback of this client is running */
	assert_true(atomic_load(&s.done));
}

/* ---- IPv6 and host names -------------------------------------------- */

static void test_ipv6_and_names(void **state)
{
	struct fixture *fx = *state;
	struct rpc_srv *srv6;
	struct rpc_clnt *c;
	char *err = NULL;
	int status = -1;

	srv6 = rpc_srv_new(fx->loop, "::1", 0, "tcp", NULL, &echo_cbs,
			   &fx->echo, &err);
	free(err);
	if (!srv6) {
		skip(); /* no IPv6 loopback in this environment */
		return;
	}
	c = rpc_clnt_new(fx->loop, "::1", rpc_srv_port(srv6), NULL, &fx_cbs,
			 fx);
	assert_int_equal(rpc_clnt_start(c), 0);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	assert_int_equal(one_call(c, &status), 0);
	assert_int_equal(status, 0);
	rpc_clnt_destroy(c);

	fx->clnt = rpc_clnt_new(fx->loop, "localhost", rpc_srv_port(fx->srv),
				NULL, &fx_cbs, fx);
	assert_int_equal(rpc_clnt_start(fx->clnt), 0);
	assert_true(waiter_wait(&fx->conn_w, 2, WAIT_MS));
	assert_int_equal(one_call(fx->clnt, &status), 0);
	rpc_srv_destroy(srv6);
}

/* ---- a peer that never reads its replies ------------------------------ */

struct unread {
	int fd;
	uint32_t proc;
	atomic_bool stop;
	atomic_size_t sent;
};

/* Write request frames as fast as the server takes them; never read. */
static void *unread_thread(void *arg)
{
	struct unread *u = arg;
	uint8_t frames[64][RPC_HEADER_LEN + 4];
	uint64_t xid = 1;

	while (!atomic_load(&u->stop)) {
		for (int i = 0; i < 64; i++) {
			rpc_frame_encode(frames[i], RPC_T_REQUEST,
					 u->proc == RPC_PROC_PING ? 0 : 4, 0,
					 xid++, u->proc);
			memset(frames[i] + RPC_HEADER_LEN, 0, 4);
		}
		for (int i = 0; i < 64; i++) {
			size_t len =
			    RPC_HEADER_LEN + (u->proc == RPC_PROC_PING ? 0 : 4);
			ssize_t n = send(u->fd, frames[i], len, MSG_NOSIGNAL);

			if (n != (ssize_t)len)
				return NULL; /* closed, or timed out */
			atomic_fetch_add(&u->sent, len);
		}
	}
	return NULL;
}

static void flood_unread(struct fixture *fx, uint32_t proc)
{
	uint16_t port = rpc_srv_port(fx->srv);
	struct timeval tv = {.tv_sec = 1};
	struct unread u = {.proc = proc};
	pthread_t th;
	int status = -1;

	fx->clnt = fx_client(fx, port, NULL);
	assert_true(waiter_wait(&fx->conn_w, 1, WAIT_MS));
	rpc_tconn_queued_peak_reset();
	u.fd = raw_connect(port);
	/* a blocked send gives up after a second, so the thread ends */
	setsockopt(u.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(pthread_create(&th, NULL, unread_thread, &u), 0);
	/* long enough to push far more than the pause mark unbounded */
	usleep(3000 * 1000);
	/* the server still answers others */
	assert_int_equal(one_call(fx->clnt, &status), 0);
	assert_int_equal(status, 0);
	atomic_store(&u.stop, true);
	pthread_join(th, NULL);
	print_message("flood: sent %zu bytes, server queue peak %zu\n",
		      atomic_load(&u.sent), rpc_tconn_queued_peak());
	/* one rx buffer of requests past the mark at most */
	assert_true(rpc_tconn_queued_peak() <=
		    RPC_TCONN_QUEUE_PAUSE + (1u << 20));
	/* reading the replies lets the server resume: every whole request
	 * sent gets its answer (each answer is as long as its request) */
	{
		size_t flen = RPC_HEADER_LEN + (proc == RPC_PROC_PING ? 0 : 4);
		size_t want = atomic_load(&u.sent) / flen * flen, got = 0;
		static uint8_t buf[1 << 16];
		ssize_t n;

		while (got < want && (n = read(u.fd, buf, sizeof(buf))) > 0)
			got += (size_t)n;
		assert_int_equal(got, want);
	}
	close(u.fd);
}

/* PINGs are answered by the rpc layer itself, before any handshake: the
 * reply queue is what must stay bounded. */
static void test_ping_flood_unread(void **state)
{
	flood_unread(*state, RPC_PROC_PING);
}

/* Requests the owner answers: the in-flight cap and the reply queue. */
static void test_request_flood_unread(void **state)
{
	struct fixture *fx = *state;

	flood_unread(fx, 7);
	assert_true(atomic_load(&fx->echo.requests) > 0);
}

/* A peer's requests in flight are capped (RPC_SRV_INFLIGHT_MAX): past that the
 * server stops reading it, so an owner that answers slowly is not handed
 * an unbounded pile of work. */
static void test_inflight_cap(void **state)
{
	struct fixture *fx = *state;
	uint8_t frame[RPC_HEADER_LEN + 4] = {0};
	uint64_t t0;
	int fd, answered = 0;

	pthread_mutex_init(&fx->echo.held_lock, NULL);
	fx->echo.defer = true;
	fd = raw_connect(rpc_srv_port(fx->srv));
	for (uint64_t xid = 1; xid <= 1500; xid++) {
		rpc_frame_encode(frame, RPC_T_REQUEST, 4, 0, xid, 7);
		assert_int_equal(write(fd, frame, sizeof(frame)),
				 (ssize_t)sizeof(frame));
	}
	usleep(500 * 1000);
	assert_int_equal(atomic_load(&fx->echo.requests), RPC_SRV_INFLIGHT_MAX);
	/* answering lets the rest in */
	t0 = now_ms();
	while (answered < 1500 && now_ms() - t0 < WAIT_MS) {
		pthread_mutex_lock(&fx->echo.held_lock);
		for (int i = 0; i < fx->echo.nheld; i++)
			rpc_conn_reply(fx->echo.held_conn, fx->echo.held[i], 7,
				       "abcd", 4, NULL);
		answered += fx->echo.nheld;
		fx->echo.nheld = 0;
		pthread_mutex_unlock(&fx->echo.held_lock);
		usleep(10 * 1000);
	}
	assert_int_equal(answered, 1500);
	assert_int_equal(atomic_load(&fx->echo.requests), 1500);
	close(fd);
	rpc_conn_unref(fx->echo.held_conn);
	pthread_mutex_destroy(&fx->echo.held_lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_concurrent_calls, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_bulk, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_notices, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_frame, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_handshake_deadline, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_silent_peer, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_refused_connect_cause,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_back_pressure, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_server_restart, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_clnt_destroy_pending, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_ping_and_conn, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_destroy_waits_callbacks,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_and_names, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_ping_flood_unread, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_request_flood_unread, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_inflight_cap, fx_setup,
					    fx_teardown),
	};

	alarm(120); /* a hang is a failure, never a stuck CI job */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
