/*
 * brickd.c - the brick daemon: builds the server graph (from --export DIR
 * or a server volfile), starts it (protocol/server listens), optionally
 * daemonizes, and runs until SIGTERM.  SIGUSR1 writes a state dump.
 *
 * Startup order matters: everything that can fail with a message for the
 * user (arguments, volfile, translator loading) happens before the fork so
 * it goes to the terminal; the daemon child reports the rest (listening)
 * back through a pipe, and the parent exits only when the brick listens.
 */
#include "config.h"

#include "fop.h"
#include "graph.h"
#include "log.h"
#include "statedump.h"
#include "xlator.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define BRICK_COMP "brickd"

struct brick_opts {
	char *export_dir;
	char *volfile;
	const char *volume;
	const char *host;
	const char *port;
	char *port_file;
	bool foreground;
	char *pid_file;
	char *log_file;
	int log_level;
	const char *auth_allow;
	const char *auth_reject;
	char *volfile_dir;
	char *dump_dir;
	const char *handshake_timeout;	   /* seconds, as given */
	bool tls;			   /* --tls or --tls-dir */
	char *tls_cert, *tls_key, *tls_ca; /* from --tls-dir, else NULL */
};

/* Startup state shared with the failure path. */
static int brick_report_fd = -1; /* daemon child -> parent pipe */
static char *brick_pid_path;	 /* removed at exit when set */
static int brick_stop_pipe[2] = {-1, -1};
static bool brick_logs_to_file; /* else the log is stderr already */

static void brick_usage(FILE *out)
{
	fprintf(out,
		"Usage: brickd --export DIR [options]\n"
		"       brickd -f SERVER.vol [options]\n"
		"\n"
		"Serve a local directory (or the graph of a server volfile) "
		"to Mortar clients.\n"
		"\n"
		"  --export DIR         directory to export (graph posix -> "
		"locks -> upcall -> io-threads)\n"
		"  -f, --volfile FILE   server volfile to load instead\n"
		"  --volume NAME        volume name clients attach to "
		"(default brick)\n"
		"  --host ADDR          address to listen on (default "
		"0.0.0.0)\n"
		"  --port PORT          port to listen on (default 24010; 0 "
		"picks a free one)\n"
		"  --port-file FILE     write the bound port there once "
		"listening\n"
		"  -N                   stay in the foreground\n"
		"  --pid-file FILE      write the daemon's pid there\n"
		"  --log-file FILE      log there (default stderr; a file "
		"under " MORTAR_LOCALSTATEDIR "/log/mortar when daemonized)\n"
		"  --log-level LEVEL    error|warning|info|debug|trace "
		"(default info)\n"
		"  --auth-allow LIST    addresses allowed (comma list, * "
		"globs; default *)\n"
		"  --auth-reject LIST   addresses refused (wins over "
		"allow)\n"
		"  --volfile-dir DIR    serve DIR/NAME.vol to clients asking "
		"for volume NAME\n"
		"  --dump-dir DIR       where SIGUSR1 state dumps go "
		"(default /var/run/mortar)\n"
		"  --handshake-timeout SEC  close a connection that has not "
		"completed its\n"
		"                       handshake within SEC seconds (default "
		"30)\n"
		"  --tls                TLS 1.3 only, client certificates "
		"required (files:\n"
		"                       /etc/mortar/tls/server.crt, "
		"server.key, ca.crt)\n"
		"  --tls-dir DIR        --tls with those files in DIR\n"
		"  -h, --help           this text\n"
		"\n"
		"SIGTERM stops the brick cleanly; SIGUSR1 writes a state "
		"dump.\n");
}

/* Report a startup failure (to the waiting parent, or stderr) and exit. */
static void __attribute__((noreturn, format(printf, 1, 2)))
brick_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	if ((size_t)len >= sizeof(msg))
		len = sizeof(msg) - 1;
	if (brick_report_fd >= 0) {
		/* Best effort: the parent prints what it gets. */
		if (write(brick_report_fd, msg, (size_t)len) < 0)
			len = 0;
	} else {
		fprintf(stderr, "brickd: %s\n", msg);
	}
	if (brick_logs_to_file)
		xl_err(BRICK_COMP, "%s", msg);
	if (brick_pid_path)
		unlink(brick_pid_path);
	exit(1);
}

/* An absolute copy of path (the daemon changes to /). */
static char *brick_abspath(const char *path)
{
	char cwd[PATH_MAX];
	char *out;

	if (!path)
		return NULL;
	if (path[0] == '/')
		out = strdup(path);
	else if (!getcwd(cwd, sizeof(cwd)) ||
		 asprintf(&out, "%s/%s", cwd, path) < 0)
		out = NULL;
	if (!out)
		brick_fail("no memory for path %s", path);
	return out;
}

enum {
	OPT_EXPORT = 256,
	OPT_VOLUME,
	OPT_HOST,
	OPT_PORT,
	OPT_PORT_FILE,
	OPT_PID_FILE,
	OPT_LOG_FILE,
	OPT_LOG_LEVEL,
	OPT_AUTH_ALLOW,
	OPT_AUTH_REJECT,
	OPT_VOLFILE_DIR,
	OPT_DUMP_DIR,
	OPT_HANDSHAKE_TIMEOUT,
	OPT_TLS,
	OPT_TLS_DIR,
};

static const struct option brick_longopts[] = {
    {"export", required_argument, NULL, OPT_EXPORT},
    {"volfile", required_argument, NULL, 'f'},
    {"volume", required_argument, NULL, OPT_VOLUME},
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"auth-allow", required_argument, NULL, OPT_AUTH_ALLOW},
    {"auth-reject", required_argument, NULL, OPT_AUTH_REJECT},
    {"volfile-dir", required_argument, NULL, OPT_VOLFILE_DIR},
    {"dump-dir", required_argument, NULL, OPT_DUMP_DIR},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tls-dir", required_argument, NULL, OPT_TLS_DIR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* --tls-dir DIR: tls on, with DIR/server.crt, DIR/server.key, DIR/ca.crt
 * (the names mortar-volgen --tls-dir writes). */
static void brick_tls_dir(struct brick_opts *o, const char *dir)
{
	char *abs = brick_abspath(dir);

	free(o->tls_cert);
	free(o->tls_key);
	free(o->tls_ca);
	if (asprintf(&o->tls_cert, "%s/server.crt", abs) < 0 ||
	    asprintf(&o->tls_key, "%s/server.key", abs) < 0 ||
	    asprintf(&o->tls_ca, "%s/ca.crt", abs) < 0)
		brick_fail("no memory");
	free(abs);
	o->tls = true;
}

/* A value that goes into a volfile line must stay one line. */
static bool brick_value_ok(const char *v)
{
	return v && *v && !strchr(v, '\n') && !strchr(v, '\r') &&
	       !strstr(v, " #") && !strstr(v, "\t#");
}

static int brick_parse_port(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535)
		return -1;
	return (int)v;
}

static void brick_parse_args(int argc, char **argv, struct brick_opts *o)
{
	int c;

	o->volume = "brick";
	o->log_level = XL_LOG_INFO;
	while ((c = getopt_long(argc, argv, "f:Nh", brick_longopts, NULL)) !=
	       -1) {
		switch (c) {
		case OPT_EXPORT:
			free(o->export_dir);
			o->export_dir = brick_abspath(optarg);
			break;
		case 'f':
			free(o->volfile);
			o->volfile = brick_abspath(optarg);
			break;
		case OPT_VOLUME:
			o->volume = optarg;
			break;
		case OPT_HOST:
			o->host = optarg;
			break;
		case OPT_PORT:
			if (brick_parse_port(optarg) < 0)
				brick_fail("bad --port '%s' (0..65535)",
					   optarg);
			o->port = optarg;
			break;
		case OPT_PORT_FILE:
			free(o->port_file);
			o->port_file = brick_abspath(optarg);
			break;
		case 'N':
			o->foreground = true;
			break;
		case OPT_PID_FILE:
			free(o->pid_file);
			o->pid_file = brick_abspath(optarg);
			break;
		case OPT_LOG_FILE:
			free(o->log_file);
			o->log_file = brick_abspath(optarg);
			break;
		case OPT_LOG_LEVEL:
			o->log_level = xl_log_level_parse(optarg);
			if (o->log_level < 0)
				brick_fail("bad --log-level '%s' (error, "
					   "warning, info, debug, trace)",
					   optarg);
			break;
		case OPT_AUTH_ALLOW:
			o->auth_allow = optarg;
			break;
		case OPT_AUTH_REJECT:
			o->auth_reject = optarg;
			break;
		case OPT_VOLFILE_DIR:
			free(o->volfile_dir);
			o->volfile_dir = brick_abspath(optarg);
			break;
		case OPT_DUMP_DIR:
			free(o->dump_dir);
			o->dump_dir = brick_abspath(optarg);
			break;
		case OPT_HANDSHAKE_TIMEOUT:
			/* checked against the option's range at graph build */
			o->handshake_timeout = optarg;
			break;
		case OPT_TLS:
			o->tls = true;
			break;
		case OPT_TLS_DIR:
			brick_tls_dir(o, optarg);
			break;
		case 'h':
			brick_usage(stdout);
			exit(0);
		default:
			brick_usage(stderr);
			exit(1);
		}
	}
	if (optind < argc)
		brick_fail("unexpected argument '%s' (see --help)",
			   argv[optind]);
	if (!o->export_dir == !o->volfile)
		brick_fail("give exactly one of --export DIR or -f VOLFILE "
			   "(see --help)");
}

/* Append "    option KEY VALUE\n" to *text when value is set. */
static void brick_opt_line(char **text, const char *key, const char *value)
{
	char *next;

	if (!value)
		return;
	if (!brick_value_ok(value))
		brick_fail("bad value for %s: '%s'", key, value);
	if (asprintf(&next, "%s    option %s %s\n", *text, key, value) < 0)
		brick_fail("no memory");
	free(*text);
	*text = next;
}

/* The server volfile --export stands for: posix -> locks -> upcall (cache
 * notices for the clients) -> io-threads (named after the volume: what
 * clients attach to) -> protocol/server. */
static char *brick_export_volfile(const struct brick_opts *o)
{
	const char *v = o->volume;
	char *text = NULL, *next;
	struct stat st;

	if (stat(o->export_dir, &st) != 0)
		brick_fail("--export %s: %s", o->export_dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		brick_fail("--export %s: not a directory", o->export_dir);
	if (!xl_name_is_valid(v) || strpbrk(v, " \t#"))
		brick_fail("bad --volume '%s' (one name: no '/', spaces or "
			   "'#')",
			   v);
	if (asprintf(&text,
		     "# generated by brickd --export %s\n"
		     "volume %s-posix\n"
		     "    type storage/posix\n"
		     "    option directory %s\n"
		     "end-volume\n"
		     "volume %s-locks\n"
		     "    type features/locks\n"
		     "    subvolumes %s-posix\n"
		     "end-volume\n"
		     "volume %s-upcall\n"
		     "    type features/upcall\n"
		     "    subvolumes %s-locks\n"
		     "end-volume\n"
		     "volume %s\n"
		     "    type performance/io-threads\n"
		     "    subvolumes %s-upcall\n"
		     "end-volume\n"
		     "volume %s-server\n"
		     "    type protocol/server\n",
		     o->export_dir, v, o->export_dir, v, v, v, v, v, v, v) < 0)
		brick_fail("no memory");
	if (!brick_value_ok(o->export_dir))
		brick_fail("--export %s: path not usable in a volfile",
			   o->export_dir);
	brick_opt_line(&text, "listen-host", o->host ? o->host : "0.0.0.0");
	brick_opt_line(&text, "listen-port", o->port ? o->port : "24010");
	brick_opt_line(&text, "auth.allow", o->auth_allow);
	brick_opt_line(&text, "auth.reject", o->auth_reject);
	brick_opt_line(&text, "handshake-timeout", o->handshake_timeout);
	brick_opt_line(&text, "tls", o->tls ? "on" : NULL);
	brick_opt_line(&text, "tls-cert", o->tls_cert);
	brick_opt_line(&text, "tls-key", o->tls_key);
	brick_opt_line(&text, "tls-ca", o->tls_ca);
	brick_opt_line(&text, "volfile-dir", o->volfile_dir);
	brick_opt_line(&text, "port-file", o->port_file);
	if (asprintf(&next, "%s    subvolumes %s\nend-volume\n", text, v) < 0)
		brick_fail("no memory");
	free(text);
	return next;
}

/* Set (or replace) one option of a parsed volume: command-line options
 * override what a server volfile says. */
static void brick_volspec_set(struct xl_volspec *v, const char *key,
			      const char *value)
{
	struct xl_volspec_option *opts;
	char *copy;

	if (!value)
		return;
	copy = strdup(value);
	if (!copy)
		brick_fail("no memory");
	for (int i = 0; i < v->option_count; i++) {
		if (strcmp(v->options[i].key, key) == 0) {
			free(v->options[i].value);
			v->options[i].value = copy;
			return;
		}
	}
	opts =
	    realloc(v->options, (size_t)(v->option_count + 1) * sizeof(*opts));
	if (!opts)
		brick_fail("no memory");
	v->options = opts;
	opts[v->option_count].key = strdup(key);
	opts[v->option_count].value = copy;
	opts[v->option_count].line = v->line;
	if (!opts[v->option_count].key)
		brick_fail("no memory");
	v->option_count++;
}

static struct xl_volfile *brick_load_volfile(const struct brick_opts *o)
{
	struct xl_volfile *vf = NULL;
	char *err = NULL, *text;
	int ret;

	if (o->export_dir) {
		text = brick_export_volfile(o);
		ret = xl_volfile_parse(text, strlen(text), "<--export>", &vf,
				       &err);
		free(text);
	} else {
		ret = xl_volfile_read(o->volfile, &vf, &err);
	}
	if (ret != 0)
		brick_fail("%s", err ? err : strerror(-ret));
	if (o->export_dir)
		return vf;
	for (int i = 0; i < vf->volume_count; i++) {
		struct xl_volspec *v = &vf->volumes[i];

		if (strcmp(v->type, "protocol/server") != 0)
			continue;
		brick_volspec_set(v, "listen-host", o->host);
		brick_volspec_set(v, "listen-port", o->port);
		brick_volspec_set(v, "auth.allow", o->auth_allow);
		brick_volspec_set(v, "auth.reject", o->auth_reject);
		brick_volspec_set(v, "handshake-timeout", o->handshake_timeout);
		brick_volspec_set(v, "tls", o->tls ? "on" : NULL);
		brick_volspec_set(v, "tls-cert", o->tls_cert);
		brick_volspec_set(v, "tls-key", o->tls_key);
		brick_volspec_set(v, "tls-ca", o->tls_ca);
		brick_volspec_set(v, "volfile-dir", o->volfile_dir);
		brick_volspec_set(v, "port-file", o->port_file);
	}
	return vf;
}

/* After validation: a brick graph nobody can reach is a mistake. */
static void brick_check_server(const struct brick_opts *o,
			       const struct xl_volfile *vf)
{
	for (int i = 0; i < vf->volume_count; i++)
		if (strcmp(vf->volumes[i].type, "protocol/server") == 0)
			return;
	brick_fail("%s: no protocol/server volume: clients could never "
		   "reach this brick",
		   o->volfile);
}

/* Fork; the parent waits for the child's verdict on the pipe and exits
 * with it.  Returns in the child only. */
static void brick_daemonize(void)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		brick_fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		brick_fail("fork: %s", strerror(errno));
	if (pid > 0) {
		char msg[1025];
		ssize_t got, len = 0;

		close(fds[1]);
		while (len < (ssize_t)sizeof(msg) - 1) {
			got = read(fds[0], msg + len,
				   sizeof(msg) - 1 - (size_t)len);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				break;
			len += got;
		}
		msg[len] = '\0';
		if (len == 1 && msg[0] == 'K')
			exit(0);
		fprintf(stderr, "brickd: %s\n",
			len ? msg : "the daemon exited during startup");
		exit(1);
	}
	close(fds[0]);
	brick_report_fd = fds[1];
	if (setsid() < 0)
		brick_fail("setsid: %s", strerror(errno));
	if (chdir("/") != 0)
		brick_fail("chdir /: %s", strerror(errno));
}

/* The daemon is up: release the parent and drop the terminal. */
static void brick_detach(void)
{
	int null;

	if (brick_report_fd < 0)
		return;
	if (write(brick_report_fd, "K", 1) != 1)
		xl_warn(BRICK_COMP,
			"cannot report startup to the parent: "
			"errno=%d",
			errno);
	close(brick_report_fd);
	brick_report_fd = -1;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
}

static void brick_start_log(const struct brick_opts *o)
{
	char *path = o->log_file;
	char *dflt = NULL;
	int ret;

	if (!path && !o->foreground) {
		/* A daemon has no terminal: log to a file by default. */
		mkdir(MORTAR_LOCALSTATEDIR "/log", 0755);
		mkdir(MORTAR_LOCALSTATEDIR "/log/mortar", 0755);
		if (asprintf(&dflt,
			     MORTAR_LOCALSTATEDIR "/log/mortar/brickd-%s.log",
			     o->export_dir ? o->volume : "volfile") < 0)
			brick_fail("no memory");
		path = dflt;
	}
	ret = xl_log_init(path, (enum xl_log_level)o->log_level);
	if (ret != 0)
		brick_fail("cannot open log file %s: %s", path, strerror(-ret));
	brick_logs_to_file = path != NULL;
	free(dflt);
}

static void brick_write_pid(const char *path)
{
	char line[32];
	int fd, len;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		brick_fail("cannot write pid file %s: %s", path,
			   strerror(errno));
	len = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (write(fd, line, (size_t)len) != len) {
		int err = errno;

		close(fd);
		brick_fail("cannot write pid file %s: %s", path, strerror(err));
	}
	close(fd);
	brick_pid_path = (char *)path;
}

static void brick_opts_free(struct brick_opts *o)
{
	free(o->export_dir);
	free(o->volfile);
	free(o->port_file);
	free(o->pid_file);
	free(o->log_file);
	free(o->volfile_dir);
	free(o->dump_dir);
	free(o->tls_cert);
	free(o->tls_key);
	free(o->tls_ca);
	brick_pid_path = NULL;
}

/* Signal thread: SIGTERM/SIGINT/SIGHUP wake the main thread. */
static void brick_on_stop(void *data)
{
	if (write(brick_stop_pipe[1], "x", 1) != 1)
		xl_err(BRICK_COMP, "cannot wake the main thread: errno=%d",
		       errno);
}

static void brick_wait_stop(void)
{
	char c;

	while (read(brick_stop_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	struct brick_opts o = {0};
	struct xl_volfile *vf;
	struct xl_graph *g = NULL;
	char *err = NULL;
	int ret;

	/* Before any thread exists, so all of them inherit the mask. */
	xl_signals_block();
	brick_parse_args(argc, argv, &o);
	vf = brick_load_volfile(&o);
	/* Loading the translators validates every option: errors show on
	 * the terminal, with the volfile line, before we fork. */
	ret = xl_graph_build(vf, &g, &err);
	if (ret != 0)
		brick_fail("%s", err ? err : strerror(-ret));
	brick_check_server(&o, vf);

	if (!o.foreground)
		brick_daemonize();
	/* The brick applies the clients' modes and umasks itself. */
	umask(0);
	brick_start_log(&o);
	brick_write_pid(o.pid_file);
	if (pipe2(brick_stop_pipe, O_CLOEXEC) != 0)
		brick_fail("pipe: %s", strerror(errno));
	ret = xl_signals_start("brickd", o.dump_dir, g, brick_on_stop, NULL);
	if (ret != 0)
		brick_fail("cannot start the signal thread: %s",
			   strerror(-ret));
	ret = xl_graph_init(g, &err);
	if (ret != 0)
		brick_fail("%s", err ? err : strerror(-ret));
	xl_info(BRICK_COMP, "brick started: pid=%d %s=%s", (int)getpid(),
		o.export_dir ? "export" : "volfile",
		o.export_dir ? o.export_dir : o.volfile);
	brick_detach();

	brick_wait_stop();
	xl_info(BRICK_COMP, "stopping");
	/* Signals are no longer dumped from a graph being torn down. */
	xl_signals_set_graph(NULL);
	xl_graph_destroy(g);
	xl_volfile_free(vf);
	if (brick_pid_path)
		unlink(brick_pid_path);
	xl_info(BRICK_COMP, "stopped");
	brick_opts_free(&o);
	return 0;
}
