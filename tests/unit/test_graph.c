/*
 * test_graph.c - graph building (loader, option validation, subvolume
 * checks, each error naming file and line) and the call object (wind,
 * pass-through, fan-out with completions on other threads, per-call state
 * and its memory accounting, statistics, internal calls), and what a
 * program replacing a graph relies on (live call and fd counts, an
 * orphaned inode table).  Uses the test-only translators test/leaf,
 * test/fan, test/picky and test/gate.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "graph.h"
#include "inode.h"
#include "xlpath.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct xl_graph *build(const char *text, char **err)
{
	struct xl_volfile *vf = NULL;
	struct xl_graph *g = NULL;

	*err = NULL;
	if (xl_volfile_parse(text, strlen(text), "g.vol", &vf, err))
		return NULL;
	xl_graph_build(vf, &g, err);
	xl_volfile_free(vf);
	return g;
}

static void build_bad(const char *text, const char *want)
{
	char *err = NULL;
	struct xl_graph *g = build(text, &err);

	assert_null(g);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
	free(err);
}

static void test_build_errors(void **state)
{
	(void)state;
	build_bad("volume a\ntype test/nosuch\nend-volume\n",
		  "g.vol:1: volume 'a': unknown translator type 'test/nosuch'");
	build_bad("volume a\ntype test/leaf\noption bogus 1\nend-volume\n",
		  "g.vol:3: volume 'a': translator test/leaf has no option "
		  "'bogus'");
	build_bad("volume a\ntype test/leaf\noption value 1001\nend-volume\n",
		  "g.vol:3: volume 'a': option 'value': value '1001' out of "
		  "range 0..1000");
	build_bad("volume a\ntype test/leaf\noption value x\nend-volume\n",
		  "g.vol:3: volume 'a': option 'value': 'x' is not an integer");
	build_bad("volume a\ntype test/leaf\noption kind c\nend-volume\n",
		  "option 'kind': 'c' is not one of the allowed values");
	build_bad("volume a\ntype test/leaf\noption limit 3Q\nend-volume\n",
		  "option 'limit': '3Q' is not a size");
	build_bad("volume a\ntype test/leaf\noption async maybe\nend-volume\n",
		  "option 'async': 'maybe' is not on/off");
	build_bad("volume a\ntype test/leaf\noption allow 10.0.0.300\n"
		  "end-volume\n",
		  "option 'allow': '10.0.0.300' is not an address");
	/* "cn:" needs a name after it */
	build_bad(
	    "volume a\ntype test/leaf\noption allow 127.0.0.1,cn:\n"
	    "end-volume\n",
	    "option 'allow': 'cn:' is not an address, pattern or cn:NAME");
	build_bad("volume a\ntype test/leaf\noption dir rel/path\nend-volume\n",
		  "option 'dir': 'rel/path' is not an absolute path");
	build_bad("volume a\ntype test/fan\nsubvolumes b\nend-volume\n",
		  "g.vol:3: volume 'a': subvolume 'b' is not defined");
	build_bad("volume a\ntype test/fan\nsubvolumes a\nend-volume\n",
		  "g.vol:3: volume 'a' lists itself as a subvolume");
	build_bad("volume a\ntype test/fan\nsubvolumes b\nend-volume\n"
		  "volume b\ntype test/fan\nsubvolumes a\nend-volume\n",
		  "subvolume cycle: a -> b -> a");
	/* the descriptor's children and fop rules */
	build_bad("volume a\ntype test/leaf\nend-volume\n"
		  "volume b\ntype test/leaf\nsubvolumes a\nend-volume\n",
		  "g.vol:4: volume 'b': test/leaf takes at most 0 subvolumes, "
		  "has 1");
	build_bad("volume a\ntype test/fan\nend-volume\n",
		  "g.vol:1: volume 'a': test/fan needs at least 1 subvolume, "
		  "has 0");
	build_bad(
	    "volume a\ntype test/leaf\nend-volume\n"
	    "volume b\ntype test/picky\nsubvolumes a\nend-volume\n",
	    "g.vol:4: volume 'b': test/picky has no handler for fop stat");
}

static void test_build_good_options(void **state)
{
	(void)state;
	char *err = NULL;
	struct xl_graph *g =
	    build("volume l\ntype test/leaf\noption limit 64K\n"
		  "option allow 127.0.0.1,10.1.*,::1,cn:client1,CN:lab-*\n"
		  "option async yes\n"
		  "end-volume\n",
		  &err);
	int64_t v;
	bool b;
	const char *s;

	assert_non_null(g);
	assert_int_equal(xl_opt_int(g->top, "limit", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(xl_opt_int(g->top, "value", &v), 0);
	assert_int_equal(v, 7); /* default */
	assert_int_equal(xl_opt_bool(g->top, "async", &b), 0);
	assert_true(b);
	assert_int_equal(xl_opt_str(g->top, "kind", &s), 0);
	assert_string_equal(s, "a");
	assert_int_equal(xl_opt_str(g->top, "dir", &s), -ENOENT);
	xl_graph_destroy(g);
}

struct result {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	int32_t ret;
};

static void root_done(struct xl_call *parent, struct xl_call *call,
		      void *cookie)
{
	struct result *r = cookie;

	assert_null(parent);
	pthread_mutex_lock(&r->lock);
	r->ret = call->reply.ret;
	r->done++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Start fop on the root gfid at the top of g, answered into r (which
 * counts answers); with xdata key = 1 when key is not NULL. */
static void start_fop(struct xl_graph *g, enum xl_fop fop, const char *key,
		      struct result *r)
{
	struct xl_call *call = xl_call_new_root(g, fop, NULL, root_done, r);

	assert_non_null(call);
	memcpy(call->args.loc.gfid, xl_gfid_root, XL_GFID_LEN);
	if (key) {
		call->args.xdata = xl_dict_new();
		assert_non_null(call->args.xdata);
		assert_int_equal(xl_dict_set_u64(call->args.xdata, key, 1), 0);
	}
	xl_call_start(call, g->top);
}

/* One fop (see start_fop), waited for up to 10 s; its answer. */
static int32_t run_fop_key(struct xl_graph *g, enum xl_fop fop, const char *key)
{
	struct result r = {.lock = PTHREAD_MUTEX_INITIALIZER,
			   .cond = PTHREAD_COND_INITIALIZER};
	struct timespec deadline;

	start_fop(g, fop, key, &r);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&r.lock);
	while (!r.done)
		if (pthread_cond_timedwait(&r.cond, &r.lock, &deadline))
			break;
	pthread_mutex_unlock(&r.lock);
	assert_int_equal(r.done, 1);
	return r.ret;
}

static int32_t run_fop(struct xl_graph *g, enum xl_fop fop)
{
	return run_fop_key(g, fop, NULL);
}

#define FAN_VOL                                                                \
	"volume l1\ntype test/leaf\noption value 1\noption async %s\n"         \
	"end-volume\nvolume l2\ntype test/leaf\noption value 20\n"             \
	"option async %s\nend-volume\nvolume l3\ntype test/leaf\n"             \
	"option value 300\nend-volume\nvolume top\ntype test/fan\n"            \
	"subvolumes l1 l2 l3\nend-volume\n"

static void run_fanout(const char *async)
{
	char text[1024], *err = NULL;
	struct xl_graph *g;

	snprintf(text, sizeof(text), FAN_VOL, async, async);
	g = build(text, &err);
	assert_non_null(g);
	assert_int_equal(xl_graph_init(g, &err), 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(run_fop(g, XL_FOP_LOOKUP), 321);
	/* STAT is not implemented by test/fan: it passes to l1. */
	assert_int_equal(run_fop(g, XL_FOP_STAT), 101);
	/* Unimplemented everywhere: the leaf has no children -> ENOSYS. */
	assert_int_equal(run_fop(g, XL_FOP_MKDIR), -ENOSYS);
	assert_int_equal(atomic_load(&g->top->stats[XL_FOP_LOOKUP].count), 200);
	assert_int_equal(atomic_load(&g->top->stats[XL_FOP_MKDIR].errors), 1);
	assert_int_equal(atomic_load(&g->xls[0]->stats[XL_FOP_LOOKUP].count),
			 200);
	/* xl_fan by index (repeats, a fop per child, a fill that fails)
	 * and by mask; an internal call linked to its origin. */
	assert_int_equal(run_fop(g, XL_FOP_ACCESS), 300 + 101);
	assert_int_equal(run_fop(g, XL_FOP_STATFS), 301);
	assert_int_equal(run_fop(g, XL_FOP_FLUSH), 20);
	/* Wait for async leaves to finish accounting (their unwind
	 * returns after our completion ran). */
	for (int i = 0; i < 1000 && atomic_load(&g->top->pending); i++)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	assert_int_equal(atomic_load(&g->top->pending), 0);
	char *dump = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&dump, &len);
	xl_graph_dump(g, f);
	fclose(f);
	assert_non_null(strstr(dump, "fop.lookup count=200"));
	assert_non_null(strstr(dump, "[xlator l2]"));
	free(dump);
	for (int i = 0; i < 1000; i++) {
		bool idle = true;
		for (int k = 0; k < g->count; k++)
			idle &= atomic_load(&g->xls[k]->pending) == 0;
		if (idle)
			break;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	xl_graph_destroy(g);
}

static void test_fanout_sync(void **state)
{
	(void)state;
	run_fanout("off");
}

static void test_fanout_async(void **state)
{
	(void)state;
	run_fanout("on");
}

/* The memory.bytes line of translator name in g's state dump. */
static int64_t dump_memory_bytes(struct xl_graph *g, const char *name)
{
	char *dump = NULL, head[128];
	size_t len = 0;
	FILE *f = open_memstream(&dump, &len);
	const char *at;
	long long bytes = -1;

	assert_non_null(f);
	xl_graph_dump(g, f);
	fclose(f);
	snprintf(head, sizeof(head), "\n[xlator %s]\n", name);
	at = strstr(dump, head);
	assert_non_null(at);
	at = strstr(at, "\nmemory.bytes=");
	assert_non_null(at);
	assert_int_equal(sscanf(at, "\nmemory.bytes=%lld", &bytes), 1);
	free(dump);
	return bytes;
}

/* Per-call state is memory of the translator that asked for it: while
 * calls are in flight (held by test/gate below test/fan) the fan's
 * accounting and its state dump show local_size bytes per call, and every
 * byte is returned once the calls finish. */
static void test_call_local_accounted(void **state)
{
	(void)state;
	enum { HELD = 5 };
	char *err = NULL;
	struct xl_graph *g =
	    build("volume l\ntype test/leaf\noption value 5\nend-volume\n"
		  "volume g\ntype test/gate\nsubvolumes l\nend-volume\n"
		  "volume top\ntype test/fan\nsubvolumes g\nend-volume\n",
		  &err);
	struct result r = {.lock = PTHREAD_MUTEX_INITIALIZER,
			   .cond = PTHREAD_COND_INITIALIZER};
	int64_t base_bytes, base_allocs, size;

	assert_non_null(g);
	assert_int_equal(xl_graph_init(g, &err), 0);
	size = (int64_t)g->top->desc->local_size;
	assert_true(size > 0);
	base_bytes = atomic_load(&g->top->mem_bytes);
	base_allocs = atomic_load(&g->top->mem_allocs);
	assert_int_equal(dump_memory_bytes(g, "top"), base_bytes);

	for (int i = 0; i < HELD; i++)
		start_fop(g, XL_FOP_LOOKUP, "test.gate-hold", &r);
	assert_int_equal(run_fop_key(g, XL_FOP_STAT, "test.gate-wait"), HELD);
	pthread_mutex_lock(&r.lock);
	assert_int_equal(r.done, 0);
	pthread_mutex_unlock(&r.lock);
	assert_int_equal(atomic_load(&g->top->mem_bytes),
			 base_bytes + HELD * size);
	assert_int_equal(atomic_load(&g->top->mem_allocs), base_allocs + HELD);
	assert_int_equal(dump_memory_bytes(g, "top"), base_bytes + HELD * size);

	/* test/leaf answers synchronously: every lookup is done, and its
	 * call freed, when the gate has wound them all down. */
	assert_int_equal(run_fop_key(g, XL_FOP_STAT, "test.gate-open"), HELD);
	pthread_mutex_lock(&r.lock);
	assert_int_equal(r.done, HELD);
	assert_int_equal(r.ret, 5);
	pthread_mutex_unlock(&r.lock);
	assert_int_equal(atomic_load(&g->top->mem_bytes), base_bytes);
	assert_int_equal(atomic_load(&g->top->mem_allocs), base_allocs);
	assert_int_equal(dump_memory_bytes(g, "top"), base_bytes);
	xl_graph_destroy(g);
}

static void test_inode_table(void **state)
{
	(void)state;
	char *err = NULL;
	struct xl_graph *g =
	    build("volume l\ntype test/leaf\nend-volume\n", &err);
	uint8_t gfid[XL_GFID_LEN];

	assert_non_null(g);
	xl_gfid_generate(gfid);
	struct xl_inode *a = xl_inode_get(g->itable, gfid);
	struct xl_inode *b = xl_inode_get(g->itable, gfid);
	assert_ptr_equal(a, b);
	assert_int_equal(g->itable->inode_count, 2); /* root + a */
	xl_inode_ctx_set(a, g->top, (void *)0x1234);
	assert_ptr_equal(xl_inode_ctx_get(b, g->top), (void *)0x1234);
	xl_inode_ctx_set(a, g->top, NULL);
	xl_inode_unref(a);
	xl_inode_unref(b);
	assert_null(xl_inode_find(g->itable, gfid));
	assert_int_equal(g->itable->inode_count, 1);

	char s[XL_GFID_STR_LEN];
	uint8_t back[XL_GFID_LEN];
	assert_int_equal(xl_gfid_parse(xl_gfid_to_str(gfid, s), back), 0);
	assert_memory_equal(gfid, back, XL_GFID_LEN);
	assert_int_equal(xl_gfid_parse("not-a-gfid", back), -EINVAL);
	assert_true(xl_name_is_valid("a.b"));
	assert_false(xl_name_is_valid(".."));
	assert_false(xl_name_is_valid("."));
	assert_false(xl_name_is_valid(""));
	assert_false(xl_name_is_valid("a/b"));
	xl_graph_destroy(g);
}

/* What a program replacing a graph relies on: the graph counts its root
 * calls and fds until they are freed, and with keep_itable its destroy
 * leaves the inodes alive in an orphaned table (contexts freed, lookups
 * by gfid still answered, no new inodes), freed by its owner once
 * empty. */
static bool counts_zero(struct xl_graph *g)
{
	for (int i = 0; i < 1000; i++) {
		if (atomic_load(&g->live_root_calls) == 0 &&
		    atomic_load(&g->live_fds) == 0)
			return true;
		usleep(1000);
	}
	return false;
}

static void test_drain_and_orphan(void **state)
{
	(void)state;
	char *err = NULL;
	struct xl_graph *g =
	    build("volume l\ntype test/leaf\nend-volume\n", &err);
	struct xl_inode_table *t;
	struct xl_inode *a, *found;
	struct xl_call *call;
	struct xl_fd *fd;
	uint8_t gfid[XL_GFID_LEN], other[XL_GFID_LEN];

	assert_non_null(g);
	assert_int_equal(xl_graph_init(g, &err), 0);
	assert_true(counts_zero(g));
	xl_gfid_generate(gfid);
	xl_gfid_generate(other);
	a = xl_inode_get(g->itable, gfid);
	assert_non_null(a);
	fd = xl_fd_new(g, gfid, a, 0, false);
	assert_int_equal(atomic_load(&g->live_fds), 1);
	call = xl_call_new_root(g, XL_FOP_STAT, NULL, root_done, NULL);
	assert_int_equal(atomic_load(&g->live_root_calls), 1);
	call->args.fd = fd; /* freed with the call */
	xl_call_unref(call);
	assert_int_equal(atomic_load(&g->live_root_calls), 0);
	assert_int_equal(atomic_load(&g->live_fds), 0);
	assert_true(run_fop(g, XL_FOP_STAT) >= 0); /* the leaf answers */
	assert_true(counts_zero(g));

	xl_inode_ctx_set(a, g->top, (void *)0x1234);
	t = g->itable;
	g->keep_itable = true;
	xl_graph_destroy(g);
	assert_null(t->graph);
	assert_null(a->ctx[0]); /* freed before the translator went */
	found = xl_inode_find(t, gfid);
	assert_ptr_equal(found, a);
	xl_inode_unref(found);
	assert_null(xl_inode_get(t, other));
	assert_int_equal(xl_inode_table_count(t), 1); /* a; no root ref */
	xl_inode_unref(a);
	assert_int_equal(xl_inode_table_count(t), 0);
	xl_inode_table_free(t);
}

/* Memory accounted per translator: the dump's memory.bytes follows every
 * allocation, a reallocation and a copied string included, back to what
 * it was. */
static void test_memory(void **state)
{
	(void)state;
	char *err = NULL;
	struct xl_graph *g =
	    build("volume l\ntype test/leaf\nend-volume\n", &err);
	struct xl *xl;
	int_fast64_t base, base_allocs;
	char *p, *s;

	assert_non_null(g);
	xl = g->top;
	base = atomic_load(&xl->mem_bytes);
	base_allocs = atomic_load(&xl->mem_allocs);
	p = xl_malloc(xl, 10);
	assert_non_null(p);
	assert_int_equal(atomic_load(&xl->mem_bytes), base + 10);
	p = xl_realloc(xl, p, 100);
	assert_non_null(p);
	assert_int_equal(atomic_load(&xl->mem_bytes), base + 100);
	s = xl_strdup(xl, "abc");
	assert_string_equal(s, "abc");
	assert_int_equal(atomic_load(&xl->mem_bytes), base + 104);
	xl_free(xl, p);
	xl_free(xl, s);
	assert_int_equal(atomic_load(&xl->mem_bytes), base);
	p = xl_realloc(xl, NULL, 8); /* NULL: a new block */
	assert_int_equal(atomic_load(&xl->mem_bytes), base + 8);
	xl_free(xl, p);
	assert_int_equal(atomic_load(&xl->mem_allocs), base_allocs);
	xl_graph_destroy(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_errors),
	    cmocka_unit_test(test_build_good_options),
	    cmocka_unit_test(test_fanout_sync),
	    cmocka_unit_test(test_fanout_async),
	    cmocka_unit_test(test_call_local_accounted),
	    cmocka_unit_test(test_inode_table),
	    cmocka_unit_test(test_drain_and_orphan),
	    cmocka_unit_test(test_memory),
	};
	if (xlpath_setup() != 0)
		return 1;
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	xlpath_teardown();
	return ret;
}
