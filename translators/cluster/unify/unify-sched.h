/*
 * unify-sched.h - where cluster/unify puts a new file: the schedulers rr,
 * random, alu and nufa as pure functions over a snapshot of the children.
 *
 * The translator (unify.c) keeps the snapshot (up/down from notify, free
 * space and file counts from statfs answers, pending writes it counts) and
 * calls unify_sched_pick under its lock; nothing here blocks, allocates or
 * reads a clock, so the unit tests drive it with made-up snapshots.
 */
#ifndef UNIFY_SCHED_H
#define UNIFY_SCHED_H

#include <stdbool.h>
#include <stdint.h>

enum unify_sched_kind {
	UNIFY_SCHED_RR = 0,
	UNIFY_SCHED_RANDOM,
	UNIFY_SCHED_ALU,
	UNIFY_SCHED_NUFA,
};

/* What the scheduler knows of one child. */
struct unify_sched_child {
	bool up;
	bool stats_known;     /* a statfs answer arrived since it came up */
	uint64_t free_bytes;  /* bavail * frsize */
	uint64_t total_bytes; /* blocks * frsize */
	uint64_t files;	      /* inodes in use (files - ffree) */
	uint64_t pending_writes;
};

struct unify_sched_conf {
	enum unify_sched_kind kind;
	unsigned min_free_pct; /* 0..100: below this a child takes no file */
	int local;	       /* nufa: preferred child, -1 = none */
	uint64_t alu_disk_threshold;  /* bytes */
	uint64_t alu_files_threshold; /* files */
	uint64_t alu_write_threshold; /* pending writes */
};

/* Parse a scheduler name ("rr", "random", "alu", "nufa"); -EINVAL if
 * unknown. */
int unify_sched_parse(const char *name, enum unify_sched_kind *out);
const char *unify_sched_name(enum unify_sched_kind kind);

/* True when c may take new files: stats unknown (never refuse blindly) or
 * free space at least min_free_pct of its size. */
bool unify_sched_has_room(const struct unify_sched_child *c,
			  unsigned min_free_pct);

/*
 * The child a new file goes to, or -ENOTCONN when no child is up.
 * Only up children are chosen; among them, those with room (see above)
 * are preferred and a full one is chosen only when every up child is full
 * (then the one with the most free space).  *cursor is the round-robin
 * position (read and advanced); rnd is a random number (random scheduler).
 */
int unify_sched_pick(const struct unify_sched_conf *conf,
		     const struct unify_sched_child *c, int n, unsigned *cursor,
		     unsigned rnd);

#endif
