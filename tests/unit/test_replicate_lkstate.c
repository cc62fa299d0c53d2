/*
 * test_replicate_lkstate.c - cmocka tests of cluster/replicate's lock
 * bookkeeping (translators/cluster/replicate/replicate-lkstate.c, pure):
 * what each fd holds after grants, unlocks, undos, refusals and flushes,
 * across fds of one file; which children hold it all (held); when a
 * returning child may get the locks back; and the requests that do it.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>

#include "replicate.h"

#define C0   (1u << 0)
#define C1   (1u << 1)
#define C2   (1u << 2)
#define ALL2 (C0 | C1)

static struct afr_lkreq posix(int type, int64_t start, int64_t end,
			      uint64_t owner)
{
	struct afr_lkreq q = {.flock = false,
			      .type = type,
			      .start = start,
			      .end = end,
			      .owner = owner,
			      .pid = 42};
	return q;
}

static struct afr_lkreq flockreq(int type)
{
	struct afr_lkreq q = {.flock = true, .type = type, .end = XL_LK_EOF};
	return q;
}

/* Two records of one file, f linked before g. */
struct two {
	struct afr_lkfd f, g;
};

static void two_init(struct two *t, uint32_t all)
{
	afr_lkfd_init(&t->f, all);
	afr_lkfd_init(&t->g, all);
	t->f.next = &t->g;
	t->g.next = NULL;
}

static void two_clear(struct two *t)
{
	afr_lkfd_clear(&t->f);
	afr_lkfd_clear(&t->g);
}

/* Assert r's plan is exactly the given POSIX (type, start, end, owner)
 * quadruples, then flock_type (F_UNLCK: no flock request). */
static void expect_plan(const struct afr_lkfd *r, int n, const int64_t *q,
			int flock_type)
{
	struct afr_lkreq *reqs;
	int got, k = 0;

	assert_int_equal(afr_lkfd_plan(r, &reqs, &got), 0);
	assert_int_equal(got, n + (flock_type != F_UNLCK));
	for (; k < n; k++) {
		assert_false(reqs[k].flock);
		assert_int_equal(reqs[k].type, q[4 * k]);
		assert_int_equal(reqs[k].start, q[4 * k + 1]);
		assert_int_equal(reqs[k].end, q[4 * k + 2]);
		assert_int_equal(reqs[k].owner, (uint64_t)q[4 * k + 3]);
		assert_int_equal(reqs[k].pid, 42);
	}
	if (flock_type != F_UNLCK) {
		assert_true(reqs[k].flock);
		assert_int_equal(reqs[k].type, flock_type);
	}
	free(reqs);
}

/* The case: held on both, child 1 restarts and may get the lock
 * back from child 0; a restore makes it hold again. */
static void test_restart_one_copy(void **state)
{
	struct afr_lkfd r;
	struct afr_lkreq q = posix(F_WRLCK, 0, 99, 7);
	const int64_t want[] = {F_WRLCK, 0, 99, 7};

	(void)state;
	afr_lkfd_init(&r, ALL2);
	assert_true(afr_lkfd_empty(&r));
	afr_lkfd_book(&r, &r, &q, AFR_LK_GRANTED, ALL2);
	assert_false(afr_lkfd_empty(&r));
	assert_int_equal(r.held, ALL2);
	assert_false(afr_lkfd_restorable(&r, 1, ALL2)); /* holds it */

	afr_lkfd_child_gone(&r, 1);
	assert_int_equal(r.held, C0);
	assert_false(afr_lkfd_restorable(&r, 1, C0)); /* not up */
	assert_true(afr_lkfd_restorable(&r, 1, ALL2));
	assert_false(afr_lkfd_restorable(&r, 0, ALL2)); /* holds it */
	expect_plan(&r, 1, want, F_UNLCK);
	afr_lkfd_restored(&r, 1);
	assert_int_equal(r.held, ALL2);
	afr_lkfd_clear(&r);
}

/* Both copies went away: nobody held the lock continuously, nothing may
 * be given back; unless nothing is held. */
static void test_both_gone(void **state)
{
	struct afr_lkfd r;
	struct afr_lkreq q = posix(F_RDLCK, 10, XL_LK_EOF, 7);
	struct afr_lkreq un = posix(F_UNLCK, 0, XL_LK_EOF, 7);

	(void)state;
	afr_lkfd_init(&r, ALL2);
	afr_lkfd_book(&r, &r, &q, AFR_LK_GRANTED, ALL2);
	afr_lkfd_child_gone(&r, 1);
	afr_lkfd_child_gone(&r, 0);
	assert_int_equal(r.held, 0);
	assert_false(afr_lkfd_restorable(&r, 0, ALL2));
	assert_false(afr_lkfd_restorable(&r, 1, ALL2));
	/* The lock is let go: the fd may work again anywhere. */
	afr_lkfd_book(&r, &r, &un, AFR_LK_UNLOCKED, 0);
	assert_true(afr_lkfd_empty(&r));
	assert_true(afr_lkfd_restorable(&r, 0, ALL2));
	assert_true(afr_lkfd_restorable(&r, 1, C1));
	afr_lkfd_clear(&r);
}

/* A lock granted while a child was away is not held there; a later grant
 * on every child does not make it hold the earlier one. */
static void test_grant_while_down(void **state)
{
	struct afr_lkfd r;
	struct afr_lkreq a = posix(F_WRLCK, 0, 9, 1);
	struct afr_lkreq b = posix(F_WRLCK, 20, 29, 1);

	(void)state;
	afr_lkfd_init(&r, C0 | C1 | C2);
	afr_lkfd_book(&r, &r, &a, AFR_LK_GRANTED, C0 | C2);
	assert_int_equal(r.held, C0 | C2);
	afr_lkfd_book(&r, &r, &b, AFR_LK_GRANTED, C0 | C1 | C2);
	assert_int_equal(r.held, C0 | C2);
	assert_true(afr_lkfd_restorable(&r, 1, C0 | C1 | C2));
	/* Only the arbiter-like child 2 left besides 1: still one holder. */
	assert_true(afr_lkfd_restorable(&r, 1, C1 | C2));
	afr_lkfd_clear(&r);
}

/* fcntl semantics per owner: merge, split, upgrade; the plan lists the
 * ranges as the brick holds them. */
static void test_ranges(void **state)
{
	struct afr_lkfd r;
	struct afr_lkreq q;
	const int64_t want[] = {F_RDLCK, 0,  9,	 5, F_WRLCK, 10, 19,	    5,
				F_RDLCK, 20, 49, 5, F_WRLCK, 60, XL_LK_EOF, 6};

	(void)state;
	afr_lkfd_init(&r, ALL2);
	q = posix(F_RDLCK, 0, 49, 5);
	afr_lkfd_book(&r, &r, &q, AFR_LK_GRANTED, ALL2);
	q = posix(F_WRLCK, 10, 19, 5); /* upgrade in the middle */
	afr_lkfd_book(&r, &r, &q, AFR_LK_GRANTED, ALL2);
	q = posix(F_WRLCK, 60, XL_LK_EOF, 6); /* another owner */
	afr_lkfd_book(&r, &r, &q, AFR_LK_GRANTED, ALL2);
	q = posix(F_WRLCK, 55, 70, 5); /* refused: nothing changes */
	afr_lkfd_book(&r, &r, &q, AFR_LK_REFUSED, 0);
	q = posix(F_WRLCK, 200, 300, 5); /* never sent: nothing */
	afr_lkfd_book(&r, &r, &q, AFR_LK_UNSENT, 0);
	expect_plan(&r, 4, want, F_UNLCK);
	assert_int_equal(r.held, ALL2);
	afr_lkfd_clear(&r);
}

/* A conversion refused after a copy granted it is undone there: the
 * owner's range is gone, as on the brick. */
static void test_undone(void **state)
{
	struct afr_lkfd r;
	struct afr_lkreq q = posix(F_RDLCK, 0, 99, 5);
	const int64_t want[] = {F_RDLCK, 0, 39, 5, F_RDLCK, 60, 99, 5};

	(void)state;
	afr_lkfd_init(&r, ALL2);
	afr_lkfd_book(&r, &r, &q, AFR_LK_GRANTED, ALL2);
	q = posix(F_WRLCK, 40, 59, 5);
	afr_lkfd_book(&r, &r, &q, AFR_LK_UNDONE, 0);
	expect_plan(&r, 2, want, F_UNLCK);
	afr_lkfd_clear(&r);
}

/* One owner through two fds of a file: the brick keeps one set per owner,
 * so a lock through g takes its range out of f, an unlock through either
 * acts on both, and a flush (close) of the owner empties both. */
static void test_two_fds_one_owner(void **state)
{
	struct two t;
	struct afr_lkreq q;
	const int64_t f_want[] = {F_WRLCK, 0, 4, 9};
	const int64_t g_want[] = {F_RDLCK, 5, 14, 9};
	const int64_t other[] = {F_WRLCK, 100, 109, 3};

	(void)state;
	two_init(&t, ALL2);
	q = posix(F_WRLCK, 0, 9, 9);
	afr_lkfd_book(&t.f, &t.f, &q, AFR_LK_GRANTED, ALL2);
	q = posix(F_RDLCK, 5, 14, 9);
	afr_lkfd_book(&t.f, &t.g, &q, AFR_LK_GRANTED, C0);
	expect_plan(&t.f, 1, f_want, F_UNLCK);
	expect_plan(&t.g, 1, g_want, F_UNLCK);
	assert_int_equal(t.f.held, ALL2);
	assert_int_equal(t.g.held, C0);

	/* Another owner's lock through f is not touched by owner 9. */
	q = posix(F_WRLCK, 100, 109, 3);
	afr_lkfd_book(&t.f, &t.f, &q, AFR_LK_GRANTED, ALL2);
	/* An unlock through an fd without a record (self NULL). */
	q = posix(F_UNLCK, 0, 2, 9);
	afr_lkfd_book(&t.f, NULL, &q, AFR_LK_UNLOCKED, 0);
	{
		const int64_t f2[] = {F_WRLCK, 3, 4, 9, F_WRLCK, 100, 109, 3};

		expect_plan(&t.f, 2, f2, F_UNLCK);
	}
	afr_lkfd_flushed(&t.f, 9);
	expect_plan(&t.f, 1, other, F_UNLCK);
	assert_true(afr_lkfd_empty(&t.g));
	two_clear(&t);
}

/* flock belongs to its fd: granted, converted, refused, unlocked. */
static void test_flock(void **state)
{
	struct two t;
	struct afr_lkreq sh = flockreq(F_RDLCK), ex = flockreq(F_WRLCK),
			 un = flockreq(F_UNLCK);

	(void)state;
	two_init(&t, ALL2);
	afr_lkfd_book(&t.f, &t.f, &sh, AFR_LK_GRANTED, ALL2);
	expect_plan(&t.f, 0, NULL, F_RDLCK);
	assert_true(afr_lkfd_empty(&t.g));
	afr_lkfd_book(&t.f, &t.f, &ex, AFR_LK_GRANTED, C1);
	expect_plan(&t.f, 0, NULL, F_WRLCK);
	assert_int_equal(t.f.held, C1);
	/* A refused conversion gives up the old lock (flock(2)). */
	afr_lkfd_book(&t.f, &t.f, &sh, AFR_LK_REFUSED, 0);
	assert_true(afr_lkfd_empty(&t.f));
	afr_lkfd_book(&t.f, &t.f, &ex, AFR_LK_GRANTED, ALL2);
	afr_lkfd_book(&t.f, &t.f, &un, AFR_LK_UNLOCKED, 0);
	assert_true(afr_lkfd_empty(&t.f));
	/* An flock through an fd without a record changes nothing. */
	afr_lkfd_book(&t.f, NULL, &ex, AFR_LK_GRANTED, ALL2);
	assert_true(afr_lkfd_empty(&t.f));
	two_clear(&t);
}

/* A record whose bookkeeping failed is never restored. */
static void test_broken(void **state)
{
	struct afr_lkfd r;

	(void)state;
	afr_lkfd_init(&r, ALL2);
	r.broken = true;
	r.held = 0;
	assert_false(afr_lkfd_restorable(&r, 1, ALL2));
	afr_lkfd_restored(&r, 1);
	assert_int_equal(r.held, 0);
	afr_lkfd_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_restart_one_copy),
	    cmocka_unit_test(test_both_gone),
	    cmocka_unit_test(test_grant_while_down),
	    cmocka_unit_test(test_ranges),
	    cmocka_unit_test(test_undone),
	    cmocka_unit_test(test_two_fds_one_owner),
	    cmocka_unit_test(test_flock),
	    cmocka_unit_test(test_broken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
