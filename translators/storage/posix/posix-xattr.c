/*
 * posix-xattr.c - storage/posix extended attribute fops: setxattr,
 * getxattr, listxattr, removexattr; the xattr targets XATTROP
 * (posix-index.c) shares.
 *
 * Names starting with "trusted.mortar." are the brick's own (the gfid
 * first of all): clients cannot set or remove them (EPERM), getxattr of
 * one says ENODATA and listxattr leaves them out.  The cluster translators
 * keep their state in such names (doc/cluster.md): a call whose xdata has
 * "mortar.internal" may read, list, set and remove them, except the gfid,
 * which stays read-only.  The FUSE bridge never sets that key.
 *
 * The target is args.fd when set and args.loc has nothing, else
 * args.loc.  By loc, the l*xattr calls get /proc/self/fd/<pfd>/<name>,
 * so a final symlink is never followed (see posix.h); a regular file
 * reached by gfid alone is held open and takes the f*xattr calls
 * (posix_xtarget_pin).
 */
#define _GNU_SOURCE
#include "buf.h"
#include "inode.h"
#include "log.h"
#include "posix-sys.h"
#include "posix.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

static bool posix_xattr_internal(const char *name)
{
	return strncmp(name, POSIX_INTERNAL_XATTR_PREFIX,
		       strlen(POSIX_INTERNAL_XATTR_PREFIX)) == 0;
}

bool posix_call_internal(const struct xl_call *call)
{
	return call->args.xdata &&
	       xl_dict_get(call->args.xdata, XL_KEY_INTERNAL) != NULL;
}

/* May this call read (write = false) or change the xattr `name`? */
static bool posix_xattr_allowed(const struct xl_call *call, const char *name,
				bool write)
{
	if (!posix_xattr_internal(name))
		return true;
	if (!posix_call_internal(call))
		return false;
	return !write || strcmp(name, POSIX_GFID_XATTR) != 0;
}

static int posix_xname_check(const char *name)
{
	if (!name || !name[0] ||
	    strnlen(name, XL_XATTR_NAME_MAX + 1) > XL_XATTR_NAME_MAX)
		return -EINVAL;
	return 0;
}

/*
 * A regular file reached by gfid is named by its handle, a hard link that
 * an unlink of the file's last name may move to the unlink area at any
 * moment (posix-opens.c) while it is open on another connection:
 * replicate's pre-op on a file being written races the unlink of its
 * name, and a path-based xattr call between the handle's stat and the
 * move would fail with ENOENT.  So the file is held open for the call's
 * length; the open itself missing the handle resolves again, to the
 * unlink area.
 */
static int posix_xtarget_pin(struct posix_priv *priv, const uint8_t *gfid,
			     struct posix_xtarget *t)
{
	const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	int ret;

	if (!S_ISREG(t->obj.st.st_mode))
		return 0;
	t->pin = posix_sys.openat(t->obj.pfd, t->obj.name, flags, 0);
	if (t->pin < 0 && errno == ENOENT && !t->obj.parked) {
		posix_obj_release(&t->obj);
		ret = posix_resolve_gfid(priv, gfid, &t->obj);
		if (ret < 0)
			return ret;
		if (!S_ISREG(t->obj.st.st_mode))
			return 0;
		t->pin = posix_sys.openat(t->obj.pfd, t->obj.name, flags, 0);
	}
	if (t->pin < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	t->fd = t->pin;
	return 0;
}

int posix_xtarget_get(struct xl *xl, struct xl_call *call,
		      struct posix_xtarget *t)
{
	const struct xl_loc *loc = &call->args.loc;
	int ret;

	posix_obj_init(&t->obj);
	t->pfd = NULL;
	t->fd = t->pin = -1;
	t->xpath[0] = '\0';
	if (call->args.fd && !loc->name && xl_gfid_is_null(loc->gfid)) {
		t->pfd = posix_fd_get(xl, call->args.fd);
		if (!t->pfd)
			return -EBADF;
		t->fd = t->pfd->fd;
		return 0;
	}
	ret = posix_resolve_loc(xl->private, loc, &t->obj);
	if (ret == 0 && !loc->name)
		ret = posix_xtarget_pin(xl->private, loc->gfid, t);
	if (ret == 0 && t->fd < 0)
		ret = posix_obj_xpath(&t->obj, t->xpath, sizeof(t->xpath));
	return ret;
}

void posix_xtarget_put(struct xl *xl, struct posix_xtarget *t)
{
	posix_fd_put(xl->private, t->pfd);
	if (t->pin >= 0)
		posix_sys.close(t->pin);
	posix_obj_release(&t->obj);
}

ssize_t posix_xtarget_get_value(const struct posix_xtarget *t, const char *name,
				void *buf, size_t cap)
{
	ssize_t n = t->fd >= 0 ? posix_sys.fgetxattr(t->fd, name, buf, cap)
			       : posix_sys.lgetxattr(t->xpath, name, buf, cap);

	return n < 0 ? -errno : n;
}

int posix_xtarget_set_value(const struct posix_xtarget *t, const char *name,
			    const void *value, size_t len)
{
	int r = t->fd >= 0 ? posix_sys.fsetxattr(t->fd, name, value, len, 0)
			   : posix_sys.lsetxattr(t->xpath, name, value, len, 0);

	return r != 0 ? -errno : 0;
}

int posix_xtarget_remove_value(const struct posix_xtarget *t, const char *name)
{
	int r = t->fd >= 0 ? posix_sys.fremovexattr(t->fd, name)
			   : posix_sys.lremovexattr(t->xpath, name);

	return r != 0 ? -errno : 0;
}

int posix_xtarget_gfid(const struct posix_xtarget *t, uint8_t *gfid)
{
	ssize_t n;

	if (t->pfd) {
		memcpy(gfid, t->pfd->gfid, XL_GFID_LEN);
		return 0;
	}
	n = posix_xtarget_get_value(t, POSIX_GFID_XATTR, gfid, XL_GFID_LEN);
	if (n == XL_GFID_LEN)
		return 0;
	return n < 0 ? (int)n : -EINVAL;
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
	if (ret == 0 && !posix_xattr_allowed(call, name, true))
		ret = -EPERM;
	if (ret == 0 && len > XL_XATTR_SIZE_MAX)
		ret = -E2BIG;
	if (ret < 0)
		goto out;
	ret = posix_xtarget_get(xl, call, &t);
	if (ret == 0) {
		r = t.fd >= 0 ? posix_sys.fsetxattr(t.fd, name, v, len,
						    call->args.flags)
			      : posix_sys.lsetxattr(t.xpath, name, v, len,
						    call->args.flags);
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
	if (ret == 0 && !posix_xattr_allowed(call, name, false))
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

		n = t.fd >= 0 ? posix_sys.fgetxattr(t.fd, name, p, cap)
			      : posix_sys.lgetxattr(t.xpath, name, p, cap);
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
ssize_t posix_xtarget_list(const struct posix_xtarget *t, char **list)
{
	for (int tries = 0; tries < 8; tries++) {
		ssize_t n = t->fd >= 0
				? posix_sys.flistxattr(t->fd, NULL, 0)
				: posix_sys.llistxattr(t->xpath, NULL, 0);
		char *buf;

		if (n < 0)
			return -errno;
		buf = malloc((size_t)n + 1);
		if (!buf)
			return -ENOMEM;
		n = t->fd >= 0
			? posix_sys.flistxattr(t->fd, buf, (size_t)n + 1)
			: posix_sys.llistxattr(t->xpath, buf, (size_t)n + 1);
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
	n = posix_xtarget_list(&t, &list);
	if (n < 0) {
		ret = (int)n;
		goto put;
	}
	len = posix_call_internal(call) ? (size_t)n
					: posix_list_filter(list, (size_t)n);
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
	if (ret == 0 && !posix_xattr_allowed(call, name, true))
		ret = -EPERM;
	if (ret < 0)
		goto out;
	ret = posix_xtarget_get(xl, call, &t);
	if (ret == 0) {
		r = t.fd >= 0 ? posix_sys.fremovexattr(t.fd, name)
			      : posix_sys.lremovexattr(t.xpath, name);
		ret = r != 0 ? -errno : 0;
	}
	posix_xtarget_put(xl, &t);
out:
	call->reply.ret = ret;
	xl_unwind(call);
}

/* Add one xattr of xpath to *out (created on first use).  An absent
 * xattr is skipped; other errors are reported. */
static int posix_lookup_xattr_one(const char *xpath, const char *name,
				  struct xl_dict **out)
{
	ssize_t n = posix_sys.lgetxattr(xpath, name, NULL, 0);
	char *buf;
	int ret;

	if (n < 0)
		return errno == ENODATA ? 0 : -errno;
	if (n > XL_XATTR_SIZE_MAX)
		return -E2BIG;
	buf = malloc((size_t)n + 1);
	if (!buf)
		return -ENOMEM;
	n = posix_sys.lgetxattr(xpath, name, buf, (size_t)n);
	if (n < 0) {
		ret = errno == ENODATA ? 0 : -errno;
		free(buf);
		return ret;
	}
	if (!*out && !(*out = xl_dict_new())) {
		free(buf);
		return -ENOMEM;
	}
	ret = xl_dict_set(*out, name, buf, (uint32_t)n);
	free(buf);
	return ret;
}

/*
 * Lookup with "mortar.xattr-req": the cluster translators learn a
 * directory's layout or a file's changelog in the same round trip as the
 * lookup.  Each named xattr that exists goes into reply.xdata; a failure
 * here is logged and leaves the lookup itself successful (the caller sees
 * the xattr as absent and asks again).
 */
void posix_lookup_xattrs(struct posix_obj *obj, struct xl_call *call)
{
	const struct xl_dict_pair *req;
	char xpath[XL_NAME_MAX + 40];
	int ret;

	if (!call->args.xdata ||
	    !(req = xl_dict_get(call->args.xdata, XL_KEY_XATTR_REQ)))
		return;
	ret = posix_obj_xpath(obj, xpath, sizeof(xpath));
	for (uint32_t off = 0; ret == 0 && off < req->len;) {
		const char *name = (const char *)req->value + off;
		size_t nl = strnlen(name, req->len - off);

		off += (uint32_t)nl + 1;
		if (nl == 0 || nl > XL_XATTR_NAME_MAX || off > req->len)
			continue; /* empty or unterminated: not a name */
		ret = posix_lookup_xattr_one(xpath, name, &call->reply.xdata);
	}
	if (ret < 0)
		xl_warn(call->xl->name, "lookup xattrs of %s failed: errno=%d",
			obj->name, -ret);
}
