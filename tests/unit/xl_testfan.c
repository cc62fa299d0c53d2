/*
 * xl_testfan.c - a translator for the runtime's unit tests only.
 *
 * "test/fan" fans LOOKUP out to every child and answers the sum of their
 * replies; it keeps the count in per-call state to exercise
 * xl_call_local.  ACCESS and STATFS exercise the other shapes of xl_fan
 * (an index array with repeats and a different fop per child; a mask),
 * FLUSH an internal call (xl_call_internal).  Every other fop passes
 * through to the first child.
 */
#include "config.h"

#include "xlator.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fan_local {
	int answers;
};

static void fan_lookup_done(struct xl_call *parent, struct xl_call **children,
			    const int *index, int n, void *cookie)
{
	struct fan_local *local = xl_call_local(parent);
	int32_t sum = 0;

	(void)cookie;
	for (int i = 0; i < n; i++)
		if (index[i] != i) {
			xl_unwind_error(parent, -EIO);
			return;
		}
	for (int i = 0; i < n; i++) {
		if (children[i]->reply.ret < 0) {
			xl_unwind_error(parent, children[i]->reply.ret);
			return;
		}
		sum += children[i]->reply.ret;
		local->answers++;
	}
	parent->reply.ret = local->answers == n ? sum : -EIO;
	xl_unwind(parent);
}

static void fan_lookup(struct xl *xl, struct xl_call *call)
{
	if (!xl_call_local(call)) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
				      .mask = ~(uint64_t)0,
				      .fill = xl_fill_copy,
				      .done = fan_lookup_done});
}

/* ACCESS: slots {2, 0, 2}; slot 1 asks STAT instead, slot 2 fails unsent
 * with EPERM.  Answers child 2's lookup + child 0's stat when the slots
 * came back in order with the right fops, else EIO. */
static const int fan_access_index[] = {2, 0, 2};

static int fan_access_fill(struct xl_call *parent, struct xl_call *child,
			   int index, int slot, void *cookie)
{
	if (index != fan_access_index[slot] || cookie != parent)
		return -EIO;
	if (slot == 1)
		child->fop = XL_FOP_STAT;
	return slot == 2 ? -EPERM : 0;
}

static void fan_access_done(struct xl_call *parent, struct xl_call **children,
			    const int *index, int n, void *cookie)
{
	bool ok = n == 3 && cookie == parent;

	for (int k = 0; ok && k < n; k++)
		ok = index[k] == fan_access_index[k];
	if (!ok || children[2]->reply.ret != -EPERM ||
	    children[0]->reply.ret < 0 || children[1]->reply.ret < 0) {
		xl_unwind_error(parent, -EIO);
		return;
	}
	parent->reply.ret = children[0]->reply.ret + children[1]->reply.ret;
	xl_unwind(parent);
}

static void fan_access(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
				      .index = fan_access_index,
				      .n = 3,
				      .fill = fan_access_fill,
				      .done = fan_access_done,
				      .cookie = call});
}

/* STATFS: LOOKUP on the children in mask 0b101 (empty args): their sum. */
static void fan_mask_done(struct xl_call *parent, struct xl_call **children,
			  const int *index, int n, void *cookie)
{
	int32_t sum = 0;

	(void)cookie;
	if (n != 2 || index[0] != 0 || index[1] != 2) {
		xl_unwind_error(parent, -EIO);
		return;
	}
	for (int k = 0; k < n; k++)
		sum += children[k]->reply.ret;
	parent->reply.ret = sum;
	xl_unwind(parent);
}

static void fan_statfs(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
				      .mask = 5,
				      .done = fan_mask_done});
}

/* FLUSH: an internal LOOKUP to child 1 made for this call.  Its answer
 * becomes ours when it carried our request id and fop and the state
 * dump listed it; else EIO.  The internal call outlives nothing here,
 * but holds a ref on the flush so the flush outlives it. */
static void fan_internal_cbk(struct xl_call *none, struct xl_call *ic,
			     void *cookie)
{
	struct xl_call *call = cookie;
	char want[160], *dump = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&dump, &len);
	bool listed;

	snprintf(want, sizeof(want),
		 "internal unique=%llu fop=lookup from=%s to=%s origin=flush",
		 (unsigned long long)call->unique, call->xl->name,
		 call->xl->children[1]->name);
	xl_call_internal_dump(call->graph, f);
	fclose(f);
	listed = dump && strstr(dump, want);
	free(dump);
	if (none || !ic->internal || ic->unique != call->unique ||
	    ic->xl != call->xl->children[1] || !listed)
		call->reply.ret = -EIO;
	else
		call->reply.ret = ic->reply.ret;
	xl_unwind(call);
	xl_call_unref(call);
}

static void fan_flush(struct xl *xl, struct xl_call *call)
{
	struct xl_args args = {0};

	xl_call_ref(call);
	xl_call_internal(xl, xl_call_origin(call), xl->children[1],
			 XL_FOP_LOOKUP, &call->cred, &args, fan_internal_cbk,
			 call);
}

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "test/fan",
    .local_size = sizeof(struct fan_local),
    .min_children = 1,
    .max_children = -1,
    .fops = {[XL_FOP_LOOKUP] = fan_lookup,
	     [XL_FOP_ACCESS] = fan_access,
	     [XL_FOP_STATFS] = fan_statfs,
	     [XL_FOP_FLUSH] = fan_flush},
};
