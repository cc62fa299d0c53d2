/*
 * clnt.c - the rpc client: one connection to one server, calls matched to
 * replies by xid, pings, dead-peer detection and reconnect with backoff.
 *
 * Every call accepted by rpc_clnt_call is answered exactly once: it is
 * answered by whoever removes it from the pending table (a reply, the close
 * of its connection, rpc_clnt_destroy), and removal happens under
 * clnt->lock.
 *
 * One timerfd per client drives everything time-based: pings every
 * ping_timeout/3 while connected, the dead-peer check (no frame at all for
 * ping_timeout), the connect timeout and the reconnect backoff.  Its
 * handler re-computes the next deadline each time.
 *
 * Names: a host name is resolved again before every reconnect attempt, so
 * a server whose address changed (DNS, /etc/hosts) is found at its new
 * one, and a name that does not resolve yet is retried with the backoff.
 * getaddrinfo blocks, so it never runs on a loop thread: rpc_clnt_start
 * resolves in the caller's thread, a reconnect in a short-lived detached
 * thread of its own (CLNT_RESOLVING) that hands the result back through
 * the timer.  A failed resolution keeps the last addresses that worked.
 * Each change of outcome is logged once, not each attempt.  A numeric
 * host is parsed once.
 *
 * Locking: clnt->lock protects state, conn, the pending table, times and
 * backoff.  It is never held while calling a user callback or a transport
 * function that may call back (send, close).  Lock order: clnt->lock, then
 * the transport's own locks (connect is called with clnt->lock held; its
 * callbacks come later on a loop thread).
 */
#include "config.h"

#include "evloop.h"
#include "log.h"
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define CLNT_BUCKETS	     256
#define CLNT_MAX_ADDRS	     8
#define CLNT_DESTROY_WAIT_MS 10000

enum clnt_state {
	CLNT_IDLE,	 /* not started, or gave up (no_reconnect) */
	CLNT_CONNECTING, /* transport connect in progress */
	CLNT_CONNECTED,
	CLNT_WAITING,	/* backoff before the next attempt */
	CLNT_RESOLVING, /* a resolver thread looks the host up */
	CLNT_STOPPED,	/* destroyed */
};

struct clnt_call {
	struct clnt_call *next;
	uint64_t xid;
	rpc_reply_fn fn;
	void *cookie;
};

struct rpc_clnt {
	atomic_int refs;
	struct rpc_evloop *loop;
	const struct rpc_transport_ops *tp;
	char *host;
	uint16_t port;
	struct rpc_clnt_opts opts;
	struct rpc_clnt_cbs cbs;
	void *ctx;
	int timer_fd;
	uint64_t timer_id;
	bool numeric; /* host is an address: never resolved again */

	pthread_mutex_t lock;
	struct sockaddr_storage addrs[CLNT_MAX_ADDRS]; /* lock */
	socklen_t addr_lens[CLNT_MAX_ADDRS];	       /* lock */
	int naddrs;				       /* lock */
	int resolve_err;	/* lock: last getaddrinfo outcome (EAI_*) */
	bool resolved;		/* lock: addrs fresh for the next attempt */
	enum clnt_state state;	/* lock */
	struct rpc_tconn *conn; /* lock; our reference */
	bool down_notified;	/* lock: on_disconnect sent since connect */
	int next_addr;		/* lock */
	uint64_t next_xid;	/* lock */
	struct clnt_call *pending[CLNT_BUCKETS]; /* lock */
	uint32_t npending;			 /* lock */
	uint64_t last_recv_ms;			 /* lock */
	uint64_t last_ping_ms;			 /* lock */
	uint64_t deadline_ms; /* lock: connect timeout or reconnect time */
	int backoff_ms;	      /* lock */
	uint64_t
	    hold_until_ms; /* lock: no reconnect before (reconnect_after) */
	uint32_t jitter;   /* lock: xorshift state of the backoff jitter */
	int cb_active;	   /* lock: owner callbacks running now */
	pthread_cond_t cb_idle; /* cb_active went down */
};

static void clnt_ref(void *obj)
{
	struct rpc_clnt *clnt = obj;

	atomic_fetch_add(&clnt->refs, 1);
}

static void clnt_unref(void *obj)
{
	struct rpc_clnt *clnt = obj;

	if (atomic_fetch_sub(&clnt->refs, 1) != 1)
		return;
	if (clnt->timer_fd >= 0)
		close(clnt->timer_fd);
	pthread_cond_destroy(&clnt->cb_idle);
	pthread_mutex_destroy(&clnt->lock);
	rpc_tls_unref(clnt->opts.tls);
	free(clnt->host);
	free(clnt);
}

/*
 * Owner callbacks (replies, on_connect, on_disconnect) are counted, so
 * rpc_clnt_destroy can wait for the ones running on loop threads: once it
 * returns, the owner may free what its callbacks use.  The thread-local
 * pair lets destroy called from inside a callback not wait for itself.
 */
static __thread struct rpc_clnt *clnt_cb_owner;
static __thread int clnt_cb_nest;

struct clnt_cb_scope {
	struct rpc_clnt *prev;
	int prev_nest;
};

/* Call with clnt->lock held; pair with clnt_cb_leave. */
static void clnt_cb_enter_locked(struct rpc_clnt *clnt,
				 struct clnt_cb_scope *sc)
{
	clnt->cb_active++;
	sc->prev = clnt_cb_owner;
	sc->prev_nest = clnt_cb_nest;
	clnt_cb_nest = clnt_cb_owner == clnt ? clnt_cb_nest + 1 : 1;
	clnt_cb_owner = clnt;
}

static void clnt_cb_leave(struct rpc_clnt *clnt, struct clnt_cb_scope *sc)
{
	clnt_cb_owner = sc->prev;
	clnt_cb_nest = sc->prev_nest;
	pthread_mutex_lock(&clnt->lock);
	if (--clnt->cb_active == 0)
		pthread_cond_broadcast(&clnt->cb_idle);
	pthread_mutex_unlock(&clnt->lock);
}

/* ---- pending table --------------------------------------------------- */

static void clnt_insert_locked(struct rpc_clnt *clnt, struct clnt_call *call)
{
	struct clnt_call **b = &clnt->pending[call->xid % CLNT_BUCKETS];

	call->next = *b;
	*b = call;
	clnt->npending++;
}

static struct clnt_call *clnt_remove_locked(struct rpc_clnt *clnt, uint64_t xid)
{
	struct clnt_call **p = &clnt->pending[xid % CLNT_BUCKETS];
	struct clnt_call *call;

	for (; (call = *p); p = &call->next) {
		if (call->xid == xid) {
			*p = call->next;
			clnt->npending--;
			return call;
		}
	}
	return NULL;
}

/* Detach every pending call into one list. */
static struct clnt_call *clnt_take_all_locked(struct rpc_clnt *clnt)
{
	struct clnt_call *all = NULL, *call;

	for (int i = 0; i < CLNT_BUCKETS; i++) {
		while ((call = clnt->pending[i])) {
			clnt->pending[i] = call->next;
			call->next = all;
			all = call;
		}
	}
	clnt->npending = 0;
	return all;
}

static void clnt_fail_all(struct clnt_call *list, int err)
{
	struct clnt_call *next;

	for (; list; list = next) {
		next = list->next;
		list->fn(list->cookie, err, NULL);
		free(list);
	}
}

/* ---- timer ----------------------------------------------------------- */

static int clnt_ping_ms(struct rpc_clnt *clnt)
{
	return clnt->opts.ping_timeout_sec * 1000;
}

/*
 * When the next connect attempt may start, and the backoff after it.  The
 * wait is drawn from [backoff/2, backoff] ("equal jitter"): when a brick
 * restarts, the hundreds of clients that lost it at the same moment do not
 * all knock again at the same moments, and no client waits longer than
 * its backoff says.  A reconnect_after hold comes on top.
 */
static uint64_t clnt_next_attempt_locked(struct rpc_clnt *clnt)
{
	uint64_t now = rpc_now_ms(), half = (uint64_t)clnt->backoff_ms / 2;
	uint64_t at;

	clnt->jitter ^= clnt->jitter << 13;
	clnt->jitter ^= clnt->jitter >> 17;
	clnt->jitter ^= clnt->jitter << 5;
	at =
	    now + (uint64_t)clnt->backoff_ms - (half ? clnt->jitter % half : 0);
	if (at < clnt->hold_until_ms)
		at = clnt->hold_until_ms;
	if (clnt->backoff_ms < clnt->opts.reconnect_max_ms) {
		clnt->backoff_ms *= 2;
		if (clnt->backoff_ms > clnt->opts.reconnect_max_ms)
			clnt->backoff_ms = clnt->opts.reconnect_max_ms;
	}
	return at;
}

/* Set the timerfd to the next thing due in the current state. */
static void clnt_arm_locked(struct rpc_clnt *clnt)
{
	struct itimerspec its = {0};
	uint64_t now = rpc_now_ms(), due = 0, ms;
	uint64_t ping = (uint64_t)clnt_ping_ms(clnt);

	switch (clnt->state) {
	case CLNT_CONNECTED:
		due = clnt->last_ping_ms + ping / 3;
		if (clnt->last_recv_ms + ping < due)
			due = clnt->last_recv_ms + ping;
		break;
	case CLNT_CONNECTING:
	case CLNT_WAITING:
		due = clnt->deadline_ms;
		break;
	default:
		break; /* disarm */
	}
	if (due) {
		ms = due > now ? due - now : 1;
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
	}
	timerfd_settime(clnt->timer_fd, 0, &its, NULL);
}

static const struct rpc_tp_cbs clnt_tp_cbs;

/* ---- name resolution ------------------------------------------------- */

/* What one getaddrinfo found. */
struct clnt_addrs {
	struct sockaddr_storage addrs[CLNT_MAX_ADDRS];
	socklen_t lens[CLNT_MAX_ADDRS];
	int n;
	int err; /* 0 or EAI_* */
};

/* Blocking: never on a loop thread.  host and port are the client's
 * (constant after rpc_clnt_new). */
static void clnt_lookup(const char *host, uint16_t port, struct clnt_addrs *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
	struct addrinfo *res = NULL, *ai;
	char portstr[8];
	int ret;

	snprintf(portstr, sizeof(portstr), "%u", port);
	ret = getaddrinfo(host, portstr, &hints, &res);
	if (ret == EAI_BADFLAGS || ret == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV;
		ret = getaddrinfo(host, portstr, &hints, &res);
	}
	out->n = 0;
	out->err = ret;
	if (ret)
		return;
	for (ai = res; ai && out->n < CLNT_MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out->addrs[0]))
			continue;
		memcpy(&out->addrs[out->n], ai->ai_addr, ai->ai_addrlen);
		out->lens[out->n++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (!out->n)
		out->err = EAI_NONAME;
}

/* "a, b, c" for a log line. */
static void clnt_addrs_text(const struct sockaddr_storage *addrs,
			    const socklen_t *lens, int n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used + 1 < len; i++) {
		char host[NI_MAXHOST];

		if (getnameinfo((const struct sockaddr *)&addrs[i], lens[i],
				host, sizeof(host), NULL, 0, NI_NUMERICHOST))
			snprintf(host, sizeof(host), "?");
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i ? ", " : "", host);
	}
}

/* Take a lookup's result: new addresses replace the old ones (the next
 * attempt starts at the first); a failure keeps them.  Logs a change of
 * outcome only. */
static void clnt_addrs_store_locked(struct rpc_clnt *clnt,
				    const struct clnt_addrs *a)
{
	char was[256], now[256];
	bool same;

	if (a->err) {
		if (a->err != clnt->resolve_err)
			xl_err("rpc", "cannot resolve %s: %s; %s", clnt->host,
			       gai_strerror(a->err),
			       clnt->naddrs ? "trying its last addresses"
					    : "retrying");
		clnt->resolve_err = a->err;
		return;
	}
	same = a->n == clnt->naddrs;
	for (int i = 0; same && i < a->n; i++)
		same = a->lens[i] == clnt->addr_lens[i] &&
		       !memcmp(&a->addrs[i], &clnt->addrs[i], a->lens[i]);
	if ((clnt->naddrs && !same) || clnt->resolve_err) {
		clnt_addrs_text(a->addrs, a->lens, a->n, now, sizeof(now));
		clnt_addrs_text(clnt->addrs, clnt->addr_lens, clnt->naddrs, was,
				sizeof(was));
		if (clnt->naddrs && !same)
			xl_info("rpc", "%s now resolves to %s (was %s)",
				clnt->host, now, was);
		else
			xl_info("rpc", "%s resolves again: %s", clnt->host,
				now);
	}
	clnt->resolve_err = 0;
	if (same)
		return;
	memcpy(clnt->addrs, a->addrs, sizeof(a->addrs));
	memcpy(clnt->addr_lens, a->lens, sizeof(a->lens));
	clnt->naddrs = a->n;
	clnt->next_addr = 0;
}

/* The resolver thread of one reconnect attempt (holds a reference). */
static void *clnt_resolve_main(void *arg)
{
	struct rpc_clnt *clnt = arg;
	struct clnt_addrs *a = malloc(sizeof(*a));

	if (a)
		clnt_lookup(clnt->host, clnt->port, a);
	xl_debug("rpc", "looked up %s: %s", clnt->host,
		 !a	  ? "no memory"
		 : a->err ? gai_strerror(a->err)
			  : "found");
	pthread_mutex_lock(&clnt->lock);
	if (clnt->state == CLNT_RESOLVING) {
		if (a)
			clnt_addrs_store_locked(clnt, a);
		/* the timer makes the attempt now, on a loop thread */
		clnt->resolved = true;
		clnt->state = CLNT_WAITING;
		clnt->deadline_ms = rpc_now_ms();
		clnt_arm_locked(clnt);
	}
	pthread_mutex_unlock(&clnt->lock);
	free(a);
	clnt_unref(clnt);
	return NULL;
}

/* Look the host up again before the attempt due now: 0 when a resolver
 * thread runs (CLNT_RESOLVING), else -errno (attempt with what we
 * have). */
static int clnt_resolve_start_locked(struct rpc_clnt *clnt)
{
	pthread_attr_t attr;
	pthread_t t;
	int ret;

	if (pthread_attr_init(&attr))
		return -ENOMEM;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	clnt_ref(clnt);
	ret = pthread_create(&t, &attr, clnt_resolve_main, clnt);
	pthread_attr_destroy(&attr);
	if (ret) {
		atomic_fetch_sub(&clnt->refs, 1); /* ours: never the last */
		return -ret;
	}
	clnt->state = CLNT_RESOLVING;
	return 0;
}

/* Start one connect attempt.  On an immediate failure, schedule the next
 * one (or give up) and return the error. */
static int clnt_connect_locked(struct rpc_clnt *clnt)
{
	int i, ret;

	clnt->resolved = false;
	if (clnt->naddrs) {
		i = clnt->next_addr++ % clnt->naddrs;
		ret = clnt->tp->connect(
		    clnt->loop, (const struct sockaddr *)&clnt->addrs[i],
		    clnt->addr_lens[i], clnt->opts.tls, &clnt_tp_cbs, clnt,
		    &clnt->conn);
	} else {
		ret = -EHOSTUNREACH; /* the name never resolved yet */
	}
	if (ret) {
		clnt->conn = NULL;
		clnt->state =
		    clnt->opts.no_reconnect ? CLNT_IDLE : CLNT_WAITING;
	} else {
		clnt->state = CLNT_CONNECTING;
	}
	clnt->deadline_ms = ret ? clnt_next_attempt_locked(clnt)
				: rpc_now_ms() + (uint64_t)clnt_ping_ms(clnt);
	clnt_arm_locked(clnt);
	return ret;
}

static void clnt_ping_done(void *cookie, int status,
			   const struct rpc_msg *reply)
{
	/* nothing to do: any frame already refreshed last_recv_ms */
}

static void clnt_timer_handle(void *obj, uint32_t ev)
{
	struct rpc_clnt *clnt = obj;
	struct rpc_tconn *kill = NULL;
	struct clnt_cb_scope sc;
	bool ping = false, notify = false;
	uint64_t v, now;
	int err = -ETIMEDOUT;

	if (read(clnt->timer_fd, &v, sizeof(v)) == -1)
		v = 0;
	pthread_mutex_lock(&clnt->lock);
	if (clnt->state == CLNT_STOPPED || (ev & RPC_EV_SHUTDOWN)) {
		pthread_mutex_unlock(&clnt->lock);
		return; /* deleted: do not re-arm */
	}
	now = rpc_now_ms();
	if (clnt->state == CLNT_CONNECTED) {
		if (now >= clnt->last_recv_ms + (uint64_t)clnt_ping_ms(clnt)) {
			xl_warn("rpc", "%s:%u silent for %d s: disconnecting",
				clnt->host, clnt->port,
				clnt->opts.ping_timeout_sec);
			kill = rpc_tconn_ref(clnt->conn);
		} else if (now >= clnt->last_ping_ms +
				      (uint64_t)clnt_ping_ms(clnt) / 3) {
			clnt->last_ping_ms = now;
			ping = true;
		}
	} else if (clnt->state == CLNT_CONNECTING && now >= clnt->deadline_ms) {
		kill = rpc_tconn_ref(clnt->conn);
	} else if (clnt->state == CLNT_WAITING && now >= clnt->deadline_ms &&
		   !clnt->numeric && !clnt->resolved &&
		   clnt_resolve_start_locked(clnt) == 0) {
		/* the resolver thread sets the timer for the attempt */
	} else if (clnt->state == CLNT_WAITING && now >= clnt->deadline_ms) {
		err = clnt_connect_locked(clnt);
		notify = err && !clnt->down_notified;
		if (notify) {
			clnt->down_notified = true;
			clnt_cb_enter_locked(clnt, &sc);
		}
	}
	clnt_arm_locked(clnt);
	rpc_ev_rearm(clnt->loop, clnt->timer_id, clnt->timer_fd, EPOLLIN);
	pthread_mutex_unlock(&clnt->lock);

	if (kill) {
		rpc_tconn_close(kill, -ETIMEDOUT);
		rpc_tconn_unref(kill);
	}
	if (ping)
		rpc_clnt_call(clnt, RPC_PROC_PING, NULL, 0, NULL,
			      clnt_ping_done, NULL);
	if (notify) {
		if (clnt->cbs.on_disconnect)
			clnt->cbs.on_disconnect(clnt->ctx, err);
		clnt_cb_leave(clnt, &sc);
	}
}

static const struct rpc_ev_ops clnt_timer_ops = {
    .handle = clnt_timer_handle,
    .ref = clnt_ref,
    .unref = clnt_unref,
};

/* ---- transport callbacks --------------------------------------------- */

static void clnt_on_connected(void *ctx, struct rpc_tconn *c)
{
	struct rpc_clnt *clnt = ctx;
	struct clnt_cb_scope sc;
	uint64_t now = rpc_now_ms();

	pthread_mutex_lock(&clnt->lock);
	if (c != clnt->conn || clnt->state != CLNT_CONNECTING) {
		pthread_mutex_unlock(&clnt->lock);
		return;
	}
	clnt->state = CLNT_CONNECTED;
	clnt->last_recv_ms = now;
	clnt->last_ping_ms = now;
	clnt->backoff_ms = clnt->opts.reconnect_min_ms;
	clnt->down_notified = false;
	clnt_arm_locked(clnt);
	clnt_cb_enter_locked(clnt, &sc);
	pthread_mutex_unlock(&clnt->lock);
	xl_debug("rpc", "connected to %s:%u", clnt->host, clnt->port);
	if (clnt->cbs.on_connect)
		clnt->cbs.on_connect(clnt->ctx);
	clnt_cb_leave(clnt, &sc);
}

/* A notice: counts as a sign of life, goes to the owner, never answered.
 * A notice with bulk data is not one this build can know: dropped. */
static int clnt_on_notice(struct rpc_clnt *clnt, struct rpc_tconn *c,
			  struct rpc_msg *msg)
{
	struct clnt_cb_scope sc;
	bool deliver = false;

	msg->type = RPC_T_NOTICE;
	pthread_mutex_lock(&clnt->lock);
	if (c == clnt->conn) {
		clnt->last_recv_ms = rpc_now_ms();
		deliver = clnt->cbs.on_notice && !msg->bulk;
		if (deliver)
			clnt_cb_enter_locked(clnt, &sc);
	}
	pthread_mutex_unlock(&clnt->lock);
	if (!deliver)
		return 0;
	clnt->cbs.on_notice(clnt->ctx, msg);
	clnt_cb_leave(clnt, &sc);
	return 0;
}

static int clnt_on_frame(void *ctx, struct rpc_tconn *c,
			 const struct rpc_frame_hdr *h, const uint8_t *body,
			 struct xl_iobuf *bulk)
{
	struct rpc_clnt *clnt = ctx;
	struct clnt_call *call = NULL;
	struct clnt_cb_scope sc;
	struct rpc_msg msg = {
	    .type = RPC_T_REPLY,
	    .proc = h->proc,
	    .xid = h->xid,
	    .body = body,
	    .body_len = h->body_len,
	    .bulk = bulk,
	};

	if (h->type == RPC_T_NOTICE)
		return clnt_on_notice(clnt, c, &msg);
	if (h->type != RPC_T_REPLY)
		return -EBADMSG; /* servers do not call clients */
	pthread_mutex_lock(&clnt->lock);
	if (c == clnt->conn) {
		clnt->last_recv_ms = rpc_now_ms();
		call = clnt_remove_locked(clnt, h->xid);
		if (call)
			clnt_cb_enter_locked(clnt, &sc);
	}
	pthread_mutex_unlock(&clnt->lock);
	if (!call)
		return 0; /* answered already (timed out) or unknown */
	call->fn(call->cookie, 0, &msg);
	free(call);
	clnt_cb_leave(clnt, &sc);
	return 0;
}

static void clnt_on_closed(void *ctx, struct rpc_tconn *c, int err)
{
	struct rpc_clnt *clnt = ctx;
	struct clnt_call *list;
	struct clnt_cb_scope sc;
	bool notify;
	int status = err == -ETIMEDOUT ? -ETIMEDOUT : -ENOTCONN;

	pthread_mutex_lock(&clnt->lock);
	if (c != clnt->conn) {
		pthread_mutex_unlock(&clnt->lock);
		return; /* destroy took it */
	}
	/* A connect that failed had no calls pending (calls while not
	 * connected fail at once), so its owner can get the cause itself:
	 * -ECONNREFUSED, -EHOSTUNREACH, ... (the volfile fetch names it). */
	if (clnt->state == CLNT_CONNECTING && err < 0)
		status = err;
	clnt->conn = NULL;
	list = clnt_take_all_locked(clnt);
	if (clnt->opts.no_reconnect) {
		clnt->state = CLNT_IDLE;
	} else {
		clnt->state = CLNT_WAITING;
		clnt->deadline_ms = clnt_next_attempt_locked(clnt);
	}
	clnt_arm_locked(clnt);
	notify = !clnt->down_notified;
	clnt->down_notified = true;
	clnt_cb_enter_locked(clnt, &sc);
	pthread_mutex_unlock(&clnt->lock);

	xl_debug("rpc", "connection to %s:%u closed: err=%d", clnt->host,
		 clnt->port, err);
	clnt_fail_all(list, status);
	if (notify && clnt->cbs.on_disconnect)
		clnt->cbs.on_disconnect(clnt->ctx, status);
	clnt_cb_leave(clnt, &sc);
	rpc_tconn_unref(c);
}

static const struct rpc_tp_cbs clnt_tp_cbs = {
    .on_connected = clnt_on_connected,
    .on_frame = clnt_on_frame,
    .on_closed = clnt_on_closed,
    .ctx_ref = clnt_ref,
    .ctx_unref = clnt_unref,
};

/* ---- API ------------------------------------------------------------- */

static bool clnt_host_numeric(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 ||
	       inet_pton(AF_INET6, host, &a6) == 1;
}

struct rpc_clnt *rpc_clnt_new(struct rpc_evloop *loop, const char *host,
			      uint16_t port, const struct rpc_clnt_opts *opts,
			      const struct rpc_clnt_cbs *cbs, void *ctx)
{
	struct rpc_clnt *clnt = calloc(1, sizeof(*clnt));

	if (!clnt)
		return NULL;
	atomic_init(&clnt->refs, 1);
	clnt->timer_fd = -1;
	pthread_mutex_init(&clnt->lock, NULL);
	pthread_cond_init(&clnt->cb_idle, NULL);
	if (opts)
		clnt->opts = *opts;
	clnt->opts.transport = NULL;
	if (clnt->opts.tls)
		rpc_tls_ref(clnt->opts.tls); /* dropped with the client */
	clnt->tp = rpc_transport_find(opts ? opts->transport : NULL);
	if (clnt->opts.ping_timeout_sec <= 0)
		clnt->opts.ping_timeout_sec = 10;
	if (clnt->opts.reconnect_min_ms <= 0)
		clnt->opts.reconnect_min_ms = 100;
	if (clnt->opts.reconnect_max_ms < clnt->opts.reconnect_min_ms)
		clnt->opts.reconnect_max_ms = clnt->opts.reconnect_min_ms > 5000
						  ? clnt->opts.reconnect_min_ms
						  : 5000;
	if (!clnt->opts.max_queued_bytes)
		clnt->opts.max_queued_bytes = (size_t)64 << 20;
	if (cbs)
		clnt->cbs = *cbs;
	clnt->ctx = ctx;
	clnt->loop = loop;
	clnt->port = port ? port : RPC_DEFAULT_PORT;
	clnt->backoff_ms = clnt->opts.reconnect_min_ms;
	/* Seeded apart per process and per client: xorshift needs non-zero. */
	clnt->jitter = ((uint32_t)getpid() * 2654435761u) ^
		       (uint32_t)(uintptr_t)clnt ^ (uint32_t)rpc_now_ms();
	clnt->jitter |= 1;
	clnt->next_xid = 1;
	clnt->host = strdup(host ? host : "localhost");
	clnt->numeric = clnt->host && clnt_host_numeric(clnt->host);
	clnt->timer_fd =
	    timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!clnt->tp || !clnt->host || clnt->timer_fd < 0)
		goto fail;
	if (rpc_ev_add(loop, clnt->timer_fd, EPOLLIN, &clnt_timer_ops, clnt,
		       &clnt->timer_id))
		goto fail;
	return clnt;
fail:
	if (!clnt->tp)
		xl_err("rpc", "unknown transport %s",
		       opts && opts->transport ? opts->transport : "tcp");
	clnt_unref(clnt);
	return NULL;
}

/* The first resolution runs in the caller's thread (never a loop
 * thread).  A name that does not resolve is an error only with
 * no_reconnect; otherwise the timer retries it with the backoff. */
int rpc_clnt_start(struct rpc_clnt *clnt)
{
	struct clnt_addrs *a = NULL;
	int ret;

	pthread_mutex_lock(&clnt->lock);
	if (clnt->state != CLNT_IDLE) {
		pthread_mutex_unlock(&clnt->lock);
		return clnt->state == CLNT_STOPPED ? -EINVAL : 0;
	}
	pthread_mutex_unlock(&clnt->lock);
	a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	clnt_lookup(clnt->host, clnt->port, a);
	pthread_mutex_lock(&clnt->lock);
	clnt_addrs_store_locked(clnt, a);
	if (clnt->state != CLNT_IDLE) {
		ret = 0;
	} else if (!clnt->naddrs && clnt->opts.no_reconnect) {
		ret = -EHOSTUNREACH;
	} else {
		clnt->backoff_ms = clnt->opts.reconnect_min_ms;
		clnt->down_notified = false;
		/* an immediate failure is retried by the timer (or, with
		 * no_reconnect, reported below) */
		ret = clnt_connect_locked(clnt);
		if (!clnt->opts.no_reconnect)
			ret = 0;
	}
	pthread_mutex_unlock(&clnt->lock);
	free(a);
	return ret;
}

void rpc_clnt_reconnect(struct rpc_clnt *clnt)
{
	rpc_clnt_reconnect_after(clnt, 0);
}

void rpc_clnt_reconnect_after(struct rpc_clnt *clnt, unsigned ms)
{
	struct rpc_tconn *c = NULL;

	pthread_mutex_lock(&clnt->lock);
	clnt->hold_until_ms = ms ? rpc_now_ms() + ms : 0;
	if (clnt->conn)
		c = rpc_tconn_ref(clnt->conn);
	pthread_mutex_unlock(&clnt->lock);
	if (c) {
		rpc_tconn_close(c, -ENOTCONN);
		rpc_tconn_unref(c);
	}
}

bool rpc_clnt_connected(struct rpc_clnt *clnt)
{
	bool up;

	pthread_mutex_lock(&clnt->lock);
	up = clnt->state == CLNT_CONNECTED;
	pthread_mutex_unlock(&clnt->lock);
	return up;
}

/* Wait (bounded) for owner callbacks running on other threads. */
static void clnt_wait_callbacks(struct rpc_clnt *clnt)
{
	int own = clnt_cb_owner == clnt ? clnt_cb_nest : 0;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += CLNT_DESTROY_WAIT_MS / 1000;
	pthread_mutex_lock(&clnt->lock);
	while (clnt->cb_active > own)
		if (pthread_cond_timedwait(&clnt->cb_idle, &clnt->lock, &ts))
			break;
	if (clnt->cb_active > own)
		xl_warn("rpc",
			"client for %s:%u destroyed while a callback "
			"still runs",
			clnt->host, clnt->port);
	pthread_mutex_unlock(&clnt->lock);
}

void rpc_clnt_destroy(struct rpc_clnt *clnt)
{
	struct rpc_tconn *c;
	struct clnt_call *list;

	if (!clnt)
		return;
	pthread_mutex_lock(&clnt->lock);
	clnt->state = CLNT_STOPPED;
	c = clnt->conn;
	clnt->conn = NULL;
	list = clnt_take_all_locked(clnt);
	clnt_arm_locked(clnt);
	pthread_mutex_unlock(&clnt->lock);
	rpc_ev_del(clnt->loop, clnt->timer_id, clnt->timer_fd);
	if (c) {
		rpc_tconn_close(c, -ENOTCONN);
		rpc_tconn_unref(c);
	}
	clnt_fail_all(list, -ENOTCONN);
	clnt_wait_callbacks(clnt);
	clnt_unref(clnt);
}

/* Register the call under a new xid; returns the connection to send on
 * (a new reference) or NULL when not connected. */
static struct rpc_tconn *clnt_begin(struct rpc_clnt *clnt,
				    struct clnt_call *call, uint64_t *xid)
{
	struct rpc_tconn *c = NULL;

	pthread_mutex_lock(&clnt->lock);
	if (clnt->state == CLNT_CONNECTED && clnt->conn) {
		call->xid = clnt->next_xid++;
		*xid = call->xid;
		clnt_insert_locked(clnt, call);
		c = rpc_tconn_ref(clnt->conn);
	}
	pthread_mutex_unlock(&clnt->lock);
	return c;
}

int rpc_clnt_call(struct rpc_clnt *clnt, uint32_t proc, const void *body,
		  size_t body_len, struct xl_iobuf *bulk, rpc_reply_fn fn,
		  void *cookie)
{
	size_t bulk_len = bulk ? bulk->size : 0;
	struct clnt_call *call;
	struct rpc_tconn *c;
	uint8_t hdr[RPC_HEADER_LEN];
	struct iovec iov[2];
	uint64_t xid = 0;
	int ret;

	if (body_len > RPC_BODY_MAX || bulk_len > RPC_BULK_MAX)
		return -EMSGSIZE;
	if (!body && body_len)
		return -EINVAL;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->fn = fn;
	call->cookie = cookie;
	/* from here on call may be answered and freed by another thread */
	c = clnt_begin(clnt, call, &xid);
	if (!c) {
		free(call);
		return -ENOTCONN;
	}
	/* back-pressure: a caller thread waits for the queue to drain; a
	 * loop thread must not block, so it queues anyway */
	if (!rpc_evloop_in_loop())
		rpc_tconn_wait_queued(c, clnt->opts.max_queued_bytes,
				      clnt_ping_ms(clnt));
	rpc_frame_encode(hdr, RPC_T_REQUEST, (uint32_t)body_len,
			 (uint32_t)bulk_len, xid, proc);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = body_len;
	ret = rpc_tconn_send(c, iov, 2, bulk);
	if (ret) {
		pthread_mutex_lock(&clnt->lock);
		call = clnt_remove_locked(clnt, xid);
		pthread_mutex_unlock(&clnt->lock);
		if (call)
			free(call); /* ours: the caller gets ret */
		else
			ret = 0; /* a close answered it already */
	}
	rpc_tconn_unref(c);
	return ret;
}
