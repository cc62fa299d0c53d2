/*
 * xlator.c - events between translators and per-translator memory
 * accounting.
 */
#include "config.h"

#include "graph.h"
#include "log.h"
#include "xlator.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int xl_notify(struct xl *xl, enum xl_event ev, struct xl *from)
{
	if (xl->desc->notify)
		return xl->desc->notify(xl, ev, from);
	return xl_notify_default(xl, ev, from);
}

/* Enter / leave the delivery of an event in xl's graph (see the teardown
 * gate in graph.h): false when the graph is being torn down. */
static bool xl_event_enter(struct xl_graph *g)
{
	if (!g)
		return true;
	atomic_fetch_add(&g->events_in, 1);
	if (atomic_load(&g->stopping)) {
		atomic_fetch_sub(&g->events_in, 1);
		return false;
	}
	return true;
}

static void xl_event_leave(struct xl_graph *g)
{
	if (g)
		atomic_fetch_sub(&g->events_in, 1);
}

void xl_graph_volfile_notice(struct xl_graph *g, const char *volume)
{
	if (!g || !xl_event_enter(g))
		return;
	if (g->top_volfile)
		g->top_volfile(g, volume, g->top_volfile_data);
	xl_event_leave(g);
}

void xl_notify_parents(struct xl *xl, enum xl_event ev)
{
	struct xl_graph *g = xl->graph;

	if (!xl_event_enter(g))
		return;
	for (int i = 0; i < xl->parent_count; i++)
		xl_notify(xl->parents[i], ev, xl);
	/* The top has no parents: tell the program that owns the graph. */
	if (g && xl == g->top && g->top_notify)
		g->top_notify(g, ev, g->top_notify_data);
	xl_event_leave(g);
}

int xl_notify_default(struct xl *xl, enum xl_event ev, struct xl *from)
{
	(void)from;
	switch (ev) {
	case XL_EV_PARENT_UP:
		for (int i = 0; i < xl->child_count; i++)
			xl_notify(xl->children[i], ev, xl);
		break;
	case XL_EV_CHILD_UP:
	case XL_EV_CHILD_DOWN:
		xl_notify_parents(xl, ev);
		break;
	}
	return 0;
}

void xl_upcall_default(struct xl *xl, struct xl *from,
		       const struct xl_upcall *up)
{
	(void)from;
	xl_upcall_parents(xl, up);
}

void xl_upcall_parents(struct xl *xl, const struct xl_upcall *up)
{
	struct xl_graph *g = xl->graph;

	if (!xl_event_enter(g))
		return;
	for (int i = 0; i < xl->parent_count; i++) {
		struct xl *p = xl->parents[i];

		if (p->desc->upcall)
			p->desc->upcall(p, xl, up);
		else
			xl_upcall_default(p, xl, up);
	}
	if (g && xl == g->top && g->top_upcall)
		g->top_upcall(g, up, g->top_upcall_data);
	xl_event_leave(g);
}

/* Each accounted block starts with this header so xl_free can find the
 * owner and size without the caller remembering them. */
struct mem_header {
	struct xl *owner;
	size_t size;
	uint64_t magic;
	uint64_t pad; /* keep the payload 16-byte aligned */
};
#define MEM_MAGIC 0x4d4f5254414d454dull

void *xl_malloc(struct xl *xl, size_t size)
{
	struct mem_header *h = malloc(sizeof(*h) + size);

	if (!h)
		return NULL;
	h->owner = xl;
	h->size = size;
	h->magic = MEM_MAGIC;
	if (xl) {
		atomic_fetch_add(&xl->mem_bytes, (int_fast64_t)size);
		atomic_fetch_add(&xl->mem_allocs, 1);
	}
	return h + 1;
}

void *xl_calloc(struct xl *xl, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = xl_malloc(xl, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static struct mem_header *mem_header_of(void *p, const char *what)
{
	struct mem_header *h = (struct mem_header *)p - 1;

	if (h->magic != MEM_MAGIC) {
		xl_err("mem", "%s of a block not from xl_malloc: %p", what, p);
		abort();
	}
	return h;
}

void *xl_realloc(struct xl *xl, void *p, size_t size)
{
	struct mem_header *h, *nh;
	size_t old;

	if (!p)
		return xl_malloc(xl, size);
	h = mem_header_of(p, "xl_realloc");
	old = h->size;
	nh = realloc(h, sizeof(*nh) + size);
	if (!nh)
		return NULL;
	nh->size = size;
	if (nh->owner)
		atomic_fetch_add(&nh->owner->mem_bytes,
				 (int_fast64_t)size - (int_fast64_t)old);
	return nh + 1;
}

char *xl_strdup(struct xl *xl, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = xl_malloc(xl, len);

	if (p)
		memcpy(p, s, len);
	return p;
}

void xl_free(struct xl *xl, void *p)
{
	struct mem_header *h;

	(void)xl;
	if (!p)
		return;
	h = mem_header_of(p, "xl_free");
	h->magic = 0;
	if (h->owner) {
		atomic_fetch_sub(&h->owner->mem_bytes, (int_fast64_t)h->size);
		atomic_fetch_sub(&h->owner->mem_allocs, 1);
	}
	free(h);
}
