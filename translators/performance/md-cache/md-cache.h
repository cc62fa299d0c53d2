/*
 * md-cache.h - what performance/md-cache's files share: the translator's
 * private state and the fills both the fop path (md-cache.c) and the
 * directory prefetch (md-cache-prefetch.c) make.
 */
#ifndef MORTAR_MD_CACHE_H
#define MORTAR_MD_CACHE_H

#include "md-cache-table.h"
#include "xlator.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MDC_XATTR_NAMES_MAX 16

struct mdc_priv {
	pthread_mutex_t lock;
	struct mdc_table table; /* lock */
	int nxattr_names;
	char *xattr_names[MDC_XATTR_NAMES_MAX]; /* cache-xattrs, read-only */
	/* No translator below merges several bricks' directories: ask entry
	 * changes for XL_KEY_POSTPARENT, and let them renew a complete
	 * directory (mdc_complete_until). */
	bool postparent;
	uint32_t prefetch_after; /* option prefetch-dir-after; 0: off */
	atomic_uint_fast64_t prefetches, prefetched_names, prefetches_whole;
};

uint64_t mdc_now_ms(void);

/* Fill the entries of a readdirplus reply r on directory dir (NULL: the
 * directory is not known, attributes only), judged by since and timed
 * from wound_ms.  Returns how many named entries it could not keep (a
 * refused or failed fill, no gfid).  priv->lock held. */
uint32_t mdc_fill_dirents_locked(struct mdc_priv *priv, const uint8_t *dir,
				 const struct xl_reply *r, uint64_t since,
				 uint64_t wound_ms);

/* A lookup by name the cache missed: count it in its directory and, when
 * that directory is read often enough by name (mdc_dir_miss), read it
 * whole into the cache in the background with the caller's credentials.
 * Never waits; the lookup goes on as it would. */
void mdc_prefetch_on_miss(struct xl *xl, struct xl_call *lookup);

#endif
