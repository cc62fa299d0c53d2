/*
 * mortar.c - the `mortar` mount program: options, volfile (file or fetched
 * from a volfile server), graph build and init, wait for the graph to come
 * up, FUSE mount, daemonize, run the FUSE loop, unmount on SIGTERM.
 *
 * Daemon start: the parent forks before any thread exists (threads do not
 * survive fork) and waits on a pipe; the child sets everything up and
 * writes "0" once the kernel has sent INIT (the mount answers), or an
 * error message.  The parent exits 0 only on "0".
 */
#include "config.h"

#include "fuse-bridge.h"
#include "graph.h"
#include "log.h"
#include "mortar-tls.h"
#include "mortar.h"
#include "volfile-fetch.h"
#include "statedump.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MT_LOG		      "mortar"
#define MT_PARENT_TIMEOUT_SEC 60

extern char **environ;

static struct mortar mt_state = {
    .status_fd = -1,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
};

/* Report a startup failure: to the waiting parent if there is one, else
 * to stderr; and to the log. */
__attribute__((format(printf, 2, 3))) static void mt_fail(struct mortar *m,
							  const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Without a log file the log is the terminal the parent prints to:
	 * say it once. */
	if (m->status_fd < 0 || m->opts.log_file)
		xl_err(MT_LOG, "%s", msg);
	if (m->status_fd >= 0) {
		/* The parent prints it; a short write only shortens it. */
		if (write(m->status_fd, msg, strlen(msg)) < 0)
			xl_debug(MT_LOG, "status pipe: errno=%d", errno);
	} else if (m->opts.log_file) {
		fprintf(stderr, "mortar: %s\n", msg);
	}
}

/* The parent side of daemon start: wait for the child's word. */
static int mt_parent_wait(int fd, pid_t child)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char msg[1025];
	ssize_t n = -1; /* stays -1 on timeout */
	int status = 0;

	if (poll(&pfd, 1, MT_PARENT_TIMEOUT_SEC * 1000) > 0)
		n = read(fd, msg, sizeof(msg) - 1);
	if (n == 1 && msg[0] == '0')
		return 0;
	if (n > 0) {
		msg[n] = '\0';
		fprintf(stderr, "mortar: %s\n", msg);
	} else if (n == 0) {
		/* EOF without a word: the child is exiting; reap it. */
		waitpid(child, &status, 0);
		fprintf(stderr,
			"mortar: mount process exited early (status "
			"%d); see the log\n",
			status);
	} else {
		fprintf(stderr, "mortar: mount did not come up within %d s\n",
			MT_PARENT_TIMEOUT_SEC);
		kill(child, SIGTERM);
	}
	return 1;
}

/* Fork; the parent never returns.  0 in the child, -errno on failure. */
static int mt_daemonize(struct mortar *m)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) != 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(fds[1]);
		exit(mt_parent_wait(fds[0], pid));
	}
	close(fds[0]);
	m->status_fd = fds[1];
	setsid();
	if (chdir("/") != 0)
		return -errno;
	return 0;
}

/* The mount answers: tell the parent, drop the terminal. */
static void mt_on_live(struct fuse_bridge *fb)
{
	struct mortar *m = fb->owner;
	int null;

	xl_info(MT_LOG, "mounted %s", m->opts.mountpoint);
	if (m->status_fd < 0)
		return;
	if (write(m->status_fd, "0", 1) != 1)
		xl_warn(MT_LOG, "status pipe: errno=%d", errno);
	close(m->status_fd);
	m->status_fd = -1;
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}

/* The running graph's events set child_up; a switch's new graph's set
 * pending_up; a replaced graph's are only logged (its connections close
 * as it is destroyed). */
void mortar_top_notify(struct xl_graph *g, enum xl_event ev, void *data)
{
	struct mortar *m = data;

	pthread_mutex_lock(&m->lock);
	if (g != m->graph) {
		if (g == m->pending && ev == XL_EV_CHILD_UP)
			m->pending_up = true;
		else if (g == m->pending && ev == XL_EV_CHILD_DOWN)
			m->pending_up = false;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		xl_debug(MT_LOG, "event %d from graph %s (not the running one)",
			 (int)ev, g->filename);
		return;
	}
	if (ev == XL_EV_CHILD_UP)
		m->child_up = true;
	else if (ev == XL_EV_CHILD_DOWN)
		m->child_up = false;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	/* Back after a disconnect (a brick restarted, perhaps with new
	 * volfiles): ask for a newer volfile now, not at the next tick. */
	if (ev == XL_EV_CHILD_UP)
		volfile_watch_poke(&m->watch);
	if (ev == XL_EV_CHILD_UP)
		xl_info(MT_LOG, "volume is up");
	else if (ev == XL_EV_CHILD_DOWN)
		xl_warn(MT_LOG, "volume is down: fops fail with ENOTCONN");
}

void mortar_top_volfile(struct xl_graph *g, const char *volume, void *data)
{
	struct mortar *m = data;

	(void)g;
	/* Our volume's, and fetched from the servers (not -f's file). */
	if (!m->opts.volfile && m->opts.volume &&
	    strcmp(volume, m->opts.volume) == 0) {
		xl_debug(MT_LOG, "a brick says volfile %s changed", volume);
		volfile_watch_poke(&m->watch);
	}
}

/* A graph with no network translator is up as soon as it is initialised
 * (e.g. a local storage/posix graph); others report CHILD_UP. */
bool mortar_graph_needs_up(const struct xl_graph *g)
{
	for (int i = 0; i < g->count; i++)
		if (strncmp(g->xls[i]->desc->type, "protocol/", 9) == 0)
			return true;
	return false;
}

static void mt_wait_up(struct mortar *m)
{
	struct timespec deadline;

	if (!mortar_graph_needs_up(m->graph))
		return;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += MT_CHILD_UP_TIMEOUT_SEC;
	pthread_mutex_lock(&m->lock);
	while (!m->child_up) {
		if (pthread_cond_timedwait(&m->cond, &m->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&m->lock);
	if (!m->child_up)
		xl_warn(MT_LOG,
			"volume not up after %d s; mounting anyway (fops fail "
			"with ENOTCONN until it comes up)",
			MT_CHILD_UP_TIMEOUT_SEC);
}

/* Read or fetch the volfile, build and init the graph. */
static int mt_graph_setup(struct mortar *m)
{
	struct xl_volfile *vf = NULL;
	struct volfile_text vt;
	char *err = NULL;
	int ret;

	ret = volfile_source_get(&m->opts, &vt, &err);
	if (ret == 0) {
		if (vt.served_by >= 0)
			xl_info(MT_LOG,
				"volfile of volume %s from volfile server %s",
				m->opts.volume, vt.name);
		m->watch.running = vt.version;
		m->watch.last_server = vt.served_by < 0 ? 0 : vt.served_by;
		ret = xl_volfile_parse(vt.text, vt.len, vt.name, &vf, &err);
		volfile_text_free(&vt);
	}
	if (ret == 0)
		ret = mortar_tls_apply(&m->opts, vf);
	if (ret == 0)
		ret = xl_graph_build(vf, &m->graph, &err);
	if (ret == 0) {
		m->graph->top_notify = mortar_top_notify;
		m->graph->top_notify_data = m;
		m->graph->top_volfile = mortar_top_volfile;
		m->graph->top_volfile_data = m;
		m->graph->owner = &m->fb;
		ret = xl_graph_init(m->graph, &err);
	}
	if (ret < 0)
		mt_fail(m, "%s", err ? err : strerror(-ret));
	free(err);
	if (vf)
		xl_volfile_free(vf);
	return ret;
}

/* "-o" list for fuse_session_new: fsname, subtype, root defaults and the
 * user's own options.  Commas in the fsname are escaped for fuse_opt. */
static char *mt_fuse_optstr(struct mortar *m)
{
	struct mortar_opts *o = &m->opts;
	const char *src = o->volfile ? o->volfile : o->volume;
	size_t cap =
	    2 * strlen(src) + 128 + (o->fuse_opts ? strlen(o->fuse_opts) : 0);
	char *s = malloc(cap);
	size_t n;

	if (!s)
		return NULL;
	n = (size_t)snprintf(s, cap, "fsname=%s", o->volfile ? "" : "mortar:");
	for (const char *p = src; *p; p++) {
		if (*p == ',' || *p == '\\')
			s[n++] = '\\';
		s[n++] = *p;
	}
	s[n] = '\0';
	n += (size_t)snprintf(s + n, cap - n, ",subtype=mortar");
	if (geteuid() == 0) {
		if (!mortar_opts_has(o->fuse_opts, "allow_other"))
			n += (size_t)snprintf(s + n, cap - n, ",allow_other");
		if (!mortar_opts_has(o->fuse_opts, "default_permissions"))
			n += (size_t)snprintf(s + n, cap - n,
					      ",default_permissions");
	}
	if (o->fuse_opts)
		snprintf(s + n, cap - n, ",%s", o->fuse_opts);
	return s;
}

/* The device number of the file system mounted at mnt (the last mount
 * there: ours when stacked), from mountinfo so that nothing asks the
 * mount itself.  0 or -ENOENT. */
static int mt_mount_dev(const char *mnt, unsigned int *major,
			unsigned int *minor)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096], path[PATH_MAX + 1];
	unsigned int ma, mi;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d %*d %u:%u %*s %4096s", &ma, &mi, path) !=
			3 ||
		    strcmp(path, mnt) != 0)
			continue;
		*major = ma;
		*minor = mi;
		ret = 0;
	}
	fclose(f);
	return ret;
}

static int mt_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = -errno;
	close(fd);
	return ret;
}

/* Abort the FUSE connection of our mount (fusectl), so reader threads
 * return even when a lazy unmount leaves the file system busy. */
static void mt_abort_conn(const char *mnt)
{
	unsigned int major, minor;
	char path[128];
	int ret;

	if (mt_mount_dev(mnt, &major, &minor) < 0)
		return;
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
		 minor);
	ret = mt_write_file(path, "1");
	if (ret < 0)
		xl_warn(MT_LOG, "abort %s: errno=%d", path, -ret);
}

/* The kernel starts a FUSE mount with a 128 KiB readahead (the bdi
 * default) and only ever lowers it at INIT; raise it to max_readahead
 * before INIT is answered so buffered reads arrive as 1 MiB requests. */
static void mt_set_readahead(const char *mnt)
{
	unsigned int major, minor;
	char path[128], kb[32];
	int ret;

	if (mt_mount_dev(mnt, &major, &minor) < 0)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 major, minor);
	snprintf(kb, sizeof(kb), "%u", XL_IO_SIZE_MAX / 1024);
	ret = mt_write_file(path, kb);
	if (ret < 0)
		xl_info(MT_LOG, "cannot raise readahead (%s): errno=%d", path,
			-ret);
}

/* The kernel is told of other clients' changes (fuse-bridge-inval.c) only
 * when the graph caches metadata (performance/md-cache), the setup in
 * which its caches are meant to last.  Without it the kernel's own
 * timeouts bound them, as before: forwarding the notices there raced
 * with replicate's choice of a copy to read after a brick came back
 * (replicate-splitbrain.t read the copy that missed the writes). */
bool mortar_graph_caches(const struct xl_graph *g)
{
	for (int i = 0; g && i < g->count; i++)
		if (g->xls[i] &&
		    strcmp(g->xls[i]->desc->type, "performance/md-cache") == 0)
			return true;
	return false;
}

static int mt_fuse_setup(struct mortar *m)
{
	char *optstr = mt_fuse_optstr(m);
	char *argv[] = {"mortar", "-o", optstr, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse_bridge *fb = &m->fb;
	int ret = -ENOMEM;

	if (!optstr)
		goto out;
	xl_debug(MT_LOG, "fuse options: %s", optstr);
	fb->graph = m->graph;
	fuse_bridge_graphs_init(fb);
	fb->entry_timeout = m->opts.entry_timeout;
	fb->attr_timeout = m->opts.attr_timeout;
	fb->negative_timeout = m->opts.negative_timeout;
	fb->parallel_dirops = m->opts.parallel_dirops;
	fb->on_live = mt_on_live;
	fb->owner = m;
	fb->root = xl_inode_get(m->graph->itable, xl_gfid_root);
	if (!fb->root)
		goto out;
	m->se = fuse_session_new(&args, &fuse_bridge_ops,
				 sizeof(fuse_bridge_ops), fb);
	if (!m->se) {
		mt_fail(m, "bad FUSE options '%s'", optstr);
		ret = -EINVAL;
		goto out;
	}
	fb->se = m->se;
	if (mortar_graph_caches(m->graph) && fuse_bridge_inval_start(fb) != 0)
		xl_warn(MT_LOG,
			"cannot start the invalidation thread: the "
			"kernel's caches expire by their timeouts only");
	if (fuse_session_mount(m->se, m->opts.mountpoint) != 0) {
		mt_fail(m, "cannot mount on %s (see the log)",
			m->opts.mountpoint);
		ret = -EIO;
		goto out;
	}
	if (geteuid() == 0)
		mt_set_readahead(m->opts.mountpoint);
	/* Without it the mount still works, only without parallel lookups
	 * where libfuse does not ask for them, and with one more copy of
	 * each write's data. */
	ret = fuse_bridge_io_install(fb, m->se);
	if (ret < 0)
		xl_warn(MT_LOG,
			"cannot set the session I/O (errno=%d): no "
			"parallel directory operations",
			-ret);
	ret = 0;
out:
	fuse_opt_free_args(&args);
	free(optstr);
	return ret;
}

/* SIGTERM/SIGINT/SIGHUP (signal thread): leave the loop by unmounting;
 * the kernel then ends the session and the reader threads return. */
static void mt_on_stop(void *data)
{
	struct mortar *m = data;
	/* A copy: once the session is told to exit, the main thread may
	 * return and free the options while this thread still unmounts. */
	char mnt[PATH_MAX];
	char *argv[] = {"fusermount3", "-u", "-z", mnt, NULL};
	pid_t pid;
	int status;

	if (!m->opts.mountpoint)
		return; /* main already ended */
	snprintf(mnt, sizeof(mnt), "%s", m->opts.mountpoint);
	xl_info(MT_LOG, "stopping: unmounting %s", mnt);
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_mutex_unlock(&m->lock);
	fuse_session_exit(m->se);
	if (geteuid() != 0) {
		if (posix_spawnp(&pid, "fusermount3", NULL, NULL, argv,
				 environ) == 0)
			waitpid(pid, &status, 0);
		return;
	}
	if (umount2(mnt, 0) == 0)
		return;
	/* Busy: detach it from the namespace and cut the connection so
	 * we exit; open files there get ENOTCONN. */
	mt_abort_conn(mnt);
	umount2(mnt, MNT_DETACH);
}

static int mt_write_pid(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) == 0 ? 0 : -errno;
}

static int mt_run_loop(struct mortar *m)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int ret;

	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 1);
	fuse_loop_cfg_set_idle_threads(cfg, (unsigned)m->opts.fuse_threads);
	if (m->opts.fuse_threads > 10)
		fuse_loop_cfg_set_max_threads(cfg,
					      (unsigned)m->opts.fuse_threads);
	ret = fuse_session_loop_mt(m->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return ret;
}

/* Make a relative path absolute: the daemon runs in "/". */
static int mt_absolute(char **path)
{
	char cwd[PATH_MAX];
	char *abs;

	if (!*path || (*path)[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	if (asprintf(&abs, "%s/%s", cwd, *path) < 0)
		return -ENOMEM;
	free(*path);
	*path = abs;
	return 0;
}

static int mt_check_paths(struct mortar *m)
{
	struct mortar_opts *o = &m->opts;

	if (mt_absolute(&o->volfile) < 0 || mt_absolute(&o->pid_file) < 0 ||
	    mt_absolute(&o->log_file) < 0 || mt_absolute(&o->dump_dir) < 0 ||
	    mt_absolute(&o->xlator_path) < 0) {
		fprintf(stderr, "mortar: cannot resolve paths: %s\n",
			strerror(errno));
		return -EINVAL;
	}
	return 0;
}

static int mt_check_mountpoint(struct mortar *m)
{
	char *abs = realpath(m->opts.mountpoint, NULL);
	struct stat st;

	if (!abs) {
		fprintf(stderr, "mortar: mount point %s: %s\n",
			m->opts.mountpoint, strerror(errno));
		return -ENOENT;
	}
	free(m->opts.mountpoint);
	m->opts.mountpoint = abs;
	if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "mortar: mount point %s is not a directory\n",
			abs);
		return -ENOTDIR;
	}
	return 0;
}

/* A daemon without --log-file logs to
 * LOCALSTATEDIR/log/mortar/<mount point with '/' as '-'>.log when that
 * folder can be made, like the other daemons. */
static void mt_default_log_file(struct mortar *m)
{
	const char *dir = MORTAR_LOCALSTATEDIR "/log/mortar";
	char path[PATH_MAX];
	size_t n;

	if (m->opts.foreground || m->opts.log_file)
		return;
	mkdir(MORTAR_LOCALSTATEDIR, 0755);
	mkdir(MORTAR_LOCALSTATEDIR "/log", 0755);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return;
	n = (size_t)snprintf(path, sizeof(path), "%s/", dir);
	for (const char *p = m->opts.mountpoint + 1; *p && n < sizeof(path) - 5;
	     p++)
		path[n++] = *p == '/' ? '-' : *p;
	snprintf(path + n, sizeof(path) - n, ".log");
	m->opts.log_file = strdup(path);
}

static int mt_log_setup(struct mortar *m)
{
	const char *path;
	int ret;

	mt_default_log_file(m);
	path = m->opts.log_file;

	ret = xl_log_init(path, (enum xl_log_level)m->opts.log_level);
	if (ret < 0)
		fprintf(stderr, "mortar: cannot open log %s: %s\n", path,
			strerror(-ret));
	return ret;
}

static void mt_watch_start(struct mortar *m)
{
	m->watch.opts = &m->opts;
	m->watch.on_newer = mortar_switch_to;
	m->watch.on_tick = mortar_switch_drain;
	m->watch.owner = m;
	if (volfile_watch_start(&m->watch) < 0)
		xl_warn(MT_LOG, "cannot start the volfile watch: a newer "
				"volfile is only used after a remount");
}

/* Everything after option parsing; returns the exit status. */
static int mt_main(struct mortar *m)
{
	int ret;

	if (mt_check_paths(m) < 0 || mt_check_mountpoint(m) < 0 ||
	    mt_log_setup(m) < 0)
		return 1;
	if (m->opts.xlator_path &&
	    setenv("MORTAR_XLATOR_PATH", m->opts.xlator_path, 1) != 0)
		return 1;
	if (!m->opts.foreground && mt_daemonize(m) < 0) {
		fprintf(stderr, "mortar: cannot daemonize: %s\n",
			strerror(errno));
		return 1;
	}
	if (mt_graph_setup(m) < 0)
		return 1;
	mt_wait_up(m);
	if (mt_fuse_setup(m) < 0)
		return 1;
	ret = xl_signals_start("mortar", m->opts.dump_dir, m->graph, mt_on_stop,
			       m);
	if (ret < 0) {
		mt_fail(m, "cannot start the signal thread: %s",
			strerror(-ret));
		goto unmount;
	}
	if (m->opts.pid_file && mt_write_pid(m->opts.pid_file) < 0)
		xl_warn(MT_LOG, "cannot write pid file %s: errno=%d",
			m->opts.pid_file, errno);
	mt_watch_start(m);
	ret = mt_run_loop(m);
	xl_info(MT_LOG, "FUSE loop ended (%d); exiting", ret);
	volfile_watch_stop(&m->watch);
unmount:
	/* The session is not destroyed: a call still in the graph (a lock
	 * wait, a slow brick) may answer its request until exit. */
	fuse_bridge_inval_stop(&m->fb);
	fuse_bridge_io_report(&m->fb);
	fuse_session_unmount(m->se);
	if (m->opts.pid_file)
		unlink(m->opts.pid_file);
	return ret < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct mortar *m = &mt_state;
	char *err = NULL;
	int status;

	xl_signals_block();
	/* Keep 1 MiB I/O buffers in the heap: with glibc's default they are
	 * mmap'd and unmapped per request, and the page faults of a fresh
	 * mapping cost more than the copy itself. */
	mallopt(M_MMAP_THRESHOLD, 4 * XL_IO_SIZE_MAX);
	mallopt(M_TRIM_THRESHOLD, 16 * XL_IO_SIZE_MAX);
	if (mortar_opts_parse(argc, argv, &m->opts, &err) < 0) {
		fprintf(stderr, "mortar: %s\n", err ? err : "bad arguments");
		free(err);
		mortar_usage("mortar");
		return 2;
	}
	if (m->opts.help) {
		mortar_usage("mortar");
		return 0;
	}
	status = mt_main(m);
	/* The graph is left to exit(): translators may still have threads
	 * answering late calls, and the kernel has no more requests. */
	mortar_opts_free(&m->opts);
	return status;
}
