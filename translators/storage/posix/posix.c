/*
 * posix.c - storage/posix: the brick's local directory as a translator.
 *
 * The leaf of every brick graph.  This file holds the descriptor, init /
 * fini / dump and the fops that work on names and attributes (lookup,
 * stat, setattr, access, readlink, mknod, mkdir, unlink, rmdir, symlink,
 * rename, link, statfs).  Open files and directories are in posix-io.c,
 * xattrs in posix-xattr.c, gfid handles and confinement in
 * posix-handle.c (read its header comment first).
 *
 * Every fop answers synchronously on the calling thread (brickd puts
 * io-threads above us, so blocking here is expected).  No fop keeps state
 * between calls except the fd contexts (posix-io.c).
 *
 * brickd runs as root with umask(0): a new entry is created as root and
 * then given the caller's owner (cred.uid, and cred.gid or the parent's
 * gid under a set-group-ID parent) and mode & ~args.umask.
 */
#define _GNU_SOURCE
#include "posix.h"
#include "buf.h"
#include "inode.h"
#include "log.h"
#include "posix-sys.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

static struct posix_priv *posix_priv(struct xl *xl)
{
	return xl->private;
}

/*
 * Attributes as a client should see them: a non-directory's handle is a
 * hard link of its own, so st_nlink counts one name the client never sees;
 * it is taken off (when there is one to take) so ls, find -links and
 * tar's hard-link detection see the user's names only.
 */
void posix_iatt_fill(struct xl_iatt *ia, const struct stat *st,
		     const uint8_t *gfid)
{
	xl_iatt_from_stat(ia, st);
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1 && !xl_gfid_is_null(gfid))
		ia->nlink--;
	memcpy(ia->gfid, gfid, XL_GFID_LEN);
}

void posix_attr_reply(struct xl_call *call, const struct posix_obj *obj,
		      const uint8_t *gfid)
{
	posix_iatt_fill(&call->reply.attr, &obj->st, gfid);
	if (obj->parked)
		call->reply.attr.nlink = 0; /* its one link is the parked one */
}

/* An entry change in the directory pfd succeeded: when the call asks
 * (XL_KEY_POSTPARENT), add the directory's attributes as they are now,
 * so a cache above can answer the stat of it that the kernel sends next
 * (one fstat here instead of a round trip). */
void posix_postparent(struct xl_call *call, int pfd)
{
	struct xl_iatt ia;
	struct stat st;

	if (!call->args.xdata ||
	    !xl_dict_get(call->args.xdata, XL_KEY_POSTPARENT) ||
	    posix_sys.fstat(pfd, &st) != 0)
		return;
	posix_iatt_fill(&ia, &st, call->args.loc.pargfid);
	if (!call->reply.xdata)
		call->reply.xdata = xl_dict_new();
	if (call->reply.xdata)
		xl_dict_set_iatt(call->reply.xdata, XL_KEY_POSTPARENT, &ia);
}

/* Tell a translator above that asked (XL_KEY_REMOVED) which inode lost
 * the name. */
static void posix_removed_gfid(struct xl_call *call, const uint8_t *gfid)
{
	if (!call->args.xdata || !xl_dict_get(call->args.xdata, XL_KEY_REMOVED))
		return;
	if (!call->reply.xdata)
		call->reply.xdata = xl_dict_new();
	if (call->reply.xdata)
		xl_dict_set(call->reply.xdata, XL_KEY_REMOVED, gfid,
			    XL_GFID_LEN);
}

/* The gfid of an object resolved from loc: the one asked for when reached
 * by gfid; read (or assigned) from the xattr when reached by name. */
static int posix_loc_gfid(struct posix_priv *priv, const struct xl_loc *loc,
			  struct posix_obj *obj, uint8_t *gfid)
{
	if (!loc->name || xl_gfid_is_null(loc->pargfid)) {
		memcpy(gfid, loc->gfid, XL_GFID_LEN);
		return 0;
	}
	return posix_gfid_ensure(priv, obj, loc->pargfid, gfid);
}

/* The internal xattrs a creating fop asks for: with mortar.internal,
 * every xdata key under trusted.mortar. but the gfid (a distribute
 * directory's layout) is set on the new node before its final stat, so
 * its first attributes are its lasting ones and no later call changes its
 * ctime. */
static int posix_new_entry_xattrs(const struct posix_obj *obj,
				  const struct xl_call *call)
{
	const struct xl_dict *x = call->args.xdata;
	const size_t plen = strlen(POSIX_INTERNAL_XATTR_PREFIX);
	char xpath[XL_NAME_MAX + 40];
	int ret;

	if (!x || !posix_call_internal(call))
		return 0;
	ret = posix_obj_xpath(obj, xpath, sizeof(xpath));
	for (uint32_t i = 0; ret == 0 && i < x->count; i++) {
		const struct xl_dict_pair *p = &x->pairs[i];

		if (strncmp(p->key, POSIX_INTERNAL_XATTR_PREFIX, plen) != 0 ||
		    strcmp(p->key, POSIX_GFID_XATTR) == 0 ||
		    strlen(p->key) > XL_XATTR_NAME_MAX ||
		    p->len > XL_XATTR_SIZE_MAX)
			continue;
		if (posix_sys.lsetxattr(xpath, p->key, p->value, p->len, 0) !=
		    0)
			ret = -errno;
	}
	return ret;
}

/* Owner group of a new entry in the directory obj->pfd: the parent's gid
 * when it is set-group-ID (then *parent_sgid), else cred.gid. */
int posix_new_entry_owner(struct posix_obj *obj, const struct xl_cred *cred,
			  uint32_t *gid, bool *parent_sgid)
{
	struct stat pst;

	if (posix_sys.fstat(obj->pfd, &pst) != 0)
		return -errno;
	*parent_sgid = (pst.st_mode & S_ISGID) != 0;
	*gid = *parent_sgid ? pst.st_gid : cred->gid;
	return 0;
}

/* Take back a half-made entry: its name, then its handle when it got one
 * (gfid non-NULL), so a failed create leaves nothing on the brick.  The
 * handle goes only with the name: an entry that stays keeps its handle. */
static void posix_entry_undo(struct posix_priv *priv, struct posix_obj *obj,
			     const uint8_t *gfid)
{
	bool dir = S_ISDIR(obj->st.st_mode); /* the last mode seen */
	int ret;

	if (posix_sys.unlinkat(obj->pfd, obj->name, dir ? AT_REMOVEDIR : 0) !=
	    0) {
		xl_warn(priv->name, "new entry %s: cannot remove it: %s",
			obj->name, strerror(errno));
		return;
	}
	if (gfid && (ret = posix_handle_remove(priv, gfid, dir)) < 0)
		xl_warn(priv->name, "new entry %s: handle not removed: %s",
			obj->name, strerror(-ret));
}

/*
 * After an entry-creating syscall made obj (as root): give it the
 * caller's owner, the exact mode (chown clears set-ID bits; set_mode is
 * false for symlinks, whose mode cannot change), its gfid (args.loc.gfid,
 * or a fresh one) and its handle.  On failure the entry is removed again.
 * Fills call->reply.attr.  The caller holds posix_entry_lock(obj->name)
 * from making the entry until this returns.
 */
int posix_new_entry_finish(struct posix_priv *priv, struct posix_obj *obj,
			   struct xl_call *call, mode_t want_mode,
			   bool set_mode)
{
	const struct xl_loc *loc = &call->args.loc;
	uint8_t gfid[XL_GFID_LEN];
	uint32_t gid = 0;
	bool psgid = false, handle = false;
	int ret;

	ret = posix_new_entry_owner(obj, &call->cred, &gid, &psgid);
	if (ret == 0 && posix_sys.fchownat(obj->pfd, obj->name, call->cred.uid,
					   gid, AT_SYMLINK_NOFOLLOW) != 0)
		ret = -errno;
	if (ret == 0)
		ret = posix_obj_stat(obj);
	if (ret == 0 && set_mode && (obj->st.st_mode & 07777) != want_mode) {
		if (posix_sys.fchmodat(obj->pfd, obj->name, want_mode,
				       AT_SYMLINK_NOFOLLOW) != 0)
			ret = -errno;
		else
			ret = posix_obj_stat(obj);
	}
	if (ret < 0)
		goto fail;
	memcpy(gfid, loc->gfid, XL_GFID_LEN);
	if (xl_gfid_is_null(gfid))
		xl_gfid_generate(gfid);
	/* The internal xattrs before the gfid: a lookup that finds the gfid
	 * finds them too (one that finds none waits for this creator in
	 * posix_gfid_assign), so a distribute linkto file is never seen as
	 * a plain empty file of mode 01000. */
	ret = posix_new_entry_xattrs(obj, call);
	if (ret == 0)
		ret = posix_gfid_set(obj, gfid);
	if (ret == 0)
		ret = posix_handle_create(priv, obj, gfid, loc->pargfid);
	handle = ret == 0;
	/* Labelling changed the ctime (the xattrs; the handle's link count):
	 * the reply carries the attributes the finished node keeps. */
	if (ret == 0)
		ret = posix_obj_stat(obj);
	if (ret < 0)
		goto fail;
	posix_attr_reply(call, obj, gfid);
	return 0;
fail:
	xl_warn(priv->name, "new entry %s: setup failed: %s; removed",
		obj->name, strerror(-ret));
	posix_entry_undo(priv, obj, handle ? gfid : NULL);
	return ret;
}

/* Resolve the (pargfid, name) a creating fop makes: it must not exist. */
static int posix_new_entry_resolve(struct posix_priv *priv,
				   const struct xl_loc *loc,
				   struct posix_obj *obj)
{
	int ret;

	if (!loc->name)
		return -EINVAL;
	ret = posix_resolve_entry(priv, loc->pargfid, loc->name, obj);
	if (ret == 0 && obj->exists) {
		posix_obj_release(obj);
		ret = -EEXIST;
	}
	return ret;
}

static void posix_lookup(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = posix_priv(xl);
	struct xl_loc *loc = &call->args.loc;
	uint8_t gfid[XL_GFID_LEN];
	struct posix_obj obj;
	int ret;

	ret = posix_resolve_loc(priv, loc, &obj);
	if (ret < 0)
		goto out;
	ret = posix_loc_gfid(priv, loc, &obj, gfid);
	if (ret == 0) {
		posix_attr_reply(call, &obj, gfid);
		posix_lookup_xattrs(&obj, call);
	}
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

/* fstat of a directory removed while open comes by gfid (the kernel
 * sends GETATTR on the inode): answer it from one of its open fds. */
static int posix_stat_removed_dir(struct posix_priv *priv, const uint8_t *gfid,
				  struct xl_iatt *ia)
{
	struct posix_fd *pfd = posix_opens_dir_fd(priv, gfid);
	int ret;

	if (!pfd)
		return -ESTALE;
	ret = posix_fill_attr_fd(priv, pfd->fd, pfd->gfid, ia);
	posix_fd_put(priv, pfd);
	return ret;
}

static void posix_stat(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = posix_priv(xl);
	struct xl_args *args = &call->args;
	uint8_t gfid[XL_GFID_LEN];
	struct posix_obj obj;
	int ret;

	if (args->fd) {
		struct posix_fd *pfd = posix_fd_get(xl, args->fd);

		ret = pfd ? posix_fill_attr_fd(priv, pfd->fd, pfd->gfid,
					       &call->reply.attr)
			  : -EBADF;
		posix_fd_put(posix_priv(xl), pfd);
		goto out;
	}
	ret = posix_resolve_loc(priv, &args->loc, &obj);
	if (ret == -ESTALE && !args->loc.name) {
		ret = posix_stat_removed_dir(priv, args->loc.gfid,
					     &call->reply.attr);
		goto out;
	}
	if (ret < 0)
		goto out;
	ret = posix_loc_gfid(priv, &args->loc, &obj, gfid);
	if (ret == 0)
		posix_attr_reply(call, &obj, gfid);
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

static void posix_times(const struct xl_args *args, struct timespec ts[2])
{
	const struct xl_iatt *a = &args->attr;

	ts[0].tv_sec = a->atime;
	ts[0].tv_nsec = a->atime_nsec;
	ts[1].tv_sec = a->mtime;
	ts[1].tv_nsec = a->mtime_nsec;
	if (!(args->valid & XL_SET_ATIME))
		ts[0].tv_nsec = UTIME_OMIT;
	if (!(args->valid & XL_SET_MTIME))
		ts[1].tv_nsec = UTIME_OMIT;
	if (args->valid & XL_SET_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	if (args->valid & XL_SET_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
}

#define POSIX_SET_TIMES                                                        \
	(XL_SET_ATIME | XL_SET_MTIME | XL_SET_ATIME_NOW | XL_SET_MTIME_NOW)

/* setattr through an open fd. */
static int posix_setattr_fd(int fd, const struct xl_args *args)
{
	uid_t uid = args->valid & XL_SET_UID ? args->attr.uid : (uid_t)-1;
	gid_t gid = args->valid & XL_SET_GID ? args->attr.gid : (gid_t)-1;
	struct timespec ts[2];

	if ((args->valid & (XL_SET_UID | XL_SET_GID)) &&
	    posix_sys.fchown(fd, uid, gid))
		return -errno;
	if ((args->valid & XL_SET_MODE) &&
	    posix_sys.fchmod(fd, args->attr.mode & 07777))
		return -errno;
	if ((args->valid & XL_SET_SIZE) &&
	    posix_sys.ftruncate(fd, (off_t)args->attr.size) != 0)
		return -errno;
	posix_times(args, ts);
	if ((args->valid & POSIX_SET_TIMES) && posix_sys.futimens(fd, ts) != 0)
		return -errno;
	return 0;
}

static int posix_truncate_obj(struct posix_obj *obj, off_t size)
{
	int fd, ret = 0;

	if (S_ISDIR(obj->st.st_mode))
		return -EISDIR;
	if (!S_ISREG(obj->st.st_mode))
		return -EINVAL;
	/* pinned and checked again: the name may have changed since */
	fd = posix_open_existing(obj->pfd, obj->name, O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (posix_sys.ftruncate(fd, size) != 0)
		ret = -errno;
	posix_sys.close(fd);
	return ret;
}

/* setattr by name/gfid; nothing follows a final symlink. */
static int posix_setattr_obj(struct posix_obj *obj, const struct xl_args *args)
{
	uid_t uid = args->valid & XL_SET_UID ? args->attr.uid : (uid_t)-1;
	gid_t gid = args->valid & XL_SET_GID ? args->attr.gid : (gid_t)-1;
	struct timespec ts[2];
	int ret;

	if ((args->valid & (XL_SET_UID | XL_SET_GID)) &&
	    posix_sys.fchownat(obj->pfd, obj->name, uid, gid,
			       AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	if ((args->valid & XL_SET_MODE) &&
	    posix_sys.fchmodat(obj->pfd, obj->name, args->attr.mode & 07777,
			       AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	if (args->valid & XL_SET_SIZE) {
		ret = posix_truncate_obj(obj, (off_t)args->attr.size);
		if (ret < 0)
			return ret;
	}
	posix_times(args, ts);
	if ((args->valid & POSIX_SET_TIMES) &&
	    posix_sys.utimensat(obj->pfd, obj->name, ts, AT_SYMLINK_NOFOLLOW) !=
		0)
		return -errno;
	return posix_obj_stat(obj);
}

static void posix_setattr(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = posix_priv(xl);
	struct xl_args *args = &call->args;
	uint8_t gfid[XL_GFID_LEN];
	struct posix_obj obj;
	int ret;

	if (args->fd) {
		struct posix_fd *pfd = posix_fd_get(xl, args->fd);

		ret = pfd ? posix_setattr_fd(pfd->fd, args) : -EBADF;
		if (ret == 0)
			ret = posix_fill_attr_fd(priv, pfd->fd, pfd->gfid,
						 &call->reply.attr);
		posix_fd_put(priv, pfd);
		goto out;
	}
	ret = posix_resolve_loc(priv, &args->loc, &obj);
	if (ret < 0)
		goto out;
	ret = posix_loc_gfid(priv, &args->loc, &obj, gfid);
	if (ret == 0)
		ret = posix_setattr_obj(&obj, args);
	if (ret == 0)
		posix_attr_reply(call, &obj, gfid);
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

static bool posix_cred_in_group(const struct xl_cred *cred, gid_t gid)
{
	if (cred->gid == gid)
		return true;
	for (uint32_t i = 0; i < cred->ngroups && i < XL_MAX_GROUPS; i++)
		if (cred->groups[i] == gid)
			return true;
	return false;
}

/* access(2) semantics for cred on st; root as the kernel treats it. */
static int posix_access_check(const struct stat *st, const struct xl_cred *cred,
			      uint32_t mask)
{
	mode_t bits;

	mask &= R_OK | W_OK | X_OK;
	if (cred->uid == 0) {
		if (!(mask & X_OK) || S_ISDIR(st->st_mode) ||
		    (st->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
			return 0;
		return -EACCES;
	}
	if (cred->uid == st->st_uid)
		bits = (st->st_mode >> 6) & 7;
	else if (posix_cred_in_group(cred, st->st_gid))
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return (bits & mask) == mask ? 0 : -EACCES;
}

static void posix_access(struct xl *xl, struct xl_call *call)
{
	struct posix_obj obj;
	int ret;

	ret = posix_resolve_loc(posix_priv(xl), &call->args.loc, &obj);
	if (ret == 0) {
		ret = posix_access_check(&obj.st, &call->cred, call->args.mode);
		posix_obj_release(&obj);
	}
	call->reply.ret = ret;
	xl_unwind(call);
}

static void posix_readlink(struct xl *xl, struct xl_call *call)
{
	char buf[PATH_MAX];
	struct posix_obj obj;
	ssize_t n;
	int ret;

	ret = posix_resolve_loc(posix_priv(xl), &call->args.loc, &obj);
	if (ret < 0)
		goto out;
	if (!S_ISLNK(obj.st.st_mode)) {
		ret = -EINVAL;
	} else {
		n = posix_sys.readlinkat(obj.pfd, obj.name, buf, sizeof(buf));
		if (n < 0)
			ret = -errno;
		else if ((size_t)n >= sizeof(buf))
			ret = -ENAMETOOLONG;
		else if (!(call->reply.data = xl_iobuf_from(buf, (size_t)n)))
			ret = -ENOMEM;
	}
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

static void posix_mknod(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = posix_priv(xl);
	struct xl_args *args = &call->args;
	mode_t want = args->mode & ~args->umask & 07777;
	struct posix_obj obj;
	int ret;

	ret = posix_new_entry_resolve(priv, &args->loc, &obj);
	if (ret < 0)
		goto out;
	pthread_mutex_lock(posix_entry_lock(obj.name));
	if (posix_sys.mknodat(obj.pfd, obj.name, (args->mode & S_IFMT) | want,
			      (dev_t)args->rdev) != 0)
		ret = -errno;
	else
		ret = posix_new_entry_finish(priv, &obj, call, want, true);
	pthread_mutex_unlock(posix_entry_lock(obj.name));
	if (ret == 0)
		posix_postparent(call, obj.pfd);
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

static void posix_mkdir(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = posix_priv(xl);
	struct xl_args *args = &call->args;
	mode_t want = args->mode & ~args->umask & 01777;
	struct posix_obj obj;
	uint32_t gid = 0;
	bool psgid = false;
	int ret;

	ret = posix_new_entry_resolve(priv, &args->loc, &obj);
	if (ret < 0)
		goto out;
	ret = posix_new_entry_owner(&obj, &call->cred, &gid, &psgid);
	if (ret == 0 && psgid)
		want |= S_ISGID; /* as a local file system does */
	pthread_mutex_lock(posix_entry_lock(obj.name));
	if (ret == 0 && posix_sys.mkdirat(obj.pfd, obj.name, want) != 0)
		ret = -errno;
	if (ret == 0) {
		obj.exists = true;
		obj.st.st_mode = S_IFDIR; /* for the undo path */
		ret = posix_new_entry_finish(priv, &obj, call, want, true);
	}
	pthread_mutex_unlock(posix_entry_lock(obj.name));
	if (ret == 0)
		posix_postparent(call, obj.pfd);
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

static void posix_symlink(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = posix_priv(xl);
	struct xl_args *args = &call->args;
	struct posix_obj obj;
	int ret;

	if (!args->xname || !args->xname[0] ||
	    strnlen(args->xname, PATH_MAX) >= PATH_MAX) {
		ret = -EINVAL;
		goto out;
	}
	ret = posix_new_entry_resolve(priv, &args->loc, &obj);
	if (ret < 0)
		goto out;
	pthread_mutex_lock(posix_entry_lock(obj.name));
	if (posix_sys.symlinkat(args->xname, obj.pfd, obj.name) != 0)
		ret = -errno;
	else
		ret = posix_new_entry_finish(priv, &obj, call, 0, false);
	pthread_mutex_unlock(posix_entry_lock(obj.name));
	if (ret == 0)
		posix_postparent(call, obj.pfd);
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

static int posix_dir_empty(const struct posix_obj *obj);

/* Resolve an existing entry by name for unlink/rmdir/rename. */
static int posix_existing_entry(struct posix_priv *priv,
				const struct xl_loc *loc, struct posix_obj *obj)
{
	int ret;

	if (!loc->name)
		return -EINVAL;
	ret = posix_resolve_entry(priv, loc->pargfid, loc->name, obj);
	if (ret == 0 && !obj->exists) {
		posix_obj_release(obj);
		ret = -ENOENT;
	}
	return ret;
}

static void posix_unlink_rmdir(struct xl *xl, struct xl_call *call,
			       bool is_rmdir)
{
	struct posix_priv *priv = posix_priv(xl);
	uint8_t gfid[XL_GFID_LEN];
	struct posix_obj obj;
	bool has_gfid;
	int ret;

	ret = posix_existing_entry(priv, &call->args.loc, &obj);
	if (ret < 0)
		goto out;
	if (is_rmdir && !S_ISDIR(obj.st.st_mode)) {
		ret = -ENOTDIR;
		goto release;
	}
	if (!is_rmdir && S_ISDIR(obj.st.st_mode)) {
		ret = -EISDIR;
		goto release;
	}
	if (is_rmdir && call->args.xdata &&
	    xl_dict_get(call->args.xdata, XL_KEY_CHECK_ONLY)) {
		ret = posix_dir_empty(&obj);
		goto release;
	}
	has_gfid = posix_gfid_get(&obj, gfid) == 0;
	if (posix_sys.unlinkat(obj.pfd, obj.name,
			       is_rmdir ? AT_REMOVEDIR : 0) != 0) {
		ret = -errno;
		goto release;
	}
	if (has_gfid) {
		int hret = posix_handle_remove(priv, gfid, is_rmdir);

		if (hret < 0)
			xl_warn(priv->name, "handle of %s not removed: %s",
				obj.name, strerror(-hret));
		posix_removed_gfid(call, gfid);
	}
	posix_postparent(call, obj.pfd);
release:
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

static void posix_unlink(struct xl *xl, struct xl_call *call)
{
	if (xl_gfid_is_index(call->args.loc.pargfid)) {
		call->reply.ret =
		    posix_index_unlink(posix_priv(xl), call->args.loc.name);
		xl_unwind(call);
		return;
	}
	posix_unlink_rmdir(xl, call, false);
}

static void posix_rmdir(struct xl *xl, struct xl_call *call)
{
	posix_unlink_rmdir(xl, call, true);
}

/* Keep handles right after a successful rename (see posix-handle.c). */
static void posix_rename_fix(struct posix_priv *priv, const struct xl_args *a,
			     const struct posix_obj *old, const uint8_t *ogfid,
			     const struct posix_obj *nobj, const uint8_t *ngfid)
{
	bool same = nobj->exists && old->st.st_ino == nobj->st.st_ino &&
		    old->st.st_dev == nobj->st.st_dev;
	int ret = 0;

	if (ogfid && S_ISDIR(old->st.st_mode) && !same)
		ret = posix_handle_rewrite(priv, ogfid, a->loc2.pargfid,
					   a->loc2.name);
	if (ret == 0 && ngfid && !same) {
		if (a->flags & RENAME_EXCHANGE) {
			if (S_ISDIR(nobj->st.st_mode))
				ret = posix_handle_rewrite(
				    priv, ngfid, a->loc.pargfid, a->loc.name);
		} else {
			ret = posix_handle_remove(priv, ngfid,
						  S_ISDIR(nobj->st.st_mode));
		}
	}
	if (ret < 0)
		xl_warn(priv->name, "rename %s -> %s: handle update failed: %s",
			a->loc.name, a->loc2.name, strerror(-ret));
}

/* 0 when the directory obj names has no entries, else -ENOTEMPTY or
 * -errno. */
static int posix_dir_empty(const struct posix_obj *obj)
{
	struct dirent *de;
	int fd, ret = 0;
	DIR *d;

	fd = posix_sys.openat(obj->pfd, obj->name,
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			      0);
	if (fd < 0)
		return -errno;
	d = posix_sys.fdopendir(fd);
	if (!d) {
		ret = -errno;
		posix_sys.close(fd);
		return ret;
	}
	while ((de = posix_sys.readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			ret = -ENOTEMPTY;
			break;
		}
	posix_sys.closedir(d);
	return ret;
}

/* What rename(2) of old onto nobj would answer, without renaming
 * (xdata XL_KEY_CHECK_ONLY). */
static int posix_rename_check(const struct posix_obj *old,
			      const struct posix_obj *nobj, unsigned flags)
{
	bool odir = S_ISDIR(old->st.st_mode);

	if (!nobj->exists)
		return flags & RENAME_EXCHANGE ? -ENOENT : 0;
	if (flags & RENAME_NOREPLACE)
		return -EEXIST;
	if ((flags & RENAME_EXCHANGE) || (old->st.st_ino == nobj->st.st_ino &&
					  old->st.st_dev == nobj->st.st_dev))
		return 0;
	if (odir && !S_ISDIR(nobj->st.st_mode))
		return -ENOTDIR;
	if (!odir && S_ISDIR(nobj->st.st_mode))
		return -EISDIR;
	return odir ? posix_dir_empty(nobj) : 0;
}

static void posix_rename(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = posix_priv(xl);
	struct xl_args *args = &call->args;
	uint8_t ogfid[XL_GFID_LEN], ngfid[XL_GFID_LEN];
	struct posix_obj old, nobj;
	bool have_o, have_n = false;
	int ret;

	ret = posix_existing_entry(priv, &args->loc, &old);
	if (ret < 0)
		goto out;
	if (!args->loc2.name) {
		ret = -EINVAL;
		goto release_old;
	}
	ret = posix_resolve_entry(priv, args->loc2.pargfid, args->loc2.name,
				  &nobj);
	if (ret < 0)
		goto release_old;
	if (args->xdata && xl_dict_get(args->xdata, XL_KEY_CHECK_ONLY)) {
		ret = posix_rename_check(&old, &nobj, (unsigned)args->flags);
		goto release;
	}
	have_o = posix_gfid_ensure(priv, &old, args->loc.pargfid, ogfid) == 0;
	if (nobj.exists)
		have_n = posix_gfid_get(&nobj, ngfid) == 0;
	if (posix_sys.renameat2(old.pfd, old.name, nobj.pfd, nobj.name,
				(unsigned int)args->flags) != 0) {
		ret = -errno;
		goto release;
	}
	posix_rename_fix(priv, args, &old, have_o ? ogfid : NULL, &nobj,
			 have_n ? ngfid : NULL);
	if (posix_obj_stat(&nobj) == 0 && have_o)
		posix_attr_reply(call, &nobj, ogfid);
release:
	posix_obj_release(&nobj);
release_old:
	posix_obj_release(&old);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

static void posix_link(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = posix_priv(xl);
	struct xl_args *args = &call->args;
	uint8_t gfid[XL_GFID_LEN];
	struct posix_obj src, dst;
	int ret;

	ret = posix_resolve_loc(priv, &args->loc, &src);
	if (ret < 0)
		goto out;
	ret = posix_loc_gfid(priv, &args->loc, &src, gfid);
	if (ret == 0 && S_ISDIR(src.st.st_mode))
		ret = -EPERM;
	if (ret == 0 && src.parked)
		ret = -ENOENT; /* as link(2) of a file with no name left */
	if (ret < 0)
		goto release_src;
	ret = posix_new_entry_resolve(priv, &args->loc2, &dst);
	if (ret < 0)
		goto release_src;
	if (posix_sys.linkat(src.pfd, src.name, dst.pfd, dst.name, 0) != 0)
		ret = -errno;
	else
		ret = posix_obj_stat(&dst);
	if (ret == 0)
		posix_attr_reply(call, &dst, gfid);
	posix_obj_release(&dst);
release_src:
	posix_obj_release(&src);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

static void posix_statfs(struct xl *xl, struct xl_call *call)
{
	struct xl_statfs *sf = &call->reply.statfs;
	struct statvfs sv;
	int ret = 0;

	if (posix_sys.fstatvfs(posix_priv(xl)->root_fd, &sv) != 0) {
		ret = -errno;
		goto out;
	}
	sf->bsize = sv.f_bsize;
	sf->frsize = sv.f_frsize;
	sf->blocks = sv.f_blocks;
	sf->bfree = sv.f_bfree;
	sf->bavail = sv.f_bavail;
	sf->files = sv.f_files;
	sf->ffree = sv.f_ffree;
	sf->favail = sv.f_favail;
	sf->fsid = sv.f_fsid;
	sf->namemax = sv.f_namemax;
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

/* Record locks live in features/locks, above us. */
static void posix_nolock(struct xl *xl, struct xl_call *call)
{
	xl_unwind_error(call, -ENOSYS);
}

static int posix_init(struct xl *xl, char **err)
{
	struct posix_priv *priv;
	const char *dir = NULL;
	int64_t cache = 0;
	int ret;

	if (xl_opt_str(xl, "directory", &dir) != 0 || !dir) {
		*err = strdup("option 'directory' is required");
		return -EINVAL;
	}
	if (xl->child_count > 0) {
		*err =
		    strdup("storage/posix is a leaf: it takes no subvolumes");
		return -EINVAL;
	}
	priv = xl_calloc(xl, 1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	priv->name = xl->name;
	priv->base = strdup(dir);
	if (!priv->base) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = posix_handle_init(priv, dir, err);
	if (ret < 0)
		goto fail;
	xl_opt_int(xl, "dir-fd-cache", &cache);
	ret = posix_dircache_init(priv, xl, (unsigned)cache);
	if (ret < 0) {
		posix_handle_fini(priv);
		goto fail;
	}
	xl->private = priv;
	xl_info(xl->name, "serving brick directory %s", dir);
	return 0;
fail:
	free(priv->base);
	xl_free(xl, priv);
	return ret;
}

static void posix_fini(struct xl *xl)
{
	struct posix_priv *priv = xl->private;

	if (!priv)
		return;
	posix_dircache_fini(priv);
	posix_handle_fini(priv);
	free(priv->base);
	xl_free(xl, priv);
	xl->private = NULL;
}

static void posix_dump(struct xl *xl, FILE *out)
{
	struct posix_priv *priv = xl->private;

	if (!priv)
		return;
	fprintf(out, "directory=%s\n", priv->base);
	fprintf(out, "open_fds=%ld\n", atomic_load(&priv->open_fds));
	fprintf(out, "openat2=%s\n",
		atomic_load(&priv->no_openat2) ? "unavailable" : "yes");
	posix_dircache_dump(priv, out);
}

static const struct xl_option_desc posix_options[] = {
    {.key = "directory",
     .type = XL_OPT_PATH,
     .help = "the brick's local directory (must exist)",
     .required = true},
    {.key = "dir-fd-cache",
     .type = XL_OPT_INT,
     .default_value = "256",
     .min = 0,
     .max = 65536,
     .help = "open directories kept by gfid, so entry fops in them skip "
	     "the handle walk (0: off)"},
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "storage/posix",
    .description = "the brick's local directory, with gfid handles",
    .init = posix_init,
    .fini = posix_fini,
    .dump = posix_dump,
    .options = posix_options,
    .fd_ctx_free = posix_fd_ctx_free,
    .fops =
	{
	    [XL_FOP_LOOKUP] = posix_lookup,
	    [XL_FOP_STAT] = posix_stat,
	    [XL_FOP_SETATTR] = posix_setattr,
	    [XL_FOP_ACCESS] = posix_access,
	    [XL_FOP_READLINK] = posix_readlink,
	    [XL_FOP_MKNOD] = posix_mknod,
	    [XL_FOP_MKDIR] = posix_mkdir,
	    [XL_FOP_UNLINK] = posix_unlink,
	    [XL_FOP_RMDIR] = posix_rmdir,
	    [XL_FOP_SYMLINK] = posix_symlink,
	    [XL_FOP_RENAME] = posix_rename,
	    [XL_FOP_LINK] = posix_link,
	    [XL_FOP_CREATE] = posix_create,
	    [XL_FOP_OPEN] = posix_open,
	    [XL_FOP_READ] = posix_read,
	    [XL_FOP_WRITE] = posix_write,
	    [XL_FOP_FLUSH] = posix_flush,
	    [XL_FOP_RELEASE] = posix_release,
	    [XL_FOP_FSYNC] = posix_fsync,
	    [XL_FOP_OPENDIR] = posix_opendir,
	    [XL_FOP_READDIR] = posix_readdir,
	    [XL_FOP_READDIRPLUS] = posix_readdir,
	    [XL_FOP_RELEASEDIR] = posix_release,
	    [XL_FOP_FSYNCDIR] = posix_fsync,
	    [XL_FOP_STATFS] = posix_statfs,
	    [XL_FOP_SETXATTR] = posix_setxattr,
	    [XL_FOP_GETXATTR] = posix_getxattr,
	    [XL_FOP_LISTXATTR] = posix_listxattr,
	    [XL_FOP_REMOVEXATTR] = posix_removexattr,
	    [XL_FOP_LK] = posix_nolock,
	    [XL_FOP_FLOCK] = posix_nolock,
	    [XL_FOP_FALLOCATE] = posix_falloc,
	    [XL_FOP_LSEEK] = posix_lseek,
	    [XL_FOP_INODELK] = posix_nolock,
	    [XL_FOP_XATTROP] = posix_xattrop,
	    [XL_FOP_RCHECKSUM] = posix_rchecksum,
	},
};
