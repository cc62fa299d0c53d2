/*
 * hostile.c - a hostile client: sends malformed and malicious frames of the
 * rpc/rpc.h wire format to a brick and checks that each one gets an error
 * reply or a closed connection, never a crash, a hang or a path outside the
 * brick.
 *
 *   hostile [-h HOST] -p PORT [-v VOLUME] [-t SECONDS] [-s SEED] [-n ROUNDS]
 *           [-e OUTSIDE_DIR] [-P BRICK_PID [-M RSS_KIB]] [-G SECONDS]
 *           [CASE...]
 *
 * -e names a directory outside the brick for the symlink-escape case
 * (skipped without it); -P the brick's pid for the flood case, which
 * watches its memory (skipped without it): growth above -M KiB fails
 * (64 MiB by default); -G the brick's handshake-timeout for the silent
 * case (skipped without it): connections that never complete a
 * handshake must be closed after it, while a handshaken one is served;
 * -T how long the live-fuzz case (hostile-fuzz.c) runs: only when named.  Without
 * CASE it runs every case; -n repeats the whole run (more fuzz, and a longer
 * attack for a mount to survive meanwhile).  Output is one "# pass:"/"# FAIL:"
 * line per check; exit 0 when every check passed, 1 when one failed, 2 on a
 * usage error or when the brick cannot be reached at all.  After each case a
 * PING on a fresh connection proves the brick still answers.
 *
 * Each case opens its own TCP connection, so a brick that closes the
 * connection on a bad frame (what rpc.h promises) does not hide later
 * cases.  Every read has a timeout: a brick that neither answers nor
 * closes within it fails the check.
 */
#include "config.h"

#include "rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hostile-handshake.h"

#include "hostile.h"

static const char *ho_host = "127.0.0.1";
static const char *ho_port;
static const char *ho_volume = "brick";
const char *ho_escape_dir;	      /* -e: a dir outside the brick */
double ho_fuzz_secs = 10;	      /* -T: how long live-fuzz runs */
static int ho_brick_pid;	      /* -P: whose memory the flood watches */
static long ho_rss_max_kb = 64 << 10; /* -M: how much it may grow */
static int ho_timeout_ms = 5000;
static double ho_greet_secs; /* -G: the brick's handshake deadline */
static int ho_failures;

void __attribute__((format(printf, 2, 3)))
ho_check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("# %s: ", cond ? "pass" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		ho_failures++;
}

/* ---- raw connection ----------------------------------------------- */

int ho_connect(struct ho_conn *c)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int one = 1;
	int ret;

	c->fd = -1;
	c->next_xid = 1;
	ret = getaddrinfo(ho_host, ho_port, &hints, &res);
	if (ret) {
		fprintf(stderr, "hostile: %s:%s: %s\n", ho_host, ho_port,
			gai_strerror(ret));
		return -EINVAL;
	}
	c->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		ret = -errno;
		goto out;
	}
	if (connect(c->fd, res->ai_addr, res->ai_addrlen) < 0) {
		ret = -errno;
		close(c->fd);
		c->fd = -1;
		goto out;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ret = 0;
out:
	freeaddrinfo(res);
	return ret;
}

void ho_close(struct ho_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Send everything; a peer that closed early is not an error here (the
 * brick may drop us mid-frame, which is a valid reaction). */
static int ho_send(struct ho_conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void ho_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t ho_get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

struct ho_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t body_len;
	uint32_t bulk_len;
	uint64_t xid;
	uint32_t proc;
};

static void ho_hdr_pack(const struct ho_hdr *h, uint8_t *out)
{
	ho_le(out, h->magic, 4);
	ho_le(out + 4, h->version, 2);
	ho_le(out + 6, h->type, 2);
	ho_le(out + 8, h->body_len, 4);
	ho_le(out + 12, h->bulk_len, 4);
	ho_le(out + 16, h->xid, 8);
	ho_le(out + 24, h->proc, 4);
	ho_le(out + 28, 0, 4);
}

static struct ho_hdr ho_hdr_request(struct ho_conn *c, uint32_t proc,
				    size_t body_len, size_t bulk_len)
{
	struct ho_hdr h = {.magic = RPC_MAGIC,
			   .version = RPC_VERSION,
			   .type = RPC_T_REQUEST,
			   .body_len = (uint32_t)body_len,
			   .bulk_len = (uint32_t)bulk_len,
			   .xid = c->next_xid++,
			   .proc = proc};
	return h;
}

/* Send one well-formed frame around body (and optional bulk). */
int ho_send_frame(struct ho_conn *c, uint32_t proc, const void *body,
		  size_t body_len, const void *bulk, size_t bulk_len,
		  uint64_t *xid)
{
	struct ho_hdr h = ho_hdr_request(c, proc, body_len, bulk_len);
	uint8_t hdr[RPC_HEADER_LEN];
	int ret;

	ho_hdr_pack(&h, hdr);
	if (xid)
		*xid = h.xid;
	ret = ho_send(c, hdr, sizeof(hdr));
	if (!ret && body_len)
		ret = ho_send(c, body, body_len);
	if (!ret && bulk_len)
		ret = ho_send(c, bulk, bulk_len);
	return ret;
}

/* Read exactly len bytes before the deadline.  1 done, 0 timeout, -1
 * closed or reset. */
static int ho_recv(struct ho_conn *c, void *buf, size_t len, double deadline)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	size_t got = 0;

	while (got < len) {
		struct timespec ts;
		int left, rc;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		left =
		    (int)((deadline - (ts.tv_sec + ts.tv_nsec / 1e9)) * 1000);
		rc = poll(&pfd, 1, left > 0 ? left : 0);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0)
			return 0;
		if (rc < 0)
			return -1;
		n = recv(c->fd, (uint8_t *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 1;
}

static double ho_deadline(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9 + ho_timeout_ms / 1000.0;
}

/*
 * Wait for the answer to xid.  On a reply, *ret gets the first u32 of the
 * body as int32 (every fop reply and GETSPEC start with ret) and body, if
 * not NULL, a malloc'd copy.  Replies to other xids are skipped.
 */
enum ho_result ho_wait(struct ho_conn *c, uint64_t xid, int32_t *ret,
		       uint8_t **body, size_t *body_len)
{
	double deadline = ho_deadline();
	uint8_t hdr[RPC_HEADER_LEN];

	for (;;) {
		uint32_t blen, bulk;
		uint8_t *buf;
		int rc = ho_recv(c, hdr, sizeof(hdr), deadline);

		if (rc <= 0)
			return rc == 0 ? HO_R_TIMEOUT : HO_R_CLOSED;
		blen = (uint32_t)ho_get_le(hdr + 8, 4);
		bulk = (uint32_t)ho_get_le(hdr + 12, 4);
		if (ho_get_le(hdr, 4) != RPC_MAGIC ||
		    ho_get_le(hdr + 6, 2) != RPC_T_REPLY ||
		    blen > RPC_BODY_MAX || bulk > RPC_BULK_MAX)
			return HO_R_BADREPLY;
		buf = malloc((size_t)blen + bulk + 1);
		if (!buf)
			return HO_R_BADREPLY;
		rc = ho_recv(c, buf, (size_t)blen + bulk, deadline);
		if (rc <= 0) {
			free(buf);
			return rc == 0 ? HO_R_TIMEOUT : HO_R_CLOSED;
		}
		if (ho_get_le(hdr + 16, 8) != xid) {
			free(buf);
			continue;
		}
		*ret = blen >= 4 ? (int32_t)ho_get_le(buf, 4) : 0;
		if (body) {
			*body = buf;
			*body_len = blen;
		} else {
			free(buf);
		}
		return HO_R_REPLY;
	}
}

static const char *ho_result_name(enum ho_result r, int32_t ret)
{
	static char buf[64];

	switch (r) {
	case HO_R_TIMEOUT:
		return "no answer (timeout)";
	case HO_R_CLOSED:
		return "connection closed";
	case HO_R_BADREPLY:
		return "malformed reply";
	case HO_R_REPLY:
		snprintf(buf, sizeof(buf), "reply ret %d (%s)", (int)ret,
			 ret < 0 ? strerror(-ret) : "success");
		return buf;
	}
	return "?";
}

/* Judge an answer against what the case accepts. */
static void ho_judge(const char *what, enum ho_want want, enum ho_result r,
		     int32_t ret)
{
	bool ok;

	switch (want) {
	case HO_CLOSE:
		ok = r == HO_R_CLOSED;
		break;
	case HO_ERR_OR_CLOSE:
		ok = r == HO_R_CLOSED || (r == HO_R_REPLY && ret < 0);
		break;
	default:
		ok = r != HO_R_BADREPLY;
		break;
	}
	ho_check(ok, "%s: %s", what, ho_result_name(r, ret));
}

/* The brick still answers a PING on a new connection. */
bool ho_alive(const char *after)
{
	struct ho_conn c;
	enum ho_result r = HO_R_CLOSED;
	uint64_t xid;
	int32_t ret = 0;

	if (ho_connect(&c) == 0) {
		if (ho_send_frame(&c, RPC_PROC_PING, NULL, 0, NULL, 0, &xid) ==
		    0)
			r = ho_wait(&c, xid, &ret, NULL, NULL);
		ho_close(&c);
	}
	ho_check(r == HO_R_REPLY, "brick answers PING after %s: %s", after,
		 ho_result_name(r, ret));
	return r == HO_R_REPLY;
}

/* ---- frame builders ----------------------------------------------- */

static const struct xl_cred ho_cred = {.uid = 0, .gid = 0, .pid = 1};

/* Encode a fop the way protocol/client does; names are not checked by
 * the encoder, which is what lets us send bad ones. */
static int ho_encode(enum xl_fop fop, const struct xl_args *args,
		     uint64_t remote_fd, struct rpc_wbuf *w)
{
	struct xl_iobuf *bulk = NULL;
	int ret;

	rpc_wbuf_init(w);
	ret = rpc_encode_call(w, fop, &ho_cred, args, remote_fd, &bulk);
	if (bulk)
		xl_iobuf_unref(bulk);
	if (!ret)
		ret = w->err;
	if (ret)
		rpc_wbuf_free(w);
	return ret;
}

/* A by-name fop under the root: LOOKUP, MKDIR, CREATE, MKNOD, UNLINK... */
static int ho_encode_named(enum xl_fop fop, const char *name,
			   struct rpc_wbuf *w)
{
	struct xl_args args;

	memset(&args, 0, sizeof(args));
	memcpy(args.loc.pargfid, xl_gfid_root, XL_GFID_LEN);
	args.loc.name = (char *)name;
	xl_gfid_generate(args.loc.gfid);
	args.mode = (fop == XL_FOP_MKDIR ? S_IFDIR : S_IFREG) | 0755;
	args.flags = O_CREAT | O_RDWR;
	args.umask = 022;
	/* symlink target; the xattr name for setxattr (fuzz) */
	args.xname = (char *)"hostile-target";
	return ho_encode(fop, &args, 0, w);
}

/* Send a frame, wait for the answer, judge it. */
static void ho_exchange(struct ho_conn *c, const char *what, uint32_t proc,
			const void *body, size_t body_len, enum ho_want want)
{
	uint64_t xid = 0;
	int32_t ret = 0;
	enum ho_result r;

	if (ho_send_frame(c, proc, body, body_len, NULL, 0, &xid) < 0)
		r = HO_R_CLOSED;
	else
		r = ho_wait(c, xid, &ret, NULL, NULL);
	ho_judge(what, want, r, ret);
}

/* Handshake the way protocol/client does (hostile-handshake.h). */
static int ho_handshake(struct ho_conn *c)
{
	struct rpc_wbuf w;
	uint64_t xid;
	int32_t ret = -1;
	enum ho_result r;

	rpc_wbuf_init(&w);
	ho_handshake_body(&w, ho_volume);
	if (w.err) {
		rpc_wbuf_free(&w);
		return -ENOMEM;
	}
	if (ho_send_frame(c, RPC_PROC_HANDSHAKE, w.data, w.len, NULL, 0, &xid) <
	    0) {
		rpc_wbuf_free(&w);
		return -EIO;
	}
	rpc_wbuf_free(&w);
	r = ho_wait(c, xid, &ret, NULL, NULL);
	if (r != HO_R_REPLY || ret < 0) {
		ho_check(false, "handshake with volume %s: %s", ho_volume,
			 ho_result_name(r, ret));
		return -EPROTO;
	}
	return 0;
}

/* A connected, handshaken connection, or a failed check. */
int ho_session(struct ho_conn *c)
{
	if (ho_connect(c) < 0) {
		ho_check(false, "connect to %s:%s", ho_host, ho_port);
		return -1;
	}
	if (ho_handshake(c) < 0) {
		ho_close(c);
		return -1;
	}
	return 0;
}

/* ---- cases: framing ----------------------------------------------- */

static void ho_bad_header(const char *what, struct ho_hdr h, enum ho_want want)
{
	struct ho_conn c;
	uint8_t buf[RPC_HEADER_LEN + 64];
	int32_t ret = 0;
	enum ho_result r = HO_R_CLOSED;

	if (ho_connect(&c) < 0) {
		ho_check(false, "%s: connect", what);
		return;
	}
	ho_hdr_pack(&h, buf);
	/* Some body bytes, so a server that ignores the bad field still has
	 * something to choke on. */
	memset(buf + RPC_HEADER_LEN, 0xa5, 64);
	if (ho_send(&c, buf, sizeof(buf)) == 0)
		r = ho_wait(&c, h.xid, &ret, NULL, NULL);
	ho_judge(what, want, r, ret);
	ho_close(&c);
}

static void ho_case_framing(void)
{
	struct ho_hdr good = {.magic = RPC_MAGIC,
			      .version = RPC_VERSION,
			      .type = RPC_T_REQUEST,
			      .body_len = 64,
			      .xid = 7,
			      .proc = RPC_PROC_PING};
	struct ho_hdr h;

	h = good;
	h.magic = 0xdeadbeefu;
	ho_bad_header("bad magic", h, HO_CLOSE);
	h = good;
	h.version = 99;
	ho_bad_header("bad version 99", h, HO_ERR_OR_CLOSE);
	h = good;
	h.version = 0;
	ho_bad_header("bad version 0", h, HO_ERR_OR_CLOSE);
	h = good;
	h.body_len = RPC_BODY_MAX + 1;
	h.proc = XL_FOP_LOOKUP;
	ho_bad_header("body_len 256 KiB + 1", h, HO_CLOSE);
	h = good;
	h.body_len = UINT32_MAX;
	ho_bad_header("body_len 4 GiB - 1", h, HO_CLOSE);
	h = good;
	h.bulk_len = UINT32_MAX;
	h.proc = XL_FOP_WRITE;
	ho_bad_header("bulk_len 4 GiB - 1", h, HO_CLOSE);
	h = good;
	h.bulk_len = RPC_BULK_MAX + 1;
	h.proc = XL_FOP_WRITE;
	ho_bad_header("bulk_len RPC_BULK_MAX + 1", h, HO_CLOSE);
	h = good;
	h.type = 7;
	ho_bad_header("frame type 7", h, HO_ERR_OR_CLOSE);
	h = good;
	h.type = RPC_T_REPLY;
	h.proc = XL_FOP_LOOKUP;
	ho_bad_header("unsolicited reply frame", h, HO_ANY);
	ho_alive("framing cases");
}

/* Frames cut short, then the client goes away. */
static void ho_case_truncated(void)
{
	static const size_t cuts[] = {1, 4, 10, 31};
	struct ho_conn c;
	uint8_t buf[RPC_HEADER_LEN + 100];
	struct ho_hdr h;

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (ho_connect(&c) < 0)
			continue;
		h = ho_hdr_request(&c, XL_FOP_LOOKUP, 100, 0);
		ho_hdr_pack(&h, buf);
		ho_send(&c, buf, cuts[i]);
		ho_close(&c);
	}
	/* Full header, half the body, then close. */
	if (ho_connect(&c) == 0) {
		h = ho_hdr_request(&c, XL_FOP_LOOKUP, 100, 0);
		ho_hdr_pack(&h, buf);
		memset(buf + RPC_HEADER_LEN, 0, 50);
		ho_send(&c, buf, RPC_HEADER_LEN + 50);
		ho_close(&c);
	}
	/* A write whose bulk never fully arrives. */
	if (ho_connect(&c) == 0) {
		h = ho_hdr_request(&c, XL_FOP_WRITE, 0, 1 << 20);
		ho_hdr_pack(&h, buf);
		ho_send(&c, buf, RPC_HEADER_LEN);
		ho_send(&c, buf, sizeof(buf));
		ho_close(&c);
	}
	ho_alive("truncated frames");
}

/* Random bytes where a frame should be. */
static void ho_case_garbage(void)
{
	struct ho_conn c;
	uint8_t buf[65536];
	int32_t ret = 0;
	enum ho_result r = HO_R_CLOSED;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)random();
	/* Not by chance a valid magic. */
	buf[0] = 'X';
	if (ho_connect(&c) == 0) {
		if (ho_send(&c, buf, sizeof(buf)) == 0)
			r = ho_wait(&c, UINT64_MAX, &ret, NULL, NULL);
		ho_close(&c);
	}
	ho_judge("64 KiB of random bytes", HO_CLOSE, r, ret);
	ho_alive("garbage");
}

/* ---- cases: requests ---------------------------------------------- */

/* Fops before the handshake must be refused. */
static void ho_case_prehandshake(void)
{
	struct ho_conn c;
	struct rpc_wbuf w;

	if (ho_connect(&c) < 0) {
		ho_check(false, "connect");
		return;
	}
	if (ho_encode_named(XL_FOP_LOOKUP, "x", &w) == 0) {
		ho_exchange(&c, "LOOKUP before handshake", XL_FOP_LOOKUP,
			    w.data, w.len, HO_ERR_OR_CLOSE);
		rpc_wbuf_free(&w);
	}
	ho_close(&c);
	if (ho_connect(&c) < 0)
		return;
	if (ho_encode_named(XL_FOP_MKDIR, "hostile-prehandshake", &w) == 0) {
		ho_exchange(&c, "MKDIR before handshake", XL_FOP_MKDIR, w.data,
			    w.len, HO_ERR_OR_CLOSE);
		rpc_wbuf_free(&w);
	}
	ho_close(&c);
	ho_alive("fops before handshake");
}

static void ho_case_unknown_proc(void)
{
	static const uint32_t procs[] = {XL_FOP_COUNT, 999, 1003, 77777,
					 UINT32_MAX};
	struct ho_conn c;
	uint8_t body[16] = {0};
	char what[64];

	for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		/* A fresh session each: the brick may close after a refusal. */
		if (ho_session(&c) < 0)
			return;
		snprintf(what, sizeof(what), "unknown proc %u", procs[i]);
		ho_exchange(&c, what, procs[i], body, sizeof(body),
			    HO_ERR_OR_CLOSE);
		ho_close(&c);
	}
	ho_alive("unknown procs");
}

struct ho_badname {
	enum xl_fop fop;
	const char *name;
	size_t len; /* bytes of name (may hold a NUL) */
};

/* Send one named fop whose name is patched in after encoding: the
 * encoder writes u32 length + bytes, so a placeholder of the same length
 * is found and overwritten (how a NUL gets inside a name). */
static void ho_badname_one(const struct ho_badname *b)
{
	struct ho_conn c;
	struct rpc_wbuf w;
	char placeholder[300];
	char what[128];
	char shown[41];
	uint8_t *hit;

	memset(placeholder, 'Q', b->len);
	placeholder[b->len] = '\0';
	if (ho_encode_named(b->fop, placeholder, &w) < 0) {
		ho_check(false, "encode %s", xl_fop_name(b->fop));
		return;
	}
	hit = memmem(w.data, w.len, placeholder, b->len);
	if (hit)
		memcpy(hit, b->name, b->len);
	/* Shown with control bytes (the NUL) as '?'. */
	for (size_t i = 0; i < b->len && i < 40; i++)
		shown[i] = b->name[i] < 0x20 ? '?' : b->name[i];
	shown[b->len < 40 ? b->len : 40] = '\0';
	snprintf(what, sizeof(what), "%s name \"%s\"%s (len %zu)",
		 xl_fop_name(b->fop), shown, b->len > 40 ? "..." : "", b->len);
	if (hit && ho_session(&c) == 0) {
		ho_exchange(&c, what, b->fop, w.data, w.len, HO_ERR_OR_CLOSE);
		ho_close(&c);
	}
	rpc_wbuf_free(&w);
}

static void ho_case_badnames(void)
{
	static char longname[XL_NAME_MAX + 2];
	const struct ho_badname names[] = {
	    {XL_FOP_LOOKUP, "..", 2},
	    {XL_FOP_LOOKUP, ".", 1},
	    {XL_FOP_LOOKUP, "a/b", 3},
	    {XL_FOP_LOOKUP, "../", 3},
	    {XL_FOP_LOOKUP, "../etc", 6},
	    {XL_FOP_LOOKUP, "../../../../../../etc/passwd", 28},
	    {XL_FOP_LOOKUP, "/etc/passwd", 11},
	    {XL_FOP_LOOKUP, "a\0b", 3},
	    {XL_FOP_LOOKUP, ".mortar", 7},
	    {XL_FOP_LOOKUP, longname, XL_NAME_MAX + 1},
	    {XL_FOP_MKDIR, "..", 2},
	    {XL_FOP_MKDIR, "../hostile-escape-dir", 21},
	    {XL_FOP_MKDIR, "../../hostile-escape-dir2", 25},
	    {XL_FOP_CREATE, "../hostile-escape-file", 22},
	    {XL_FOP_CREATE, "/tmp/hostile-escape-abs", 23},
	    {XL_FOP_MKNOD, "../hostile-escape-node", 22},
	    {XL_FOP_SYMLINK, "../hostile-escape-link", 22},
	    {XL_FOP_UNLINK, "../hostile-victim", 17},
	    {XL_FOP_RMDIR, "..", 2},
	    {XL_FOP_MKDIR, ".mortar", 7},
	};

	memset(longname, 'n', XL_NAME_MAX + 1);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ho_badname_one(&names[i]);
	ho_alive("bad names");
}

/* Valid frames with lying contents: unknown fds, huge sizes, a body cut
 * at every length, random bit flips. */
static void ho_case_bodies(void)
{
	struct ho_conn c;
	struct xl_args args;
	struct rpc_wbuf w;
	char what[96];
	int bad = 0;

	memset(&args, 0, sizeof(args));
	args.size = 4096;
	if (ho_session(&c) < 0)
		return;
	if (ho_encode(XL_FOP_READ, &args, 0xdeadbeefcafeULL, &w) == 0) {
		ho_exchange(&c, "READ on an fd never opened", XL_FOP_READ,
			    w.data, w.len, HO_ERR_OR_CLOSE);
		rpc_wbuf_free(&w);
	}
	ho_close(&c);
	if (ho_session(&c) < 0)
		return;
	args.size = 1ull << 40;
	if (ho_encode(XL_FOP_READ, &args, 1, &w) == 0) {
		ho_exchange(&c, "READ of 1 TiB", XL_FOP_READ, w.data, w.len,
			    HO_ERR_OR_CLOSE);
		rpc_wbuf_free(&w);
	}
	ho_close(&c);
	/* LOOKUP body cut at every length: each must be refused. */
	if (ho_encode_named(XL_FOP_LOOKUP, "hostile-cut", &w) < 0)
		return;
	for (size_t len = 0; len < w.len; len += 3) {
		int32_t ret = 0;
		uint64_t xid;
		enum ho_result r = HO_R_CLOSED;

		if (ho_session(&c) < 0)
			break;
		if (ho_send_frame(&c, XL_FOP_LOOKUP, w.data, len, NULL, 0,
				  &xid) == 0)
			r = ho_wait(&c, xid, &ret, NULL, NULL);
		ho_close(&c);
		if (!(r == HO_R_CLOSED || (r == HO_R_REPLY && ret < 0))) {
			bad++;
			snprintf(what, sizeof(what),
				 "LOOKUP body cut to %zu of %zu bytes", len,
				 w.len);
			ho_judge(what, HO_ERR_OR_CLOSE, r, ret);
		}
	}
	ho_check(bad == 0, "every cut LOOKUP body refused (%d accepted)", bad);
	rpc_wbuf_free(&w);
	ho_alive("lying bodies");
}

/* Random byte flips in valid fop bodies on one handshaken connection:
 * anything goes except a crash or a hang. */
static void ho_case_fuzz(void)
{
	static const enum xl_fop fops[] = {XL_FOP_LOOKUP, XL_FOP_MKDIR,
					   XL_FOP_SETXATTR, XL_FOP_READDIR};
	struct ho_conn c = {.fd = -1};
	int hangs = 0;

	for (int i = 0; i < 200; i++) {
		struct rpc_wbuf w;
		enum xl_fop fop = fops[i % 4];
		int32_t ret = 0;
		uint64_t xid;
		enum ho_result r = HO_R_CLOSED;

		if (c.fd < 0 && ho_session(&c) < 0)
			break;
		if (ho_encode_named(fop, "hostile-fuzz", &w) < 0)
			break;
		for (int k = 0; k < 1 + i % 8; k++)
			w.data[(size_t)random() % w.len] = (uint8_t)random();
		if (ho_send_frame(&c, fop, w.data, w.len, NULL, 0, &xid) == 0)
			r = ho_wait(&c, xid, &ret, NULL, NULL);
		rpc_wbuf_free(&w);
		if (r == HO_R_TIMEOUT)
			hangs++;
		if (r != HO_R_REPLY)
			ho_close(&c);
	}
	ho_close(&c);
	ho_check(hangs == 0, "200 fuzzed bodies answered or closed (%d hung)",
		 hangs);
	ho_alive("fuzzed bodies");
}

/* One fop with the given args on a fresh session. */
static enum ho_result ho_call(enum xl_fop fop, const struct xl_args *args,
			      int32_t *ret)
{
	struct ho_conn c;
	struct rpc_wbuf w;
	enum ho_result r = HO_R_CLOSED;
	uint64_t xid;

	*ret = 0;
	if (ho_encode(fop, args, 0, &w) < 0)
		return HO_R_BADREPLY;
	if (ho_session(&c) == 0) {
		if (ho_send_frame(&c, fop, w.data, w.len, NULL, 0, &xid) == 0)
			r = ho_wait(&c, xid, ret, NULL, NULL);
		ho_close(&c);
	}
	rpc_wbuf_free(&w);
	return r;
}

/* A by-name fop under parent pargfid. */
static void ho_under(enum xl_fop fop, const uint8_t *pargfid, const char *name,
		     const char *what)
{
	struct xl_args args;
	enum ho_result r;
	int32_t ret;

	memset(&args, 0, sizeof(args));
	memcpy(args.loc.pargfid, pargfid, XL_GFID_LEN);
	args.loc.name = (char *)name;
	xl_gfid_generate(args.loc.gfid);
	args.mode = (fop == XL_FOP_MKDIR ? S_IFDIR : S_IFREG) | 0755;
	args.flags = O_CREAT | O_RDWR;
	args.umask = 022;
	r = ho_call(fop, &args, &ret);
	ho_judge(what, HO_ERR_OR_CLOSE, r, ret);
}

/*
 * A symlink inside the brick pointing outside it (-e DIR), then fops that
 * use the symlink's gfid as a parent or a directory: a brick that follows
 * the link while resolving a gfid handle would work in DIR.  Names and
 * frames are all valid here; only the brick's resolution can refuse.
 */
static void ho_case_symlink_escape(void)
{
	struct xl_args args;
	uint8_t sym[XL_GFID_LEN];
	char name[64];
	enum ho_result r;
	int32_t ret;

	if (!ho_escape_dir) {
		printf("# skipped: no -e DIR given\n");
		return;
	}
	memset(&args, 0, sizeof(args));
	xl_gfid_generate(sym);
	snprintf(name, sizeof(name), "hostile-sym-%ld", random());
	memcpy(args.loc.pargfid, xl_gfid_root, XL_GFID_LEN);
	memcpy(args.loc.gfid, sym, XL_GFID_LEN);
	args.loc.name = name;
	args.xname = (char *)ho_escape_dir;
	args.umask = 022;
	r = ho_call(XL_FOP_SYMLINK, &args, &ret);
	if (r != HO_R_REPLY || ret < 0) {
		ho_check(r != HO_R_TIMEOUT && r != HO_R_BADREPLY,
			 "symlink to %s refused, nothing to escape through: %s",
			 ho_escape_dir, ho_result_name(r, ret));
		return;
	}
	ho_under(XL_FOP_LOOKUP, sym, "bait", "LOOKUP bait under the symlink");
	ho_under(XL_FOP_MKDIR, sym, "hostile-escape-sym",
		 "MKDIR under the symlink");
	ho_under(XL_FOP_CREATE, sym, "hostile-escape-sym-file",
		 "CREATE under the symlink");
	ho_under(XL_FOP_MKNOD, sym, "hostile-escape-sym-node",
		 "MKNOD under the symlink");
	memset(&args.loc, 0, sizeof(args.loc));
	memcpy(args.loc.gfid, sym, XL_GFID_LEN);
	args.xname = NULL;
	r = ho_call(XL_FOP_OPENDIR, &args, &ret);
	ho_judge("OPENDIR of the symlink's gfid", HO_ERR_OR_CLOSE, r, ret);
	/* Clean up the symlink (inside the brick). */
	memset(&args, 0, sizeof(args));
	memcpy(args.loc.pargfid, xl_gfid_root, XL_GFID_LEN);
	args.loc.name = name;
	r = ho_call(XL_FOP_UNLINK, &args, &ret);
	ho_check(r == HO_R_REPLY && ret == 0, "unlink the symlink: %s",
		 ho_result_name(r, ret));
	ho_alive("symlink escape");
}

struct ho_case {
	const char *name;
	void (*run)(void);
	bool named_only; /* not run by default: it runs -T seconds */
};

/* ---- case: an fd number from another connection ------------------- */

/* OPENDIR the root on c; its remote fd number, or 0. */
static uint64_t ho_opendir_root(struct ho_conn *c)
{
	struct xl_args args;
	struct xl_reply reply;
	struct rpc_wbuf w;
	struct rpc_rbuf r;
	uint8_t *body = NULL;
	size_t body_len = 0;
	uint64_t xid, num = 0;
	int32_t ret = -1;

	memset(&args, 0, sizeof(args));
	memcpy(args.loc.gfid, xl_gfid_root, XL_GFID_LEN);
	if (ho_encode(XL_FOP_OPENDIR, &args, 0, &w) < 0)
		return 0;
	if (ho_send_frame(c, XL_FOP_OPENDIR, w.data, w.len, NULL, 0, &xid) ==
		0 &&
	    ho_wait(c, xid, &ret, &body, &body_len) == HO_R_REPLY && ret == 0) {
		memset(&reply, 0, sizeof(reply));
		rpc_rbuf_init(&r, body, body_len);
		if (rpc_decode_reply(&r, XL_FOP_OPENDIR, &reply, &num, NULL))
			num = 0;
		xl_reply_clear(&reply);
	}
	free(body);
	rpc_wbuf_free(&w);
	return num;
}

/* fd numbers are the brick's, never reused: a number one connection got
 * names nothing on another (a client that kept it across a reconnect
 * must get EBADF, not some other file). */
static void ho_case_stale_fd(void)
{
	struct ho_conn a, b;
	struct xl_args args;
	struct rpc_wbuf w;
	uint64_t na, nb, xid;
	int32_t ret = 0;
	enum ho_result r = HO_R_CLOSED;

	if (ho_session(&a) < 0)
		return;
	if (ho_session(&b) < 0) {
		ho_close(&a);
		return;
	}
	na = ho_opendir_root(&a);
	nb = ho_opendir_root(&b);
	ho_check(na && nb && na != nb, "distinct fd numbers: %llu %llu",
		 (unsigned long long)na, (unsigned long long)nb);
	memset(&args, 0, sizeof(args));
	args.size = 4096;
	if (ho_encode(XL_FOP_READDIR, &args, na, &w) == 0) {
		if (ho_send_frame(&b, XL_FOP_READDIR, w.data, w.len, NULL, 0,
				  &xid) == 0)
			r = ho_wait(&b, xid, &ret, NULL, NULL);
		rpc_wbuf_free(&w);
	}
	ho_check(r == HO_R_REPLY && ret == -EBADF,
		 "another connection's fd number is EBADF: %s",
		 ho_result_name(r, ret));
	ho_close(&b);
	ho_close(&a);
}

/* ---- case: a flood of requests whose replies are never read -------- */

#define HO_FLOOD_SECS 4

static double ho_now(void)
{
	return ho_deadline() - ho_timeout_ms / 1000.0;
}

/* VmRSS of the brick in KiB, or -1. */
static long ho_rss_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", ho_brick_pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Append one frame to a batch buffer. */
static size_t ho_pack_frame(uint8_t *out, struct ho_conn *c, uint32_t proc,
			    const void *body, size_t body_len)
{
	struct ho_hdr h = ho_hdr_request(c, proc, body_len, 0);

	ho_hdr_pack(&h, out);
	if (body_len)
		memcpy(out + RPC_HEADER_LEN, body, body_len);
	return RPC_HEADER_LEN + body_len;
}

/* A handshaken client sends PINGs and STATFS as fast as the brick takes
 * them and never reads a reply.  The brick must stop reading it rather
 * than queue answers without bound: its RSS may grow a little, not by
 * what was sent. */
static void ho_case_flood(void)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	struct xl_args args;
	struct rpc_wbuf statfs;
	struct ho_conn c;
	uint8_t *batch;
	size_t len = 0, sent = 0;
	long base, peak, now;
	double end;

	if (!ho_brick_pid) {
		printf("# skip: flood needs -P BRICK_PID\n");
		return;
	}
	base = peak = ho_rss_kb();
	if (base < 0) {
		ho_check(false, "read VmRSS of pid %d", ho_brick_pid);
		return;
	}
	memset(&args, 0, sizeof(args));
	memcpy(args.loc.gfid, xl_gfid_root, XL_GFID_LEN);
	if (ho_encode(XL_FOP_STATFS, &args, 0, &statfs) < 0) {
		ho_check(false, "encode STATFS");
		return;
	}
	if (ho_session(&c) < 0) {
		rpc_wbuf_free(&statfs);
		return;
	}
	/* a brick that stops reading makes send time out: go on trying */
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	batch = malloc(64 * (16 * RPC_HEADER_LEN + statfs.len));
	for (int i = 0; batch && i < 64; i++) {
		for (int k = 0; k < 15; k++)
			len += ho_pack_frame(batch + len, &c, RPC_PROC_PING,
					     NULL, 0);
		len += ho_pack_frame(batch + len, &c, XL_FOP_STATFS,
				     statfs.data, statfs.len);
	}
	end = ho_now() + HO_FLOOD_SECS;
	while (batch && ho_now() < end) {
		size_t off = 0;

		while (off < len && ho_now() < end) {
			ssize_t n =
			    send(c.fd, batch + off, len - off, MSG_NOSIGNAL);

			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n < 0)
				break;
			off += (size_t)n;
			sent += (size_t)n;
		}
		now = ho_rss_kb();
		if (now > peak)
			peak = now;
	}
	usleep(500 * 1000);
	now = ho_rss_kb();
	if (now > peak)
		peak = now;
	ho_check(batch && peak - base <= ho_rss_max_kb,
		 "brick RSS under a flood of %zu unread bytes: %ld -> %ld KiB",
		 sent, base, peak);
	free(batch);
	rpc_wbuf_free(&statfs);
	ho_close(&c);
	ho_alive("flood");
}

/* ---- case: connections that never complete a handshake ------------ */

/* Seconds past the deadline a close may take: the brick sweeps every
 * quarter of it; the rest is slack for a loaded host. */
#define HO_SILENT_SLACK 3.0

/* Has the brick closed c (EOF or reset)?  Does not wait. */
static bool ho_gone(struct ho_conn *c)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	char b[64];
	ssize_t n;

	if (poll(&pfd, 1, 0) != 1)
		return false;
	n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

/* A PING on c answered?  false when it is closed (or silent). */
static bool ho_ping(struct ho_conn *c)
{
	uint64_t xid;
	int32_t ret = 0;

	return ho_send_frame(c, RPC_PROC_PING, NULL, 0, NULL, 0, &xid) == 0 &&
	       ho_wait(c, xid, &ret, NULL, NULL) == HO_R_REPLY;
}

/*
 * Three connections that never complete a handshake (one sends nothing,
 * one half a frame header, one only PINGs, which the brick answers) are
 * closed once the handshake deadline (-G) has passed, not before; a
 * handshaken connection is answered all along.
 */
static void ho_case_silent(void)
{
	static const char *const what[3] = {
	    "a connection that sends nothing",
	    "a connection that sent half a frame header",
	    "a connection that only pings"};
	struct ho_conn late[3], good;
	struct ho_hdr h;
	uint8_t hdr[RPC_HEADER_LEN];
	double t0, end, gone[3] = {-1, -1, -1};
	int served = 0, failed = 0, open = 3;

	if (ho_greet_secs <= 0) {
		printf("# skip: silent needs -G HANDSHAKE_TIMEOUT\n");
		return;
	}
	if (ho_session(&good) < 0)
		return;
	t0 = ho_now();
	for (int i = 0; i < 3; i++) {
		if (ho_connect(&late[i]) < 0) {
			ho_check(false, "connect %s", what[i]);
			gone[i] = 0;
			open--;
		}
	}
	h = ho_hdr_request(&late[1], RPC_PROC_HANDSHAKE, 64, 0);
	ho_hdr_pack(&h, hdr);
	if (late[1].fd >= 0)
		ho_send(&late[1], hdr, 10);
	end = t0 + ho_greet_secs + HO_SILENT_SLACK;
	while (open > 0 && ho_now() < end) {
		if (ho_ping(&good))
			served++;
		else
			failed++;
		for (int i = 0; i < 3; i++) {
			if (gone[i] >= 0)
				continue;
			/* the pinger's PINGs are answered until it goes */
			if ((i == 2 && !ho_ping(&late[i])) ||
			    (i != 2 && ho_gone(&late[i]))) {
				gone[i] = ho_now() - t0;
				open--;
			}
		}
		usleep(100 * 1000);
	}
	for (int i = 0; i < 3; i++) {
		ho_check(gone[i] >= ho_greet_secs - 0.05 &&
			     gone[i] <= ho_greet_secs + HO_SILENT_SLACK,
			 "%s is closed after the %.1f s handshake deadline: %s "
			 "%.2f s",
			 what[i], ho_greet_secs,
			 gone[i] < 0 ? "still open after" : "closed after",
			 gone[i] < 0 ? ho_now() - t0 : gone[i]);
		ho_close(&late[i]);
	}
	ho_check(served > 0 && failed == 0 && ho_ping(&good),
		 "a handshaken connection is served meanwhile: %d PINGs "
		 "answered, %d not",
		 served, failed);
	ho_close(&good);
	ho_alive("silent connections");
}

static const struct ho_case ho_cases[] = {
    {"framing", ho_case_framing, false},
    {"truncated", ho_case_truncated, false},
    {"garbage", ho_case_garbage, false},
    {"prehandshake", ho_case_prehandshake, false},
    {"unknown-proc", ho_case_unknown_proc, false},
    {"badnames", ho_case_badnames, false},
    {"bodies", ho_case_bodies, false},
    {"fuzz", ho_case_fuzz, false},
    {"symlink-escape", ho_case_symlink_escape, false},
    {"stale-fd", ho_case_stale_fd, false},
    {"flood", ho_case_flood, false},
    {"silent", ho_case_silent, false},
    {"live-fuzz", ho_case_live_fuzz, true},
};

#define HO_NCASES (sizeof(ho_cases) / sizeof(ho_cases[0]))

static void ho_usage(void)
{
	fprintf(stderr, "usage: hostile [-h HOST] -p PORT [-v VOLUME] "
			"[-t SECONDS] [-s SEED] [-n ROUNDS] [-e OUTSIDE_DIR] "
			"[-P BRICK_PID [-M RSS_KIB]] [-G SECONDS] "
			"[-T SECONDS] [CASE...]\n"
			"cases:");
	for (size_t i = 0; i < HO_NCASES; i++)
		fprintf(stderr, " %s", ho_cases[i].name);
	fprintf(stderr, "\n");
}

static int ho_run(int argc, char **argv)
{
	for (size_t i = 0; i < HO_NCASES; i++) {
		bool wanted = argc == 0 && !ho_cases[i].named_only;

		for (int k = 0; k < argc; k++)
			wanted |= !strcmp(argv[k], ho_cases[i].name);
		if (!wanted)
			continue;
		printf("# case %s\n", ho_cases[i].name);
		ho_cases[i].run();
	}
	for (int k = 0; k < argc; k++) {
		bool known = false;

		for (size_t i = 0; i < HO_NCASES; i++)
			known |= !strcmp(argv[k], ho_cases[i].name);
		if (!known) {
			fprintf(stderr, "hostile: unknown case %s\n", argv[k]);
			return 2;
		}
	}
	return ho_failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned int seed = (unsigned int)time(NULL);
	int rounds = 1, ret = 0;
	int opt;

	while ((opt = getopt(argc, argv, "h:p:v:t:s:n:e:P:M:G:T:")) != -1) {
		switch (opt) {
		case 'h':
			ho_host = optarg;
			break;
		case 'p':
			ho_port = optarg;
			break;
		case 'v':
			ho_volume = optarg;
			break;
		case 't':
			ho_timeout_ms = atoi(optarg) * 1000;
			break;
		case 's':
			seed = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			rounds = atoi(optarg);
			break;
		case 'e':
			ho_escape_dir = optarg;
			break;
		case 'P':
			ho_brick_pid = atoi(optarg);
			break;
		case 'M':
			ho_rss_max_kb = atol(optarg);
			break;
		case 'G':
			ho_greet_secs = atof(optarg);
			break;
		case 'T':
			ho_fuzz_secs = atof(optarg);
			break;
		default:
			ho_usage();
			return 2;
		}
	}
	if (!ho_port || ho_timeout_ms <= 0 || rounds <= 0) {
		ho_usage();
		return 2;
	}
	/* The seed is printed so a failing fuzz run can be replayed. */
	printf("# hostile: %s:%s volume %s seed %u\n", ho_host, ho_port,
	       ho_volume, seed);
	srandom(seed);
	signal(SIGPIPE, SIG_IGN);
	if (!ho_alive("start")) {
		fprintf(stderr, "hostile: brick at %s:%s does not answer\n",
			ho_host, ho_port);
		return 2;
	}
	for (int i = 0; i < rounds && ret != 2; i++)
		ret = ho_run(argc - optind, argv + optind);
	return ret;
}
