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
 *
 * Write data lands in an iobuf, not in libfuse's buffer: each reader
 * thread reads a request with readv(2) into libfuse's buffer for the
 * first FB_IO_HEAD bytes (a header and, for a WRITE, its fuse_write_in)
 * and into an iobuf of its own for the rest.  A WRITE's data stays there
 * and fuse_bridge_write_buf takes the iobuf as the write's (one 1 MiB
 * memcpy less per write: the client's largest CPU cost after the socket);
 * any other request's tail is copied back behind its head, so libfuse sees
 * what a plain read gives.  libfuse reads and processes a request on the
 * same thread, one after the other, so the iobuf is the thread's own.
 */
#include "config.h"

#include "buf.h"
#include "fop.h"
#include "fuse-bridge.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define FB_IO_LOG "fuse"
/* The INIT reply is a header and one argument; never more than a few. */
#define FB_IO_INIT_IOV_MAX 4
/* What a request's head is: a WRITE's data starts right after it. */
#define FB_IO_HEAD                                                             \
	(sizeof(struct fuse_in_header) + sizeof(struct fuse_write_in))

/* A reader thread's iobuf for the tail of the requests it reads. */
struct fbio_rx {
	struct xl_iobuf *iob; /* XL_IO_SIZE_MAX bytes; NULL once taken */
	const char *write_at; /* the last WRITE's data in libfuse's view */
	size_t write_len;     /* its bytes in iob */
};

static pthread_key_t fbio_rx_key;
static pthread_once_t fbio_rx_once = PTHREAD_ONCE_INIT;

static void fbio_rx_free(void *p)
{
	struct fbio_rx *rx = p;

	if (rx->iob)
		xl_iobuf_unref(rx->iob);
	free(rx);
}

static void fbio_rx_key_make(void)
{
	if (pthread_key_create(&fbio_rx_key, fbio_rx_free) != 0)
		abort(); /* only at mount, with no key left */
}

/* This thread's receive state with an iobuf ready, or NULL (ENOMEM). */
static struct fbio_rx *fbio_rx_get(void)
{
	struct fbio_rx *rx;

	pthread_once(&fbio_rx_once, fbio_rx_key_make);
	rx = pthread_getspecific(fbio_rx_key);
	if (!rx) {
		rx = calloc(1, sizeof(*rx));
		if (!rx || pthread_setspecific(fbio_rx_key, rx) != 0) {
			free(rx);
			return NULL;
		}
	}
	if (!rx->iob)
		rx->iob = xl_iobuf_new(XL_IO_SIZE_MAX);
	return rx->iob ? rx : NULL;
}

int fuse_bridge_io_take_write(struct fuse_bridge *fb,
			      const struct fuse_bufvec *bufv, size_t size,
			      struct xl_iobuf **iobp)
{
	struct fbio_rx *rx;

	pthread_once(&fbio_rx_once, fbio_rx_key_make);
	rx = pthread_getspecific(fbio_rx_key);
	if (!rx || !rx->write_at || bufv->buf[0].mem != rx->write_at) {
		atomic_fetch_add(&fb->io.writes_copied, 1);
		return 1; /* in libfuse's buffer as it read it */
	}
	rx->write_at = NULL;
	if (bufv->count != 1 || bufv->idx != 0 || bufv->off != 0 ||
	    (bufv->buf[0].flags & FUSE_BUF_IS_FD) || size > rx->write_len) {
		xl_err(FB_IO_LOG, "write of %zu bytes not as read (%zu): EIO",
		       size, rx->write_len);
		return -EIO;
	}
	/* A small write gets a buffer of its size: the thread's iobuf is
	 * 1 MiB, and write-behind may keep many writes at once. */
	if (size < rx->iob->capacity / 2) {
		*iobp = xl_iobuf_from(rx->iob->data, size);
		if (!*iobp)
			return -ENOMEM;
		atomic_fetch_add(&fb->io.writes_small, 1);
		return 0;
	}
	atomic_fetch_add(&fb->io.writes_in_place, 1);
	*iobp = rx->iob;
	(*iobp)->size = size;
	rx->iob = NULL; /* the next read takes a fresh one */
	return 0;
}

/* readv into buf's head and the thread's iobuf; a WRITE's data stays in
 * the iobuf, any other tail goes back behind the head. */
static ssize_t fbio_read_split(struct fuse_bridge *fb, int fd, char *buf,
			       size_t len)
{
	struct fbio_rx *rx = fbio_rx_get();
	const struct fuse_in_header *in = (const void *)buf;
	struct iovec iov[2];
	size_t tail_cap;
	ssize_t n;

	if (!rx || len <= FB_IO_HEAD)
		return read(fd, buf, len);
	rx->write_at = NULL;
	tail_cap = len - FB_IO_HEAD;
	if (tail_cap > rx->iob->capacity)
		tail_cap = rx->iob->capacity;
	iov[0] = (struct iovec){buf, FB_IO_HEAD};
	iov[1] = (struct iovec){rx->iob->data, tail_cap};
	n = readv(fd, iov, 2);
	if (n <= (ssize_t)FB_IO_HEAD)
		return n;
	if (in->opcode == FUSE_WRITE &&
	    atomic_load_explicit(&fb->io.writes_split, memory_order_relaxed)) {
		rx->write_at = buf + FB_IO_HEAD;
		rx->write_len = (size_t)n - FB_IO_HEAD;
	} else {
		memcpy(buf + FB_IO_HEAD, rx->iob->data, (size_t)n - FB_IO_HEAD);
	}
	return n;
}

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

/* libfuse's read (same fd, same buffer size), the write data apart; the
 * first request is looked at, never changed. */
static ssize_t fbio_read(int fd, void *buf, size_t len, void *userdata)
{
	struct fuse_bridge *fb = userdata;
	ssize_t n = fbio_read_split(fb, fd, buf, len);

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
	bool wanted = fb->parallel_dirops;
	bool amended = false;
	size_t len = iov[1].iov_len;
	size_t at = offsetof(struct fuse_init_out, flags);
	uint32_t flags;
	ssize_t res;
	int err;

	memcpy(copy, iov, (size_t)count * sizeof(*iov));
	if (wanted && offered && len <= sizeof(arg)) {
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
	if (wanted) /* else fb_init said so */
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

void fuse_bridge_io_report(struct fuse_bridge *fb)
{
	xl_info(FB_IO_LOG,
		"writes: %" PRIuFAST64
		" read straight into iobufs, %" PRIuFAST64
		" small ones copied out of them, %" PRIuFAST64
		" copied from libfuse's buffer",
		atomic_load(&fb->io.writes_in_place),
		atomic_load(&fb->io.writes_small),
		atomic_load(&fb->io.writes_copied));
}
