/*
 * mortar-opts.c - parse the mount program's command line: where the volfile
 * comes from (a file, or the volfile servers to try in order), where to
 * mount, daemon options, and -o lists split into Mortar options (timeouts,
 * threads, parallel directory operations, translator path, backup volfile
 * servers) and FUSE mount options (everything else, checked by libfuse).
 */
#include "config.h"

#include "log.h"
#include "mortar-opts.h"
#include "rpc.h"
#include "xlator.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 2, 3))) static int mopt_fail(char **err,
							   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -EINVAL;
}

void mortar_usage(const char *prog)
{
	printf("Usage: %s --volfile-server HOST[:PORT][,HOST[:PORT]...] "
	       "--volume NAME\n"
	       "              [options] MOUNTPOINT\n"
	       "       %s -f CLIENT.vol [options] MOUNTPOINT\n\n"
	       "Options:\n"
	       "  --volfile-server LIST  volfile servers tried in order until "
	       "one\n"
	       "                         gives the volume's client volfile "
	       "(any brick\n"
	       "                         of the volume; may be repeated)\n"
	       "  --volfile-timeout SEC  how long one volfile server may take "
	       "(%d)\n"
	       "  --volfile-check-interval SEC  how often to ask for a newer "
	       "volfile\n"
	       "                         and switch to it live (%d; 0: never)\n"
	       "  -N, --no-daemon        stay in the foreground\n"
	       "  --pid-file FILE        write the daemon's pid\n"
	       "  --log-file FILE        log there (default: stderr with -N)\n"
	       "  --log-level LEVEL      error|warning|info|debug|trace\n"
	       "  --dump-dir DIR         where SIGUSR1 writes state dumps\n"
	       "  -o OPT[,OPT...]        FUSE mount options (ro, allow_other,\n"
	       "                         default_permissions, ...) or:\n"
	       "     entry-timeout=SEC attribute-timeout=SEC "
	       "negative-timeout=SEC\n"
	       "     fuse-threads=N parallel-dirops=on|off xlator-path=DIR\n"
	       "     volfile-timeout=SEC volfile-check-interval=SEC\n"
	       "     backup-volfile-servers=HOST[:PORT][:HOST[:PORT]...]\n"
	       "     tls tls-cert=FILE tls-key=FILE tls-ca=FILE  (TLS to the "
	       "bricks and\n"
	       "     the volfile server; defaults under %s)\n"
	       "  -h, --help             this text\n",
	       prog, prog, RPC_VOLFILE_TIMEOUT_SEC, MORTAR_CHECK_INTERVAL_SEC,
	       RPC_TLS_DIR);
}

bool mortar_opts_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len >= n && strncmp(p, name, n) == 0 &&
		    (len == n || p[n] == '='))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static int mopt_seconds(const char *key, const char *v, double *out, char **err)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || d < 0 || d > 86400)
		return mopt_fail(
		    err, "bad value for %s: '%s' (seconds, 0..86400)", key, v);
	*out = d;
	return 0;
}

static int mopt_append_fuse(struct mortar_opts *o, const char *opt)
{
	size_t old = o->fuse_opts ? strlen(o->fuse_opts) : 0;
	char *s = realloc(o->fuse_opts, old + strlen(opt) + 2);

	if (!s)
		return -ENOMEM;
	if (old)
		s[old++] = ',';
	strcpy(s + old, opt);
	o->fuse_opts = s;
	return 0;
}

/* Options mount(8) and fstab pass that mean nothing to FUSE. */
static bool mopt_ignored(const char *opt)
{
	static const char *const names[] = {"defaults", "_netdev", "auto",
					    "noauto",	"nofail",  "user",
					    "nouser",	"users",   NULL};

	if (strncmp(opt, "x-", 2) == 0 || strncmp(opt, "comment=", 8) == 0)
		return true;
	for (int i = 0; names[i]; i++)
		if (strcmp(opt, names[i]) == 0)
			return true;
	return false;
}

#define MOPT_VOLFILE_TIMEOUT_MAX 600

static int mopt_volfile_timeout(struct mortar_opts *o, const char *v,
				char **err)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > MOPT_VOLFILE_TIMEOUT_MAX)
		return mopt_fail(err,
				 "bad value for volfile-timeout: '%s' "
				 "(seconds, 1..%d)",
				 v, MOPT_VOLFILE_TIMEOUT_MAX);
	o->volfile_timeout = (int)n;
	return 0;
}

#define MOPT_CHECK_INTERVAL_MAX 86400

static int mopt_check_interval(struct mortar_opts *o, const char *v, char **err)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > MOPT_CHECK_INTERVAL_MAX)
		return mopt_fail(err,
				 "bad value for volfile-check-interval: '%s' "
				 "(seconds, 0..%d; 0: never)",
				 v, MOPT_CHECK_INTERVAL_MAX);
	o->volfile_check_interval = (int)n;
	return 0;
}

/* Past one host of a colon list: an [IPv6] address, or up to a colon. */
static const char *mopt_skip_host(const char *p)
{
	const char *close;

	if (*p == '[') {
		close = strchr(p, ']');
		return close ? close + 1 : p + strlen(p);
	}
	return p + strcspn(p, ":");
}

/* Past ":PORT" at p when the part after the colon is digits only (then
 * it is the port of the host before); p itself when it is not. */
static const char *mopt_skip_port(const char *p)
{
	const char *q = p + 1;

	if (*p != ':')
		return p;
	while (*q >= '0' && *q <= '9')
		q++;
	return q > p + 1 && (*q == ':' || *q == '\0') ? q : p;
}

/*
 * backup-volfile-servers=H1[:P1]:H2[:P2]... : the mount option GlusterFS
 * users know (colons between hosts, since commas separate -o options),
 * with ports allowed: a part of digits only is the port of the host
 * before it, an IPv6 address goes in brackets.  Rewritten as the comma
 * list rpc_volfile_servers_add takes and appended to o->backup_servers.
 */
static int mopt_backup_servers(struct mortar_opts *o, const char *v, char **err)
{
	char *commas = strdup(v);
	const char *p = v;
	char *parse_err = NULL;
	int ret;

	if (!commas)
		return -ENOMEM;
	while (*p) {
		p = mopt_skip_port(mopt_skip_host(p));
		if (*p == ':')
			commas[p++ - v] = ',';
		else if (*p)
			p++; /* junk after "]": the parse below refuses it */
	}
	ret = rpc_volfile_servers_add(&o->backup_servers, commas,
				      RPC_DEFAULT_PORT, &parse_err);
	free(commas);
	free(parse_err);
	if (ret == -EINVAL)
		return mopt_fail(err,
				 "bad backup-volfile-servers '%s' "
				 "(HOST[:PORT][:HOST[:PORT]...])",
				 v);
	return ret;
}

/* tls-cert= and friends: an absolute path (the daemon changes to /),
 * and TLS on. */
static int mopt_tls_path(struct mortar_opts *o, const char *key, const char *v,
			 char **dst, char **err)
{
	if (v[0] != '/')
		return mopt_fail(err, "%s needs an absolute path, not '%s'",
				 key, v);
	free(*dst);
	*dst = strdup(v);
	if (!*dst)
		return -ENOMEM;
	o->tls = true;
	return 0;
}

static int mopt_add_one(struct mortar_opts *o, const char *opt, char **err)
{
	const char *eq = strchr(opt, '=');
	const char *v = eq ? eq + 1 : "";
	char *end;
	long n;

	if (!*opt || mopt_ignored(opt))
		return 0;
	if (strncmp(opt, "entry-timeout=", 14) == 0)
		return mopt_seconds("entry-timeout", v, &o->entry_timeout, err);
	if (strncmp(opt, "attribute-timeout=", 18) == 0)
		return mopt_seconds("attribute-timeout", v, &o->attr_timeout,
				    err);
	if (strncmp(opt, "negative-timeout=", 17) == 0)
		return mopt_seconds("negative-timeout", v, &o->negative_timeout,
				    err);
	if (strncmp(opt, "fuse-threads=", 13) == 0) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < 1 || n > 256)
			return mopt_fail(err,
					 "bad value for fuse-threads: '%s' "
					 "(1..256)",
					 v);
		o->fuse_threads = (int)n;
		return 0;
	}
	if (strncmp(opt, "parallel-dirops=", 16) == 0) {
		if (xl_parse_bool(v, &o->parallel_dirops) < 0)
			return mopt_fail(err,
					 "bad value for parallel-dirops: '%s' "
					 "(on or off)",
					 v);
		return 0;
	}
	if (strncmp(opt, "xlator-path=", 12) == 0) {
		if (!*v)
			return mopt_fail(err, "xlator-path needs a directory");
		free(o->xlator_path);
		o->xlator_path = strdup(v);
		return o->xlator_path ? 0 : -ENOMEM;
	}
	if (strncmp(opt, "log-level=", 10) == 0) {
		o->log_level = xl_log_level_parse(v);
		if (o->log_level < 0)
			return mopt_fail(err, "unknown log level '%s'", v);
		return 0;
	}
	if (strncmp(opt, "volfile-timeout=", 16) == 0)
		return mopt_volfile_timeout(o, v, err);
	if (strncmp(opt, "volfile-check-interval=", 23) == 0)
		return mopt_check_interval(o, v, err);
	if (strncmp(opt, "backup-volfile-servers=", 23) == 0)
		return mopt_backup_servers(o, v, err);
	if (strcmp(opt, "tls") == 0 || strncmp(opt, "tls=", 4) == 0) {
		if (eq && xl_parse_bool(v, &o->tls) < 0)
			return mopt_fail(err,
					 "bad value for tls: '%s' (on or "
					 "off)",
					 v);
		if (!eq)
			o->tls = true;
		return 0;
	}
	if (strncmp(opt, "tls-cert=", 9) == 0)
		return mopt_tls_path(o, "tls-cert", v, &o->tls_cert, err);
	if (strncmp(opt, "tls-key=", 8) == 0)
		return mopt_tls_path(o, "tls-key", v, &o->tls_key, err);
	if (strncmp(opt, "tls-ca=", 7) == 0)
		return mopt_tls_path(o, "tls-ca", v, &o->tls_ca, err);
	if (strncmp(opt, "log-file=", 9) == 0) {
		free(o->log_file);
		o->log_file = strdup(v);
		return o->log_file ? 0 : -ENOMEM;
	}
	return mopt_append_fuse(o, opt);
}

int mortar_opts_add_list(struct mortar_opts *o, const char *list, char **err)
{
	char *copy = strdup(list);
	char *save = NULL;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		ret = mopt_add_one(o, t, err);
		if (ret < 0)
			break;
	}
	free(copy);
	return ret;
}

static void mopt_defaults(struct mortar_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->volfile_timeout = RPC_VOLFILE_TIMEOUT_SEC;
	o->volfile_check_interval = MORTAR_CHECK_INTERVAL_SEC;
	o->log_level = XL_LOG_INFO;
	o->entry_timeout = 1.0;
	o->attr_timeout = 1.0;
	o->negative_timeout = 0.0;
	o->fuse_threads = 4;
	o->parallel_dirops = true;
}

static int mopt_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

enum {
	MOPT_SERVER = 256,
	MOPT_VOLFILE_TIMEOUT,
	MOPT_CHECK_INTERVAL,
	MOPT_VOLUME,
	MOPT_PID,
	MOPT_LOGF,
	MOPT_LOGL,
	MOPT_DUMP
};

static const struct option mopt_long[] = {
    {"volfile-server", required_argument, NULL, MOPT_SERVER},
    {"volfile-timeout", required_argument, NULL, MOPT_VOLFILE_TIMEOUT},
    {"volfile-check-interval", required_argument, NULL, MOPT_CHECK_INTERVAL},
    {"volume", required_argument, NULL, MOPT_VOLUME},
    {"volfile", required_argument, NULL, 'f'},
    {"no-daemon", no_argument, NULL, 'N'},
    {"pid-file", required_argument, NULL, MOPT_PID},
    {"log-file", required_argument, NULL, MOPT_LOGF},
    {"log-level", required_argument, NULL, MOPT_LOGL},
    {"dump-dir", required_argument, NULL, MOPT_DUMP},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* --volfile-server LIST; a repeated one's servers go after the ones
 * before. */
static int mopt_servers(struct mortar_opts *o, const char *list, char **err)
{
	char *why = NULL;
	int ret;

	ret =
	    rpc_volfile_servers_add(&o->servers, list, RPC_DEFAULT_PORT, &why);
	if (ret == -EINVAL)
		ret = mopt_fail(err, "--volfile-server: %s", why ? why : list);
	free(why);
	return ret;
}

/* One option from getopt; 0 or -errno with *err. */
static int mopt_getopt_one(struct mortar_opts *o, int c, char **err)
{
	switch (c) {
	case MOPT_SERVER:
		return mopt_servers(o, optarg, err);
	case MOPT_VOLFILE_TIMEOUT:
		return mopt_volfile_timeout(o, optarg, err);
	case MOPT_CHECK_INTERVAL:
		return mopt_check_interval(o, optarg, err);
	case MOPT_VOLUME:
		return mopt_set_str(&o->volume, optarg);
	case 'f':
		return mopt_set_str(&o->volfile, optarg);
	case 'N':
		o->foreground = true;
		return 0;
	case MOPT_PID:
		return mopt_set_str(&o->pid_file, optarg);
	case MOPT_LOGF:
		return mopt_set_str(&o->log_file, optarg);
	case MOPT_LOGL:
		o->log_level = xl_log_level_parse(optarg);
		if (o->log_level < 0)
			return mopt_fail(err, "unknown log level '%s'", optarg);
		return 0;
	case MOPT_DUMP:
		return mopt_set_str(&o->dump_dir, optarg);
	case 'o':
		return mortar_opts_add_list(o, optarg, err);
	case 'h':
		o->help = true;
		return 0;
	default:
		return mopt_fail(err, "unknown option (see --help)");
	}
}

/* Which source of the volfile: -f, or volfile servers and a volume.  The
 * backup servers go after every --volfile-server, wherever the -o was. */
static int mopt_check_source(struct mortar_opts *o, char **err)
{
	bool from_servers = o->servers.count > 0 || o->volume;
	int ret;

	if (o->volfile && (from_servers || o->backup_servers.count > 0))
		return mopt_fail(err, "-f excludes --volfile-server/--volume");
	if (o->backup_servers.count > 0 && o->servers.count == 0)
		return mopt_fail(err, "backup-volfile-servers needs "
				      "--volfile-server");
	if (!o->volfile && (o->servers.count == 0 || !o->volume))
		return mopt_fail(err, "need -f VOLFILE, or --volfile-server "
				      "and --volume");
	ret = rpc_volfile_servers_append(&o->servers, &o->backup_servers);
	if (ret == -EINVAL)
		return mopt_fail(err, "more than %d volfile servers",
				 RPC_VOLFILE_SERVERS_MAX);
	if (ret < 0)
		return mopt_fail(err, "out of memory");
	rpc_volfile_servers_free(&o->backup_servers);
	return 0;
}

int mortar_opts_parse(int argc, char **argv, struct mortar_opts *o, char **err)
{
	int c, ret;

	mopt_defaults(o);
	*err = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:No:h", mopt_long, NULL)) != -1) {
		ret = mopt_getopt_one(o, c, err);
		if (ret == -ENOMEM)
			return mopt_fail(err, "out of memory");
		if (ret < 0)
			return ret;
		if (o->help)
			return 0;
	}
	if (optind != argc - 1)
		return mopt_fail(err, argc - optind > 1 ? "too many arguments"
							: "missing MOUNTPOINT");
	o->mountpoint = strdup(argv[optind]);
	if (!o->mountpoint)
		return mopt_fail(err, "out of memory");
	return mopt_check_source(o, err);
}

void mortar_opts_free(struct mortar_opts *o)
{
	rpc_volfile_servers_free(&o->servers);
	rpc_volfile_servers_free(&o->backup_servers);
	free(o->volume);
	free(o->volfile);
	free(o->mountpoint);
	free(o->pid_file);
	free(o->log_file);
	free(o->dump_dir);
	free(o->xlator_path);
	free(o->fuse_opts);
	free(o->tls_cert);
	free(o->tls_key);
	free(o->tls_ca);
	memset(o, 0, sizeof(*o));
}
