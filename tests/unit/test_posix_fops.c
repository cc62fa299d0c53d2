/*
 * test_posix_fops.c - storage/posix driven through the runtime on a temp
 * brick: confinement (bad names, symlinks pointing outside, escaping
 * handles), gfid handles across create/rename/unlink/rmdir, credentials,
 * data and directory fops, xattrs, and a fault injected through the
 * syscall table.
 *
 * The graph is built from a volfile string, so the real posix.so from the
 * build tree is loaded (MORTAR_XLATOR_PATH).  posix answers synchronously:
 * the completion has run when xl_call_start returns.  The translator's
 * sources are also compiled into this program; the fault test copies that
 * descriptor over the loaded one so posix_sys here is the live table.
 * Needs root (trusted.* xattrs, chown); skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "graph.h"
#include "inode.h"
#include "log.h"
#include "posix-sys.h"
#include "posix.h"
#include "posix-fixture.h"

extern const struct xl_desc mortar_xlator; /* the compiled-in copy */

/* ---- init ---- */

static void test_init_bad_directory(void **state)
{
	struct fx *f = *state, g2;
	char *err = NULL, path[PATH_MAX + 32];
	int fd;

	memset(&g2, 0, sizeof(g2));
	snprintf(path, sizeof(path), "%s/missing", f->tmp);
	assert_int_not_equal(build_graph(&g2, path, &err), 0);
	assert_non_null(err);
	assert_non_null(strstr(err, "missing"));
	free(err);
	err = NULL;
	snprintf(path, sizeof(path), "%s/afile", f->tmp);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_not_equal(build_graph(&g2, path, &err), 0);
	assert_non_null(err);
	assert_non_null(strstr(err, "not a directory"));
	free(err);
}

/* ---- confinement ---- */

static void test_bad_names_refused(void **state)
{
	struct fx *f = *state;
	const char *bad[] = {"..", "../x", "a/b", "", ".", "/etc"};
	uint8_t g[XL_GFID_LEN];
	char path[PATH_MAX + 32];

	/* what runs here is the loaded posix.so, not the compiled-in copy */
	assert_ptr_not_equal(f->xl->desc->fops[XL_FOP_LOOKUP],
			     mortar_xlator.fops[XL_FOP_LOOKUP]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(do_lookup(f, xl_gfid_root, bad[i], NULL, NULL) < 0);
		assert_true(do_make(f, XL_FOP_MKDIR, xl_gfid_root, bad[i], 0755,
				    NULL, NULL, NULL) < 0);
		assert_true(do_create(f, xl_gfid_root, bad[i], O_RDWR, 0644,
				      NULL, NULL) < 0);
	}
	snprintf(path, sizeof(path), "%s/x", f->tmp);
	assert_false(exists(path));
	/* the brick's own folder */
	assert_int_equal(do_lookup(f, xl_gfid_root, ".mortar", NULL, NULL),
			 -ENOENT);
	assert_int_equal(do_make(f, XL_FOP_MKDIR, xl_gfid_root, ".mortar", 0755,
				 NULL, NULL, NULL),
			 -EPERM);
	assert_int_equal(
	    do_create(f, xl_gfid_root, ".mortar", O_RDWR, 0644, NULL, NULL),
	    -EPERM);
	assert_int_equal(do_create(f, xl_gfid_root, "f", O_RDWR, 0644, g, NULL),
			 0);
	assert_int_equal(do_entry_op(f, XL_FOP_RENAME, xl_gfid_root, "f",
				     xl_gfid_root, ".mortar", 0),
			 -EPERM);
	assert_int_equal(do_entry_op(f, XL_FOP_RENAME, xl_gfid_root, ".mortar",
				     xl_gfid_root, "m", 0),
			 -EPERM);
	/* .mortar is still there, not renamed */
	brick_path(f, path, sizeof(path), ".mortar/handles");
	assert_true(exists(path));
}

static void test_symlink_outside_not_followed(void **state)
{
	struct fx *f = *state;
	char evil[PATH_MAX + 32], evil2[PATH_MAX + 32], path[PATH_MAX + 64];
	struct xl_iatt ia, ia2;
	struct stat st_before, st_after;
	struct rec r;
	struct xl_call *c;

	brick_path(f, evil, sizeof(evil), "evil");
	assert_int_equal(symlink("/", evil), 0);
	brick_path(f, evil2, sizeof(evil2), "evil2");
	assert_int_equal(symlink(f->outside, evil2), 0);

	/* lookup sees the symlink itself, with a gfid assigned */
	assert_int_equal(do_lookup(f, xl_gfid_root, "evil", NULL, &ia), 0);
	assert_true(S_ISLNK(ia.mode));
	assert_false(xl_gfid_is_null(ia.gfid));
	assert_int_equal(do_lookup(f, xl_gfid_root, "evil2", NULL, &ia2), 0);
	assert_true(S_ISLNK(ia2.mode));

	/* as a parent it is not a directory: nothing is made outside */
	assert_true(do_lookup(f, ia.gfid, "etc", NULL, NULL) < 0);
	assert_true(do_create(f, ia2.gfid, "pwned", O_RDWR, 0644, NULL, NULL) <
		    0);
	assert_true(do_make(f, XL_FOP_MKDIR, ia2.gfid, "pwned", 0755, NULL,
			    NULL, NULL) < 0);
	snprintf(path, sizeof(path), "%s/pwned", f->outside);
	assert_false(exists(path));

	/* create/open through the name never follows it */
	assert_int_equal(
	    do_create(f, xl_gfid_root, "evil2", O_RDWR, 0644, NULL, NULL),
	    -ELOOP);
	assert_int_equal(do_open(f, XL_FOP_OPEN, ia2.gfid, O_RDONLY, NULL),
			 -ELOOP);
	assert_true(do_open(f, XL_FOP_OPENDIR, ia2.gfid, O_RDONLY, NULL) < 0);

	/* setattr on the symlink does not reach its target */
	assert_int_equal(stat(f->outside, &st_before), 0);
	c = mk(f, XL_FOP_SETATTR, &r);
	set_entry(&c->args.loc, xl_gfid_root, "evil2", NULL);
	c->args.valid = XL_SET_MODE | XL_SET_UID;
	c->args.attr.mode = 0777;
	c->args.attr.uid = 4321;
	run(f, c, &r);
	xl_reply_clear(&r.reply);
	assert_int_equal(stat(f->outside, &st_after), 0);
	assert_int_equal(st_before.st_mode, st_after.st_mode);
	assert_int_equal(st_before.st_uid, st_after.st_uid);

	/* xattrs go on the link, not on the target */
	c = mk(f, XL_FOP_SETXATTR, &r);
	set_entry(&c->args.loc, xl_gfid_root, "evil2", NULL);
	c->args.xname = strdup("trusted.test");
	c->args.data = xl_iobuf_from("v", 1);
	run(f, c, &r);
	xl_reply_clear(&r.reply);
	assert_true(lgetxattr(f->outside, "trusted.test", NULL, 0) < 0);
}

/* Plant a handle symlink with arbitrary text for a fresh gfid. */
static void plant_handle(struct fx *f, const uint8_t *gfid, const char *text)
{
	char path[PATH_MAX + 64], dir[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/.mortar/handles/%02x", f->brick,
		 gfid[0]);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/.mortar/handles/%02x/%02x", f->brick,
		 gfid[0], gfid[1]);
	mkdir(dir, 0700);
	handle_of(f, gfid, path, sizeof(path));
	assert_int_equal(symlink(text, path), 0);
}

static void test_escaping_handle(void **state)
{
	struct fx *f = *state;
	struct posix_priv *priv = f->xl->private;
	uint8_t p[XL_GFID_LEN], cg[XL_GFID_LEN];
	char text[256], pstr[XL_GFID_STR_LEN], path[PATH_MAX + 64];
	int fd;

	xl_gfid_generate(p);
	xl_gfid_generate(cg);
	plant_handle(f, p, "../../../../..");
	snprintf(text, sizeof(text), "../../%02x/%02x/%s/%s", p[0], p[1],
		 xl_gfid_to_str(p, pstr), "outside");
	plant_handle(f, cg, text);
	snprintf(path, sizeof(path), "%s/outside/secret", f->tmp);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);

	for (int slow = 0; slow < 2; slow++) {
		atomic_store(&priv->no_openat2, slow != 0);
		/* never resolves to a directory outside the brick */
		fd = posix_open_dir_gfid(priv, cg);
		assert_true(fd == -EXDEV || fd == -ELOOP || fd == -ENOENT ||
			    fd == -ESTALE || fd == -ENOTDIR);
		fd = posix_open_dir_gfid(priv, p);
		assert_true(fd < 0);
		assert_true(do_lookup(f, cg, "secret", NULL, NULL) < 0);
		assert_true(do_open(f, XL_FOP_OPENDIR, cg, O_RDONLY, NULL) < 0);
		assert_true(do_open(f, XL_FOP_OPEN, p, O_RDONLY, NULL) < 0);
		assert_true(do_create(f, cg, "x", O_RDWR, 0644, NULL, NULL) <
			    0);
	}
	snprintf(path, sizeof(path), "%s/outside/x", f->tmp);
	assert_false(exists(path));
}

/* ---- handles ---- */

static void test_create_sets_gfid_and_handle(void **state)
{
	struct fx *f = *state;
	uint8_t g[XL_GFID_LEN], got[XL_GFID_LEN];
	char path[PATH_MAX + 32], hpath[PATH_MAX + 64];
	struct stat st, hst;
	struct xl_fd *fd = NULL;

	f->cred.uid = 1234;
	f->cred.gid = 5678;
	assert_int_equal(
	    do_create(f, xl_gfid_root, "file", O_RDWR, 0666, g, &fd), 0);
	brick_path(f, path, sizeof(path), "file");
	assert_int_equal(lgetxattr(path, POSIX_GFID_XATTR, got, sizeof(got)),
			 XL_GFID_LEN);
	assert_memory_equal(got, g, XL_GFID_LEN);
	handle_of(f, g, hpath, sizeof(hpath));
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(lstat(hpath, &hst), 0);
	assert_int_equal(st.st_ino, hst.st_ino); /* a hard link */
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 5678);
	assert_int_equal(st.st_mode & 07777, 0666);
	/* O_EXCL on an existing name */
	assert_int_equal(do_create(f, xl_gfid_root, "file", O_RDWR | O_EXCL,
				   0644, NULL, NULL),
			 -EEXIST);
	do_release(f, fd, XL_FOP_RELEASE);
	/* the last name going takes the handle with it */
	assert_int_equal(
	    do_entry_op(f, XL_FOP_UNLINK, xl_gfid_root, "file", NULL, NULL, 0),
	    0);
	assert_false(exists(hpath));
}

static void test_dir_handles_follow_renames(void **state)
{
	struct fx *f = *state;
	uint8_t d[XL_GFID_LEN], e[XL_GFID_LEN], s[XL_GFID_LEN];
	char hpath[PATH_MAX + 64], text[256], want[256], estr[XL_GFID_STR_LEN];
	struct xl_iatt ia;
	ssize_t n;

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d1", 0755, NULL, d, NULL),
	    0);
	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "e", 0755, NULL, e, NULL),
	    0);
	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, d, "sub", 0700, NULL, s, NULL), 0);
	handle_of(f, d, hpath, sizeof(hpath));
	n = readlink(hpath, text, sizeof(text) - 1);
	assert_true(n > 0);
	text[n] = '\0';
	assert_non_null(
	    strstr(text, "00000000-0000-0000-0000-000000000001/d1"));

	/* move d1 under e as d2: its handle (and sub's, through it) works */
	assert_int_equal(
	    do_entry_op(f, XL_FOP_RENAME, xl_gfid_root, "d1", e, "d2", 0), 0);
	n = readlink(hpath, text, sizeof(text) - 1);
	assert_true(n > 0);
	text[n] = '\0';
	snprintf(want, sizeof(want), "../../%02x/%02x/%s/d2", e[0], e[1],
		 xl_gfid_to_str(e, estr));
	assert_string_equal(text, want);
	assert_int_equal(do_lookup(f, NULL, NULL, d, &ia), 0);
	assert_true(S_ISDIR(ia.mode));
	assert_int_equal(do_lookup(f, d, "sub", NULL, &ia), 0);
	assert_memory_equal(ia.gfid, s, XL_GFID_LEN);
	assert_int_equal(do_lookup(f, NULL, NULL, s, &ia), 0);
	assert_int_equal(ia.mode & 07777, 0700);

	/* exchange e/d2 with a new root dir x: both handles rewritten */
	uint8_t x[XL_GFID_LEN];

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "x", 0755, NULL, x, NULL),
	    0);
	assert_int_equal(do_entry_op(f, XL_FOP_RENAME, e, "d2", xl_gfid_root,
				     "x", RENAME_EXCHANGE),
			 0);
	assert_int_equal(do_lookup(f, xl_gfid_root, "x", NULL, &ia), 0);
	assert_memory_equal(ia.gfid, d, XL_GFID_LEN);
	assert_int_equal(do_lookup(f, NULL, NULL, d, NULL), 0);
	assert_int_equal(do_lookup(f, NULL, NULL, x, NULL), 0);
	assert_int_equal(do_lookup(f, e, "d2", NULL, &ia), 0);
	assert_memory_equal(ia.gfid, x, XL_GFID_LEN);

	/* rmdir: ENOTEMPTY as the fs says; then the handle goes */
	assert_int_equal(
	    do_entry_op(f, XL_FOP_RMDIR, xl_gfid_root, "x", NULL, NULL, 0),
	    -ENOTEMPTY);
	assert_int_equal(do_entry_op(f, XL_FOP_RMDIR, d, "sub", NULL, NULL, 0),
			 0);
	handle_of(f, s, hpath, sizeof(hpath));
	assert_false(exists(hpath));
	assert_int_equal(do_lookup(f, NULL, NULL, s, NULL), -ESTALE);
}

/* The same with the component-wise resolver (no openat2). */
static void test_dir_handles_slow_path(void **state)
{
	struct fx *f = *state;

	atomic_store(&((struct posix_priv *)f->xl->private)->no_openat2, true);
	test_dir_handles_follow_renames(state);
}

/* Deeper than the kernel's 40 nested symlinks: resolution falls back to
 * the component-wise walk. */
static void test_deep_tree(void **state)
{
	struct fx *f = *state;
	uint8_t cur[XL_GFID_LEN], next[XL_GFID_LEN];
	struct xl_iatt ia;

	memcpy(cur, xl_gfid_root, XL_GFID_LEN);
	for (int i = 0; i < 60; i++) {
		assert_int_equal(
		    do_make(f, XL_FOP_MKDIR, cur, "d", 0755, NULL, next, NULL),
		    0);
		memcpy(cur, next, XL_GFID_LEN);
	}
	assert_int_equal(do_create(f, cur, "leaf", O_RDWR, 0644, NULL, NULL),
			 0);
	assert_int_equal(do_lookup(f, cur, "leaf", NULL, &ia), 0);
	assert_true(S_ISREG(ia.mode));
}

/* A gfid another live file has is not taken over. */
static void test_gfid_collision(void **state)
{
	struct fx *f = *state;
	uint8_t g[XL_GFID_LEN];
	char path[PATH_MAX + 32];
	struct rec r;
	struct xl_call *c;

	assert_int_equal(
	    do_create(f, xl_gfid_root, "one", O_RDWR, 0644, g, NULL), 0);
	c = mk(f, XL_FOP_MKNOD, &r);
	set_entry(&c->args.loc, xl_gfid_root, "two", g);
	c->args.mode = S_IFREG | 0644;
	assert_int_equal(run(f, c, &r), -EEXIST);
	xl_reply_clear(&r.reply);
	brick_path(f, path, sizeof(path), "two");
	assert_false(exists(path)); /* undone */
	c = mk(f, XL_FOP_MKDIR, &r);
	set_entry(&c->args.loc, xl_gfid_root, "three", g);
	c->args.mode = 0755;
	assert_int_equal(run(f, c, &r), -EEXIST);
	xl_reply_clear(&r.reply);
}

static void test_rename_replaces_and_links(void **state)
{
	struct fx *f = *state;
	uint8_t a[XL_GFID_LEN], b[XL_GFID_LEN];
	char ha[PATH_MAX + 64], hb[PATH_MAX + 64];
	struct rec r;
	struct xl_call *c;

	assert_int_equal(do_create(f, xl_gfid_root, "a", O_RDWR, 0644, a, NULL),
			 0);
	assert_int_equal(do_create(f, xl_gfid_root, "b", O_RDWR, 0644, b, NULL),
			 0);
	handle_of(f, a, ha, sizeof(ha));
	handle_of(f, b, hb, sizeof(hb));
	/* link keeps the gfid */
	c = mk(f, XL_FOP_LINK, &r);
	set_entry(&c->args.loc, NULL, NULL, a);
	set_entry(&c->args.loc2, xl_gfid_root, "a2", NULL);
	assert_int_equal(run(f, c, &r), 0);
	assert_memory_equal(r.reply.attr.gfid, a, XL_GFID_LEN);
	assert_int_equal(r.reply.attr.nlink, 2); /* a, a2; not the handle */
	xl_reply_clear(&r.reply);
	assert_int_equal(do_entry_op(f, XL_FOP_RENAME, xl_gfid_root, "a",
				     xl_gfid_root, "b", RENAME_NOREPLACE),
			 -EEXIST);
	/* replacing b drops b's handle; a keeps its own */
	assert_int_equal(do_entry_op(f, XL_FOP_RENAME, xl_gfid_root, "a",
				     xl_gfid_root, "b", 0),
			 0);
	assert_false(exists(hb));
	assert_true(exists(ha));
	assert_int_equal(
	    do_entry_op(f, XL_FOP_UNLINK, xl_gfid_root, "b", NULL, NULL, 0), 0);
	assert_true(exists(ha)); /* a2 still names it */
	assert_int_equal(
	    do_entry_op(f, XL_FOP_UNLINK, xl_gfid_root, "a2", NULL, NULL, 0),
	    0);
	assert_false(exists(ha));
}

static void test_admin_copied_entry_gets_gfid(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32], hpath[PATH_MAX + 64];
	struct xl_iatt ia, ia2;
	int fd;

	brick_path(f, path, sizeof(path), "copied");
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(do_lookup(f, xl_gfid_root, "copied", NULL, &ia), 0);
	assert_false(xl_gfid_is_null(ia.gfid));
	assert_int_equal(ia.size, 3);
	handle_of(f, ia.gfid, hpath, sizeof(hpath));
	assert_true(exists(hpath));
	assert_int_equal(do_lookup(f, xl_gfid_root, "copied", NULL, &ia2), 0);
	assert_memory_equal(ia.gfid, ia2.gfid, XL_GFID_LEN);
}

/* ---- credentials ---- */

static void test_sgid_and_access(void **state)
{
	struct fx *f = *state;
	uint8_t d[XL_GFID_LEN], s[XL_GFID_LEN];
	char path[PATH_MAX + 32];
	struct xl_iatt ia;
	struct rec r;
	struct xl_call *c;
	struct stat st;

	assert_int_equal(do_make(f, XL_FOP_MKDIR, xl_gfid_root, "shared", 0775,
				 NULL, d, NULL),
			 0);
	brick_path(f, path, sizeof(path), "shared");
	assert_int_equal(chown(path, 0, 777), 0);
	assert_int_equal(chmod(path, 02775), 0);
	f->cred.uid = 1000;
	f->cred.gid = 1000;
	c = mk(f, XL_FOP_MKDIR, &r);
	xl_gfid_generate(s);
	set_entry(&c->args.loc, d, "sub", s);
	c->args.mode = 0777;
	c->args.umask = 022;
	assert_int_equal(run(f, c, &r), 0);
	ia = r.reply.attr;
	xl_reply_clear(&r.reply);
	assert_int_equal(ia.uid, 1000);
	assert_int_equal(ia.gid, 777);
	assert_int_equal(ia.mode & 07777, 02755);
	brick_path(f, path, sizeof(path), "shared/sub");
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_gid, 777);

	/* access: 0755 dir owned by 1000 */
	struct {
		uint32_t uid, gid, mask;
		int want;
	} cases[] = {
	    {1000, 1000, R_OK | W_OK | X_OK, 0},
	    {2000, 777, R_OK | X_OK, 0},
	    {2000, 777, W_OK, -EACCES},
	    {2000, 2000, W_OK, -EACCES},
	    {0, 0, W_OK | X_OK, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f->cred.uid = cases[i].uid;
		f->cred.gid = cases[i].gid;
		c = mk(f, XL_FOP_ACCESS, &r);
		set_entry(&c->args.loc, NULL, NULL, s);
		c->args.mode = cases[i].mask;
		assert_int_equal(run(f, c, &r), cases[i].want);
		xl_reply_clear(&r.reply);
	}
	f->cred.uid = 2000;
	f->cred.gid = 2000;
	f->cred.ngroups = 1;
	f->cred.groups[0] = 777;
	c = mk(f, XL_FOP_ACCESS, &r);
	set_entry(&c->args.loc, NULL, NULL, s);
	c->args.mode = R_OK;
	assert_int_equal(run(f, c, &r), 0);
	xl_reply_clear(&r.reply);
}

/* ---- data ---- */

static void test_read_write_setattr(void **state)
{
	struct fx *f = *state;
	uint8_t g[XL_GFID_LEN];
	struct xl_fd *fd = NULL, *fd2 = NULL;
	struct rec r;
	struct xl_call *c;

	assert_int_equal(
	    do_create(f, xl_gfid_root, "data", O_RDWR, 0644, g, &fd), 0);
	assert_int_equal(do_rw(f, XL_FOP_WRITE, fd, 0, "hello world", 11, &r),
			 11);
	assert_int_equal(r.reply.attr.size, 11);
	xl_reply_clear(&r.reply);
	assert_int_equal(do_open(f, XL_FOP_OPEN, g, O_RDONLY, &fd2), 0);
	assert_int_equal(do_rw(f, XL_FOP_READ, fd2, 6, NULL, 100, &r), 5);
	assert_int_equal(r.reply.data->size, 5);
	assert_memory_equal(r.reply.data->data, "world", 5);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_rw(f, XL_FOP_READ, fd2, 0, NULL, XL_IO_SIZE_MAX + 1, &r),
	    -EINVAL);
	xl_reply_clear(&r.reply);

	/* truncate by loc, times, mode */
	c = mk(f, XL_FOP_SETATTR, &r);
	set_entry(&c->args.loc, NULL, NULL, g);
	c->args.valid =
	    XL_SET_SIZE | XL_SET_MODE | XL_SET_MTIME | XL_SET_ATIME_NOW;
	c->args.attr.size = 5;
	c->args.attr.mode = 0600;
	c->args.attr.mtime = 1000000;
	assert_int_equal(run(f, c, &r), 0);
	assert_int_equal(r.reply.attr.size, 5);
	assert_int_equal(r.reply.attr.mode & 07777, 0600);
	assert_int_equal(r.reply.attr.mtime, 1000000);
	assert_memory_equal(r.reply.attr.gfid, g, XL_GFID_LEN);
	xl_reply_clear(&r.reply);

	/* by fd */
	c = mk(f, XL_FOP_SETATTR, &r);
	c->args.fd = xl_fd_ref(fd);
	c->args.valid = XL_SET_SIZE;
	c->args.attr.size = 2;
	assert_int_equal(run(f, c, &r), 0);
	assert_int_equal(r.reply.attr.size, 2);
	xl_reply_clear(&r.reply);

	/* fsync, flush, fallocate punch, lseek */
	c = mk(f, XL_FOP_FSYNC, &r);
	c->args.fd = xl_fd_ref(fd);
	c->args.cmd = 1;
	assert_int_equal(run(f, c, &r), 0);
	xl_reply_clear(&r.reply);
	c = mk(f, XL_FOP_FALLOCATE, &r);
	c->args.fd = xl_fd_ref(fd);
	c->args.offset = 0;
	c->args.size = 65536;
	assert_int_equal(run(f, c, &r), 0);
	assert_int_equal(r.reply.attr.size, 65536);
	xl_reply_clear(&r.reply);
	c = mk(f, XL_FOP_LSEEK, &r);
	c->args.fd = xl_fd_ref(fd);
	c->args.offset = 100;
	c->args.cmd = SEEK_SET;
	assert_int_equal(run(f, c, &r), 0);
	assert_int_equal(r.reply.offset, 100);
	xl_reply_clear(&r.reply);
	c = mk(f, XL_FOP_FLUSH, &r);
	c->args.fd = xl_fd_ref(fd);
	assert_int_equal(run(f, c, &r), 0);
	xl_reply_clear(&r.reply);

	do_release(f, fd, XL_FOP_RELEASE);
	assert_int_equal(do_rw(f, XL_FOP_READ, fd2, 0, NULL, 10, &r), 10);
	xl_reply_clear(&r.reply);
	xl_fd_unref(fd2); /* fd_ctx_free closes it */
	assert_int_equal(
	    atomic_load(&((struct posix_priv *)f->xl->private)->open_fds), 0);
}

static void test_symlink_readlink_mknod_statfs(void **state)
{
	struct fx *f = *state;
	uint8_t g[XL_GFID_LEN];
	struct xl_iatt ia;
	struct rec r;
	struct xl_call *c;

	assert_int_equal(do_make(f, XL_FOP_SYMLINK, xl_gfid_root, "ln", 0,
				 "../../target", g, &ia),
			 0);
	assert_true(S_ISLNK(ia.mode));
	c = mk(f, XL_FOP_READLINK, &r);
	set_entry(&c->args.loc, NULL, NULL, g);
	assert_int_equal(run(f, c, &r), 0);
	assert_int_equal(r.reply.data->size, strlen("../../target"));
	assert_memory_equal(r.reply.data->data, "../../target", 12);
	xl_reply_clear(&r.reply);
	assert_int_equal(do_make(f, XL_FOP_MKNOD, xl_gfid_root, "fifo",
				 S_IFIFO | 0640, NULL, g, &ia),
			 0);
	assert_true(S_ISFIFO(ia.mode));
	assert_int_equal(ia.mode & 07777, 0640);
	c = mk(f, XL_FOP_STATFS, &r);
	set_entry(&c->args.loc, NULL, NULL, xl_gfid_root);
	assert_int_equal(run(f, c, &r), 0);
	assert_true(r.reply.statfs.blocks > 0);
	xl_reply_clear(&r.reply);
	c = mk(f, XL_FOP_LK, &r);
	assert_int_equal(run(f, c, &r), -ENOSYS);
	xl_reply_clear(&r.reply);
}

/* ---- directories ---- */

static void test_readdir_pages(void **state)
{
	struct fx *f = *state;
	enum { N = 50 };
	bool seen[N] = {false};
	bool dot = false, dotdot = false;
	struct xl_fd *fd = NULL;
	uint64_t off = 0;
	char name[32];
	int total = 0;

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "entry-%02d", i);
		assert_int_equal(
		    do_create(f, xl_gfid_root, name, O_RDWR, 0644, NULL, NULL),
		    0);
	}
	assert_int_equal(
	    do_open(f, XL_FOP_OPENDIR, xl_gfid_root, O_RDONLY, &fd), 0);
	for (int page = 0; page < 200; page++) {
		struct rec r;
		struct xl_call *c =
		    mk(f, page % 2 ? XL_FOP_READDIRPLUS : XL_FOP_READDIR, &r);
		bool plus = page % 2;

		c->args.fd = xl_fd_ref(fd);
		c->args.offset = (int64_t)off;
		c->args.size = 400;
		assert_int_equal(run(f, c, &r), 0);
		if (r.reply.entry_count == 0) {
			xl_reply_clear(&r.reply);
			break;
		}
		for (uint32_t i = 0; i < r.reply.entry_count; i++) {
			const struct xl_dirent *e = &r.reply.entries[i];
			int k;

			assert_string_not_equal(e->name, ".mortar");
			if (strcmp(e->name, ".") == 0)
				dot = true;
			else if (strcmp(e->name, "..") == 0)
				dotdot = true;
			else {
				assert_int_equal(
				    sscanf(e->name, "entry-%d", &k), 1);
				assert_false(seen[k]);
				seen[k] = true;
				total++;
				if (plus)
					assert_false(
					    xl_gfid_is_null(e->attr.gfid));
			}
			off = e->d_off;
		}
		xl_reply_clear(&r.reply);
	}
	assert_int_equal(total, N);
	assert_true(dot && dotdot);
	do_release(f, fd, XL_FOP_RELEASEDIR);
}

/* ---- xattrs ---- */

static void test_xattrs(void **state)
{
	struct fx *f = *state;
	uint8_t g[XL_GFID_LEN];
	struct rec r;

	assert_int_equal(do_create(f, xl_gfid_root, "x", O_RDWR, 0644, g, NULL),
			 0);
	assert_int_equal(do_xattr(f, XL_FOP_SETXATTR, g, "user.k", "value", 0,
				  XATTR_CREATE, &r),
			 0);
	xl_reply_clear(&r.reply);
	assert_int_equal(do_xattr(f, XL_FOP_SETXATTR, g, "user.k", "v2", 0,
				  XATTR_CREATE, &r),
			 -EEXIST);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_GETXATTR, g, "user.k", NULL, 0, 0, &r), 5);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_GETXATTR, g, "user.k", NULL, 2, 0, &r), -ERANGE);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_GETXATTR, g, "user.k", NULL, 64, 0, &r), 5);
	assert_memory_equal(r.reply.data->data, "value", 5);
	xl_reply_clear(&r.reply);
	/* internal names: refused, hidden */
	assert_int_equal(do_xattr(f, XL_FOP_SETXATTR, g, POSIX_GFID_XATTR,
				  "0123456789abcdef", 0, 0, &r),
			 -EPERM);
	xl_reply_clear(&r.reply);
	assert_int_equal(do_xattr(f, XL_FOP_REMOVEXATTR, g, POSIX_GFID_XATTR,
				  NULL, 0, 0, &r),
			 -EPERM);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_GETXATTR, g, POSIX_GFID_XATTR, NULL, 64, 0, &r),
	    -ENODATA);
	xl_reply_clear(&r.reply);
	assert_int_equal(do_xattr(f, XL_FOP_LISTXATTR, g, NULL, NULL, 0, 0, &r),
			 (int)sizeof("user.k"));
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_LISTXATTR, g, NULL, NULL, 256, 0, &r),
	    (int)sizeof("user.k"));
	assert_memory_equal(r.reply.data->data, "user.k", sizeof("user.k"));
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_REMOVEXATTR, g, "user.k", NULL, 0, 0, &r), 0);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_GETXATTR, g, "user.k", NULL, 0, 0, &r),
	    -ENODATA);
	xl_reply_clear(&r.reply);
}

/* ---- fault injection through the syscall table ---- */

static ssize_t enospc_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	(void)fd;
	(void)buf;
	(void)n;
	(void)off;
	errno = ENOSPC;
	return -1;
}

static void test_fault_injection(void **state)
{
	struct fx *f = *state;
	struct xl_desc *live = (struct xl_desc *)f->xl->desc;
	struct posix_priv *priv = f->xl->private;
	struct xl_fd *fd = NULL;
	struct rec r;

	/* Run this program's copy of the translator (same private layout):
	 * its posix_sys is the table we can reach. */
	*live = mortar_xlator;
	assert_int_equal(
	    do_create(f, xl_gfid_root, "full", O_RDWR, 0644, NULL, &fd), 0);
	posix_sys.pwrite = enospc_pwrite;
	assert_int_equal(do_rw(f, XL_FOP_WRITE, fd, 0, "x", 1, &r), -ENOSPC);
	xl_reply_clear(&r.reply);
	posix_sys_reset();
	assert_int_equal(do_rw(f, XL_FOP_WRITE, fd, 0, "x", 1, &r), 1);
	xl_reply_clear(&r.reply);
	do_release(f, fd, XL_FOP_RELEASE);
	(void)priv;
}

static int eagain_openat2(int dirfd, const char *path,
			  const struct open_how *how)
{
	(void)dirfd;
	(void)path;
	(void)how;
	errno = EAGAIN;
	return -1;
}

/* openat2 that keeps racing with renames: the walk by hand takes over. */
static void test_openat2_eagain(void **state)
{
	struct fx *f = *state;
	uint8_t d[XL_GFID_LEN];
	struct xl_iatt ia;

	*(struct xl_desc *)f->xl->desc = mortar_xlator;
	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, d, NULL),
	    0);
	posix_sys.openat2 = eagain_openat2;
	assert_int_equal(do_create(f, d, "f", O_RDWR, 0644, NULL, NULL), 0);
	assert_int_equal(do_lookup(f, d, "f", NULL, &ia), 0);
	assert_true(S_ISREG(ia.mode));
	assert_int_equal(do_lookup(f, NULL, NULL, d, &ia), 0);
	assert_true(S_ISDIR(ia.mode));
}

/* io-threads runs fops in parallel: renames in one place must not make
 * resolution elsewhere fail (openat2's EAGAIN). */
struct worker {
	struct fx *f;
	int id;
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint8_t dir[XL_GFID_LEN], sub[XL_GFID_LEN];
	char name[32], n1[32], n2[32];

	snprintf(name, sizeof(name), "w%d", w->id);
	if (do_make(w->f, XL_FOP_MKDIR, xl_gfid_root, name, 0755, NULL, dir,
		    NULL) != 0) {
		w->failures++;
		return NULL;
	}
	for (int i = 0; i < 100; i++) {
		snprintf(n1, sizeof(n1), "s%d", i);
		snprintf(n2, sizeof(n2), "t%d", i);
		if (do_make(w->f, XL_FOP_MKDIR, dir, n1, 0755, NULL, sub,
			    NULL) != 0 ||
		    do_create(w->f, sub, "f", O_RDWR, 0644, NULL, NULL) != 0 ||
		    do_entry_op(w->f, XL_FOP_RENAME, dir, n1, dir, n2, 0) !=
			0 ||
		    do_lookup(w->f, sub, "f", NULL, NULL) != 0)
			w->failures++;
	}
	return NULL;
}

static void test_parallel_renames(void **state)
{
	enum { NT = 8 };
	struct fx *f = *state;
	struct worker w[NT];
	pthread_t t[NT];

	for (int i = 0; i < NT; i++) {
		w[i] = (struct worker){.f = f, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
				 0);
	}
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NT; i++)
		assert_int_equal(w[i].failures, 0);
}

/* dump(): brick path and open fd count */
static void test_dump(void **state)
{
	struct fx *f = *state;
	struct xl_fd *fd = NULL;
	char *text = NULL, want[256];
	size_t len = 0;
	FILE *out;

	assert_int_equal(
	    do_create(f, xl_gfid_root, "d", O_RDWR, 0644, NULL, &fd), 0);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	f->xl->desc->dump(f->xl, out);
	fclose(out);
	snprintf(want, sizeof(want), "directory=%s\n", f->brick);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "open_fds=1\n"));
	free(text);
	do_release(f, fd, XL_FOP_RELEASE);
}

/* Special files are never opened on the brick: a FIFO would block an
 * io-thread, a device node would expose the brick host's device. */
static void test_no_open_of_special_files(void **state)
{
	struct fx *f = *state;
	uint8_t fifo[XL_GFID_LEN], dev[XL_GFID_LEN];

	assert_int_equal(do_make(f, XL_FOP_MKNOD, xl_gfid_root, "fifo",
				 S_IFIFO | 0666, NULL, fifo, NULL),
			 0);
	assert_int_equal(do_make(f, XL_FOP_MKNOD, xl_gfid_root, "null",
				 S_IFCHR | 0666, NULL, dev, NULL),
			 0);
	assert_int_equal(do_open(f, XL_FOP_OPEN, fifo, O_WRONLY, NULL), -EPERM);
	assert_int_equal(do_open(f, XL_FOP_OPEN, dev, O_RDWR, NULL), -EPERM);
	assert_int_equal(
	    do_create(f, xl_gfid_root, "fifo", O_WRONLY, 0644, NULL, NULL),
	    -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init_bad_directory, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_symlink_outside_not_followed,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escaping_handle, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_create_sets_gfid_and_handle,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_handles_follow_renames,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_handles_slow_path, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_deep_tree, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gfid_collision, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rename_replaces_and_links,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admin_copied_entry_gets_gfid,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sgid_and_access, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_read_write_setattr, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_symlink_readlink_mknod_statfs,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readdir_pages, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fault_injection, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_openat2_eagain, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_parallel_renames, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dump, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_open_of_special_files,
					    setup, teardown),
	};

	xl_log_init(NULL, XL_LOG_WARNING);
	return cmocka_run_group_tests_name("posix", tests, NULL, NULL);
}
