/*
 * xl_testgate.c - "test/gate", a translator for unit tests only: it holds
 * chosen calls on their way down, so a test can make calls arrive below it
 * in an order the worker threads above would only produce by chance, or
 * look at the translators above while the calls are in flight.
 *
 * An LK, FLOCK, INODELK or LOOKUP whose xdata has "test.gate-hold" is kept
 * (no thread waits for it); a held LOOKUP keeps the calls above it live,
 * with their per-call state, for as long as a test needs.  A STAT with
 * "test.gate-wait" is answered once at least one call is held (at once if
 * one is), with ret = how many are; a STAT with "test.gate-open" winds
 * every held call down in arrival order, then is answered with ret = how
 * many went.  Everything else passes.
 *
 * Locking: priv->lock guards the two lists; never held while winding or
 * unwinding.
 */
#include "config.h"

#include "buf.h"
#include "xlator.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#define GATE_MAX 64 /* held calls, and parked waits */

struct gate_priv {
	pthread_mutex_t lock;
	struct xl_call *held[GATE_MAX];
	int held_count;
	struct xl_call *waits[GATE_MAX];
	int wait_count;
};

static bool gate_has(const struct xl_call *call, const char *key)
{
	uint64_t v = 0;

	return call->args.xdata &&
	       xl_dict_get_u64(call->args.xdata, key, &v) == 0 && v != 0;
}

static int gate_init(struct xl *xl, char **err)
{
	struct gate_priv *p;

	(void)err;
	if (xl->child_count != 1)
		return -EINVAL;
	p = xl_calloc(xl, 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	xl->private = p;
	return 0;
}

/* Whatever a test left held is answered, so no caller waits forever. */
static void gate_fini(struct xl *xl)
{
	struct gate_priv *p = xl->private;

	for (int i = 0; i < p->held_count; i++)
		xl_unwind_error(p->held[i], -ENOTCONN);
	for (int i = 0; i < p->wait_count; i++)
		xl_unwind_error(p->waits[i], -ENOTCONN);
	pthread_mutex_destroy(&p->lock);
	xl_free(xl, p);
}

static void gate_hold_fop(struct xl *xl, struct xl_call *call)
{
	struct gate_priv *p = xl->private;
	struct xl_call *waits[GATE_MAX];
	int nwaits = 0, held;

	if (!gate_has(call, "test.gate-hold")) {
		xl_wind(call, xl->children[0], xl_default_cbk, NULL);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (p->held_count == GATE_MAX) {
		pthread_mutex_unlock(&p->lock);
		xl_unwind_error(call, -ENOBUFS);
		return;
	}
	p->held[p->held_count++] = call;
	held = p->held_count;
	for (int i = 0; i < p->wait_count; i++)
		waits[nwaits++] = p->waits[i];
	p->wait_count = 0;
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < nwaits; i++) {
		waits[i]->reply.ret = held;
		xl_unwind(waits[i]);
	}
}

static void gate_stat(struct xl *xl, struct xl_call *call)
{
	struct gate_priv *p = xl->private;
	struct xl_call *held[GATE_MAX];
	int n = 0;

	if (gate_has(call, "test.gate-wait")) {
		pthread_mutex_lock(&p->lock);
		n = p->held_count;
		if (n == 0 && p->wait_count < GATE_MAX)
			p->waits[p->wait_count++] = call;
		pthread_mutex_unlock(&p->lock);
		if (n > 0) {
			call->reply.ret = n;
			xl_unwind(call);
		}
		return;
	}
	if (!gate_has(call, "test.gate-open")) {
		xl_wind(call, xl->children[0], xl_default_cbk, NULL);
		return;
	}
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->held_count; i++)
		held[n++] = p->held[i];
	p->held_count = 0;
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < n; i++)
		xl_wind(held[i], xl->children[0], xl_default_cbk, NULL);
	call->reply.ret = n;
	xl_unwind(call);
}

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "test/gate",
    .description =
	"holds chosen lock and lookup calls until told (unit tests only)",
    .init = gate_init,
    .fini = gate_fini,
    .min_children = 1,
    .max_children = 1,
    .fops =
	{
	    [XL_FOP_LK] = gate_hold_fop,
	    [XL_FOP_FLOCK] = gate_hold_fop,
	    [XL_FOP_INODELK] = gate_hold_fop,
	    [XL_FOP_LOOKUP] = gate_hold_fop,
	    [XL_FOP_STAT] = gate_stat,
	},
};
