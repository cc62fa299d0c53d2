/*
 * posix-io.c - storage/posix fops on open files and directories: open,
 * create, read, write, flush, fsync, release, opendir, readdir(plus),
 * fsyncdir, fallocate, lseek.
 *
 * The OS fd of an open file lives in a struct posix_fd stored in the
 * xl_fd's ctx slot.  It is refcounted: the slot holds one reference and
 * each fop using it takes one (posix_fd_get, under the xl_fd's lock), so a
 * RELEASE racing with a read on another io-thread never closes the fd
 * under the read.  RELEASE/RELEASEDIR empty the slot and drop its
 * reference; desc.fd_ctx_free does the same when the xl_fd dies first.
 *
 * Directory streams: a DIR per open directory, guarded by posix_fd.lock,
 * positioned with seekdir() on every readdir so any d_off returned earlier
 * resumes the listing.
 */
#define _GNU_SOURCE
#include "buf.h"
#include "inode.h"
#include "log.h"
#include "posix-sys.h"
#include "posix.h"
#include <endian.h>
#include <xxhash.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define POSIX_DIRENT_BASE 24  /* struct fuse_dirent without the name */
#define POSIX_DIRENT_PLUS 128 /* struct fuse_entry_out */
/* Largest listing one readdir returns, whatever size was asked.  A reply
 * must fit one rpc frame (RPC_BODY_MAX, 256 KiB) or it is never sent; the
 * size budgeted per entry above is never less than its encoding on the
 * wire (24 bytes + name, + 112 of attributes for readdirplus), so half a
 * frame leaves room for the rest of the reply.  Callers page with d_off. */
#define POSIX_READDIR_MAX (128u << 10)

/* Attributes through an OS fd.  A file whose one link is its parked
 * handle has no name left: nlink 0. */
int posix_fill_attr_fd(struct posix_priv *priv, int fd, const uint8_t *gfid,
		       struct xl_iatt *ia)
{
	struct stat st;

	if (posix_sys.fstat(fd, &st) != 0)
		return -errno;
	posix_iatt_fill(ia, &st, gfid);
	if (!S_ISDIR(st.st_mode) && st.st_nlink == 1 &&
	    posix_opens_parked(priv, gfid))
		ia->nlink = 0;
	return 0;
}

/* A new reference to fd's posix_fd, or NULL when it has none. */
struct posix_fd *posix_fd_get(struct xl *xl, struct xl_fd *fd)
{
	struct posix_fd *pfd = NULL;

	pthread_mutex_lock(&fd->lock);
	if (fd->ctx)
		pfd = fd->ctx[xl->index];
	if (pfd)
		atomic_fetch_add(&pfd->refs, 1);
	pthread_mutex_unlock(&fd->lock);
	return pfd;
}

/* Drop a reference; the last one closes the OS fd.  priv may be NULL
 * (an xl_fd outliving the translator). */
void posix_fd_put(struct posix_priv *priv, struct posix_fd *pfd)
{
	if (!pfd || atomic_fetch_sub(&pfd->refs, 1) != 1)
		return;
	if (priv)
		posix_opens_remove(priv, pfd);
	if (pfd->dir)
		posix_sys.closedir(pfd->dir);
	posix_sys.close(pfd->fd);
	pthread_mutex_destroy(&pfd->lock);
	free(pfd);
	if (priv)
		atomic_fetch_sub(&priv->open_fds, 1);
}

void posix_fd_ctx_free(struct xl *xl, void *ctx)
{
	posix_fd_put(xl->private, ctx);
}

/* Store a new posix_fd owning osfd (and dir) in fd's slot.  On failure
 * osfd and dir are closed. */
static int posix_fd_install(struct xl *xl, struct xl_fd *fd, int osfd, DIR *dir,
			    const uint8_t *gfid)
{
	struct posix_priv *priv = xl->private;
	struct posix_fd *pfd = calloc(1, sizeof(*pfd));
	struct posix_fd *old;
	int ret;

	if (!pfd) {
		if (dir)
			posix_sys.closedir(dir);
		posix_sys.close(osfd);
		return -ENOMEM;
	}
	atomic_init(&pfd->refs, 1);
	pfd->fd = osfd;
	pfd->dir = dir;
	pthread_mutex_init(&pfd->lock, NULL);
	memcpy(pfd->gfid, gfid, XL_GFID_LEN);
	atomic_fetch_add(&priv->open_fds, 1);
	ret = posix_opens_add(priv, pfd);
	if (ret < 0) {
		posix_fd_put(priv, pfd);
		return ret;
	}
	old = xl_fd_ctx_set(fd, xl, pfd);
	/* A second open on one xl_fd would be a caller bug; do not leak. */
	posix_fd_put(priv, old);
	return 0;
}

static void posix_release_fd(struct xl *xl, struct xl_fd *fd)
{
	struct posix_fd *pfd;

	pthread_mutex_lock(&fd->lock);
	pfd = fd->ctx ? fd->ctx[xl->index] : NULL;
	if (pfd)
		fd->ctx[xl->index] = NULL;
	pthread_mutex_unlock(&fd->lock);
	posix_fd_put(xl->private, pfd);
}

void posix_release(struct xl *xl, struct xl_call *call)
{
	if (call->args.fd)
		posix_release_fd(xl, call->args.fd);
	call->reply.ret = 0;
	xl_unwind(call);
}

/*
 * Open an existing entry for I/O.  Only regular files (and directories
 * read-only) are ever opened: a FIFO would block an io-thread and a device
 * node a client made with mknod would hand out the brick host's device.
 * The entry is pinned with O_PATH | O_NOFOLLOW, checked, then reopened
 * through /proc/self/fd, so it cannot be swapped in between.  A symlink
 * gives ELOOP (never followed).  New fd or -errno.
 */
int posix_open_existing(int pfd, const char *name, int flags)
{
	char path[40];
	struct stat st;
	int pin, fd;

	pin = posix_sys.openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	if (pin < 0)
		return -errno;
	if (posix_sys.fstat(pin, &st) != 0) {
		fd = -errno;
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		fd = -ELOOP;
	} else if (S_ISDIR(st.st_mode)) {
		fd = (flags & O_ACCMODE) == O_RDONLY ? 0 : -EISDIR;
	} else if (!S_ISREG(st.st_mode)) {
		fd = -EPERM;
	} else {
		fd = 0;
	}
	if (fd < 0)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", pin);
	fd = posix_sys.openat(
	    AT_FDCWD, path,
	    (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW)) | O_CLOEXEC,
	    0);
	if (fd < 0)
		fd = -errno;
out:
	posix_sys.close(pin);
	return fd;
}

/* The object open/opendir act on: args.loc (by gfid or name), else the
 * fd's gfid. */
static int posix_fd_target(struct posix_priv *priv, struct xl_call *call,
			   struct posix_obj *obj, uint8_t *gfid)
{
	struct xl_loc *loc = &call->args.loc;
	int ret;

	if (loc->name && !xl_gfid_is_null(loc->pargfid)) {
		ret = posix_resolve_loc(priv, loc, obj);
		if (ret == 0)
			ret = posix_gfid_ensure(priv, obj, loc->pargfid, gfid);
		if (ret < 0)
			posix_obj_release(obj);
		return ret;
	}
	memcpy(gfid,
	       xl_gfid_is_null(loc->gfid) ? call->args.fd->gfid : loc->gfid,
	       XL_GFID_LEN);
	return posix_resolve_gfid(priv, gfid, obj);
}

void posix_open(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = xl->private;
	uint8_t gfid[XL_GFID_LEN];
	struct posix_obj obj;
	int flags, osfd, ret;

	if (!call->args.fd) {
		ret = -EBADF;
		goto out;
	}
	ret = posix_fd_target(priv, call, &obj, gfid);
	if (ret < 0)
		goto out;
	/* A file with no name left cannot be opened anew (only the fds it
	 * had live on): the opener's name is stale, and ESTALE makes the
	 * kernel look the name up again. */
	if (obj.parked) {
		ret = -ESTALE;
		goto release;
	}
	flags = call->args.flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
	ret = osfd = posix_open_existing(obj.pfd, obj.name, flags);
	if (ret < 0)
		goto release;
	ret = posix_fill_attr_fd(priv, osfd, gfid, &call->reply.attr);
	if (ret < 0)
		posix_sys.close(osfd);
	else
		ret = posix_fd_install(xl, call->args.fd, osfd, NULL, gfid);
release:
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

/* create: open the new name O_CREAT|O_EXCL; when it exists and the caller
 * did not ask for O_EXCL, open the existing file instead. */
static int posix_create_open(struct posix_obj *obj, int flags, mode_t want,
			     bool *created)
{
	int fd;

	flags = (flags & ~O_NOCTTY) | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	fd = posix_sys.openat(obj->pfd, obj->name, flags | O_EXCL, want);
	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST && !(flags & O_EXCL))
		return posix_open_existing(obj->pfd, obj->name,
					   flags & ~(O_CREAT | O_TRUNC));
	return fd < 0 ? -errno : fd;
}

void posix_create(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = xl->private;
	struct xl_args *args = &call->args;
	mode_t want = args->mode & ~args->umask & 07777;
	uint8_t gfid[XL_GFID_LEN];
	struct posix_obj obj;
	bool created;
	int osfd = -1, ret;

	if (!args->fd || !args->loc.name) {
		ret = -EINVAL;
		goto out;
	}
	ret =
	    posix_resolve_entry(priv, args->loc.pargfid, args->loc.name, &obj);
	if (ret < 0)
		goto out;
	pthread_mutex_lock(posix_entry_lock(obj.name));
	ret = osfd = posix_create_open(&obj, args->flags, want, &created);
	if (ret >= 0 && created) {
		obj.exists = true;
		obj.st.st_mode = S_IFREG;
		ret = posix_new_entry_finish(priv, &obj, call, want, true);
		memcpy(gfid, call->reply.attr.gfid, XL_GFID_LEN);
	}
	pthread_mutex_unlock(posix_entry_lock(obj.name));
	if (osfd < 0)
		goto release;
	if ((args->flags & O_TRUNC) && !created &&
	    posix_sys.ftruncate(osfd, 0) != 0) {
		ret = -errno;
		goto release;
	}
	if (!created) {
		ret = posix_obj_stat(&obj);
		if (ret == 0)
			ret = posix_gfid_ensure(priv, &obj, args->loc.pargfid,
						gfid);
	}
	if (ret == 0)
		ret = posix_fill_attr_fd(priv, osfd, gfid, &call->reply.attr);
	if (ret == 0) {
		ret = posix_fd_install(xl, args->fd, osfd, NULL, gfid);
		osfd = -1;
	}
	if (ret == 0)
		posix_postparent(call, obj.pfd);
release:
	if (osfd >= 0)
		posix_sys.close(osfd);
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

/* A read that never waits for the disk: -1/EAGAIN when the first page is
 * not cached (short when a later one is not).  A kernel or file system
 * without RWF_NOWAIT answers EOPNOTSUPP: EAGAIN too, the caller then
 * reads where it may block. */
static ssize_t posix_read_nowait(int fd, void *buf, size_t size, off_t off)
{
	struct iovec iov = {.iov_base = buf, .iov_len = size};
	ssize_t n = posix_sys.preadv2(fd, &iov, 1, off, RWF_NOWAIT);

	if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL))
		errno = EAGAIN;
	return n;
}

void posix_read(struct xl *xl, struct xl_call *call)
{
	struct posix_fd *pfd = posix_fd_get(xl, call->args.fd);
	size_t size = call->args.size;
	struct xl_iobuf *buf;
	ssize_t n;
	int ret, attr_ret;

	if (!pfd) {
		ret = -EBADF;
		goto out;
	}
	if (size > XL_IO_SIZE_MAX || call->args.offset < 0) {
		ret = -EINVAL;
		goto out;
	}
	buf = xl_iobuf_new(size ? size : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	n = call->nowait
		? posix_read_nowait(pfd->fd, buf->data, size, call->args.offset)
		: posix_sys.pread(pfd->fd, buf->data, size, call->args.offset);
	if (n < 0) {
		ret = -errno;
		xl_iobuf_unref(buf);
		goto out;
	}
	/* The file's attributes after the read, as write answers them:
	 * distribute sees from them that a file it reads finished migrating
	 * (doc/cluster.md).  Left zero when fstat fails. */
	attr_ret = posix_fill_attr_fd(xl->private, pfd->fd, pfd->gfid,
				      &call->reply.attr);
	/* RWF_NOWAIT stops short where the cached pages end: unless that is
	 * the end of the file, the rest needs the disk. */
	if (call->nowait && (size_t)n < size &&
	    (attr_ret != 0 || (uint64_t)call->args.offset + (uint64_t)n <
				  call->reply.attr.size)) {
		ret = -EAGAIN;
		xl_iobuf_unref(buf);
		goto out;
	}
	buf->size = (size_t)n;
	call->reply.data = buf;
	ret = (int)n;
out:
	posix_fd_put(xl->private, pfd);
	call->reply.ret = ret;
	xl_unwind(call);
}

/*
 * RCHECKSUM: XXH64 of [offset, offset + size) as read now, so replicate's
 * data heal can compare copies chunk by chunk and move only the chunks
 * that differ.  Short at end of file: reply.offset says how many bytes
 * were hashed.
 */
void posix_rchecksum(struct xl *xl, struct xl_call *call)
{
	struct posix_fd *pfd = posix_fd_get(xl, call->args.fd);
	uint64_t want = call->args.size, done = 0, be;
	XXH64_state_t *st = NULL;
	char *buf = NULL;
	int ret = 0;

	if (!pfd) {
		ret = -EBADF;
		goto out;
	}
	if (want > XL_RCHECKSUM_MAX || call->args.offset < 0) {
		ret = -EINVAL;
		goto out;
	}
	st = XXH64_createState();
	buf = malloc(POSIX_CHECKSUM_BUF);
	if (!st || !buf) {
		ret = -ENOMEM;
		goto out;
	}
	XXH64_reset(st, 0);
	while (done < want) {
		size_t n = want - done < POSIX_CHECKSUM_BUF
			       ? want - done
			       : POSIX_CHECKSUM_BUF;
		ssize_t got = posix_sys.pread(pfd->fd, buf, n,
					      call->args.offset + (off_t)done);

		if (got < 0) {
			ret = -errno;
			goto out;
		}
		if (got == 0)
			break;
		XXH64_update(st, buf, (size_t)got);
		done += (uint64_t)got;
	}
	be = htobe64(XXH64_digest(st));
	call->reply.data = xl_iobuf_from(&be, sizeof(be));
	call->reply.offset = (int64_t)done;
	if (!call->reply.data)
		ret = -ENOMEM;
out:
	free(buf);
	if (st)
		XXH64_freeState(st);
	posix_fd_put(xl->private, pfd);
	call->reply.ret = ret;
	xl_unwind(call);
}

void posix_write(struct xl *xl, struct xl_call *call)
{
	struct posix_fd *pfd = posix_fd_get(xl, call->args.fd);
	struct xl_iobuf *data = call->args.data;
	ssize_t n;
	int ret;

	if (!pfd) {
		ret = -EBADF;
		goto out;
	}
	if (!data || data->size > XL_IO_SIZE_MAX || call->args.offset < 0) {
		ret = -EINVAL;
		goto out;
	}
	n = posix_sys.pwrite(pfd->fd, data->data, data->size,
			     call->args.offset);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	ret = posix_fill_attr_fd(xl->private, pfd->fd, pfd->gfid,
				 &call->reply.attr);
	if (ret == 0)
		ret = (int)n;
out:
	posix_fd_put(xl->private, pfd);
	call->reply.ret = ret;
	xl_unwind(call);
}

void posix_flush(struct xl *xl, struct xl_call *call)
{
	struct posix_fd *pfd = posix_fd_get(xl, call->args.fd);

	call->reply.ret = pfd ? 0 : -EBADF;
	posix_fd_put(xl->private, pfd);
	xl_unwind(call);
}

/* fsync and fsyncdir: args.cmd != 0 asks for data only. */
void posix_fsync(struct xl *xl, struct xl_call *call)
{
	struct posix_fd *pfd = posix_fd_get(xl, call->args.fd);
	int ret = 0;

	if (!pfd)
		ret = -EBADF;
	else if ((call->args.cmd ? posix_sys.fdatasync(pfd->fd)
				 : posix_sys.fsync(pfd->fd)) != 0)
		ret = -errno;
	posix_fd_put(xl->private, pfd);
	call->reply.ret = ret;
	xl_unwind(call);
}

void posix_falloc(struct xl *xl, struct xl_call *call)
{
	struct posix_fd *pfd = posix_fd_get(xl, call->args.fd);
	struct xl_args *args = &call->args;
	int ret;

	if (!pfd) {
		ret = -EBADF;
		goto out;
	}
	if (posix_sys.fallocate(pfd->fd, args->cmd, (off_t)args->offset,
				(off_t)args->size) != 0) {
		ret = -errno;
		goto out;
	}
	ret = posix_fill_attr_fd(xl->private, pfd->fd, pfd->gfid,
				 &call->reply.attr);
out:
	posix_fd_put(xl->private, pfd);
	call->reply.ret = ret;
	xl_unwind(call);
}

void posix_lseek(struct xl *xl, struct xl_call *call)
{
	struct posix_fd *pfd = posix_fd_get(xl, call->args.fd);
	off_t off;
	int ret = 0;

	if (!pfd) {
		ret = -EBADF;
		goto out;
	}
	/* pread/pwrite never use the fd position, so moving it is safe. */
	off =
	    posix_sys.lseek(pfd->fd, (off_t)call->args.offset, call->args.cmd);
	if (off < 0)
		ret = -errno;
	else
		call->reply.offset = off;
out:
	posix_fd_put(xl->private, pfd);
	call->reply.ret = ret;
	xl_unwind(call);
}

void posix_opendir(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = xl->private;
	uint8_t gfid[XL_GFID_LEN];
	struct posix_obj obj;
	int dfd = -1, ret;
	DIR *dir;

	if (!call->args.fd) {
		ret = -EBADF;
		goto out;
	}
	ret = posix_fd_target(priv, call, &obj, gfid);
	if (ret < 0)
		goto out;
	if (!S_ISDIR(obj.st.st_mode)) {
		ret = -ENOTDIR;
		goto release;
	}
	/* A fresh open file description: the stream's position is its own. */
	dfd = posix_sys.openat(obj.pfd, obj.name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			       0);
	if (dfd < 0) {
		ret = -errno;
		goto release;
	}
	dir = posix_sys.fdopendir(dfd);
	if (!dir) {
		ret = -errno;
		posix_sys.close(dfd);
		goto release;
	}
	dfd = posix_sys.dup(dirfd(dir)); /* fsyncdir / fstat use this one */
	if (dfd < 0) {
		ret = -errno;
		posix_sys.closedir(dir);
		goto release;
	}
	ret = posix_fill_attr_fd(priv, dfd, gfid, &call->reply.attr);
	if (ret == 0)
		ret = posix_fd_install(xl, call->args.fd, dfd, dir, gfid);
	else {
		posix_sys.closedir(dir);
		posix_sys.close(dfd);
	}
release:
	posix_obj_release(&obj);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

/* Attributes and gfid of one listed entry for readdirplus.  "." is the
 * directory itself; ".." its parent (the root's ".." is the root: the
 * brick's parent is never looked at).  -ENOENT: the entry vanished. */
static int posix_dirent_attr(struct posix_priv *priv, struct posix_fd *pfd,
			     const char *name, struct xl_iatt *ia)
{
	int dfd = dirfd(pfd->dir);
	struct posix_obj obj;
	uint8_t gfid[XL_GFID_LEN] = {0};
	bool root = xl_gfid_is_root(pfd->gfid);
	int ret;

	posix_obj_init(&obj);
	obj.pfd = dfd; /* borrowed: never released here */
	snprintf(obj.name, sizeof(obj.name), "%s",
		 strcmp(name, "..") == 0 && root ? "." : name);
	ret = posix_obj_stat(&obj);
	if (ret < 0)
		return ret;
	if (strcmp(obj.name, ".") == 0)
		memcpy(gfid, pfd->gfid, XL_GFID_LEN);
	else if (strcmp(obj.name, "..") == 0)
		posix_gfid_get(&obj, gfid);
	else
		ret = posix_gfid_ensure(priv, &obj, pfd->gfid, gfid);
	posix_iatt_fill(ia, &obj.st, gfid);
	return ret;
}

/*
 * readdirplus with mortar.xattr-req (doc/cluster.md): for each xattr
 * named there (at most POSIX_DX_MAX), the names of the listed entries
 * that carry it, each NUL-terminated, go to reply.xdata under the xattr's
 * name.  Distribute tells its linkto files from user files this way.
 * Each list stays below the largest xdata value a reply may carry, and
 * the reply budget counts every name once per list (the worst case).
 */
#define POSIX_DX_MAX 4

struct posix_dx {
	int n;
	const char *names[POSIX_DX_MAX]; /* borrowed from args.xdata */
	char *lists[POSIX_DX_MAX];
	size_t lens[POSIX_DX_MAX], caps[POSIX_DX_MAX];
	size_t worst; /* what one list may hold if every entry is in it */
};

static void posix_dx_init(struct posix_dx *dx, const struct xl_call *call,
			  bool plus)
{
	const struct xl_dict_pair *req = NULL;

	memset(dx, 0, sizeof(*dx));
	if (plus && call->args.xdata)
		req = xl_dict_get(call->args.xdata, XL_KEY_XATTR_REQ);
	for (uint32_t off = 0; req && off < req->len && dx->n < POSIX_DX_MAX;) {
		const char *name = (const char *)req->value + off;
		size_t nl = strnlen(name, req->len - off);

		off += (uint32_t)nl + 1;
		if (nl > 0 && nl <= XL_XATTR_NAME_MAX && off <= req->len)
			dx->names[dx->n++] = name;
	}
}

/* Note which requested xattrs entry `name` of directory dfd carries. */
static int posix_dx_note(struct posix_dx *dx, int dfd, const char *name)
{
	char xpath[XL_NAME_MAX + 40];
	size_t len = strlen(name) + 1;

	snprintf(xpath, sizeof(xpath), "/proc/self/fd/%d/%s", dfd, name);
	for (int i = 0; i < dx->n; i++) {
		if (posix_sys.lgetxattr(xpath, dx->names[i], NULL, 0) < 0)
			continue; /* absent, or unreadable: not listed */
		if (dx->lens[i] + len > dx->caps[i]) {
			size_t cap = dx->caps[i] ? dx->caps[i] * 2 : 1024;
			char *p;

			while (cap < dx->lens[i] + len)
				cap *= 2;
			p = realloc(dx->lists[i], cap);
			if (!p)
				return -ENOMEM;
			dx->lists[i] = p;
			dx->caps[i] = cap;
		}
		memcpy(dx->lists[i] + dx->lens[i], name, len);
		dx->lens[i] += len;
	}
	return 0;
}

/* Hand the lists to the reply (0 or -ENOMEM) and free them. */
static int posix_dx_finish(struct posix_dx *dx, struct xl_reply *reply)
{
	int ret = 0;

	for (int i = 0; i < dx->n; i++) {
		if (ret == 0 && dx->lens[i] > 0) {
			if (!reply->xdata && !(reply->xdata = xl_dict_new()))
				ret = -ENOMEM;
			else
				ret = xl_dict_set(reply->xdata, dx->names[i],
						  dx->lists[i],
						  (uint32_t)dx->lens[i]);
		}
		free(dx->lists[i]);
	}
	return ret;
}

/* Fill entries from the stream, at most `budget` bytes of FUSE dirents. */
static int posix_readdir_fill(struct posix_priv *priv, struct posix_fd *pfd,
			      struct xl_call *call, bool plus)
{
	bool root = xl_gfid_is_root(pfd->gfid);
	uint64_t used = 0, budget = call->args.size;
	struct xl_dirent *ents = NULL, *grown;
	uint32_t count = 0, cap = 0;
	struct posix_dx dx;
	struct dirent *de;
	int ret = 0;

	if (budget > POSIX_READDIR_MAX)
		budget = POSIX_READDIR_MAX;
	posix_dx_init(&dx, call, plus);
	if (call->args.offset == 0)
		rewinddir(pfd->dir);
	else
		seekdir(pfd->dir, (long)call->args.offset);
	for (;;) {
		size_t len;
		uint64_t esz;

		errno = 0;
		de = posix_sys.readdir(pfd->dir);
		if (!de) {
			ret = errno ? -errno : 0;
			break;
		}
		if (root && strcmp(de->d_name, POSIX_META_DIR) == 0)
			continue;
		len = strlen(de->d_name);
		esz = ((POSIX_DIRENT_BASE + len + 7) & ~(uint64_t)7) +
		      (plus ? POSIX_DIRENT_PLUS : 0) + (len + 1) * (size_t)dx.n;
		if (used + esz > budget ||
		    (dx.n && dx.worst + len + 1 > XL_XATTR_SIZE_MAX))
			break;
		if (count == cap) {
			cap = cap ? cap * 2 : 32;
			grown = realloc(ents, cap * sizeof(*ents));
			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			ents = grown;
		}
		memset(&ents[count], 0, sizeof(ents[count]));
		ents[count].name = strdup(de->d_name);
		if (!ents[count].name) {
			ret = -ENOMEM;
			break;
		}
		ents[count].d_off = (uint64_t)de->d_off;
		ents[count].d_ino = de->d_ino;
		ents[count].d_type = de->d_type;
		if (plus && posix_dirent_attr(priv, pfd, de->d_name,
					      &ents[count].attr) == -ENOENT) {
			free(ents[count].name);
			continue; /* removed while we listed it */
		}
		if (dx.n && strcmp(de->d_name, ".") &&
		    strcmp(de->d_name, "..")) {
			ret = posix_dx_note(&dx, dirfd(pfd->dir), de->d_name);
			if (ret < 0) {
				free(ents[count].name);
				break;
			}
			dx.worst += len + 1;
		}
		count++;
		used += esz;
	}
	if (posix_dx_finish(&dx, &call->reply) < 0 && count > 0) {
		/* a listing without its lists would show linkto files */
		for (uint32_t i = 0; i < count; i++)
			free(ents[i].name);
		free(ents);
		return -ENOMEM;
	}
	if (ret < 0 && count == 0) {
		free(ents);
		return ret;
	}
	call->reply.entries = ents;
	call->reply.entry_count = count;
	return 0;
}

/* readdir and readdirplus (told apart by call->fop). */
void posix_readdir(struct xl *xl, struct xl_call *call)
{
	struct posix_fd *pfd = posix_fd_get(xl, call->args.fd);
	int ret;

	if (!pfd || !pfd->dir) {
		ret = pfd ? -ENOTDIR : -EBADF;
		goto out;
	}
	pthread_mutex_lock(&pfd->lock);
	ret = posix_readdir_fill(xl->private, pfd, call,
				 call->fop == XL_FOP_READDIRPLUS);
	pthread_mutex_unlock(&pfd->lock);
out:
	posix_fd_put(xl->private, pfd);
	call->reply.ret = ret;
	xl_unwind(call);
}
