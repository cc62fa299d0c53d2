/*
 * fuzz-seeds.c - write the fuzzers' seed inputs into DIR/TARGET/: what
 * the real encoders put on the wire (a call and a reply of every fop, an
 * invalidation notice, a handshake and its answer) in the input layout
 * of each target, and real layouts and pending counters.  Each seed is
 * checked to decode before it is written, so every fuzzer starts from
 * inputs that reach deep into its decoder.
 */
#include "config.h"

#include "dht-layout.h"
#include "frame.h"
#include "rpc.h"
#include "xlator.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *seed_dir;
static int seed_count;

static void seed_write(const char *target, const char *name, const uint8_t *a,
		       size_t alen, const uint8_t *b, size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", seed_dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", seed_dir, target, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	if (fwrite(a, 1, alen, f) != alen ||
	    (blen && fwrite(b, 1, blen, f) != blen))
		exit(1);
	fclose(f);
	seed_count++;
}

/* fuzz-frame's layout: sel, bulk length, header, body, bulk. */
static void seed_frame(const char *name, uint8_t sel, uint16_t type,
		       const struct rpc_wbuf *w, const struct xl_iobuf *bulk)
{
	size_t nbulk = bulk ? bulk->size : 0;
	uint8_t *buf;
	size_t len;

	if (nbulk > 255)
		return;
	len = 2 + RPC_HEADER_LEN + w->len + nbulk;
	buf = malloc(len);
	if (!buf)
		exit(1);
	buf[0] = sel;
	buf[1] = (uint8_t)nbulk;
	rpc_frame_encode(buf + 2, type, (uint32_t)w->len, (uint32_t)nbulk, 7,
			 sel);
	memcpy(buf + 2 + RPC_HEADER_LEN, w->data, w->len);
	if (nbulk)
		memcpy(buf + 2 + RPC_HEADER_LEN + w->len, bulk->data, nbulk);
	seed_write("fuzz-frame", name, buf, len, NULL, 0);
	free(buf);
}

static void fill_iatt(struct xl_iatt *ia)
{
	memset(ia, 0, sizeof(*ia));
	memset(ia->gfid, 0x5a, XL_GFID_LEN);
	ia->ino = 42;
	ia->mode = 0100644;
	ia->nlink = 1;
	ia->size = 4096;
	ia->blocks = 8;
	ia->blksize = 4096;
	ia->mtime = 1700000000;
	ia->mtime_nsec = 5;
}

static void fill_args(struct xl_args *a, enum xl_fop fop, int32_t cmd)
{
	memset(a, 0, sizeof(*a));
	memset(a->loc.gfid, 0x11, XL_GFID_LEN);
	memset(a->loc.pargfid, 0x01, XL_GFID_LEN);
	a->loc.name = strdup("seed-name");
	memset(a->loc2.pargfid, 0x01, XL_GFID_LEN);
	a->loc2.name = strdup("other");
	a->flags = 2;
	a->mode = 0644;
	a->umask = 022;
	a->offset = 4096;
	a->size = 128;
	a->cmd = cmd;
	a->valid = 1;
	fill_iatt(&a->attr);
	a->lock.type = 1;
	a->lock.len = 10;
	a->lock.owner = 9;
	a->xname =
	    strdup(fop == XL_FOP_SYMLINK ? "target/of/link" : "user.seed");
	a->data = xl_iobuf_from("seed data bytes", 15);
	a->xdata = xl_dict_new();
	if (a->xdata)
		xl_dict_set_u64(a->xdata, "mortar.seed", 1);
}

static void seed_fop_call(enum xl_fop fop)
{
	static const int32_t cmds[] = {0, 1, 3, 5, 6, 7, 36, 37, 38};
	struct xl_cred cred = {.uid = 0, .gid = 0, .pid = 1, .ngroups = 1};

	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		struct xl_iobuf *bulk = NULL;
		struct xl_args a, back;
		struct xl_cred cback;
		struct rpc_wbuf w;
		struct rpc_rbuf r;
		uint64_t rfd;
		char name[64];
		int ok;

		fill_args(&a, fop, cmds[k]);
		rpc_wbuf_init(&w);
		ok = rpc_encode_call(&w, fop, &cred, &a, 3, &bulk) == 0;
		if (ok) {
			rpc_rbuf_init(&r, w.data, w.len);
			ok = rpc_decode_call(&r, fop, &cback, &back, &rfd,
					     bulk) == 0;
			if (ok)
				xl_args_clear(&back);
		}
		if (ok) {
			snprintf(name, sizeof(name), "call-%s",
				 xl_fop_info[fop].name);
			seed_frame(name, (uint8_t)fop, RPC_T_REQUEST, &w, bulk);
		}
		if (bulk)
			xl_iobuf_unref(bulk);
		rpc_wbuf_free(&w);
		xl_args_clear(&a);
		if (ok)
			return;
	}
	fprintf(stderr, "fuzz-seeds: no call of %s decodes\n",
		xl_fop_info[fop].name);
}

static void seed_fop_reply(enum xl_fop fop)
{
	struct xl_dirent ents[2];
	struct xl_iobuf *bulk = NULL;
	struct xl_reply rep, back;
	struct rpc_wbuf w;
	struct rpc_rbuf r;
	uint64_t rfd;
	char name[64];

	memset(&rep, 0, sizeof(rep));
	memset(ents, 0, sizeof(ents));
	rep.ret = 0;
	fill_iatt(&rep.attr);
	if (xl_fop_info[fop].reply & XL_R_DATA)
		rep.data = xl_iobuf_from("reply data", 10);
	if (xl_fop_info[fop].reply & XL_R_ENTRIES) {
		for (int i = 0; i < 2; i++) {
			ents[i].d_off = (uint64_t)i + 1;
			ents[i].d_ino = 100u + (unsigned)i;
			ents[i].d_type = 8;
			ents[i].name = i ? "b" : "a";
			fill_iatt(&ents[i].attr);
		}
		rep.entries = ents;
		rep.entry_count = 2;
	}
	rep.statfs.bsize = 4096;
	rep.lock.type = 2;
	rep.offset = 10;
	rpc_wbuf_init(&w);
	if (rpc_encode_reply(&w, fop, &rep, 3, &bulk) == 0) {
		rpc_rbuf_init(&r, w.data, w.len);
		memset(&back, 0, sizeof(back));
		if (rpc_decode_reply(&r, fop, &back, &rfd, bulk) == 0) {
			snprintf(name, sizeof(name), "reply-%s",
				 xl_fop_info[fop].name);
			seed_frame(name, (uint8_t)(0x80 | fop), RPC_T_REPLY, &w,
				   bulk);
			xl_reply_clear(&back);
		}
	}
	/* error reply: just the status */
	rpc_wbuf_free(&w);
	rpc_wbuf_init(&w);
	if (bulk)
		xl_iobuf_unref(bulk);
	bulk = NULL;
	if (rep.data)
		xl_iobuf_unref(rep.data);
	memset(&rep, 0, sizeof(rep));
	rep.ret = -ENOENT;
	if (rpc_encode_reply(&w, fop, &rep, 0, &bulk) == 0) {
		snprintf(name, sizeof(name), "reply-err-%s",
			 xl_fop_info[fop].name);
		seed_frame(name, (uint8_t)(0x80 | fop), RPC_T_REPLY, &w, bulk);
	}
	if (bulk)
		xl_iobuf_unref(bulk);
	rpc_wbuf_free(&w);
}

static void seed_notice(void)
{
	struct xl_upcall up = {.what = XL_UP_ATTR, .gen = 3, .name = "n"};
	struct rpc_wbuf w;

	memset(up.gfid, 0x22, XL_GFID_LEN);
	rpc_wbuf_init(&w);
	if (rpc_encode_notice_inval(&w, &up) == 0)
		seed_frame("notice-inval", 0xff, RPC_T_NOTICE, &w, NULL);
	rpc_wbuf_free(&w);
}

static void seed_handshakes(void)
{
	struct rpc_wbuf w;

	rpc_wbuf_init(&w);
	if (rpc_encode_handshake(&w, RPC_PROTO_VERSION, "vol-b0",
				 "host:1234:client", RPC_HS_TAKES_NOTICES) == 0)
		seed_write("fuzz-handshake", "request", w.data, w.len, NULL, 0);
	rpc_wbuf_free(&w);
	rpc_wbuf_init(&w);
	if (rpc_encode_handshake_reply(&w, 0, RPC_CAP_NOTICES) == 0)
		seed_write("fuzz-handshake", "reply", w.data, w.len, NULL, 0);
	rpc_wbuf_free(&w);
}

static void seed_cluster(void)
{
	struct dht_range ranges[4];
	uint8_t buf[1 + 4 * DHT_LAYOUT_XATTR_LEN + 16];
	uint8_t judge[1 + 3 + 2 * 2 * 25];
	size_t p = 0;

	/* a whole layout over 4 subvolumes, then 4 hashes */
	dht_layout_assign(ranges, 4, NULL, 1);
	buf[p++] = 0x80 | 3;
	for (int i = 0; i < 4; i++, p += DHT_LAYOUT_XATTR_LEN)
		dht_range_encode(&ranges[i], buf + p);
	for (int i = 0; i < 16; i++)
		buf[p++] = (uint8_t)(i * 37);
	seed_write("fuzz-cluster", "layout-4", buf, p, NULL, 0);
	/* replica 2, both answered; copy 0 blames copy 1 for one write */
	p = 0;
	judge[p++] = 1; /* n = 2 */
	judge[p++] = 0;
	judge[p++] = 3; /* valid */
	judge[p++] = 0; /* no arbiter */
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++) {
			judge[p++] = 24;
			memset(judge + p, 0, 24);
			if (i == 0 && j == 1)
				judge[p + 7] = 1; /* data counter 1 */
			p += 24;
		}
	seed_write("fuzz-cluster", "pending-2", judge, p, NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seeds DIR\n");
		return 2;
	}
	seed_dir = argv[1];
	for (int f = 0; f < XL_FOP_COUNT; f++) {
		seed_fop_call((enum xl_fop)f);
		seed_fop_reply((enum xl_fop)f);
	}
	seed_notice();
	seed_handshakes();
	seed_cluster();
	printf("fuzz-seeds: %d seeds in %s\n", seed_count, seed_dir);
	return 0;
}
