/*
 * frame.c - encodes and validates the 32-byte frame header.  A header that
 * fails here closes its connection: nothing after it can be trusted.
 */
#include "config.h"

#include "frame.h"
#include "rpc.h"

#include <errno.h>
#include <string.h>

static void frame_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t frame_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void rpc_frame_encode(uint8_t *out, uint16_t type, uint32_t body_len,
		      uint32_t bulk_len, uint64_t xid, uint32_t proc)
{
	frame_put(out + 0, RPC_MAGIC, 4);
	frame_put(out + 4, RPC_VERSION, 2);
	frame_put(out + 6, type, 2);
	frame_put(out + 8, body_len, 4);
	frame_put(out + 12, bulk_len, 4);
	frame_put(out + 16, xid, 8);
	frame_put(out + 24, proc, 4);
	frame_put(out + 28, 0, 4);
}

int rpc_frame_parse(const uint8_t *in, struct rpc_frame_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = (uint32_t)frame_get(in + 0, 4);
	h->version = (uint16_t)frame_get(in + 4, 2);
	h->type = (uint16_t)frame_get(in + 6, 2);
	h->body_len = (uint32_t)frame_get(in + 8, 4);
	h->bulk_len = (uint32_t)frame_get(in + 12, 4);
	h->xid = frame_get(in + 16, 8);
	h->proc = (uint32_t)frame_get(in + 24, 4);
	h->reserved = (uint32_t)frame_get(in + 28, 4);
	if (h->magic != RPC_MAGIC || h->version != RPC_VERSION)
		return -EBADMSG;
	if (h->type != RPC_T_REQUEST && h->type != RPC_T_REPLY &&
	    h->type != RPC_T_NOTICE)
		return -EBADMSG;
	if (h->body_len > RPC_BODY_MAX || h->bulk_len > RPC_BULK_MAX)
		return -EBADMSG;
	return 0;
}
