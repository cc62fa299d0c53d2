/*
 * lk-range.c - byte-range lock lists and waiter queues with fcntl(2)
 * semantics, free of any translator or runtime dependency (see
 * lk-range.h for the contract).  Not thread-safe by itself: every
 * function expects the caller to hold whatever lock guards the list.
 *
 * Invariant kept on every list: ranges are sorted by start, and the ranges
 * of one owner never overlap and are never adjacent with the same type
 * (they would have been merged).  xl_lk_list_apply relies on it: a request
 * touches at most one range that straddles both of its edges, so two
 * spare nodes are enough and a failed allocation can leave the list
 * untouched.
 */
#include "config.h"

#include "lk-range.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

int xl_lk_range_from_flock(int64_t start, int64_t len, int64_t *rstart,
			   int64_t *rend)
{
	if (len < 0) {
		if (len == INT64_MIN || start < -len)
			return -EINVAL;
		start += len;
		len = -len;
	}
	if (start < 0)
		return -EINVAL;
	if (len == 0) {
		*rstart = start;
		*rend = XL_LK_EOF;
		return 0;
	}
	if (len - 1 > XL_LK_EOF - start)
		return -EOVERFLOW;
	*rstart = start;
	*rend = start + len - 1;
	return 0;
}

int64_t xl_lk_range_len(int64_t start, int64_t end)
{
	if (end == XL_LK_EOF)
		return 0;
	return end - start + 1;
}

bool xl_lk_owner_equal(const struct xl_lk_owner *a, const struct xl_lk_owner *b)
{
	return a->client == b->client && a->owner == b->owner;
}

static bool xl_lk_overlap(const struct xl_lk_range *a, int64_t start,
			  int64_t end)
{
	return a->start <= end && start <= a->end;
}

/* Touching without overlap: one ends right before the other starts. */
static bool xl_lk_adjacent(const struct xl_lk_range *a, int64_t start,
			   int64_t end)
{
	return (a->end != XL_LK_EOF && a->end + 1 == start) ||
	       (end != XL_LK_EOF && end + 1 == a->start);
}

bool xl_lk_conflicts(const struct xl_lk_range *a, const struct xl_lk_range *b)
{
	if (xl_lk_owner_equal(&a->who, &b->who))
		return false;
	if (a->type != F_WRLCK && b->type != F_WRLCK)
		return false;
	return xl_lk_overlap(a, b->start, b->end);
}

const struct xl_lk_range *xl_lk_list_conflict(const struct xl_lk_list *l,
					      const struct xl_lk_range *req)
{
	for (const struct xl_lk_range *r = l->head; r; r = r->next)
		if (xl_lk_conflicts(r, req))
			return r;
	return NULL;
}

/* Insert r keeping the list sorted by start (stable for equal starts). */
static void xl_lk_list_insert(struct xl_lk_list *l, struct xl_lk_range *r)
{
	struct xl_lk_range **pp = &l->head;

	while (*pp && (*pp)->start <= r->start)
		pp = &(*pp)->next;
	r->next = *pp;
	*pp = r;
}

/*
 * Fold one existing range r of the requesting owner into the request
 * [*s, *e]: merge it (same type, overlapping or adjacent), trim it, split
 * it (spare is consumed and set to NULL), or leave it.  Returns r if it
 * survives (to be reinserted), NULL if it was freed.
 */
static struct xl_lk_range *xl_lk_fold(struct xl_lk_range *r, int type,
				      int64_t *s, int64_t *e,
				      struct xl_lk_range **spare,
				      struct xl_lk_list *out)
{
	bool overlap = xl_lk_overlap(r, *s, *e);

	if (type == r->type && (overlap || xl_lk_adjacent(r, *s, *e))) {
		if (r->start < *s)
			*s = r->start;
		if (r->end > *e)
			*e = r->end;
		free(r);
		return NULL;
	}
	if (!overlap)
		return r;
	if (r->start >= *s && r->end <= *e) {
		free(r);
		return NULL;
	}
	if (r->start < *s && r->end > *e) {
		struct xl_lk_range *tail = *spare;

		*spare = NULL;
		*tail = *r;
		tail->start = *e + 1;
		xl_lk_list_insert(out, tail);
		r->end = *s - 1;
		return r;
	}
	if (r->start < *s)
		r->end = *s - 1;
	else
		r->start = *e + 1;
	return r;
}

int xl_lk_list_apply(struct xl_lk_list *l, const struct xl_lk_range *req)
{
	struct xl_lk_range *spare = malloc(sizeof(*spare));
	struct xl_lk_range *node = malloc(sizeof(*node));
	struct xl_lk_list out = {NULL};
	int64_t s = req->start, e = req->end;
	int ret = 0;

	if (!spare || !node) {
		ret = -ENOMEM;
		goto out;
	}
	/* Rebuild the list: other owners' ranges move over untouched, the
	 * requester's are folded into the request. */
	while (l->head) {
		struct xl_lk_range *r = l->head;

		l->head = r->next;
		if (xl_lk_owner_equal(&r->who, &req->who))
			r = xl_lk_fold(r, req->type, &s, &e, &spare, &out);
		if (r)
			xl_lk_list_insert(&out, r);
	}
	if (req->type != F_UNLCK) {
		*node = *req;
		node->start = s;
		node->end = e;
		xl_lk_list_insert(&out, node);
		node = NULL;
	}
	l->head = out.head;
out:
	free(spare);
	free(node);
	return ret;
}

unsigned xl_lk_list_drop(struct xl_lk_list *l, const struct xl_lk_owner *who,
			 bool any_owner)
{
	struct xl_lk_range **pp = &l->head;
	unsigned n = 0;

	while (*pp) {
		struct xl_lk_range *r = *pp;
		bool match = any_owner ? r->who.client == who->client
				       : xl_lk_owner_equal(&r->who, who);

		if (match) {
			*pp = r->next;
			free(r);
			n++;
		} else {
			pp = &r->next;
		}
	}
	return n;
}

void xl_lk_list_free(struct xl_lk_list *l)
{
	while (l->head) {
		struct xl_lk_range *r = l->head;

		l->head = r->next;
		free(r);
	}
}

unsigned xl_lk_list_count(const struct xl_lk_list *l)
{
	unsigned n = 0;

	for (const struct xl_lk_range *r = l->head; r; r = r->next)
		n++;
	return n;
}

bool xl_lk_list_holds(const struct xl_lk_list *l, const struct xl_lk_owner *who)
{
	for (const struct xl_lk_range *r = l->head; r; r = r->next)
		if (xl_lk_owner_equal(&r->who, who))
			return true;
	return false;
}

/* ---- waiter queue ---------------------------------------------------- */

void xl_lk_waitq_init(struct xl_lk_waitq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->count = 0;
}

void xl_lk_waitq_push(struct xl_lk_waitq *q, struct xl_lk_waiter *w)
{
	w->next = NULL;
	*q->tail = w;
	q->tail = &w->next;
	q->count++;
}

/* Unlink the waiter *pp points at (pp is its predecessor's next field). */
static struct xl_lk_waiter *xl_lk_waitq_unlink(struct xl_lk_waitq *q,
					       struct xl_lk_waiter **pp)
{
	struct xl_lk_waiter *w = *pp;

	*pp = w->next;
	if (q->tail == &w->next)
		q->tail = pp;
	w->next = NULL;
	q->count--;
	return w;
}

struct xl_lk_waiter *xl_lk_waitq_take(struct xl_lk_waitq *q,
				      const struct xl_lk_owner *who,
				      bool any_owner)
{
	for (struct xl_lk_waiter **pp = &q->head; *pp; pp = &(*pp)->next) {
		const struct xl_lk_owner *o = &(*pp)->req.who;

		if (any_owner ? o->client == who->client
			      : xl_lk_owner_equal(o, who))
			return xl_lk_waitq_unlink(q, pp);
	}
	return NULL;
}

bool xl_lk_waitq_remove(struct xl_lk_waitq *q, struct xl_lk_waiter *w)
{
	for (struct xl_lk_waiter **pp = &q->head; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			xl_lk_waitq_unlink(q, pp);
			return true;
		}
	}
	return false;
}

/* Does w conflict with a waiter queued before it (from head up to w)? */
static bool xl_lk_waitq_blocked_by_earlier(const struct xl_lk_waitq *q,
					   const struct xl_lk_waiter *w)
{
	for (const struct xl_lk_waiter *x = q->head; x && x != w; x = x->next)
		if (xl_lk_conflicts(&x->req, &w->req))
			return true;
	return false;
}

unsigned xl_lk_waitq_grant(struct xl_lk_waitq *q, struct xl_lk_list *l,
			   struct xl_lk_waiter **granted)
{
	struct xl_lk_waiter **pp = &q->head;
	struct xl_lk_waiter **gtail = granted;
	unsigned n = 0;

	while (*gtail)
		gtail = &(*gtail)->next;
	while (*pp) {
		struct xl_lk_waiter *w = *pp;

		if (xl_lk_list_conflict(l, &w->req) ||
		    xl_lk_waitq_blocked_by_earlier(q, w)) {
			pp = &w->next;
			continue;
		}
		xl_lk_waitq_unlink(q, pp);
		w->ret = xl_lk_list_apply(l, &w->req);
		*gtail = w;
		gtail = &w->next;
		n++;
	}
	return n;
}

bool xl_lk_waitq_waits_on(const struct xl_lk_waitq *q,
			  const struct xl_lk_list *l,
			  const struct xl_lk_owner *waiter,
			  const struct xl_lk_owner *holder)
{
	for (const struct xl_lk_waiter *w = q->head; w; w = w->next) {
		if (!xl_lk_owner_equal(&w->req.who, waiter))
			continue;
		for (const struct xl_lk_range *r = l->head; r; r = r->next)
			if (xl_lk_owner_equal(&r->who, holder) &&
			    xl_lk_conflicts(r, &w->req))
				return true;
	}
	return false;
}
