/*
 * posix-sys.c - the default (libc) entries of the posix syscall table.
 *
 * Thin wrappers only where libc's prototype differs from the table's
 * (variadic openat, openat2 without a glibc wrapper, fcntl's
 * F_DUPFD_CLOEXEC).
 */
#define _GNU_SOURCE
#include "posix-sys.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

static int posix_sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return openat(dirfd, path, flags, mode);
}

static int posix_sys_openat2(int dirfd, const char *path,
			     const struct open_how *how)
{
	return (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

static int posix_sys_dup_cloexec(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static const struct posix_sys_table posix_sys_default = {
    .openat = posix_sys_openat,
    .openat2 = posix_sys_openat2,
    .close = close,
    .pread = pread,
    .preadv2 = preadv2,
    .pwrite = pwrite,
    .fsync = fsync,
    .fdatasync = fdatasync,
    .ftruncate = ftruncate,
    .fallocate = fallocate,
    .lseek = lseek,
    .fstatat = fstatat,
    .mkdirat = mkdirat,
    .mknodat = mknodat,
    .symlinkat = symlinkat,
    .linkat = linkat,
    .unlinkat = unlinkat,
    .renameat2 = renameat2,
    .lgetxattr = lgetxattr,
    .fgetxattr = fgetxattr,
    .lsetxattr = lsetxattr,
    .fsetxattr = fsetxattr,
    .llistxattr = llistxattr,
    .flistxattr = flistxattr,
    .lremovexattr = lremovexattr,
    .fremovexattr = fremovexattr,
    .fchown = fchown,
    .fchownat = fchownat,
    .fchmod = fchmod,
    .fchmodat = fchmodat,
    .futimens = futimens,
    .utimensat = utimensat,
    .fstat = fstat,
    .readlinkat = readlinkat,
    .fstatvfs = fstatvfs,
    .dup = dup,
    .fdopendir = fdopendir,
    .readdir = readdir,
    .closedir = closedir,
    .dup_cloexec = posix_sys_dup_cloexec,
};

struct posix_sys_table posix_sys = posix_sys_default;

void posix_sys_reset(void)
{
	posix_sys = posix_sys_default;
}
