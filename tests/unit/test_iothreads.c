/*
 * test_iothreads.c - cmocka tests of performance/io-threads driven through
 * real call objects (no network): fops run on worker threads, never on the
 * caller's; at most thread-count run at once and the rest queue in order;
 * the dump shows depth and busy threads; fini drains the queue and later
 * fops fail with ENOTCONN; with one thread the order is FIFO; a read the
 * child answers without blocking runs inline, one it would block on goes
 * to a worker.  io-threads.c is
 * compiled into the test, over a fake child that can hold fops until the test
 * releases them.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph.h"
#include "xlator.h"

extern const struct xl_desc mortar_xlator;

#define NCALLS	 200
#define WAIT_SEC 10 /* every wait in this test gives up after this */

/* ---- fake child ------------------------------------------------------ */

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool hold;	     /* mtx: child fops wait while set */
static int running;	     /* mtx: child fops inside the child now */
static int max_running;	     /* mtx */
static int answered;	     /* mtx: root completions seen */
static int errors;	     /* mtx: root completions with ret < 0 */
static int on_caller_thread; /* mtx: child fops run by the test thread */
static int order[NCALLS];    /* mtx: order[i] = offset of i-th child fop */
static int norder;	     /* mtx */
static pthread_t test_thread;

static bool inline_ok;	     /* mtx: nowait fops answered, not refused */
static int nowait_seen;	     /* mtx: nowait fops that reached the child */
static int nowait_on_caller; /* mtx: of them, run by the test thread */

/* A nowait fop is answered at once: -EAGAIN (this child would block)
 * unless inline_ok; every other fop may be held. */
static bool child_nowait(struct xl_call *call)
{
	bool ok;

	if (!call->nowait)
		return false;
	pthread_mutex_lock(&mtx);
	nowait_seen++;
	if (pthread_equal(pthread_self(), test_thread))
		nowait_on_caller++;
	ok = inline_ok;
	pthread_mutex_unlock(&mtx);
	call->reply.ret = ok ? (int32_t)call->args.size : -EAGAIN;
	xl_unwind(call);
	return true;
}

static void child_fop(struct xl *xl, struct xl_call *call)
{
	struct timespec until;

	(void)xl;
	if (child_nowait(call))
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_SEC;
	pthread_mutex_lock(&mtx);
	if (pthread_equal(pthread_self(), test_thread))
		on_caller_thread++;
	if (norder < NCALLS)
		order[norder++] = (int)call->args.offset;
	running++;
	if (running > max_running)
		max_running = running;
	pthread_cond_broadcast(&cond);
	while (hold)
		if (pthread_cond_timedwait(&cond, &mtx, &until) != 0)
			break;
	running--;
	pthread_mutex_unlock(&mtx);
	call->reply.ret = (int32_t)call->args.size;
	xl_unwind(call);
}

static const struct xl_desc child_desc = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "test/child",
    .fops =
	{
	    [XL_FOP_READ] = child_fop,
	    [XL_FOP_STAT] = child_fop,
	},
};

static struct xl child_xl, iot_xl;
static struct xl *iot_children[1] = {&child_xl};
static struct xl_option iot_opts[3];
static struct xl_graph graph;

static void root_cbk(struct xl_call *parent, struct xl_call *child,
		     void *cookie)
{
	(void)parent;
	(void)cookie;
	pthread_mutex_lock(&mtx);
	answered++;
	if (child->reply.ret < 0)
		errors++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
}

static void send_read(int i)
{
	struct xl_call *call =
	    xl_call_new_root(&graph, XL_FOP_READ, NULL, root_cbk, NULL);

	assert_non_null(call);
	call->args.offset = i;
	call->args.size = 1;
	xl_call_start(call, &iot_xl);
}

/* Wait (bounded) until *counter reaches n; returns its value. */
static int wait_for(const int *counter, int n)
{
	struct timespec until;
	int v;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_SEC;
	pthread_mutex_lock(&mtx);
	while (*counter < n)
		if (pthread_cond_timedwait(&cond, &mtx, &until) != 0)
			break;
	v = *counter;
	pthread_mutex_unlock(&mtx);
	return v;
}

static void send_stat(int i)
{
	struct xl_call *call =
	    xl_call_new_root(&graph, XL_FOP_STAT, NULL, root_cbk, NULL);

	assert_non_null(call);
	call->args.offset = i;
	xl_call_start(call, &iot_xl);
}

static int start_with(const char *threads, const char *inline_cheap,
		      const char *inline_meta)
{
	char *err = NULL;
	int ret;

	memset(&child_xl, 0, sizeof(child_xl));
	memset(&iot_xl, 0, sizeof(iot_xl));
	child_xl.name = "child";
	child_xl.desc = &child_desc;
	iot_xl.name = "iot";
	iot_xl.desc = &mortar_xlator;
	iot_xl.children = iot_children;
	iot_xl.child_count = 1;
	iot_opts[0].key = "thread-count";
	iot_opts[0].value = (char *)threads;
	iot_opts[1].key = "inline-cheap";
	iot_opts[1].value = (char *)inline_cheap;
	iot_opts[2].key = "inline-metadata";
	iot_opts[2].value = (char *)inline_meta;
	iot_xl.options = iot_opts;
	iot_xl.option_count = 3;
	hold = false;
	inline_ok = false;
	nowait_seen = nowait_on_caller = 0;
	running = max_running = answered = errors = on_caller_thread = 0;
	norder = 0;
	test_thread = pthread_self();
	ret = mortar_xlator.init(&iot_xl, &err);
	free(err);
	return ret;
}

/* The pool's own tests: metadata fops go to the workers too. */
static int start(const char *threads)
{
	return start_with(threads, "on", "off");
}

static void test_runs_on_workers(void **state)
{
	(void)state;
	assert_int_equal(start("4"), 0);
	for (int i = 0; i < NCALLS; i++)
		send_read(i);
	assert_int_equal(wait_for(&answered, NCALLS), NCALLS);
	assert_int_equal(errors, 0);
	assert_int_equal(on_caller_thread, 0);
	assert_true(max_running <= 4);
	mortar_xlator.fini(&iot_xl);
}

static void test_bounded_and_fifo(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	assert_int_equal(start("2"), 0);
	pthread_mutex_lock(&mtx);
	hold = true;
	pthread_mutex_unlock(&mtx);
	for (int i = 0; i < 6; i++)
		send_read(i);
	/* two workers are stuck in the child, four calls queue */
	assert_int_equal(wait_for(&running, 2), 2);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	mortar_xlator.dump(&iot_xl, out);
	fclose(out);
	assert_non_null(strstr(buf, "threads=2 busy=2 queue-depth=4"));
	free(buf);
	pthread_mutex_lock(&mtx);
	assert_int_equal(running, 2);
	assert_int_equal(answered, 0);
	hold = false;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
	assert_int_equal(wait_for(&answered, 6), 6);
	assert_int_equal(max_running, 2);
	mortar_xlator.fini(&iot_xl);
}

static void test_fini_drains(void **state)
{
	(void)state;
	assert_int_equal(start("1"), 0);
	pthread_mutex_lock(&mtx);
	hold = true;
	pthread_mutex_unlock(&mtx);
	for (int i = 0; i < 5; i++)
		send_read(i);
	assert_int_equal(wait_for(&running, 1), 1);
	pthread_mutex_lock(&mtx);
	hold = false;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
	/* fini joins the worker after it ran what was queued */
	mortar_xlator.fini(&iot_xl);
	assert_int_equal(answered, 5);
	assert_int_equal(errors, 0);
	/* one worker: strictly first in, first out */
	assert_int_equal(norder, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(order[i], i);
	/* a fop after fini is refused, not lost */
	send_read(99);
	assert_int_equal(answered, 6);
	assert_int_equal(errors, 1);
}

/* A read the child can answer without blocking is answered on the
 * caller's thread; one it cannot is run by a worker; a stat by path never
 * goes inline; with inline-cheap off nothing does. */
static void test_inline_cheap(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	assert_int_equal(start("2"), 0);
	pthread_mutex_lock(&mtx);
	inline_ok = true;
	pthread_mutex_unlock(&mtx);
	for (int i = 0; i < 10; i++)
		send_read(i);
	/* answered before xl_call_start returned, on this thread */
	pthread_mutex_lock(&mtx);
	assert_int_equal(answered, 10);
	assert_int_equal(nowait_on_caller, 10);
	assert_int_equal(on_caller_thread, 0);
	assert_int_equal(running + max_running, 0);
	inline_ok = false;
	pthread_mutex_unlock(&mtx);
	for (int i = 0; i < 10; i++)
		send_read(i);
	assert_int_equal(wait_for(&answered, 20), 20);
	assert_int_equal(errors, 0); /* -EAGAIN is retried, never answered */
	assert_int_equal(nowait_seen, 20);
	send_stat(1);
	assert_int_equal(wait_for(&answered, 21), 21);
	assert_int_equal(nowait_seen, 20);
	assert_int_equal(on_caller_thread, 0);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	mortar_xlator.dump(&iot_xl, out);
	fclose(out);
	assert_non_null(strstr(buf, "inline: on answered=10 refused=10"));
	free(buf);
	mortar_xlator.fini(&iot_xl);

	assert_int_equal(start_with("2", "off", "off"), 0);
	pthread_mutex_lock(&mtx);
	inline_ok = true;
	pthread_mutex_unlock(&mtx);
	for (int i = 0; i < 10; i++)
		send_read(i);
	assert_int_equal(wait_for(&answered, 10), 10);
	assert_int_equal(nowait_seen, 0);
	assert_int_equal(on_caller_thread, 0);
	mortar_xlator.fini(&iot_xl);
}

static void *send_stat_thread(void *arg)
{
	(void)arg;
	send_stat(0);
	return NULL;
}

/* A metadata fop runs on the caller's thread when no other does; while
 * one runs there, the next ones go to the workers; data fops always do. */
static void test_inline_metadata(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	pthread_t other;

	(void)state;
	assert_int_equal(start_with("4", "on", "on"), 0);
	for (int i = 0; i < 5; i++)
		send_stat(i);
	/* each answered before xl_call_start returned, on this thread */
	pthread_mutex_lock(&mtx);
	assert_int_equal(answered, 5);
	assert_int_equal(on_caller_thread, 5);
	/* one held inline on another thread ... */
	hold = true;
	pthread_mutex_unlock(&mtx);
	assert_int_equal(pthread_create(&other, NULL, send_stat_thread, NULL),
			 0);
	assert_int_equal(wait_for(&running, 1), 1);
	/* ... so these go to the workers (held there too) */
	for (int i = 1; i <= 3; i++)
		send_stat(i);
	assert_int_equal(wait_for(&running, 4), 4);
	pthread_mutex_lock(&mtx);
	assert_int_equal(on_caller_thread, 5);
	hold = false;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
	assert_int_equal(pthread_join(other, NULL), 0);
	assert_int_equal(wait_for(&answered, 9), 9);
	assert_int_equal(errors, 0);
	/* the slot is free again */
	send_stat(9);
	pthread_mutex_lock(&mtx);
	assert_int_equal(answered, 10);
	assert_int_equal(on_caller_thread, 6);
	pthread_mutex_unlock(&mtx);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	mortar_xlator.dump(&iot_xl, out);
	fclose(out);
	assert_non_null(strstr(buf, "inline-metadata: on answered=7"));
	free(buf);
	mortar_xlator.fini(&iot_xl);
}

static void test_bad_thread_count_rejected(void **state)
{
	const struct xl_option_desc *od =
	    xl_option_find(mortar_xlator.options, "thread-count");
	char *err = NULL;

	(void)state;
	assert_non_null(od);
	assert_string_equal(od->default_value, "16");
	assert_int_not_equal(xl_option_validate(od, "0", &err), 0);
	free(err);
	err = NULL;
	assert_int_not_equal(xl_option_validate(od, "65", &err), 0);
	free(err);
	assert_int_equal(xl_option_validate(od, "64", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runs_on_workers),
	    cmocka_unit_test(test_bounded_and_fifo),
	    cmocka_unit_test(test_fini_drains),
	    cmocka_unit_test(test_inline_cheap),
	    cmocka_unit_test(test_inline_metadata),
	    cmocka_unit_test(test_bad_thread_count_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
