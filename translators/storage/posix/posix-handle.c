/*
 * posix-handle.c - gfid handles and confinement: how storage/posix turns a
 * gfid or a (parent gfid, name) into an object inside the brick, and
 * nothing outside it.
 *
 * Handle index: .mortar/handles/<aa>/<bb>/<gfid-str> (aa, bb = the first
 * two gfid bytes in hex).
 *   - a non-directory's handle is a HARD LINK to it (symlinks included:
 *     linkat without AT_SYMLINK_FOLLOW), so it can be opened by gfid;
 *   - a directory's handle is a SYMLINK whose text is
 *     "../../<aa>/<bb>/<parent-gfid-str>/<name>"; following it walks the
 *     parents' handles up to the root's, "../../../..": the handle sits
 *     four levels deep (.mortar/handles/00/00/), so "../../.." (as in
 *     GlusterFS, whose index is one level shallower) would name .mortar.
 * Rule telling them apart: a handle is a directory handle iff it is a
 * symlink, its st_nlink is 1 and its text has exactly one of the two
 * shapes above (with aa/bb matching its parent gfid).  A user symlink's
 * handle is a second name of it, so its st_nlink is at least 2 while the
 * user's name exists (and the handle is removed when that name goes).
 *
 * Confinement: directory handles are only followed by openat2 from the
 * brick root fd with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, so a handle
 * text that tries to escape fails with EXDEV.  When openat2 is missing
 * (ENOSYS) or the chain is deeper than the kernel's 40-symlink limit
 * (ELOOP) or it keeps racing with renames (EAGAIN) the chain is walked by
 * hand: each text is parsed strictly and each name opened with
 * O_NOFOLLOW | O_DIRECTORY from the root down.  A resolved directory must
 * carry the gfid asked for (else ESTALE).
 */
#define _GNU_SOURCE
#include "log.h"
#include "posix-sys.h"
#include "posix.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char posix_root_handle_text[] = "../../../..";

void posix_handle_path(const uint8_t *gfid, char *buf)
{
	char str[XL_GFID_STR_LEN];

	xl_gfid_to_str(gfid, str);
	snprintf(buf, POSIX_HANDLE_PATH_MAX, "%s/%02x/%02x/%s",
		 POSIX_HANDLES_DIR, gfid[0], gfid[1], str);
}

/* 0, -EINVAL for a name that is not one component, -EPERM for the
 * brick's reserved folder at the root. */
int posix_name_check(const uint8_t *pargfid, const char *name)
{
	if (!xl_name_is_valid(name))
		return -EINVAL;
	if (xl_gfid_is_root(pargfid) && strcmp(name, POSIX_META_DIR) == 0)
		return -EPERM;
	return 0;
}

void posix_obj_init(struct posix_obj *obj)
{
	memset(obj, 0, sizeof(*obj));
	obj->pfd = -1;
}

void posix_obj_release(struct posix_obj *obj)
{
	if (obj->pfd >= 0)
		posix_sys.close(obj->pfd);
	obj->pfd = -1;
	obj->exists = false;
}

/* Refresh obj->st.  0, or -errno (-ENOENT: obj->exists cleared). */
int posix_obj_stat(struct posix_obj *obj)
{
	if (posix_sys.fstatat(obj->pfd, obj->name, &obj->st,
			      AT_SYMLINK_NOFOLLOW) != 0) {
		int err = -errno;

		obj->exists = false;
		return err;
	}
	obj->exists = true;
	return 0;
}

/* A path the l*xattr calls can use without following the final
 * component: /proc/self/fd/<pfd>/<name>. */
int posix_obj_xpath(const struct posix_obj *obj, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/proc/self/fd/%d/%s", obj->pfd, obj->name);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int posix_gfid_get_path(const char *xpath, uint8_t *gfid)
{
	ssize_t n =
	    posix_sys.lgetxattr(xpath, POSIX_GFID_XATTR, gfid, XL_GFID_LEN);

	if (n < 0)
		return errno == ENOTSUP ? -ENODATA : -errno;
	if (n != XL_GFID_LEN)
		return -ENODATA;
	return 0;
}

int posix_gfid_get(const struct posix_obj *obj, uint8_t *gfid)
{
	char xpath[XL_NAME_MAX + 40];
	int ret = posix_obj_xpath(obj, xpath, sizeof(xpath));

	if (ret < 0)
		return ret;
	return posix_gfid_get_path(xpath, gfid);
}

int posix_gfid_set(const struct posix_obj *obj, const uint8_t *gfid)
{
	char xpath[XL_NAME_MAX + 40];
	int ret = posix_obj_xpath(obj, xpath, sizeof(xpath));

	if (ret < 0)
		return ret;
	if (posix_sys.lsetxattr(xpath, POSIX_GFID_XATTR, gfid, XL_GFID_LEN,
				XATTR_CREATE) != 0)
		return -errno;
	return 0;
}

/* Open dir `name` under dirfd, never following a symlink; with create,
 * make it first (EEXIST is fine).  New fd or -errno. */
static int posix_subdir_open(int dirfd, const char *name, bool create)
{
	int fd;

	if (create && posix_sys.mkdirat(dirfd, name, 0700) != 0 &&
	    errno != EEXIST)
		return -errno;
	fd = posix_sys.openat(
	    dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* fd of the bucket .mortar/handles/<aa>/<bb>, made on demand with create.
 * Walked component-wise with O_NOFOLLOW: the bucket path holds no
 * symlink. */
static int posix_bucket_open(struct posix_priv *priv, const uint8_t *gfid,
			     bool create)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
	};
	char hex[6];
	int afd, bfd;

	/* One syscall when the bucket exists (the common case). */
	if (!atomic_load(&priv->no_openat2)) {
		snprintf(hex, sizeof(hex), "%02x/%02x", gfid[0], gfid[1]);
		bfd = posix_sys.openat2(priv->handles_fd, hex, &how);
		if (bfd >= 0)
			return bfd;
		if (errno == ENOSYS)
			atomic_store(&priv->no_openat2, true);
		else if (errno != EAGAIN && (errno != ENOENT || !create))
			return -errno;
	}
	snprintf(hex, sizeof(hex), "%02x", gfid[0]);
	afd = posix_subdir_open(priv->handles_fd, hex, create);
	if (afd < 0)
		return afd;
	snprintf(hex, sizeof(hex), "%02x", gfid[1]);
	bfd = posix_subdir_open(afd, hex, create);
	posix_sys.close(afd);
	return bfd;
}

/* Parse a directory handle text "../../aa/bb/<pgfid>/<name>".  0 and the
 * parent gfid and name (pointer into text), or -EINVAL. */
static int posix_dir_text_parse(const char *text, uint8_t *pargfid,
				const char **name)
{
	char hex[3], gstr[XL_GFID_STR_LEN];
	size_t len = strlen(text);
	const size_t fixed = 6 + 3 + 3 + (XL_GFID_STR_LEN - 1) + 1;

	if (len <= fixed || strncmp(text, "../../", 6) != 0 || text[8] != '/' ||
	    text[11] != '/' || text[fixed - 1] != '/')
		return -EINVAL;
	memcpy(gstr, text + 12, XL_GFID_STR_LEN - 1);
	gstr[XL_GFID_STR_LEN - 1] = '\0';
	if (xl_gfid_parse(gstr, pargfid) != 0)
		return -EINVAL;
	snprintf(hex, sizeof(hex), "%02x", pargfid[0]);
	if (memcmp(text + 6, hex, 2) != 0)
		return -EINVAL;
	snprintf(hex, sizeof(hex), "%02x", pargfid[1]);
	if (memcmp(text + 9, hex, 2) != 0)
		return -EINVAL;
	*name = text + fixed;
	if (!xl_name_is_valid(*name))
		return -EINVAL;
	return 0;
}

/* Read one handle's symlink text (NUL-terminated) into buf. */
static int posix_handle_text(int bucket_fd, const char *gfid_str, char *buf,
			     size_t len)
{
	ssize_t n = posix_sys.readlinkat(bucket_fd, gfid_str, buf, len - 1);

	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

bool posix_is_dir_handle(int bucket_fd, const char *gfid_str,
			 const struct stat *st, const uint8_t *gfid)
{
	char text[POSIX_HANDLE_PATH_MAX + XL_NAME_MAX + 8];
	uint8_t pargfid[XL_GFID_LEN];
	const char *name;

	if (!S_ISLNK(st->st_mode) || st->st_nlink != 1)
		return false;
	if (posix_handle_text(bucket_fd, gfid_str, text, sizeof(text)) != 0)
		return false;
	if (strcmp(text, posix_root_handle_text) == 0)
		return xl_gfid_is_root(gfid);
	return posix_dir_text_parse(text, pargfid, &name) == 0;
}

/* Walk a directory's handle chain by hand (see the file comment).  New
 * O_DIRECTORY fd or -errno. */
static int posix_dir_open_slow(struct posix_priv *priv, const uint8_t *gfid)
{
	char text[POSIX_HANDLE_PATH_MAX + XL_NAME_MAX + 8];
	char gstr[XL_GFID_STR_LEN];
	uint8_t cur[XL_GFID_LEN], par[XL_GFID_LEN];
	char **names = NULL;
	const char *name;
	int depth = 0, fd = -1, ret = 0;

	names = calloc(POSIX_MAX_DEPTH, sizeof(*names));
	if (!names)
		return -ENOMEM;
	memcpy(cur, gfid, XL_GFID_LEN);
	while (!xl_gfid_is_root(cur)) {
		int bfd;

		if (depth == POSIX_MAX_DEPTH) {
			ret = -ELOOP;
			goto out;
		}
		bfd = posix_bucket_open(priv, cur, false);
		if (bfd < 0) {
			ret = bfd == -ENOENT ? -ESTALE : bfd;
			goto out;
		}
		ret = posix_handle_text(bfd, xl_gfid_to_str(cur, gstr), text,
					sizeof(text));
		posix_sys.close(bfd);
		if (ret == 0)
			ret = posix_dir_text_parse(text, par, &name);
		if (ret != 0) {
			ret = ret == -ENOENT ? -ESTALE : -ENOTDIR;
			goto out;
		}
		names[depth] = strdup(name);
		if (!names[depth]) {
			ret = -ENOMEM;
			goto out;
		}
		depth++;
		memcpy(cur, par, XL_GFID_LEN);
	}
	fd = posix_sys.openat(priv->root_fd, ".",
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	while (depth > 0) {
		int nfd = posix_subdir_open(fd, names[--depth], false);

		posix_sys.close(fd);
		fd = nfd;
		if (fd < 0) {
			ret = fd == -ENOENT ? -ESTALE : fd;
			goto out;
		}
	}
	ret = fd;
out:
	for (int i = 0; i < POSIX_MAX_DEPTH && names[i]; i++)
		free(names[i]);
	free(names);
	return ret;
}

static int posix_dir_handle_open(struct posix_priv *priv, const uint8_t *gfid);

/* Open the directory with this gfid.  New O_DIRECTORY fd or -errno
 * (-ESTALE: no such handle or it no longer leads to that directory,
 * -ENOTDIR: the gfid is not a directory). */
int posix_open_dir_gfid(struct posix_priv *priv, const uint8_t *gfid)
{
	char gstr[XL_GFID_STR_LEN];
	struct stat st;
	unsigned long epoch;
	int bfd, fd, ret;

	if (xl_gfid_is_root(gfid)) {
		fd = posix_sys.openat(priv->root_fd, ".",
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	fd = posix_dircache_get(priv, gfid);
	if (fd >= 0)
		return fd;
	epoch = posix_dircache_epoch(priv);
	bfd = posix_bucket_open(priv, gfid, false);
	if (bfd < 0)
		return bfd == -ENOENT ? -ESTALE : bfd;
	xl_gfid_to_str(gfid, gstr);
	ret =
	    posix_sys.fstatat(bfd, gstr, &st, AT_SYMLINK_NOFOLLOW) ? -errno : 0;
	if (ret == 0 && !posix_is_dir_handle(bfd, gstr, &st, gfid))
		ret = -ENOTDIR;
	posix_sys.close(bfd);
	if (ret < 0)
		return ret == -ENOENT ? -ESTALE : ret;
	fd = posix_dir_handle_open(priv, gfid);
	if (fd >= 0)
		posix_dircache_put(priv, gfid, fd, epoch);
	return fd;
}

/* Follow a handle already known to be a directory handle (see the file
 * comment) and check the gfid of what it leads to. */
static int posix_dir_handle_open(struct posix_priv *priv, const uint8_t *gfid)
{
	char path[POSIX_HANDLE_PATH_MAX];
	uint8_t found[XL_GFID_LEN];
	struct open_how how = {
	    .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct posix_obj self;
	int fd, ret;

	/*
	 * openat2 says EAGAIN when a rename anywhere raced with a ".." of the
	 * chain (it cannot then prove the walk stayed beneath): retry a few
	 * times, then walk by hand, which is just as confined.
	 */
	fd = -ENOSYS;
	posix_handle_path(gfid, path);
	for (int tries = 0; tries < 4 && !atomic_load(&priv->no_openat2);
	     tries++) {
		fd = posix_sys.openat2(priv->root_fd, path, &how);
		if (fd < 0)
			fd = -errno;
		if (fd == -ENOSYS)
			atomic_store(&priv->no_openat2, true);
		if (fd != -EAGAIN)
			break;
	}
	if (fd == -ENOSYS || fd == -ELOOP || fd == -EAGAIN)
		fd = posix_dir_open_slow(priv, gfid);
	if (fd < 0)
		return fd == -ENOENT ? -ESTALE : fd;

	/* The chain may name a directory that was since replaced. */
	posix_obj_init(&self);
	self.pfd = fd; /* borrowed */
	strcpy(self.name, ".");
	ret = posix_gfid_get(&self, found);
	if (ret != 0 || memcmp(found, gfid, XL_GFID_LEN) != 0) {
		posix_sys.close(fd);
		return -ESTALE;
	}
	return fd;
}

int posix_resolve_gfid(struct posix_priv *priv, const uint8_t *gfid,
		       struct posix_obj *obj)
{
	char gstr[XL_GFID_STR_LEN];
	int bfd, ret;

	posix_obj_init(obj);
	if (xl_gfid_is_null(gfid))
		return -EINVAL;
	if (xl_gfid_is_index(gfid))
		return posix_index_open(priv, obj);
	/* A directory kept open (posix-dircache.c) skips the handle walk. */
	ret = posix_dircache_get(priv, gfid);
	if (ret < 0 && xl_gfid_is_root(gfid)) {
		ret = posix_open_dir_gfid(priv, gfid);
	} else if (ret < 0) {
		unsigned long epoch = posix_dircache_epoch(priv);

		bfd = posix_bucket_open(priv, gfid, false);
		if (bfd == -ENOENT)
			return posix_opens_resolve(priv, gfid, obj);
		if (bfd < 0)
			return bfd;
		xl_gfid_to_str(gfid, gstr);
		obj->pfd = bfd;
		snprintf(obj->name, sizeof(obj->name), "%s", gstr);
		ret = posix_obj_stat(obj);
		if (ret == -ENOENT) {
			posix_obj_release(obj);
			return posix_opens_resolve(priv, gfid, obj);
		}
		if (ret < 0) {
			posix_obj_release(obj);
			return ret;
		}
		if (!posix_is_dir_handle(bfd, gstr, &obj->st, gfid))
			return 0; /* the hard link is the object */
		posix_obj_release(obj);
		ret = posix_dir_handle_open(priv, gfid);
		if (ret == -ENOENT)
			ret = -ESTALE;
		if (ret >= 0)
			posix_dircache_put(priv, gfid, ret, epoch);
	}
	if (ret < 0)
		return ret;
	obj->pfd = ret;
	strcpy(obj->name, ".");
	ret = posix_obj_stat(obj);
	if (ret < 0)
		posix_obj_release(obj);
	return ret;
}

/* Resolve (pargfid, name).  0 with obj->exists telling whether the name
 * exists (and obj->st its lstat), or -errno: -EINVAL bad name, -EPERM the
 * reserved folder, -ENOTDIR/-ESTALE bad parent. */
int posix_resolve_entry(struct posix_priv *priv, const uint8_t *pargfid,
			const char *name, struct posix_obj *obj)
{
	int ret = posix_name_check(pargfid, name);

	posix_obj_init(obj);
	if (ret == 0 && xl_gfid_is_null(pargfid))
		ret = -EINVAL;
	if (ret < 0)
		return ret;
	ret = posix_open_dir_gfid(priv, pargfid);
	if (ret < 0)
		return ret;
	obj->pfd = ret;
	snprintf(obj->name, sizeof(obj->name), "%s", name);
	ret = posix_obj_stat(obj);
	if (ret == -ENOENT)
		ret = 0;
	if (ret < 0)
		posix_obj_release(obj);
	return ret;
}

/* By name when loc has one, else by gfid.  For by-name, a missing entry
 * is -ENOENT here. */
int posix_resolve_loc(struct posix_priv *priv, const struct xl_loc *loc,
		      struct posix_obj *obj)
{
	int ret;

	if (!loc->name || xl_gfid_is_null(loc->pargfid))
		return posix_resolve_gfid(priv, loc->gfid, obj);
	ret = posix_resolve_entry(priv, loc->pargfid, loc->name, obj);
	if (ret == -EPERM)
		ret = -ENOENT;
	if (ret == 0 && !obj->exists) {
		posix_obj_release(obj);
		ret = -ENOENT;
	}
	return ret;
}

static int posix_dir_handle_text(const uint8_t *pargfid, const char *name,
				 char *buf, size_t len)
{
	char pstr[XL_GFID_STR_LEN];
	int n;

	if (!pargfid)
		n = snprintf(buf, len, "%s", posix_root_handle_text);
	else
		n = snprintf(buf, len, "../../%02x/%02x/%s/%s", pargfid[0],
			     pargfid[1], xl_gfid_to_str(pargfid, pstr), name);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/*
 * A handle already exists where obj's should go.  Fine if it already
 * leads to obj.  A stale one (a non-directory handle that is the last
 * name of its file, or a directory handle that no longer resolves to a
 * directory with this gfid) is replaced.  Anything else is a gfid that
 * another live object has: -EEXIST.
 */
static int posix_handle_conflict(struct posix_priv *priv, int bfd,
				 const char *gstr, const struct posix_obj *obj,
				 const uint8_t *gfid, const uint8_t *pargfid)
{
	struct stat hst;
	int fd;

	if (posix_sys.fstatat(bfd, gstr, &hst, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	if (!S_ISDIR(obj->st.st_mode)) {
		if (hst.st_ino == obj->st.st_ino &&
		    hst.st_dev == obj->st.st_dev)
			return 0;
		if (S_ISLNK(hst.st_mode) || hst.st_nlink > 1)
			return -EEXIST;
		if (posix_sys.unlinkat(bfd, gstr, 0) != 0)
			return -errno;
		return posix_sys.linkat(obj->pfd, obj->name, bfd, gstr, 0)
			   ? -errno
			   : 0;
	}
	if (!posix_is_dir_handle(bfd, gstr, &hst, gfid) && hst.st_nlink > 1)
		return -EEXIST; /* a live non-directory has this gfid */
	fd = posix_open_dir_gfid(priv, gfid);
	if (fd >= 0) {
		struct stat dst;
		int same = posix_sys.fstat(fd, &dst) == 0 &&
			   dst.st_ino == obj->st.st_ino &&
			   dst.st_dev == obj->st.st_dev;

		posix_sys.close(fd);
		return same ? 0 : -EEXIST;
	}
	if (!pargfid)
		return fd;
	return posix_handle_rewrite(priv, gfid, pargfid, obj->name);
}

/* Make the handle of an object that just got gfid.  A directory needs its
 * parent's gfid (NULL for the root) and obj->name is its name there; an
 * existing handle counts as success. */
int posix_handle_create(struct posix_priv *priv, const struct posix_obj *obj,
			const uint8_t *gfid, const uint8_t *pargfid)
{
	char text[POSIX_HANDLE_PATH_MAX + XL_NAME_MAX + 8];
	char gstr[XL_GFID_STR_LEN];
	int bfd, ret = 0;

	bfd = posix_bucket_open(priv, gfid, true);
	if (bfd < 0)
		return bfd;
	xl_gfid_to_str(gfid, gstr);
	if (S_ISDIR(obj->st.st_mode)) {
		ret = posix_dir_handle_text(pargfid, obj->name, text,
					    sizeof(text));
		if (ret == 0 && posix_sys.symlinkat(text, bfd, gstr) != 0)
			ret = -errno;
	} else if (posix_sys.linkat(obj->pfd, obj->name, bfd, gstr, 0) != 0) {
		ret = -errno;
	}
	if (ret == -EEXIST)
		ret =
		    posix_handle_conflict(priv, bfd, gstr, obj, gfid, pargfid);
	posix_sys.close(bfd);
	return ret;
}

/* Remove a handle: a directory's always; a non-directory's only when the
 * handle is its last name (st_nlink == 1), and then, if the file is open
 * on this brick, by moving it to the unlink area (posix-opens.c). */
int posix_handle_remove(struct posix_priv *priv, const uint8_t *gfid,
			bool is_dir)
{
	char gstr[XL_GFID_STR_LEN];
	bool parked = false;
	struct stat st;
	int bfd, ret = 0;

	if (xl_gfid_is_null(gfid) || xl_gfid_is_root(gfid))
		return 0;
	if (is_dir)
		posix_dircache_forget(priv, gfid);
	bfd = posix_bucket_open(priv, gfid, false);
	if (bfd < 0)
		return bfd == -ENOENT ? 0 : bfd;
	xl_gfid_to_str(gfid, gstr);
	if (posix_sys.fstatat(bfd, gstr, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		ret = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	if (!is_dir && st.st_nlink > 1)
		goto out;
	if (is_dir && !posix_is_dir_handle(bfd, gstr, &st, gfid))
		goto out; /* not ours to remove */
	if (!is_dir)
		ret = posix_opens_park(priv, bfd, gstr, gfid, &parked);
	if (ret < 0 || parked)
		goto out;
	if (posix_sys.unlinkat(bfd, gstr, 0) != 0 && errno != ENOENT)
		ret = -errno;
out:
	posix_sys.close(bfd);
	return ret;
}

/* Point a directory's handle at its new (parent, name): write a new
 * symlink beside it and rename it over, so a reader sees old or new. */
int posix_handle_rewrite(struct posix_priv *priv, const uint8_t *gfid,
			 const uint8_t *pargfid, const char *name)
{
	char text[POSIX_HANDLE_PATH_MAX + XL_NAME_MAX + 8];
	char gstr[XL_GFID_STR_LEN], tmp[XL_GFID_STR_LEN + 32];
	int bfd, ret;

	ret = posix_dir_handle_text(pargfid, name, text, sizeof(text));
	if (ret < 0)
		return ret;
	bfd = posix_bucket_open(priv, gfid, true);
	if (bfd < 0)
		return bfd;
	xl_gfid_to_str(gfid, gstr);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%lu", gstr,
		 (unsigned long)atomic_fetch_add(&priv->tmp_seq, 1));
	if (posix_sys.symlinkat(text, bfd, tmp) != 0) {
		ret = -errno;
		goto out;
	}
	if (posix_sys.renameat2(bfd, tmp, bfd, gstr, 0) != 0) {
		ret = -errno;
		posix_sys.unlinkat(bfd, tmp, 0);
	}
out:
	posix_sys.close(bfd);
	return ret;
}

/*
 * The gfid of an existing object, assigning one when it has none (an
 * entry an admin copied onto the brick) and re-making a missing handle.
 * pargfid is the parent's gfid for a directory reached by name (NULL when
 * unknown, e.g. by gfid: then its handle already exists).
 */
/*
 * Entry-creation stripes.  A creating fop makes the entry, then labels it
 * with the client's gfid; a lookup or readdirplus that sees the entry in
 * between must not give it a gfid of its own (the creator's label would
 * then fail and the create be undone).  Both sides hold the stripe of the
 * entry's name across "make and label" / "check and label".
 */
static pthread_mutex_t posix_entry_stripes[POSIX_ENTRY_STRIPES] = {
    [0 ... POSIX_ENTRY_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

pthread_mutex_t *posix_entry_lock(const char *name)
{
	unsigned h = 5381;

	for (const char *p = name; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return &posix_entry_stripes[h % POSIX_ENTRY_STRIPES];
}

/* Label an entry that has no gfid (copied in by an admin) with a fresh
 * one, unless its creator labels it first. */
static int posix_gfid_assign(struct posix_priv *priv, struct posix_obj *obj,
			     const uint8_t *pargfid, uint8_t *gfid)
{
	pthread_mutex_t *stripe = posix_entry_lock(obj->name);
	char gstr[XL_GFID_STR_LEN];
	int ret;

	pthread_mutex_lock(stripe);
	ret = posix_gfid_get(obj, gfid);
	if (ret != -ENODATA)
		goto out; /* labelled by its creator meanwhile */
	xl_gfid_generate(gfid);
	ret = posix_gfid_set(obj, gfid);
	if (ret == -EEXIST) {
		ret = posix_gfid_get(obj, gfid); /* raced with another */
		goto out;
	}
	if (ret < 0)
		goto out;
	xl_info(priv->name, "assigned gfid %s to %s",
		xl_gfid_to_str(gfid, gstr), obj->name);
	ret = posix_handle_create(priv, obj, gfid, pargfid);
out:
	pthread_mutex_unlock(stripe);
	return ret;
}

int posix_gfid_ensure(struct posix_priv *priv, struct posix_obj *obj,
		      const uint8_t *pargfid, uint8_t *gfid)
{
	char gstr[XL_GFID_STR_LEN];
	int ret = posix_gfid_get(obj, gfid);

	if (ret == 0) {
		struct stat hst;
		char rel[POSIX_HANDLE_PATH_MAX];

		/* Re-make a missing handle (entry restored by an admin with
		 * its xattrs); one fstatat when it is there. */
		snprintf(rel, sizeof(rel), "%02x/%02x/%s", gfid[0], gfid[1],
			 xl_gfid_to_str(gfid, gstr));
		if (pargfid &&
		    posix_sys.fstatat(priv->handles_fd, rel, &hst,
				      AT_SYMLINK_NOFOLLOW) != 0 &&
		    errno == ENOENT)
			ret = posix_handle_create(priv, obj, gfid, pargfid);
		return ret;
	}
	if (ret != -ENODATA || !pargfid)
		return ret;
	return posix_gfid_assign(priv, obj, pargfid, gfid);
}

/* Open the brick root, check it, make .mortar/handles and the root's gfid
 * and handle.  On failure *err is a malloc'd message. */
int posix_handle_init(struct posix_priv *priv, const char *dir, char **err)
{
	struct posix_obj root;
	uint8_t gfid[XL_GFID_LEN];
	struct stat st;
	int fd, ret;

	priv->root_fd = priv->handles_fd = priv->index_fd = -1;
	priv->unlink_fd = -1;
	fd = posix_sys.openat(AT_FDCWD, dir, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		if (asprintf(err, "brick directory %s: %s", dir,
			     strerror(-ret)) < 0)
			*err = NULL;
		return ret;
	}
	if (posix_sys.fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		posix_sys.close(fd);
		if (asprintf(err, "brick directory %s: not a directory", dir) <
		    0)
			*err = NULL;
		return -ENOTDIR;
	}
	priv->root_fd = fd;
	ret = posix_subdir_open(fd, POSIX_META_DIR, true);
	if (ret >= 0) {
		int mfd = ret;

		ret = posix_index_init(priv, mfd);
		if (ret == 0)
			ret = posix_opens_init(priv, mfd);
		if (ret == 0)
			ret = posix_subdir_open(mfd, "handles", true);
		posix_sys.close(mfd);
	}
	if (ret < 0) {
		if (asprintf(err, "brick directory %s: cannot make %s: %s", dir,
			     POSIX_META_DIR, strerror(-ret)) < 0)
			*err = NULL;
		goto fail;
	}
	priv->handles_fd = ret;

	posix_obj_init(&root);
	root.pfd = fd;
	strcpy(root.name, ".");
	ret = posix_obj_stat(&root);
	if (ret == 0) {
		ret = posix_gfid_get(&root, gfid);
		if (ret == -ENODATA)
			ret = posix_gfid_set(&root, xl_gfid_root);
		else if (ret == 0 && !xl_gfid_is_root(gfid))
			ret = -EINVAL;
	}
	if (ret == 0)
		ret = posix_handle_create(priv, &root, xl_gfid_root, NULL);
	if (ret < 0) {
		if (asprintf(err,
			     "brick directory %s: root gfid/handle: %s (needs "
			     "trusted.* xattrs, i.e. root)",
			     dir, strerror(-ret)) < 0)
			*err = NULL;
		goto fail;
	}
	return 0;
fail:
	posix_handle_fini(priv);
	return ret;
}

void posix_handle_fini(struct posix_priv *priv)
{
	if (priv->unlink_fd >= 0)
		posix_opens_fini(priv);
	if (priv->index_fd >= 0)
		posix_sys.close(priv->index_fd);
	if (priv->handles_fd >= 0)
		posix_sys.close(priv->handles_fd);
	if (priv->root_fd >= 0)
		posix_sys.close(priv->root_fd);
	priv->handles_fd = priv->root_fd = priv->index_fd = -1;
}
