/*
 * replicate-txn.h - what the transaction files of cluster/replicate share
 * (private): replicate-txn.c (the generic transaction and every other
 * change) and replicate-eager.c (writes with eager locking).
 */
#ifndef MORTAR_REPLICATE_TXN_H
#define MORTAR_REPLICATE_TXN_H

#include "replicate.h"

/* Args of an inodelk on gfid in the domain of type t. */
void afr_inodelk_args(struct xl_args *a, const uint8_t *gfid, int type,
		      short lk_type, uint64_t owner, int cmd);
/* Args of an xattrop adding delta to the type's counter of the children
 * in mask.  0 or -ENOMEM. */
int afr_xattrop_args(struct afr_priv *priv, struct xl_args *a,
		     const uint8_t *gfid, int type, uint32_t mask,
		     int64_t delta);
/* The child whose reply answers a fop (the one reads go to). */
int afr_reply_child(struct xl_call *call);
/* The children that worked; the reply to give moved into *reply. */
uint32_t afr_collect(struct xl_call **children, int n, const int *idx,
		     int prefer, struct xl_reply *reply);
/* Log a data change refused by afr_data_ok. */
void afr_no_good_data(struct afr_priv *priv, const uint8_t *gfid);

/* replicate-eager.c */
/* Whether ai's eager transaction should end now (ai->lock held). */
bool afr_eager_due_locked(struct afr_priv *priv, struct afr_inode *ai,
			  uint64_t now);
/* End ai's eager transaction: post-op and unlock (estate RELEASING). */
void afr_eager_release(struct afr_priv *priv, struct afr_inode *ai);
/* If ai has an eager transaction of this client, end it and run
 * resume(call, ai) after: true.  false: nothing to wait for. */
bool afr_eager_wait_release(struct afr_priv *priv, struct afr_inode *ai,
			    struct xl_call *call,
			    void (*resume)(struct xl_call *call,
					   struct afr_inode *ai));

/* An entry change of call in directory parent, under that directory's
 * eager entry lock (answered when done). */
void afr_entry_eager(struct xl_call *call, const uint8_t *parent);

#endif
