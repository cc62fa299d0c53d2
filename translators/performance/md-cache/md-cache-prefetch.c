/*
 * md-cache-prefetch.c - read a directory whole into the cache when it is
 * looked up by name, name after name, faster than one round trip each
 * (a `stat` of every file a job was told about, a build checking its
 * inputs, a cold `ls -l` whose kernel asks by name).
 *
 * After prefetch-dir-after lookups by name in one directory missed the
 * cache (mdc_dir_miss), one background run opens the directory, reads it
 * with readdirplus from offset 0 to the end, fills the names and their
 * attributes as any readdirplus reply does, and releases the directory.
 * The lookups that triggered it go on meanwhile; the ones after it are
 * answered from the cache.  Fills are judged like every other (the
 * generation each batch sampled when it went down), so a change's notice
 * that comes while a batch is out refuses its fill.  A run that read
 * every name with no invalidation of the directory since its first batch
 * went down leaves the directory complete (md-cache-table.h): the bricks
 * noted this client's interest in it with that first batch (features/
 * upcall notes readdirplus's directory).  A directory holding more names
 * than the cache keeps for one is read once, to the bound, and never
 * again while its node lives.  A listing marked not settled (XL_KEY_NO_CACHE:
 * a replica directory with entries to heal) ends the run with nothing
 * filled from it.
 *
 * The run uses the credentials of the lookup that triggered it: the
 * brick lets it read the directory only if that caller could.
 */
#include "config.h"

#include "buf.h"
#include "inode.h"
#include "log.h"
#include "md-cache.h"
#include "xdata-keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

/* Bytes asked of each readdirplus (the brick answers at most 128 KiB). */
#define MDC_PREFETCH_CHUNK (128u << 10)

struct mdc_prefetch {
	struct xl *xl;
	uint8_t dir[XL_GFID_LEN];
	struct xl_inode *inode; /* ref, may be NULL */
	struct xl_cred cred;
	struct xl_origin origin;
	struct xl_fd *fd; /* ref while open */
	uint64_t offset;  /* where the next batch starts */
	uint64_t first_since, first_wound_ms;
	uint64_t since, wound_ms; /* the batch out now */
	uint32_t names;
	bool all_kept; /* every name read so far is in the cache */
	bool whole;    /* read to the end */
};

static void mdc_pf_readdir(struct mdc_prefetch *pf);

static void mdc_pf_free(struct mdc_prefetch *pf)
{
	struct mdc_priv *priv = pf->xl->private;

	pthread_mutex_lock(&priv->lock);
	mdc_dir_prefetched(&priv->table, pf->dir,
			   !pf->whole && pf->names >= MDC_DIR_ENTRIES_MAX);
	pthread_mutex_unlock(&priv->lock);
	if (pf->fd)
		xl_fd_unref(pf->fd);
	if (pf->inode)
		xl_inode_unref(pf->inode);
	xl_free(pf->xl, pf);
}

static void mdc_pf_released(struct xl_call *none, struct xl_call *ic,
			    void *cookie)
{
	(void)none;
	(void)ic;
	mdc_pf_free(cookie);
}

/* Done (read whole, failed or bounded): release the directory. */
static void mdc_pf_finish(struct mdc_prefetch *pf)
{
	struct xl_args args;

	memset(&args, 0, sizeof(args));
	memcpy(args.loc.gfid, pf->dir, XL_GFID_LEN);
	args.fd = pf->fd; /* the run's ref goes with the release */
	pf->fd = NULL;
	xl_call_internal(pf->xl, pf->origin, pf->xl->children[0],
			 XL_FOP_RELEASEDIR, NULL, &args, mdc_pf_released, pf);
}

/* The run read every name: the directory is complete if nothing about
 * it was invalidated since the first batch went down. */
static void mdc_pf_complete_locked(struct mdc_priv *priv,
				   struct mdc_prefetch *pf)
{
	uint64_t seq = mdc_inval_seq(&priv->table, pf->dir);

	if (pf->all_kept && seq && seq <= pf->first_since)
		mdc_set_complete(&priv->table, pf->dir,
				 pf->first_wound_ms + priv->table.timeout_ms);
}

static void mdc_pf_batch_cbk(struct xl_call *none, struct xl_call *ic,
			     void *cookie)
{
	struct mdc_prefetch *pf = cookie;
	struct mdc_priv *priv = pf->xl->private;
	const struct xl_reply *r = &ic->reply;
	bool more;

	(void)none;
	if (r->ret < 0) {
		xl_debug(pf->xl->name, "directory prefetch stopped: %s",
			 strerror(-r->ret));
		mdc_pf_finish(pf);
		return;
	}
	/* A listing the cluster translators say is not settled (a replica
	 * directory with entries to heal: one copy may lack names the other
	 * has) fills nothing: a name missing from it must still be asked
	 * for, and that lookup is what heals it. */
	if (xl_dict_get(r->xdata, XL_KEY_NO_CACHE)) {
		xl_debug(pf->xl->name, "directory prefetch stopped: listing "
				       "not settled");
		mdc_pf_finish(pf);
		return;
	}
	pthread_mutex_lock(&priv->lock);
	if (mdc_fill_dirents_locked(priv, pf->dir, r, pf->since,
				    pf->wound_ms) != 0)
		pf->all_kept = false;
	pf->names += r->entry_count;
	if (r->entry_count)
		pf->offset = r->entries[r->entry_count - 1].d_off;
	pf->whole = r->entry_count == 0;
	more = !pf->whole && pf->names < MDC_DIR_ENTRIES_MAX;
	if (pf->whole)
		mdc_pf_complete_locked(priv, pf);
	pthread_mutex_unlock(&priv->lock);
	atomic_fetch_add(&priv->prefetched_names, r->entry_count);
	if (pf->whole)
		atomic_fetch_add(&priv->prefetches_whole, 1);
	if (more)
		mdc_pf_readdir(pf);
	else
		mdc_pf_finish(pf);
}

static void mdc_pf_readdir(struct mdc_prefetch *pf)
{
	struct mdc_priv *priv = pf->xl->private;
	struct xl_args args;

	memset(&args, 0, sizeof(args));
	memcpy(args.loc.gfid, pf->dir, XL_GFID_LEN);
	args.fd = xl_fd_ref(pf->fd);
	args.offset = (int64_t)pf->offset;
	args.size = MDC_PREFETCH_CHUNK;
	pthread_mutex_lock(&priv->lock);
	pf->since = mdc_table_seq(&priv->table);
	pthread_mutex_unlock(&priv->lock);
	pf->wound_ms = mdc_now_ms();
	if (pf->offset == 0) {
		pf->first_since = pf->since;
		pf->first_wound_ms = pf->wound_ms;
	}
	xl_call_internal(pf->xl, pf->origin, pf->xl->children[0],
			 XL_FOP_READDIRPLUS, &pf->cred, &args, mdc_pf_batch_cbk,
			 pf);
}

static void mdc_pf_opened(struct xl_call *none, struct xl_call *ic,
			  void *cookie)
{
	struct mdc_prefetch *pf = cookie;

	(void)none;
	if (ic->reply.ret < 0) {
		/* never opened: nothing to release */
		xl_fd_unref(pf->fd);
		pf->fd = NULL;
		mdc_pf_free(pf);
		return;
	}
	mdc_pf_readdir(pf);
}

void mdc_prefetch_on_miss(struct xl *xl, struct xl_call *lookup)
{
	struct mdc_priv *priv = xl->private;
	const struct xl_loc *loc = &lookup->args.loc;
	struct mdc_prefetch *pf;
	struct xl_args args;
	bool start;

	if (!priv->prefetch_after || !loc->name)
		return;
	pthread_mutex_lock(&priv->lock);
	start = mdc_dir_miss(&priv->table, loc->pargfid, priv->prefetch_after,
			     mdc_now_ms());
	pthread_mutex_unlock(&priv->lock);
	if (!start)
		return;
	pf = xl_calloc(xl, 1, sizeof(*pf));
	if (pf) {
		pf->xl = xl;
		memcpy(pf->dir, loc->pargfid, XL_GFID_LEN);
		pf->inode = loc->parent ? xl_inode_ref(loc->parent) : NULL;
		pf->fd = xl_fd_new(lookup->graph, pf->dir, pf->inode,
				   O_RDONLY | O_DIRECTORY, true);
	}
	if (!pf || !pf->fd) {
		if (pf) {
			mdc_pf_free(pf);
			return;
		}
		pthread_mutex_lock(&priv->lock);
		mdc_dir_prefetched(&priv->table, loc->pargfid, false);
		pthread_mutex_unlock(&priv->lock);
		return;
	}
	pf->cred = lookup->cred;
	pf->origin = xl_call_origin(lookup);
	pf->all_kept = true;
	atomic_fetch_add(&priv->prefetches, 1);
	memset(&args, 0, sizeof(args));
	memcpy(args.loc.gfid, pf->dir, XL_GFID_LEN);
	args.loc.inode = pf->inode ? xl_inode_ref(pf->inode) : NULL;
	args.flags = O_RDONLY | O_DIRECTORY;
	args.fd = xl_fd_ref(pf->fd);
	xl_call_internal(xl, pf->origin, xl->children[0], XL_FOP_OPENDIR,
			 &pf->cred, &args, mdc_pf_opened, pf);
}
