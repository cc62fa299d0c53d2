/*
 * test_locks_graph.c - the brick stack without a network: a volfile of
 * debug/trace over performance/io-threads over features/locks over
 * storage/posix, loaded by the real runtime from the built translators
 * ($top_builddir/translators), driven with root calls.  Checks that fops
 * go through the worker pool to the disk and back, that a blocking lock
 * parks without holding a worker (thread-count 1), that RELEASE with
 * "mortar.disconnect" frees a client's locks, and that trace writes its
 * wind/unwind lines.  A second stack (two io-threads, the test-only
 * test/gate translator above features/locks) makes a client's lock
 * request reach locks after that client's disconnect cleanup, as it can
 * when one worker runs the cleanup while another still carries the
 * request: it must be refused, and another client get the lock.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "graph.h"
#include "inode.h"
#include "log.h"
#include "xlator.h"

#define WAIT_SEC 10 /* every wait gives up after this */

static char tmpdir[64];
static char brickdir[128];
static char logpath[128];
static char gatelink[192];
static struct xl_graph *graph;

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

struct result {
	bool done; /* mtx */
	int ret;
	struct xl_flock lock;
};

static void done_cbk(struct xl_call *parent, struct xl_call *child,
		     void *cookie)
{
	struct result *r = cookie;

	(void)parent;
	pthread_mutex_lock(&mtx);
	r->ret = child->reply.ret;
	r->lock = child->reply.lock;
	r->done = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
}

/* Wait (bounded) for r; false on timeout. */
static bool wait_done(struct result *r)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_SEC;
	pthread_mutex_lock(&mtx);
	while (!r->done)
		if (pthread_cond_timedwait(&cond, &mtx, &until) != 0)
			break;
	done = r->done;
	pthread_mutex_unlock(&mtx);
	return done;
}

/* Is r still unanswered after a short grace period? */
static bool still_waiting(struct result *r)
{
	struct timespec t = {0, 200 * 1000 * 1000};
	bool done;

	nanosleep(&t, NULL);
	pthread_mutex_lock(&mtx);
	done = r->done;
	pthread_mutex_unlock(&mtx);
	return !done;
}

static struct xl_call *mkcall(enum xl_fop fop, struct result *r,
			      uint64_t client, struct xl_fd *fd)
{
	struct xl_call *call = xl_call_new_root(graph, fop, NULL, done_cbk, r);

	assert_non_null(call);
	memset(r, 0, sizeof(*r));
	call->args.xdata = xl_dict_new();
	assert_non_null(call->args.xdata);
	xl_dict_set_u64(call->args.xdata, "mortar.client-id", client);
	if (fd)
		call->args.fd = xl_fd_ref(fd);
	return call;
}

static void start(struct xl_call *call)
{
	xl_call_start(call, graph->top);
}

static void lk(struct result *r, uint64_t client, uint64_t owner, int cmd,
	       int type, int64_t start_, int64_t len, struct xl_fd *fd)
{
	struct xl_call *call = mkcall(XL_FOP_LK, r, client, fd);

	call->args.cmd = cmd;
	call->args.lock.type = (int16_t)type;
	call->args.lock.start = start_;
	call->args.lock.len = len;
	call->args.lock.owner = owner;
	call->args.lock.pid = 1000 + (uint32_t)owner;
	start(call);
}

/* A temp dir with a brick and a log; translators from the build tree,
 * and test/gate (tests/unit/.libs/xl_testgate.so) laid out the way the
 * loader looks for it. */
static int setup_dirs(void)
{
	const char *top = getenv("top_builddir");
	char xlpath[1024], target[512], *abs;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mortar-lkgraph-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(brickdir, sizeof(brickdir), "%s/brick", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
	if (mkdir(brickdir, 0755) != 0)
		return -1;
	snprintf(gatelink, sizeof(gatelink), "%s/xl", tmpdir);
	if (mkdir(gatelink, 0755) != 0)
		return -1;
	snprintf(gatelink, sizeof(gatelink), "%s/xl/test", tmpdir);
	if (mkdir(gatelink, 0755) != 0)
		return -1;
	snprintf(target, sizeof(target), "%s/tests/unit/.libs/xl_testgate.so",
		 top ? top : "..");
	abs = realpath(target, NULL);
	snprintf(gatelink, sizeof(gatelink), "%s/xl/test/gate.so", tmpdir);
	if (!abs || symlink(abs, gatelink) != 0) {
		fprintf(stderr, "test translator not built: %s\n", target);
		free(abs);
		return -1;
	}
	free(abs);
	snprintf(xlpath, sizeof(xlpath), "%s/xl:%s/translators", tmpdir,
		 top ? top : "..");
	setenv("MORTAR_XLATOR_PATH", xlpath, 1);
	xl_log_init(logpath, XL_LOG_INFO);
	return 0;
}

/* Build and init the graph of text (a volfile). */
static int setup_graph(const char *text)
{
	struct xl_volfile *vf = NULL;
	char *err = NULL;
	int ret;

	ret = xl_volfile_parse(text, strlen(text), "test.vol", &vf, &err);
	if (ret == 0)
		ret = xl_graph_build(vf, &graph, &err);
	if (ret == 0)
		ret = xl_graph_init(graph, &err);
	if (ret != 0)
		fprintf(stderr, "graph: %s\n", err ? err : "?");
	free(err);
	xl_volfile_free(vf);
	return ret == 0 ? 0 : -1;
}

static int setup(void **state)
{
	char *text = NULL;
	int ret;

	(void)state;
	if (setup_dirs() != 0)
		return -1;
	if (asprintf(&text,
		     "volume posix\n type storage/posix\n"
		     " option directory %s\nend-volume\n"
		     "volume locks\n type features/locks\n"
		     " subvolumes posix\nend-volume\n"
		     "volume iot\n type performance/io-threads\n"
		     " option thread-count 1\n subvolumes locks\nend-volume\n"
		     "volume tr\n type debug/trace\n subvolumes iot\n"
		     "end-volume\n",
		     brickdir) < 0)
		return -1;
	ret = setup_graph(text);
	free(text);
	return ret;
}

/* brickd's stack with two workers, and test/gate between them and locks
 * (where a worker carrying a request sits). */
static int setup_gate(void **state)
{
	char *text = NULL;
	int ret;

	(void)state;
	if (setup_dirs() != 0)
		return -1;
	if (asprintf(&text,
		     "volume posix\n type storage/posix\n"
		     " option directory %s\nend-volume\n"
		     "volume locks\n type features/locks\n"
		     " subvolumes posix\nend-volume\n"
		     "volume gate\n type test/gate\n subvolumes locks\n"
		     "end-volume\n"
		     "volume iot\n type performance/io-threads\n"
		     " option thread-count 2\n subvolumes gate\nend-volume\n",
		     brickdir) < 0)
		return -1;
	ret = setup_graph(text);
	free(text);
	return ret;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	if (graph)
		xl_graph_destroy(graph);
	graph = NULL;
	xl_log_init(NULL, XL_LOG_WARNING);
	unlink(gatelink);
	if (getenv("MORTAR_KEEP_TMP")) { /* debugging: keep brick and log */
		fprintf(stderr, "kept %s\n", tmpdir);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* CREATE name in the brick root; returns the new (opened) fd. */
static struct xl_fd *create(const char *name)
{
	uint8_t gfid[XL_GFID_LEN];
	struct result r;
	struct xl_fd *fd;
	struct xl_call *call;

	xl_gfid_generate(gfid);
	fd = xl_fd_new(graph, gfid, NULL, O_RDWR, false);
	assert_non_null(fd);
	call = mkcall(XL_FOP_CREATE, &r, 0, fd);
	memcpy(call->args.loc.gfid, gfid, XL_GFID_LEN);
	memcpy(call->args.loc.pargfid, xl_gfid_root, XL_GFID_LEN);
	call->args.loc.name = strdup(name);
	call->args.flags = O_RDWR | O_CREAT;
	call->args.mode = 0644;
	start(call);
	assert_true(wait_done(&r));
	assert_int_equal(r.ret, 0);
	return fd;
}

static void release(struct xl_fd *fd, uint64_t client, bool disconnect)
{
	struct result r;
	struct xl_call *call = mkcall(XL_FOP_RELEASE, &r, client, fd);

	if (disconnect)
		xl_dict_set_u64(call->args.xdata, "mortar.disconnect", 1);
	start(call);
	assert_true(wait_done(&r));
	assert_int_equal(r.ret, 0);
}

static bool log_has(const char *needle)
{
	char buf[65536];
	FILE *f = fopen(logpath, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

static void test_brick_stack(void **state)
{
	struct xl_fd *fa, *fb;
	struct result r, w, s;
	struct stat st;
	char path[256];

	(void)state;
	fa = create("lockfile");
	snprintf(path, sizeof(path), "%s/lockfile", brickdir);
	assert_int_equal(stat(path, &st), 0); /* posix really ran */
	fb = xl_fd_ref(fa);

	lk(&r, 1, 1, F_SETLK, F_WRLCK, 0, 100, fa);
	assert_true(wait_done(&r));
	assert_int_equal(r.ret, 0);
	lk(&r, 2, 1, F_SETLK, F_WRLCK, 50, 1, fb);
	assert_true(wait_done(&r));
	assert_int_equal(r.ret, -EAGAIN);
	lk(&r, 2, 1, F_GETLK, F_RDLCK, 0, 0, fb);
	assert_true(wait_done(&r));
	assert_int_equal(r.lock.type, F_WRLCK);
	assert_int_equal(r.lock.len, 100);
	assert_int_equal(r.lock.pid, 1001);

	/* a parked F_SETLKW holds no worker: with one io-thread, a stat
	 * still goes through while it waits */
	lk(&w, 2, 1, F_SETLKW, F_WRLCK, 0, 10, fb);
	assert_true(still_waiting(&w));
	{
		struct xl_call *call = mkcall(XL_FOP_STAT, &s, 0, fa);

		start(call);
		assert_true(wait_done(&s));
		assert_int_equal(s.ret, 0);
	}
	assert_true(still_waiting(&w));

	/* client 1 goes away: its lock goes, the waiter is granted */
	release(fa, 1, true);
	assert_true(wait_done(&w));
	assert_int_equal(w.ret, 0);
	/* client 2 now holds 0-9 */
	lk(&r, 3, 1, F_SETLK, F_RDLCK, 5, 1, fb);
	assert_true(wait_done(&r));
	assert_int_equal(r.ret, -EAGAIN);
	lk(&r, 2, 1, F_SETLK, F_UNLCK, 0, 0, fb);
	assert_true(wait_done(&r));
	assert_int_equal(r.ret, 0);

	/* trace logged both directions */
	assert_true(log_has("[tr] fop=create unique="));
	assert_true(log_has(" name=lockfile fd="));
	assert_true(log_has(" flags=0102 mode=0644 umask=0"));
	assert_true(log_has("fop=lk unique="));
	assert_true(log_has("lock=wr:start=0:len=100:pid=1001:owner=1"));
	assert_true(log_has("ret=-EAGAIN latency="));
	assert_true(log_has("fop=stat unique="));
	xl_fd_unref(fa);
	xl_fd_unref(fb);
}

/* A STAT to test/gate carrying key (test.gate-wait or test.gate-open);
 * returns its answer. */
static int gate_call(const char *key)
{
	struct result r;
	struct xl_call *call = mkcall(XL_FOP_STAT, &r, 0, NULL);

	memcpy(call->args.loc.gfid, xl_gfid_root, XL_GFID_LEN);
	xl_dict_set_u64(call->args.xdata, key, 1);
	start(call);
	assert_true(wait_done(&r));
	return r.ret;
}

/* The cleanup protocol/server sends for a gone client: a RELEASE with
 * mortar.disconnect per fd it left, one INODELK sweep. */
static void cleanup_client(struct xl_fd *fd, uint64_t client)
{
	struct result r;
	struct xl_call *call;

	release(fd, client, true);
	call = mkcall(XL_FOP_INODELK, &r, client, NULL);
	xl_dict_set_u64(call->args.xdata, "mortar.disconnect", 1);
	call->args.cmd = F_SETLK;
	call->args.lock.type = F_UNLCK;
	start(call);
	assert_true(wait_done(&r));
	assert_int_equal(r.ret, 0);
}

static void test_request_after_cleanup(void **state)
{
	struct xl_fd *fa, *fb;
	struct result late, r;
	struct xl_call *call;

	(void)state;
	fa = create("gone");
	fb = xl_fd_ref(fa);

	/* client 1 asks for a write lock and goes away; its request is
	 * still on its way to locks (held by the gate) */
	call = mkcall(XL_FOP_LK, &late, 1, fa);
	xl_dict_set_u64(call->args.xdata, "test.gate-hold", 1);
	call->args.cmd = F_SETLKW;
	call->args.lock.type = F_WRLCK;
	call->args.lock.owner = 1;
	start(call);
	assert_int_equal(gate_call("test.gate-wait"), 1);
	/* the cleanup runs on the other worker and finishes */
	cleanup_client(fa, 1);
	pthread_mutex_lock(&mtx);
	assert_false(late.done);
	pthread_mutex_unlock(&mtx);
	/* then the request reaches locks: refused, nothing granted */
	assert_int_equal(gate_call("test.gate-open"), 1);
	assert_true(wait_done(&late));
	assert_int_equal(late.ret, -ENOTCONN);
	/* another client gets the lock at once, without waiting */
	lk(&r, 2, 1, F_SETLK, F_WRLCK, 0, 0, fb);
	assert_true(wait_done(&r));
	assert_int_equal(r.ret, 0);
	lk(&r, 2, 1, F_SETLK, F_UNLCK, 0, 0, fb);
	assert_true(wait_done(&r));
	release(fb, 2, true);
	xl_fd_unref(fa);
	xl_fd_unref(fb);
}

int main(void)
{
	/* storage/posix keeps gfids in trusted.* xattrs: root only.  77 is
	 * automake's SKIP. */
	if (geteuid() != 0) {
		printf("# SKIP test_locks_graph needs root\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_brick_stack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_after_cleanup,
					    setup_gate, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
