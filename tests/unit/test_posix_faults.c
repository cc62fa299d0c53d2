/*
 * test_posix_faults.c - storage/posix under injected system call failures
 * (translators/storage/posix/posix-sys.h): a creating fop whose gfid
 * label, handle, owner, mode or internal xattrs cannot be set fails with
 * that errno and leaves no entry and no handle; an XATTROP that cannot
 * write a counter fails and leaves every counter as it was; setattr,
 * xattr fops, readlink, statfs, stat, opendir and readdir report the
 * failing call's errno; a lookup's (or readdirplus') xattr request that
 * cannot read one xattr leaves it out of the reply (posix_lookup_xattrs'
 * and posix_dx_note's contract); a nowait read answers -EAGAIN where it
 * would wait for the disk.
 *
 * Each fault is a table entry that fails (and counts its hits), so every
 * test also shows the call is routed through the table: a call made
 * directly would not fail and the test's errno assertion would.  As in
 * test_posix_fops.c, the compiled-in copy of the translator is made the
 * live one so posix_sys here is the table it uses.  Needs root.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "posix-fixture.h"
#include "posix-sys.h"
#include "posix.h"

extern const struct xl_desc mortar_xlator; /* the compiled-in copy */

#define AFR_A  "trusted.mortar.afr.vol-client-0"
#define AFR_B  "trusted.mortar.afr.vol-client-1"
#define LAYOUT "trusted.mortar.dht.layout"

/* ---- faults ------------------------------------------------------------ */

static int fault_errno = EIO;
static const char *fault_xattr; /* the xattr name that fails; NULL: all */
static int fault_hits;

static int fault_fail(void)
{
	fault_hits++;
	errno = fault_errno;
	return -1;
}

static bool fault_on(const char *name)
{
	return !fault_xattr || strcmp(name, fault_xattr) == 0;
}

/* A handle's name is a gfid string; an entry's never is here. */
static bool is_handle_name(const char *path)
{
	uint8_t g[XL_GFID_LEN];

	return xl_gfid_parse(path, g) == 0;
}

static ssize_t f_lgetxattr(const char *p, const char *n, void *v, size_t s)
{
	return fault_on(n) ? fault_fail() : lgetxattr(p, n, v, s);
}

static ssize_t f_fgetxattr(int fd, const char *n, void *v, size_t s)
{
	return fault_on(n) ? fault_fail() : fgetxattr(fd, n, v, s);
}

static int f_lsetxattr(const char *p, const char *n, const void *v, size_t s,
		       int fl)
{
	return fault_on(n) ? fault_fail() : lsetxattr(p, n, v, s, fl);
}

static int f_fsetxattr(int fd, const char *n, const void *v, size_t s, int fl)
{
	return fault_on(n) ? fault_fail() : fsetxattr(fd, n, v, s, fl);
}

static ssize_t f_llistxattr(const char *p, char *l, size_t s)
{
	(void)p;
	(void)l;
	(void)s;
	return fault_fail();
}

static ssize_t f_flistxattr(int fd, char *l, size_t s)
{
	(void)fd;
	(void)l;
	(void)s;
	return fault_fail();
}

static int f_lremovexattr(const char *p, const char *n)
{
	return fault_on(n) ? fault_fail() : lremovexattr(p, n);
}

static int f_fremovexattr(int fd, const char *n)
{
	return fault_on(n) ? fault_fail() : fremovexattr(fd, n);
}

static int f_linkat(int od, const char *op, int nd, const char *np, int fl)
{
	return is_handle_name(np) ? fault_fail() : linkat(od, op, nd, np, fl);
}

static int f_symlinkat(const char *t, int d, const char *p)
{
	return is_handle_name(p) ? fault_fail() : symlinkat(t, d, p);
}

static int f_fchown(int fd, uid_t u, gid_t g)
{
	(void)fd;
	(void)u;
	(void)g;
	return fault_fail();
}

static int f_fchownat(int d, const char *p, uid_t u, gid_t g, int fl)
{
	(void)d;
	(void)p;
	(void)u;
	(void)g;
	(void)fl;
	return fault_fail();
}

static int f_fchmod(int fd, mode_t m)
{
	(void)fd;
	(void)m;
	return fault_fail();
}

static int f_fchmodat(int d, const char *p, mode_t m, int fl)
{
	(void)d;
	(void)p;
	(void)m;
	(void)fl;
	return fault_fail();
}

static int f_futimens(int fd, const struct timespec ts[2])
{
	(void)fd;
	(void)ts;
	return fault_fail();
}

static int f_utimensat(int d, const char *p, const struct timespec ts[2],
		       int fl)
{
	(void)d;
	(void)p;
	(void)ts;
	(void)fl;
	return fault_fail();
}

static int f_fstat(int fd, struct stat *st)
{
	(void)fd;
	(void)st;
	return fault_fail();
}

static ssize_t f_readlinkat(int d, const char *p, char *b, size_t l)
{
	(void)d;
	(void)p;
	(void)b;
	(void)l;
	return fault_fail();
}

static int f_fstatvfs(int fd, struct statvfs *sv)
{
	(void)fd;
	(void)sv;
	return fault_fail();
}

static int f_dup(int fd)
{
	(void)fd;
	return fault_fail();
}

static DIR *f_fdopendir(int fd)
{
	(void)fd;
	fault_fail();
	return NULL;
}

static struct dirent *f_readdir(DIR *d)
{
	(void)d;
	fault_fail();
	return NULL;
}

static int closedir_calls;

static int f_closedir(DIR *d)
{
	closedir_calls++;
	return closedir(d);
}

/* Run this program's copy of posix (its table is the one we change) and
 * clear the fault state. */
static struct fx *use_local(void **state)
{
	struct fx *f = *state;

	*(struct xl_desc *)f->xl->desc = mortar_xlator;
	fault_errno = EIO;
	fault_xattr = NULL;
	fault_hits = 0;
	return f;
}

/* ---- helpers ----------------------------------------------------------- */

static void mark_internal(struct xl_call *c)
{
	if (!c->args.xdata)
		c->args.xdata = xl_dict_new();
	assert_non_null(c->args.xdata);
	assert_int_equal(xl_dict_set_u64(c->args.xdata, "mortar.internal", 1),
			 0);
}

/*
 * create / mkdir / mknod (a FIFO) / symlink of `name` under the root with
 * the fresh gfid g; with layout, the call also carries an internal
 * LAYOUT xattr for the new node (as distribute's mkdir does).
 */
static int new_entry(struct fx *f, enum xl_fop fop, const char *name,
		     uint8_t *g, const char *layout)
{
	struct xl_fd *fd = NULL;
	struct xl_call *c;
	struct rec r;
	int ret;

	xl_gfid_generate(g);
	c = mk(f, fop, &r);
	set_entry(&c->args.loc, xl_gfid_root, name, g);
	switch (fop) {
	case XL_FOP_CREATE:
		fd = xl_fd_new(f->g, g, NULL, O_RDWR, false);
		assert_non_null(fd);
		c->args.fd = xl_fd_ref(fd);
		c->args.flags = O_RDWR | O_CREAT | O_EXCL;
		c->args.mode = S_IFREG | 0644;
		break;
	case XL_FOP_MKDIR:
		c->args.mode = S_IFDIR | 0755;
		break;
	case XL_FOP_MKNOD:
		c->args.mode = S_IFIFO | 0644;
		break;
	default:
		c->args.xname = strdup("target");
		break;
	}
	if (layout) {
		mark_internal(c);
		assert_int_equal(xl_dict_set(c->args.xdata, LAYOUT, layout,
					     (uint32_t)strlen(layout)),
				 0);
	}
	ret = run(f, c, &r);
	xl_reply_clear(&r.reply);
	if (fd)
		xl_fd_unref(fd);
	return ret;
}

static const enum xl_fop new_fops[] = {XL_FOP_CREATE, XL_FOP_MKDIR,
				       XL_FOP_MKNOD, XL_FOP_SYMLINK};
#define N_NEW_FOPS (sizeof(new_fops) / sizeof(new_fops[0]))

static int handle_count;

static int count_one(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag != FTW_D && flag != FTW_DP && !S_ISDIR(st->st_mode))
		handle_count++;
	return 0;
}

/* Handles on the brick, the root's included. */
static int handles(struct fx *f)
{
	char path[PATH_MAX];

	brick_path(f, path, sizeof(path), POSIX_HANDLES_DIR);
	handle_count = 0;
	assert_int_equal(nftw(path, count_one, 16, FTW_PHYS), 0);
	return handle_count;
}

/* Nothing of a failed create is left: no name, no handle for its gfid,
 * no other handle but the root's. */
static void assert_nothing_left(struct fx *f, const char *name,
				const uint8_t *g)
{
	char path[PATH_MAX];

	brick_path(f, path, sizeof(path), name);
	assert_false(exists(path));
	handle_of(f, g, path, sizeof(path));
	assert_false(exists(path));
	assert_int_equal(handles(f), 1);
}

/* Each creating fop fails with the fault's errno and leaves nothing;
 * without the fault the same name is made. */
static void check_new_entries_fail(struct fx *f, int err, const char *layout)
{
	uint8_t g[XL_GFID_LEN];
	char name[32];

	for (size_t i = 0; i < N_NEW_FOPS; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		fault_hits = 0;
		assert_int_equal(new_entry(f, new_fops[i], name, g, layout),
				 -err);
		assert_true(fault_hits > 0);
		assert_nothing_left(f, name, g);
	}
}

static void check_new_entries_work(struct fx *f)
{
	uint8_t g[XL_GFID_LEN];
	char name[32], path[PATH_MAX];

	for (size_t i = 0; i < N_NEW_FOPS; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		assert_int_equal(new_entry(f, new_fops[i], name, g, NULL), 0);
		handle_of(f, g, path, sizeof(path));
		assert_true(exists(path));
	}
	assert_int_equal(handles(f), 1 + (int)N_NEW_FOPS);
}

/* ---- creating fops ----------------------------------------------------- */

static void test_gfid_label_fails(void **state)
{
	struct fx *f = use_local(state);

	fault_errno = ENOSPC;
	fault_xattr = POSIX_GFID_XATTR;
	posix_sys.lsetxattr = f_lsetxattr;
	check_new_entries_fail(f, ENOSPC, NULL);
	posix_sys_reset();
	check_new_entries_work(f);
}

static void test_handle_link_fails(void **state)
{
	struct fx *f = use_local(state);

	fault_errno = EMLINK;
	posix_sys.linkat = f_linkat;	   /* a non-directory's handle */
	posix_sys.symlinkat = f_symlinkat; /* a directory's */
	check_new_entries_fail(f, EMLINK, NULL);
	posix_sys_reset();
	check_new_entries_work(f);
}

/* The internal xattrs a create carries are set after the handle is made:
 * the handle must go too. */
static void test_entry_xattrs_fail(void **state)
{
	struct fx *f = use_local(state);

	fault_xattr = LAYOUT;
	posix_sys.lsetxattr = f_lsetxattr;
	check_new_entries_fail(f, EIO, "LAYOUT");
	posix_sys_reset();
	check_new_entries_work(f);
}

static void test_new_entry_owner_fails(void **state)
{
	struct fx *f = use_local(state);

	posix_sys.fchownat = f_fchownat;
	check_new_entries_fail(f, EIO, NULL);
	posix_sys_reset();
	/* the parent's fstat (its set-group-ID bit) */
	posix_sys.fstat = f_fstat;
	check_new_entries_fail(f, EIO, NULL);
	posix_sys_reset();
	check_new_entries_work(f);
}

/* chown clears set-user-ID: the mode is set again, and that can fail. */
static void test_new_entry_mode_fails(void **state)
{
	struct fx *f = use_local(state);
	uint8_t g[XL_GFID_LEN];
	struct xl_iatt ia;

	posix_sys.fchmodat = f_fchmodat;
	assert_int_equal(do_make(f, XL_FOP_MKNOD, xl_gfid_root, "suid",
				 S_IFREG | 04755, NULL, g, NULL),
			 -EIO);
	assert_true(fault_hits > 0);
	assert_nothing_left(f, "suid", g);
	posix_sys_reset();
	assert_int_equal(do_make(f, XL_FOP_MKNOD, xl_gfid_root, "suid",
				 S_IFREG | 04755, NULL, g, &ia),
			 0);
	assert_int_equal(ia.mode & 07777, 04755);
}

/* ---- XATTROP ----------------------------------------------------------- */

/* xattrop adding two counters (d, m) to each of n keys; by gfid, or
 * through fd when fd is set. */
static int xattrop(struct fx *f, const uint8_t *g, struct xl_fd *fd,
		   const char *const *keys, const int64_t (*add)[2], int n)
{
	struct xl_call *c;
	struct rec r;
	int ret;

	c = mk(f, XL_FOP_XATTROP, &r);
	if (fd)
		c->args.fd = xl_fd_ref(fd);
	else
		set_entry(&c->args.loc, NULL, NULL, g);
	c->args.flags = XL_XATTROP_ADD64;
	c->args.xdata = xl_dict_new();
	assert_non_null(c->args.xdata);
	for (int i = 0; i < n; i++) {
		uint64_t v[2] = {htobe64((uint64_t)add[i][0]),
				 htobe64((uint64_t)add[i][1])};

		assert_int_equal(
		    xl_dict_set(c->args.xdata, keys[i], v, sizeof(v)), 0);
	}
	ret = run(f, c, &r);
	xl_reply_clear(&r.reply);
	return ret;
}

/* Counter i of key on the brick's file "f"; 0 when the xattr is absent
 * (absent = zeros). */
static int64_t on_disk(struct fx *f, const char *key, int i)
{
	char path[PATH_MAX];
	uint64_t v[2];
	ssize_t n;

	brick_path(f, path, sizeof(path), "f");
	n = lgetxattr(path, key, v, sizeof(v));
	if (n < 0 && errno == ENODATA)
		return 0;
	assert_int_equal(n, sizeof(v));
	return (int64_t)be64toh(v[i]);
}

static void test_xattrop_write_fails(void **state)
{
	struct fx *f = use_local(state);
	static const char *const ab[] = {AFR_A, AFR_B};
	static const int64_t one[][2] = {{1, 2}};
	static const int64_t both[][2] = {{5, 0}, {1, 1}};
	static const int64_t clear_a[][2] = {{-1, -2}, {1, 0}};
	struct xl_fd *fd = NULL;
	uint8_t g[XL_GFID_LEN];

	assert_int_equal(do_create(f, xl_gfid_root, "f", O_RDWR, 0644, g, &fd),
			 0);
	assert_int_equal(xattrop(f, g, NULL, ab, one, 1), 0);
	assert_int_equal(on_disk(f, AFR_A, 0), 1);

	/* one key: the xattrop fails, the counter is as it was (a regular
	 * file reached by gfid is held open: the f*xattr calls) */
	posix_sys.fsetxattr = f_fsetxattr;
	assert_int_equal(xattrop(f, g, NULL, ab, one, 1), -EIO);
	assert_true(fault_hits > 0);
	assert_int_equal(on_disk(f, AFR_A, 0), 1);
	assert_int_equal(on_disk(f, AFR_A, 1), 2);

	/* two keys, the second fails: the first is taken back */
	fault_xattr = AFR_B;
	assert_int_equal(xattrop(f, g, NULL, ab, both, 2), -EIO);
	assert_int_equal(on_disk(f, AFR_A, 0), 1);
	assert_int_equal(on_disk(f, AFR_B, 0), 0);
	/* ... also when the first one had become zero and was removed */
	assert_int_equal(xattrop(f, g, NULL, ab, clear_a, 2), -EIO);
	assert_int_equal(on_disk(f, AFR_A, 0), 1);
	assert_int_equal(on_disk(f, AFR_A, 1), 2);

	/* through an fd: fsetxattr */
	posix_sys_reset();
	fault_xattr = NULL;
	fault_hits = 0;
	posix_sys.fsetxattr = f_fsetxattr;
	assert_int_equal(xattrop(f, NULL, fd, ab, one, 1), -EIO);
	assert_true(fault_hits > 0);
	assert_int_equal(on_disk(f, AFR_A, 0), 1);

	/* a counter that cannot be read fails the xattrop too */
	posix_sys_reset();
	fault_hits = 0;
	posix_sys.fgetxattr = f_fgetxattr;
	fault_xattr = AFR_A;
	assert_int_equal(xattrop(f, g, NULL, ab, one, 1), -EIO);
	assert_true(fault_hits > 0);
	posix_sys_reset();
	assert_int_equal(on_disk(f, AFR_A, 0), 1);

	/* without faults both apply */
	assert_int_equal(xattrop(f, g, NULL, ab, both, 2), 0);
	assert_int_equal(on_disk(f, AFR_A, 0), 6);
	assert_int_equal(on_disk(f, AFR_B, 1), 1);
	do_release(f, fd, XL_FOP_RELEASE);
}

/* ---- setattr ------------------------------------------------------------ */

static int setattr(struct fx *f, const uint8_t *g, struct xl_fd *fd,
		   uint32_t valid, struct xl_iatt *out)
{
	struct xl_call *c;
	struct rec r;
	int ret;

	c = mk(f, XL_FOP_SETATTR, &r);
	if (fd)
		c->args.fd = xl_fd_ref(fd);
	else
		set_entry(&c->args.loc, NULL, NULL, g);
	c->args.valid = valid;
	c->args.attr.mtime = 1000000;
	c->args.attr.atime = 1000000;
	c->args.attr.mode = 0600;
	c->args.attr.uid = 12;
	c->args.attr.gid = 34;
	ret = run(f, c, &r);
	if (out)
		*out = r.reply.attr;
	xl_reply_clear(&r.reply);
	return ret;
}

static void test_setattr_fails(void **state)
{
	struct fx *f = use_local(state);
	const uint32_t times = XL_SET_ATIME | XL_SET_MTIME;
	struct xl_fd *fd = NULL;
	uint8_t g[XL_GFID_LEN];
	char path[PATH_MAX];
	struct stat st;
	struct xl_iatt ia;

	assert_int_equal(do_create(f, xl_gfid_root, "f", O_RDWR, 0644, g, &fd),
			 0);
	brick_path(f, path, sizeof(path), "f");

	posix_sys.utimensat = f_utimensat;
	assert_int_equal(setattr(f, g, NULL, times, NULL), -EIO);
	assert_int_equal(fault_hits, 1);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(st.st_mtime != 1000000);
	posix_sys.futimens = f_futimens;
	assert_int_equal(setattr(f, NULL, fd, times, NULL), -EIO);
	assert_int_equal(fault_hits, 2);
	posix_sys.fchownat = f_fchownat;
	assert_int_equal(setattr(f, g, NULL, XL_SET_UID, NULL), -EIO);
	posix_sys.fchown = f_fchown;
	assert_int_equal(setattr(f, NULL, fd, XL_SET_UID, NULL), -EIO);
	posix_sys.fchmodat = f_fchmodat;
	assert_int_equal(setattr(f, g, NULL, XL_SET_MODE, NULL), -EIO);
	posix_sys.fchmod = f_fchmod;
	assert_int_equal(setattr(f, NULL, fd, XL_SET_MODE, NULL), -EIO);
	assert_int_equal(fault_hits, 6);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_uid, 0);

	posix_sys_reset();
	assert_int_equal(setattr(f, g, NULL, times | XL_SET_MODE, &ia), 0);
	assert_int_equal(ia.mtime, 1000000);
	assert_int_equal(ia.mode & 07777, 0600);
	do_release(f, fd, XL_FOP_RELEASE);
}

/* ---- xattrs ------------------------------------------------------------- */

static int xattr_fd(struct fx *f, enum xl_fop fop, struct xl_fd *fd,
		    const char *name, uint64_t size)
{
	struct xl_call *c;
	struct rec r;
	int ret;

	c = mk(f, fop, &r);
	c->args.fd = xl_fd_ref(fd);
	if (name)
		c->args.xname = strdup(name);
	if (fop == XL_FOP_SETXATTR)
		c->args.data = xl_iobuf_from("v2", 2);
	c->args.size = size;
	ret = run(f, c, &r);
	xl_reply_clear(&r.reply);
	return ret;
}

/* getxattr, setxattr, removexattr and listxattr of "user.a" by gfid all
 * fail with the injected EIO. */
static void xattr_fops_by_gfid_fail(struct fx *f, const uint8_t *g)
{
	struct rec r;

	assert_int_equal(
	    do_xattr(f, XL_FOP_GETXATTR, g, "user.a", NULL, 64, 0, &r), -EIO);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_SETXATTR, g, "user.a", "vb", 0, 0, &r), -EIO);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_REMOVEXATTR, g, "user.a", NULL, 0, 0, &r), -EIO);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_LISTXATTR, g, NULL, NULL, 4096, 0, &r), -EIO);
	xl_reply_clear(&r.reply);
}

static void test_xattr_fops_fail(void **state)
{
	struct fx *f = use_local(state);
	struct xl_fd *fd = NULL;
	uint8_t g[XL_GFID_LEN];
	char path[PATH_MAX], v[8];
	struct rec r;

	assert_int_equal(do_create(f, xl_gfid_root, "f", O_RDWR, 0644, g, &fd),
			 0);
	assert_int_equal(
	    do_xattr(f, XL_FOP_SETXATTR, g, "user.a", "va", 0, 0, &r), 0);
	xl_reply_clear(&r.reply);
	brick_path(f, path, sizeof(path), "f");

	/* by gfid: a regular file is held open for the call, f*xattr */
	posix_sys.fgetxattr = f_fgetxattr;
	posix_sys.fsetxattr = f_fsetxattr;
	posix_sys.flistxattr = f_flistxattr;
	posix_sys.fremovexattr = f_fremovexattr;
	fault_xattr = "user.a";
	xattr_fops_by_gfid_fail(f, g);
	assert_int_equal(fault_hits, 4);
	/* by fd */
	assert_int_equal(xattr_fd(f, XL_FOP_GETXATTR, fd, "user.a", 64), -EIO);
	assert_int_equal(xattr_fd(f, XL_FOP_SETXATTR, fd, "user.a", 0), -EIO);
	assert_int_equal(xattr_fd(f, XL_FOP_REMOVEXATTR, fd, "user.a", 0),
			 -EIO);
	assert_int_equal(xattr_fd(f, XL_FOP_LISTXATTR, fd, NULL, 4096), -EIO);
	assert_int_equal(fault_hits, 8);
	/* nothing changed on disk */
	assert_int_equal(lgetxattr(path, "user.a", v, sizeof(v)), 2);
	assert_memory_equal(v, "va", 2);

	posix_sys_reset();
	assert_int_equal(xattr_fd(f, XL_FOP_SETXATTR, fd, "user.a", 0), 0);
	assert_int_equal(lgetxattr(path, "user.a", v, sizeof(v)), 2);
	assert_memory_equal(v, "v2", 2);
	do_release(f, fd, XL_FOP_RELEASE);

	/* a directory by gfid: by path, l*xattr */
	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, g, NULL),
	    0);
	assert_int_equal(
	    do_xattr(f, XL_FOP_SETXATTR, g, "user.a", "va", 0, 0, &r), 0);
	xl_reply_clear(&r.reply);
	posix_sys.lgetxattr = f_lgetxattr;
	posix_sys.lsetxattr = f_lsetxattr;
	posix_sys.llistxattr = f_llistxattr;
	posix_sys.lremovexattr = f_lremovexattr;
	fault_hits = 0;
	xattr_fops_by_gfid_fail(f, g);
	assert_int_equal(fault_hits, 4);
	posix_sys_reset();
	brick_path(f, path, sizeof(path), "d");
	assert_int_equal(lgetxattr(path, "user.a", v, sizeof(v)), 2);
	assert_memory_equal(v, "va", 2);
}

/* A lookup's "mortar.xattr-req": an xattr that cannot be read is left
 * out of the reply and the lookup itself succeeds (see
 * posix_lookup_xattrs); the ones read before it are there. */
static void test_lookup_xattr_read_fails(void **state)
{
	struct fx *f = use_local(state);
	static const char req[] = "user.a\0user.b";
	uint8_t g[XL_GFID_LEN];
	struct xl_call *c;
	struct rec r;

	assert_int_equal(do_create(f, xl_gfid_root, "f", O_RDWR, 0644, g, NULL),
			 0);
	assert_int_equal(
	    do_xattr(f, XL_FOP_SETXATTR, g, "user.a", "va", 0, 0, &r), 0);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_SETXATTR, g, "user.b", "vb", 0, 0, &r), 0);
	xl_reply_clear(&r.reply);

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			posix_sys.lgetxattr = f_lgetxattr;
			fault_xattr = "user.b";
		}
		c = mk(f, XL_FOP_LOOKUP, &r);
		set_entry(&c->args.loc, xl_gfid_root, "f", NULL);
		c->args.xdata = xl_dict_new();
		assert_int_equal(xl_dict_set(c->args.xdata, "mortar.xattr-req",
					     req, sizeof(req)),
				 0);
		assert_int_equal(run(f, c, &r), 0);
		assert_memory_equal(r.reply.attr.gfid, g, XL_GFID_LEN);
		assert_non_null(r.reply.xdata);
		assert_non_null(xl_dict_get(r.reply.xdata, "user.a"));
		if (pass == 0)
			assert_non_null(xl_dict_get(r.reply.xdata, "user.b"));
		else
			assert_null(xl_dict_get(r.reply.xdata, "user.b"));
		xl_reply_clear(&r.reply);
	}
	assert_true(fault_hits > 0);
}

/* readdirplus with "mortar.xattr-req" (distribute's linkto names): an
 * entry whose xattr cannot be read is not in the list, the listing
 * itself succeeds. */
static void test_readdirplus_xattr_read_fails(void **state)
{
	struct fx *f = use_local(state);
	static const char req[] = "user.k";
	uint8_t d[XL_GFID_LEN], g[XL_GFID_LEN];
	struct xl_fd *dfd = NULL;
	struct xl_call *c;
	struct rec r;

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, d, NULL),
	    0);
	assert_int_equal(do_create(f, d, "f", O_RDWR, 0644, g, NULL), 0);
	assert_int_equal(
	    do_xattr(f, XL_FOP_SETXATTR, g, "user.k", "v", 0, 0, &r), 0);
	xl_reply_clear(&r.reply);
	assert_int_equal(do_open(f, XL_FOP_OPENDIR, d, O_RDONLY, &dfd), 0);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			posix_sys.lgetxattr = f_lgetxattr;
			fault_xattr = "user.k";
		}
		c = mk(f, XL_FOP_READDIRPLUS, &r);
		c->args.fd = xl_fd_ref(dfd);
		c->args.size = 65536;
		c->args.xdata = xl_dict_new();
		assert_non_null(c->args.xdata);
		assert_int_equal(xl_dict_set(c->args.xdata, "mortar.xattr-req",
					     req, sizeof(req)),
				 0);
		assert_int_equal(run(f, c, &r), 0);
		assert_true(r.reply.entry_count >= 3); /* ., .., f */
		if (pass == 0)
			assert_true(r.reply.xdata &&
				    xl_dict_get(r.reply.xdata, "user.k"));
		else
			assert_true(!r.reply.xdata ||
				    !xl_dict_get(r.reply.xdata, "user.k"));
		xl_reply_clear(&r.reply);
	}
	assert_true(fault_hits > 0);
	posix_sys_reset();
	do_release(f, dfd, XL_FOP_RELEASEDIR);
}

/* ---- the other calls ------------------------------------------------ */

static void test_other_calls_fail(void **state)
{
	struct fx *f = use_local(state);
	uint8_t s[XL_GFID_LEN], d[XL_GFID_LEN];
	struct xl_fd *dfd = NULL;
	struct xl_call *c;
	struct rec r;

	assert_int_equal(
	    do_make(f, XL_FOP_SYMLINK, xl_gfid_root, "s", 0, "t", s, NULL), 0);
	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, d, NULL),
	    0);

	posix_sys.readlinkat = f_readlinkat;
	c = mk(f, XL_FOP_READLINK, &r);
	set_entry(&c->args.loc, NULL, NULL, s);
	assert_int_equal(run(f, c, &r), -EIO);
	xl_reply_clear(&r.reply);
	/* (a directory's handle is a symlink: resolving d reads it) */
	posix_sys_reset();

	posix_sys.fstatvfs = f_fstatvfs;
	c = mk(f, XL_FOP_STATFS, &r);
	set_entry(&c->args.loc, NULL, NULL, xl_gfid_root);
	assert_int_equal(run(f, c, &r), -EIO);
	xl_reply_clear(&r.reply);

	posix_sys.fdopendir = f_fdopendir;
	assert_int_equal(do_open(f, XL_FOP_OPENDIR, d, O_RDONLY, NULL), -EIO);
	posix_sys.fdopendir = fdopendir;
	posix_sys.dup = f_dup; /* the fd the directory keeps beside its DIR */
	assert_int_equal(do_open(f, XL_FOP_OPENDIR, d, O_RDONLY, NULL), -EIO);
	/* and the index directory's */
	assert_int_equal(
	    do_open(f, XL_FOP_OPENDIR, xl_gfid_index, O_RDONLY, NULL), -EIO);
	assert_int_equal(fault_hits, 5);

	posix_sys_reset();
	posix_sys.closedir = f_closedir;
	closedir_calls = 0;
	assert_int_equal(do_open(f, XL_FOP_OPENDIR, d, O_RDONLY, &dfd), 0);
	posix_sys.readdir = f_readdir;
	c = mk(f, XL_FOP_READDIR, &r);
	c->args.fd = xl_fd_ref(dfd);
	c->args.size = 4096;
	assert_int_equal(run(f, c, &r), -EIO);
	xl_reply_clear(&r.reply);
	posix_sys.fstat = f_fstat;
	c = mk(f, XL_FOP_STAT, &r);
	c->args.fd = xl_fd_ref(dfd);
	assert_int_equal(run(f, c, &r), -EIO);
	xl_reply_clear(&r.reply);
	assert_int_equal(fault_hits, 7);
	do_release(f, dfd, XL_FOP_RELEASEDIR);
	assert_int_equal(closedir_calls, 1);
}

/* ---- nowait reads (io-threads' inline path) ----------------------------- */

static int preadv2_calls;
static ssize_t preadv2_short; /* >= 0: answer this many bytes */

static ssize_t f_preadv2(int fd, const struct iovec *iov, int n, off_t off,
			 int flags)
{
	preadv2_calls++;
	assert_true(flags & RWF_NOWAIT);
	if (preadv2_short >= 0)
		return pread(fd, iov[0].iov_base, (size_t)preadv2_short, off);
	return fault_fail();
}

/* run_read: a read of size bytes at off, nowait or not; its ret. */
static int run_read(struct fx *f, struct xl_fd *fd, int64_t off, size_t size,
		    bool nowait, struct rec *r)
{
	struct xl_call *c = mk(f, XL_FOP_READ, r);

	c->nowait = nowait;
	c->args.fd = xl_fd_ref(fd);
	c->args.offset = off;
	c->args.size = size;
	return run(f, c, r);
}

/* A nowait read uses preadv2(RWF_NOWAIT) and answers -EAGAIN when it
 * would block (EAGAIN, a short read before the end of the file, a file
 * system without RWF_NOWAIT); a short read that reaches the end of the
 * file is the data; a read that may block never calls preadv2. */
static void test_nowait_read(void **state)
{
	struct fx *f = use_local(state);
	uint8_t g[XL_GFID_LEN];
	struct xl_fd *fd = NULL;
	char data[8192];
	struct rec r;

	memset(data, 'n', sizeof(data));
	assert_int_equal(do_create(f, xl_gfid_root, "nw", O_RDWR, 0644, g, &fd),
			 0);
	assert_int_equal(do_rw(f, XL_FOP_WRITE, fd, 0, data, sizeof(data), &r),
			 (int)sizeof(data));
	xl_reply_clear(&r.reply);
	posix_sys.preadv2 = f_preadv2;
	preadv2_calls = 0;

	preadv2_short = -1;
	fault_errno = EAGAIN;
	assert_int_equal(run_read(f, fd, 0, 4096, true, &r), -EAGAIN);
	assert_null(r.reply.data);
	xl_reply_clear(&r.reply);
	fault_errno = EOPNOTSUPP;
	assert_int_equal(run_read(f, fd, 0, 4096, true, &r), -EAGAIN);
	xl_reply_clear(&r.reply);
	fault_errno = EIO;
	assert_int_equal(run_read(f, fd, 0, 4096, true, &r), -EIO);
	xl_reply_clear(&r.reply);
	/* cached up to 1000 bytes of 4096 inside the file: the disk next */
	preadv2_short = 1000;
	assert_int_equal(run_read(f, fd, 0, 4096, true, &r), -EAGAIN);
	xl_reply_clear(&r.reply);
	/* 4096 asked at 6192: the file ends 2000 bytes in */
	preadv2_short = 2000;
	assert_int_equal(run_read(f, fd, 6192, 4096, true, &r), 2000);
	assert_int_equal(r.reply.data->size, 2000);
	assert_memory_equal(r.reply.data->data, data, 2000);
	assert_int_equal(r.reply.attr.size, sizeof(data));
	xl_reply_clear(&r.reply);
	preadv2_short = 4096;
	assert_int_equal(run_read(f, fd, 0, 4096, true, &r), 4096);
	assert_memory_equal(r.reply.data->data, data, 4096);
	xl_reply_clear(&r.reply);
	assert_int_equal(preadv2_calls, 6);
	assert_int_equal(run_read(f, fd, 0, 4096, false, &r), 4096);
	xl_reply_clear(&r.reply);
	assert_int_equal(preadv2_calls, 6);
	posix_sys_reset();
	do_release(f, fd, XL_FOP_RELEASE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_gfid_label_fails, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_handle_link_fails, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_entry_xattrs_fail, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_new_entry_owner_fails, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_new_entry_mode_fails, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_xattrop_write_fails, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_setattr_fails, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_xattr_fops_fail, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_xattr_read_fails, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_readdirplus_xattr_read_fails,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_calls_fail, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_nowait_read, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
