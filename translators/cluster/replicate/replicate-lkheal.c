/*
 * replicate-lkheal.c - cluster/replicate: a child that comes back gets
 * the POSIX locks and flocks another child kept meanwhile.
 *
 * The danger it removes: client A holds a lock on copies 0 and 1; copy 1
 * restarts (its locks went with the connection, and protocol/client keeps
 * A's fd there "locks lost": EBADFD); then copy 0 dies.  Client B asks for
 * a conflicting lock: only copy 1 is up, it knows of no lock, and B gets
 * it while A's application still believes it holds the lock.
 *
 * The rule that keeps it safe: a returning child gets an fd's locks back
 * only when another live child held every one of them continuously
 * meanwhile (the fd's record, replicate-lkstate.c: held).  Then no other
 * client can have taken any of them anywhere: every client asks the
 * copies in the same order and is refused by the one that holds them
 * before it reaches the returning one.  Otherwise nothing is restored and
 * the fd stays bad on that child, as without this file.  A record that
 * holds nothing is always restorable (the fd works again there).
 *
 * How.  CHILD_UP reaches replicate after protocol/client reopened the
 * child's fds (those that held locks in the "locks lost" state).  For
 * every gfid with lock records, the child leaves each record's held set
 * and, if some record is restorable, joins ai->lk_want; the restore of a
 * gfid starts once no lock change of it is in flight (ai->lk_busy) and
 * runs with ai->lk_restoring set, so changes and flushes of the gfid wait
 * meanwhile (replicate-lk.c) and the records stay as planned.  For each
 * restorable record, one request after the other to that child alone:
 *   - each POSIX range (F_SETLK, owner and pid of the original lock) and
 *     the flock (LOCK_NB), with xdata mortar.lk-restore: non-blocking,
 *     so a restore never waits nor deadlocks, and a conflict means the
 *     lock is someone else's now: the restore fails;
 *   - then, if the child is still on the same connection (priv->lk_epoch)
 *     and another child that holds the record is still up, the marker
 *     mortar.lk-restored (F_GETLK, answered by protocol/client, which
 *     checks that exactly that many restore requests were granted on its
 *     current connection) returns the fd to normal there; the child joins
 *     held.
 * On a refusal, the ranges granted so far are unlocked again (restore
 * unlocks), the fd stays lost there, and one line is logged for the
 * child's pass over the gfid.  Then the next record, the next child in
 * ai->lk_want, and finally the parked changes go on in order.
 *
 * Threads: a restore runs on the threads that answer its requests (the
 * marker is answered inline).  ai->lock guards the records and the
 * lk_* fields; it is never held while sending.  Each planned fd is held
 * by a ref for the restore; a record is planned only while it is linked
 * (from its fd's first lock to its release), so its fd is alive then.
 */
#include "config.h"

#include "replicate.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

/* One fd to restore on the child. */
struct afr_lkheal_fd {
	struct afr_lkfd *rec; /* in the fd's ctx, kept alive by fd */
	struct xl_fd *fd;     /* ref */
	struct afr_lkreq *reqs;
	int n;
};

/* Who goes on after a send: the sender when the answer came inline. */
enum { AFR_LKH_IDLE = 0, AFR_LKH_SENDING, AFR_LKH_ANSWERED };

/* One restore of one gfid (ai), child after child. */
struct afr_lkheal {
	struct afr_priv *priv;
	struct afr_inode *ai; /* ref */
	int child;
	uint64_t epoch; /* priv->lk_epoch[child] when planned */
	struct afr_lkheal_fd *fds;
	int nfds;
	int cur;     /* fds[cur] is being restored */
	int next;    /* its next request; n: the marker; n + 1: sent */
	int granted; /* its requests granted so far */
	int undo;    /* undoing: the next granted request to unlock */
	bool undoing;
	int err; /* why fds[cur] failed */
	int restored, failed, first_err;
	uint8_t failed_gfid[XL_GFID_LEN];
	_Atomic int phase; /* AFR_LKH_* */
};

static void afr_lkheal_next_child(struct afr_lkheal *s);
static void afr_lkheal_run(struct afr_lkheal *s);

static void afr_lkheal_free_fds(struct afr_lkheal *s)
{
	for (int i = 0; i < s->nfds; i++) {
		xl_fd_unref(s->fds[i].fd);
		free(s->fds[i].reqs);
	}
	free(s->fds);
	s->fds = NULL;
	s->nfds = 0;
}

/* The restore of ai ends (ai->lk_want is empty): the changes that waited
 * go on, in order.  Called with ai->lock held; releases it and the
 * restore's ref on ai. */
static void afr_lkheal_end_locked(struct afr_priv *priv, struct afr_inode *ai)
{
	struct afr_waiter *parked = ai->lk_parked;

	ai->lk_restoring = false;
	ai->lk_parked = NULL;
	pthread_mutex_unlock(&ai->lock);
	while (parked) {
		struct afr_waiter *w = parked;

		parked = w->next;
		w->resume(w->call, ai);
		free(w);
	}
	afr_inode_put(priv, ai);
}

/* Plan the restore of s->ai's records on child.  _locked: ai->lock. */
static void afr_lkheal_plan_locked(struct afr_lkheal *s, int child)
{
	uint32_t up = afr_up_mask(s->priv);
	int count = 0;

	s->child = child;
	s->epoch = atomic_load(&s->priv->lk_epoch[child]);
	s->cur = 0;
	s->next = 0;
	s->granted = 0;
	s->undoing = false;
	s->restored = 0;
	s->failed = 0;
	s->first_err = 0;
	for (struct afr_lkfd *r = s->ai->lkfds; r; r = r->next)
		count += afr_lkfd_restorable(r, child, up);
	if (!count)
		return;
	s->fds = calloc((size_t)count, sizeof(*s->fds));
	if (!s->fds) {
		atomic_fetch_add(&s->priv->lk_unrestored, (uint64_t)count);
		return;
	}
	for (struct afr_lkfd *r = s->ai->lkfds; r; r = r->next) {
		struct afr_lkheal_fd *f = &s->fds[s->nfds];

		if (!afr_lkfd_restorable(r, child, up))
			continue;
		if (afr_lkfd_plan(r, &f->reqs, &f->n) != 0) {
			atomic_fetch_add(&s->priv->lk_unrestored, 1);
			continue;
		}
		f->rec = r;
		f->fd = xl_fd_ref(r->fd);
		s->nfds++;
	}
}

void afr_lkheal_start(struct afr_priv *priv, struct afr_inode *ai)
{
	struct afr_lkheal *s = calloc(1, sizeof(*s));

	if (!s) {
		/* Nothing restored: the fds stay lost there. */
		atomic_fetch_add(&priv->lk_unrestored, 1);
		pthread_mutex_lock(&ai->lock);
		ai->lk_want = 0;
		afr_lkheal_end_locked(priv, ai);
		return;
	}
	s->priv = priv;
	s->ai = ai;
	afr_lkheal_next_child(s);
}

/* The child's pass over the gfid is done: say how it went, once. */
static void afr_lkheal_child_done(struct afr_lkheal *s)
{
	struct xl *xl = s->priv->xl;
	const char *name = s->priv->children[s->child]->name;
	char gfid[XL_GFID_STR_LEN];

	if (s->restored)
		xl_info(xl->name, "locks of %d fds restored on %s: gfid=%s",
			s->restored, name, xl_gfid_to_str(s->ai->gfid, gfid));
	if (s->failed &&
	    (s->first_err == -EBADFD || s->first_err == -ENOTCONN)) {
		/* The fd was never open there, could not be reopened
		 * (protocol/client said why), or the child went again. */
		xl_debug(xl->name,
			 "locks of %d fds not restored on %s: gfid=%s "
			 "errno=%d",
			 s->failed, name, xl_gfid_to_str(s->failed_gfid, gfid),
			 -s->first_err);
	} else if (s->failed) {
		xl_warn(xl->name,
			"locks of %d fds not restored on %s: gfid=%s "
			"errno=%d; those fds fail there with EBADFD",
			s->failed, name, xl_gfid_to_str(s->failed_gfid, gfid),
			-s->first_err);
	}
	afr_lkheal_free_fds(s);
}

/* Next child of ai->lk_want; at the end the changes that waited go on. */
static void afr_lkheal_next_child(struct afr_lkheal *s)
{
	struct afr_inode *ai = s->ai;

	for (;;) {
		int child;

		pthread_mutex_lock(&ai->lock);
		if (!ai->lk_want)
			break;
		child = __builtin_ctz(ai->lk_want);
		ai->lk_want &= ~(1u << child);
		afr_lkheal_plan_locked(s, child);
		pthread_mutex_unlock(&ai->lock);
		if (s->nfds) {
			afr_lkheal_run(s);
			return;
		}
		afr_lkheal_free_fds(s);
	}
	ai->lk_want = 0;
	afr_lkheal_end_locked(s->priv, ai);
	free(s);
}

static void afr_lkheal_cbk(struct xl_call *none, struct xl_call *ic, void *ctx);

/* Send req (or its undo) through f to the child. */
static void afr_lkheal_send(struct afr_lkheal *s, struct afr_lkheal_fd *f,
			    const struct afr_lkreq *q, bool undo)
{
	struct xl_args args = {0};
	struct xl_cred cred = {0};
	enum xl_fop fop = q->flock ? XL_FOP_FLOCK : XL_FOP_LK;

	args.fd = xl_fd_ref(f->fd);
	args.xdata = xl_dict_new();
	if (!args.xdata ||
	    xl_dict_set_u64(args.xdata, XL_KEY_LK_RESTORE, 1) != 0) {
		xl_args_clear(&args);
		xl_call_internal_fail(s->priv->xl, s->priv->children[s->child],
				      fop, -ENOMEM, afr_lkheal_cbk, s);
		return;
	}
	if (q->flock) {
		args.cmd = undo			? LOCK_UN
			   : q->type == F_WRLCK ? LOCK_EX | LOCK_NB
						: LOCK_SH | LOCK_NB;
	} else {
		args.cmd = F_SETLK;
		args.lock.type = (int16_t)(undo ? F_UNLCK : q->type);
		args.lock.whence = SEEK_SET;
		args.lock.start = q->start;
		args.lock.len = xl_lk_range_len(q->start, q->end);
		args.lock.pid = q->pid;
		args.lock.owner = q->owner;
		cred.lk_owner = q->owner;
		cred.pid = q->pid;
	}
	xl_call_internal(s->priv->xl, XL_ORIGIN_NONE,
			 s->priv->children[s->child], fop, &cred, &args,
			 afr_lkheal_cbk, s);
}

/* The marker: the fd's n restore requests were granted. */
static void afr_lkheal_send_marker(struct afr_lkheal *s,
				   struct afr_lkheal_fd *f)
{
	struct xl_args args = {0};

	args.fd = xl_fd_ref(f->fd);
	args.cmd = F_GETLK;
	args.lock.type = F_WRLCK;
	args.lock.whence = SEEK_SET;
	args.xdata = xl_dict_new();
	if (!args.xdata || xl_dict_set_u64(args.xdata, XL_KEY_LK_RESTORED,
					   (uint64_t)f->n) != 0) {
		xl_args_clear(&args);
		xl_call_internal_fail(s->priv->xl, s->priv->children[s->child],
				      XL_FOP_LK, -ENOMEM, afr_lkheal_cbk, s);
		return;
	}
	xl_call_internal(s->priv->xl, XL_ORIGIN_NONE,
			 s->priv->children[s->child], XL_FOP_LK, NULL, &args,
			 afr_lkheal_cbk, s);
}

/* Still the connection the restore was planned on, and another child
 * that held the record all along still up (or nothing to hold)? */
static bool afr_lkheal_continuous(struct afr_lkheal *s, struct afr_lkheal_fd *f)
{
	uint32_t bit = 1u << s->child;
	bool ok;

	pthread_mutex_lock(&s->ai->lock);
	ok = atomic_load(&s->priv->lk_epoch[s->child]) == s->epoch &&
	     !f->rec->broken &&
	     (f->n == 0 || (f->rec->held & afr_up_mask(s->priv) & ~bit) != 0);
	pthread_mutex_unlock(&s->ai->lock);
	return ok;
}

static void afr_lkheal_fail(struct afr_lkheal *s, int err)
{
	s->err = err;
	s->undoing = true;
	s->undo = 0;
}

/* fds[cur] is done (restored or undone): on to the next one. */
static void afr_lkheal_fd_done(struct afr_lkheal *s, bool restored)
{
	if (restored) {
		s->restored++;
		atomic_fetch_add(&s->priv->lk_restored, 1);
	} else {
		if (!s->failed++) {
			s->first_err = s->err;
			memcpy(s->failed_gfid, s->fds[s->cur].fd->gfid,
			       XL_GFID_LEN);
		}
		atomic_fetch_add(&s->priv->lk_unrestored, 1);
	}
	s->cur++;
	s->next = 0;
	s->granted = 0;
	s->undoing = false;
}

/*
 * Send the next request of the restore.  Returns true when one was sent
 * (its answer goes on), false when the child's pass is over (s may be
 * freed then).
 */
static bool afr_lkheal_step(struct afr_lkheal *s)
{
	while (s->cur < s->nfds) {
		struct afr_lkheal_fd *f = &s->fds[s->cur];

		if (s->undoing) {
			if (s->undo < s->granted) {
				afr_lkheal_send(s, f, &f->reqs[s->undo++],
						true);
				return true;
			}
			afr_lkheal_fd_done(s, false);
			continue;
		}
		if (s->next < f->n) {
			afr_lkheal_send(s, f, &f->reqs[s->next], false);
			return true;
		}
		if (!afr_lkheal_continuous(s, f)) {
			afr_lkheal_fail(s, -ENOTCONN);
			continue;
		}
		s->next = f->n + 1;
		afr_lkheal_send_marker(s, f);
		return true;
	}
	afr_lkheal_child_done(s);
	afr_lkheal_next_child(s);
	return false;
}

/* Drive the restore from here until a request is in flight.  An answer
 * that comes while its request is being sent (inline) is taken over by
 * the sender's loop, so the stack does not grow with the requests. */
static void afr_lkheal_run(struct afr_lkheal *s)
{
	for (;;) {
		int sending = AFR_LKH_SENDING;

		atomic_store(&s->phase, AFR_LKH_SENDING);
		if (!afr_lkheal_step(s))
			return;
		if (atomic_compare_exchange_strong(&s->phase, &sending,
						   AFR_LKH_IDLE))
			return; /* the answer will go on */
				/* answered inline: go on here */
	}
}

static void afr_lkheal_cbk(struct xl_call *none, struct xl_call *ic, void *ctx)
{
	int child = afr_ic_child(ic);
	struct xl_reply *reply = &ic->reply;
	struct afr_lkheal *s = ctx;
	struct afr_lkheal_fd *f = &s->fds[s->cur];
	int sending = AFR_LKH_SENDING;
	int ret = reply->ret;

	(void)none;
	if (s->undoing) {
		if (ret < 0 && ret != -ENOTCONN && ret != -EBADFD)
			xl_warn(s->priv->xl->name,
				"undoing a lock restore on %s: unlock "
				"failed: errno=%d",
				s->priv->children[child]->name, -ret);
	} else if (s->next > f->n) { /* the marker */
		if (ret == 0) {
			bool same;

			pthread_mutex_lock(&s->ai->lock);
			same =
			    atomic_load(&s->priv->lk_epoch[child]) == s->epoch;
			if (same)
				afr_lkfd_restored(f->rec, child);
			pthread_mutex_unlock(&s->ai->lock);
			/* Another connection now: the fd is lost again
			 * there, and that return plans its own restore. */
			s->err = -ENOTCONN;
			afr_lkheal_fd_done(s, same);
		} else {
			afr_lkheal_fail(s, ret);
		}
	} else if (ret >= 0) {
		s->granted++;
		s->next++;
	} else {
		afr_lkheal_fail(s, ret);
	}
	if (atomic_compare_exchange_strong(&s->phase, &sending,
					   AFR_LKH_ANSWERED))
		return; /* the sender goes on */
	afr_lkheal_run(s);
}

/* ---- notify ------------------------------------------------------------ */

void afr_lkheal_child_down(struct afr_priv *priv, int child)
{
	pthread_mutex_lock(&priv->lock);
	for (int b = 0; b < AFR_BUCKETS; b++)
		for (struct afr_inode *ai = priv->table[b]; ai;
		     ai = ai->hash_next) {
			pthread_mutex_lock(&ai->lock);
			afr_lkfd_child_gone(ai->lkfds, child);
			ai->lk_want &= ~(1u << child);
			pthread_mutex_unlock(&ai->lock);
		}
	pthread_mutex_unlock(&priv->lock);
}

void afr_lkheal_child_up(struct afr_priv *priv, int child)
{
	uint32_t up = afr_up_mask(priv);
	struct afr_inode **todo = NULL;
	int n = 0, cap = 0;

	pthread_mutex_lock(&priv->lock);
	for (int b = 0; b < AFR_BUCKETS; b++)
		for (struct afr_inode *ai = priv->table[b]; ai;
		     ai = ai->hash_next) {
			pthread_mutex_lock(&ai->lock);
			/* A new connection holds nothing yet. */
			afr_lkfd_child_gone(ai->lkfds, child);
			for (struct afr_lkfd *r = ai->lkfds; r; r = r->next)
				if (afr_lkfd_restorable(r, child, up))
					ai->lk_want |= 1u << child;
			if (ai->lk_want && !ai->lk_restoring && !ai->lk_busy) {
				if (n == cap) {
					int c = cap ? 2 * cap : 16;
					struct afr_inode **t = realloc(
					    todo, (size_t)c * sizeof(*t));

					if (t) {
						todo = t;
						cap = c;
					}
				}
				/* Without memory the next lock change of
				 * the gfid starts it (afr_lk_leave). */
				if (n < cap) {
					ai->lk_restoring = true;
					ai->refs++;
					todo[n++] = ai;
				}
			}
			pthread_mutex_unlock(&ai->lock);
		}
	pthread_mutex_unlock(&priv->lock);
	for (int i = 0; i < n; i++)
		afr_lkheal_start(priv, todo[i]);
	free(todo);
}

void afr_lkheal_fini(struct afr_priv *priv)
{
	pthread_mutex_lock(&priv->lock);
	for (int b = 0; b < AFR_BUCKETS; b++)
		for (struct afr_inode *ai = priv->table[b]; ai;
		     ai = ai->hash_next) {
			pthread_mutex_lock(&ai->lock);
			while (ai->lkfds) {
				struct afr_lkfd *r = ai->lkfds;
				struct afr_fdctx *ctx =
				    (struct afr_fdctx *)((char *)r -
							 offsetof(
							     struct afr_fdctx,
							     lk));

				ai->lkfds = r->next;
				r->next = NULL;
				/* The fd may outlive the graph: its ctx then
				 * frees itself alone. */
				ctx->lk_linked = false;
				ctx->ai = NULL;
			}
			pthread_mutex_unlock(&ai->lock);
		}
	pthread_mutex_unlock(&priv->lock);
}
