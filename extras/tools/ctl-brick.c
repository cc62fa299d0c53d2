/*
 * ctl-brick.c - the brick processes of this machine for mortarctl: is a
 * brick's host this machine, start a brick (systemd's mortar-volbrick@
 * unit, or brickd daemonized by us), stop it by PID, and probe it (PID
 * alive, port accepting, clients from a state dump).
 *
 * A PID from a pid file is only trusted while /proc/PID/cmdline still
 * names the brick's volfile: a brick that died long ago may have left a
 * pid file whose number now belongs to another process, which must never
 * get our signals.  Every wait is bounded.
 */
#include "config.h"

#include "ctl.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CTL_DAEMON_TIMEOUT_MS  30000 /* brickd's parent exits once listening */
#define CTL_LISTEN_TIMEOUT_MS  20000
#define CTL_TERM_TIMEOUT_MS    10000
#define CTL_KILL_TIMEOUT_MS    5000
#define CTL_DUMP_TIMEOUT_MS    3000
#define CTL_CONNECT_TIMEOUT_MS 1000

static const char *const ctl_unit_dirs[] = {
    "/etc/systemd/system", "/usr/local/lib/systemd/system",
    "/lib/systemd/system", "/usr/lib/systemd/system", NULL};

static void ctl_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- is it this machine ------------------------------------------------ */

static bool ctl_is_interface_address(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	struct ifaddrs *ifs, *ifa;
	bool v4 = inet_pton(AF_INET, host, &a4) == 1;
	bool v6 = !v4 && inet_pton(AF_INET6, host, &a6) == 1;
	bool found = false;

	if ((!v4 && !v6) || getifaddrs(&ifs) != 0)
		return false;
	for (ifa = ifs; ifa && !found; ifa = ifa->ifa_next) {
		const struct sockaddr *sa = ifa->ifa_addr;

		if (!sa)
			continue;
		if (v4 && sa->sa_family == AF_INET)
			found =
			    memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
				   &a4, sizeof(a4)) == 0;
		else if (v6 && sa->sa_family == AF_INET6)
			found =
			    memcmp(
				&((const struct sockaddr_in6 *)sa)->sin6_addr,
				&a6, sizeof(a6)) == 0;
	}
	freeifaddrs(ifs);
	return found;
}

bool ctl_host_is_local(const char *host)
{
	char name[256];
	size_t short_len;

	if (strcasecmp(host, "localhost") == 0 ||
	    strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0)
		return true;
	if (gethostname(name, sizeof(name)) == 0) {
		name[sizeof(name) - 1] = '\0';
		/* "node1" is "node1.example.org" and the other way round. */
		short_len = strcspn(name, ".");
		if (strcasecmp(host, name) == 0 ||
		    (strlen(host) == short_len &&
		     strncasecmp(host, name, short_len) == 0) ||
		    (strncasecmp(host, name, short_len) == 0 &&
		     host[short_len] == '.'))
			return true;
	}
	return ctl_is_interface_address(host);
}

/* ---- where a brick's files are ----------------------------------------- */

/* vols/NAME/DIR/brick-<i>.EXT */
static char *ctl_brick_file(const struct ctl_volume *v, int i, const char *dir,
			    const char *ext)
{
	return vg_printf("%s/vols/%s/%s/brick-%d.%s", ctl_state_dir(), v->name,
			 dir, i, ext);
}

static char *ctl_brick_volfile(const struct ctl_volume *v, int i)
{
	return vg_printf("%s/vols/%s/volfiles/%s-brick-%d.vol", ctl_state_dir(),
			 v->name, v->name, i);
}

/* systemd's instance name, as mortar-volbrick@.service reads it. */
static char *ctl_brick_instance(const struct ctl_volume *v, int i)
{
	return vg_printf("%s-brick-%d", v->name, i);
}

static bool ctl_runs_under_systemd(const struct ctl_volume *v, int i)
{
	char *marker = ctl_brick_file(v, i, "run", "unit");
	bool yes = access(marker, F_OK) == 0;

	free(marker);
	return yes;
}

/* The unit reads its settings from the default state directory only;
 * bricks of another one (tests, a second instance) run under us. */
static bool ctl_systemd_usable(void)
{
	char comm[32] = "";
	FILE *f;
	bool unit = false;

	if (!ctl_state_is_default() || access("/run/systemd/system", F_OK) != 0)
		return false;
	f = fopen("/proc/1/comm", "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	if (strcmp(comm, "systemd\n") != 0)
		return false;
	for (int d = 0; ctl_unit_dirs[d] && !unit; d++) {
		char *p =
		    vg_printf("%s/mortar-volbrick@.service", ctl_unit_dirs[d]);

		unit = access(p, F_OK) == 0;
		free(p);
	}
	return unit;
}

char *ctl_find_program(const char *prog, const char *env, const char *dir)
{
	const char *over = getenv(env);
	char *installed;

	if (over && *over)
		return vg_strdup(over);
	installed = vg_printf("%s/%s", dir, prog);
	if (access(installed, X_OK) == 0)
		return installed;
	free(installed);
	return vg_strdup(prog);
}

/* ---- PIDs ---------------------------------------------------------------- */

static pid_t ctl_read_pid(const char *path)
{
	FILE *f = fopen(path, "re");
	long pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

/* The start time of a live process (clock ticks since boot, field 22
 * of /proc/PID/stat), 0 when it is gone or a zombie.  With the PID it
 * names one process for good: a PID reused meanwhile has another. */
static unsigned long long ctl_pid_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* "pid (comm) S f4 ... f22": comm may hold spaces and ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

/* Alive and running with volfile among its arguments.  Only for finding
 * a brick: an exiting process loses its cmdline before it is gone. */
static bool ctl_pid_runs(pid_t pid, const char *volfile)
{
	char path[64], buf[8192];
	size_t len;
	bool match = false;
	FILE *f;

	if (!ctl_pid_start(pid))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	for (size_t off = 0; off < len && !match; off += strlen(buf + off) + 1)
		match = strcmp(buf + off, volfile) == 0;
	return match;
}

/* The PID of brick i's brickd, 0 when none of ours runs. */
static pid_t ctl_brick_pid(const struct ctl_volume *v, int i)
{
	char *pidfile, *volfile = ctl_brick_volfile(v, i);
	pid_t pid;

	if (ctl_runs_under_systemd(v, i)) {
		char *inst = ctl_brick_instance(v, i);

		pidfile = vg_printf("/run/mortar/brickd-%s.pid", inst);
		free(inst);
	} else {
		pidfile = ctl_brick_file(v, i, "run", "pid");
	}
	pid = ctl_read_pid(pidfile);
	if (pid && !ctl_pid_runs(pid, volfile))
		pid = 0;
	free(pidfile);
	free(volfile);
	return pid;
}

/* ---- the port -------------------------------------------------------------
 */

static bool ctl_port_accepts(const char *host, int port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	char service[8];
	bool ok = false;

	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo(host, service, &hints, &res) != 0)
		return false;
	for (ai = res; ai && !ok; ai = ai->ai_next) {
		int fd =
		    socket(ai->ai_family,
			   ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int err = 0;
		socklen_t elen = sizeof(err);

		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			ok = true;
		else if (errno == EINPROGRESS &&
			 poll(&p, 1, CTL_CONNECT_TIMEOUT_MS) == 1 &&
			 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0)
			ok = err == 0;
		close(fd);
	}
	freeaddrinfo(res);
	return ok;
}

char *ctl_volume_server(const struct ctl_volume *v)
{
	/* Local bricks first: no network between us and them. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < v->nbricks; i++) {
			struct vg_brick b;
			char *server = NULL;

			vg_parse_brick(v->bricks[i], &b);
			if (ctl_host_is_local(b.host) == (pass == 0) &&
			    ctl_port_accepts(b.host, b.port))
				server = vg_printf(
				    strchr(b.host, ':') ? "[%s]:%d" : "%s:%d",
				    b.host, b.port);
			free(b.host);
			free(b.dir);
			if (server)
				return server;
		}
	return NULL;
}

/* ---- start ----------------------------------------------------------------
 */

/* fork + exec argv; the child's exit status, or -1 (and the child
 * killed) when it runs longer than timeout_ms. */
static int ctl_run(char **argv, int timeout_ms)
{
	pid_t pid = fork(), got;
	int status;

	if (pid < 0)
		ctl_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "mortarctl: %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	for (int waited = 0;; waited += 100) {
		got = waitpid(pid, &status, WNOHANG);
		if (got == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		if (got < 0 && errno != EINTR)
			return -1;
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr,
				"mortarctl: %s did not finish within %d s\n",
				argv[0], timeout_ms / 1000);
			return -1;
		}
		ctl_sleep_ms(100);
	}
}

static int ctl_start_direct(const struct ctl_volume *v, int i)
{
	char *brickd =
	    ctl_find_program("brickd", "MORTAR_BRICKD", MORTAR_SBINDIR);
	char *volfile = ctl_brick_volfile(v, i);
	char *vfdir = ctl_vol_path(v->name, "volfiles");
	char *run = ctl_vol_path(v->name, "run");
	char *log = ctl_vol_path(v->name, "log");
	char *pidfile = ctl_brick_file(v, i, "run", "pid");
	char *logfile = ctl_brick_file(v, i, "log", "log");
	char *dumpdir = ctl_vol_path(v->name, "run/dump");
	char *argv[] = {brickd,	 "-f",	       volfile, "--volfile-dir",
			vfdir,	 "--pid-file", pidfile, "--log-file",
			logfile, "--dump-dir", dumpdir, NULL};
	int ret;

	mkdir(run, 0755);
	mkdir(log, 0755);
	mkdir(dumpdir, 0755);
	unlink(pidfile);
	/* brickd daemonizes and its parent exits once the brick listens,
	 * or with the reason it could not on stderr. */
	ret = ctl_run(argv, CTL_DAEMON_TIMEOUT_MS);
	if (ret != 0)
		fprintf(stderr, "mortarctl: brick %d: %s failed (log: %s)\n", i,
			brickd, logfile);
	free(brickd);
	free(volfile);
	free(vfdir);
	free(run);
	free(log);
	free(pidfile);
	free(logfile);
	free(dumpdir);
	return ret == 0 ? 0 : -1;
}

static int ctl_start_systemd(const struct ctl_volume *v, int i)
{
	char *inst = ctl_brick_instance(v, i);
	char *unit = vg_printf("mortar-volbrick@%s.service", inst);
	char *units = ctl_state_path("units");
	char *conf = vg_printf("%s/%s.conf", units, inst);
	char *marker = ctl_brick_file(v, i, "run", "unit");
	char *run = ctl_vol_path(v->name, "run");
	char *argv[] = {"systemctl", "start", unit, NULL};
	FILE *f;
	int ret;

	mkdir(units, 0755);
	mkdir(run, 0755);
	/* The unit runs brickd -f ${VOL_DIR}/<instance>.vol. */
	f = fopen(conf, "we");
	if (!f)
		ctl_fail("%s: %s", conf, strerror(errno));
	fprintf(f,
		"# written by mortarctl for volume "
		"%s\nVOL_DIR=%s/vols/%s/volfiles\n",
		v->name, ctl_state_dir(), v->name);
	if (fclose(f) != 0)
		ctl_fail("%s: %s", conf, strerror(errno));
	f = fopen(marker, "we");
	if (f) {
		fprintf(f, "%s\n", unit);
		fclose(f);
	}
	ret = ctl_run(argv, CTL_DAEMON_TIMEOUT_MS);
	if (ret != 0) {
		fprintf(stderr,
			"mortarctl: brick %d: systemctl start %s failed "
			"(journalctl -u %s)\n",
			i, unit, unit);
		unlink(marker);
	}
	free(inst);
	free(unit);
	free(units);
	free(conf);
	free(marker);
	free(run);
	return ret == 0 ? 0 : -1;
}

enum ctl_brick_result ctl_brick_start(const struct ctl_volume *v, int i)
{
	enum ctl_brick_result res = CTL_BRICK_FAILED;
	struct vg_brick b;
	pid_t pid;
	int waited = 0;
	int ret;

	vg_parse_brick(v->bricks[i], &b);
	if (!ctl_host_is_local(b.host)) {
		printf("brick %d %s: on another host, start it there "
		       "(brickd -f %s-brick-%d.vol)\n",
		       i, v->bricks[i], v->name, i);
		res = CTL_BRICK_REMOTE;
		goto out;
	}
	pid = ctl_brick_pid(v, i);
	if (pid) {
		printf("brick %d %s: already running (pid %d)\n", i,
		       v->bricks[i], (int)pid);
		res = CTL_BRICK_UNCHANGED;
		goto out;
	}
	if (ctl_port_accepts(b.host, b.port)) {
		fprintf(stderr,
			"mortarctl: brick %d %s: port %d already accepts "
			"connections: another process listens there\n",
			i, v->bricks[i], b.port);
		goto out;
	}
	if (ctl_runs_under_systemd(v, i) || ctl_systemd_usable())
		ret = ctl_start_systemd(v, i);
	else
		ret = ctl_start_direct(v, i);
	if (ret != 0)
		goto out;
	/* Under systemd the unit may still be starting: poll both. */
	while (!((pid = ctl_brick_pid(v, i)) &&
		 ctl_port_accepts(b.host, b.port))) {
		if (waited >= CTL_LISTEN_TIMEOUT_MS) {
			fprintf(stderr,
				"mortarctl: brick %d %s: not listening after "
				"%d s (pid %d)\n",
				i, v->bricks[i], CTL_LISTEN_TIMEOUT_MS / 1000,
				(int)pid);
			goto out;
		}
		ctl_sleep_ms(100);
		waited += 100;
	}
	printf("brick %d %s: started (pid %d)\n", i, v->bricks[i], (int)pid);
	res = CTL_BRICK_CHANGED;
out:
	free(b.host);
	free(b.dir);
	return res;
}

/* ---- stop -----------------------------------------------------------------
 */

/* Until the process that is pid now has exited (or is a zombie). */
static bool ctl_wait_gone(pid_t pid, int timeout_ms)
{
	unsigned long long start = ctl_pid_start(pid);

	for (int waited = 0; start && ctl_pid_start(pid) == start;
	     waited += 50) {
		if (waited >= timeout_ms)
			return false;
		ctl_sleep_ms(50);
	}
	return true;
}

static int ctl_stop_systemd(const struct ctl_volume *v, int i)
{
	char *inst = ctl_brick_instance(v, i);
	char *unit = vg_printf("mortar-volbrick@%s.service", inst);
	char *marker = ctl_brick_file(v, i, "run", "unit");
	char *argv[] = {"systemctl", "stop", unit, NULL};
	int ret =
	    ctl_run(argv, CTL_TERM_TIMEOUT_MS + CTL_KILL_TIMEOUT_MS + 30000);

	if (ret == 0)
		unlink(marker);
	free(inst);
	free(unit);
	free(marker);
	return ret == 0 ? 0 : -1;
}

enum ctl_brick_result ctl_brick_stop(const struct ctl_volume *v, int i)
{
	char *volfile = ctl_brick_volfile(v, i);
	char *pidfile = ctl_brick_file(v, i, "run", "pid");
	enum ctl_brick_result res = CTL_BRICK_FAILED;
	struct vg_brick b;
	pid_t pid;

	vg_parse_brick(v->bricks[i], &b);
	if (!ctl_host_is_local(b.host)) {
		printf("brick %d %s: on another host, stop it there\n", i,
		       v->bricks[i]);
		res = CTL_BRICK_REMOTE;
		goto out;
	}
	pid = ctl_brick_pid(v, i);
	if (!pid) {
		printf("brick %d %s: was already down\n", i, v->bricks[i]);
		if (ctl_runs_under_systemd(v, i))
			ctl_stop_systemd(v, i); /* forget the failed unit */
		res = CTL_BRICK_UNCHANGED;
		goto out;
	}
	if (ctl_runs_under_systemd(v, i)) {
		if (ctl_stop_systemd(v, i) != 0 || !ctl_wait_gone(pid, 1000)) {
			fprintf(stderr,
				"mortarctl: brick %d: systemctl stop "
				"failed\n",
				i);
			goto out;
		}
	} else {
		kill(pid, SIGTERM);
		if (!ctl_wait_gone(pid, CTL_TERM_TIMEOUT_MS)) {
			fprintf(stderr,
				"mortarctl: brick %d (pid %d) still runs %d s "
				"after SIGTERM: SIGKILL\n",
				i, (int)pid, CTL_TERM_TIMEOUT_MS / 1000);
			kill(pid, SIGKILL);
			if (!ctl_wait_gone(pid, CTL_KILL_TIMEOUT_MS)) {
				fprintf(stderr,
					"mortarctl: brick %d (pid %d) survived "
					"SIGKILL\n",
					i, (int)pid);
				goto out;
			}
		}
		/* brickd removes it on a clean exit, not after SIGKILL. */
		unlink(pidfile);
	}
	printf("brick %d %s: stopped (pid %d)\n", i, v->bricks[i], (int)pid);
	res = CTL_BRICK_CHANGED;
out:
	free(b.host);
	free(b.dir);
	free(volfile);
	free(pidfile);
	return res;
}

/* ---- probe ----------------------------------------------------------------
 */

/* "clients=N" of a fresh state dump of brick i (pid), or -1.  The dump
 * directory is ours: old dumps of this pid are removed first, the new
 * one after reading. */
static int ctl_dump_clients(const struct ctl_volume *v, pid_t pid)
{
	char *dir = ctl_vol_path(v->name, "run/dump");
	char *pattern = vg_printf(".%d.dump.", (int)pid);
	int clients = -1;

	for (int waited = 0, sent = 0; waited <= CTL_DUMP_TIMEOUT_MS;
	     waited += 50) {
		struct dirent *de;
		DIR *d = opendir(dir);

		if (!d)
			break;
		while ((de = readdir(d)) != NULL) {
			char *path, line[256];
			FILE *f;

			if (de->d_name[0] == '.' ||
			    !strstr(de->d_name, pattern))
				continue;
			path = vg_printf("%s/%s", dir, de->d_name);
			f = sent ? fopen(path, "re") : NULL;
			while (f && fgets(line, sizeof(line), f))
				if (strncmp(line, "clients=", 8) == 0)
					clients = atoi(line + 8);
			if (f)
				fclose(f);
			unlink(path);
			free(path);
		}
		closedir(d);
		if (clients >= 0)
			break;
		if (!sent) {
			if (kill(pid, SIGUSR1) != 0)
				break;
			sent = 1;
		}
		ctl_sleep_ms(50);
	}
	free(pattern);
	free(dir);
	return clients;
}

void ctl_brick_probe(const struct ctl_volume *v, int i, bool want_clients,
		     struct ctl_brick_state *st)
{
	struct vg_brick b;

	vg_parse_brick(v->bricks[i], &b);
	st->local = ctl_host_is_local(b.host);
	st->pid = st->local ? ctl_brick_pid(v, i) : 0;
	st->clients = -1;
	/* Before our own probe connection, which the dump would count. */
	if (want_clients && st->pid && !ctl_runs_under_systemd(v, i))
		st->clients = ctl_dump_clients(v, st->pid);
	st->listens = ctl_port_accepts(b.host, b.port);
	free(b.host);
	free(b.dir);
}
