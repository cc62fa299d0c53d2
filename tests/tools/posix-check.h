/*
 * posix-check.h - the TAP harness posix_check's check files share
 * (posix_check.c holds it and main; posix_check_unlinked.c the checks of
 * open-unlinked files and of a new node's attributes).
 *
 * Single-threaded tool: the counters behind pc_result are owned by main.
 */
#ifndef MORTAR_POSIX_CHECK_H
#define MORTAR_POSIX_CHECK_H

#include <errno.h>
#include <sys/types.h>

/* Print one TAP line; fmt (may be NULL) explains a failure. */
void pc_result(int pass, const char *desc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pc_skip(const char *desc, const char *why);
const char *pc_errname(int err);
/* ret is a syscall result saved with its errno: expect success. */
int pc_ok(long ret, int err, const char *desc);
/* Expect a failure with errno want (or want2 when not 0). */
void pc_fail_with(long ret, int err, int want, int want2, const char *desc);
long pc_save(long ret, int *errp);
/* Syscall wrappers that capture errno right after the call. */
#define PC_CALL(expr, errp) ((errno = 0), pc_save((long)(expr), (errp)))

int pc_write_file(const char *path, const void *data, size_t len, mode_t mode);
/* Read up to cap bytes of a file; returns the length or -errno. */
ssize_t pc_read_file(const char *path, void *buf, size_t cap);
int pc_file_is(const char *path, const char *want);
/* Remove a tree (test cleanup only; no symlink following). */
int pc_rm_rf(const char *path);

/* posix_check_unlinked.c */
void pc_check_unlinked(void);
void pc_check_new_attrs(void);

#endif
