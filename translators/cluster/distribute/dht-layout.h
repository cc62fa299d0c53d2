/*
 * dht-layout.h - cluster/distribute's layout math, pure functions (no
 * I/O, no locks): the name hash, the on-brick encoding of one
 * subvolume's range, assigning ranges, finding the subvolume of a hash and
 * checking a directory's layout for holes and overlaps.
 *
 * A layout is one range per subvolume, in the order of the translator's
 * children.  Ranges are inclusive; a range with start > stop is empty (the
 * subvolume takes no new files in that directory); a subvolume whose copy
 * of the directory has no layout xattr is "missing".
 */
#ifndef MORTAR_DHT_LAYOUT_H
#define MORTAR_DHT_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHT_LAYOUT_FORMAT    1
#define DHT_LAYOUT_XATTR_LEN 16 /* 4 x uint32 big-endian */
#define DHT_MAX_SUBVOLS	     256

struct dht_range {
	uint32_t start;
	uint32_t stop;
	uint32_t commit;
	bool present; /* the xattr was there and well formed */
};

struct dht_layout {
	int count; /* subvolumes */
	struct dht_range ranges[];
};

enum dht_layout_state {
	DHT_LAYOUT_OK = 0,
	DHT_LAYOUT_MISSING,  /* some subvolume has no (valid) range xattr */
	DHT_LAYOUT_HOLES,    /* a hash no subvolume owns */
	DHT_LAYOUT_OVERLAPS, /* a hash two subvolumes own */
};

/* XXH32(name, strlen(name), 0), the name hash doc/cluster.md fixes. */
uint32_t dht_hash_name(const char *name);

static inline bool dht_range_empty(const struct dht_range *r)
{
	return r->start > r->stop;
}

/* The 16 stored bytes of r (format, commit, start, stop). */
void dht_range_encode(const struct dht_range *r, uint8_t *out);
/* Parse stored bytes: 0, or -EINVAL (wrong length or format); r->present
 * is set on success. */
int dht_range_decode(const void *buf, size_t len, struct dht_range *r);

/*
 * Split the hash space into equal contiguous ranges over the subvolumes
 * with in_use[i] set (all when in_use is NULL), in order; the others get an
 * empty range.  Every range is marked present with commit.  -EINVAL when no
 * subvolume is in use.
 */
int dht_layout_assign(struct dht_range *ranges, int count, const bool *in_use,
		      uint32_t commit);

/* Index of the subvolume whose range holds hash, or -1 (a hole, or a
 * missing range). */
int dht_layout_search(const struct dht_range *ranges, int count, uint32_t hash);

/* Whether ranges cover the 32-bit space exactly once.  Subvolumes whose
 * range is not present count as MISSING unless ignore[i] is set (e.g. a
 * subvolume that is down). */
enum dht_layout_state dht_layout_check(const struct dht_range *ranges,
				       int count, const bool *ignore);

const char *dht_layout_state_str(enum dht_layout_state s);

#endif
