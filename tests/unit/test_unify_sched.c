/*
 * test_unify_sched.c - the cluster/unify schedulers (unify-sched.c) on
 * made-up snapshots of children: which child a new file goes to.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unify-sched.h"

#include <errno.h>
#include <string.h>

#define MB (1024ull * 1024)

static void set_child(struct unify_sched_child *c, bool up, uint64_t free_mb,
		      uint64_t total_mb)
{
	memset(c, 0, sizeof(*c));
	c->up = up;
	c->stats_known = true;
	c->free_bytes = free_mb * MB;
	c->total_bytes = total_mb * MB;
}

static struct unify_sched_conf conf_of(enum unify_sched_kind kind)
{
	struct unify_sched_conf conf = {
	    .kind = kind,
	    .min_free_pct = 10,
	    .local = -1,
	    .alu_disk_threshold = 100 * MB,
	    .alu_files_threshold = 1000,
	    .alu_write_threshold = 8,
	};
	return conf;
}

static void test_parse(void **state)
{
	enum unify_sched_kind k;

	(void)state;
	assert_int_equal(unify_sched_parse("rr", &k), 0);
	assert_int_equal(k, UNIFY_SCHED_RR);
	assert_int_equal(unify_sched_parse("nufa", &k), 0);
	assert_int_equal(k, UNIFY_SCHED_NUFA);
	assert_int_equal(unify_sched_parse("alu", &k), 0);
	assert_int_equal(unify_sched_parse("random", &k), 0);
	assert_int_equal(unify_sched_parse("RR", &k), -EINVAL);
	assert_int_equal(unify_sched_parse("", &k), -EINVAL);
	assert_string_equal(unify_sched_name(UNIFY_SCHED_ALU), "alu");
}

/* rr: exactly k files per child for n*k creates, skipping down ones. */
static void test_rr_even_and_skips_down(void **state)
{
	struct unify_sched_conf conf = conf_of(UNIFY_SCHED_RR);
	struct unify_sched_child c[4];
	unsigned cursor = 0;
	int counts[4] = {0};

	(void)state;
	for (int i = 0; i < 4; i++)
		set_child(&c[i], true, 1000, 1000);
	for (int k = 0; k < 40; k++)
		counts[unify_sched_pick(&conf, c, 4, &cursor, 0)]++;
	for (int i = 0; i < 4; i++)
		assert_int_equal(counts[i], 10);
	c[2].up = false;
	memset(counts, 0, sizeof(counts));
	for (int k = 0; k < 30; k++)
		counts[unify_sched_pick(&conf, c, 4, &cursor, 0)]++;
	assert_int_equal(counts[2], 0);
	assert_int_equal(counts[0], 10);
	assert_int_equal(counts[1], 10);
	assert_int_equal(counts[3], 10);
}

static void test_none_up(void **state)
{
	struct unify_sched_conf conf = conf_of(UNIFY_SCHED_RR);
	struct unify_sched_child c[2];
	unsigned cursor = 0;

	(void)state;
	set_child(&c[0], false, 1000, 1000);
	set_child(&c[1], false, 1000, 1000);
	for (int kind = UNIFY_SCHED_RR; kind <= UNIFY_SCHED_NUFA; kind++) {
		conf.kind = (enum unify_sched_kind)kind;
		conf.local = 0;
		assert_int_equal(unify_sched_pick(&conf, c, 2, &cursor, 7),
				 -ENOTCONN);
	}
}

/* min-free-disk: a full child gets nothing while another has room; when
 * all are full the emptiest one is used. */
static void test_min_free_disk(void **state)
{
	struct unify_sched_conf conf = conf_of(UNIFY_SCHED_RR);
	struct unify_sched_child c[3];
	unsigned cursor = 0;

	(void)state;
	set_child(&c[0], true, 50, 1000); /* 5% free < 10% */
	set_child(&c[1], true, 500, 1000);
	set_child(&c[2], true, 99, 1000); /* 9.9% */
	for (int k = 0; k < 10; k++)
		assert_int_equal(unify_sched_pick(&conf, c, 3, &cursor, 0), 1);
	c[1].free_bytes = 20 * MB;
	for (int k = 0; k < 5; k++)
		assert_int_equal(unify_sched_pick(&conf, c, 3, &cursor, 0), 2);
	/* exactly at the limit has room */
	set_child(&c[0], true, 100, 1000);
	assert_true(unify_sched_has_room(&c[0], 10));
	c[0].free_bytes--;
	assert_false(unify_sched_has_room(&c[0], 10));
	/* unknown stats never refuse */
	c[0].stats_known = false;
	assert_true(unify_sched_has_room(&c[0], 10));
}

/* nufa: local while it has room and is up, else round-robin elsewhere. */
static void test_nufa(void **state)
{
	struct unify_sched_conf conf = conf_of(UNIFY_SCHED_NUFA);
	struct unify_sched_child c[3];
	unsigned cursor = 0;
	int counts[3] = {0};

	(void)state;
	conf.local = 1;
	for (int i = 0; i < 3; i++)
		set_child(&c[i], true, 900, 1000);
	for (int k = 0; k < 10; k++)
		assert_int_equal(unify_sched_pick(&conf, c, 3, &cursor, 0), 1);
	c[1].free_bytes = 10 * MB; /* local full */
	for (int k = 0; k < 10; k++)
		counts[unify_sched_pick(&conf, c, 3, &cursor, 0)]++;
	assert_int_equal(counts[1], 0);
	assert_int_equal(counts[0], 5);
	assert_int_equal(counts[2], 5);
	c[1].free_bytes = 900 * MB;
	c[1].up = false; /* local down */
	memset(counts, 0, sizeof(counts));
	for (int k = 0; k < 4; k++)
		counts[unify_sched_pick(&conf, c, 3, &cursor, 0)]++;
	assert_int_equal(counts[1], 0);
	assert_int_equal(counts[0] + counts[2], 4);
}

/* alu: the emptier child takes the files until it is within the
 * threshold; then file counts and pending writes decide. */
static void test_alu(void **state)
{
	struct unify_sched_conf conf = conf_of(UNIFY_SCHED_ALU);
	struct unify_sched_child c[3];
	unsigned cursor = 0;
	int counts[3] = {0};

	(void)state;
	set_child(&c[0], true, 300, 1000);
	set_child(&c[1], true, 800, 1000);
	set_child(&c[2], true, 750, 1000);
	for (int k = 0; k < 10; k++)
		counts[unify_sched_pick(&conf, c, 3, &cursor, 0)]++;
	assert_int_equal(counts[0], 0); /* 500 MB below the emptiest */
	assert_int_equal(counts[1], 5);
	assert_int_equal(counts[2], 5);
	/* file count: child 2 holds many more files */
	c[2].files = 5000;
	c[1].files = 10;
	for (int k = 0; k < 6; k++)
		assert_int_equal(unify_sched_pick(&conf, c, 3, &cursor, 0), 1);
	/* pending writes: child 1 is busy, child 2 now has few files */
	c[2].files = 10;
	c[1].pending_writes = 100;
	for (int k = 0; k < 6; k++)
		assert_int_equal(unify_sched_pick(&conf, c, 3, &cursor, 0), 2);
}

static void test_random_only_candidates(void **state)
{
	struct unify_sched_conf conf = conf_of(UNIFY_SCHED_RANDOM);
	struct unify_sched_child c[4];
	unsigned cursor = 0;
	int counts[4] = {0};

	(void)state;
	for (int i = 0; i < 4; i++)
		set_child(&c[i], true, 900, 1000);
	c[0].up = false;
	c[3].free_bytes = 1 * MB;
	for (unsigned r = 0; r < 100; r++)
		counts[unify_sched_pick(&conf, c, 4, &cursor, r)]++;
	assert_int_equal(counts[0], 0);
	assert_int_equal(counts[3], 0);
	assert_int_equal(counts[1], 50);
	assert_int_equal(counts[2], 50);
}

static void test_bad_count(void **state)
{
	struct unify_sched_conf conf = conf_of(UNIFY_SCHED_RR);
	struct unify_sched_child c[1];
	unsigned cursor = 0;

	(void)state;
	set_child(&c[0], true, 1, 1);
	assert_int_equal(unify_sched_pick(&conf, c, 0, &cursor, 0), -EINVAL);
	assert_int_equal(unify_sched_pick(&conf, c, 65, &cursor, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_rr_even_and_skips_down),
	    cmocka_unit_test(test_none_up),
	    cmocka_unit_test(test_min_free_disk),
	    cmocka_unit_test(test_nufa),
	    cmocka_unit_test(test_alu),
	    cmocka_unit_test(test_random_only_candidates),
	    cmocka_unit_test(test_bad_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
