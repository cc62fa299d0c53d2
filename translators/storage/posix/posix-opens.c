/*
 * posix-opens.c - storage/posix: which objects are open on this brick,
 * and the unlinked-but-open area that keeps a file reachable by gfid
 * after its last name went away.
 *
 * POSIX says an open file lives until its last fd is closed.  Through the
 * fd alone that holds on the brick for free (the OS fd pins the inode),
 * but clients also reach an open file by gfid: the kernel sends fstat and
 * fchmod as GETATTR/SETATTR on the inode, replicate's changelog xattrops
 * name the gfid, heal opens by gfid.  A non-directory's gfid handle is a
 * hard link (posix-handle.c), so when the last user-visible name of a file
 * that is open here goes (unlink, or a rename over it), its handle is not
 * removed but moved to .mortar/unlink/<gfid> ("parked"); gfid resolution
 * falls back to that area, and the last close of the file removes it.
 * What is left there after a crash is removed when the brick starts (no
 * fd survives a restart).  GlusterFS keeps the same kind of area in
 * .glusterfs/unlink.
 *
 * The table: one struct posix_open per open gfid, in POSIX_OPEN_BUCKETS
 * chains, each holding the list of its posix_fds.  opens_lock guards the
 * whole table, every posix_open and the open_next links; it is taken at
 * open, at the last close, at an unlink of a last name and for the parked
 * test of a stat whose st_nlink is 1 — never on read or write.  Lock
 * order: an entry stripe (posix_entry_lock), then opens_lock.
 */
#define _GNU_SOURCE
#include "log.h"
#include "posix-sys.h"
#include "posix.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One open gfid: its open posix_fds and whether its handle is parked. */
struct posix_open {
	uint8_t gfid[XL_GFID_LEN];
	struct posix_fd *fds; /* via posix_fd.open_next */
	bool parked;	      /* its link is .mortar/unlink/<gfid> */
	struct posix_open *next;
};

static struct posix_open **posix_open_bucket(struct posix_priv *priv,
					     const uint8_t *gfid)
{
	unsigned h = (unsigned)gfid[14] << 8 | gfid[15];

	return &priv->opens[h % POSIX_OPEN_BUCKETS];
}

static struct posix_open *posix_open_find_locked(struct posix_priv *priv,
						 const uint8_t *gfid)
{
	struct posix_open *o = *posix_open_bucket(priv, gfid);

	while (o && memcmp(o->gfid, gfid, XL_GFID_LEN) != 0)
		o = o->next;
	return o;
}

/* Remove every leftover of a previous run from the unlink area. */
static void posix_opens_clean(struct posix_priv *priv)
{
	struct dirent *de;
	long removed = 0;
	DIR *d;
	int fd;

	fd = posix_sys.dup(priv->unlink_fd);
	if (fd < 0)
		return;
	d = posix_sys.fdopendir(fd);
	if (!d) {
		posix_sys.close(fd);
		return;
	}
	while ((de = posix_sys.readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (posix_sys.unlinkat(priv->unlink_fd, de->d_name, 0) == 0)
			removed++;
		else
			xl_warn(priv->name, "unlink area: cannot remove %s: %s",
				de->d_name, strerror(errno));
	}
	posix_sys.closedir(d);
	if (removed)
		xl_info(priv->name,
			"unlink area: removed %ld file(s) left open by a "
			"previous run",
			removed);
}

int posix_opens_init(struct posix_priv *priv, int meta_fd)
{
	pthread_mutex_init(&priv->opens_lock, NULL);
	if (posix_sys.mkdirat(meta_fd, POSIX_UNLINK_DIR, 0700) != 0 &&
	    errno != EEXIST)
		return -errno;
	priv->unlink_fd = posix_sys.openat(
	    meta_fd, POSIX_UNLINK_DIR,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (priv->unlink_fd < 0)
		return -errno;
	posix_opens_clean(priv);
	return 0;
}

void posix_opens_fini(struct posix_priv *priv)
{
	struct posix_open *o, *next;

	for (size_t i = 0; i < POSIX_OPEN_BUCKETS; i++) {
		for (o = priv->opens[i]; o; o = next) {
			next = o->next;
			free(o);
		}
		priv->opens[i] = NULL;
	}
	if (priv->unlink_fd >= 0)
		posix_sys.close(priv->unlink_fd);
	priv->unlink_fd = -1;
	pthread_mutex_destroy(&priv->opens_lock);
}

/*
 * Enter a new posix_fd in the table.  A non-directory whose last name and
 * handle went away between its resolution and now (an unlink racing with
 * this open, st_nlink 0 and not parked) cannot be reached by gfid any more:
 * -ENOENT, as if the unlink had come first.  The test runs under
 * opens_lock, which the unlink side's park decision also holds.
 */
int posix_opens_add(struct posix_priv *priv, struct posix_fd *pfd)
{
	struct posix_open *o;
	struct stat st;
	int ret = 0;

	pthread_mutex_lock(&priv->opens_lock);
	o = posix_open_find_locked(priv, pfd->gfid);
	if (!o && !pfd->dir) {
		if (posix_sys.fstat(pfd->fd, &st) != 0)
			ret = -errno;
		else if (st.st_nlink == 0)
			ret = -ENOENT;
		if (ret < 0)
			goto out;
	}
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(o->gfid, pfd->gfid, XL_GFID_LEN);
		o->next = *posix_open_bucket(priv, pfd->gfid);
		*posix_open_bucket(priv, pfd->gfid) = o;
	}
	pfd->open_next = o->fds;
	o->fds = pfd;
	pfd->in_opens = true;
out:
	pthread_mutex_unlock(&priv->opens_lock);
	return ret;
}

/* Take pfd out of the table (its last reference is gone); the last fd of
 * a parked file removes the parked link, and with it the file. */
void posix_opens_remove(struct posix_priv *priv, struct posix_fd *pfd)
{
	char gstr[XL_GFID_STR_LEN];
	struct posix_open *o, **pp;
	struct posix_fd **fp;

	if (!pfd->in_opens)
		return;
	pthread_mutex_lock(&priv->opens_lock);
	o = posix_open_find_locked(priv, pfd->gfid);
	for (fp = o ? &o->fds : NULL; fp && *fp; fp = &(*fp)->open_next) {
		if (*fp == pfd) {
			*fp = pfd->open_next;
			break;
		}
	}
	pfd->in_opens = false;
	if (!o || o->fds)
		goto out;
	if (o->parked &&
	    posix_sys.unlinkat(priv->unlink_fd, xl_gfid_to_str(o->gfid, gstr),
			       0) != 0 &&
	    errno != ENOENT)
		xl_warn(priv->name, "unlink area: cannot remove %s: %s", gstr,
			strerror(errno));
	for (pp = posix_open_bucket(priv, o->gfid); *pp != o; pp = &(*pp)->next)
		;
	*pp = o->next;
	free(o);
out:
	pthread_mutex_unlock(&priv->opens_lock);
}

/*
 * The last name of a non-directory is gone and (bfd, gstr) is its handle,
 * now its only link.  If the file is open here, move the handle to the
 * unlink area (*parked = true) and keep it until the last close;
 * otherwise leave it for the caller to remove.
 */
int posix_opens_park(struct posix_priv *priv, int bfd, const char *gstr,
		     const uint8_t *gfid, bool *parked)
{
	struct posix_open *o;
	int ret = 0;

	*parked = false;
	pthread_mutex_lock(&priv->opens_lock);
	o = posix_open_find_locked(priv, gfid);
	if (!o || !o->fds)
		goto out;
	if (posix_sys.renameat2(bfd, gstr, priv->unlink_fd, gstr, 0) != 0) {
		ret = -errno;
		goto out;
	}
	o->parked = true;
	*parked = true;
out:
	pthread_mutex_unlock(&priv->opens_lock);
	return ret;
}

/* Whether gfid's only link is in the unlink area (a file with no name). */
bool posix_opens_parked(struct posix_priv *priv, const uint8_t *gfid)
{
	struct posix_open *o;
	bool parked;

	pthread_mutex_lock(&priv->opens_lock);
	o = posix_open_find_locked(priv, gfid);
	parked = o && o->parked;
	pthread_mutex_unlock(&priv->opens_lock);
	return parked;
}

/* Resolve a gfid whose handle is missing to its parked link: 0 with obj
 * set (obj->parked), or -ESTALE when it is not there either. */
int posix_opens_resolve(struct posix_priv *priv, const uint8_t *gfid,
			struct posix_obj *obj)
{
	char gstr[XL_GFID_STR_LEN];
	int fd, ret;

	xl_gfid_to_str(gfid, gstr);
	fd = posix_sys.dup(priv->unlink_fd);
	if (fd < 0)
		return -errno;
	obj->pfd = fd;
	snprintf(obj->name, sizeof(obj->name), "%s", gstr);
	ret = posix_obj_stat(obj);
	if (ret < 0) {
		posix_obj_release(obj);
		return ret == -ENOENT ? -ESTALE : ret;
	}
	obj->parked = true;
	return 0;
}

/* A new reference to an open directory's posix_fd (a removed directory
 * is reachable only through its fds), or NULL. */
struct posix_fd *posix_opens_dir_fd(struct posix_priv *priv,
				    const uint8_t *gfid)
{
	struct posix_fd *pfd = NULL, *f;
	struct posix_open *o;
	int refs;

	pthread_mutex_lock(&priv->opens_lock);
	o = posix_open_find_locked(priv, gfid);
	for (f = o ? o->fds : NULL; f && !pfd; f = f->open_next) {
		if (!f->dir)
			continue;
		/* a ref only while it is alive: the last put waits for
		 * opens_lock to take it out of the table */
		refs = atomic_load(&f->refs);
		while (refs > 0 &&
		       !atomic_compare_exchange_weak(&f->refs, &refs, refs + 1))
			;
		if (refs > 0)
			pfd = f;
	}
	pthread_mutex_unlock(&priv->opens_lock);
	return pfd;
}
