/*
 * test_upcall_table.c - features/upcall's record of which clients cache
 * which inodes: the changer is not told, the others are; interest
 * expires; a read noted after a change it raced is told; whoever loses
 * a place is told; a removed inode's record goes, and a read that raced
 * the removal is still told.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "upcall-table.h"

#include <string.h>

static void gfid_of(uint8_t *g, int n)
{
	memset(g, 0, 16);
	g[0] = 0x77;
	g[14] = (uint8_t)(n >> 8);
	g[15] = (uint8_t)n;
}

static void test_tell_others(void **state)
{
	struct upcall_table t;
	struct upcall_target out[UPCALL_TARGETS_MAX];
	uint8_t g[16];
	uint64_t gen, gen2;

	(void)state;
	gfid_of(g, 1);
	assert_int_equal(upcall_table_init(&t, NULL, 100, 1000), 0);
	assert_int_equal(upcall_table_note(&t, g, 1, 0, UINT64_MAX, out), 0);
	assert_int_equal(upcall_table_note(&t, g, 2, 0, UINT64_MAX, out), 0);
	assert_int_equal(upcall_table_note(&t, g, 3, 0, UINT64_MAX, out), 0);
	/* client 2 changes it: 1 and 3 are told, with the new generation */
	assert_int_equal(upcall_table_changed(&t, g, 2, 10, &gen, out), 2);
	assert_true(out[0].client_id != 2 && out[1].client_id != 2);
	assert_true(out[0].gen == gen && gen > 1);
	assert_memory_equal(out[0].gfid, g, 16);
	assert_int_equal(upcall_table_changed(&t, g, 0, 10, &gen2, out), 3);
	assert_true(gen2 > gen);
	/* interest expires */
	assert_int_equal(upcall_table_changed(&t, g, 0, 1000, &gen, out), 0);
	upcall_table_fini(&t);
}

static void test_read_raced_by_change(void **state)
{
	struct upcall_table t;
	struct upcall_target out[UPCALL_TARGETS_MAX];
	uint8_t g[16];
	uint64_t gen, since;

	(void)state;
	gfid_of(g, 2);
	upcall_table_init(&t, NULL, 100, 1000);
	since = t.seq; /* a lookup by name goes down */
	upcall_table_changed(&t, g, 5, 1, &gen, out);
	/* it notes the inode it found after the change: it is told */
	assert_int_equal(upcall_table_note(&t, g, 1, 2, since, out), 1);
	assert_int_equal(out[0].client_id, 1);
	/* a read that went down after the change is not */
	assert_int_equal(upcall_table_note(&t, g, 1, 2, t.seq, out), 0);
	upcall_table_fini(&t);
}

static void test_lost_places_are_told(void **state)
{
	struct upcall_table t;
	struct upcall_target out[UPCALL_TARGETS_MAX];
	uint8_t g[16];
	int n;

	(void)state;
	gfid_of(g, 3);
	upcall_table_init(&t, NULL, 16, 1000);
	for (uint64_t id = 1; id <= UPCALL_CLIENTS_MAX; id++)
		assert_int_equal(
		    upcall_table_note(&t, g, id, id, UINT64_MAX, out), 0);
	/* one more client: the one closest to expiry (1) loses its place */
	assert_int_equal(upcall_table_note(&t, g, 100, 50, UINT64_MAX, out), 1);
	assert_int_equal(out[0].client_id, 1);
	/* inodes beyond the table's bound: the evicted one's clients */
	n = 0;
	for (int i = 10; i < 40; i++) {
		uint8_t o[16];

		gfid_of(o, i);
		n += upcall_table_note(&t, o, 7, 60, UINT64_MAX, out);
		assert_true(t.count <= 16);
	}
	assert_true(n >= UPCALL_CLIENTS_MAX); /* g's clients were told */
	upcall_table_fini(&t);
}

static void test_forget_removed(void **state)
{
	struct upcall_table t;
	struct upcall_target out[UPCALL_TARGETS_MAX];
	uint8_t g[16];
	uint64_t gen, since;

	(void)state;
	gfid_of(g, 9);
	assert_int_equal(upcall_table_init(&t, NULL, 100, 1000), 0);
	upcall_table_note(&t, g, 1, 0, UINT64_MAX, out);
	since = t.seq; /* client 1 reads it again: goes down now */
	/* client 2 removes it: client 1 is told, then the record goes */
	assert_int_equal(upcall_table_changed(&t, g, 2, 10, &gen, out), 1);
	upcall_table_forget(&t, g);
	assert_int_equal(t.count, 0);
	assert_int_equal(upcall_table_gen(&t, g), 0);
	upcall_table_forget(&t, g); /* twice is harmless */
	/* the read that went down before the removal is noted after it:
	 * told to drop what it read, though the record is new */
	assert_int_equal(upcall_table_note(&t, g, 1, 20, since, out), 1);
	assert_int_equal(out[0].client_id, 1);
	upcall_table_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tell_others),
	    cmocka_unit_test(test_read_raced_by_change),
	    cmocka_unit_test(test_lost_places_are_told),
	    cmocka_unit_test(test_forget_removed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
