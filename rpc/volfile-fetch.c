/*
 * volfile-fetch.c - fetch a client volfile from a volfile server
 * (RPC_PROC_GETSPEC) with one short-lived, non-reconnecting connection.
 *
 * The caller blocks (it is the mount program's main thread, before any
 * FUSE thread exists); the answer comes from the rpc event loop thread
 * through a condition variable.  Every wait has a deadline.
 */
#include "config.h"

#include "volfile-fetch.h"
#include "rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Shared between the caller and the event loop thread; lock guards all. */
struct fetch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool connected;
	bool replied;
	int conn_err; /* -errno once the connection failed */
	int status;   /* rpc status, then the server's ret */
	char *text;   /* the volfile, malloc'd */
	size_t len;
};

static void fetch_on_connect(void *ctx)
{
	struct fetch *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->connected = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void fetch_on_disconnect(void *ctx, int err)
{
	struct fetch *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->conn_err = err ? err : -ENOTCONN;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void fetch_reply(void *cookie, int status, const struct rpc_msg *reply)
{
	struct fetch *f = cookie;
	struct rpc_rbuf r;
	const void *p = NULL;
	uint32_t len = 0;
	int ret = status;

	if (status == 0 && reply) {
		rpc_rbuf_init(&r, reply->body, reply->body_len);
		ret = (int32_t)rpc_get_u32(&r);
		p = rpc_get_bytes(&r, RPC_BODY_MAX, &len);
		if (r.err)
			ret = -EBADMSG;
	}
	pthread_mutex_lock(&f->lock);
	if (ret == 0) {
		f->text = malloc((size_t)len + 1);
		if (f->text) {
			memcpy(f->text, p, len);
			f->text[len] = '\0';
			f->len = len;
		} else {
			ret = -ENOMEM;
		}
	}
	f->status = ret;
	f->replied = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* Wait until *flag or a connection error, up to deadline.  Called with
 * f->lock held.  0, the connection error, or -ETIMEDOUT. */
static int fetch_wait_locked(struct fetch *f, const bool *flag,
			     const struct timespec *deadline)
{
	while (!*flag && !f->conn_err) {
		if (pthread_cond_timedwait(&f->cond, &f->lock, deadline) ==
		    ETIMEDOUT)
			break;
	}
	if (*flag)
		return 0;
	return f->conn_err ? f->conn_err : -ETIMEDOUT;
}

__attribute__((format(printf, 2, 3))) static void
fetch_msg(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

/* Connect, send GETSPEC and wait for the answer.  Returns the rpc or
 * server status; f->text is set on 0. */
static int fetch_run(struct fetch *f, struct rpc_clnt *clnt, const char *volume,
		     int timeout_sec)
{
	struct timespec deadline;
	struct rpc_wbuf w;
	int ret;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_sec;
	ret = rpc_clnt_start(clnt);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&f->lock);
	ret = fetch_wait_locked(f, &f->connected, &deadline);
	pthread_mutex_unlock(&f->lock);
	if (ret < 0)
		return ret;
	rpc_wbuf_init(&w);
	rpc_put_str(&w, volume);
	ret = w.err;
	if (ret == 0)
		ret = rpc_clnt_call(clnt, RPC_PROC_GETSPEC, w.data, w.len, NULL,
				    fetch_reply, f);
	rpc_wbuf_free(&w);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&f->lock);
	/* The reply always comes (a lost connection answers it), but only
	 * wait until the deadline. */
	while (!f->replied) {
		if (pthread_cond_timedwait(&f->cond, &f->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	}
	ret = f->replied ? f->status : -ETIMEDOUT;
	pthread_mutex_unlock(&f->lock);
	return ret;
}

int rpc_volfile_fetch(const char *host, uint16_t port, const char *volume,
			 int timeout_sec, char **text, size_t *len, char **err)
{
	struct rpc_clnt_opts opts = {.transport = "tcp",
				     .ping_timeout_sec = timeout_sec,
				     .no_reconnect = true};
	struct rpc_clnt_cbs cbs = {.on_connect = fetch_on_connect,
				   .on_disconnect = fetch_on_disconnect};
	struct rpc_evloop *loop = NULL;
	struct rpc_clnt *clnt = NULL;
	struct fetch f;
	int ret;

	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.lock, NULL);
	pthread_cond_init(&f.cond, NULL);
	*text = NULL;
	*err = NULL;
	loop = rpc_evloop_new(1);
	if (!loop) {
		ret = -ENOMEM;
		goto out;
	}
	ret = rpc_evloop_start(loop);
	if (ret < 0)
		goto out;
	clnt = rpc_clnt_new(loop, host, port, &opts, &cbs, &f);
	if (!clnt) {
		ret = -ENOMEM;
		goto out;
	}
	ret = fetch_run(&f, clnt, volume, timeout_sec);
out:
	if (clnt)
		rpc_clnt_destroy(clnt);
	if (loop) {
		rpc_evloop_stop(loop);
		rpc_evloop_free(loop);
	}
	if (ret == 0) {
		*text = f.text;
		*len = f.len;
	} else {
		free(f.text);
		if (ret == -ENOENT)
			fetch_msg(err,
				  "volume '%s' is unknown to volfile "
				  "server %s:%u",
				  volume, host, port);
		else if (ret == -ETIMEDOUT)
			fetch_msg(err,
				  "volfile server %s:%u did not answer "
				  "within %d s",
				  host, port, timeout_sec);
		else
			fetch_msg(err,
				  "cannot get volume '%s' from volfile "
				  "server %s:%u: %s",
				  volume, host, port, strerror(-ret));
	}
	pthread_cond_destroy(&f.cond);
	pthread_mutex_destroy(&f.lock);
	return ret;
}
