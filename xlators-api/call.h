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
 */
#ifndef MORTAR_CALL_H
#define MORTAR_CALL_H

#include "fop.h"
#include <stdatomic.h>
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

	/* Set at dispatch; read-only for translators. */
	struct xl *xl;          /* the translator handling this call */
	struct xl_call *parent; /* ref held until this call is unwound */
	xl_cbk_fn cbk;
	void *cookie;

	/* Runtime private. */
	atomic_int refs;
	void *local;
	struct timespec started;
	struct xl_graph *graph;
	uint64_t unique; /* request id for logs and dumps */
};

/* A root call for graph g, answered through cbk(NULL, call, cookie).  The
 * caller fills call->args and then dispatches with xl_call_start.  NULL on
 * ENOMEM. */
struct xl_call *xl_call_new_root(struct xl_graph *g, enum xl_fop fop,
				 const struct xl_cred *cred, xl_cbk_fn cbk,
				 void *cookie);
/* Hand a root call to a translator (usually g->top). */
void xl_call_start(struct xl_call *call, struct xl *to);

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
 * Fan-out: send a copy of parent's fop to n targets at once and run
 * done(parent, children, n, cookie) once every child has answered, on the
 * thread of the last answer.  children[i] is the answer of targets[i]; it
 * is never NULL (an allocation failure shows as ret -ENOMEM).  The
 * children are released after done returns.  prepare, if not NULL, may
 * edit each child's args before it is sent (0, or -errno to fail that
 * child without sending it).
 */
typedef void (*xl_gather_fn)(struct xl_call *parent, struct xl_call **children,
			     int n, void *cookie);
typedef int (*xl_prepare_fn)(struct xl_call *child, int index, void *cookie);
void xl_fanout(struct xl_call *parent, struct xl *const *targets, int n,
	       xl_prepare_fn prepare, xl_gather_fn done, void *cookie);

#endif
