/*
 * rebalance.h - what mortar-rebalance's files share: the volume being
 * rebalanced, its counters, and the per-file and per-directory steps
 * (rebalance-ops.c) the crawler (mortar-rebalance.c) runs.
 */
#ifndef MORTAR_REBALANCE_H
#define MORTAR_REBALANCE_H

#include "dht-layout.h"
#include "tool-graph.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#define RB_CHUNK (1u << 20)

struct rb_vol {
	struct tool_graph *tg;
	struct xl *dht; /* the cluster/distribute translator */
	struct xl **subvols;
	int n;
	int64_t throttle_bps; /* 0: unlimited */
	atomic_uint_fast64_t owner_seq;

	/* counters (atomics: every worker adds) */
	atomic_uint_fast64_t files_moved;
	atomic_uint_fast64_t bytes_moved;
	atomic_uint_fast64_t files_failed;
	atomic_uint_fast64_t files_skipped;
	atomic_uint_fast64_t files_abandoned;
	atomic_uint_fast64_t files_queued;
	/* files with several names (hard links) */
	atomic_uint_fast64_t links_moved;
	atomic_uint_fast64_t links_skipped;
	atomic_uint_fast64_t bytes_queued;
	atomic_uint_fast64_t dirs_done;
	/* throttle: bytes copied since start_ns by this run */
	atomic_uint_fast64_t run_bytes;
	int64_t start_ns;
};

/* Set by SIGINT / SIGTERM: stop taking work; abandon files mid-copy. */
extern volatile sig_atomic_t rb_stop;

int64_t rb_now_ns(void);

/* One name of a file with several (hard links), as the crawl found it. */
struct rb_link {
	uint8_t pargfid[16];
	char *name;
	int hashed; /* the child the name hashes to, -1 (a hole) */
};

/* A file to move: name in directory pargfid, from child src to dst.  A
 * file with several names has all of them in links (the crawl found
 * them all on src; pargfid/name is links[0]); else links is NULL. */
struct rb_job {
	uint8_t pargfid[16];
	char *name;
	int src, dst;
	uint64_t size;
	uint8_t gfid[16]; /* with links */
	struct rb_link *links;
	int nlinks;
};

/* Free what a job owns (its names). */
void rb_job_clear(struct rb_job *job);

/* Write the new layout of directory (pargfid, name) or, for the root,
 * gfid root with name NULL: looked up through distribute first (which
 * makes missing copies), then rewritten on every child under the
 * "distribute.layout" lock.  *ranges gets the layout (n entries);
 * *gfid the directory's gfid.  0 or -errno. */
int rb_fix_layout(struct rb_vol *v, const uint8_t *pargfid, const char *name,
		  uint8_t *gfid, struct dht_range *ranges);

/* Move one file; 0 moved, 1 skipped (not ours to move, or changed while
 * moving: a later run tries again), -errno failed.  Abandons cleanly
 * when rb_stop is set.  A file with several names moves with all of
 * them (rebalance-ops.c). */
int rb_migrate(struct rb_vol *v, const struct rb_job *job, int thread);

/* Every entry of directory gfid on child s (readdirplus), via cb; linkto:
 * the entry is a linkto file (mode 01000 and the brick says it has the
 * linkto xattr).  0 or -errno. */
typedef int (*rb_entry_fn)(void *arg, int s, const struct xl_dirent *d,
			   bool linkto);
int rb_list_dir(struct rb_vol *v, int s, const uint8_t *gfid, rb_entry_fn cb,
		void *arg);

#endif
