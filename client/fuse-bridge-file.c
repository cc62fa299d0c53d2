/*
 * fuse-bridge-file.c - FUSE requests on open files: open, create, read,
 * write, flush, release, fsync, fallocate, lseek.
 *
 * fd ownership: open/create make an xl_fd whose first ref belongs to the
 * kernel's file handle, a struct fuse_bridge_file in fi->fh (which a graph
 * switch may move to another fd, fuse-bridge-move.c).  Each call holds
 * its own ref in args.fd and runs on that fd's graph.  release hands the
 * kernel's ref to the RELEASE call, so the fd dies when that call is
 * done.
 */
#include "config.h"

#include "buf.h"
#include "fuse-bridge.h"
#include "log.h"
#include "xdata-keys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FB_LOG "fuse"

/* A root call on the open file fi (args.fd and loc.gfid set). */
static struct xl_call *fb_fd_call(fuse_req_t req, enum xl_fop fop,
				  fuse_ino_t ino, struct fuse_file_info *fi,
				  xl_cbk_fn done)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;

	call = fuse_bridge_call_new_fd(req, fop, fi, done, req);
	if (!call)
		return NULL;
	fuse_bridge_loc_inode(fb, call, &call->args.loc, ino);
	return call;
}

int fuse_bridge_file_handle(struct fuse_bridge *fb, struct xl_fd *fd,
			    struct fuse_file_info *fi)
{
	struct fuse_bridge_file *file = fuse_bridge_file_new(fb, fd);

	if (!file) {
		fuse_bridge_release_fd(fb, fd);
		return -ENOMEM;
	}
	memset(fi, 0, sizeof(*fi));
	fi->fh = (uintptr_t)file;
	fi->flags = fd->flags;
	return 0;
}

void fuse_bridge_file_drop(struct fuse_bridge *fb, struct fuse_file_info *fi)
{
	struct fuse_bridge_file *file =
	    (struct fuse_bridge_file *)(uintptr_t)fi->fh;

	fuse_bridge_release_fd(fb, fuse_bridge_file_end(fb, file));
}

static void fb_open_done(struct xl_call *parent, struct xl_call *call,
			 void *cookie)
{
	fuse_req_t req = cookie;
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_fd *fd = call->args.fd;
	struct fuse_file_info fi;

	(void)parent;
	if (call->reply.ret < 0) {
		fuse_reply_err(req, -call->reply.ret);
		xl_fd_unref(fd); /* the kernel's ref: it never got the fd */
		return;
	}
	if (fuse_bridge_file_handle(fb, fd, &fi) < 0) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fuse_reply_open(req, &fi) != 0)
		fuse_bridge_file_drop(fb, &fi);
}

void fuse_bridge_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;
	struct xl_fd *fd;

	call = fuse_bridge_call_new(req, XL_FOP_OPEN, fb_open_done);
	if (!call)
		return;
	fuse_bridge_loc_inode(fb, call, &call->args.loc, ino);
	/* On the call's graph, with that graph's inode. */
	fd = call->args.loc.inode
		 ? xl_fd_new(call->graph, call->args.loc.gfid,
			     call->args.loc.inode, fi->flags, false)
		 : NULL;
	if (!fd) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	call->args.flags = fi->flags;
	call->args.fd = fd; /* ref shared with the kernel until done */
	xl_fd_ref(fd);
	fuse_bridge_call_start(call);
}

/*
 * Without O_EXCL the brick may open a file that already exists instead of
 * making one with the gfid we made up; its reply carries the real gfid.
 * The fd must name the file the brick opened, or its locks and later fops
 * go to a phantom gfid that no other client ever sees.  No one else has
 * the fd yet, so it can be changed in place.
 */
static void fb_fd_adopt_inode(struct xl_fd *fd, struct xl_inode *inode)
{
	struct xl_inode *old = fd->inode;

	if (old == inode)
		return;
	fd->inode = xl_inode_ref(inode);
	memcpy(fd->gfid, inode->gfid, XL_GFID_LEN);
	if (old)
		xl_inode_unref(old);
}

static void fb_create_done(struct xl_call *parent, struct xl_call *call,
			   void *cookie)
{
	fuse_req_t req = cookie;
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_fd *fd = call->args.fd;
	struct fuse_entry_param e;
	struct fuse_file_info fi;
	struct xl_inode *inode;
	int ret = call->reply.ret;

	(void)parent;
	if (ret >= 0)
		ret = fuse_bridge_entry(fb, call->graph, &call->reply.attr, &e);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		if (call->reply.ret >= 0)
			fuse_bridge_release_fd(fb, fd);
		else
			xl_fd_unref(fd);
		return;
	}
	/* The fd's inode is its graph's, whichever home the kernel has. */
	inode = fuse_bridge_inode_in(fd->graph, e.ino);
	if (inode) {
		fb_fd_adopt_inode(fd, inode);
		xl_inode_unref(inode);
	}
	if (fuse_bridge_file_handle(fb, fd, &fi) < 0) {
		fuse_reply_err(req, ENOMEM);
		fuse_bridge_forget_one(fb, e.ino, 1);
		return;
	}
	if (fuse_reply_create(req, &e, &fi) != 0) {
		fuse_bridge_forget_one(fb, e.ino, 1);
		fuse_bridge_file_drop(fb, &fi);
	}
}

void fuse_bridge_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;
	struct xl_inode *inode;
	struct xl_fd *fd;
	uint8_t gfid[XL_GFID_LEN];
	int ret;

	call = fuse_bridge_call_new(req, XL_FOP_CREATE, fb_create_done);
	if (!call)
		return;
	xl_gfid_generate(gfid);
	/* On the call's graph, with that graph's inode. */
	inode = xl_inode_get(call->graph->itable, gfid);
	fd = inode ? xl_fd_new(call->graph, gfid, inode, fi->flags, false)
		   : NULL;
	if (inode)
		xl_inode_unref(inode); /* the fd holds its own */
	if (!fd) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	call->args.fd = fd; /* ref shared with the kernel until done */
	xl_fd_ref(fd);
	ret = fuse_bridge_loc_name(fb, call, &call->args.loc, parent, name);
	if (ret < 0) {
		xl_unwind_error(call, ret); /* done drops the kernel's ref */
		return;
	}
	memcpy(call->args.loc.gfid, gfid, XL_GFID_LEN);
	call->args.flags = fi->flags;
	call->args.mode = mode;
	call->args.umask = fuse_req_ctx(req)->umask;
	fuse_bridge_call_start(call);
}

static void fb_read_done(struct xl_call *parent, struct xl_call *call,
			 void *cookie)
{
	fuse_req_t req = cookie;
	struct xl_iobuf *data = call->reply.data;
	size_t len;

	(void)parent;
	if (call->reply.ret < 0) {
		fuse_reply_err(req, -call->reply.ret);
		return;
	}
	len = (size_t)call->reply.ret;
	if (!data || len > data->size)
		len = data ? data->size : 0;
	fuse_reply_buf(req, data ? data->data : NULL, len);
}

void fuse_bridge_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct xl_call *call;

	xl_trace(FB_LOG, "read size=%zu off=%lld", size, (long long)off);
	call = fb_fd_call(req, XL_FOP_READ, ino, fi, fb_read_done);
	if (!call)
		return;
	call->args.offset = off;
	call->args.size = size;
	fuse_bridge_call_start(call);
}

static void fb_write_done(struct xl_call *parent, struct xl_call *call,
			  void *cookie)
{
	fuse_req_t req = cookie;

	(void)parent;
	if (call->reply.ret < 0)
		fuse_reply_err(req, -call->reply.ret);
	else
		fuse_reply_write(req, (size_t)call->reply.ret);
}

/* Write data travels down the graph in an iobuf, by reference: the one
 * the session I/O read it into, or else a copy of libfuse's buffer. */
static int fb_write_data(struct fuse_bridge *fb, struct fuse_bufvec *bufv,
			 size_t size, struct xl_iobuf **iobp)
{
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
	struct xl_iobuf *iob;
	ssize_t copied;
	int ret = fuse_bridge_io_take_write(fb, bufv, size, iobp);

	if (ret <= 0)
		return ret;
	iob = xl_iobuf_new(size ? size : 1);
	if (!iob)
		return -ENOMEM;
	dst.buf[0].mem = iob->data;
	copied = fuse_buf_copy(&dst, bufv, 0);
	if (copied < 0) {
		xl_iobuf_unref(iob);
		return (int)copied;
	}
	iob->size = (size_t)copied;
	*iobp = iob;
	return 0;
}

void fuse_bridge_write_buf(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_bufvec *bufv, off_t off,
			   struct fuse_file_info *fi)
{
	size_t size = fuse_buf_size(bufv);
	struct xl_iobuf *iob = NULL;
	struct xl_call *call;
	int ret;

	ret = fb_write_data(fuse_req_userdata(req), bufv, size, &iob);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	xl_trace(FB_LOG, "write size=%zu off=%lld", size, (long long)off);
	call = fb_fd_call(req, XL_FOP_WRITE, ino, fi, fb_write_done);
	if (!call) {
		xl_iobuf_unref(iob);
		return;
	}
	call->args.data = iob;
	call->args.offset = off;
	call->args.size = iob->size;
	call->args.flags = fi->flags;
	fuse_bridge_call_start(call);
}

void fuse_bridge_flush(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct xl_call *call;

	call = fb_fd_call(req, XL_FOP_FLUSH, ino, fi, fuse_bridge_done_err);
	if (!call)
		return;
	/* FLUSH drops the POSIX locks of this owner (close(2) semantics):
	 * none to drop when this mount never asked for one on the file, and
	 * the bricks need not hear of the close (XL_KEY_FLUSH_NO_LOCKS). */
	call->cred.lk_owner = fi->lock_owner;
	if (!atomic_load(&fuse_bridge_inode(fuse_req_userdata(req), ino)
			      ->posix_lk_asked) &&
	    (call->args.xdata || (call->args.xdata = xl_dict_new())))
		xl_dict_set_u64(call->args.xdata, XL_KEY_FLUSH_NO_LOCKS, 1);
	fuse_bridge_call_start(call);
}

void fuse_bridge_release(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;

	struct xl_fd *fd = fuse_bridge_file_end(
	    fb, (struct fuse_bridge_file *)(uintptr_t)fi->fh);

	/* The kernel's ref goes with the call. */
	call = fuse_bridge_call_new_on_fd(req, XL_FOP_RELEASE, fd,
					  fuse_bridge_done_err, req);
	if (!call)
		return;
	fuse_bridge_loc_inode(fb, call, &call->args.loc, ino);
	call->cred.lk_owner = fi->lock_owner;
	fuse_bridge_call_start(call);
}

void fuse_bridge_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi)
{
	struct xl_call *call;

	call = fb_fd_call(req, XL_FOP_FSYNC, ino, fi, fuse_bridge_done_err);
	if (!call)
		return;
	call->args.cmd = datasync;
	fuse_bridge_call_start(call);
}

void fuse_bridge_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			   off_t offset, off_t length,
			   struct fuse_file_info *fi)
{
	struct xl_call *call;

	call = fb_fd_call(req, XL_FOP_FALLOCATE, ino, fi, fuse_bridge_done_err);
	if (!call)
		return;
	call->args.cmd = mode;
	call->args.offset = offset;
	call->args.size = (uint64_t)length;
	fuse_bridge_call_start(call);
}

static void fb_lseek_done(struct xl_call *parent, struct xl_call *call,
			  void *cookie)
{
	fuse_req_t req = cookie;

	(void)parent;
	if (call->reply.ret < 0)
		fuse_reply_err(req, -call->reply.ret);
	else
		fuse_reply_lseek(req, call->reply.offset);
}

void fuse_bridge_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		       struct fuse_file_info *fi)
{
	struct xl_call *call;

	call = fb_fd_call(req, XL_FOP_LSEEK, ino, fi, fb_lseek_done);
	if (!call)
		return;
	call->args.offset = off;
	call->args.cmd = whence;
	fuse_bridge_call_start(call);
}
