/*
 * posix-sys.h - the system calls storage/posix does I/O and namespace
 * changes with, reached through one overridable table.
 *
 * Like SQLite's os_unix.c aSyscall[]: production code calls
 * posix_sys.pread(...) instead of pread(...), and a test that compiles the
 * translator's sources in can replace one entry (say, pwrite returning
 * -1/ENOSPC) to inject a fault, then restore it with posix_sys_reset().
 * Every entry has the libc calling convention: -1 and errno on failure.
 * The table is process-global and not locked: tests change it only while
 * no fop is in flight.
 */
#ifndef MORTAR_POSIX_SYS_H
#define MORTAR_POSIX_SYS_H

#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/types.h>

struct posix_sys_table {
	int (*openat)(int dirfd, const char *path, int flags, mode_t mode);
	/* openat2(2); -1/ENOSYS on kernels without it */
	int (*openat2)(int dirfd, const char *path, const struct open_how *how);
	int (*close)(int fd);
	ssize_t (*pread)(int fd, void *buf, size_t count, off_t offset);
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
};

/* The live table; starts as the libc functions. */
extern struct posix_sys_table posix_sys;

/* Put every entry back to its libc default. */
void posix_sys_reset(void);

#endif
