/*
 * fuse-bridge-move.c - move open files to the graph a switch made
 * current: reopen each one there by gfid, then release it on its old
 * graph, so the old graph can drain (client/README.md, "Live graph
 * switch").
 *
 * One file at a time, on the mount program's volfile watch thread, with
 * synchronous calls (the answers come on graph threads).  While a file
 * moves, calls on it wait in fuse_bridge_file_fd (a few round trips);
 * calls on other files go on.  The steps, each a reason to leave the
 * file where it is (no error reaches the application, the file only
 * keeps its old graph until it is closed):
 *
 *   1. directories stay (a readdir offset is the old graph's, distribute
 *      encodes the subvolume in it), and so do files this mount asked a
 *      POSIX lock or flock on (the brick sees the new graph as another
 *      client: its locks would conflict with the old ones);
 *   2. wait until no call is in flight on the old fd (bounded);
 *   3. FSYNC it on the old graph: write-behind there sends what it holds,
 *      so nothing written before the move lands after a write made after
 *      it, and a delayed write error is not lost (it fails the move: the
 *      application sees it on the old graph as it would have);
 *   4. LOOKUP the gfid (no name) on the new graph, so its translators
 *      know where the file is;
 *   5. OPEN it there with the open flags less O_CREAT, O_EXCL, O_TRUNC
 *      (the file exists; a truncation now would lose what was written);
 *   6. swap the fds and RELEASE the old one on the old graph.
 */
#include "config.h"

#include "fuse-bridge.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FB_LOG "fuse"
/* How long a move waits for the calls in flight on a file to end. */
#define FB_MOVE_IDLE_MS 5000

/* A call the mover waits for. */
struct fb_sync {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int ret;
};

static void fb_sync_done(struct xl_call *parent, struct xl_call *call,
			 void *cookie)
{
	struct fb_sync *s = cookie;

	(void)parent;
	pthread_mutex_lock(&s->lock);
	s->ret = call->reply.ret;
	s->done = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Run fop on g for inode, with fd when not NULL (the caller's ref goes
 * with the call; its open flags are the call's), and wait for the answer:
 * 0 or -errno.  Every call is answered (a lost brick fails it, a silent
 * one times out), so the wait ends. */
static int fb_sync_call(struct xl_graph *g, enum xl_fop fop, struct xl_fd *fd,
			struct xl_inode *inode)
{
	struct fb_sync s = {.done = false};
	struct xl_call *call;

	call = xl_call_new_root(g, fop, NULL, fb_sync_done, &s);
	if (!call) {
		if (fd)
			xl_fd_unref(fd);
		return -ENOMEM;
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	memcpy(call->args.loc.gfid, inode->gfid, XL_GFID_LEN);
	call->args.loc.inode = xl_inode_ref(inode);
	call->args.fd = fd; /* the caller's ref goes with the call */
	if (fd) {
		call->args.flags = fd->flags;
		call->args.cmd = 0; /* FSYNC: data and metadata */
	}
	xl_call_start(call, g->top);
	pthread_mutex_lock(&s.lock);
	while (!s.done)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);
	return s.ret;
}

/* Wait until only the file's own ref is left on fd (no call in flight). */
static bool fb_fd_idle(struct xl_fd *fd)
{
	for (int ms = 0; ms < FB_MOVE_IDLE_MS; ms++) {
		if (atomic_load(&fd->refs) == 1)
			return true;
		usleep(1000);
	}
	return false;
}

/* Steps 2-5 for fd (on its old graph) to g: the new fd, or NULL with
 * *why set. */
static struct xl_fd *fb_reopen(struct xl_fd *old, struct xl_graph *g,
			       const char **why, int *err)
{
	struct xl_inode *inode;
	struct xl_fd *fd;
	int32_t flags = old->flags & ~(O_CREAT | O_EXCL | O_TRUNC);

	*err = 0;
	*why = "calls in flight did not end";
	if (!fb_fd_idle(old))
		return NULL;
	*why = "fsync on the old graph failed";
	*err =
	    fb_sync_call(old->graph, XL_FOP_FSYNC, xl_fd_ref(old), old->inode);
	if (*err < 0 || !fb_fd_idle(old))
		return NULL;
	*why = "no memory";
	*err = -ENOMEM;
	inode = xl_inode_get(g->itable, old->gfid);
	if (!inode)
		return NULL;
	if (!inode->type && old->inode)
		inode->type = old->inode->type;
	*why = "lookup on the new graph failed";
	*err = fb_sync_call(g, XL_FOP_LOOKUP, NULL, inode);
	fd =
	    *err < 0 ? NULL : xl_fd_new(g, old->gfid, inode, old->flags, false);
	if (fd) {
		*why = "open on the new graph failed";
		fd->flags = flags;
		*err = fb_sync_call(g, XL_FOP_OPEN, xl_fd_ref(fd), inode);
		if (*err < 0) {
			xl_fd_unref(fd);
			fd = NULL;
		} else {
			fd->flags = old->flags; /* as the kernel opened it */
		}
	}
	xl_inode_unref(inode);
	return fd;
}

/* Step 1: a file that stays where it is. */
static bool fb_file_stays(const struct fuse_bridge_file *file)
{
	return file->fd->is_dir || file->fd->lk_owner != 0 ||
	       atomic_load(&file->home->posix_lk_asked);
}

/* The next file to move to g, marked moving; NULL when none is left. */
static struct fuse_bridge_file *fb_next_to_move(struct fuse_bridge *fb,
						struct xl_graph *g, int *stayed)
{
	struct fuse_bridge_file *pick = NULL;

	pthread_mutex_lock(&fb->files_lock);
	for (struct fuse_bridge_file *f = fb->files; f && !pick; f = f->next) {
		pthread_mutex_lock(&f->lock);
		if (!f->moving && !f->stays && f->fd->graph != g) {
			if (fb_file_stays(f)) {
				f->stays = true;
				(*stayed)++;
			} else {
				f->moving = true;
				pick = f;
			}
		}
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_unlock(&fb->files_lock);
	return pick;
}

int fuse_bridge_files_move(struct fuse_bridge *fb, int *stayed)
{
	struct fuse_bridge_file *file;
	struct xl_graph *g;
	int moved = 0;

	*stayed = 0;
	pthread_rwlock_rdlock(&fb->graph_lock);
	g = fb->graph;
	pthread_rwlock_unlock(&fb->graph_lock);
	/* Only this thread switches graphs, so g stays current here. */
	while ((file = fb_next_to_move(fb, g, stayed)) != NULL) {
		struct xl_fd *old = file->fd, *fd;
		const char *why = NULL;
		char gfid[64];
		int err;

		/* The kernel may close the file once it is no longer moving. */
		xl_gfid_to_str(old->gfid, gfid);
		fd = fb_reopen(old, g, &why, &err);
		pthread_mutex_lock(&file->lock);
		if (fd)
			file->fd = fd;
		else
			file->stays = true;
		file->moving = false;
		pthread_cond_broadcast(&file->moved);
		pthread_mutex_unlock(&file->lock);
		if (fd) {
			fuse_bridge_release_fd(fb, old);
			moved++;
			continue;
		}
		(*stayed)++;
		xl_warn(FB_LOG,
			"open file gfid=%s stays on the replaced graph until "
			"it is closed: %s (errno=%d)",
			gfid, why, -err);
	}
	return moved;
}
