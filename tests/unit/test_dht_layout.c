/*
 * test_dht_layout.c - cmocka tests of cluster/distribute's layout math
 * (translators/cluster/distribute/dht-layout.c): the name hash, the stored
 * encoding, assigning ranges, searching them, checking layouts for
 * holes, overlaps and missing ranges, and readdir offsets.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dht-layout.h"
#include "merge.h"

static void test_hash_is_xxh32(void **state)
{
	(void)state;
	/* Known XXH32 values (seed 0): the hash is part of the on-brick
	 * contract, so it must never change. */
	assert_int_equal(dht_hash_name(""), 0x02cc5d05u);
	assert_int_equal(dht_hash_name("a"), 0x550d7456u);
	assert_int_equal(dht_hash_name("abc"), 0x32d153ffu);
}

static void test_encode_decode(void **state)
{
	struct dht_range r = {.start = 0x40000000,
			      .stop = 0x7fffffff,
			      .commit = 7},
			 back;
	uint8_t buf[DHT_LAYOUT_XATTR_LEN];
	const uint8_t want[] = {0,    0, 0, 1, 0,    0,	   0,	 7,
				0x40, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff};

	(void)state;
	dht_range_encode(&r, buf);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(dht_range_decode(buf, sizeof(buf), &back), 0);
	assert_true(back.present);
	assert_int_equal(back.start, r.start);
	assert_int_equal(back.stop, r.stop);
	assert_int_equal(back.commit, 7);
	/* wrong length, wrong format: rejected, not present */
	assert_int_equal(dht_range_decode(buf, 15, &back), -EINVAL);
	assert_false(back.present);
	buf[3] = 2;
	assert_int_equal(dht_range_decode(buf, sizeof(buf), &back), -EINVAL);
	assert_int_equal(dht_range_decode(NULL, 16, &back), -EINVAL);
}

static void test_assign_covers_space(void **state)
{
	struct dht_range r[DHT_MAX_SUBVOLS];

	(void)state;
	for (int n = 1; n <= 17; n++) {
		assert_int_equal(dht_layout_assign(r, n, NULL, 1), 0);
		assert_int_equal(dht_layout_check(r, n, NULL), DHT_LAYOUT_OK);
		assert_int_equal(r[0].start, 0);
		assert_int_equal(r[n - 1].stop, UINT32_MAX);
		for (int i = 0; i < n; i++) {
			uint64_t len = (uint64_t)r[i].stop - r[i].start + 1;
			uint64_t even =
			    ((uint64_t)UINT32_MAX + 1) / (uint64_t)n;
			/* equal shares, within one hash value */
			assert_true(len == even || len == even + 1);
		}
	}
}

static void test_assign_skips_unused(void **state)
{
	struct dht_range r[4];
	const bool use[4] = {true, false, true, true};

	(void)state;
	assert_int_equal(dht_layout_assign(r, 4, use, 3), 0);
	assert_true(dht_range_empty(&r[1]));
	assert_true(r[1].present);
	assert_int_equal(dht_layout_check(r, 4, NULL), DHT_LAYOUT_OK);
	for (uint32_t h = 0; h < 0xffff0000u; h += 0x01000001u)
		assert_int_not_equal(dht_layout_search(r, 4, h), 1);
	const bool none[2] = {false, false};
	assert_int_equal(dht_layout_assign(r, 2, none, 1), -EINVAL);
}

static void test_search(void **state)
{
	struct dht_range r[3];

	(void)state;
	dht_layout_assign(r, 3, NULL, 1);
	assert_int_equal(dht_layout_search(r, 3, 0), 0);
	assert_int_equal(dht_layout_search(r, 3, r[0].stop), 0);
	assert_int_equal(dht_layout_search(r, 3, r[0].stop + 1), 1);
	assert_int_equal(dht_layout_search(r, 3, r[1].stop + 1), 2);
	assert_int_equal(dht_layout_search(r, 3, UINT32_MAX), 2);
	/* a missing range is a hole to search */
	r[1].present = false;
	assert_int_equal(dht_layout_search(r, 3, r[1].start), -1);
}

static void test_check_detects(void **state)
{
	struct dht_range r[3];
	const bool ign[3] = {false, true, false};

	(void)state;
	dht_layout_assign(r, 3, NULL, 1);
	r[1].stop -= 5; /* hole between 1 and 2 */
	assert_int_equal(dht_layout_check(r, 3, NULL), DHT_LAYOUT_HOLES);
	dht_layout_assign(r, 3, NULL, 1);
	r[1].stop += 5; /* overlap of 1 and 2 */
	assert_int_equal(dht_layout_check(r, 3, NULL), DHT_LAYOUT_OVERLAPS);
	dht_layout_assign(r, 3, NULL, 1);
	r[2].stop = UINT32_MAX - 1; /* hole at the top */
	assert_int_equal(dht_layout_check(r, 3, NULL), DHT_LAYOUT_HOLES);
	dht_layout_assign(r, 3, NULL, 1);
	r[0].start = 1; /* hole at 0 */
	assert_int_equal(dht_layout_check(r, 3, NULL), DHT_LAYOUT_HOLES);
	dht_layout_assign(r, 3, NULL, 1);
	r[1].present = false;
	assert_int_equal(dht_layout_check(r, 3, NULL), DHT_LAYOUT_MISSING);
	/* ignored (down) subvolume: not missing, but its range is a hole */
	assert_int_equal(dht_layout_check(r, 3, ign), DHT_LAYOUT_HOLES);
	/* every range empty: nothing owns any hash */
	for (int i = 0; i < 3; i++) {
		r[i].start = 1;
		r[i].stop = 0;
		r[i].present = true;
	}
	assert_int_equal(dht_layout_check(r, 3, NULL), DHT_LAYOUT_HOLES);
	/* a single full range */
	struct dht_range one = {
	    .start = 0, .stop = UINT32_MAX, .present = true};
	assert_int_equal(dht_layout_check(&one, 1, NULL), DHT_LAYOUT_OK);
	assert_string_equal(dht_layout_state_str(DHT_LAYOUT_OVERLAPS),
			    "overlaps");
}

/* Names spread evenly: 40,000 names over 4 equal ranges, within 5%. */
static void test_spread(void **state)
{
	struct dht_range r[4];
	int count[4] = {0};
	char name[32];

	(void)state;
	dht_layout_assign(r, 4, NULL, 1);
	for (int i = 0; i < 40000; i++) {
		snprintf(name, sizeof(name), "file-%d", i);
		int s = dht_layout_search(r, 4, dht_hash_name(name));
		assert_in_range(s, 0, 3);
		count[s]++;
	}
	for (int i = 0; i < 4; i++)
		assert_in_range(count[i], 9500, 10500);
}

/* readdir offsets (xlators-api/merge.c, used by distribute and
 * unify): the child and its offset come back, and what goes up to the
 * kernel is a valid (non-negative) off_t, or seekdir refuses it. */
static void test_doff(void **state)
{
	const uint64_t small[] = {0, 1, 12345, (1ull << 55) - 1};
	/* ext4's 63-bit hash offsets */
	const uint64_t big[] = {1ull << 61, 0x7ffffffffffffffeull,
				0x1234567890abcdefull, 0x7fffffffffffffffull};
	uint64_t off;
	int idx;

	(void)state;
	for (int n = 1; n <= 64; n++) {
		int bits = 0;

		while ((1 << bits) < n)
			bits++;
		for (int i = 0; i < n; i += 1 + n / 4) {
			for (size_t k = 0; k < 4; k++) {
				uint64_t d = xl_doff_encode(n, i, small[k]);

				xl_doff_decode(n, d, &idx, &off);
				assert_int_equal(idx, i);
				assert_true(off == small[k]);
				assert_true(d < (1ull << 63));
			}
			for (size_t k = 0; k < 4; k++) {
				uint64_t d = xl_doff_encode(n, i, big[k]);
				uint64_t lost = (2ull << bits) - 1;

				assert_true(d < (1ull << 63));
				xl_doff_decode(n, d, &idx, &off);
				assert_int_equal(idx, i);
				/* kept when it fits, else only the
				 * lowest 1 + bits bits are lost */
				if (bits == 0 || (big[k] >> (62 - bits)) == 0)
					assert_true(off == big[k]);
				else
					assert_true(off == (big[k] & ~lost));
			}
		}
	}
	/* offset 0 of child 0 is 0: a readdir from the start */
	assert_true(xl_doff_encode(4, 0, 0) == 0);
}

/* statfs sums (xlators-api/merge.c): in the first answer's block size. */
static void test_statfs_add(void **state)
{
	struct xl_statfs sum, a = {.bsize = 4096,
				   .frsize = 4096,
				   .blocks = 100,
				   .bfree = 50,
				   .bavail = 40,
				   .files = 10,
				   .ffree = 5,
				   .favail = 5,
				   .namemax = 255};
	struct xl_statfs b = {.bsize = 1024,
			      .blocks = 400,
			      .bfree = 200,
			      .bavail = 100,
			      .files = 7,
			      .ffree = 3,
			      .favail = 2,
			      .namemax = 200};

	(void)state;
	memset(&sum, 0, sizeof(sum));
	xl_statfs_add(&sum, &a);
	xl_statfs_add(&sum, &b);
	assert_int_equal(sum.frsize, 4096);
	assert_int_equal(sum.blocks, 200);
	assert_int_equal(sum.bfree, 100);
	assert_int_equal(sum.bavail, 65);
	assert_int_equal(sum.files, 17);
	assert_int_equal(sum.ffree, 8);
	assert_int_equal(sum.favail, 7);
	assert_int_equal(sum.namemax, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_is_xxh32),
	    cmocka_unit_test(test_encode_decode),
	    cmocka_unit_test(test_assign_covers_space),
	    cmocka_unit_test(test_assign_skips_unused),
	    cmocka_unit_test(test_search),
	    cmocka_unit_test(test_check_detects),
	    cmocka_unit_test(test_spread),
	    cmocka_unit_test(test_doff),
	    cmocka_unit_test(test_statfs_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
