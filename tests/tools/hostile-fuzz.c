/*
 * hostile-fuzz.c - the hostile client's live fuzzer: for -T seconds,
 * well-framed requests of every fop with mutated contents, sent to a
 * running brick over handshaken connections.
 *
 * Each request is built the way protocol/client builds one (the real
 * encoder), from arguments picked at random from what breaks servers:
 * names with "..", "/", ".mortar", NUL-length and overlong ones; the
 * root's gfid, the pending index's, gfids of files the run made, random
 * ones; fds that were opened, closed or never existed; offsets and sizes
 * at 0, at type limits and negative; flags and modes with every bit;
 * xdata with the brick's internal keys and random values; callers root,
 * nobody and random ids (locks only in their forms that answer at once:
 * one that waits for another holder is no hang).  One request in four
 * then gets a few bytes of
 * its body flipped.  Checks, in order of what a user relies on:
 *   - no request hangs: each is answered or its connection closed within
 *     the reply timeout (a hang is a failure);
 *   - the brick answers every well-formed request after the storm: a
 *     LOOKUP of the root on a fresh session every 64 requests and at the
 *     end, and a PING (ho_alive);
 *   - nothing is written outside the brick: the caller checks the canary
 *     tree beside it (hostile.t), this file only aims there ("../" names,
 *     the -e directory's name).
 * The seed (hostile's -s) replays a run.
 */
#include "config.h"

#include "buf.h"
#include "fop.h"
#include "hostile.h"
#include "rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

/* Gfids the run learned or made, reused as targets. */
#define HF_GFIDS 64

struct hf_state {
	uint8_t gfids[HF_GFIDS][XL_GFID_LEN];
	int ngfids;
	uint64_t opens; /* open-like requests sent (fd numbers seen) */
	unsigned sent, answered, closed, hangs, probes, probe_fails;
};

static uint64_t hf_rand(void)
{
	return ((uint64_t)random() << 33) ^ ((uint64_t)random() << 2) ^
	       (uint64_t)random();
}

static bool hf_chance(int percent)
{
	return (int)(random() % 100) < percent;
}

static const char *hf_pick_name(char *buf, size_t cap)
{
	static const char *const names[] = {"..",
					    ".",
					    "../escape",
					    "a/../../b",
					    ".mortar",
					    ".mortar/handles",
					    "..\\x",
					    "",
					    "/etc/passwd",
					    "f",
					    "d",
					    "x y",
					    "\xff\xfe",
					    "hostile-live",
					    "..hostile",
					    ".."
					    "/.."};
	int k = (int)(random() % 20);

	if (k < 16)
		return names[k];
	if (k == 16) { /* longer than any name may be */
		size_t n = cap - 1;

		memset(buf, 'L', n);
		buf[n] = '\0';
		return buf;
	}
	snprintf(buf, cap, "live-%u", (unsigned)(random() % 64));
	return buf;
}

static void hf_pick_gfid(struct hf_state *st, uint8_t *out)
{
	int k = (int)(random() % 8);

	if (k == 0) {
		memcpy(out, xl_gfid_root, XL_GFID_LEN);
	} else if (k == 1) {
		memset(out, 0, XL_GFID_LEN); /* null */
	} else if (k == 2) {
		memset(out, 0, XL_GFID_LEN); /* the pending index's */
		out[15] = 0x02;
	} else if (k < 6 && st->ngfids > 0) {
		memcpy(out, st->gfids[random() % st->ngfids], XL_GFID_LEN);
	} else {
		for (int i = 0; i < XL_GFID_LEN; i++)
			out[i] = (uint8_t)random();
	}
}

static int64_t hf_pick_i64(void)
{
	static const int64_t edges[] = {0,	   1,	      -1,
					4096,	   1 << 20,   INT32_MAX,
					INT64_MAX, INT64_MIN, (int64_t)1 << 40};
	return hf_chance(70) ? edges[random() % 9] : (int64_t)hf_rand();
}

static struct xl_dict *hf_pick_xdata(void)
{
	static const char *const keys[] = {"mortar.client-id",
					   "mortar.internal",
					   "mortar.xattr-req",
					   "mortar.disconnect",
					   "mortar.lk-restore",
					   "mortar.postparent",
					   "mortar.removed",
					   "mortar.check-only",
					   "mortar.no-cache",
					   "trusted.mortar.gfid",
					   "user.x",
					   "mortar.flush-no-locks"};
	struct xl_dict *d;
	uint8_t val[40];
	int n = 1 + (int)(random() % 3);

	if (!hf_chance(40))
		return NULL;
	d = xl_dict_new();
	for (int i = 0; d && i < n; i++) {
		uint32_t len = (uint32_t)(random() % sizeof(val));

		for (uint32_t b = 0; b < len; b++)
			val[b] = (uint8_t)random();
		xl_dict_set(d, keys[random() % 12], val, len);
	}
	return d;
}

/* Random arguments for fop; *remote_fd the fd it names. */
static void hf_fill(struct hf_state *st, enum xl_fop fop, struct xl_args *a,
		    uint64_t *remote_fd, char *name, char *name2)
{
	memset(a, 0, sizeof(*a));
	hf_pick_gfid(st, a->loc.gfid);
	hf_pick_gfid(st, a->loc.pargfid);
	if (hf_chance(80))
		a->loc.name = (char *)hf_pick_name(name, XL_NAME_MAX + 8);
	if (fop == XL_FOP_RENAME || fop == XL_FOP_LINK) {
		hf_pick_gfid(st, a->loc2.pargfid);
		a->loc2.name = (char *)hf_pick_name(name2, XL_NAME_MAX + 8);
	}
	a->flags =
	    hf_chance(50) ? (int32_t)(O_CREAT | O_RDWR) : (int32_t)hf_rand();
	a->mode = hf_chance(60) ? (S_IFREG | 0644) : (uint32_t)hf_rand();
	a->umask = (uint32_t)random() & 0777;
	a->offset = hf_pick_i64();
	a->size = hf_chance(60) ? (uint64_t)(random() % 8192)
				: (uint64_t)hf_pick_i64();
	a->cmd = (int32_t)(random() % 16);
	a->valid = (uint32_t)hf_rand();
	a->attr.mode = (uint32_t)hf_rand();
	a->attr.size = (uint64_t)hf_pick_i64();
	a->lock.type = (int16_t)(random() % 4);
	a->lock.start = hf_pick_i64();
	a->lock.len = hf_pick_i64();
	a->lock.owner = hf_rand();
	if (hf_chance(50))
		a->xname = (char *)(hf_chance(50) ? "user.live"
						  : "trusted.mortar.gfid");
	if (fop == XL_FOP_WRITE || fop == XL_FOP_SETXATTR ||
	    fop == XL_FOP_SYMLINK) {
		uint8_t data[64];

		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)random();
		a->data = xl_iobuf_from(data, (size_t)(random() % 64));
		if (fop == XL_FOP_SYMLINK)
			a->xname =
			    (char *)(hf_chance(50) ? "../../outside" : "/etc");
	}
	/* A lock that waits for another holder is no hang: only ask for
	 * ones that answer at once (the rest of cmd stays random). */
	if (fop == XL_FOP_LK || fop == XL_FOP_INODELK)
		a->cmd = hf_chance(50) ? F_SETLK : F_GETLK;
	if (fop == XL_FOP_FLOCK)
		a->cmd = (int32_t)((random() % 9) | LOCK_NB);
	a->xdata = hf_pick_xdata();
	/* fds: one that was probably opened, or junk */
	*remote_fd =
	    hf_chance(70) ? 1 + hf_rand() % (st->opens + 4) : hf_rand();
}

static struct xl_cred hf_pick_cred(void)
{
	struct xl_cred c = {.uid = 0, .gid = 0, .pid = 1};

	if (hf_chance(30)) {
		c.uid = c.gid = 65534;
	} else if (hf_chance(20)) {
		c.uid = (uint32_t)random();
		c.gid = (uint32_t)random();
	}
	return c;
}

/* Whether the brick answers a plain LOOKUP of the root on a fresh
 * session. */
static bool hf_probe(void)
{
	struct ho_conn c;
	struct xl_cred cred = {.uid = 0, .gid = 0, .pid = 1};
	struct xl_args a;
	struct xl_iobuf *bulk = NULL;
	struct rpc_wbuf w;
	enum ho_result r = HO_R_CLOSED;
	int32_t ret = -1;
	uint64_t xid;

	if (ho_session(&c) < 0)
		return false;
	memset(&a, 0, sizeof(a));
	memcpy(a.loc.gfid, xl_gfid_root, XL_GFID_LEN);
	rpc_wbuf_init(&w);
	if (rpc_encode_call(&w, XL_FOP_LOOKUP, &cred, &a, 0, &bulk) == 0 &&
	    !w.err &&
	    ho_send_frame(&c, XL_FOP_LOOKUP, w.data, w.len, NULL, 0, &xid) == 0)
		r = ho_wait(&c, xid, &ret, NULL, NULL);
	if (bulk)
		xl_iobuf_unref(bulk);
	rpc_wbuf_free(&w);
	ho_close(&c);
	return r == HO_R_REPLY && ret >= 0;
}

/* Keep the gfid a successful creating fop was told to use. */
static void hf_remember(struct hf_state *st, const struct xl_args *a)
{
	if (xl_gfid_is_null(a->loc.gfid))
		return;
	memcpy(st->gfids[st->ngfids < HF_GFIDS ? st->ngfids++
					       : (int)(random() % HF_GFIDS)],
	       a->loc.gfid, XL_GFID_LEN);
}

static void hf_one(struct hf_state *st, struct ho_conn *c)
{
	char name[XL_NAME_MAX + 8], name2[XL_NAME_MAX + 8];
	enum xl_fop fop = (enum xl_fop)(random() % XL_FOP_COUNT);
	struct xl_cred cred = hf_pick_cred();
	struct xl_iobuf *bulk = NULL;
	struct xl_args a;
	struct rpc_wbuf w;
	uint64_t remote_fd, xid;
	enum ho_result r = HO_R_CLOSED;
	int32_t ret = 0;

	hf_fill(st, fop, &a, &remote_fd, name, name2);
	rpc_wbuf_init(&w);
	if (rpc_encode_call(&w, fop, &cred, &a, remote_fd, &bulk) != 0 || w.err)
		goto out;
	if (hf_chance(25))
		for (int k = 0; k < 1 + (int)(random() % 4) && w.len; k++)
			w.data[(size_t)random() % w.len] = (uint8_t)random();
	if (xl_fop_info[fop].flags & XL_F_OPENS_FD)
		st->opens++;
	st->sent++;
	if (ho_send_frame(c, fop, w.data, w.len, bulk ? bulk->data : NULL,
			  bulk ? bulk->size : 0, &xid) == 0)
		r = ho_wait(c, xid, &ret, NULL, NULL);
	if (r == HO_R_REPLY) {
		st->answered++;
		if (ret >= 0 && (fop == XL_FOP_CREATE || fop == XL_FOP_MKDIR ||
				 fop == XL_FOP_MKNOD))
			hf_remember(st, &a);
	} else if (r == HO_R_TIMEOUT) {
		st->hangs++;
		ho_check(false, "fuzzed %s (seed replays it): no answer",
			 xl_fop_name(fop));
	} else {
		st->closed++;
	}
	if (r != HO_R_REPLY)
		ho_close(c);
out:
	if (bulk)
		xl_iobuf_unref(bulk);
	rpc_wbuf_free(&w);
	xl_dict_unref(a.xdata);
	if (a.data)
		xl_iobuf_unref(a.data);
}

static double hf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void ho_case_live_fuzz(void)
{
	struct hf_state st;
	struct ho_conn c = {.fd = -1};
	double end = hf_now() + ho_fuzz_secs;

	memset(&st, 0, sizeof(st));
	while (hf_now() < end && st.hangs == 0) {
		if (c.fd < 0 && ho_session(&c) < 0)
			break;
		hf_one(&st, &c);
		if (st.sent % 64 == 0) {
			st.probes++;
			if (!hf_probe())
				st.probe_fails++;
		}
	}
	ho_close(&c);
	printf("# live-fuzz: %u requests in %.0f s: %u answered, %u closed "
	       "the connection, %u hung; %u probes, %u unanswered\n",
	       st.sent, ho_fuzz_secs, st.answered, st.closed, st.hangs,
	       st.probes, st.probe_fails);
	ho_check(st.sent > 0 && st.hangs == 0,
		 "live-fuzz: every fuzzed request answered or its connection "
		 "closed (%u sent)",
		 st.sent);
	ho_check(st.probe_fails == 0 && hf_probe(),
		 "live-fuzz: a well-formed LOOKUP is answered after every 64 "
		 "(%u of %u failed) and at the end",
		 st.probe_fails, st.probes);
	ho_alive("live fuzz");
}
