/*
 * test_replicate_judge.c - cluster/replicate's pure decisions
 * (replicate-judge.c, compiled in alone): the verdict on the pending
 * counters (who is a source, who a sink, what is split-brain), client
 * quorum, the read child, and what an arbiter may be.
 */
#include "config.h"

#include "replicate.h"

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

/* Replica 3 with an arbiter (child 2): quorum 2 of 3, any one down. */
static void test_arbiter_quorum(void **state)
{
	struct afr_priv p = priv_of(3, -1);

	(void)state;
	p.arbiters = 1u << 2;
	assert_true(afr_quorum_ok(&p, 0x6)); /* the first brick down */
	assert_true(afr_quorum_ok(&p, 0x5));
	assert_true(afr_quorum_ok(&p, 0x3)); /* the arbiter down */
	assert_false(afr_quorum_ok(&p, 0x4));
}

/* A data change needs an unblamed data copy in the set it goes to. */
static void test_arbiter_data_writable(void **state)
{
	struct afr_priv p = priv_of(3, -1);

	(void)state;
	assert_true(afr_data_writable(&p, 0x1, 0x5)); /* no arbiter: always */
	p.arbiters = 1u << 2;
	assert_true(afr_data_writable(&p, 0, 0x5));
	assert_false(afr_data_writable(&p, 0x1, 0x5)); /* only the stale one */
	assert_true(afr_data_writable(&p, 0x1, 0x7));
	assert_false(afr_data_writable(&p, 0, 0x4)); /* the arbiter alone */
}

/* The arbiter blames copy 1 (copy 0 away): it is the only source, but
 * never for data; metadata it may give. */
static void test_arbiter_never_data_source(void **state)
{
	struct afr_priv p = priv_of(3, -1);
	afr_matrix m;
	struct afr_verdict v;

	(void)state;
	p.arbiters = 1u << 2;
	memset(m, 0, sizeof(m));
	m[2][1][AFR_DATA] = 3;
	m[2][1][AFR_META] = 1;
	afr_judge(&p, 0x6, m, &v);
	assert_int_equal(v.sources[AFR_DATA], 0x4);
	assert_int_equal(v.sb, 0);
	assert_int_equal(afr_heal_sources(&p, &v, AFR_DATA), 0);
	assert_int_equal(afr_heal_sources(&p, &v, AFR_META), 0x4);
	/* with copy 0 back and blaming copy 1 too, copy 0 is the source */
	m[0][1][AFR_DATA] = 3;
	afr_judge(&p, 0x7, m, &v);
	assert_int_equal(afr_heal_sources(&p, &v, AFR_DATA), 0x1);
}

/* Reads never go to the arbiter, whatever else is bad or down. */
static void test_arbiter_never_read(void **state)
{
	struct afr_priv p = priv_of(3, -1);
	uint8_t gfid[XL_GFID_LEN];

	(void)state;
	p.arbiters = 1u << 2;
	atomic_store(&p.up, 0x7);
	for (int g = 0; g < 64; g++) {
		memset(gfid, g, sizeof(gfid));
		p.client_salt = (uint64_t)g * 7919u;
		assert_int_not_equal(afr_read_child_of(&p, gfid, 0, 0), 2);
		assert_int_equal(afr_read_child_of(&p, gfid, 0x1, 0), 1);
	}
	assert_int_equal(afr_read_child_of(&p, gfid, 0x3, 0), -1);
	atomic_store(&p.up, 0x4);
	assert_int_equal(afr_read_child_of(&p, gfid, 0, 0), -1);
}

/* Clients on one host differ in their pid; pids of one parity (the
 * low bits of the salt) must still spread over the copies, for one file
 * and over many. */
static void test_reads_spread_over_copies(void **state)
{
	struct afr_priv p = priv_of(2, -1);
	uint8_t gfid[XL_GFID_LEN];
	int on0 = 0, files0 = 0;

	(void)state;
	atomic_store(&p.up, 0x3);
	memset(gfid, 0x42, sizeof(gfid));
	for (int pid = 1000; pid < 1128; pid += 2) { /* 64 even pids */
		p.client_salt = 0x5bd1e995u ^ (uint64_t)pid;
		on0 += afr_read_child_of(&p, gfid, 0, 0) == 0;
	}
	assert_true(on0 >= 16 && on0 <= 48);
	p.client_salt = 0x5bd1e995u ^ 1000u;
	for (int g = 0; g < 64; g++) {
		memset(gfid, g, sizeof(gfid));
		files0 += afr_read_child_of(&p, gfid, 0, 0) == 0;
	}
	assert_true(files0 >= 16 && files0 <= 48);
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
	    cmocka_unit_test(test_arbiter_quorum),
	    cmocka_unit_test(test_arbiter_data_writable),
	    cmocka_unit_test(test_arbiter_never_data_source),
	    cmocka_unit_test(test_arbiter_never_read),
	    cmocka_unit_test(test_reads_spread_over_copies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
