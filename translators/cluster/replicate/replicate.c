/*
 * replicate.c - cluster/replicate: the descriptor, options, notify, state
 * dump, the per-gfid state table and the idle timer thread.
 *
 * notify: CHILD_UP goes to the parents when the first child is up, and
 * CHILD_DOWN when none is left (quorum is checked per fop, not here).  A
 * child that comes back after having been down asks the timer thread for
 * an index crawl (option self-heal-daemon), so what it missed is healed in
 * the background, and gets back the POSIX locks and flocks another copy
 * kept meanwhile (replicate-lkheal.c).
 *
 * The timer thread never blocks on a child: it only starts asynchronous
 * work (delayed post-ops, crawls) and sleeps on priv->cond.
 */
#include "config.h"

#include "replicate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t afr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool afr_data_ok_locked(struct afr_priv *priv, struct afr_inode *ai,
			uint32_t mask)
{
	return afr_data_writable(priv, ai ? ai->bad : 0, mask);
}

bool afr_data_ok(struct afr_priv *priv, struct afr_inode *ai, uint32_t mask)
{
	bool ok;

	if (!priv->arbiters || !ai)
		return afr_data_ok_locked(priv, NULL, mask);
	pthread_mutex_lock(&ai->lock);
	ok = afr_data_ok_locked(priv, ai, mask);
	pthread_mutex_unlock(&ai->lock);
	return ok;
}

struct afr_local *afr_local(struct xl_call *call)
{
	struct afr_local *l = xl_call_local(call);

	if (l && !l->priv) {
		l->priv = call->xl->private;
		l->child = -1;
	}
	return l;
}

static void afr_local_free(void *p)
{
	struct afr_local *l = p;

	xl_reply_clear(&l->reply);
	if (l->ai)
		afr_inode_put(l->priv, l->ai);
	free(l->txn);
}

const uint8_t *afr_call_gfid(struct xl_call *call)
{
	if (!xl_gfid_is_null(call->args.loc.gfid))
		return call->args.loc.gfid;
	if (call->args.fd)
		return call->args.fd->gfid;
	return call->args.loc.gfid;
}

/* ---- per-gfid state ------------------------------------------------- */

static unsigned afr_hash(const uint8_t *gfid)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < XL_GFID_LEN; i++)
		h = (h ^ gfid[i]) * 16777619u;
	return h % AFR_BUCKETS;
}

/* A ref on the state of gfid, created when absent; NULL on ENOMEM. */
struct afr_inode *afr_inode_get(struct afr_priv *priv, const uint8_t *gfid)
{
	unsigned b = afr_hash(gfid);
	struct afr_inode *ai;

	pthread_mutex_lock(&priv->lock);
	for (ai = priv->table[b]; ai; ai = ai->hash_next)
		if (memcmp(ai->gfid, gfid, XL_GFID_LEN) == 0)
			break;
	if (!ai) {
		ai = xl_calloc(priv->xl, 1, sizeof(*ai));
		if (ai) {
			memcpy(ai->gfid, gfid, XL_GFID_LEN);
			ai->unjudged = priv->returned;
			pthread_mutex_init(&ai->lock, NULL);
			ai->hash_next = priv->table[b];
			priv->table[b] = ai;
			priv->inode_count++;
		}
	}
	if (ai)
		ai->refs++;
	pthread_mutex_unlock(&priv->lock);
	return ai;
}

/* Drop a ref.  The state is forgotten when nobody holds it and it says
 * nothing worth keeping (no bad copy, no split-brain, no eager lock). */
void afr_inode_put(struct afr_priv *priv, struct afr_inode *ai)
{
	unsigned b = afr_hash(ai->gfid);
	struct afr_inode **pp;
	bool drop = false;

	pthread_mutex_lock(&priv->lock);
	if (--ai->refs == 0) {
		pthread_mutex_lock(&ai->lock);
		drop = !ai->bad && !ai->sb && ai->estate == AFR_E_NONE &&
		       !ai->healing && !ai->waiters && !ai->lkfds &&
		       !ai->lk_busy && !ai->lk_restoring && !ai->lk_parked;
		pthread_mutex_unlock(&ai->lock);
		if (drop) {
			for (pp = &priv->table[b]; *pp; pp = &(*pp)->hash_next)
				if (*pp == ai) {
					*pp = ai->hash_next;
					break;
				}
			priv->inode_count--;
		}
	}
	pthread_mutex_unlock(&priv->lock);
	if (drop) {
		pthread_mutex_destroy(&ai->lock);
		xl_free(priv->xl, ai);
	}
}

void afr_inode_ref(struct afr_priv *priv, struct afr_inode *ai)
{
	pthread_mutex_lock(&priv->lock);
	ai->refs++;
	pthread_mutex_unlock(&priv->lock);
}

/* ---- internal fops -------------------------------------------------- */

int afr_ic_child(const struct xl_call *ic)
{
	const struct xl *from = ic->from;

	for (int i = 0; from && i < from->child_count; i++)
		if (from->children[i] == ic->xl)
			return i;
	return -1;
}

int afr_loc_gfid(struct xl_loc *loc, const uint8_t *gfid)
{
	memset(loc, 0, sizeof(*loc));
	memcpy(loc->gfid, gfid, XL_GFID_LEN);
	return 0;
}

static void afr_put_be64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)u;
		u >>= 8;
	}
}

struct xl_dict *afr_pending_dict(struct afr_priv *priv, int type, uint32_t mask,
				 int64_t delta)
{
	struct xl_dict *d = xl_dict_new();
	uint8_t v[8 * AFR_TYPES];

	if (!d)
		return NULL;
	for (int j = 0; j < priv->n; j++) {
		memset(v, 0, sizeof(v));
		if (mask & (1u << j))
			afr_put_be64(v + 8 * type, delta);
		if (xl_dict_set(d, priv->pending_key[j], v, sizeof(v)) != 0) {
			xl_dict_unref(d);
			return NULL;
		}
	}
	return d;
}

/* ---- notify ----------------------------------------------------------- */

static int afr_child_index(struct afr_priv *priv, struct xl *from)
{
	for (int i = 0; i < priv->n; i++)
		if (priv->children[i] == from)
			return i;
	return -1;
}

/* priv->lock held: children `bits` are back; every object, known now or
 * later, is to be judged again before they serve its reads. */
static void afr_mark_unjudged_locked(struct afr_priv *priv, uint32_t bits)
{
	priv->returned |= bits;
	for (int b = 0; b < AFR_BUCKETS; b++)
		for (struct afr_inode *ai = priv->table[b]; ai;
		     ai = ai->hash_next) {
			pthread_mutex_lock(&ai->lock);
			ai->unjudged |= bits;
			pthread_mutex_unlock(&ai->lock);
		}
}

static int afr_notify(struct xl *xl, enum xl_event ev, struct xl *from)
{
	struct afr_priv *priv = xl->private;
	int i = from ? afr_child_index(priv, from) : -1;
	bool send_up = false, send_down = false;

	if (ev == XL_EV_PARENT_UP || i < 0)
		return xl_notify_default(xl, ev, from);
	pthread_mutex_lock(&priv->lock);
	if (ev == XL_EV_CHILD_UP) {
		if (!(priv->up & (1u << i)) && (priv->seen_down & (1u << i)) &&
		    priv->heal_daemon) {
			priv->crawl_wanted |= 1u << i;
			pthread_cond_signal(&priv->cond);
		}
		/* Back after an absence: it may have missed changes to any
		 * object.  Not read from until a lookup or an open judges
		 * the object again (a stat answered from the copy that
		 * missed a write gave the kernel the old size). */
		if (!(priv->up & (1u << i)) && (priv->seen_down & (1u << i)))
			afr_mark_unjudged_locked(priv, 1u << i);
		priv->up |= 1u << i;
		priv->seen_down &= ~(1u << i);
		if (!priv->announced) {
			priv->announced = true;
			send_up = true;
		}
	} else if (ev == XL_EV_CHILD_DOWN) {
		if (priv->up & (1u << i))
			xl_warn(xl->name, "child %s is down", from->name);
		/* A child can miss changes once it was up, or while the
		 * others serve the volume. */
		if ((priv->up & (1u << i)) || priv->announced)
			priv->seen_down |= 1u << i;
		priv->up &= ~(1u << i);
		if (priv->up == 0 && priv->announced) {
			priv->announced = false;
			send_down = true;
		}
	}
	pthread_mutex_unlock(&priv->lock);
	if (ev == XL_EV_CHILD_UP || ev == XL_EV_CHILD_DOWN)
		atomic_fetch_add(&priv->lk_epoch[i], 1);
	if (ev == XL_EV_CHILD_DOWN)
		afr_lkheal_child_down(priv, i);
	if (ev == XL_EV_CHILD_UP) {
		xl_info(xl->name, "child %s is up", from->name);
		afr_lkheal_child_up(priv, i);
	}
	if (send_up)
		xl_notify_parents(xl, XL_EV_CHILD_UP);
	if (send_down)
		xl_notify_parents(xl, XL_EV_CHILD_DOWN);
	return 0;
}

/* ---- timer thread ------------------------------------------------------ */

void afr_wake_timer(struct afr_priv *priv)
{
	pthread_mutex_lock(&priv->lock);
	pthread_cond_signal(&priv->cond);
	pthread_mutex_unlock(&priv->lock);
}

static void *afr_timer_main(void *arg)
{
	struct afr_priv *priv = arg;
	struct timespec ts;
	uint32_t crawl;
	bool start;

	pthread_mutex_lock(&priv->lock);
	while (!priv->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&priv->cond, &priv->lock, &ts);
		if (priv->stopping)
			break;
		crawl = priv->crawl_wanted;
		start = crawl && !priv->crawl_running;
		if (start) {
			priv->crawl_wanted = 0;
			priv->crawl_running = true;
		}
		pthread_mutex_unlock(&priv->lock);
		afr_eager_tick(priv);
		if (start)
			afr_crawl_start(priv);
		pthread_mutex_lock(&priv->lock);
	}
	pthread_mutex_unlock(&priv->lock);
	return NULL;
}

/* ---- init / fini / dump ---------------------------------------------- */

static int afr_parse_quorum(const char *s, int n, int *out, char **err)
{
	char *end;
	long v;

	if (strcmp(s, "auto") == 0) {
		*out = -1;
		return 0;
	}
	if (strcmp(s, "none") == 0) {
		*out = 0;
		return 0;
	}
	v = strtol(s, &end, 10);
	if (*s && !*end && v >= 1 && v <= n) {
		*out = (int)v;
		return 0;
	}
	if (asprintf(err, "option quorum: '%s' is not auto, none or 1..%d", s,
		     n) < 0)
		*err = NULL;
	return -EINVAL;
}

static int afr_init(struct xl *xl, char **err)
{
	struct afr_priv *priv;
	const char *s;
	int64_t v;
	size_t len = 0;
	int ret;

	if (xl->child_count < 1 || xl->child_count > AFR_MAX_CHILDREN) {
		if (asprintf(err, "cluster/replicate needs 1..%d subvolumes",
			     AFR_MAX_CHILDREN) < 0)
			*err = NULL;
		return -EINVAL;
	}
	priv = xl_calloc(xl, 1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	priv->xl = xl;
	priv->n = xl->child_count;
	priv->children = xl->children;
	pthread_mutex_init(&priv->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&priv->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	for (int i = 0; i < priv->n; i++) {
		if (asprintf(&priv->pending_key[i], "%s%s", AFR_PENDING_PREFIX,
			     xl->children[i]->name) < 0) {
			ret = -ENOMEM;
			goto fail;
		}
		len += strlen(priv->pending_key[i]) + 1;
	}
	priv->xattr_req = malloc(len);
	if (!priv->xattr_req) {
		ret = -ENOMEM;
		goto fail;
	}
	priv->xattr_req_len = (uint32_t)len;
	len = 0;
	for (int i = 0; i < priv->n; i++) {
		size_t l = strlen(priv->pending_key[i]) + 1;

		memcpy(priv->xattr_req + len, priv->pending_key[i], l);
		len += l;
	}
	xl_opt_str(xl, "quorum", &s);
	ret = afr_parse_quorum(s, priv->n, &priv->quorum, err);
	if (ret)
		goto fail;
	xl_opt_int(xl, "arbiter-count", &v);
	if (v > 0 && priv->n != 3) {
		if (asprintf(err,
			     "arbiter-count %d needs 3 children (two data "
			     "copies and an arbiter), not %d",
			     (int)v, priv->n) < 0)
			*err = NULL;
		ret = -EINVAL;
		goto fail;
	}
	/* The arbiter is the last child (mortar-volgen puts it there). */
	priv->arbiters = v > 0 ? 1u << (priv->n - 1) : 0;
	xl_opt_str(xl, "favorite-child-policy", &s);
	priv->favorite = strcmp(s, "size") == 0	      ? AFR_POLICY_SIZE
			 : strcmp(s, "mtime") == 0    ? AFR_POLICY_MTIME
			 : strcmp(s, "majority") == 0 ? AFR_POLICY_MAJORITY
						      : AFR_POLICY_NONE;
	xl_opt_bool(xl, "heal-on-lookup", &priv->heal_on_lookup);
	xl_opt_bool(xl, "self-heal-daemon", &priv->heal_daemon);
	xl_opt_int(xl, "heal-chunk-size", &v);
	priv->chunk_size = (uint64_t)v;
	xl_opt_int(xl, "heal-parallel", &v);
	priv->heal_parallel = (int)v;
	xl_opt_int(xl, "post-op-delay-msec", &v);
	priv->post_op_delay_ms = (int)v;
	xl_opt_bool(xl, "eager-entry-lock", &priv->eager_entry);
	{
		char host[256] = "";
		uint32_t h = 2166136261u;

		gethostname(host, sizeof(host) - 1);
		for (const char *p = host; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		priv->client_salt = h ^ (uint32_t)getpid();
	}
	xl->private = priv;
	ret = afr_heal_init(priv);
	if (ret == 0 &&
	    pthread_create(&priv->timer, NULL, afr_timer_main, priv) != 0)
		ret = -EAGAIN;
	if (ret != 0) {
		afr_heal_fini(priv);
		xl->private = NULL;
		goto fail;
	}
	priv->timer_ok = true;
	return 0;
fail:
	for (int i = 0; i < priv->n; i++)
		free(priv->pending_key[i]);
	free(priv->xattr_req);
	pthread_cond_destroy(&priv->cond);
	pthread_mutex_destroy(&priv->lock);
	xl_free(xl, priv);
	return ret;
}

static void afr_fini(struct xl *xl)
{
	struct afr_priv *priv = xl->private;
	struct afr_inode *ai, *next;

	if (!priv)
		return;
	afr_eager_release_all(priv);
	pthread_mutex_lock(&priv->lock);
	priv->stopping = true;
	pthread_cond_signal(&priv->cond);
	pthread_mutex_unlock(&priv->lock);
	if (priv->timer_ok)
		pthread_join(priv->timer, NULL);
	afr_heal_fini(priv);
	afr_lkheal_fini(priv);
	for (int b = 0; b < AFR_BUCKETS; b++)
		for (ai = priv->table[b]; ai; ai = next) {
			next = ai->hash_next;
			pthread_mutex_destroy(&ai->lock);
			xl_free(xl, ai);
		}
	for (int i = 0; i < priv->n; i++)
		free(priv->pending_key[i]);
	free(priv->xattr_req);
	pthread_cond_destroy(&priv->cond);
	pthread_mutex_destroy(&priv->lock);
	xl_free(xl, priv);
	xl->private = NULL;
}

static void afr_dump(struct xl *xl, FILE *out)
{
	struct afr_priv *priv = xl->private;
	uint32_t all = (uint32_t)((1ull << priv->n) - 1);
	int eager = 0, bad = 0, sb = 0, lkfds = 0, lkall = 0, lkrest = 0;

	pthread_mutex_lock(&priv->lock);
	for (int b = 0; b < AFR_BUCKETS; b++)
		for (struct afr_inode *ai = priv->table[b]; ai;
		     ai = ai->hash_next) {
			eager += ai->estate != AFR_E_NONE;
			bad += ai->bad != 0;
			sb += ai->sb != 0;
			pthread_mutex_lock(&ai->lock);
			lkrest += ai->lk_restoring;
			for (struct afr_lkfd *r = ai->lkfds; r; r = r->next) {
				lkfds++;
				lkall += (r->held & all) == all;
			}
			pthread_mutex_unlock(&ai->lock);
		}
	fprintf(out,
		"children=%d up=0x%x quorum=%d arbiters=0x%x "
		"favorite-child-policy=%d\n",
		priv->n, (unsigned)atomic_load(&priv->up), priv->quorum,
		(unsigned)priv->arbiters, (int)priv->favorite);
	fprintf(out,
		"inodes=%d eager-locks=%d with-bad-copy=%d split-brain=%d\n",
		priv->inode_count, eager, bad, sb);
	fprintf(out,
		"heals-running=%d heals-done=%" PRIu64 " heals-failed=%" PRIu64
		" index-crawls=%" PRIu64 "\n",
		priv->heals_running, priv->heals_done, priv->heals_failed,
		priv->index_crawls);
	fprintf(out,
		"txn-locks-at-once=%" PRIu64 " txn-locks-contended=%" PRIu64
		"\n",
		(uint64_t)atomic_load(&priv->txn_locks_at_once),
		(uint64_t)atomic_load(&priv->txn_locks_contended));
	/* lock-fds: fds holding locks (or that did) through this client;
	 * on-all: of those, held on every child; restores: fd records
	 * given back to a returning child, or not. */
	fprintf(out,
		"lock-fds=%d lock-fds-on-all=%d lock-restoring=%d "
		"lock-restores=%" PRIu64 " lock-restores-failed=%" PRIu64 "\n",
		lkfds, lkall, lkrest, atomic_load(&priv->lk_restored),
		atomic_load(&priv->lk_unrestored));
	pthread_mutex_unlock(&priv->lock);
}

/* A number must also be at most the child count (checked at init). */
static const char *const afr_quorums[] = {
    "auto", "none", "1",  "2",	"3",  "4",  "5",  "6",	"7", "8",
    "9",    "10",   "11", "12", "13", "14", "15", "16", NULL};

static const char *const afr_policies[] = {"none", "size", "mtime", "majority",
					   NULL};

static const struct xl_option_desc afr_options[] = {
    {.key = "quorum",
     .type = XL_OPT_ENUM,
     .default_value = "auto",
     .choices = afr_quorums,
     .help = "client quorum for changes: auto (more than half of the "
	     "children, or exactly half including the first), none, or a "
	     "number of children; a change without quorum fails with EROFS"},
    {.key = "arbiter-count",
     .type = XL_OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = 1,
     .help = "1: the last of the 3 children is an arbiter brick (names, "
	     "metadata and the changelog, no file data; mortar-volgen "
	     "--arbiter 1): never read from, never a data-heal source, part "
	     "of quorum"},
    {.key = "favorite-child-policy",
     .type = XL_OPT_ENUM,
     .default_value = "none",
     .choices = afr_policies,
     .help = "resolve split-brain automatically by picking the bigger copy "
	     "(size), the newest (mtime) or the one most copies agree with "
	     "(majority); none leaves it to mortar-heal resolve"},
    {.key = "heal-on-lookup",
     .type = XL_OPT_BOOL,
     .default_value = "on",
     .help = "heal a file in the background when a lookup finds its copies "
	     "out of sync"},
    {.key = "self-heal-daemon",
     .type = XL_OPT_BOOL,
     .default_value = "on",
     .help = "when a child comes back, heal what the pending indices list, "
	     "in the background"},
    {.key = "heal-chunk-size",
     .type = XL_OPT_SIZE,
     .default_value = "128K",
     .min = 4096,
     .max = 1 << 20,
     .help = "data heal compares copies by XXH64 checksums of chunks of "
	     "this size and copies only the chunks that differ"},
    {.key = "heal-parallel",
     .type = XL_OPT_INT,
     .default_value = "4",
     .min = 1,
     .max = 64,
     .help = "files an index crawl heals at the same time"},
    {.key = "post-op-delay-msec",
     .type = XL_OPT_INT,
     .default_value = "200",
     .min = 0,
     .max = 10000,
     .help = "keep the lock and the pending marks of a file being written "
	     "this long after the last write (eager locking); 0 ends each "
	     "write's transaction at once"},
    {.key = "eager-entry-lock",
     .type = XL_OPT_BOOL,
     .default_value = "off",
     .help = "creates, removals and renames in one directory from this "
	     "client share one entry lock and pre-op on it, kept "
	     "post-op-delay-msec after the last one (at most 1 s while they "
	     "keep coming); off: a lock, pre-op and post-op per change"},
    {0},
};

/* A fop replicate does not carry to its copies: a clear error, never a
 * silent pass to the first child. */
static void afr_not_supported(struct xl *xl, struct xl_call *call)
{
	xl_err(xl->name, "%s is not supported through cluster/replicate",
	       xl_fop_name(call->fop));
	xl_unwind_error(call, -EOPNOTSUPP);
}

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "cluster/replicate",
    .description = "synchronous N-way replication with changelogs, quorum "
		   "and self-heal",
    .init = afr_init,
    .fini = afr_fini,
    .notify = afr_notify,
    .dump = afr_dump,
    .options = afr_options,
    .local_size = sizeof(struct afr_local),
    .local_free = afr_local_free,
    .fd_ctx_free = afr_fd_ctx_free,
    .min_children = 1,
    .max_children = AFR_MAX_CHILDREN,
    .unhandled = XL_UNHANDLED_REFUSE,
    .fops =
	{
	    [XL_FOP_LOOKUP] = afr_lookup,
	    [XL_FOP_STAT] = afr_read_fop,
	    [XL_FOP_SETATTR] = afr_setattr,
	    [XL_FOP_ACCESS] = afr_read_fop,
	    [XL_FOP_READLINK] = afr_read_fop,
	    [XL_FOP_MKNOD] = afr_entry_fop,
	    [XL_FOP_MKDIR] = afr_entry_fop,
	    [XL_FOP_UNLINK] = afr_entry_fop,
	    [XL_FOP_RMDIR] = afr_entry_fop,
	    [XL_FOP_SYMLINK] = afr_entry_fop,
	    [XL_FOP_RENAME] = afr_entry_fop,
	    [XL_FOP_LINK] = afr_entry_fop,
	    [XL_FOP_CREATE] = afr_entry_fop,
	    [XL_FOP_OPEN] = afr_open,
	    [XL_FOP_READ] = afr_read_fop,
	    [XL_FOP_WRITE] = afr_writev,
	    [XL_FOP_FLUSH] = afr_flush,
	    [XL_FOP_RELEASE] = afr_release,
	    [XL_FOP_FSYNC] = afr_fsync,
	    [XL_FOP_OPENDIR] = afr_opendir,
	    [XL_FOP_READDIR] = afr_readdir,
	    [XL_FOP_READDIRPLUS] = afr_readdir,
	    [XL_FOP_RELEASEDIR] = afr_releasedir,
	    [XL_FOP_FSYNCDIR] = afr_fsync,
	    [XL_FOP_STATFS] = afr_statfs,
	    [XL_FOP_SETXATTR] = afr_setxattr,
	    [XL_FOP_GETXATTR] = afr_getxattr,
	    [XL_FOP_LISTXATTR] = afr_read_fop,
	    [XL_FOP_REMOVEXATTR] = afr_removexattr,
	    [XL_FOP_LK] = afr_lk,
	    [XL_FOP_FLOCK] = afr_lk,
	    [XL_FOP_FALLOCATE] = afr_fallocate,
	    [XL_FOP_LSEEK] = afr_read_fop,
	    /* internal locks from a translator above (distribute's layout
	     * and migration locks): on every live copy, like POSIX locks */
	    [XL_FOP_INODELK] = afr_lk,
	    /* counters of its own above replicate would need a
	     * transaction of their own: nobody sends it, refuse */
	    [XL_FOP_XATTROP] = afr_not_supported,
	    /* a checksum of the data: from a good copy, as reads */
	    [XL_FOP_RCHECKSUM] = afr_read_fop,
	},
};
