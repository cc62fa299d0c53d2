/*
 * mortar-options.c - print the options a translator takes, straight from
 * its option table (the single source of validation, defaults and help).
 *
 *   mortar-options TYPE...              human-readable
 *   mortar-options --markdown TYPE...   the reference table in doc/options.md
 *
 * Translators are found like the mount program finds them
 * ($MORTAR_XLATOR_PATH, then the installed directory).
 */
#include "config.h"

#include "graph.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *opts_type_name(enum xl_opt_type t)
{
	switch (t) {
	case XL_OPT_STR:
		return "string";
	case XL_OPT_INT:
		return "integer";
	case XL_OPT_SIZE:
		return "size";
	case XL_OPT_BOOL:
		return "bool";
	case XL_OPT_ENUM:
		return "enum";
	case XL_OPT_PATH:
		return "path";
	case XL_OPT_TIME:
		return "seconds";
	case XL_OPT_ADDRLIST:
		return "address list";
	case XL_OPT_PERCENT:
		return "percent";
	}
	return "?";
}

/* "1..64", "tcp, rdma", or "" */
static void opts_range(const struct xl_option_desc *od, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	if (od->type == XL_OPT_ENUM) {
		for (int i = 0; od->choices && od->choices[i] && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      i ? ", " : "", od->choices[i]);
	} else if (od->min || od->max) {
		snprintf(buf, len, "%" PRId64 "..%" PRId64, od->min, od->max);
	}
}

static int opts_print(const char *type, bool markdown)
{
	const struct xl_desc *d;
	void *handle;
	char *err = NULL;
	char range[256];
	int count = 0;

	if (xl_load_desc(type, &d, &handle, &err)) {
		fprintf(stderr, "mortar-options: %s\n", err ? err : type);
		free(err);
		return 1;
	}
	if (!markdown)
		printf("%s%s%s\n", type, d->description ? ": " : "",
		       d->description ? d->description : "");
	for (const struct xl_option_desc *od = d->options; od && od->key;
	     od++, count++) {
		opts_range(od, range, sizeof(range));
		if (markdown)
			printf("| %s | `%s` | %s%s | %s | %s | %s |\n", type,
			       od->key, opts_type_name(od->type),
			       od->required ? " (required)" : "",
			       od->default_value ? od->default_value : "",
			       range, od->help ? od->help : "");
		else
			printf("  %-22s %s%s%s%s%s%s\n      %s\n", od->key,
			       opts_type_name(od->type), range[0] ? " " : "",
			       range, od->default_value ? ", default " : "",
			       od->default_value ? od->default_value : "",
			       od->required ? ", required" : "",
			       od->help ? od->help : "");
	}
	if (markdown && count == 0)
		printf("| %s | | | | | (no options) |\n", type);
	dlclose(handle);
	return 0;
}

int main(int argc, char **argv)
{
	bool markdown = false;
	int ret = 0, first = 1;

	if (argc > 1 && strcmp(argv[1], "--markdown") == 0) {
		markdown = true;
		first = 2;
	}
	if (first >= argc) {
		fprintf(
		    stderr,
		    "usage: mortar-options [--markdown] TYPE...\n"
		    "  e.g. mortar-options storage/posix protocol/client\n");
		return 2;
	}
	if (markdown)
		printf("| translator | option | type | default | range | "
		       "meaning |\n| --- | --- | --- | --- | --- | --- |\n");
	for (int i = first; i < argc; i++)
		ret |= opts_print(argv[i], markdown);
	return ret;
}
