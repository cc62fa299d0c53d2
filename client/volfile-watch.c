/*
 * volfile-watch.c - the mount's volfile: read it (a file, or fetched from
 * the volfile servers), and watch for a newer one while mounted (see
 * volfile-watch.h).
 *
 * Threads: volfile_source_get runs on the caller's thread (main at mount,
 * the watch thread later).  The watch thread sleeps on its condition
 * variable between checks, so stop wakes it at once.
 */
#include "config.h"

#include "volfile-watch.h"

#include "graph.h"
#include "log.h"
#include "mortar-tls.h"
#include "volfile-fetch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VW_LOG "mortar"

static int vw_read_file(const char *path, struct volfile_text *out, char **err)
{
	FILE *f = fopen(path, "re");
	size_t cap = 0;
	int ret = 0;

	if (!f) {
		ret = -errno;
		if (asprintf(err, "%s: cannot open volfile: %s", path,
			     strerror(-ret)) < 0)
			*err = NULL;
		return ret;
	}
	for (;;) {
		size_t n;

		if (out->len + 4096 + 1 > cap) {
			char *grown;

			cap = cap ? 2 * cap : 8192;
			grown =
			    cap > (16u << 20) ? NULL : realloc(out->text, cap);
			if (!grown) {
				ret = -EFBIG;
				if (asprintf(err, "%s: volfile too large",
					     path) < 0)
					*err = NULL;
				break;
			}
			out->text = grown;
		}
		n = fread(out->text + out->len, 1, cap - out->len - 1, f);
		out->len += n;
		if (n == 0)
			break;
	}
	if (ret == 0 && ferror(f)) {
		ret = -EIO;
		if (asprintf(err, "%s: cannot read volfile", path) < 0)
			*err = NULL;
	}
	fclose(f);
	if (ret == 0) {
		out->text[out->len] = '\0';
		snprintf(out->name, sizeof(out->name), "%s", path);
	}
	return ret;
}

int volfile_source_get(const struct mortar_opts *o, struct volfile_text *out,
		       char **err)
{
	const struct rpc_volfile_server *from;
	int ret;

	memset(out, 0, sizeof(*out));
	out->served_by = -1;
	*err = NULL;
	if (o->volfile) {
		ret = vw_read_file(o->volfile, out, err);
	} else {
		struct rpc_tls *tls = NULL;

		ret = mortar_tls_for_fetch(o, &tls, err);
		if (ret == 0)
			ret = rpc_volfile_fetch_any(
			    &o->servers, o->volume, tls, o->volfile_timeout,
			    &out->text, &out->len, &out->served_by, err);
		rpc_tls_unref(tls);
		if (ret == 0) {
			if (*err)
				xl_warn(VW_LOG, "%s", *err);
			free(*err);
			*err = NULL;
			from = &o->servers.servers[out->served_by];
			/* The name the parser's errors start with. */
			snprintf(out->name, sizeof(out->name), "%s:%u/%s",
				 from->host, from->port, o->volume);
		}
	}
	if (ret < 0) {
		volfile_text_free(out);
		return ret;
	}
	xl_volfile_version_of(out->text, out->len, &out->version);
	return 0;
}

void volfile_text_free(struct volfile_text *vt)
{
	free(vt->text);
	vt->text = NULL;
	vt->len = 0;
}

/* The version served now: asked from the server that answered last, then
 * the others in order.  0 or -errno (every server failed). */
static int vw_served_version(struct volfile_watch *w,
			     struct xl_volfile_version *out)
{
	const struct mortar_opts *o = w->opts;
	struct rpc_tls *tls = NULL;
	struct volfile_text vt;
	char *err = NULL;
	int ret = -ENOENT;

	if (o->volfile) {
		ret = volfile_source_get(o, &vt, &err);
		if (ret == 0)
			*out = vt.version;
		volfile_text_free(&vt);
		free(err);
		return ret;
	}
	ret = mortar_tls_for_fetch(o, &tls, &err);
	free(err);
	err = NULL;
	if (ret < 0)
		return ret;
	for (int k = 0; k < o->servers.count; k++) {
		int i = (w->last_server + k) % o->servers.count;

		ret = rpc_volfile_version_fetch(
		    &o->servers.servers[i], o->volume, tls, o->volfile_timeout,
		    &out->number, &out->hash);
		if (ret == -ENOSYS) {
			/* A brick from before the question: the text then. */
			ret = volfile_source_get(o, &vt, &err);
			if (ret == 0)
				*out = vt.version;
			volfile_text_free(&vt);
			free(err);
			err = NULL;
		}
		if (ret == 0) {
			w->last_server = i;
			break;
		}
	}
	rpc_tls_unref(tls);
	return ret;
}

/* Is served worth a switch?  Logs an older one once per version. */
static bool vw_wanted(struct volfile_watch *w,
		      const struct xl_volfile_version *served)
{
	enum xl_volfile_change c = xl_volfile_version_cmp(&w->running, served);
	char a[64], b[64];

	if (c == XL_VOLFILE_SAME)
		return false;
	if (w->has_refused && w->refused.number == served->number &&
	    w->refused.hash == served->hash)
		return false;
	if (c == XL_VOLFILE_OLDER) {
		xl_warn(VW_LOG,
			"the volfile served is older than the one running: "
			"version %s < %s; keeping the running one",
			xl_volfile_version_str(served, a, sizeof(a)),
			xl_volfile_version_str(&w->running, b, sizeof(b)));
		w->refused = *served;
		w->has_refused = true;
		return false;
	}
	return true;
}

static void vw_check(struct volfile_watch *w)
{
	struct xl_volfile_version served;
	struct volfile_text vt;
	char *err = NULL;
	char a[64], b[64];

	int ret = vw_served_version(w, &served);

	if (ret < 0) {
		xl_debug(VW_LOG,
			 "volfile version check: no server answered "
			 "(errno=%d)",
			 -ret);
		return;
	}
	xl_debug(VW_LOG, "volfile version check: served %s, running %s",
		 xl_volfile_version_str(&served, a, sizeof(a)),
		 xl_volfile_version_str(&w->running, b, sizeof(b)));
	if (!vw_wanted(w, &served))
		return;
	if (volfile_source_get(w->opts, &vt, &err) < 0) {
		xl_warn(VW_LOG,
			"a newer volfile is served but cannot be read: %s",
			err ? err : "?");
		free(err);
		return;
	}
	/* The text may have changed again since the question: what counts
	 * is the version of the text in hand. */
	if (vw_wanted(w, &vt.version)) {
		xl_info(VW_LOG,
			"a newer volfile is served: version %s (running %s)",
			xl_volfile_version_str(&vt.version, a, sizeof(a)),
			xl_volfile_version_str(&w->running, b, sizeof(b)));
		if (w->on_newer(w->owner, &vt) == 0) {
			w->running = vt.version;
		} else {
			w->refused = vt.version;
			w->has_refused = true;
		}
	}
	if (vt.served_by >= 0)
		w->last_server = vt.served_by;
	volfile_text_free(&vt);
}

static void *vw_main(void *arg)
{
	struct volfile_watch *w = arg;
	struct timespec next;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_sec += w->opts->volfile_check_interval;
		while (!w->stop && !w->poked &&
		       pthread_cond_timedwait(&w->cond, &w->lock, &next) !=
			   ETIMEDOUT)
			;
		if (w->stop)
			break;
		w->poked = false;
		pthread_mutex_unlock(&w->lock);
		vw_check(w);
		if (w->on_tick)
			w->on_tick(w->owner);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int volfile_watch_start(struct volfile_watch *w)
{
	pthread_condattr_t attr;
	int ret;

	if (w->opts->volfile_check_interval <= 0)
		return 0;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	ret = pthread_create(&w->thread, NULL, vw_main, w);
	if (ret != 0)
		return -ret;
	atomic_store(&w->started, true);
	return 0;
}

void volfile_watch_poke(struct volfile_watch *w)
{
	if (!atomic_load(&w->started))
		return;
	pthread_mutex_lock(&w->lock);
	w->poked = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void volfile_watch_stop(struct volfile_watch *w)
{
	if (!atomic_load(&w->started))
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	atomic_store(&w->started, false);
}
