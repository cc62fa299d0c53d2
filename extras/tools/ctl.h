/*
 * ctl.h - what the parts of mortarctl share: a volume's definition as
 * the state directory keeps it (ctl-state.c), the brick processes of
 * this machine (ctl-brick.c) and the volume verbs (ctl-volume.c).
 *
 * The state directory (default /var/lib/mortar, --state-dir or
 * MORTAR_STATE_DIR) holds, per volume NAME, vols/NAME/:
 *   definition   type, bricks (HOST:PORT:DIR, ports fixed at create),
 *                replica, arbiter, scheduler, transport, options
 *   status       created | started | stopped
 *   volfiles/    NAME.vol and NAME-brick-<i>.vol, written by volgen.c
 *   run/         brick-<i>.pid (bricks mortarctl runs itself),
 *                brick-<i>.unit (bricks run by systemd), dump/
 *   log/         brick-<i>.log
 * and units/NAME-brick-<i>.conf for the systemd unit (VOL_DIR=...).
 * Every command holds an exclusive lock on the state directory's .lock,
 * so two admins never write one volume at once.
 *
 * Errors end the process through ctl_fail() (like volgen.c's checks):
 * each verb checks everything before it changes anything.
 */
#ifndef MORTAR_CTL_H
#define MORTAR_CTL_H

#include "volgen.h"

#include <stdbool.h>
#include <sys/types.h>

#define CTL_STATE_DIR_DEFAULT "/var/lib/mortar"

struct ctl_volume {
	char *name;
	enum vg_type type;
	int replica; /* as vg_check_shape() resolved it */
	int arbiter;
	char *scheduler; /* NULL unless a unify type */
	char *transport;
	char **bricks; /* "HOST:PORT:DIR" ("[V6]:PORT:DIR"), in order */
	int nbricks;
	char **options; /* "XL:KEY=VALUE", one per XL:KEY */
	int noptions;
	char *status; /* "created", "started", "stopped" */
};

/* ---- ctl-state.c: the state directory -------------------------------- */

void ctl_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Make the state directory (absolute from now on) and lock it. */
void ctl_state_open(const char *dir);
const char *ctl_state_dir(void);
bool ctl_state_is_default(void);
/* A path under the state directory, or under vols/NAME (rel NULL: the
 * folder itself).  New strings. */
char *ctl_state_path(const char *rel);
char *ctl_vol_path(const char *name, const char *rel);
bool ctl_volume_exists(const char *name);
/* Names of every volume, sorted, NULL-terminated (new array). */
char **ctl_volume_names(void);
/* Load vols/NAME/definition and status; fails for an unknown volume. */
void ctl_volume_load(const char *name, struct ctl_volume *v);
/* Write definition and status of v into dir (vols/NAME or a new one). */
void ctl_volume_save_in(const struct ctl_volume *v, const char *dir);
void ctl_volume_save(const struct ctl_volume *v);
void ctl_volume_set_status(struct ctl_volume *v, const char *status);
void ctl_volume_free(struct ctl_volume *v);
void ctl_free_names(char **names);
/* rm -r of a folder mortarctl made (never a brick directory). */
int ctl_remove_tree(const char *dir);

/* v as volgen.c's struct vg, bricks parsed, shape checked, ports set;
 * out_dir and volfile_dir (absolute) as given.  Free with
 * ctl_vg_release(). */
void ctl_vg_from_volume(const struct ctl_volume *v, struct vg *vg,
			const char *out_dir, const char *volfile_dir);
void ctl_vg_release(struct vg *vg);
/* Write v's volfiles into vols/NAME/volfiles, replacing those there only
 * once all are written; *in_client / *in_brick (may be NULL) say where
 * option opt_index went. */
void ctl_write_volfiles(const struct ctl_volume *v, const char *vol_dir,
			int opt_index, bool *in_client, bool *in_brick);

/* ---- ctl-brick.c: brick processes of this machine -------------------- */

struct ctl_brick_state {
	bool local;   /* the host is this machine */
	pid_t pid;    /* 0: no live brickd of ours */
	bool listens; /* the port accepts connections */
	int clients;  /* connected clients from a state dump, -1: unknown */
};

/* What ctl_brick_start() and ctl_brick_stop() did; each also prints
 * one line about the brick. */
enum ctl_brick_result {
	CTL_BRICK_FAILED = -1, /* said why on stderr */
	CTL_BRICK_UNCHANGED,   /* already running / already down */
	CTL_BRICK_CHANGED,     /* started / stopped */
	CTL_BRICK_REMOTE,      /* on another host: left alone */
};

bool ctl_host_is_local(const char *host);
enum ctl_brick_result ctl_brick_start(const struct ctl_volume *v, int i);
/* SIGTERM, a bounded wait, then SIGKILL (systemctl stop for a brick
 * systemd runs). */
enum ctl_brick_result ctl_brick_stop(const struct ctl_volume *v, int i);
void ctl_brick_probe(const struct ctl_volume *v, int i, bool want_clients,
		     struct ctl_brick_state *st);
/* HOST:PORT of a brick that accepts connections (new string), or NULL. */
char *ctl_volume_server(const struct ctl_volume *v);
/* The program to run: $env when set, else dir/prog when installed
 * there, else prog (found in PATH).  New string. */
char *ctl_find_program(const char *prog, const char *env, const char *dir);

/* ---- ctl-volume.c: the verbs ----------------------------------------- */

int ctl_volume_main(int argc, char **argv);

#endif
