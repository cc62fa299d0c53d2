/*
 * test_posix_dircache.c - storage/posix's open directory fds by gfid
 * (translators/storage/posix/posix-dircache.c): a second entry fop in a
 * directory does not walk its handle again (no openat2), and the cache
 * never changes an answer: a removed directory still says ESTALE, a
 * renamed one is still reached by its gfid, a directory removed while a
 * lookup resolved it is not cached, at most dir-fd-cache fds are kept
 * and 0 turns it off.  Needs root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "posix-fixture.h"
#include "posix-sys.h"
#include "posix.h"

extern const struct xl_desc mortar_xlator; /* the compiled-in copy */

static int openat2_calls;

static int counting_openat2(int dirfd, const char *path,
			    const struct open_how *how)
{
	openat2_calls++;
	return (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

/* Run this program's copy of posix, whose syscall table we count. */
static struct fx *use_local(struct fx *f)
{
	*(struct xl_desc *)f->xl->desc = mortar_xlator;
	posix_sys.openat2 = counting_openat2;
	openat2_calls = 0;
	return f;
}

/* Rebuild the fixture's graph with `options` (see build_graph_opts). */
static struct fx *rebuild(void **state, const char *options)
{
	struct fx *f = *state;
	char *err = NULL;

	xl_graph_destroy(f->g);
	f->g = NULL;
	assert_int_equal(build_graph_opts(f, f->brick, options, &err), 0);
	return use_local(f);
}

static char *dump_of(struct fx *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	posix_dircache_dump(f->xl->private, out);
	fclose(out);
	return text;
}

static void test_second_lookup_skips_walk(void **state)
{
	struct fx *f = use_local(*state);
	uint8_t d[XL_GFID_LEN], x[XL_GFID_LEN];
	struct xl_iatt a, b;
	int before;

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, d, NULL),
	    0);
	assert_int_equal(
	    do_make(f, XL_FOP_MKNOD, d, "x", S_IFREG | 0644, NULL, x, NULL), 0);
	assert_int_equal(do_lookup(f, d, "x", NULL, &a), 0);
	before = openat2_calls;
	assert_int_equal(do_lookup(f, d, "x", NULL, &b), 0);
	assert_int_equal(openat2_calls, before); /* no handle walk */
	assert_memory_equal(a.gfid, x, XL_GFID_LEN);
	assert_memory_equal(b.gfid, x, XL_GFID_LEN);
	assert_int_equal(do_lookup(f, d, "nothing", NULL, NULL), -ENOENT);
	assert_int_equal(openat2_calls, before);
	/* by gfid too (stat of the directory itself) */
	assert_int_equal(do_lookup(f, NULL, NULL, d, &a), 0);
	assert_int_equal(openat2_calls, before);
	assert_true(S_ISDIR(a.mode));
}

static void test_removed_dir_is_stale(void **state)
{
	struct fx *f = use_local(*state);
	uint8_t d[XL_GFID_LEN], y[XL_GFID_LEN];

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, d, NULL),
	    0);
	assert_int_equal(do_lookup(f, d, "x", NULL, NULL),
			 -ENOENT); /* cached */
	assert_int_equal(
	    do_entry_op(f, XL_FOP_RMDIR, xl_gfid_root, "d", NULL, NULL, 0), 0);
	/* as without the cache: the parent's handle is gone */
	assert_int_equal(do_lookup(f, d, "x", NULL, NULL), -ESTALE);
	assert_int_equal(
	    do_make(f, XL_FOP_MKNOD, d, "y", S_IFREG | 0644, NULL, y, NULL),
	    -ESTALE);
	assert_int_equal(do_lookup(f, NULL, NULL, d, NULL), -ESTALE);
}

static void test_renamed_dir_followed(void **state)
{
	struct fx *f = use_local(*state);
	uint8_t d[XL_GFID_LEN], e[XL_GFID_LEN], y[XL_GFID_LEN];
	char path[256];

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, d, NULL),
	    0);
	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "e", 0755, NULL, e, NULL),
	    0);
	assert_int_equal(do_lookup(f, d, "y", NULL, NULL),
			 -ENOENT); /* cached */
	assert_int_equal(
	    do_entry_op(f, XL_FOP_RENAME, xl_gfid_root, "d", e, "moved", 0), 0);
	assert_int_equal(
	    do_make(f, XL_FOP_MKNOD, d, "y", S_IFREG | 0644, NULL, y, NULL), 0);
	brick_path(f, path, sizeof(path), "e/moved/y");
	assert_true(exists(path));
	/* and a directory renamed over (replaced) is stale */
	assert_int_equal(do_entry_op(f, XL_FOP_UNLINK, d, "y", NULL, NULL, 0),
			 0);
	assert_int_equal(do_lookup(f, e, "z", NULL, NULL),
			 -ENOENT); /* cached */
	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "f", 0755, NULL, y, NULL),
	    0);
	assert_int_equal(do_lookup(f, e, "moved", NULL, NULL), 0);
	assert_int_equal(
	    do_entry_op(f, XL_FOP_RENAME, xl_gfid_root, "f", e, "moved", 0), 0);
	assert_int_equal(do_lookup(f, d, "y", NULL, NULL), -ESTALE);
}

static void test_put_after_removal_refused(void **state)
{
	struct fx *f = use_local(*state);
	struct posix_priv *priv = f->xl->private;
	uint8_t d[XL_GFID_LEN], other[XL_GFID_LEN];
	unsigned long epoch;
	int fd;

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, d, NULL),
	    0);
	posix_dircache_forget(priv, d); /* the mkdir's own lookups */
	fd = posix_open_dir_gfid(priv, d);
	assert_true(fd >= 0);
	posix_dircache_forget(priv, d);
	/* a lookup resolved d, then some directory was removed */
	epoch = posix_dircache_epoch(priv);
	memset(other, 0x5a, sizeof(other));
	posix_dircache_forget(priv, other);
	posix_dircache_put(priv, d, fd, epoch);
	assert_int_equal(posix_dircache_get(priv, d), -ENOENT);
	/* in the current epoch it is kept */
	posix_dircache_put(priv, d, fd, posix_dircache_epoch(priv));
	close(fd);
	fd = posix_dircache_get(priv, d);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static void test_bounded(void **state)
{
	struct fx *f = rebuild(state, "  option dir-fd-cache 2\n");
	uint8_t g[4][XL_GFID_LEN];
	char name[8], *dump;

	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(do_make(f, XL_FOP_MKDIR, xl_gfid_root, name,
					 0755, NULL, g[i], NULL),
				 0);
		assert_int_equal(do_lookup(f, g[i], "x", NULL, NULL), -ENOENT);
	}
	dump = dump_of(f);
	assert_non_null(strstr(dump, "dir_fd_cache=2/2 "));
	free(dump);
	/* the oldest went; every directory still answers */
	for (int i = 0; i < 4; i++)
		assert_int_equal(do_lookup(f, g[i], "x", NULL, NULL), -ENOENT);
}

static void test_off(void **state)
{
	struct fx *f = rebuild(state, "  option dir-fd-cache 0\n");
	uint8_t d[XL_GFID_LEN];
	char *dump;
	int before;

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, d, NULL),
	    0);
	assert_int_equal(do_lookup(f, d, "x", NULL, NULL), -ENOENT);
	before = openat2_calls;
	assert_int_equal(do_lookup(f, d, "x", NULL, NULL), -ENOENT);
	assert_true(openat2_calls > before); /* walked again */
	dump = dump_of(f);
	assert_non_null(strstr(dump, "dir_fd_cache=off"));
	free(dump);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_second_lookup_skips_walk,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removed_dir_is_stale, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_renamed_dir_followed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_put_after_removal_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_off, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
