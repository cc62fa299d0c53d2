/*
 * ctl-volume.c - mortarctl's volume verbs: create, start, stop, delete,
 * info, list, status, set, add-brick, heal and rebalance.
 *
 * Each verb checks everything before it changes anything, and refuses
 * what would break a volume (an existing name, a brick another volume
 * uses, brick counts that do not fit the replica count, deleting a
 * started volume) with a message and exit status 1.  The volume's shape
 * and volfiles are volgen.c's: the same checks as mortar-volgen, the
 * same files.
 */
#include "config.h"

#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A volume folder being made: removed if we exit before it is done. */
static char *ctl_pending_dir;

static void ctl_remove_pending(void)
{
	if (ctl_pending_dir)
		ctl_remove_tree(ctl_pending_dir);
}

static void ctl_push_string(char ***list, int *n, char *owned)
{
	char **l = realloc(*list, (size_t)(*n + 1) * sizeof(*l));

	if (!l)
		ctl_fail("no memory");
	l[(*n)++] = owned;
	*list = l;
}

/* ---- bricks shared between volumes ------------------------------------- */

static bool ctl_same_host(const char *a, const char *b)
{
	return strcmp(a, b) == 0 ||
	       (ctl_host_is_local(a) && ctl_host_is_local(b));
}

/* One is the other, or below it: two exports of one tree. */
static bool ctl_dirs_overlap(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;

	return strncmp(a, b, n) == 0 &&
	       (la == lb || (la < lb ? b[la] : a[lb]) == '/');
}

/* Every brick of every volume but skip (parsed), for the in-use checks;
 * owner[k] names the volume and index of brick k. */
struct ctl_used_bricks {
	struct vg_brick *bricks;
	char **owner;
	int n;
};

static void ctl_used_collect(struct ctl_used_bricks *u)
{
	char **names = ctl_volume_names();

	memset(u, 0, sizeof(*u));
	for (int k = 0; names[k]; k++) {
		struct ctl_volume v;

		ctl_volume_load(names[k], &v);
		for (int i = 0; i < v.nbricks; i++) {
			u->bricks = realloc(u->bricks, (size_t)(u->n + 1) *
							   sizeof(*u->bricks));
			if (!u->bricks)
				ctl_fail("no memory");
			vg_parse_brick(v.bricks[i], &u->bricks[u->n]);
			ctl_push_string(
			    &u->owner, &u->n,
			    vg_printf("brick %d of volume %s", i, v.name));
		}
		ctl_volume_free(&v);
	}
	ctl_free_names(names);
}

static void ctl_used_free(struct ctl_used_bricks *u)
{
	for (int k = 0; k < u->n; k++) {
		free(u->bricks[k].host);
		free(u->bricks[k].dir);
		free(u->owner[k]);
	}
	free(u->bricks);
	free(u->owner);
}

static bool ctl_port_used(const struct ctl_used_bricks *u,
			  const struct vg_brick *mine, int nmine,
			  const char *host, int port)
{
	for (int k = 0; k < u->n; k++)
		if (u->bricks[k].port == port &&
		    ctl_same_host(u->bricks[k].host, host))
			return true;
	for (int k = 0; k < nmine; k++)
		if (mine[k].port == port && ctl_same_host(mine[k].host, host))
			return true;
	return false;
}

/* Parse new brick arguments into "HOST:PORT:DIR" strings: a brick any
 * volume uses is refused; a brick without a port gets the lowest one from
 * 24010 that no brick of any volume on its host has. */
static void ctl_new_bricks(char **args, int nargs, char ***out, int *nout)
{
	struct ctl_used_bricks used;
	struct vg_brick *b = vg_alloc((size_t)nargs * sizeof(*b));

	ctl_used_collect(&used);
	for (int i = 0; i < nargs; i++) {
		vg_parse_brick(args[i], &b[i]);
		for (int k = 0; k < used.n; k++) {
			const struct vg_brick *o = &used.bricks[k];

			if (!ctl_same_host(o->host, b[i].host))
				continue;
			if (ctl_dirs_overlap(o->dir, b[i].dir))
				ctl_fail("brick %s: %s:%s is %s %s (%s:%s)",
					 args[i], b[i].host, b[i].dir,
					 strcmp(o->dir, b[i].dir) == 0
					     ? "already"
					     : "inside or around",
					 used.owner[k], o->host, o->dir);
			if (b[i].port && b[i].port == o->port)
				ctl_fail("brick %s: port %d on %s is taken by "
					 "%s",
					 args[i], o->port, o->host,
					 used.owner[k]);
		}
	}
	for (int i = 0; i < nargs; i++) {
		int p = VG_DEFAULT_PORT;

		if (b[i].port)
			continue;
		while (p <= 65535 &&
		       ctl_port_used(&used, b, nargs, b[i].host, p))
			p++;
		if (p > 65535)
			ctl_fail("no port left on %s", b[i].host);
		b[i].port = p;
	}
	for (int i = 0; i < nargs; i++) {
		ctl_push_string(out, nout,
				vg_printf(strchr(b[i].host, ':') ? "[%s]:%d:%s"
								 : "%s:%d:%s",
					  b[i].host, b[i].port, b[i].dir));
		free(b[i].host);
		free(b[i].dir);
	}
	free(b);
	ctl_used_free(&used);
}

/* volgen's checks on v (shape, duplicates) without writing; fills in
 * the replica count and scheduler volgen chooses by default. */
static void ctl_check_shape(struct ctl_volume *v)
{
	char *volfiles = ctl_vol_path(v->name, "volfiles");
	struct vg vg;

	ctl_vg_from_volume(v, &vg, volfiles, volfiles);
	v->replica = vg.replica;
	if (vg.scheduler && !v->scheduler)
		v->scheduler = vg_strdup(vg.scheduler);
	ctl_vg_release(&vg);
	free(volfiles);
}

static void ctl_print_mount(const struct ctl_volume *v)
{
	struct vg_brick b;

	vg_parse_brick(v->bricks[0], &b);
	printf("mount with: mortar --volfile-server %s%s%s:%d --volume %s "
	       "MOUNTPOINT\n",
	       strchr(b.host, ':') ? "[" : "", b.host,
	       strchr(b.host, ':') ? "]" : "", b.port, v->name);
	free(b.host);
	free(b.dir);
}

/* ---- create ------------------------------------------------------------- */

enum {
	OPT_REPLICA = 256,
	OPT_ARBITER,
	OPT_SCHEDULER,
	OPT_TRANSPORT,
	OPT_OPTION,
};

static const struct option ctl_create_opts[] = {
    {"replica", required_argument, NULL, OPT_REPLICA},
    {"arbiter", required_argument, NULL, OPT_ARBITER},
    {"scheduler", required_argument, NULL, OPT_SCHEDULER},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"option", required_argument, NULL, OPT_OPTION},
    {NULL, 0, NULL, 0},
};

static int ctl_create(int argc, char **argv)
{
	struct ctl_volume v = {0};
	char why[80], *final, *tmp;
	int c, t;

	v.transport = vg_strdup("tcp");
	optind = 0; /* GNU: start over, the "+" of main() forgotten */
	while ((c = getopt_long(argc, argv, "", ctl_create_opts, NULL)) != -1) {
		switch (c) {
		case OPT_REPLICA:
			v.replica = vg_parse_int(optarg, 1, 64);
			if (v.replica < 0)
				ctl_fail("bad --replica '%s' (1..64)", optarg);
			break;
		case OPT_ARBITER:
			v.arbiter = vg_parse_int(optarg, 0, 1);
			if (v.arbiter < 0)
				ctl_fail("bad --arbiter '%s' (0 or 1)", optarg);
			break;
		case OPT_SCHEDULER:
			if (vg_lookup(vg_schedulers, optarg) < 0)
				ctl_fail("bad --scheduler '%s' (rr, random, "
					 "alu, nufa)",
					 optarg);
			v.scheduler = vg_strdup(optarg);
			break;
		case OPT_TRANSPORT:
			if (vg_lookup(vg_transports, optarg) < 0)
				ctl_fail("bad --transport '%s' (tcp, rdma)",
					 optarg);
			free(v.transport);
			v.transport = vg_strdup(optarg);
			break;
		case OPT_OPTION:
			ctl_push_string(&v.options, &v.noptions,
					vg_strdup(optarg));
			break;
		default:
			ctl_fail("volume create: see mortarctl --help");
		}
	}
	if (argc - optind < 3)
		ctl_fail("volume create NAME TYPE BRICK... (see --help)");
	v.name = vg_strdup(argv[optind]);
	if (!vg_name_ok(v.name, why, sizeof(why)))
		ctl_fail("bad volume name '%s': %s", v.name, why);
	if (ctl_volume_exists(v.name))
		ctl_fail("volume %s exists (mortarctl volume info %s)", v.name,
			 v.name);
	t = vg_lookup(vg_type_names, argv[optind + 1]);
	if (t < 0)
		ctl_fail("unknown type '%s' (unify, distribute, replicate, "
			 "distributed-replicate, unify-replicate)",
			 argv[optind + 1]);
	v.type = (enum vg_type)t;
	ctl_new_bricks(argv + optind + 2, argc - optind - 2, &v.bricks,
		       &v.nbricks);
	ctl_check_shape(&v);
	v.status = vg_strdup("created");

	/* Everything goes into a hidden folder renamed into place at the
	 * end: a refused option leaves no half volume behind. */
	final = ctl_vol_path(v.name, NULL);
	tmp = vg_printf("%s/vols/.%s.new.%d", ctl_state_dir(), v.name,
			(int)getpid());
	if (mkdir(tmp, 0755) != 0)
		ctl_fail("%s: %s", tmp, strerror(errno));
	ctl_pending_dir = tmp;
	atexit(ctl_remove_pending);
	ctl_write_volfiles(&v, tmp, -1, NULL, NULL);
	ctl_volume_save_in(&v, tmp);
	if (rename(tmp, final) != 0)
		ctl_fail("%s: %s", final, strerror(errno));
	ctl_pending_dir = NULL;
	free(tmp);
	printf("volume %s created: %s, %d brick%s", v.name,
	       vg_type_names[v.type], v.nbricks, v.nbricks == 1 ? "" : "s");
	if (v.replica > 1)
		printf(", replica %d", v.replica);
	printf("\nstart it with: mortarctl volume start %s\n", v.name);
	free(final);
	ctl_volume_free(&v);
	return 0;
}

/* ---- start, stop, delete ---------------------------------------------- */

static int ctl_start(const char *name)
{
	struct ctl_volume v;
	enum ctl_brick_result *res;
	bool failed = false;

	ctl_volume_load(name, &v);
	res = vg_alloc((size_t)v.nbricks * sizeof(*res));
	for (int i = 0; i < v.nbricks && !failed; i++) {
		res[i] = ctl_brick_start(&v, i);
		failed = res[i] == CTL_BRICK_FAILED;
	}
	if (failed) {
		/* All or nothing: stop what this run started. */
		for (int i = 0; i < v.nbricks; i++)
			if (res[i] == CTL_BRICK_CHANGED)
				ctl_brick_stop(&v, i);
		ctl_fail("volume %s not started", name);
	}
	ctl_volume_set_status(&v, "started");
	printf("volume %s started\n", name);
	ctl_print_mount(&v);
	free(res);
	ctl_volume_free(&v);
	return 0;
}

static int ctl_stop(const char *name)
{
	struct ctl_volume v;
	int failed = 0, down = 0;

	ctl_volume_load(name, &v);
	for (int i = 0; i < v.nbricks; i++) {
		enum ctl_brick_result r = ctl_brick_stop(&v, i);

		failed += r == CTL_BRICK_FAILED;
		down += r == CTL_BRICK_UNCHANGED;
	}
	if (failed)
		ctl_fail("volume %s: %d brick%s could not be stopped", name,
			 failed, failed == 1 ? "" : "s");
	ctl_volume_set_status(&v, "stopped");
	printf("volume %s stopped", name);
	if (down)
		printf(" (%d brick%s already down)", down,
		       down == 1 ? " was" : "s were");
	printf("\n");
	ctl_volume_free(&v);
	return 0;
}

static int ctl_delete(const char *name)
{
	struct ctl_volume v;
	char *dir, *gone, *units;
	glob_t g;

	ctl_volume_load(name, &v);
	if (strcmp(v.status, "started") == 0)
		ctl_fail("volume %s is started: mortarctl volume stop %s first",
			 name, name);
	for (int i = 0; i < v.nbricks; i++) {
		struct ctl_brick_state st;

		ctl_brick_probe(&v, i, false, &st);
		if (st.pid)
			ctl_fail("volume %s: brick %d still runs (pid %d): "
				 "mortarctl volume stop %s first",
				 name, i, (int)st.pid, name);
	}
	dir = ctl_vol_path(name, NULL);
	gone = vg_printf("%s/vols/.%s.deleted.%d", ctl_state_dir(), name,
			 (int)getpid());
	/* One rename makes the volume disappear, then the files go. */
	if (rename(dir, gone) != 0)
		ctl_fail("%s: %s", dir, strerror(errno));
	if (ctl_remove_tree(gone) != 0)
		fprintf(stderr, "mortarctl: warning: cannot remove %s: %s\n",
			gone, strerror(errno));
	units = vg_printf("%s/units/%s-brick-*.conf", ctl_state_dir(), name);
	if (glob(units, 0, NULL, &g) == 0) {
		for (size_t k = 0; k < g.gl_pathc; k++)
			unlink(g.gl_pathv[k]);
		globfree(&g);
	}
	printf("volume %s deleted; its brick directories were not touched "
	       "(files, .mortar/ and xattrs are still there):\n",
	       name);
	for (int i = 0; i < v.nbricks; i++)
		printf("  %s\n", v.bricks[i]);
	free(units);
	free(gone);
	free(dir);
	ctl_volume_free(&v);
	return 0;
}

/* ---- info, list, status ---------------------------------------------- */

static void ctl_info_one(const char *name)
{
	struct ctl_volume v;
	char *volfiles;

	ctl_volume_load(name, &v);
	volfiles = ctl_vol_path(name, "volfiles");
	printf("Volume: %s\nType: %s\nStatus: %s\nBricks: %d", v.name,
	       vg_type_names[v.type], v.status, v.nbricks);
	if (v.replica > 1)
		printf(" (%d x %d)", v.nbricks / v.replica, v.replica);
	printf("\nTransport: %s\n", v.transport);
	if (v.arbiter)
		printf("Arbiter: the last brick of each replica set\n");
	if (v.scheduler)
		printf("Scheduler: %s\n", v.scheduler);
	for (int i = 0; i < v.nbricks; i++)
		printf("Brick %d: %s%s\n", i, v.bricks[i],
		       v.arbiter && i % v.replica == v.replica - 1
			   ? " (arbiter)"
			   : "");
	printf("Options:%s\n", v.noptions ? "" : " (none)");
	for (int i = 0; i < v.noptions; i++)
		printf("  %s\n", v.options[i]);
	printf("Volfiles: %s\n", volfiles);
	free(volfiles);
	ctl_volume_free(&v);
}

static int ctl_info(const char *name)
{
	char **names;

	if (name) {
		ctl_info_one(name);
		return 0;
	}
	names = ctl_volume_names();
	for (int k = 0; names[k]; k++) {
		if (k)
			printf("\n");
		ctl_info_one(names[k]);
	}
	if (!names[0])
		printf("no volumes\n");
	ctl_free_names(names);
	return 0;
}

static int ctl_list(void)
{
	char **names = ctl_volume_names();

	for (int k = 0; names[k]; k++)
		printf("%s\n", names[k]);
	ctl_free_names(names);
	return 0;
}

static int ctl_status(const char *name)
{
	struct ctl_volume v;
	int up = 0;

	ctl_volume_load(name, &v);
	printf("Volume %s: %s, %s\n", v.name, vg_type_names[v.type], v.status);
	printf("%-5s %-40s %-5s %-6s %-8s %s\n", "brick", "host:port:dir",
	       "state", "port", "pid", "clients");
	for (int i = 0; i < v.nbricks; i++) {
		struct ctl_brick_state st;
		struct vg_brick b;
		char pid[16] = "-", clients[16] = "-";
		bool is_up;

		ctl_brick_probe(&v, i, true, &st);
		vg_parse_brick(v.bricks[i], &b);
		/* A local brick is ours only with a live PID; a remote
		 * one is up when its port answers. */
		is_up = st.listens && (!st.local || st.pid);
		up += is_up;
		if (st.pid)
			snprintf(pid, sizeof(pid), "%d", (int)st.pid);
		if (st.clients >= 0)
			snprintf(clients, sizeof(clients), "%d", st.clients);
		printf("%-5d %-40s %-5s %-6d %-8s %s\n", i, v.bricks[i],
		       is_up ? "up" : "down", b.port, pid, clients);
		free(b.host);
		free(b.dir);
	}
	printf("bricks up: %d of %d\n", up, v.nbricks);
	ctl_volume_free(&v);
	return 0;
}

/* ---- set, add-brick ------------------------------------------------------ */

/* Restart the local bricks of a started volume (a brick-side option). */
static void ctl_restart_bricks(const struct ctl_volume *v)
{
	int failed = 0;

	for (int i = 0; i < v->nbricks; i++) {
		if (ctl_brick_stop(v, i) == CTL_BRICK_REMOTE)
			continue;
		failed += ctl_brick_start(v, i) == CTL_BRICK_FAILED;
	}
	if (failed)
		ctl_fail("volume %s: %d brick%s did not restart (mortarctl "
			 "volume status %s)",
			 v->name, failed, failed == 1 ? "" : "s", v->name);
}

static int ctl_set(const char *name, const char *xlkey, const char *value)
{
	struct ctl_volume v;
	char *opt, *dir;
	size_t keylen;
	int idx = -1;
	bool in_client = false, in_brick = false;

	if (!strchr(xlkey, ':') || strchr(xlkey, '='))
		ctl_fail("volume set %s %s: expected XL:KEY VALUE (e.g. "
			 "cluster/distribute:min-free-disk 5)",
			 name, xlkey);
	ctl_volume_load(name, &v);
	opt = vg_printf("%s=%s", xlkey, value);
	keylen = strlen(xlkey) + 1; /* "XL:KEY=" */
	for (int i = 0; i < v.noptions; i++)
		if (strncmp(v.options[i], opt, keylen) == 0)
			idx = i;
	if (idx >= 0) {
		free(v.options[idx]);
		v.options[idx] = opt;
	} else {
		ctl_push_string(&v.options, &v.noptions, opt);
		idx = v.noptions - 1;
	}
	/* volgen checks the option against the translator's table and
	 * refuses it before any file is replaced. */
	dir = ctl_vol_path(name, NULL);
	ctl_write_volfiles(&v, dir, idx, &in_client, &in_brick);
	ctl_volume_save(&v);
	printf("volume %s: %s set to %s\n", name, xlkey, value);
	if (in_brick) {
		if (strcmp(v.status, "started") == 0) {
			printf("a brick-side option: restarting the bricks\n");
			ctl_restart_bricks(&v);
		} else {
			printf("a brick-side option: the bricks use it from "
			       "their next start\n");
		}
	}
	if (in_client)
		printf("a client-side option: mounted clients switch to it "
		       "live, within their volfile-check-interval (10 s by "
		       "default)\n");
	free(dir);
	ctl_volume_free(&v);
	return 0;
}

static int ctl_add_brick(const char *name, char **args, int nargs)
{
	struct ctl_volume v;
	int old, sets = 1;
	char *dir;

	ctl_volume_load(name, &v);
	if (nargs < 1)
		ctl_fail("volume add-brick %s BRICK...: no brick given", name);
	if (v.type == VG_REPLICATE)
		ctl_fail("volume %s is replicate (every file on all %d "
			 "bricks): changing its replica count is not "
			 "supported; a distributed-replicate volume grows by "
			 "whole replica sets",
			 name, v.nbricks);
	if (vg_is_replicated(v.type)) {
		if (nargs % v.replica != 0)
			ctl_fail(
			    "volume %s has replica %d: add bricks in "
			    "whole replica sets, a multiple of %d (got %d)",
			    name, v.replica, v.replica, nargs);
		sets = nargs / v.replica;
	}
	old = v.nbricks;
	ctl_new_bricks(args, nargs, &v.bricks, &v.nbricks);
	ctl_check_shape(&v);
	dir = ctl_vol_path(name, NULL);
	ctl_write_volfiles(&v, dir, -1, NULL, NULL);
	ctl_volume_save(&v);
	printf("volume %s: %d brick%s added", name, nargs,
	       nargs == 1 ? "" : "s");
	if (vg_is_replicated(v.type))
		printf(" (%d replica set%s)", sets, sets == 1 ? "" : "s");
	printf("\n");
	if (strcmp(v.status, "started") == 0)
		for (int i = old; i < v.nbricks; i++)
			if (ctl_brick_start(&v, i) == CTL_BRICK_FAILED)
				ctl_fail("volume %s: new brick %d did not "
					 "start (mortarctl volume start %s "
					 "tries again)",
					 name, i, name);
	printf("mounted clients switch to the new bricks live, within their "
	       "volfile-check-interval (10 s by default)");
	if (vg_is_unify(v.type))
		printf("; new files may be placed on them, existing files "
		       "stay where they are\n");
	else
		printf(", then move files onto them with: mortarctl volume "
		       "rebalance %s (runs mortar-rebalance)\n",
		       name);
	free(dir);
	ctl_volume_free(&v);
	return 0;
}

/* ---- heal, rebalance ------------------------------------------------------
 */

static char *ctl_server_or_fail(const struct ctl_volume *v)
{
	char *server = ctl_volume_server(v);

	if (!server)
		ctl_fail("no brick of volume %s accepts connections "
			 "(mortarctl volume start %s)",
			 v->name, v->name);
	return server;
}

/* exec tool with argv; the state lock (O_CLOEXEC) is released. */
static void ctl_exec(const char *prog, const char *env, char **argv)
    __attribute__((noreturn));

static void ctl_exec(const char *prog, const char *env, char **argv)
{
	char *path = ctl_find_program(prog, env, MORTAR_BINDIR);

	argv[0] = path;
	fflush(stdout);
	execvp(path, argv);
	ctl_fail("%s: %s", path, strerror(errno));
}

static int ctl_heal(const char *name, char **args, int nargs)
{
	static const char *const subs[] = {"index", "info", "full",
					   "split-brain", NULL};
	struct ctl_volume v;
	char *argv[8];
	int n = 0;

	ctl_volume_load(name, &v);
	if (!vg_is_replicated(v.type))
		ctl_fail("volume %s is %s: only replicated volumes heal", name,
			 vg_type_names[v.type]);
	if (nargs > 1 || (nargs == 1 && vg_lookup(subs, args[0]) < 0))
		ctl_fail("volume heal %s [info|full|split-brain]", name);
	argv[n++] = NULL;
	argv[n++] = "--volfile-server";
	argv[n++] = ctl_server_or_fail(&v);
	argv[n++] = "--volume";
	argv[n++] = v.name;
	argv[n++] = nargs ? args[0] : "index";
	argv[n] = NULL;
	ctl_exec("mortar-heal", "MORTAR_HEAL", argv);
}

static int ctl_rebalance(const char *name, char **args, int nargs)
{
	static const char *const subs[] = {"start", "fix-layout", "status",
					   NULL};
	const char *sub = nargs ? args[0] : "start";
	struct ctl_volume v;
	char **argv = vg_alloc((size_t)(nargs + 10) * sizeof(*argv));
	int n = 0;

	ctl_volume_load(name, &v);
	if (v.type != VG_DISTRIBUTE && v.type != VG_DIST_REPLICATE)
		ctl_fail("volume %s is %s: only distribute volumes are "
			 "rebalanced",
			 name, vg_type_names[v.type]);
	if (vg_lookup(subs, sub) < 0)
		ctl_fail("volume rebalance %s [start|fix-layout|status] "
			 "[mortar-rebalance options]",
			 name);
	argv[n++] = NULL;
	argv[n++] = (char *)sub;
	if (strcmp(sub, "status") != 0) {
		argv[n++] = "--volfile-server";
		argv[n++] = ctl_server_or_fail(&v);
		argv[n++] = "--volume";
		argv[n++] = v.name;
	}
	if (strcmp(sub, "fix-layout") != 0) {
		/* One state file per volume: a second start resumes. */
		argv[n++] = "--state";
		argv[n++] = ctl_vol_path(name, "rebalance.state");
	}
	for (int i = 1; i < nargs; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ctl_exec("mortar-rebalance", "MORTAR_REBALANCE", argv);
}

/* ---- dispatch -------------------------------------------------------------
 */

static void ctl_need(int argc, int want, const char *usage)
{
	if (argc < want)
		ctl_fail("usage: mortarctl volume %s", usage);
}

/* argv[0] is the verb. */
int ctl_volume_main(int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";

	if (strcmp(verb, "create") == 0)
		return ctl_create(argc, argv);
	if (strcmp(verb, "list") == 0)
		return ctl_list();
	if (strcmp(verb, "info") == 0)
		return ctl_info(argc > 1 ? argv[1] : NULL);
	if (strcmp(verb, "start") == 0) {
		ctl_need(argc, 2, "start NAME");
		return ctl_start(argv[1]);
	}
	if (strcmp(verb, "stop") == 0) {
		ctl_need(argc, 2, "stop NAME");
		return ctl_stop(argv[1]);
	}
	if (strcmp(verb, "delete") == 0) {
		ctl_need(argc, 2, "delete NAME");
		return ctl_delete(argv[1]);
	}
	if (strcmp(verb, "status") == 0) {
		ctl_need(argc, 2, "status NAME");
		return ctl_status(argv[1]);
	}
	if (strcmp(verb, "set") == 0) {
		ctl_need(argc, 4, "set NAME XL:KEY VALUE");
		return ctl_set(argv[1], argv[2], argv[3]);
	}
	if (strcmp(verb, "add-brick") == 0) {
		ctl_need(argc, 3, "add-brick NAME BRICK...");
		return ctl_add_brick(argv[1], argv + 2, argc - 2);
	}
	if (strcmp(verb, "heal") == 0) {
		ctl_need(argc, 2, "heal NAME [info|full|split-brain]");
		return ctl_heal(argv[1], argv + 2, argc - 2);
	}
	if (strcmp(verb, "rebalance") == 0) {
		ctl_need(argc, 2, "rebalance NAME [start|fix-layout|status]");
		return ctl_rebalance(argv[1], argv + 2, argc - 2);
	}
	if (strcmp(verb, "remove-brick") == 0 ||
	    strcmp(verb, "replace-brick") == 0)
		ctl_fail("volume %s is not there yet", verb);
	ctl_fail("unknown volume verb '%s' (see mortarctl --help)", verb);
}
