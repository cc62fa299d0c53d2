/*
 * unify-sched.c - the placement schedulers of cluster/unify (see
 * unify-sched.h).  Pure functions: no locks, no clock, no allocation.
 *
 * alu (adaptive least usage) narrows the candidates in three steps, each
 * keeping the children within a threshold of the best one:
 *   1. free space: free >= max_free - alu.disk-usage.entry-threshold
 *   2. files:      files <= min_files + alu.file-count.entry-threshold
 *   3. writes:     pending <= min_pending + alu.write-usage.entry-threshold
 * and then goes round-robin among what is left.  With the defaults a child
 * that has much less free space than the emptiest one gets no new files
 * until the others have caught up.
 */
#include "config.h"

#include "unify-sched.h"

#include <errno.h>
#include <string.h>

#define UNIFY_SCHED_MAX 64

static const char *const unify_sched_names[] = {"rr", "random", "alu", "nufa"};

int unify_sched_parse(const char *name, enum unify_sched_kind *out)
{
	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(name, unify_sched_names[i]) == 0) {
			*out = (enum unify_sched_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *unify_sched_name(enum unify_sched_kind kind)
{
	return (unsigned)kind < 4 ? unify_sched_names[kind] : "?";
}

bool unify_sched_has_room(const struct unify_sched_child *c,
			  unsigned min_free_pct)
{
	if (!c->stats_known || c->total_bytes == 0)
		return true;
	/* free / total >= pct / 100, without overflow for any disk size */
	return (long double)c->free_bytes * 100.0L >=
	       (long double)c->total_bytes * (long double)min_free_pct;
}

/* The first candidate at or after *cursor (cyclic); advances *cursor. */
static int unify_sched_rr(const bool *cand, int n, unsigned *cursor)
{
	for (int k = 0; k < n; k++) {
		int i = (int)((*cursor + (unsigned)k) % (unsigned)n);

		if (cand[i]) {
			*cursor = (unsigned)i + 1;
			return i;
		}
	}
	return -ENOTCONN;
}

static int unify_sched_random(const bool *cand, int n, unsigned rnd)
{
	int count = 0;

	for (int i = 0; i < n; i++)
		count += cand[i];
	if (count == 0)
		return -ENOTCONN;
	rnd %= (unsigned)count;
	for (int i = 0; i < n; i++)
		if (cand[i] && rnd-- == 0)
			return i;
	return -ENOTCONN;
}

/* Keep candidates whose value is within threshold of the best one (the
 * largest when want_max, else the smallest). */
static void unify_sched_narrow(bool *cand, const uint64_t *val, int n,
			       uint64_t threshold, bool want_max)
{
	uint64_t best = want_max ? 0 : UINT64_MAX;

	for (int i = 0; i < n; i++) {
		if (!cand[i])
			continue;
		if (want_max ? val[i] > best : val[i] < best)
			best = val[i];
	}
	for (int i = 0; i < n; i++) {
		if (!cand[i])
			continue;
		if (want_max ? val[i] + threshold < best
			     : val[i] > best + threshold)
			cand[i] = false;
	}
}

static int unify_sched_alu(const struct unify_sched_conf *conf,
			   const struct unify_sched_child *c, bool *cand, int n,
			   unsigned *cursor)
{
	uint64_t val[UNIFY_SCHED_MAX];

	for (int i = 0; i < n; i++)
		val[i] = c[i].stats_known ? c[i].free_bytes : UINT64_MAX / 2;
	unify_sched_narrow(cand, val, n, conf->alu_disk_threshold, true);
	for (int i = 0; i < n; i++)
		val[i] = c[i].stats_known ? c[i].files : 0;
	unify_sched_narrow(cand, val, n, conf->alu_files_threshold, false);
	for (int i = 0; i < n; i++)
		val[i] = c[i].pending_writes;
	unify_sched_narrow(cand, val, n, conf->alu_write_threshold, false);
	return unify_sched_rr(cand, n, cursor);
}

/* Every up child full: the one with the most free space. */
static int unify_sched_least_full(const struct unify_sched_child *c, int n)
{
	int best = -ENOTCONN;

	for (int i = 0; i < n; i++)
		if (c[i].up &&
		    (best < 0 || c[i].free_bytes > c[best].free_bytes))
			best = i;
	return best;
}

int unify_sched_pick(const struct unify_sched_conf *conf,
		     const struct unify_sched_child *c, int n, unsigned *cursor,
		     unsigned rnd)
{
	bool cand[UNIFY_SCHED_MAX];
	int count = 0;

	if (n <= 0 || n > UNIFY_SCHED_MAX)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		cand[i] =
		    c[i].up && unify_sched_has_room(&c[i], conf->min_free_pct);
		count += cand[i];
	}
	if (count == 0)
		return unify_sched_least_full(c, n);
	switch (conf->kind) {
	case UNIFY_SCHED_RANDOM:
		return unify_sched_random(cand, n, rnd);
	case UNIFY_SCHED_ALU:
		return unify_sched_alu(conf, c, cand, n, cursor);
	case UNIFY_SCHED_NUFA:
		if (conf->local >= 0 && conf->local < n && cand[conf->local])
			return conf->local;
		return unify_sched_rr(cand, n, cursor);
	case UNIFY_SCHED_RR:
	default:
		return unify_sched_rr(cand, n, cursor);
	}
}
