/*
 * call.h - the asynchronous call object: wind, unwind, fan-out.
 *
 * A fop is one struct xl_call handed to a translator's fop function.  The
 * translator either answers it (fill call->reply, then xl_unwind) or winds
 * a child call to one of its children with a completion (xl_cbk_fn).  The
 * fop function returns at once; the completion runs on whatever thread
 * finished the child (an event loop thread, an io-thread, or the winding
 * thread itself when the child answered synchronously).
 *
 * Ownership: the runtime owns every call.  A translator never frees one.
 * After a completion returns, the child call it was given is released; keep
 * what you need by moving it (xl_reply_move) or taking a ref (xl_call_ref).
 * A call must be unwound exactly once.
 *
 * Per-call state: each translator's desc->local_size bytes, allocated on
 * first xl_call_local() and freed (desc->local_free, then xl_free) with the
 * call.  "The call" is the one the translator was handed in its fop.  The
 * bytes are accounted to that translator (xl_malloc), so its state dump's
 * memory.bytes and memory.allocs include the state of its live calls.
 *
 * A wind never drops a call: when the runtime cannot allocate the child,
 * the completion runs at once with child->reply.ret = -ENOMEM.
 *
 * Internal calls (xl_call_internal) are the calls a translator makes for
 * its own work (locks, xattrops, heal) without a parent, so they may
 * outlive the call that caused them; they carry that call's request id.
 * Fan-out (xl_fan, in fan.c) sends one fop to several children at once.
 */
#ifndef MORTAR_CALL_H
#define MORTAR_CALL_H

#include "fop.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

struct xl;
struct xl_call;

/* Completion of a wound call.  parent is the call the winding translator
 * was handed (NULL only for a root call's completion); child holds the
 * reply. */
typedef void (*xl_cbk_fn)(struct xl_call *parent, struct xl_call *child,
			  void *cookie);

struct xl_call {
	enum xl_fop fop;
	struct xl_cred cred;
	struct xl_args args;
	struct xl_reply reply;

	/* This thread must not block (an event loop thread): a translator
	 * that would wait answers -EAGAIN at once instead, and the caller
	 * retries where blocking is allowed.  Set by the caller on a child
	 * call before sending it; xl_call_child* copy it to the calls
	 * below.  Only storage/posix's read waits on anything today; the
	 * translators between pass it down. */
	bool nowait;

	/* Set at dispatch; read-only for translators. */
	struct xl *xl;		/* the translator handling this call */
	struct xl_call *parent; /* ref held until this call is unwound */
	xl_cbk_fn cbk;
	void *cookie;

	/* Runtime private. */
	atomic_int refs;
	void *local;
	struct timespec started;
	struct xl_graph *graph;
	uint64_t unique; /* request id for logs and dumps */
	/* Root and internal calls: the graph whose live_root_calls counts
	 * this call until it is freed (NULL for child calls). */
	struct xl_graph *counted_in;

	/* Internal calls only (xl_call_internal): who made it and for which
	 * fop of the originating call (XL_FOP_COUNT: none, background work);
	 * linked in graph->internal_calls while it lives. */
	bool internal;
	enum xl_fop origin_fop;
	struct xl *from;
	struct xl_call *internal_prev, *internal_next;
};

/* A root call for graph g, answered through cbk(NULL, call, cookie).  The
 * caller fills call->args and then dispatches with xl_call_start.  NULL on
 * ENOMEM. */
struct xl_call *xl_call_new_root(struct xl_graph *g, enum xl_fop fop,
				 const struct xl_cred *cred, xl_cbk_fn cbk,
				 void *cookie);
/* Hand a root call to a translator (usually g->top). */
void xl_call_start(struct xl_call *call, struct xl *to);

/* What an internal call was made for: the originating call's request id
 * and fop, kept by value since the internal call may outlive it.
 * XL_ORIGIN_NONE: background work (a heal, a restore). */
struct xl_origin {
	uint64_t unique; /* 0: none */
	enum xl_fop fop;
};
#define XL_ORIGIN_NONE ((struct xl_origin){.unique = 0, .fop = XL_FOP_COUNT})
struct xl_origin xl_call_origin(const struct xl_call *call);

/*
 * An internal call from translator `from` to `to`: a root call (cbk runs
 * as cbk(NULL, call, cookie)) that belongs to no parent, for work a
 * translator does on its own behalf (locks, xattrops, heal reads and
 * writes) and that may outlive the call that caused it.  It carries
 * origin's request id and fop (XL_ORIGIN_NONE: a fresh id), so trace
 * lines and the state dump ([internal calls]) link an INODELK to the
 * WRITE it was taken for.
 *
 * args is moved into the call (left empty).  cred NULL: no credentials.
 * On ENOMEM cbk runs at once with ret -ENOMEM.  In cbk, call->xl is `to`
 * and call->from is `from` either way (xl_call_internal_fail makes such
 * an answer for a call the caller could not even prepare).
 */
void xl_call_internal(struct xl *from, struct xl_origin origin, struct xl *to,
		      enum xl_fop fop, const struct xl_cred *cred,
		      struct xl_args *args, xl_cbk_fn cbk, void *cookie);
/* Run cbk now as if an internal call from `from` to `to` had answered
 * err. */
void xl_call_internal_fail(struct xl *from, struct xl *to, enum xl_fop fop,
			   int err, xl_cbk_fn cbk, void *cookie);
/* Write the internal calls in flight in g, one line each (state dump). */
void xl_call_internal_dump(struct xl_graph *g, FILE *out);

/* A child of parent with a copy of its fop, cred and args (refs taken).
 * Modify child->args freely, then xl_call_send.  NULL on ENOMEM. */
struct xl_call *xl_call_child(struct xl_call *parent);
/* A child for a different fop with empty args (cred copied). */
struct xl_call *xl_call_child_fop(struct xl_call *parent, enum xl_fop fop);
/* Dispatch a child made above to translator `to`; cbk runs when it is
 * unwound.  Consumes the caller's reference to child. */
void xl_call_send(struct xl_call *child, struct xl *to, xl_cbk_fn cbk,
		  void *cookie);

/* Copy parent's args to a new child and send it to `to` (the common
 * case).  On ENOMEM cbk runs now with ret -ENOMEM. */
void xl_wind(struct xl_call *parent, struct xl *to, xl_cbk_fn cbk,
	     void *cookie);

/* Answer a call: its reply must be filled in.  Runs the completion and
 * releases the call.  Exactly once per call. */
void xl_unwind(struct xl_call *call);
/* Shorthand: set reply.ret = err (a negative errno) and unwind. */
void xl_unwind_error(struct xl_call *call, int err);

/* Pass-through: wind to the first child and unwind its reply as ours.
 * Every fop a translator leaves NULL in its descriptor does this. */
void xl_default_fop(struct xl *xl, struct xl_call *call);
/* A completion that moves child's reply into parent and unwinds it. */
void xl_default_cbk(struct xl_call *parent, struct xl_call *child,
		    void *cookie);

/* The translator's per-call state (desc->local_size bytes, zeroed), or
 * NULL on ENOMEM or when local_size is 0. */
void *xl_call_local(struct xl_call *call);

void xl_call_ref(struct xl_call *call);
void xl_call_unref(struct xl_call *call);

/*
 * Fan-out: send fan->fop to several children of the parent's translator at
 * once, and run fan->done(parent, children, index, n, cookie) once every
 * child has answered, on the thread of the last answer.
 *
 * The children are fan->index[0..n-1] (indices into parent->xl->children,
 * in that order, repeats allowed) or, when fan->index is NULL, every child
 * whose bit is set in fan->mask, in child order.  Each child call starts
 * with the parent's cred and empty args; fan->fill, if not NULL, fills
 * them (xl_fill_copy: a copy of the parent's) and may set child->fop when
 * a fan-out asks different children different things.  It returns 0, or
 * -errno to fail that child without sending it.  Every child is filled
 * before the first is sent.
 *
 * In done, children[k] is the answer of child index[k], never NULL (a
 * child not sent shows its error, an allocation failure -ENOMEM); the
 * arrays and children are released after done returns.  n may be 0: done
 * runs at once with no answers.
 */
typedef int (*xl_fill_fn)(struct xl_call *parent, struct xl_call *child,
			  int index, int slot, void *cookie);
typedef void (*xl_gather_fn)(struct xl_call *parent, struct xl_call **children,
			     const int *index, int n, void *cookie);
struct xl_fan {
	enum xl_fop fop;
	const int *index; /* [n] child indices, or NULL: use mask */
	int n;
	uint64_t mask; /* bit i: parent->xl->children[i] */
	xl_fill_fn fill;
	xl_gather_fn done;
	void *cookie; /* for fill and done */
};
void xl_fan(struct xl_call *parent, const struct xl_fan *fan);
/* An xl_fill_fn: the child gets a copy of the parent's args. */
int xl_fill_copy(struct xl_call *parent, struct xl_call *child, int index,
		 int slot, void *cookie);

#endif
