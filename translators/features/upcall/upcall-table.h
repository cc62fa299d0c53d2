/*
 * upcall-table.h - features/upcall's record of which clients cache which
 * inodes: a bounded hash table with no I/O, so it can be tested alone.
 *
 * An inode's record holds its generation (bumped on every change) and up
 * to UPCALL_CLIENTS_MAX clients, each with the time its interest ends
 * (noted + timeout).  Coherence never depends on what the table forgets:
 * whoever loses a place (a full client list, an inode evicted from a full
 * table) is handed back as a notice to send now, so that client drops what
 * it cached instead of keeping it unnoticed.
 *
 * Not thread-safe: the translator holds its lock around every call.
 */
#ifndef MORTAR_UPCALL_TABLE_H
#define MORTAR_UPCALL_TABLE_H

#include <stdbool.h>
#include <stdint.h>

struct xl;

#define UPCALL_CLIENTS_MAX 16

struct upcall_client {
	uint64_t id;
	uint64_t expires_ms;
};

struct upcall_inode {
	struct upcall_inode *hnext;		  /* hash chain */
	struct upcall_inode *lru_prev, *lru_next; /* most recent first */
	uint8_t gfid[16];
	uint64_t gen;
	uint64_t changed_seq; /* table seq of its last change */
	int nclients;
	struct upcall_client clients[UPCALL_CLIENTS_MAX];
};

/* Who must be told, collected under the lock and sent after it. */
struct upcall_target {
	uint8_t gfid[16];
	uint64_t gen;
	uint64_t client_id;
};

struct upcall_table {
	struct xl *owner; /* its memory is accounted to it (NULL: none) */
	struct upcall_inode **buckets;
	uint32_t nbuckets;
	uint32_t count, max;
	uint64_t timeout_ms;
	uint64_t seq; /* bumped on every change of any inode */
	struct upcall_inode *lru_head, *lru_tail;
};

/* 0 or -ENOMEM.  max inodes recorded, interest lasts timeout_ms. */
int upcall_table_init(struct upcall_table *t, struct xl *owner, uint32_t max,
		      uint64_t timeout_ms);
void upcall_table_fini(struct upcall_table *t);

/*
 * Client id looked at gfid at now_ms: record (or refresh) its interest.
 * Returns how many targets it wrote to out[] (at most
 * UPCALL_CLIENTS_MAX + 2): clients that lost their place and must drop
 * what they cache of that inode, and id itself when the inode changed
 * after seq `since` (a fop that read it before the change was noted after
 * it: its answer may be stale).  since = UINT64_MAX: never.
 */
int upcall_table_note(struct upcall_table *t, const uint8_t *gfid, uint64_t id,
		      uint64_t now_ms, uint64_t since,
		      struct upcall_target *out);
/* The most targets one call writes (an evicted inode's clients plus the
 * inode's own). */
#define UPCALL_TARGETS_MAX (2 * UPCALL_CLIENTS_MAX + 2)

/*
 * Client id changed gfid: bump its generation, and write to out[] every
 * other client whose interest has not expired, and the clients of an
 * inode evicted to make its record (at most UPCALL_TARGETS_MAX); expired
 * ones are dropped.  The changer is not
 * recorded by this (note it too if it should be).  Returns the count;
 * *gen gets the new generation.
 */
int upcall_table_changed(struct upcall_table *t, const uint8_t *gfid,
			 uint64_t id, uint64_t now_ms, uint64_t *gen,
			 struct upcall_target *out);

/*
 * Forget gfid's record: the inode was removed and every client whose
 * interest had not expired was just told so (XL_UP_DELETED), so none
 * caches it any more.  A record made again later starts as "changed
 * now" (ut_get), so a read that was in flight across the removal is
 * still told to drop what it read.
 */
void upcall_table_forget(struct upcall_table *t, const uint8_t *gfid);

/* The inode's generation now (0: no record). */
uint64_t upcall_table_gen(struct upcall_table *t, const uint8_t *gfid);

#endif
