/*
 * posix_check: POSIX/Linux conformance checker run inside a directory of a
 * mounted file system.  It prints TAP (one "ok N - desc" per check, "not ok"
 * with expected and actual results) and exits non-zero on any failure.
 *
 * Usage:
 *   posix_check [--mortar] [--only GROUP] DIR
 *                                       full set (or one group: open, dirs,
 *                                       rename, rename2, links, attrs,
 *                                       truncate, sparse, fallocate, io,
 *                                       bigdir, unlinked, newattrs, xattr),
 *                                       as root
 *   posix_check --prepare-user DIR      as root: make fixtures for --as-user
 *   posix_check --as-user DIR           as an unprivileged user, in a DIR
 *                                       made by --prepare-user
 *
 * Every check works in a fresh sub-directory of DIR and removes it at the end
 * (not on failure: what is left helps to debug).  The expectations are those
 * Linux documents for a local file system, so running it on a local ext4
 * or tmpfs directory must pass; the fs-specific promises (SEEK_DATA/HOLE
 * granularity, nanosecond times) are checked only as far as POSIX and the
 * Linux man pages promise them.  --mortar adds Mortar's own rules: internal
 * trusted.mortar.* xattrs are hidden and read-only, .mortar is invisible.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "posix-check.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

#define PC_FUSE_SUPER_MAGIC 0x65735546
#define PC_NOBODY	    65534
#define PC_SGID_GROUP	    4242
#define PC_DIR_ENTRIES	    10000

/* Test state: single-threaded tool, globals owned by main(). */
static int pc_num;
static int pc_failed;

/* Print one TAP line; fmt (may be NULL) explains a failure. */
void pc_result(int pass, const char *desc, const char *fmt, ...)
{
	va_list ap;

	pc_num++;
	if (pass) {
		printf("ok %d - %s\n", pc_num, desc);
		goto out;
	}
	pc_failed++;
	printf("not ok %d - %s", pc_num, desc);
	if (fmt) {
		printf(" # ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
out:
	fflush(stdout);
}

void pc_skip(const char *desc, const char *why)
{
	pc_num++;
	printf("ok %d - %s # SKIP %s\n", pc_num, desc, why);
}

const char *pc_errname(int err)
{
	static char buf[64];

	if (err == 0)
		return "success";
	snprintf(buf, sizeof(buf), "%s (%d)", strerror(err), err);
	return buf;
}

/* ret is a syscall result saved with its errno: expect success. */
int pc_ok(long ret, int err, const char *desc)
{
	pc_result(ret >= 0, desc, "expected success, got %s", pc_errname(err));
	return ret >= 0 ? 0 : -1;
}

/* Expect a failure with errno want (or want2 when not 0). */
void pc_fail_with(long ret, int err, int want, int want2, const char *desc)
{
	int pass = ret == -1 && (err == want || (want2 && err == want2));
	char exp[128];

	snprintf(exp, sizeof(exp), "%s", strerror(want));
	if (want2)
		snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), " or %s",
			 strerror(want2));
	pc_result(pass, desc, "expected %s, got %s", exp,
		  ret == -1 ? pc_errname(err) : "success");
}

long pc_save(long ret, int *errp)
{
	*errp = ret < 0 ? errno : 0;
	return ret;
}

int pc_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	int ret = -errno;

	if (fd < 0)
		goto out;
	ret = 0;
	if (len && write(fd, data, len) != (ssize_t)len)
		ret = -EIO;
	if (close(fd) != 0 && ret == 0)
		ret = -errno;
out:
	return ret;
}

/* Read up to cap bytes of a file; returns the length or -errno. */
ssize_t pc_read_file(const char *path, void *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t ret = -errno;
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		goto out;
	while (got < cap) {
		n = read(fd, (char *)buf + got, cap - got);
		if (n < 0) {
			ret = -errno;
			close(fd);
			goto out;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	ret = got;
out:
	return ret;
}

int pc_file_is(const char *path, const char *want)
{
	char buf[256];
	ssize_t n = pc_read_file(path, buf, sizeof(buf));

	return n == (ssize_t)strlen(want) && memcmp(buf, want, n) == 0;
}

static int pc_all_zero(const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i])
			return 0;
	return 1;
}

/* Remove a tree (test cleanup only; no symlink following). */
int pc_rm_rf(const char *path)
{
	struct dirent *de;
	struct stat st;
	char sub[PATH_MAX];
	DIR *d;
	int ret = 0;

	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 ? 0 : -errno;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (pc_rm_rf(sub) != 0)
			ret = -EIO;
	}
	closedir(d);
	if (rmdir(path) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

/* ---------------------------------------------------------------- open */

static void pc_check_open(void)
{
	char name[300];
	struct stat st;
	int err, fd;
	long r;

	fd = PC_CALL(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644), &err);
	pc_ok(fd, err, "open O_CREAT|O_EXCL creates a new file");
	if (fd >= 0)
		close(fd);
	r = PC_CALL(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644), &err);
	pc_fail_with(r, err, EEXIST, 0, "O_CREAT|O_EXCL on existing: EEXIST");
	if (r >= 0)
		close(r);
	r = PC_CALL(open("missing", O_RDONLY), &err);
	pc_fail_with(r, err, ENOENT, 0, "O_RDONLY on a missing name: ENOENT");
	r = PC_CALL(open("f", O_RDONLY | O_DIRECTORY), &err);
	pc_fail_with(r, err, ENOTDIR, 0, "O_DIRECTORY on a file: ENOTDIR");
	mkdir("d", 0755);
	r = PC_CALL(open("d", O_WRONLY), &err);
	pc_fail_with(r, err, EISDIR, 0, "open a directory O_WRONLY: EISDIR");
	r = PC_CALL(open("d", O_RDWR), &err);
	pc_fail_with(r, err, EISDIR, 0, "open a directory O_RDWR: EISDIR");
	r = PC_CALL(open("f/x", O_RDONLY | O_CREAT, 0644), &err);
	pc_fail_with(r, err, ENOTDIR, 0, "a file as a path component: ENOTDIR");
	r = PC_CALL(open("nodir/x", O_RDONLY | O_CREAT, 0644), &err);
	pc_fail_with(r, err, ENOENT, 0, "create in a missing dir: ENOENT");

	pc_write_file("f", "0123456789", 10, 0644);
	fd = PC_CALL(open("f", O_WRONLY | O_TRUNC), &err);
	r = fd >= 0 ? fstat(fd, &st) : -1;
	pc_result(fd >= 0 && r == 0 && st.st_size == 0, "O_TRUNC empties file",
		  "fd %d size %lld", fd, fd >= 0 ? (long long)st.st_size : -1);
	if (fd >= 0)
		close(fd);
	r = lstat("f", &st);
	pc_result(r == 0 && st.st_size == 0, "size 0 after O_TRUNC close",
		  "size %lld", (long long)st.st_size);

	pc_write_file("f", "abc", 3, 0644);
	fd = open("f", O_WRONLY | O_APPEND);
	r = -1;
	if (fd >= 0) {
		lseek(fd, 0, SEEK_SET);
		r = write(fd, "def", 3);
		close(fd);
	}
	pc_result(r == 3 && pc_file_is("f", "abcdef"),
		  "O_APPEND writes at the end", "write %ld", r);

	memset(name, 'n', 255);
	name[255] = '\0';
	fd = PC_CALL(open(name, O_CREAT | O_WRONLY, 0644), &err);
	pc_ok(fd, err, "a 255-byte name can be created");
	if (fd >= 0)
		close(fd);
	r = PC_CALL(lstat(name, &st), &err);
	pc_ok(r, err, "a 255-byte name can be looked up");
	unlink(name);
	memset(name, 'n', 256);
	name[256] = '\0';
	r = PC_CALL(open(name, O_CREAT | O_WRONLY, 0644), &err);
	pc_fail_with(r, err, ENAMETOOLONG, 0, "a 256-byte name: ENAMETOOLONG");
	r = PC_CALL(lstat(name, &st), &err);
	pc_fail_with(r, err, ENAMETOOLONG, 0,
		     "lstat 256-byte name: ENAMETOOLONG");
}

/* ------------------------------------------------------ mkdir/rmdir/unlink */

static void pc_check_dirs(void)
{
	struct dirent *de;
	int err, n = 0;
	DIR *dir;
	long r;

	r = PC_CALL(mkdir("m", 0755), &err);
	pc_ok(r, err, "mkdir");
	r = PC_CALL(mkdir("m", 0755), &err);
	pc_fail_with(r, err, EEXIST, 0, "mkdir on existing dir: EEXIST");
	pc_write_file("f", "f", 1, 0644);
	r = PC_CALL(mkdir("f", 0755), &err);
	pc_fail_with(r, err, EEXIST, 0, "mkdir on existing file: EEXIST");
	dir = opendir("m");
	while (dir && (de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	if (dir)
		closedir(dir);
	pc_result(dir && n == 0, "new dir lists only . and ..", "%d extra", n);
	pc_write_file("m/inner", "x", 1, 0644);
	r = PC_CALL(rmdir("m"), &err);
	pc_fail_with(r, err, ENOTEMPTY, EEXIST, "rmdir non-empty: ENOTEMPTY");
	r = PC_CALL(rmdir("m/inner"), &err);
	pc_fail_with(r, err, ENOTDIR, 0, "rmdir a file: ENOTDIR");
	r = PC_CALL(rmdir("nothere"), &err);
	pc_fail_with(r, err, ENOENT, 0, "rmdir missing: ENOENT");
	r = PC_CALL(unlink("m"), &err);
	pc_fail_with(r, err, EISDIR, 0, "unlink a directory: EISDIR");
	r = PC_CALL(unlink("nothere"), &err);
	pc_fail_with(r, err, ENOENT, 0, "unlink missing: ENOENT");
	r = PC_CALL(unlink("m/inner"), &err);
	pc_ok(r, err, "unlink a file");
	r = PC_CALL(access("m/inner", F_OK), &err);
	pc_fail_with(r, err, ENOENT, 0, "unlinked name is gone");
	r = PC_CALL(rmdir("m"), &err);
	pc_ok(r, err, "rmdir empty dir");
	r = PC_CALL(access("m", F_OK), &err);
	pc_fail_with(r, err, ENOENT, 0, "removed dir is gone");
}

/* ----------------------------------------------------------------- rename */

static long pc_renameat2(const char *from, const char *to, unsigned flags)
{
	return syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags);
}

static void pc_check_rename_basic(void)
{
	struct stat a, b;
	int err;
	long r;

	pc_write_file("ra", "AAA", 3, 0644);
	pc_write_file("rb", "BBBB", 4, 0644);
	lstat("ra", &a);
	r = PC_CALL(rename("ra", "rb"), &err);
	pc_ok(r, err, "rename file over existing file");
	r = lstat("rb", &b);
	pc_result(r == 0 && pc_file_is("rb", "AAA") && b.st_ino == a.st_ino,
		  "target has the source content and inode", "ino %llu vs %llu",
		  (unsigned long long)b.st_ino, (unsigned long long)a.st_ino);
	r = PC_CALL(access("ra", F_OK), &err);
	pc_fail_with(r, err, ENOENT, 0, "renamed source name is gone");

	mkdir("rd1", 0755);
	mkdir("rd2", 0755);
	r = PC_CALL(rename("rd1", "rd2"), &err);
	pc_ok(r, err, "rename dir over empty dir");
	mkdir("rd3", 0755);
	pc_write_file("rd2/x", "x", 1, 0644);
	r = PC_CALL(rename("rd3", "rd2"), &err);
	pc_fail_with(r, err, ENOTEMPTY, EEXIST,
		     "rename dir over non-empty dir: ENOTEMPTY");
	r = PC_CALL(rename("rb", "rd3"), &err);
	pc_fail_with(r, err, EISDIR, 0, "rename file over dir: EISDIR");
	r = PC_CALL(rename("rd3", "rb"), &err);
	pc_fail_with(r, err, ENOTDIR, 0, "rename dir over file: ENOTDIR");
	r = PC_CALL(rename("rd2", "rd2/sub"), &err);
	pc_fail_with(r, err, EINVAL, 0, "rename dir into itself: EINVAL");
	r = PC_CALL(rename("nothere", "rb2"), &err);
	pc_fail_with(r, err, ENOENT, 0, "rename missing source: ENOENT");

	r = PC_CALL(rename("rb", "rd3/moved"), &err);
	pc_ok(r, err, "rename file across directories");
	pc_result(pc_file_is("rd3/moved", "AAA") && access("rb", F_OK) != 0,
		  "moved file has its content, old name gone", NULL);
	r = PC_CALL(rename("rd3", "rd2/x2"), &err);
	pc_ok(r, err, "rename dir across directories");
	pc_result(pc_file_is("rd2/x2/moved", "AAA"),
		  "moved dir keeps its children", NULL);

	pc_write_file("h1", "H", 1, 0644);
	link("h1", "h2");
	r = PC_CALL(rename("h1", "h2"), &err);
	pc_result(r == 0 && access("h1", F_OK) == 0 && access("h2", F_OK) == 0,
		  "rename between two links of one file: no-op success",
		  "rename %s", pc_errname(err));
}

static void pc_check_rename_flags(void)
{
	struct stat a, b, a2, b2;
	int err;
	long r;

	pc_write_file("n1", "one", 3, 0644);
	pc_write_file("n2", "two", 3, 0644);
	r = PC_CALL(pc_renameat2("n1", "n2", RENAME_NOREPLACE), &err);
	pc_fail_with(r, err, EEXIST, 0, "RENAME_NOREPLACE on existing: EEXIST");
	pc_result(pc_file_is("n1", "one") && pc_file_is("n2", "two"),
		  "failed RENAME_NOREPLACE changed nothing", NULL);
	r = PC_CALL(pc_renameat2("n1", "n3", RENAME_NOREPLACE), &err);
	pc_ok(r, err, "RENAME_NOREPLACE to a new name");
	pc_result(pc_file_is("n3", "one") && access("n1", F_OK) != 0,
		  "RENAME_NOREPLACE moved the file", NULL);

	lstat("n2", &a);
	lstat("n3", &b);
	r = PC_CALL(pc_renameat2("n2", "n3", RENAME_EXCHANGE), &err);
	pc_ok(r, err, "RENAME_EXCHANGE of two files");
	lstat("n2", &a2);
	lstat("n3", &b2);
	pc_result(pc_file_is("n2", "one") && pc_file_is("n3", "two") &&
		      a2.st_ino == b.st_ino && b2.st_ino == a.st_ino,
		  "RENAME_EXCHANGE swapped contents and inodes", NULL);
	mkdir("xd", 0755);
	pc_write_file("xd/in", "in", 2, 0644);
	r = PC_CALL(pc_renameat2("n2", "xd", RENAME_EXCHANGE), &err);
	pc_ok(r, err, "RENAME_EXCHANGE of a file and a dir");
	pc_result(pc_file_is("n2/in", "in") && pc_file_is("xd", "one"),
		  "file and dir swapped", NULL);
	r = PC_CALL(pc_renameat2("n3", "nothere", RENAME_EXCHANGE), &err);
	pc_fail_with(r, err, ENOENT, 0, "RENAME_EXCHANGE with missing: ENOENT");
}

/* ------------------------------------------------------- link and symlink */

static void pc_check_links(void)
{
	struct stat a, b;
	char buf[256];
	int err;
	long r;

	pc_write_file("l1", "link", 4, 0644);
	r = PC_CALL(link("l1", "l2"), &err);
	pc_ok(r, err, "link");
	r = lstat("l1", &a) | lstat("l2", &b);
	pc_result(r == 0 && a.st_ino == b.st_ino && a.st_nlink == 2 &&
		      b.st_nlink == 2,
		  "both names: same inode, nlink 2",
		  "ino %llu/%llu nlink %lu/%lu", (unsigned long long)a.st_ino,
		  (unsigned long long)b.st_ino, (unsigned long)a.st_nlink,
		  (unsigned long)b.st_nlink);
	pc_write_file("l2", "LINK", 4, 0644);
	pc_result(pc_file_is("l1", "LINK"),
		  "write via one name, read via other", NULL);
	mkdir("ld", 0755);
	r = PC_CALL(link("l1", "ld/l3"), &err);
	pc_ok(r, err, "link into another directory");
	r = lstat("l1", &a);
	pc_result(r == 0 && a.st_nlink == 3, "nlink 3", "nlink %lu",
		  (unsigned long)a.st_nlink);
	r = PC_CALL(link("l1", "l2"), &err);
	pc_fail_with(r, err, EEXIST, 0, "link to an existing name: EEXIST");
	r = PC_CALL(link("ld", "ld2"), &err);
	pc_fail_with(r, err, EPERM, 0, "link a directory: EPERM");
	r = PC_CALL(link("nothere", "l9"), &err);
	pc_fail_with(r, err, ENOENT, 0, "link a missing file: ENOENT");
	unlink("l2");
	unlink("ld/l3");
	r = lstat("l1", &a);
	pc_result(r == 0 && a.st_nlink == 1 && pc_file_is("l1", "LINK"),
		  "after unlinking two names: nlink 1, data kept", "nlink %lu",
		  (unsigned long)a.st_nlink);

	r = PC_CALL(symlink("l1", "s1"), &err);
	pc_ok(r, err, "symlink");
	memset(buf, 0, sizeof(buf));
	r = readlink("s1", buf, sizeof(buf));
	pc_result(r == 2 && !memcmp(buf, "l1", 2), "readlink gives the target",
		  "got %ld '%.*s'", r, r > 0 ? (int)r : 0, buf);
	r = lstat("s1", &a);
	pc_result(r == 0 && S_ISLNK(a.st_mode) && a.st_size == 2,
		  "lstat: S_IFLNK, size = target length", "mode %o size %lld",
		  a.st_mode, (long long)a.st_size);
	r = stat("s1", &b);
	pc_result(r == 0 && S_ISREG(b.st_mode) && pc_file_is("s1", "LINK"),
		  "stat and open follow the link", NULL);
	r = PC_CALL(symlink("no/such/target", "s2"), &err);
	pc_ok(r, err, "dangling symlink");
	r = PC_CALL(stat("s2", &a), &err);
	pc_fail_with(r, err, ENOENT, 0, "stat dangling symlink: ENOENT");
	r = PC_CALL(lstat("s2", &a), &err);
	pc_ok(r, err, "lstat dangling symlink");
	r = PC_CALL(symlink("x", "s1"), &err);
	pc_fail_with(r, err, EEXIST, 0, "symlink on existing name: EEXIST");
	r = PC_CALL(readlink("l1", buf, sizeof(buf)), &err);
	pc_fail_with(r, err, EINVAL, 0, "readlink of a file: EINVAL");
	r = PC_CALL(open("s2", O_RDONLY | O_NOFOLLOW), &err);
	pc_fail_with(r, err, ELOOP, 0, "O_NOFOLLOW on a symlink: ELOOP");
}

/* ------------------------------------------------- chmod, chown, utimensat */

/* As root: chown/lchown of the file "a" in the current dir. */
static void pc_check_chown(void)
{
	struct stat st;
	int err;
	long r;

	if (geteuid() != 0) {
		pc_skip("chown as root", "not root");
		return;
	}
	r = PC_CALL(chown("a", 1234, 5678), &err);
	r = r == 0 ? lstat("a", &st) : r;
	pc_result(r == 0 && st.st_uid == 1234 && st.st_gid == 5678,
		  "chown 1234:5678 as root", "got %u:%u", st.st_uid, st.st_gid);
	r = PC_CALL(chown("a", -1, 42), &err);
	r = r == 0 ? lstat("a", &st) : r;
	pc_result(r == 0 && st.st_uid == 1234 && st.st_gid == 42,
		  "chown -1:42 keeps the owner", "got %u:%u", st.st_uid,
		  st.st_gid);
	symlink("a", "sa");
	r = PC_CALL(lchown("sa", 77, 88), &err);
	r = r == 0 ? lstat("sa", &st) : r;
	pc_result(r == 0 && st.st_uid == 77 && st.st_gid == 88 &&
		      stat("a", &st) == 0 && st.st_uid == 1234,
		  "lchown changes the link, not the target", NULL);
}

static void pc_check_attrs(void)
{
	struct timespec ts[2];
	struct stat st;
	time_t before, after;
	int err, fd;
	long r;

	pc_write_file("a", "attr", 4, 0644);
	r = PC_CALL(chmod("a", 0751), &err);
	r = r == 0 ? lstat("a", &st) : r;
	pc_result(r == 0 && (st.st_mode & 07777) == 0751, "chmod 0751",
		  "mode %o", st.st_mode & 07777);
	fd = open("a", O_RDONLY);
	r = PC_CALL(fchmod(fd, 0604), &err);
	r = r == 0 ? fstat(fd, &st) : r;
	pc_result(r == 0 && (st.st_mode & 07777) == 0604, "fchmod 0604",
		  "mode %o", st.st_mode & 07777);
	if (fd >= 0)
		close(fd);

	pc_check_chown();

	ts[0].tv_sec = 1000000000;
	ts[0].tv_nsec = 123456789;
	ts[1].tv_sec = 1200000000;
	ts[1].tv_nsec = 987654321;
	r = PC_CALL(utimensat(AT_FDCWD, "a", ts, 0), &err);
	pc_ok(r, err, "utimensat explicit times");
	r = lstat("a", &st);
	pc_result(r == 0 && st.st_atim.tv_sec == ts[0].tv_sec &&
		      st.st_mtim.tv_sec == ts[1].tv_sec,
		  "atime/mtime seconds read back", "atime %lld mtime %lld",
		  (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
	pc_result(st.st_atim.tv_nsec == ts[0].tv_nsec &&
		      st.st_mtim.tv_nsec == ts[1].tv_nsec,
		  "atime/mtime nanoseconds read back",
		  "atime ns %ld mtime ns %ld", st.st_atim.tv_nsec,
		  st.st_mtim.tv_nsec);

	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	before = time(NULL);
	r = PC_CALL(utimensat(AT_FDCWD, "a", ts, 0), &err);
	after = time(NULL);
	pc_ok(r, err, "utimensat UTIME_NOW/UTIME_OMIT");
	r = lstat("a", &st);
	pc_result(r == 0 && st.st_mtim.tv_sec >= before - 1 &&
		      st.st_mtim.tv_sec <= after + 1 &&
		      st.st_atim.tv_sec == 1000000000 &&
		      st.st_atim.tv_nsec == 123456789,
		  "UTIME_NOW sets mtime to now, UTIME_OMIT keeps atime",
		  "mtime %lld (now %lld) atime %lld.%09ld",
		  (long long)st.st_mtim.tv_sec, (long long)before,
		  (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);

	fd = open("a", O_RDONLY);
	ts[0].tv_sec = 1300000000;
	ts[0].tv_nsec = 5;
	ts[1].tv_sec = 1400000000;
	ts[1].tv_nsec = 6;
	r = PC_CALL(futimens(fd, ts), &err);
	r = r == 0 ? fstat(fd, &st) : r;
	pc_result(r == 0 && st.st_mtim.tv_sec == 1400000000 &&
		      st.st_atim.tv_sec == 1300000000,
		  "futimens", "mtime %lld", (long long)st.st_mtim.tv_sec);
	if (fd >= 0)
		close(fd);

	r = lstat("a", &st);
	before = st.st_mtim.tv_sec;
	pc_write_file("a", "changed", 7, 0644);
	r = lstat("a", &st);
	pc_result(r == 0 && st.st_mtim.tv_sec > before, "a write updates mtime",
		  "mtime %lld (was %lld)", (long long)st.st_mtim.tv_sec,
		  (long long)before);
}

/* --------------------------------------------------------------- truncate */

static void pc_check_truncate(void)
{
	unsigned char buf[12000];
	struct stat st;
	ssize_t n;
	int err, fd;
	long r;

	memset(buf, 'A', 4096);
	pc_write_file("t", buf, 4096, 0644);
	r = PC_CALL(truncate("t", 10000), &err);
	pc_ok(r, err, "truncate grows a file");
	r = lstat("t", &st);
	pc_result(r == 0 && st.st_size == 10000, "grown size", "size %lld",
		  (long long)st.st_size);
	n = pc_read_file("t", buf, sizeof(buf));
	pc_result(n == 10000 && buf[4095] == 'A' &&
		      pc_all_zero(buf + 4096, 10000 - 4096),
		  "grown region reads zeros, data kept", "read %zd", n);

	fd = open("t", O_RDWR);
	r = PC_CALL(ftruncate(fd, 100), &err);
	pc_ok(r, err, "ftruncate shrinks a file");
	r = fstat(fd, &st);
	pc_result(r == 0 && st.st_size == 100, "shrunk size", "size %lld",
		  (long long)st.st_size);
	r = PC_CALL(ftruncate(fd, 5000), &err);
	n = pread(fd, buf, sizeof(buf), 0);
	pc_result(r == 0 && n == 5000 && buf[99] == 'A' &&
		      pc_all_zero(buf + 100, 4900),
		  "shrink then grow: old data beyond the cut is gone",
		  "read %zd", n);
	n = pread(fd, buf, sizeof(buf), 5000);
	pc_result(n == 0, "read at EOF returns 0", "read %zd", n);
	r = PC_CALL(ftruncate(fd, -1), &err);
	pc_fail_with(r, err, EINVAL, 0, "ftruncate negative: EINVAL");
	if (fd >= 0)
		close(fd);
	r = PC_CALL(truncate("t", 0), &err);
	r = r == 0 ? lstat("t", &st) : r;
	pc_result(r == 0 && st.st_size == 0, "truncate to 0", NULL);
	mkdir("td", 0755);
	r = PC_CALL(truncate("td", 0), &err);
	pc_fail_with(r, err, EISDIR, 0, "truncate a directory: EISDIR");
	fd = open("t", O_RDONLY);
	r = PC_CALL(ftruncate(fd, 0), &err);
	pc_fail_with(r, err, EINVAL, EBADF, "ftruncate a read-only fd: EINVAL");
	if (fd >= 0)
		close(fd);
}

/* ------------------------------------------------------------------ xattrs */

/* Does a listxattr buffer hold name? Any trusted.mortar.* is counted. */
static int pc_list_has(const char *list, ssize_t len, const char *name,
		       int *internal)
{
	const char *p;
	int found = 0;

	for (p = list; p < list + len; p += strlen(p) + 1) {
		if (!strcmp(p, name))
			found = 1;
		if (!strncmp(p, "trusted.mortar.", 15))
			(*internal)++;
	}
	return found;
}

static void pc_check_xattr(int mortar)
{
	char buf[8192], big[4000];
	int err, internal = 0;
	ssize_t n;
	long r;
	int i;

	pc_write_file("x", "x", 1, 0644);
	r = PC_CALL(setxattr("x", "user.a", "v1", 2, 0), &err);
	pc_ok(r, err, "setxattr user.a");
	n = getxattr("x", "user.a", buf, sizeof(buf));
	pc_result(n == 2 && !memcmp(buf, "v1", 2), "getxattr user.a", "got %zd",
		  n);
	n = getxattr("x", "user.a", NULL, 0);
	pc_result(n == 2, "getxattr size query", "got %zd", n);
	r = PC_CALL(getxattr("x", "user.a", buf, 1), &err);
	pc_fail_with(r, err, ERANGE, 0, "getxattr small buffer: ERANGE");
	r = PC_CALL(setxattr("x", "user.a", "v2", 2, XATTR_CREATE), &err);
	pc_fail_with(r, err, EEXIST, 0, "XATTR_CREATE on existing: EEXIST");
	r = PC_CALL(setxattr("x", "user.nope", "v", 1, XATTR_REPLACE), &err);
	pc_fail_with(r, err, ENODATA, 0, "XATTR_REPLACE on missing: ENODATA");
	r = PC_CALL(setxattr("x", "user.a", "v3", 2, XATTR_REPLACE), &err);
	n = getxattr("x", "user.a", buf, sizeof(buf));
	pc_result(r == 0 && n == 2 && !memcmp(buf, "v3", 2),
		  "XATTR_REPLACE on existing", "got %zd", n);
	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	r = PC_CALL(setxattr("x", "user.big", big, sizeof(big), 0), &err);
	n = getxattr("x", "user.big", buf, sizeof(buf));
	pc_result(r == 0 && n == (ssize_t)sizeof(big) &&
		      !memcmp(buf, big, sizeof(big)),
		  "4000-byte binary value round-trips", "set %s got %zd",
		  pc_errname(err), n);
	r = PC_CALL(setxattr("x", "user.empty", "", 0, 0), &err);
	n = getxattr("x", "user.empty", buf, sizeof(buf));
	pc_result(r == 0 && n == 0, "empty value", "got %zd", n);
	n = getxattr("x", "user.nothere", buf, sizeof(buf));
	pc_result(n == -1 && errno == ENODATA, "getxattr missing: ENODATA",
		  "got %zd", n);

	n = listxattr("x", buf, sizeof(buf));
	pc_result(n > 0 && pc_list_has(buf, n, "user.a", &internal) &&
		      pc_list_has(buf, n, "user.big", &internal) &&
		      pc_list_has(buf, n, "user.empty", &internal),
		  "listxattr lists the names", "got %zd", n);
	r = listxattr("x", NULL, 0);
	pc_result(r == n, "listxattr size query", "%ld vs %zd", r, n);
	r = PC_CALL(listxattr("x", buf, 1), &err);
	pc_fail_with(r, err, ERANGE, 0, "listxattr small buffer: ERANGE");
	r = PC_CALL(removexattr("x", "user.a"), &err);
	pc_ok(r, err, "removexattr");
	r = PC_CALL(getxattr("x", "user.a", buf, sizeof(buf)), &err);
	pc_fail_with(r, err, ENODATA, 0, "removed xattr is gone");
	r = PC_CALL(removexattr("x", "user.a"), &err);
	pc_fail_with(r, err, ENODATA, 0, "removexattr missing: ENODATA");
	mkdir("xd", 0755);
	r = PC_CALL(setxattr("xd", "user.d", "dir", 3, 0), &err);
	n = getxattr("xd", "user.d", buf, sizeof(buf));
	pc_result(r == 0 && n == 3, "xattr on a directory", "got %zd", n);
	if (!mortar)
		return;
	internal = 0;
	n = listxattr("x", buf, sizeof(buf));
	pc_list_has(buf, n > 0 ? n : 0, "", &internal);
	pc_result(n >= 0 && internal == 0, "no trusted.mortar.* listed",
		  "%d internal names", internal);
	r = PC_CALL(
	    setxattr("x", "trusted.mortar.gfid", "0123456789abcdef", 16, 0),
	    &err);
	pc_fail_with(r, err, EPERM, 0, "set trusted.mortar.gfid: EPERM");
	r = PC_CALL(removexattr("x", "trusted.mortar.gfid"), &err);
	pc_fail_with(r, err, EPERM, 0, "remove trusted.mortar.gfid: EPERM");
	r = PC_CALL(setxattr("x", "trusted.mortar.other", "1", 1, 0), &err);
	pc_fail_with(r, err, EPERM, 0, "set trusted.mortar.other: EPERM");
}

/* ------------------------------------------------------------- sparse I/O */

static void pc_check_sparse(void)
{
	const off_t mib = 1 << 20, at5g = 5LL << 30;
	unsigned char wbuf[4096], rbuf[4096];
	struct stat st;
	off_t o;
	int err, fd;
	long r;

	memset(wbuf, 'S', sizeof(wbuf));
	fd = open("sp", O_CREAT | O_RDWR | O_TRUNC, 0644);
	r = PC_CALL(pwrite(fd, wbuf, 4096, mib), &err);
	pc_result(r == 4096, "pwrite at 1 MiB", "got %ld %s", r,
		  pc_errname(err));
	r = PC_CALL(pwrite(fd, wbuf, 4096, at5g), &err);
	pc_result(r == 4096, "pwrite at 5 GiB", "got %ld %s", r,
		  pc_errname(err));
	r = fstat(fd, &st);
	pc_result(r == 0 && st.st_size == at5g + 4096, "sparse st_size",
		  "size %lld", (long long)st.st_size);
	printf("# sparse file: st_blocks %lld\n", (long long)st.st_blocks);
	r = pread(fd, rbuf, 4096, 0);
	pc_result(r == 4096 && pc_all_zero(rbuf, 4096), "hole at 0 reads zeros",
		  "got %ld", r);
	r = pread(fd, rbuf, 4096, 3LL << 30);
	pc_result(r == 4096 && pc_all_zero(rbuf, 4096),
		  "hole at 3 GiB reads zeros", "got %ld", r);
	r = pread(fd, rbuf, 4096, mib);
	pc_result(r == 4096 && !memcmp(rbuf, wbuf, 4096), "data at 1 MiB",
		  "got %ld", r);
	r = pread(fd, rbuf, 4096, at5g);
	pc_result(r == 4096 && !memcmp(rbuf, wbuf, 4096), "data at 5 GiB",
		  "got %ld", r);

	/*
	 * lseek(2): a file system may report holes as data, and must report
	 * the implicit hole at EOF; a hole never starts inside written data.
	 */
	o = lseek(fd, 0, SEEK_DATA);
	pc_result(o >= 0 && o <= mib,
		  "SEEK_DATA from 0 lands at or before 1 MiB", "got %lld",
		  (long long)o);
	printf("# SEEK_DATA(0) = %lld\n", (long long)o);
	o = lseek(fd, mib, SEEK_HOLE);
	printf("# SEEK_HOLE(1 MiB) = %lld\n", (long long)o);
	pc_result(o >= mib + 4096 && o <= at5g + 4096,
		  "SEEK_HOLE from 1 MiB is past the data, at most EOF",
		  "got %lld", (long long)o);
	o = lseek(fd, mib + 65536, SEEK_DATA);
	pc_result(o >= mib + 65536 && o <= at5g,
		  "SEEK_DATA in the hole finds the next data", "got %lld",
		  (long long)o);
	printf("# SEEK_DATA(1 MiB + 64 KiB) = %lld\n", (long long)o);
	o = lseek(fd, at5g, SEEK_HOLE);
	pc_result(o == at5g + 4096, "SEEK_HOLE after the last data is EOF",
		  "got %lld", (long long)o);
	o = PC_CALL(lseek(fd, at5g + 4096, SEEK_DATA), &err);
	pc_fail_with(o, err, ENXIO, 0, "SEEK_DATA at EOF: ENXIO");
	o = PC_CALL(lseek(fd, at5g + 8192, SEEK_HOLE), &err);
	pc_fail_with(o, err, ENXIO, 0, "SEEK_HOLE past EOF: ENXIO");
	if (fd >= 0)
		close(fd);
	unlink("sp");
}

static void pc_check_fallocate(void)
{
	unsigned char buf[131072];
	struct stat st;
	int err, fd, i, good;
	long r;

	memset(buf, 'B', 65536);
	pc_write_file("fa", buf, 65536, 0644);
	fd = open("fa", O_RDWR);
	r = PC_CALL(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      16384, 16384),
		    &err);
	pc_ok(r, err, "fallocate PUNCH_HOLE");
	r = fstat(fd, &st);
	pc_result(r == 0 && st.st_size == 65536, "punch keeps the size",
		  "size %lld", (long long)st.st_size);
	r = pread(fd, buf, 65536, 0);
	good = r == 65536 && pc_all_zero(buf + 16384, 16384);
	for (i = 0; good && i < 65536; i++)
		if ((i < 16384 || i >= 32768) && buf[i] != 'B')
			good = 0;
	pc_result(good, "punched range reads zeros, the rest is kept",
		  "read %ld", r);
	r = PC_CALL(fallocate(fd, 0, 0, 131072), &err);
	pc_ok(r, err, "fallocate mode 0 extends");
	r = fstat(fd, &st);
	pc_result(r == 0 && st.st_size == 131072, "extended size", "size %lld",
		  (long long)st.st_size);
	r = pread(fd, buf, sizeof(buf), 0);
	pc_result(r == 131072 && buf[0] == 'B' &&
		      pc_all_zero(buf + 65536, 65536),
		  "allocated range reads zeros", "read %ld", r);
	r = PC_CALL(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 262144), &err);
	r = r == 0 ? fstat(fd, &st) : r;
	pc_result(r == 0 && st.st_size == 131072, "FALLOC_FL_KEEP_SIZE",
		  "size %lld %s", (long long)st.st_size, pc_errname(err));
	if (fd >= 0)
		close(fd);
}

/* --------------------------------------------------------- big directory */

/* List dir; count each e%05d name in seen[], return the number of others. */
static int pc_scan_dir(const char *path, unsigned char *seen, int *dups)
{
	struct dirent *de;
	int others = 0;
	char *end;
	long idx;
	DIR *d;

	*dups = 0;
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		idx = de->d_name[0] == 'e' ? strtol(de->d_name + 1, &end, 10)
					   : -1;
		if (idx < 0 || idx >= PC_DIR_ENTRIES || *end ||
		    strlen(de->d_name) != 6) {
			printf("# unexpected entry '%s'\n", de->d_name);
			others++;
			continue;
		}
		if (seen[idx]++)
			(*dups)++;
	}
	closedir(d);
	return others;
}

/* Names in the big directory: MORTAR_TEST_BIGDIR_ENTRIES (1 ..
 * PC_DIR_ENTRIES), fewer under the sanitizers; PC_DIR_ENTRIES by default. */
static int pc_dir_entries(void)
{
	const char *env = getenv("MORTAR_TEST_BIGDIR_ENTRIES");
	long n = env ? strtol(env, NULL, 10) : PC_DIR_ENTRIES;

	return n < 1 || n > PC_DIR_ENTRIES ? PC_DIR_ENTRIES : (int)n;
}

static void pc_check_bigdir(void)
{
	unsigned char seen[PC_DIR_ENTRIES];
	int i, fd, made = 0, missing = 0, dups, others, wrong = 0;
	int count = pc_dir_entries();
	char name[32], desc[80];

	mkdir("big", 0755);
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "big/e%05d", i);
		fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			break;
		close(fd);
		made++;
	}
	snprintf(desc, sizeof(desc), "create %d files in one dir", count);
	pc_result(made == count, desc, "made %d: %s", made, strerror(errno));
	memset(seen, 0, sizeof(seen));
	others = pc_scan_dir("big", seen, &dups);
	for (i = 0; i < count; i++)
		missing += !seen[i];
	snprintf(desc, sizeof(desc),
		 "readdir lists each of %d names exactly once", count);
	pc_result(others == 0 && dups == 0 && missing == 0, desc,
		  "%d missing, %d duplicated, %d others", missing, dups,
		  others);
	for (i = 1; i < count; i += 2) {
		snprintf(name, sizeof(name), "big/e%05d", i);
		unlink(name);
	}
	memset(seen, 0, sizeof(seen));
	others = pc_scan_dir("big", seen, &dups);
	for (i = 0; i < count; i++)
		wrong += seen[i] != !(i & 1);
	pc_result(others == 0 && dups == 0 && wrong == 0,
		  "after unlinking half, readdir lists exactly the rest",
		  "%d wrong, %d duplicated, %d others", wrong, dups, others);
	pc_rm_rf("big");
}

static void pc_check_statfs(int mortar)
{
	struct statvfs sv;
	struct statfs sf;
	long r;

	r = statvfs(".", &sv);
	pc_result(
	    r == 0 && sv.f_bsize > 0 && sv.f_frsize > 0 && sv.f_blocks > 0 &&
		sv.f_bfree <= sv.f_blocks && sv.f_bavail <= sv.f_bfree &&
		sv.f_ffree <= sv.f_files && sv.f_namemax >= 255,
	    "statvfs returns sane values",
	    "bsize %lu blocks %llu bfree %llu bavail %llu files %llu "
	    "ffree %llu namemax %lu",
	    sv.f_bsize, (unsigned long long)sv.f_blocks,
	    (unsigned long long)sv.f_bfree, (unsigned long long)sv.f_bavail,
	    (unsigned long long)sv.f_files, (unsigned long long)sv.f_ffree,
	    sv.f_namemax);
	if (!mortar)
		return;
	r = statfs(".", &sf);
	pc_result(r == 0 && sf.f_type == PC_FUSE_SUPER_MAGIC,
		  "statfs f_type is FUSE", "f_type 0x%lx", (long)sf.f_type);
}

static void pc_check_io(void)
{
	static unsigned char wbuf[300001], rbuf[300001];
	ssize_t n;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (unsigned char)(i * 131 + (i >> 9));
	fd = open("io", O_CREAT | O_RDWR | O_TRUNC, 0644);
	n = pwrite(fd, wbuf, sizeof(wbuf), 4097);
	pc_result(n == (ssize_t)sizeof(wbuf), "unaligned 300001-byte pwrite",
		  "got %zd", n);
	pc_result(fsync(fd) == 0, "fsync", NULL);
	close(fd);
	fd = open("io", O_RDONLY);
	n = pread(fd, rbuf, sizeof(rbuf), 4097);
	pc_result(n == (ssize_t)sizeof(rbuf) && !memcmp(rbuf, wbuf, n),
		  "read back after reopen", "got %zd", n);
	n = pread(fd, rbuf, 4097, 0);
	pc_result(n == 4097 && pc_all_zero(rbuf, 4097),
		  "bytes before the first write are zeros", "got %zd", n);
	close(fd);
}

/* --------------------------------------------------- Mortar's own rules */

static void pc_check_mortar_root(const char *top)
{
	char path[PATH_MAX + 16];
	struct dirent *de;
	struct stat st;
	int err, seen = 0;
	DIR *d;
	long r;

	snprintf(path, sizeof(path), "%s/.mortar", top);
	r = PC_CALL(lstat(path, &st), &err);
	pc_fail_with(r, err, ENOENT, 0, ".mortar is invisible (lookup ENOENT)");
	d = opendir(top);
	while (d && (de = readdir(d)))
		seen += !strcmp(de->d_name, ".mortar");
	if (d)
		closedir(d);
	pc_result(d && !seen, ".mortar is not listed", NULL);
}

/* ---------------------------------------------------- unprivileged tests */

/* As root: fixtures for --as-user.  DIR must exist. */
static int pc_prepare_user(const char *dir)
{
	int ret = 0;

	if (chdir(dir) != 0)
		return -errno;
	ret |= chmod(".", 0777);
	ret |= pc_write_file("root_file", "root", 4, 0644);
	ret |= chmod("root_file", 0644);
	ret |= pc_write_file("root_secret", "secret", 6, 0600);
	ret |= chmod("root_secret", 0600);
	ret |= mkdir("root_dir", 0755);
	ret |= chmod("root_dir", 0755);
	ret |= pc_write_file("root_dir/inner", "in", 2, 0644);
	ret |= mkdir("sgid_dir", 0777);
	ret |= chown("sgid_dir", 0, PC_SGID_GROUP);
	ret |= chmod("sgid_dir", 02777);
	return ret ? -EIO : 0;
}

static void pc_check_user_denied(void)
{
	struct timespec ts[2] = {{1000, 0}, {2000, 0}};
	char buf[16];
	int err;
	long r;

	r = PC_CALL(chmod("root_file", 0666), &err);
	pc_fail_with(r, err, EPERM, 0, "chmod another's file: EPERM");
	r = PC_CALL(chown("root_file", getuid(), -1), &err);
	pc_fail_with(r, err, EPERM, 0, "chown another's file: EPERM");
	r = PC_CALL(utimensat(AT_FDCWD, "root_file", ts, 0), &err);
	pc_fail_with(r, err, EPERM, 0, "utimensat explicit, not owner: EPERM");
	r = PC_CALL(utimensat(AT_FDCWD, "root_file", NULL, 0), &err);
	pc_fail_with(r, err, EACCES, 0, "utimensat NULL, not writable: EACCES");
	r = PC_CALL(open("root_secret", O_RDONLY), &err);
	pc_fail_with(r, err, EACCES, 0, "open a 0600 root file: EACCES");
	r = PC_CALL(open("root_file", O_WRONLY), &err);
	pc_fail_with(r, err, EACCES, 0,
		     "open 0644 root file for write: EACCES");
	r = PC_CALL(truncate("root_file", 0), &err);
	pc_fail_with(r, err, EACCES, 0, "truncate 0644 root file: EACCES");
	r = PC_CALL(open("root_dir/new", O_CREAT | O_WRONLY, 0644), &err);
	pc_fail_with(r, err, EACCES, 0, "create in a 0755 root dir: EACCES");
	r = PC_CALL(mkdir("root_dir/newd", 0755), &err);
	pc_fail_with(r, err, EACCES, 0, "mkdir in a 0755 root dir: EACCES");
	r = PC_CALL(unlink("root_dir/inner"), &err);
	pc_fail_with(r, err, EACCES, 0, "unlink in a 0755 root dir: EACCES");
	r = PC_CALL(rename("root_dir/inner", "stolen"), &err);
	pc_fail_with(r, err, EACCES, 0,
		     "rename out of a 0755 root dir: EACCES");
	r = PC_CALL(setxattr("root_file", "user.u", "v", 1, 0), &err);
	pc_fail_with(r, err, EACCES, EPERM,
		     "setxattr user.* on another's 0644 file: EACCES");
	r = PC_CALL(pc_read_file("root_file", buf, sizeof(buf)), &err);
	pc_result(r == 4, "read a 0644 root file", "got %ld", r);
}

static void pc_check_user_owned(void)
{
	struct timespec ts[2] = {{1000, 0}, {2000, 0}};
	struct stat st;
	int err, fd;
	long r;

	fd = PC_CALL(open("mine", O_CREAT | O_WRONLY, 0644), &err);
	pc_ok(fd, err, "create in a world-writable dir");
	if (fd >= 0)
		close(fd);
	r = lstat("mine", &st);
	pc_result(r == 0 && st.st_uid == getuid() && st.st_gid == getgid(),
		  "new file gets the caller's uid/gid", "got %u:%u want %u:%u",
		  st.st_uid, st.st_gid, getuid(), getgid());
	r = PC_CALL(chmod("mine", 0600), &err);
	pc_ok(r, err, "chmod own file");
	r = PC_CALL(utimensat(AT_FDCWD, "mine", ts, 0), &err);
	pc_ok(r, err, "utimensat explicit on own file");
	r = PC_CALL(chown("mine", 0, -1), &err);
	pc_fail_with(r, err, EPERM, 0, "give own file to root: EPERM");
	r = PC_CALL(chown("mine", -1, PC_SGID_GROUP), &err);
	pc_fail_with(r, err, EPERM, 0,
		     "chgrp to a group not a member of: EPERM");

	umask(027);
	fd = open("masked", O_CREAT | O_WRONLY, 0666);
	r = fd >= 0 ? fstat(fd, &st) : -1;
	pc_result(r == 0 && (st.st_mode & 07777) == 0640,
		  "umask 027: 0666 create gives 0640", "mode %o",
		  st.st_mode & 07777);
	if (fd >= 0)
		close(fd);
	r = mkdir("maskdir", 0777);
	r = r == 0 ? lstat("maskdir", &st) : r;
	pc_result(r == 0 && (st.st_mode & 07777) == 0750,
		  "umask 027: 0777 mkdir gives 0750", "mode %o",
		  st.st_mode & 07777);
	umask(022);

	fd = open("sgid_dir/f", O_CREAT | O_WRONLY, 0644);
	r = fd >= 0 ? fstat(fd, &st) : -1;
	pc_result(r == 0 && st.st_gid == PC_SGID_GROUP && st.st_uid == getuid(),
		  "file in a setgid dir gets the dir's group", "got %u:%u",
		  st.st_uid, st.st_gid);
	if (fd >= 0)
		close(fd);
	r = mkdir("sgid_dir/d", 0755);
	r = r == 0 ? lstat("sgid_dir/d", &st) : r;
	pc_result(r == 0 && st.st_gid == PC_SGID_GROUP &&
		      (st.st_mode & S_ISGID),
		  "subdir of a setgid dir: dir's group and S_ISGID",
		  "gid %u mode %o", st.st_gid, st.st_mode & 07777);
}

static int pc_run_as_user(const char *dir)
{
	struct stat st;

	if (geteuid() == 0) {
		fprintf(stderr,
			"posix_check: --as-user must not run as root\n");
		return 2;
	}
	if (chdir(dir) != 0 || lstat("root_file", &st) != 0 ||
	    lstat("sgid_dir", &st) != 0) {
		fprintf(stderr, "posix_check: %s: run --prepare-user first\n",
			dir);
		return 2;
	}
	pc_check_user_denied();
	pc_check_user_owned();
	return 0;
}

/* ------------------------------------------------------------------- main */

static int pc_in_fresh_dir(const char *name, void (*fn)(void))
{
	int ret;

	if (mkdir(name, 0755) != 0 || chdir(name) != 0) {
		ret = -errno;
		printf("# cannot make work dir %s: %s\n", name, strerror(-ret));
		pc_result(0, name, "setup failed");
		return ret;
	}
	fn();
	ret = chdir("..") == 0 ? 0 : -errno;
	if (ret == 0 && !pc_failed)
		pc_rm_rf(name);
	return ret;
}

static void pc_usage(void)
{
	fprintf(stderr,
		"usage: posix_check [--mortar] [--only GROUP] DIR\n"
		"       posix_check --prepare-user DIR   (as root)\n"
		"       posix_check --as-user DIR        (as a user)\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} groups[] = {
	    {"open", pc_check_open},
	    {"dirs", pc_check_dirs},
	    {"rename", pc_check_rename_basic},
	    {"rename2", pc_check_rename_flags},
	    {"links", pc_check_links},
	    {"attrs", pc_check_attrs},
	    {"truncate", pc_check_truncate},
	    {"sparse", pc_check_sparse},
	    {"fallocate", pc_check_fallocate},
	    {"io", pc_check_io},
	    {"bigdir", pc_check_bigdir},
	    {"unlinked", pc_check_unlinked},
	    {"newattrs", pc_check_new_attrs},
	};
	const char *mode = "", *dir = NULL, *only = NULL;
	char work[64], top[PATH_MAX];
	int mortar = 0, i, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mortar"))
			mortar = 1;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--as-user") ||
			 !strcmp(argv[i], "--prepare-user"))
			mode = argv[i];
		else if (argv[i][0] != '-' && !dir)
			dir = argv[i];
		else
			break;
	}
	if (!dir || i < argc) {
		pc_usage();
		return 2;
	}
	if (!strcmp(mode, "--prepare-user")) {
		ret = pc_prepare_user(dir);
		if (ret)
			fprintf(stderr, "posix_check: prepare %s: %s\n", dir,
				strerror(-ret));
		return ret ? 1 : 0;
	}
	umask(022);
	if (!strcmp(mode, "--as-user")) {
		ret = pc_run_as_user(dir);
		goto out;
	}
	if (!realpath(dir, top) || chdir(top) != 0) {
		fprintf(stderr, "posix_check: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	snprintf(work, sizeof(work), "posix_check.%d", (int)getpid());
	if (mkdir(work, 0755) != 0 || chdir(work) != 0) {
		fprintf(stderr, "posix_check: mkdir %s: %s\n", work,
			strerror(errno));
		return 2;
	}
	for (i = 0; i < (int)(sizeof(groups) / sizeof(groups[0])); i++) {
		if (only && strcmp(only, groups[i].name))
			continue;
		printf("# %s\n", groups[i].name);
		pc_in_fresh_dir(groups[i].name, groups[i].fn);
	}
	if (only && strcmp(only, "xattr"))
		goto done;
	printf("# xattr\n");
	mkdir("xattr", 0755);
	if (chdir("xattr") == 0) {
		pc_check_xattr(mortar);
		ret = chdir("..");
		(void)ret;
	}
	pc_check_statfs(mortar);
	if (mortar)
		pc_check_mortar_root(top);
done:
	if (chdir(top) == 0 && !pc_failed)
		pc_rm_rf(work);
	ret = 0;
out:
	printf("1..%d\n", pc_num);
	printf("# %d of %d checks failed\n", pc_failed, pc_num);
	return ret ? ret : (pc_failed ? 1 : 0);
}
