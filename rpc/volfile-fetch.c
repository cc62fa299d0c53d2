/*
 * volfile-fetch.c - fetch a client volfile (RPC_PROC_GETSPEC), or only its
 * version (RPC_PROC_GETSPEC_VERSION), from the first server of a list
 * that has it, and parse such lists.
 *
 * Each attempt is one short-lived, non-reconnecting connection.  The
 * caller blocks (the mount program's main thread, before any FUSE thread
 * exists, or an admin tool's); the answer comes from the rpc event loop
 * thread through a condition variable.  Every wait has a deadline, so a
 * server that accepts connections but never answers (stopped, or a black
 * hole) costs one timeout and the next server is tried.
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
	int conn_err;  /* -errno once the connection failed */
	int status;    /* rpc status, then the server's ret */
	uint32_t proc; /* GETSPEC or GETSPEC_VERSION, set before the call */
	char *text;    /* GETSPEC: the volfile, malloc'd */
	size_t len;
	uint64_t number; /* GETSPEC_VERSION: the volfile's version */
	uint64_t hash;
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
		if (f->proc == RPC_PROC_GETSPEC_VERSION) {
			f->number = rpc_get_u64(&r);
			f->hash = rpc_get_u64(&r);
		} else {
			p = rpc_get_bytes(&r, RPC_BODY_MAX, &len);
		}
		if (r.err && ret == 0)
			ret = -EBADMSG;
	}
	pthread_mutex_lock(&f->lock);
	if (ret == 0 && f->proc == RPC_PROC_GETSPEC) {
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
		ret = rpc_clnt_call(clnt, f->proc, w.data, w.len, NULL,
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

/* Ask one server for f->proc's answer (over TLS when tls is set).  0
 * with f's answer fields set (f->text is the caller's then), or -errno. */
static int fetch_ask(struct fetch *f, const char *host, uint16_t port,
		     const char *volume, struct rpc_tls *tls, int timeout_sec)
{
	struct rpc_clnt_opts opts = {.transport = "tcp",
				     .ping_timeout_sec = timeout_sec,
				     .no_reconnect = true,
				     .tls = tls};
	struct rpc_clnt_cbs cbs = {.on_connect = fetch_on_connect,
				   .on_disconnect = fetch_on_disconnect};
	struct rpc_evloop *loop = NULL;
	struct rpc_clnt *clnt = NULL;
	int ret;

	loop = rpc_evloop_new(1);
	if (!loop) {
		ret = -ENOMEM;
		goto out;
	}
	ret = rpc_evloop_start(loop);
	if (ret < 0)
		goto out;
	clnt = rpc_clnt_new(loop, host, port, &opts, &cbs, f);
	if (!clnt) {
		ret = -ENOMEM;
		goto out;
	}
	ret = fetch_run(f, clnt, volume, timeout_sec);
out:
	if (clnt)
		rpc_clnt_destroy(clnt);
	if (loop) {
		rpc_evloop_stop(loop);
		rpc_evloop_free(loop);
	}
	return ret;
}

static void fetch_init(struct fetch *f, uint32_t proc)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->proc = proc;
}

static void fetch_fini(struct fetch *f)
{
	free(f->text);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
}

/* Ask one server for the volfile.  0 with *text and *len set, or
 * -errno. */
static int fetch_one(const char *host, uint16_t port, const char *volume,
		     struct rpc_tls *tls, int timeout_sec, char **text,
		     size_t *len)
{
	struct fetch f;
	int ret;

	fetch_init(&f, RPC_PROC_GETSPEC);
	ret = fetch_ask(&f, host, port, volume, tls, timeout_sec);
	if (ret == 0) {
		*text = f.text;
		*len = f.len;
		f.text = NULL;
	}
	fetch_fini(&f);
	return ret;
}

int rpc_volfile_version_fetch(const struct rpc_volfile_server *server,
			      const char *volume, struct rpc_tls *tls,
			      int timeout_sec, uint64_t *number, uint64_t *hash)
{
	struct fetch f;
	int ret;

	fetch_init(&f, RPC_PROC_GETSPEC_VERSION);
	ret =
	    fetch_ask(&f, server->host, server->port, volume, tls, timeout_sec);
	if (ret == 0) {
		*number = f.number;
		*hash = f.hash;
	}
	fetch_fini(&f);
	return ret;
}

/* ---- server lists ---------------------------------------------------- */

int rpc_volfile_server_parse(const char *s, uint16_t default_port, char **host,
			     uint16_t *port)
{
	const char *colon;
	const char *end;
	char *p;
	long v;

	*host = NULL;
	*port = default_port;
	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || end == s + 1)
			return -EINVAL;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (!colon && end[1] != '\0')
			return -EINVAL;
		*host = strndup(s + 1, (size_t)(end - s - 1));
	} else {
		colon = strchr(s, ':');
		/* Two colons and no brackets: a bare IPv6 address. */
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
		*host = colon ? strndup(s, (size_t)(colon - s)) : strdup(s);
	}
	if (!*host)
		return -ENOMEM;
	if (!**host)
		goto bad;
	if (colon) {
		errno = 0;
		v = strtol(colon + 1, &p, 10);
		if (errno || p == colon + 1 || *p || v < 1 || v > 65535)
			goto bad;
		*port = (uint16_t)v;
	}
	return 0;
bad:
	free(*host);
	*host = NULL;
	return -EINVAL;
}

static int servers_push(struct rpc_volfile_servers *list, char *host,
			uint16_t port)
{
	struct rpc_volfile_server *grown;

	if (list->count >= RPC_VOLFILE_SERVERS_MAX)
		return -EINVAL;
	grown =
	    realloc(list->servers, (size_t)(list->count + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	list->servers = grown;
	grown[list->count].host = host;
	grown[list->count].port = port;
	list->count++;
	return 0;
}

/* Drop the servers added after the first `keep` (undo of a failed add). */
static void servers_truncate(struct rpc_volfile_servers *list, int keep)
{
	while (list->count > keep)
		free(list->servers[--list->count].host);
}

int rpc_volfile_servers_add(struct rpc_volfile_servers *list,
			    const char *comma_list, uint16_t default_port,
			    char **err)
{
	int had = list->count;
	const char *item = comma_list;
	char *one = NULL, *host;
	uint16_t port;
	int ret = 0;

	*err = NULL;
	while (ret == 0 && item) {
		const char *comma = strchr(item, ',');

		one = comma ? strndup(item, (size_t)(comma - item))
			    : strdup(item);
		if (!one) {
			ret = -ENOMEM;
			break;
		}
		ret = rpc_volfile_server_parse(one, default_port, &host, &port);
		if (ret == 0) {
			ret = servers_push(list, host, port);
			if (ret < 0)
				free(host);
		}
		if (ret == -EINVAL && list->count >= RPC_VOLFILE_SERVERS_MAX)
			fetch_msg(err, "more than %d volfile servers",
				  RPC_VOLFILE_SERVERS_MAX);
		else if (ret == -EINVAL)
			fetch_msg(err,
				  "bad volfile server '%s' in '%s' "
				  "(HOST[:PORT][,HOST[:PORT]...])",
				  one, comma_list);
		free(one);
		item = comma ? comma + 1 : NULL;
	}
	if (ret == -ENOMEM)
		fetch_msg(err, "out of memory");
	if (ret < 0)
		servers_truncate(list, had);
	return ret;
}

int rpc_volfile_servers_append(struct rpc_volfile_servers *dst,
			       const struct rpc_volfile_servers *src)
{
	int had = dst->count;
	char *host;
	int ret = 0;

	for (int i = 0; ret == 0 && i < src->count; i++) {
		host = strdup(src->servers[i].host);
		ret = host ? servers_push(dst, host, src->servers[i].port)
			   : -ENOMEM;
		if (ret < 0)
			free(host);
	}
	if (ret < 0)
		servers_truncate(dst, had);
	return ret;
}

void rpc_volfile_servers_free(struct rpc_volfile_servers *list)
{
	servers_truncate(list, 0);
	free(list->servers);
	list->servers = NULL;
}

/* ---- trying a list --------------------------------------------------- */

/* One failed attempt, as the user reads it: "HOST:PORT: why (errno
 * text)". */
static void fetch_note_failure(FILE *note, const struct rpc_volfile_server *s,
			       const char *volume, bool tls, int ret,
			       int timeout_sec)
{
	bool v6 = strchr(s->host, ':') != NULL;

	fprintf(note, "%s%s%s:%u: ", v6 ? "[" : "", s->host, v6 ? "]" : "",
		s->port);
	if (ret == -ENOENT)
		fprintf(note, "no volume '%s' there (%s)", volume,
			strerror(-ret));
	else if (ret == -ETIMEDOUT)
		fprintf(note, "no answer within %d s (%s)", timeout_sec,
			strerror(-ret));
	else if (ret == -EACCES)
		fprintf(note, "refused to serve volume '%s' (%s)", volume,
			strerror(-ret));
	else if (ret == -EPROTONOSUPPORT)
		fprintf(note, "the server requires TLS (mount with -o tls)");
	else if (ret == -EPROTO && tls)
		fprintf(note, "TLS handshake failed (certificates; the log "
			      "says why)");
	else if (ret == -ENOTCONN && tls)
		fprintf(note, "closed the TLS connection (was this client's "
			      "certificate refused? the log says why)");
	else if (ret == -ECONNRESET && tls)
		fprintf(note, "closed the connection during the TLS handshake "
			      "(a server without TLS?)");
	else
		fprintf(note, "%s", strerror(-ret));
}

int rpc_volfile_fetch_any(const struct rpc_volfile_servers *list,
			  const char *volume, struct rpc_tls *tls,
			  int timeout_sec, char **text, size_t *len,
			  int *served_by, char **err)
{
	char *failures = NULL;
	size_t failures_len = 0;
	FILE *note;
	int ret = -EINVAL;

	*text = NULL;
	*err = NULL;
	*served_by = -1;
	note = open_memstream(&failures, &failures_len);
	if (!note)
		return -ENOMEM;
	for (int i = 0; i < list->count; i++) {
		ret = fetch_one(list->servers[i].host, list->servers[i].port,
				volume, tls, timeout_sec, text, len);
		if (ret == 0) {
			*served_by = i;
			break;
		}
		fprintf(note, "%s", i ? "; " : "");
		fetch_note_failure(note, &list->servers[i], volume, tls != NULL,
				   ret, timeout_sec);
	}
	fclose(note);
	if (ret == 0 && failures_len > 0)
		fetch_msg(err, "volfile servers that failed before: %s",
			  failures);
	else if (ret < 0 && list->count == 0)
		fetch_msg(err, "no volfile server given");
	else if (ret < 0)
		fetch_msg(err,
			  "cannot get the client volfile of volume '%s' from "
			  "%s: %s",
			  volume,
			  list->count > 1 ? "any volfile server"
					  : "the volfile server",
			  failures);
	free(failures);
	return ret;
}
