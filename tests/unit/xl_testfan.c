/*
 * xl_testfan.c - a translator for the runtime's unit tests only.
 *
 * "test/fan" fans LOOKUP out to every child and answers the sum of their
 * replies; it keeps the count in per-call state to exercise
 * xl_call_local.  Every other fop passes through to the first child.
 */
#include "config.h"

#include "xlator.h"

#include <errno.h>

struct fan_local {
	int answers;
};

static void fan_lookup_done(struct xl_call *parent, struct xl_call **children,
			    int n, void *cookie)
{
	struct fan_local *local = xl_call_local(parent);
	int32_t sum = 0;

	(void)cookie;
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
	xl_fanout(call, xl->children, xl->child_count, NULL, fan_lookup_done,
		  NULL);
}

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "test/fan",
    .local_size = sizeof(struct fan_local),
    .min_children = 1,
    .max_children = -1,
    .fops = {[XL_FOP_LOOKUP] = fan_lookup},
};
