/*
 * xlpath.c - lay out the test-only translators the way the loader looks
 * for them (DIR/test/leaf.so) in a temp dir, since libtool puts the built
 * modules in tests/unit/.libs/.
 */
#include "config.h"

#include "xlpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char xlpath_dir[256];
static const char *const xlpath_mods[] = {"leaf", "fan", "picky", "gate"};
#define XLPATH_MODS (int)(sizeof(xlpath_mods) / sizeof(xlpath_mods[0]))

int xlpath_setup(void)
{
	const char *top = getenv("top_builddir");
	char build[2048], link[4096], path[8192];

	snprintf(build, sizeof(build), "%s/tests/unit/.libs", top ? top : "..");
	snprintf(xlpath_dir, sizeof(xlpath_dir), "/tmp/mortar-xlpath-XXXXXX");
	if (!mkdtemp(xlpath_dir))
		return -1;
	snprintf(link, sizeof(link), "%s/test", xlpath_dir);
	if (mkdir(link, 0755) != 0)
		return -1;
	for (int i = 0; i < XLPATH_MODS; i++) {
		char target[8192];
		snprintf(target, sizeof(target), "%s/xl_test%s.so", build,
			 xlpath_mods[i]);
		if (!top && access(target, R_OK) != 0)
			snprintf(target, sizeof(target),
				 "unit/.libs/xl_test%s.so", xlpath_mods[i]);
		char *abs = realpath(target, NULL);
		if (!abs) {
			fprintf(stderr, "test translator not built: %s\n",
				target);
			return -1;
		}
		snprintf(link, sizeof(link), "%s/test/%s.so", xlpath_dir,
			 xlpath_mods[i]);
		int r = symlink(abs, link);
		free(abs);
		if (r != 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s", xlpath_dir);
	setenv("MORTAR_XLATOR_PATH", path, 1);
	return 0;
}

void xlpath_teardown(void)
{
	char p[512];

	if (!xlpath_dir[0])
		return;
	for (int i = 0; i < XLPATH_MODS; i++) {
		snprintf(p, sizeof(p), "%s/test/%s.so", xlpath_dir,
			 xlpath_mods[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/test", xlpath_dir);
	rmdir(p);
	rmdir(xlpath_dir);
}
