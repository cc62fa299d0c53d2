/*
 * call.c - the call object: dispatch, wind, unwind, internal calls,
 * per-call state and per-fop statistics (fan-out is in fan.c).
 *
 * Reference rules: a call starts with one reference, owned by its dispatch
 * and dropped by xl_unwind.  A child holds a reference on its parent until
 * the child is destroyed, so a parent outlives every child's completion
 * even if it was answered early.  An internal call has no parent; it is
 * listed in its graph (internal_lock) from creation to release so the
 * state dump can show what it was made for.
 */
#include "config.h"

#include "call.h"
#include "graph.h"
#include "xlator.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static uint64_t call_usec_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t us = (int64_t)(now.tv_sec - t0->tv_sec) * 1000000 +
		     (now.tv_nsec - t0->tv_nsec) / 1000;
	return us > 0 ? (uint64_t)us : 0;
}

static void call_dispatch(struct xl_call *call, struct xl *to)
{
	xl_fop_fn fn = NULL;

	call->xl = to;
	clock_gettime(CLOCK_MONOTONIC, &call->started);
	atomic_fetch_add_explicit(&to->pending, 1, memory_order_relaxed);
	if ((unsigned)call->fop < XL_FOP_COUNT)
		fn = to->desc->fops[call->fop];
	if (!fn)
		fn = xl_default_fop;
	fn(to, call);
}

struct xl_call *xl_call_new_root(struct xl_graph *g, enum xl_fop fop,
				 const struct xl_cred *cred, xl_cbk_fn cbk,
				 void *cookie)
{
	struct xl_call *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	atomic_init(&call->refs, 1);
	call->fop = fop;
	if (cred)
		call->cred = *cred;
	call->cbk = cbk;
	call->cookie = cookie;
	call->graph = g;
	if (g) {
		call->unique = atomic_fetch_add(&g->next_unique, 1) + 1;
		call->counted_in = g;
		atomic_fetch_add(&g->live_root_calls, 1);
	}
	return call;
}

void xl_call_start(struct xl_call *call, struct xl *to)
{
	call_dispatch(call, to);
}

struct xl_call *xl_call_child_fop(struct xl_call *parent, enum xl_fop fop)
{
	struct xl_call *child = calloc(1, sizeof(*child));

	if (!child)
		return NULL;
	atomic_init(&child->refs, 1);
	child->fop = fop;
	child->cred = parent->cred;
	child->graph = parent->graph;
	child->unique = parent->unique;
	child->parent = parent;
	child->nowait = parent->nowait;
	xl_call_ref(parent);
	return child;
}

struct xl_call *xl_call_child(struct xl_call *parent)
{
	struct xl_call *child = xl_call_child_fop(parent, parent->fop);

	if (!child)
		return NULL;
	if (xl_args_copy(&child->args, &parent->args) != 0) {
		xl_call_unref(child);
		return NULL;
	}
	return child;
}

void xl_call_send(struct xl_call *child, struct xl *to, xl_cbk_fn cbk,
		  void *cookie)
{
	child->cbk = cbk;
	child->cookie = cookie;
	call_dispatch(child, to);
}

/* The completion of a call that could not be allocated: a stub that lives
 * only for the duration of cbk. */
static void call_fail_enomem(struct xl_call *parent, enum xl_fop fop,
			     xl_cbk_fn cbk, void *cookie)
{
	struct xl_call stub;

	memset(&stub, 0, sizeof(stub));
	stub.fop = fop;
	stub.parent = parent;
	stub.graph = parent->graph;
	stub.reply.ret = -ENOMEM;
	cbk(parent, &stub, cookie);
	xl_reply_clear(&stub.reply);
}

void xl_wind(struct xl_call *parent, struct xl *to, xl_cbk_fn cbk, void *cookie)
{
	struct xl_call *child = xl_call_child(parent);

	if (!child) {
		call_fail_enomem(parent, parent->fop, cbk, cookie);
		return;
	}
	xl_call_send(child, to, cbk, cookie);
}

static void call_account(struct xl_call *call)
{
	struct xl *xl = call->xl;

	if (!xl || (unsigned)call->fop >= XL_FOP_COUNT)
		return;
	struct xl_fop_stats *st = &xl->stats[call->fop];
	uint64_t us = call_usec_since(&call->started);
	uint_fast64_t max =
	    atomic_load_explicit(&st->max_usec, memory_order_relaxed);

	atomic_fetch_add_explicit(&st->count, 1, memory_order_relaxed);
	/* A nowait call that would block is retried, not failed. */
	if (call->reply.ret < 0 &&
	    !(call->nowait && call->reply.ret == -EAGAIN))
		atomic_fetch_add_explicit(&st->errors, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->total_usec, us, memory_order_relaxed);
	while (us > max &&
	       !atomic_compare_exchange_weak(&st->max_usec, &max, us))
		;
	atomic_fetch_sub_explicit(&xl->pending, 1, memory_order_relaxed);
}

void xl_unwind(struct xl_call *call)
{
	call_account(call);
	if (call->cbk)
		call->cbk(call->parent, call, call->cookie);
	xl_call_unref(call);
}

void xl_unwind_error(struct xl_call *call, int err)
{
	call->reply.ret = err < 0 ? err : -err;
	xl_unwind(call);
}

void xl_default_cbk(struct xl_call *parent, struct xl_call *child, void *cookie)
{
	(void)cookie;
	xl_reply_move(&parent->reply, &child->reply);
	xl_unwind(parent);
}

void xl_default_fop(struct xl *xl, struct xl_call *call)
{
	if (xl->child_count == 0) {
		xl_unwind_error(call, -ENOSYS);
		return;
	}
	xl_wind(call, xl->children[0], xl_default_cbk, NULL);
}

/* Accounted (xl_calloc) to the translator the call was handed to, so its
 * state dump's memory.bytes counts the per-call state it holds. */
void *xl_call_local(struct xl_call *call)
{
	size_t size = call->xl ? call->xl->desc->local_size : 0;

	/* Accounted to the translator: the dump shows what its calls hold. */
	if (!call->local && size)
		call->local = xl_calloc(call->xl, 1, size);
	return call->local;
}

/* ---- internal calls ------------------------------------------------- */

static void call_internal_unlink(struct xl_call *call)
{
	struct xl_graph *g = call->graph;

	pthread_mutex_lock(&g->internal_lock);
	if (call->internal_prev)
		call->internal_prev->internal_next = call->internal_next;
	else
		g->internal_calls = call->internal_next;
	if (call->internal_next)
		call->internal_next->internal_prev = call->internal_prev;
	pthread_mutex_unlock(&g->internal_lock);
}

struct xl_origin xl_call_origin(const struct xl_call *call)
{
	return (struct xl_origin){.unique = call->unique, .fop = call->fop};
}

void xl_call_internal_fail(struct xl *from, struct xl *to, enum xl_fop fop,
			   int err, xl_cbk_fn cbk, void *cookie)
{
	struct xl_call stub;

	memset(&stub, 0, sizeof(stub));
	stub.fop = fop;
	stub.xl = to;
	stub.from = from;
	stub.internal = true;
	stub.graph = from->graph;
	stub.reply.ret = err < 0 ? err : -err;
	cbk(NULL, &stub, cookie);
	xl_reply_clear(&stub.reply);
}

void xl_call_internal(struct xl *from, struct xl_origin origin, struct xl *to,
		      enum xl_fop fop, const struct xl_cred *cred,
		      struct xl_args *args, xl_cbk_fn cbk, void *cookie)
{
	struct xl_graph *g = from->graph;
	struct xl_call *call =
	    xl_call_new_root(origin.unique ? NULL : g, fop, cred, cbk, cookie);

	if (!call) {
		xl_args_clear(args);
		xl_call_internal_fail(from, to, fop, -ENOMEM, cbk, cookie);
		return;
	}
	call->graph = g;
	if (!call->counted_in) {
		call->counted_in = g;
		atomic_fetch_add(&g->live_root_calls, 1);
	}
	if (origin.unique)
		call->unique = origin.unique;
	call->internal = true;
	call->origin_fop = origin.unique ? origin.fop : XL_FOP_COUNT;
	call->from = from;
	call->xl = to; /* for the dump before dispatch sets it */
	call->args = *args;
	memset(args, 0, sizeof(*args));
	pthread_mutex_lock(&g->internal_lock);
	call->internal_next = g->internal_calls;
	if (g->internal_calls)
		g->internal_calls->internal_prev = call;
	g->internal_calls = call;
	pthread_mutex_unlock(&g->internal_lock);
	xl_call_start(call, to);
}

void xl_call_internal_dump(struct xl_graph *g, FILE *out)
{
	pthread_mutex_lock(&g->internal_lock);
	for (struct xl_call *c = g->internal_calls; c; c = c->internal_next)
		fprintf(
		    out,
		    "internal unique=%" PRIu64 " fop=%s from=%s to=%s "
		    "origin=%s\n",
		    c->unique, xl_fop_name(c->fop),
		    c->from ? c->from->name : "-", c->xl ? c->xl->name : "-",
		    c->origin_fop < XL_FOP_COUNT ? xl_fop_name(c->origin_fop)
						 : "background");
	pthread_mutex_unlock(&g->internal_lock);
}

void xl_call_ref(struct xl_call *call)
{
	atomic_fetch_add(&call->refs, 1);
}

void xl_call_unref(struct xl_call *call)
{
	struct xl_call *parent;

	if (atomic_fetch_sub(&call->refs, 1) != 1)
		return;
	if (call->local) {
		if (call->xl && call->xl->desc->local_free)
			call->xl->desc->local_free(call->local);
		xl_free(call->xl, call->local);
	}
	if (call->internal)
		call_internal_unlink(call);
	xl_args_clear(&call->args);
	xl_reply_clear(&call->reply);
	parent = call->parent;
	/* Last, after the args dropped their fds: a graph that counts no
	 * call holds no fd a call took (graph.h, live_root_calls). */
	if (call->counted_in)
		atomic_fetch_sub(&call->counted_in->live_root_calls, 1);
	free(call);
	if (parent)
		xl_call_unref(parent);
}
