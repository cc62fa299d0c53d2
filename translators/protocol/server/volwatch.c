/*
 * volwatch.c - the volfile directory's watch (volwatch.h).
 *
 * mortar-volgen and mortarctl write a volfile to a temporary name and
 * rename it into place (IN_MOVED_TO); an editor or a cp writes it in
 * place (IN_CLOSE_WRITE).  Either names the file; only NAME.vol with a
 * valid volume name counts (brick volfiles too: a client asking for one
 * is refused anyway, and a spurious notice only costs it one version
 * question).
 */
#include "config.h"

#include "volwatch.h"

#include "fop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

struct server_volwatch {
	int fd;
	pthread_t thread;
	atomic_bool stop;
	server_volwatch_fn fn;
	void *data;
};

/* NAME of "NAME.vol", or false. */
static bool volwatch_volume(const char *file, char *name, size_t size)
{
	size_t n = strlen(file);

	if (n <= 4 || strcmp(file + n - 4, ".vol") != 0 || n - 4 >= size)
		return false;
	memcpy(name, file, n - 4);
	name[n - 4] = '\0';
	return xl_name_is_valid(name) && name[0] != '.';
}

static void volwatch_events(struct server_volwatch *w, const char *buf,
			    ssize_t len)
{
	char name[NAME_MAX + 1];

	for (const char *p = buf; p < buf + len;) {
		const struct inotify_event *ev = (const void *)p;

		if (ev->len > 0 &&
		    volwatch_volume(ev->name, name, sizeof(name)))
			w->fn(name, w->data);
		p += sizeof(*ev) + ev->len;
	}
}

static void *volwatch_main(void *arg)
{
	struct server_volwatch *w = arg;
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};

	while (!atomic_load(&w->stop)) {
		ssize_t n;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(w->fd, buf, sizeof(buf));
		if (n > 0)
			volwatch_events(w, buf, n);
	}
	return NULL;
}

struct server_volwatch *server_volwatch_start(const char *dir,
					      server_volwatch_fn fn, void *data,
					      char **err)
{
	struct server_volwatch *w = calloc(1, sizeof(*w));
	int e;

	*err = NULL;
	if (!w)
		return NULL;
	w->fn = fn;
	w->data = data;
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->fd < 0 ||
	    inotify_add_watch(w->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
		e = errno;
		goto fail;
	}
	e = pthread_create(&w->thread, NULL, volwatch_main, w);
	if (e != 0)
		goto fail;
	return w;
fail:
	if (asprintf(err, "cannot watch %s: %s", dir, strerror(e)) < 0)
		*err = NULL;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return NULL;
}

void server_volwatch_stop(struct server_volwatch *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	close(w->fd);
	free(w);
}
