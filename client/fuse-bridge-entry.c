/*
 * fuse-bridge-entry.c - FUSE requests on names and inode attributes:
 * lookup, getattr, setattr, readlink, mknod, mkdir, unlink, rmdir,
 * symlink, rename, link, statfs, access.
 *
 * Each function fills one root call and starts it; the reply goes to the
 * kernel from the call's completion (see fuse-bridge.h).
 */
#include "config.h"

#include "buf.h"
#include "fuse-bridge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A root call acting on parent/name; NULL after replying an error. */
static struct xl_call *fb_name_call(fuse_req_t req, enum xl_fop fop,
				    fuse_ino_t parent, const char *name,
				    xl_cbk_fn done)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;
	int ret;

	call = fuse_bridge_call_new(req, fop, done);
	if (!call)
		return NULL;
	ret = fuse_bridge_loc_name(fb, call, &call->args.loc, parent, name);
	if (ret < 0) {
		/* Unwinding the unstarted call runs done, which replies. */
		xl_unwind_error(call, ret);
		return NULL;
	}
	return call;
}

/* A root call acting on the inode ino; with an open file fi (may be
 * NULL), on the file's graph with its fd. */
static struct xl_call *fb_inode_call_fi(fuse_req_t req, enum xl_fop fop,
					fuse_ino_t ino,
					struct fuse_file_info *fi,
					xl_cbk_fn done)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;

	if (fi && fi->fh)
		call = fuse_bridge_call_new_fd(req, fop, fi, done, req);
	else
		call = fuse_bridge_call_new(req, fop, done);
	if (call)
		fuse_bridge_loc_inode(fb, call, &call->args.loc, ino);
	return call;
}

static struct xl_call *fb_inode_call(fuse_req_t req, enum xl_fop fop,
				     fuse_ino_t ino, xl_cbk_fn done)
{
	return fb_inode_call_fi(req, fop, ino, NULL, done);
}

/* A root call creating parent/name with a new gfid and the caller's
 * umask. */
static struct xl_call *fb_create_call(fuse_req_t req, enum xl_fop fop,
				      fuse_ino_t parent, const char *name,
				      mode_t mode)
{
	struct xl_call *call;

	call = fb_name_call(req, fop, parent, name, fuse_bridge_done_entry);
	if (!call)
		return NULL;
	xl_gfid_generate(call->args.loc.gfid);
	call->args.mode = mode;
	call->args.umask = fuse_req_ctx(req)->umask;
	return call;
}

static void fb_lookup_done(struct xl_call *parent, struct xl_call *call,
			   void *cookie)
{
	fuse_req_t req = cookie;
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct fuse_entry_param e;

	if (call->reply.ret == -ENOENT && fb->negative_timeout > 0) {
		/* ino 0: the kernel caches "no such name" for the timeout. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fb->negative_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	fuse_bridge_done_entry(parent, call, cookie);
}

void fuse_bridge_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct xl_call *call;

	call = fb_name_call(req, XL_FOP_LOOKUP, parent, name, fb_lookup_done);
	if (call)
		fuse_bridge_call_start(call);
}

void fuse_bridge_getattr(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	struct xl_call *call;

	call =
	    fb_inode_call_fi(req, XL_FOP_STAT, ino, fi, fuse_bridge_done_attr);
	if (!call)
		return;
	fuse_bridge_call_start(call);
}

void fuse_bridge_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			 int to_set, struct fuse_file_info *fi)
{
	struct xl_call *call;
	struct xl_args *a;

	call = fb_inode_call_fi(req, XL_FOP_SETATTR, ino, fi,
				fuse_bridge_done_attr);
	if (!call)
		return;
	a = &call->args;
	a->valid = fuse_bridge_setattr_valid(to_set);
	a->attr.mode = attr->st_mode;
	a->attr.uid = attr->st_uid;
	a->attr.gid = attr->st_gid;
	a->attr.size = (uint64_t)attr->st_size;
	a->attr.atime = attr->st_atim.tv_sec;
	a->attr.atime_nsec = (uint32_t)attr->st_atim.tv_nsec;
	a->attr.mtime = attr->st_mtim.tv_sec;
	a->attr.mtime_nsec = (uint32_t)attr->st_mtim.tv_nsec;
	memcpy(a->attr.gfid, a->loc.gfid, XL_GFID_LEN);
	fuse_bridge_call_start(call);
}

static void fb_readlink_done(struct xl_call *parent, struct xl_call *call,
			     void *cookie)
{
	fuse_req_t req = cookie;
	struct xl_iobuf *data = call->reply.data;
	char *target;

	(void)parent;
	if (call->reply.ret < 0) {
		fuse_reply_err(req, -call->reply.ret);
		return;
	}
	if (!data) {
		fuse_reply_err(req, EIO);
		return;
	}
	/* The reply need not be NUL-terminated; the kernel wants a string. */
	target = strndup(data->data, data->size);
	if (!target) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fuse_reply_readlink(req, target);
	free(target);
}

void fuse_bridge_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct xl_call *call;

	call = fb_inode_call(req, XL_FOP_READLINK, ino, fb_readlink_done);
	if (call)
		fuse_bridge_call_start(call);
}

void fuse_bridge_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, dev_t rdev)
{
	struct xl_call *call;

	call = fb_create_call(req, XL_FOP_MKNOD, parent, name, mode);
	if (!call)
		return;
	call->args.rdev = rdev;
	fuse_bridge_call_start(call);
}

void fuse_bridge_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode)
{
	struct xl_call *call;

	call = fb_create_call(req, XL_FOP_MKDIR, parent, name, mode);
	if (call)
		fuse_bridge_call_start(call);
}

void fuse_bridge_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct xl_call *call;

	call = fb_name_call(req, XL_FOP_UNLINK, parent, name,
			    fuse_bridge_done_err);
	if (call)
		fuse_bridge_call_start(call);
}

void fuse_bridge_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct xl_call *call;

	call =
	    fb_name_call(req, XL_FOP_RMDIR, parent, name, fuse_bridge_done_err);
	if (call)
		fuse_bridge_call_start(call);
}

void fuse_bridge_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			 const char *name)
{
	struct xl_call *call;

	call =
	    fb_create_call(req, XL_FOP_SYMLINK, parent, name, S_IFLNK | 0777);
	if (!call)
		return;
	call->args.xname = strdup(link);
	if (!call->args.xname) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	fuse_bridge_call_start(call);
}

void fuse_bridge_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			fuse_ino_t newparent, const char *newname,
			unsigned int flags)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;
	int ret;

	call = fb_name_call(req, XL_FOP_RENAME, parent, name,
			    fuse_bridge_done_err);
	if (!call)
		return;
	ret = fuse_bridge_loc_name(fb, call, &call->args.loc2, newparent,
				   newname);
	if (ret < 0) {
		xl_unwind_error(call, ret);
		return;
	}
	call->args.flags = (int32_t)flags;
	fuse_bridge_call_start(call);
}

void fuse_bridge_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		      const char *newname)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;
	int ret;

	call = fb_inode_call(req, XL_FOP_LINK, ino, fuse_bridge_done_entry);
	if (!call)
		return;
	ret = fuse_bridge_loc_name(fb, call, &call->args.loc2, newparent,
				   newname);
	if (ret < 0) {
		xl_unwind_error(call, ret);
		return;
	}
	/* The new name is the same object: it keeps the source's gfid. */
	memcpy(call->args.loc2.gfid, call->args.loc.gfid, XL_GFID_LEN);
	fuse_bridge_call_start(call);
}

static void fb_statfs_done(struct xl_call *parent, struct xl_call *call,
			   void *cookie)
{
	fuse_req_t req = cookie;
	const struct xl_statfs *s = &call->reply.statfs;
	struct statvfs st;

	(void)parent;
	if (call->reply.ret < 0) {
		fuse_reply_err(req, -call->reply.ret);
		return;
	}
	memset(&st, 0, sizeof(st));
	st.f_bsize = s->bsize;
	st.f_frsize = s->frsize ? s->frsize : s->bsize;
	st.f_blocks = s->blocks;
	st.f_bfree = s->bfree;
	st.f_bavail = s->bavail;
	st.f_files = s->files;
	st.f_ffree = s->ffree;
	st.f_favail = s->favail;
	st.f_fsid = s->fsid;
	st.f_namemax = s->namemax ? s->namemax : XL_NAME_MAX;
	fuse_reply_statfs(req, &st);
}

void fuse_bridge_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct xl_call *call;

	call = fb_inode_call(req, XL_FOP_STATFS, ino, fb_statfs_done);
	if (call)
		fuse_bridge_call_start(call);
}

void fuse_bridge_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct xl_call *call;

	call = fb_inode_call(req, XL_FOP_ACCESS, ino, fuse_bridge_done_err);
	if (!call)
		return;
	call->args.mode = (uint32_t)mask;
	fuse_bridge_call_start(call);
}
