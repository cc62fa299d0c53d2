/*
 * xl_testpicky.c - test-only translator "test/picky": it says
 * XL_UNHANDLED_REFUSE but handles only lookup, so a graph with it must
 * not build (test_graph.c checks the error names the first fop it
 * misses).
 */
#include "config.h"

#include "xlator.h"

static void picky_lookup(struct xl *xl, struct xl_call *call)
{
	xl_default_fop(xl, call);
}

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "test/picky",
    .min_children = 1,
    .max_children = 1,
    .unhandled = XL_UNHANDLED_REFUSE,
    .fops = {[XL_FOP_LOOKUP] = picky_lookup},
};
