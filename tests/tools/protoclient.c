/*
 * protoclient.c - drive a protocol/client graph against a real brickd,
 * without FUSE, for tests/integration/proto.t.  Exit 0 when every check
 * of the step passed; one "# ok/not ok" line per check on stdout.
 *
 *   protoclient PORT VOLUME basic          fops, fd table, hidden .mortar
 *   protoclient PORT VOLUME noup           handshake refused: no CHILD_UP,
 *                                          fops fail ENOTCONN
 *   protoclient PORT VOLUME reopen FLAG    create+write, touch FLAG, wait
 *   protoclient PORT VOLUME reopen-bad FLAG   for the brick to go and come
 *                                          back (the script restarts it),
 *                                          then read via the old fd: data,
 *                                          or EBADFD when it was deleted
 *   protoclient PORT VOLUME hold           open 3 fds + a lock, then wait
 *   protoclient PORT VOLUME recreate       create over an existing file
 *                                          with a made-up gfid: the brick
 *                                          fd carries the real one (locks)
 *   protoclient PORT VOLUME bigdir BRICK   readdirplus of 1 MiB over 3000
 *                                          entries is answered; paging
 *                                          lists each name once
 *   protoclient PORT VOLUME lockwaits      more blocking lock requests
 *                                          than the brick's in-flight cap
 *                                          wait on one file: the
 *                                          connection still answers, past
 *                                          the brick's bound they get
 *                                          ENOLCK, an unlock grants all
 *   protoclient PORT NAME getspec|badproc|fop-before-hs   raw rpc calls
 */

#include "config.h"

#include "buf.h"
#include "call.h"
#include "graph.h"
#include "inode.h"
#include "log.h"
#include "rpc.h"
#include "xlator.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ups, downs;
static int answered; /* calls answered so far (lk) */

struct res {
	bool done;
	struct xl_reply reply;
};

static void top_notify(struct xl_graph *g, enum xl_event ev, void *d)
{
	pthread_mutex_lock(&lk);
	if (ev == XL_EV_CHILD_UP)
		ups++;
	if (ev == XL_EV_CHILD_DOWN)
		downs++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&lk);
	printf("# event %s\n", ev == XL_EV_CHILD_UP ? "up" : "down");
	fflush(stdout);
}

static void cbk(struct xl_call *parent, struct xl_call *call, void *cookie)
{
	struct res *r = cookie;

	pthread_mutex_lock(&lk);
	xl_reply_move(&r->reply, &call->reply);
	r->done = true;
	answered++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&lk);
}

static struct xl_graph *G;

static int run(struct xl_call *call, struct res *r)
{
	xl_call_start(call, G->top);
	pthread_mutex_lock(&lk);
	while (!r->done)
		pthread_cond_wait(&cv, &lk);
	pthread_mutex_unlock(&lk);
	return r->reply.ret;
}

static struct xl_call *mk(enum xl_fop fop, struct res *r)
{
	struct xl_cred cred = {0};

	memset(r, 0, sizeof(*r));
	return xl_call_new_root(G, fop, &cred, cbk, r);
}

static int wait_count(int *what, int target, int secs)
{
	struct timespec ts;
	int ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&lk);
	while (*what < target &&
	       pthread_cond_timedwait(&cv, &lk, &ts) != ETIMEDOUT)
		;
	ok = *what >= target;
	pthread_mutex_unlock(&lk);
	return ok ? 0 : -1;
}

static int fails;

static void __attribute__((format(printf, 2, 3)))
CHECK(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("# %s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		fails++;
}

static struct xl_fd *do_create(const uint8_t *pgfid, const char *name,
			       uint8_t *gfid)
{
	struct res r;
	struct xl_call *c = mk(XL_FOP_CREATE, &r);
	struct xl_fd *fd;
	int ret;

	xl_gfid_generate(gfid);
	memcpy(c->args.loc.pargfid, pgfid, 16);
	memcpy(c->args.loc.gfid, gfid, 16);
	c->args.loc.name = strdup(name);
	c->args.flags = O_RDWR | O_CREAT;
	c->args.mode = 0644;
	fd = xl_fd_new(G, gfid, NULL, c->args.flags, false);
	c->args.fd = xl_fd_ref(fd);
	ret = run(c, &r);
	CHECK(ret == 0, "create %s ret=%d", name, ret);
	return fd;
}

static int do_write(struct xl_fd *fd, const char *s, int64_t off)
{
	struct res r;
	struct xl_call *c = mk(XL_FOP_WRITE, &r);

	c->args.fd = xl_fd_ref(fd);
	c->args.offset = off;
	c->args.data = xl_iobuf_from(s, strlen(s));
	return run(c, &r);
}

static int do_read(struct xl_fd *fd, char *buf, size_t n)
{
	struct res r;
	struct xl_call *c = mk(XL_FOP_READ, &r);
	int ret;

	c->args.fd = xl_fd_ref(fd);
	c->args.size = n;
	ret = run(c, &r);
	if (ret > 0 && r.reply.data)
		memcpy(buf, r.reply.data->data, (size_t)ret);
	xl_reply_clear(&r.reply);
	return ret;
}

static void do_release(struct xl_fd *fd, bool dir)
{
	struct res r;
	struct xl_call *c = mk(dir ? XL_FOP_RELEASEDIR : XL_FOP_RELEASE, &r);

	c->args.fd = fd;
	CHECK(run(c, &r) == 0, "release");
}

static int lookup_root(void)
{
	struct res r;
	struct xl_call *c = mk(XL_FOP_LOOKUP, &r);

	memcpy(c->args.loc.gfid, xl_gfid_root, 16);
	return run(c, &r);
}

static void basic(void)
{
	uint8_t dgfid[16], fgfid[16];
	struct xl_fd *fd;
	char buf[64] = {0};
	struct res r;
	struct xl_call *c;
	int ret;
	bool seen_d = false, seen_hidden = false;

	CHECK(lookup_root() == 0, "lookup root");
	c = mk(XL_FOP_MKDIR, &r);
	xl_gfid_generate(dgfid);
	memcpy(c->args.loc.pargfid, xl_gfid_root, 16);
	memcpy(c->args.loc.gfid, dgfid, 16);
	c->args.loc.name = strdup("d");
	c->args.mode = 0755;
	ret = run(c, &r);
	CHECK(ret == 0, "mkdir d ret=%d", ret);
	fd = do_create(dgfid, "f", fgfid);
	ret = do_write(fd, "hello", 0);
	CHECK(ret == 5, "write ret=%d", ret);
	ret = do_read(fd, buf, sizeof(buf));
	CHECK(ret == 5 && memcmp(buf, "hello", 5) == 0, "read back ret=%d",
	      ret);
	c = mk(XL_FOP_STAT, &r);
	c->args.fd = xl_fd_ref(fd);
	memcpy(c->args.loc.gfid, fgfid, 16);
	ret = run(c, &r);
	CHECK(ret == 0 && r.reply.attr.size == 5 &&
		  memcmp(r.reply.attr.gfid, fgfid, 16) == 0,
	      "fstat size=%llu", (unsigned long long)r.reply.attr.size);
	do_release(fd, false);

	/* opendir + readdir of root: d listed, .mortar hidden */
	c = mk(XL_FOP_OPENDIR, &r);
	memcpy(c->args.loc.gfid, xl_gfid_root, 16);
	fd = xl_fd_new(G, xl_gfid_root, NULL, 0, true);
	c->args.fd = xl_fd_ref(fd);
	ret = run(c, &r);
	CHECK(ret == 0, "opendir / ret=%d", ret);
	c = mk(XL_FOP_READDIR, &r);
	c->args.fd = xl_fd_ref(fd);
	c->args.size = 4096;
	ret = run(c, &r);
	for (uint32_t i = 0; i < r.reply.entry_count; i++) {
		if (strcmp(r.reply.entries[i].name, "d") == 0)
			seen_d = true;
		if (strcmp(r.reply.entries[i].name, ".mortar") == 0)
			seen_hidden = true;
	}
	CHECK(ret >= 0 && seen_d && !seen_hidden, "readdir ret=%d n=%u", ret,
	      r.reply.entry_count);
	xl_reply_clear(&r.reply);
	/* fd fop with a dir fd on a file-only fop: brick says EBADF */
	ret = do_read(fd, buf, 4);
	CHECK(ret == -EBADF || ret == -EISDIR, "read on dir fd ret=%d", ret);
	do_release(fd, true);

	/* unknown name -> ENOENT */
	c = mk(XL_FOP_LOOKUP, &r);
	memcpy(c->args.loc.pargfid, xl_gfid_root, 16);
	c->args.loc.name = strdup("nope");
	ret = run(c, &r);
	CHECK(ret == -ENOENT, "lookup missing ret=%d", ret);
	c = mk(XL_FOP_LOOKUP, &r);
	memcpy(c->args.loc.pargfid, xl_gfid_root, 16);
	c->args.loc.name = strdup(".mortar");
	ret = run(c, &r);
	CHECK(ret == -ENOENT, "lookup .mortar ret=%d", ret);
}

static int expect_bad;

static void reopen(const char *flag)
{
	uint8_t fgfid[16];
	struct xl_fd *fd;
	char buf[64] = {0};
	int ret;

	fd = do_create(xl_gfid_root, expect_bad ? "g-reopen-bad" : "g-reopen",
		       fgfid);
	CHECK(do_write(fd, "world", 0) == 5, "write g");
	/* tell the script to restart the brick, then wait down + up */
	close(open(flag, O_CREAT | O_WRONLY, 0644));
	CHECK(wait_count(&downs, 1, 30) == 0, "CHILD_DOWN seen");
	ret = do_read(fd, buf, 5);
	CHECK(ret == -ENOTCONN, "read while down ret=%d", ret);
	CHECK(wait_count(&ups, 2, 30) == 0, "CHILD_UP again");
	ret = do_read(fd, buf, 5);
	if (expect_bad) {
		CHECK(ret == -EBADFD, "read on unreopenable fd ret=%d", ret);
		ret = do_write(fd, "x", 0);
		CHECK(ret == -EBADFD, "write on unreopenable fd ret=%d", ret);
		CHECK(lookup_root() == 0, "other fops still work");
	} else {
		CHECK(ret == 5 && memcmp(buf, "world", 5) == 0,
		      "read on reopened fd ret=%d", ret);
	}
	do_release(fd, false);
}

static void gs_connect(void *ctx)
{
	pthread_mutex_lock(&lk);
	ups++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&lk);
}

static void gs_disc(void *ctx, int err)
{
}

static int gs_ret = 1;
static char gs_text[8192];

static void gs_reply(void *cookie, int status, const struct rpc_msg *m)
{
	struct rpc_rbuf r;
	uint32_t len = 0;
	const void *p;

	pthread_mutex_lock(&lk);
	if (status == 0) {
		rpc_rbuf_init(&r, m->body, m->body_len);
		gs_ret = (int32_t)rpc_get_u32(&r);
		p = rpc_get_bytes(&r, sizeof(gs_text) - 1, &len);
		if (p)
			memcpy(gs_text, p, len);
		gs_text[len] = 0;
	} else {
		gs_ret = status;
	}
	downs++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&lk);
}

/* GETSPEC name over a raw rpc client; print ret and text. */
static int getspec(const char *port, const char *name, uint32_t proc)
{
	static const struct rpc_clnt_cbs cbs = {.on_connect = gs_connect,
						.on_disconnect = gs_disc};
	struct rpc_clnt_opts o = {.no_reconnect = true};
	struct rpc_evloop *loop = rpc_evloop_new(1);
	struct rpc_clnt *c;
	struct rpc_wbuf w;

	rpc_evloop_start(loop);
	c = rpc_clnt_new(loop, "127.0.0.1", (uint16_t)atoi(port), &o, &cbs,
			 NULL);
	rpc_clnt_start(c);
	if (wait_count(&ups, 1, 5))
		return 2;
	rpc_wbuf_init(&w);
	rpc_put_str(&w, name);
	rpc_clnt_call(c, proc, w.data, w.len, NULL, gs_reply, NULL);
	wait_count(&downs, 1, 5);
	printf("ret=%d\n%s", gs_ret, gs_text);
	rpc_wbuf_free(&w);
	rpc_clnt_destroy(c);
	rpc_evloop_stop(loop);
	rpc_evloop_free(loop);
	return 0;
}

/* open n fds on a new file, then wait to be killed */
static void hold(int n)
{
	uint8_t fgfid[16];
	struct xl_fd *fd = do_create(xl_gfid_root, "held", fgfid);
	struct res r;
	struct xl_call *c;

	c = mk(XL_FOP_LK, &r);
	c->args.fd = xl_fd_ref(fd);
	c->args.cmd = F_SETLK;
	c->args.lock.type = F_WRLCK;
	c->args.lock.owner = 42;
	printf("# lk ret=%d\n", run(c, &r));
	for (int i = 1; i < n; i++) {
		c = mk(XL_FOP_OPEN, &r);
		memcpy(c->args.loc.gfid, fgfid, 16);
		c->args.flags = O_RDWR;
		c->args.fd = xl_fd_new(G, fgfid, NULL, O_RDWR, false);
		printf("# open ret=%d\n", run(c, &r));
	}
	printf("# holding\n");
	fflush(stdout);
	pause();
}

static int do_setlk(struct xl_fd *fd, uint64_t owner)
{
	struct res r;
	struct xl_call *c = mk(XL_FOP_LK, &r);

	c->args.fd = xl_fd_ref(fd);
	c->args.cmd = F_SETLK;
	c->args.lock.type = F_WRLCK;
	c->args.lock.owner = owner;
	return run(c, &r);
}

/* A create that finds the file already there is an open: its brick fd
 * must carry the file's real gfid, not the one the client made up, or
 * locks taken through it never conflict with the others. */
static void recreate(void)
{
	uint8_t real[16], fake[16];
	struct xl_fd *fd1, *fd2;
	int ret;

	fd1 = do_create(xl_gfid_root, "recreated", real);
	ret = do_setlk(fd1, 42);
	CHECK(ret == 0, "lock through the first fd ret=%d", ret);
	/* the same name again, as a client that had not seen it would */
	fd2 = do_create(xl_gfid_root, "recreated", fake);
	ret = do_setlk(fd2, 43);
	CHECK(ret == -EAGAIN || ret == -EACCES,
	      "lock through the re-created fd conflicts ret=%d", ret);
	do_release(fd2, false);
	do_release(fd1, false);
}

/* protocol/server's SERVER_MAX_LOCK_WAITS and rpc's RPC_SRV_INFLIGHT_MAX */
#define LW_MAX	     4096
#define LW_INFLIGHT  1024
#define LW_OVER	     8
#define LW_WAIT_SECS 20

static bool is_done(struct res *r)
{
	bool done;

	pthread_mutex_lock(&lk);
	done = r->done;
	pthread_mutex_unlock(&lk);
	return done;
}

/* An LK on fd, not waited for: r says when it is answered. */
static void lk_async(struct res *r, struct xl_fd *fd, int cmd, int type,
		     uint64_t owner)
{
	struct xl_call *c = mk(XL_FOP_LK, r);

	c->args.fd = xl_fd_ref(fd);
	c->args.cmd = cmd;
	c->args.lock.type = (int16_t)type;
	c->args.lock.owner = owner;
	xl_call_start(c, G->top);
}

/* fstat through fd within LW_WAIT_SECS; r must outlive a late answer. */
static int fstat_timed(struct res *r, struct xl_fd *fd, const uint8_t *gfid)
{
	struct xl_call *c = mk(XL_FOP_STAT, r);
	int before;

	c->args.fd = xl_fd_ref(fd);
	memcpy(c->args.loc.gfid, gfid, 16);
	pthread_mutex_lock(&lk);
	before = answered;
	pthread_mutex_unlock(&lk);
	xl_call_start(c, G->top);
	while (!is_done(r))
		if (wait_count(&answered, ++before, LW_WAIT_SECS) != 0)
			return -ETIMEDOUT;
	return r->reply.ret;
}

/*
 * More blocking lock requests than the brick's in-flight cap wait behind
 * a write lock.  They must not stop the brick from reading this
 * connection: a stat sent after them is answered, and the connection
 * stays up (its pings answered).  Past the brick's bound of blocking
 * requests they are refused with ENOLCK at once, of every kind, while
 * non-blocking ones still get their answer.  Once the holder unlocks,
 * every admitted waiter gets its lock, and new blocking requests are
 * admitted again.
 */
static void lockwaits(void)
{
	static struct res waits[LW_MAX + LW_OVER];
	static struct res st, nb, fl, il, w3;
	uint8_t fgfid[16];
	struct xl_fd *fd = do_create(xl_gfid_root, "parked", fgfid);
	struct xl_call *c;
	int ret, base, refused = 0, granted = 0, early = 0;

	ret = do_setlk(fd, 1); /* the holder: a write lock on everything */
	CHECK(ret == 0, "holder's write lock ret=%d", ret);
	pthread_mutex_lock(&lk);
	base = answered;
	pthread_mutex_unlock(&lk);
	/* one owner: each waiter's grant merges with the others', so the
	 * brick grants them all in one pass */
	for (int i = 0; i < LW_MAX + LW_OVER; i++)
		lk_async(&waits[i], fd, F_SETLKW, F_RDLCK, 2);
	c = mk(XL_FOP_FLOCK, &fl);
	c->args.fd = xl_fd_ref(fd);
	c->args.cmd = LOCK_EX;
	xl_call_start(c, G->top);
	c = mk(XL_FOP_INODELK, &il);
	memcpy(c->args.loc.gfid, fgfid, 16);
	c->args.xname = strdup("test.lockwaits");
	c->args.cmd = F_SETLKW;
	c->args.lock.type = F_WRLCK;
	c->args.lock.owner = 2;
	xl_call_start(c, G->top);
	lk_async(&nb, fd, F_SETLK, F_WRLCK, 3); /* conflicts, never waits */

	ret = fstat_timed(&st, fd, fgfid);
	CHECK(ret == 0,
	      "fstat after %d waiting lock requests (over %d in "
	      "flight) ret=%d",
	      LW_MAX + LW_OVER, LW_INFLIGHT, ret);
	CHECK(wait_count(&answered, base + LW_OVER + 4, LW_WAIT_SECS) == 0,
	      "the refused and non-blocking requests are answered");
	for (int i = 0; i < LW_MAX + LW_OVER; i++) {
		if (!is_done(&waits[i]))
			continue;
		if (i >= LW_MAX && waits[i].reply.ret == -ENOLCK)
			refused++;
		else
			early++;
	}
	CHECK(refused == LW_OVER && early == 0,
	      "requests past %d get ENOLCK: refused=%d others answered=%d",
	      LW_MAX, refused, early);
	CHECK(is_done(&fl) && fl.reply.ret == -ENOLCK,
	      "a blocking flock past the bound: ENOLCK ret=%d", fl.reply.ret);
	CHECK(is_done(&il) && il.reply.ret == -ENOLCK,
	      "a blocking inodelk past the bound: ENOLCK ret=%d", il.reply.ret);
	CHECK(is_done(&nb) && nb.reply.ret == -EAGAIN,
	      "a non-blocking conflicting lock: EAGAIN ret=%d", nb.reply.ret);
	pthread_mutex_lock(&lk);
	ret = downs;
	pthread_mutex_unlock(&lk);
	CHECK(ret == 0, "the connection stayed up: downs=%d", ret);

	/* the holder unlocks: every admitted waiter gets its read lock */
	c = mk(XL_FOP_LK, &st);
	c->args.fd = xl_fd_ref(fd);
	c->args.cmd = F_SETLK;
	c->args.lock.type = F_UNLCK;
	c->args.lock.owner = 1;
	ret = run(c, &st);
	CHECK(ret == 0, "holder's unlock ret=%d", ret);
	wait_count(&answered, base + LW_MAX + LW_OVER + 4 + 1, LW_WAIT_SECS);
	for (int i = 0; i < LW_MAX; i++)
		if (is_done(&waits[i]) && waits[i].reply.ret == 0)
			granted++;
	CHECK(granted == LW_MAX, "waiters granted after the unlock: %d of %d",
	      granted, LW_MAX);

	/* the bound counts what waits now: a new blocking request is
	 * admitted and waits (a refusal would come before the stat's
	 * answer), until owner 2 unlocks */
	lk_async(&w3, fd, F_SETLKW, F_WRLCK, 3);
	ret = fstat_timed(&st, fd, fgfid);
	CHECK(ret == 0 && !is_done(&w3),
	      "a new blocking request waits again ret=%d answered=%d", ret,
	      is_done(&w3));
	c = mk(XL_FOP_LK, &st);
	c->args.fd = xl_fd_ref(fd);
	c->args.cmd = F_SETLK;
	c->args.lock.type = F_UNLCK;
	c->args.lock.owner = 2;
	run(c, &st);
	wait_count(&answered, base + LW_MAX + LW_OVER + 4 + 4, LW_WAIT_SECS);
	CHECK(is_done(&w3) && w3.reply.ret == 0,
	      "it gets its lock once owner 2 unlocks ret=%d", w3.reply.ret);
	for (int i = 0; i < LW_MAX + LW_OVER; i++)
		xl_reply_clear(&waits[i].reply);
	do_release(fd, false);
}

#define BIGDIR_N 3000

/* 3000 entries with readdirplus attributes do not fit one 256 KiB frame:
 * the brick must answer with less (or an error), never stay silent. */
static void bigdir(const char *brick)
{
	static bool seen[BIGDIR_N];
	uint8_t dgfid[16];
	uint64_t off = 0;
	uint32_t total = 0, dups = 0, pages = 0;
	struct xl_fd *fd;
	struct xl_call *c;
	struct res r;
	char path[4096];
	int ret;

	c = mk(XL_FOP_MKDIR, &r);
	xl_gfid_generate(dgfid);
	memcpy(c->args.loc.pargfid, xl_gfid_root, 16);
	memcpy(c->args.loc.gfid, dgfid, 16);
	c->args.loc.name = strdup("big");
	c->args.mode = 0755;
	ret = run(c, &r);
	CHECK(ret == 0, "mkdir big ret=%d", ret);
	/* fill it behind the brick's back: 6000 rpcs would be slow */
	for (int i = 0; i < BIGDIR_N; i++) {
		snprintf(path, sizeof(path),
			 "%s/big/a-rather-long-file-name-to-fill-frames-%04d",
			 brick, i);
		close(open(path, O_CREAT | O_WRONLY, 0644));
	}
	c = mk(XL_FOP_OPENDIR, &r);
	memcpy(c->args.loc.gfid, dgfid, 16);
	fd = xl_fd_new(G, dgfid, NULL, 0, true);
	c->args.fd = xl_fd_ref(fd);
	ret = run(c, &r);
	CHECK(ret == 0, "opendir big ret=%d", ret);
	for (;;) {
		uint32_t n;

		c = mk(XL_FOP_READDIRPLUS, &r);
		c->args.fd = xl_fd_ref(fd);
		c->args.size = 1u << 20;
		c->args.offset = (int64_t)off;
		ret = run(c, &r);
		n = r.reply.entry_count;
		if (ret < 0 || n == 0)
			break;
		pages++;
		for (uint32_t i = 0; i < n; i++) {
			const char *name = r.reply.entries[i].name;
			const char *num = strrchr(name, '-');
			int k = num ? atoi(num + 1) : -1;

			if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
				continue;
			if (k < 0 || k >= BIGDIR_N || seen[k])
				dups++;
			else
				seen[k] = true;
			total++;
		}
		off = r.reply.entries[n - 1].d_off;
		xl_reply_clear(&r.reply);
	}
	xl_reply_clear(&r.reply);
	CHECK(ret >= 0, "readdirplus 1 MiB answered ret=%d", ret);
	CHECK(total == BIGDIR_N && dups == 0 && pages > 1,
	      "every name once: total=%u dups=%u pages=%u", total, dups, pages);
	do_release(fd, true);
}

int main(int argc, char **argv)
{
	struct xl_volfile *vf;
	char *err = NULL, *text;
	int ret;

	if (argc < 4)
		return 2;
	xl_log_init(NULL, XL_LOG_INFO);
	if (strcmp(argv[3], "getspec") == 0)
		return getspec(argv[1], argv[2], RPC_PROC_GETSPEC);
	if (strcmp(argv[3], "badproc") == 0)
		return getspec(argv[1], argv[2], 4242);
	if (strcmp(argv[3], "fop-before-hs") == 0)
		return getspec(argv[1], argv[2], XL_FOP_STATFS);
	if (asprintf(&text,
		     "volume %s\n type protocol/client\n option remote-host "
		     "127.0.0.1\n option remote-port %s\n option "
		     "remote-subvolume %s\n option ping-timeout 3\n"
		     "end-volume\n",
		     argv[2], argv[1], argv[2]) < 0)
		return 2;
	ret = xl_volfile_parse(text, strlen(text), "smoke", &vf, &err);
	if (ret == 0)
		ret = xl_graph_build(vf, &G, &err);
	if (ret) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	G->top_notify = top_notify;
	if (xl_graph_init(G, &err)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (strcmp(argv[3], "noup") == 0) {
		ret = wait_count(&ups, 1, 3);
		CHECK(ret != 0, "no CHILD_UP (refused)");
		ret = lookup_root();
		CHECK(ret == -ENOTCONN, "fop while not up ret=%d", ret);
		xl_graph_destroy(G);
		xl_volfile_free(vf);
		free(text);
		return fails ? 1 : 0;
	}
	if (wait_count(&ups, 1, 10)) {
		printf("# not ok - no CHILD_UP\n");
		return 1;
	}
	if (strcmp(argv[3], "basic") == 0)
		basic();
	else if (strcmp(argv[3], "hold") == 0)
		hold(3);
	else if (strcmp(argv[3], "recreate") == 0)
		recreate();
	else if (strcmp(argv[3], "bigdir") == 0 && argc > 4)
		bigdir(argv[4]);
	else if (strcmp(argv[3], "lockwaits") == 0)
		lockwaits();
	else {
		expect_bad = strcmp(argv[3], "reopen-bad") == 0;
		reopen(argv[4]);
	}
	xl_graph_destroy(G);
	xl_volfile_free(vf);
	free(text);
	printf("# fails=%d\n", fails);
	return fails ? 1 : 0;
}
