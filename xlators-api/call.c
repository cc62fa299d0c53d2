/*
 * call.c - the call object: dispatch, wind, unwind, fan-out, per-call state
 * and per-fop statistics.
 *
 * Reference rules: a call starts with one reference, owned by its dispatch
 * and dropped by xl_unwind.  A child holds a reference on its parent until
 * the child is destroyed, so a parent outlives every child's completion
 * even if it was answered early.
 */
#include "config.h"

#include "call.h"
#include "graph.h"
#include "xlator.h"

#include <errno.h>
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
	if (g)
		call->unique = atomic_fetch_add(&g->next_unique, 1) + 1;
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
	if (call->reply.ret < 0)
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

	if (!call->local && size)
		call->local = xl_calloc(call->xl, 1, size);
	return call->local;
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
	xl_args_clear(&call->args);
	xl_reply_clear(&call->reply);
	parent = call->parent;
	free(call);
	if (parent)
		xl_call_unref(parent);
}

/* ---- fan-out ------------------------------------------------------- */

struct fanout {
	atomic_int remaining; /* children not yet answered, +1 while sending */
	int n;
	struct xl_call *parent;
	xl_gather_fn done;
	void *cookie;
	struct xl_call *children[]; /* NULL: could not be allocated */
};

static void fanout_finish(struct fanout *fo)
{
	struct xl_call stubs[fo->n > 0 ? fo->n : 1];
	int stub_count = 0;

	/* Every slot must hold an answer: stand in for failed allocations. */
	for (int i = 0; i < fo->n; i++) {
		if (fo->children[i])
			continue;
		memset(&stubs[stub_count], 0, sizeof(stubs[0]));
		stubs[stub_count].fop = fo->parent->fop;
		stubs[stub_count].reply.ret = -ENOMEM;
		fo->children[i] = &stubs[stub_count++];
	}
	fo->done(fo->parent, fo->children, fo->n, fo->cookie);
	for (int i = 0; i < fo->n; i++) {
		struct xl_call *c = fo->children[i];
		if (c >= stubs && c < stubs + stub_count)
			xl_reply_clear(&c->reply);
		else
			xl_call_unref(c);
	}
	xl_call_unref(fo->parent);
	free(fo);
}

static void fanout_cbk(struct xl_call *parent, struct xl_call *child,
		       void *cookie)
{
	struct fanout *fo = cookie;

	(void)parent;
	/* Keep the child past this completion: done() reads it. */
	xl_call_ref(child);
	if (atomic_fetch_sub(&fo->remaining, 1) == 1)
		fanout_finish(fo);
}

void xl_fanout(struct xl_call *parent, struct xl *const *targets, int n,
	       xl_prepare_fn prepare, xl_gather_fn done, void *cookie)
{
	struct fanout *fo = calloc(1, sizeof(*fo) + (size_t)n * sizeof(void *));

	if (!fo) {
		struct xl_call stubs[n > 0 ? n : 1];
		struct xl_call *ptrs[n > 0 ? n : 1];
		for (int i = 0; i < n; i++) {
			memset(&stubs[i], 0, sizeof(stubs[i]));
			stubs[i].fop = parent->fop;
			stubs[i].reply.ret = -ENOMEM;
			ptrs[i] = &stubs[i];
		}
		done(parent, ptrs, n, cookie);
		return;
	}
	atomic_init(&fo->remaining, n + 1);
	fo->n = n;
	fo->parent = parent;
	fo->done = done;
	fo->cookie = cookie;
	xl_call_ref(parent);
	/* Create every child first so completions can find their slot. */
	for (int i = 0; i < n; i++)
		fo->children[i] = xl_call_child(parent);
	for (int i = 0; i < n; i++) {
		struct xl_call *child = fo->children[i];
		int err = 0;
		if (!child) {
			atomic_fetch_sub(&fo->remaining, 1);
			continue;
		}
		if (prepare)
			err = prepare(child, i, cookie);
		if (err) {
			child->reply.ret = err < 0 ? err : -err;
			atomic_fetch_sub(&fo->remaining, 1);
			continue;
		}
		xl_call_send(child, targets[i], fanout_cbk, fo);
	}
	if (atomic_fetch_sub(&fo->remaining, 1) == 1)
		fanout_finish(fo);
}
