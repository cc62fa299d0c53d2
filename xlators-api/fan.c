/*
 * fan.c - fan-out: one fop sent to several children of a translator at
 * once, each child's args filled by the caller, the answers gathered in
 * one completion (call.h says the contract).
 *
 * The fan-out holds a reference on the parent and one on each child it
 * sent until the gather has run.  `remaining` counts answers still due,
 * plus one while the children are being sent, so the gather cannot run
 * before the last child is out of the sending loop.  A child that is not
 * sent (its fill failed, or it could not be allocated) is answered by a
 * stub in the fan-out's own memory.
 */
#include "config.h"

#include "call.h"
#include "xlator.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct fan {
	atomic_int remaining; /* answers still due, +1 while sending */
	int n;
	struct xl_call *parent;
	xl_gather_fn done;
	void *cookie;
	int *index;		   /* [n] child index of each slot */
	struct xl_call **children; /* [n] answers */
	struct xl_call *stubs;	   /* [n] stand-ins for children not sent */
};

static bool fan_is_stub(const struct fan *fo, const struct xl_call *c)
{
	return c >= fo->stubs && c < fo->stubs + fo->n;
}

static void fan_finish(struct fan *fo)
{
	fo->done(fo->parent, fo->children, fo->index, fo->n, fo->cookie);
	for (int k = 0; k < fo->n; k++) {
		struct xl_call *c = fo->children[k];

		if (fan_is_stub(fo, c))
			xl_reply_clear(&c->reply);
		else
			xl_call_unref(c);
	}
	xl_call_unref(fo->parent);
	free(fo);
}

static void fan_cbk(struct xl_call *parent, struct xl_call *child, void *cookie)
{
	struct fan *fo = cookie;

	(void)parent;
	xl_call_ref(child); /* done() reads it after this completion */
	if (atomic_fetch_sub(&fo->remaining, 1) == 1)
		fan_finish(fo);
}

/* The slots' child indices: fan->index, else the bits of fan->mask. */
static int fan_slots(const struct xl *xl, const struct xl_fan *fan, int *out)
{
	int n = 0;

	if (fan->index) {
		memcpy(out, fan->index, (size_t)fan->n * sizeof(int));
		return fan->n;
	}
	for (int i = 0; i < xl->child_count && i < 64; i++)
		if (fan->mask & ((uint64_t)1 << i))
			out[n++] = i;
	return n;
}

static int fan_count(const struct xl *xl, const struct xl_fan *fan)
{
	int n = 0;

	if (fan->index)
		return fan->n;
	for (int i = 0; i < xl->child_count && i < 64; i++)
		n += (fan->mask >> i) & 1;
	return n;
}

/* No memory for the fan-out itself: every slot answers -ENOMEM now. */
static void fan_fail_enomem(struct xl_call *parent, const struct xl_fan *fan,
			    int n)
{
	struct xl_call stubs[n > 0 ? n : 1];
	struct xl_call *ptrs[n > 0 ? n : 1];
	int index[n > 0 ? n : 1];

	fan_slots(parent->xl, fan, index);
	for (int k = 0; k < n; k++) {
		memset(&stubs[k], 0, sizeof(stubs[k]));
		stubs[k].fop = fan->fop;
		stubs[k].reply.ret = -ENOMEM;
		ptrs[k] = &stubs[k];
	}
	fan->done(parent, ptrs, index, n, fan->cookie);
}

void xl_fan(struct xl_call *parent, const struct xl_fan *fan)
{
	struct xl *xl = parent->xl;
	int n = fan_count(xl, fan);
	size_t sz = sizeof(struct fan) + (size_t)n * sizeof(struct xl_call) +
		    (size_t)n * sizeof(void *) + (size_t)n * sizeof(int);
	struct fan *fo = calloc(1, sz);

	if (!fo) {
		fan_fail_enomem(parent, fan, n);
		return;
	}
	fo->n = n;
	fo->parent = parent;
	fo->done = fan->done;
	fo->cookie = fan->cookie;
	fo->stubs = (struct xl_call *)(fo + 1);
	fo->children = (struct xl_call **)(fo->stubs + n);
	fo->index = (int *)(fo->children + n);
	fan_slots(xl, fan, fo->index);
	atomic_init(&fo->remaining, n + 1);
	xl_call_ref(parent);
	for (int k = 0; k < n; k++) {
		struct xl_call *c = xl_call_child_fop(parent, fan->fop);
		int err = c ? 0 : -ENOMEM;

		if (c && fan->fill)
			err =
			    fan->fill(parent, c, fo->index[k], k, fan->cookie);
		if (err) {
			if (c)
				xl_call_unref(c);
			fo->stubs[k].fop = fan->fop;
			fo->stubs[k].reply.ret = err < 0 ? err : -err;
			fo->children[k] = &fo->stubs[k];
			atomic_fetch_sub(&fo->remaining, 1);
			continue;
		}
		fo->children[k] = c;
	}
	for (int k = 0; k < n; k++) {
		struct xl_call *c = fo->children[k];

		if (!fan_is_stub(fo, c))
			xl_call_send(c, xl->children[fo->index[k]], fan_cbk,
				     fo);
	}
	if (atomic_fetch_sub(&fo->remaining, 1) == 1)
		fan_finish(fo);
}

int xl_fill_copy(struct xl_call *parent, struct xl_call *child, int index,
		 int slot, void *cookie)
{
	(void)index;
	(void)slot;
	(void)cookie;
	return xl_args_copy(&child->args, &parent->args);
}
