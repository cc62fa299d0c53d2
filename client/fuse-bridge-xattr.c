/*
 * fuse-bridge-xattr.c - FUSE requests for extended attributes (set, get,
 * list, remove) and locks (POSIX getlk/setlk, BSD flock).
 *
 * Lock owners: POSIX locks are owned by fi->lock_owner (the kernel's id of
 * the files_struct), flock locks by the open file (fd->lk_owner).
 */
#include "config.h"

#include "buf.h"
#include "fuse-bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

static struct xl_call *fb_xattr_call(fuse_req_t req, enum xl_fop fop,
				     fuse_ino_t ino, const char *name,
				     xl_cbk_fn done)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;

	if (name && strlen(name) > XL_XATTR_NAME_MAX) {
		fuse_reply_err(req, ERANGE);
		return NULL;
	}
	call = fuse_bridge_call_new(req, fop, done);
	if (!call)
		return NULL;
	fuse_bridge_loc_inode(fb, call, &call->args.loc, ino);
	if (name) {
		call->args.xname = strdup(name);
		if (!call->args.xname) {
			xl_unwind_error(call, -ENOMEM);
			return NULL;
		}
	}
	return call;
}

void fuse_bridge_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			  const char *value, size_t size, int flags)
{
	struct xl_call *call;

	if (size > XL_XATTR_SIZE_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	call = fb_xattr_call(req, XL_FOP_SETXATTR, ino, name,
			     fuse_bridge_done_err);
	if (!call)
		return;
	call->args.data = xl_iobuf_from(value, size);
	if (!call->args.data) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	call->args.flags = flags;
	call->args.size = size;
	fuse_bridge_call_start(call);
}

/* getxattr and listxattr: size 0 asks for the length only; a value larger
 * than the kernel's buffer is ERANGE. */
static void fb_xattr_value_done(struct xl_call *parent, struct xl_call *call,
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
	len = data ? data->size : 0;
	if ((size_t)call->reply.ret > len)
		len = (size_t)call->reply.ret;
	if (call->args.size == 0) {
		fuse_reply_xattr(req, len);
		return;
	}
	if (len > call->args.size) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	if (!data || data->size < len) {
		fuse_reply_err(req, EIO);
		return;
	}
	fuse_reply_buf(req, data->data, len);
}

void fuse_bridge_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			  size_t size)
{
	struct xl_call *call;

	call =
	    fb_xattr_call(req, XL_FOP_GETXATTR, ino, name, fb_xattr_value_done);
	if (!call)
		return;
	call->args.size = size;
	fuse_bridge_call_start(call);
}

void fuse_bridge_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct xl_call *call;

	call = fb_xattr_call(req, XL_FOP_LISTXATTR, ino, NULL,
			     fb_xattr_value_done);
	if (!call)
		return;
	call->args.size = size;
	fuse_bridge_call_start(call);
}

void fuse_bridge_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct xl_call *call;

	call = fb_xattr_call(req, XL_FOP_REMOVEXATTR, ino, name,
			     fuse_bridge_done_err);
	if (call)
		fuse_bridge_call_start(call);
}

static struct xl_call *fb_lock_call(fuse_req_t req, enum xl_fop fop,
				    fuse_ino_t ino, struct fuse_file_info *fi,
				    xl_cbk_fn done, void *cookie)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;

	call = fuse_bridge_call_new_fd(req, fop, fi, done, cookie);
	if (!call)
		return NULL;
	fuse_bridge_loc_inode(fb, call, &call->args.loc, ino);
	call->cred.lk_owner = fi->lock_owner;
	return call;
}

static void fb_lock_from_flock(struct xl_call *call, const struct flock *fl,
			       uint64_t owner)
{
	struct xl_flock *lk = &call->args.lock;

	/* libfuse hands absolute ranges (l_whence SEEK_SET, l_len 0 = to
	 * the end of the file). */
	lk->type = fl->l_type;
	lk->whence = SEEK_SET;
	lk->start = fl->l_start;
	lk->len = fl->l_len;
	lk->pid = call->cred.pid;
	lk->owner = owner;
}

static void fb_getlk_done(struct xl_call *parent, struct xl_call *call,
			  void *cookie)
{
	fuse_req_t req = cookie;
	const struct xl_flock *lk = &call->reply.lock;
	struct flock fl;

	(void)parent;
	if (call->reply.ret < 0) {
		fuse_reply_err(req, -call->reply.ret);
		return;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = lk->type;
	fl.l_whence = SEEK_SET;
	fl.l_start = lk->start;
	fl.l_len = lk->len;
	fl.l_pid = (pid_t)lk->pid;
	fuse_reply_lock(req, &fl);
}

void fuse_bridge_getlk(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi, struct flock *lock)
{
	struct xl_call *call;

	call = fb_lock_call(req, XL_FOP_LK, ino, fi, fb_getlk_done, req);
	if (!call)
		return;
	call->args.cmd = F_GETLK;
	fb_lock_from_flock(call, lock, fi->lock_owner);
	fuse_bridge_call_start(call);
}

/*
 * A blocking F_SETLKW (or flock without LOCK_NB) stays in the graph until
 * it is granted; the reader thread is free meanwhile.  When the waiting
 * process is interrupted (a signal, or SIGKILL: the kernel waits for the
 * answer either way), fuse-bridge-lkwait.c withdraws it from the brick.
 */
void fuse_bridge_setlk(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi, struct flock *lock, int sleep)
{
	struct xl_call *call;

	call = fb_lock_call(req, XL_FOP_LK, ino, fi, fuse_bridge_done_err, req);
	if (!call)
		return;
	/* From now on a close of the file must reach the bricks, which drop
	 * the owner's locks there (fuse_bridge_flush). */
	atomic_store(
	    &fuse_bridge_inode(fuse_req_userdata(req), ino)->posix_lk_asked,
	    true);
	call->args.cmd = sleep ? F_SETLKW : F_SETLK;
	fb_lock_from_flock(call, lock, fi->lock_owner);
	if (sleep && lock->l_type != F_UNLCK)
		fuse_bridge_lock_wait(req, call);
	else
		fuse_bridge_call_start(call);
}

void fuse_bridge_flock(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi, int op)
{
	struct xl_call *call;

	call =
	    fb_lock_call(req, XL_FOP_FLOCK, ino, fi, fuse_bridge_done_err, req);
	if (!call)
		return;
	/* The kernel names the open file by fi->lock_owner here; it is the
	 * same for every flock through this open file (and keeps the file
	 * on its graph across a switch, fuse-bridge-move.c). */
	call->args.fd->lk_owner = fi->lock_owner;
	call->args.cmd = op;
	if (!(op & LOCK_NB) && (op & ~LOCK_NB) != LOCK_UN)
		fuse_bridge_lock_wait(req, call);
	else
		fuse_bridge_call_start(call);
}
