/*
 * replicate-read.c - cluster/replicate: lookup and the read path.
 *
 * lookup asks every up child at once for the object and its pending
 * counters (mortar.xattr-req) and decides: consistent, needs heal (heal
 * starts in the background), or split-brain (remembered on the gfid's
 * state, so open and read answer EIO).  The copies that are blamed, or
 * missing, are remembered as "bad": reads never go there.
 *
 * Reads go to one good copy: hash of the gfid and this client among the
 * up children that are not bad, so many clients spread over the copies
 * and one client reads a file from one copy (its page cache stays
 * coherent).  A read that fails because its child went away (ENOTCONN,
 * or EBADFD for an fd the child never opened) is tried on the next good
 * copy.
 */
#include "config.h"

#include "replicate.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int afr_read_child(struct afr_priv *priv, struct afr_inode *ai,
		   uint32_t exclude)
{
	uint32_t bad = 0, unjudged = 0;
	int c;

	if (ai) {
		pthread_mutex_lock(&ai->lock);
		bad = ai->bad;
		unjudged = ai->unjudged;
		pthread_mutex_unlock(&ai->lock);
	}
	c = afr_read_child_of(priv, ai ? ai->gfid : NULL, bad | unjudged,
			      exclude);
	if (c < 0 && unjudged)
		c = afr_read_child_of(priv, ai ? ai->gfid : NULL, bad, exclude);
	return c;
}

/* ---- lookup ------------------------------------------------------------ */

struct afr_lookup_ctx {
	int idx[AFR_MAX_CHILDREN];
	struct xl_dict *req;
	uint32_t keep; /* pending keys the parent asked for itself */
};

/* Is name in the NUL-separated list (len bytes)? */
static bool afr_list_has(const char *list, uint32_t len, const char *name)
{
	for (uint32_t off = 0; off < len;) {
		size_t nl = strnlen(list + off, len - off);

		if (off + nl < len && strcmp(list + off, name) == 0)
			return true;
		off += (uint32_t)nl + 1;
	}
	return false;
}

/*
 * The lookup's mortar.xattr-req: the parent's names (distribute asks for
 * its layout and linkto xattrs) followed by our pending keys.  A
 * translator passes through what it does not own: replacing the list
 * would hide a linkto file's xattr from distribute.  lc->keep gets the
 * pending keys the parent asked for, which the reply keeps.
 */
static int afr_lookup_req(struct afr_priv *priv, struct afr_lookup_ctx *lc)
{
	const struct xl_dict_pair *p = xl_dict_get(lc->req, XL_KEY_XATTR_REQ);
	uint32_t plen = p ? p->len : 0;
	char *list;
	int ret;

	/* A list not ending in NUL has an unterminated last name: drop it,
	 * as storage/posix would. */
	while (plen && ((const char *)p->value)[plen - 1] != '\0')
		plen--;
	for (int j = 0; j < priv->n; j++)
		if (plen && afr_list_has(p->value, plen, priv->pending_key[j]))
			lc->keep |= 1u << j;
	list = malloc((size_t)plen + priv->xattr_req_len);
	if (!list)
		return -ENOMEM;
	if (plen)
		memcpy(list, p->value, plen);
	memcpy(list + plen, priv->xattr_req, priv->xattr_req_len);
	ret = xl_dict_set(lc->req, XL_KEY_XATTR_REQ, list,
			  plen + priv->xattr_req_len);
	free(list);
	return ret;
}

/* A copy of the lookup's args with the xattrs replicate asks for. */
static int afr_lookup_fill(struct xl_call *call, struct xl_call *child,
			   int index, int slot, void *cookie)
{
	struct afr_lookup_ctx *lc = cookie;
	int ret = xl_fill_copy(call, child, index, slot, cookie);

	if (ret < 0)
		return ret;
	if (child->args.xdata)
		xl_dict_unref(child->args.xdata);
	child->args.xdata = xl_dict_ref(lc->req);
	return 0;
}

static uint32_t afr_types_of(uint32_t mode)
{
	if (S_ISREG(mode))
		return (1u << AFR_DATA) | (1u << AFR_META);
	if (S_ISDIR(mode))
		return (1u << AFR_ENTRY) | (1u << AFR_META);
	return 1u << AFR_META;
}

static void afr_lookup_done(struct xl_call *call, struct xl_call **children,
			    const int *index, int n, void *cookie)
{
	struct afr_lookup_ctx *lc = cookie;
	struct afr_priv *priv = call->xl->private;
	int64_t(*m)[AFR_MAX_CHILDREN][AFR_TYPES];
	struct afr_verdict v;
	uint32_t valid = 0, missing = 0, types, bad, heal = 0;
	int first = -1, err = 0, rc;
	struct afr_inode *ai;
	char gs[XL_GFID_STR_LEN];

	m = calloc(AFR_MAX_CHILDREN, sizeof(*m));
	if (!m) {
		xl_unwind_error(call, -ENOMEM);
		goto out;
	}
	for (int k = 0; k < n; k++) {
		struct xl_reply *r = &children[k]->reply;
		int i = lc->idx[k];

		if (r->ret < 0) {
			if (r->ret == -ENOENT)
				missing |= 1u << i;
			if (!err || r->ret == -ENOENT)
				err = r->ret;
			continue;
		}
		if (first < 0)
			first = k;
		else if (memcmp(r->attr.gfid, children[first]->reply.attr.gfid,
				XL_GFID_LEN) != 0 ||
			 (r->attr.mode & S_IFMT) !=
			     (children[first]->reply.attr.mode & S_IFMT)) {
			xl_err(priv->xl->name,
			       "gfid or type differs between copies: "
			       "name=%s gfid=%s on %s: EIO",
			       call->args.loc.name ? call->args.loc.name : "",
			       xl_gfid_to_str(r->attr.gfid, gs),
			       priv->children[i]->name);
			xl_unwind_error(call, -EIO);
			goto out;
		}
		valid |= 1u << i;
		afr_pending_row(priv, r->xdata, m[i]);
		if (r->xdata)
			for (int j = 0; j < priv->n; j++)
				if (!(lc->keep & (1u << j)))
					xl_dict_del(r->xdata,
						    priv->pending_key[j]);
	}
	if (first < 0) {
		xl_unwind_error(call, err ? err : -ENOTCONN);
		goto out;
	}
	afr_judge(priv, valid, m, &v);
	types = afr_types_of(children[first]->reply.attr.mode);
	bad = ~valid;
	for (int t = 0; t < AFR_TYPES; t++)
		if (types & (1u << t)) {
			if (!(v.sb & (1u << t)))
				bad |= valid & ~v.sources[t];
			if (v.dirty[t])
				heal |= 1u << t;
		}
	bad &= (1u << priv->n) - 1;
	ai = afr_inode_get(priv, children[first]->reply.attr.gfid);
	if (ai) {
		pthread_mutex_lock(&ai->lock);
		/* This client's own eager transaction raised those counters:
		 * nothing to heal for them. */
		if (ai->estate != AFR_E_NONE)
			heal &= ~(1u << ai->etype);
		ai->type = children[first]->reply.attr.mode & S_IFMT;
		if (ai->estate != AFR_E_NONE)
			ai->bad |=
			    bad; /* our own writes run: keep what we saw */
		else
			ai->bad = bad;
		ai->unjudged &= ~valid;
		ai->sb = v.sb & types;
		pthread_mutex_unlock(&ai->lock);
	}
	if (v.sb & types)
		xl_warn(priv->xl->name,
			"split-brain: gfid=%s name=%s types=0x%x",
			xl_gfid_to_str(children[first]->reply.attr.gfid, gs),
			call->args.loc.name ? call->args.loc.name : "",
			v.sb & types);
	/* Reply from a good copy. */
	rc = ai ? afr_read_child(priv, ai, ~valid) : -1;
	{
		int pick = first;

		for (int k = 0; k < n; k++)
			if (lc->idx[k] == rc)
				pick = k;
		xl_reply_move(&call->reply, &children[pick]->reply);
		/* A file whose good data copies are all away: the arbiter's
		 * attributes (size 0) or a stale copy's would be wrong. */
		if (rc < 0 && priv->arbiters &&
		    S_ISREG(call->reply.attr.mode)) {
			xl_reply_clear(&call->reply);
			call->reply.ret = -ENOTCONN;
		}
	}
	/* Not settled (a copy to heal, blamed or in split-brain): no cache
	 * above may answer for it; the next call comes here again. */
	if ((v.sb & types) || (heal & types) || missing || (bad & valid))
		xl_reply_no_cache(&call->reply);
	if (((heal & types) || missing) && priv->heal_on_lookup) {
		if (heal & types)
			afr_heal_background(priv, call->reply.attr.gfid);
		if (missing && !xl_gfid_is_null(call->args.loc.pargfid))
			afr_heal_background(priv, call->args.loc.pargfid);
	}
	if (ai)
		afr_inode_put(priv, ai);
	xl_unwind(call);
out:
	free(m);
	xl_dict_unref(lc->req);
	free(lc);
}

void afr_lookup(struct xl *xl, struct xl_call *call)
{
	struct afr_priv *priv = xl->private;
	struct afr_lookup_ctx *lc;
	uint32_t up = afr_up_mask(priv);
	int n = 0;

	if (!up) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	lc = calloc(1, sizeof(*lc));
	if (lc)
		lc->req = call->args.xdata ? xl_dict_copy(call->args.xdata)
					   : xl_dict_new();
	if (!lc || !lc->req || afr_lookup_req(priv, lc) != 0) {
		if (lc && lc->req)
			xl_dict_unref(lc->req);
		free(lc);
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	for (int i = 0; i < priv->n; i++)
		if (up & (1u << i))
			lc->idx[n++] = i;
	xl_fan(call, &(struct xl_fan){.fop = XL_FOP_LOOKUP,
				      .mask = up,
				      .fill = afr_lookup_fill,
				      .done = afr_lookup_done,
				      .cookie = lc});
}

/* ---- inspect: the changelog of one gfid, before an open ----------------- */

struct afr_inspect {
	struct xl_call *call;
	void (*then)(struct xl_call *call);
	uint32_t sent;
	atomic_int left;
	pthread_mutex_t lock; /* guards valid, m, mode */
	uint32_t valid;
	uint32_t mode;
	int64_t m[AFR_MAX_CHILDREN][AFR_MAX_CHILDREN][AFR_TYPES];
};

static void afr_inspect_cbk(struct xl_call *none, struct xl_call *ic, void *ctx)
{
	int child = ic ? afr_ic_child(ic) : -1;
	struct xl_reply *r = ic ? &ic->reply : NULL;
	struct afr_inspect *in = ctx;
	struct afr_local *l;
	struct afr_verdict v;
	uint32_t bad;

	(void)none;
	if (child >= 0 && r && r->ret >= 0) {
		pthread_mutex_lock(&in->lock);
		in->valid |= 1u << child;
		in->mode = r->attr.mode;
		afr_pending_row(afr_local(in->call)->priv, r->xdata,
				in->m[child]);
		pthread_mutex_unlock(&in->lock);
	}
	if (atomic_fetch_sub(&in->left, 1) != 1)
		return;
	l = afr_local(in->call);
	if (in->valid && l->ai) {
		afr_judge(l->priv, in->valid, in->m, &v);
		bad = (~in->valid | (in->valid & ~v.sources[AFR_DATA])) &
		      ((1u << l->priv->n) - 1);
		pthread_mutex_lock(&l->ai->lock);
		if (!(v.sb & (1u << AFR_DATA)) && l->ai->estate == AFR_E_NONE)
			l->ai->bad = bad;
		l->ai->unjudged &= ~in->valid;
		/* Data only: the metadata verdict of the lookup stands. */
		l->ai->sb =
		    (l->ai->sb & ~(1u << AFR_DATA)) | (v.sb & (1u << AFR_DATA));
		pthread_mutex_unlock(&l->ai->lock);
		if (v.dirty[AFR_DATA] && l->priv->heal_on_lookup &&
		    !(v.sb & (1u << AFR_DATA)))
			afr_heal_background(l->priv, l->ai->gfid);
	}
	pthread_mutex_destroy(&in->lock);
	in->then(in->call);
	free(in);
}

/* Read the pending counters of call's gfid from every up child (another
 * client may have written while a copy was away), update the gfid's
 * state, then run then(call).  Never fails: without answers the state
 * stays as it was. */
void afr_inspect(struct xl_call *call, void (*then)(struct xl_call *call))
{
	struct afr_local *l = afr_local(call);
	struct afr_priv *priv = l->priv;
	struct afr_inspect *in = calloc(1, sizeof(*in));
	uint32_t up = afr_up_mask(priv);
	struct xl_args a;

	if (!in) {
		then(call);
		return;
	}
	in->call = call;
	in->then = then;
	pthread_mutex_init(&in->lock, NULL);
	atomic_store(&in->left, afr_popcount(up) + 1);
	for (int i = 0; i < priv->n; i++) {
		if (!(up & (1u << i)))
			continue;
		memset(&a, 0, sizeof(a));
		afr_loc_gfid(&a.loc, afr_call_gfid(call));
		a.xdata = xl_dict_new();
		if (a.xdata)
			xl_dict_set(a.xdata, XL_KEY_XATTR_REQ, priv->xattr_req,
				    priv->xattr_req_len);
		xl_call_internal(priv->xl, xl_call_origin(in->call),
				 priv->children[i], XL_FOP_LOOKUP, NULL, &a,
				 afr_inspect_cbk, in);
	}
	afr_inspect_cbk(NULL, NULL, in);
}

/* ---- reads ------------------------------------------------------------- */

static void afr_read_wind(struct xl_call *call);

bool afr_unsettled(struct afr_priv *priv, struct afr_inode *ai)
{
	uint32_t up = afr_up_mask(priv);
	bool unsettled = false;

	if (ai) {
		pthread_mutex_lock(&ai->lock);
		unsettled = ai->sb || (ai->bad & up);
		pthread_mutex_unlock(&ai->lock);
	}
	return unsettled;
}

/* A copy that could not answer a read: down, its fd lost, or its disk
 * failing (EIO).  Another copy may. */
static bool afr_read_retryable(int ret)
{
	return ret == -ENOTCONN || ret == -EBADFD || ret == -EIO;
}

static void afr_read_cbk(struct xl_call *call, struct xl_call *child,
			 void *cookie)
{
	struct afr_local *l = afr_local(call);
	char s[XL_GFID_STR_LEN];

	(void)cookie;
	if (afr_read_retryable(child->reply.ret) &&
	    afr_read_child(l->priv, l->ai, l->tried) >= 0) {
		if (child->reply.ret == -EIO)
			xl_warn(call->xl->name,
				"%s of gfid=%s on %s failed with EIO; "
				"asking another copy",
				xl_fop_name(call->fop),
				xl_gfid_to_str(afr_call_gfid(call), s),
				l->priv->children[l->child]->name);
		afr_read_wind(call);
		return;
	}
	xl_reply_move(&call->reply, &child->reply);
	if (call->reply.ret >= 0 && afr_unsettled(l->priv, l->ai))
		xl_reply_no_cache(&call->reply);
	xl_unwind(call);
}

static void afr_read_wind(struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	int c = afr_read_child(l->priv, l->ai, l->tried);

	if (c < 0) {
		xl_unwind_error(call, l->tried ? -ENOTCONN : -EIO);
		return;
	}
	l->child = c;
	l->tried |= 1u << c;
	xl_wind(call, l->priv->children[c], afr_read_cbk, NULL);
}

/* A split-brain is never resolved silently: a read of what the copies
 * disagree on fails (EIO, logged): the data (read), or the metadata
 * (stat, getxattr, listxattr: mode, owner, times, xattrs). */
static bool afr_read_refused(struct xl_call *call, uint32_t sb)
{
	char s[XL_GFID_STR_LEN];
	const char *what = NULL;

	if (call->fop == XL_FOP_READ && (sb & (1u << AFR_DATA)))
		what = "data";
	else if ((call->fop == XL_FOP_STAT || call->fop == XL_FOP_GETXATTR ||
		  call->fop == XL_FOP_LISTXATTR) &&
		 (sb & (1u << AFR_META)))
		what = "metadata";
	if (!what)
		return false;
	xl_err(call->xl->name, "%s refused: %s split-brain gfid=%s",
	       xl_fop_name(call->fop), what,
	       xl_gfid_to_str(afr_call_gfid(call), s));
	return true;
}

void afr_read_fop(struct xl *xl, struct xl_call *call)
{
	struct afr_local *l = afr_local(call);
	uint32_t sb = 0;

	if (!l) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	l->ai = afr_inode_get(l->priv, afr_call_gfid(call));
	if (l->ai) {
		pthread_mutex_lock(&l->ai->lock);
		sb = l->ai->sb;
		pthread_mutex_unlock(&l->ai->lock);
	}
	if (afr_read_refused(call, sb)) {
		xl_unwind_error(call, -EIO);
		return;
	}
	afr_read_wind(call);
}

void afr_getxattr(struct xl *xl, struct xl_call *call)
{
	if (afr_heal_vxattr_get(call))
		return;
	afr_read_fop(xl, call);
}

/* First up child: statfs. */
static int afr_first_up(struct afr_priv *priv)
{
	uint32_t up = afr_up_mask(priv);

	for (int i = 0; i < priv->n; i++)
		if (up & (1u << i))
			return i;
	return -1;
}

void afr_statfs(struct xl *xl, struct xl_call *call)
{
	int c = afr_first_up(xl->private);

	if (c < 0) {
		xl_unwind_error(call, -ENOTCONN);
		return;
	}
	xl_wind(call, xl->children[c], xl_default_cbk, NULL);
}
