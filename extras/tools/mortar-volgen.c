/*
 * mortar-volgen.c - generate the volfiles of a multi-brick volume.
 *
 *   mortar-volgen [options] NAME TYPE BRICK...
 *
 * This file is the command line: options, usage and the summary.  The
 * checks and the volfiles themselves are volgen.c's (shared with
 * mortarctl), which says what is written and why the names matter.
 */
#include "config.h"

#include "volgen.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vg_usage(FILE *out)
{
	fprintf(out,
		"Usage: mortar-volgen [options] NAME TYPE BRICK...\n"
		"Write the volfiles of volume NAME: NAME.vol (clients) and "
		"NAME-brick-<i>.vol\n"
		"(one per brick, for brickd -f).\n"
		"\n"
		"  TYPE   unify | distribute | replicate | "
		"distributed-replicate | unify-replicate\n"
		"  BRICK  HOST:DIR or HOST:PORT:DIR (IPv6: [ADDR]:...); "
		"bricks without a port\n"
		"         get 24010, 24011, ... in order, per host\n"
		"\n"
		"  --replica N          copies of each file (replicate types; "
		">= 2; replicate:\n"
		"                       defaults to the brick count)\n"
		"  --arbiter 1          with --replica 3: the last brick of "
		"each replica set\n"
		"                       is an arbiter (names, metadata, the "
		"changelog; no\n"
		"                       file data): any one brick of a set "
		"can die\n"
		"  --scheduler S        unify types: rr (default), random, "
		"alu, nufa\n"
		"  --transport T        tcp (default) or rdma\n"
		"  --tls                TLS 1.3 between clients and bricks "
		"(tcp): tls on in\n"
		"                       every protocol/server and "
		"protocol/client; files from\n"
		"                       /etc/mortar/tls/ (server.crt, "
		"server.key, client.crt,\n"
		"                       client.key, ca.crt) unless "
		"--tls-dir\n"
		"  --tls-dir DIR        --tls with the files in DIR "
		"(same names)\n"
		"  --out DIR            where to write the volfiles "
		"(default: .)\n"
		"  --volfile-dir DIR    where the bricks find them "
		"(default: --out)\n"
		"  --option XL:KEY=VALUE  add an option to every volume of "
		"type XL (e.g.\n"
		"                       cluster/replicate) or to the volume "
		"named XL; repeatable\n"
		"  --no-write-behind    leave performance/write-behind out "
		"of the client\n"
		"                       graph (writes then wait for the "
		"bricks)\n"
		"  --md-cache           put performance/md-cache in the "
		"client graph (caches\n"
		"                       attributes, entries and chosen "
		"xattrs; the default,\n"
		"                       except with --arbiter)\n"
		"  --no-md-cache        leave it out\n"
		"  --force              replace existing volfiles of NAME\n"
		"  -q, --quiet          no summary on stdout\n"
		"  -h, --help\n"
		"\n"
		"Brick i is served by `brickd -f DIR/NAME-brick-<i>.vol`; "
		"clients mount with\n"
		"`mortar --volfile-server HOST:PORT --volume NAME MNT` "
		"(any brick's HOST:PORT).\n");
}

enum {
	OPT_REPLICA = 256,
	OPT_SCHEDULER,
	OPT_TRANSPORT,
	OPT_TLS,
	OPT_TLS_DIR,
	OPT_OUT,
	OPT_VOLFILE_DIR,
	OPT_OPTION,
	OPT_FORCE,
	OPT_ARBITER,
	OPT_NO_WRITE_BEHIND,
	OPT_NO_MD_CACHE,
	OPT_MD_CACHE,
};

static const struct option vg_longopts[] = {
    {"replica", required_argument, NULL, OPT_REPLICA},
    {"arbiter", required_argument, NULL, OPT_ARBITER},
    {"scheduler", required_argument, NULL, OPT_SCHEDULER},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tls-dir", required_argument, NULL, OPT_TLS_DIR},
    {"out", required_argument, NULL, OPT_OUT},
    {"volfile-dir", required_argument, NULL, OPT_VOLFILE_DIR},
    {"option", required_argument, NULL, OPT_OPTION},
    {"force", no_argument, NULL, OPT_FORCE},
    {"no-write-behind", no_argument, NULL, OPT_NO_WRITE_BEHIND},
    {"no-md-cache", no_argument, NULL, OPT_NO_MD_CACHE},
    {"md-cache", no_argument, NULL, OPT_MD_CACHE},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void vg_parse_args(int argc, char **argv, struct vg *vg, bool *quiet)
{
	const char *vfdir = NULL;
	char why[80];
	int c, t;

	vg->transport = "tcp";
	vg->out_dir = ".";
	vg->passopts = vg_alloc((size_t)argc * sizeof(*vg->passopts));
	while ((c = getopt_long(argc, argv, "qh", vg_longopts, NULL)) != -1) {
		switch (c) {
		case OPT_REPLICA:
			vg->replica = vg_parse_int(optarg, 1, 64);
			if (vg->replica < 0)
				vg_fail("bad --replica '%s' (1..64)", optarg);
			break;
		case OPT_ARBITER:
			vg->arbiter = vg_parse_int(optarg, 0, 64);
			if (vg->arbiter < 0)
				vg_fail("bad --arbiter '%s' (0 or 1)", optarg);
			break;
		case OPT_SCHEDULER:
			if (vg_lookup(vg_schedulers, optarg) < 0)
				vg_fail("bad --scheduler '%s' (rr, random, "
					"alu, nufa)",
					optarg);
			vg->scheduler = optarg;
			break;
		case OPT_TRANSPORT:
			if (vg_lookup(vg_transports, optarg) < 0)
				vg_fail("bad --transport '%s' (tcp, rdma)",
					optarg);
			vg->transport = optarg;
			break;
		case OPT_TLS:
			vg->tls = true;
			break;
		case OPT_TLS_DIR:
			free(vg->tls_dir);
			vg->tls_dir = vg_normalize_dir(optarg);
			if (!vg->tls_dir)
				vg_fail("bad --tls-dir '%s' (an absolute path "
					"without spaces or '#')",
					optarg);
			vg->tls = true;
			break;
		case OPT_OUT:
			vg->out_dir = optarg;
			break;
		case OPT_VOLFILE_DIR:
			vfdir = optarg;
			break;
		case OPT_OPTION:
			vg_parse_passopt(optarg,
					 &vg->passopts[vg->npassopts++]);
			break;
		case OPT_NO_WRITE_BEHIND:
			vg->no_write_behind = true;
			break;
		case OPT_NO_MD_CACHE:
			vg->md_cache = 0;
			break;
		case OPT_MD_CACHE:
			vg->md_cache = 1;
			break;
		case OPT_FORCE:
			vg->force = true;
			break;
		case 'q':
			*quiet = true;
			break;
		case 'h':
			vg_usage(stdout);
			exit(0);
		default:
			vg_usage(stderr);
			exit(1);
		}
	}
	if (argc - optind < 3)
		vg_fail("expected NAME TYPE BRICK... (see --help)");
	vg->name = argv[optind];
	if (!vg_name_ok(vg->name, why, sizeof(why)))
		vg_fail("bad volume name '%s': %s", vg->name, why);
	t = vg_lookup(vg_type_names, argv[optind + 1]);
	if (t < 0)
		vg_fail("unknown type '%s' (unify, distribute, replicate, "
			"distributed-replicate, unify-replicate)",
			argv[optind + 1]);
	vg->type = (enum vg_type)t;
	optind += 2;
	vg->nbricks = argc - optind;
	vg->bricks = vg_alloc((size_t)vg->nbricks * sizeof(*vg->bricks));
	for (int i = 0; i < vg->nbricks; i++)
		vg_parse_brick(argv[optind + i], &vg->bricks[i]);
	if (vg->tls && strcmp(vg->transport, "tcp") != 0)
		vg_fail("--tls needs --transport tcp");
	if (vfdir) {
		vg->volfile_dir = vg_normalize_dir(vfdir);
		if (!vg->volfile_dir)
			vg_fail("bad --volfile-dir '%s' (an absolute path "
				"without spaces or '#')",
				vfdir);
	}
}

int main(int argc, char **argv)
{
	struct vg vg = {.md_cache = -1};
	bool quiet = false;

	vg_parse_args(argc, argv, &vg, &quiet);
	vg_check_shape(&vg);
	vg_check_duplicates(&vg);
	vg_assign_ports(&vg);
	vg_generate(&vg);
	if (!quiet) {
		printf("volume %s: %s, %d brick%s, replica %d, transport "
		       "%s%s\n",
		       vg.name, vg_type_names[vg.type], vg.nbricks,
		       vg.nbricks == 1 ? "" : "s", vg.replica, vg.transport,
		       vg.tls ? " with TLS" : "");
		printf("  client volfile: %s/%s\n", vg.volfile_dir,
		       vg.files[0].filename);
		for (int i = 0; i < vg.nbricks; i++)
			printf("  brick %d: %s:%d:%s  brickd -f %s/%s\n", i,
			       vg.bricks[i].host, vg.bricks[i].port,
			       vg.bricks[i].dir, vg.volfile_dir,
			       vg.files[1 + i].filename);
	}
	vg_free(&vg);
	return 0;
}
