/*
 * inode.c - the gfid-keyed inode table and fd objects, each with one
 * context slot per translator.
 *
 * Locking: the table lock guards the hash chains and inode_count; it is
 * taken before an inode's own lock, never the other way round.  An inode
 * leaves the table when its last ref goes (under the table lock, so a
 * concurrent xl_inode_get cannot revive a dying inode).
 */
#include "config.h"

#include "graph.h"
#include "inode.h"
#include "log.h"
#include "xlator.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define INODE_BUCKETS 16384

static atomic_long fd_live;

static size_t inode_bucket(const struct xl_inode_table *t, const uint8_t *gfid)
{
	return (size_t)(XXH3_64bits(gfid, XL_GFID_LEN) % t->bucket_count);
}

static struct xl_inode *inode_alloc(struct xl_inode_table *t,
				    const uint8_t *gfid)
{
	struct xl_inode *inode;

	if (!t->graph)
		return NULL; /* orphaned: no more inodes */
	inode = calloc(1, sizeof(*inode));
	if (!inode)
		return NULL;
	inode->ctx = calloc((size_t)t->graph->count, sizeof(void *));
	if (!inode->ctx) {
		free(inode);
		return NULL;
	}
	memcpy(inode->gfid, gfid, XL_GFID_LEN);
	inode->table = t;
	atomic_init(&inode->refs, 1);
	pthread_mutex_init(&inode->lock, NULL);
	return inode;
}

struct xl_inode_table *xl_inode_table_new(struct xl_graph *g)
{
	struct xl_inode_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->graph = g;
	t->bucket_count = INODE_BUCKETS;
	t->buckets = calloc(t->bucket_count, sizeof(*t->buckets));
	pthread_mutex_init(&t->lock, NULL);
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->root = xl_inode_get(t, xl_gfid_root);
	if (!t->root) {
		free(t->buckets);
		free(t);
		return NULL;
	}
	t->root->type = 0040000; /* S_IFDIR */
	return t;
}

/* g: the table's graph, read under the table's lock by the caller (NULL
 * once orphaned: the slots are already free, and the table may be gone by
 * now). */
static void inode_destroy(struct xl_inode *inode, struct xl_graph *g)
{
	for (int i = 0; g && i < g->count; i++) {
		struct xl *xl = g->xls[i];
		if (inode->ctx[i] && xl->desc->inode_ctx_free)
			xl->desc->inode_ctx_free(xl, inode->ctx[i]);
	}
	pthread_mutex_destroy(&inode->lock);
	free(inode->ctx);
	free(inode);
}

void xl_inode_table_free(struct xl_inode_table *t)
{
	for (size_t b = 0; b < t->bucket_count; b++) {
		struct xl_inode *i = t->buckets[b];
		while (i) {
			struct xl_inode *next = i->hash_next;
			inode_destroy(i, t->graph);
			i = next;
		}
	}
	free(t->buckets);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct xl_inode *inode_lookup_locked(struct xl_inode_table *t,
					    const uint8_t *gfid)
{
	for (struct xl_inode *i = t->buckets[inode_bucket(t, gfid)]; i;
	     i = i->hash_next)
		if (memcmp(i->gfid, gfid, XL_GFID_LEN) == 0)
			return i;
	return NULL;
}

struct xl_inode *xl_inode_find(struct xl_inode_table *t, const uint8_t *gfid)
{
	struct xl_inode *i;

	pthread_mutex_lock(&t->lock);
	i = inode_lookup_locked(t, gfid);
	if (i)
		atomic_fetch_add(&i->refs, 1);
	pthread_mutex_unlock(&t->lock);
	return i;
}

struct xl_inode *xl_inode_get(struct xl_inode_table *t, const uint8_t *gfid)
{
	struct xl_inode *i;

	pthread_mutex_lock(&t->lock);
	i = inode_lookup_locked(t, gfid);
	if (i) {
		atomic_fetch_add(&i->refs, 1);
	} else {
		i = inode_alloc(t, gfid);
		if (i) {
			size_t b = inode_bucket(t, gfid);
			i->hash_next = t->buckets[b];
			t->buckets[b] = i;
			t->inode_count++;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return i;
}

struct xl_inode *xl_inode_ref(struct xl_inode *inode)
{
	atomic_fetch_add(&inode->refs, 1);
	return inode;
}

void xl_inode_unref(struct xl_inode *inode)
{
	struct xl_inode_table *t;
	struct xl_graph *g;

	if (!inode)
		return;
	t = inode->table;
	/* Fast path: not the last reference. */
	int refs = atomic_load(&inode->refs);
	while (refs > 1)
		if (atomic_compare_exchange_weak(&inode->refs, &refs, refs - 1))
			return;
	pthread_mutex_lock(&t->lock);
	if (atomic_fetch_sub(&inode->refs, 1) != 1) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	g = t->graph;
	struct xl_inode **pp = &t->buckets[inode_bucket(t, inode->gfid)];
	while (*pp && *pp != inode)
		pp = &(*pp)->hash_next;
	if (*pp) {
		*pp = inode->hash_next;
		t->inode_count--;
	}
	pthread_mutex_unlock(&t->lock);
	inode_destroy(inode, g);
}

size_t xl_inode_table_count(struct xl_inode_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->inode_count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* Free every context slot of inode with g's translators. */
static void inode_ctx_free_all(struct xl_inode *inode, struct xl_graph *g)
{
	for (int i = 0; i < g->count; i++) {
		struct xl *xl = g->xls[i];
		void *ctx;

		pthread_mutex_lock(&inode->lock);
		ctx = inode->ctx[i];
		inode->ctx[i] = NULL;
		pthread_mutex_unlock(&inode->lock);
		if (ctx && xl->desc->inode_ctx_free)
			xl->desc->inode_ctx_free(xl, ctx);
	}
}

void xl_inode_table_orphan(struct xl_inode_table *t)
{
	struct xl_graph *g = t->graph;
	struct xl_inode **all = NULL;
	size_t n = 0;

	/* Refs first, the frees outside the table's lock: a context's free
	 * may drop inode refs of its own. */
	pthread_mutex_lock(&t->lock);
	all = calloc(t->inode_count ? t->inode_count : 1, sizeof(*all));
	for (size_t b = 0; all && b < t->bucket_count; b++)
		for (struct xl_inode *i = t->buckets[b]; i; i = i->hash_next)
			all[n++] = xl_inode_ref(i);
	pthread_mutex_unlock(&t->lock);
	if (!all)
		xl_warn("inode", "no memory to free the contexts of an "
				 "orphaned inode table: they leak");
	for (size_t k = 0; k < n; k++)
		inode_ctx_free_all(all[k], g);
	/* From now on a dying inode frees no slot (all empty anyway). */
	pthread_mutex_lock(&t->lock);
	t->graph = NULL;
	pthread_mutex_unlock(&t->lock);
	for (size_t k = 0; k < n; k++)
		xl_inode_unref(all[k]);
	free(all);
	xl_inode_unref(t->root);
	t->root = NULL;
}

void *xl_inode_ctx_get(struct xl_inode *inode, struct xl *xl)
{
	void *ctx;

	pthread_mutex_lock(&inode->lock);
	ctx = inode->ctx[xl->index];
	pthread_mutex_unlock(&inode->lock);
	return ctx;
}

void *xl_inode_ctx_set(struct xl_inode *inode, struct xl *xl, void *ctx)
{
	void *old;

	pthread_mutex_lock(&inode->lock);
	old = inode->ctx[xl->index];
	inode->ctx[xl->index] = ctx;
	pthread_mutex_unlock(&inode->lock);
	return old;
}

struct xl_fd *xl_fd_new(struct xl_graph *g, const uint8_t *gfid,
			struct xl_inode *inode, int32_t flags, bool is_dir)
{
	struct xl_fd *fd = calloc(1, sizeof(*fd));

	if (!fd)
		return NULL;
	fd->ctx = calloc((size_t)g->count, sizeof(void *));
	if (!fd->ctx) {
		free(fd);
		return NULL;
	}
	atomic_init(&fd->refs, 1);
	fd->graph = g;
	atomic_fetch_add(&g->live_fds, 1);
	fd->inode = inode ? xl_inode_ref(inode) : NULL;
	memcpy(fd->gfid, gfid, XL_GFID_LEN);
	fd->flags = flags;
	fd->is_dir = is_dir;
	pthread_mutex_init(&fd->lock, NULL);
	atomic_fetch_add(&fd_live, 1);
	return fd;
}

struct xl_fd *xl_fd_ref(struct xl_fd *fd)
{
	atomic_fetch_add(&fd->refs, 1);
	return fd;
}

void xl_fd_unref(struct xl_fd *fd)
{
	struct xl_graph *g;

	if (!fd || atomic_fetch_sub(&fd->refs, 1) != 1)
		return;
	g = fd->graph;
	for (int i = 0; i < g->count; i++) {
		struct xl *xl = g->xls[i];
		if (fd->ctx[i] && xl->desc->fd_ctx_free)
			xl->desc->fd_ctx_free(xl, fd->ctx[i]);
	}
	if (fd->inode)
		xl_inode_unref(fd->inode);
	pthread_mutex_destroy(&fd->lock);
	free(fd->ctx);
	free(fd);
	atomic_fetch_sub(&fd_live, 1);
	atomic_fetch_sub(&g->live_fds, 1);
}

void *xl_fd_ctx_get(struct xl_fd *fd, struct xl *xl)
{
	void *ctx;

	pthread_mutex_lock(&fd->lock);
	ctx = fd->ctx[xl->index];
	pthread_mutex_unlock(&fd->lock);
	return ctx;
}

void *xl_fd_ctx_set(struct xl_fd *fd, struct xl *xl, void *ctx)
{
	void *old;

	pthread_mutex_lock(&fd->lock);
	old = fd->ctx[xl->index];
	fd->ctx[xl->index] = ctx;
	pthread_mutex_unlock(&fd->lock);
	return old;
}

long xl_fd_live_count(void)
{
	return atomic_load(&fd_live);
}
