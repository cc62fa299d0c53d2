/*
 * evloop.c - the epoll event loop: N threads, one-shot sources looked up by
 * generation-tagged ids, a job queue for kicks and functions to run on the
 * loop.  Timers are timerfd sources owned by their users.
 *
 * Locking: loop->lock protects the source table and the job queue.  No
 * handler runs with it held.
 */
#include "config.h"

#include "evloop.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define EV_ID_STOP    0
#define EV_ID_JOBS    1
#define EV_FIRST_SLOT 2
#define EV_BATCH      16

struct ev_slot {
	uint32_t gen;
	bool used;
	const struct rpc_ev_ops *ops;
	void *obj;
};

struct ev_job {
	struct ev_job *next;
	uint64_t id; /* a kick when fn is NULL */
	uint32_t events;
	void (*fn)(void *);
	void *arg;
};

struct rpc_evloop {
	int epfd;
	int stop_fd;
	int job_fd;
	int nthreads;
	pthread_t *threads;
	bool running;
	_Atomic bool stopping;
	pthread_mutex_t lock;
	struct ev_slot *slots; /* lock */
	uint32_t nslots;       /* lock */
	struct ev_job *jobs;   /* lock; FIFO via jobs_tail */
	struct ev_job **jobs_tail;
};

static __thread struct rpc_evloop *ev_current;

uint64_t rpc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool rpc_evloop_in_loop(void)
{
	return ev_current != NULL;
}

struct rpc_evloop *rpc_evloop_new(int threads)
{
	struct rpc_evloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = {0};

	if (!loop)
		return NULL;
	loop->nthreads = threads > 0 ? threads : 1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	loop->job_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&loop->lock, NULL);
	loop->jobs_tail = &loop->jobs;
	if (loop->epfd < 0 || loop->stop_fd < 0 || loop->job_fd < 0)
		goto fail;
	/* stop is level-triggered so every thread sees it */
	ev.events = EPOLLIN;
	ev.data.u64 = EV_ID_STOP;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stop_fd, &ev) == -1)
		goto fail;
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.u64 = EV_ID_JOBS;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->job_fd, &ev) == -1)
		goto fail;
	return loop;
fail:
	rpc_evloop_free(loop);
	return NULL;
}

static bool ev_lookup_locked(struct rpc_evloop *loop, uint64_t id,
			     struct ev_slot **out)
{
	uint32_t idx = (uint32_t)id;
	uint32_t gen = (uint32_t)(id >> 32);

	if (idx < EV_FIRST_SLOT || idx >= loop->nslots)
		return false;
	if (!loop->slots[idx].used || loop->slots[idx].gen != gen)
		return false;
	*out = &loop->slots[idx];
	return true;
}

/* Run the handler of id, holding a reference on its object meanwhile. */
static void ev_dispatch(struct rpc_evloop *loop, uint64_t id, uint32_t events)
{
	struct ev_slot *s;
	const struct rpc_ev_ops *ops = NULL;
	void *obj = NULL;

	pthread_mutex_lock(&loop->lock);
	if (ev_lookup_locked(loop, id, &s)) {
		ops = s->ops;
		obj = s->obj;
		ops->ref(obj);
	}
	pthread_mutex_unlock(&loop->lock);
	if (!ops)
		return; /* source deleted after the event was queued */
	ops->handle(obj, events);
	ops->unref(obj);
}

static void ev_run_jobs(struct rpc_evloop *loop)
{
	struct ev_job *j, *next;
	uint64_t v;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
				 .data.u64 = EV_ID_JOBS};

	if (read(loop->job_fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		xl_warn("rpc", "job eventfd read failed: errno=%d", errno);
	pthread_mutex_lock(&loop->lock);
	j = loop->jobs;
	loop->jobs = NULL;
	loop->jobs_tail = &loop->jobs;
	pthread_mutex_unlock(&loop->lock);
	/* re-arm first so other threads can take new jobs while these run */
	epoll_ctl(loop->epfd, EPOLL_CTL_MOD, loop->job_fd, &ev);
	for (; j; j = next) {
		next = j->next;
		if (j->fn)
			j->fn(j->arg);
		else
			ev_dispatch(loop, j->id, j->events);
		free(j);
	}
}

static void *ev_thread(void *arg)
{
	struct rpc_evloop *loop = arg;
	struct epoll_event evs[EV_BATCH];
	int n;

	ev_current = loop;
	while (!loop->stopping) {
		n = epoll_wait(loop->epfd, evs, EV_BATCH, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			xl_err("rpc", "epoll_wait failed: errno=%d", errno);
			break;
		}
		for (int i = 0; i < n && !loop->stopping; i++) {
			if (evs[i].data.u64 == EV_ID_STOP)
				break;
			if (evs[i].data.u64 == EV_ID_JOBS)
				ev_run_jobs(loop);
			else
				ev_dispatch(loop, evs[i].data.u64,
					    evs[i].events);
		}
	}
	ev_current = NULL;
	return NULL;
}

int rpc_evloop_start(struct rpc_evloop *loop)
{
	int ret;

	if (loop->running)
		return -EALREADY;
	loop->threads = calloc((size_t)loop->nthreads, sizeof(pthread_t));
	if (!loop->threads)
		return -ENOMEM;
	loop->stopping = false;
	for (int i = 0; i < loop->nthreads; i++) {
		ret = pthread_create(&loop->threads[i], NULL, ev_thread, loop);
		if (ret) {
			loop->nthreads = i;
			loop->running = true;
			rpc_evloop_stop(loop);
			return -ret;
		}
	}
	loop->running = true;
	return 0;
}

void rpc_evloop_stop(struct rpc_evloop *loop)
{
	uint64_t one = 1;

	if (!loop || !loop->running)
		return;
	loop->stopping = true;
	if (write(loop->stop_fd, &one, sizeof(one)) == -1)
		xl_warn("rpc", "stop eventfd write failed: errno=%d", errno);
	for (int i = 0; i < loop->nthreads; i++)
		pthread_join(loop->threads[i], NULL);
	free(loop->threads);
	loop->threads = NULL;
	loop->running = false;
	if (read(loop->stop_fd, &one, sizeof(one)) == -1)
		one = 0;
}

/* With the threads gone, kick every source left so it closes itself
 * (connections run their close path), then drop what still stays. */
static void ev_drain(struct rpc_evloop *loop)
{
	for (int pass = 0; pass < 4; pass++) {
		for (uint32_t i = EV_FIRST_SLOT; i < loop->nslots; i++) {
			uint64_t id;

			pthread_mutex_lock(&loop->lock);
			id = (uint64_t)loop->slots[i].gen << 32 | i;
			bool used = loop->slots[i].used;
			pthread_mutex_unlock(&loop->lock);
			if (used)
				ev_dispatch(loop, id,
					    RPC_EV_SHUTDOWN | RPC_EV_KICK);
		}
		ev_run_jobs(loop);
	}
	for (uint32_t i = EV_FIRST_SLOT; i < loop->nslots; i++) {
		struct ev_slot *s = &loop->slots[i];

		if (s->used) {
			s->used = false;
			s->ops->unref(s->obj);
		}
	}
}

void rpc_evloop_free(struct rpc_evloop *loop)
{
	if (!loop)
		return;
	rpc_evloop_stop(loop);
	if (loop->epfd >= 0)
		ev_drain(loop);
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stop_fd >= 0)
		close(loop->stop_fd);
	if (loop->job_fd >= 0)
		close(loop->job_fd);
	pthread_mutex_destroy(&loop->lock);
	free(loop->slots);
	free(loop);
}

static int ev_slot_alloc_locked(struct rpc_evloop *loop, uint32_t *idx)
{
	uint32_t n;
	struct ev_slot *s;

	for (uint32_t i = EV_FIRST_SLOT; i < loop->nslots; i++) {
		if (!loop->slots[i].used) {
			*idx = i;
			return 0;
		}
	}
	n = loop->nslots ? loop->nslots * 2 : 64;
	s = realloc(loop->slots, n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + loop->nslots, 0, (n - loop->nslots) * sizeof(*s));
	*idx = loop->nslots < EV_FIRST_SLOT ? EV_FIRST_SLOT : loop->nslots;
	loop->slots = s;
	loop->nslots = n;
	return 0;
}

int rpc_ev_add(struct rpc_evloop *loop, int fd, uint32_t events,
	       const struct rpc_ev_ops *ops, void *obj, uint64_t *id)
{
	struct epoll_event ev = {0};
	uint32_t idx;
	int ret;

	pthread_mutex_lock(&loop->lock);
	ret = ev_slot_alloc_locked(loop, &idx);
	if (ret)
		goto out;
	loop->slots[idx].gen++;
	loop->slots[idx].used = true;
	loop->slots[idx].ops = ops;
	loop->slots[idx].obj = obj;
	ops->ref(obj);
	*id = (uint64_t)loop->slots[idx].gen << 32 | idx;
	ev.events = events | EPOLLONESHOT;
	ev.data.u64 = *id;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		ret = -errno;
		loop->slots[idx].used = false;
		ops->unref(obj);
	}
out:
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int rpc_ev_rearm(struct rpc_evloop *loop, uint64_t id, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events | EPOLLONESHOT,
				 .data.u64 = id};

	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
		return -errno;
	return 0;
}

void rpc_ev_del(struct rpc_evloop *loop, uint64_t id, int fd)
{
	struct ev_slot *s;
	const struct rpc_ev_ops *ops = NULL;
	void *obj = NULL;

	pthread_mutex_lock(&loop->lock);
	if (ev_lookup_locked(loop, id, &s)) {
		ops = s->ops;
		obj = s->obj;
		s->used = false;
		if (fd >= 0)
			epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	}
	pthread_mutex_unlock(&loop->lock);
	if (ops)
		ops->unref(obj);
}

static int ev_queue(struct rpc_evloop *loop, struct ev_job *j)
{
	uint64_t one = 1;
	bool running;

	pthread_mutex_lock(&loop->lock);
	running = loop->running && !loop->stopping;
	if (running) {
		*loop->jobs_tail = j;
		loop->jobs_tail = &j->next;
	}
	pthread_mutex_unlock(&loop->lock);
	if (!running) {
		/* nobody would run it: do it here */
		if (j->fn)
			j->fn(j->arg);
		else
			ev_dispatch(loop, j->id, j->events);
		free(j);
		return 0;
	}
	if (write(loop->job_fd, &one, sizeof(one)) == -1)
		xl_warn("rpc", "job eventfd write failed: errno=%d", errno);
	return 0;
}

void rpc_ev_kick(struct rpc_evloop *loop, uint64_t id, uint32_t events)
{
	struct ev_job *j = calloc(1, sizeof(*j));

	if (!j) {
		/* cannot defer: run the handler here, it is serialized */
		ev_dispatch(loop, id, events | RPC_EV_KICK);
		return;
	}
	j->id = id;
	j->events = events | RPC_EV_KICK;
	ev_queue(loop, j);
}

int rpc_evloop_run(struct rpc_evloop *loop, void (*fn)(void *), void *arg)
{
	struct ev_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	return ev_queue(loop, j);
}
