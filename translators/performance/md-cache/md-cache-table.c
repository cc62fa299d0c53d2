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

int mdc_table_init(struct mdc_table *t, struct xl *owner, uint32_t max_nodes,
		   uint64_t timeout_ms)
{
	memset(t, 0, sizeof(*t));
	t->owner = owner;
	t->max = max_nodes ? max_nodes : 1;
	t->nbuckets = t->max < 1024 ? 1024 : t->max;
	t->timeout_ms = timeout_ms;
	t->seq = 1;
	t->nebuckets = t->nbuckets;
	t->buckets = xl_calloc(t->owner, t->nbuckets, sizeof(*t->buckets));
	t->ebuckets = xl_calloc(t->owner, t->nebuckets, sizeof(*t->ebuckets));
	if (!t->buckets || !t->ebuckets) {
		xl_free(t->owner, t->buckets);
		xl_free(t->owner, t->ebuckets);
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	return 0;
}

static void mdc_drop_xattrs(struct mdc_table *t, struct mdc_node *n)
{
	for (int i = 0; i < MDC_XATTRS_MAX; i++) {
		xl_free(t->owner, n->xattrs[i].name);
		xl_free(t->owner, n->xattrs[i].value);
		memset(&n->xattrs[i], 0, sizeof(n->xattrs[i]));
	}
}

static uint32_t mdc_entry_hash(const uint8_t *pargfid, const char *name)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < XL_GFID_LEN; i++)
		h = (h ^ pargfid[i]) * 1099511628211ull;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = (h ^ *c) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32));
}

static struct mdc_entry *mdc_entry_find(const struct mdc_table *t,
					const struct mdc_node *dir,
					const char *name)
{
	uint32_t h = mdc_entry_hash(dir->gfid, name);

	for (struct mdc_entry *e = t->ebuckets[h % t->nebuckets]; e;
	     e = e->hnext)
		if (e->dir == dir && e->hash == h && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void mdc_entry_free(struct mdc_table *t, struct mdc_entry *e)
{
	struct mdc_entry **pp = &t->ebuckets[e->hash % t->nebuckets];
	struct mdc_node *dir = e->dir;

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->dprev)
		e->dprev->dnext = e->dnext;
	else
		dir->entries = e->dnext;
	if (e->dnext)
		e->dnext->dprev = e->dprev;
	dir->entry_count--;
	xl_free(t->owner, e->name);
	xl_free(t->owner, e);
}

/* Drop the entry name of directory n, or all of them (name NULL: then
 * the cache no longer knows every name of it). */
static void mdc_drop_entries(struct mdc_table *t, struct mdc_node *n,
			     const char *name)
{
	struct mdc_entry *e;

	if (name) {
		e = mdc_entry_find(t, n, name);
		if (e)
			mdc_entry_free(t, e);
		return;
	}
	while (n->entries)
		mdc_entry_free(t, n->entries);
	n->complete = false;
}

static void mdc_node_free(struct mdc_table *t, struct mdc_node *n)
{
	mdc_drop_xattrs(t, n);
	mdc_drop_entries(t, n, NULL);
	xl_free(t->owner, n);
}

void mdc_table_fini(struct mdc_table *t)
{
	struct mdc_node *n = t->lru_head;

	while (n) {
		struct mdc_node *next = n->lru_next;

		mdc_node_free(t, n);
		n = next;
	}
	xl_free(t->owner, t->buckets);
	xl_free(t->owner, t->ebuckets);
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
	mdc_node_free(t, n);
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
	n = xl_calloc(t->owner, 1, sizeof(*n));
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
	/* A re-fill replaces the name (the directory stays complete). */
	mdc_drop_entries(t, n, name);
	/* A full directory starts over: simple, and still bounded. */
	if (n->entry_count >= MDC_DIR_ENTRIES_MAX)
		mdc_drop_entries(t, n, NULL);
	e = xl_calloc(t->owner, 1, sizeof(*e));
	if (!e || !(e->name = xl_strdup(t->owner, name))) {
		xl_free(t->owner, e);
		n->complete = false; /* a name it knew is gone */
		return -ENOMEM;
	}
	e->negative = gfid == NULL;
	if (gfid)
		memcpy(e->gfid, gfid, XL_GFID_LEN);
	e->expires_ms = wound_ms + t->timeout_ms;
	e->dir = n;
	e->hash = mdc_entry_hash(pargfid, name);
	e->hnext = t->ebuckets[e->hash % t->nebuckets];
	t->ebuckets[e->hash % t->nebuckets] = e;
	e->dnext = n->entries;
	if (n->entries)
		n->entries->dprev = e;
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
	xl_free(t->owner, x->name);
	xl_free(t->owner, x->value);
	memset(x, 0, sizeof(*x));
	x->name = xl_strdup(t->owner, name);
	if (present && len) {
		x->value = xl_malloc(t->owner, len);
		if (x->value)
			memcpy(x->value, value, len);
	}
	if (!x->name || (present && len && !x->value)) {
		xl_free(t->owner, x->name);
		xl_free(t->owner, x->value);
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

static bool mdc_complete_at(const struct mdc_node *n, uint64_t now_ms)
{
	return n->complete && now_ms < n->complete_expires_ms;
}

enum mdc_lookup mdc_get_entry(struct mdc_table *t, const uint8_t *pargfid,
			      const char *name, uint64_t now_ms,
			      struct xl_iatt *out)
{
	struct mdc_node *n = mdc_find(t, pargfid), *c;
	struct mdc_entry *e = n ? mdc_entry_find(t, n, name) : NULL;
	bool complete = n && mdc_complete_at(n, now_ms);

	if (!e && complete) {
		t->stats.hits++;
		t->stats.complete_noents++;
		return MDC_NOENT;
	}
	if (e && e->negative && (complete || now_ms < e->expires_ms)) {
		t->stats.hits++;
		return MDC_NOENT;
	}
	if (e && !e->negative && now_ms < e->expires_ms) {
		c = mdc_find(t, e->gfid);
		if (c && c->attr_valid && now_ms < c->attr_expires_ms) {
			*out = c->attr;
			t->stats.hits++;
			return MDC_FOUND;
		}
	}
	t->stats.misses++;
	return MDC_MISS;
}

int mdc_set_complete(struct mdc_table *t, const uint8_t *gfid,
		     uint64_t expires_ms)
{
	struct mdc_node *n = mdc_find(t, gfid);

	if (!n)
		return -ENOENT;
	n->complete = true;
	n->complete_expires_ms = expires_ms;
	return 0;
}

bool mdc_dir_miss(struct mdc_table *t, const uint8_t *gfid, uint32_t after,
		  uint64_t now_ms)
{
	struct mdc_node *n;

	if (after == 0 || xl_gfid_is_null(gfid))
		return false;
	n = mdc_get(t, gfid);
	if (!n || n->prefetching || n->prefetch_never ||
	    mdc_complete_at(n, now_ms))
		return false;
	if (++n->dir_misses < after)
		return false;
	if (n->prefetch_ms && now_ms < n->prefetch_ms + t->timeout_ms)
		return false;
	n->dir_misses = 0;
	n->prefetching = true;
	n->prefetch_ms = now_ms ? now_ms : 1;
	return true;
}

void mdc_dir_prefetched(struct mdc_table *t, const uint8_t *gfid, bool too_big)
{
	struct mdc_node *n = mdc_find(t, gfid);

	if (!n)
		return;
	n->prefetching = false;
	if (too_big)
		n->prefetch_never = true;
}

bool mdc_is_complete(struct mdc_table *t, const uint8_t *gfid, uint64_t now_ms,
		     uint64_t *expires_ms)
{
	struct mdc_node *n = mdc_find(t, gfid);

	if (!n || !mdc_complete_at(n, now_ms))
		return false;
	if (expires_ms)
		*expires_ms = n->complete_expires_ms;
	return true;
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
			mdc_drop_xattrs(t, n);
		if (what & XL_UP_DELETED)
			mdc_drop_entries(t, n, NULL);
	}
	n = (what & XL_UP_ENTRY) && pargfid ? mdc_find(t, pargfid) : NULL;
	if (n) {
		struct mdc_entry *e = name ? mdc_entry_find(t, n, name) : NULL;

		n->inval_seq = t->seq;
		n->attr_valid = false;
		/* what changed is not known: the name may exist now */
		n->complete = false;
		/* the inode a name named lost (or gained) a link: its nlink
		 * and ctime changed */
		if (e && !e->negative) {
			struct mdc_node *c = mdc_find(t, e->gfid);

			if (c) {
				c->inval_seq = t->seq;
				c->attr_valid = false;
			}
		}
		if (e)
			mdc_entry_free(t, e);
		else if (!name)
			mdc_drop_entries(t, n, NULL);
	}
}

bool mdc_entry_known(struct mdc_table *t, const uint8_t *pargfid,
		     const char *name, uint8_t *gfid)
{
	struct mdc_node *n = mdc_find(t, pargfid);
	struct mdc_entry *e = n ? mdc_entry_find(t, n, name) : NULL;

	if (!e || e->negative)
		return false;
	memcpy(gfid, e->gfid, XL_GFID_LEN);
	return true;
}
