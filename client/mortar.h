/*
 * mortar.h - private to client/: the mount program's state, shared by
 * mortar.c (mount, loop, unmount) and mortar-switch.c (the live switch to
 * a newer volfile).
 */
#ifndef MORTAR_CLIENT_MORTAR_H
#define MORTAR_CLIENT_MORTAR_H

#include "fuse-bridge.h"
#include "graph.h"
#include "mortar-opts.h"
#include "volfile-watch.h"

#include <pthread.h>
#include <stdbool.h>

/* Fields are set by main before the FUSE loop; graph, pending and the
 * up flags under lock (written by the graphs' notify on any thread, and
 * by a switch on the watch thread). */
struct mortar {
	struct mortar_opts opts;
	struct fuse_bridge fb;
	struct xl_graph *graph; /* the graph the mount runs */
	struct fuse_session *se;
	int status_fd; /* pipe to the waiting parent, -1 when none */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool child_up;
	bool stopping;
	/* A switch's new graph while it comes up, and whether it is up. */
	struct xl_graph *pending;
	bool pending_up;
	struct volfile_watch watch; /* asks for a newer volfile */
};

/* How long the mount, and a switch, wait for a graph to come up. */
#define MT_CHILD_UP_TIMEOUT_SEC 10

/* Every graph's top_notify (data: the struct mortar). */
void mortar_top_notify(struct xl_graph *g, enum xl_event ev, void *data);
/* Every graph's top_volfile: a brick says a client volfile changed. */
void mortar_top_volfile(struct xl_graph *g, const char *volume, void *data);
/* Does g talk to bricks (so wait for CHILD_UP)?  Does it cache metadata
 * (so forward cache notices to the kernel)? */
bool mortar_graph_needs_up(const struct xl_graph *g);
bool mortar_graph_caches(const struct xl_graph *g);

/* mortar-switch.c: a volfile_newer_fn (owner: the struct mortar). */
int mortar_switch_to(void *owner, const struct volfile_text *vt);
/* The watch's tick: destroy replaced graphs that drained since. */
void mortar_switch_drain(void *owner);

#endif
