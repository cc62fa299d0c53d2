/*
 * posix_check_unlinked.c - posix_check groups "unlinked" and "newattrs".
 *
 * unlinked: a file stays usable through every fd opened before its last
 * name went away, whether by unlink or by a rename over it (the "atomic
 * save" of editors and package managers): fstat says nlink 0 and the right
 * size, pread/pwrite/ftruncate/fsync/fchmod work, a reader keeps reading
 * the old bytes, and a new file of the same name is a different file.
 * Temp files opened then unlinked (SQLite, compilers, tmpfile()) rely on it.
 *
 * newattrs: the attributes a create returns are the node's final ones; a
 * stat after the client's attribute cache expired (1 s by default) shows
 * the same ctime, mtime, mode, owner, size, links and inode, for every
 * kind of node.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "posix-check.h"

/* Bytes of the large unlinked file: several 128 KiB FUSE writes. */
#define PCU_BIG (1u << 20)

static int pcu_pread_is(int fd, off_t off, const char *want)
{
	char buf[256];
	size_t len = strlen(want);
	ssize_t n;

	n = pread(fd, buf, sizeof(buf), off);
	return n == (ssize_t)len && memcmp(buf, want, len) == 0;
}

static void pcu_fstat_unlinked(int fd, off_t size, const char *desc)
{
	struct stat st;
	int err;
	long r;

	r = PC_CALL(fstat(fd, &st), &err);
	pc_result(r == 0 && st.st_nlink == 0 && st.st_size == size, desc,
		  "ret %ld (%s) nlink %lu size %lld, want nlink 0 size %lld", r,
		  pc_errname(err), r == 0 ? (unsigned long)st.st_nlink : 0,
		  r == 0 ? (long long)st.st_size : -1LL, (long long)size);
}

/* open, write, unlink, then every fd fop on the unlinked file. */
static void pcu_unlink_open(void)
{
	struct stat st;
	int fd, err;
	long r;

	fd = open("u1", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		pc_result(0, "create u1", "%s", pc_errname(errno));
		return;
	}
	r = pwrite(fd, "hello world", 11, 0);
	r = PC_CALL(unlink("u1"), &err);
	pc_ok(r, err, "unlink a file held open");
	r = PC_CALL(lstat("u1", &st), &err);
	pc_fail_with(r, err, ENOENT, 0, "its name is gone: ENOENT");
	pcu_fstat_unlinked(fd, 11, "fstat on the unlinked file: nlink 0, size");
	pc_result(pcu_pread_is(fd, 0, "hello world"),
		  "pread reads what was written", NULL);
	r = PC_CALL(pwrite(fd, "!!", 2, 11), &err);
	pc_result(r == 2, "pwrite on the unlinked file", "got %ld (%s)", r,
		  pc_errname(err));
	pcu_fstat_unlinked(fd, 13, "fstat sees the grown size");
	r = PC_CALL(ftruncate(fd, 5), &err);
	pc_ok(r, err, "ftruncate on the unlinked file");
	pcu_fstat_unlinked(fd, 5, "fstat sees the truncated size");
	pc_result(pcu_pread_is(fd, 0, "hello"), "pread after ftruncate", NULL);
	r = PC_CALL(fchmod(fd, 0600), &err);
	pc_ok(r, err, "fchmod on the unlinked file");
	r = fstat(fd, &st);
	pc_result(r == 0 && (st.st_mode & 07777) == 0600,
		  "fstat sees the new mode", "mode %o", st.st_mode & 07777);
	r = PC_CALL(fsync(fd), &err);
	pc_ok(r, err, "fsync on the unlinked file");
	r = PC_CALL(close(fd), &err);
	pc_ok(r, err, "close the last fd of the unlinked file");
}

/* Two fds on one file: writes through one are read through the other
 * after the unlink, and after the first is closed. */
static void pcu_two_fds(void)
{
	int a, b, err;
	long r;

	pc_write_file("u2", "", 0, 0644);
	a = open("u2", O_RDWR);
	b = open("u2", O_RDONLY);
	if (a < 0 || b < 0) {
		pc_result(0, "open u2 twice", "%s", pc_errname(errno));
		goto out;
	}
	unlink("u2");
	r = PC_CALL(pwrite(a, "shared", 6, 0), &err);
	pc_result(r == 6, "write through one fd after unlink", "got %ld (%s)",
		  r, pc_errname(err));
	pc_result(pcu_pread_is(b, 0, "shared"), "the other fd reads it", NULL);
	close(a);
	a = -1;
	pc_result(pcu_pread_is(b, 0, "shared"),
		  "and still reads it after the writer closed", NULL);
	pcu_fstat_unlinked(b, 6, "fstat through the remaining fd");
out:
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
}

/* A big unlinked file: many requests, all through the one fd. */
static void pcu_big(void)
{
	unsigned char *buf, *back;
	size_t i;
	int fd;
	long r;

	buf = malloc(PCU_BIG);
	back = malloc(PCU_BIG);
	fd = open("u3", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (!buf || !back || fd < 0) {
		pc_result(0, "big unlinked file", "setup: %s",
			  pc_errname(errno));
		goto out;
	}
	unlink("u3");
	for (i = 0; i < PCU_BIG; i++)
		buf[i] = (unsigned char)(i * 131 + (i >> 12));
	r = pwrite(fd, buf, PCU_BIG, 0);
	pc_result(r == (long)PCU_BIG, "write 1 MiB after unlink", "got %ld", r);
	memset(back, 0, PCU_BIG);
	r = pread(fd, back, PCU_BIG, 0);
	pc_result(r == (long)PCU_BIG && !memcmp(buf, back, PCU_BIG),
		  "read the 1 MiB back", "got %ld", r);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(back);
}

/* The atomic save: write a new file, rename it over the old name. */
static void pcu_rename_over(void)
{
	struct stat st;
	int reader, err;
	long r;

	pc_write_file("doc", "old contents", 12, 0644);
	reader = open("doc", O_RDONLY);
	if (reader < 0) {
		pc_result(0, "open doc", "%s", pc_errname(errno));
		return;
	}
	pc_write_file("doc.tmp", "new contents!", 13, 0644);
	r = PC_CALL(rename("doc.tmp", "doc"), &err);
	pc_ok(r, err, "rename a new file over one held open");
	pc_result(pcu_pread_is(reader, 0, "old contents"),
		  "the reader still reads the old bytes", NULL);
	pcu_fstat_unlinked(reader, 12, "fstat on the replaced file: nlink 0");
	pc_result(pc_file_is("doc", "new contents!"),
		  "a new open reads the new file", NULL);
	r = lstat("doc", &st);
	pc_result(r == 0 && st.st_nlink == 1 && st.st_size == 13,
		  "the name has the new file's attributes",
		  "nlink %lu size %lld", (unsigned long)st.st_nlink,
		  (long long)st.st_size);
	close(reader);
	pc_result(pc_file_is("doc", "new contents!"),
		  "after the reader closed, the name still has the new file",
		  NULL);
}

/* A name re-created while the old file is open is another file. */
static void pcu_recreate(void)
{
	int old;
	long r;

	pc_write_file("re", "first", 5, 0644);
	old = open("re", O_RDWR);
	if (old < 0) {
		pc_result(0, "open re", "%s", pc_errname(errno));
		return;
	}
	unlink("re");
	r = pc_write_file("re", "second", 6, 0644);
	pc_result(r == 0, "create the same name again", "%s",
		  pc_errname((int)-r));
	r = pwrite(old, "FIRST", 5, 0);
	pc_result(r == 5 && pcu_pread_is(old, 0, "FIRST"),
		  "the old fd writes and reads its own file", NULL);
	pc_result(pc_file_is("re", "second"),
		  "the new file is untouched by the old fd", NULL);
	close(old);
	pc_result(pc_file_is("re", "second"),
		  "closing the old fd leaves the new file", NULL);
}

/* Hard links: the file lives while one name is left; then nlink 0. */
static void pcu_links(void)
{
	struct stat st;
	int fd;
	long r;

	pc_write_file("h1", "linked", 6, 0644);
	if (link("h1", "h2") != 0) {
		pc_result(0, "link h1 h2", "%s", pc_errname(errno));
		return;
	}
	fd = open("h1", O_RDWR);
	unlink("h1");
	r = fstat(fd, &st);
	pc_result(r == 0 && st.st_nlink == 1,
		  "unlink one of two names of an open file: nlink 1",
		  "ret %ld nlink %lu", r, (unsigned long)st.st_nlink);
	unlink("h2");
	pcu_fstat_unlinked(fd, 6, "unlink the other: nlink 0");
	pc_result(pcu_pread_is(fd, 0, "linked"), "data still read", NULL);
	close(fd);
}

/* A directory removed while open: fstat works, it lists nothing. */
static void pcu_dir(void)
{
	struct dirent *de;
	struct stat st;
	int names = 0, err;
	long r;
	DIR *d;

	mkdir("ud", 0755);
	d = opendir("ud");
	if (!d) {
		pc_result(0, "opendir ud", "%s", pc_errname(errno));
		return;
	}
	r = PC_CALL(rmdir("ud"), &err);
	pc_ok(r, err, "rmdir a directory held open");
	r = PC_CALL(fstat(dirfd(d), &st), &err);
	pc_result(r == 0 && S_ISDIR(st.st_mode),
		  "fstat on the removed directory", "%s", pc_errname(err));
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names++;
	pc_result(names == 0, "it lists no names", "%d names", names);
	closedir(d);
}

/* Write then unlink at once, many times: the unlink reaches the bricks
 * while the write (answered early by write-behind) is still taking its
 * lock and pre-op there.  Every fd must still read what was written. */
static void pcu_unlink_race(void)
{
	const int rounds = 200;
	int lost = 0, i, fd;
	struct stat st;
	char first[128] = "";

	for (i = 0; i < rounds; i++) {
		memset(&st, 0, sizeof(st));
		fd = open("ur", O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			snprintf(first, sizeof(first), "round %d: open: %s", i,
				 pc_errname(errno));
			lost++;
			break;
		}
		if (pwrite(fd, "hello world", 11, 0) != 11 ||
		    unlink("ur") != 0 || fstat(fd, &st) != 0 ||
		    st.st_size != 11 || !pcu_pread_is(fd, 0, "hello world")) {
			if (!lost++)
				snprintf(first, sizeof(first),
					 "round %d: size %lld errno %s", i,
					 (long long)st.st_size,
					 pc_errname(errno));
		}
		if (close(fd) != 0 && !lost++)
			snprintf(first, sizeof(first), "round %d: close: %s", i,
				 pc_errname(errno));
	}
	pc_result(lost == 0,
		  "write, unlink, read back through the fd: 200 rounds",
		  "%d rounds lost data; first %s", lost, first);
}

void pc_check_unlinked(void)
{
	pcu_unlink_open();
	pcu_two_fds();
	pcu_big();
	pcu_rename_over();
	pcu_recreate();
	pcu_links();
	pcu_dir();
	pcu_unlink_race();
}

struct pcu_node {
	const char *name;
	const char *kind;
	struct stat first;
	int made;
};

static int pcu_make(const char *name, const char *kind)
{
	if (!strcmp(kind, "directory"))
		return mkdir(name, 0755);
	if (!strcmp(kind, "regular file"))
		return pc_write_file(name, "x", 1, 0644) ? -1 : 0;
	if (!strcmp(kind, "fifo"))
		return mknod(name, S_IFIFO | 0644, 0);
	if (!strcmp(kind, "socket"))
		return mknod(name, S_IFSOCK | 0644, 0);
	if (!strcmp(kind, "char device"))
		return mknod(name, S_IFCHR | 0644, makedev(1, 3));
	if (!strcmp(kind, "block device"))
		return mknod(name, S_IFBLK | 0644, makedev(7, 200));
	return symlink("target", name);
}

static int pcu_same_times(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

void pc_check_new_attrs(void)
{
	struct pcu_node nodes[] = {
	    {"n-dir", "directory", {0}, 0},   {"n-reg", "regular file", {0}, 0},
	    {"n-fifo", "fifo", {0}, 0},	      {"n-sock", "socket", {0}, 0},
	    {"n-chr", "char device", {0}, 0}, {"n-blk", "block device", {0}, 0},
	    {"n-lnk", "symlink", {0}, 0},
	};
	const struct timespec wait = {1, 300000000}; /* > attribute-timeout */
	size_t n = sizeof(nodes) / sizeof(nodes[0]), i;
	char desc[128];
	struct stat *a, b;

	for (i = 0; i < n; i++) {
		nodes[i].made = pcu_make(nodes[i].name, nodes[i].kind) == 0 &&
				lstat(nodes[i].name, &nodes[i].first) == 0;
		snprintf(desc, sizeof(desc), "make a %s", nodes[i].kind);
		pc_result(nodes[i].made, desc, "%s", pc_errname(errno));
	}
	nanosleep(&wait, NULL);
	for (i = 0; i < n; i++) {
		if (!nodes[i].made)
			continue;
		a = &nodes[i].first;
		snprintf(desc, sizeof(desc),
			 "a new %s keeps its attributes once the cache expired",
			 nodes[i].kind);
		if (lstat(nodes[i].name, &b) != 0) {
			pc_result(0, desc, "lstat: %s", pc_errname(errno));
			continue;
		}
		pc_result(pcu_same_times(&a->st_ctim, &b.st_ctim) &&
			      pcu_same_times(&a->st_mtim, &b.st_mtim) &&
			      a->st_mode == b.st_mode &&
			      a->st_uid == b.st_uid && a->st_gid == b.st_gid &&
			      a->st_size == b.st_size &&
			      a->st_nlink == b.st_nlink &&
			      a->st_ino == b.st_ino && a->st_rdev == b.st_rdev,
			  desc,
			  "ctime %lld.%09ld -> %lld.%09ld, mtime %lld.%09ld -> "
			  "%lld.%09ld, mode %o -> %o, nlink %lu -> %lu",
			  (long long)a->st_ctim.tv_sec, a->st_ctim.tv_nsec,
			  (long long)b.st_ctim.tv_sec, b.st_ctim.tv_nsec,
			  (long long)a->st_mtim.tv_sec, a->st_mtim.tv_nsec,
			  (long long)b.st_mtim.tv_sec, b.st_mtim.tv_nsec,
			  a->st_mode, b.st_mode, (unsigned long)a->st_nlink,
			  (unsigned long)b.st_nlink);
	}
}
