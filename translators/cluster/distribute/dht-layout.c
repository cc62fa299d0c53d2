/*
 * dht-layout.c - layout math for cluster/distribute; see dht-layout.h.
 */
#include "config.h"

#include "dht-layout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

uint32_t dht_hash_name(const char *name)
{
	return XXH32(name, strlen(name), 0);
}

static void dht_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t dht_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void dht_range_encode(const struct dht_range *r, uint8_t *out)
{
	dht_put32(out, DHT_LAYOUT_FORMAT);
	dht_put32(out + 4, r->commit);
	dht_put32(out + 8, r->start);
	dht_put32(out + 12, r->stop);
}

int dht_range_decode(const void *buf, size_t len, struct dht_range *r)
{
	const uint8_t *p = buf;

	memset(r, 0, sizeof(*r));
	if (!buf || len != DHT_LAYOUT_XATTR_LEN ||
	    dht_get32(p) != DHT_LAYOUT_FORMAT)
		return -EINVAL;
	r->commit = dht_get32(p + 4);
	r->start = dht_get32(p + 8);
	r->stop = dht_get32(p + 12);
	r->present = true;
	return 0;
}

int dht_layout_assign(struct dht_range *ranges, int count, const bool *in_use,
		      uint32_t commit)
{
	uint64_t space = (uint64_t)UINT32_MAX + 1, start = 0;
	int used = 0, k = 0;

	for (int i = 0; i < count; i++)
		if (!in_use || in_use[i])
			used++;
	if (used == 0)
		return -EINVAL;
	for (int i = 0; i < count; i++) {
		struct dht_range *r = &ranges[i];

		r->commit = commit;
		r->present = true;
		if (in_use && !in_use[i]) {
			r->start = 1; /* empty: start > stop */
			r->stop = 0;
			continue;
		}
		k++;
		/* Share the remainder out so the last range ends at 2^32-1. */
		uint64_t end = space * (uint64_t)k / (uint64_t)used;
		r->start = (uint32_t)start;
		r->stop = (uint32_t)(end - 1);
		start = end;
	}
	return 0;
}

int dht_layout_search(const struct dht_range *ranges, int count, uint32_t hash)
{
	for (int i = 0; i < count; i++) {
		const struct dht_range *r = &ranges[i];

		if (r->present && !dht_range_empty(r) && hash >= r->start &&
		    hash <= r->stop)
			return i;
	}
	return -1;
}

static int dht_range_cmp(const void *a, const void *b)
{
	const struct dht_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

enum dht_layout_state dht_layout_check(const struct dht_range *ranges,
				       int count, const bool *ignore)
{
	struct dht_range sorted[DHT_MAX_SUBVOLS];
	uint64_t next = 0; /* first hash not yet covered */
	int n = 0;

	if (count <= 0 || count > DHT_MAX_SUBVOLS)
		return DHT_LAYOUT_MISSING;
	for (int i = 0; i < count; i++) {
		if (ignore && ignore[i])
			continue;
		if (!ranges[i].present)
			return DHT_LAYOUT_MISSING;
		if (!dht_range_empty(&ranges[i]))
			sorted[n++] = ranges[i];
	}
	if (n == 0)
		return DHT_LAYOUT_HOLES;
	qsort(sorted, (size_t)n, sizeof(sorted[0]), dht_range_cmp);
	for (int i = 0; i < n; i++) {
		if (sorted[i].start > next)
			return DHT_LAYOUT_HOLES;
		if (sorted[i].start < next)
			return DHT_LAYOUT_OVERLAPS;
		next = (uint64_t)sorted[i].stop + 1;
	}
	return next == (uint64_t)UINT32_MAX + 1 ? DHT_LAYOUT_OK
						: DHT_LAYOUT_HOLES;
}

const char *dht_layout_state_str(enum dht_layout_state s)
{
	switch (s) {
	case DHT_LAYOUT_OK:
		return "ok";
	case DHT_LAYOUT_MISSING:
		return "missing";
	case DHT_LAYOUT_HOLES:
		return "holes";
	case DHT_LAYOUT_OVERLAPS:
		return "overlaps";
	}
	return "?";
}
