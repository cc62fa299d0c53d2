/*
 * mortarctl.c - one admin command for Mortar volumes on this machine or
 * on servers managed by hand, with the verbs GlusterFS users know:
 *
 *   mortarctl [--state-dir DIR] volume VERB ...
 *
 * This file is the command line (global options, usage, dispatch).  The
 * state directory is ctl-state.c's, brick processes ctl-brick.c's, the
 * verbs ctl-volume.c's; the volfiles are written by volgen.c, the code
 * mortar-volgen runs.  No other service is needed: state is files,
 * bricks are brickd processes (or systemd units) of this machine.
 */
#include "config.h"

#include "ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ctl_usage(FILE *out)
{
	fputs(
	    "Usage: mortarctl [--state-dir DIR] volume VERB [ARGS]\n"
	    "Create, run and change Mortar volumes whose bricks are on this "
	    "machine\n"
	    "(or on servers managed by hand).\n"
	    "\n"
	    "VERBS\n"
	    "  volume create NAME TYPE [--replica N] [--arbiter 1] "
	    "[--scheduler S]\n"
	    "                [--transport T] [--option XL:KEY=VALUE]... "
	    "BRICK...\n"
	    "      TYPE: unify | distribute | replicate | "
	    "distributed-replicate |\n"
	    "      unify-replicate.  BRICK: HOST:DIR or HOST:PORT:DIR "
	    "([V6ADDR]:...).\n"
	    "      A brick without a port gets the lowest one from 24010 "
	    "that no brick\n"
	    "      of any volume uses on its host.  Checked as mortar-volgen "
	    "checks it;\n"
	    "      a brick (or a directory inside one) of another volume is "
	    "refused.\n"
	    "  volume start NAME\n"
	    "      Start every brick whose host is this machine (127.x, "
	    "localhost, this\n"
	    "      host name or one of its addresses): with systemctl start\n"
	    "      mortar-volbrick@NAME-brick-<i> when systemd runs the "
	    "machine, the unit\n"
	    "      is installed and the state directory is the default; "
	    "else brickd\n"
	    "      daemonized, pid file and log in the state directory.  "
	    "Waits until each\n"
	    "      brick accepts connections; if one fails, stops the ones it "
	    "started.\n"
	    "  volume stop NAME\n"
	    "      SIGTERM to each local brick, SIGKILL after 10 s; says "
	    "which bricks\n"
	    "      were already down.\n"
	    "  volume delete NAME\n"
	    "      Refused while the volume is started.  Removes its state "
	    "(definition,\n"
	    "      volfiles, logs), never the brick directories.\n"
	    "  volume info [NAME]   definition: type, bricks, options, "
	    "volfiles\n"
	    "  volume list          volume names\n"
	    "  volume status NAME   each brick up or down (pid alive and "
	    "port accepting),\n"
	    "                       its port, pid and connected clients "
	    "(from a state dump)\n"
	    "  volume set NAME XL:KEY VALUE\n"
	    "      XL is a translator type (cluster/distribute) or a volume "
	    "name of the\n"
	    "      volfiles; checked against the translator's option table "
	    "(mortar-options\n"
	    "      XL).  Volfiles are written again; a started volume's "
	    "bricks restart for\n"
	    "      a brick-side option; mounted clients switch to a "
	    "client-side one live.\n"
	    "  volume add-brick NAME BRICK...\n"
	    "      distribute and unify: any number; distributed- and "
	    "unify-replicate:\n"
	    "      whole replica sets.  Mounted clients switch live; then run "
	    "volume rebalance.\n"
	    "  volume heal NAME [info|full|split-brain]   runs mortar-heal "
	    "(replicated)\n"
	    "  volume rebalance NAME [start|fix-layout|status] [OPTIONS]\n"
	    "      runs mortar-rebalance (distribute types) with a state file "
	    "per volume,\n"
	    "      so a second start resumes; OPTIONS go to mortar-rebalance.\n"
	    "\n"
	    "OPTIONS\n"
	    "  --state-dir DIR   where volumes are kept (default "
	    "$MORTAR_STATE_DIR, else\n"
	    "                    " CTL_STATE_DIR_DEFAULT ")\n"
	    "  -h, --help\n"
	    "\n"
	    "ENVIRONMENT\n"
	    "  MORTAR_STATE_DIR   the state directory\n"
	    "  MORTAR_BRICKD, MORTAR_HEAL, MORTAR_REBALANCE   programs to run "
	    "instead of\n"
	    "                     the installed brickd, mortar-heal, "
	    "mortar-rebalance\n"
	    "\n"
	    "Exit status 0 on success, 1 with a message on stderr otherwise.\n"
	    "Mount a started volume with: mortar --volfile-server HOST:PORT "
	    "--volume NAME DIR\n",
	    out);
}

static const struct option ctl_longopts[] = {
    {"state-dir", required_argument, NULL, 's'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int main(int argc, char **argv)
{
	const char *state = getenv("MORTAR_STATE_DIR");
	int c;

	vg_progname = "mortarctl";
	/* "+": options after the verb belong to the verb. */
	while ((c = getopt_long(argc, argv, "+h", ctl_longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			state = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			return 0;
		default:
			ctl_usage(stderr);
			return 1;
		}
	}
	if (optind >= argc || strcmp(argv[optind], "help") == 0) {
		ctl_usage(optind >= argc ? stderr : stdout);
		return optind >= argc ? 1 : 0;
	}
	if (strcmp(argv[optind], "volume") != 0)
		ctl_fail("unknown command '%s' (only 'volume ...'; see --help)",
			 argv[optind]);
	if (!state || !*state)
		state = CTL_STATE_DIR_DEFAULT;
	ctl_state_open(state);
	return ctl_volume_main(argc - optind - 1, argv + optind + 1);
}
