/*
 * fuse-bridge.h - private to client/: the FUSE bridge's state and the
 * helpers its fop files share.  Not installed.
 *
 * The bridge turns each kernel request into one root call of the graph and
 * answers the kernel from the call's completion, on whatever thread that
 * completion runs.  The cookie of a root call is its fuse_req_t; the
 * bridge itself is fuse_req_userdata(req).
 *
 * Node ids: a node id is the address of a struct xl_inode (FUSE_ROOT_ID
 * stands for the root inode): its "home" inode, in the table of the graph
 * that answered the lookup.  The bridge holds one ref on it while the
 * kernel's lookup count (inode->nlookup) is > 0, and the home inode keeps
 * the bridge's facts (nlookup, posix_lk_asked) across graph switches.  A
 * call on graph g acts on the inode of the same gfid in g's table
 * (fuse_bridge_inode_in); after a switch a home may be in the table of a
 * graph that is gone (orphaned, xl_inode_table_orphan), which the bridge
 * frees once the kernel forgot every node id in it.
 *
 * Open files: fi->fh is a struct fuse_bridge_file, which holds the fd of
 * the graph the file is open on; a switch moves it to the new graph
 * (fuse-bridge-graphs.c, client/README.md "Live graph switch").
 */
#ifndef MORTAR_FUSE_BRIDGE_H
#define MORTAR_FUSE_BRIDGE_H

#define FUSE_USE_VERSION 312

#include "call.h"
#include "graph.h"
#include "inode.h"

#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdbool.h>

/* What the session I/O (fuse-bridge-io.c) saw of INIT.  Atomics: every
 * /dev/fuse reader thread reads them; one thread writes them, once. */
struct fuse_bridge_io {
	atomic_bool init_read;		/* the INIT request was read */
	atomic_bool init_replied;	/* and its reply written */
	_Atomic uint64_t init_unique;	/* its unique id */
	atomic_uint kernel_flags;	/* its fuse_init_in.flags */
	atomic_bool parallel_dirops_on; /* the kernel took the reply asking
					   for FUSE_PARALLEL_DIROPS */
	atomic_bool writes_split; /* WRITE data lands apart (protocol 7.9+) */
	atomic_uint_fast64_t writes_in_place; /* the iobuf read into */
	atomic_uint_fast64_t writes_small;    /* copied out of it */
	atomic_uint_fast64_t writes_copied;   /* from libfuse's buffer */
};

/* A graph replaced by a newer one, draining (fuse-bridge-graphs.c). */
struct fuse_bridge_old;

/* An open file or directory: what fi->fh points to. */
struct fuse_bridge_file {
	pthread_mutex_t lock;  /* guards fd, moving, stays */
	pthread_cond_t moved;  /* moving ended */
	struct xl_fd *fd;      /* the open on its graph: one ref */
	bool moving;	       /* a switch is moving it: calls wait */
	bool stays;	       /* kept on its graph until closed */
	struct xl_inode *home; /* ref: the node id it was opened through */
	struct fuse_bridge_file *prev, *next; /* fb->files, files_lock */
};

struct fuse_bridge {
	/* The graph new calls go to (owned by the mount program), under
	 * graph_lock: read-locked from reading it until the root call
	 * made on it exists (and so counts in its live_root_calls). */
	struct xl_graph *graph;
	pthread_rwlock_t graph_lock;
	/* graph_lock: graphs replaced and not yet destroyed, newest first;
	 * tables of destroyed graphs whose inodes the kernel still names. */
	struct fuse_bridge_old *old_graphs;
	struct xl_inode_table **kept_tables;
	int kept_count;
	/* Every open file and directory (files_lock). */
	pthread_mutex_t files_lock;
	struct fuse_bridge_file *files;
	struct xl_inode *root;	 /* one ref, held for the mount's life */
	struct fuse_session *se; /* set before the loop starts */
	double entry_timeout;	 /* seconds, read-only after start */
	double attr_timeout;
	double negative_timeout;
	uint64_t dev; /* st_dev reported for every file */
	/* Ask for parallel lookups and readdirs in one directory, through
	 * the session I/O where libfuse does not pass the flag on.  Set
	 * before the session is created. */
	bool parallel_dirops;
	struct fuse_bridge_io io;
	/* Called once from the INIT request: the mount answers from now on.
	 * Runs on a FUSE thread. */
	void (*on_live)(struct fuse_bridge *fb);
	void *owner;			 /* the mount program's */
	struct fuse_bridge_inval *inval; /* fuse-bridge-inval.c */
};

/* fuse-bridge-inval.c: forward the graph's cache notices to the kernel
 * from a thread of its own (sets graph->top_upcall).  Start once fb->graph
 * is set, stop before the session goes.  0 or -errno. */
int fuse_bridge_inval_start(struct fuse_bridge *fb);
/* The same for another graph g (a switch's new one), before g's init:
 * starts the thread if it does not run yet. */
int fuse_bridge_inval_attach(struct fuse_bridge *fb, struct xl_graph *g);
void fuse_bridge_inval_stop(struct fuse_bridge *fb);

/* The ops table the mount program passes to fuse_session_new. */
extern const struct fuse_lowlevel_ops fuse_bridge_ops;

/* Put the bridge's /dev/fuse I/O on se, after fuse_session_mount and
 * before the loop (fuse-bridge-io.c): libfuse's own reads and writes, with
 * write data read straight into iobufs and FUSE_PARALLEL_DIROPS added to
 * the INIT reply when the kernel offers it (and fb->parallel_dirops).
 * fb must be se's userdata.  0 or -errno. */
int fuse_bridge_io_install(struct fuse_bridge *fb, struct fuse_session *se);
/* The data of the WRITE this thread is processing, when the session I/O
 * read it apart (bufv is then its place in libfuse's buffer, which does
 * not hold it): 0 with *iobp set (the caller owns the ref: the iobuf it
 * was read into, or a copy of a small write), -errno, or 1 when bufv
 * holds the data itself (copy it from there). */
int fuse_bridge_io_take_write(struct fuse_bridge *fb,
			      const struct fuse_bufvec *bufv, size_t size,
			      struct xl_iobuf **iobp);
/* Log what the session I/O did (at the end of the session). */
void fuse_bridge_io_report(struct fuse_bridge *fb);

/* ---- graphs, inodes and open files across switches ------------------
 * fuse-bridge-graphs.c */

/* Set up the locks and lists; fb->graph is the first graph. */
void fuse_bridge_graphs_init(struct fuse_bridge *fb);
/* The inode of node id ino in graph g (a new ref): the home inode itself
 * when it is g's, else g's inode of the same gfid.  NULL on ENOMEM. */
struct xl_inode *fuse_bridge_inode_in(struct xl_graph *g, fuse_ino_t ino);
/* The home inode of gfid that the kernel knows (nlookup > 0) in any table
 * but skip's (NULL: in any), a new ref; NULL when there is none. */
struct xl_inode *fuse_bridge_home_find(struct fuse_bridge *fb,
				       struct xl_inode_table *skip,
				       const uint8_t *gfid);
/* From now on new calls go to g; the old graph drains.  The caller (the
 * mount program) built, initialised and waited for g. */
void fuse_bridge_graph_switch(struct fuse_bridge *fb, struct xl_graph *g);
/* Move every open file that can move to the current graph (see
 * client/README.md): returns how many moved; *stayed counts those kept on
 * their graph until closed (directories, files with locks, a reopen that
 * failed). */
int fuse_bridge_files_move(struct fuse_bridge *fb, int *stayed);
/* Destroy every replaced graph with no call and no fd left; returns how
 * many replaced graphs are still draining. */
int fuse_bridge_graphs_drain(struct fuse_bridge *fb);

/* The open file of a FUSE file handle.  fuse_bridge_file_new makes one
 * for fd (consumes the ref); NULL on ENOMEM (fd untouched then). */
struct fuse_bridge_file *fuse_bridge_file_new(struct fuse_bridge *fb,
					      struct xl_fd *fd);
/* fi->fh for fd (consumed), as fuse_reply_open/create want it: 0, or
 * -ENOMEM after releasing fd (fuse-bridge-file.c). */
int fuse_bridge_file_handle(struct fuse_bridge *fb, struct xl_fd *fd,
			    struct fuse_file_info *fi);
/* The kernel did not take fi's handle: close the file again. */
void fuse_bridge_file_drop(struct fuse_bridge *fb, struct fuse_file_info *fi);
/* The file's fd now (a new ref), waiting while a switch moves it. */
struct xl_fd *fuse_bridge_file_fd(struct fuse_file_info *fi);
/* The kernel closes the file: the wrapper goes and its fd ref is handed
 * back for the RELEASE call. */
struct xl_fd *fuse_bridge_file_end(struct fuse_bridge *fb,
				   struct fuse_bridge_file *file);
/* Called with file->lock held: wait until no move is in progress. */
void fuse_bridge_file_wait_locked(struct fuse_bridge_file *file);

/* ---- shared by the fop files (fuse-bridge.c, except where noted) ---- */

/* The home inode a node id names (borrowed). */
struct xl_inode *fuse_bridge_inode(struct fuse_bridge *fb, fuse_ino_t ino);

/* A root call for req with the caller's credentials, answered through
 * done(NULL, call, req).  NULL on ENOMEM, after replying ENOMEM to req. */
struct xl_call *fuse_bridge_call_new(fuse_req_t req, enum xl_fop fop,
				     xl_cbk_fn done);
/* The same with another cookie for done (req is still replied ENOMEM on
 * failure). */
struct xl_call *fuse_bridge_call_new_cookie(fuse_req_t req, enum xl_fop fop,
					    xl_cbk_fn done, void *cookie);
/* A root call on the open file fi: made on the graph the file is open on,
 * with args.fd set.  NULL after replying ENOMEM. */
struct xl_call *fuse_bridge_call_new_fd(fuse_req_t req, enum xl_fop fop,
					struct fuse_file_info *fi,
					xl_cbk_fn done, void *cookie);
/* The same for fd (the caller's ref goes with the call, or is dropped on
 * failure). */
struct xl_call *fuse_bridge_call_new_on_fd(fuse_req_t req, enum xl_fop fop,
					   struct xl_fd *fd, xl_cbk_fn done,
					   void *cookie);

/* Fill loc to act on the inode ino (gfid + a ref on the inode of call's
 * graph). */
void fuse_bridge_loc_inode(struct fuse_bridge *fb, struct xl_call *call,
			   struct xl_loc *loc, fuse_ino_t ino);
/* Fill loc to act on parent/name (pargfid + name copy + parent ref in
 * call's graph).  0, -ENAMETOOLONG/-EINVAL for a bad name, or -ENOMEM. */
int fuse_bridge_loc_name(struct fuse_bridge *fb, struct xl_call *call,
			 struct xl_loc *loc, fuse_ino_t parent,
			 const char *name);

/* Start a blocking lock call (F_SETLKW, flock without LOCK_NB) for req
 * whose completion answers req: a kernel interrupt withdraws it from the
 * brick's queue (fuse-bridge-lkwait.c).  Replaces call's completion. */
void fuse_bridge_lock_wait(fuse_req_t req, struct xl_call *call);
/* Start a filled call at the top of the graph. */
void fuse_bridge_call_start(struct xl_call *call);

/* struct stat for a reply's attributes (st_ino from the gfid). */
void fuse_bridge_stat(struct fuse_bridge *fb, const struct xl_iatt *ia,
		      struct stat *st);

/* Make an entry for attributes ia that graph g answered: gets the home
 * inode for ia->gfid (the one the kernel knows already, else g's) and
 * counts one kernel lookup on it.  The caller must pass e to the kernel
 * (or undo with fuse_bridge_forget_one).  0 or -EIO (no gfid) /
 * -ENOMEM. */
int fuse_bridge_entry(struct fuse_bridge *fb, struct xl_graph *g,
		      const struct xl_iatt *ia, struct fuse_entry_param *e);
/* Drop n kernel lookups of the inode; releases the bridge's ref at 0. */
void fuse_bridge_forget_one(struct fuse_bridge *fb, fuse_ino_t ino, uint64_t n);

/* Completions shared by several fops, each answering the fuse_req_t in
 * its cookie: fuse_bridge_done_err (the error in reply.ret, or success),
 * fuse_bridge_done_entry (an entry from reply.attr, counting one kernel
 * lookup) and fuse_bridge_done_attr (attributes from reply.attr). */
void fuse_bridge_done_err(struct xl_call *parent, struct xl_call *call,
			  void *cookie);
void fuse_bridge_done_entry(struct xl_call *parent, struct xl_call *call,
			    void *cookie);
void fuse_bridge_done_attr(struct xl_call *parent, struct xl_call *call,
			   void *cookie);

/* Send RELEASE or RELEASEDIR for fd to its graph without a kernel request
 * (an open reply that could not reach the kernel, a file moved to another
 * graph).  Consumes the caller's ref. */
void fuse_bridge_release_fd(struct fuse_bridge *fb, struct xl_fd *fd);

/* XL_SET_* mask for a FUSE_SET_ATTR_* mask. */
uint32_t fuse_bridge_setattr_valid(int to_set);

/* ---- the fop functions, one file per concern ------------------------ */

/* fuse-bridge-entry.c */
void fuse_bridge_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fuse_bridge_getattr(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi);
void fuse_bridge_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			 int to_set, struct fuse_file_info *fi);
void fuse_bridge_readlink(fuse_req_t req, fuse_ino_t ino);
void fuse_bridge_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, dev_t rdev);
void fuse_bridge_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode);
void fuse_bridge_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fuse_bridge_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fuse_bridge_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			 const char *name);
void fuse_bridge_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			fuse_ino_t newparent, const char *newname,
			unsigned int flags);
void fuse_bridge_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		      const char *newname);
void fuse_bridge_statfs(fuse_req_t req, fuse_ino_t ino);
void fuse_bridge_access(fuse_req_t req, fuse_ino_t ino, int mask);

/* fuse-bridge-file.c */
void fuse_bridge_open(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi);
void fuse_bridge_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, struct fuse_file_info *fi);
void fuse_bridge_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi);
void fuse_bridge_write_buf(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_bufvec *bufv, off_t off,
			   struct fuse_file_info *fi);
void fuse_bridge_flush(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void fuse_bridge_release(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi);
void fuse_bridge_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi);
void fuse_bridge_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			   off_t offset, off_t length,
			   struct fuse_file_info *fi);
void fuse_bridge_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		       struct fuse_file_info *fi);

/* fuse-bridge-dir.c */
void fuse_bridge_opendir(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi);
void fuse_bridge_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi);
void fuse_bridge_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			     off_t off, struct fuse_file_info *fi);
void fuse_bridge_releasedir(fuse_req_t req, fuse_ino_t ino,
			    struct fuse_file_info *fi);
void fuse_bridge_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			  struct fuse_file_info *fi);

/* fuse-bridge-xattr.c: extended attributes and locks */
void fuse_bridge_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			  const char *value, size_t size, int flags);
void fuse_bridge_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			  size_t size);
void fuse_bridge_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fuse_bridge_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void fuse_bridge_getlk(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi, struct flock *lock);
void fuse_bridge_setlk(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi, struct flock *lock,
		       int sleep);
void fuse_bridge_flock(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi, int op);

#endif
