/*
 * fuzz-volfile.c - the volfile parser and the graph builder
 * (xlators-api/volfile.c, graph.c) on any text: what a brick and a
 * client do with a volfile from disk or from a volfile server.  Every
 * input is either refused with a message naming the file and line, or
 * built into a graph (translators loaded from $MORTAR_XLATOR_PATH,
 * options checked against their tables, never init) and freed.
 */
#include "config.h"

#include "graph.h"
#include "xlator.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xl_volfile *vf = NULL;
	struct xl_graph *g = NULL;
	char *err = NULL;
	int ret;

	ret = xl_volfile_parse((const char *)data, size, "fuzz.vol", &vf, &err);
	if (ret != 0) {
		if (!err || strncmp(err, "fuzz.vol", 8) != 0)
			abort(); /* a refusal says where */
		free(err);
		return 0;
	}
	free(err);
	err = NULL;
	if (xl_graph_build(vf, &g, &err) == 0)
		xl_graph_destroy(g);
	else if (!err)
		abort();
	free(err);
	xl_volfile_free(vf);
	return 0;
}
