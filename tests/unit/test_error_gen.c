/*
 * test_error_gen.c - debug/error-gen's plan alone: which fops and errnos
 * it takes, fail-after (a disk that fills), fail-every, a failure rate,
 * delays bounded by delay-usec, uncovered fops always pass, releases are
 * never failed.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "error-gen-plan.h"
#include "fop.h"

#include <errno.h>
#include <string.h>

static void plan_init(struct egen_plan *p, const char *fops, const char *errnos)
{
	memset(p, 0, sizeof(*p));
	p->fail_after = -1;
	assert_int_equal(egen_parse_fops(p, fops, NULL), 0);
	assert_int_equal(egen_parse_errnos(p, errnos, NULL), 0);
	egen_seed(p, 42);
}

static void test_parse(void **state)
{
	struct egen_plan p;
	const char *bad = NULL;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(egen_parse_fops(&p, "write, create", NULL), 0);
	assert_true(p.fops[XL_FOP_WRITE] && p.fops[XL_FOP_CREATE]);
	assert_false(p.fops[XL_FOP_READ]);
	assert_int_equal(egen_parse_fops(&p, "write,frobnicate", &bad),
			 -EINVAL);
	assert_string_equal(bad, "frobnicate");
	assert_int_equal(egen_parse_fops(&p, "all", NULL), 0);
	assert_true(p.fops[XL_FOP_LOOKUP] && p.fops[XL_FOP_RCHECKSUM]);
	/* a release cannot fail: never covered */
	assert_false(p.fops[XL_FOP_RELEASE] || p.fops[XL_FOP_RELEASEDIR]);
	assert_int_equal(egen_parse_fops(&p, "release", &bad), -EINVAL);

	assert_int_equal(egen_parse_errnos(&p, "ENOSPC,EDQUOT", NULL), 0);
	assert_int_equal(p.nerrnos, 2);
	assert_int_equal(p.errnos[0], ENOSPC);
	assert_int_equal(egen_parse_errnos(&p, "ENOSPC,EWHAT", &bad), -EINVAL);
	assert_string_equal(bad, "EWHAT");
	assert_int_equal(egen_parse_errnos(&p, "", &bad), -EINVAL);
	assert_int_equal(egen_errno_of("ENOTCONN"), ENOTCONN);
	assert_string_equal(egen_errno_name(EIO), "EIO");
}

/* A disk that fills: N writes pass, every later one fails; other fops
 * are not counted and always pass. */
static void test_fail_after(void **state)
{
	struct egen_plan p;

	(void)state;
	plan_init(&p, "write", "ENOSPC");
	p.fail_after = 3;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(egen_decide(&p, XL_FOP_WRITE).err, 0);
		assert_int_equal(egen_decide(&p, XL_FOP_READ).err, 0);
	}
	for (int i = 0; i < 5; i++)
		assert_int_equal(egen_decide(&p, XL_FOP_WRITE).err, -ENOSPC);
	assert_int_equal(egen_decide(&p, XL_FOP_LOOKUP).err, 0);
	assert_int_equal(p.seen, 8);
	/* fail-after 0: everything covered fails from the first */
	plan_init(&p, "read", "EIO");
	p.fail_after = 0;
	assert_int_equal(egen_decide(&p, XL_FOP_READ).err, -EIO);
}

static void test_fail_every_and_rate(void **state)
{
	struct egen_plan p;
	int failed = 0, err_seen[2] = {0, 0};

	(void)state;
	plan_init(&p, "all", "EIO");
	p.fail_every = 4;
	for (int i = 1; i <= 12; i++)
		assert_int_equal(egen_decide(&p, XL_FOP_STAT).err,
				 i % 4 == 0 ? -EIO : 0);
	/* a rate: about that share, both errnos of the list */
	plan_init(&p, "all", "EIO,ENOSPC");
	p.failure_pct = 25;
	for (int i = 0; i < 4000; i++) {
		int err = egen_decide(&p, XL_FOP_WRITE).err;

		if (err) {
			failed++;
			err_seen[err == -EIO ? 0 : 1]++;
		}
	}
	assert_in_range(failed, 800, 1200);
	assert_true(err_seen[0] > 200 && err_seen[1] > 200);
	/* 0 % and 100 % are exact */
	p.failure_pct = 100;
	for (int i = 0; i < 100; i++)
		assert_int_not_equal(egen_decide(&p, XL_FOP_WRITE).err, 0);
	p.failure_pct = 0;
	for (int i = 0; i < 100; i++)
		assert_int_equal(egen_decide(&p, XL_FOP_WRITE).err, 0);
}

static void test_delays(void **state)
{
	struct egen_plan p;
	int delayed = 0;

	(void)state;
	plan_init(&p, "read", "EIO");
	p.delay_usec = 500;
	p.delay_pct = 50;
	for (int i = 0; i < 2000; i++) {
		struct egen_verdict v = egen_decide(&p, XL_FOP_READ);

		assert_int_equal(v.err, 0);
		assert_true(v.delay_usec <= 500);
		delayed += v.delay_usec > 0;
	}
	assert_in_range(delayed, 800, 1200);
	/* the same seed, the same run */
	{
		struct egen_plan a, b;

		plan_init(&a, "all", "EIO,ENOSPC");
		plan_init(&b, "all", "EIO,ENOSPC");
		a.failure_pct = b.failure_pct = 30;
		a.delay_usec = b.delay_usec = 100;
		a.delay_pct = b.delay_pct = 30;
		for (int i = 0; i < 500; i++) {
			struct egen_verdict va = egen_decide(&a, XL_FOP_WRITE);
			struct egen_verdict vb = egen_decide(&b, XL_FOP_WRITE);

			assert_int_equal(va.err, vb.err);
			assert_int_equal(va.delay_usec, vb.delay_usec);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_fail_after),
	    cmocka_unit_test(test_fail_every_and_rate),
	    cmocka_unit_test(test_delays),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
