/*
 * fuse-bridge.h - private to client/: the FUSE bridge's state and the
 * helpers its fop files share.  Not installed.
 *
 * The bridge turns each kernel request into one root call of the graph and
 * answers the kernel from the call's completion, on whatever thread that
 * completion runs.  The cookie of a root call is its fuse_req_t; the
 * bridge itself is fuse_req_userdata(req).
 *
 * Node ids: a node id is the address of a struct xl_inode of the graph's
 * inode table (FUSE_ROOT_ID stands for the root inode).  The bridge holds
 * one inode ref while the kernel's lookup count (inode->nlookup) is > 0.
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

struct fuse_bridge {
	struct xl_graph *graph;	 /* owned by the mount program */
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

/* ---- shared by the fop files (fuse-bridge.c, except where noted) ---- */

/* The inode a node id names (borrowed). */
struct xl_inode *fuse_bridge_inode(struct fuse_bridge *fb, fuse_ino_t ino);

/* A root call for req with the caller's credentials, answered through
 * done(NULL, call, req).  NULL on ENOMEM, after replying ENOMEM to req. */
struct xl_call *fuse_bridge_call_new(fuse_req_t req, enum xl_fop fop,
				     xl_cbk_fn done);
/* The same with another cookie for done (req is still replied ENOMEM on
 * failure). */
struct xl_call *fuse_bridge_call_new_cookie(fuse_req_t req, enum xl_fop fop,
					    xl_cbk_fn done, void *cookie);

/* Fill loc to act on the inode ino (gfid + inode ref). */
void fuse_bridge_loc_inode(struct fuse_bridge *fb, struct xl_loc *loc,
			   fuse_ino_t ino);
/* Fill loc to act on parent/name (pargfid + name copy + parent ref).
 * 0, -ENAMETOOLONG/-EINVAL for a bad name, or -ENOMEM. */
int fuse_bridge_loc_name(struct fuse_bridge *fb, struct xl_loc *loc,
			 fuse_ino_t parent, const char *name);

/* Start a blocking lock call (F_SETLKW, flock without LOCK_NB) for req
 * whose completion answers req: a kernel interrupt withdraws it from the
 * brick's queue (fuse-bridge-lkwait.c).  Replaces call's completion. */
void fuse_bridge_lock_wait(fuse_req_t req, struct xl_call *call);
/* Start a filled call at the top of the graph. */
void fuse_bridge_call_start(struct xl_call *call);

/* struct stat for a reply's attributes (st_ino from the gfid). */
void fuse_bridge_stat(struct fuse_bridge *fb, const struct xl_iatt *ia,
		      struct stat *st);

/* Make an entry for attributes ia: gets the inode for ia->gfid and counts
 * one kernel lookup on it.  The caller must pass e to the kernel (or undo
 * with fuse_bridge_forget_one).  0 or -EIO (no gfid) / -ENOMEM. */
int fuse_bridge_entry(struct fuse_bridge *fb, const struct xl_iatt *ia,
		      struct fuse_entry_param *e);
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

/* Send RELEASE or RELEASEDIR for fd without a kernel request (used when
 * an open reply could not reach the kernel).  Consumes the caller's ref. */
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
