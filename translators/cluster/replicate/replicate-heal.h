/*
 * replicate-heal.h - what the heal files of cluster/replicate share
 * (private).  Everything here runs on the heal threads only: the
 * afr_sync_* calls wait for the children's answers.
 */
#ifndef MORTAR_REPLICATE_HEAL_H
#define MORTAR_REPLICATE_HEAL_H

#include "replicate.h"

/* How long a heal waits for a copy's lock before it gives up (the next
 * crawl or lookup tries again). */
#define AFR_HEAL_LOCK_WAIT_MS 30000

/* One heal of one gfid: what the copies said under the lock. */
struct afr_hstate {
	struct afr_priv *priv;
	uint8_t gfid[XL_GFID_LEN];
	uint32_t up;
	uint32_t valid;
	uint32_t missing;
	struct xl_iatt attr[AFR_MAX_CHILDREN];
	int64_t m[AFR_MAX_CHILDREN][AFR_MAX_CHILDREN][AFR_TYPES];
	struct afr_verdict v;
	uint64_t owner;
	uint64_t moved; /* data bytes written to sinks */
};

/* Names of a directory, sorted. */
struct afr_names {
	char **name;
	uint32_t *type;
	size_t count, cap;
};

/* Send args[i] (moved) to every child in mask at once and wait for all;
 * replies[i] are the caller's to clear. */
void afr_sync_multi(struct afr_priv *priv, uint32_t mask, enum xl_fop fop,
		    struct xl_args *args, struct xl_reply *replies);
/* One fop on one child; *out (if not NULL) gets the reply.  Returns its
 * ret. */
int afr_sync_one(struct afr_priv *priv, int child, enum xl_fop fop,
		 struct xl_args *a, struct xl_reply *out);
void afr_replies_clear(struct afr_priv *priv, struct xl_reply *r);

/* replicate-heal.c */
int afr_hs_lookup(struct afr_hstate *h);
int afr_heal_one(struct afr_priv *priv, const uint8_t *gfid,
		 enum afr_policy policy, int forced, int depth);
int afr_status(struct afr_priv *priv, const uint8_t *gfid, char *out,
	       size_t len);

/* replicate-heal-copy.c: source -> sinks, under the type's lock. */
int afr_heal_data_copy(struct afr_hstate *h, int src, uint32_t sinks);
int afr_heal_meta_copy(struct afr_hstate *h, int src, uint32_t sinks);
int afr_heal_entry_copy(struct afr_hstate *h, int src, uint32_t sinks,
			bool remove, int depth);
int afr_list(struct afr_priv *priv, int child, const uint8_t *gfid,
	     struct afr_names *out);
bool afr_names_has(const struct afr_names *n, const char *name);
void afr_names_free(struct afr_names *n);

/* replicate-heal-queue.c */
bool afr_heal_stopping(struct afr_priv *priv);

#endif
