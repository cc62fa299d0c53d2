/*
 * posix-fixture.c - see posix-fixture.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "posix-fixture.h"
#include "posix-sys.h"
#include "posix.h"

void rec_cbk(struct xl_call *parent, struct xl_call *child, void *cookie)
{
	struct rec *r = cookie;

	(void)parent;
	xl_reply_move(&r->reply, &child->reply);
	r->done = true;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int build_graph(struct fx *f, const char *dir, char **err)
{
	return build_graph_opts(f, dir, "", err);
}

int build_graph_opts(struct fx *f, const char *dir, const char *options,
		     char **err)
{
	struct xl_volfile *vf = NULL;
	char text[PATH_MAX + 512];
	int ret;

	snprintf(text, sizeof(text),
		 "volume brick\n  type storage/posix\n  option directory %s\n"
		 "%send-volume\n",
		 dir, options);
	ret = xl_volfile_parse(text, strlen(text), "test.vol", &vf, err);
	if (ret == 0)
		ret = xl_graph_build(vf, &f->g, err);
	xl_volfile_free(vf);
	if (ret == 0)
		ret = xl_graph_init(f->g, err);
	if (ret != 0 && f->g) {
		xl_graph_destroy(f->g);
		f->g = NULL;
	}
	if (ret == 0)
		f->xl = f->g->top;
	return ret;
}

int setup(void **state)
{
	struct fx *f;
	char *err = NULL;

	if (geteuid() != 0)
		skip(); /* trusted.* xattrs and chown need root */
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (!getenv("MORTAR_XLATOR_PATH"))
		setenv("MORTAR_XLATOR_PATH", POSIX_TEST_XLATOR_PATH, 1);
	umask(0); /* as brickd */
	strcpy(f->tmp, "/tmp/posix-test-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->brick, sizeof(f->brick), "%s/brick", f->tmp);
	snprintf(f->outside, sizeof(f->outside), "%s/outside", f->tmp);
	assert_int_equal(mkdir(f->brick, 0755), 0);
	assert_int_equal(mkdir(f->outside, 0755), 0);
	*state = f;
	if (build_graph(f, f->brick, &err) != 0)
		fail_msg("graph: %s", err ? err : "?");
	f->cred.uid = 0;
	f->cred.gid = 0;
	return 0;
}

int teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	posix_sys_reset();
	if (f->g)
		xl_graph_destroy(f->g);
	nftw(f->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Make a root call, run it, return reply.ret; the reply lands in *r. */
struct xl_call *mk(struct fx *f, enum xl_fop fop, struct rec *r)
{
	struct xl_call *c;

	memset(r, 0, sizeof(*r));
	c = xl_call_new_root(f->g, fop, &f->cred, rec_cbk, r);
	assert_non_null(c);
	return c;
}

int run(struct fx *f, struct xl_call *c, struct rec *r)
{
	xl_call_start(c, f->xl);
	assert_true(r->done);
	return r->reply.ret;
}

void set_entry(struct xl_loc *loc, const uint8_t *pargfid, const char *name,
	       const uint8_t *gfid)
{
	if (pargfid)
		memcpy(loc->pargfid, pargfid, XL_GFID_LEN);
	if (name)
		loc->name = strdup(name);
	if (gfid)
		memcpy(loc->gfid, gfid, XL_GFID_LEN);
}

int do_lookup(struct fx *f, const uint8_t *pargfid, const char *name,
	      const uint8_t *gfid, struct xl_iatt *out)
{
	struct rec r;
	struct xl_call *c = mk(f, XL_FOP_LOOKUP, &r);
	int ret;

	set_entry(&c->args.loc, pargfid, name, gfid);
	ret = run(f, c, &r);
	if (out)
		*out = r.reply.attr;
	xl_reply_clear(&r.reply);
	return ret;
}

/* mkdir / mknod / symlink with a fresh gfid (returned in gfid). */
int do_make(struct fx *f, enum xl_fop fop, const uint8_t *pargfid,
	    const char *name, uint32_t mode, const char *target, uint8_t *gfid,
	    struct xl_iatt *out)
{
	struct rec r;
	struct xl_call *c = mk(f, fop, &r);
	uint8_t g[XL_GFID_LEN];
	int ret;

	xl_gfid_generate(g);
	set_entry(&c->args.loc, pargfid, name, g);
	c->args.mode = mode;
	if (target)
		c->args.xname = strdup(target);
	ret = run(f, c, &r);
	if (gfid)
		memcpy(gfid, g, XL_GFID_LEN);
	if (out)
		*out = r.reply.attr;
	xl_reply_clear(&r.reply);
	return ret;
}

int do_create(struct fx *f, const uint8_t *pargfid, const char *name, int flags,
	      uint32_t mode, uint8_t *gfid, struct xl_fd **fdp)
{
	struct rec r;
	struct xl_call *c = mk(f, XL_FOP_CREATE, &r);
	struct xl_fd *fd;
	uint8_t g[XL_GFID_LEN];
	int ret;

	xl_gfid_generate(g);
	fd = xl_fd_new(f->g, g, NULL, flags, false);
	assert_non_null(fd);
	set_entry(&c->args.loc, pargfid, name, g);
	c->args.flags = flags | O_CREAT;
	c->args.mode = mode;
	c->args.fd = xl_fd_ref(fd);
	ret = run(f, c, &r);
	if (gfid)
		memcpy(gfid, ret == 0 ? r.reply.attr.gfid : g, XL_GFID_LEN);
	xl_reply_clear(&r.reply);
	if (fdp && ret == 0)
		*fdp = fd;
	else
		xl_fd_unref(fd);
	return ret;
}

/* open (or opendir) by gfid */
int do_open(struct fx *f, enum xl_fop fop, const uint8_t *gfid, int flags,
	    struct xl_fd **fdp)
{
	struct rec r;
	struct xl_call *c = mk(f, fop, &r);
	struct xl_fd *fd =
	    xl_fd_new(f->g, gfid, NULL, flags, fop == XL_FOP_OPENDIR);
	int ret;

	set_entry(&c->args.loc, NULL, NULL, gfid);
	c->args.flags = flags;
	c->args.fd = xl_fd_ref(fd);
	ret = run(f, c, &r);
	xl_reply_clear(&r.reply);
	if (fdp && ret == 0)
		*fdp = fd;
	else
		xl_fd_unref(fd);
	return ret;
}

void do_release(struct fx *f, struct xl_fd *fd, enum xl_fop fop)
{
	struct rec r;
	struct xl_call *c = mk(f, fop, &r);

	c->args.fd = fd; /* consumes the caller's ref */
	assert_int_equal(run(f, c, &r), 0);
	xl_reply_clear(&r.reply);
}

int do_entry_op(struct fx *f, enum xl_fop fop, const uint8_t *pargfid,
		const char *name, const uint8_t *p2, const char *n2, int flags)
{
	struct rec r;
	struct xl_call *c = mk(f, fop, &r);
	int ret;

	set_entry(&c->args.loc, pargfid, name, NULL);
	if (n2)
		set_entry(&c->args.loc2, p2, n2, NULL);
	c->args.flags = flags;
	ret = run(f, c, &r);
	xl_reply_clear(&r.reply);
	return ret;
}

void brick_path(struct fx *f, char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", f->brick, rel);
}

void handle_of(struct fx *f, const uint8_t *gfid, char *buf, size_t len)
{
	char rel[POSIX_HANDLE_PATH_MAX];

	posix_handle_path(gfid, rel);
	brick_path(f, buf, len, rel);
}

bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int do_rw(struct fx *f, enum xl_fop fop, struct xl_fd *fd, int64_t off,
	  const char *data, size_t size, struct rec *r)
{
	struct xl_call *c = mk(f, fop, r);

	c->args.fd = xl_fd_ref(fd);
	c->args.offset = off;
	c->args.size = size;
	if (data)
		c->args.data = xl_iobuf_from(data, size);
	return run(f, c, r);
}

int do_xattr(struct fx *f, enum xl_fop fop, const uint8_t *gfid,
	     const char *name, const char *value, uint64_t size, int flags,
	     struct rec *r)
{
	struct xl_call *c = mk(f, fop, r);

	set_entry(&c->args.loc, NULL, NULL, gfid);
	if (name)
		c->args.xname = strdup(name);
	if (value)
		c->args.data = xl_iobuf_from(value, strlen(value));
	c->args.size = size;
	c->args.flags = flags;
	return run(f, c, r);
}
