/*
 * mortar-switch.c - the live switch of a mounted volume to a newer client
 * volfile (client/README.md, "Live graph switch"): build and start the
 * new graph beside the running one, switch the bridge to it, move the
 * open files, and destroy the old graph once it has drained.  A volfile
 * that does not parse, build, init or come up changes nothing: the error
 * is logged with the volfile's line and the mount keeps its graph.
 *
 * Runs on the volfile watch thread (volfile-watch.c), the only thread
 * that switches, so one switch at a time.
 */
#include "config.h"

#include "mortar-tls.h"
#include "mortar.h"

#include "log.h"
#include "statedump.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MS_LOG "mortar"
/* How long a switch waits for the replaced graph to drain before it
 * leaves the rest to the watch's later ticks. */
#define MS_DRAIN_WAIT_MS 10000

/* Wait (bounded) until the pending graph g is up.  true when it is. */
static bool ms_wait_up(struct mortar *m, struct xl_graph *g)
{
	struct timespec deadline;
	bool up;

	if (!mortar_graph_needs_up(g))
		return true;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += MT_CHILD_UP_TIMEOUT_SEC;
	pthread_mutex_lock(&m->lock);
	while (!m->pending_up) {
		if (pthread_cond_timedwait(&m->cond, &m->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	}
	up = m->pending_up;
	pthread_mutex_unlock(&m->lock);
	return up;
}

static void ms_set_pending(struct mortar *m, struct xl_graph *g)
{
	pthread_mutex_lock(&m->lock);
	m->pending = g;
	m->pending_up = false;
	pthread_mutex_unlock(&m->lock);
}

/* Parse, build, init and wait for the graph of vt.  0 with *out, or
 * -errno with *err (malloc'd, "FILE:LINE: problem" where there is a
 * line). */
static int ms_build(struct mortar *m, const struct volfile_text *vt,
		    struct xl_graph **out, char **err)
{
	struct xl_volfile *vf = NULL;
	struct xl_graph *g = NULL;
	int ret;

	*err = NULL;
	ret = xl_volfile_parse(vt->text, vt->len, vt->name, &vf, err);
	if (ret == 0)
		ret = mortar_tls_apply(&m->opts, vf); /* as at mount */
	if (ret == 0)
		ret = xl_graph_build(vf, &g, err);
	if (vf)
		xl_volfile_free(vf);
	if (ret < 0)
		return ret;
	g->top_notify = mortar_top_notify;
	g->top_notify_data = m;
	g->top_volfile = mortar_top_volfile;
	g->top_volfile_data = m;
	g->owner = &m->fb;
	if ((mortar_graph_caches(g) || m->fb.inval) &&
	    fuse_bridge_inval_attach(&m->fb, g) != 0)
		xl_warn(MS_LOG, "cannot forward the new graph's cache notices "
				"to the kernel: its caches expire by their "
				"timeouts only");
	ms_set_pending(m, g);
	ret = xl_graph_init(g, err);
	if (ret == 0 && !ms_wait_up(m, g)) {
		ret = -ETIMEDOUT;
		if (asprintf(err,
			     "%s: the new graph did not come up within %d s",
			     vt->name, MT_CHILD_UP_TIMEOUT_SEC) < 0)
			*err = NULL;
	}
	if (ret < 0) {
		ms_set_pending(m, NULL);
		xl_graph_destroy(g);
		return ret;
	}
	*out = g;
	return 0;
}

void mortar_switch_drain(void *owner)
{
	struct mortar *m = owner;
	int stayed;

	if (fuse_bridge_graphs_drain(&m->fb) == 0)
		return;
	/* An open answered by the old graph just after the switch moved
	 * the files is moved now. */
	if (fuse_bridge_files_move(&m->fb, &stayed) > 0)
		fuse_bridge_graphs_drain(&m->fb);
}

int mortar_switch_to(void *owner, const struct volfile_text *vt)
{
	struct mortar *m = owner;
	struct xl_graph *g = NULL;
	char *err = NULL, version[64];
	int ret, moved, stayed, left = 0;

	xl_volfile_version_str(&vt->version, version, sizeof(version));
	ret = ms_build(m, vt, &g, &err);
	if (ret < 0) {
		xl_err(MS_LOG,
		       "volfile version %s does not build: %s; keeping the "
		       "running graph",
		       version, err ? err : strerror(-ret));
		free(err);
		return ret;
	}
	/* From here on new calls go to g. */
	pthread_mutex_lock(&m->lock);
	m->graph = g;
	m->pending = NULL;
	m->child_up = true;
	pthread_mutex_unlock(&m->lock);
	fuse_bridge_graph_switch(&m->fb, g);
	xl_signals_set_graph(g);
	xl_info(MS_LOG, "switched to volfile version %s from %s", version,
		vt->name);
	moved = fuse_bridge_files_move(&m->fb, &stayed);
	xl_info(MS_LOG,
		"open files moved to the new graph: %d; kept on the replaced "
		"graph until closed: %d",
		moved, stayed);
	for (int ms = 0; ms < MS_DRAIN_WAIT_MS; ms += 20) {
		left = fuse_bridge_graphs_drain(&m->fb);
		if (left == 0)
			break;
		usleep(20 * 1000);
	}
	if (left > 0)
		xl_info(
		    MS_LOG,
		    "%d replaced graph(s) still in use (open files or calls "
		    "in flight): destroyed once they end",
		    left);
	return 0;
}
