/*
 * fuse-bridge-inval.c - forwards the cache notices that reach the top of
 * the graph (another client changed something this mount may have in the
 * kernel's caches) to the kernel: attributes and data of an inode,
 * a directory entry, a deleted entry.
 *
 * The kernel must never be told from inside a fop: an invalidation of an
 * entry takes the directory's lock in the kernel, which a request being
 * answered may hold, and a notice arrives on an rpc event loop thread
 * that must not block.  So the notice path (graph->top_upcall) only
 * queues; one thread of its own drains the queue and calls
 * fuse_lowlevel_notify_inval_inode / _inval_entry / _delete.  The queue is
 * bounded (FB_INVAL_QUEUE_MAX): past it a notice is dropped and counted,
 * and the kernel's own timeouts (entry-timeout, attribute-timeout) bound
 * what it keeps; forget-all notices (a brick lost) are left to those
 * timeouts too.
 *
 * Only inodes the kernel knows (nlookup > 0) are named to it.  Locking:
 * q->lock guards the queue and `stopping`.
 */
#include "config.h"

#include "fuse-bridge.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FB_LOG		   "fuse"
#define FB_INVAL_QUEUE_MAX 65536

struct fb_inval_item {
	struct fb_inval_item *next;
	struct xl_upcall up; /* name points at name[] */
	char name[XL_NAME_MAX + 1];
};

struct fuse_bridge_inval {
	struct fuse_bridge *fb;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fb_inval_item *head, **tail; /* lock */
	unsigned depth;			    /* lock */
	bool stopping;			    /* lock */
	bool dropped_logged;		    /* lock */
	unsigned long dropped;		    /* lock */
	pthread_t thread;
};

/* graph->top_upcall: any thread, must not block. */
static void fb_inval_push(struct xl_graph *g, const struct xl_upcall *up,
			  void *data)
{
	struct fuse_bridge_inval *q = data;
	struct fb_inval_item *it;

	(void)g;
	if (up->what & XL_UP_FORGET_ALL)
		return;
	it = calloc(1, sizeof(*it));
	if (!it)
		return;
	it->up = *up;
	if (up->name) {
		snprintf(it->name, sizeof(it->name), "%s", up->name);
		it->up.name = it->name;
	}
	pthread_mutex_lock(&q->lock);
	if (q->stopping || q->depth >= FB_INVAL_QUEUE_MAX) {
		q->dropped++;
		if (!q->dropped_logged && !q->stopping)
			xl_warn(FB_LOG,
				"invalidation queue full: dropping notices "
				"(the kernel's timeouts bound its caches)");
		q->dropped_logged = true;
		pthread_mutex_unlock(&q->lock);
		free(it);
		return;
	}
	*q->tail = it;
	q->tail = &it->next;
	q->depth++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* The kernel's node id of gfid with a ref held in *ref, or 0 when the
 * kernel does not know it. */
static fuse_ino_t fb_inval_ino(struct fuse_bridge *fb, const uint8_t *gfid,
			       struct xl_inode **ref)
{
	struct xl_inode *inode;

	*ref = NULL;
	if (xl_gfid_is_null(gfid))
		return 0;
	if (xl_gfid_is_root(gfid))
		return FUSE_ROOT_ID;
	/* The home inode: in whichever graph's table the kernel met it. */
	inode = fuse_bridge_home_find(fb, NULL, gfid);
	if (!inode)
		return 0;
	*ref = inode;
	return (fuse_ino_t)(uintptr_t)inode;
}

static void fb_inval_one(struct fuse_bridge *fb, const struct xl_upcall *up)
{
	struct xl_inode *iref, *pref;
	fuse_ino_t ino = fb_inval_ino(fb, up->gfid, &iref);
	fuse_ino_t pino = 0;

	if (up->name)
		pino = fb_inval_ino(fb, up->pargfid, &pref);
	else
		pref = NULL;
	if (pino && ino && ino != pino && (up->what & XL_UP_DELETED))
		fuse_lowlevel_notify_delete(fb->se, pino, ino, up->name,
					    strlen(up->name));
	else if (pino && (up->what & (XL_UP_ENTRY | XL_UP_DELETED)))
		fuse_lowlevel_notify_inval_entry(fb->se, pino, up->name,
						 strlen(up->name));
	/* attributes and cached data: a write elsewhere changed both */
	if (ino && (up->what &
		    (XL_UP_ATTR | XL_UP_XATTR | XL_UP_DELETED | XL_UP_ENTRY)))
		fuse_lowlevel_notify_inval_inode(fb->se, ino, 0, 0);
	if (iref)
		xl_inode_unref(iref);
	if (pref)
		xl_inode_unref(pref);
}

static void *fb_inval_main(void *arg)
{
	struct fuse_bridge_inval *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct fb_inval_item *it;

		while (!q->head && !q->stopping)
			pthread_cond_wait(&q->cond, &q->lock);
		if (!q->head)
			break;
		it = q->head;
		q->head = it->next;
		if (!q->head)
			q->tail = &q->head;
		q->depth--;
		pthread_mutex_unlock(&q->lock);
		if (q->fb->se)
			fb_inval_one(q->fb, &it->up);
		free(it);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int fuse_bridge_inval_start(struct fuse_bridge *fb)
{
	return fuse_bridge_inval_attach(fb, fb->graph);
}

int fuse_bridge_inval_attach(struct fuse_bridge *fb, struct xl_graph *g)
{
	struct fuse_bridge_inval *q;
	int ret;

	if (fb->inval) {
		g->top_upcall_data = fb->inval;
		g->top_upcall = fb_inval_push;
		return 0;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fb = fb;
	q->tail = &q->head;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	ret = -pthread_create(&q->thread, NULL, fb_inval_main, q);
	if (ret != 0) {
		pthread_cond_destroy(&q->cond);
		pthread_mutex_destroy(&q->lock);
		free(q);
		return ret;
	}
	fb->inval = q;
	g->top_upcall_data = q;
	g->top_upcall = fb_inval_push;
	return 0;
}

void fuse_bridge_inval_stop(struct fuse_bridge *fb)
{
	struct fuse_bridge_inval *q = fb->inval;

	if (!q)
		return;
	/* The graph may still send notices until exit: they are dropped
	 * (stopping), the queue itself stays. */
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
}
