/*
 * test_codec.c - the wire codec and frame header: round trips of every
 * fop's call and reply, truncation, bounds, bad names, random garbage.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "frame.h"
#include "rpc.h"
#include "xlator.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#define FUZZ_ROUNDS 200000

static void fill_iatt(struct xl_iatt *ia, int seed)
{
	for (int i = 0; i < XL_GFID_LEN; i++)
		ia->gfid[i] = (uint8_t)(seed + i);
	ia->ino = 1000u + (unsigned)seed;
	ia->dev = 77;
	ia->mode = 0100644;
	ia->nlink = 2;
	ia->uid = 1001;
	ia->gid = 1002;
	ia->rdev = 0x0801;
	ia->size = 123456789012ull;
	ia->blocks = 99;
	ia->blksize = 4096;
	ia->atime = -5;
	ia->mtime = 1700000000;
	ia->ctime = 1700000001;
	ia->atime_nsec = 1;
	ia->mtime_nsec = 999999999;
	ia->ctime_nsec = 500;
}

static struct xl_dict *make_dict(void)
{
	struct xl_dict *d = xl_dict_new();

	assert_non_null(d);
	assert_int_equal(xl_dict_set_u64(d, "mortar.client-id", 42), 0);
	assert_int_equal(xl_dict_set_str(d, "k2", "value two"), 0);
	return d;
}

static void fill_loc(struct xl_loc *loc, int seed, const char *name)
{
	for (int i = 0; i < XL_GFID_LEN; i++) {
		loc->gfid[i] = (uint8_t)(seed * 3 + i);
		loc->pargfid[i] = (uint8_t)(seed * 5 + i);
	}
	loc->name = name ? strdup(name) : NULL;
}

static const char *xname_for(enum xl_fop fop)
{
	return fop == XL_FOP_SYMLINK ? "../target/file" : "user.test";
}

static int32_t cmd_for(enum xl_fop fop)
{
	switch (fop) {
	case XL_FOP_LK:
	case XL_FOP_INODELK:
		return F_SETLKW;
	case XL_FOP_FLOCK:
		return LOCK_EX | LOCK_NB;
	case XL_FOP_LSEEK:
		return SEEK_DATA;
	case XL_FOP_FSYNC:
	case XL_FOP_FSYNCDIR:
		return 1;
	default:
		return 3;
	}
}

static void fill_args(enum xl_fop fop, struct xl_args *a)
{
	uint32_t m = xl_fop_info[fop].args;

	memset(a, 0, sizeof(*a));
	if (m & XL_A_LOC)
		fill_loc(&a->loc, 1, "name-one");
	if (m & XL_A_LOC2)
		fill_loc(&a->loc2, 2, "name-two");
	a->flags = 0x8241;
	a->mode = 0755;
	a->umask = 022;
	a->rdev = 0x1234;
	a->offset = 1ll << 40;
	a->size =
	    fop == XL_FOP_GETXATTR || fop == XL_FOP_LISTXATTR ? 4096 : 65536;
	a->cmd = cmd_for(fop);
	a->valid = XL_SET_MODE | XL_SET_MTIME;
	fill_iatt(&a->attr, 9);
	a->lock.type = F_WRLCK;
	a->lock.whence = SEEK_SET;
	a->lock.start = 100;
	a->lock.len = 200;
	a->lock.pid = 4321;
	a->lock.owner = 0xdeadbeefcafeull;
	if (m & XL_A_XNAME)
		a->xname = strdup(xname_for(fop));
	if (m & XL_A_DATA)
		a->data = xl_iobuf_from("some bulk data", 14);
	a->xdata = make_dict();
}

static void fill_cred(struct xl_cred *c)
{
	memset(c, 0, sizeof(*c));
	c->uid = 500;
	c->gid = 501;
	c->pid = 777;
	c->ngroups = 3;
	c->groups[0] = 10;
	c->groups[1] = 20;
	c->groups[2] = 30;
	c->lk_owner = 0x1122334455667788ull;
}

static void assert_loc_equal(const struct xl_loc *x, const struct xl_loc *y)
{
	assert_memory_equal(x->gfid, y->gfid, XL_GFID_LEN);
	assert_memory_equal(x->pargfid, y->pargfid, XL_GFID_LEN);
	if (x->name || y->name)
		assert_string_equal(x->name, y->name);
}

static void assert_dict_equal(const struct xl_dict *x, const struct xl_dict *y)
{
	assert_true((x == NULL) == (y == NULL));
	if (!x)
		return;
	assert_int_equal(x->count, y->count);
	for (uint32_t i = 0; i < x->count; i++) {
		assert_string_equal(x->pairs[i].key, y->pairs[i].key);
		assert_int_equal(x->pairs[i].len, y->pairs[i].len);
		assert_memory_equal(x->pairs[i].value, y->pairs[i].value,
				    x->pairs[i].len);
	}
}

static void assert_flock_equal(const struct xl_flock *x,
			       const struct xl_flock *y)
{
	assert_int_equal(x->type, y->type);
	assert_int_equal(x->whence, y->whence);
	assert_int_equal(x->start, y->start);
	assert_int_equal(x->len, y->len);
	assert_int_equal(x->pid, y->pid);
	assert_int_equal(x->owner, y->owner);
}

static void assert_args_equal(enum xl_fop fop, const struct xl_args *x,
			      const struct xl_args *y)
{
	uint32_t m = xl_fop_info[fop].args;

	if (m & XL_A_LOC)
		assert_loc_equal(&x->loc, &y->loc);
	if (m & XL_A_LOC2)
		assert_loc_equal(&x->loc2, &y->loc2);
	if (m & XL_A_FLAGS)
		assert_int_equal(x->flags, y->flags);
	if (m & XL_A_MODE)
		assert_int_equal(x->mode, y->mode);
	if (m & XL_A_UMASK)
		assert_int_equal(x->umask, y->umask);
	if (m & XL_A_RDEV)
		assert_int_equal(x->rdev, y->rdev);
	if (m & XL_A_OFFSET)
		assert_int_equal(x->offset, y->offset);
	if (m & XL_A_SIZE)
		assert_int_equal(x->size, y->size);
	if (m & XL_A_CMD)
		assert_int_equal(x->cmd, y->cmd);
	if (m & XL_A_ATTR) {
		assert_int_equal(x->valid, y->valid);
		assert_memory_equal(&x->attr, &y->attr, sizeof(x->attr));
	}
	if (m & XL_A_LOCK)
		assert_flock_equal(&x->lock, &y->lock);
	if (m & XL_A_XNAME)
		assert_string_equal(x->xname, y->xname);
	if (m & XL_A_DATA) {
		assert_non_null(y->data);
		assert_int_equal(x->data->size, y->data->size);
		assert_memory_equal(x->data->data, y->data->data,
				    x->data->size);
	}
	assert_dict_equal(x->xdata, y->xdata);
}

static void assert_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(b[i], 0);
}

static void encode_call(enum xl_fop fop, struct xl_args *a, struct rpc_wbuf *w,
			struct xl_iobuf **bulk)
{
	struct xl_cred cred;

	fill_cred(&cred);
	fill_args(fop, a);
	rpc_wbuf_init(w);
	assert_int_equal(rpc_encode_call(w, fop, &cred, a, 77, bulk), 0);
}

static void test_call_roundtrip(void **state)
{
	for (int fop = 0; fop < XL_FOP_COUNT; fop++) {
		struct xl_args a, b;
		struct xl_cred cred, got;
		struct rpc_wbuf w;
		struct rpc_rbuf r;
		struct xl_iobuf *bulk;
		uint64_t rfd;

		fill_cred(&cred);
		encode_call(fop, &a, &w, &bulk);
		assert_true((bulk != NULL) ==
			    !!(xl_fop_info[fop].args & XL_A_DATA));
		rpc_rbuf_init(&r, w.data, w.len);
		assert_int_equal(rpc_decode_call(&r, fop, &got, &b, &rfd, bulk),
				 0);
		assert_memory_equal(&cred, &got, sizeof(cred));
		if (xl_fop_info[fop].args & (XL_A_FD | XL_A_FD_OPT))
			assert_int_equal(rfd, 77);
		assert_args_equal(fop, &a, &b);
		xl_args_clear(&b);

		/* every strict prefix is malformed, and leaks nothing */
		for (size_t n = 0; n < w.len; n++) {
			rpc_rbuf_init(&r, w.data, n);
			assert_int_equal(
			    rpc_decode_call(&r, fop, &got, &b, &rfd, bulk),
			    -EBADMSG);
			assert_zero(&b, sizeof(b));
		}
		/* a bulk part that does not match is malformed too */
		if (bulk) {
			struct xl_iobuf *other = xl_iobuf_from("x", 1);

			rpc_rbuf_init(&r, w.data, w.len);
			assert_int_equal(
			    rpc_decode_call(&r, fop, &got, &b, &rfd, other),
			    -EBADMSG);
			rpc_rbuf_init(&r, w.data, w.len);
			assert_int_equal(
			    rpc_decode_call(&r, fop, &got, &b, &rfd, NULL),
			    -EBADMSG);
			xl_iobuf_unref(other);
			xl_iobuf_unref(bulk);
		}
		xl_args_clear(&a);
		rpc_wbuf_free(&w);
	}
}

static void fill_reply(enum xl_fop fop, struct xl_reply *rep)
{
	uint32_t m = xl_fop_info[fop].reply;

	memset(rep, 0, sizeof(*rep));
	rep->ret = 0;
	fill_iatt(&rep->attr, 4);
	if (m & XL_R_DATA) {
		rep->data = xl_iobuf_from("reply-data!", 11);
		rep->ret = 11;
	}
	if (m & XL_R_ENTRIES) {
		static const char *names[] = {".", "..", "file-a"};

		rep->entry_count = 3;
		rep->entries = calloc(3, sizeof(*rep->entries));
		for (int i = 0; i < 3; i++) {
			rep->entries[i].d_off = 10u + (unsigned)i;
			rep->entries[i].d_ino = 20u + (unsigned)i;
			rep->entries[i].d_type = 4;
			rep->entries[i].name = strdup(names[i]);
			fill_iatt(&rep->entries[i].attr, i);
		}
	}
	rep->statfs.bsize = 4096;
	rep->statfs.blocks = 1u << 30;
	rep->statfs.namemax = 255;
	rep->statfs.fsid = 0xabcdef;
	rep->lock.type = F_RDLCK;
	rep->lock.whence = SEEK_SET;
	rep->lock.start = 5;
	rep->lock.len = 6;
	rep->lock.pid = 7;
	rep->lock.owner = 8;
	rep->offset = 987654321;
	rep->xdata = make_dict();
}

static void assert_reply_equal(enum xl_fop fop, const struct xl_reply *x,
			       const struct xl_reply *y)
{
	uint32_t m = xl_fop_info[fop].reply;

	assert_int_equal(x->ret, y->ret);
	if (m & XL_R_ATTR)
		assert_memory_equal(&x->attr, &y->attr, sizeof(x->attr));
	if (m & XL_R_DATA) {
		assert_non_null(y->data);
		assert_int_equal(x->data->size, y->data->size);
		assert_memory_equal(x->data->data, y->data->data,
				    x->data->size);
	}
	if (m & XL_R_ENTRIES) {
		assert_int_equal(x->entry_count, y->entry_count);
		for (uint32_t i = 0; i < x->entry_count; i++) {
			assert_int_equal(x->entries[i].d_off,
					 y->entries[i].d_off);
			assert_int_equal(x->entries[i].d_ino,
					 y->entries[i].d_ino);
			assert_int_equal(x->entries[i].d_type,
					 y->entries[i].d_type);
			assert_string_equal(x->entries[i].name,
					    y->entries[i].name);
			if (fop == XL_FOP_READDIRPLUS)
				assert_memory_equal(&x->entries[i].attr,
						    &y->entries[i].attr,
						    sizeof(struct xl_iatt));
		}
	}
	if (m & XL_R_STATFS)
		assert_memory_equal(&x->statfs, &y->statfs, sizeof(x->statfs));
	if (m & XL_R_LOCK)
		assert_flock_equal(&x->lock, &y->lock);
	if (m & XL_R_OFFSET)
		assert_int_equal(x->offset, y->offset);
	assert_dict_equal(x->xdata, y->xdata);
}

static void test_reply_roundtrip(void **state)
{
	for (int fop = 0; fop < XL_FOP_COUNT; fop++) {
		struct xl_reply a, b;
		struct rpc_wbuf w;
		struct rpc_rbuf r;
		struct xl_iobuf *bulk;
		uint64_t rfd;
		bool opens = xl_fop_is(fop, XL_F_OPENS_FD);

		fill_reply(fop, &a);
		rpc_wbuf_init(&w);
		assert_int_equal(rpc_encode_reply(&w, fop, &a, 99, &bulk), 0);
		rpc_rbuf_init(&r, w.data, w.len);
		assert_int_equal(rpc_decode_reply(&r, fop, &b, &rfd, bulk), 0);
		assert_int_equal(rfd, opens ? 99 : 0);
		assert_reply_equal(fop, &a, &b);
		xl_reply_clear(&b);
		for (size_t n = 0; n < w.len; n++) {
			rpc_rbuf_init(&r, w.data, n);
			assert_int_equal(
			    rpc_decode_reply(&r, fop, &b, &rfd, bulk),
			    -EBADMSG);
			assert_zero(&b, sizeof(b));
		}
		if (bulk)
			xl_iobuf_unref(bulk);
		rpc_wbuf_free(&w);
		xl_reply_clear(&a);

		/* an error reply carries only ret and xdata */
		a.ret = -ENOENT;
		rpc_wbuf_init(&w);
		assert_int_equal(rpc_encode_reply(&w, fop, &a, 0, &bulk), 0);
		assert_null(bulk);
		rpc_rbuf_init(&r, w.data, w.len);
		assert_int_equal(rpc_decode_reply(&r, fop, &b, &rfd, NULL), 0);
		assert_int_equal(b.ret, -ENOENT);
		rpc_wbuf_free(&w);
		xl_reply_clear(&b);
	}
}

static int decode_lookup_named(const char *name)
{
	struct xl_args a = {0}, b;
	struct xl_cred cred, got;
	struct rpc_wbuf w;
	struct rpc_rbuf r;
	struct xl_iobuf *bulk;
	uint64_t rfd;
	int ret;

	fill_cred(&cred);
	a.loc.name = (char *)name;
	rpc_wbuf_init(&w);
	assert_int_equal(
	    rpc_encode_call(&w, XL_FOP_LOOKUP, &cred, &a, 0, &bulk), 0);
	rpc_rbuf_init(&r, w.data, w.len);
	ret = rpc_decode_call(&r, XL_FOP_LOOKUP, &got, &b, &rfd, NULL);
	if (ret == 0)
		xl_args_clear(&b);
	else
		assert_zero(&b, sizeof(b));
	rpc_wbuf_free(&w);
	return ret;
}

static void test_bad_names(void **state)
{
	char longname[XL_NAME_MAX + 2];

	assert_int_equal(decode_lookup_named(".."), -EBADMSG);
	assert_int_equal(decode_lookup_named("."), -EBADMSG);
	assert_int_equal(decode_lookup_named("a/b"), -EBADMSG);
	assert_int_equal(decode_lookup_named("/"), -EBADMSG);
	assert_int_equal(decode_lookup_named(""), -EBADMSG);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(decode_lookup_named(longname), -EBADMSG);
	longname[XL_NAME_MAX] = '\0';
	assert_int_equal(decode_lookup_named(longname), 0);
	assert_int_equal(decode_lookup_named("ok.name"), 0);
	assert_int_equal(decode_lookup_named(NULL), 0); /* by gfid */
}

/* A hand-made call body for fop with the given cred group count. */
static void put_cred(struct rpc_wbuf *w, uint32_t ngroups)
{
	rpc_put_u32(w, 1);
	rpc_put_u32(w, 2);
	rpc_put_u32(w, 3);
	rpc_put_u32(w, ngroups);
	for (uint32_t i = 0; i < ngroups && i < 4; i++)
		rpc_put_u32(w, i);
	rpc_put_u64(w, 0);
}

static int decode_call_buf(enum xl_fop fop, struct rpc_wbuf *w,
			   struct xl_iobuf *bulk)
{
	struct xl_args b;
	struct xl_cred got;
	struct rpc_rbuf r;
	uint64_t rfd;
	int ret;

	rpc_rbuf_init(&r, w->data, w->len);
	ret = rpc_decode_call(&r, fop, &got, &b, &rfd, bulk);
	if (ret == 0)
		xl_args_clear(&b);
	else
		assert_zero(&b, sizeof(b));
	rpc_wbuf_free(w);
	return ret;
}

static void test_oversized(void **state)
{
	struct rpc_wbuf w;
	struct xl_args a;
	struct xl_cred cred;
	struct xl_iobuf *bulk, *big;
	struct xl_reply rep, out;
	struct rpc_rbuf r;
	uint64_t rfd;

	/* too many groups */
	rpc_wbuf_init(&w);
	put_cred(&w, XL_MAX_GROUPS + 1);
	assert_int_equal(decode_call_buf(XL_FOP_FLUSH, &w, NULL), -EBADMSG);

	/* read size over XL_IO_SIZE_MAX */
	fill_cred(&cred);
	fill_args(XL_FOP_READ, &a);
	a.size = XL_IO_SIZE_MAX + 1;
	rpc_wbuf_init(&w);
	assert_int_equal(rpc_encode_call(&w, XL_FOP_READ, &cred, &a, 1, &bulk),
			 0);
	assert_int_equal(decode_call_buf(XL_FOP_READ, &w, NULL), -EBADMSG);
	xl_args_clear(&a);

	/* getxattr size over the xattr bound, xattr name too long */
	fill_args(XL_FOP_GETXATTR, &a);
	a.size = XL_XATTR_SIZE_MAX + 1;
	rpc_wbuf_init(&w);
	assert_int_equal(
	    rpc_encode_call(&w, XL_FOP_GETXATTR, &cred, &a, 1, &bulk), 0);
	assert_int_equal(decode_call_buf(XL_FOP_GETXATTR, &w, NULL), -EBADMSG);
	a.size = 10;
	free(a.xname);
	a.xname = malloc(XL_XATTR_NAME_MAX + 2);
	memset(a.xname, 'n', XL_XATTR_NAME_MAX + 1);
	a.xname[XL_XATTR_NAME_MAX + 1] = '\0';
	rpc_wbuf_init(&w);
	assert_int_equal(
	    rpc_encode_call(&w, XL_FOP_GETXATTR, &cred, &a, 1, &bulk), 0);
	assert_int_equal(decode_call_buf(XL_FOP_GETXATTR, &w, NULL), -EBADMSG);
	xl_args_clear(&a);

	/* setxattr value over XL_XATTR_SIZE_MAX: the encoder refuses it and
	 * the decoder rejects a hand-made one */
	fill_args(XL_FOP_SETXATTR, &a);
	xl_iobuf_unref(a.data);
	big = xl_iobuf_new(XL_XATTR_SIZE_MAX + 1);
	big->size = XL_XATTR_SIZE_MAX + 1;
	memset(big->data, 1, big->size);
	a.data = xl_iobuf_ref(big);
	rpc_wbuf_init(&w);
	assert_int_equal(
	    rpc_encode_call(&w, XL_FOP_SETXATTR, &cred, &a, 1, &bulk), -EINVAL);
	rpc_wbuf_free(&w);
	xl_args_clear(&a);
	xl_iobuf_unref(big);

	/* bad enum values: lk cmd, lock type, flock cmd */
	fill_args(XL_FOP_LK, &a);
	a.cmd = 12345;
	rpc_wbuf_init(&w);
	assert_int_equal(rpc_encode_call(&w, XL_FOP_LK, &cred, &a, 1, &bulk),
			 0);
	assert_int_equal(decode_call_buf(XL_FOP_LK, &w, NULL), -EBADMSG);
	a.cmd = F_SETLK;
	a.lock.type = 99;
	rpc_wbuf_init(&w);
	assert_int_equal(rpc_encode_call(&w, XL_FOP_LK, &cred, &a, 1, &bulk),
			 0);
	assert_int_equal(decode_call_buf(XL_FOP_LK, &w, NULL), -EBADMSG);
	xl_args_clear(&a);

	/* xdata with a huge count */
	rpc_wbuf_init(&w);
	put_cred(&w, 0);
	rpc_put_u64(&w, 1); /* remote fd */
	rpc_put_u8(&w, 1);
	rpc_put_u32(&w, 0xffffffffu);
	assert_int_equal(decode_call_buf(XL_FOP_FLUSH, &w, NULL), -EBADMSG);

	/* bulk sent with a fop that has no data */
	rpc_wbuf_init(&w);
	put_cred(&w, 0);
	rpc_put_u64(&w, 1);
	rpc_put_u8(&w, 0);
	big = xl_iobuf_from("zz", 2);
	assert_int_equal(decode_call_buf(XL_FOP_FLUSH, &w, big), -EBADMSG);
	xl_iobuf_unref(big);

	/* readdir reply with a huge entry count */
	rpc_wbuf_init(&w);
	rpc_put_u32(&w, 0);
	rpc_put_u32(&w, 1u << 30);
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_decode_reply(&r, XL_FOP_READDIR, &out, &rfd, NULL),
			 -EBADMSG);
	assert_zero(&out, sizeof(out));
	rpc_wbuf_free(&w);

	/* read reply whose data length disagrees with ret */
	fill_reply(XL_FOP_READ, &rep);
	rep.ret = 5;
	rpc_wbuf_init(&w);
	assert_int_equal(rpc_encode_reply(&w, XL_FOP_READ, &rep, 0, &bulk), 0);
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_decode_reply(&r, XL_FOP_READ, &out, &rfd, bulk),
			 -EBADMSG);
	assert_zero(&out, sizeof(out));
	xl_iobuf_unref(bulk);
	rpc_wbuf_free(&w);
	xl_reply_clear(&rep);

	/* a dirent name with a slash */
	fill_reply(XL_FOP_READDIR, &rep);
	free(rep.entries[2].name);
	rep.entries[2].name = strdup("../etc");
	rpc_wbuf_init(&w);
	assert_int_equal(rpc_encode_reply(&w, XL_FOP_READDIR, &rep, 0, &bulk),
			 0);
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_decode_reply(&r, XL_FOP_READDIR, &out, &rfd, NULL),
			 -EBADMSG);
	rpc_wbuf_free(&w);
	xl_reply_clear(&rep);

	/* strings: over the bound, with a NUL inside */
	rpc_wbuf_init(&w);
	rpc_put_bytes(&w, "ab\0cd", 5);
	rpc_rbuf_init(&r, w.data, w.len);
	char *s = NULL;
	assert_int_equal(rpc_get_str(&r, 100, &s), -EBADMSG);
	assert_null(s);
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_get_str(&r, 4, &s), -EBADMSG);
	rpc_wbuf_free(&w);
}

static uint64_t fuzz_state = 0x9e3779b97f4a7c15ull;

static uint64_t fuzz_rand(void)
{
	/* xorshift64*: fixed seed, same sequence every run */
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return fuzz_state * 2685821657736338717ull;
}

static void fuzz_one(enum xl_fop fop, const uint8_t *buf, size_t len,
		     struct xl_iobuf *bulk)
{
	struct xl_args a;
	struct xl_cred c;
	struct xl_reply rep;
	struct rpc_rbuf r;
	uint64_t rfd;

	rpc_rbuf_init(&r, buf, len);
	if (rpc_decode_call(&r, fop, &c, &a, &rfd, bulk) == 0)
		xl_args_clear(&a);
	rpc_rbuf_init(&r, buf, len);
	if (rpc_decode_reply(&r, fop, &rep, &rfd, bulk) == 0)
		xl_reply_clear(&rep);
}

/* Fixed-seed garbage: random bodies, and call and reply encodings with
 * a few bits flipped.  Decoding must never crash or leak (ASan in CI). */
static void test_fuzz(void **state)
{
	struct rpc_wbuf enc[2][XL_FOP_COUNT];
	struct xl_iobuf *bulks[2][XL_FOP_COUNT];
	uint8_t buf[1024];

	for (int fop = 0; fop < XL_FOP_COUNT; fop++) {
		struct xl_args a;
		struct xl_reply rep;

		encode_call(fop, &a, &enc[0][fop], &bulks[0][fop]);
		xl_args_clear(&a);
		fill_reply(fop, &rep);
		rpc_wbuf_init(&enc[1][fop]);
		assert_int_equal(rpc_encode_reply(&enc[1][fop], fop, &rep, 5,
						  &bulks[1][fop]),
				 0);
		xl_reply_clear(&rep);
	}
	for (int i = 0; i < FUZZ_ROUNDS; i++) {
		enum xl_fop fop = (enum xl_fop)(fuzz_rand() % XL_FOP_COUNT);
		int kind = (int)(fuzz_rand() % 2);
		size_t len;

		if (i % 2) {
			len = fuzz_rand() % sizeof(buf);
			for (size_t j = 0; j < len; j++)
				buf[j] = (uint8_t)fuzz_rand();
		} else {
			len = enc[kind][fop].len;
			memcpy(buf, enc[kind][fop].data, len);
			for (int flips = 1 + (int)(fuzz_rand() % 4); flips;
			     flips--) {
				size_t bit = fuzz_rand() % (len * 8);

				buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
		}
		fuzz_one(fop, buf, len, i % 3 ? bulks[kind][fop] : NULL);
	}
	for (int k = 0; k < 2; k++) {
		for (int fop = 0; fop < XL_FOP_COUNT; fop++) {
			rpc_wbuf_free(&enc[k][fop]);
			if (bulks[k][fop])
				xl_iobuf_unref(bulks[k][fop]);
		}
	}
}

/* An iatt's bytes are the wire's: pinned here so the codec and the dict
 * values that carry one (mortar.postparent) cannot drift apart. */
static void test_iatt_layout(void **state)
{
	struct xl_iatt ia, back;
	uint8_t packed[XL_IATT_PACKED_LEN];
	struct xl_dict *d = xl_dict_new();

	(void)state;
	assert_int_equal(XL_IATT_PACKED_LEN, 112);
	/* zeroed first: the struct's padding takes part in the compares. */
	memset(&ia, 0, sizeof(ia));
	memset(&back, 0, sizeof(back));
	fill_iatt(&ia, 3);
	xl_iatt_pack(packed, &ia);
	assert_memory_equal(packed, ia.gfid, XL_GFID_LEN);
	/* ino little-endian right after the gfid; size at 16+8+8+16+8. */
	assert_int_equal(packed[16], (uint8_t)1003);
	assert_int_equal(packed[17], 1003 >> 8);
	assert_int_equal(packed[56], (uint8_t)(123456789012ull & 0xff));
	/* the last field is ctime_nsec (500). */
	assert_int_equal(packed[108], 500 & 0xff);
	assert_int_equal(packed[109], 500 >> 8);
	assert_int_equal(xl_iatt_unpack(packed, &back), 0);
	assert_memory_equal(&back, &ia, sizeof(ia));

	assert_non_null(d);
	assert_int_equal(xl_dict_set_iatt(d, "k", &ia), 0);
	memset(&back, 0, sizeof(back));
	assert_int_equal(xl_dict_get_iatt(d, "k", &back), 0);
	assert_memory_equal(&back, &ia, sizeof(ia));
	assert_int_equal(xl_dict_get_iatt(d, "none", &back), -ENOENT);
	assert_int_equal(xl_dict_set(d, "short", packed, 100), 0);
	assert_int_equal(xl_dict_get_iatt(d, "short", &back), -EINVAL);
	ia.mtime_nsec = 1000000000u;
	assert_int_equal(xl_dict_set_iatt(d, "bad", &ia), 0);
	assert_int_equal(xl_dict_get_iatt(d, "bad", &back), -EINVAL);
	xl_dict_unref(d);
}

static void test_frame_header(void **state)
{
	uint8_t h[RPC_HEADER_LEN], bad[RPC_HEADER_LEN];
	struct rpc_frame_hdr f;

	rpc_frame_encode(h, RPC_T_REQUEST, 100, 200, 0x123456789ull, 7);
	assert_int_equal(rpc_frame_parse(h, &f), 0);
	assert_int_equal(f.type, RPC_T_REQUEST);
	assert_int_equal(f.body_len, 100);
	assert_int_equal(f.bulk_len, 200);
	assert_int_equal(f.xid, 0x123456789ull);
	assert_int_equal(f.proc, 7);

	memcpy(bad, h, sizeof(h));
	bad[0] ^= 1; /* magic */
	assert_int_equal(rpc_frame_parse(bad, &f), -EBADMSG);
	memcpy(bad, h, sizeof(h));
	bad[4] = 2; /* version */
	assert_int_equal(rpc_frame_parse(bad, &f), -EBADMSG);
	memcpy(bad, h, sizeof(h));
	bad[6] = 3; /* type: a notice is one */
	assert_int_equal(rpc_frame_parse(bad, &f), 0);
	assert_int_equal(f.type, RPC_T_NOTICE);
	bad[6] = 4; /* type */
	assert_int_equal(rpc_frame_parse(bad, &f), -EBADMSG);
	rpc_frame_encode(bad, RPC_T_REPLY, RPC_BODY_MAX + 1, 0, 1, 1);
	assert_int_equal(rpc_frame_parse(bad, &f), -EBADMSG);
	rpc_frame_encode(bad, RPC_T_REPLY, 0, RPC_BULK_MAX + 1, 1, 1);
	assert_int_equal(rpc_frame_parse(bad, &f), -EBADMSG);
	rpc_frame_encode(bad, RPC_T_REPLY, RPC_BODY_MAX, RPC_BULK_MAX, 1, 1);
	assert_int_equal(rpc_frame_parse(bad, &f), 0);
}

/* Cache invalidation notices: round trip, bounds, what a newer brick may
 * send (unknown bits, appended fields), and what no brick may. */
static void test_notice_inval(void **state)
{
	struct xl_upcall up = {.what = XL_UP_ENTRY | XL_UP_ATTR,
			       .gen = 0x1122334455667788ull,
			       .name = "some-name"};
	struct xl_upcall got;
	struct rpc_wbuf w;
	struct rpc_rbuf r;
	char *name;

	(void)state;
	for (int i = 0; i < XL_GFID_LEN; i++) {
		up.gfid[i] = (uint8_t)(i + 1);
		up.pargfid[i] = (uint8_t)(0x80 + i);
	}
	rpc_wbuf_init(&w);
	assert_int_equal(rpc_encode_notice_inval(&w, &up), 0);
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_decode_notice_inval(&r, &got, &name), 0);
	assert_int_equal(got.what, up.what);
	assert_true(got.gen == up.gen);
	assert_memory_equal(got.gfid, up.gfid, XL_GFID_LEN);
	assert_memory_equal(got.pargfid, up.pargfid, XL_GFID_LEN);
	assert_string_equal(got.name, "some-name");
	assert_ptr_equal(got.name, name);
	free(name);

	/* every truncation is refused, nothing leaks */
	for (size_t len = 0; len < w.len; len++) {
		rpc_rbuf_init(&r, w.data, len);
		assert_int_equal(rpc_decode_notice_inval(&r, &got, &name),
				 -EBADMSG);
		assert_null(name);
	}
	/* fields a newer brick appends are ignored */
	rpc_put_u64(&w, 42);
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_decode_notice_inval(&r, &got, &name), 0);
	free(name);
	rpc_wbuf_free(&w);

	/* a kind of change this build does not know drops attrs and xattrs */
	up.what = 1u << 30;
	up.name = NULL;
	rpc_wbuf_init(&w);
	rpc_encode_notice_inval(&w, &up);
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_decode_notice_inval(&r, &got, &name), 0);
	assert_int_equal(got.what, XL_UP_ATTR | XL_UP_XATTR);
	assert_null(got.name);
	rpc_wbuf_free(&w);

	/* a path is not a name */
	up.what = XL_UP_ENTRY;
	up.name = "a/b";
	rpc_wbuf_init(&w);
	rpc_encode_notice_inval(&w, &up);
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_decode_notice_inval(&r, &got, &name), -EBADMSG);
	assert_null(name);
	rpc_wbuf_free(&w);

	/* only a forget-all may name no inode */
	memset(up.gfid, 0, sizeof(up.gfid));
	up.name = NULL;
	rpc_wbuf_init(&w);
	rpc_encode_notice_inval(&w, &up);
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_decode_notice_inval(&r, &got, &name), -EBADMSG);
	rpc_wbuf_free(&w);
	up.what = XL_UP_FORGET_ALL;
	rpc_wbuf_init(&w);
	rpc_encode_notice_inval(&w, &up);
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_decode_notice_inval(&r, &got, &name), 0);
	assert_int_equal(got.what, XL_UP_FORGET_ALL);
	rpc_wbuf_free(&w);
}

static void test_primitives(void **state)
{
	struct rpc_wbuf w;
	struct rpc_rbuf r;
	uint32_t len;
	char *s;

	rpc_wbuf_init(&w);
	rpc_put_u8(&w, 0xab);
	rpc_put_u16(&w, 0xbeef);
	rpc_put_u32(&w, 0xdeadbeef);
	rpc_put_u64(&w, 0x0102030405060708ull);
	rpc_put_str(&w, "hello");
	rpc_put_str(&w, NULL);
	rpc_put_bytes(&w, "xyz", 3);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.data[1], 0xef); /* little-endian */
	rpc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(rpc_get_u8(&r), 0xab);
	assert_int_equal(rpc_get_u16(&r), 0xbeef);
	assert_int_equal(rpc_get_u32(&r), 0xdeadbeef);
	assert_int_equal(rpc_get_u64(&r), 0x0102030405060708ull);
	assert_int_equal(rpc_get_str(&r, 10, &s), 0);
	assert_string_equal(s, "hello");
	free(s);
	assert_int_equal(rpc_get_str(&r, 10, &s), 0);
	assert_null(s);
	assert_memory_equal(rpc_get_bytes(&r, 3, &len), "xyz", 3);
	assert_int_equal(len, 3);
	assert_int_equal(r.err, 0);
	assert_int_equal(rpc_get_u32(&r), 0); /* past the end */
	assert_int_equal(r.err, -EBADMSG);
	assert_int_equal(rpc_get_u8(&r), 0); /* sticky */
	rpc_wbuf_free(&w);
}

/* The fop table's facts agree with its field lists: an fd fop says what
 * kind of fd, never both; the fops that open say so. */
static void test_fop_facts(void **state)
{
	(void)state;
	for (int fop = 0; fop < XL_FOP_COUNT; fop++) {
		uint32_t a = xl_fop_info[fop].args;

		if (xl_fop_is(fop, XL_F_FILE_FD) || xl_fop_is(fop, XL_F_DIR_FD))
			assert_true(a & XL_A_FD);
		assert_false(xl_fop_is(fop, XL_F_FILE_FD | XL_F_DIR_FD));
		if (xl_fop_is(fop, XL_F_OPENS_FD))
			assert_true(a & XL_A_FD);
	}
	assert_true(xl_fop_is(XL_FOP_OPEN, XL_F_OPENS_FD));
	assert_true(xl_fop_is(XL_FOP_CREATE, XL_F_OPENS_FD));
	assert_true(xl_fop_is(XL_FOP_OPENDIR, XL_F_OPENS_FD));
	assert_false(xl_fop_is(XL_FOP_READ, XL_F_OPENS_FD));
	assert_true(xl_fop_is(XL_FOP_READDIRPLUS, XL_F_DIR_FD));
	assert_true(xl_fop_is(XL_FOP_INODELK, XL_F_CLIENT_TAG));
	/* features/upcall needs the caller on what caches and what changes */
	assert_true(xl_fop_is(XL_FOP_STAT, XL_F_CLIENT_TAG));
	assert_true(xl_fop_is(XL_FOP_WRITE, XL_F_CLIENT_TAG));
	assert_true(xl_fop_is(XL_FOP_RENAME, XL_F_CLIENT_TAG));
	assert_false(xl_fop_is(XL_FOP_READ, XL_F_CLIENT_TAG));
	assert_false(xl_fop_is(-1, 0));
	assert_false(xl_fop_is(XL_FOP_COUNT, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_primitives),
	    cmocka_unit_test(test_call_roundtrip),
	    cmocka_unit_test(test_reply_roundtrip),
	    cmocka_unit_test(test_fop_facts),
	    cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_iatt_layout),
	    cmocka_unit_test(test_frame_header),
	    cmocka_unit_test(test_notice_inval),
	    cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
