/*
 * replicate-heal.c - cluster/replicate: one heal of one gfid, and the
 * verdict on the pending counters.
 *
 * Heal runs on the translator's own heal threads (replicate-heal-queue.c):
 * they are the only threads that wait for answers (afr_sync_*); no fop
 * thread, event loop or io-thread ever waits, and an application fop
 * that asks for a heal (lookup, the heal tool's setxattr) only queues a
 * job and returns.
 *
 * One heal of a gfid, per type (data, then metadata; entry, then
 * metadata for a directory):
 *   lock the type's domain on every copy (the same inodelk writes take,
 *   so heal runs while the file is written; non-blocking with retries, so
 *   a heal can give up), look the copies up again under the lock, judge
 *   the pending matrix, pick the source (or, in split-brain, the one the
 *   policy or the admin names; otherwise EIO; directories merge), copy
 *   source -> sinks (replicate-heal-copy.c), zero every copy's counters for
 *   the type (xattrop of minus what was read), unlock.
 */
#include "config.h"

#include "replicate.h"
#include "replicate-heal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- waiting for internal fops (heal threads only) --------------------- */

struct afr_sync {
	pthread_mutex_t m;
	pthread_cond_t c;
	int left;
	struct xl_reply *replies; /* [n], indexed by child */
};

static void afr_sync_cbk(struct xl_call *none, struct xl_call *ic, void *ctx)
{
	int child = afr_ic_child(ic);
	struct xl_reply *r = &ic->reply;
	struct afr_sync *s = ctx;

	(void)none;
	pthread_mutex_lock(&s->m);
	xl_reply_move(&s->replies[child], r);
	if (--s->left == 0)
		pthread_cond_signal(&s->c);
	pthread_mutex_unlock(&s->m);
}

/* Send args[i] (moved) to every child in mask at once and wait for all.
 * replies[i] must be cleared by the caller. */
void afr_sync_multi(struct afr_priv *priv, uint32_t mask, enum xl_fop fop,
		    struct xl_args *args, struct xl_reply *replies)
{
	struct afr_sync s = {.replies = replies};

	pthread_mutex_init(&s.m, NULL);
	pthread_cond_init(&s.c, NULL);
	s.left = afr_popcount(mask) + 1;
	for (int i = 0; i < priv->n; i++)
		if (mask & (1u << i))
			xl_call_internal(priv->xl, XL_ORIGIN_NONE,
					 priv->children[i], fop, NULL, &args[i],
					 afr_sync_cbk, &s);
	pthread_mutex_lock(&s.m);
	s.left--;
	while (s.left > 0)
		pthread_cond_wait(&s.c, &s.m);
	pthread_mutex_unlock(&s.m);
	pthread_cond_destroy(&s.c);
	pthread_mutex_destroy(&s.m);
}

int afr_sync_one(struct afr_priv *priv, int child, enum xl_fop fop,
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

void afr_replies_clear(struct afr_priv *priv, struct xl_reply *r)
{
	for (int i = 0; i < priv->n; i++)
		xl_reply_clear(&r[i]);
}

/* ---- one heal --------------------------------------------------------------
 */

/* Look gfid up on every up child with its pending counters. */
int afr_hs_lookup(struct afr_hstate *h)
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
			xl_dict_set(args[i].xdata, XL_KEY_XATTR_REQ,
				    priv->xattr_req, priv->xattr_req_len);
	}
	afr_sync_multi(priv, h->up, XL_FOP_LOOKUP, args, reps);
	for (int i = 0; i < priv->n; i++) {
		if (!(h->up & (1u << i)))
			continue;
		if (reps[i].ret < 0) {
			/* By gfid, a removed object is ESTALE: gone. */
			if (reps[i].ret == -ESTALE)
				reps[i].ret = -ENOENT;
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
static int afr_policy_pick(struct afr_hstate *h, enum afr_policy policy)
{
	struct afr_priv *priv = h->priv;
	int best = -1;
	bool tie = false;

	uint32_t cand = h->valid & ~priv->arbiters; /* data decides */

	if (policy == AFR_POLICY_SIZE || policy == AFR_POLICY_MTIME) {
		for (int i = 0; i < priv->n; i++) {
			if (!(cand & (1u << i)))
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
			if (cand & (1u << i)) {
				afr_loc_gfid(&args[i].loc, h->gfid);
				args[i].fd = xl_fd_ref(fd);
				args[i].flags = O_RDONLY;
			}
		afr_sync_multi(priv, cand, XL_FOP_OPEN, args, reps);
		afr_replies_clear(priv, reps);
		for (int i = 0; i < priv->n; i++)
			if (cand & (1u << i))
				afr_checksum(priv, i, fd, 0, 4u << 20, &sum[i]);
		memset(args, 0, sizeof(args));
		for (int i = 0; i < priv->n; i++)
			if (cand & (1u << i))
				args[i].fd = xl_fd_ref(fd);
		afr_sync_multi(priv, cand, XL_FOP_RELEASE, args, reps);
		afr_replies_clear(priv, reps);
		xl_fd_unref(fd);
		for (int i = 0; i < priv->n; i++) {
			if (!(cand & (1u << i)))
				continue;
			votes = 0;
			for (int j = 0; j < priv->n; j++)
				if ((cand & (1u << j)) && sum[j] == sum[i] &&
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
	/* none (only an arbiter for data): the good data is away, wait
	 * for it (EIO now, the next crawl tries again) */
	uint32_t src = afr_heal_sources(priv, &h->v, t);
	char s[XL_GFID_STR_LEN];
	int best = -1;

	if (forced >= 0 && t == AFR_DATA && (priv->arbiters & (1u << forced))) {
		xl_err(priv->xl->name,
		       "%s is an arbiter: it holds no data, it cannot be the "
		       "source of a data heal",
		       priv->children[forced]->name);
		return -EINVAL;
	}
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

int afr_heal_one(struct afr_priv *priv, const uint8_t *gfid,
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
			ai->unjudged = 0;
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

int afr_status(struct afr_priv *priv, const uint8_t *gfid, char *out,
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
