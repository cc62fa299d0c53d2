/*
 * codec.c - turns fop arguments and replies into frame bodies and back.
 *
 * Which fields travel is decided by xl_fop_info[fop].args / .reply (fop.c):
 * one table, no per-fop code.  Everything is little-endian.  Bulk data
 * (write data, setxattr value, read data, readlink target, xattr values and
 * name lists) does not go in the body: the body carries its length and the
 * bytes travel as the frame's bulk part, so they are never copied.
 *
 * Decoders trust nothing: every count is bounded by what is left in the
 * body, every name is checked, every size is bounded by the fop's limit.
 * On any violation they return -EBADMSG and leave args / reply cleared.
 *
 * Call body:  cred, remote_fd (fd fops), then the masked fields in bit
 *             order, data length (XL_A_DATA), xdata.
 * Reply body: ret, then (ret >= 0 only) remote_fd for open/create/opendir
 *             and the masked reply fields, then xdata.
 */
#include "config.h"

#include "rpc.h"
#include "xlator.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define CODEC_PATH_MAX 4096  /* symlink target bound */
#define CODEC_DICT_MAX 4096  /* xdata pairs bound */
#define CODEC_SET_ALL  0xffu /* every XL_SET_* bit */

/* ---- primitives ------------------------------------------------------ */

void rpc_wbuf_init(struct rpc_wbuf *w)
{
	memset(w, 0, sizeof(*w));
}

void rpc_wbuf_free(struct rpc_wbuf *w)
{
	free(w->data);
	memset(w, 0, sizeof(*w));
}

/* Room for n more bytes; sets the sticky error on failure. */
static uint8_t *codec_reserve(struct rpc_wbuf *w, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (w->err)
		return NULL;
	if (n > SIZE_MAX / 4 - w->len) {
		w->err = -ENOMEM;
		return NULL;
	}
	if (w->len + n > w->cap) {
		cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->data, cap);
		if (!p) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->data = p;
		w->cap = cap;
	}
	p = w->data + w->len;
	w->len += n;
	return p;
}

static void codec_put_raw(struct rpc_wbuf *w, const void *src, size_t n)
{
	uint8_t *p = codec_reserve(w, n);

	if (p && n)
		memcpy(p, src, n);
}

static void codec_put_le(struct rpc_wbuf *w, uint64_t v, int n)
{
	uint8_t *p = codec_reserve(w, (size_t)n);

	if (!p)
		return;
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void rpc_put_u8(struct rpc_wbuf *w, uint8_t v)
{
	codec_put_le(w, v, 1);
}

void rpc_put_u16(struct rpc_wbuf *w, uint16_t v)
{
	codec_put_le(w, v, 2);
}

void rpc_put_u32(struct rpc_wbuf *w, uint32_t v)
{
	codec_put_le(w, v, 4);
}

void rpc_put_u64(struct rpc_wbuf *w, uint64_t v)
{
	codec_put_le(w, v, 8);
}

void rpc_put_bytes(struct rpc_wbuf *w, const void *p, uint32_t len)
{
	rpc_put_u32(w, len);
	codec_put_raw(w, p, len);
}

/* NULL is sent as length UINT32_MAX so the receiver can tell it from "". */
void rpc_put_str(struct rpc_wbuf *w, const char *s)
{
	size_t len;

	if (!s) {
		rpc_put_u32(w, UINT32_MAX);
		return;
	}
	len = strlen(s);
	if (len >= UINT32_MAX) {
		w->err = w->err ? w->err : -ENOMEM;
		return;
	}
	rpc_put_bytes(w, s, (uint32_t)len);
}

void rpc_rbuf_init(struct rpc_rbuf *r, const void *data, size_t len)
{
	r->data = data;
	r->len = data ? len : 0;
	r->pos = 0;
	r->err = 0;
}

static const uint8_t *codec_take(struct rpc_rbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->err || n > r->len - r->pos) {
		r->err = -EBADMSG;
		return NULL;
	}
	p = r->data + r->pos;
	r->pos += n;
	return p;
}

static uint64_t codec_get_le(struct rpc_rbuf *r, int n)
{
	const uint8_t *p = codec_take(r, (size_t)n);
	uint64_t v = 0;

	if (!p)
		return 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint8_t rpc_get_u8(struct rpc_rbuf *r)
{
	return (uint8_t)codec_get_le(r, 1);
}

uint16_t rpc_get_u16(struct rpc_rbuf *r)
{
	return (uint16_t)codec_get_le(r, 2);
}

uint32_t rpc_get_u32(struct rpc_rbuf *r)
{
	return (uint32_t)codec_get_le(r, 4);
}

uint64_t rpc_get_u64(struct rpc_rbuf *r)
{
	return codec_get_le(r, 8);
}

const void *rpc_get_bytes(struct rpc_rbuf *r, uint32_t max, uint32_t *len)
{
	uint32_t n = rpc_get_u32(r);
	const uint8_t *p;

	*len = 0;
	if (r->err)
		return NULL;
	if (n > max) {
		r->err = -EBADMSG;
		return NULL;
	}
	p = codec_take(r, n);
	if (p)
		*len = n;
	return p;
}

int rpc_get_str(struct rpc_rbuf *r, uint32_t max, char **out)
{
	uint32_t n;
	const uint8_t *p;

	*out = NULL;
	n = rpc_get_u32(r);
	if (r->err)
		return r->err;
	if (n == UINT32_MAX)
		return 0;
	if (n > max) {
		r->err = -EBADMSG;
		return r->err;
	}
	p = codec_take(r, n);
	if (!p)
		return r->err;
	if (memchr(p, '\0', n)) {
		r->err = -EBADMSG;
		return r->err;
	}
	*out = malloc((size_t)n + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, p, n);
	(*out)[n] = '\0';
	return 0;
}

static void codec_get_raw(struct rpc_rbuf *r, void *dst, size_t n)
{
	const uint8_t *p = codec_take(r, n);

	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

/* ---- compound types -------------------------------------------------- */

static void codec_put_iatt(struct rpc_wbuf *w, const struct xl_iatt *ia)
{
	uint8_t packed[XL_IATT_PACKED_LEN];

	xl_iatt_pack(packed, ia);
	codec_put_raw(w, packed, sizeof(packed));
}

static void codec_get_iatt(struct rpc_rbuf *r, struct xl_iatt *ia)
{
	const uint8_t *p = codec_take(r, XL_IATT_PACKED_LEN);

	if (!p)
		memset(ia, 0, sizeof(*ia));
	else if (xl_iatt_unpack(p, ia) != 0)
		r->err = -EBADMSG;
}

static void codec_put_loc(struct rpc_wbuf *w, const struct xl_loc *loc)
{
	codec_put_raw(w, loc->gfid, XL_GFID_LEN);
	codec_put_raw(w, loc->pargfid, XL_GFID_LEN);
	rpc_put_str(w, loc->name);
}

/* A loc names one component or none (by gfid); never a path. */
static int codec_get_loc(struct rpc_rbuf *r, struct xl_loc *loc)
{
	int ret;

	codec_get_raw(r, loc->gfid, XL_GFID_LEN);
	codec_get_raw(r, loc->pargfid, XL_GFID_LEN);
	ret = rpc_get_str(r, XL_NAME_MAX, &loc->name);
	if (ret)
		return ret;
	if (loc->name && !xl_name_is_valid(loc->name))
		return -EBADMSG;
	return r->err;
}

static void codec_put_flock(struct rpc_wbuf *w, const struct xl_flock *fl)
{
	rpc_put_u16(w, (uint16_t)fl->type);
	rpc_put_u16(w, (uint16_t)fl->whence);
	rpc_put_u64(w, (uint64_t)fl->start);
	rpc_put_u64(w, (uint64_t)fl->len);
	rpc_put_u32(w, fl->pid);
	rpc_put_u64(w, fl->owner);
}

static void codec_get_flock(struct rpc_rbuf *r, struct xl_flock *fl)
{
	fl->type = (int16_t)rpc_get_u16(r);
	fl->whence = (int16_t)rpc_get_u16(r);
	fl->start = (int64_t)rpc_get_u64(r);
	fl->len = (int64_t)rpc_get_u64(r);
	fl->pid = rpc_get_u32(r);
	fl->owner = rpc_get_u64(r);
	if (fl->type != F_RDLCK && fl->type != F_WRLCK && fl->type != F_UNLCK)
		r->err = -EBADMSG;
	if (fl->whence != SEEK_SET && fl->whence != SEEK_CUR &&
	    fl->whence != SEEK_END)
		r->err = -EBADMSG;
}

static void codec_put_statfs(struct rpc_wbuf *w, const struct xl_statfs *s)
{
	const uint64_t v[] = {s->bsize,	 s->frsize, s->blocks, s->bfree,
			      s->bavail, s->files,  s->ffree,  s->favail,
			      s->fsid,	 s->namemax};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		rpc_put_u64(w, v[i]);
}

static void codec_get_statfs(struct rpc_rbuf *r, struct xl_statfs *s)
{
	s->bsize = rpc_get_u64(r);
	s->frsize = rpc_get_u64(r);
	s->blocks = rpc_get_u64(r);
	s->bfree = rpc_get_u64(r);
	s->bavail = rpc_get_u64(r);
	s->files = rpc_get_u64(r);
	s->ffree = rpc_get_u64(r);
	s->favail = rpc_get_u64(r);
	s->fsid = rpc_get_u64(r);
	s->namemax = rpc_get_u64(r);
}

/* xdata: u8 present, u32 count, count x (str key, bytes value). */
static void codec_put_dict(struct rpc_wbuf *w, const struct xl_dict *d)
{
	rpc_put_u8(w, d ? 1 : 0);
	if (!d)
		return;
	rpc_put_u32(w, d->count);
	for (uint32_t i = 0; i < d->count; i++) {
		rpc_put_str(w, d->pairs[i].key);
		rpc_put_bytes(w, d->pairs[i].value, d->pairs[i].len);
	}
}

static int codec_get_dict(struct rpc_rbuf *r, struct xl_dict **out)
{
	uint8_t present = rpc_get_u8(r);
	uint32_t count, len;
	struct xl_dict *d;
	char *key = NULL;
	const void *val;
	int ret = 0;

	*out = NULL;
	if (r->err || present > 1)
		return -EBADMSG;
	if (!present)
		return 0;
	count = rpc_get_u32(r);
	/* each pair takes at least 8 bytes (two lengths) */
	if (r->err || count > CODEC_DICT_MAX || count > (r->len - r->pos) / 8)
		return -EBADMSG;
	d = xl_dict_new();
	if (!d)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		ret = rpc_get_str(r, XL_XATTR_NAME_MAX, &key);
		if (ret)
			goto out;
		val = rpc_get_bytes(r, XL_XATTR_SIZE_MAX, &len);
		if (r->err || !key || !key[0]) {
			ret = -EBADMSG;
			goto out;
		}
		ret = xl_dict_set(d, key, val, len);
		free(key);
		key = NULL;
		if (ret)
			goto out;
	}
out:
	free(key);
	if (ret) {
		xl_dict_unref(d);
		return ret;
	}
	*out = d;
	return 0;
}

/* Bulk length in the body must match the bulk part exactly. */
static int codec_take_bulk(struct xl_iobuf *bulk, uint32_t len,
			   struct xl_iobuf **out)
{
	size_t have = bulk ? bulk->size : 0;

	*out = NULL;
	if (have != len)
		return -EBADMSG;
	*out = bulk ? xl_iobuf_ref(bulk) : xl_iobuf_new(0);
	return *out ? 0 : -ENOMEM;
}

/* ---- per-fop bounds -------------------------------------------------- */

static uint64_t codec_size_max(enum xl_fop fop)
{
	switch (fop) {
	case XL_FOP_GETXATTR:
	case XL_FOP_LISTXATTR:
		return XL_XATTR_SIZE_MAX;
	case XL_FOP_READ:
	case XL_FOP_READDIR:
	case XL_FOP_READDIRPLUS:
	case XL_FOP_READLINK:
		return XL_IO_SIZE_MAX;
	case XL_FOP_RCHECKSUM:
		return XL_RCHECKSUM_MAX;
	default:
		return UINT64_MAX; /* fallocate length */
	}
}

static uint32_t codec_data_max(enum xl_fop fop)
{
	switch (fop) {
	case XL_FOP_SETXATTR:
	case XL_FOP_GETXATTR:
	case XL_FOP_LISTXATTR:
		return XL_XATTR_SIZE_MAX;
	case XL_FOP_READLINK:
		return CODEC_PATH_MAX;
	default:
		return XL_IO_SIZE_MAX;
	}
}

static bool codec_cmd_valid(enum xl_fop fop, int32_t cmd)
{
	switch (fop) {
	case XL_FOP_LK:
		return cmd == F_GETLK || cmd == F_SETLK || cmd == F_SETLKW;
	case XL_FOP_INODELK:
		return cmd == F_SETLK || cmd == F_SETLKW;
	case XL_FOP_FLOCK:
		cmd &= ~LOCK_NB;
		return cmd == LOCK_SH || cmd == LOCK_EX || cmd == LOCK_UN;
	case XL_FOP_LSEEK:
		return cmd == SEEK_SET || cmd == SEEK_CUR || cmd == SEEK_END ||
		       cmd == SEEK_DATA || cmd == SEEK_HOLE;
	case XL_FOP_FSYNC:
	case XL_FOP_FSYNCDIR:
		return cmd == 0 || cmd == 1;
	default:
		return cmd >= 0; /* fallocate mode bits */
	}
}

static bool codec_fd_fop(enum xl_fop fop)
{
	return xl_fop_info[fop].args & (XL_A_FD | XL_A_FD_OPT);
}

static bool codec_opens_fd(enum xl_fop fop)
{
	return xl_fop_is(fop, XL_F_OPENS_FD);
}

/* ---- calls ----------------------------------------------------------- */

static void codec_put_cred(struct rpc_wbuf *w, const struct xl_cred *c)
{
	uint32_t n = c->ngroups > XL_MAX_GROUPS ? XL_MAX_GROUPS : c->ngroups;

	rpc_put_u32(w, c->uid);
	rpc_put_u32(w, c->gid);
	rpc_put_u32(w, c->pid);
	rpc_put_u32(w, n);
	for (uint32_t i = 0; i < n; i++)
		rpc_put_u32(w, c->groups[i]);
	rpc_put_u64(w, c->lk_owner);
}

static void codec_get_cred(struct rpc_rbuf *r, struct xl_cred *c)
{
	memset(c, 0, sizeof(*c));
	c->uid = rpc_get_u32(r);
	c->gid = rpc_get_u32(r);
	c->pid = rpc_get_u32(r);
	c->ngroups = rpc_get_u32(r);
	if (c->ngroups > XL_MAX_GROUPS) {
		r->err = -EBADMSG;
		c->ngroups = 0;
	}
	for (uint32_t i = 0; i < c->ngroups; i++)
		c->groups[i] = rpc_get_u32(r);
	c->lk_owner = rpc_get_u64(r);
}

int rpc_encode_call(struct rpc_wbuf *w, enum xl_fop fop,
		    const struct xl_cred *cred, const struct xl_args *a,
		    uint64_t remote_fd, struct xl_iobuf **bulk_out)
{
	uint32_t m;

	*bulk_out = NULL;
	if ((unsigned)fop >= XL_FOP_COUNT)
		return -EINVAL;
	m = xl_fop_info[fop].args;
	codec_put_cred(w, cred);
	if (codec_fd_fop(fop))
		rpc_put_u64(w, remote_fd);
	if (m & XL_A_LOC)
		codec_put_loc(w, &a->loc);
	if (m & XL_A_LOC2)
		codec_put_loc(w, &a->loc2);
	if (m & XL_A_FLAGS)
		rpc_put_u32(w, (uint32_t)a->flags);
	if (m & XL_A_MODE)
		rpc_put_u32(w, a->mode);
	if (m & XL_A_UMASK)
		rpc_put_u32(w, a->umask);
	if (m & XL_A_RDEV)
		rpc_put_u64(w, a->rdev);
	if (m & XL_A_OFFSET)
		rpc_put_u64(w, (uint64_t)a->offset);
	if (m & XL_A_SIZE)
		rpc_put_u64(w, a->size);
	if (m & XL_A_CMD)
		rpc_put_u32(w, (uint32_t)a->cmd);
	if (m & XL_A_ATTR) {
		rpc_put_u32(w, a->valid);
		codec_put_iatt(w, &a->attr);
	}
	if (m & XL_A_LOCK)
		codec_put_flock(w, &a->lock);
	if (m & XL_A_XNAME)
		rpc_put_str(w, a->xname);
	if (m & XL_A_DATA) {
		size_t n = a->data ? a->data->size : 0;

		if (n > codec_data_max(fop))
			return -EINVAL;
		rpc_put_u32(w, (uint32_t)n);
		if (n)
			*bulk_out = xl_iobuf_ref(a->data);
	}
	codec_put_dict(w, a->xdata);
	if (w->err && *bulk_out) {
		xl_iobuf_unref(*bulk_out);
		*bulk_out = NULL;
	}
	return w->err;
}

/* The xname of an xattr fop is an xattr name; symlink's is its target. */
static int codec_check_xname(enum xl_fop fop, const char *xname)
{
	size_t max = fop == XL_FOP_SYMLINK ? CODEC_PATH_MAX : XL_XATTR_NAME_MAX;

	if (!xname || !xname[0] || strlen(xname) > max)
		return -EBADMSG;
	return 0;
}

static int codec_get_call_fields(struct rpc_rbuf *r, enum xl_fop fop,
				 struct xl_args *a, struct xl_iobuf *bulk)
{
	uint32_t m = xl_fop_info[fop].args;
	uint32_t dlen;
	int ret;

	if ((m & XL_A_LOC) && (ret = codec_get_loc(r, &a->loc)))
		return ret;
	if ((m & XL_A_LOC2) && (ret = codec_get_loc(r, &a->loc2)))
		return ret;
	if (m & XL_A_FLAGS)
		a->flags = (int32_t)rpc_get_u32(r);
	if (m & XL_A_MODE)
		a->mode = rpc_get_u32(r);
	if (m & XL_A_UMASK)
		a->umask = rpc_get_u32(r);
	if (m & XL_A_RDEV)
		a->rdev = rpc_get_u64(r);
	if (m & XL_A_OFFSET)
		a->offset = (int64_t)rpc_get_u64(r);
	if (m & XL_A_SIZE) {
		a->size = rpc_get_u64(r);
		if (a->size > codec_size_max(fop))
			return -EBADMSG;
	}
	if (m & XL_A_CMD) {
		a->cmd = (int32_t)rpc_get_u32(r);
		if (!r->err && !codec_cmd_valid(fop, a->cmd))
			return -EBADMSG;
	}
	if (m & XL_A_ATTR) {
		a->valid = rpc_get_u32(r);
		codec_get_iatt(r, &a->attr);
		if (a->valid & ~CODEC_SET_ALL)
			return -EBADMSG;
	}
	if (m & XL_A_LOCK)
		codec_get_flock(r, &a->lock);
	if (m & XL_A_XNAME) {
		ret = rpc_get_str(r, CODEC_PATH_MAX, &a->xname);
		if (ret)
			return ret;
		if (codec_check_xname(fop, a->xname))
			return -EBADMSG;
	}
	if (m & XL_A_DATA) {
		dlen = rpc_get_u32(r);
		if (r->err || dlen > codec_data_max(fop))
			return -EBADMSG;
		ret = codec_take_bulk(bulk, dlen, &a->data);
		if (ret)
			return ret;
	} else if (bulk && bulk->size) {
		return -EBADMSG;
	}
	if (r->err)
		return r->err;
	return codec_get_dict(r, &a->xdata);
}

int rpc_decode_call(struct rpc_rbuf *r, enum xl_fop fop, struct xl_cred *cred,
		    struct xl_args *args, uint64_t *remote_fd,
		    struct xl_iobuf *bulk)
{
	int ret;

	memset(args, 0, sizeof(*args));
	memset(cred, 0, sizeof(*cred));
	*remote_fd = 0;
	if ((unsigned)fop >= XL_FOP_COUNT)
		return -EBADMSG;
	codec_get_cred(r, cred);
	if (codec_fd_fop(fop))
		*remote_fd = rpc_get_u64(r);
	if (r->err) {
		ret = -EBADMSG;
		goto out;
	}
	ret = codec_get_call_fields(r, fop, args, bulk);
	if (!ret && (r->err || r->pos != r->len))
		ret = -EBADMSG; /* trailing bytes are a malformed body too */
out:
	if (ret) {
		xl_args_clear(args);
		memset(cred, 0, sizeof(*cred));
		*remote_fd = 0;
		if (ret != -ENOMEM)
			ret = -EBADMSG;
	}
	return ret;
}

/* ---- replies --------------------------------------------------------- */

static void codec_put_entries(struct rpc_wbuf *w, enum xl_fop fop,
			      const struct xl_reply *rep)
{
	rpc_put_u32(w, rep->entry_count);
	for (uint32_t i = 0; i < rep->entry_count; i++) {
		const struct xl_dirent *e = &rep->entries[i];

		rpc_put_u64(w, e->d_off);
		rpc_put_u64(w, e->d_ino);
		rpc_put_u32(w, e->d_type);
		rpc_put_str(w, e->name);
		if (fop == XL_FOP_READDIRPLUS)
			codec_put_iatt(w, &e->attr);
	}
}

/* Directory entries may be "." and ".." but never hold a '/'. */
static bool codec_dirent_name_ok(const char *name)
{
	return name && (xl_name_is_valid(name) || !strcmp(name, ".") ||
			!strcmp(name, ".."));
}

static int codec_get_entries(struct rpc_rbuf *r, enum xl_fop fop,
			     struct xl_reply *rep)
{
	uint32_t count = rpc_get_u32(r);
	/* smallest entry: d_off, d_ino, d_type, name length, 1 name byte */
	size_t min = 8 + 8 + 4 + 4 + 1;
	int ret;

	if (r->err || count > (r->len - r->pos) / min)
		return -EBADMSG;
	if (!count)
		return 0;
	rep->entries = calloc(count, sizeof(*rep->entries));
	if (!rep->entries)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		struct xl_dirent *e = &rep->entries[i];

		rep->entry_count = i + 1;
		e->d_off = rpc_get_u64(r);
		e->d_ino = rpc_get_u64(r);
		e->d_type = rpc_get_u32(r);
		ret = rpc_get_str(r, XL_NAME_MAX, &e->name);
		if (ret)
			return ret;
		if (!codec_dirent_name_ok(e->name) || e->d_type > 15)
			return -EBADMSG;
		if (fop == XL_FOP_READDIRPLUS)
			codec_get_iatt(r, &e->attr);
		if (r->err)
			return -EBADMSG;
	}
	return 0;
}

int rpc_encode_reply(struct rpc_wbuf *w, enum xl_fop fop,
		     const struct xl_reply *rep, uint64_t remote_fd,
		     struct xl_iobuf **bulk_out)
{
	uint32_t m;

	*bulk_out = NULL;
	if ((unsigned)fop >= XL_FOP_COUNT)
		return -EINVAL;
	m = xl_fop_info[fop].reply;
	rpc_put_u32(w, (uint32_t)rep->ret);
	if (rep->ret >= 0) {
		if (codec_opens_fd(fop))
			rpc_put_u64(w, remote_fd);
		if (m & XL_R_ATTR)
			codec_put_iatt(w, &rep->attr);
		if (m & XL_R_DATA) {
			size_t n = rep->data ? rep->data->size : 0;

			if (n > codec_data_max(fop))
				return -EINVAL;
			rpc_put_u8(w, rep->data ? 1 : 0);
			rpc_put_u32(w, (uint32_t)n);
			if (n)
				*bulk_out = xl_iobuf_ref(rep->data);
		}
		if (m & XL_R_ENTRIES)
			codec_put_entries(w, fop, rep);
		if (m & XL_R_STATFS)
			codec_put_statfs(w, &rep->statfs);
		if (m & XL_R_LOCK)
			codec_put_flock(w, &rep->lock);
		if (m & XL_R_OFFSET)
			rpc_put_u64(w, (uint64_t)rep->offset);
	}
	codec_put_dict(w, rep->xdata);
	if (w->err && *bulk_out) {
		xl_iobuf_unref(*bulk_out);
		*bulk_out = NULL;
	}
	return w->err;
}

static int codec_get_reply_data(struct rpc_rbuf *r, enum xl_fop fop,
				struct xl_reply *rep, struct xl_iobuf *bulk)
{
	uint8_t present = rpc_get_u8(r);
	uint32_t dlen = rpc_get_u32(r);

	if (r->err || present > 1 || dlen > codec_data_max(fop))
		return -EBADMSG;
	/* read returns exactly its data; xattr fops may report a size larger
	 * than the data (size query), never smaller */
	if (fop == XL_FOP_READ && (uint32_t)rep->ret != dlen)
		return -EBADMSG;
	if ((fop == XL_FOP_GETXATTR || fop == XL_FOP_LISTXATTR) &&
	    (uint32_t)rep->ret < dlen)
		return -EBADMSG;
	if (!present)
		return dlen || (bulk && bulk->size) ? -EBADMSG : 0;
	return codec_take_bulk(bulk, dlen, &rep->data);
}

static int codec_get_reply_fields(struct rpc_rbuf *r, enum xl_fop fop,
				  struct xl_reply *rep, uint64_t *remote_fd,
				  struct xl_iobuf *bulk)
{
	uint32_t m = xl_fop_info[fop].reply;
	int ret;

	if (codec_opens_fd(fop))
		*remote_fd = rpc_get_u64(r);
	if (m & XL_R_ATTR)
		codec_get_iatt(r, &rep->attr);
	if (m & XL_R_DATA) {
		ret = codec_get_reply_data(r, fop, rep, bulk);
		if (ret)
			return ret;
	}
	if (m & XL_R_ENTRIES) {
		ret = codec_get_entries(r, fop, rep);
		if (ret)
			return ret;
	}
	if (m & XL_R_STATFS)
		codec_get_statfs(r, &rep->statfs);
	if (m & XL_R_LOCK)
		codec_get_flock(r, &rep->lock);
	if (m & XL_R_OFFSET)
		rep->offset = (int64_t)rpc_get_u64(r);
	return r->err;
}

int rpc_decode_reply(struct rpc_rbuf *r, enum xl_fop fop, struct xl_reply *rep,
		     uint64_t *remote_fd, struct xl_iobuf *bulk)
{
	int ret = 0;

	memset(rep, 0, sizeof(*rep));
	*remote_fd = 0;
	if ((unsigned)fop >= XL_FOP_COUNT)
		return -EBADMSG;
	rep->ret = (int32_t)rpc_get_u32(r);
	/* errors are -errno: anything below -4095 is not one */
	if (r->err || rep->ret < -4095) {
		ret = -EBADMSG;
		goto out;
	}
	if (rep->ret >= 0)
		ret = codec_get_reply_fields(r, fop, rep, remote_fd, bulk);
	else if (bulk && bulk->size)
		ret = -EBADMSG;
	if (!ret)
		ret = codec_get_dict(r, &rep->xdata);
	if (!ret && (r->err || r->pos != r->len))
		ret = -EBADMSG;
out:
	if (ret) {
		xl_reply_clear(rep);
		*remote_fd = 0;
		if (ret != -ENOMEM)
			ret = -EBADMSG;
	}
	return ret;
}

/* ---- notices --------------------------------------------------------- */

int rpc_encode_notice_inval(struct rpc_wbuf *w, const struct xl_upcall *up)
{
	rpc_put_u32(w, up->what);
	rpc_put_u64(w, up->gen);
	codec_put_raw(w, up->gfid, XL_GFID_LEN);
	codec_put_raw(w, up->pargfid, XL_GFID_LEN);
	rpc_put_str(w, up->name);
	return w->err;
}

int rpc_decode_notice_inval(struct rpc_rbuf *r, struct xl_upcall *up,
			    char **name_out)
{
	char *name = NULL;
	int ret;

	memset(up, 0, sizeof(*up));
	*name_out = NULL;
	up->what = rpc_get_u32(r);
	up->gen = rpc_get_u64(r);
	codec_get_raw(r, up->gfid, XL_GFID_LEN);
	codec_get_raw(r, up->pargfid, XL_GFID_LEN);
	ret = rpc_get_str(r, XL_NAME_MAX, &name);
	if (ret == 0 && r->err)
		ret = -EBADMSG;
	if (ret == 0 && name && !xl_name_is_valid(name))
		ret = -EBADMSG;
	/* A forget-all names nothing; every other kind names an inode. */
	if (ret == 0 && !(up->what & XL_UP_FORGET_ALL) &&
	    xl_gfid_is_null(up->gfid))
		ret = -EBADMSG;
	if (ret != 0) {
		free(name);
		memset(up, 0, sizeof(*up));
		return ret == -ENOMEM ? ret : -EBADMSG;
	}
	up->what &= XL_UP_KNOWN;
	if (!up->what)
		up->what = XL_UP_ATTR | XL_UP_XATTR;
	up->name = name;
	*name_out = name;
	return 0;
}
