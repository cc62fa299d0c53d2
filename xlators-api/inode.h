/*
 * inode.h - inodes and fds keyed by gfid, with per-translator contexts.
 *
 * An inode table belongs to a graph.  An inode is refcounted (_ref/_unref);
 * the table keeps it findable by gfid while anyone holds a ref.  The FUSE
 * bridge additionally counts kernel lookups (nlookup) and holds one ref
 * while nlookup > 0.
 *
 * Each inode and fd has one context slot per translator of the graph
 * (index xl->index), guarded by the object's own lock.  desc->inode_ctx_free
 * / fd_ctx_free free a slot when the object dies.
 */
#ifndef MORTAR_INODE_H
#define MORTAR_INODE_H

#include "fop.h"
#include <pthread.h>
#include <stdatomic.h>

struct xl;
struct xl_graph;

struct xl_inode {
	uint8_t gfid[XL_GFID_LEN];
	struct xl_inode_table *table;
	atomic_int refs;
	atomic_uint_fast64_t nlookup; /* kernel lookups (bridge only) */
	atomic_bool posix_lk_asked;   /* a POSIX lock asked (bridge only) */
	uint32_t type;		      /* S_IFMT bits, 0 until known */
	pthread_mutex_t lock;	      /* guards ctx */
	void **ctx;		      /* [graph->count] */
	struct xl_inode *hash_next;   /* table bucket chain, table lock */
};

struct xl_inode_table {
	struct xl_graph *graph; /* NULL once orphaned */
	pthread_mutex_t lock;
	struct xl_inode **buckets;
	size_t bucket_count;
	size_t inode_count;
	struct xl_inode *root;
};

struct xl_inode_table *xl_inode_table_new(struct xl_graph *g);
void xl_inode_table_free(struct xl_inode_table *t);
/*
 * The graph of t goes away but its inodes stay (the FUSE bridge hands
 * their addresses to the kernel as node ids): every context slot is freed
 * now, with the graph's translators (call it before their descriptors
 * go), the table's own root ref is dropped, and t->graph becomes NULL.
 * The inodes keep their refs, gfids and lookup counts; xl_inode_find and
 * _ref/_unref work as before, xl_inode_get returns NULL (no graph to size
 * the slots).  The owner frees t with xl_inode_table_free once
 * inode_count is 0.
 */
void xl_inode_table_orphan(struct xl_inode_table *t);
/* inode_count under the table's lock. */
size_t xl_inode_table_count(struct xl_inode_table *t);

/* The inode for gfid, created if absent.  Returns a new ref; NULL on
 * ENOMEM. */
struct xl_inode *xl_inode_get(struct xl_inode_table *t, const uint8_t *gfid);
/* The inode for gfid if present (new ref), else NULL. */
struct xl_inode *xl_inode_find(struct xl_inode_table *t, const uint8_t *gfid);
struct xl_inode *xl_inode_ref(struct xl_inode *inode);
void xl_inode_unref(struct xl_inode *inode);

/* ctx get returns the stored pointer (borrowed) or NULL. set replaces and
 * returns the old one (caller frees it). */
void *xl_inode_ctx_get(struct xl_inode *inode, struct xl *xl);
void *xl_inode_ctx_set(struct xl_inode *inode, struct xl *xl, void *ctx);

/*
 * An open file or directory.  Created by whoever opens (the bridge on the
 * client, protocol/server on the brick) and passed down in args.fd; every
 * translator that keeps per-open state stores it in the fd's ctx slot.
 */
struct xl_fd {
	atomic_int refs;
	struct xl_graph *graph;
	struct xl_inode *inode; /* ref, may be NULL on the brick */
	uint8_t gfid[XL_GFID_LEN];
	int32_t flags; /* open flags */
	bool is_dir;
	uint64_t lk_owner; /* for flock: the open file's owner */
	pthread_mutex_t lock;
	void **ctx; /* [graph->count] */
};

struct xl_fd *xl_fd_new(struct xl_graph *g, const uint8_t *gfid,
			struct xl_inode *inode, int32_t flags, bool is_dir);
struct xl_fd *xl_fd_ref(struct xl_fd *fd);
void xl_fd_unref(struct xl_fd *fd);
void *xl_fd_ctx_get(struct xl_fd *fd, struct xl *xl);
void *xl_fd_ctx_set(struct xl_fd *fd, struct xl *xl, void *ctx);

/* Live counts for the state dump. */
long xl_fd_live_count(void);

#endif
