/*
 * test_replicate_judge.c - cluster/replicate's verdict on the pending
 * counters (who is a source, who a sink, what is split-brain) and client
 * quorum.  The translator's sources are compiled in; no child is called.
 */
#include "config.h"

#include "afr.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

typedef int64_t afr_matrix[AFR_MAX_CHILDREN][AFR_MAX_CHILDREN][AFR_TYPES];

static struct afr_priv priv_of(int n, int quorum)
{
	struct afr_priv p;

	memset(&p, 0, sizeof(p));
	p.n = n;
	p.quorum = quorum;
	return p;
}

static void test_clean(void **state)
{
	struct afr_priv p = priv_of(2, -1);
	afr_matrix m;
	struct afr_verdict v;

	(void)state;
	memset(m, 0, sizeof(m));
	afr_judge(&p, 3, m, &v);
	assert_int_equal(v.sources[AFR_DATA], 3);
	assert_int_equal(v.sinks[AFR_DATA], 0);
	assert_int_equal(v.dirty[AFR_DATA], 0);
	assert_int_equal(v.sb, 0);
}

/* Copy 0 saw writes copy 1 missed. */
static void test_one_blames_other(void **state)
{
	struct afr_priv p = priv_of(2, -1);
	afr_matrix m;
	struct afr_verdict v;

	(void)state;
	memset(m, 0, sizeof(m));
	m[0][1][AFR_DATA] = 5;
	afr_judge(&p, 3, m, &v);
	assert_int_equal(v.sources[AFR_DATA], 1);
	assert_int_equal(v.sinks[AFR_DATA], 2);
	assert_int_equal(v.sb, 0);
	assert_int_equal(v.sources[AFR_META], 3);
}

/* Both blame each other: split-brain, for that type only. */
static void test_split_brain(void **state)
{
	struct afr_priv p = priv_of(2, -1);
	afr_matrix m;
	struct afr_verdict v;

	(void)state;
	memset(m, 0, sizeof(m));
	m[0][1][AFR_DATA] = 1;
	m[1][0][AFR_DATA] = 2;
	afr_judge(&p, 3, m, &v);
	assert_int_equal(v.sources[AFR_DATA], 0);
	assert_int_equal(v.sb, 1u << AFR_DATA);
}

/* A client died between pre-op and post-op: every copy blames everyone
 * equally (itself too).  Maybe dirty, nobody accused, no split-brain. */
static void test_unfinished_txn(void **state)
{
	struct afr_priv p = priv_of(3, -1);
	afr_matrix m;
	struct afr_verdict v;

	(void)state;
	memset(m, 0, sizeof(m));
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			m[i][j][AFR_DATA] = 1;
	afr_judge(&p, 7, m, &v);
	assert_int_equal(v.sources[AFR_DATA], 7);
	assert_int_equal(v.dirty[AFR_DATA], 7);
	assert_int_equal(v.sb, 0);
}

/* Only copies that answered count: a blamed copy that is down is not a
 * source, and the others still are. */
static void test_valid_only(void **state)
{
	struct afr_priv p = priv_of(3, -1);
	afr_matrix m;
	struct afr_verdict v;

	(void)state;
	memset(m, 0, sizeof(m));
	m[0][2][AFR_ENTRY] = 1;
	m[1][2][AFR_ENTRY] = 1;
	afr_judge(&p, 3, m, &v); /* copy 2 did not answer */
	assert_int_equal(v.sources[AFR_ENTRY], 3);
	assert_int_equal(v.sb, 0);
}

static void test_quorum(void **state)
{
	struct afr_priv p = priv_of(2, -1);

	(void)state;
	/* auto, replica 2: both, or the first alone. */
	assert_true(afr_quorum_ok(&p, 3));
	assert_true(afr_quorum_ok(&p, 1));
	assert_false(afr_quorum_ok(&p, 2));
	p = priv_of(3, -1);
	assert_true(afr_quorum_ok(&p, 6));
	assert_false(afr_quorum_ok(&p, 1));
	p = priv_of(2, 0); /* none */
	assert_true(afr_quorum_ok(&p, 2));
	assert_false(afr_quorum_ok(&p, 0));
	p = priv_of(3, 3); /* a number */
	assert_false(afr_quorum_ok(&p, 3));
	assert_true(afr_quorum_ok(&p, 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_one_blames_other),
	    cmocka_unit_test(test_split_brain),
	    cmocka_unit_test(test_unfinished_txn),
	    cmocka_unit_test(test_valid_only),
	    cmocka_unit_test(test_quorum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
