/*
 * dht-exchange.c - cluster/distribute: rename with RENAME_EXCHANGE of two
 * names whose objects live on different children, atomic as other
 * clients see it, and finished by whoever comes next when the client
 * doing it dies or a brick fails in the middle.
 *
 * A brick can only exchange two names it holds both of; across children
 * the swap takes several steps (links, renames, linkto files; see
 * dht_xchg_plan), and between them a name could resolve to neither file,
 * or both to one.  So:
 *
 *  - The whole exchange runs under one lock: an inodelk in the domain
 *    "distribute.exchange" on the root gfid on the first child (one for
 *    the volume: exchanges are rare).
 *  - Before its first step it writes an *intent* (xattr
 *    trusted.mortar.dht.exchange: both names, both gfids, which is a
 *    directory) on both objects (a file's data copy, every copy of a
 *    directory), and removes it after its last step.
 *  - Every lookup asks for that xattr (mortar.xattr-req).  A name that
 *    resolves to an object carrying an intent is not answered: the
 *    lookup takes the lock (so it waits for an exchange in progress),
 *    runs the exchange's steps itself when the intent is still there (the
 *    exchanger died, or failed part way: its lock went with it), lets go
 *    and resolves the name again.  Every step checks first whether it is
 *    done, so running them again finishes the exchange wherever it
 *    stopped.
 *
 * A lookup thus sees the state before the exchange or after it, never one
 * in between; directory listings are not held up and may show a name
 * twice and the other not at all while the steps run.  A step that fails
 * (a brick went away) fails the rename, leaves the intents, and the first
 * lookup of either name once the brick is back completes it.
 *
 * The steps, run by the renaming call (dht_exchange) or by a lookup that
 * found an intent (an internal rename to distribute itself whose args.data
 * is the intent: dht_exchange_resume), are a list of dht_xop.
 */
#include "config.h"

#include "dht.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* The intent: "MXC1", a byte (bit i: object i is a directory), P0, G0,
 * P1, G1 (16 bytes each), name0 NUL, name1 NUL. */
#define DHT_XCHG_MAGIC	   "MXC1"
#define DHT_XCHG_FIXED_LEN (4 + 1 + 4 * XL_GFID_LEN)

struct dht_xchg {
	struct xl_loc loc[2];	      /* pargfid + name, owned */
	uint8_t gfid[2][XL_GFID_LEN]; /* the objects at loc[i] before */
	bool dir[2];
	int c[2];	       /* a file's child; -1: a directory */
	int h[2];	       /* the child loc[i]'s name hashes to */
	bool intent[2];	       /* resume: object i still carries one */
	struct xl_iobuf *blob; /* the intent */
	struct dht_xop ops[2 * DHT_MAX_SUBVOLS + 8];
	int nops, next;
	int ret;
	struct xl_reply saved; /* the same-child rename's answer */
};

void dht_xchg_free(struct xl *xl, struct dht_xchg *x)
{
	if (!x)
		return;
	xl_loc_clear(&x->loc[0]);
	xl_loc_clear(&x->loc[1]);
	if (x->blob)
		xl_iobuf_unref(x->blob);
	xl_reply_clear(&x->saved);
	xl_free(xl, x);
}

static struct dht_xchg *dht_xchg(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (!local->xchg &&
	    (local->xchg = xl_calloc(call->xl, 1, sizeof(*local->xchg))))
		local->xchg->c[0] = local->xchg->c[1] = -1;
	return local->xchg;
}

/* ---- the intent ----------------------------------------------------- */

static int dht_xchg_encode(struct dht_xchg *x)
{
	size_t n0 = strlen(x->loc[0].name) + 1, n1 = strlen(x->loc[1].name) + 1;
	struct xl_iobuf *b = xl_iobuf_new(DHT_XCHG_FIXED_LEN + n0 + n1);
	char *p;

	if (!b)
		return -ENOMEM;
	p = b->data;
	memcpy(p, DHT_XCHG_MAGIC, 4);
	p[4] = (char)((x->dir[0] ? 1 : 0) | (x->dir[1] ? 2 : 0));
	p += 5;
	memcpy(p, x->loc[0].pargfid, XL_GFID_LEN);
	memcpy(p + 16, x->gfid[0], XL_GFID_LEN);
	memcpy(p + 32, x->loc[1].pargfid, XL_GFID_LEN);
	memcpy(p + 48, x->gfid[1], XL_GFID_LEN);
	memcpy(p + 64, x->loc[0].name, n0);
	memcpy(p + 64 + n0, x->loc[1].name, n1);
	b->size = DHT_XCHG_FIXED_LEN + n0 + n1;
	x->blob = b;
	return 0;
}

static int dht_xchg_decode(struct dht_xchg *x, const char *p, size_t len)
{
	const char *n0, *n1;
	size_t l0, l1;

	if (len < DHT_XCHG_FIXED_LEN + 4 || memcmp(p, DHT_XCHG_MAGIC, 4))
		return -EINVAL;
	n0 = p + DHT_XCHG_FIXED_LEN;
	l0 = strnlen(n0, len - DHT_XCHG_FIXED_LEN);
	if (DHT_XCHG_FIXED_LEN + l0 + 1 >= len)
		return -EINVAL;
	n1 = n0 + l0 + 1;
	l1 = strnlen(n1, len - DHT_XCHG_FIXED_LEN - l0 - 1);
	if (DHT_XCHG_FIXED_LEN + l0 + 1 + l1 + 1 != len ||
	    !xl_name_is_valid(n0) || !xl_name_is_valid(n1))
		return -EINVAL;
	x->dir[0] = p[4] & 1;
	x->dir[1] = (p[4] & 2) != 0;
	memcpy(x->loc[0].pargfid, p + 5, XL_GFID_LEN);
	memcpy(x->gfid[0], p + 21, XL_GFID_LEN);
	memcpy(x->loc[1].pargfid, p + 37, XL_GFID_LEN);
	memcpy(x->gfid[1], p + 53, XL_GFID_LEN);
	x->loc[0].name = strdup(n0);
	x->loc[1].name = strdup(n1);
	if (!x->loc[0].name || !x->loc[1].name)
		return -ENOMEM;
	x->blob = xl_iobuf_from(p, len);
	return x->blob ? 0 : -ENOMEM;
}

/* The children holding object i (a file's one, or every child). */
static int dht_xchg_holders(struct xl_call *call, int i, int *subvols)
{
	struct dht_xchg *x = dht_local(call)->xchg;
	int n = 0;

	if (!x->dir[i]) {
		subvols[n++] = x->c[i];
		return n;
	}
	for (int s = 0; s < dht_priv(call->xl)->n; s++)
		subvols[n++] = s;
	return n;
}

/* k-th of the (object, child) pairs the intent goes on; the object in
 * *obj. */
static int dht_xchg_pair(struct xl_call *call, int k, int *obj)
{
	int s0[DHT_MAX_SUBVOLS], s1[DHT_MAX_SUBVOLS];
	int n0 = dht_xchg_holders(call, 0, s0);

	dht_xchg_holders(call, 1, s1);
	*obj = k < n0 ? 0 : 1;
	return k < n0 ? s0[k] : s1[k - n0];
}

static int dht_fill_intent(struct xl_call *call, struct xl_call *child,
			   int subvol, int k, void *cookie)
{
	struct dht_xchg *x = dht_local(call)->xchg;
	int obj;

	(void)cookie;
	(void)subvol;
	dht_xchg_pair(call, k, &obj);
	memcpy(child->args.loc.gfid, x->gfid[obj], XL_GFID_LEN);
	child->args.xname = strdup(DHT_XATTR_EXCHANGE);
	if (!child->args.xname)
		return -ENOMEM;
	if (child->fop == XL_FOP_SETXATTR &&
	    !(child->args.data = xl_iobuf_ref(x->blob)))
		return -ENOMEM;
	return dht_set_internal(&child->args.xdata);
}

/* Set (fop SETXATTR) or remove (REMOVEXATTR) the intent on both objects,
 * then done. */
static void dht_xchg_intents(struct xl_call *call, enum xl_fop fop,
			     xl_gather_fn done)
{
	int s0[DHT_MAX_SUBVOLS], s1[DHT_MAX_SUBVOLS],
	    subvols[2 * DHT_MAX_SUBVOLS];
	int n0 = dht_xchg_holders(call, 0, s0),
	    n1 = dht_xchg_holders(call, 1, s1);

	memcpy(subvols, s0, (size_t)n0 * sizeof(int));
	memcpy(subvols + n0, s1, (size_t)n1 * sizeof(int));
	xl_fan(call, &(struct xl_fan){.fop = fop,
				      .index = subvols,
				      .n = n0 + n1,
				      .fill = dht_fill_intent,
				      .done = done});
}

/* ---- the steps ------------------------------------------------------ */

static void dht_xop_run(struct xl_call *call);

static void dht_xop_add(struct dht_xchg *x, int kind, int subvol, int a, int b,
			int g, int target)
{
	x->ops[x->nops++] = (struct dht_xop){kind, subvol, a, b, g, target};
}

/*
 * What turns the state before (loc[i] names object i; a file's data on
 * c[i], a linkto on h[i] when that differs) into the state after (the
 * names swapped), in an order where a step done twice does nothing.
 */
static void dht_xchg_plan(struct xl_call *call)
{
	struct dht_xchg *x = dht_local(call)->xchg;
	int n = dht_priv(call->xl)->n;

	x->nops = x->next = 0;
	if (x->dir[0] && x->dir[1]) {
		for (int s = 0; s < n; s++)
			dht_xop_add(x, DHT_XOP_SWAP, s, 0, 1, 0, -1);
		return;
	}
	if (x->dir[0] || x->dir[1]) {
		int f = x->dir[0] ? 1 : 0, d = 1 - f, c = x->c[f];

		/* where the file is, both names are there: swap them */
		dht_xop_add(x, DHT_XOP_SWAP, c, f, d, f, -1);
		for (int s = 0; s < n; s++) {
			if (s == c)
				continue;
			/* the file's linkto goes, the directory's copy takes
			 * the file's name */
			dht_xop_add(x, DHT_XOP_UNLINK, s, f, -1, f, -1);
			dht_xop_add(x, DHT_XOP_RENAME, s, d, f, d, -1);
		}
		if (x->h[d] >= 0 && x->h[d] != c)
			dht_xop_add(x, DHT_XOP_LINKTO, x->h[d], d, -1, f, c);
		return;
	}
	/* two files, on c0 and c1: file 0 gets name 1 beside name 0 on c0,
	 * file 1 is renamed to name 0 on c1, name 0 leaves c0, then the
	 * linkto files follow. */
	dht_xop_add(x, DHT_XOP_LINK, x->c[0], -1, 1, 0, -1);
	dht_xop_add(x, DHT_XOP_RENAME, x->c[1], 1, 0, 1, -1);
	dht_xop_add(x, DHT_XOP_UNLINK, x->c[0], 0, -1, 0, -1);
	if (x->h[0] >= 0 && x->h[0] != x->c[1])
		dht_xop_add(x, DHT_XOP_LINKTO, x->h[0], 0, -1, 1, x->c[1]);
	if (x->h[1] >= 0 && x->h[1] != x->c[0])
		dht_xop_add(x, DHT_XOP_LINKTO, x->h[1], 1, -1, 0, x->c[0]);
}

/* The name a step looks at first: where LINK and RENAME put theirs, where
 * UNLINK removes one, where SWAP finds object g before the swap. */
static const struct xl_loc *dht_xop_looks_at(const struct dht_xchg *x,
					     const struct dht_xop *op)
{
	bool to = op->kind == DHT_XOP_LINK || op->kind == DHT_XOP_RENAME;

	return &x->loc[to ? op->b : op->a];
}

static int dht_fill_xop_lookup(struct xl_call *call, struct xl_call *child,
			       int subvol, int k, void *cookie)
{
	struct dht_xchg *x = dht_local(call)->xchg;
	int ret;

	(void)cookie;
	(void)subvol;
	(void)k;
	ret = xl_loc_copy(&child->args.loc,
			  dht_xop_looks_at(x, &x->ops[x->next]));
	dht_xattr_req_add(child);
	return ret;
}

static int dht_fill_xop_act(struct xl_call *call, struct xl_call *child,
			    int subvol, int k, void *cookie)
{
	struct dht_xchg *x = dht_local(call)->xchg;
	const struct dht_xop *op = &x->ops[x->next];
	int ret;

	(void)cookie;
	(void)subvol;
	(void)k;
	switch (child->fop) {
	case XL_FOP_LINK: /* gfid[g] gets the name loc[b] */
		ret = xl_loc_copy(&child->args.loc2, &x->loc[op->b]);
		memcpy(child->args.loc.gfid, x->gfid[op->g], XL_GFID_LEN);
		return ret;
	case XL_FOP_UNLINK:
		ret = xl_loc_copy(&child->args.loc, dht_xop_looks_at(x, op));
		break;
	default: /* RENAME: loc[a] to loc[b], or the two swapped */
		ret = xl_loc_copy(&child->args.loc, &x->loc[op->a]);
		if (ret == 0)
			ret = xl_loc_copy(&child->args.loc2, &x->loc[op->b]);
		child->args.flags =
		    op->kind == DHT_XOP_SWAP ? RENAME_EXCHANGE : 0;
		break;
	}
	return ret;
}

static void dht_xop_done(struct xl_call *call, int ret)
{
	struct dht_local *local = dht_local(call);
	struct dht_xchg *x = local->xchg;
	const struct dht_xop *op = &x->ops[x->next];

	if (ret < 0) {
		xl_warn(call->xl->name,
			"rename %s <-> %s: step %d of %d on %s: errno=%d",
			x->loc[0].name, x->loc[1].name, x->next + 1, x->nops,
			dht_priv(call->xl)->subvols[op->subvol]->name, -ret);
		x->ret = ret;
		local->xnext_fn(call);
		return;
	}
	x->next++;
	dht_xop_run(call);
}

static void dht_xop_act_cbk(struct xl_call *call, struct xl_call *child,
			    void *cookie)
{
	struct dht_xchg *x = dht_local(call)->xchg;
	const struct dht_xop *op = &x->ops[x->next];
	int ret = child->reply.ret < 0 ? child->reply.ret : 0;

	(void)cookie;
	if (ret == 0 && op->kind == DHT_XOP_LINK &&
	    child->fop == XL_FOP_UNLINK) {
		/* a linkto was in the way: now the link */
		dht_send(call, XL_FOP_LINK, op->subvol, dht_fill_xop_act,
			 dht_xop_act_cbk, NULL);
		return;
	}
	if (ret == -ENOENT && child->fop == XL_FOP_UNLINK)
		ret = 0; /* gone meanwhile */
	dht_xop_done(call, ret);
}

/* What the step's lookup found decides what it still has to do. */
static void dht_xop_looked(struct xl_call *call, struct xl_call *child,
			   void *cookie)
{
	struct dht_xchg *x = dht_local(call)->xchg;
	const struct dht_xop *op = &x->ops[x->next];
	struct xl_reply *r = &child->reply;
	bool here = r->ret == 0, same, linkto;
	enum xl_fop act = 0;

	(void)cookie;
	if (r->ret < 0 && r->ret != -ENOENT && r->ret != -ESTALE) {
		dht_xop_done(call, r->ret);
		return;
	}
	same = here && memcmp(r->attr.gfid, x->gfid[op->g], XL_GFID_LEN) == 0;
	linkto = here && dht_is_linkto(&r->attr, r->xdata);
	switch (op->kind) {
	case DHT_XOP_LINK:   /* loc[b] must be a name of gfid[g] */
	case DHT_XOP_RENAME: /* gfid[g] must have moved from loc[a] to loc[b] */
		if (same)
			break; /* done */
		if (here && !linkto) {
			/* never replace what is not ours to replace */
			dht_xop_done(call, -EEXIST);
			return;
		}
		act = op->kind == DHT_XOP_RENAME ? XL_FOP_RENAME
		      : here			 ? XL_FOP_UNLINK
						 : XL_FOP_LINK;
		break;
	case DHT_XOP_UNLINK: /* loc[a] must not name gfid[g] */
		if (same && !S_ISDIR(r->attr.mode))
			act = XL_FOP_UNLINK;
		break;
	case DHT_XOP_SWAP: /* gfid[g] still at loc[a]: not swapped yet */
		if (same)
			act = XL_FOP_RENAME;
		break;
	default:
		break;
	}
	if (!act) {
		dht_xop_done(call, 0);
		return;
	}
	dht_send(call, act, op->subvol, dht_fill_xop_act, dht_xop_act_cbk,
		 NULL);
}

static void dht_xop_linkto_done(struct xl_call *call)
{
	dht_xop_done(call, dht_local(call)->ret);
}

static void dht_xop_run(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_xchg *x = local->xchg;
	const struct dht_xop *op;

	if (x->next >= x->nops) {
		x->ret = 0;
		local->xnext_fn(call);
		return;
	}
	op = &x->ops[x->next];
	if (local->xdebug_hang >= 0 && x->next >= local->xdebug_hang) {
		/* debug: stop here for good, as a client that hangs or dies
		 * between two steps (tests kill it) */
		xl_warn(call->xl->name,
			"rename %s <-> %s: stopped before step %d of %d "
			"(exchange-debug-stop)",
			x->loc[0].name, x->loc[1].name, x->next + 1, x->nops);
		return;
	}
	if (op->kind == DHT_XOP_LINKTO) {
		dht_linkto_make(call, op->subvol, &x->loc[op->a],
				x->gfid[op->g], op->target,
				dht_xop_linkto_done);
		return;
	}
	dht_send(call, XL_FOP_LOOKUP, op->subvol, dht_fill_xop_lookup,
		 dht_xop_looked, NULL);
}

/* ---- the lock ------------------------------------------------------- */

static int dht_fill_xlock(struct xl_call *call, struct xl_call *child,
			  int subvol, int k, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	(void)subvol;
	(void)k;
	return dht_inodelk_args(child, xl_gfid_root, DHT_LOCK_EXCHANGE,
				local->xlock_want, local->xowner, 0, 0);
}

/* Take (lock) or give back the exchange lock with owner local->xowner;
 * cbk as dht_send's. */
static void dht_xlock(struct xl_call *call, bool lock, xl_cbk_fn cbk)
{
	dht_local(call)->xlock_want = lock;
	dht_send(call, XL_FOP_INODELK, 0, dht_fill_xlock, cbk, NULL);
}

/* ---- the renaming call ---------------------------------------------- */

static void dht_exchange_unlocked(struct xl_call *call, struct xl_call *child,
				  void *cookie)
{
	struct dht_local *local = dht_local(call);
	struct dht_xchg *x = local->xchg;

	(void)child;
	(void)cookie;
	if (x->ret < 0) {
		xl_unwind_error(call, x->ret);
		return;
	}
	if (x->saved.ret == 0 && !xl_gfid_is_null(x->saved.attr.gfid)) {
		xl_reply_move(&call->reply, &x->saved);
	} else {
		call->reply.ret = 0;
		call->reply.attr = local->w.attr;
	}
	xl_unwind(call);
}

/* The end of the renaming call: x->ret says how it went. */
static void dht_exchange_finish(struct xl_call *call)
{
	dht_xlock(call, false, dht_exchange_unlocked);
}

static void dht_exchange_fail(struct xl_call *call, int err)
{
	dht_local(call)->xchg->ret = err;
	dht_exchange_finish(call);
}

static void dht_exchange_cleared(struct xl_call *call,
				 struct xl_call **children, const int *subvols,
				 int n, void *cookie)
{
	(void)cookie;
	(void)subvols;
	for (int k = 0; k < n; k++)
		if (children[k]->reply.ret < 0 &&
		    children[k]->reply.ret != -ENODATA)
			xl_warn(call->xl->name,
				"rename exchange: an intent stays: errno=%d "
				"(the next lookup clears it)",
				-children[k]->reply.ret);
	dht_exchange_finish(call);
}

/* After the steps: clear the intents when they all went well. */
static void dht_exchange_stepped(struct xl_call *call)
{
	struct dht_xchg *x = dht_local(call)->xchg;

	if (x->ret < 0) {
		dht_exchange_finish(call); /* the intents stay: resumed */
		return;
	}
	dht_xchg_intents(call, XL_FOP_REMOVEXATTR, dht_exchange_cleared);
}

static void dht_exchange_intents_set(struct xl_call *call,
				     struct xl_call **children,
				     const int *subvols, int n, void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	(void)subvols;
	for (int k = 0; k < n; k++) {
		if (children[k]->reply.ret < 0) {
			/* nothing changed yet: take them off again */
			local->xchg->ret = children[k]->reply.ret;
			dht_xchg_intents(call, XL_FOP_REMOVEXATTR,
					 dht_exchange_cleared);
			return;
		}
	}
	local->xnext_fn = dht_exchange_stepped;
	dht_xop_run(call);
}

static void dht_exchange_same_cbk(struct xl_call *call, struct xl_call *child,
				  void *cookie)
{
	struct dht_xchg *x = dht_local(call)->xchg;

	(void)cookie;
	x->ret = child->reply.ret < 0 ? child->reply.ret : 0;
	xl_reply_move(&x->saved, &child->reply);
	dht_exchange_finish(call);
}

static void dht_exchange_resolved2(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_xchg *x = local->xchg;
	struct dht_where *w = &local->w, *w2 = &local->w2;
	int subvols[DHT_MAX_SUBVOLS];

	if (!w2->found) {
		dht_exchange_fail(call, w2->ret ? w2->ret : -ENOENT);
		return;
	}
	if (dht_up_subvols(call->xl, subvols) < dht_priv(call->xl)->n) {
		dht_exchange_fail(call, -ENOTCONN);
		return;
	}
	if (memcmp(w->attr.gfid, w2->attr.gfid, XL_GFID_LEN) == 0) {
		dht_exchange_finish(call); /* two names of one file */
		return;
	}
	if (!w->is_dir && !w2->is_dir && w->cached == w2->cached) {
		/* one brick holds both: its rename is atomic */
		dht_send(call, XL_FOP_RENAME, w->cached, xl_fill_copy,
			 dht_exchange_same_cbk, NULL);
		return;
	}
	if (xl_loc_copy(&x->loc[0], &call->args.loc) < 0 ||
	    xl_loc_copy(&x->loc[1], &call->args.loc2) < 0) {
		dht_exchange_fail(call, -ENOMEM);
		return;
	}
	/* names only: the steps look up what each name holds */
	memset(x->loc[0].gfid, 0, XL_GFID_LEN);
	memset(x->loc[1].gfid, 0, XL_GFID_LEN);
	memcpy(x->gfid[0], w->attr.gfid, XL_GFID_LEN);
	memcpy(x->gfid[1], w2->attr.gfid, XL_GFID_LEN);
	x->dir[0] = w->is_dir;
	x->dir[1] = w2->is_dir;
	x->c[0] = w->is_dir ? -1 : w->cached;
	x->c[1] = w2->is_dir ? -1 : w2->cached;
	x->h[0] = dht_hashed_subvol(call->xl, &call->args.loc);
	x->h[1] = dht_hashed_subvol(call->xl, &call->args.loc2);
	if (dht_xchg_encode(x) < 0) {
		dht_exchange_fail(call, -ENOMEM);
		return;
	}
	dht_xchg_plan(call);
	dht_xchg_intents(call, XL_FOP_SETXATTR, dht_exchange_intents_set);
}

static void dht_exchange_resolved1(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (!local->w.found) {
		dht_exchange_fail(call, local->w.ret ? local->w.ret : -ENOENT);
		return;
	}
	dht_resolve(call, &call->args.loc2, &local->w2, dht_exchange_resolved2);
}

static void dht_exchange_locked(struct xl_call *call, struct xl_call *child,
				void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	if (child->reply.ret < 0) {
		xl_unwind_error(call, child->reply.ret);
		return;
	}
	/* With the lock held, an intent a lookup of ours finds is one that
	 * nobody is working on: it is resumed at once (dht_exchange_wait). */
	local->xlocked = true;
	dht_resolve(call, &call->args.loc, &local->w, dht_exchange_resolved1);
}

void dht_exchange(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	if (!local || !dht_xchg(call)) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	local->xowner = dht_lock_owner(call->xl);
	local->xdebug_hang = dht_priv(call->xl)->exchange_debug_stop;
	dht_xlock(call, true, dht_exchange_locked);
}

/* ---- resuming an exchange from its intent --------------------------- */

static void dht_resume_cleared(struct xl_call *call, struct xl_call **children,
			       const int *subvols, int n, void *cookie)
{
	(void)cookie;
	(void)children;
	(void)subvols;
	(void)n;
	call->reply.ret = 0;
	xl_unwind(call);
}

static void dht_resume_stepped(struct xl_call *call)
{
	struct dht_xchg *x = dht_local(call)->xchg;

	if (x->ret < 0) {
		xl_unwind_error(call, x->ret);
		return;
	}
	dht_xchg_intents(call, XL_FOP_REMOVEXATTR, dht_resume_cleared);
}

static void dht_resume_layout1(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct dht_xchg *x = local->xchg;

	x->h[1] = dht_hashed_subvol(call->xl, &x->loc[1]);
	if (local->ret < 0 || x->h[0] < 0 || x->h[1] < 0) {
		xl_unwind_error(call, local->ret < 0 ? local->ret : -EIO);
		return;
	}
	xl_info(call->xl->name,
		"rename %s <-> %s: finishing an exchange "
		"left part way",
		x->loc[0].name, x->loc[1].name);
	dht_xchg_plan(call);
	local->xnext_fn = dht_resume_stepped;
	dht_xop_run(call);
}

static void dht_resume_layout0(struct xl_call *call)
{
	struct dht_xchg *x = dht_local(call)->xchg;

	/* now: the next layout_get may drop the inode this one holds */
	x->h[0] = dht_hashed_subvol(call->xl, &x->loc[0]);
	dht_layout_get(call, x->loc[1].pargfid, NULL, dht_resume_layout1);
}

static int dht_fill_resume_lookup(struct xl_call *call, struct xl_call *child,
				  int subvol, int k, void *cookie)
{
	struct dht_xchg *x = dht_local(call)->xchg;

	(void)cookie;
	(void)subvol;
	memcpy(child->args.loc.gfid, x->gfid[k / dht_priv(call->xl)->n],
	       XL_GFID_LEN);
	dht_xattr_req_add(child);
	return 0;
}

/* Both objects looked up by gfid on every child (object k / n, child
 * k % n): where each is, whether an intent is still on it. */
static void dht_resume_found(struct xl_call *call, struct xl_call **children,
			     const int *subvols, int nn, void *cookie)
{
	struct dht_xchg *x = dht_local(call)->xchg;
	int n = dht_priv(call->xl)->n;
	bool seen[2] = {false, false};

	(void)cookie;
	for (int k = 0; k < nn; k++) {
		struct xl_reply *r = &children[k]->reply;
		int i = k / n;

		if (r->ret < 0) {
			if (r->ret != -ENOENT && r->ret != -ESTALE) {
				xl_unwind_error(call, r->ret);
				return;
			}
			continue;
		}
		if (r->xdata && xl_dict_get(r->xdata, DHT_XATTR_EXCHANGE))
			x->intent[i] = true;
		if (S_ISDIR(r->attr.mode) != x->dir[i])
			continue;
		if (x->dir[i]) {
			seen[i] = true;
		} else if (!dht_is_linkto(&r->attr, r->xdata) &&
			   !dht_is_migrated_copy(&r->attr)) {
			seen[i] = true;
			x->c[i] = subvols[k];
		}
	}
	if (!x->intent[0] && !x->intent[1]) {
		call->reply.ret = 0; /* finished by someone else */
		xl_unwind(call);
		return;
	}
	if (!seen[0] || !seen[1]) {
		xl_warn(call->xl->name,
			"rename %s <-> %s: an exchange left part way cannot "
			"be finished: an object is gone",
			x->loc[0].name, x->loc[1].name);
		xl_unwind_error(call, -ESTALE);
		return;
	}
	dht_layout_get(call, x->loc[0].pargfid, NULL, dht_resume_layout0);
}

/* A rename to distribute itself with args.data = an intent (no names):
 * run the exchange's steps again, then clear the intents.  The caller
 * holds the lock. */
static void dht_exchange_resume(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	int subvols[2 * DHT_MAX_SUBVOLS], n = dht_priv(call->xl)->n;
	struct dht_xchg *x;

	if (!local || !(x = dht_xchg(call))) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	local->xdebug_hang = -1;
	if (dht_xchg_decode(x, call->args.data->data, call->args.data->size) <
	    0) {
		xl_unwind_error(call, -EINVAL);
		return;
	}
	if (dht_up_subvols(call->xl, subvols) < n) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	for (int k = 0; k < 2 * n; k++)
		subvols[k] = k % n;
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
				      .index = subvols,
				      .n = 2 * n,
				      .fill = dht_fill_resume_lookup,
				      .done = dht_resume_found});
}

bool dht_rename_is_resume(const struct xl_call *call)
{
	return call->args.data && !call->args.loc.name &&
	       (call->args.flags & RENAME_EXCHANGE);
}

void dht_rename_resume(struct xl_call *call)
{
	dht_exchange_resume(call);
}

/* ---- a lookup that found an intent ---------------------------------- */

static void dht_wait_again(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	dht_resolve(call, local->rloc, local->rw, local->rnext);
}

static void dht_wait_unlocked(struct xl_call *call, struct xl_call *child,
			      void *cookie)
{
	(void)child;
	(void)cookie;
	dht_wait_again(call);
}

static void dht_wait_resumed(struct xl_call *call, struct xl_call *child,
			     void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	if (child->reply.ret < 0)
		xl_warn(call->xl->name,
			"lookup %s: an exchange left part way not finished: "
			"errno=%d",
			local->rloc->name, -child->reply.ret);
	if (local->xlocked) {
		dht_wait_again(call);
		return;
	}
	dht_xlock(call, false, dht_wait_unlocked);
}

static void dht_wait_resume(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);
	struct xl_call *c = xl_call_child_fop(call, XL_FOP_RENAME);

	if (!c) {
		struct xl_call stub = {.fop = XL_FOP_RENAME};

		stub.reply.ret = -ENOMEM;
		dht_wait_resumed(call, &stub, NULL);
		return;
	}
	memset(&c->cred, 0, sizeof(c->cred)); /* distribute's own work */
	c->args.flags = RENAME_EXCHANGE;
	c->args.data = local->xintent;
	local->xintent = NULL;
	xl_call_send(c, call->xl, dht_wait_resumed, NULL);
}

static void dht_wait_locked(struct xl_call *call, struct xl_call *child,
			    void *cookie)
{
	struct dht_local *local = dht_local(call);

	(void)cookie;
	if (child->reply.ret < 0) {
		/* no lock to be had (the first child is down): answer with
		 * what was found */
		local->xtries = DHT_XCHG_TRIES;
		local->rnext(call);
		return;
	}
	dht_wait_resume(call);
}

void dht_exchange_wait(struct xl_call *call)
{
	struct dht_local *local = dht_local(call);

	local->xtries++;
	if (local->xlocked) {
		dht_wait_resume(call);
		return;
	}
	local->xowner = dht_lock_owner(call->xl);
	dht_xlock(call, true, dht_wait_locked);
}
