/*
 * tool-graph.c - a volume's client graph for the admin tools: open it,
 * wait until it is up, run fops synchronously.  See tool-graph.h.
 */
#include "config.h"

#include "tool-graph.h"

#include "inode.h"
#include "rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tool_graph {
	struct xl_graph *graph;
	pthread_mutex_t lock; /* guards up */
	pthread_cond_t cond;
	bool up;
};

/* One synchronous call: the waiter sleeps on cond until done. */
struct tool_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct xl_reply *reply;
};

static void tool_top_notify(struct xl_graph *g, enum xl_event ev, void *data)
{
	struct tool_graph *tg = data;

	(void)g;
	pthread_mutex_lock(&tg->lock);
	if (ev == XL_EV_CHILD_UP)
		tg->up = true;
	else if (ev == XL_EV_CHILD_DOWN)
		tg->up = false;
	pthread_cond_broadcast(&tg->cond);
	pthread_mutex_unlock(&tg->lock);
}

static int tool_wait_up(struct tool_graph *tg, int timeout_sec)
{
	struct timespec deadline;
	bool up;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_sec;
	pthread_mutex_lock(&tg->lock);
	while (!tg->up && pthread_cond_timedwait(&tg->cond, &tg->lock,
						 &deadline) != ETIMEDOUT)
		;
	up = tg->up;
	pthread_mutex_unlock(&tg->lock);
	return up ? 0 : -ENOTCONN;
}

int tool_servers_add(struct rpc_volfile_servers *servers, const char *prog,
		     const char *list)
{
	char *err = NULL;
	int ret;

	ret = rpc_volfile_servers_add(servers, list, RPC_DEFAULT_PORT, &err);
	if (ret < 0)
		fprintf(stderr, "%s: --volfile-server: %s\n", prog,
			err ? err : strerror(-ret));
	free(err);
	return ret;
}

/* The client volfile: read from a file, or from the first volfile server
 * of the list that has it (the mount's failover, see volfile-fetch.h). */
static int tool_read_volfile(const struct rpc_volfile_servers *servers,
			     const char *volume, const char *volfile,
			     struct xl_volfile **vf, char **err)
{
	const struct rpc_volfile_server *from;
	char *text = NULL, *skipped = NULL, name[512];
	size_t len = 0;
	int served_by, ret;

	if (volfile)
		return xl_volfile_read(volfile, vf, err);
	if (!servers || servers->count == 0 || !volume) {
		*err = strdup("give a volfile, or a server and a volume");
		return -EINVAL;
	}
	/* Plain only: a TLS volume's tools take its volfile (-f). */
	ret = rpc_volfile_fetch_any(servers, volume, NULL,
				    RPC_VOLFILE_TIMEOUT_SEC, &text, &len,
				    &served_by, &skipped);
	if (ret < 0) {
		*err = skipped;
		return ret;
	}
	/* On stderr, not in the log: whoever runs the tool learns at once
	 * that a server of the list is down. */
	if (skipped)
		fprintf(stderr, "%s: warning: %s\n",
			program_invocation_short_name, skipped);
	free(skipped);
	from = &servers->servers[served_by];
	snprintf(name, sizeof(name), "%s:%u/%s", from->host, from->port,
		 volume);
	ret = xl_volfile_parse(text, len, name, vf, err);
	free(text);
	return ret;
}

int tool_graph_open(const struct rpc_volfile_servers *servers,
		    const char *volume, const char *volfile, int timeout_sec,
		    struct tool_graph **out, char **err)
{
	struct tool_graph *tg = calloc(1, sizeof(*tg));
	struct xl_volfile *vf = NULL;
	int ret;

	*err = NULL;
	if (!tg)
		return -ENOMEM;
	pthread_mutex_init(&tg->lock, NULL);
	pthread_cond_init(&tg->cond, NULL);
	ret = tool_read_volfile(servers, volume, volfile, &vf, err);
	if (ret == 0)
		ret = xl_graph_build(vf, &tg->graph, err);
	if (ret == 0) {
		tg->graph->top_notify = tool_top_notify;
		tg->graph->top_notify_data = tg;
		ret = xl_graph_init(tg->graph, err);
	}
	if (ret == 0) {
		ret = tool_wait_up(tg, timeout_sec);
		if (ret < 0 &&
		    asprintf(err, "volume not up after %d s", timeout_sec) < 0)
			*err = NULL;
	}
	if (vf)
		xl_volfile_free(vf);
	if (ret < 0) {
		tool_graph_close(tg);
		return ret;
	}
	*out = tg;
	return 0;
}

void tool_graph_close(struct tool_graph *tg)
{
	if (!tg)
		return;
	if (tg->graph)
		xl_graph_destroy(tg->graph);
	pthread_cond_destroy(&tg->cond);
	pthread_mutex_destroy(&tg->lock);
	free(tg);
}

struct xl_graph *tool_graph_get(struct tool_graph *tg)
{
	return tg->graph;
}

static void tool_call_done(struct xl_call *parent, struct xl_call *call,
			   void *cookie)
{
	struct tool_wait *w = cookie;

	(void)parent;
	pthread_mutex_lock(&w->lock);
	xl_reply_move(w->reply, &call->reply);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int tool_call(struct tool_graph *tg, struct xl *to, enum xl_fop fop,
	      const struct xl_args *args, struct xl_reply *reply)
{
	struct xl_cred cred = {0};
	struct tool_wait w = {.reply = reply};
	struct xl_call *call;
	int ret;

	memset(reply, 0, sizeof(*reply));
	call = xl_call_new_root(tg->graph, fop, &cred, tool_call_done, &w);
	if (!call) {
		reply->ret = -ENOMEM;
		return -ENOMEM;
	}
	ret = xl_args_copy(&call->args, args);
	if (ret < 0) {
		/* Never started: answer it ourselves so it is released. */
		call->reply.ret = ret;
		xl_unwind(call);
		return reply->ret;
	}
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	xl_call_start(call, to ? to : tg->graph->top);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return reply->ret;
}

int tool_loc_set(struct xl_loc *loc, const uint8_t *pargfid, const char *name,
		 const uint8_t *gfid)
{
	memset(loc, 0, sizeof(*loc));
	if (pargfid)
		memcpy(loc->pargfid, pargfid, XL_GFID_LEN);
	if (gfid)
		memcpy(loc->gfid, gfid, XL_GFID_LEN);
	if (name && !(loc->name = strdup(name)))
		return -ENOMEM;
	return 0;
}
