/*
 * posix-dircache.c - open directory fds by gfid.
 *
 * Every entry fop (lookup, create, mkdir, unlink, rename, ...) names its
 * parent by gfid, and reaching a directory by gfid costs about six system
 * calls: open the handle bucket, stat and read the handle symlink, close
 * the bucket, openat2 along the handle chain, read the gfid back.  A
 * client working in one directory pays that on every call.  This cache
 * keeps the O_DIRECTORY fd of recently used directories (at most
 * option dir-fd-cache of them, least recently used out first) and hands
 * out a duplicate: one fcntl and one fstat instead of the walk.
 *
 * Why a cached fd stays right: an fd follows its directory through
 * renames (the gfid is read-only, so the fd never names another gfid),
 * and the only way a directory stops being reachable through fops is its
 * removal, which goes through posix_handle_remove(is_dir), which calls
 * posix_dircache_forget.  An admin may also remove a directory in the
 * brick directory itself, behind the brick's back: every hit checks the
 * directory still has links (one fstat), and one that has none is
 * forgotten and walked again, as without the cache.  A lookup that resolved a
 * directory before that removal must not put its (now dead) fd in after it:
 * forget bumps an epoch, and posix_dircache_put refuses an fd resolved in an
 * older one.
 *
 * The duplicate shares its open file description with the cached fd, so
 * callers use it only with *at() calls, fstat, fgetxattr and the like,
 * never to read the directory's entries (opendir opens a fresh
 * description: posix-io.c).  Locking: one mutex; held only for table
 * edits, never across a system call other than close of an evicted fd.
 */
#define _GNU_SOURCE
#include "posix-sys.h"
#include "posix.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct posix_dircache_ent {
	uint8_t gfid[XL_GFID_LEN];
	int fd;					/* owned */
	struct posix_dircache_ent *hash_next;	/* same bucket */
	struct posix_dircache_ent *prev, *next; /* LRU: head is newest */
};

struct posix_dircache {
	struct xl *xl; /* for memory accounting */
	pthread_mutex_t lock;
	unsigned cap, count, nbuckets;
	struct posix_dircache_ent **buckets;
	struct posix_dircache_ent *newest, *oldest;
	atomic_ulong epoch; /* bumped by every forget */
	atomic_ulong hits, misses, evictions;
};

static unsigned dircache_slot(const struct posix_dircache *dc,
			      const uint8_t *gfid)
{
	uint32_t h;

	/* gfids are random: any four bytes hash evenly. */
	memcpy(&h, gfid + XL_GFID_LEN - 4, sizeof(h));
	return h % dc->nbuckets;
}

static struct posix_dircache_ent *
dircache_find(struct posix_dircache *dc, const uint8_t *gfid,
	      struct posix_dircache_ent ***link)
{
	struct posix_dircache_ent **pp = &dc->buckets[dircache_slot(dc, gfid)];

	for (; *pp; pp = &(*pp)->hash_next)
		if (memcmp((*pp)->gfid, gfid, XL_GFID_LEN) == 0)
			break;
	if (link)
		*link = pp;
	return *pp;
}

static void lru_unlink(struct posix_dircache *dc, struct posix_dircache_ent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		dc->newest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		dc->oldest = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct posix_dircache *dc, struct posix_dircache_ent *e)
{
	e->prev = NULL;
	e->next = dc->newest;
	if (dc->newest)
		dc->newest->prev = e;
	dc->newest = e;
	if (!dc->oldest)
		dc->oldest = e;
}

/* Take e out of the table; the caller closes e->fd and frees e. */
static void dircache_remove(struct posix_dircache *dc,
			    struct posix_dircache_ent **link)
{
	struct posix_dircache_ent *e = *link;

	*link = e->hash_next;
	lru_unlink(dc, e);
	dc->count--;
}

static void dircache_drop(struct posix_dircache *dc,
			  struct posix_dircache_ent *e)
{
	posix_sys.close(e->fd);
	xl_free(dc->xl, e);
}

int posix_dircache_init(struct posix_priv *priv, struct xl *xl, unsigned cap)
{
	struct posix_dircache *dc;

	priv->dircache = NULL;
	if (cap == 0)
		return 0;
	dc = xl_calloc(xl, 1, sizeof(*dc));
	if (!dc)
		return -ENOMEM;
	dc->xl = xl;
	dc->cap = cap;
	dc->nbuckets = cap < 64 ? 64 : cap;
	dc->buckets = xl_calloc(xl, dc->nbuckets, sizeof(*dc->buckets));
	if (!dc->buckets) {
		xl_free(xl, dc);
		return -ENOMEM;
	}
	pthread_mutex_init(&dc->lock, NULL);
	priv->dircache = dc;
	return 0;
}

void posix_dircache_fini(struct posix_priv *priv)
{
	struct posix_dircache *dc = priv->dircache;

	if (!dc)
		return;
	while (dc->newest) {
		struct posix_dircache_ent *e = dc->newest;

		lru_unlink(dc, e);
		dircache_drop(dc, e);
	}
	pthread_mutex_destroy(&dc->lock);
	xl_free(dc->xl, dc->buckets);
	xl_free(dc->xl, dc);
	priv->dircache = NULL;
}

unsigned long posix_dircache_epoch(const struct posix_priv *priv)
{
	return priv->dircache ? atomic_load(&priv->dircache->epoch) : 0;
}

/* A directory removed (by anyone) has no links left; its fd lives on. */
static bool dircache_still_linked(int fd)
{
	struct stat st;

	return posix_sys.fstat(fd, &st) == 0 && st.st_nlink > 0;
}

int posix_dircache_get(struct posix_priv *priv, const uint8_t *gfid)
{
	struct posix_dircache *dc = priv->dircache;
	struct posix_dircache_ent *e;
	int fd = -ENOENT;

	if (!dc)
		return -ENOENT;
	pthread_mutex_lock(&dc->lock);
	e = dircache_find(dc, gfid, NULL);
	if (e) {
		/* Duplicated under the lock: an eviction cannot close it
		 * (and another open reuse its number) in between. */
		fd = posix_sys.dup_cloexec(e->fd);
		if (fd < 0)
			fd = -errno;
		lru_unlink(dc, e);
		lru_push(dc, e);
	}
	pthread_mutex_unlock(&dc->lock);
	if (fd >= 0 && !dircache_still_linked(fd)) {
		/* removed behind the brick's back (an admin's rmdir in the
		 * brick directory): walk the handle as if never cached */
		posix_sys.close(fd);
		posix_dircache_forget(priv, gfid);
		fd = -ENOENT;
	}
	atomic_fetch_add(fd >= 0 ? &dc->hits : &dc->misses, 1);
	return fd;
}

void posix_dircache_put(struct posix_priv *priv, const uint8_t *gfid, int fd,
			unsigned long epoch)
{
	struct posix_dircache *dc = priv->dircache;
	struct posix_dircache_ent *e, *old = NULL;
	int copy;

	if (!dc || atomic_load(&dc->epoch) != epoch)
		return;
	copy = posix_sys.dup_cloexec(fd);
	if (copy < 0)
		return; /* out of fds: the cache is only an optimisation */
	e = xl_calloc(dc->xl, 1, sizeof(*e));
	if (!e) {
		posix_sys.close(copy);
		return;
	}
	memcpy(e->gfid, gfid, XL_GFID_LEN);
	e->fd = copy;
	pthread_mutex_lock(&dc->lock);
	if (atomic_load(&dc->epoch) != epoch || dircache_find(dc, gfid, NULL)) {
		/* removed meanwhile, or another caller put it first */
		pthread_mutex_unlock(&dc->lock);
		dircache_drop(dc, e);
		return;
	}
	if (dc->count == dc->cap) {
		struct posix_dircache_ent **link;

		old = dc->oldest;
		dircache_find(dc, old->gfid, &link);
		dircache_remove(dc, link);
		atomic_fetch_add(&dc->evictions, 1);
	}
	e->hash_next = dc->buckets[dircache_slot(dc, gfid)];
	dc->buckets[dircache_slot(dc, gfid)] = e;
	lru_push(dc, e);
	dc->count++;
	pthread_mutex_unlock(&dc->lock);
	if (old)
		dircache_drop(dc, old);
}

void posix_dircache_forget(struct posix_priv *priv, const uint8_t *gfid)
{
	struct posix_dircache *dc = priv->dircache;
	struct posix_dircache_ent **link, *e;

	if (!dc)
		return;
	pthread_mutex_lock(&dc->lock);
	atomic_fetch_add(&dc->epoch, 1);
	e = dircache_find(dc, gfid, &link);
	if (e)
		dircache_remove(dc, link);
	pthread_mutex_unlock(&dc->lock);
	if (e)
		dircache_drop(dc, e);
}

void posix_dircache_dump(const struct posix_priv *priv, FILE *out)
{
	struct posix_dircache *dc = priv->dircache;

	if (!dc) {
		fprintf(out, "dir_fd_cache=off\n");
		return;
	}
	fprintf(out, "dir_fd_cache=%u/%u hits=%lu misses=%lu evictions=%lu\n",
		dc->count, dc->cap, atomic_load(&dc->hits),
		atomic_load(&dc->misses), atomic_load(&dc->evictions));
}
