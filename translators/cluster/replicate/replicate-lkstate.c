/*
 * replicate-lkstate.c - cluster/replicate: the bookkeeping of what each
 * open fd holds in POSIX locks and flock, and which copies hold all of
 * it.  Pure: no I/O, no locks, no runtime calls (the caller holds the
 * afr_inode's lock); tests/unit/test_replicate_lkstate.c drives it alone.
 * replicate-lk.c feeds it every lock change it answers, replicate-lkheal.c
 * reads it to give a returning copy its locks back.
 *
 * One record (struct afr_lkfd) per fd that took a lock through this
 * client: the POSIX ranges of every lock owner that locked through that
 * fd (an xl_lk_list, who.client 0, who.owner the lock owner), and the
 * fd's flock.  On the brick a POSIX lock belongs to (client, owner) on the
 * inode, whatever fd carried it, so the records of one gfid together
 * mirror the owners' locks there: a lock through fd F replaces the range
 * in F's record and takes it out of the other records of the same owner;
 * an unlock, an undo and a flush (close) act on every record of the owner.
 * A flock belongs to its fd alone.
 *
 * held: the children that hold every lock of the record, continuously
 * since each was granted there.  A grant leaves in held only the children
 * that granted it; a child leaves held when it goes down or comes back
 * (a new connection holds nothing), and joins again only when
 * replicate-lkheal.c restored the whole record on it.  A child that holds
 * more than the record (an unlock it failed) stays in held: held is about
 * what the application believes it holds, and a copy holding more never
 * lets another client in.
 *
 * A record whose bookkeeping failed (ENOMEM in the range list) is marked
 * broken and never restored: its fds then behave as without restore.
 */
#include "config.h"

#include "replicate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

void afr_lkfd_init(struct afr_lkfd *r, uint32_t all)
{
	r->next = NULL;
	r->fd = NULL;
	r->posix.head = NULL;
	r->flock_type = F_UNLCK;
	r->held = all;
	r->broken = false;
}

void afr_lkfd_clear(struct afr_lkfd *r)
{
	xl_lk_list_free(&r->posix);
	r->flock_type = F_UNLCK;
}

bool afr_lkfd_empty(const struct afr_lkfd *r)
{
	return !r->posix.head && r->flock_type == F_UNLCK;
}

static void afr_lkfd_fail(struct afr_lkfd *r)
{
	r->broken = true;
	r->held = 0;
}

/* Apply a POSIX request (type may be F_UNLCK) of owner to r. */
static void afr_lkfd_apply(struct afr_lkfd *r, int type, int64_t start,
			   int64_t end, uint64_t owner, uint32_t pid)
{
	struct xl_lk_range req = {.type = type,
				  .start = start,
				  .end = end,
				  .who = {.client = 0, .owner = owner},
				  .pid = pid};

	if (xl_lk_list_apply(&r->posix, &req) != 0)
		afr_lkfd_fail(r);
}

/* Take owner's range out of every record of the gfid (unlock, undo). */
static void afr_lkfd_unlock_all(struct afr_lkfd *all,
				const struct afr_lkreq *req)
{
	for (struct afr_lkfd *r = all; r; r = r->next)
		afr_lkfd_apply(r, F_UNLCK, req->start, req->end, req->owner, 0);
}

void afr_lkfd_book(struct afr_lkfd *all, struct afr_lkfd *self,
		   const struct afr_lkreq *req, enum afr_lk_outcome outcome,
		   uint32_t granted)
{
	if (req->flock) {
		if (!self)
			return;
		switch (outcome) {
		case AFR_LK_GRANTED:
			self->flock_type = req->type;
			self->held &= granted;
			break;
		case AFR_LK_UNLOCKED:
		case AFR_LK_UNDONE:
		case AFR_LK_REFUSED:
			/* A refused conversion gave up the old lock on the
			 * copy that refused (flock(2)); the undo, on the
			 * others. */
			self->flock_type = F_UNLCK;
			break;
		case AFR_LK_UNSENT:
			break;
		}
		return;
	}
	switch (outcome) {
	case AFR_LK_GRANTED:
		for (struct afr_lkfd *r = all; r; r = r->next)
			if (r != self)
				afr_lkfd_apply(r, F_UNLCK, req->start, req->end,
					       req->owner, 0);
		if (self) {
			afr_lkfd_apply(self, req->type, req->start, req->end,
				       req->owner, req->pid);
			self->held &= granted;
		}
		break;
	case AFR_LK_UNLOCKED:
	case AFR_LK_UNDONE:
		afr_lkfd_unlock_all(all, req);
		break;
	case AFR_LK_REFUSED:
	case AFR_LK_UNSENT:
		/* fcntl: a refused request leaves the owner's locks as they
		 * were. */
		break;
	}
}

void afr_lkfd_flushed(struct afr_lkfd *all, uint64_t owner)
{
	struct xl_lk_owner who = {.client = 0, .owner = owner};

	for (struct afr_lkfd *r = all; r; r = r->next)
		xl_lk_list_drop(&r->posix, &who, false);
}

void afr_lkfd_child_gone(struct afr_lkfd *all, int child)
{
	for (struct afr_lkfd *r = all; r; r = r->next)
		r->held &= ~(1u << child);
}

bool afr_lkfd_restorable(const struct afr_lkfd *r, int child, uint32_t up)
{
	uint32_t bit = 1u << child;

	if (r->broken || (r->held & bit) || !(up & bit))
		return false;
	/* Nothing held: the fd may work again whatever happened.  Else a
	 * live copy must have held it all along: then nobody else can have
	 * taken any of it anywhere (every client asks the copies in the
	 * same order and meets that one). */
	return afr_lkfd_empty(r) || (r->held & up & ~bit) != 0;
}

int afr_lkfd_plan(const struct afr_lkfd *r, struct afr_lkreq **out, int *n)
{
	int count = r->flock_type != F_UNLCK;
	struct afr_lkreq *reqs;
	int k = 0;

	*out = NULL;
	*n = 0;
	for (const struct xl_lk_range *x = r->posix.head; x; x = x->next)
		count++;
	if (!count)
		return 0;
	reqs = calloc((size_t)count, sizeof(*reqs));
	if (!reqs)
		return -ENOMEM;
	for (const struct xl_lk_range *x = r->posix.head; x; x = x->next) {
		reqs[k].flock = false;
		reqs[k].type = x->type;
		reqs[k].start = x->start;
		reqs[k].end = x->end;
		reqs[k].owner = x->who.owner;
		reqs[k].pid = x->pid;
		k++;
	}
	if (r->flock_type != F_UNLCK) {
		reqs[k].flock = true;
		reqs[k].type = r->flock_type;
		reqs[k].start = 0;
		reqs[k].end = XL_LK_EOF;
		k++;
	}
	*out = reqs;
	*n = k;
	return 0;
}

void afr_lkfd_restored(struct afr_lkfd *r, int child)
{
	if (!r->broken)
		r->held |= 1u << child;
}
