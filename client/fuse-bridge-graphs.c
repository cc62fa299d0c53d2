/*
 * fuse-bridge-graphs.c - the bridge across live graph switches: which
 * graph new calls go to, the inodes behind node ids when several graphs
 * (and so several inode tables) exist, the open files and their move to
 * a new graph, and the drain that destroys a replaced graph once nothing
 * uses it.  The design is in client/README.md ("Live graph switch").
 *
 * Locks, in order: fb->graph_lock (rwlock: graph, old_graphs,
 * kept_tables), then fb->files_lock (the file list), then a file's own
 * lock (its fd and moving).  Inode tables have their own locks below all
 * of these.
 *
 * Threads: the switch, the moves and the drain run on the mount
 * program's volfile watch thread; everything else on FUSE reader threads
 * and graph threads, as in fuse-bridge.c.
 */
#include "config.h"

#include "fuse-bridge.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FB_LOG "fuse"

struct fuse_bridge_old {
	struct xl_graph *graph;
	struct fuse_bridge_old *next;
};

void fuse_bridge_graphs_init(struct fuse_bridge *fb)
{
	pthread_rwlock_init(&fb->graph_lock, NULL);
	pthread_mutex_init(&fb->files_lock, NULL);
}

/* ---- inodes ------------------------------------------------------------ */

struct xl_inode *fuse_bridge_inode_in(struct xl_graph *g, fuse_ino_t ino)
{
	struct xl_inode *home, *inode;

	if (ino == FUSE_ROOT_ID)
		return xl_inode_ref(g->itable->root);
	home = (struct xl_inode *)(uintptr_t)ino;
	if (home->table == g->itable)
		return xl_inode_ref(home);
	inode = xl_inode_get(g->itable, home->gfid);
	if (inode && !inode->type)
		inode->type = home->type;
	return inode;
}

/* gfid's inode in t if the kernel knows it (new ref), else NULL. */
static struct xl_inode *fb_known_in(struct xl_inode_table *t,
				    const uint8_t *gfid)
{
	struct xl_inode *inode = xl_inode_find(t, gfid);

	if (inode && atomic_load(&inode->nlookup) == 0) {
		xl_inode_unref(inode);
		inode = NULL;
	}
	return inode;
}

struct xl_inode *fuse_bridge_home_find(struct fuse_bridge *fb,
				       struct xl_inode_table *skip,
				       const uint8_t *gfid)
{
	struct xl_inode *inode = NULL;

	pthread_rwlock_rdlock(&fb->graph_lock);
	if (fb->graph->itable != skip)
		inode = fb_known_in(fb->graph->itable, gfid);
	for (struct fuse_bridge_old *o = fb->old_graphs; o && !inode;
	     o = o->next)
		if (o->graph->itable != skip)
			inode = fb_known_in(o->graph->itable, gfid);
	for (int i = 0; i < fb->kept_count && !inode; i++)
		if (fb->kept_tables[i] != skip)
			inode = fb_known_in(fb->kept_tables[i], gfid);
	pthread_rwlock_unlock(&fb->graph_lock);
	return inode;
}

/* ---- switch and drain ---------------------------------------------------- */

void fuse_bridge_graph_switch(struct fuse_bridge *fb, struct xl_graph *g)
{
	struct fuse_bridge_old *o = calloc(1, sizeof(*o));

	pthread_rwlock_wrlock(&fb->graph_lock);
	if (o) {
		o->graph = fb->graph;
		o->next = fb->old_graphs;
		fb->old_graphs = o;
	} else {
		/* Never destroyed then: it leaks, but nothing breaks. */
		xl_warn(FB_LOG, "no memory to track the replaced graph: it "
				"stays until exit");
	}
	fb->graph = g;
	pthread_rwlock_unlock(&fb->graph_lock);
}

static bool fb_graph_drained(struct xl_graph *g)
{
	return atomic_load(&g->live_root_calls) == 0 &&
	       atomic_load(&g->live_fds) == 0;
}

/* Free the kept tables the kernel no longer names anything in.  graph_lock
 * held for writing: no one searches them meanwhile. */
static void fb_prune_tables_locked(struct fuse_bridge *fb)
{
	int k = 0;

	for (int i = 0; i < fb->kept_count; i++) {
		struct xl_inode_table *t = fb->kept_tables[i];

		if (xl_inode_table_count(t) == 0)
			xl_inode_table_free(t);
		else
			fb->kept_tables[k++] = t;
	}
	fb->kept_count = k;
}

int fuse_bridge_graphs_drain(struct fuse_bridge *fb)
{
	struct fuse_bridge_old *done = NULL, **pp;
	int left = 0;

	pthread_rwlock_wrlock(&fb->graph_lock);
	for (pp = &fb->old_graphs; *pp;) {
		struct fuse_bridge_old *o = *pp;
		struct xl_inode_table **grown;

		if (!fb_graph_drained(o->graph)) {
			left++;
			pp = &o->next;
			continue;
		}
		grown = realloc(fb->kept_tables,
				(size_t)(fb->kept_count + 1) * sizeof(*grown));
		if (!grown) {
			left++;
			pp = &o->next;
			continue;
		}
		fb->kept_tables = grown;
		fb->kept_tables[fb->kept_count++] = o->graph->itable;
		*pp = o->next;
		o->next = done;
		done = o;
	}
	fb_prune_tables_locked(fb);
	pthread_rwlock_unlock(&fb->graph_lock);
	/* Outside the lock: fini closes connections and may wait for their
	 * threads.  The tables stay (kept) with the kernel's node ids. */
	while (done) {
		struct fuse_bridge_old *o = done;

		done = o->next;
		xl_info(FB_LOG, "replaced graph %s drained: destroyed",
			o->graph->filename);
		o->graph->keep_itable = true;
		xl_graph_destroy(o->graph);
		free(o);
	}
	return left;
}

/* ---- open files -----------------------------------------------------------
 */

struct fuse_bridge_file *fuse_bridge_file_new(struct fuse_bridge *fb,
					      struct xl_fd *fd)
{
	struct fuse_bridge_file *file = calloc(1, sizeof(*file));

	if (!file)
		return NULL;
	pthread_mutex_init(&file->lock, NULL);
	pthread_cond_init(&file->moved, NULL);
	file->fd = fd;
	/* The home the kernel opened it through: the inode it knows. */
	if (xl_gfid_is_root(fd->gfid))
		file->home = xl_inode_ref(fb->root);
	else
		file->home = fuse_bridge_home_find(fb, NULL, fd->gfid);
	if (!file->home)
		file->home = xl_inode_ref(fd->inode);
	pthread_mutex_lock(&fb->files_lock);
	file->next = fb->files;
	if (fb->files)
		fb->files->prev = file;
	fb->files = file;
	pthread_mutex_unlock(&fb->files_lock);
	return file;
}

void fuse_bridge_file_wait_locked(struct fuse_bridge_file *file)
{
	while (file->moving)
		pthread_cond_wait(&file->moved, &file->lock);
}

struct xl_fd *fuse_bridge_file_fd(struct fuse_file_info *fi)
{
	struct fuse_bridge_file *file =
	    (struct fuse_bridge_file *)(uintptr_t)fi->fh;
	struct xl_fd *fd;

	pthread_mutex_lock(&file->lock);
	fuse_bridge_file_wait_locked(file);
	fd = xl_fd_ref(file->fd);
	pthread_mutex_unlock(&file->lock);
	return fd;
}

struct xl_fd *fuse_bridge_file_end(struct fuse_bridge *fb,
				   struct fuse_bridge_file *file)
{
	struct xl_fd *fd;

	pthread_mutex_lock(&fb->files_lock);
	if (file->prev)
		file->prev->next = file->next;
	else
		fb->files = file->next;
	if (file->next)
		file->next->prev = file->prev;
	pthread_mutex_unlock(&fb->files_lock);
	pthread_mutex_lock(&file->lock);
	fuse_bridge_file_wait_locked(file);
	fd = file->fd;
	pthread_mutex_unlock(&file->lock);
	xl_inode_unref(file->home);
	pthread_cond_destroy(&file->moved);
	pthread_mutex_destroy(&file->lock);
	free(file);
	return fd;
}
