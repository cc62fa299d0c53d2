/*
 * dht.h - cluster/distribute's shared types: the translator's private
 * state, what it keeps on inodes and fds, its per-call state, and the
 * functions its files share.
 *
 * Files: dht.c (init, notify, sending to children, contexts, the
 * descriptor),
 * dht-lookup.c (finding names, directory layouts and their repair),
 * dht-entry.c (fops that create, remove or rename names), dht-dir.c
 * (opendir, statfs, directory-wide fops), dht-inode.c (fops on a known
 * file, and the write path during a migration), dht-readdir.c (readdir:
 * every child's batches read ahead in parallel), dht-exchange.c
 * (RENAME_EXCHANGE across children), dht-layout.c (the pure layout
 * math).  What is stored on bricks is in doc/cluster.md.
 *
 * Lock domains on bricks: distribute.layout (a directory's layout),
 * distribute.migrate (a file being migrated), distribute.exchange (the
 * root gfid on the first child: an exchange in progress).
 *
 * Lock order: inode ctx lock, then priv->lock; neither is held while
 * winding or unwinding.
 *
 * Memory: what distribute keeps (priv, inode and fd contexts, per-call
 * arrays, exchange state) is xl_malloc'd to it, so the state dump shows it
 * per translator; strings handed to a child's args stay plain malloc
 * (xl_args_clear frees them).
 *
 * Names: every symbol of this translator starts with dht_ (distributed
 * hash table, the historical name of this translator in the systems Mortar
 * grows from); its volfile type is cluster/distribute.
 */
#ifndef MORTAR_DHT_H
#define MORTAR_DHT_H

#include "buf.h"
#include "call.h"
#include "dht-layout.h"
#include "graph.h"
#include "inode.h"
#include "log.h"
#include "merge.h"
#include "xdata-keys.h"
#include "xlator.h"

#include <pthread.h>
#include <stdatomic.h>

#define DHT_XATTR_LAYOUT   "trusted.mortar.dht.layout"
#define DHT_XATTR_LINKTO   "trusted.mortar.dht.linkto"
#define DHT_XATTR_EXCHANGE "trusted.mortar.dht.exchange"
#define DHT_LOCK_LAYOUT	   "distribute.layout"
#define DHT_LOCK_MIGRATE   "distribute.migrate"
#define DHT_LOCK_EXCHANGE  "distribute.exchange"
/* How often one resolution waits for an exchange before it answers with
 * what it found. */
#define DHT_XCHG_TRIES 2
/* A linkto file is made with this mode (admins recognise it) and is told
 * by its xattr (dht_is_linkto): a user's file may have the mode too. */
#define DHT_LINKTO_MODE (S_IFREG | S_ISVTX)
/* A file being migrated carries these on its source copy. */
#define DHT_MIGRATE_BITS (S_ISVTX | S_ISGID)

struct dht_priv {
	int n; /* children, in volfile order = layout order */
	struct xl **subvols;
	int64_t min_free_bytes; /* 0: use min_free_percent */
	int min_free_percent;
	int layout_refresh_sec; /* re-read a cached layout older than this */
	int up_wait_sec;
	int exchange_debug_stop; /* -1, or stop exchanges before that step */
	atomic_uint_fast64_t lock_owner_seq;

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;  /* the up-wait thread sleeps on it */
	bool *up;
	bool sent_up;
	bool stopping;
	bool timer_started;
	pthread_t timer;
	struct xl_statfs *sfs;	 /* last statfs per child */
	int64_t sfs_ms;		 /* when sfs was read (monotonic ms), 0 never */
	uint64_t linkto_creates; /* creates sent elsewhere (min-free-disk) */
	uint64_t repairs;	 /* directories repaired */
	uint64_t migrate_repeats; /* writes repeated on a migration target */
	/* readdir answered from a prefetched batch at once, after waiting
	 * for it, or read directly (dht-readdir.c); not under lock */
	atomic_uint_fast64_t rd_hits, rd_waits, rd_misses;
};

/* What distribute keeps on an inode (xl_inode ctx slot).  lock guards the
 * fields; the slot itself is set once and freed by dht_inode_ctx_free. */
struct dht_ictx {
	pthread_mutex_t lock;
	bool is_dir;
	int cached;		   /* file: the child holding the data, -1 */
	bool layout_valid;	   /* dir: ranges hold a usable layout */
	int64_t layout_ms;	   /* when it was read */
	struct dht_range ranges[]; /* dir: [priv->n] */
};

struct dht_rdslot;

/* What distribute keeps on an open fd.  lock guards the fields (and the
 * readdir slots, dht-readdir.c). */
struct dht_fdctx {
	pthread_mutex_t lock;
	bool released;	       /* dir: releasedir seen, no more prefetches */
	struct dht_rdslot *rd; /* dir: [rd_count] batches read ahead, NULL
				* until the first readdir */
	int rd_count;
	int subvol;	   /* file: child it was opened on */
	int migrate_dst;   /* file: child a migration copies it to, -1 */
	bool dst_open;	   /* fd opened on migrate_dst too */
	bool no_switch;	   /* its file has no migration target to follow */
	uint64_t lk_owner; /* inodelk owner for migration repeats */
	bool opened[];	   /* [priv->n]: children holding it open */
};

/* Where a name lives, as a lookup found it. */
struct dht_where {
	bool found;
	bool is_dir;
	bool xchg;     /* it carries an exchange's intent (dht-exchange.c) */
	int hashed;    /* child the name hashes to, -1 none (a hole) */
	int cached;    /* child with the data (file) */
	int linkto_at; /* child with a linkto file for the name, -1 */
	struct xl_iatt attr;
	int ret; /* 0, or why not found */
};

/* One step of an exchange across children (dht-exchange.c); a, b index
 * the two names, g the two objects.  Each checks first whether it is
 * done. */
struct dht_xop {
	enum {
		DHT_XOP_LINK,	/* name b becomes a name of object g */
		DHT_XOP_RENAME, /* object g moves from name a to name b */
		DHT_XOP_UNLINK, /* name a stops naming object g */
		DHT_XOP_LINKTO, /* name a becomes a linkto of g to target */
		DHT_XOP_SWAP,	/* names a and b swapped (g still at a) */
	} kind;
	int subvol;
	int a, b;
	int g;
	int target;
};

struct dht_xchg;
struct dht_local;
typedef void (*dht_next_fn)(struct xl_call *call);

/* Per-call state (desc.local_size).  One field per meaning: a path that
 * needs a new fact gets a new field, never a reused one. */
struct dht_local {
	struct xl *xl;	   /* set by dht_local(): what local_free frees to */
	dht_next_fn next;  /* the fop's own continuation */
	dht_next_fn rnext; /* after dht_resolve / dht_locate */
	dht_next_fn lnext; /* after dht_layout_get */
	struct xl_inode *hold; /* ref kept until the call dies (see lookup) */
	int ret;	       /* what the last helper found: 0 or -errno */
	/* dht_resolve: resolving loc2 (w2), not loc (w) */
	bool resolving_loc2;
	/* dht_locate: the child holding the file (-1 none, -2 a directory),
	 * and whether it came from the inode ctx (may be stale: asked
	 * again before it is believed) */
	int located;
	bool located_cached;
	/* a fop on a located file already looked for it again once after
	 * the child had lost it (dht_stale_retry) */
	bool stale_retried;
	struct dht_where w, w2; /* loc, loc2 */
	struct dht_where *cur;	/* the one being resolved */
	const struct xl_loc *cur_loc;
	struct dht_range *ranges; /* [n] gathered directory layout */
	bool *dir_on;		  /* [n] the directory exists there */
	bool *missing;		  /* [n] ENOENT there (to mkdir) */
	struct xl_iatt attr;
	struct xl_inode *dir_inode; /* ref: directory being read */
	uint8_t dir_gfid[XL_GFID_LEN];
	struct xl_reply saved;
	int new_on;	    /* create, mknod, symlink: the child placed on */
	int link_on;	    /* link: the child holding the file linked */
	int layout_lock_on; /* layout repair: the child the lock is on */
	/* inodelk owner of the lock this call takes: the layout lock of a
	 * repair, or the migration lock of a repeated write */
	uint64_t owner;
	bool mlock_lock; /* the migration inodelk being sent locks (else
			  * unlocks) */
	uint64_t rd_off; /* readdir: the offset asked of the child */
	/* linkto creation (dht_linkto_make) */
	dht_next_fn knext;
	int linkto_on, linkto_target;
	const struct xl_loc *linkto_loc;
	uint8_t linkto_gfid[XL_GFID_LEN];
	bool linkto_retried;
	int linkto_tries; /* stale linkto files replaced */
	/* RENAME_EXCHANGE across children (dht-exchange.c) */
	struct dht_xchg *xchg;
	dht_next_fn xnext_fn;	   /* after the steps */
	int xdebug_hang;	   /* stop before this step, -1 */
	uint64_t xowner;	   /* the exchange lock's owner */
	bool xlock_want;	   /* lock (or unlock) being sent */
	bool xlocked;		   /* this call holds the exchange lock */
	int xtries;		   /* waits for exchanges so far */
	bool dir_xchg;		   /* a directory copy carries an intent */
	bool repaired;		   /* lookup made a copy or wrote a layout */
	struct xl_iobuf *xintent;  /* the intent a resolution found */
	const struct xl_loc *rloc; /* dht_resolve's loc, w, next */
	struct dht_where *rw;
	/* rmdir, and rename over a directory: the directory checked for
	 * emptiness (rmw: w, or w2), opened on every child, linkto names
	 * found; rmnext runs once it is known empty and its linkto files
	 * are gone */
	struct dht_where *rmw;
	dht_next_fn rmnext;
	struct xl_fd *fd;
	char **names;
	int *name_sv;
	int nnames;
};

/* dht.c */
struct dht_priv *dht_priv(struct xl *xl);
int64_t dht_now_ms(void);
int dht_subvol_index(struct xl *xl, const char *name);
bool dht_is_up(struct xl *xl, int i);
struct dht_local *dht_local(struct xl_call *call);
/* The inode's ctx, created when create is set (NULL on ENOMEM). */
struct dht_ictx *dht_ictx(struct xl *xl, struct xl_inode *inode, bool create);
/* The ctx of the inode with gfid, if the graph's table has it. */
struct dht_ictx *dht_ictx_by_gfid(struct xl *xl, const uint8_t *gfid,
				  struct xl_inode **ref);
void dht_ictx_set_file(struct xl *xl, const struct xl_loc *loc,
		       const struct xl_iatt *attr, int cached);
struct dht_fdctx *dht_fdctx(struct xl *xl, struct xl_fd *fd, bool create);
/* A lookup's answer is a linkto file: mode 01000 and, in the reply's
 * xdata (mortar.xattr-req), the linkto xattr. */
bool dht_is_linkto(const struct xl_iatt *attr, const struct xl_dict *xdata);
/* The source copy of a finished migration: the mark, and no name left
 * (only fds opened before reach it; doc/cluster.md). */
bool dht_is_migrated_copy(const struct xl_iatt *attr);
/* Ask a child's readdirplus which entries carry the linkto xattr (in its
 * args.xdata, or in *xdata: replaced by a copy with the request). */
int dht_readdirp_req(struct xl_call *child);
int dht_readdirp_xdata(struct xl_dict **xdata);
/* A readdirplus entry is a linkto file: mode 01000 and named in the
 * reply's list of entries with the linkto xattr.  *cursor starts at 0 for
 * each reply (entries are asked about in listing order). */
bool dht_dirent_is_linkto(const struct xl_dirent *d,
			  const struct xl_dict *xdata, uint32_t *cursor);
int dht_linkto_subvol(struct xl *xl, const struct xl_dict *xdata);
int dht_set_internal(struct xl_dict **xdata);

/* Fan-outs are xl_fan (call.h): fill functions are xl_fill_fn (index =
 * the child's subvol), gathers xl_gather_fn (index[k] = subvol of
 * children[k]). */
/* xl_fan to every up child; ENOTCONN (done not called) when none is. */
void dht_fan_up(struct xl_call *call, enum xl_fop fop, xl_fill_fn fill,
		xl_gather_fn done);
/* One child call of fop to subvol with args filled by fill (slot 0,
 * cookie passed on); cbk as xl_call_send.  fill may be NULL (empty
 * args). */
void dht_send(struct xl_call *call, enum xl_fop fop, int subvol,
	      xl_fill_fn fill, xl_cbk_fn cbk, void *cookie);
/* A completion for a child whose answer does not matter. */
void dht_ignore_cbk(struct xl_call *call, struct xl_call *child, void *cookie);
/* Every up child's index into subvols; returns how many. */
int dht_up_subvols(struct xl *xl, int *subvols);
/* The children holding fd open (its fd ctx), into subvols; how many. */
int dht_fd_subvols(struct xl *xl, struct xl_fd *fd, int *subvols);
/* release / releasedir: sent to every child holding the fd, answered at
 * once (nothing can fail that the caller could act on). */
void dht_release(struct xl *xl, struct xl_call *call);
/* A new inodelk owner, unique within this client. */
uint64_t dht_lock_owner(struct xl *xl);
/* Fill child's args for an inodelk on gfid in domain: a blocking write
 * lock (lock) or an unlock of [start, start + len) (len 0: to the end). */
int dht_inodelk_args(struct xl_call *child, const uint8_t *gfid,
		     const char *domain, bool lock, uint64_t owner,
		     int64_t start, int64_t len);

/* dht-lookup.c */
/* Find loc's name (parent layout first): fills *w, then runs next. */
void dht_resolve(struct xl_call *call, const struct xl_loc *loc,
		 struct dht_where *w, dht_next_fn next);
/* Make sure the directory (gfid, inode may be NULL) has a usable cached
 * layout; local->ret < 0 when it cannot be had.  Then next. */
void dht_layout_get(struct xl_call *call, const uint8_t *gfid,
		    struct xl_inode *inode, dht_next_fn next);
/* Hashed child of name in directory pargfid from the cached layout, -1. */
int dht_hashed_subvol(struct xl *xl, const struct xl_loc *loc);
/* Where a file known by gfid lives: ctx, else asks every child. */
void dht_locate(struct xl_call *call, const uint8_t *gfid,
		struct xl_inode *inode, dht_next_fn next);
void dht_lookup(struct xl *xl, struct xl_call *call);
void dht_xattr_req_add(struct xl_call *child);
/* A dht_fill_fn: setxattr of local->ranges[subvol] as the layout of the
 * directory local->attr.gfid. */
int dht_fill_layout_set(struct xl_call *call, struct xl_call *child, int subvol,
			int k, void *cookie);
/* After a layout setxattr fan-out: log the children that failed (what:
 * the fop it was part of) and mark their ranges not present. */
void dht_layout_set_failed(struct xl_call *call, struct xl_call **children,
			   const int *subvols, int n, const char *what);
/* Store local->ranges as the cached layout of directory gfid (valid:
 * usable for placing names). */
void dht_layout_cache(struct xl *xl, struct xl_call *call, const uint8_t *gfid,
		      bool valid);
/* local->ranges, dir_on and missing for n children, allocated when not
 * yet and zeroed (0, or -ENOMEM). */
int dht_local_arrays(struct dht_local *local, int n);
/* Merge a directory copy's times into `into` (the newest; first: copy). */

/* dht-entry.c */
void dht_create(struct xl *xl, struct xl_call *call);
void dht_mknod(struct xl *xl, struct xl_call *call);
void dht_symlink(struct xl *xl, struct xl_call *call);
void dht_mkdir(struct xl *xl, struct xl_call *call);
void dht_unlink(struct xl *xl, struct xl_call *call);
void dht_rmdir(struct xl *xl, struct xl_call *call);
void dht_rename(struct xl *xl, struct xl_call *call);
void dht_link(struct xl *xl, struct xl_call *call);
/* Make a linkto file for loc's name on child `on` naming child `target`
 * with gfid; local->ret says how it went; then next. */
void dht_linkto_make(struct xl_call *call, int on, const struct xl_loc *loc,
		     const uint8_t *gfid, int target, dht_next_fn next);

/* dht-exchange.c */
/* rename with RENAME_EXCHANGE of names on different children. */
void dht_exchange(struct xl_call *call);
/* A rename to distribute itself that resumes an exchange (args.data =
 * its intent), and running it. */
bool dht_rename_is_resume(const struct xl_call *call);
void dht_rename_resume(struct xl_call *call);
/* A resolution found an object with an intent (local->xintent): wait for
 * the exchange, finish it if nobody does, resolve again. */
void dht_exchange_wait(struct xl_call *call);
void dht_xchg_free(struct xl *xl, struct dht_xchg *x);

/* dht-dir.c */
void dht_opendir(struct xl *xl, struct xl_call *call);
void dht_statfs(struct xl *xl, struct xl_call *call);
/* Read every child's statfs again when the last is older than 1 s (or
 * always with force); then next. */
void dht_statfs_refresh(struct xl_call *call, bool force, dht_next_fn next);

/* dht-readdir.c */
/* readdir and readdirplus. */
void dht_readdir(struct xl *xl, struct xl_call *call);
/* releasedir of fd: no prefetch starts any more; ready batches freed. */
void dht_readdir_release(struct xl *xl, struct xl_fd *fd);
/* Free what f's readdir slots hold (fd ctx free: none is in flight, as
 * each in-flight prefetch holds a ref to the fd). */
void dht_readdir_ctx_free(struct xl *xl, struct dht_fdctx *f);

/* dht-inode.c */
void dht_inode_fop(struct xl *xl, struct xl_call *call);
void dht_fd_fop(struct xl *xl, struct xl_call *call);
void dht_open(struct xl *xl, struct xl_call *call);
void dht_write(struct xl *xl, struct xl_call *call);

#endif
