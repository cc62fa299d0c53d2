/*
 * statedump.h - signals for daemons: SIGUSR1 writes a state dump, SIGTERM
 * and SIGINT ask the program to stop.
 *
 * Call xl_signals_block() first thing in main, before any thread exists, so
 * every thread inherits the blocked mask; then xl_signals_start() runs one
 * thread that waits for them with sigwaitinfo.  No async-signal-safety
 * puzzles: the dump is written from an ordinary thread.
 */
#ifndef MORTAR_STATEDUMP_H
#define MORTAR_STATEDUMP_H

#include "graph.h"

/* Block SIGUSR1, SIGTERM, SIGINT, SIGHUP in the calling thread (inherited
 * by threads created later) and ignore SIGPIPE. */
void xl_signals_block(void);

/*
 * Start the signal thread.  On SIGUSR1 it writes xl_graph_dump(g) to
 * DIR/<prog>.<pid>.dump.<unix-time> (DIR created if missing; default
 * /var/run/mortar when dir is NULL) and logs the path.  On SIGTERM, SIGINT
 * or SIGHUP it calls on_stop(data) once (from the signal thread).
 * g may be NULL until xl_signals_set_graph.  0 or -errno.
 */
int xl_signals_start(const char *prog, const char *dir, struct xl_graph *g,
		     void (*on_stop)(void *data), void *data);
void xl_signals_set_graph(struct xl_graph *g);
/* Write a dump now (also used by tests); returns 0 and the path in *path
 * (malloc'd) or -errno. */
int xl_statedump_write(struct xl_graph *g, const char *prog, const char *dir,
		       char **path);

#endif
