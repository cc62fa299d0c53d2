/*
 * replicate-heal.c - cluster/replicate: self-heal (data, metadata, entry),
 * split-brain policies, the pending-index crawl, and the virtual xattrs
 * mortar-heal drives them with.
 *
 * Heal runs on the translator's own heal threads (heal-parallel workers
 * fed by a job queue, and one crawl thread).  They are the only threads
 * that wait for answers (afr_sync_*): no fop thread, event loop or
 * io-thread ever waits, and an application fop that asks for a heal
 * (lookup, the heal tool's setxattr) only queues a job and returns.
 *
 * One heal of a gfid, per type (data, then metadata; entry, then
 * metadata for a directory):
 *   lock the type's domain on every copy (the same inodelk writes take,
 *   so heal runs while the file is written), look the copies up again
 *   under the lock, judge the pending matrix, pick the source (or, in
 *   split-brain, the one the policy or the admin names; otherwise EIO),
 *   copy source -> sinks, zero every copy's counters for the type
 *   (xattrop of minus what was read), unlock.
 * Data heal compares XXH64 checksums of heal-chunk-size chunks (rchecksum
 * on the bricks) and copies only chunks that differ.  Entry heal creates
 * missing names with the source's gfid, type, mode and owner (and heals
 * the new object at once), and removes names the source does not have.
 *
 * Locking: priv->lock guards the queue, the crawl requests and the
 * counters.  A job belongs to the queue, then to the worker running it.
 */
#include "config.h"

#include "afr.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum afr_job_kind { AFR_JOB_HEAL = 1, AFR_JOB_STATUS, AFR_JOB_INDEX };

struct afr_job {
	struct afr_job *next;
	enum afr_job_kind kind;
	uint8_t gfid[XL_GFID_LEN];
	enum afr_policy policy;
	int source;
	void (*done)(void *ctx, int ret);
	void *ctx;
	struct xl_call *call; /* vxattr call to answer, or NULL */
	int ret;
};

struct afr_heal_rt {
	pthread_mutex_t lock; /* guards this struct (not priv->lock) */
	pthread_cond_t cond;
	struct afr_job *head, *tail;
	struct afr_job *crawl_reqs; /* answered after the next crawl */
	pthread_t *workers;
	int nworkers;
	pthread_t crawler;
	bool crawler_ok;
	bool stopping;
	int active; /* jobs being run */
	int queued;
	bool crawl_now;
};

static struct afr_heal_rt *afr_rt(struct afr_priv *priv);
static bool afr_heal_stopping(struct afr_priv *priv);

/* How long a heal waits for a copy's lock before it gives up (the next
 * crawl or lookup tries again). */
#define AFR_HEAL_LOCK_WAIT_MS 30000

/* ---- waiting for internal fops (heal threads only) --------------------- */

struct afr_sync {
	pthread_mutex_t m;
	pthread_cond_t c;
	int left;
	struct xl_reply *replies; /* [n], indexed by child */
};

static void afr_sync_cbk(void *ctx, int child, struct xl_reply *r)
{
	struct afr_sync *s = ctx;

	pthread_mutex_lock(&s->m);
	xl_reply_move(&s->replies[child], r);
	if (--s->left == 0)
		pthread_cond_signal(&s->c);
	pthread_mutex_unlock(&s->m);
}

/* Send args[i] (moved) to every child in mask at once and wait for all.
 * replies[i] must be cleared by the caller. */
static void afr_sync_multi(struct afr_priv *priv, uint32_t mask,
			   enum xl_fop fop, struct xl_args *args,
			   struct xl_reply *replies)
{
	struct afr_sync s = {.replies = replies};

	pthread_mutex_init(&s.m, NULL);
	pthread_cond_init(&s.c, NULL);
	s.left = afr_popcount(mask) + 1;
	for (int i = 0; i < priv->n; i++)
		if (mask & (1u << i))
			afr_op_send(priv, i, fop, &args[i], afr_sync_cbk, &s);
	pthread_mutex_lock(&s.m);
	s.left--;
	while (s.left > 0)
		pthread_cond_wait(&s.c, &s.m);
	pthread_mutex_unlock(&s.m);
	pthread_cond_destroy(&s.c);
	pthread_mutex_destroy(&s.m);
}

static int afr_sync_one(struct afr_priv *priv, int child, enum xl_fop fop,
			struct xl_args *a, struct xl_reply *out)
{
	struct xl_args args[AFR_MAX_CHILDREN];
	struct xl_reply reps[AFR_MAX_CHILDREN];

	memset(args, 0, sizeof(args));
	memset(reps, 0, sizeof(reps));
	args[child] = *a;
	memset(a, 0, sizeof(*a));
	afr_sync_multi(priv, 1u << child, fop, args, reps);
	if (out)
		*out = reps[child];
	else
		xl_reply_clear(&reps[child]);
	return reps[child].ret;
}

static void afr_replies_clear(struct afr_priv *priv, struct xl_reply *r)
{
	for (int i = 0; i < priv->n; i++)
		xl_reply_clear(&r[i]);
}

/* ---- judging ------------------------------------------------------------- */

void afr_judge(struct afr_priv *priv, uint32_t valid,
	       int64_t (*m)[AFR_MAX_CHILDREN][AFR_TYPES], struct afr_verdict *v)
{
	memset(v, 0, sizeof(*v));
	for (int t = 0; t < AFR_TYPES; t++) {
		uint32_t accused = 0;

		for (int i = 0; i < priv->n; i++) {
			if (!(valid & (1u << i)))
				continue;
			for (int j = 0; j < priv->n; j++) {
				if (m[i][j][t] != 0)
					v->dirty[t] |= 1u << i;
				if (j != i && m[i][j][t] > m[i][i][t])
					accused |= 1u << j;
			}
		}
		v->sources[t] = valid & ~accused;
		v->sinks[t] = valid & accused;
		if ((valid & accused) && !v->sources[t])
			v->sb |= 1u << t;
	}
}

/* ---- one heal --------------------------------------------------------------
 */

struct afr_hstate {
	struct afr_priv *priv;
	uint8_t gfid[XL_GFID_LEN];
	uint32_t up;
	uint32_t valid;
	uint32_t missing;
	struct xl_iatt attr[AFR_MAX_CHILDREN];
	int64_t m[AFR_MAX_CHILDREN][AFR_MAX_CHILDREN][AFR_TYPES];
	struct afr_verdict v;
	uint64_t owner;
	uint64_t moved; /* data bytes written to sinks */
};

static int afr_heal_one(struct afr_priv *priv, const uint8_t *gfid,
			enum afr_policy policy, int forced, int depth);

/* Look gfid up on every up child with its pending counters. */
static int afr_hs_lookup(struct afr_hstate *h)
{
	struct afr_priv *priv = h->priv;
	struct xl_args args[AFR_MAX_CHILDREN];
	struct xl_reply reps[AFR_MAX_CHILDREN];
	int err = -ENOTCONN;

	memset(args, 0, sizeof(args));
	memset(reps, 0, sizeof(reps));
	h->up = afr_up_mask(priv);
	h->valid = h->missing = 0;
	for (int i = 0; i < priv->n; i++) {
		if (!(h->up & (1u << i)))
			continue;
		afr_loc_gfid(&args[i].loc, h->gfid);
		args[i].xdata = xl_dict_new();
		if (args[i].xdata)
			xl_dict_set(args[i].xdata, AFR_KEY_XATTR_REQ,
				    priv->xattr_req, priv->xattr_req_len);
	}
	afr_sync_multi(priv, h->up, XL_FOP_LOOKUP, args, reps);
	for (int i = 0; i < priv->n; i++) {
		if (!(h->up & (1u << i)))
			continue;
		if (reps[i].ret < 0) {
			if (reps[i].ret == -ENOENT)
				h->missing |= 1u << i;
			if (err == -ENOTCONN)
				err = reps[i].ret;
			continue;
		}
		h->valid |= 1u << i;
		h->attr[i] = reps[i].attr;
		afr_pending_row(priv, reps[i].xdata, h->m[i]);
	}
	afr_replies_clear(priv, reps);
	afr_judge(priv, h->valid, h->m, &h->v);
	return h->valid ? 0 : err;
}

/* Lock (or unlock) domain of type on the children in mask, in child
 * order.  Returns the children locked. */
static uint32_t afr_hs_lock(struct afr_hstate *h, int type, uint32_t mask,
			    bool unlock)
{
	static const char *const dom[AFR_TYPES] = {
	    "replicate.data", "replicate.meta", "replicate.entry"};
	uint32_t got = 0;
	struct xl_args a;
	struct xl_reply r;

	uint64_t deadline = afr_now_ms() + AFR_HEAL_LOCK_WAIT_MS;
	int ret;

	for (int i = 0; i < h->priv->n; i++) {
		if (!(mask & (1u << i)))
			continue;
		/* Non-blocking with retries: a heal thread must be able to
		 * give up (a lock left by a client the brick has not yet seen
		 * go, or the translator stopping). */
		for (;;) {
			memset(&a, 0, sizeof(a));
			afr_loc_gfid(&a.loc, h->gfid);
			a.cmd = F_SETLK;
			a.lock.type = unlock ? F_UNLCK : F_WRLCK;
			a.lock.owner = h->owner;
			a.xname = strdup(dom[type]);
			ret = afr_sync_one(h->priv, i, XL_FOP_INODELK, &a, &r);
			xl_reply_clear(&r);
			if (ret != -EAGAIN || unlock ||
			    afr_heal_stopping(h->priv) ||
			    afr_now_ms() > deadline)
				break;
			usleep(20 * 1000);
		}
		if (ret == 0)
			got |= 1u << i;
	}
	return got;
}

/* Zero every valid copy's counters of type (minus what was read). */
static int afr_hs_clear(struct afr_hstate *h, int type, uint32_t mask)
{
	struct afr_priv *priv = h->priv;
	struct xl_args args[AFR_MAX_CHILDREN];
	struct xl_reply reps[AFR_MAX_CHILDREN];
	uint8_t v[8 * AFR_TYPES];
	int ret = 0;

	memset(args, 0, sizeof(args));
	memset(reps, 0, sizeof(reps));
	for (int i = 0; i < priv->n; i++) {
		if (!(mask & (1u << i)))
			continue;
		afr_loc_gfid(&args[i].loc, h->gfid);
		args[i].flags = XL_XATTROP_ADD64;
		args[i].xdata = xl_dict_new();
		for (int j = 0; j < priv->n && args[i].xdata; j++) {
			uint64_t u = (uint64_t)(-h->m[i][j][type]);

			memset(v, 0, sizeof(v));
			for (int b = 7; b >= 0; b--) {
				v[8 * type + b] = (uint8_t)u;
				u >>= 8;
			}
			xl_dict_set(args[i].xdata, priv->pending_key[j], v,
				    sizeof(v));
		}
	}
	afr_sync_multi(priv, mask, XL_FOP_XATTROP, args, reps);
	for (int i = 0; i < priv->n; i++)
		if ((mask & (1u << i)) && reps[i].ret < 0)
			ret = reps[i].ret;
	afr_replies_clear(priv, reps);
	return ret;
}

static bool afr_newer(const struct xl_iatt *a, const struct xl_iatt *b)
{
	return a->mtime > b->mtime ||
	       (a->mtime == b->mtime && a->mtime_nsec > b->mtime_nsec);
}

static int afr_checksum(struct afr_priv *priv, int child, struct xl_fd *fd,
			uint64_t off, uint64_t len, uint64_t *sum)
{
	struct xl_args a;
	struct xl_reply r;
	int ret;

	memset(&a, 0, sizeof(a));
	a.fd = xl_fd_ref(fd);
	a.offset = (int64_t)off;
	a.size = len;
	ret = afr_sync_one(priv, child, XL_FOP_RCHECKSUM, &a, &r);
	*sum = 0;
	if (ret >= 0 && r.data && r.data->size >= 8)
		for (int b = 0; b < 8; b++)
			*sum = (*sum << 8) | (uint8_t)r.data->data[b];
	xl_reply_clear(&r);
	return ret;
}

/* XXH64 of [off, off+len) on every child in mask at once.  0 or -EIO. */
static int afr_checksums(struct afr_priv *priv, uint32_t mask, struct xl_fd *fd,
			 uint64_t off, uint64_t len, uint64_t *sum)
{
	struct xl_args args[AFR_MAX_CHILDREN];
	struct xl_reply reps[AFR_MAX_CHILDREN];
	int ret = 0;

	memset(args, 0, sizeof(args));
	memset(reps, 0, sizeof(reps));
	for (int i = 0; i < priv->n; i++)
		if (mask & (1u << i)) {
			args[i].fd = xl_fd_ref(fd);
			args[i].offset = (int64_t)off;
			args[i].size = len;
		}
	afr_sync_multi(priv, mask, XL_FOP_RCHECKSUM, args, reps);
	for (int i = 0; i < priv->n; i++) {
		if (!(mask & (1u << i)))
			continue;
		sum[i] = 0;
		if (reps[i].ret < 0 || !reps[i].data ||
		    reps[i].data->size < 8) {
			ret = -EIO;
			continue;
		}
		for (int b = 0; b < 8; b++)
			sum[i] = (sum[i] << 8) | (uint8_t)reps[i].data->data[b];
	}
	afr_replies_clear(priv, reps);
	return ret;
}

/* Pick a source among the valid copies by policy; -1 when none wins. */
static int afr_policy_pick(struct afr_hstate *h, enum afr_policy policy)
{
	struct afr_priv *priv = h->priv;
	int best = -1;
	bool tie = false;

	if (policy == AFR_POLICY_SIZE || policy == AFR_POLICY_MTIME) {
		for (int i = 0; i < priv->n; i++) {
			if (!(h->valid & (1u << i)))
				continue;
			if (best < 0) {
				best = i;
				continue;
			}
			bool better =
			    policy == AFR_POLICY_SIZE
				? h->attr[i].size > h->attr[best].size
				: afr_newer(&h->attr[i], &h->attr[best]);
			bool same =
			    policy == AFR_POLICY_SIZE
				? h->attr[i].size == h->attr[best].size
				: !afr_newer(&h->attr[i], &h->attr[best]) &&
				      !afr_newer(&h->attr[best], &h->attr[i]);
			if (better) {
				best = i;
				tie = false;
			} else if (same)
				tie = true;
		}
		return tie ? -1 : best;
	}
	if (policy == AFR_POLICY_MAJORITY) {
		/* Copies agree when size and the checksum of the first 4 MiB
		 * match; the biggest group that is a majority wins. */
		uint64_t sum[AFR_MAX_CHILDREN] = {0};
		struct xl_fd *fd =
		    xl_fd_new(priv->xl->graph, h->gfid, NULL, O_RDONLY, false);
		struct xl_args args[AFR_MAX_CHILDREN];
		struct xl_reply reps[AFR_MAX_CHILDREN];
		int votes, bestv = 0;

		if (!fd)
			return -1;
		memset(args, 0, sizeof(args));
		memset(reps, 0, sizeof(reps));
		for (int i = 0; i < priv->n; i++)
			if (h->valid & (1u << i)) {
				afr_loc_gfid(&args[i].loc, h->gfid);
				args[i].fd = xl_fd_ref(fd);
				args[i].flags = O_RDONLY;
			}
		afr_sync_multi(priv, h->valid, XL_FOP_OPEN, args, reps);
		afr_replies_clear(priv, reps);
		for (int i = 0; i < priv->n; i++)
			if (h->valid & (1u << i))
				afr_checksum(priv, i, fd, 0, 4u << 20, &sum[i]);
		memset(args, 0, sizeof(args));
		for (int i = 0; i < priv->n; i++)
			if (h->valid & (1u << i))
				args[i].fd = xl_fd_ref(fd);
		afr_sync_multi(priv, h->valid, XL_FOP_RELEASE, args, reps);
		afr_replies_clear(priv, reps);
		xl_fd_unref(fd);
		for (int i = 0; i < priv->n; i++) {
			if (!(h->valid & (1u << i)))
				continue;
			votes = 0;
			for (int j = 0; j < priv->n; j++)
				if ((h->valid & (1u << j)) &&
				    sum[j] == sum[i] &&
				    h->attr[j].size == h->attr[i].size)
					votes++;
			if (votes > bestv) {
				bestv = votes;
				best = i;
			}
		}
		return 2 * bestv > priv->n ? best : -1;
	}
	return -1;
}

/* The source for type t, or -errno (-EIO: split-brain nobody resolves). */
static int afr_hs_source(struct afr_hstate *h, int t, enum afr_policy policy,
			 int forced)
{
	struct afr_priv *priv = h->priv;
	uint32_t src = h->v.sources[t];
	char s[XL_GFID_STR_LEN];
	int best = -1;

	if (forced >= 0)
		return (h->valid & (1u << forced)) ? forced : -ENOTCONN;
	if (h->v.sb & (1u << t)) {
		if (policy == AFR_POLICY_NONE)
			policy = priv->favorite;
		best = afr_policy_pick(h, policy);
		if (best < 0) {
			xl_err(priv->xl->name,
			       "split-brain (%s) on gfid=%s: not healed; "
			       "resolve with mortar-heal resolve",
			       t == AFR_DATA   ? "data"
			       : t == AFR_META ? "metadata"
					       : "entry",
			       xl_gfid_to_str(h->gfid, s));
			return -EIO;
		}
		xl_info(priv->xl->name,
			"split-brain on gfid=%s resolved by policy: source %s",
			xl_gfid_to_str(h->gfid, s), priv->children[best]->name);
		return best;
	}
	for (int i = 0; i < priv->n; i++)
		if (src & (1u << i)) {
			if (best < 0 || (t == AFR_DATA &&
					 h->attr[i].size > h->attr[best].size))
				best = i;
		}
	return best >= 0 ? best : -EIO;
}

static int afr_heal_data_copy(struct afr_hstate *h, int src, uint32_t sinks)
{
	struct afr_priv *priv = h->priv;
	struct xl_fd *fd;
	struct xl_args args[AFR_MAX_CHILDREN];
	struct xl_reply reps[AFR_MAX_CHILDREN];
	uint32_t all = sinks | (1u << src), open_ok = 0;
	uint64_t size = h->attr[src].size, chunk = priv->chunk_size;
	uint64_t old_size[AFR_MAX_CHILDREN];
	int ret = 0;

	for (int i = 0; i < priv->n; i++)
		old_size[i] = h->attr[i].size;

	fd = xl_fd_new(priv->xl->graph, h->gfid, NULL, O_RDWR, false);
	if (!fd)
		return -ENOMEM;
	memset(args, 0, sizeof(args));
	memset(reps, 0, sizeof(reps));
	for (int i = 0; i < priv->n; i++)
		if (all & (1u << i)) {
			afr_loc_gfid(&args[i].loc, h->gfid);
			args[i].fd = xl_fd_ref(fd);
			args[i].flags = O_RDWR;
		}
	afr_sync_multi(priv, all, XL_FOP_OPEN, args, reps);
	for (int i = 0; i < priv->n; i++)
		if ((all & (1u << i)) && reps[i].ret >= 0)
			open_ok |= 1u << i;
	afr_replies_clear(priv, reps);
	if (!(open_ok & (1u << src)) || (open_ok & sinks) != sinks) {
		ret = -EIO;
		goto out;
	}
	/* Sinks take the source's size first. */
	memset(args, 0, sizeof(args));
	for (int i = 0; i < priv->n; i++)
		if (sinks & (1u << i)) {
			afr_loc_gfid(&args[i].loc, h->gfid);
			args[i].fd = xl_fd_ref(fd);
			args[i].valid = XL_SET_SIZE;
			args[i].attr.size = size;
		}
	afr_sync_multi(priv, sinks, XL_FOP_SETATTR, args, reps);
	for (int i = 0; i < priv->n; i++)
		if ((sinks & (1u << i)) && reps[i].ret < 0)
			ret = reps[i].ret;
	afr_replies_clear(priv, reps);
	for (uint64_t off = 0; ret == 0 && off < size;) {
		uint64_t len = size - off < chunk ? size - off : chunk;
		uint64_t sum[AFR_MAX_CHILDREN];
		uint32_t differ = 0, ask = 0;
		struct xl_reply rd;
		struct xl_args a;

		/* Past a sink's old end there is nothing to compare: copy
		 * in the largest pieces a read carries. */
		for (int i = 0; i < priv->n; i++)
			if (sinks & (1u << i)) {
				if (off >= old_size[i])
					differ |= 1u << i;
				else
					ask |= 1u << i;
			}
		if (!ask) {
			len = size - off < XL_IO_SIZE_MAX ? size - off
							  : XL_IO_SIZE_MAX;
		} else {
			ask |= 1u << src;
			ret = afr_checksums(priv, ask, fd, off, len, sum);
			if (ret < 0)
				break;
			for (int i = 0; i < priv->n; i++)
				if ((ask & (1u << i)) && i != src &&
				    sum[i] != sum[src])
					differ |= 1u << i;
		}
		if (!differ) {
			off += len;
			continue;
		}
		memset(&a, 0, sizeof(a));
		a.fd = xl_fd_ref(fd);
		a.offset = (int64_t)off;
		a.size = len;
		if (afr_sync_one(priv, src, XL_FOP_READ, &a, &rd) < 0 ||
		    !rd.data) {
			xl_reply_clear(&rd);
			ret = -EIO;
			break;
		}
		memset(args, 0, sizeof(args));
		for (int i = 0; i < priv->n; i++)
			if (differ & (1u << i)) {
				args[i].fd = xl_fd_ref(fd);
				args[i].offset = (int64_t)off;
				args[i].data = xl_iobuf_ref(rd.data);
			}
		afr_sync_multi(priv, differ, XL_FOP_WRITE, args, reps);
		for (int i = 0; i < priv->n; i++)
			if ((differ & (1u << i)) && reps[i].ret < 0)
				ret = reps[i].ret;
		afr_replies_clear(priv, reps);
		xl_reply_clear(&rd);
		h->moved += len * (uint64_t)afr_popcount(differ);
		off += len;
	}
out:
	memset(args, 0, sizeof(args));
	for (int i = 0; i < priv->n; i++)
		if (open_ok & (1u << i))
			args[i].fd = xl_fd_ref(fd);
	afr_sync_multi(priv, open_ok, XL_FOP_RELEASE, args, reps);
	afr_replies_clear(priv, reps);
	xl_fd_unref(fd);
	return ret;
}

/* user.* xattrs: the sinks get the source's set. */
static int afr_heal_xattrs(struct afr_hstate *h, int src, uint32_t sinks)
{
	struct afr_priv *priv = h->priv;
	struct xl_args a;
	struct xl_reply names[AFR_MAX_CHILDREN];
	int ret = 0;

	memset(names, 0, sizeof(names));
	for (int i = 0; i < priv->n; i++) {
		if (!((sinks | (1u << src)) & (1u << i)))
			continue;
		memset(&a, 0, sizeof(a));
		afr_loc_gfid(&a.loc, h->gfid);
		a.size = 65536;
		afr_sync_one(priv, i, XL_FOP_LISTXATTR, &a, &names[i]);
	}
	if (names[src].ret < 0 || !names[src].data)
		goto out;
	for (size_t p = 0; p < names[src].data->size;) {
		const char *nm = names[src].data->data + p;
		size_t l = strnlen(nm, names[src].data->size - p);
		struct xl_reply val;

		p += l + 1;
		if (strncmp(nm, "user.", 5) != 0)
			continue;
		memset(&a, 0, sizeof(a));
		afr_loc_gfid(&a.loc, h->gfid);
		a.xname = strndup(nm, l);
		a.size = XL_XATTR_SIZE_MAX;
		if (afr_sync_one(priv, src, XL_FOP_GETXATTR, &a, &val) < 0 ||
		    !val.data) {
			xl_reply_clear(&val);
			continue;
		}
		for (int i = 0; i < priv->n; i++) {
			if (!(sinks & (1u << i)))
				continue;
			memset(&a, 0, sizeof(a));
			afr_loc_gfid(&a.loc, h->gfid);
			a.xname = strndup(nm, l);
			a.data = xl_iobuf_ref(val.data);
			if (afr_sync_one(priv, i, XL_FOP_SETXATTR, &a, NULL) <
			    0)
				ret = -EIO;
		}
		xl_reply_clear(&val);
	}
	/* Names only a sink has go. */
	for (int i = 0; i < priv->n; i++) {
		if (!(sinks & (1u << i)) || names[i].ret < 0 || !names[i].data)
			continue;
		for (size_t p = 0; p < names[i].data->size;) {
			const char *nm = names[i].data->data + p;
			size_t l = strnlen(nm, names[i].data->size - p);
			bool found = false;

			p += l + 1;
			if (strncmp(nm, "user.", 5) != 0)
				continue;
			for (size_t q = 0; q < names[src].data->size;) {
				const char *sn = names[src].data->data + q;
				size_t sl =
				    strnlen(sn, names[src].data->size - q);

				q += sl + 1;
				if (sl == l && memcmp(sn, nm, l) == 0)
					found = true;
			}
			if (found)
				continue;
			memset(&a, 0, sizeof(a));
			afr_loc_gfid(&a.loc, h->gfid);
			a.xname = strndup(nm, l);
			afr_sync_one(priv, i, XL_FOP_REMOVEXATTR, &a, NULL);
		}
	}
out:
	afr_replies_clear(priv, names);
	return ret;
}

static int afr_heal_meta_copy(struct afr_hstate *h, int src, uint32_t sinks)
{
	struct afr_priv *priv = h->priv;
	struct xl_args args[AFR_MAX_CHILDREN];
	struct xl_reply reps[AFR_MAX_CHILDREN];
	const struct xl_iatt *sa = &h->attr[src];
	int ret = 0;

	memset(args, 0, sizeof(args));
	memset(reps, 0, sizeof(reps));
	for (int i = 0; i < priv->n; i++)
		if (sinks & (1u << i)) {
			afr_loc_gfid(&args[i].loc, h->gfid);
			args[i].valid = XL_SET_UID | XL_SET_GID | XL_SET_ATIME |
					XL_SET_MTIME;
			if (!S_ISLNK(sa->mode))
				args[i].valid |= XL_SET_MODE;
			args[i].attr = *sa;
		}
	afr_sync_multi(priv, sinks, XL_FOP_SETATTR, args, reps);
	for (int i = 0; i < priv->n; i++)
		if ((sinks & (1u << i)) && reps[i].ret < 0)
			ret = reps[i].ret;
	afr_replies_clear(priv, reps);
	if (ret == 0 && !S_ISLNK(sa->mode))
		ret = afr_heal_xattrs(h, src, sinks);
	return ret;
}

/* ---- entry heal --------------------------------------------------------- */

struct afr_names {
	char **name;
	uint32_t *type;
	size_t count, cap;
};

static void afr_names_free(struct afr_names *n)
{
	for (size_t i = 0; i < n->count; i++)
		free(n->name[i]);
	free(n->name);
	free(n->type);
	memset(n, 0, sizeof(*n));
}

static int afr_names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool afr_names_has(const struct afr_names *n, const char *name)
{
	return n->count && bsearch(&name, n->name, n->count, sizeof(char *),
				   afr_names_cmp) != NULL;
}

/* List directory gfid on child (without "." and ".."), sorted by name
 * (types are dropped by the sort, so they are not kept). */
static int afr_list(struct afr_priv *priv, int child, const uint8_t *gfid,
		    struct afr_names *out)
{
	struct xl_fd *fd;
	struct xl_args a;
	struct xl_reply r;
	int64_t off = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	fd = xl_fd_new(priv->xl->graph, gfid, NULL, O_RDONLY, true);
	if (!fd)
		return -ENOMEM;
	memset(&a, 0, sizeof(a));
	afr_loc_gfid(&a.loc, gfid);
	a.fd = xl_fd_ref(fd);
	ret = afr_sync_one(priv, child, XL_FOP_OPENDIR, &a, NULL);
	while (ret >= 0) {
		memset(&a, 0, sizeof(a));
		a.fd = xl_fd_ref(fd);
		a.offset = off;
		a.size = 128 * 1024;
		ret = afr_sync_one(priv, child, XL_FOP_READDIR, &a, &r);
		if (ret < 0 || r.entry_count == 0) {
			xl_reply_clear(&r);
			break;
		}
		for (uint32_t k = 0; k < r.entry_count; k++) {
			const char *nm = r.entries[k].name;

			off = (int64_t)r.entries[k].d_off;
			if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
				continue;
			if (out->count == out->cap) {
				size_t cap = out->cap ? out->cap * 2 : 64;
				char **nn =
				    realloc(out->name, cap * sizeof(char *));

				if (!nn) {
					ret = -ENOMEM;
					break;
				}
				out->name = nn;
				out->cap = cap;
			}
			out->name[out->count] = strdup(nm);
			if (!out->name[out->count]) {
				ret = -ENOMEM;
				break;
			}
			out->count++;
		}
		xl_reply_clear(&r);
	}
	memset(&a, 0, sizeof(a));
	a.fd = xl_fd_ref(fd);
	afr_sync_one(priv, child, XL_FOP_RELEASEDIR, &a, NULL);
	xl_fd_unref(fd);
	if (ret < 0) {
		afr_names_free(out);
		return ret;
	}
	if (out->count)
		qsort(out->name, out->count, sizeof(char *), afr_names_cmp);
	return 0;
}

static int afr_lookup_name(struct afr_priv *priv, int child,
			   const uint8_t *pgfid, const char *name,
			   struct xl_iatt *attr)
{
	struct xl_args a;
	struct xl_reply r;
	int ret;

	memset(&a, 0, sizeof(a));
	memcpy(a.loc.pargfid, pgfid, XL_GFID_LEN);
	a.loc.name = strdup(name);
	ret = afr_sync_one(priv, child, XL_FOP_LOOKUP, &a, &r);
	if (ret >= 0)
		*attr = r.attr;
	xl_reply_clear(&r);
	return ret;
}

/* Remove name (and, for a directory, everything below) from child. */
static int afr_remove(struct afr_priv *priv, int child, const uint8_t *pgfid,
		      const char *name, int depth)
{
	struct xl_iatt at;
	struct xl_args a;
	int ret = afr_lookup_name(priv, child, pgfid, name, &at);

	if (ret < 0)
		return ret == -ENOENT ? 0 : ret;
	if (S_ISDIR(at.mode) && depth < 64) {
		struct afr_names sub;

		if (afr_list(priv, child, at.gfid, &sub) == 0) {
			for (size_t k = 0; k < sub.count; k++)
				afr_remove(priv, child, at.gfid, sub.name[k],
					   depth + 1);
			afr_names_free(&sub);
		}
	}
	memset(&a, 0, sizeof(a));
	memcpy(a.loc.pargfid, pgfid, XL_GFID_LEN);
	a.loc.name = strdup(name);
	return afr_sync_one(priv, child,
			    S_ISDIR(at.mode) ? XL_FOP_RMDIR : XL_FOP_UNLINK, &a,
			    NULL);
}

/* Create name on sink as the source has it (same gfid). */
static int afr_recreate(struct afr_priv *priv, int src, int sink,
			const uint8_t *pgfid, const char *name,
			const struct xl_iatt *sa)
{
	struct xl_args a;
	enum xl_fop fop;
	int ret;

	memset(&a, 0, sizeof(a));
	memcpy(a.loc.pargfid, pgfid, XL_GFID_LEN);
	memcpy(a.loc.gfid, sa->gfid, XL_GFID_LEN);
	a.loc.name = strdup(name);
	a.mode = sa->mode;
	a.umask = 0;
	a.rdev = sa->rdev;
	if (S_ISDIR(sa->mode)) {
		fop = XL_FOP_MKDIR;
		a.mode = sa->mode & 07777;
	} else if (S_ISLNK(sa->mode)) {
		struct xl_args ra;
		struct xl_reply rr;

		memset(&ra, 0, sizeof(ra));
		afr_loc_gfid(&ra.loc, sa->gfid);
		ra.size = 4096;
		if (afr_sync_one(priv, src, XL_FOP_READLINK, &ra, &rr) < 0 ||
		    !rr.data) {
			xl_reply_clear(&rr);
			xl_args_clear(&a);
			return -EIO;
		}
		a.xname = strndup(rr.data->data, rr.data->size);
		xl_reply_clear(&rr);
		fop = XL_FOP_SYMLINK;
	} else
		fop = XL_FOP_MKNOD;
	ret = afr_sync_one(priv, sink, fop, &a, NULL);
	if (ret == -EEXIST && !S_ISDIR(sa->mode)) {
		/* The gfid lives on under another name (hard link). */
		memset(&a, 0, sizeof(a));
		afr_loc_gfid(&a.loc, sa->gfid);
		memcpy(a.loc2.pargfid, pgfid, XL_GFID_LEN);
		memcpy(a.loc2.gfid, sa->gfid, XL_GFID_LEN);
		a.loc2.name = strdup(name);
		ret = afr_sync_one(priv, sink, XL_FOP_LINK, &a, NULL);
	}
	return ret;
}

static int afr_heal_entry_copy(struct afr_hstate *h, int src, uint32_t sinks,
			       bool remove, int depth)
{
	struct afr_priv *priv = h->priv;
	struct afr_names sn, kn;
	int ret;

	ret = afr_list(priv, src, h->gfid, &sn);
	if (ret < 0)
		return ret;
	for (int i = 0; i < priv->n && ret == 0; i++) {
		if (!(sinks & (1u << i)))
			continue;
		ret = afr_list(priv, i, h->gfid, &kn);
		if (ret < 0)
			break;
		for (size_t k = 0; remove && k < kn.count; k++)
			if (!afr_names_has(&sn, kn.name[k]))
				afr_remove(priv, i, h->gfid, kn.name[k], 0);
		for (size_t k = 0; k < sn.count; k++) {
			struct xl_iatt sa;

			if (afr_names_has(&kn, sn.name[k]))
				continue;
			if (afr_lookup_name(priv, src, h->gfid, sn.name[k],
					    &sa) < 0)
				continue;
			if (afr_recreate(priv, src, i, h->gfid, sn.name[k],
					 &sa) < 0) {
				ret = -EIO;
				continue;
			}
			/* The new object is empty: the source copy blames
			 * this sink for its data and metadata (and entries),
			 * and it is healed now. */
			{
				struct xl_args a;
				struct xl_dict *d;

				for (int t = 0; t < AFR_TYPES; t++) {
					if (t == AFR_DATA && !S_ISREG(sa.mode))
						continue;
					if (t == AFR_ENTRY && !S_ISDIR(sa.mode))
						continue;
					d = afr_pending_dict(priv, t, 1u << i,
							     1);
					if (!d)
						continue;
					memset(&a, 0, sizeof(a));
					afr_loc_gfid(&a.loc, sa.gfid);
					a.flags = XL_XATTROP_ADD64;
					a.xdata = d;
					afr_sync_one(priv, src, XL_FOP_XATTROP,
						     &a, NULL);
				}
			}
			afr_heal_one(priv, sa.gfid, AFR_POLICY_NONE, -1,
				     depth + 1);
		}
		afr_names_free(&kn);
	}
	afr_names_free(&sn);
	return ret;
}

/* Heal type t of h->gfid under its lock.  0, 1 (healed something) or
 * -errno. */
static int afr_heal_type(struct afr_hstate *h, int t, enum afr_policy policy,
			 int forced, int depth)
{
	struct afr_priv *priv = h->priv;
	uint32_t locked, sinks;
	int src, ret;

	if (!h->v.dirty[t] && forced < 0)
		return 0;
	locked = afr_hs_lock(h, t, h->valid, false);
	ret = afr_hs_lookup(h);
	if (ret < 0)
		goto out;
	if ((h->valid & locked) != h->valid) {
		ret = -EAGAIN; /* a copy came in between: next time */
		goto out;
	}
	if (!h->v.dirty[t] && forced < 0) {
		ret = 0;
		goto out;
	}
	if (t == AFR_ENTRY && (h->v.sb & (1u << t)) && forced < 0 &&
	    policy == AFR_POLICY_NONE) {
		/* Directories in split-brain merge: every name any copy has
		 * is made on the others, nothing is removed, no data lost. */
		ret = 0;
		for (int i = 0; i < priv->n && ret == 0; i++)
			if (h->valid & (1u << i))
				ret = afr_heal_entry_copy(
				    h, i, h->valid & ~(1u << i), false, depth);
		goto done;
	}
	src = afr_hs_source(h, t, policy, forced);
	if (src < 0) {
		ret = src;
		goto out;
	}
	sinks = h->valid & ~(1u << src);
	if (t == AFR_DATA)
		ret = afr_heal_data_copy(h, src, sinks);
	else if (t == AFR_META)
		ret = afr_heal_meta_copy(h, src, sinks);
	else
		ret = afr_heal_entry_copy(h, src, sinks, true, depth);
done:
	/* Only when every copy is here can the counters say "in sync". */
	if (ret == 0 && h->valid == ((1u << priv->n) - 1) &&
	    afr_hs_clear(h, t, h->valid) == 0)
		ret = 1;
	else if (ret == 0)
		ret = -ENOTCONN;
out:
	afr_hs_lock(h, t, locked, true);
	return ret;
}

static int afr_heal_one(struct afr_priv *priv, const uint8_t *gfid,
			enum afr_policy policy, int forced, int depth)
{
	struct afr_hstate *h = calloc(1, sizeof(*h));
	struct afr_inode *ai;
	int ret, r, order[3], no = 0;
	bool healed = false;

	if (!h)
		return -ENOMEM;
	if (depth > 64) {
		free(h);
		return -ELOOP;
	}
	h->priv = priv;
	memcpy(h->gfid, gfid, XL_GFID_LEN);
	h->owner = (uint64_t)(uintptr_t)h ^ 0xa5a5000000000000ull;
	ret = afr_hs_lookup(h);
	if (ret < 0)
		goto out;
	if (h->missing) {
		/* A copy lacks the object: the entry heal of its parent
		 * creates it (and heals it); nothing to do from here. */
		ret = -EAGAIN;
		goto out;
	}
	if (S_ISREG(h->attr[__builtin_ctz(h->valid)].mode))
		order[no++] = AFR_DATA;
	if (S_ISDIR(h->attr[__builtin_ctz(h->valid)].mode))
		order[no++] = AFR_ENTRY;
	order[no++] = AFR_META;
	for (int k = 0; k < no; k++) {
		int f = forced;

		/* An admin's choice applies to what is in split-brain. */
		if (f >= 0 && !(h->v.sb & (1u << order[k])))
			f = -1;
		r = afr_heal_type(h, order[k], policy, f, depth);
		if (r < 0 && ret == 0)
			ret = r;
		if (r > 0)
			healed = true;
	}
	if (ret == 0) {
		ai = afr_inode_get(priv, gfid);
		if (ai) {
			pthread_mutex_lock(&ai->lock);
			if (ai->estate == AFR_E_NONE)
				ai->bad = 0;
			ai->sb = 0;
			pthread_mutex_unlock(&ai->lock);
			afr_inode_put(priv, ai);
		}
	}
	if (ret == 0 && healed)
		ret = 1;
out:
	free(h);
	return ret;
}

/* ---- status -----------------------------------------------------------------
 */

static int afr_status(struct afr_priv *priv, const uint8_t *gfid, char *out,
		      size_t len)
{
	struct afr_hstate *h = calloc(1, sizeof(*h));
	uint32_t types;
	int ret;

	if (!h)
		return -ENOMEM;
	h->priv = priv;
	memcpy(h->gfid, gfid, XL_GFID_LEN);
	ret = afr_hs_lookup(h);
	if (ret < 0) {
		free(h);
		return ret;
	}
	{
		uint32_t mode = h->attr[__builtin_ctz(h->valid)].mode;

		types = S_ISREG(mode)	? (1u << AFR_DATA) | (1u << AFR_META)
			: S_ISDIR(mode) ? (1u << AFR_ENTRY) | (1u << AFR_META)
					: (1u << AFR_META);
	}
	if (h->v.sb & types)
		snprintf(out, len, "split-brain%s%s%s",
			 (h->v.sb & 1) ? " data" : "",
			 (h->v.sb & 2) ? " metadata" : "",
			 (h->v.sb & 4) ? " entry" : "");
	else if ((h->v.dirty[0] && (types & 1)) ||
		 (h->v.dirty[1] && (types & 2)) ||
		 (h->v.dirty[2] && (types & 4)) ||
		 h->valid != ((1u << priv->n) - 1))
		snprintf(out, len, "needs-heal");
	else
		snprintf(out, len, "ok");
	free(h);
	return 0;
}

/* ---- jobs, workers, crawl -------------------------------------------------
 */

static void afr_job_finish(struct afr_priv *priv, struct afr_job *j)
{
	pthread_mutex_lock(&priv->lock);
	if (j->ret < 0)
		priv->heals_failed++;
	else if (j->kind == AFR_JOB_HEAL)
		priv->heals_done++;
	pthread_mutex_unlock(&priv->lock);
	if (j->done)
		j->done(j->ctx, j->ret);
	free(j);
}

static void *afr_worker_main(void *arg)
{
	struct afr_priv *priv = arg;
	struct afr_heal_rt *rt = afr_rt(priv);
	struct afr_job *j;

	for (;;) {
		pthread_mutex_lock(&rt->lock);
		while (!rt->head && !rt->stopping)
			pthread_cond_wait(&rt->cond, &rt->lock);
		if (!rt->head) {
			pthread_mutex_unlock(&rt->lock);
			return NULL;
		}
		j = rt->head;
		rt->head = j->next;
		if (!rt->head)
			rt->tail = NULL;
		rt->queued--;
		rt->active++;
		pthread_mutex_unlock(&rt->lock);
		if (rt->stopping && j->kind == AFR_JOB_HEAL) {
			/* Stopping: answer, do not start new work. */
			j->ret = -ESHUTDOWN;
		} else if (j->kind == AFR_JOB_HEAL) {
			j->ret = afr_heal_one(priv, j->gfid, j->policy,
					      j->source, 0);
			if (!j->done) {
				struct afr_inode *ai =
				    afr_inode_get(priv, j->gfid);

				if (ai) {
					pthread_mutex_lock(&ai->lock);
					ai->healing = false;
					pthread_mutex_unlock(&ai->lock);
					afr_inode_put(priv, ai);
				}
			}
		}
		afr_job_finish(priv, j);
		pthread_mutex_lock(&rt->lock);
		rt->active--;
		pthread_cond_broadcast(&rt->cond);
		pthread_mutex_unlock(&rt->lock);
	}
}

static void afr_job_queue(struct afr_priv *priv, struct afr_job *j)
{
	struct afr_heal_rt *rt = afr_rt(priv);

	pthread_mutex_lock(&rt->lock);
	if (rt->stopping) {
		pthread_mutex_unlock(&rt->lock);
		j->ret = -ESHUTDOWN;
		afr_job_finish(priv, j);
		return;
	}
	if (rt->tail)
		rt->tail->next = j;
	else
		rt->head = j;
	rt->tail = j;
	rt->queued++;
	/* Workers and the crawler share the cond: wake them all. */
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->lock);
}

void afr_heal_gfid(struct afr_priv *priv, const uint8_t *gfid,
		   enum afr_policy policy, int source,
		   void (*done)(void *ctx, int ret), void *ctx)
{
	struct afr_job *j = calloc(1, sizeof(*j));

	if (!j) {
		if (done)
			done(ctx, -ENOMEM);
		return;
	}
	j->kind = AFR_JOB_HEAL;
	memcpy(j->gfid, gfid, XL_GFID_LEN);
	j->policy = policy;
	j->source = source;
	j->done = done;
	j->ctx = ctx;
	afr_job_queue(priv, j);
}

void afr_heal_background(struct afr_priv *priv, const uint8_t *gfid)
{
	struct afr_inode *ai = afr_inode_get(priv, gfid);
	bool go = false;

	if (!ai)
		return;
	pthread_mutex_lock(&ai->lock);
	if (!ai->healing) {
		ai->healing = true;
		go = true;
	}
	pthread_mutex_unlock(&ai->lock);
	afr_inode_put(priv, ai);
	if (go)
		afr_heal_gfid(priv, gfid, AFR_POLICY_NONE, -1, NULL, NULL);
}

/* Wait-group for the crawl's heals. */
struct afr_wg {
	pthread_mutex_t m;
	pthread_cond_t c;
	int left;
	int healed;
	int failed;
};

static void afr_wg_done(void *ctx, int ret)
{
	struct afr_wg *wg = ctx;

	pthread_mutex_lock(&wg->m);
	if (ret > 0)
		wg->healed++;
	else if (ret < 0 && ret != -ENOENT && ret != -EAGAIN &&
		 ret != -ENOTCONN)
		wg->failed++;
	if (--wg->left == 0)
		pthread_cond_signal(&wg->c);
	pthread_mutex_unlock(&wg->m);
}

static const uint8_t afr_gfid_index[XL_GFID_LEN] = {0, 0, 0, 0, 0, 0, 0, 0,
						    0, 0, 0, 0, 0, 0, 0, 5};

/* One pass over every up child's index.  Returns the entries seen. */
static int afr_crawl_pass(struct afr_priv *priv, int *healed, int *failed)
{
	struct afr_names idx[AFR_MAX_CHILDREN];
	struct afr_wg wg = {.left = 1};
	uint32_t up = afr_up_mask(priv);
	int seen = 0;

	pthread_mutex_init(&wg.m, NULL);
	pthread_cond_init(&wg.c, NULL);
	memset(idx, 0, sizeof(idx));
	for (int i = 0; i < priv->n; i++)
		if (up & (1u << i))
			afr_list(priv, i, afr_gfid_index, &idx[i]);
	for (int i = 0; i < priv->n; i++) {
		for (size_t k = 0; k < idx[i].count; k++) {
			uint8_t g[XL_GFID_LEN];
			bool dup = false;

			if (xl_gfid_parse(idx[i].name[k], g) != 0)
				continue;
			for (int p = 0; p < i && !dup; p++)
				dup = afr_names_has(&idx[p], idx[i].name[k]);
			if (dup)
				continue;
			seen++;
			pthread_mutex_lock(&wg.m);
			wg.left++;
			pthread_mutex_unlock(&wg.m);
			afr_heal_gfid(priv, g, AFR_POLICY_NONE, -1, afr_wg_done,
				      &wg);
		}
	}
	afr_wg_done(&wg, 0);
	pthread_mutex_lock(&wg.m);
	while (wg.left > 0)
		pthread_cond_wait(&wg.c, &wg.m);
	pthread_mutex_unlock(&wg.m);
	/* Stale entries (the object is gone everywhere) are dropped. */
	for (int i = 0; i < priv->n; i++) {
		for (size_t k = 0; k < idx[i].count; k++) {
			uint8_t g[XL_GFID_LEN];
			struct afr_hstate *h;

			if (xl_gfid_parse(idx[i].name[k], g) != 0)
				continue;
			h = calloc(1, sizeof(*h));
			if (!h)
				continue;
			h->priv = priv;
			memcpy(h->gfid, g, XL_GFID_LEN);
			if (afr_hs_lookup(h) == -ENOENT && !h->valid) {
				struct xl_args a;

				memset(&a, 0, sizeof(a));
				memcpy(a.loc.pargfid, afr_gfid_index,
				       XL_GFID_LEN);
				a.loc.name = strdup(idx[i].name[k]);
				afr_sync_one(priv, i, XL_FOP_UNLINK, &a, NULL);
			}
			free(h);
		}
		afr_names_free(&idx[i]);
	}
	*healed = wg.healed;
	*failed = wg.failed;
	pthread_cond_destroy(&wg.c);
	pthread_mutex_destroy(&wg.m);
	return seen;
}

static int afr_crawl(struct afr_priv *priv)
{
	int healed = 0, failed = 0, seen, total = 0, ret = 0;

	pthread_mutex_lock(&priv->lock);
	priv->index_crawls++;
	pthread_mutex_unlock(&priv->lock);
	for (int pass = 0; pass < 16 && !afr_heal_stopping(priv); pass++) {
		seen = afr_crawl_pass(priv, &healed, &failed);
		total += healed;
		ret = failed ? -EIO : 0;
		if (!seen || !healed)
			break;
	}
	xl_info(priv->xl->name, "index heal: %d healed%s", total,
		failed ? ", some entries could not be healed" : "");
	return ret;
}

static void *afr_crawler_main(void *arg)
{
	struct afr_priv *priv = arg;
	struct afr_heal_rt *rt = afr_rt(priv);
	struct afr_job *reqs, *next;
	int ret;

	pthread_mutex_lock(&rt->lock);
	for (;;) {
		while (!rt->crawl_now && !rt->stopping)
			pthread_cond_wait(&rt->cond, &rt->lock);
		if (rt->stopping)
			break;
		rt->crawl_now = false;
		reqs = rt->crawl_reqs;
		rt->crawl_reqs = NULL;
		pthread_mutex_unlock(&rt->lock);
		ret = afr_crawl(priv);
		for (; reqs; reqs = next) {
			next = reqs->next;
			reqs->ret = ret;
			afr_job_finish(priv, reqs);
		}
		pthread_mutex_lock(&priv->lock);
		priv->crawl_running = false;
		pthread_mutex_unlock(&priv->lock);
		pthread_mutex_lock(&rt->lock);
	}
	reqs = rt->crawl_reqs;
	rt->crawl_reqs = NULL;
	pthread_mutex_unlock(&rt->lock);
	for (; reqs; reqs = next) {
		next = reqs->next;
		reqs->ret = -ESHUTDOWN;
		afr_job_finish(priv, reqs);
	}
	return NULL;
}

void afr_crawl_start(struct afr_priv *priv)
{
	struct afr_heal_rt *rt = afr_rt(priv);

	pthread_mutex_lock(&rt->lock);
	rt->crawl_now = true;
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->lock);
}

void afr_heal_index(struct afr_priv *priv, void (*done)(void *ctx, int ret),
		    void *ctx)
{
	struct afr_heal_rt *rt = afr_rt(priv);
	struct afr_job *j = calloc(1, sizeof(*j));

	if (!j) {
		done(ctx, -ENOMEM);
		return;
	}
	j->kind = AFR_JOB_INDEX;
	j->done = done;
	j->ctx = ctx;
	pthread_mutex_lock(&rt->lock);
	j->next = rt->crawl_reqs;
	rt->crawl_reqs = j;
	rt->crawl_now = true;
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->lock);
}

/* ---- runtime setup (called from replicate.c init / fini) ----------------- */

static bool afr_heal_stopping(struct afr_priv *priv)
{
	struct afr_heal_rt *rt = afr_rt(priv);
	bool stop;

	pthread_mutex_lock(&rt->lock);
	stop = rt->stopping;
	pthread_mutex_unlock(&rt->lock);
	return stop;
}

static struct afr_heal_rt *afr_rt(struct afr_priv *priv)
{
	return priv->heal_rt;
}

int afr_heal_init(struct afr_priv *priv)
{
	struct afr_heal_rt *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return -ENOMEM;
	pthread_mutex_init(&rt->lock, NULL);
	pthread_cond_init(&rt->cond, NULL);
	priv->heal_rt = rt;
	rt->workers = calloc((size_t)priv->heal_parallel, sizeof(pthread_t));
	if (!rt->workers)
		return -ENOMEM;
	for (int i = 0; i < priv->heal_parallel; i++) {
		if (pthread_create(&rt->workers[i], NULL, afr_worker_main,
				   priv) != 0)
			break;
		rt->nworkers++;
	}
	if (pthread_create(&rt->crawler, NULL, afr_crawler_main, priv) == 0)
		rt->crawler_ok = true;
	return rt->nworkers > 0 && rt->crawler_ok ? 0 : -EAGAIN;
}

void afr_heal_fini(struct afr_priv *priv)
{
	struct afr_heal_rt *rt = priv->heal_rt;

	if (!rt)
		return;
	pthread_mutex_lock(&rt->lock);
	rt->stopping = true;
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->lock);
	for (int i = 0; i < rt->nworkers; i++)
		pthread_join(rt->workers[i], NULL);
	if (rt->crawler_ok)
		pthread_join(rt->crawler, NULL);
	free(rt->workers);
	pthread_cond_destroy(&rt->cond);
	pthread_mutex_destroy(&rt->lock);
	free(rt);
	priv->heal_rt = NULL;
}

/* ---- virtual xattrs ---------------------------------------------------------
 */

struct afr_vx {
	struct xl_call *call;
	char status[96];
	uint8_t gfid[XL_GFID_LEN];
};

static void afr_vx_set_done(void *ctx, int ret)
{
	struct xl_call *call = ctx;

	call->reply.ret = ret < 0 ? ret : 0;
	xl_unwind(call);
}

/* setxattr of AFR_VX_HEAL (value ignored), AFR_VX_RESOLVE ("source=NAME"
 * or "policy=size|mtime|majority") or AFR_VX_INDEX. */
bool afr_heal_vxattr_set(struct xl_call *call)
{
	struct afr_priv *priv = call->xl->private;
	const char *key = call->args.xname;
	char val[256] = "";
	int source = -1;
	enum afr_policy policy = AFR_POLICY_NONE;

	if (!key || strncmp(key, "mortar.replicate.", 17) != 0)
		return false;
	if (call->args.data) {
		size_t l = call->args.data->size < sizeof(val) - 1
			       ? call->args.data->size
			       : sizeof(val) - 1;

		memcpy(val, call->args.data->data, l);
		val[l] = 0;
	}
	if (strcmp(key, AFR_VX_INDEX) == 0) {
		afr_heal_index(priv, afr_vx_set_done, call);
		return true;
	}
	if (strcmp(key, AFR_VX_RESOLVE) == 0) {
		if (strncmp(val, "source=", 7) == 0) {
			for (int i = 0; i < priv->n; i++)
				if (strcmp(priv->children[i]->name, val + 7) ==
				    0)
					source = i;
		} else if (strcmp(val, "policy=size") == 0)
			policy = AFR_POLICY_SIZE;
		else if (strcmp(val, "policy=mtime") == 0)
			policy = AFR_POLICY_MTIME;
		else if (strcmp(val, "policy=majority") == 0)
			policy = AFR_POLICY_MAJORITY;
		if (source < 0 && policy == AFR_POLICY_NONE) {
			xl_unwind_error(call, -EINVAL);
			return true;
		}
	} else if (strcmp(key, AFR_VX_HEAL) != 0) {
		xl_unwind_error(call, -EINVAL);
		return true;
	}
	afr_heal_gfid(priv, afr_call_gfid(call), policy, source,
		      afr_vx_set_done, call);
	return true;
}

static void afr_vx_status_run(void *ctx, int ret);

/* getxattr AFR_VX_STATUS: "ok", "needs-heal" or "split-brain <types>".
 * Runs on a heal worker (it waits for the children). */
bool afr_heal_vxattr_get(struct xl_call *call)
{
	struct afr_priv *priv = call->xl->private;
	struct afr_job *j;

	if (!call->args.xname || strcmp(call->args.xname, AFR_VX_STATUS) != 0)
		return false;
	j = calloc(1, sizeof(*j));
	if (!j) {
		xl_unwind_error(call, -ENOMEM);
		return true;
	}
	j->kind = AFR_JOB_STATUS;
	memcpy(j->gfid, afr_call_gfid(call), XL_GFID_LEN);
	j->call = call;
	j->ctx = j;
	j->done = NULL;
	/* The worker runs the status in afr_job_finish's done hook. */
	j->done = afr_vx_status_run;
	j->ctx = j;
	{
		/* Keep the job alive past afr_job_finish's free: copy. */
		struct afr_vx *vx = calloc(1, sizeof(*vx));

		if (!vx) {
			free(j);
			xl_unwind_error(call, -ENOMEM);
			return true;
		}
		vx->call = call;
		memcpy(vx->gfid, j->gfid, XL_GFID_LEN);
		j->ctx = vx;
	}
	(void)priv;
	afr_job_queue(priv, j);
	return true;
}

static void afr_vx_status_run(void *ctx, int ret)
{
	struct afr_vx *vx = ctx;
	struct xl_call *call = vx->call;
	struct afr_priv *priv = call->xl->private;
	size_t len;

	(void)ret;
	ret = afr_status(priv, vx->gfid, vx->status, sizeof(vx->status));
	if (ret < 0) {
		free(vx);
		xl_unwind_error(call, ret);
		return;
	}
	len = strlen(vx->status);
	if (call->args.size == 0) {
		call->reply.ret = (int32_t)len;
	} else if (call->args.size < len) {
		call->reply.ret = -ERANGE;
	} else {
		call->reply.data = xl_iobuf_from(vx->status, len);
		call->reply.ret = call->reply.data ? (int32_t)len : -ENOMEM;
	}
	free(vx);
	xl_unwind(call);
}
