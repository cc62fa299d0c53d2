/*
 * replicate-heal-queue.c - cluster/replicate: the heal threads, the job
 * queue, the pending-index crawl and the virtual xattrs mortar-heal
 * drives them with.
 *
 * heal-parallel workers take jobs (heal a gfid, report a gfid's status)
 * from a FIFO; one crawler thread reads the up children's pending indices
 * (opendir/readdir of XL_GFID_INDEX) and queues a heal per gfid, pass
 * after pass until a pass heals nothing.  Index entries of objects gone
 * everywhere are dropped.
 *
 * Locking: rt->lock guards the queue, the crawl requests and stopping;
 * workers and the crawler share rt->cond (always broadcast).  A job
 * belongs to the queue, then to the worker running it.
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

bool afr_heal_stopping(struct afr_priv *priv)
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
