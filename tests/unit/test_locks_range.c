/*
 * test_locks_range.c - cmocka tests of the shared byte-range lock logic
 * (xlators-api/lk-range.c, used by features/locks and cluster/replicate):
 * fcntl merge/split/upgrade semantics, conflicts between owners, and the
 * waiter queue's order.
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
#include <stdlib.h>

#include "lk-range.h"

static const struct xl_lk_owner A = {1, 100};
static const struct xl_lk_owner B = {1, 200}; /* same client, other owner */
static const struct xl_lk_owner C = {2, 100}; /* other client, same owner no. */

static struct xl_lk_range mk(int type, int64_t start, int64_t end,
			     struct xl_lk_owner who)
{
	struct xl_lk_range r = {
	    .type = type, .start = start, .end = end, .who = who, .pid = 7};
	return r;
}

static void apply(struct xl_lk_list *l, int type, int64_t s, int64_t e,
		  struct xl_lk_owner who)
{
	struct xl_lk_range r = mk(type, s, e, who);

	assert_int_equal(xl_lk_list_apply(l, &r), 0);
}

/* Assert the list is exactly the given (type, start, end) triples. */
static void expect(const struct xl_lk_list *l, int n, const int64_t *t)
{
	const struct xl_lk_range *r = l->head;

	for (int i = 0; i < n; i++) {
		assert_non_null(r);
		assert_int_equal(r->type, t[3 * i]);
		assert_int_equal(r->start, t[3 * i + 1]);
		assert_int_equal(r->end, t[3 * i + 2]);
		r = r->next;
	}
	assert_null(r);
}

static void test_flock_to_range(void **state)
{
	int64_t s, e;

	(void)state;
	assert_int_equal(xl_lk_range_from_flock(10, 5, &s, &e), 0);
	assert_int_equal(s, 10);
	assert_int_equal(e, 14);
	assert_int_equal(xl_lk_range_from_flock(10, 0, &s, &e), 0);
	assert_true(e == XL_LK_EOF);
	assert_int_equal(xl_lk_range_len(s, e), 0);
	assert_int_equal(xl_lk_range_from_flock(10, -4, &s, &e), 0);
	assert_int_equal(s, 6);
	assert_int_equal(e, 9);
	assert_int_equal(xl_lk_range_from_flock(-1, 5, &s, &e), -EINVAL);
	assert_int_equal(xl_lk_range_from_flock(3, -4, &s, &e), -EINVAL);
	assert_int_equal(xl_lk_range_from_flock(INT64_MAX - 1, 5, &s, &e),
			 -EOVERFLOW);
	assert_int_equal(xl_lk_range_len(6, 9), 4);
}

static void test_overlap_merge(void **state)
{
	struct xl_lk_list l = {NULL};

	(void)state;
	apply(&l, F_RDLCK, 0, 9, A);
	apply(&l, F_RDLCK, 5, 19, A);
	expect(&l, 1, (int64_t[]){F_RDLCK, 0, 19});
	/* contained: no change */
	apply(&l, F_RDLCK, 3, 4, A);
	expect(&l, 1, (int64_t[]){F_RDLCK, 0, 19});
	/* bridging two ranges */
	apply(&l, F_RDLCK, 30, 39, A);
	apply(&l, F_RDLCK, 15, 35, A);
	expect(&l, 1, (int64_t[]){F_RDLCK, 0, 39});
	xl_lk_list_free(&l);
	assert_null(l.head);
}

static void test_adjacent_merge(void **state)
{
	struct xl_lk_list l = {NULL};

	(void)state;
	apply(&l, F_WRLCK, 10, 19, A);
	apply(&l, F_WRLCK, 20, 29, A); /* right after */
	apply(&l, F_WRLCK, 0, 9, A);   /* right before */
	expect(&l, 1, (int64_t[]){F_WRLCK, 0, 29});
	/* adjacent but other type: no merge */
	apply(&l, F_RDLCK, 30, 39, A);
	expect(&l, 2, (int64_t[]){F_WRLCK, 0, 29, F_RDLCK, 30, 39});
	/* adjacent same type but other owner: no merge */
	apply(&l, F_RDLCK, 40, 49, B);
	assert_int_equal(xl_lk_list_count(&l), 3);
	xl_lk_list_free(&l);
}

static void test_split_unlock_middle(void **state)
{
	struct xl_lk_list l = {NULL};

	(void)state;
	apply(&l, F_WRLCK, 0, 99, A);
	apply(&l, F_UNLCK, 40, 59, A);
	expect(&l, 2, (int64_t[]){F_WRLCK, 0, 39, F_WRLCK, 60, 99});
	/* unlock the edges */
	apply(&l, F_UNLCK, 0, 9, A);
	apply(&l, F_UNLCK, 90, 99, A);
	expect(&l, 2, (int64_t[]){F_WRLCK, 10, 39, F_WRLCK, 60, 89});
	/* unlock across both pieces and the hole */
	apply(&l, F_UNLCK, 30, 69, A);
	expect(&l, 2, (int64_t[]){F_WRLCK, 10, 29, F_WRLCK, 70, 89});
	/* unlock of nothing is fine */
	apply(&l, F_UNLCK, 500, 600, A);
	/* another owner's unlock touches nothing */
	apply(&l, F_UNLCK, 0, XL_LK_EOF, B);
	assert_int_equal(xl_lk_list_count(&l), 2);
	apply(&l, F_UNLCK, 0, XL_LK_EOF, A);
	assert_null(l.head);
}

static void test_upgrade_downgrade_middle(void **state)
{
	struct xl_lk_list l = {NULL};

	(void)state;
	apply(&l, F_RDLCK, 0, 99, A);
	apply(&l, F_WRLCK, 40, 59, A);
	expect(&l, 3,
	       (int64_t[]){F_RDLCK, 0, 39, F_WRLCK, 40, 59, F_RDLCK, 60, 99});
	/* downgrade back: all merges into one read lock */
	apply(&l, F_RDLCK, 40, 59, A);
	expect(&l, 1, (int64_t[]){F_RDLCK, 0, 99});
	/* upgrade the overlapping tail and beyond */
	apply(&l, F_WRLCK, 90, 119, A);
	expect(&l, 2, (int64_t[]){F_RDLCK, 0, 89, F_WRLCK, 90, 119});
	/* whole upgrade */
	apply(&l, F_WRLCK, 0, 119, A);
	expect(&l, 1, (int64_t[]){F_WRLCK, 0, 119});
	xl_lk_list_free(&l);
}

static void test_to_eof(void **state)
{
	struct xl_lk_list l = {NULL};
	struct xl_lk_range probe = mk(F_RDLCK, INT64_MAX - 5, XL_LK_EOF, B);

	(void)state;
	apply(&l, F_WRLCK, 100, XL_LK_EOF, A);
	assert_non_null(xl_lk_list_conflict(&l, &probe));
	probe = mk(F_RDLCK, 0, 99, B);
	assert_null(xl_lk_list_conflict(&l, &probe));
	/* merging with EOF range keeps EOF; adjacent before */
	apply(&l, F_WRLCK, 50, 99, A);
	expect(&l, 1, (int64_t[]){F_WRLCK, 50, XL_LK_EOF});
	/* unlock in the middle of an EOF range */
	apply(&l, F_UNLCK, 200, 299, A);
	expect(&l, 2, (int64_t[]){F_WRLCK, 50, 199, F_WRLCK, 300, XL_LK_EOF});
	/* unlock to EOF from inside */
	apply(&l, F_UNLCK, 150, XL_LK_EOF, A);
	expect(&l, 1, (int64_t[]){F_WRLCK, 50, 149});
	xl_lk_list_free(&l);
}

static void test_conflicts(void **state)
{
	struct xl_lk_list l = {NULL};
	struct xl_lk_range r;
	const struct xl_lk_range *c;

	(void)state;
	apply(&l, F_RDLCK, 0, 9, A);
	apply(&l, F_WRLCK, 20, 29, A);
	/* read vs read: no conflict */
	r = mk(F_RDLCK, 5, 15, B);
	assert_null(xl_lk_list_conflict(&l, &r));
	/* write vs read of another owner */
	r = mk(F_WRLCK, 5, 15, B);
	c = xl_lk_list_conflict(&l, &r);
	assert_non_null(c);
	assert_int_equal(c->start, 0);
	assert_int_equal(c->type, F_RDLCK);
	assert_int_equal(c->pid, 7);
	/* read vs write; first conflict reported in start order */
	r = mk(F_RDLCK, 0, 100, C);
	c = xl_lk_list_conflict(&l, &r);
	assert_non_null(c);
	assert_int_equal(c->start, 20);
	/* same owner never conflicts */
	r = mk(F_WRLCK, 0, 100, A);
	assert_null(xl_lk_list_conflict(&l, &r));
	/* other owners' locks survive an owner's apply */
	apply(&l, F_RDLCK, 0, 9, B);
	apply(&l, F_UNLCK, 0, XL_LK_EOF, A);
	expect(&l, 1, (int64_t[]){F_RDLCK, 0, 9});
	assert_true(xl_lk_list_holds(&l, &B));
	assert_false(xl_lk_list_holds(&l, &A));
	xl_lk_list_free(&l);
}

static void test_drop(void **state)
{
	struct xl_lk_list l = {NULL};
	struct xl_lk_owner c2 = {2, 999};

	(void)state;
	apply(&l, F_RDLCK, 0, 9, A);
	apply(&l, F_RDLCK, 20, 29, A);
	apply(&l, F_RDLCK, 0, 9, B);
	apply(&l, F_RDLCK, 0, 9, C);
	assert_int_equal(xl_lk_list_drop(&l, &A, false), 2);
	assert_int_equal(xl_lk_list_count(&l), 2);
	/* any_owner: every lock of client 2 */
	assert_int_equal(xl_lk_list_drop(&l, &c2, true), 1);
	assert_int_equal(xl_lk_list_count(&l), 1);
	assert_true(xl_lk_list_holds(&l, &B));
	xl_lk_list_free(&l);
}

static struct xl_lk_waiter *wt(int type, int64_t s, int64_t e,
			       struct xl_lk_owner who)
{
	struct xl_lk_waiter *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->req = mk(type, s, e, who);
	w->ret = 1;
	return w;
}

static void free_chain(struct xl_lk_waiter *w)
{
	while (w) {
		struct xl_lk_waiter *n = w->next;

		free(w);
		w = n;
	}
}

static void test_waitq_fifo(void **state)
{
	struct xl_lk_list l = {NULL};
	struct xl_lk_waitq q;
	struct xl_lk_waiter *granted = NULL;
	struct xl_lk_owner o[4] = {{1, 1}, {1, 2}, {1, 3}, {1, 4}};
	struct xl_lk_waiter *w1, *w2, *w3, *w4;

	(void)state;
	xl_lk_waitq_init(&q);
	apply(&l, F_WRLCK, 0, 99, o[0]);
	w1 = wt(F_WRLCK, 0, 9, o[1]);
	w2 = wt(F_WRLCK, 0, 9, o[2]);	  /* conflicts with w1 */
	w3 = wt(F_RDLCK, 50, 59, o[3]);	  /* independent of w1, w2 */
	w4 = wt(F_WRLCK, 200, 299, o[2]); /* conflicts with nothing */
	xl_lk_waitq_push(&q, w1);
	xl_lk_waitq_push(&q, w2);
	xl_lk_waitq_push(&q, w3);
	xl_lk_waitq_push(&q, w4);
	assert_int_equal(q.count, 4);

	/* holder still there: only w4 can go */
	assert_int_equal(xl_lk_waitq_grant(&q, &l, &granted), 1);
	assert_ptr_equal(granted, w4);
	assert_int_equal(w4->ret, 0);
	free_chain(granted);
	granted = NULL;

	/* holder unlocks: w1 and w3 go, w2 waits behind w1 */
	apply(&l, F_UNLCK, 0, XL_LK_EOF, o[0]);
	assert_int_equal(xl_lk_waitq_grant(&q, &l, &granted), 2);
	assert_ptr_equal(granted, w1);
	assert_ptr_equal(granted->next, w3);
	assert_null(w3->next);
	assert_int_equal(q.count, 1);
	assert_ptr_equal(q.head, w2);
	free_chain(granted);
	granted = NULL;

	/* w1 unlocks: w2 goes */
	apply(&l, F_UNLCK, 0, XL_LK_EOF, o[1]);
	assert_int_equal(xl_lk_waitq_grant(&q, &l, &granted), 1);
	assert_ptr_equal(granted, w2);
	assert_null(q.head);
	assert_ptr_equal(q.tail, &q.head);
	free_chain(granted);
	/* granted locks are now on the list: o2 holds 0-9 and 200-299 */
	expect(&l, 3,
	       (int64_t[]){F_WRLCK, 0, 9, F_RDLCK, 50, 59, F_WRLCK, 200, 299});
	xl_lk_list_free(&l);
}

static void test_waitq_fifo_no_overtake(void **state)
{
	struct xl_lk_list l = {NULL};
	struct xl_lk_waitq q;
	struct xl_lk_waiter *granted = NULL;
	struct xl_lk_owner h = {1, 1}, wr = {1, 2}, rd = {1, 3};
	struct xl_lk_waiter *w1, *w2;

	(void)state;
	xl_lk_waitq_init(&q);
	apply(&l, F_WRLCK, 0, 9, h);
	/* a writer queued first and a reader after it: once the holder
	 * leaves, the writer goes first and the reader keeps waiting even
	 * though the reader alone would not conflict with what was held */
	w1 = wt(F_WRLCK, 0, 9, wr);
	w2 = wt(F_RDLCK, 0, 9, rd);
	xl_lk_waitq_push(&q, w1);
	xl_lk_waitq_push(&q, w2);
	apply(&l, F_UNLCK, 0, 9, h);
	assert_int_equal(xl_lk_waitq_grant(&q, &l, &granted), 1);
	assert_ptr_equal(granted, w1);
	assert_ptr_equal(q.head, w2);
	free_chain(granted);
	granted = NULL;
	apply(&l, F_UNLCK, 0, 9, wr);
	assert_int_equal(xl_lk_waitq_grant(&q, &l, &granted), 1);
	assert_ptr_equal(granted, w2);
	free_chain(granted);
	xl_lk_list_free(&l);
}

/* A waiter that conflicts with no granted lock still waits behind an
 * earlier waiter it conflicts with (no overtaking a blocked writer). */
static void test_waitq_behind_blocked_writer(void **state)
{
	struct xl_lk_list l = {NULL};
	struct xl_lk_waitq q;
	struct xl_lk_waiter *granted = NULL;
	struct xl_lk_owner h = {1, 1}, wr = {1, 2}, rd = {1, 3};
	struct xl_lk_waiter *w1 = wt(F_WRLCK, 0, 9, wr);
	struct xl_lk_waiter *w2 = wt(F_RDLCK, 5, 14, rd);

	(void)state;
	xl_lk_waitq_init(&q);
	apply(&l, F_RDLCK, 0, 9, h);   /* blocks w1 */
	apply(&l, F_WRLCK, 10, 19, h); /* blocks w2 */
	xl_lk_waitq_push(&q, w1);
	xl_lk_waitq_push(&q, w2);
	apply(&l, F_UNLCK, 10, 19, h);
	/* w2 fits the granted locks but overlaps w1, queued before it */
	assert_int_equal(xl_lk_waitq_grant(&q, &l, &granted), 0);
	assert_null(granted);
	apply(&l, F_UNLCK, 0, 9, h);
	assert_int_equal(xl_lk_waitq_grant(&q, &l, &granted), 1);
	assert_ptr_equal(granted, w1);
	free_chain(granted);
	granted = NULL;
	apply(&l, F_UNLCK, 0, 9, wr);
	assert_int_equal(xl_lk_waitq_grant(&q, &l, &granted), 1);
	assert_ptr_equal(granted, w2);
	free_chain(granted);
	xl_lk_list_free(&l);
}

static void test_waitq_take_remove(void **state)
{
	struct xl_lk_waitq q;
	struct xl_lk_waiter *w1 = wt(F_WRLCK, 0, 9, A);
	struct xl_lk_waiter *w2 = wt(F_WRLCK, 0, 9, B);
	struct xl_lk_waiter *w3 = wt(F_WRLCK, 0, 9, C);
	struct xl_lk_owner any1 = {1, 0};

	(void)state;
	xl_lk_waitq_init(&q);
	xl_lk_waitq_push(&q, w1);
	xl_lk_waitq_push(&q, w2);
	xl_lk_waitq_push(&q, w3);
	assert_ptr_equal(xl_lk_waitq_take(&q, &B, false), w2);
	assert_null(xl_lk_waitq_take(&q, &B, false));
	assert_ptr_equal(xl_lk_waitq_take(&q, &any1, true), w1);
	assert_null(xl_lk_waitq_take(&q, &any1, true));
	assert_int_equal(q.count, 1);
	assert_false(xl_lk_waitq_remove(&q, w1));
	assert_true(xl_lk_waitq_remove(&q, w3));
	assert_null(q.head);
	assert_ptr_equal(q.tail, &q.head);
	/* the queue still works after being emptied from the tail */
	xl_lk_waitq_push(&q, w1);
	assert_ptr_equal(q.head, w1);
	assert_true(xl_lk_waitq_remove(&q, w1));
	free(w1);
	free(w2);
	free(w3);
}

static void test_deadlock_probe(void **state)
{
	struct xl_lk_list l = {NULL};
	struct xl_lk_waitq q;
	struct xl_lk_waiter *wb = wt(F_WRLCK, 0, 9, B);

	(void)state;
	xl_lk_waitq_init(&q);
	apply(&l, F_WRLCK, 0, 9, A);
	apply(&l, F_WRLCK, 20, 29, B);
	/* B waits for A's 0-9 */
	xl_lk_waitq_push(&q, wb);
	/* A now asks for B's 20-29: B waits on A -> cycle */
	assert_true(xl_lk_waitq_waits_on(&q, &l, &B, &A));
	/* C holds nothing B waits for */
	assert_false(xl_lk_waitq_waits_on(&q, &l, &B, &C));
	assert_false(xl_lk_waitq_waits_on(&q, &l, &C, &A));
	assert_true(xl_lk_waitq_remove(&q, wb));
	free(wb);
	xl_lk_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flock_to_range),
	    cmocka_unit_test(test_overlap_merge),
	    cmocka_unit_test(test_adjacent_merge),
	    cmocka_unit_test(test_split_unlock_middle),
	    cmocka_unit_test(test_upgrade_downgrade_middle),
	    cmocka_unit_test(test_to_eof),
	    cmocka_unit_test(test_conflicts),
	    cmocka_unit_test(test_drop),
	    cmocka_unit_test(test_waitq_fifo),
	    cmocka_unit_test(test_waitq_fifo_no_overtake),
	    cmocka_unit_test(test_waitq_behind_blocked_writer),
	    cmocka_unit_test(test_waitq_take_remove),
	    cmocka_unit_test(test_deadlock_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
