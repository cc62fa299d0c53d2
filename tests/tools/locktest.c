/*
 * locktest.c - checks fcntl and flock lock semantics between processes
 * that see one file through one or two paths (one mount or two mounts of
 * the same volume).
 *
 *   locktest [-t SECONDS] SCENARIO PATH_A PATH_B
 *
 * Scenarios: wrlck getlk rdlck ranges setlkw setlkw-intr close kill flock
 * flock-wait flock-kill, or "all".  Worker 0 (and worker 2 when a scenario
 * needs a third process) opens PATH_A, worker 1 opens PATH_B; give the same
 * path twice to test one mount.  Exit 0 when every check passed, 1 on a failed
 * check, 2 on a usage or setup error.  Diagnostics go to stdout as "# "
 * lines so a TAP script can pass them through.
 *
 * Two helpers for scripts run in this process alone: "hold" takes a
 * whole-file F_WRLCK on PATH_A and flock LOCK_EX on PATH_B, prints "held"
 * and waits for a signal (or the -t limit); "try" attempts the same
 * without blocking and exits 0 only when it got both.  "trylk" opens
 * PATH_A with O_CREAT and tries F_SETLK F_WRLCK: exit 0 granted, 1
 * conflict.  "lost" locks PATH_A, prints "ready", and after SIGUSR1
 * checks that the locked fd fails with EBADFD while a fresh open of
 * PATH_B works; "keep" is the same without a lock, and the old fd must
 * work too (see lt_reconnect).  "regain" takes the locks "hold" takes,
 * prints "ready", and on each SIGUSR1 fsyncs both locked fds and prints
 * "io A B", each "ok" or the errno's name (EBADFD...), for a script that
 * restarts bricks meanwhile (see lt_regain).
 *
 * The driver never sleeps to coordinate: each worker is a forked process
 * fed commands over a pipe, and it answers twice per command ("started",
 * then the result), so the driver can tell a call that blocks from one that
 * has not begun yet.  Every read of an answer has a timeout, and an alarm
 * bounds the whole run, so a lock that is never granted fails the run
 * instead of hanging it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LT_MAX_WORKERS 3
#define LT_SLOTS       4
#define LT_REPLY_MS    10000 /* an ordinary lock call must answer by then */
#define LT_PENDING_MS  1000  /* a blocked call must still block after this */
#define LT_WAKE_MS     10000 /* a woken waiter must get the lock by then */

enum lt_op { LT_OPEN = 1, LT_CLOSE, LT_LK, LT_FLOCK };

struct lt_cmd {
	enum lt_op op;
	int slot;
	int lk_cmd; /* F_SETLK, F_SETLKW, F_GETLK */
	short type; /* F_RDLCK, F_WRLCK, F_UNLCK */
	long long start, len;
	int flock_op;	  /* LOCK_* */
	bool retry_eintr; /* LT_LK: call again when a signal cut it short */
	char path[512];
};

struct lt_reply {
	int started; /* 1 for the "started" answer, 0 for the result */
	int ret;
	int err;
	struct flock fl; /* F_GETLK result */
	double t;	 /* CLOCK_MONOTONIC seconds when the call returned */
	int eintrs;	 /* LT_LK with retry_eintr: calls cut short */
};

struct lt_worker {
	pid_t pid;
	int cmd_fd;   /* driver writes commands */
	int reply_fd; /* driver reads answers */
	bool dead;
};

static struct lt_worker lt_workers[LT_MAX_WORKERS];
static const char *lt_paths[LT_MAX_WORKERS];
static int lt_failures;

static double lt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((format(printf, 1, 2))) lt_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Record a failed check; the scenario goes on so one run shows them all. */
static void __attribute__((format(printf, 2, 3)))
lt_check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("# %s: ", cond ? "pass" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		lt_failures++;
}

/* ---- worker side -------------------------------------------------- */

static int lt_full_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void lt_exec(const struct lt_cmd *c, int *fds, struct lt_reply *r)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	r->ret = -1;
	switch (c->op) {
	case LT_OPEN:
		fds[c->slot] = open(c->path, O_RDWR | O_CREAT, 0644);
		r->ret = fds[c->slot] < 0 ? -1 : 0;
		break;
	case LT_CLOSE:
		r->ret = close(fds[c->slot]);
		fds[c->slot] = -1;
		break;
	case LT_LK:
		fl.l_type = c->type;
		fl.l_whence = SEEK_SET;
		fl.l_start = c->start;
		fl.l_len = c->len;
		r->ret = fcntl(fds[c->slot], c->lk_cmd, &fl);
		while (r->ret < 0 && errno == EINTR && c->retry_eintr) {
			r->eintrs++;
			fl.l_type = c->type;
			r->ret = fcntl(fds[c->slot], c->lk_cmd, &fl);
		}
		r->fl = fl;
		break;
	case LT_FLOCK:
		r->ret = flock(fds[c->slot], c->flock_op);
		break;
	}
	r->err = r->ret < 0 ? errno : 0;
	r->t = lt_now();
}

static void lt_on_usr1(int sig)
{
	(void)sig;
}

/* Serve commands until the driver closes the pipe (or dies). */
static void __attribute__((noreturn)) lt_worker_main(int cmd_fd, int reply_fd)
{
	struct sigaction sa = {.sa_handler = lt_on_usr1};
	int fds[LT_SLOTS];
	struct lt_cmd c;
	struct lt_reply r;

	for (int i = 0; i < LT_SLOTS; i++)
		fds[i] = -1;
	/* SIGUSR1 interrupts a blocked call as any caught signal does (no
	 * SA_RESTART): the setlkw-intr scenario sends it. */
	sigaction(SIGUSR1, &sa, NULL);
	/* The driver's alarm must never leave a worker holding locks. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		ssize_t n = read(cmd_fd, &c, sizeof(c));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(c))
			_exit(0);
		memset(&r, 0, sizeof(r));
		r.started = 1;
		r.t = lt_now();
		if (lt_full_write(reply_fd, &r, sizeof(r)) < 0)
			_exit(1);
		memset(&r, 0, sizeof(r));
		lt_exec(&c, fds, &r);
		if (lt_full_write(reply_fd, &r, sizeof(r)) < 0)
			_exit(1);
	}
}

static int lt_spawn(int idx)
{
	int to_w[2], from_w[2];
	pid_t pid;

	if (pipe2(to_w, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(from_w, O_CLOEXEC) < 0) {
		int err = -errno;

		close(to_w[0]);
		close(to_w[1]);
		return err;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(to_w[1]);
		close(from_w[0]);
		/* Other workers' pipes stay open in this child otherwise. */
		for (int i = 0; i < LT_MAX_WORKERS; i++) {
			if (lt_workers[i].pid > 0) {
				close(lt_workers[i].cmd_fd);
				close(lt_workers[i].reply_fd);
			}
		}
		lt_worker_main(to_w[0], from_w[1]);
	}
	close(to_w[0]);
	close(from_w[1]);
	lt_workers[idx] = (struct lt_worker){
	    .pid = pid, .cmd_fd = to_w[1], .reply_fd = from_w[0]};
	return 0;
}

static void lt_reap(int idx)
{
	struct lt_worker *w = &lt_workers[idx];

	if (w->pid <= 0)
		return;
	close(w->cmd_fd);
	close(w->reply_fd);
	/* Closing the pipe makes an idle worker exit; a blocked one is
	 * killed, which also drops its locks before the next scenario. */
	kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	w->pid = 0;
}

/* ---- driver side -------------------------------------------------- */

/* 1 when an answer arrived, 0 on timeout, -1 on EOF or error. */
static int lt_read_reply(int idx, struct lt_reply *r, int timeout_ms)
{
	struct pollfd pfd = {.fd = lt_workers[idx].reply_fd, .events = POLLIN};
	double deadline = lt_now() + timeout_ms / 1000.0;
	size_t got = 0;

	while (got < sizeof(*r)) {
		int left = (int)((deadline - lt_now()) * 1000);
		int rc;
		ssize_t n;

		if (left < 0)
			left = 0;
		rc = poll(&pfd, 1, left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc == 0)
			return 0;
		n = read(pfd.fd, (char *)r + got, sizeof(*r) - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 1;
}

/* Send a command and wait until the worker says it is about to run it. */
static int lt_start(int idx, const struct lt_cmd *c)
{
	struct lt_reply r;

	if (lt_full_write(lt_workers[idx].cmd_fd, c, sizeof(*c)) < 0)
		return -1;
	if (lt_read_reply(idx, &r, LT_REPLY_MS) != 1 || !r.started)
		return -1;
	return 0;
}

/* Wait for the result of a started command; false on timeout. */
static bool lt_finish(int idx, struct lt_reply *r, int timeout_ms)
{
	int rc = lt_read_reply(idx, r, timeout_ms);

	if (rc == 1 && !r->started)
		return true;
	lt_check(false, "worker %d: no answer within %d ms (%s)", idx,
		 timeout_ms, rc == 0 ? "timeout" : "worker gone");
	r->ret = -1;
	r->err = ETIMEDOUT;
	return false;
}

static struct lt_reply lt_do(int idx, const struct lt_cmd *c)
{
	struct lt_reply r = {.ret = -1, .err = EPIPE};

	if (lt_start(idx, c) < 0) {
		lt_check(false, "worker %d did not take a command", idx);
		return r;
	}
	lt_finish(idx, &r, LT_REPLY_MS);
	return r;
}

static int lt_open(int idx, int slot)
{
	struct lt_cmd c = {.op = LT_OPEN, .slot = slot};
	struct lt_reply r;

	snprintf(c.path, sizeof(c.path), "%s", lt_paths[idx]);
	r = lt_do(idx, &c);
	if (r.ret < 0)
		lt_diag("worker %d: open %s: %s", idx, c.path, strerror(r.err));
	return r.ret;
}

static struct lt_reply lt_close(int idx, int slot)
{
	struct lt_cmd c = {.op = LT_CLOSE, .slot = slot};

	return lt_do(idx, &c);
}

static struct lt_cmd lt_lk_cmd(int slot, int cmd, short type, long long start,
			       long long len)
{
	struct lt_cmd c = {.op = LT_LK,
			   .slot = slot,
			   .lk_cmd = cmd,
			   .type = type,
			   .start = start,
			   .len = len};
	return c;
}

static struct lt_reply lt_lk(int idx, int cmd, short type, long long start,
			     long long len)
{
	struct lt_cmd c = lt_lk_cmd(0, cmd, type, start, len);

	return lt_do(idx, &c);
}

static struct lt_reply lt_flock(int idx, int slot, int op)
{
	struct lt_cmd c = {.op = LT_FLOCK, .slot = slot, .flock_op = op};

	return lt_do(idx, &c);
}

static const char *lt_type_name(short type)
{
	switch (type) {
	case F_RDLCK:
		return "F_RDLCK";
	case F_WRLCK:
		return "F_WRLCK";
	case F_UNLCK:
		return "F_UNLCK";
	}
	return "?";
}

/* A conflicting F_SETLK must fail with EAGAIN or EACCES (POSIX allows
 * both). */
static void lt_expect_conflict(const struct lt_reply *r, const char *what)
{
	lt_check(r->ret < 0 && (r->err == EAGAIN || r->err == EACCES),
		 "%s is refused with EAGAIN/EACCES (ret %d, %s)", what, r->ret,
		 r->ret < 0 ? strerror(r->err) : "no error");
}

static void lt_expect_ok(const struct lt_reply *r, const char *what)
{
	lt_check(r->ret == 0, "%s succeeds (ret %d%s%s)", what, r->ret,
		 r->ret < 0 ? ", " : "", r->ret < 0 ? strerror(r->err) : "");
}

static void lt_expect_wouldblock(const struct lt_reply *r, const char *what)
{
	lt_check(r->ret < 0 && r->err == EWOULDBLOCK,
		 "%s fails with EWOULDBLOCK (ret %d, %s)", what, r->ret,
		 r->ret < 0 ? strerror(r->err) : "no error");
}

/* Check that a started call is still blocked at the checkpoint. */
static bool lt_expect_pending(int idx, const char *what)
{
	struct lt_reply r;
	int rc = lt_read_reply(idx, &r, LT_PENDING_MS);

	lt_check(rc == 0, "%s still blocks after %d ms (%s)", what,
		 LT_PENDING_MS,
		 rc == 0  ? "waiting"
		 : rc < 0 ? "worker gone"
			  : "returned");
	return rc == 0;
}

/* ---- scenarios ---------------------------------------------------- */

static int lt_setup(int nworkers)
{
	for (int i = 0; i < nworkers; i++) {
		if (lt_spawn(i) < 0 || lt_open(i, 0) < 0)
			return -1;
	}
	return 0;
}

/* An exclusive lock keeps every other lock off its range. */
static void lt_scn_wrlck(void)
{
	struct lt_reply r;

	r = lt_lk(0, F_SETLK, F_WRLCK, 0, 100);
	lt_expect_ok(&r, "A: F_SETLK F_WRLCK [0,100)");
	r = lt_lk(1, F_SETLK, F_WRLCK, 50, 10);
	lt_expect_conflict(&r, "B: F_SETLK F_WRLCK [50,60) under A's lock");
	r = lt_lk(1, F_SETLK, F_RDLCK, 0, 1);
	lt_expect_conflict(&r, "B: F_SETLK F_RDLCK [0,1) under A's lock");
	r = lt_lk(1, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_conflict(&r, "B: F_SETLK F_WRLCK whole file");
	r = lt_lk(0, F_SETLK, F_UNLCK, 0, 100);
	lt_expect_ok(&r, "A: unlock");
	r = lt_lk(1, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_ok(&r, "B: F_SETLK F_WRLCK whole file after A's unlock");
	r = lt_lk(0, F_SETLK, F_WRLCK, 10, 1);
	lt_expect_conflict(&r, "A: F_SETLK F_WRLCK [10,11) under B's lock");
}

/* F_GETLK names the holder: pid, type and range. */
static void lt_scn_getlk(void)
{
	struct lt_reply r;
	pid_t a = lt_workers[0].pid;

	r = lt_lk(0, F_SETLK, F_WRLCK, 10, 20);
	lt_expect_ok(&r, "A: F_WRLCK [10,30)");
	r = lt_lk(0, F_SETLK, F_RDLCK, 100, 5);
	lt_expect_ok(&r, "A: F_RDLCK [100,105)");
	r = lt_lk(1, F_GETLK, F_WRLCK, 0, 0);
	lt_expect_ok(&r, "B: F_GETLK F_WRLCK whole file");
	lt_check(r.fl.l_type == F_WRLCK && r.fl.l_pid == a &&
		     r.fl.l_start == 10 && r.fl.l_len == 20,
		 "B: F_GETLK reports A's lock: %s pid %d start %lld len %lld "
		 "(want F_WRLCK pid %d start 10 len 20)",
		 lt_type_name(r.fl.l_type), (int)r.fl.l_pid,
		 (long long)r.fl.l_start, (long long)r.fl.l_len, (int)a);
	r = lt_lk(1, F_GETLK, F_WRLCK, 40, 10);
	lt_check(r.ret == 0 && r.fl.l_type == F_UNLCK,
		 "B: F_GETLK on free range [40,50) says F_UNLCK (got %s)",
		 lt_type_name(r.fl.l_type));
	r = lt_lk(1, F_GETLK, F_RDLCK, 100, 5);
	lt_check(r.ret == 0 && r.fl.l_type == F_UNLCK,
		 "B: F_GETLK F_RDLCK on A's read lock says F_UNLCK (got %s)",
		 lt_type_name(r.fl.l_type));
	r = lt_lk(1, F_GETLK, F_WRLCK, 102, 0);
	lt_check(
	    r.ret == 0 && r.fl.l_type == F_RDLCK && r.fl.l_pid == a &&
		r.fl.l_start == 100 && r.fl.l_len == 5,
	    "B: F_GETLK F_WRLCK [102,EOF) reports A's read lock: %s pid %d "
	    "start %lld len %lld",
	    lt_type_name(r.fl.l_type), (int)r.fl.l_pid, (long long)r.fl.l_start,
	    (long long)r.fl.l_len);
}

/* Read locks coexist; a write lock waits for all of them to go. */
static void lt_scn_rdlck(void)
{
	struct lt_reply r;

	r = lt_lk(0, F_SETLK, F_RDLCK, 0, 0);
	lt_expect_ok(&r, "A: F_RDLCK whole file");
	r = lt_lk(1, F_SETLK, F_RDLCK, 0, 0);
	lt_expect_ok(&r, "B: F_RDLCK whole file next to A's");
	r = lt_lk(2, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_conflict(&r, "C: F_WRLCK under two read locks");
	r = lt_lk(0, F_SETLK, F_UNLCK, 0, 0);
	lt_expect_ok(&r, "A: unlock");
	r = lt_lk(2, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_conflict(&r, "C: F_WRLCK under B's read lock");
	r = lt_lk(1, F_SETLK, F_UNLCK, 0, 0);
	lt_expect_ok(&r, "B: unlock");
	r = lt_lk(2, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_ok(&r, "C: F_WRLCK once both read locks are gone");
}

/* Locks are byte ranges: disjoint ones coexist, partial unlocks split. */
static void lt_scn_ranges(void)
{
	struct lt_reply r;

	r = lt_lk(0, F_SETLK, F_WRLCK, 0, 10);
	lt_expect_ok(&r, "A: F_WRLCK [0,10)");
	r = lt_lk(1, F_SETLK, F_WRLCK, 10, 10);
	lt_expect_ok(&r, "B: F_WRLCK [10,20) next to A's range");
	r = lt_lk(1, F_SETLK, F_WRLCK, 5, 10);
	lt_expect_conflict(&r, "B: F_WRLCK [5,15) overlapping A's range");
	r = lt_lk(0, F_SETLK, F_WRLCK, 30, 30);
	lt_expect_ok(&r, "A: F_WRLCK [30,60)");
	r = lt_lk(0, F_SETLK, F_UNLCK, 40, 10);
	lt_expect_ok(&r, "A: unlock [40,50) inside [30,60)");
	r = lt_lk(1, F_SETLK, F_WRLCK, 40, 10);
	lt_expect_ok(&r, "B: F_WRLCK [40,50) in the hole A left");
	r = lt_lk(1, F_SETLK, F_WRLCK, 35, 1);
	lt_expect_conflict(&r, "B: F_WRLCK [35,36) in A's left piece");
	r = lt_lk(1, F_SETLK, F_WRLCK, 55, 1);
	lt_expect_conflict(&r, "B: F_WRLCK [55,56) in A's right piece");
	r = lt_lk(1, F_SETLK, F_WRLCK, 1000, 0);
	lt_expect_ok(&r, "B: F_WRLCK [1000,EOF)");
	r = lt_lk(0, F_SETLK, F_WRLCK, 5000, 1);
	lt_expect_conflict(&r, "A: F_WRLCK [5000,5001) under B's to-EOF lock");
}

/* A blocked F_SETLKW waits for the holder and gets the lock once it goes.
 */
static void lt_scn_setlkw(void)
{
	struct lt_cmd wait = lt_lk_cmd(0, F_SETLKW, F_WRLCK, 0, 0);
	struct lt_reply r;
	double t_unlock;

	r = lt_lk(0, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_ok(&r, "A: F_WRLCK whole file");
	if (lt_start(1, &wait) < 0) {
		lt_check(false, "B: could not start F_SETLKW");
		return;
	}
	if (!lt_expect_pending(1, "B: F_SETLKW under A's lock"))
		return;
	t_unlock = lt_now();
	r = lt_lk(0, F_SETLK, F_UNLCK, 0, 0);
	lt_expect_ok(&r, "A: unlock");
	if (!lt_finish(1, &r, LT_WAKE_MS))
		return;
	lt_check(r.ret == 0 && r.t >= t_unlock,
		 "B: F_SETLKW granted %.3f s after A's unlock (ret %d, %s)",
		 r.t - t_unlock, r.ret, r.ret < 0 ? strerror(r.err) : "ok");
	r = lt_lk(0, F_SETLK, F_RDLCK, 0, 1);
	lt_expect_conflict(&r, "A: F_RDLCK now that B holds the lock");
}

/*
 * A caught signal during F_SETLKW, and the waiter retries on EINTR (as
 * glibc users do).  Whatever the first call returned, once B has the
 * lock nothing may take it away: the filesystem once answered EINTR at
 * once and gave the lock back when the abandoned request was granted
 * later, which removed the lock B got by retrying.
 */
static void lt_scn_setlkw_intr(void)
{
	struct lt_cmd wait = lt_lk_cmd(0, F_SETLKW, F_WRLCK, 0, 0);
	struct lt_reply r;

	wait.retry_eintr = true;
	r = lt_lk(0, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_ok(&r, "A: F_WRLCK whole file");
	if (lt_start(1, &wait) < 0) {
		lt_check(false, "B: could not start F_SETLKW");
		return;
	}
	if (!lt_expect_pending(1, "B: F_SETLKW under A's lock"))
		return;
	lt_diag("interrupting B's F_SETLKW with SIGUSR1");
	kill(lt_workers[1].pid, SIGUSR1);
	if (!lt_expect_pending(1, "B: F_SETLKW (or its retry) after SIGUSR1"))
		return;
	r = lt_lk(0, F_SETLK, F_UNLCK, 0, 0);
	lt_expect_ok(&r, "A: unlock");
	if (!lt_finish(1, &r, LT_WAKE_MS))
		return;
	lt_check(r.ret == 0,
		 "B: F_SETLKW granted after A's unlock (%d EINTR "
		 "retries, ret %d, %s)",
		 r.eintrs, r.ret, r.ret < 0 ? strerror(r.err) : "ok");
	/* Not coordination: room for a late give-back to land, which must
	 * not happen at all. */
	usleep(500 * 1000);
	r = lt_lk(2, F_SETLK, F_WRLCK, 0, 1);
	lt_expect_conflict(&r, "C: F_WRLCK while B holds the lock");
	r = lt_lk(2, F_GETLK, F_WRLCK, 0, 0);
	lt_check(r.ret == 0 && r.fl.l_type == F_WRLCK &&
		     r.fl.l_pid == lt_workers[1].pid,
		 "C: F_GETLK names B (pid %d) as the holder (got %s pid %d)",
		 (int)lt_workers[1].pid, lt_type_name(r.fl.l_type),
		 (int)r.fl.l_pid);
}

/* POSIX: closing any fd of the file drops the process's locks on it. */
static void lt_scn_close(void)
{
	struct lt_reply r;
	struct lt_cmd c = {.op = LT_OPEN, .slot = 1};

	snprintf(c.path, sizeof(c.path), "%s", lt_paths[0]);
	r = lt_do(0, &c);
	lt_expect_ok(&r, "A: second open of the same file");
	r = lt_lk(0, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_ok(&r, "A: F_WRLCK on the first fd");
	r = lt_lk(1, F_SETLK, F_WRLCK, 0, 1);
	lt_expect_conflict(&r, "B: F_WRLCK under A's lock");
	r = lt_close(0, 1);
	lt_expect_ok(&r, "A: close the second fd");
	r = lt_lk(1, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_ok(&r, "B: F_WRLCK right after A closed another fd");
	r = lt_lk(1, F_GETLK, F_WRLCK, 0, 0);
	lt_check(r.ret == 0 && r.fl.l_type == F_UNLCK,
		 "B: F_GETLK sees no foreign lock (got %s)",
		 lt_type_name(r.fl.l_type));
}

/* A killed holder's locks go away; a waiter is woken by the death. */
static void lt_scn_kill(void)
{
	struct lt_cmd wait = lt_lk_cmd(0, F_SETLKW, F_WRLCK, 0, 0);
	struct lt_reply r;

	r = lt_lk(0, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_ok(&r, "A: F_WRLCK whole file");
	r = lt_lk(1, F_SETLK, F_WRLCK, 0, 0);
	lt_expect_conflict(&r, "B: F_WRLCK under A's lock");
	if (lt_start(1, &wait) < 0) {
		lt_check(false, "B: could not start F_SETLKW");
		return;
	}
	if (!lt_expect_pending(1, "B: F_SETLKW under A's lock"))
		return;
	lt_diag("killing A (pid %d) with SIGKILL", (int)lt_workers[0].pid);
	lt_reap(0);
	if (!lt_finish(1, &r, LT_WAKE_MS))
		return;
	lt_expect_ok(&r, "B: F_SETLKW granted after A was killed");
	r = lt_lk(2, F_GETLK, F_WRLCK, 0, 0);
	lt_check(r.ret == 0 && r.fl.l_type == F_WRLCK &&
		     r.fl.l_pid == lt_workers[1].pid,
		 "C: F_GETLK names B (pid %d) as the holder (got %s pid %d)",
		 (int)lt_workers[1].pid, lt_type_name(r.fl.l_type),
		 (int)r.fl.l_pid);
}

/* flock: whole-file exclusive/shared locks, LOCK_NB. */
static void lt_scn_flock(void)
{
	struct lt_reply r;

	r = lt_flock(0, 0, LOCK_EX);
	lt_expect_ok(&r, "A: flock LOCK_EX");
	r = lt_flock(1, 0, LOCK_EX | LOCK_NB);
	lt_expect_wouldblock(&r, "B: flock LOCK_EX|LOCK_NB under A's");
	r = lt_flock(1, 0, LOCK_SH | LOCK_NB);
	lt_expect_wouldblock(&r, "B: flock LOCK_SH|LOCK_NB under A's");
	r = lt_flock(0, 0, LOCK_UN);
	lt_expect_ok(&r, "A: flock LOCK_UN");
	r = lt_flock(1, 0, LOCK_SH | LOCK_NB);
	lt_expect_ok(&r, "B: flock LOCK_SH|LOCK_NB");
	r = lt_flock(2, 0, LOCK_SH | LOCK_NB);
	lt_expect_ok(&r, "C: flock LOCK_SH|LOCK_NB next to B's");
	r = lt_flock(0, 0, LOCK_EX | LOCK_NB);
	lt_expect_wouldblock(&r, "A: flock LOCK_EX|LOCK_NB under shared");
	r = lt_flock(1, 0, LOCK_UN);
	lt_expect_ok(&r, "B: flock LOCK_UN");
	r = lt_flock(0, 0, LOCK_EX | LOCK_NB);
	lt_expect_wouldblock(&r, "A: flock LOCK_EX|LOCK_NB under C's");
	r = lt_flock(2, 0, LOCK_UN);
	lt_expect_ok(&r, "C: flock LOCK_UN");
	r = lt_flock(0, 0, LOCK_EX | LOCK_NB);
	lt_expect_ok(&r, "A: flock LOCK_EX|LOCK_NB once free");
}

/* Shared by flock-wait and flock-kill: B blocks in LOCK_EX under A's lock;
 * release() lets A's lock go and B must get it. */
static void lt_flock_waiter(bool by_kill)
{
	struct lt_cmd wait = {.op = LT_FLOCK, .slot = 0, .flock_op = LOCK_EX};
	struct lt_reply r;
	double t_release;

	r = lt_flock(0, 0, LOCK_EX);
	lt_expect_ok(&r, "A: flock LOCK_EX");
	if (lt_start(1, &wait) < 0) {
		lt_check(false, "B: could not start flock LOCK_EX");
		return;
	}
	if (!lt_expect_pending(1, "B: flock LOCK_EX under A's"))
		return;
	t_release = lt_now();
	if (by_kill) {
		lt_diag("killing A (pid %d) with SIGKILL",
			(int)lt_workers[0].pid);
		lt_reap(0);
	} else {
		r = lt_flock(0, 0, LOCK_UN);
		lt_expect_ok(&r, "A: flock LOCK_UN");
	}
	if (!lt_finish(1, &r, LT_WAKE_MS))
		return;
	lt_check(r.ret == 0, "B: flock LOCK_EX granted %.3f s after A %s",
		 r.t - t_release, by_kill ? "died" : "unlocked");
	r = lt_flock(2, 0, LOCK_SH | LOCK_NB);
	lt_expect_wouldblock(&r, "C: flock LOCK_SH|LOCK_NB under B's");
}

static void lt_scn_flock_wait(void)
{
	lt_flock_waiter(false);
}

static void lt_scn_flock_kill(void)
{
	lt_flock_waiter(true);
}

struct lt_scenario {
	const char *name;
	int nworkers;
	void (*run)(void);
};

static const struct lt_scenario lt_scenarios[] = {
    {"wrlck", 2, lt_scn_wrlck},
    {"getlk", 2, lt_scn_getlk},
    {"rdlck", 3, lt_scn_rdlck},
    {"ranges", 2, lt_scn_ranges},
    {"setlkw", 2, lt_scn_setlkw},
    {"setlkw-intr", 3, lt_scn_setlkw_intr},
    {"close", 2, lt_scn_close},
    {"kill", 3, lt_scn_kill},
    {"flock", 3, lt_scn_flock},
    {"flock-wait", 3, lt_scn_flock_wait},
    {"flock-kill", 3, lt_scn_flock_kill},
};

static int lt_run(const struct lt_scenario *s)
{
	int before = lt_failures;

	lt_diag("scenario %s: A=%s B=%s", s->name, lt_paths[0], lt_paths[1]);
	if (lt_setup(s->nworkers) < 0)
		lt_check(false, "%s: could not start workers", s->name);
	else
		s->run();
	for (int i = 0; i < LT_MAX_WORKERS; i++)
		lt_reap(i);
	lt_diag("scenario %s: %s", s->name,
		lt_failures == before ? "passed" : "FAILED");
	return lt_failures == before ? 0 : -1;
}

/* hold / try: one process, no workers.  Returns 0 when both locks were
 * taken. */
static int lt_take_both(const char *posix_path, const char *flock_path,
			bool quiet)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fa = open(posix_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	int fb = open(flock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	int ret = 0;

	if (fa < 0 || fb < 0) {
		printf("# open: %s\n", strerror(errno));
		return -1;
	}
	if (fcntl(fa, F_SETLK, &fl) < 0) {
		if (!quiet)
			printf("# F_SETLK F_WRLCK %s: %s\n", posix_path,
			       strerror(errno));
		ret = -1;
	}
	if (flock(fb, LOCK_EX | LOCK_NB) < 0) {
		if (!quiet)
			printf("# flock LOCK_EX %s: %s\n", flock_path,
			       strerror(errno));
		ret = -1;
	}
	/* fds stay open: the locks live as long as this process. */
	return ret;
}

/* trylk: F_SETLK F_WRLCK on PATH_A opened with O_CREAT.  0 granted, 1 on
 * a conflict (EAGAIN/EACCES), 2 on any other error. */
static int lt_trylk(const char *path)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		printf("# open %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (fcntl(fd, F_SETLK, &fl) == 0) {
		printf("# F_SETLK F_WRLCK %s: granted\n", path);
		return 0;
	}
	printf("# F_SETLK F_WRLCK %s: %s\n", path, strerror(errno));
	return errno == EAGAIN || errno == EACCES ? 1 : 2;
}

static volatile sig_atomic_t lt_go;

static void lt_on_go(int sig)
{
	(void)sig;
	lt_go = 1;
}

/* Write one byte through fd and push it to the brick; 0 or an errno. */
static int lt_write_through(int fd)
{
	if (pwrite(fd, "x", 1, 0) != 1 || fsync(fd) != 0)
		return errno;
	return 0;
}

/*
 * lost: F_WRLCK on PATH_A, print "ready", wait for SIGUSR1 (the script
 * restarts the brick meanwhile), then the locked fd must fail with EBADFD
 * while a fresh open of PATH_B writes fine.  0 when both hold.
 * keep: the same without the lock, and the old fd must write fine too
 * (it was reopened on the new connection).
 */
static int lt_reconnect(const char *a, const char *b, bool lock)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	struct sigaction sa = {.sa_handler = lt_on_go};
	int fa, fb, err;

	sigaction(SIGUSR1, &sa, NULL);
	fa = open(a, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fa < 0 || (lock && fcntl(fa, F_SETLK, &fl) < 0)) {
		printf("# open/lock %s: %s\n", a, strerror(errno));
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	while (!lt_go)
		pause();
	err = lt_write_through(fa);
	printf("# write through the %s fd: %s\n", lock ? "locked" : "old",
	       err ? strerror(err) : "ok");
	fb = open(b, O_RDWR | O_CLOEXEC);
	if (fb < 0) {
		printf("# fresh open %s: %s\n", b, strerror(errno));
		return 1;
	}
	if (lt_write_through(fb) != 0) {
		printf("# write through a fresh fd: %s\n", strerror(errno));
		return 1;
	}
	printf("# write through a fresh fd: ok\n");
	return err == (lock ? EBADFD : 0) ? 0 : 1;
}

/*
 * regain: F_WRLCK on the whole of PATH_A and LOCK_EX on PATH_B (like
 * hold), print "ready", then for each SIGUSR1 fsync both fds (an fsync
 * always reaches the file system, without needing write quorum) and
 * print "io <A> <B>", each "ok" or the errno's name.  Stays until killed
 * or the -t limit.
 */
static int lt_regain(const char *a, const char *b)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	struct sigaction sa = {.sa_handler = lt_on_go};
	int fa = open(a, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	int fb = open(b, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	sigaction(SIGUSR1, &sa, NULL);
	if (fa < 0 || fb < 0 || fcntl(fa, F_SETLK, &fl) < 0 ||
	    flock(fb, LOCK_EX | LOCK_NB) < 0) {
		printf("# open/lock: %s\n", strerror(errno));
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		const char *ea, *eb;

		while (!lt_go)
			pause();
		lt_go = 0;
		ea = fsync(fa) == 0 ? "ok" : strerrorname_np(errno);
		eb = fsync(fb) == 0 ? "ok" : strerrorname_np(errno);
		printf("io %s %s\n", ea ? ea : "?", eb ? eb : "?");
		fflush(stdout);
	}
}

/*
 * wait: print "waiting", then a blocking F_SETLKW F_WRLCK on PATH_A (unless
 * "-") and a blocking flock LOCK_EX on PATH_B (unless "-"); print "held"
 * and stay.  Scripts kill it while it waits: a blocked lock request must
 * not keep a killed process alive.
 */
static int lt_wait(const char *a, const char *b)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fa = -1, fb = -1;

	if ((strcmp(a, "-") && (fa = open(a, O_RDWR | O_CLOEXEC)) < 0) ||
	    (strcmp(b, "-") && (fb = open(b, O_RDWR | O_CLOEXEC)) < 0)) {
		printf("# open: %s\n", strerror(errno));
		return 2;
	}
	printf("waiting\n");
	fflush(stdout);
	if ((fa >= 0 && fcntl(fa, F_SETLKW, &fl) < 0) ||
	    (fb >= 0 && flock(fb, LOCK_EX) < 0)) {
		printf("# blocking lock: %s\n", strerror(errno));
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int lt_helper(const char *mode, const char *a, const char *b)
{
	if (!strcmp(mode, "wait"))
		return lt_wait(a, b);
	if (!strcmp(mode, "trylk"))
		return lt_trylk(a);
	if (!strcmp(mode, "lost") || !strcmp(mode, "keep"))
		return lt_reconnect(a, b, !strcmp(mode, "lost"));
	if (!strcmp(mode, "regain"))
		return lt_regain(a, b);
	if (!strcmp(mode, "try"))
		return lt_take_both(a, b, false) == 0 ? 0 : 1;
	if (lt_take_both(a, b, false) < 0)
		return 1;
	printf("held\n");
	fflush(stdout);
	for (;;)
		pause();
}

static void lt_usage(void)
{
	fprintf(stderr,
		"usage: locktest [-t SECONDS] "
		"SCENARIO|all|hold|try|trylk|wait|lost|keep|regain PATH_A "
		"PATH_B\n"
		"scenarios:");
	for (size_t i = 0; i < sizeof(lt_scenarios) / sizeof(lt_scenarios[0]);
	     i++)
		fprintf(stderr, " %s", lt_scenarios[i].name);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	unsigned int limit = 120;
	bool found = false;
	int opt;

	while ((opt = getopt(argc, argv, "t:h")) != -1) {
		if (opt == 't') {
			limit = (unsigned int)strtoul(optarg, NULL, 10);
		} else {
			lt_usage();
			return 2;
		}
	}
	if (argc - optind != 3) {
		lt_usage();
		return 2;
	}
	lt_paths[0] = argv[optind + 1];
	lt_paths[1] = argv[optind + 2];
	lt_paths[2] = argv[optind + 1];
	/* Default SIGALRM action ends the driver; PDEATHSIG ends workers. */
	alarm(limit);
	if (!strcmp(argv[optind], "hold") || !strcmp(argv[optind], "try") ||
	    !strcmp(argv[optind], "trylk") || !strcmp(argv[optind], "lost") ||
	    !strcmp(argv[optind], "keep") || !strcmp(argv[optind], "wait") ||
	    !strcmp(argv[optind], "regain"))
		return lt_helper(argv[optind], lt_paths[0], lt_paths[1]);
	for (size_t i = 0; i < sizeof(lt_scenarios) / sizeof(lt_scenarios[0]);
	     i++) {
		if (strcmp(argv[optind], "all") &&
		    strcmp(argv[optind], lt_scenarios[i].name))
			continue;
		found = true;
		lt_run(&lt_scenarios[i]);
	}
	if (!found) {
		lt_usage();
		return 2;
	}
	return lt_failures ? 1 : 0;
}
