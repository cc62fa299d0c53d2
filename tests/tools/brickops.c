/*
 * brickops.c - run the cluster translators' brick fops (doc/cluster.md)
 * over the network against a real brickd, for
 * tests/integration/brick-cluster-fops.t.  Opens the client graph of
 * VOLFILE (one protocol/client volume) with the admin tools' tool-graph.
 *
 *   brickops VOLFILE xattrop PATH NAME D M E   add (D, M, E) to the
 *                                              int64 x 3 xattr NAME;
 *                                              prints the new values
 *   brickops VOLFILE lock PATH DOMAIN          blocking write inodelk on
 *                                              the whole file; prints
 *                                              "locked", then holds it
 *                                              until stdin closes or the
 *                                              process is killed
 *   brickops VOLFILE trylock PATH DOMAIN       prints "locked" (and
 *                                              unlocks) or "EAGAIN"
 *   brickops VOLFILE index                     the brick's pending index
 *   brickops VOLFILE checksum PATH OFF SIZE    prints "BYTES HEX"
 *   brickops VOLFILE getx PATH NAME            an internal xattr's value
 *                                              as text ("ENODATA" if none)
 *
 * PATH is resolved from the root one lookup per component.  Exit 0 when
 * the fop answered as printed, 1 on an unexpected error.
 */
#include "config.h"

#include "buf.h"
#include "inode.h"
#include "log.h"
#include "tool-graph.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct tool_graph *bo_tg;

static void bo_internal(struct xl_args *a)
{
	if (!a->xdata)
		a->xdata = xl_dict_new();
	if (!a->xdata || xl_dict_set_u64(a->xdata, "mortar.internal", 1))
		abort();
}

/* gfid of PATH ("/" or "/a/b"); 0 or -errno. */
static int bo_resolve(const char *path, uint8_t *gfid)
{
	char *copy = strdup(path), *save = NULL;
	int ret = 0;

	memcpy(gfid, xl_gfid_root, XL_GFID_LEN);
	for (char *c = strtok_r(copy, "/", &save); c && ret == 0;
	     c = strtok_r(NULL, "/", &save)) {
		struct xl_args a = {0};
		struct xl_reply r;

		tool_loc_set(&a.loc, gfid, c, NULL);
		ret = tool_call(bo_tg, NULL, XL_FOP_LOOKUP, &a, &r);
		if (ret == 0)
			memcpy(gfid, r.attr.gfid, XL_GFID_LEN);
		xl_reply_clear(&r);
		xl_args_clear(&a);
	}
	free(copy);
	return ret;
}

static int bo_xattrop(const uint8_t *gfid, char **argv)
{
	struct xl_args a = {0};
	struct xl_reply r;
	const struct xl_dict_pair *p;
	uint64_t v[3];
	int ret;

	for (int i = 0; i < 3; i++)
		v[i] = htobe64((uint64_t)strtoll(argv[1 + i], NULL, 10));
	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.flags = XL_XATTROP_ADD64;
	a.xdata = xl_dict_new();
	xl_dict_set(a.xdata, argv[0], v, sizeof(v));
	ret = tool_call(bo_tg, NULL, XL_FOP_XATTROP, &a, &r);
	p = r.xdata ? xl_dict_get(r.xdata, argv[0]) : NULL;
	if (ret == 0 && p && p->len == sizeof(v)) {
		memcpy(v, p->value, sizeof(v));
		printf("%" PRId64 " %" PRId64 " %" PRId64 "\n",
		       (int64_t)be64toh(v[0]), (int64_t)be64toh(v[1]),
		       (int64_t)be64toh(v[2]));
	} else {
		printf("error %d\n", ret);
		ret = ret ? ret : -EPROTO;
	}
	xl_reply_clear(&r);
	xl_args_clear(&a);
	return ret;
}

static int bo_lock(const uint8_t *gfid, const char *domain, int cmd,
		   int type)
{
	struct xl_args a = {0};
	struct xl_reply r;
	int ret;

	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.xname = strdup(domain);
	a.cmd = cmd;
	a.lock.type = (int16_t)type;
	a.lock.owner = (uint64_t)getpid();
	ret = tool_call(bo_tg, NULL, XL_FOP_INODELK, &a, &r);
	xl_reply_clear(&r);
	xl_args_clear(&a);
	return ret;
}

static int bo_index(void)
{
	struct xl_fd *fd = xl_fd_new(tool_graph_get(bo_tg), xl_gfid_index,
				     NULL, O_RDONLY, true);
	struct xl_args a = {0};
	struct xl_reply r;
	int ret;

	tool_loc_set(&a.loc, NULL, NULL, xl_gfid_index);
	a.fd = fd;
	ret = tool_call(bo_tg, NULL, XL_FOP_OPENDIR, &a, &r);
	xl_reply_clear(&r);
	for (a.offset = 0; ret == 0;) {
		a.size = 65536;
		ret = tool_call(bo_tg, NULL, XL_FOP_READDIR, &a, &r);
		if (ret < 0 || r.entry_count == 0) {
			xl_reply_clear(&r);
			break;
		}
		for (uint32_t i = 0; i < r.entry_count; i++) {
			if (r.entries[i].name[0] != '.')
				printf("%s\n", r.entries[i].name);
			a.offset = (int64_t)r.entries[i].d_off;
		}
		xl_reply_clear(&r);
	}
	tool_call(bo_tg, NULL, XL_FOP_RELEASEDIR, &a, &r);
	xl_reply_clear(&r);
	xl_args_clear(&a);
	return ret;
}

static int bo_checksum(const uint8_t *gfid, long long off, long long size)
{
	struct xl_args a = {0};
	struct xl_reply r;
	uint64_t be;
	int ret;

	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.fd = xl_fd_new(tool_graph_get(bo_tg), gfid, NULL, O_RDONLY, false);
	a.flags = O_RDONLY;
	ret = tool_call(bo_tg, NULL, XL_FOP_OPEN, &a, &r);
	xl_reply_clear(&r);
	if (ret == 0) {
		a.offset = off;
		a.size = (uint64_t)size;
		ret = tool_call(bo_tg, NULL, XL_FOP_RCHECKSUM, &a, &r);
		if (ret == 0 && r.data && r.data->size == 8) {
			memcpy(&be, r.data->data, 8);
			printf("%" PRId64 " %016" PRIx64 "\n", r.offset,
			       be64toh(be));
		}
		xl_reply_clear(&r);
		tool_call(bo_tg, NULL, XL_FOP_RELEASE, &a, &r);
		xl_reply_clear(&r);
	}
	xl_args_clear(&a);
	return ret;
}

static int bo_getx(const uint8_t *gfid, const char *name)
{
	struct xl_args a = {0};
	struct xl_reply r;
	int ret;

	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.xname = strdup(name);
	a.size = XL_XATTR_SIZE_MAX;
	bo_internal(&a);
	ret = tool_call(bo_tg, NULL, XL_FOP_GETXATTR, &a, &r);
	if (ret >= 0 && r.data)
		printf("%.*s\n", (int)r.data->size, r.data->data);
	else if (ret == -ENODATA)
		printf("ENODATA\n");
	xl_reply_clear(&r);
	xl_args_clear(&a);
	return ret == -ENODATA ? 0 : ret;
}

static int bo_run(int argc, char **argv)
{
	const char *op = argv[2];
	uint8_t gfid[XL_GFID_LEN];
	int ret;

	if (strcmp(op, "index") == 0)
		return bo_index();
	if (argc < 4)
		return -EINVAL;
	ret = bo_resolve(argv[3], gfid);
	if (ret < 0)
		return ret;
	if (strcmp(op, "xattrop") == 0 && argc == 8)
		return bo_xattrop(gfid, argv + 4);
	if (strcmp(op, "lock") == 0 && argc == 5) {
		char c;

		ret = bo_lock(gfid, argv[4], F_SETLKW, F_WRLCK);
		if (ret < 0)
			return ret;
		printf("locked\n");
		fflush(stdout);
		while (read(STDIN_FILENO, &c, 1) > 0)
			;
		return 0;
	}
	if (strcmp(op, "trylock") == 0 && argc == 5) {
		ret = bo_lock(gfid, argv[4], F_SETLK, F_WRLCK);
		if (ret == -EAGAIN) {
			printf("EAGAIN\n");
			return 0;
		}
		if (ret == 0) {
			printf("locked\n");
			ret = bo_lock(gfid, argv[4], F_SETLK, F_UNLCK);
		}
		return ret;
	}
	if (strcmp(op, "checksum") == 0 && argc == 6)
		return bo_checksum(gfid, atoll(argv[4]), atoll(argv[5]));
	if (strcmp(op, "getx") == 0 && argc == 5)
		return bo_getx(gfid, argv[4]);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	char *err = NULL;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: brickops VOLFILE OP ARGS...\n");
		return 2;
	}
	xl_log_init(NULL, XL_LOG_WARNING);
	ret = tool_graph_open(NULL, NULL, argv[1], 10, &bo_tg, &err);
	if (ret < 0) {
		fprintf(stderr, "brickops: %s\n", err ? err : strerror(-ret));
		free(err);
		return 1;
	}
	ret = bo_run(argc, argv);
	if (ret < 0)
		fprintf(stderr, "brickops %s: %s\n", argv[2], strerror(-ret));
	fflush(stdout);
	tool_graph_close(bo_tg);
	return ret < 0 ? 1 : 0;
}
