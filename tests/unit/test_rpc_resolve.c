/*
 * test_rpc_resolve.c - the rpc client looks its server's name up again
 * before every reconnect attempt (rpc/clnt.c): a name that does not
 * resolve yet is retried, a name whose address changed is followed to the
 * new address, a name that stops resolving keeps its last addresses, and
 * each change of outcome is logged once, not once per attempt.
 *
 * The name lives in a private /etc/hosts: main() moves this process into
 * a mount namespace of its own (unshare(CLONE_NEWNS), before any thread
 * exists, so every later thread is in it) and bind-mounts temporary
 * hosts and nsswitch.conf ("hosts: files") files over the real ones.
 * glibc reads /etc/hosts at every lookup, so rewriting the temporary file
 * changes what the name resolves to.  The machine's /etc/hosts is never
 * written: the mounts vanish with the process.  Needs root (skips
 * otherwise, or where mount namespaces are not allowed).
 */
#define _GNU_SOURCE
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"
#include "rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000
#define NAME	"mortar-brick.test"

static char tmpdir[64];
static char hosts_path[128], log_path[128];
static const char *no_ns; /* why the private /etc/hosts is missing */

/* ---- the private /etc/hosts ------------------------------------------ */

static int write_file(const char *path, const char *text)
{
	/* in place: the bind mount is of this inode */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = -EIO;
	close(fd);
	return ret;
}

static void set_hosts(const char *addr)
{
	char text[256];

	snprintf(text, sizeof(text), "127.0.0.1 localhost\n%s%s%s%s",
		 addr ? addr : "", addr ? " " : "", addr ? NAME : "",
		 addr ? "\n" : "");
	assert_int_equal(write_file(hosts_path, text), 0);
}

static const char *private_hosts(void)
{
	char nss[128];

	if (geteuid() != 0)
		return "needs root";
	strcpy(tmpdir, "/tmp/rpc-resolve-XXXXXX");
	if (!mkdtemp(tmpdir))
		return "mkdtemp failed";
	snprintf(hosts_path, sizeof(hosts_path), "%s/hosts", tmpdir);
	snprintf(nss, sizeof(nss), "%s/nsswitch.conf", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/log", tmpdir);
	if (write_file(hosts_path, "127.0.0.1 localhost\n") ||
	    write_file(nss, "hosts: files\n"))
		return "cannot write the temporary files";
	if (unshare(CLONE_NEWNS) != 0)
		return "no mount namespace (unshare)";
	/* nothing mounted here may reach the machine's namespace */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return "cannot make / private";
	if (mount(hosts_path, "/etc/hosts", NULL, MS_BIND, NULL) != 0 ||
	    mount(nss, "/etc/nsswitch.conf", NULL, MS_BIND, NULL) != 0)
		return "cannot bind-mount /etc/hosts or /etc/nsswitch.conf";
	return NULL;
}

/* ---- log lines --------------------------------------------------------- */

static int log_count(const char *needle)
{
	FILE *f = fopen(log_path, "r");
	char line[1024];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poll (10 ms) until the log holds at least n lines with needle. */
static bool wait_log(const char *needle, int n)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (log_count(needle) < n) {
		if (now_ms() > end)
			return false;
		usleep(10 * 1000);
	}
	return true;
}

/* ---- server and client ---------------------------------------------- */

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int count;
	int last_status;
};

static void waiter_hit(struct waiter *w, int status)
{
	pthread_mutex_lock(&w->lock);
	w->count++;
	w->last_status = status;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static bool waiter_wait(struct waiter *w, int target)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&w->lock);
	while (w->count < target)
		if (pthread_cond_timedwait(&w->cond, &w->lock, &ts))
			break;
	ok = w->count >= target;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

static void echo_request(void *ctx, struct rpc_conn *conn,
			 const struct rpc_msg *req)
{
	(void)ctx;
	rpc_conn_reply(conn, req->xid, req->proc, req->body, req->body_len,
		       NULL);
}

static const struct rpc_srv_cbs echo_cbs = {.on_request = echo_request};

struct fixture {
	struct rpc_evloop *loop;
	struct rpc_srv *srv;
	struct rpc_clnt *clnt;
	struct waiter up, down, reply;
};

static void fx_up(void *ctx)
{
	waiter_hit(&((struct fixture *)ctx)->up, 0);
}

static void fx_down(void *ctx, int err)
{
	waiter_hit(&((struct fixture *)ctx)->down, err);
}

static const struct rpc_clnt_cbs fx_cbs = {.on_connect = fx_up,
					   .on_disconnect = fx_down};

static void fx_reply(void *cookie, int status, const struct rpc_msg *m)
{
	(void)m;
	waiter_hit(&((struct fixture *)cookie)->reply, status);
}

static int fx_setup(void **state)
{
	struct fixture *fx;
	char *err = NULL;

	if (no_ns) {
		print_message("skipped: %s\n", no_ns);
		skip();
	}
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	pthread_mutex_init(&fx->up.lock, NULL);
	pthread_cond_init(&fx->up.cond, NULL);
	pthread_mutex_init(&fx->down.lock, NULL);
	pthread_cond_init(&fx->down.cond, NULL);
	pthread_mutex_init(&fx->reply.lock, NULL);
	pthread_cond_init(&fx->reply.cond, NULL);
	assert_int_equal(unlink(log_path) == 0 || errno == ENOENT, 1);
	assert_int_equal(xl_log_init(log_path, XL_LOG_DEBUG), 0);
	fx->loop = rpc_evloop_new(2);
	assert_non_null(fx->loop);
	assert_int_equal(rpc_evloop_start(fx->loop), 0);
	/* 127.0.0.1 only: a connect to 127.0.0.2 on its port is refused */
	fx->srv = rpc_srv_new(fx->loop, "127.0.0.1", 0, "tcp", NULL, &echo_cbs,
			      fx, &err);
	free(err);
	assert_non_null(fx->srv);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *fx = *state;

	rpc_clnt_destroy(fx->clnt);
	rpc_srv_destroy(fx->srv);
	rpc_evloop_stop(fx->loop);
	rpc_evloop_free(fx->loop);
	xl_log_init(NULL, XL_LOG_INFO);
	free(fx);
	return 0;
}

static void echo_once(struct fixture *fx)
{
	int before = fx->reply.count;

	assert_int_equal(
	    rpc_clnt_call(fx->clnt, 7, "ping", 4, NULL, fx_reply, fx), 0);
	assert_true(waiter_wait(&fx->reply, before + 1));
	assert_int_equal(fx->reply.last_status, 0);
}

/* ---- the test ------------------------------------------------------------ */

static void test_name_followed_across_attempts(void **state)
{
	struct fixture *fx = *state;
	struct rpc_clnt_opts opts = {.reconnect_min_ms = 20,
				     .reconnect_max_ms = 40};
	const char *looked = "looked up " NAME;
	char text[160];
	int n;

	/* 1. the name does not resolve yet: the client keeps trying */
	set_hosts(NULL);
	fx->clnt = rpc_clnt_new(fx->loop, NAME, rpc_srv_port(fx->srv), &opts,
				&fx_cbs, fx);
	assert_non_null(fx->clnt);
	assert_int_equal(rpc_clnt_start(fx->clnt), 0);
	assert_true(waiter_wait(&fx->down, 1));
	assert_int_equal(fx->down.last_status, -EHOSTUNREACH);
	assert_true(wait_log(looked, 3));
	assert_int_equal(log_count("cannot resolve " NAME), 1);
	assert_false(rpc_clnt_connected(fx->clnt));

	/* 2. it resolves, to an address nobody answers on */
	n = log_count(looked);
	set_hosts("127.0.0.2");
	assert_true(wait_log(NAME " resolves again: 127.0.0.2", 1));
	assert_true(wait_log(looked, n + 4));
	assert_int_equal(log_count(NAME " resolves again"), 1);
	assert_int_equal(log_count(NAME " now resolves"), 0);
	assert_int_equal(log_count("cannot resolve " NAME), 1);
	assert_false(rpc_clnt_connected(fx->clnt));
	assert_int_equal(fx->up.count, 0);

	/* 3. it moves to the live server: found there */
	set_hosts("127.0.0.1");
	assert_true(waiter_wait(&fx->up, 1));
	assert_true(rpc_clnt_connected(fx->clnt));
	snprintf(text, sizeof(text), NAME " now resolves to 127.0.0.1 (was %s)",
		 "127.0.0.2");
	assert_int_equal(log_count(text), 1);
	echo_once(fx);

	/* 4. it stops resolving while connected; a lost connection comes
	 * back at the last address that worked */
	set_hosts(NULL);
	n = fx->down.count;
	rpc_clnt_reconnect(fx->clnt);
	assert_true(waiter_wait(&fx->down, n + 1));
	assert_true(waiter_wait(&fx->up, 2));
	assert_int_equal(log_count("trying its last addresses"), 1);
	echo_once(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_name_followed_across_attempts,
					    fx_setup, fx_teardown),
	};
	int ret;

	no_ns = private_hosts();
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	if (tmpdir[0]) {
		unlink(log_path);
		unlink(hosts_path);
		snprintf(hosts_path, sizeof(hosts_path), "%s/nsswitch.conf",
			 tmpdir);
		unlink(hosts_path);
		rmdir(tmpdir);
	}
	return ret;
}
