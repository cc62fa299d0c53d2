/*
 * replicate.h - cluster/replicate: what its files share (private header).
 * Its symbols carry the prefix afr_ (automatic file replication, the
 * historical name of this translator in the systems Mortar grows from;
 * one prefix per translator, translators/README.md).
 *
 * Synchronous N-way replication.  Every copy keeps, per sibling, pending
 * counters trusted.mortar.afr.<child name> (data, metadata, entry; see
 * doc/cluster.md).  Writes run in a transaction (inodelk, pre-op xattrop
 * +1 for every child, the fop on all, post-op xattrop -1 for the children
 * where it worked, unlock), so a copy that missed something stays blamed
 * by the others: that is what heal reads.
 *
 * Files: replicate.c (descriptor, options, notify, per-gfid state, the
 * idle timer), replicate-judge.c (the pure decisions: verdict, quorum,
 * read child, what an arbiter may be; no I/O), replicate-txn.c
 * (transactions and every fop that changes something but writes),
 * replicate-eager.c (writes, with eager locking), replicate-read.c
 * (lookup and the read path), replicate-lk.c (POSIX locks and flock on
 * every copy, and what each fd holds), replicate-lkstate.c (the pure
 * bookkeeping of those locks), replicate-lkheal.c (a returning copy gets
 * back the locks another copy kept), replicate-dir.c (directories),
 * replicate-heal.c (one heal, the split-brain policies), replicate-heal-copy.c
 * (data, metadata and entry copies), replicate-heal-queue.c (heal threads, the
 * index crawl, the virtual xattrs of mortar-heal).
 *
 * Internal operations (locks, xattrops, heal reads and writes) are
 * internal calls sent straight to one child (xl_call_internal): they
 * belong to no application call, so they can outlive it (eager post-op,
 * background heal), but carry the request id of the one they serve (a
 * transaction's fop, the write that took an eager lock, the open that
 * inspects); heal and lock restores are background work.  Their
 * completions are plain xl_cbk_fn; afr_ic_child says which child answered.
 *
 * Lock order: priv->lock before an afr_inode's lock (table walks); never
 * priv->lock while an afr_inode's lock is held; an fd's lock (its ctx
 * slot) after both.  priv->up is atomic so the
 * eager-lock code can read it under the inode's lock.
 */
#ifndef MORTAR_REPLICATE_H
#define MORTAR_REPLICATE_H

#include "buf.h"
#include "call.h"
#include "inode.h"
#include "lk-range.h"
#include "log.h"
#include "xlator.h"
#include "xdata-keys.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define AFR_MAX_CHILDREN   16
#define AFR_BUCKETS	   1024
#define AFR_PENDING_PREFIX "trusted.mortar.afr."
/* Virtual xattrs the heal tool uses on the top of the graph. */
#define AFR_VX_STATUS  "mortar.replicate.heal-status"
#define AFR_VX_HEAL    "mortar.replicate.heal"
#define AFR_VX_RESOLVE "mortar.replicate.resolve"
#define AFR_VX_INDEX   "mortar.replicate.heal-index"

enum afr_type { AFR_DATA = 0, AFR_META = 1, AFR_ENTRY = 2, AFR_TYPES = 3 };

enum afr_policy {
	AFR_POLICY_NONE = 0,
	AFR_POLICY_SIZE,
	AFR_POLICY_MTIME,
	AFR_POLICY_MAJORITY,
};

/* What is known about one gfid on this client, in priv's table.
 * lock guards every field below it. */
struct afr_inode {
	struct afr_inode *hash_next; /* priv->lock */
	int refs;		     /* priv->lock */
	uint8_t gfid[XL_GFID_LEN];
	pthread_mutex_t lock;
	uint32_t bad; /* children not to read from (blamed / failed) */
	/* Children that came back after an absence since this object was
	 * last judged (lookup, open, heal): they may have missed a change
	 * to it, so reads avoid them while another copy can answer. */
	uint32_t unjudged;
	uint32_t sb;   /* AFR_TYPES bits: split-brain seen on lookup */
	uint32_t type; /* S_IFMT once known */
	bool healing;  /* a background heal runs */
	/* Eager lock (replicate-eager.c): for writes on a file (AFR_DATA),
	 * for entry changes in a directory (AFR_ENTRY). */
	int estate;		  /* AFR_E_* */
	int etype;		  /* AFR_DATA or AFR_ENTRY, while not NONE */
	uint32_t eon;		  /* children in the eager transaction */
	struct xl_origin eorigin; /* the write that took the eager lock */
	uint32_t efailed;	  /* of those, children where a write failed */
	uint32_t elocked;	  /* children whose lock was granted */
	int inflight;		  /* writes sent, not answered */
	bool release_asap;	  /* flush/fsync/other txn wants the lock */
	uint64_t last_ms;	  /* last write activity (CLOCK_MONOTONIC) */
	uint64_t locked_ms;	  /* when the eager lock was granted */
	struct afr_waiter *waiters; /* calls waiting for lock or release */
	/* POSIX locks and flock taken through this client (replicate-lk.c,
	 * replicate-lkheal.c). */
	struct afr_lkfd *lkfds;	      /* records of the fds holding some */
	int lk_busy;		      /* lock changes in flight */
	bool lk_restoring;	      /* a restore runs: changes wait */
	uint32_t lk_want;	      /* children waiting for a restore */
	struct afr_waiter *lk_parked; /* changes waiting for the restore */
};

enum { AFR_E_NONE = 0, AFR_E_LOCKING, AFR_E_LOCKED, AFR_E_RELEASING };

struct afr_waiter {
	struct afr_waiter *next;
	struct xl_call *call;
	void (*resume)(struct xl_call *call, struct afr_inode *ai);
};

struct afr_heal_rt;

struct afr_priv {
	struct xl *xl;
	int n;
	struct xl **children;
	char *pending_key[AFR_MAX_CHILDREN]; /* trusted.mortar.afr.<name> */
	char *xattr_req;		     /* NUL-separated pending keys */
	uint32_t xattr_req_len;
	int quorum; /* -1 auto, 0 none, N */
	/* Children holding no file data (arbiter bricks, features/arbiter
	 * on the brick): never read from, never a data-heal source or sink
	 * of bytes, but in quorum and in the changelog.  0 without. */
	uint32_t arbiters;
	enum afr_policy favorite;
	bool heal_on_lookup;
	bool heal_daemon;
	uint64_t chunk_size;
	int heal_parallel;
	int post_op_delay_ms;
	bool eager_entry;     /* entry changes under a directory's eager lock */
	uint64_t client_salt; /* spreads read children across clients */

	/* Children that are up.  Atomic: read without any lock (it is
	 * read under afr_inode locks, which must never take priv->lock). */
	_Atomic uint32_t up;
	pthread_mutex_t lock; /* guards seen_down, table, heal counters */
	uint32_t seen_down;   /* children that went down since first up */
	uint32_t returned;    /* children that came back after an absence */
	bool announced;	      /* CHILD_UP sent to the parents */
	struct afr_inode *table[AFR_BUCKETS];
	int inode_count;
	int heals_running;
	uint64_t heals_done, heals_failed, index_crawls;
	/* Transactions whose locks were all granted at the first try, and
	 * those that had to wait in child order (state dump). */
	atomic_uint_fast64_t txn_locks_at_once, txn_locks_contended;

	/* The idle timer: delayed post-ops and queued index crawls. */
	pthread_t timer;
	bool timer_ok;
	bool stopping;
	pthread_cond_t cond;
	uint32_t crawl_wanted; /* children whose return wants an index crawl */
	bool crawl_running;
	struct afr_heal_rt *heal_rt; /* replicate-heal.c */
	/* Bumped when a child goes down or comes up: a lock restore started
	 * on one connection of the child never finishes on another. */
	_Atomic uint64_t lk_epoch[AFR_MAX_CHILDREN];
	_Atomic uint64_t lk_restored, lk_unrestored; /* fd records */
};

/* Per-call state of every fop (desc->local_size). */
struct afr_local {
	struct afr_priv *priv;
	struct afr_inode *ai;  /* ref, or NULL */
	struct afr_txn *txn;   /* replicate-txn.c, owned */
	struct xl_reply reply; /* the answer being built */
	int child;	       /* read child tried */
	uint32_t tried;
	void *heal;    /* replicate-heal.c job waited on (setxattr heal) */
	bool lk_gated; /* lk / flock: counted in ai->lk_busy, to book */
};

/* ---- replicate-lkstate.c: what an fd holds, pure (no I/O) ---------- */
/* A lock request as the bookkeeping sees it. */
struct afr_lkreq {
	bool flock;	    /* flock (whole file, owned by the fd), or POSIX */
	int type;	    /* F_RDLCK, F_WRLCK, F_UNLCK */
	int64_t start, end; /* inclusive; end XL_LK_EOF = to end of file */
	uint64_t owner;	    /* POSIX: the lock owner */
	uint32_t pid;
};

/* How a lock request ended. */
enum afr_lk_outcome {
	AFR_LK_GRANTED,	 /* a lock, granted on the children in granted */
	AFR_LK_UNLOCKED, /* an unlock (done on some copies or not) */
	AFR_LK_UNDONE,	 /* a lock refused after some copies granted it:
			  * unlocked there again */
	AFR_LK_REFUSED,	 /* a lock refused by the first copy that answered */
	AFR_LK_UNSENT,	 /* no copy processed it (down, fd not open) */
};

/* One fd's locks through this client (see replicate-lkstate.c).  Lives in
 * the fd's ctx; linked on ai->lkfds from its first lock until release.
 * Guarded by the afr_inode's lock. */
struct afr_lkfd {
	struct afr_lkfd *next;	 /* ai->lkfds */
	struct xl_fd *fd;	 /* borrowed while linked (see afr_release) */
	struct xl_lk_list posix; /* who = {0, lock owner} */
	int flock_type;		 /* F_UNLCK: none */
	uint32_t held;		 /* children holding all of it */
	bool broken;		 /* bookkeeping failed: never restored */
};

void afr_lkfd_init(struct afr_lkfd *r, uint32_t all);
void afr_lkfd_clear(struct afr_lkfd *r);
bool afr_lkfd_empty(const struct afr_lkfd *r);
/* Book the end of req, made through self (NULL: an fd without a record,
 * e.g. an unlock), on the records all of its gfid (self among them). */
void afr_lkfd_book(struct afr_lkfd *all, struct afr_lkfd *self,
		   const struct afr_lkreq *req, enum afr_lk_outcome outcome,
		   uint32_t granted);
/* A flush (close) of owner: its POSIX locks on the gfid go. */
void afr_lkfd_flushed(struct afr_lkfd *all, uint64_t owner);
/* A child went down or came back: it holds none of these any more. */
void afr_lkfd_child_gone(struct afr_lkfd *all, int child);
/* May child (up, not in r->held) get r's locks back now? */
bool afr_lkfd_restorable(const struct afr_lkfd *r, int child, uint32_t up);
/* The requests that re-take r's locks (malloc'd array, *n of them; NULL
 * and 0 when r is empty).  0 or -ENOMEM. */
int afr_lkfd_plan(const struct afr_lkfd *r, struct afr_lkreq **out, int *n);
/* r is held on child again (restored). */
void afr_lkfd_restored(struct afr_lkfd *r, int child);

/* The ctx replicate keeps on an fd: a directory's listing copy
 * (replicate-dir.c), a file's lock record (replicate-lk.c).  calloc'd;
 * freed by afr_fd_ctx_free. */
struct afr_fdctx {
	int child;	      /* directories: the copy the listing is from */
	struct afr_inode *ai; /* ref while lk is in use, else NULL */
	bool lk_linked;	      /* lk is on ai->lkfds */
	struct afr_lkfd lk;
};

/* ---- replicate-judge.c: pure decisions, no I/O ---------------------- */
int afr_popcount(uint32_t m);
uint32_t afr_up_mask(struct afr_priv *priv);
/* Client quorum: auto = more than half, or exactly half including the
 * first child; N = at least N; none = at least one. */
bool afr_quorum_ok(struct afr_priv *priv, uint32_t mask);
/* With an arbiter, a change of file data needs a data copy in mask that
 * is not in bad (blamed): the arbiter alone knows the blamed one is
 * stale, and writing there would turn its verdict into a split-brain.
 * Always true without an arbiter. */
bool afr_data_writable(const struct afr_priv *priv, uint32_t bad,
		       uint32_t mask);
/*
 * Analyse the pending matrix of the copies that answered (valid mask):
 * for each type, the sources (copies no other copy accuses) and the sinks.
 * A copy accuses a sibling when its counter for the sibling exceeds the
 * one for itself (equal counters are an unfinished transaction: "maybe
 * dirty", not an accusation).  Split-brain: no source among valid copies
 * while someone is accused.
 */
struct afr_verdict {
	uint32_t sources[AFR_TYPES];
	uint32_t sinks[AFR_TYPES];
	uint32_t dirty[AFR_TYPES]; /* some counter not zero */
	uint32_t sb;		   /* types in split-brain (bits 1<<type) */
};
void afr_judge(struct afr_priv *priv, uint32_t valid,
	       int64_t (*m)[AFR_MAX_CHILDREN][AFR_TYPES],
	       struct afr_verdict *v);
/* The copy to read gfid from (NULL: by this client alone): hash of the
 * gfid and the client among the up children not in bad or exclude, never
 * an arbiter; -1 when none. */
int afr_read_child_of(struct afr_priv *priv, const uint8_t *gfid, uint32_t bad,
		      uint32_t exclude);
/* The copies a heal of type may take as its source: the verdict's
 * sources, never an arbiter for data.  0: none here now. */
uint32_t afr_heal_sources(const struct afr_priv *priv,
			  const struct afr_verdict *v, int type);

/* ---- replicate.c -------------------------------------------------- */
/* afr_data_writable for ai's bad copies.  _locked: ai->lock held. */
bool afr_data_ok(struct afr_priv *priv, struct afr_inode *ai, uint32_t mask);
bool afr_data_ok_locked(struct afr_priv *priv, struct afr_inode *ai,
			uint32_t mask);
uint64_t afr_now_ms(void);
struct afr_inode *afr_inode_get(struct afr_priv *priv, const uint8_t *gfid);
void afr_inode_put(struct afr_priv *priv, struct afr_inode *ai);
/* One more ref on ai, held by the caller.  Not with ai->lock held. */
void afr_inode_ref(struct afr_priv *priv, struct afr_inode *ai);
struct afr_local *afr_local(struct xl_call *call);
/* gfid a fop acts on: loc.gfid, else the fd's. */
const uint8_t *afr_call_gfid(struct xl_call *call);
void afr_wake_timer(struct afr_priv *priv);

/* The index of the child an internal call (xl_call_internal from this
 * translator) went to, in its completion; -1 when not one of ours. */
int afr_ic_child(const struct xl_call *ic);
int afr_loc_gfid(struct xl_loc *loc, const uint8_t *gfid);
/* xdata for an xattrop: add delta at index type for each child in mask. */
struct xl_dict *afr_pending_dict(struct afr_priv *priv, int type, uint32_t mask,
				 int64_t delta);
/* Read the pending matrix row of one copy from a dict of xattrs.
 * row[j][t]; absent = 0. */
void afr_pending_row(struct afr_priv *priv, const struct xl_dict *d,
		     int64_t row[][AFR_TYPES]);

/* ---- replicate-txn.c ---------------------------------------------- */
void afr_writev(struct xl *xl, struct xl_call *call);
void afr_setattr(struct xl *xl, struct xl_call *call);
void afr_fallocate(struct xl *xl, struct xl_call *call);
void afr_setxattr(struct xl *xl, struct xl_call *call);
void afr_removexattr(struct xl *xl, struct xl_call *call);
void afr_entry_fop(struct xl *xl, struct xl_call *call);
void afr_open(struct xl *xl, struct xl_call *call);
void afr_flush(struct xl *xl, struct xl_call *call);
void afr_fsync(struct xl *xl, struct xl_call *call);
void afr_release(struct xl *xl, struct xl_call *call);
/* The idle timer's work: release eager locks idle for the delay. */
void afr_eager_tick(struct afr_priv *priv);
/* Release every eager lock now (fini). */
void afr_eager_release_all(struct afr_priv *priv);

/* ---- replicate-read.c --------------------------------------------- */
void afr_lookup(struct xl *xl, struct xl_call *call);
void afr_read_fop(struct xl *xl, struct xl_call *call);
void afr_getxattr(struct xl *xl, struct xl_call *call);
void afr_statfs(struct xl *xl, struct xl_call *call);
void afr_inspect(struct xl_call *call, void (*then)(struct xl_call *call));
/* The child to read gfid from, among up children not in ai->bad; -1 when
 * none. */
int afr_read_child(struct afr_priv *priv, struct afr_inode *ai,
		   uint32_t exclude);
/* afr_read_child_of (replicate-judge.c) with ai's bad copies. */
/* An object with an up copy blamed or in split-brain: what a read says
 * of it may change at the next heal (no cache keeps it). */
bool afr_unsettled(struct afr_priv *priv, struct afr_inode *ai);

/* ---- replicate-lk.c ----------------------------------------------- */
/* lk and flock: on every live copy (see the file's comment). */
void afr_lk(struct xl *xl, struct xl_call *call);
/* Book a flush (close: the owner's POSIX locks go).  true when the call
 * waits for a lock restore and resume(call, ai) runs it later. */
bool afr_lk_flush(struct afr_priv *priv, struct xl_call *call,
		  struct afr_inode *ai,
		  void (*resume)(struct xl_call *call, struct afr_inode *ai));
/* release: the fd's record leaves its gfid's list. */
void afr_lk_release(struct afr_priv *priv, struct xl_fd *fd);
/* Free an fd ctx (its lock record too); priv NULL after fini. */
void afr_fdctx_free(struct afr_priv *priv, struct afr_fdctx *ctx);

/* ---- replicate-lkheal.c ------------------------------------------- */
/* notify: child went down / came up (after protocol/client reopened its
 * fds): book it, and start the restores a return allows. */
void afr_lkheal_child_down(struct afr_priv *priv, int child);
void afr_lkheal_child_up(struct afr_priv *priv, int child);
/* Run the restores ai wants (ai->lk_restoring was set by the caller, who
 * hands over one ref on ai). */
void afr_lkheal_start(struct afr_priv *priv, struct afr_inode *ai);
/* fini: forget every record (their fds may outlive the graph). */
void afr_lkheal_fini(struct afr_priv *priv);

/* ---- replicate-dir.c ---------------------------------------------- */
void afr_opendir(struct xl *xl, struct xl_call *call);
void afr_readdir(struct xl *xl, struct xl_call *call);
void afr_releasedir(struct xl *xl, struct xl_call *call);
void afr_fd_ctx_free(struct xl *xl, void *ctx);

/* ---- replicate-heal.c --------------------------------------------- */
/* Start a background heal of gfid (no-op if one runs or off). */
void afr_heal_background(struct afr_priv *priv, const uint8_t *gfid);
/* Heal gfid now; done(ctx, ret) when finished.  policy / source (-1)
 * resolve split-brain when given. */
void afr_heal_gfid(struct afr_priv *priv, const uint8_t *gfid,
		   enum afr_policy policy, int source,
		   void (*done)(void *ctx, int ret), void *ctx);
/* Crawl the pending indices of the up children and heal each entry,
 * heal_parallel at a time, until a pass heals nothing.  done(ctx, ret). */
void afr_heal_index(struct afr_priv *priv, void (*done)(void *ctx, int ret),
		    void *ctx);
/* setxattr / getxattr of the AFR_VX_* keys. */
bool afr_heal_vxattr_set(struct xl_call *call);
bool afr_heal_vxattr_get(struct xl_call *call);
void afr_crawl_start(struct afr_priv *priv);
int afr_heal_init(struct afr_priv *priv);
void afr_heal_fini(struct afr_priv *priv);

#endif
