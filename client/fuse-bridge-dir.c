/*
 * fuse-bridge-dir.c - FUSE requests on open directories: opendir,
 * readdir, readdirplus, releasedir, fsyncdir.
 *
 * A readdir reply holds as many entries as fit in the kernel's buffer; the
 * first entry that does not fit ends it, and the kernel's next request
 * resumes at the d_off of the last entry sent.  fd ownership is as in
 * fuse-bridge-file.c.
 */
#include "config.h"

#include "fuse-bridge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void fb_opendir_done(struct xl_call *parent, struct xl_call *call,
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
	fi.flags = 0;
	if (fuse_reply_open(req, &fi) != 0)
		fuse_bridge_file_drop(fb, &fi);
}

void fuse_bridge_opendir(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;
	struct xl_fd *fd;

	call = fuse_bridge_call_new(req, XL_FOP_OPENDIR, fb_opendir_done);
	if (!call)
		return;
	fuse_bridge_loc_inode(fb, call, &call->args.loc, ino);
	/* On the call's graph, with that graph's inode. */
	fd = call->args.loc.inode
		 ? xl_fd_new(call->graph, call->args.loc.gfid,
			     call->args.loc.inode, fi->flags, true)
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

static bool fb_is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* Add one readdirplus entry at buf if it fits (returns its size, or a
 * size > room when it does not; then nothing was added).  Named entries
 * with a gfid count one kernel lookup. */
static size_t fb_add_plus(fuse_req_t req, struct xl_graph *g, char *buf,
			  size_t room, const struct xl_dirent *d)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct fuse_entry_param e;
	size_t need;

	need = fuse_add_direntry_plus(req, NULL, 0, d->name, NULL, 0);
	if (need > room)
		return need;
	if (fb_is_dot(d->name) || xl_gfid_is_null(d->attr.gfid) ||
	    fuse_bridge_entry(fb, g, &d->attr, &e) != 0) {
		/* ino 0: a name without a handle; the kernel looks it up
		 * itself when it needs it. */
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = xl_gfid_is_null(d->attr.gfid)
				    ? d->d_ino
				    : xl_gfid_to_ino(d->attr.gfid);
		e.attr.st_mode = d->d_type << 12;
	}
	return fuse_add_direntry_plus(req, buf, room, d->name, &e,
				      (off_t)d->d_off);
}

static size_t fb_add_plain(fuse_req_t req, char *buf, size_t room,
			   const struct xl_dirent *d)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_ino = xl_gfid_is_null(d->attr.gfid)
			? d->d_ino
			: xl_gfid_to_ino(d->attr.gfid);
	st.st_mode = d->d_type << 12;
	return fuse_add_direntry(req, buf, room, d->name, &st, (off_t)d->d_off);
}

static void fb_readdir_done(struct xl_call *parent, struct xl_call *call,
			    void *cookie)
{
	fuse_req_t req = cookie;
	bool plus = call->fop == XL_FOP_READDIRPLUS;
	size_t size = call->args.size;
	size_t pos = 0;
	char *buf;

	(void)parent;
	if (call->reply.ret < 0) {
		fuse_reply_err(req, -call->reply.ret);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (uint32_t i = 0; i < call->reply.entry_count; i++) {
		const struct xl_dirent *d = &call->reply.entries[i];
		size_t n;

		if (!d->name)
			continue;
		n = plus ? fb_add_plus(req, call->graph, buf + pos, size - pos,
				       d)
			 : fb_add_plain(req, buf + pos, size - pos, d);
		if (n > size - pos)
			break;
		pos += n;
	}
	/* A readdirplus reply the kernel does not take would leak lookups;
	 * libfuse gives no way to know, as for any interrupted entry reply. */
	fuse_reply_buf(req, buf, pos);
	free(buf);
}

static void fb_readdir_common(fuse_req_t req, enum xl_fop fop, fuse_ino_t ino,
			      size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;

	call = fuse_bridge_call_new_fd(req, fop, fi, fb_readdir_done, req);
	if (!call)
		return;
	fuse_bridge_loc_inode(fb, call, &call->args.loc, ino);
	call->args.offset = off;
	call->args.size = size;
	fuse_bridge_call_start(call);
}

void fuse_bridge_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	fb_readdir_common(req, XL_FOP_READDIR, ino, size, off, fi);
}

void fuse_bridge_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			     off_t off, struct fuse_file_info *fi)
{
	fb_readdir_common(req, XL_FOP_READDIRPLUS, ino, size, off, fi);
}

void fuse_bridge_releasedir(fuse_req_t req, fuse_ino_t ino,
			    struct fuse_file_info *fi)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;

	/* The kernel's ref goes with the call. */
	call = fuse_bridge_call_new_on_fd(
	    req, XL_FOP_RELEASEDIR,
	    fuse_bridge_file_end(fb,
				 (struct fuse_bridge_file *)(uintptr_t)fi->fh),
	    fuse_bridge_done_err, req);
	if (!call)
		return;
	fuse_bridge_loc_inode(fb, call, &call->args.loc, ino);
	fuse_bridge_call_start(call);
}

void fuse_bridge_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			  struct fuse_file_info *fi)
{
	struct fuse_bridge *fb = fuse_req_userdata(req);
	struct xl_call *call;

	call = fuse_bridge_call_new_fd(req, XL_FOP_FSYNCDIR, fi,
				       fuse_bridge_done_err, req);
	if (!call)
		return;
	fuse_bridge_loc_inode(fb, call, &call->args.loc, ino);
	call->args.cmd = datasync;
	fuse_bridge_call_start(call);
}
