/*
 * test_md_cache.c - performance/md-cache's cache alone: a reply wound
 * before an invalidation never re-fills it (also across an eviction),
 * items expire from the time their fop went down, negative entries and
 * xattrs, the LRU bound, forget-all, complete directories (a name they
 * do not hold is ENOENT until anything but a re-fill drops a name).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "md-cache-table.h"
#include "xlator.h"

#include <errno.h>
#include <string.h>

#define TMO 1000

static void gfid_of(uint8_t *g, int n)
{
	memset(g, 0, XL_GFID_LEN);
	g[0] = 0x42;
	g[14] = (uint8_t)(n >> 8);
	g[15] = (uint8_t)n;
}

static struct xl_iatt iatt_of(int n, uint64_t size)
{
	struct xl_iatt ia = {.mode = 0100644, .size = size, .nlink = 1};

	gfid_of(ia.gfid, n);
	return ia;
}

static void test_fill_and_expire(void **state)
{
	struct mdc_table t;
	struct xl_iatt ia = iatt_of(1, 10), got;

	(void)state;
	assert_int_equal(mdc_table_init(&t, NULL, 100, TMO), 0);
	assert_false(mdc_get_attr(&t, ia.gfid, 0, &got));
	assert_int_equal(mdc_fill_attr(&t, &ia, mdc_table_seq(&t), 100), 0);
	assert_true(mdc_get_attr(&t, ia.gfid, 500, &got));
	assert_int_equal(got.size, 10);
	/* the lifetime counts from when the fop went down (100) */
	assert_true(mdc_get_attr(&t, ia.gfid, 100 + TMO - 1, &got));
	assert_false(mdc_get_attr(&t, ia.gfid, 100 + TMO, &got));
	mdc_table_fini(&t);
}

/* The race the generations exist for: a stat goes down, a notice drops
 * the inode, then the stat's (old) reply comes back. */
static void test_racing_reply_refused(void **state)
{
	struct mdc_table t;
	struct xl_iatt old = iatt_of(2, 10), fresh = iatt_of(2, 99), got;
	uint64_t since;

	(void)state;
	mdc_table_init(&t, NULL, 100, TMO);
	mdc_fill_attr(&t, &old, mdc_table_seq(&t), 0);
	mdc_table_touch(&t, old.gfid);
	since = mdc_table_seq(&t); /* a stat goes down */
	mdc_invalidate(&t, old.gfid, XL_UP_ATTR, NULL, NULL);
	assert_false(mdc_get_attr(&t, old.gfid, 1, &got));
	assert_int_equal(mdc_fill_attr(&t, &old, since, 0), -ESTALE);
	assert_false(mdc_get_attr(&t, old.gfid, 1, &got));
	assert_int_equal(t.stats.refused_fills, 1);
	/* a fop that went down after the notice fills */
	since = mdc_table_seq(&t);
	assert_int_equal(mdc_fill_attr(&t, &fresh, since, 0), 0);
	assert_true(mdc_get_attr(&t, old.gfid, 1, &got));
	assert_int_equal(got.size, 99);
	/* an invalidation of another inode does not refuse this one's fill
	 * when its node was there when the fop went down */
	since = mdc_table_seq(&t);
	{
		struct xl_iatt other = iatt_of(3, 1);

		mdc_invalidate(&t, other.gfid, XL_UP_ATTR, NULL, NULL);
	}
	assert_int_equal(mdc_fill_attr(&t, &fresh, since, 0), 0);
	mdc_table_fini(&t);
}

/* An inode invalidated and then evicted cannot be re-filled by a reply
 * sampled before the invalidation. */
static void test_race_across_eviction(void **state)
{
	struct mdc_table t;
	struct xl_iatt a = iatt_of(1, 1);
	uint64_t since;

	(void)state;
	mdc_table_init(&t, NULL, 16, TMO);
	mdc_table_touch(&t, a.gfid);
	since = mdc_table_seq(&t);
	mdc_invalidate(&t, a.gfid, XL_UP_ATTR, NULL, NULL);
	for (int i = 100; i < 140; i++) {
		struct xl_iatt o = iatt_of(i, 1);

		mdc_fill_attr(&t, &o, mdc_table_seq(&t), 0);
	}
	assert_true(t.stats.evictions > 0);
	assert_int_equal(mdc_fill_attr(&t, &a, since, 0), -ESTALE);
	mdc_table_fini(&t);
}

static void test_lru_bound(void **state)
{
	struct mdc_table t;
	struct xl_iatt got, first = iatt_of(0, 0);

	(void)state;
	mdc_table_init(&t, NULL, 16, TMO);
	for (int i = 0; i < 1000; i++) {
		struct xl_iatt o = iatt_of(i, (uint64_t)i);

		mdc_fill_attr(&t, &o, mdc_table_seq(&t), 0);
		/* keep the first one in use: it stays */
		mdc_get_attr(&t, first.gfid, 1, &got);
		mdc_table_touch(&t, first.gfid);
		assert_true(t.count <= 16);
	}
	assert_true(mdc_get_attr(&t, first.gfid, 1, &got));
	{
		struct xl_iatt last = iatt_of(999, 0), gone = iatt_of(500, 0);

		assert_true(mdc_get_attr(&t, last.gfid, 1, &got));
		assert_int_equal(got.size, 999);
		assert_false(mdc_get_attr(&t, gone.gfid, 1, &got));
	}
	mdc_table_fini(&t);
}

static void test_entries(void **state)
{
	struct mdc_table t;
	struct xl_iatt dir = iatt_of(7, 0), f = iatt_of(8, 5), got;
	uint64_t since;

	(void)state;
	mdc_table_init(&t, NULL, 100, TMO);
	since = mdc_table_seq(&t);
	/* negative */
	assert_int_equal(mdc_fill_entry(&t, dir.gfid, "nope", NULL, since, 0),
			 0);
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "nope", 1, &got),
			 MDC_NOENT);
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "other", 1, &got),
			 MDC_MISS);
	/* a create elsewhere: the directory's notice drops it */
	mdc_invalidate(&t, dir.gfid, XL_UP_ENTRY | XL_UP_ATTR, dir.gfid,
		       "nope");
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "nope", 1, &got),
			 MDC_MISS);
	/* and a lookup wound before that notice cannot put it back */
	assert_int_equal(mdc_fill_entry(&t, dir.gfid, "nope", NULL, since, 0),
			 -ESTALE);
	/* positive: needs the inode's attributes too */
	since = mdc_table_seq(&t);
	mdc_fill_entry(&t, dir.gfid, "f", f.gfid, since, 0);
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "f", 1, &got), MDC_MISS);
	mdc_fill_attr(&t, &f, since, 0);
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "f", 1, &got), MDC_FOUND);
	assert_int_equal(got.size, 5);
	/* the inode deleted: the name no longer answers */
	mdc_invalidate(&t, f.gfid, XL_UP_DELETED, NULL, NULL);
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "f", 1, &got), MDC_MISS);
	/* expiry */
	since = mdc_table_seq(&t);
	mdc_fill_entry(&t, dir.gfid, "x", NULL, since, 10);
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "x", 10 + TMO, &got),
			 MDC_MISS);
	/* a full directory stays bounded */
	for (int i = 0; i < 3 * MDC_DIR_ENTRIES_MAX; i++) {
		char name[32];

		snprintf(name, sizeof(name), "n%d", i);
		mdc_fill_entry(&t, dir.gfid, name, NULL, mdc_table_seq(&t), 0);
	}
	assert_true(t.count <= 100);
	mdc_table_fini(&t);
}

static void test_xattrs(void **state)
{
	struct mdc_table t;
	struct xl_iatt f = iatt_of(9, 5);
	const void *v;
	uint32_t len;
	uint64_t since;

	(void)state;
	mdc_table_init(&t, NULL, 100, TMO);
	since = mdc_table_seq(&t);
	assert_int_equal(
	    mdc_get_xattr(&t, f.gfid, "security.capability", 1, &v, &len),
	    -ENOENT);
	mdc_fill_xattr(&t, f.gfid, "security.capability", false, NULL, 0, since,
		       0);
	assert_int_equal(
	    mdc_get_xattr(&t, f.gfid, "security.capability", 1, &v, &len), 0);
	mdc_fill_xattr(&t, f.gfid, "user.a", true, "abc", 3, since, 0);
	assert_int_equal(mdc_get_xattr(&t, f.gfid, "user.a", 1, &v, &len), 1);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "abc", 3);
	/* an attribute change keeps xattrs; an xattr change drops them */
	mdc_invalidate(&t, f.gfid, XL_UP_ATTR, NULL, NULL);
	assert_int_equal(mdc_get_xattr(&t, f.gfid, "user.a", 1, &v, &len), 1);
	mdc_invalidate(&t, f.gfid, XL_UP_XATTR, NULL, NULL);
	assert_int_equal(mdc_get_xattr(&t, f.gfid, "user.a", 1, &v, &len),
			 -ENOENT);
	assert_int_equal(
	    mdc_fill_xattr(&t, f.gfid, "user.a", true, "x", 1, since, 0),
	    -ESTALE);
	mdc_table_fini(&t);
}

static void test_forget_all(void **state)
{
	struct mdc_table t;
	struct xl_iatt a = iatt_of(1, 1), got;
	uint64_t since;

	(void)state;
	mdc_table_init(&t, NULL, 100, TMO);
	mdc_fill_attr(&t, &a, mdc_table_seq(&t), 0);
	mdc_fill_entry(&t, a.gfid, "n", NULL, mdc_table_seq(&t), 0);
	since = mdc_table_seq(&t);
	mdc_invalidate(&t, NULL, XL_UP_FORGET_ALL, NULL, NULL);
	assert_int_equal(t.count, 0);
	assert_false(mdc_get_attr(&t, a.gfid, 1, &got));
	/* what was in flight over the lost connection does not come back */
	assert_int_equal(mdc_fill_attr(&t, &a, since, 0), -ESTALE);
	mdc_table_fini(&t);
}

/* A directory whose names are all known answers ENOENT for any other
 * name, and stops the moment it may have lost one. */
static void test_complete_dir(void **state)
{
	struct mdc_table t;
	struct xl_iatt dir = iatt_of(20, 0), f = iatt_of(21, 3), got;
	uint64_t exp = 0;

	(void)state;
	mdc_table_init(&t, NULL, 100, TMO);
	/* only a cached node can be complete */
	assert_int_equal(mdc_set_complete(&t, dir.gfid, 10 + TMO), -ENOENT);
	mdc_table_touch(&t, dir.gfid);
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "a", 10, &got), MDC_MISS);
	assert_int_equal(mdc_set_complete(&t, dir.gfid, 10 + TMO), 0);
	assert_true(mdc_is_complete(&t, dir.gfid, 10, &exp));
	assert_int_equal(exp, 10 + TMO);
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "a", 10, &got), MDC_NOENT);
	assert_int_equal(t.stats.complete_noents, 1);
	/* names filled keep it complete and answer for themselves */
	mdc_fill_attr(&t, &f, mdc_table_seq(&t), 10);
	mdc_fill_entry(&t, dir.gfid, "f", f.gfid, mdc_table_seq(&t), 10);
	mdc_fill_entry(&t, dir.gfid, "f", f.gfid, mdc_table_seq(&t), 5);
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "f", 11, &got), MDC_FOUND);
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "g", 11, &got), MDC_NOENT);
	/* a known name whose own item expired is asked for, not denied */
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "f", 10 + TMO - 1, &got),
			 MDC_MISS);
	/* and completeness itself expires */
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "g", 10 + TMO, &got),
			 MDC_MISS);
	assert_false(mdc_is_complete(&t, dir.gfid, 10 + TMO, NULL));
	/* a notice about any name of it: the name may exist now */
	mdc_set_complete(&t, dir.gfid, 100 + TMO);
	mdc_invalidate(&t, dir.gfid, XL_UP_ENTRY | XL_UP_ATTR, dir.gfid, "h");
	assert_false(mdc_is_complete(&t, dir.gfid, 100, NULL));
	assert_int_equal(mdc_get_entry(&t, dir.gfid, "g", 100, &got), MDC_MISS);
	/* the directory deleted, or a full list started over */
	mdc_set_complete(&t, dir.gfid, 100 + TMO);
	mdc_invalidate(&t, dir.gfid, XL_UP_DELETED, NULL, NULL);
	assert_false(mdc_is_complete(&t, dir.gfid, 100, NULL));
	mdc_table_touch(&t, dir.gfid);
	mdc_set_complete(&t, dir.gfid, 100 + TMO);
	for (int i = 0; i <= MDC_DIR_ENTRIES_MAX; i++) {
		char name[32];

		snprintf(name, sizeof(name), "n%d", i);
		mdc_fill_entry(&t, dir.gfid, name, NULL, mdc_table_seq(&t),
			       100);
	}
	assert_false(mdc_is_complete(&t, dir.gfid, 100, NULL));
	/* forget-all and eviction drop it with the node */
	mdc_set_complete(&t, dir.gfid, 100 + TMO);
	mdc_invalidate(&t, NULL, XL_UP_FORGET_ALL, NULL, NULL);
	assert_false(mdc_is_complete(&t, dir.gfid, 100, NULL));
	mdc_table_fini(&t);
}

/* Many names in one directory and the same names in others are told
 * apart (the entry hash is by directory and name). */
static void test_entries_by_dir(void **state)
{
	struct mdc_table t;
	struct xl_iatt d1 = iatt_of(30, 0), d2 = iatt_of(31, 0), got;
	uint8_t g[XL_GFID_LEN];

	(void)state;
	mdc_table_init(&t, NULL, 4096, TMO);
	for (int i = 0; i < 2000; i++) {
		struct xl_iatt f = iatt_of(100 + i, (uint64_t)i);
		char name[32];

		snprintf(name, sizeof(name), "f%d", i);
		mdc_fill_attr(&t, &f, mdc_table_seq(&t), 0);
		mdc_fill_entry(&t, d1.gfid, name, f.gfid, mdc_table_seq(&t), 0);
		mdc_fill_entry(&t, d2.gfid, name, NULL, mdc_table_seq(&t), 0);
	}
	for (int i = 0; i < 2000; i += 7) {
		char name[32];

		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(mdc_get_entry(&t, d1.gfid, name, 1, &got),
				 MDC_FOUND);
		assert_int_equal(got.size, i);
		assert_int_equal(mdc_get_entry(&t, d2.gfid, name, 1, &got),
				 MDC_NOENT);
	}
	mdc_invalidate(&t, d1.gfid, XL_UP_ENTRY, d1.gfid, "f7");
	assert_false(mdc_entry_known(&t, d1.gfid, "f7", g));
	assert_true(mdc_entry_known(&t, d1.gfid, "f14", g));
	assert_int_equal(mdc_get_entry(&t, d2.gfid, "f7", 1, &got), MDC_NOENT);
	mdc_table_fini(&t);
}

/* When a directory looked up name after name is read whole instead. */
static void test_dir_prefetch_rules(void **state)
{
	struct mdc_table t;
	struct xl_iatt dir = iatt_of(40, 0), big = iatt_of(41, 0);

	(void)state;
	mdc_table_init(&t, NULL, 100, TMO);
	assert_false(mdc_dir_miss(&t, dir.gfid, 0, 10)); /* off */
	assert_false(mdc_dir_miss(&t, dir.gfid, 3, 10));
	assert_false(mdc_dir_miss(&t, dir.gfid, 3, 10));
	assert_true(mdc_dir_miss(&t, dir.gfid, 3, 10)); /* the third */
	/* one at a time */
	for (int i = 0; i < 10; i++)
		assert_false(mdc_dir_miss(&t, dir.gfid, 3, 11));
	mdc_dir_prefetched(&t, dir.gfid, false);
	/* not again within a timeout of the last start */
	for (int i = 0; i < 5; i++)
		assert_false(mdc_dir_miss(&t, dir.gfid, 3, 10 + TMO - 1));
	assert_true(mdc_dir_miss(&t, dir.gfid, 3, 10 + TMO));
	mdc_dir_prefetched(&t, dir.gfid, false);
	/* a complete directory needs none */
	mdc_set_complete(&t, dir.gfid, 100 * TMO);
	for (int i = 0; i < 5; i++)
		assert_false(mdc_dir_miss(&t, dir.gfid, 1, 20 * TMO));
	/* one too big to read whole: never again */
	assert_true(mdc_dir_miss(&t, big.gfid, 1, 10));
	mdc_dir_prefetched(&t, big.gfid, true);
	for (int i = 0; i < 5; i++)
		assert_false(mdc_dir_miss(&t, big.gfid, 1, 100 * TMO));
	mdc_table_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fill_and_expire),
	    cmocka_unit_test(test_racing_reply_refused),
	    cmocka_unit_test(test_race_across_eviction),
	    cmocka_unit_test(test_lru_bound),
	    cmocka_unit_test(test_entries),
	    cmocka_unit_test(test_xattrs),
	    cmocka_unit_test(test_forget_all),
	    cmocka_unit_test(test_complete_dir),
	    cmocka_unit_test(test_entries_by_dir),
	    cmocka_unit_test(test_dir_prefetch_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
