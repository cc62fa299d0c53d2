/*
 * test_posix_unlinked.c - storage/posix keeps a file reachable by gfid
 * while it is open and has no name left (posix-opens.c): the handle moves
 * to .mortar/unlink at the unlink (or rename over it), stat/setattr by
 * gfid work and say nlink 0, a new open or a link by gfid is refused, the
 * last release removes it, and a brick start removes leftovers.
 * Needs root; the fixture skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "graph.h"
#include "inode.h"
#include "posix.h"
#include "posix-fixture.h"

static void parked_path(struct fx *f, const uint8_t *gfid, char *buf,
			size_t len)
{
	char gstr[XL_GFID_STR_LEN];
	char rel[64];

	snprintf(rel, sizeof(rel), ".mortar/unlink/%s",
		 xl_gfid_to_str(gfid, gstr));
	brick_path(f, buf, len, rel);
}

static int stat_gfid(struct fx *f, const uint8_t *gfid, struct xl_iatt *ia)
{
	struct rec r;
	struct xl_call *c = mk(f, XL_FOP_STAT, &r);
	int ret;

	set_entry(&c->args.loc, NULL, NULL, gfid);
	ret = run(f, c, &r);
	if (ret == 0 && ia)
		*ia = r.reply.attr;
	xl_reply_clear(&r.reply);
	return ret;
}

static int chmod_gfid(struct fx *f, const uint8_t *gfid, uint32_t mode)
{
	struct rec r;
	struct xl_call *c = mk(f, XL_FOP_SETATTR, &r);
	int ret;

	set_entry(&c->args.loc, NULL, NULL, gfid);
	c->args.valid = XL_SET_MODE;
	c->args.attr.mode = mode;
	ret = run(f, c, &r);
	xl_reply_clear(&r.reply);
	return ret;
}

static void test_unlink_parks_open_file(void **state)
{
	struct fx *f = *state;
	char hpath[PATH_MAX + 64], ppath[PATH_MAX + 64];
	uint8_t g[XL_GFID_LEN];
	struct xl_fd *fd = NULL, *again = NULL;
	struct xl_iatt ia;
	struct rec r;
	struct xl_call *c;

	assert_int_equal(
	    do_create(f, xl_gfid_root, "tmp", O_RDWR, 0644, g, &fd), 0);
	assert_int_equal(do_rw(f, XL_FOP_WRITE, fd, 0, "abcdef", 6, &r), 6);
	xl_reply_clear(&r.reply);
	handle_of(f, g, hpath, sizeof(hpath));
	parked_path(f, g, ppath, sizeof(ppath));
	assert_int_equal(
	    do_entry_op(f, XL_FOP_UNLINK, xl_gfid_root, "tmp", NULL, NULL, 0),
	    0);
	assert_false(exists(hpath));
	assert_true(exists(ppath));
	/* by gfid, as the kernel sends fstat and fchmod */
	assert_int_equal(stat_gfid(f, g, &ia), 0);
	assert_int_equal(ia.nlink, 0);
	assert_int_equal(ia.size, 6);
	assert_int_equal(chmod_gfid(f, g, 0600), 0);
	assert_int_equal(stat_gfid(f, g, &ia), 0);
	assert_int_equal(ia.mode & 07777, 0600);
	/* and through the fd */
	c = mk(f, XL_FOP_STAT, &r);
	c->args.fd = xl_fd_ref(fd);
	assert_int_equal(run(f, c, &r), 0);
	assert_int_equal(r.reply.attr.nlink, 0);
	xl_reply_clear(&r.reply);
	/* no new open, no new name for a file without one */
	assert_int_equal(do_open(f, XL_FOP_OPEN, g, O_RDONLY, &again), -ESTALE);
	c = mk(f, XL_FOP_LINK, &r);
	set_entry(&c->args.loc, NULL, NULL, g);
	set_entry(&c->args.loc2, xl_gfid_root, "revived", NULL);
	assert_int_equal(run(f, c, &r), -ENOENT);
	xl_reply_clear(&r.reply);
	assert_int_equal(do_rw(f, XL_FOP_READ, fd, 0, NULL, 64, &r), 6);
	xl_reply_clear(&r.reply);
	/* the last release takes it away */
	do_release(f, fd, XL_FOP_RELEASE);
	assert_false(exists(ppath));
	assert_int_equal(stat_gfid(f, g, NULL), -ESTALE);
}

static void test_rename_over_parks(void **state)
{
	struct fx *f = *state;
	char ppath[PATH_MAX + 64];
	uint8_t old[XL_GFID_LEN], nu[XL_GFID_LEN];
	struct xl_fd *a = NULL, *b = NULL;
	struct xl_iatt ia;

	assert_int_equal(
	    do_create(f, xl_gfid_root, "doc", O_RDWR, 0644, old, &a), 0);
	assert_int_equal(do_open(f, XL_FOP_OPEN, old, O_RDONLY, &b), 0);
	assert_int_equal(
	    do_create(f, xl_gfid_root, "doc.tmp", O_RDWR, 0644, nu, NULL), 0);
	assert_int_equal(do_entry_op(f, XL_FOP_RENAME, xl_gfid_root, "doc.tmp",
				     xl_gfid_root, "doc", 0),
			 0);
	parked_path(f, old, ppath, sizeof(ppath));
	assert_true(exists(ppath));
	assert_int_equal(stat_gfid(f, old, &ia), 0);
	assert_int_equal(ia.nlink, 0);
	assert_int_equal(stat_gfid(f, nu, &ia), 0);
	assert_int_equal(ia.nlink, 1);
	/* two fds: parked until both are gone */
	do_release(f, a, XL_FOP_RELEASE);
	assert_true(exists(ppath));
	do_release(f, b, XL_FOP_RELEASE);
	assert_false(exists(ppath));
}

static void test_closed_file_not_parked(void **state)
{
	struct fx *f = *state;
	char hpath[PATH_MAX + 64], ppath[PATH_MAX + 64];
	uint8_t g[XL_GFID_LEN], other[XL_GFID_LEN];
	struct xl_fd *fd = NULL;

	assert_int_equal(
	    do_create(f, xl_gfid_root, "plain", O_RDWR, 0644, g, NULL), 0);
	/* another file open does not keep this one */
	assert_int_equal(
	    do_create(f, xl_gfid_root, "busy", O_RDWR, 0644, other, &fd), 0);
	assert_int_equal(
	    do_entry_op(f, XL_FOP_UNLINK, xl_gfid_root, "plain", NULL, NULL, 0),
	    0);
	handle_of(f, g, hpath, sizeof(hpath));
	parked_path(f, g, ppath, sizeof(ppath));
	assert_false(exists(hpath));
	assert_false(exists(ppath));
	assert_int_equal(stat_gfid(f, g, NULL), -ESTALE);
	do_release(f, fd, XL_FOP_RELEASE);
}

static void test_removed_open_dir_stat(void **state)
{
	struct fx *f = *state;
	uint8_t g[XL_GFID_LEN];
	struct xl_fd *fd = NULL;
	struct xl_iatt ia;

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, g, NULL),
	    0);
	assert_int_equal(do_open(f, XL_FOP_OPENDIR, g, O_RDONLY, &fd), 0);
	assert_int_equal(
	    do_entry_op(f, XL_FOP_RMDIR, xl_gfid_root, "d", NULL, NULL, 0), 0);
	assert_int_equal(stat_gfid(f, g, &ia), 0);
	assert_true(S_ISDIR(ia.mode));
	do_release(f, fd, XL_FOP_RELEASEDIR);
	assert_int_equal(stat_gfid(f, g, NULL), -ESTALE);
}

/* A brick that starts removes what a crash left in the unlink area. */
static void test_start_cleans_leftovers(void **state)
{
	struct fx *f = *state;
	char ppath[PATH_MAX + 64];
	uint8_t g[XL_GFID_LEN];
	char *err = NULL;
	int fd;

	xl_gfid_generate(g);
	parked_path(f, g, ppath, sizeof(ppath));
	fd = open(ppath, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	xl_graph_destroy(f->g);
	f->g = NULL;
	assert_int_equal(build_graph(f, f->brick, &err), 0);
	assert_false(exists(ppath));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unlink_parks_open_file, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rename_over_parks, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_closed_file_not_parked, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_removed_open_dir_stat, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_start_cleans_leftovers, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
