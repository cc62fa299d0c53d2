/*
 * posix-sys.h - every system call storage/posix makes that can fail,
 * reached through one overridable table: I/O, namespace changes, xattrs,
 * owners, modes and times, fstat, readlinkat, fstatvfs, dup and directory
 * streams (the groups below).  Only dirfd, seekdir and rewinddir, which
 * cannot fail, are called directly.
 *
 * Like SQLite's os_unix.c aSyscall[]: production code calls
 * posix_sys.pread(...) instead of pread(...), and a test that compiles the
 * translator's sources in can replace one entry (say, pwrite returning
 * -1/ENOSPC) to inject a fault; posix_sys_reset() puts every entry back.
 * The defaults (posix-sys.c) are the libc functions, with a thin wrapper
 * only for openat (variadic in libc) and openat2 (no glibc wrapper: the
 * raw system call).  Every entry has the libc calling convention: -1 and
 * errno on failure; fdopendir returns NULL and sets errno; readdir returns
 * NULL both at the end of the stream (errno unchanged) and on failure
 * (errno set), so callers clear errno first.
 * The table is process-global and not locked: tests change it only while
 * no fop is in flight.
 */
#ifndef MORTAR_POSIX_SYS_H
#define MORTAR_POSIX_SYS_H

#include <dirent.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct posix_sys_table {
	int (*openat)(int dirfd, const char *path, int flags, mode_t mode);
	/* openat2(2); -1/ENOSYS on kernels without it */
	int (*openat2)(int dirfd, const char *path, const struct open_how *how);
	int (*close)(int fd);
	ssize_t (*pread)(int fd, void *buf, size_t count, off_t offset);
	/* preadv2(2): nowait reads pass RWF_NOWAIT */
	ssize_t (*preadv2)(int fd, const struct iovec *iov, int iovcnt,
			   off_t offset, int flags);
	ssize_t (*pwrite)(int fd, const void *buf, size_t count, off_t offset);
	int (*fsync)(int fd);
	int (*fdatasync)(int fd);
	int (*ftruncate)(int fd, off_t length);
	int (*fallocate)(int fd, int mode, off_t offset, off_t len);
	off_t (*lseek)(int fd, off_t offset, int whence);
	int (*fstatat)(int dirfd, const char *path, struct stat *st, int flags);
	int (*mkdirat)(int dirfd, const char *path, mode_t mode);
	int (*mknodat)(int dirfd, const char *path, mode_t mode, dev_t dev);
	int (*symlinkat)(const char *target, int dirfd, const char *path);
	int (*linkat)(int olddirfd, const char *oldpath, int newdirfd,
		      const char *newpath, int flags);
	int (*unlinkat)(int dirfd, const char *path, int flags);
	int (*renameat2)(int olddirfd, const char *oldpath, int newdirfd,
			 const char *newpath, unsigned int flags);
	/* xattrs: l* by path (/proc/self/fd/N/name, see posix_obj_xpath),
	 * f* by fd */
	ssize_t (*lgetxattr)(const char *path, const char *name, void *value,
			     size_t size);
	ssize_t (*fgetxattr)(int fd, const char *name, void *value,
			     size_t size);
	int (*lsetxattr)(const char *path, const char *name, const void *value,
			 size_t size, int flags);
	int (*fsetxattr)(int fd, const char *name, const void *value,
			 size_t size, int flags);
	ssize_t (*llistxattr)(const char *path, char *list, size_t size);
	ssize_t (*flistxattr)(int fd, char *list, size_t size);
	int (*lremovexattr)(const char *path, const char *name);
	int (*fremovexattr)(int fd, const char *name);
	/* owners, modes, times */
	int (*fchown)(int fd, uid_t uid, gid_t gid);
	int (*fchownat)(int dirfd, const char *path, uid_t uid, gid_t gid,
			int flags);
	int (*fchmod)(int fd, mode_t mode);
	int (*fchmodat)(int dirfd, const char *path, mode_t mode, int flags);
	int (*futimens)(int fd, const struct timespec ts[2]);
	int (*utimensat)(int dirfd, const char *path,
			 const struct timespec ts[2], int flags);
	/* the rest */
	int (*fstat)(int fd, struct stat *st);
	ssize_t (*readlinkat)(int dirfd, const char *path, char *buf,
			      size_t len);
	int (*fstatvfs)(int fd, struct statvfs *sv);
	int (*dup)(int fd);
	DIR *(*fdopendir)(int fd);
	struct dirent *(*readdir)(DIR *dir);
	int (*closedir)(DIR *dir);
	/* fcntl(fd, F_DUPFD_CLOEXEC, 0): the directory fd cache's copies */
	int (*dup_cloexec)(int fd);
};

/* The live table; starts as the libc functions. */
extern struct posix_sys_table posix_sys;

/* Put every entry back to its libc default. */
void posix_sys_reset(void);

#endif
