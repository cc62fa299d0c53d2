/*
 * fuse-bridge.c - the core of the FUSE bridge: node ids <-> inodes, kernel
 * requests -> root calls, entry/attr replies, forget, connection setup and
 * the low-level ops table.  The fops themselves live in fuse-bridge-*.c.
 *
 * Threads: every function here may run on any /dev/fuse reader thread or
 * on whatever graph thread completes a call.  The bridge's own fields are
 * read-only once the session loop runs; inode lookup counts are atomics.
 */
#include "config.h"

#include "fuse-bridge.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FB_LOG "fuse"

struct xl_inode *fuse_bridge_inode(struct fuse_bridge *fb, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return fb->root;
	return (struct xl_inode *)(uintptr_t)ino;
}

static void fb_cred_fill(fuse_req_t req, struct xl_cred *cred)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[XL_MAX_GROUPS];
	int n;

	memset(cred, 0, sizeof(*cred));
	cred->uid = ctx->uid;
	cred->gid = ctx->gid;
	cred->pid = ctx->pid;
	/* root passes every permission check on the brick, so skip reading
	 * /proc for its groups: this runs once per request. */
	if (ctx->uid == 0)
		return;
	n = fuse_req_getgroups(req, XL_MAX_GROUPS, groups);
	if (n < 0)
		return;
	if (n > XL_MAX_GROUPS)
		n = XL_MAX_GROUPS;
	for (int i = 0; i < n; i++)
		cred->groups[i] = groups[i];
	cred->ngroups = (uint32_t)n;
}

struct xl_call *fuse_bridge_call_new_cookie(fuse_req_t req, enum xl_fop fop,
					    xl_cbk_fn done, void *cookie)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_cred cred;
	struct xl_call *call;

	fb_cred_fill(req, &cred);
	/* Once made, the call counts in its graph's live_root_calls, so a
	 * switch cannot destroy the graph under it (fuse-bridge-graphs.c). */
	pthread_rwlock_rdlock(&fb->graph_lock);
	call = xl_call_new_root(fb->graph, fop, &cred, done, cookie);
	pthread_rwlock_unlock(&fb->graph_lock);
	if (!call)
		fuse_reply_err(req, ENOMEM);
	return call;
}

struct xl_call *fuse_bridge_call_new_on_fd(fuse_req_t req, enum xl_fop fop,
					   struct xl_fd *fd, xl_cbk_fn done,
					   void *cookie)
{
	struct xl_cred cred;
	struct xl_call *call;

	fb_cred_fill(req, &cred);
	/* The fd's graph: the fd ref keeps it from being destroyed. */
	call = xl_call_new_root(fd->graph, fop, &cred, done, cookie);
	if (!call) {
		xl_fd_unref(fd);
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	call->args.fd = fd;
	return call;
}

struct xl_call *fuse_bridge_call_new_fd(fuse_req_t req, enum xl_fop fop,
					struct fuse_file_info *fi,
					xl_cbk_fn done, void *cookie)
{
	return fuse_bridge_call_new_on_fd(req, fop, fuse_bridge_file_fd(fi),
					  done, cookie);
}

struct xl_call *fuse_bridge_call_new(fuse_req_t req, enum xl_fop fop,
				     xl_cbk_fn done)
{
	return fuse_bridge_call_new_cookie(req, fop, done, req);
}

void fuse_bridge_call_start(struct xl_call *call)
{
	struct xl_graph *g = call->graph;

	xl_call_start(call, g->top);
}

void fuse_bridge_loc_inode(struct fuse_bridge *fb, struct xl_call *call,
			   struct xl_loc *loc, fuse_ino_t ino)
{
	struct xl_inode *home = fuse_bridge_inode(fb, ino);

	memcpy(loc->gfid, home->gfid, XL_GFID_LEN);
	/* NULL only without memory: the translators find it by gfid. */
	loc->inode = fuse_bridge_inode_in(call->graph, ino);
}

int fuse_bridge_loc_name(struct fuse_bridge *fb, struct xl_call *call,
			 struct xl_loc *loc, fuse_ino_t parent,
			 const char *name)
{
	struct xl_inode *home = fuse_bridge_inode(fb, parent);

	if (strlen(name) > XL_NAME_MAX)
		return -ENAMETOOLONG;
	if (!xl_name_is_valid(name))
		return -EINVAL;
	loc->name = strdup(name);
	if (!loc->name)
		return -ENOMEM;
	memcpy(loc->pargfid, home->gfid, XL_GFID_LEN);
	loc->parent = fuse_bridge_inode_in(call->graph, parent);
	return loc->parent ? 0 : -ENOMEM;
}

void fuse_bridge_stat(struct fuse_bridge *fb, const struct xl_iatt *ia,
		      struct stat *st)
{
	xl_iatt_to_stat(ia, st);
	st->st_ino = xl_gfid_to_ino(ia->gfid);
	st->st_dev = fb->dev;
}

int fuse_bridge_entry(struct fuse_bridge *fb, struct xl_graph *g,
		      const struct xl_iatt *ia, struct fuse_entry_param *e)
{
	struct xl_inode *inode, *known;

	memset(e, 0, sizeof(*e));
	if (xl_gfid_is_null(ia->gfid))
		return -EIO;
	if (xl_gfid_is_root(ia->gfid))
		inode = xl_inode_ref(fb->root);
	else
		inode = xl_inode_get(g->itable, ia->gfid);
	if (!inode)
		return -ENOMEM;
	/* After a switch the kernel may know the file by a home inode of an
	 * older graph: answer that node id again, so one file keeps one
	 * kernel inode (its page cache, its open files). */
	if (inode != fb->root && atomic_load(&inode->nlookup) == 0 &&
	    (known = fuse_bridge_home_find(fb, g->itable, ia->gfid))) {
		xl_inode_unref(inode);
		inode = known;
	}
	if (!inode->type)
		inode->type = ia->mode & S_IFMT;
	/* The 0 -> 1 transition keeps the ref we were given; every other
	 * lookup drops it.  Forget's n -> 0 transition drops the kept one.
	 * The atomic order makes the transitions alternate, so exactly one
	 * ref is held while the count is > 0. */
	if (atomic_fetch_add(&inode->nlookup, 1) != 0)
		xl_inode_unref(inode);
	e->ino = xl_gfid_is_root(ia->gfid) ? FUSE_ROOT_ID : (uintptr_t)inode;
	e->generation = 0;
	e->attr_timeout = fb->attr_timeout;
	e->entry_timeout = fb->entry_timeout;
	fuse_bridge_stat(fb, ia, &e->attr);
	return 0;
}

void fuse_bridge_forget_one(struct fuse_bridge *fb, fuse_ino_t ino, uint64_t n)
{
	struct xl_inode *inode = fuse_bridge_inode(fb, ino);
	uint_fast64_t old;

	old = atomic_fetch_sub(&inode->nlookup, n);
	if (old < n) {
		/* The kernel never forgets more than it looked up; if it
		 * does, keep the count sane rather than freeing twice. */
		xl_warn(FB_LOG, "forget underflow: nlookup=%llu n=%llu",
			(unsigned long long)old, (unsigned long long)n);
		atomic_store(&inode->nlookup, 0);
		return;
	}
	if (old == n)
		xl_inode_unref(inode);
}

static void fb_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);

	fuse_bridge_forget_one(fb, ino, nlookup);
	fuse_reply_none(req);
}

static void fb_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);

	for (size_t i = 0; i < count; i++)
		fuse_bridge_forget_one(fb, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

void fuse_bridge_done_err(struct xl_call *parent, struct xl_call *call,
			  void *cookie)
{
	fuse_req_t req = cookie;

	(void)parent;
	fuse_reply_err(req, call->reply.ret < 0 ? -call->reply.ret : 0);
}

void fuse_bridge_done_entry(struct xl_call *parent, struct xl_call *call,
			    void *cookie)
{
	fuse_req_t req = cookie;
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct fuse_entry_param e;
	int ret = call->reply.ret;

	(void)parent;
	if (ret >= 0)
		ret = fuse_bridge_entry(fb, call->graph, &call->reply.attr, &e);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	if (fuse_reply_entry(req, &e) != 0 && e.ino != FUSE_ROOT_ID)
		fuse_bridge_forget_one(fb, e.ino, 1);
}

void fuse_bridge_done_attr(struct xl_call *parent, struct xl_call *call,
			   void *cookie)
{
	fuse_req_t req = cookie;
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct stat st;

	(void)parent;
	if (call->reply.ret < 0) {
		fuse_reply_err(req, -call->reply.ret);
		return;
	}
	fuse_bridge_stat(fb, &call->reply.attr, &st);
	fuse_reply_attr(req, &st, fb->attr_timeout);
}

static void fb_release_done(struct xl_call *parent, struct xl_call *call,
			    void *cookie)
{
	(void)parent;
	(void)cookie;
	if (call->reply.ret < 0)
		xl_debug(FB_LOG, "orphan release failed: errno=%d",
			 -call->reply.ret);
}

void fuse_bridge_release_fd(struct fuse_bridge *fb, struct xl_fd *fd)
{
	struct xl_call *call;

	(void)fb;
	/* The fd's own graph: the fd keeps it alive until this call ends. */
	call = xl_call_new_root(fd->graph,
				fd->is_dir ? XL_FOP_RELEASEDIR : XL_FOP_RELEASE,
				NULL, fb_release_done, NULL);
	if (!call) {
		xl_fd_unref(fd);
		return;
	}
	memcpy(call->args.loc.gfid, fd->gfid, XL_GFID_LEN);
	call->args.fd = fd; /* the caller's ref goes with the call */
	fuse_bridge_call_start(call);
}

uint32_t fuse_bridge_setattr_valid(int to_set)
{
	uint32_t valid = 0;

	if (to_set & FUSE_SET_ATTR_MODE)
		valid |= XL_SET_MODE;
	if (to_set & FUSE_SET_ATTR_UID)
		valid |= XL_SET_UID;
	if (to_set & FUSE_SET_ATTR_GID)
		valid |= XL_SET_GID;
	if (to_set & FUSE_SET_ATTR_SIZE)
		valid |= XL_SET_SIZE;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		valid |= XL_SET_ATIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		valid |= XL_SET_ATIME;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		valid |= XL_SET_MTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		valid |= XL_SET_MTIME;
	return valid;
}

/* What we ask of the kernel: 1 MiB requests both ways, parallel reads
 * (and parallel 1 MiB pieces of one large O_DIRECT request), readdirplus,
 * remote POSIX and flock locks, parallel lookups and readdirs in one
 * directory (unless turned off; the session I/O passes the flag on where
 * libfuse does not).  No writeback cache: close-to-open consistency
 * between clients matters more than small-write speed.  No splice: the
 * session I/O reads write data straight into an iobuf
 * (fuse-bridge-io.c). */
static void fb_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fuse_bridge *fb = userdata;

	conn->max_write = XL_IO_SIZE_MAX;
	/* From 7.9 a WRITE is a header, a fuse_write_in and the data: the
	 * session I/O reads the data apart (fuse-bridge-io.c). */
	atomic_store(&fb->io.writes_split, conn->proto_minor >= 9);
	conn->max_readahead = XL_IO_SIZE_MAX;
	conn->want &=
	    ~(unsigned)(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
			FUSE_CAP_SPLICE_MOVE | FUSE_CAP_WRITEBACK_CACHE |
			FUSE_CAP_PARALLEL_DIROPS);
	conn->want |=
	    conn->capable & (FUSE_CAP_ASYNC_READ | FUSE_CAP_READDIRPLUS |
			     FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_POSIX_LOCKS |
			     FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_ATOMIC_O_TRUNC |
			     FUSE_CAP_ASYNC_DIO);
	if (fb->parallel_dirops)
		conn->want |= conn->capable & FUSE_CAP_PARALLEL_DIROPS;
	else
		xl_info(FB_LOG, "parallel directory operations: off "
				"(parallel-dirops=off)");
	xl_info(FB_LOG,
		"kernel protocol %u.%u, max_write=%u max_readahead=%u "
		"want=0x%x",
		conn->proto_major, conn->proto_minor, conn->max_write,
		conn->max_readahead, conn->want);
	if (fb->on_live)
		fb->on_live(fb);
}

const struct fuse_lowlevel_ops fuse_bridge_ops = {
    .init = fb_init,
    .lookup = fuse_bridge_lookup,
    .forget = fb_forget,
    .forget_multi = fb_forget_multi,
    .getattr = fuse_bridge_getattr,
    .setattr = fuse_bridge_setattr,
    .readlink = fuse_bridge_readlink,
    .mknod = fuse_bridge_mknod,
    .mkdir = fuse_bridge_mkdir,
    .unlink = fuse_bridge_unlink,
    .rmdir = fuse_bridge_rmdir,
    .symlink = fuse_bridge_symlink,
    .rename = fuse_bridge_rename,
    .link = fuse_bridge_link,
    .open = fuse_bridge_open,
    .read = fuse_bridge_read,
    .write_buf = fuse_bridge_write_buf,
    .flush = fuse_bridge_flush,
    .release = fuse_bridge_release,
    .fsync = fuse_bridge_fsync,
    .opendir = fuse_bridge_opendir,
    .readdir = fuse_bridge_readdir,
    .readdirplus = fuse_bridge_readdirplus,
    .releasedir = fuse_bridge_releasedir,
    .fsyncdir = fuse_bridge_fsyncdir,
    .statfs = fuse_bridge_statfs,
    .setxattr = fuse_bridge_setxattr,
    .getxattr = fuse_bridge_getxattr,
    .listxattr = fuse_bridge_listxattr,
    .removexattr = fuse_bridge_removexattr,
    .access = fuse_bridge_access,
    .create = fuse_bridge_create,
    .getlk = fuse_bridge_getlk,
    .setlk = fuse_bridge_setlk,
    .flock = fuse_bridge_flock,
    .fallocate = fuse_bridge_fallocate,
    .lseek = fuse_bridge_lseek,
};
