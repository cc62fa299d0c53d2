/*
 * volwatch.h - private to protocol/server: watch the volfile directory
 * and say which client volfile changed, so the bricks can tell their
 * clients at once (RPC_NOTICE_VOLFILE) instead of waiting for their next
 * check.  Prefix: server_volwatch_.
 */
#ifndef MORTAR_SERVER_VOLWATCH_H
#define MORTAR_SERVER_VOLWATCH_H

/* Called from the watch's own thread with the volume name of a NAME.vol
 * that was written or renamed into the directory (borrowed). */
typedef void (*server_volwatch_fn)(const char *volume, void *data);

struct server_volwatch;

/* Start watching dir (inotify; the thread wakes every 200 ms to see if it
 * must stop).  NULL with *err (malloc'd) when it cannot: the clients then
 * only learn of a new volfile by asking. */
struct server_volwatch *server_volwatch_start(const char *dir,
					      server_volwatch_fn fn, void *data,
					      char **err);
/* Stop and join; the callback is not called afterwards.  NULL is fine. */
void server_volwatch_stop(struct server_volwatch *w);

#endif
