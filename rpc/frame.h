/*
 * frame.h - the 32-byte frame header (private to rpc/).  Layout in rpc.h.
 */
#ifndef MORTAR_RPC_FRAME_H
#define MORTAR_RPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct rpc_frame_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t body_len;
	uint32_t bulk_len;
	uint64_t xid;
	uint32_t proc;
	uint32_t reserved;
};

/* Fill out[RPC_HEADER_LEN] from h (magic and version are set here). */
void rpc_frame_encode(uint8_t *out, uint16_t type, uint32_t body_len,
		      uint32_t bulk_len, uint64_t xid, uint32_t proc);
/* Parse and validate in[RPC_HEADER_LEN]: magic, version, type, body and
 * bulk bounds.  0 or -EBADMSG. */
int rpc_frame_parse(const uint8_t *in, struct rpc_frame_hdr *h);

#endif
