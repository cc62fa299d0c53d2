/*
 * fuzz-frame.c - the frame header and every fop's call and reply body,
 * as a brick and a client decode them from the network (rpc/frame.c,
 * rpc/codec.c), and the invalidation notice.
 *
 * Input: byte 0 picks what to decode (the fop, call or reply, or the
 * notice), byte 1 how many of the last bytes are the bulk part; the rest
 * is the frame's header (first RPC_HEADER_LEN bytes, parsed on their
 * own) and body.  A body that decodes must encode again, and that
 * encoding must decode to the same encoding: what the decoder accepts,
 * the encoder can say.
 */
#include "config.h"

#include "frame.h"
#include "rpc.h"
#include "xlator.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* encode(decoded) twice over must give the same bytes. */
static void fuzz_call_roundtrip(enum xl_fop fop, const struct xl_cred *cred,
				const struct xl_args *args, uint64_t rfd)
{
	struct rpc_wbuf w1, w2;
	struct xl_iobuf *b1 = NULL, *b2 = NULL;
	struct xl_cred cred2;
	struct xl_args args2;
	struct rpc_rbuf r;
	uint64_t rfd2;

	rpc_wbuf_init(&w1);
	rpc_wbuf_init(&w2);
	if (rpc_encode_call(&w1, fop, cred, args, rfd, &b1) != 0)
		abort(); /* a decoded call must encode */
	rpc_rbuf_init(&r, w1.data, w1.len);
	if (rpc_decode_call(&r, fop, &cred2, &args2, &rfd2, b1) != 0)
		abort(); /* and decode again */
	if (rpc_encode_call(&w2, fop, &cred2, &args2, rfd2, &b2) != 0 ||
	    w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0 ||
	    (b1 && b2 &&
	     (b1->size != b2->size ||
	      memcmp(b1->data, b2->data, b1->size) != 0)))
		abort(); /* to the same bytes */
	xl_args_clear(&args2);
	if (b1)
		xl_iobuf_unref(b1);
	if (b2)
		xl_iobuf_unref(b2);
	rpc_wbuf_free(&w1);
	rpc_wbuf_free(&w2);
}

static void fuzz_reply_roundtrip(enum xl_fop fop, const struct xl_reply *rep,
				 uint64_t rfd)
{
	struct rpc_wbuf w1, w2;
	struct xl_iobuf *b1 = NULL, *b2 = NULL;
	struct xl_reply rep2;
	struct rpc_rbuf r;
	uint64_t rfd2;

	rpc_wbuf_init(&w1);
	rpc_wbuf_init(&w2);
	if (rpc_encode_reply(&w1, fop, rep, rfd, &b1) != 0)
		abort();
	rpc_rbuf_init(&r, w1.data, w1.len);
	memset(&rep2, 0, sizeof(rep2));
	if (rpc_decode_reply(&r, fop, &rep2, &rfd2, b1) != 0)
		abort();
	if (rpc_encode_reply(&w2, fop, &rep2, rfd2, &b2) != 0 ||
	    w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0)
		abort();
	xl_reply_clear(&rep2);
	if (b1)
		xl_iobuf_unref(b1);
	if (b2)
		xl_iobuf_unref(b2);
	rpc_wbuf_free(&w1);
	rpc_wbuf_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xl_iobuf *bulk = NULL;
	struct rpc_frame_hdr h;
	struct rpc_rbuf r;
	size_t nbulk;
	unsigned sel;

	if (size < 2)
		return 0;
	sel = data[0];
	nbulk = data[1];
	data += 2;
	size -= 2;
	if (size >= RPC_HEADER_LEN) {
		(void)rpc_frame_parse(data, &h);
		data += RPC_HEADER_LEN;
		size -= RPC_HEADER_LEN;
	}
	if (nbulk > size)
		nbulk = size;
	if (nbulk) {
		bulk = xl_iobuf_from(data + size - nbulk, nbulk);
		if (!bulk)
			return 0;
		size -= nbulk;
	}
	rpc_rbuf_init(&r, data, size);
	if (sel == 0xff) {
		struct xl_upcall up;
		char *name = NULL;

		if (rpc_decode_notice_inval(&r, &up, &name) == 0)
			free(name);
	} else if ((sel & 0x7f) < XL_FOP_COUNT && !(sel & 0x80)) {
		enum xl_fop fop = (enum xl_fop)(sel & 0x7f);
		struct xl_cred cred;
		struct xl_args args;
		uint64_t rfd;

		if (rpc_decode_call(&r, fop, &cred, &args, &rfd, bulk) == 0) {
			fuzz_call_roundtrip(fop, &cred, &args, rfd);
			xl_args_clear(&args);
		}
	} else if ((sel & 0x7f) < XL_FOP_COUNT) {
		enum xl_fop fop = (enum xl_fop)(sel & 0x7f);
		struct xl_reply rep;
		uint64_t rfd;

		memset(&rep, 0, sizeof(rep));
		if (rpc_decode_reply(&r, fop, &rep, &rfd, bulk) == 0) {
			fuzz_reply_roundtrip(fop, &rep, rfd);
			xl_reply_clear(&rep);
		}
	}
	if (bulk)
		xl_iobuf_unref(bulk);
	return 0;
}
