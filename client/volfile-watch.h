/*
 * volfile-watch.h - private to client/: where the mount's volfile comes
 * from (a file, or the first volfile server of the list that has it), and
 * the thread that asks every few seconds whether a newer one is served.
 *
 * The mount reads its volfile through volfile_source_get, so the text it
 * runs and the text a later check fetches are named and versioned the
 * same way.  When a check finds a newer version (volfile-version.h), it
 * fetches the text and hands it to on_newer from the watch thread; a
 * version on_newer refused is not offered again (it logged why once), but
 * a later one is.
 */
#ifndef MORTAR_CLIENT_VOLFILE_WATCH_H
#define MORTAR_CLIENT_VOLFILE_WATCH_H

#include "mortar-opts.h"
#include "volfile-version.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* One volfile as read: the text (malloc'd, NUL-terminated), the name
 * parse errors start with ("HOST:PORT/VOLUME" or the file's path), its
 * version, and the server of opts->servers that answered (-1: a file). */
struct volfile_text {
	char *text;
	size_t len;
	char name[300];
	struct xl_volfile_version version;
	int served_by;
};

/* Read -f's file, or fetch from the servers in order (the ones that failed
 * before the one that answered are a warning in the log).  0, or -errno
 * with *err a malloc'd message. */
int volfile_source_get(const struct mortar_opts *o, struct volfile_text *out,
		       char **err);
void volfile_text_free(struct volfile_text *vt);

/* Called from the watch thread with a newer volfile (borrowed).  0: it is
 * the one the mount runs now; -errno: it is not (the callee logged why). */
typedef int (*volfile_newer_fn)(void *owner, const struct volfile_text *vt);

struct volfile_watch {
	const struct mortar_opts *opts; /* read-only */
	volfile_newer_fn on_newer;
	void (*on_tick)(void *owner); /* after every check; may be NULL */
	void *owner;
	/* Set before start, then the watch thread's own. */
	struct xl_volfile_version running;
	int last_server; /* asked first: the one that answered last */
	struct xl_volfile_version refused;
	bool has_refused;
	/* lock guards stop and poked. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool poked;
	atomic_bool started; /* read by volfile_watch_poke, any thread */
	pthread_t thread;
};

/* Start checking every opts->volfile_check_interval seconds (nothing
 * when it is 0).  w->opts, on_newer, owner, running and last_server must
 * be set.  0 or -errno. */
int volfile_watch_start(struct volfile_watch *w);
/* Check now rather than at the end of the interval (the volume came
 * back after a disconnect: a brick restarted may serve a new volfile).
 * Any thread; does not block. */
void volfile_watch_poke(struct volfile_watch *w);
/* Stop and join the thread (a check in progress finishes first, bounded
 * by the volfile timeout; a switch in progress by its own bounds). */
void volfile_watch_stop(struct volfile_watch *w);

#endif
