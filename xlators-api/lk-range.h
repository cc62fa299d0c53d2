/*
 * lk-range.h - byte-range lock logic with fcntl(2) semantics, shared by
 * the translators that keep lock tables: a list of granted ranges (merge,
 * split, upgrade, downgrade for one owner; read/write conflicts between
 * owners) and a FIFO queue of waiters.  features/locks holds the brick's
 * locks in it; cluster/replicate keeps in it what each open fd holds, to
 * give a returning copy its locks back (replicate-lkstate.c).
 *
 * Pure: no translator, runtime or locking dependency.  The caller
 * serialises access (locks.c holds its table mutex, replicate the
 * afr_inode's lock), which is what lets the cmocka tests drive this file
 * alone (tests/unit/test_locks_range.c).
 *
 * Ranges are inclusive [start, end]; end == XL_LK_EOF means "to end of
 * file" (fcntl len 0).  Types are F_RDLCK / F_WRLCK (F_UNLCK only as a
 * request).  An owner is a pair (client, owner): on the brick the
 * client-id and the client's lock owner (POSIX locks) or fd (flock locks);
 * a user with one client puts 0 in client.
 */
#ifndef MORTAR_LK_RANGE_H
#define MORTAR_LK_RANGE_H

#include <stdbool.h>
#include <stdint.h>

#define XL_LK_EOF INT64_MAX

struct xl_lk_owner {
	uint64_t client;
	uint64_t owner;
};

/* One granted lock.  Owned by the list it is on. */
struct xl_lk_range {
	struct xl_lk_range *next;
	int type; /* F_RDLCK or F_WRLCK */
	int64_t start;
	int64_t end; /* inclusive; XL_LK_EOF = to end of file */
	struct xl_lk_owner who;
	uint32_t pid;
};

/* Granted locks of one kind on one inode, sorted by start. */
struct xl_lk_list {
	struct xl_lk_range *head;
};

/* A request or a parked request.  data is the caller's (locks.c keeps the
 * parked call there); the queue never looks at it. */
struct xl_lk_waiter {
	struct xl_lk_waiter *next;
	struct xl_lk_range req; /* req.next unused */
	void *data;
	int ret; /* answer to give when the waiter leaves the queue */
};

/* Waiters in arrival order. */
struct xl_lk_waitq {
	struct xl_lk_waiter *head;
	struct xl_lk_waiter *
	    *tail; /* &head when empty; xl_lk_waitq_init sets it */
	unsigned count;
};

/* fcntl (start, len) -> inclusive range: len 0 is to EOF, a negative len
 * covers [start+len, start-1].  0, -EINVAL (negative start) or -EOVERFLOW. */
int xl_lk_range_from_flock(int64_t start, int64_t len, int64_t *rstart,
			   int64_t *rend);
/* Inverse: the fcntl len of an inclusive range (0 when end is XL_LK_EOF). */
int64_t xl_lk_range_len(int64_t start, int64_t end);

bool xl_lk_owner_equal(const struct xl_lk_owner *a,
		       const struct xl_lk_owner *b);
/* Two locks conflict when they overlap, belong to different owners and at
 * least one is a write lock. */
bool xl_lk_conflicts(const struct xl_lk_range *a, const struct xl_lk_range *b);

/* The first granted lock (in start order) that conflicts with req, or
 * NULL.  Borrowed pointer, valid until the list changes. */
const struct xl_lk_range *xl_lk_list_conflict(const struct xl_lk_list *l,
					      const struct xl_lk_range *req);

/*
 * Apply req for req->who as fcntl F_SETLK would once granted: the owner's
 * locks inside [start, end] are replaced by req (or removed when req->type
 * is F_UNLCK), splitting the ones that straddle the edges, and adjacent or
 * overlapping locks of the same owner and type are merged.  Does not check
 * conflicts.  All-or-nothing: on -ENOMEM the list is unchanged.  0 or
 * -ENOMEM.
 */
int xl_lk_list_apply(struct xl_lk_list *l, const struct xl_lk_range *req);
/* Remove every lock of who (client and owner), or of the client alone
 * when any_owner.  Returns how many ranges were removed. */
unsigned xl_lk_list_drop(struct xl_lk_list *l, const struct xl_lk_owner *who,
			 bool any_owner);
void xl_lk_list_free(struct xl_lk_list *l);
unsigned xl_lk_list_count(const struct xl_lk_list *l);
bool xl_lk_list_holds(const struct xl_lk_list *l,
		      const struct xl_lk_owner *who);

void xl_lk_waitq_init(struct xl_lk_waitq *q);
/* Append w (the queue takes it, w->next is overwritten). */
void xl_lk_waitq_push(struct xl_lk_waitq *q, struct xl_lk_waiter *w);
/* Unlink and return the first waiter of who (or of who->client alone when
 * any_owner), else NULL. */
struct xl_lk_waiter *xl_lk_waitq_take(struct xl_lk_waitq *q,
				      const struct xl_lk_owner *who,
				      bool any_owner);
/* Unlink w from q.  false when w is not queued there. */
bool xl_lk_waitq_remove(struct xl_lk_waitq *q, struct xl_lk_waiter *w);

/*
 * Grant what can be granted, in arrival order: a waiter is granted when it
 * conflicts with no granted lock and with no earlier waiter that stays
 * queued (so waiters that conflict with each other go first come, first
 * served).  Granted waiters are applied to l, unlinked and appended to
 * *granted (ret 0); a waiter whose apply fails leaves with ret -ENOMEM.
 * Returns how many left the queue.
 */
unsigned xl_lk_waitq_grant(struct xl_lk_waitq *q, struct xl_lk_list *l,
			   struct xl_lk_waiter **granted);

/*
 * Simple deadlock test: a request of owner A is blocked by a lock of owner
 * B.  Waiting would close a cycle if B itself waits: true when a waiter of
 * `waiter` (B) in q conflicts with a lock of `holder` (A) in l.  Checks one
 * inode; locks.c calls it for every inode.
 */
bool xl_lk_waitq_waits_on(const struct xl_lk_waitq *q,
			  const struct xl_lk_list *l,
			  const struct xl_lk_owner *waiter,
			  const struct xl_lk_owner *holder);

#endif
