/*
 * graph.h - volfiles and the translator graph built from them.
 *
 * A volfile is a list of volumes:
 *
 *     volume NAME
 *         type CATEGORY/NAME
 *         option KEY VALUE...
 *         subvolumes A B ...
 *     end-volume
 *
 * '#' starts a comment.  The last volume is the top of the graph.  Every
 * error names the file, the line and the problem.
 */
#ifndef MORTAR_GRAPH_H
#define MORTAR_GRAPH_H

#include "xlator.h"
#include <pthread.h>
#include <stdio.h>

struct xl_inode_table;

struct xl_volspec_option {
	char *key;
	char *value;
	int line;
};

struct xl_volspec {
	char *name;
	char *type;
	int line;
	struct xl_volspec_option *options;
	int option_count;
	char **subvolumes;
	int *subvolume_lines;
	int subvolume_count;
};

struct xl_volfile {
	char *filename; /* for messages */
	struct xl_volspec *volumes;
	int volume_count;
};

/* Parse text (len bytes, need not be NUL-terminated).  On failure return
 * -EINVAL and set *err to "FILE:LINE: problem" (malloc'd). */
int xl_volfile_parse(const char *text, size_t len, const char *filename,
		     struct xl_volfile **out, char **err);
int xl_volfile_read(const char *path, struct xl_volfile **out, char **err);
void xl_volfile_free(struct xl_volfile *vf);

struct xl_graph {
	struct xl **xls; /* in volfile order */
	int count;
	struct xl *top;
	char *filename;
	struct xl_inode_table *itable; /* created with the graph */
	/* Called when the top translator sees an event (e.g. the FUSE bridge
	 * waits for CHILD_UP before mounting). */
	void (*top_notify)(struct xl_graph *g, enum xl_event ev, void *data);
	void *top_notify_data;
	/* Called with every cache notice that reaches the top (the FUSE
	 * bridge forwards them to the kernel).  On the sender's thread; must
	 * not block.  NULL: dropped. */
	void (*top_upcall)(struct xl_graph *g, const struct xl_upcall *up,
			   void *data);
	void *top_upcall_data;
	/* Called when a brick says the client volfile `volume` it serves
	 * changed (protocol/client, RPC_NOTICE_VOLFILE), through
	 * xl_graph_volfile_notice: the program asks for it then.  On an rpc
	 * thread; must not block.  NULL: dropped. */
	void (*top_volfile)(struct xl_graph *g, const char *volume, void *data);
	void *top_volfile_data;
	void *owner;	   /* the program's, e.g. the bridge */
	void **dl_handles; /* [count], runtime private */
	bool inited;
	atomic_uint_fast64_t next_unique;
	/* Internal calls in flight (call.c), for the state dump. */
	pthread_mutex_t internal_lock;
	struct xl_call *internal_calls; /* internal_lock */
	/* Teardown gate: xl_graph_destroy sets stopping, waits (bounded)
	 * until no event (notify, cache notice) is being delivered, then
	 * runs the finis.  Events that come later (a brick's notice, the
	 * CHILD_DOWN of a connection being closed) are dropped, so none
	 * reaches a translator whose fini already ran. */
	atomic_bool stopping;
	atomic_int events_in;
	/* Drain: the root and internal calls not yet freed (every child
	 * call holds its root), and the fds of this graph not yet freed.
	 * A program that replaces a graph destroys the old one once both
	 * are 0 (the FUSE bridge's live switch, client/README.md). */
	atomic_int live_root_calls;
	atomic_int live_fds;
	/* Destroy leaves the inode table's inodes alive, orphaned
	 * (xl_inode_table_orphan), instead of freeing them: the FUSE
	 * bridge's node ids point at them. */
	bool keep_itable;
};

/*
 * Load every translator (dlopen by type), validate options against each
 * translator's table (unknown option, bad value, missing required option),
 * resolve subvolumes (missing one, a cycle, an unused volume is only a
 * warning), fill defaults.  Does not call init.  On failure -errno and
 * *err = "FILE:LINE: problem".
 *
 * Translators are found in the colon-separated directories of
 * $MORTAR_XLATOR_PATH, then in the installed directory
 * (<libdir>/mortar/xlator).  In each directory D, type T is D/T.so, or in
 * a build tree D/T/.libs/<basename of T>.so.
 */
int xl_graph_build(const struct xl_volfile *vf, struct xl_graph **out,
		   char **err);
/* init every translator bottom-up, then send PARENT_UP from the top. */
int xl_graph_init(struct xl_graph *g, char **err);
/* fini top-down, unload, free (with g->keep_itable, the inode table is
 * orphaned instead: see xl_inode_table_orphan). */
void xl_graph_destroy(struct xl_graph *g);

struct xl *xl_graph_find(struct xl_graph *g, const char *name);

/* Hand a brick's "volfile changed" notice to g->top_volfile, unless g is
 * being torn down (the teardown gate). */
void xl_graph_volfile_notice(struct xl_graph *g, const char *volume);

/* Load a translator type alone (to print its options, e.g. --help). */
int xl_load_desc(const char *type, const struct xl_desc **out, void **handle,
		 char **err);

/* Write the whole state dump for g: graph, options, per-fop counts and
 * latencies, pending calls, memory, inode and fd counts, each
 * translator's dump(), and the internal calls in flight. */
void xl_graph_dump(struct xl_graph *g, FILE *out);

#endif
