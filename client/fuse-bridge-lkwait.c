/*
 * fuse-bridge-lkwait.c - blocking lock requests (F_SETLKW, flock without
 * LOCK_NB) that the waiting process interrupts.
 *
 * Once a request has reached the file system, the kernel waits for its
 * answer even through SIGKILL.  So when the kernel sends an INTERRUPT for a
 * parked lock request, the bridge asks the brick to withdraw it: a copy of
 * the request with xdata "mortar.lk-cancel" = 1, which features/locks
 * answers by taking the matching parked request off its queue (answered
 * EINTR) or with ENOENT when it finds none (not parked yet, or granted
 * already).  The cancel is retried until the original request is answered.
 *
 * The kernel hears only the original request's answer: EINTR when it was
 * withdrawn, success when the grant won the race (the process then holds
 * the lock, as after any successful fcntl).  Nothing is ever unlocked on
 * the process's behalf, so a lock it takes by retrying is never lost.
 */
#include "config.h"

#include "fuse-bridge.h"

#include "buf.h"
#include "log.h"
#include "xdata-keys.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LKW_LOG	       "fuse"
#define LKW_RETRY_MS   50
#define LKW_MAX_TRIES  1200 /* a minute of retries, then give up */

struct fb_lkwait {
	atomic_int refs; /* the blocking call, and each cancel thread */
	fuse_req_t req;	 /* answered only by the blocking call */
	struct xl_graph *graph;
	enum xl_fop fop;
	struct xl_cred cred;
	struct xl_args args;  /* what to cancel: fd, loc, cmd, lock */
	pthread_mutex_t lock; /* guards answered, cancel_done, cancel_ret */
	pthread_cond_t cond;
	bool answered;	  /* the blocking call has been answered */
	bool cancel_done; /* the cancel in flight has been answered */
	int cancel_ret;
};

static void lkw_unref(struct fb_lkwait *w)
{
	if (atomic_fetch_sub(&w->refs, 1) != 1)
		return;
	xl_args_clear(&w->args);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

static void lkw_cancel_done(struct xl_call *parent, struct xl_call *call,
			    void *cookie)
{
	struct fb_lkwait *w = cookie;

	(void)parent;
	pthread_mutex_lock(&w->lock);
	w->cancel_ret = call->reply.ret;
	w->cancel_done = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void lkw_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Send one cancel and wait for its answer (bounded by the graph's own
 * timeouts: protocol/client answers ENOTCONN within the ping timeout).
 * Returns its result, or 0 once the blocking call is answered. */
static int lkw_send_cancel(struct fb_lkwait *w)
{
	struct xl_call *call;
	int ret;

	call = xl_call_new_root(w->graph, w->fop, &w->cred, lkw_cancel_done, w);
	if (!call)
		return -ENOMEM;
	if (xl_args_copy(&call->args, &w->args) != 0)
		goto fail;
	if (!call->args.xdata && !(call->args.xdata = xl_dict_new()))
		goto fail;
	if (xl_dict_set_u64(call->args.xdata, XL_KEY_LK_CANCEL, 1) != 0)
		goto fail;
	pthread_mutex_lock(&w->lock);
	w->cancel_done = false;
	pthread_mutex_unlock(&w->lock);
	xl_call_start(call, w->graph->top);
	pthread_mutex_lock(&w->lock);
	while (!w->cancel_done)
		pthread_cond_wait(&w->cond, &w->lock);
	ret = w->answered ? 0 : w->cancel_ret;
	pthread_mutex_unlock(&w->lock);
	return ret;
fail:
	xl_call_unref(call);
	return -ENOMEM;
}

static void *lkw_cancel_thread(void *arg)
{
	struct fb_lkwait *w = arg;
	int ret = -ENOENT;

	for (int tries = 0; tries < LKW_MAX_TRIES; tries++) {
		struct timespec ts;
		bool answered;

		ret = lkw_send_cancel(w);
		pthread_mutex_lock(&w->lock);
		if (ret != 0 && !w->answered) {
			/* Not parked yet (or the answer is on its way): wait
			 * a little, or until the answer comes. */
			lkw_deadline(&ts, LKW_RETRY_MS);
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
		answered = w->answered;
		pthread_mutex_unlock(&w->lock);
		if (ret == 0 || answered)
			break;
	}
	if (ret != 0)
		xl_warn(LKW_LOG,
			"could not withdraw an interrupted lock request: %s",
			strerror(-ret));
	lkw_unref(w);
	return NULL;
}

/* Called by libfuse, with the request's lock held, when the kernel
 * interrupts it: never replies, only starts the cancel thread. */
static void lkw_interrupt(fuse_req_t req, void *data)
{
	struct fb_lkwait *w = data;
	pthread_attr_t attr;
	pthread_t tid;

	(void)req;
	atomic_fetch_add(&w->refs, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, lkw_cancel_thread, w) != 0) {
		xl_warn(LKW_LOG, "cannot start a lock cancel thread");
		lkw_unref(w);
	}
	pthread_attr_destroy(&attr);
}

static void lkw_done(struct xl_call *parent, struct xl_call *call, void *cookie)
{
	struct fb_lkwait *w = cookie;
	int ret = call->reply.ret;

	(void)parent;
	/* No interrupt callback runs after this returns (libfuse calls it
	 * with the request's lock held, which this takes). */
	fuse_req_interrupt_func(w->req, NULL, NULL);
	pthread_mutex_lock(&w->lock);
	w->answered = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	fuse_reply_err(w->req, ret < 0 ? -ret : 0);
	lkw_unref(w);
}

void fuse_bridge_lock_wait(fuse_req_t req, struct xl_call *call)
{
	struct fb_lkwait *w = calloc(1, sizeof(*w));

	if (!w || xl_args_copy(&w->args, &call->args) != 0) {
		/* Cannot track it: it still works, only without a cancel. */
		free(w);
		fuse_bridge_call_start(call);
		return;
	}
	atomic_init(&w->refs, 1);
	w->req = req;
	w->graph = call->graph;
	w->fop = call->fop;
	w->cred = call->cred;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	call->cbk = lkw_done;
	call->cookie = w;
	/* Registered before the call starts: an answer may come at once. */
	fuse_req_interrupt_func(req, lkw_interrupt, w);
	fuse_bridge_call_start(call);
}
