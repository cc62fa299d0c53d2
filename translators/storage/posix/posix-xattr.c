/*
 * posix-xattr.c - storage/posix extended attribute fops: setxattr,
 * getxattr, listxattr, removexattr.
 *
 * Names starting with "trusted.mortar." are the brick's own (the gfid
 * first of all): clients cannot set or remove them (EPERM), getxattr of
 * one says ENODATA and listxattr leaves them out.
 *
 * The target is args.fd when set and args.loc has nothing, else
 * args.loc.  By loc, the l*xattr calls get /proc/self/fd/<pfd>/<name>,
 * so a final symlink is never followed (see posix.h).
 */
#define _GNU_SOURCE
#include "buf.h"
#include "inode.h"
#include "posix.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

/* Where an xattr fop acts: an OS fd (xpath empty) or a path. */
struct posix_xtarget {
	struct posix_obj obj;
	struct posix_fd *pfd; /* ref, or NULL */
	char xpath[XL_NAME_MAX + 40];
};

static bool posix_xattr_internal(const char *name)
{
	return strncmp(name, POSIX_INTERNAL_XATTR_PREFIX,
		       strlen(POSIX_INTERNAL_XATTR_PREFIX)) == 0;
}

static int posix_xname_check(const char *name)
{
	if (!name || !name[0] ||
	    strnlen(name, XL_XATTR_NAME_MAX + 1) > XL_XATTR_NAME_MAX)
		return -EINVAL;
	return 0;
}

static int posix_xtarget_get(struct xl *xl, struct xl_call *call,
			     struct posix_xtarget *t)
{
	const struct xl_loc *loc = &call->args.loc;
	int ret;

	posix_obj_init(&t->obj);
	t->pfd = NULL;
	t->xpath[0] = '\0';
	if (call->args.fd && !loc->name && xl_gfid_is_null(loc->gfid)) {
		t->pfd = posix_fd_get(xl, call->args.fd);
		return t->pfd ? 0 : -EBADF;
	}
	ret = posix_resolve_loc(xl->private, loc, &t->obj);
	if (ret == 0)
		ret = posix_obj_xpath(&t->obj, t->xpath, sizeof(t->xpath));
	return ret;
}

static void posix_xtarget_put(struct xl *xl, struct posix_xtarget *t)
{
	posix_fd_put(xl->private, t->pfd);
	posix_obj_release(&t->obj);
}

void posix_setxattr(struct xl *xl, struct xl_call *call)
{
	const char *name = call->args.xname;
	struct xl_iobuf *val = call->args.data;
	struct posix_xtarget t;
	const void *v = val ? val->data : "";
	size_t len = val ? val->size : 0;
	int ret, r;

	ret = posix_xname_check(name);
	if (ret == 0 && posix_xattr_internal(name))
		ret = -EPERM;
	if (ret == 0 && len > XL_XATTR_SIZE_MAX)
		ret = -E2BIG;
	if (ret < 0)
		goto out;
	ret = posix_xtarget_get(xl, call, &t);
	if (ret == 0) {
		r = t.pfd ? fsetxattr(t.pfd->fd, name, v, len, call->args.flags)
			  : lsetxattr(t.xpath, name, v, len, call->args.flags);
		ret = r != 0 ? -errno : 0;
	}
	posix_xtarget_put(xl, &t);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

void posix_getxattr(struct xl *xl, struct xl_call *call)
{
	const char *name = call->args.xname;
	size_t cap = call->args.size;
	struct xl_iobuf *buf = NULL;
	struct posix_xtarget t;
	ssize_t n;
	int ret;

	ret = posix_xname_check(name);
	if (ret == 0 && posix_xattr_internal(name))
		ret = -ENODATA;
	if (ret < 0)
		goto out;
	if (cap > XL_XATTR_SIZE_MAX)
		cap = XL_XATTR_SIZE_MAX;
	if (cap && !(buf = xl_iobuf_new(cap))) {
		ret = -ENOMEM;
		goto out;
	}
	ret = posix_xtarget_get(xl, call, &t);
	if (ret == 0) {
		void *p = buf ? buf->data : NULL;

		n = t.pfd ? fgetxattr(t.pfd->fd, name, p, cap)
			  : lgetxattr(t.xpath, name, p, cap);
		ret = n < 0 ? -errno : (int)n;
	}
	posix_xtarget_put(xl, &t);
	if (ret >= 0 && buf) {
		buf->size = (size_t)ret;
		call->reply.data = buf;
		buf = NULL;
	}
out:
	if (buf)
		xl_iobuf_unref(buf);
	call->reply.ret = ret;
	xl_unwind(call);
}

/* The raw name list of t (malloc'd into *list), retrying while it grows.
 * Length or -errno. */
static ssize_t posix_list_raw(const struct posix_xtarget *t, char **list)
{
	for (int tries = 0; tries < 8; tries++) {
		ssize_t n = t->pfd ? flistxattr(t->pfd->fd, NULL, 0)
				   : llistxattr(t->xpath, NULL, 0);
		char *buf;

		if (n < 0)
			return -errno;
		buf = malloc((size_t)n + 1);
		if (!buf)
			return -ENOMEM;
		n = t->pfd ? flistxattr(t->pfd->fd, buf, (size_t)n + 1)
			   : llistxattr(t->xpath, buf, (size_t)n + 1);
		if (n >= 0) {
			*list = buf;
			return n;
		}
		free(buf);
		if (errno != ERANGE)
			return -errno;
	}
	return -ERANGE;
}

/* Drop internal names from a NUL-separated list in place; new length. */
static size_t posix_list_filter(char *list, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		size_t nl = strnlen(list + in, len - in) + 1;

		if (!posix_xattr_internal(list + in)) {
			memmove(list + out, list + in, nl);
			out += nl;
		}
		in += nl;
	}
	return out;
}

void posix_listxattr(struct xl *xl, struct xl_call *call)
{
	struct posix_xtarget t;
	char *list = NULL;
	ssize_t n;
	size_t len;
	int ret;

	ret = posix_xtarget_get(xl, call, &t);
	if (ret < 0)
		goto put;
	n = posix_list_raw(&t, &list);
	if (n < 0) {
		ret = (int)n;
		goto put;
	}
	len = posix_list_filter(list, (size_t)n);
	if (call->args.size && len > call->args.size) {
		ret = -ERANGE;
	} else if (call->args.size) {
		call->reply.data = xl_iobuf_from(list, len);
		ret = call->reply.data ? (int)len : -ENOMEM;
	} else {
		ret = (int)len;
	}
put:
	free(list);
	posix_xtarget_put(xl, &t);
	call->reply.ret = ret;
	xl_unwind(call);
}

void posix_removexattr(struct xl *xl, struct xl_call *call)
{
	const char *name = call->args.xname;
	struct posix_xtarget t;
	int ret, r;

	ret = posix_xname_check(name);
	if (ret == 0 && posix_xattr_internal(name))
		ret = -EPERM;
	if (ret < 0)
		goto out;
	ret = posix_xtarget_get(xl, call, &t);
	if (ret == 0) {
		r = t.pfd ? fremovexattr(t.pfd->fd, name)
			  : lremovexattr(t.xpath, name);
		ret = r != 0 ? -errno : 0;
	}
	posix_xtarget_put(xl, &t);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}
