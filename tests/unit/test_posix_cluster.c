/*
 * test_posix_cluster.c - what storage/posix does for the cluster
 * translators (doc/cluster.md): internal xattrs behind "mortar.internal",
 * xattrs returned with a lookup ("mortar.xattr-req"), XATTROP and the
 * pending-heal index (a virtual directory), RCHECKSUM.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <xxhash.h>

#include <cmocka.h>

#include "posix-fixture.h"
#include "posix-sys.h"
#include "posix.h"

#include <pthread.h>
#include <time.h>

extern const struct xl_desc mortar_xlator; /* the compiled-in copy */

#define AFR_A "trusted.mortar.afr.vol-client-0"
#define AFR_B "trusted.mortar.afr.vol-client-1"

static void mark_internal(struct xl_call *c)
{
	if (!c->args.xdata)
		c->args.xdata = xl_dict_new();
	assert_non_null(c->args.xdata);
	assert_int_equal(xl_dict_set_u64(c->args.xdata, "mortar.internal", 1),
			 0);
}

static int internal_xattr(struct fx *f, enum xl_fop fop, const uint8_t *gfid,
			  const char *name, const char *value, uint64_t size,
			  struct rec *r)
{
	struct xl_call *c = mk(f, fop, r);

	set_entry(&c->args.loc, NULL, NULL, gfid);
	if (name)
		c->args.xname = strdup(name);
	if (value)
		c->args.data = xl_iobuf_from(value, strlen(value));
	c->args.size = size;
	mark_internal(c);
	return run(f, c, r);
}

/* xattrop of (name -> three counters) on gfid; new values in r. */
static int xattrop3(struct fx *f, const uint8_t *gfid, const char *name,
		    int64_t d, int64_t m, int64_t e, struct rec *r)
{
	struct xl_call *c = mk(f, XL_FOP_XATTROP, r);
	uint64_t v[3] = {htobe64((uint64_t)d), htobe64((uint64_t)m),
			 htobe64((uint64_t)e)};

	set_entry(&c->args.loc, NULL, NULL, gfid);
	c->args.flags = XL_XATTROP_ADD64;
	c->args.xdata = xl_dict_new();
	assert_non_null(c->args.xdata);
	assert_int_equal(xl_dict_set(c->args.xdata, name, v, sizeof(v)), 0);
	return run(f, c, r);
}

static int64_t counter(const struct xl_dict *d, const char *name, int i)
{
	const struct xl_dict_pair *p = xl_dict_get(d, name);
	uint64_t v;

	assert_non_null(p);
	assert_int_equal(p->len, 24);
	memcpy(&v, (const char *)p->value + 8 * i, 8);
	return (int64_t)be64toh(v);
}

static bool index_has(struct fx *f, const uint8_t *gfid)
{
	char path[PATH_MAX], gs[XL_GFID_STR_LEN];

	snprintf(path, sizeof(path), "%s/.mortar/indices/xattrop/%s", f->brick,
		 xl_gfid_to_str(gfid, gs));
	return exists(path);
}

/* Is the xattr name stored on the brick's file "f"? */
static bool brick_has_xattr(struct fx *f, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/f", f->brick);
	return lgetxattr(path, name, NULL, 0) >= 0;
}

static void test_internal_xattrs(void **state)
{
	struct fx *f = *state;
	uint8_t g[XL_GFID_LEN];
	struct rec r;

	assert_int_equal(do_create(f, xl_gfid_root, "x", O_RDWR, 0644, g, NULL),
			 0);
	/* without the key: refused and hidden, as for users */
	assert_int_equal(do_xattr(f, XL_FOP_SETXATTR, g,
				  "trusted.mortar.dht.linkto", "s1", 0, 0, &r),
			 -EPERM);
	xl_reply_clear(&r.reply);
	/* with it: set, read back, listed, removed */
	assert_int_equal(internal_xattr(f, XL_FOP_SETXATTR, g,
					"trusted.mortar.dht.linkto", "s1", 0,
					&r),
			 0);
	xl_reply_clear(&r.reply);
	assert_int_equal(internal_xattr(f, XL_FOP_GETXATTR, g,
					"trusted.mortar.dht.linkto", NULL, 64,
					&r),
			 2);
	assert_memory_equal(r.reply.data->data, "s1", 2);
	xl_reply_clear(&r.reply);
	assert_int_equal(do_xattr(f, XL_FOP_GETXATTR, g,
				  "trusted.mortar.dht.linkto", NULL, 64, 0, &r),
			 -ENODATA);
	xl_reply_clear(&r.reply);
	assert_true(
	    internal_xattr(f, XL_FOP_LISTXATTR, g, NULL, NULL, 4096, &r) > 0);
	assert_non_null(memmem(r.reply.data->data, r.reply.data->size,
			       "trusted.mortar.dht.linkto",
			       sizeof("trusted.mortar.dht.linkto")));
	xl_reply_clear(&r.reply);
	/* the gfid stays read-only even for internal calls */
	assert_int_equal(internal_xattr(f, XL_FOP_SETXATTR, g, POSIX_GFID_XATTR,
					"0123456789abcdef", 0, &r),
			 -EPERM);
	xl_reply_clear(&r.reply);
	assert_int_equal(internal_xattr(f, XL_FOP_REMOVEXATTR, g,
					POSIX_GFID_XATTR, NULL, 0, &r),
			 -EPERM);
	xl_reply_clear(&r.reply);
	assert_int_equal(internal_xattr(f, XL_FOP_GETXATTR, g, POSIX_GFID_XATTR,
					NULL, 64, &r),
			 XL_GFID_LEN);
	assert_memory_equal(r.reply.data->data, g, XL_GFID_LEN);
	xl_reply_clear(&r.reply);
	assert_int_equal(internal_xattr(f, XL_FOP_REMOVEXATTR, g,
					"trusted.mortar.dht.linkto", NULL, 0,
					&r),
			 0);
	xl_reply_clear(&r.reply);
}

static void test_lookup_returns_xattrs(void **state)
{
	struct fx *f = *state;
	static const char req[] =
	    "trusted.mortar.dht.layout\0user.a\0user.none";
	const struct xl_dict_pair *p;
	uint8_t g[XL_GFID_LEN];
	struct xl_call *c;
	struct rec r;

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, g, NULL),
	    0);
	assert_int_equal(internal_xattr(f, XL_FOP_SETXATTR, g,
					"trusted.mortar.dht.layout", "LAYOUT",
					0, &r),
			 0);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    do_xattr(f, XL_FOP_SETXATTR, g, "user.a", "va", 0, 0, &r), 0);
	xl_reply_clear(&r.reply);

	c = mk(f, XL_FOP_LOOKUP, &r);
	set_entry(&c->args.loc, xl_gfid_root, "d", NULL);
	c->args.xdata = xl_dict_new();
	assert_int_equal(
	    xl_dict_set(c->args.xdata, "mortar.xattr-req", req, sizeof(req)),
	    0);
	assert_int_equal(run(f, c, &r), 0);
	assert_memory_equal(r.reply.attr.gfid, g, XL_GFID_LEN);
	assert_non_null(r.reply.xdata);
	p = xl_dict_get(r.reply.xdata, "trusted.mortar.dht.layout");
	assert_non_null(p);
	assert_int_equal(p->len, 6);
	assert_memory_equal(p->value, "LAYOUT", 6);
	p = xl_dict_get(r.reply.xdata, "user.a");
	assert_non_null(p);
	assert_memory_equal(p->value, "va", 2);
	assert_null(xl_dict_get(r.reply.xdata, "user.none"));
	xl_reply_clear(&r.reply);
}

static void test_xattrop_and_index(void **state)
{
	struct fx *f = *state;
	uint8_t g[XL_GFID_LEN];
	struct rec r;

	assert_int_equal(do_create(f, xl_gfid_root, "f", O_RDWR, 0644, g, NULL),
			 0);
	assert_false(index_has(f, g));
	/* pre-op: both blamed; the object enters the index */
	assert_int_equal(xattrop3(f, g, AFR_A, 1, 0, 0, &r), 0);
	assert_int_equal(counter(r.reply.xdata, AFR_A, 0), 1);
	xl_reply_clear(&r.reply);
	assert_int_equal(xattrop3(f, g, AFR_B, 1, 2, 0, &r), 0);
	assert_int_equal(counter(r.reply.xdata, AFR_B, 1), 2);
	xl_reply_clear(&r.reply);
	assert_true(index_has(f, g));
	/* post-op for A only: B still pending, so the entry stays */
	assert_int_equal(xattrop3(f, g, AFR_A, -1, 0, 0, &r), 0);
	assert_int_equal(counter(r.reply.xdata, AFR_A, 0), 0);
	xl_reply_clear(&r.reply);
	assert_true(index_has(f, g));
	/* a counter that became all zero is removed (absent = zeros) */
	assert_false(brick_has_xattr(f, AFR_A));
	assert_true(brick_has_xattr(f, AFR_B));
	/* B clean too: out of the index */
	assert_int_equal(xattrop3(f, g, AFR_B, -1, -2, 0, &r), 0);
	assert_int_equal(counter(r.reply.xdata, AFR_B, 0), 0);
	assert_int_equal(counter(r.reply.xdata, AFR_B, 1), 0);
	xl_reply_clear(&r.reply);
	assert_false(index_has(f, g));
	assert_false(brick_has_xattr(f, AFR_B));
	/* and an absent counter counts from zero again */
	assert_int_equal(xattrop3(f, g, AFR_A, 0, 3, 0, &r), 0);
	assert_int_equal(counter(r.reply.xdata, AFR_A, 1), 3);
	xl_reply_clear(&r.reply);
	assert_int_equal(xattrop3(f, g, AFR_A, 0, -3, 0, &r), 0);
	xl_reply_clear(&r.reply);
	assert_false(brick_has_xattr(f, AFR_A));
	assert_false(index_has(f, g));
	/* bad requests */
	assert_int_equal(xattrop3(f, g, "user.counter", 1, 0, 0, &r), -EPERM);
	xl_reply_clear(&r.reply);
	assert_int_equal(xattrop3(f, g, POSIX_GFID_XATTR, 1, 0, 0, &r), -EPERM);
	xl_reply_clear(&r.reply);
	assert_int_equal(internal_xattr(f, XL_FOP_SETXATTR, g,
					"trusted.mortar.afr.short", "1234", 0,
					&r),
			 0);
	xl_reply_clear(&r.reply);
	assert_int_equal(
	    xattrop3(f, g, "trusted.mortar.afr.short", 1, 0, 0, &r), -EINVAL);
	xl_reply_clear(&r.reply);
}

/* The index as a directory: opendir by XL_GFID_INDEX lists gfid strings,
 * unlink drops one, and nothing but a gfid string can be unlinked. */
static void test_index_virtual_dir(void **state)
{
	struct fx *f = *state;
	uint8_t g[XL_GFID_LEN];
	char gs[XL_GFID_STR_LEN];
	struct xl_fd *dfd = NULL;
	struct xl_call *c;
	struct rec r;
	bool found = false;

	assert_int_equal(do_create(f, xl_gfid_root, "f", O_RDWR, 0644, g, NULL),
			 0);
	assert_int_equal(xattrop3(f, g, AFR_A, 0, 1, 0, &r), 0);
	xl_reply_clear(&r.reply);
	assert_int_equal(do_open(f, XL_FOP_OPENDIR, xl_gfid_index, 0, &dfd), 0);
	c = mk(f, XL_FOP_READDIR, &r);
	c->args.fd = xl_fd_ref(dfd);
	c->args.size = 65536;
	assert_int_equal(run(f, c, &r), 0);
	xl_gfid_to_str(g, gs);
	for (uint32_t i = 0; i < r.reply.entry_count; i++)
		if (strcmp(r.reply.entries[i].name, gs) == 0)
			found = true;
	assert_true(found);
	xl_reply_clear(&r.reply);
	do_release(f, dfd, XL_FOP_RELEASEDIR);
	assert_int_equal(
	    do_entry_op(f, XL_FOP_UNLINK, xl_gfid_index, "f", NULL, NULL, 0),
	    -EINVAL);
	assert_int_equal(
	    do_entry_op(f, XL_FOP_UNLINK, xl_gfid_index, "..", NULL, NULL, 0),
	    -EINVAL);
	assert_int_equal(
	    do_entry_op(f, XL_FOP_UNLINK, xl_gfid_index, gs, NULL, NULL, 0), 0);
	assert_false(index_has(f, g));
	assert_int_equal(
	    do_entry_op(f, XL_FOP_UNLINK, xl_gfid_index, gs, NULL, NULL, 0),
	    -ENOENT);
	/* the file itself is untouched */
	assert_int_equal(do_lookup(f, xl_gfid_root, "f", NULL, NULL), 0);
}

static void test_rchecksum(void **state)
{
	struct fx *f = *state;
	static char data[300000];
	struct xl_fd *fd = NULL;
	struct xl_call *c;
	struct rec r;
	uint64_t be;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + i / 1000);
	assert_int_equal(
	    do_create(f, xl_gfid_root, "c", O_RDWR, 0644, NULL, &fd), 0);
	assert_int_equal(do_rw(f, XL_FOP_WRITE, fd, 0, data, sizeof(data), &r),
			 (int)sizeof(data));
	xl_reply_clear(&r.reply);
	/* a middle range crossing the brick's read buffer */
	c = mk(f, XL_FOP_RCHECKSUM, &r);
	c->args.fd = xl_fd_ref(fd);
	c->args.offset = 1000;
	c->args.size = 200000;
	assert_int_equal(run(f, c, &r), 0);
	assert_int_equal(r.reply.offset, 200000);
	assert_int_equal(r.reply.data->size, 8);
	memcpy(&be, r.reply.data->data, 8);
	assert_true(be64toh(be) == XXH64(data + 1000, 200000, 0));
	xl_reply_clear(&r.reply);
	/* short at end of file */
	c = mk(f, XL_FOP_RCHECKSUM, &r);
	c->args.fd = xl_fd_ref(fd);
	c->args.offset = 250000;
	c->args.size = 131072;
	assert_int_equal(run(f, c, &r), 0);
	assert_int_equal(r.reply.offset, 50000);
	memcpy(&be, r.reply.data->data, 8);
	assert_true(be64toh(be) == XXH64(data + 250000, 50000, 0));
	xl_reply_clear(&r.reply);
	/* too large a range */
	c = mk(f, XL_FOP_RCHECKSUM, &r);
	c->args.fd = xl_fd_ref(fd);
	c->args.size = XL_RCHECKSUM_MAX + 1;
	assert_int_equal(run(f, c, &r), -EINVAL);
	xl_reply_clear(&r.reply);
	do_release(f, fd, XL_FOP_RELEASE);
}

/* ---- a lookup racing a create ---- */

struct racer {
	struct fx *f;
	uint8_t gfid[XL_GFID_LEN];
	int ret;
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static struct racer *race_racer;

static void *race_lookup(void *arg)
{
	struct racer *rc = arg;
	struct xl_iatt ia;
	int ret = do_lookup(rc->f, xl_gfid_root, "raced", NULL, &ia);

	pthread_mutex_lock(&rc->lock);
	rc->ret = ret;
	memcpy(rc->gfid, ia.gfid, XL_GFID_LEN);
	rc->done = true;
	pthread_cond_signal(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
	return NULL;
}

/* mknodat that lets a lookup of the new name run (in another thread)
 * between making the entry and its gfid label, as an io-thread would. */
static int race_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	struct timespec until;
	pthread_t t;
	int ret = mknodat(dirfd, path, mode, dev);

	if (ret != 0 || strcmp(path, "raced") != 0)
		return ret;
	assert_int_equal(pthread_create(&t, NULL, race_lookup, race_racer), 0);
	pthread_detach(t);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 200 * 1000 * 1000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	/* Fixed: the lookup waits for the label, so this times out.  Broken:
	 * the lookup labels the entry itself and finishes first. */
	pthread_mutex_lock(&race_racer->lock);
	while (!race_racer->done &&
	       pthread_cond_timedwait(&race_racer->cond, &race_racer->lock,
				      &until) == 0)
		;
	pthread_mutex_unlock(&race_racer->lock);
	return 0;
}

static void test_lookup_during_create(void **state)
{
	struct fx *f = *state;
	struct racer rc = {.f = f, .ret = 1};
	uint8_t g[XL_GFID_LEN];
	struct xl_iatt ia;

	pthread_mutex_init(&rc.lock, NULL);
	pthread_cond_init(&rc.cond, NULL);
	race_racer = &rc;
	*(struct xl_desc *)f->xl->desc =
	    mortar_xlator; /* see test_posix_fops */
	posix_sys.mknodat = race_mknodat;
	assert_int_equal(do_make(f, XL_FOP_MKNOD, xl_gfid_root, "raced",
				 S_IFIFO | 0644, NULL, g, &ia),
			 0);
	posix_sys_reset();
	pthread_mutex_lock(&rc.lock);
	while (!rc.done)
		pthread_cond_wait(&rc.cond, &rc.lock);
	pthread_mutex_unlock(&rc.lock);
	assert_int_equal(rc.ret, 0);
	assert_memory_equal(ia.gfid, g, XL_GFID_LEN);
	assert_memory_equal(rc.gfid, g, XL_GFID_LEN);
	pthread_cond_destroy(&rc.cond);
	pthread_mutex_destroy(&rc.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_internal_xattrs, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_returns_xattrs, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_xattrop_and_index, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_index_virtual_dir, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rchecksum, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_during_create, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
