/*
 * md-cache-table.c - the cache behind performance/md-cache (see
 * md-cache-table.h for the rules: generations, lifetimes, bounds).
 */
#include "config.h"

#include "md-cache-table.h"
#include "xlator.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t mdc_hash(const struct mdc_table *t, const uint8_t *gfid)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < XL_GFID_LEN; i++)
		h = (h ^ gfid[i]) * 1099511628211ull;
	return (uint32_t)(h % t->nbuckets);
}

int mdc_table_init(struct mdc_table *t, uint32_t max_nodes, uint64_t timeout_ms)
{
	memset(t, 0, sizeof(*t));
	t->max = max_nodes ? max_nodes : 1;
	t->nbuckets = t->max < 1024 ? 1024 : t->max;
	t->timeout_ms = timeout_ms;
	t->seq = 1;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

static void mdc_drop_xattrs(struct mdc_node *n)
{
	for (int i = 0; i < MDC_XATTRS_MAX; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
		memset(&n->xattrs[i], 0, sizeof(n->xattrs[i]));
	}
}

static void mdc_drop_entries(struct mdc_node *n, const char *name)
{
	struct mdc_entry **pp = &n->entries;

	while (*pp) {
		struct mdc_entry *e = *pp;

		if (name && strcmp(e->name, name) != 0) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		free(e->name);
		free(e);
		n->entry_count--;
	}
}

static void mdc_node_free(struct mdc_node *n)
{
	mdc_drop_xattrs(n);
	mdc_drop_entries(n, NULL);
	free(n);
}

void mdc_table_fini(struct mdc_table *t)
{
	struct mdc_node *n = t->lru_head;

	while (n) {
		struct mdc_node *next = n->lru_next;

		mdc_node_free(n);
		n = next;
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

uint64_t mdc_table_seq(const struct mdc_table *t)
{
	return t->seq;
}

static void mdc_lru_unlink(struct mdc_table *t, struct mdc_node *n)
{
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else
		t->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else
		t->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void mdc_lru_push(struct mdc_table *t, struct mdc_node *n)
{
	n->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = n;
	t->lru_head = n;
	if (!t->lru_tail)
		t->lru_tail = n;
}

static struct mdc_node *mdc_find(struct mdc_table *t, const uint8_t *gfid)
{
	for (struct mdc_node *n = t->buckets[mdc_hash(t, gfid)]; n;
	     n = n->hnext)
		if (memcmp(n->gfid, gfid, XL_GFID_LEN) == 0)
			return n;
	return NULL;
}

static void mdc_remove(struct mdc_table *t, struct mdc_node *n)
{
	struct mdc_node **pp = &t->buckets[mdc_hash(t, n->gfid)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	mdc_lru_unlink(t, n);
	t->count--;
	mdc_node_free(n);
}

/* Find or make gfid's node, most recently used now. */
static struct mdc_node *mdc_get(struct mdc_table *t, const uint8_t *gfid)
{
	struct mdc_node *n = mdc_find(t, gfid);

	if (n) {
		mdc_lru_unlink(t, n);
		mdc_lru_push(t, n);
		return n;
	}
	if (t->count >= t->max && t->lru_tail) {
		mdc_remove(t, t->lru_tail);
		t->stats.evictions++;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	memcpy(n->gfid, gfid, XL_GFID_LEN);
	/* It may have been here and invalidated, then evicted: it accepts
	 * only fills sampled from now on. */
	n->inval_seq = t->seq;
	n->hnext = t->buckets[mdc_hash(t, gfid)];
	t->buckets[mdc_hash(t, gfid)] = n;
	mdc_lru_push(t, n);
	t->count++;
	return n;
}

void mdc_table_touch(struct mdc_table *t, const uint8_t *gfid)
{
	if (!xl_gfid_is_null(gfid))
		mdc_get(t, gfid);
}

/* The node for a fill sampled at since, or NULL (*ret says why). */
static struct mdc_node *mdc_fill_node(struct mdc_table *t, const uint8_t *gfid,
				      uint64_t since, int *ret)
{
	struct mdc_node *n;

	*ret = 0;
	if (xl_gfid_is_null(gfid)) {
		*ret = -EINVAL;
		return NULL;
	}
	n = mdc_get(t, gfid);
	if (!n) {
		*ret = -ENOMEM;
		return NULL;
	}
	if (since < n->inval_seq) {
		t->stats.refused_fills++;
		*ret = -ESTALE;
		return NULL;
	}
	return n;
}

int mdc_fill_attr(struct mdc_table *t, const struct xl_iatt *ia, uint64_t since,
		  uint64_t wound_ms)
{
	int ret;
	struct mdc_node *n = mdc_fill_node(t, ia->gfid, since, &ret);

	if (!n)
		return ret;
	n->attr = *ia;
	n->attr_valid = true;
	n->attr_expires_ms = wound_ms + t->timeout_ms;
	return 0;
}

int mdc_set_attr(struct mdc_table *t, const struct xl_iatt *ia, uint64_t now_ms)
{
	struct mdc_node *n = mdc_find(t, ia->gfid);

	if (!n)
		return -ENOENT;
	n->attr = *ia;
	n->attr_valid = true;
	n->attr_expires_ms = now_ms + t->timeout_ms;
	t->stats.parent_fills++;
	return 0;
}

uint64_t mdc_inval_seq(struct mdc_table *t, const uint8_t *gfid)
{
	struct mdc_node *n = mdc_find(t, gfid);

	return n ? n->inval_seq : 0;
}

int mdc_fill_entry(struct mdc_table *t, const uint8_t *pargfid,
		   const char *name, const uint8_t *gfid, uint64_t since,
		   uint64_t wound_ms)
{
	struct mdc_entry *e;
	struct mdc_node *n;
	int ret;

	n = mdc_fill_node(t, pargfid, since, &ret);
	if (!n)
		return ret;
	mdc_drop_entries(n, name);
	/* A full directory starts over: simple, and still bounded. */
	if (n->entry_count >= MDC_DIR_ENTRIES_MAX)
		mdc_drop_entries(n, NULL);
	e = calloc(1, sizeof(*e));
	if (!e || !(e->name = strdup(name))) {
		free(e);
		return -ENOMEM;
	}
	e->negative = gfid == NULL;
	if (gfid)
		memcpy(e->gfid, gfid, XL_GFID_LEN);
	e->expires_ms = wound_ms + t->timeout_ms;
	e->next = n->entries;
	n->entries = e;
	n->entry_count++;
	return 0;
}

int mdc_fill_xattr(struct mdc_table *t, const uint8_t *gfid, const char *name,
		   bool present, const void *value, uint32_t len,
		   uint64_t since, uint64_t wound_ms)
{
	struct mdc_xattr *x = NULL;
	struct mdc_node *n;
	int ret;

	n = mdc_fill_node(t, gfid, since, &ret);
	if (!n)
		return ret;
	for (int i = 0; i < MDC_XATTRS_MAX && !x; i++)
		if (n->xattrs[i].name && strcmp(n->xattrs[i].name, name) == 0)
			x = &n->xattrs[i];
	for (int i = 0; i < MDC_XATTRS_MAX && !x; i++)
		if (!n->xattrs[i].name)
			x = &n->xattrs[i];
	if (!x)
		x = &n->xattrs[0]; /* more names than slots: reuse one */
	free(x->name);
	free(x->value);
	memset(x, 0, sizeof(*x));
	x->name = strdup(name);
	if (present && len) {
		x->value = malloc(len);
		if (x->value)
			memcpy(x->value, value, len);
	}
	if (!x->name || (present && len && !x->value)) {
		free(x->name);
		free(x->value);
		memset(x, 0, sizeof(*x));
		return -ENOMEM;
	}
	x->present = present;
	x->len = present ? len : 0;
	x->expires_ms = wound_ms + t->timeout_ms;
	return 0;
}

bool mdc_get_attr(struct mdc_table *t, const uint8_t *gfid, uint64_t now_ms,
		  struct xl_iatt *out)
{
	struct mdc_node *n = mdc_find(t, gfid);

	if (n && n->attr_valid && now_ms < n->attr_expires_ms) {
		*out = n->attr;
		t->stats.hits++;
		return true;
	}
	t->stats.misses++;
	return false;
}

enum mdc_lookup mdc_get_entry(struct mdc_table *t, const uint8_t *pargfid,
			      const char *name, uint64_t now_ms,
			      struct xl_iatt *out)
{
	struct mdc_node *n = mdc_find(t, pargfid), *c;

	for (struct mdc_entry *e = n ? n->entries : NULL; e; e = e->next) {
		if (strcmp(e->name, name) != 0)
			continue;
		if (now_ms >= e->expires_ms)
			break;
		if (e->negative) {
			t->stats.hits++;
			return MDC_NOENT;
		}
		c = mdc_find(t, e->gfid);
		if (c && c->attr_valid && now_ms < c->attr_expires_ms) {
			*out = c->attr;
			t->stats.hits++;
			return MDC_FOUND;
		}
		break;
	}
	t->stats.misses++;
	return MDC_MISS;
}

int mdc_get_xattr(struct mdc_table *t, const uint8_t *gfid, const char *name,
		  uint64_t now_ms, const void **value, uint32_t *len)
{
	struct mdc_node *n = mdc_find(t, gfid);

	for (int i = 0; n && i < MDC_XATTRS_MAX; i++) {
		struct mdc_xattr *x = &n->xattrs[i];

		if (!x->name || strcmp(x->name, name) != 0)
			continue;
		if (now_ms >= x->expires_ms)
			break;
		t->stats.hits++;
		*value = x->value;
		*len = x->len;
		return x->present ? 1 : 0;
	}
	t->stats.misses++;
	return -ENOENT;
}

void mdc_invalidate(struct mdc_table *t, const uint8_t *gfid, uint32_t what,
		    const uint8_t *pargfid, const char *name)
{
	struct mdc_node *n;

	t->seq++;
	t->stats.invalidations++;
	if (what & XL_UP_FORGET_ALL) {
		while (t->lru_head)
			mdc_remove(t, t->lru_head);
		return;
	}
	n = gfid && !xl_gfid_is_null(gfid) ? mdc_find(t, gfid) : NULL;
	if (n) {
		n->inval_seq = t->seq;
		if (what & (XL_UP_ATTR | XL_UP_DELETED))
			n->attr_valid = false;
		if (what & (XL_UP_XATTR | XL_UP_DELETED))
			mdc_drop_xattrs(n);
		if (what & XL_UP_DELETED)
			mdc_drop_entries(n, NULL);
	}
	n = (what & XL_UP_ENTRY) && pargfid ? mdc_find(t, pargfid) : NULL;
	if (n) {
		n->inval_seq = t->seq;
		n->attr_valid = false;
		/* the inode a name named lost (or gained) a link: its nlink
		 * and ctime changed */
		for (struct mdc_entry *e = n->entries; name && e; e = e->next) {
			struct mdc_node *c;

			if (e->negative || strcmp(e->name, name) != 0)
				continue;
			c = mdc_find(t, e->gfid);
			if (c) {
				c->inval_seq = t->seq;
				c->attr_valid = false;
			}
		}
		mdc_drop_entries(n, name);
	}
}

bool mdc_entry_known(struct mdc_table *t, const uint8_t *pargfid,
		     const char *name, uint8_t *gfid)
{
	struct mdc_node *n = mdc_find(t, pargfid);

	for (struct mdc_entry *e = n ? n->entries : NULL; e; e = e->next)
		if (!e->negative && strcmp(e->name, name) == 0) {
			memcpy(gfid, e->gfid, XL_GFID_LEN);
			return true;
		}
	return false;
}
