/*
 * rdma-flow.h - the device-free bookkeeping of the RDMA transport (private
 * to rpc/): send credits, the fixed-slot buffer pool that rdma.c registers
 * with the device, and frame fragmentation into slot-sized chunks.  Kept
 * apart from verbs so unit tests run without an RDMA device.
 *
 * None of these is thread-safe: the owning connection's lock covers them.
 */
#ifndef MORTAR_RPC_RDMA_FLOW_H
#define MORTAR_RPC_RDMA_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Send credits: one per receive buffer the peer has posted for us. */
struct rpc_rdma_credits {
	uint32_t max;	    /* receive buffers the peer posted at most */
	uint32_t avail;	    /* sends we may still issue */
	uint32_t to_return; /* our buffers re-posted, not yet told */
};

void rpc_rdma_credits_init(struct rpc_rdma_credits *c, uint32_t max);
/* Take one credit to send; false when none is left (queue the send). */
bool rpc_rdma_credits_take(struct rpc_rdma_credits *c);
/* Take one credit for a data chunk; false when fewer than two are left
 * (the last one is kept for credit updates). */
bool rpc_rdma_credits_take_data(struct rpc_rdma_credits *c);
/* True when enough credits piled up that the peer may be waiting for
 * them and one credit is left to send the update with. */
bool rpc_rdma_credits_need_update(const struct rpc_rdma_credits *c);
/* The peer returned n credits.  0, or -EPROTO if that exceeds max. */
int rpc_rdma_credits_grant(struct rpc_rdma_credits *c, uint32_t n);
/* We re-posted a receive buffer: one more credit to piggyback. */
void rpc_rdma_credits_reposted(struct rpc_rdma_credits *c);
/* Credits to put in the next outgoing chunk header (and reset). */
uint32_t rpc_rdma_credits_collect(struct rpc_rdma_credits *c);

/* A pool of nslots buffers of slot_size bytes in one allocation. */
struct rpc_rdma_pool {
	uint8_t *mem;
	size_t slot_size;
	uint32_t nslots;
	uint32_t nfree;
	uint32_t *free_stack;
	uint8_t *in_use; /* per slot, catches double puts */
};

int rpc_rdma_pool_init(struct rpc_rdma_pool *p, uint32_t nslots,
		       size_t slot_size);
void rpc_rdma_pool_fini(struct rpc_rdma_pool *p);
/* 0 and *idx, or -ENOBUFS when every slot is in use. */
int rpc_rdma_pool_get(struct rpc_rdma_pool *p, uint32_t *idx);
/* 0, or -EINVAL for a bad index or a slot not in use. */
int rpc_rdma_pool_put(struct rpc_rdma_pool *p, uint32_t idx);
void *rpc_rdma_pool_slot(struct rpc_rdma_pool *p, uint32_t idx);

/*
 * Fragmentation.  A frame (header + body) larger than a slot travels as
 * several chunks, each starting with a 12-byte chunk header:
 *   u32 total frame length, u32 offset of this chunk, u32 credits returned
 * A chunk with total 0 and no payload is a pure credit update.
 */
#define RPC_RDMA_CHUNK_HDR 12

/* Fill chunk (slot_size bytes) with the next piece of frame[0..total) from
 * *off; advance *off.  Returns the chunk length, 0 when done. */
size_t rpc_rdma_frag_next(const uint8_t *frame, size_t total, size_t *off,
			  uint32_t credits, uint8_t *chunk, size_t slot_size);

/* Fill chunk with a pure credit update; returns its length. */
size_t rpc_rdma_frag_credit_update(uint32_t credits, uint8_t *chunk);

struct rpc_rdma_reasm {
	uint8_t *buf;
	size_t total;
	size_t got;
};

/* Add one received chunk.  1 when the frame is complete (buf holds total
 * bytes; take it with rpc_rdma_reasm_take), 0 when more is needed,
 * -EBADMSG on a chunk that does not fit (the connection must close).
 * *credits gets the credits the chunk returned. */
int rpc_rdma_reasm_add(struct rpc_rdma_reasm *r, const uint8_t *chunk,
		       size_t len, size_t max_total, uint32_t *credits);
/* The complete frame (malloc'd, caller frees); the reassembler resets. */
uint8_t *rpc_rdma_reasm_take(struct rpc_rdma_reasm *r, size_t *len);
void rpc_rdma_reasm_fini(struct rpc_rdma_reasm *r);

#endif
