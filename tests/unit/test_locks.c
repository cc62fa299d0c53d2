/*
 * test_locks.c - cmocka tests of the features/locks translator driven
 * through real call objects (no network): LK get/set/wait, FIFO wake-up,
 * EDEADLK, FLUSH and RELEASE clean-up, flock with conversion, client
 * disconnect, requests of a client that arrive after its disconnect
 * cleanup (refused), and the state dump.  locks.c is compiled into the
 * test; a tiny fake child answers the fops locks passes down.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "buf.h"
#include "graph.h"
#include "inode.h"
#include "xlator.h"

extern const struct xl_desc mortar_xlator;

/* ---- fake child: answers every fop with 0 and counts them --------------- */

static int child_seen[XL_FOP_COUNT];

static void child_fop(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	child_seen[call->fop]++;
	call->reply.ret = 0;
	xl_unwind(call);
}

static const struct xl_desc child_desc = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "test/child",
    .fops =
	{
	    [XL_FOP_FLUSH] = child_fop,
	    [XL_FOP_RELEASE] = child_fop,
	    [XL_FOP_RELEASEDIR] = child_fop,
	    [XL_FOP_LK] = child_fop, /* must never be reached */
	},
};

static struct xl child_xl, lk_xl;
static struct xl *lk_children[1] = {&child_xl};
static struct xl *graph_xls[2] = {&child_xl, &lk_xl};
static struct xl_graph graph;
static const uint8_t gfid1[XL_GFID_LEN] = {0xaa, 1};
static const uint8_t gfid2[XL_GFID_LEN] = {0xaa, 2};

struct result {
	int answers; /* must end at 1 */
	int ret;
	struct xl_flock lock;
};

static void done_cbk(struct xl_call *parent, struct xl_call *child,
		     void *cookie)
{
	struct result *r = cookie;

	(void)parent;
	r->answers++;
	r->ret = child->reply.ret;
	r->lock = child->reply.lock;
}

static int setup(void **state)
{
	char *err = NULL;

	(void)state;
	memset(child_seen, 0, sizeof(child_seen));
	memset(&child_xl, 0, sizeof(child_xl));
	memset(&lk_xl, 0, sizeof(lk_xl));
	memset(&graph, 0, sizeof(graph));
	graph.count = 2;
	graph.xls = graph_xls;
	child_xl.name = "child";
	child_xl.desc = &child_desc;
	lk_xl.name = "locks";
	lk_xl.desc = &mortar_xlator;
	lk_xl.children = lk_children;
	lk_xl.child_count = 1;
	lk_xl.index = 1;
	assert_int_equal(mortar_xlator.init(&lk_xl, &err), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mortar_xlator.fini(&lk_xl);
	return 0;
}

static struct xl_call *mkcall(enum xl_fop fop, struct result *r,
			      uint64_t client, struct xl_fd *fd)
{
	struct xl_cred cred = {.pid = 42};
	struct xl_call *call =
	    xl_call_new_root(&graph, fop, &cred, done_cbk, r);

	assert_non_null(call);
	memset(r, 0, sizeof(*r));
	r->ret = 1; /* "not answered" */
	call->args.xdata = xl_dict_new();
	assert_non_null(call->args.xdata);
	assert_int_equal(
	    xl_dict_set_u64(call->args.xdata, "mortar.client-id", client), 0);
	if (fd)
		call->args.fd = xl_fd_ref(fd);
	return call;
}

static void lk(struct result *r, uint64_t client, uint64_t owner, int cmd,
	       int type, int64_t start, int64_t len, struct xl_fd *fd)
{
	struct xl_call *call = mkcall(XL_FOP_LK, r, client, fd);

	call->args.cmd = cmd;
	call->args.lock.type = (int16_t)type;
	call->args.lock.whence = SEEK_SET;
	call->args.lock.start = start;
	call->args.lock.len = len;
	call->args.lock.pid = (uint32_t)owner;
	call->args.lock.owner = owner;
	xl_call_start(call, &lk_xl);
}

static void flk(struct result *r, uint64_t client, int cmd, struct xl_fd *fd)
{
	struct xl_call *call = mkcall(XL_FOP_FLOCK, r, client, fd);

	call->args.cmd = cmd;
	xl_call_start(call, &lk_xl);
}

static void flush(struct result *r, uint64_t client, uint64_t owner,
		  struct xl_fd *fd)
{
	struct xl_call *call = mkcall(XL_FOP_FLUSH, r, client, fd);

	call->cred.lk_owner = owner;
	xl_call_start(call, &lk_xl);
}

static void release(struct result *r, uint64_t client, bool disconnect,
		    struct xl_fd *fd)
{
	struct xl_call *call = mkcall(XL_FOP_RELEASE, r, client, fd);

	if (disconnect)
		xl_dict_set_u64(call->args.xdata, "mortar.disconnect", 1);
	xl_call_start(call, &lk_xl);
}

static struct xl_fd *newfd(const uint8_t *gfid)
{
	struct xl_fd *fd = xl_fd_new(&graph, gfid, NULL, O_RDWR, false);

	assert_non_null(fd);
	return fd;
}

static void expect_done(const struct result *r, int ret)
{
	assert_int_equal(r->answers, 1);
	assert_int_equal(r->ret, ret);
}

static void test_setlk_getlk(void **state)
{
	struct xl_fd *fd = newfd(gfid1);
	struct result r;

	(void)state;
	lk(&r, 1, 10, F_SETLK, F_WRLCK, 0, 10, fd);
	expect_done(&r, 0);
	/* same owner number on another client is another owner */
	lk(&r, 2, 10, F_GETLK, F_RDLCK, 5, 1, fd);
	expect_done(&r, 0);
	assert_int_equal(r.lock.type, F_WRLCK);
	assert_int_equal(r.lock.start, 0);
	assert_int_equal(r.lock.len, 10);
	assert_int_equal(r.lock.pid, 10);
	/* no conflict: F_UNLCK */
	lk(&r, 2, 10, F_GETLK, F_WRLCK, 10, 0, fd);
	expect_done(&r, 0);
	assert_int_equal(r.lock.type, F_UNLCK);
	/* the owner itself never conflicts */
	lk(&r, 1, 10, F_GETLK, F_WRLCK, 0, 0, fd);
	assert_int_equal(r.lock.type, F_UNLCK);
	/* conflicting SETLK */
	lk(&r, 2, 10, F_SETLK, F_RDLCK, 9, 5, fd);
	expect_done(&r, -EAGAIN);
	/* another inode is independent */
	struct xl_fd *fd2 = newfd(gfid2);
	lk(&r, 2, 10, F_SETLK, F_WRLCK, 0, 0, fd2);
	expect_done(&r, 0);
	/* bad input */
	lk(&r, 1, 10, F_SETLK, 77, 0, 0, fd);
	expect_done(&r, -EINVAL);
	lk(&r, 1, 10, F_SETLK, F_WRLCK, -5, 1, fd);
	expect_done(&r, -EINVAL);
	lk(&r, 1, 10, 999, F_WRLCK, 0, 1, fd);
	expect_done(&r, -EINVAL);
	lk(&r, 1, 10, F_GETLK, F_UNLCK, 0, 1, fd);
	expect_done(&r, -EINVAL);
	assert_int_equal(child_seen[XL_FOP_LK], 0);
	xl_fd_unref(fd);
	xl_fd_unref(fd2);
}

static void test_setlkw_fifo(void **state)
{
	struct xl_fd *fd = newfd(gfid1);
	struct result h, w1, w2, w3, u;

	(void)state;
	lk(&h, 1, 1, F_SETLK, F_WRLCK, 0, 100, fd);
	expect_done(&h, 0);
	lk(&w1, 1, 2, F_SETLKW, F_WRLCK, 0, 10, fd);
	lk(&w2, 2, 3, F_SETLKW, F_RDLCK, 5, 10, fd); /* conflicts with w1 */
	lk(&w3, 3, 4, F_SETLKW, F_RDLCK, 50, 10, fd);
	assert_int_equal(w1.answers + w2.answers + w3.answers, 0);
	/* partial unlock frees 50-59 only: w3 goes */
	lk(&u, 1, 1, F_SETLK, F_UNLCK, 50, 10, fd);
	expect_done(&u, 0);
	expect_done(&w3, 0);
	assert_int_equal(w3.lock.start, 50);
	assert_int_equal(w1.answers + w2.answers, 0);
	/* full unlock: w1 first, w2 waits behind it */
	lk(&u, 1, 1, F_SETLK, F_UNLCK, 0, 0, fd);
	expect_done(&w1, 0);
	assert_int_equal(w2.answers, 0);
	lk(&u, 1, 2, F_SETLK, F_UNLCK, 0, 0, fd);
	expect_done(&w2, 0);
	/* downgrading a write lock lets a reader in */
	lk(&h, 1, 1, F_SETLK, F_WRLCK, 0, 0, fd);
	assert_int_equal(h.ret, -EAGAIN); /* w2 (client 2) still reads 5-14 */
	lk(&u, 2, 3, F_SETLK, F_UNLCK, 0, 0, fd);
	lk(&u, 3, 4, F_SETLK, F_UNLCK, 0, 0, fd);
	lk(&h, 1, 1, F_SETLK, F_WRLCK, 0, 0, fd);
	expect_done(&h, 0);
	lk(&w1, 2, 9, F_SETLKW, F_RDLCK, 0, 1, fd);
	assert_int_equal(w1.answers, 0);
	lk(&u, 1, 1, F_SETLK, F_RDLCK, 0, 0, fd);
	expect_done(&w1, 0);
	xl_fd_unref(fd);
}

/* A cancel ("mortar.lk-cancel") withdraws exactly the matching parked
 * request: it is answered EINTR, waiters it held back may go, nothing
 * granted is touched; with nothing parked the cancel says ENOENT. */
static void cancel_lk(struct result *r, uint64_t client, uint64_t owner,
		      int type, int64_t start, int64_t len, struct xl_fd *fd)
{
	struct xl_call *call = mkcall(XL_FOP_LK, r, client, fd);

	assert_int_equal(
	    xl_dict_set_u64(call->args.xdata, "mortar.lk-cancel", 1), 0);
	call->args.cmd = F_SETLKW;
	call->args.lock.type = (int16_t)type;
	call->args.lock.whence = SEEK_SET;
	call->args.lock.start = start;
	call->args.lock.len = len;
	call->args.lock.owner = owner;
	xl_call_start(call, &lk_xl);
}

static void test_cancel(void **state)
{
	struct xl_fd *fd = newfd(gfid1);
	struct result h, w1, w2, c, u, f1, f2, fc;

	(void)state;
	lk(&h, 1, 1, F_SETLK, F_WRLCK, 0, 100, fd);
	expect_done(&h, 0);
	lk(&w1, 2, 2, F_SETLKW, F_WRLCK, 0, 10, fd);
	lk(&w2, 3, 3, F_SETLKW, F_RDLCK, 5, 1, fd);
	assert_int_equal(w1.answers + w2.answers, 0);
	/* wrong owner, wrong range: nothing withdrawn */
	cancel_lk(&c, 2, 9, F_WRLCK, 0, 10, fd);
	expect_done(&c, -ENOENT);
	cancel_lk(&c, 2, 2, F_WRLCK, 0, 11, fd);
	expect_done(&c, -ENOENT);
	assert_int_equal(w1.answers, 0);
	/* the right one: w1 gets EINTR, w2 stays parked */
	cancel_lk(&c, 2, 2, F_WRLCK, 0, 10, fd);
	expect_done(&c, 0);
	expect_done(&w1, -EINTR);
	assert_int_equal(w2.answers, 0);
	/* again: nothing parked for that owner any more */
	cancel_lk(&c, 2, 2, F_WRLCK, 0, 10, fd);
	expect_done(&c, -ENOENT);
	/* the holder's lock is untouched; its unlock now grants w2, which
	 * FIFO would have kept behind the withdrawn w1 */
	lk(&u, 4, 4, F_SETLK, F_WRLCK, 50, 1, fd);
	expect_done(&u, -EAGAIN);
	lk(&u, 1, 1, F_SETLK, F_UNLCK, 0, 0, fd);
	expect_done(&u, 0);
	expect_done(&w2, 0);
	lk(&u, 3, 3, F_SETLK, F_UNLCK, 0, 0, fd);

	/* flock: a parked LOCK_EX withdrawn by a cancel through its fd */
	struct xl_fd *a = newfd(gfid2), *b = newfd(gfid2);
	flk(&f1, 1, LOCK_EX, a);
	expect_done(&f1, 0);
	flk(&f2, 1, LOCK_EX, b);
	assert_int_equal(f2.answers, 0);
	struct xl_call *call = mkcall(XL_FOP_FLOCK, &fc, 1, b);
	xl_dict_set_u64(call->args.xdata, "mortar.lk-cancel", 1);
	call->args.cmd = LOCK_EX;
	xl_call_start(call, &lk_xl);
	expect_done(&fc, 0);
	expect_done(&f2, -EINTR);
	flk(&f1, 1, LOCK_UN, a);
	expect_done(&f1, 0);
	flk(&f2, 1, LOCK_EX | LOCK_NB, b); /* nothing left behind */
	expect_done(&f2, 0);
	flk(&f2, 1, LOCK_UN, b);
	release(&u, 1, false, a);
	release(&u, 1, false, b);
	release(&u, 1, false, fd);
	xl_fd_unref(a);
	xl_fd_unref(b);
	xl_fd_unref(fd);
}

static void test_deadlock(void **state)
{
	struct xl_fd *fa = newfd(gfid1), *fb = newfd(gfid2);
	struct result r, wb;

	(void)state;
	lk(&r, 1, 1, F_SETLK, F_WRLCK, 0, 10, fa); /* A holds file 1 */
	expect_done(&r, 0);
	lk(&r, 2, 2, F_SETLK, F_WRLCK, 0, 10, fb); /* B holds file 2 */
	expect_done(&r, 0);
	lk(&wb, 2, 2, F_SETLKW, F_WRLCK, 0, 10, fa); /* B waits on A */
	assert_int_equal(wb.answers, 0);
	lk(&r, 1, 1, F_SETLKW, F_WRLCK, 0, 10, fb); /* A on B: cycle */
	expect_done(&r, -EDEADLK);
	/* A gives up file 1: B gets it */
	lk(&r, 1, 1, F_SETLK, F_UNLCK, 0, 0, fa);
	expect_done(&wb, 0);
	xl_fd_unref(fa);
	xl_fd_unref(fb);
}

static void test_flush(void **state)
{
	struct xl_fd *fd = newfd(gfid1);
	struct result r, w, x, f;

	(void)state;
	lk(&r, 1, 7, F_SETLK, F_WRLCK, 0, 10, fd);
	lk(&r, 1, 7, F_SETLK, F_WRLCK, 20, 10, fd);
	lk(&r, 1, 8, F_SETLK, F_RDLCK, 40, 10, fd); /* other owner stays */
	lk(&w, 2, 1, F_SETLKW, F_WRLCK, 0, 30, fd);
	lk(&x, 1, 7, F_SETLKW, F_WRLCK, 40, 1, fd); /* owner 7 parked too */
	assert_int_equal(w.answers + x.answers, 0);
	flush(&f, 1, 7, fd);
	expect_done(&f, 0);
	assert_int_equal(child_seen[XL_FOP_FLUSH], 1);
	expect_done(&w, 0);	 /* its locks went: waiter granted */
	expect_done(&x, -EINTR); /* the flushing owner's own wait ends */
	lk(&r, 3, 1, F_GETLK, F_WRLCK, 40, 1, fd);
	assert_int_equal(r.lock.type, F_RDLCK);
	xl_fd_unref(fd);
}

static void test_flock(void **state)
{
	struct xl_fd *f1 = newfd(gfid1), *f2 = newfd(gfid1), *f3 = newfd(gfid1);
	struct result r, w, rel;

	(void)state;
	flk(&r, 1, LOCK_EX, f1);
	expect_done(&r, 0);
	flk(&r, 1, LOCK_EX | LOCK_NB, f2); /* same client, other fd */
	expect_done(&r, -EWOULDBLOCK);
	flk(&r, 1, LOCK_EX, f1); /* already held */
	expect_done(&r, 0);
	/* flock and POSIX locks are independent */
	lk(&r, 2, 1, F_SETLK, F_WRLCK, 0, 0, f3);
	expect_done(&r, 0);
	flk(&w, 1, LOCK_SH, f2);
	assert_int_equal(w.answers, 0);
	/* releasing f1 drops its flock and grants f2 */
	release(&rel, 1, false, f1);
	expect_done(&rel, 0);
	assert_int_equal(child_seen[XL_FOP_RELEASE], 1);
	expect_done(&w, 0);
	/* conversion SH->EX with another SH holder fails NB and releases */
	flk(&r, 2, LOCK_SH, f3);
	expect_done(&r, 0);
	flk(&r, 1, LOCK_EX | LOCK_NB, f2);
	expect_done(&r, -EWOULDBLOCK);
	flk(&r, 2, LOCK_EX | LOCK_NB, f3); /* f2 gave its SH up */
	expect_done(&r, 0);
	flk(&r, 2, LOCK_UN, f3);
	expect_done(&r, 0);
	flk(&r, 1, 0x40, f2);
	expect_done(&r, -EINVAL);
	xl_fd_unref(f1);
	xl_fd_unref(f2);
	xl_fd_unref(f3);
}

static void test_disconnect(void **state)
{
	struct xl_fd *fa = newfd(gfid1), *fb = newfd(gfid1);
	struct result r, wa, wf, wc, rel;

	(void)state;
	lk(&r, 2, 1, F_SETLK, F_WRLCK, 100, 10, fb); /* client 2 */
	lk(&r, 1, 1, F_SETLK, F_WRLCK, 0, 10, fa);   /* client 1 */
	lk(&r, 1, 2, F_SETLK, F_RDLCK, 20, 10, fa);
	flk(&r, 1, LOCK_EX, fa);
	lk(&wa, 1, 3, F_SETLKW, F_WRLCK, 100, 1, fa); /* 1 waits on 2 */
	flk(&wf, 2, LOCK_SH, fb);		      /* 2 waits on 1 */
	lk(&wc, 2, 1, F_SETLKW, F_WRLCK, 0, 30, fb);  /* 2 waits on 1 */
	assert_int_equal(wa.answers + wf.answers + wc.answers, 0);
	release(&rel, 1, true, fa);
	expect_done(&rel, 0);
	expect_done(&wa, -ENOTCONN);
	expect_done(&wf, 0);
	expect_done(&wc, 0);
	xl_fd_unref(fa);
	xl_fd_unref(fb);
}

/* An internal lock (INODELK) by gfid, in a domain, with no fd. */
static void ilk(struct result *r, uint64_t client, uint64_t owner,
		const char *domain, int cmd, int type, int64_t start,
		int64_t len, const uint8_t *gfid)
{
	struct xl_call *call = mkcall(XL_FOP_INODELK, r, client, NULL);

	memcpy(call->args.loc.gfid, gfid, XL_GFID_LEN);
	call->args.xname = strdup(domain);
	call->args.cmd = cmd;
	call->args.lock.type = (int16_t)type;
	call->args.lock.start = start;
	call->args.lock.len = len;
	call->args.lock.owner = owner;
	xl_call_start(call, &lk_xl);
}

static void ilk_disconnect(struct result *r, uint64_t client)
{
	struct xl_call *call = mkcall(XL_FOP_INODELK, r, client, NULL);

	xl_dict_set_u64(call->args.xdata, "mortar.disconnect", 1);
	call->args.cmd = F_SETLK;
	call->args.lock.type = F_UNLCK;
	xl_call_start(call, &lk_xl);
}

/* Internal locks: conflicts within a domain only, never with POSIX locks;
 * F_SETLKW parks and is granted in order on unlock; never passed down. */
static void test_inodelk(void **state)
{
	struct xl_fd *fa = newfd(gfid1);
	struct result r, w1, w2;

	(void)state;
	ilk(&r, 1, 7, "replicate.data", F_SETLK, F_WRLCK, 0, 0, gfid1);
	expect_done(&r, 0);
	/* same range, other owner: refused, or parked */
	ilk(&r, 2, 7, "replicate.data", F_SETLK, F_WRLCK, 0, 0, gfid1);
	expect_done(&r, -EAGAIN);
	ilk(&w1, 2, 7, "replicate.data", F_SETLKW, F_WRLCK, 0, 0, gfid1);
	ilk(&w2, 3, 9, "replicate.data", F_SETLKW, F_RDLCK, 10, 5, gfid1);
	assert_int_equal(w1.answers + w2.answers, 0);
	/* other domains, other inodes and POSIX locks are independent */
	ilk(&r, 2, 7, "replicate.meta", F_SETLK, F_WRLCK, 0, 0, gfid1);
	expect_done(&r, 0);
	ilk(&r, 2, 7, "replicate.data", F_SETLK, F_WRLCK, 0, 0, gfid2);
	expect_done(&r, 0);
	lk(&r, 2, 7, F_SETLK, F_WRLCK, 0, 0, fa);
	expect_done(&r, 0);
	/* the holder unlocks: the first waiter gets it, the second (which
	 * conflicts with it) keeps waiting */
	ilk(&r, 1, 7, "replicate.data", F_SETLK, F_UNLCK, 0, 0, gfid1);
	expect_done(&r, 0);
	expect_done(&w1, 0);
	assert_int_equal(w2.answers, 0);
	ilk(&r, 2, 7, "replicate.data", F_SETLK, F_UNLCK, 0, 0, gfid1);
	expect_done(&r, 0);
	expect_done(&w2, 0);
	/* bad requests */
	ilk(&r, 1, 1, "", F_SETLK, F_WRLCK, 0, 0, gfid1);
	expect_done(&r, -EINVAL);
	ilk(&r, 1, 1, "d", F_GETLK, F_WRLCK, 0, 0, gfid1);
	expect_done(&r, -EINVAL);
	ilk(&r, 1, 1, "d", F_SETLK, F_WRLCK, -5, 0, gfid1);
	expect_done(&r, -EINVAL);
	assert_int_equal(child_seen[XL_FOP_INODELK], 0);
	release(&r, 2, true, fa);
	xl_fd_unref(fa);
}

/* A gone client's internal locks go on every inode, its parked requests
 * are answered ENOTCONN, and the others' requests are granted. */
static void test_inodelk_disconnect(void **state)
{
	struct result r, w_other, w_gone;

	(void)state;
	ilk(&r, 1, 1, "replicate.entry", F_SETLK, F_WRLCK, 0, 0, gfid1);
	expect_done(&r, 0);
	ilk(&r, 1, 1, "replicate.data", F_SETLK, F_WRLCK, 0, 0, gfid2);
	expect_done(&r, 0);
	ilk(&r, 2, 1, "replicate.data", F_SETLK, F_RDLCK, 0, 0, gfid1);
	expect_done(&r, 0);
	ilk(&w_other, 3, 1, "replicate.data", F_SETLKW, F_WRLCK, 0, 0, gfid2);
	ilk(&w_gone, 1, 2, "replicate.data", F_SETLKW, F_WRLCK, 0, 0, gfid1);
	assert_int_equal(w_other.answers + w_gone.answers, 0);
	ilk_disconnect(&r, 1);
	expect_done(&r, 0);
	expect_done(&w_gone, -ENOTCONN);
	expect_done(&w_other, 0);
	/* client 1's entry lock is gone too */
	ilk(&r, 3, 1, "replicate.entry", F_SETLK, F_WRLCK, 0, 0, gfid1);
	expect_done(&r, 0);
	/* client 2's read lock stayed */
	ilk(&r, 3, 1, "replicate.data", F_SETLK, F_WRLCK, 0, 0, gfid1);
	expect_done(&r, -EAGAIN);
}

static void ilk_forget(struct result *r, uint64_t client)
{
	struct xl_call *call = mkcall(XL_FOP_INODELK, r, client, NULL);

	xl_dict_set_u64(call->args.xdata, "mortar.client-forget", 1);
	call->args.cmd = F_SETLK;
	call->args.lock.type = F_UNLCK;
	xl_call_start(call, &lk_xl);
}

/* The "locks:" line of the state dump, into buf. */
static void dump_summary(char *buf, size_t size)
{
	char *text = NULL, *nl;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	mortar_xlator.dump(&lk_xl, out);
	fclose(out);
	nl = strchr(text, '\n');
	if (nl)
		*nl = 0;
	snprintf(buf, size, "%s", text);
	free(text);
}

/*
 * Requests a client sent before its connection dropped can reach locks
 * after protocol/server's cleanup for it (queued in io-threads, or taken
 * by another worker).  Each is refused with ENOTCONN, parks nothing, and
 * another client then gets the lock; after "mortar.client-forget" the id
 * is no longer kept.
 */
static void test_late_after_disconnect(void **state)
{
	struct xl_fd *fa = newfd(gfid1), *fb = newfd(gfid1);
	struct result r, rel;
	char sum[512];

	(void)state;
	/* client 1's cleanup (its fd's RELEASE with mortar.disconnect) runs
	 * first; its lock requests arrive afterwards */
	release(&rel, 1, true, fa);
	expect_done(&rel, 0);
	lk(&r, 1, 1, F_SETLKW, F_WRLCK, 0, 0, fa);
	expect_done(&r, -ENOTCONN); /* answered, not parked */
	lk(&r, 1, 1, F_SETLK, F_WRLCK, 0, 0, fa);
	expect_done(&r, -ENOTCONN);
	flk(&r, 1, LOCK_EX, fa);
	expect_done(&r, -ENOTCONN);
	ilk(&r, 1, 1, "replicate.data", F_SETLKW, F_WRLCK, 0, 0, gfid1);
	expect_done(&r, -ENOTCONN);
	/* nothing was left to anyone: client 2 takes every kind of lock */
	lk(&r, 2, 1, F_SETLK, F_WRLCK, 0, 0, fb);
	expect_done(&r, 0);
	flk(&r, 2, LOCK_EX | LOCK_NB, fb);
	expect_done(&r, 0);
	ilk(&r, 2, 1, "replicate.data", F_SETLK, F_WRLCK, 0, 0, gfid1);
	expect_done(&r, 0);
	dump_summary(sum, sizeof(sum));
	assert_non_null(strstr(sum, " gone-clients=1 late-refused=4"));

	/* the sweep alone (the INODELK with mortar.disconnect) records the
	 * client too */
	ilk_disconnect(&r, 3);
	expect_done(&r, 0);
	lk(&r, 3, 1, F_SETLKW, F_RDLCK, 100, 1, fb);
	expect_done(&r, -ENOTCONN);
	dump_summary(sum, sizeof(sum));
	assert_non_null(strstr(sum, " gone-clients=2 "));

	/* protocol/server says no call of client 1 (3) can come any more */
	ilk_forget(&r, 1);
	expect_done(&r, 0);
	ilk_forget(&r, 3);
	expect_done(&r, 0);
	ilk_forget(&r, 99); /* never gone: nothing to forget */
	expect_done(&r, 0);
	dump_summary(sum, sizeof(sum));
	assert_non_null(strstr(sum, " gone-clients=0 late-refused=5"));
	assert_int_equal(child_seen[XL_FOP_INODELK], 0);
	release(&rel, 2, true, fb);
	xl_fd_unref(fa);
	xl_fd_unref(fb);
}

/* The sweep drops a gone client's POSIX and flock locks and waiters on
 * every inode, also those on no fd the per-fd cleanup reaches (an fd the
 * client was closing when it went). */
static void test_disconnect_sweep(void **state)
{
	struct xl_fd *fa = newfd(gfid2), *fb = newfd(gfid2);
	struct result r, w_gone, w_other;

	(void)state;
	lk(&r, 4, 1, F_SETLK, F_WRLCK, 0, 10, fa);
	expect_done(&r, 0);
	flk(&r, 4, LOCK_EX, fa);
	expect_done(&r, 0);
	lk(&r, 5, 1, F_SETLK, F_WRLCK, 20, 10, fb);
	expect_done(&r, 0);
	lk(&w_gone, 4, 2, F_SETLKW, F_WRLCK, 20, 1, fa); /* 4 waits on 5 */
	lk(&w_other, 5, 1, F_SETLKW, F_WRLCK, 0, 1, fb); /* 5 waits on 4 */
	assert_int_equal(w_gone.answers + w_other.answers, 0);
	ilk_disconnect(&r, 4);
	expect_done(&r, 0);
	expect_done(&w_gone, -ENOTCONN);
	expect_done(&w_other, 0);
	flk(&r, 5, LOCK_EX | LOCK_NB, fb);
	expect_done(&r, 0);
	lk(&r, 5, 1, F_SETLK, F_UNLCK, 0, 0, fb);
	flk(&r, 5, LOCK_UN, fb);
	release(&r, 4, false, fa);
	release(&r, 5, false, fb);
	ilk_forget(&r, 4);
	xl_fd_unref(fa);
	xl_fd_unref(fb);
}

static void test_dump(void **state)
{
	struct xl_fd *fd = newfd(gfid1);
	struct result r, w;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	(void)state;
	lk(&r, 5, 0x77, F_SETLK, F_WRLCK, 10, 5, fd);
	lk(&w, 6, 0x88, F_SETLKW, F_RDLCK, 0, 0, fd);
	flk(&r, 5, LOCK_SH, fd);
	mortar_xlator.dump(&lk_xl, out);
	fclose(out);
	assert_non_null(strstr(buf, "posix granted gfid=aa010000-"));
	assert_non_null(strstr(buf, "type=write start=10 len=5 client-id=5 "
				    "owner=77 pid=119"));
	assert_non_null(strstr(buf, "posix waiting"));
	assert_non_null(strstr(buf, "type=read start=0 len=0 client-id=6 "
				    "owner=88 pid=136"));
	assert_non_null(strstr(buf, "flock granted"));
	free(buf);
	/* fini (teardown) answers the parked waiter */
	mortar_xlator.fini(&lk_xl);
	expect_done(&w, -ENOTCONN);
	setup(NULL);
	xl_fd_unref(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_setlk_getlk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setlkw_fifo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deadlock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disconnect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inodelk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inodelk_disconnect, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_late_after_disconnect, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_disconnect_sweep, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dump, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
