/*
 * fuse-bridge-io.c - the session's /dev/fuse I/O (libfuse's custom io):
 * plain read(2), writev(2) and splice(2) on the fd libfuse passes, exactly
 * what libfuse does without it, except that the INIT reply carries
 * FUSE_PARALLEL_DIROPS when the kernel offered it.
 *
 * Why: libfuse before 3.17.1 (Debian 12 has 3.14) takes
 * FUSE_CAP_PARALLEL_DIROPS in conn->want but never puts the flag in its
 * INIT reply, so the kernel serialises lookups and readdirs of one
 * directory on the directory's inode lock: N processes stat-ing N names
 * of one cold directory reach the bricks one after another.  The bridge
 * takes any number of calls at once, so the flag is safe to give.
 *
 * How: the read hook notes the unique id and the kernel's flags of the
 * INIT request (the first request of a connection); the writev hook
 * copies the reply with that unique id and or's the flag into its flags.
 * Every other read and write is the bare system call, on whichever fd
 * libfuse passes (the session's, or a clone_fd worker's own).
 *
 * Threads: the INIT request is read and answered on one FUSE thread
 * before the kernel sends anything else; the atomics let the other
 * reader threads see that it is done without a lock.
 */
#include "config.h"

#include "fuse-bridge.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define FB_IO_LOG "fuse"
/* The INIT reply is a header and one argument; never more than a few. */
#define FB_IO_INIT_IOV_MAX 4

static void fbio_note_init(struct fuse_bridge *fb, const void *buf, size_t n)
{
	const struct fuse_in_header *in = buf;
	const struct fuse_init_in *arg;

	if (n < sizeof(*in) + offsetof(struct fuse_init_in, flags) +
		    sizeof(arg->flags) ||
	    in->opcode != FUSE_INIT)
		return;
	arg = (const struct fuse_init_in *)(in + 1);
	atomic_store(&fb->io.kernel_flags, arg->flags);
	atomic_store(&fb->io.init_unique, in->unique);
	atomic_store(&fb->io.init_read, true);
}

/* Exactly libfuse's read (same fd, same buffer size); the first request
 * is looked at, never changed. */
static ssize_t fbio_read(int fd, void *buf, size_t len, void *userdata)
{
	struct fuse_bridge *fb = userdata;
	ssize_t n = read(fd, buf, len);

	if (n > 0 &&
	    !atomic_load_explicit(&fb->io.init_read, memory_order_relaxed)) {
		int saved = errno;

		fbio_note_init(fb, buf, (size_t)n);
		errno = saved;
	}
	return n;
}

/* The reply to INIT (successful, with room for the flags field)? */
static bool fbio_is_init_reply(struct fuse_bridge *fb, const struct iovec *iov,
			       int count)
{
	const struct fuse_out_header *out = iov[0].iov_base;

	if (!atomic_load(&fb->io.init_read) || count < 2 ||
	    count > FB_IO_INIT_IOV_MAX || iov[0].iov_len < sizeof(*out))
		return false;
	return out->unique == atomic_load(&fb->io.init_unique) &&
	       out->error == 0 &&
	       iov[1].iov_len >=
		   offsetof(struct fuse_init_out, flags) + sizeof(uint32_t);
}

/* Once per mount: what the kernel was told, and whether it took it. */
static void fbio_log_result(bool offered, bool amended, size_t len, ssize_t res,
			    int err)
{
	if (!offered)
		xl_info(FB_IO_LOG, "parallel directory operations: off (the "
				   "kernel does not offer them)");
	else if (!amended)
		xl_warn(FB_IO_LOG,
			"parallel directory operations: off (INIT reply of "
			"%zu bytes left as it is)",
			len);
	else if (res < 0)
		xl_warn(FB_IO_LOG,
			"parallel directory operations: the kernel refused "
			"the INIT reply: errno=%d",
			err);
	else
		xl_info(FB_IO_LOG, "parallel directory operations: on (the "
				   "kernel took the INIT reply asking for "
				   "them)");
}

/* Write the INIT reply with FUSE_PARALLEL_DIROPS added to a copy of its
 * argument (libfuse's own buffer is left alone). */
static ssize_t fbio_writev_init(struct fuse_bridge *fb, int fd,
				const struct iovec *iov, int count)
{
	struct iovec copy[FB_IO_INIT_IOV_MAX];
	/* Room for any fuse_init_out a newer libfuse may send. */
	_Alignas(8) unsigned char arg[256];
	uint32_t kflags = atomic_load(&fb->io.kernel_flags);
	bool offered = kflags & FUSE_PARALLEL_DIROPS;
	bool amended = false;
	size_t len = iov[1].iov_len;
	size_t at = offsetof(struct fuse_init_out, flags);
	uint32_t flags;
	ssize_t res;
	int err;

	memcpy(copy, iov, (size_t)count * sizeof(*iov));
	if (offered && len <= sizeof(arg)) {
		memcpy(arg, iov[1].iov_base, len);
		memcpy(&flags, arg + at, sizeof(flags));
		flags |= FUSE_PARALLEL_DIROPS;
		memcpy(arg + at, &flags, sizeof(flags));
		copy[1].iov_base = arg;
		amended = true;
	}
	res = writev(fd, copy, count);
	err = errno;
	atomic_store(&fb->io.parallel_dirops_on, res >= 0 && amended);
	atomic_store(&fb->io.init_replied, true);
	fbio_log_result(offered, amended, len, res, err);
	errno = err;
	return res;
}

static ssize_t fbio_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct fuse_bridge *fb = userdata;

	if (!atomic_load_explicit(&fb->io.init_replied, memory_order_relaxed) &&
	    fbio_is_init_reply(fb, iov, count))
		return fbio_writev_init(fb, fd, iov, count);
	return writev(fd, iov, count);
}

/* With no splice hooks libfuse would stop offering splice; the bridge
 * turns it off in init anyway, but the hooks keep the capabilities
 * libfuse reports what they are without this file. */
static ssize_t fbio_splice_receive(int fdin, off_t *offin, int fdout,
				   off_t *offout, size_t len,
				   unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

static ssize_t fbio_splice_send(int fdin, off_t *offin, int fdout,
				off_t *offout, size_t len, unsigned int flags,
				void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io fbio_ops = {
    .read = fbio_read,
    .writev = fbio_writev,
    .splice_receive = fbio_splice_receive,
    .splice_send = fbio_splice_send,
};

int fuse_bridge_io_install(struct fuse_bridge *fb, struct fuse_session *se)
{
	int fd = fuse_session_fd(se);
	int ret;

	if (fd < 0)
		return -EBADF;
	/* Same fd: the session keeps its mount point and its unmount. */
	ret = fuse_session_custom_io(se, &fbio_ops, fd);
	if (ret < 0)
		return ret;
	return 0;
}
