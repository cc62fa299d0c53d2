/*
 * io-threads.c - performance/io-threads: hand every fop to a pool of worker
 * threads so blocking system calls below (storage/posix) never run on an
 * event loop thread.
 *
 * Each fop is queued (FIFO) and returns at once; a worker takes it and
 * winds it to the only child with xl_default_cbk, so the child's reply is
 * unwound as ours from whatever thread answers.  The queue entry lives in
 * the call's per-call state (desc->local_size), so queueing allocates
 * nothing beyond what the runtime does anyway.
 *
 * Cheap fops first run inline (option inline-cheap, on): a read, and a
 * stat of an open fd, are wound at once on the caller's thread (the
 * brick's event loop) as a nowait call (call.h): storage/posix answers a
 * read whose pages are all in the page cache (preadv2 RWF_NOWAIT) and an
 * fstat, which touch no disk, and answers -EAGAIN when it would have to
 * wait; then the fop is queued for a worker like any other.  A read
 * served from memory so saves the hand-off to a worker and back (about
 * a quarter of a cached 4 KiB read's time on the brick).
 *
 * Metadata fops run inline too (option inline-metadata, on), one at a
 * time: a lookup, stat, create, mkdir, unlink, rename, setattr, xattr
 * change, open, flush or release touches a few inodes and directory
 * blocks that are almost always cached, and the hand-off to a worker and
 * back costs as much as the work (a fifth to a half of a create's time
 * on the brick).  They may still wait for the disk (a cold directory, a
 * full journal, the blocks of a big file an unlink frees), so at most one
 * runs inline at any moment: the others, while it runs, go to the pool,
 * and the event loop always has a thread free for the network.  Data
 * (write, fsync, readdir, rchecksum) and locks (which may wait for
 * another client) always go to the pool.
 *
 * Locking: priv->mutex guards the queue, depth counters and `stopping`;
 * priv->cond wakes workers.  The worker's busy flag and job count are
 * atomics read without the mutex by dump().  Never held while winding.
 */
#include "config.h"

#include "log.h"
#include "xlator.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct iot_job {
	struct iot_job *next;
	struct xl_call *call;
};

struct iot_priv;

struct iot_worker {
	pthread_t tid;
	struct iot_priv *priv;
	int index;
	bool started;
	atomic_bool busy;
	atomic_uint_fast64_t jobs;
};

struct iot_priv {
	struct xl *xl;
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	struct iot_job *head;  /* mutex */
	struct iot_job **tail; /* mutex */
	unsigned depth;	       /* mutex: jobs queued now */
	unsigned max_depth;    /* mutex */
	uint64_t queued;       /* mutex: jobs ever queued */
	bool stopping;	       /* mutex: fini started, workers drain and exit */
	bool inline_cheap;     /* try cheap fops on the caller's thread */
	bool inline_meta;      /* one metadata fop at a time there too */
	atomic_uint_fast64_t inline_answered; /* inline and done there */
	atomic_uint_fast64_t inline_refused;  /* -EAGAIN inline: queued */
	atomic_bool meta_running;	      /* the one inline metadata fop */
	atomic_uint_fast64_t meta_answered;   /* metadata fops run inline */
	int count;
	struct iot_worker *workers; /* [count] */
};

/* Take the next job, waiting for one.  NULL once stopping and drained. */
static struct iot_job *iot_next(struct iot_priv *priv)
{
	struct iot_job *job;

	pthread_mutex_lock(&priv->mutex);
	while (!priv->head && !priv->stopping)
		pthread_cond_wait(&priv->cond, &priv->mutex);
	job = priv->head;
	if (job) {
		priv->head = job->next;
		if (!priv->head)
			priv->tail = &priv->head;
		priv->depth--;
	}
	pthread_mutex_unlock(&priv->mutex);
	return job;
}

static void *iot_worker_main(void *arg)
{
	struct iot_worker *w = arg;
	struct iot_priv *priv = w->priv;
	struct xl *xl = priv->xl;
	struct iot_job *job;

	while ((job = iot_next(priv))) {
		atomic_store(&w->busy, true);
		xl_wind(job->call, xl->children[0], xl_default_cbk, NULL);
		atomic_fetch_add(&w->jobs, 1);
		atomic_store(&w->busy, false);
	}
	return NULL;
}

/* Queue call for a worker. */
static void iot_queue(struct iot_priv *priv, struct xl_call *call)
{
	struct iot_job *job = xl_call_local(call);
	int err = 0;

	if (!job) {
		err = -ENOMEM;
		goto out;
	}
	job->call = call;
	job->next = NULL;
	pthread_mutex_lock(&priv->mutex);
	if (priv->stopping) {
		err = -ENOTCONN;
	} else {
		*priv->tail = job;
		priv->tail = &job->next;
		priv->queued++;
		if (++priv->depth > priv->max_depth)
			priv->max_depth = priv->depth;
		pthread_cond_signal(&priv->cond);
	}
	pthread_mutex_unlock(&priv->mutex);
out:
	if (err)
		xl_unwind_error(call, err);
}

/* A fop the child may answer without blocking: a read (from the page
 * cache), a stat of an open fd. */
static bool iot_is_cheap(const struct xl_call *call)
{
	return call->fop == XL_FOP_READ ||
	       (call->fop == XL_FOP_STAT && call->args.fd);
}

static void iot_inline_cbk(struct xl_call *call, struct xl_call *child,
			   void *cookie)
{
	struct iot_priv *priv = cookie;

	if (child->reply.ret == -EAGAIN) {
		atomic_fetch_add(&priv->inline_refused, 1);
		iot_queue(priv, call);
		return;
	}
	atomic_fetch_add(&priv->inline_answered, 1);
	xl_default_cbk(call, child, NULL);
}

/* A fop that touches a few inodes and directory blocks (almost always
 * in memory) and never waits for another client. */
static bool iot_is_metadata(int fop)
{
	switch (fop) {
	case XL_FOP_LOOKUP:
	case XL_FOP_STAT:
	case XL_FOP_ACCESS:
	case XL_FOP_READLINK:
	case XL_FOP_GETXATTR:
	case XL_FOP_LISTXATTR:
	case XL_FOP_SETATTR:
	case XL_FOP_SETXATTR:
	case XL_FOP_REMOVEXATTR:
	case XL_FOP_XATTROP:
	case XL_FOP_MKNOD:
	case XL_FOP_MKDIR:
	case XL_FOP_UNLINK:
	case XL_FOP_RMDIR:
	case XL_FOP_SYMLINK:
	case XL_FOP_RENAME:
	case XL_FOP_LINK:
	case XL_FOP_CREATE:
	case XL_FOP_OPEN:
	case XL_FOP_OPENDIR:
	case XL_FOP_FLUSH:
	case XL_FOP_RELEASE:
	case XL_FOP_RELEASEDIR:
		return true;
	default:
		return false;
	}
}

static void iot_meta_cbk(struct xl_call *call, struct xl_call *child,
			 void *cookie)
{
	struct iot_priv *priv = cookie;

	atomic_store(&priv->meta_running, false);
	atomic_fetch_add(&priv->meta_answered, 1);
	xl_default_cbk(call, child, NULL);
}

/* Take the inline metadata slot if it is free. */
static bool iot_meta_take(struct iot_priv *priv, const struct xl_call *call)
{
	bool free_slot = false;

	return priv->inline_meta && iot_is_metadata(call->fop) &&
	       atomic_compare_exchange_strong(&priv->meta_running, &free_slot,
					      true);
}

/* Every fop: a cheap one inline first, a metadata one inline when no
 * other is, the rest (and a cheap one that would block) queued for a
 * worker. */
static void iot_fop(struct xl *xl, struct xl_call *call)
{
	struct iot_priv *priv = xl->private;
	struct xl_call *child;

	if (!priv) {
		xl_unwind_error(call, -ENOTCONN); /* after fini */
		return;
	}
	if (priv->inline_cheap && iot_is_cheap(call) &&
	    (child = xl_call_child(call))) {
		child->nowait = true;
		xl_call_send(child, xl->children[0], iot_inline_cbk, priv);
		return;
	}
	if (iot_meta_take(priv, call)) {
		xl_wind(call, xl->children[0], iot_meta_cbk, priv);
		return;
	}
	iot_queue(priv, call);
}

/* Stop and join the workers started so far; they drain the queue first
 * (the children are still up: fini runs top-down). */
static void iot_stop(struct iot_priv *priv)
{
	pthread_mutex_lock(&priv->mutex);
	priv->stopping = true;
	pthread_cond_broadcast(&priv->cond);
	pthread_mutex_unlock(&priv->mutex);
	for (int i = 0; priv->workers && i < priv->count; i++)
		if (priv->workers[i].started)
			pthread_join(priv->workers[i].tid, NULL);
}

static void iot_free(struct xl *xl, struct iot_priv *priv)
{
	pthread_cond_destroy(&priv->cond);
	pthread_mutex_destroy(&priv->mutex);
	xl_free(xl, priv->workers);
	xl_free(xl, priv);
}

static int iot_start_workers(struct iot_priv *priv, char **err)
{
	for (int i = 0; i < priv->count; i++) {
		struct iot_worker *w = &priv->workers[i];
		char name[16];
		int ret;

		w->priv = priv;
		w->index = i;
		atomic_init(&w->busy, false);
		atomic_init(&w->jobs, 0);
		ret = pthread_create(&w->tid, NULL, iot_worker_main, w);
		if (ret != 0) {
			if (asprintf(err, "cannot start io-thread %d: %s", i,
				     strerror(ret)) < 0)
				*err = NULL;
			return -ret;
		}
		w->started = true;
		snprintf(name, sizeof(name), "iot-%d", i);
		pthread_setname_np(w->tid, name);
	}
	return 0;
}

static int iot_init(struct xl *xl, char **err)
{
	struct iot_priv *priv = NULL;
	int64_t count = 16;
	bool inline_cheap = true, inline_meta = true;
	int ret;

	if (xl->child_count != 1) {
		*err = strdup(
		    "performance/io-threads needs exactly one subvolume");
		return -EINVAL;
	}
	ret = xl_opt_int(xl, "thread-count", &count);
	if (ret < 0)
		goto fail;
	ret = xl_opt_bool(xl, "inline-cheap", &inline_cheap);
	if (ret < 0)
		goto fail;
	ret = xl_opt_bool(xl, "inline-metadata", &inline_meta);
	if (ret < 0)
		goto fail;
	priv = xl_calloc(xl, 1, sizeof(*priv));
	if (!priv) {
		ret = -ENOMEM;
		goto fail;
	}
	priv->xl = xl;
	priv->count = (int)count;
	priv->inline_cheap = inline_cheap;
	priv->inline_meta = inline_meta;
	priv->tail = &priv->head;
	pthread_mutex_init(&priv->mutex, NULL);
	pthread_cond_init(&priv->cond, NULL);
	priv->workers = xl_calloc(xl, (size_t)count, sizeof(*priv->workers));
	if (!priv->workers) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = iot_start_workers(priv, err);
	if (ret < 0)
		goto fail;
	xl->private = priv;
	xl_debug(xl->name, "started %d io-threads", priv->count);
	return 0;
fail:
	if (priv) {
		iot_stop(priv);
		iot_free(xl, priv);
	}
	return ret;
}

static void iot_fini(struct xl *xl)
{
	struct iot_priv *priv = xl->private;

	if (!priv)
		return;
	iot_stop(priv);
	xl->private = NULL;
	iot_free(xl, priv);
}

static void iot_dump(struct xl *xl, FILE *out)
{
	struct iot_priv *priv = xl->private;
	unsigned depth, max_depth;
	uint64_t queued;
	int busy = 0;

	if (!priv)
		return;
	pthread_mutex_lock(&priv->mutex);
	depth = priv->depth;
	max_depth = priv->max_depth;
	queued = priv->queued;
	pthread_mutex_unlock(&priv->mutex);
	for (int i = 0; i < priv->count; i++)
		busy += atomic_load(&priv->workers[i].busy) ? 1 : 0;
	fprintf(out,
		"io-threads: threads=%d busy=%d queue-depth=%u max-depth=%u"
		" queued-total=%" PRIu64 "\n",
		priv->count, busy, depth, max_depth, queued);
	fprintf(out,
		"inline: %s answered=%" PRIuFAST64 " refused=%" PRIuFAST64 "\n",
		priv->inline_cheap ? "on" : "off",
		atomic_load(&priv->inline_answered),
		atomic_load(&priv->inline_refused));
	fprintf(out, "inline-metadata: %s answered=%" PRIuFAST64 "\n",
		priv->inline_meta ? "on" : "off",
		atomic_load(&priv->meta_answered));
	for (int i = 0; i < priv->count; i++) {
		struct iot_worker *w = &priv->workers[i];

		fprintf(out, "  thread %d: busy=%d jobs=%" PRIuFAST64 "\n", i,
			atomic_load(&w->busy) ? 1 : 0, atomic_load(&w->jobs));
	}
}

static const struct xl_option_desc iot_options[] = {
    {
	.key = "thread-count",
	.type = XL_OPT_INT,
	.default_value = "16",
	.min = 1,
	.max = 64,
	.help = "number of worker threads that run the fops below",
    },
    {
	.key = "inline-cheap",
	.type = XL_OPT_BOOL,
	.default_value = "on",
	.help = "try a read, and a stat of an open fd, on the caller's "
		"thread first (answered there when the child needs no disk: "
		"page-cache reads), queueing them only when the child would "
		"block",
    },
    {
	.key = "inline-metadata",
	.type = XL_OPT_BOOL,
	.default_value = "on",
	.help = "run one metadata fop at a time (lookup, stat, create, "
		"mkdir, unlink, rename, setattr, xattrs, open, flush, "
		"release) on the caller's thread instead of a worker; the "
		"others meanwhile, and all data and lock fops, go to the "
		"workers",
    },
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "performance/io-threads",
    .description = "runs every fop below on a pool of worker threads",
    .init = iot_init,
    .fini = iot_fini,
    .dump = iot_dump,
    .options = iot_options,
    .local_size = sizeof(struct iot_job),
    .min_children = 1,
    .max_children = 1,
    .fops =
	{
	    [0 ... XL_FOP_COUNT - 1] = iot_fop,
	},
};
