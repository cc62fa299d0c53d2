/*
 * md-cache-table.h - performance/md-cache's cache: attributes, chosen
 * xattrs (present or absent) and directory entries (a name's gfid, or
 * "no such name"), keyed by gfid, bounded, least recently used out
 * first.  Pure decisions with no locks and no I/O, tested alone
 * (tests/unit/test_md_cache.c); the translator holds its lock around
 * every call and passes the time in.
 *
 * Generations: the table counts invalidations (seq).  A fop samples
 * mdc_table_seq() when it goes down; its reply may fill the cache only if
 * the inodes it fills (and, for an entry, the directory) were not
 * invalidated since: every node keeps the seq of its last invalidation
 * (a new node the current seq), and a fill with since < that seq is
 * refused.  So a reply that left the brick before a change, and comes
 * back after the change's notice, never re-fills the stale value, and a
 * node evicted and made again cannot forget an invalidation.
 *
 * Lifetimes: every item expires timeout_ms after its fop went down
 * (wound_ms), never after it came back: the brick's record of this
 * client (features/upcall) starts when the fop reaches it.
 */
#ifndef MORTAR_MD_CACHE_TABLE_H
#define MORTAR_MD_CACHE_TABLE_H

#include "fop.h"

#include <stdbool.h>
#include <stdint.h>

struct xl;

#define MDC_XATTRS_MAX	    8	  /* cached xattr names per inode */
#define MDC_DIR_ENTRIES_MAX 16384 /* cached names per directory */

struct mdc_xattr {
	char *name; /* NULL: free slot */
	bool present;
	void *value;
	uint32_t len;
	uint64_t expires_ms;
};

/* A name in a directory: on its directory's list and in the table's
 * hash by (directory, name), so a lookup is not a walk of the list. */
struct mdc_entry {
	struct mdc_entry *hnext;	 /* table-wide chain */
	struct mdc_entry *dprev, *dnext; /* its directory's list */
	struct mdc_node *dir;
	uint32_t hash;
	char *name;
	bool negative;
	uint8_t gfid[XL_GFID_LEN];
	uint64_t expires_ms;
};

struct mdc_node {
	struct mdc_node *hnext;
	struct mdc_node *lru_prev, *lru_next; /* most recent first */
	uint8_t gfid[XL_GFID_LEN];
	uint64_t inval_seq; /* seq of its last invalidation */
	bool attr_valid;
	struct xl_iatt attr;
	uint64_t attr_expires_ms;
	struct mdc_xattr xattrs[MDC_XATTRS_MAX];
	struct mdc_entry *entries; /* as a directory */
	int entry_count;
	/* Every name of the directory is in entries (a name not there does
	 * not exist) until complete_expires_ms: see mdc_set_complete. */
	bool complete;
	uint64_t complete_expires_ms;
	/* Directory prefetch (mdc_dir_miss). */
	uint32_t dir_misses;  /* lookups by name here the cache missed */
	bool prefetching;     /* one is out */
	bool prefetch_never;  /* too big to read whole: not again */
	uint64_t prefetch_ms; /* when the last one started */
};

struct mdc_stats {
	uint64_t hits, misses, refused_fills, evictions, invalidations;
	uint64_t parent_fills;	  /* mdc_set_attr: a directory's attrs kept */
	uint64_t complete_noents; /* ENOENT told by a complete directory */
};

struct mdc_table {
	struct xl *owner; /* its memory is accounted to it (NULL: none) */
	struct mdc_node **buckets;
	uint32_t nbuckets;
	struct mdc_entry **ebuckets; /* entries by (directory, name) */
	uint32_t nebuckets;
	uint32_t count, max;
	uint64_t timeout_ms;
	uint64_t seq;
	struct mdc_node *lru_head, *lru_tail;
	struct mdc_stats stats;
};

/* What a lookup by name finds in the cache. */
enum mdc_lookup {
	MDC_MISS = 0,
	MDC_FOUND, /* *gfid_out set, attrs cached */
	MDC_NOENT, /* cached "no such name" */
};

int mdc_table_init(struct mdc_table *t, struct xl *owner, uint32_t max_nodes,
		   uint64_t timeout_ms); /* 0 or -ENOMEM */
void mdc_table_fini(struct mdc_table *t);
/* The generation a fop samples when it goes down. */
uint64_t mdc_table_seq(const struct mdc_table *t);
/* Make sure gfid has a node (so a fill is judged by its own
 * invalidations); call when a fop on a known gfid goes down. */
void mdc_table_touch(struct mdc_table *t, const uint8_t *gfid);

/* Fills: 0, -ESTALE (invalidated since `since`: refused) or -ENOMEM. */
int mdc_fill_attr(struct mdc_table *t, const struct xl_iatt *ia, uint64_t since,
		  uint64_t wound_ms);
/* gfid NULL: the name does not exist. */
/* Set the attributes of a node that is cached (the caller checked that
 * they are current: a directory's as the brick read them right after an
 * entry change in it, XL_KEY_POSTPARENT).  0 or -ENOENT. */
int mdc_set_attr(struct mdc_table *t, const struct xl_iatt *ia,
		 uint64_t now_ms);
/* The seq of a cached node's last invalidation, or 0 (not cached). */
uint64_t mdc_inval_seq(struct mdc_table *t, const uint8_t *gfid);
int mdc_fill_entry(struct mdc_table *t, const uint8_t *pargfid,
		   const char *name, const uint8_t *gfid, uint64_t since,
		   uint64_t wound_ms);
/* present false: "no such xattr" (value ignored). */
int mdc_fill_xattr(struct mdc_table *t, const uint8_t *gfid, const char *name,
		   bool present, const void *value, uint32_t len,
		   uint64_t since, uint64_t wound_ms);

/* Lookups (count hits and misses). */
bool mdc_get_attr(struct mdc_table *t, const uint8_t *gfid, uint64_t now_ms,
		  struct xl_iatt *out);
enum mdc_lookup mdc_get_entry(struct mdc_table *t, const uint8_t *pargfid,
			      const char *name, uint64_t now_ms,
			      struct xl_iatt *out);
/* 1 present (value and len borrowed until the next call), 0 absent,
 * -ENOENT not cached. */
int mdc_get_xattr(struct mdc_table *t, const uint8_t *gfid, const char *name,
		  uint64_t now_ms, const void **value, uint32_t *len);

/*
 * Complete directories.  A directory this client made (mkdir) is empty,
 * and while the bricks tell this client of every change in it (their
 * record of its interest, noted by the mkdir and by each of its own entry
 * changes there, outlives timeout_ms), the cache knows all its names:
 * those it filled since.  A lookup of any other name is then ENOENT with
 * no round trip (a create's lookup, a mkdir's).  Anything that drops an
 * entry of it other than its own re-fill (a notice, this client's own
 * change before it went down, a full list, an eviction) makes it
 * incomplete again.  mdc_set_complete marks gfid's node complete until
 * expires_ms (0, or -ENOENT when it is not cached).
 */
int mdc_set_complete(struct mdc_table *t, const uint8_t *gfid,
		     uint64_t expires_ms);
/* Whether gfid is a complete directory at now_ms, and until when. */
bool mdc_is_complete(struct mdc_table *t, const uint8_t *gfid, uint64_t now_ms,
		     uint64_t *expires_ms);

/*
 * Directory prefetch.  A lookup by name that the cache missed in
 * directory gfid counts there; mdc_dir_miss says when to read the whole
 * directory into the cache instead (readdirplus): after `after` misses,
 * when the directory is not complete, no prefetch of it is out, the last
 * one started at least timeout_ms ago, and none of it ever found it too
 * big.  Then it marks one out and restarts the count.  mdc_dir_prefetched
 * ends it; too_big (the directory held more names than the cache keeps
 * for one) means never again while the node lives.
 */
bool mdc_dir_miss(struct mdc_table *t, const uint8_t *gfid, uint32_t after,
		  uint64_t now_ms);
void mdc_dir_prefetched(struct mdc_table *t, const uint8_t *gfid, bool too_big);

/*
 * Invalidate (what: the XL_UP_ bits of xlator.h): ATTR drops gfid's attributes,
 * XATTR its xattrs, DELETED the whole node; ENTRY drops pargfid's entry
 * name (every entry when name is NULL), pargfid's attributes (its times
 * changed) and those of the inode the name named (its link count).  Each inode
 * named stops accepting fills from fops sampled before.  FORGET_ALL empties the
 * table.
 */
void mdc_invalidate(struct mdc_table *t, const uint8_t *gfid, uint32_t what,
		    const uint8_t *pargfid, const char *name);
/* Whether the cache knows which inode pargfid/name is (expired or not),
 * and then which (*gfid): an ENTRY invalidation of that name reaches the
 * inode too. */
bool mdc_entry_known(struct mdc_table *t, const uint8_t *pargfid,
		     const char *name, uint8_t *gfid);

#endif
