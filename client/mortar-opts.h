/*
 * mortar-opts.h - private to client/: the mount program's command line,
 * parsed without side effects so unit tests can drive it.
 */
#ifndef MORTAR_CLIENT_OPTS_H
#define MORTAR_CLIENT_OPTS_H

#include "volfile-fetch.h"

#include <stdbool.h>
#include <stdint.h>

/* Default of --volfile-check-interval. */
#define MORTAR_CHECK_INTERVAL_SEC 10

struct mortar_opts {
	/* --volfile-server HOST[:PORT][,...] (repeatable), then the
	 * -o backup-volfile-servers: the order they are tried in. */
	struct rpc_volfile_servers servers;
	/* -o backup-volfile-servers while parsing; moved to servers (after
	 * every --volfile-server) at the end of mortar_opts_parse. */
	struct rpc_volfile_servers backup_servers;
	int volfile_timeout; /* seconds one volfile server may take */
	/* Seconds between two questions for a newer volfile (0: never). */
	int volfile_check_interval;
	char *volume;  /* --volume */
	char *volfile; /* -f */
	char *mountpoint;
	bool foreground; /* -N */
	char *pid_file;
	char *log_file;
	int log_level; /* enum xl_log_level */
	char *dump_dir;
	double entry_timeout;
	double attr_timeout;
	double negative_timeout;
	int fuse_threads;
	bool parallel_dirops; /* parallel-dirops=on|off, default on */
	char *xlator_path;
	char *fuse_opts; /* comma list passed to FUSE, NULL if none */
	/* -o tls, or any of -o tls-cert=,tls-key=,tls-ca= (which imply it):
	 * fetch the volfile over TLS, and turn tls on in every
	 * protocol/client of the graph with the paths given (the others
	 * keep the volfile's, or the defaults under RPC_TLS_DIR). */
	bool tls;
	char *tls_cert, *tls_key, *tls_ca; /* NULL: not given */
	bool help;
};

/* Parse argv into o (defaults first).  0, or -EINVAL with *err set to a
 * malloc'd message. */
int mortar_opts_parse(int argc, char **argv, struct mortar_opts *o, char **err);
/* Apply one -o list ("a,b=c,..."): Mortar options are taken, the rest is
 * appended to o->fuse_opts.  0 or -EINVAL with *err. */
int mortar_opts_add_list(struct mortar_opts *o, const char *list, char **err);
/* True if the comma list has option name (alone or as name=...). */
bool mortar_opts_has(const char *list, const char *name);
void mortar_opts_free(struct mortar_opts *o);
void mortar_usage(const char *prog);

#endif
