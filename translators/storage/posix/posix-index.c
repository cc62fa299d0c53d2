/*
 * posix-index.c - storage/posix: the pending-heal index and XATTROP.
 *
 * XATTROP (doc/cluster.md) adds arrays of big-endian int64 counters to
 * internal xattrs atomically: replicate's changelog is kept with it.  A
 * counter that becomes all zero is removed (absent = zeros).  Two
 * clients updating the same object's counters at once must not lose an
 * increment, so every xattrop runs under one of XATTROP_STRIPES mutexes
 * chosen by the object's gfid (read, add, write back is not atomic in the
 * file system).  It is all or nothing: a pair that cannot be applied
 * takes back the pairs before it and the xattrop fails.
 *
 * The index: .mortar/indices/xattrop/<gfid-string>, an empty file for each
 * object whose trusted.mortar.afr.* counters are not all zero after an
 * xattrop, removed when an xattrop leaves them all zero.  Healing after a
 * brick's short absence reads it (opendir of the virtual gfid
 * XL_GFID_INDEX, see posix_index_open) instead of crawling the brick.
 */
#define _GNU_SOURCE
#include "buf.h"
#include "inode.h"
#include "log.h"
#include "posix-sys.h"
#include "posix.h"
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#define POSIX_AFR_PREFIX "trusted.mortar.afr."
/* The longest counter array an xattrop takes (bytes). */
#define POSIX_XATTROP_VALUE_MAX 256

static pthread_mutex_t posix_xattrop_locks[POSIX_XATTROP_STRIPES] = {
    [0 ... POSIX_XATTROP_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

int posix_index_init(struct posix_priv *priv, int meta_fd)
{
	int ifd, ret;

	if (posix_sys.mkdirat(meta_fd, "indices", 0700) != 0 && errno != EEXIST)
		return -errno;
	ifd = posix_sys.openat(meta_fd, "indices",
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			       0);
	if (ifd < 0)
		return -errno;
	ret = 0;
	if (posix_sys.mkdirat(ifd, "xattrop", 0700) != 0 && errno != EEXIST)
		ret = -errno;
	if (ret == 0) {
		priv->index_fd = posix_sys.openat(
		    ifd, "xattrop",
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (priv->index_fd < 0)
			ret = -errno;
	}
	posix_sys.close(ifd);
	return ret;
}

int posix_index_open(struct posix_priv *priv, struct posix_obj *obj)
{
	posix_obj_init(obj);
	obj->pfd = posix_sys.dup(priv->index_fd);
	if (obj->pfd < 0)
		return -errno;
	strcpy(obj->name, ".");
	return posix_obj_stat(obj);
}

int posix_index_unlink(struct posix_priv *priv, const char *name)
{
	uint8_t gfid[XL_GFID_LEN];

	/* Only names the index itself makes: a gfid string. */
	if (!name || xl_gfid_parse(name, gfid) != 0)
		return -EINVAL;
	if (posix_sys.unlinkat(priv->index_fd, name, 0) != 0)
		return -errno;
	return 0;
}

static void posix_index_set(struct posix_priv *priv, const uint8_t *gfid,
			    bool pending)
{
	char name[XL_GFID_STR_LEN];
	int fd;

	xl_gfid_to_str(gfid, name);
	if (pending) {
		fd = posix_sys.openat(
		    priv->index_fd, name,
		    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			xl_warn(priv->name,
				"index add failed: gfid=%s errno=%d", name,
				errno);
		else
			posix_sys.close(fd);
	} else if (posix_sys.unlinkat(priv->index_fd, name, 0) != 0 &&
		   errno != ENOENT) {
		xl_warn(priv->name, "index remove failed: gfid=%s errno=%d",
			name, errno);
	}
}

static bool posix_counters_zero(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i])
			return false;
	return true;
}

/* Do any trusted.mortar.afr.* counters of the object hold a non-zero
 * value?  Errors count as "yes": a stale index entry costs a heal check,
 * a missing one loses a heal. */
static bool posix_any_pending(const struct posix_xtarget *t)
{
	char *list = NULL, val[POSIX_XATTROP_VALUE_MAX];
	ssize_t n = posix_xtarget_list(t, &list);
	bool pending = false;

	if (n < 0)
		return true;
	for (ssize_t off = 0; off < n && !pending;) {
		const char *name = list + off;
		ssize_t vlen;

		off += (ssize_t)strnlen(name, (size_t)(n - off)) + 1;
		if (strncmp(name, POSIX_AFR_PREFIX, strlen(POSIX_AFR_PREFIX)))
			continue;
		vlen = posix_xtarget_get_value(t, name, val, sizeof(val));
		pending = vlen < 0 ? vlen != -ENODATA
				   : !posix_counters_zero(val, (size_t)vlen);
	}
	free(list);
	return pending;
}

/* Add the counters of one pair to the stored value; the new value goes
 * into *out (when not NULL).  0 or -errno. */
static int posix_xattrop_one(const struct posix_xtarget *t,
			     const struct xl_dict_pair *p, struct xl_dict *out)
{
	char cur[POSIX_XATTROP_VALUE_MAX];
	ssize_t have;
	int ret;

	if (strncmp(p->key, POSIX_INTERNAL_XATTR_PREFIX,
		    strlen(POSIX_INTERNAL_XATTR_PREFIX)) != 0 ||
	    strcmp(p->key, POSIX_GFID_XATTR) == 0)
		return -EPERM;
	if (p->len == 0 || p->len % 8 || p->len > POSIX_XATTROP_VALUE_MAX)
		return -EINVAL;
	have = posix_xtarget_get_value(t, p->key, cur, sizeof(cur));
	if (have == -ENODATA) {
		memset(cur, 0, p->len);
		have = p->len;
	}
	if (have < 0)
		return (int)have;
	if ((size_t)have != p->len)
		return -EINVAL;
	for (uint32_t i = 0; i < p->len; i += 8) {
		uint64_t a, b;

		memcpy(&a, cur + i, 8);
		memcpy(&b, (const char *)p->value + i, 8);
		a = htobe64(be64toh(a) + be64toh(b));
		memcpy(cur + i, &a, 8);
	}
	/* The answer first: a failure after the write below would leave a
	 * change the caller is told did not happen. */
	if (out && (ret = xl_dict_set(out, p->key, cur, p->len)) < 0)
		return ret;
	/* All zero is stored as no xattr at all (absent = zeros): a file
	 * at rest carries no counters, which leaves its xattr space (one
	 * 4 KiB block on ext4) to the user. */
	if (posix_counters_zero(cur, p->len)) {
		ret = posix_xtarget_remove_value(t, p->key);
		if (ret == -ENODATA)
			ret = 0;
	} else
		ret = posix_xtarget_set_value(t, p->key, cur, p->len);
	return ret;
}

/*
 * An xattrop is all or nothing: when pair `failed` of `in` could not be
 * applied, the pairs before it that were are taken back by adding their
 * counters negated (wrap-around arithmetic, so exact), newest first.
 * Runs under the object's stripe, like the xattrop itself.
 */
static void posix_xattrop_undo(struct posix_priv *priv,
			       const struct posix_xtarget *t,
			       const struct xl_dict *in, uint32_t failed)
{
	char neg[POSIX_XATTROP_VALUE_MAX];

	for (uint32_t i = failed; i-- > 0;) {
		const struct xl_dict_pair *p = &in->pairs[i];
		struct xl_dict_pair back = {
		    .key = p->key, .value = neg, .len = p->len};
		int ret;

		if (strncmp(p->key, "mortar.", 7) == 0)
			continue; /* skipped by the xattrop too */
		for (uint32_t k = 0; k < p->len; k += 8) {
			uint64_t v;

			memcpy(&v, (const char *)p->value + k, 8);
			v = htobe64(-be64toh(v));
			memcpy(neg + k, &v, 8);
		}
		ret = posix_xattrop_one(t, &back, NULL);
		if (ret < 0)
			xl_warn(priv->name,
				"xattrop undo of %s failed: errno=%d", p->key,
				-ret);
	}
}

void posix_xattrop(struct xl *xl, struct xl_call *call)
{
	struct posix_priv *priv = xl->private;
	const struct xl_dict *in = call->args.xdata;
	struct xl_dict *out = NULL;
	struct posix_xtarget t;
	uint8_t gfid[XL_GFID_LEN];
	bool touches_afr = false, nonzero = false;
	pthread_mutex_t *stripe;
	int ret;

	if (call->args.flags != XL_XATTROP_ADD64 || !in || in->count == 0) {
		ret = -EINVAL;
		goto out;
	}
	out = xl_dict_new();
	if (!out) {
		ret = -ENOMEM;
		goto out;
	}
	ret = posix_xtarget_get(xl, call, &t);
	if (ret == 0)
		ret = posix_xtarget_gfid(&t, gfid);
	if (ret < 0)
		goto put;
	stripe =
	    &posix_xattrop_locks[gfid[XL_GFID_LEN - 1] % POSIX_XATTROP_STRIPES];
	pthread_mutex_lock(stripe);
	for (uint32_t i = 0; i < in->count && ret == 0; i++) {
		const struct xl_dict_pair *p = &in->pairs[i];

		/* Keys the brick's own translators put in xdata. */
		if (strncmp(p->key, "mortar.", 7) == 0)
			continue;
		ret = posix_xattrop_one(&t, p, out);
		if (ret < 0) {
			posix_xattrop_undo(priv, &t, in, i);
			break;
		}
		if (strncmp(p->key, POSIX_AFR_PREFIX,
			    strlen(POSIX_AFR_PREFIX)) == 0) {
			const struct xl_dict_pair *np =
			    xl_dict_get(out, p->key);

			touches_afr = true;
			if (np && !posix_counters_zero(np->value, np->len))
				nonzero = true;
		}
	}
	if (ret == 0 && touches_afr)
		posix_index_set(priv, gfid, nonzero || posix_any_pending(&t));
	pthread_mutex_unlock(stripe);
put:
	posix_xtarget_put(xl, &t);
out:
	if (ret == 0) {
		call->reply.xdata = out;
		out = NULL;
	}
	if (out)
		xl_dict_unref(out);
	call->reply.ret = ret;
	xl_unwind(call);
}
