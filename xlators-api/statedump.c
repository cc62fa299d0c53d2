/*
 * statedump.c - the signal thread: SIGUSR1 writes a state dump, SIGTERM /
 * SIGINT / SIGHUP ask the program to stop.
 */
#include "config.h"

#include "log.h"
#include "statedump.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct {
	pthread_mutex_t lock; /* guards graph */
	struct xl_graph *graph;
	char *prog;
	char *dir;
	void (*on_stop)(void *data);
	void *data;
	bool stop_sent;
} sig_state = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void sig_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

void xl_signals_block(void)
{
	sigset_t set;

	sig_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void xl_signals_set_graph(struct xl_graph *g)
{
	pthread_mutex_lock(&sig_state.lock);
	sig_state.graph = g;
	pthread_mutex_unlock(&sig_state.lock);
}

static int dump_mkdirs(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int xl_statedump_write(struct xl_graph *g, const char *prog, const char *dir,
		       char **path)
{
	static atomic_uint seq;
	const char *name = prog ? prog : "mortar";
	char *p = NULL, *tmp = NULL;
	FILE *f;
	int ret;

	if (!dir)
		dir = "/var/run/mortar";
	ret = dump_mkdirs(dir);
	if (ret)
		return ret;
	/* Written under a hidden name and renamed when complete, so whoever
	 * waits for the dump never reads half of one; the sequence number
	 * keeps two dumps of one second apart. */
	if (asprintf(&p, "%s/%s.%d.dump.%ld.%u", dir, name, (int)getpid(),
		     (long)time(NULL), atomic_fetch_add(&seq, 1)) < 0)
		return -ENOMEM;
	if (asprintf(&tmp, "%s/.%s.%d.dump.tmp", dir, name, (int)getpid()) <
	    0) {
		free(p);
		return -ENOMEM;
	}
	f = fopen(tmp, "we");
	if (!f) {
		ret = -errno;
		goto fail;
	}
	fprintf(f, "# mortar state dump: %s pid %d\n", prog ? prog : "-",
		(int)getpid());
	if (g)
		xl_graph_dump(g, f);
	else
		fprintf(f, "no graph\n");
	if (fclose(f) != 0 || rename(tmp, p) != 0) {
		ret = -errno;
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	*path = p;
	return 0;
fail:
	free(tmp);
	free(p);
	return ret;
}

static void *sig_thread(void *arg)
{
	sigset_t set;
	int sig;

	(void)arg;
	sig_set(&set);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			char *path = NULL;
			pthread_mutex_lock(&sig_state.lock);
			int ret =
			    xl_statedump_write(sig_state.graph, sig_state.prog,
					       sig_state.dir, &path);
			pthread_mutex_unlock(&sig_state.lock);
			if (ret)
				xl_err("statedump", "state dump failed: %s",
				       strerror(-ret));
			else
				xl_info("statedump", "state dump written to %s",
					path);
			free(path);
			continue;
		}
		xl_info("signal", "received signal %d, stopping", sig);
		if (!sig_state.stop_sent && sig_state.on_stop) {
			sig_state.stop_sent = true;
			sig_state.on_stop(sig_state.data);
		}
	}
	return NULL;
}

int xl_signals_start(const char *prog, const char *dir, struct xl_graph *g,
		     void (*on_stop)(void *data), void *data)
{
	pthread_t tid;
	int ret;

	sig_state.prog = strdup(prog ? prog : "mortar");
	sig_state.dir = dir ? strdup(dir) : NULL;
	sig_state.on_stop = on_stop;
	sig_state.data = data;
	xl_signals_set_graph(g);
	ret = pthread_create(&tid, NULL, sig_thread, NULL);
	if (ret)
		return -ret;
	pthread_detach(tid);
	return 0;
}
