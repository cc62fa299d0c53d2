/*
 * unify.h - cluster/unify private types, shared by unify.c (set-up,
 * notify, lookup, entry fops, per-file routing) and unify-dir.c (open
 * directories, merged readdir, statfs, the free-space refresh).
 *
 * Where things are: a directory exists on every child (same gfid); any
 * other object lives on exactly one child, remembered in the inode ctx
 * slot of unify as (child index + 1), or UNIFY_CTX_DIR for a directory.
 * The ctx is a plain integer: nothing to free.
 *
 * Names: every symbol of this translator starts with unify_
 * (translators/README.md).
 *
 * Locking: priv->lock guards every field of struct unify_priv marked
 * "lock"; it is a leaf lock, never held while winding or unwinding.
 * pending_writes is atomic.  A directory fd's struct unify_dirfd has its
 * own leaf lock.
 */
#ifndef UNIFY_H
#define UNIFY_H

#include "unify-sched.h"

#include "buf.h"
#include "call.h"
#include "inode.h"
#include "log.h"
#include "xdata-keys.h"
#include "merge.h"
#include "xlator.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define UNIFY_MAX_CHILDREN 64
#define UNIFY_CTX_DIR	   ((uintptr_t)0xffff)
#define UNIFY_WHERE_DIR	   (-1)
#define UNIFY_WHERE_NONE   (-2) /* not known yet: resolve by gfid */
#define UNIFY_WARN_SLOTS   64

struct unify_warned {
	uint64_t hash; /* of (pargfid, name) */
	time_t when;
};

struct unify_priv {
	struct xl *xl;
	int n; /* children */

	pthread_mutex_t lock;
	pthread_cond_t up_cond; /* the child-up waiter sleeps on it */
	struct unify_sched_child sched[UNIFY_MAX_CHILDREN]; /* lock */
	bool refreshing[UNIFY_MAX_CHILDREN];  /* lock: statfs in flight */
	time_t refreshed[UNIFY_MAX_CHILDREN]; /* lock: last statfs sent */
	uint64_t placed[UNIFY_MAX_CHILDREN];  /* lock: files created */
	int up_count;			      /* lock */
	bool parent_up;	     /* lock: CHILD_UP passed to the parents */
	bool waiter_running; /* lock */
	bool stopping;	     /* lock: fini */
	unsigned cursor;     /* lock: round-robin position */
	uint64_t ticket;     /* lock: from the first child, 0 = none */
	bool ticket_sent;    /* lock: asked for it */
	bool ticket_failed;  /* lock: the first child could not give one */
	unsigned rnd;	     /* lock: random scheduler state */
	struct unify_warned warned[UNIFY_WARN_SLOTS]; /* lock */
	pthread_t waiter;

	struct unify_sched_conf conf; /* read-only after init */
	int64_t refresh_interval;     /* seconds */
	int64_t child_wait;	      /* seconds */
	bool create_while_down;	      /* new names with a child down */

	atomic_uint_fast64_t pending_writes[UNIFY_MAX_CHILDREN];
	atomic_uint_fast64_t dup_names;	 /* names on two children seen */
	atomic_uint_fast64_t dir_heals;	 /* directories recreated */
	atomic_uint_fast64_t enotconn;	 /* fops refused: child down */
	atomic_uint_fast64_t refresh_in; /* statfs, ticket answers in flight */
};

/* Per-call state (desc.local_size). */
struct unify_local {
	int idx;	     /* the chosen child */
	int src;	     /* rename: the source's child */
	int keep;	     /* exchange: the child that gets RENAME_EXCHANGE */
	uint64_t swap;	     /* exchange: children that rename loc2 -> loc */
	uint64_t mask;	     /* a set of children */
	struct xl_iatt attr; /* an object's attributes, kept for later */
	struct xl_reply saved; /* the answer, unwound after follow-ups */
	/* readdir */
	int rd_idx;
	uint64_t rd_off; /* the child's own offset */
	int fill_idx;	 /* child whose names are being collected */
	uint64_t fill_off;
};

static inline struct unify_priv *unify_priv(struct xl *xl)
{
	return xl->private;
}

static inline uint64_t unify_bit(int i)
{
	return (uint64_t)1 << i;
}

/* unify.c */
bool unify_child_up(struct unify_priv *priv, int i);
uint64_t unify_up_mask(struct unify_priv *priv);
uint64_t unify_all_mask(struct unify_priv *priv);
void unify_fan(struct xl_call *call, uint64_t mask, enum xl_fop fop,
	       xl_fill_fn fill, xl_gather_fn done);
/* Fill functions (xl_fill_fn) for unify_fan: a copy of the call's args
 * edited for what the children are asked. */
/* + xdata XL_KEY_CHECK_ONLY: the child checks, changes nothing */
int unify_fill_check(struct xl_call *call, struct xl_call *child, int index,
		     int slot, void *cookie);
/* loc = just loc.gfid (a nameless lookup) */
int unify_fill_gfid(struct xl_call *call, struct xl_call *child, int index,
		    int slot, void *cookie);
/* mkdir loc with local->attr's gfid, mode and owner (a directory put
 * back) */
int unify_fill_mkdir(struct xl_call *call, struct xl_call *child, int index,
		     int slot, void *cookie);
/* loc <-> loc2 (undo a rename) */
int unify_fill_swap(struct xl_call *call, struct xl_call *child, int index,
		    int slot, void *cookie);
/* loc = loc2 (act on the rename target) */
int unify_fill_loc2(struct xl_call *call, struct xl_call *child, int index,
		    int slot, void *cookie);
/* one child of a RENAME_EXCHANGE: local->keep exchanges, the children in
 * local->swap rename loc2 -> loc, the others loc -> loc2 */
int unify_fill_exchange(struct xl_call *call, struct xl_call *child, int index,
			int slot, void *cookie);
struct xl_inode *unify_ctx_set(struct xl *xl, const uint8_t *gfid,
			       struct xl_inode *hint, uintptr_t value);

/* Where a by-identity call's object is: a child index, UNIFY_WHERE_DIR or
 * UNIFY_WHERE_NONE. */
int unify_where(struct xl *xl, struct xl_call *call);
/* Every child up, else the call is answered ENOTCONN (false). */
bool unify_need_all(struct xl_call *call);
/* A new name (create, mknod, symlink, link, a rename onto a name no live
 * child has): every child up, since the down one may hold the name,
 * unless create-while-down; else answered ENOTCONN (false). */
bool unify_may_add_name(struct xl_call *call);
/* Unwind local->saved, remembering ctx for its gfid. */
void unify_lookup_finish(struct xl_call *call, uintptr_t ctx);
void unify_inode_put(struct xl_inode *inode);
/* gather: the first error, else the first child's reply with the
 * directory copies' merged times. */
void unify_dir_change_done(struct xl_call *call, struct xl_call **children,
			   const int *index, int n, void *cookie);
void unify_merge_dir_times(struct xl_iatt *attr, struct xl_call **children,
			   int n);

/* unify-entry.c */
void unify_mkdir(struct xl *xl, struct xl_call *call);
void unify_rmdir(struct xl *xl, struct xl_call *call);
void unify_unlink(struct xl *xl, struct xl_call *call);
void unify_link(struct xl *xl, struct xl_call *call);
void unify_rename(struct xl *xl, struct xl_call *call);

/* unify-ticket.c: take this client's round-robin ticket from the first
 * child (in the background; the cursor moves when it answers). */
#define UNIFY_TICKET_XATTR "trusted.mortar.unify.rr-ticket"
void unify_ticket_take(struct xl *xl);
/* A start point for the rotation drawn from this client's identity. */
unsigned unify_ticket_identity(void);

/* unify-local.c: the first child served by this machine, or -1. */
int unify_find_local(struct xl *xl);

/* unify-dir.c */
void unify_opendir(struct xl *xl, struct xl_call *call);
void unify_readdir(struct xl *xl, struct xl_call *call);
void unify_releasedir(struct xl *xl, struct xl_call *call);
void unify_fsyncdir(struct xl *xl, struct xl_call *call);
void unify_statfs(struct xl *xl, struct xl_call *call);
void unify_dirfd_free(struct xl *xl, void *ctx);
void unify_refresh(struct xl *xl, bool force);
void unify_statfs_note(struct unify_priv *priv, int i,
		       const struct xl_statfs *sf);

#endif
