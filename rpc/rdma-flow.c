/*
 * rdma-flow.c - credits, buffer pool and fragmentation for the RDMA
 * transport, with no verbs in sight (see rdma-flow.h).
 */
#include "config.h"

#include "rdma-flow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rpc_rdma_credits_init(struct rpc_rdma_credits *c, uint32_t max)
{
	c->max = max;
	c->avail = max;
	c->to_return = 0;
}

/* Data keeps one credit in reserve for credit updates: a side can reach
 * zero credits only by sending an update, which hands the peer credits,
 * so the two sides can never both wait with nothing left to send. */
bool rpc_rdma_credits_take_data(struct rpc_rdma_credits *c)
{
	if (c->avail < 2)
		return false;
	c->avail--;
	return true;
}

bool rpc_rdma_credits_need_update(const struct rpc_rdma_credits *c)
{
	return c->avail >= 1 && c->to_return > 0 && c->to_return >= c->max / 2;
}

bool rpc_rdma_credits_take(struct rpc_rdma_credits *c)
{
	if (!c->avail)
		return false;
	c->avail--;
	return true;
}

int rpc_rdma_credits_grant(struct rpc_rdma_credits *c, uint32_t n)
{
	if (n > c->max - c->avail)
		return -EPROTO; /* peer claims buffers it never had */
	c->avail += n;
	return 0;
}

void rpc_rdma_credits_reposted(struct rpc_rdma_credits *c)
{
	c->to_return++;
}

uint32_t rpc_rdma_credits_collect(struct rpc_rdma_credits *c)
{
	uint32_t n = c->to_return;

	c->to_return = 0;
	return n;
}

int rpc_rdma_pool_init(struct rpc_rdma_pool *p, uint32_t nslots,
		       size_t slot_size)
{
	memset(p, 0, sizeof(*p));
	if (!nslots || !slot_size || slot_size > SIZE_MAX / nslots)
		return -EINVAL;
	p->mem = aligned_alloc(4096, (nslots * slot_size + 4095) & ~4095ul);
	p->free_stack = calloc(nslots, sizeof(*p->free_stack));
	p->in_use = calloc(nslots, 1);
	if (!p->mem || !p->free_stack || !p->in_use) {
		rpc_rdma_pool_fini(p);
		return -ENOMEM;
	}
	p->slot_size = slot_size;
	p->nslots = nslots;
	for (uint32_t i = 0; i < nslots; i++)
		p->free_stack[i] = nslots - 1 - i;
	p->nfree = nslots;
	return 0;
}

void rpc_rdma_pool_fini(struct rpc_rdma_pool *p)
{
	free(p->mem);
	free(p->free_stack);
	free(p->in_use);
	memset(p, 0, sizeof(*p));
}

int rpc_rdma_pool_get(struct rpc_rdma_pool *p, uint32_t *idx)
{
	if (!p->nfree)
		return -ENOBUFS;
	*idx = p->free_stack[--p->nfree];
	p->in_use[*idx] = 1;
	return 0;
}

int rpc_rdma_pool_put(struct rpc_rdma_pool *p, uint32_t idx)
{
	if (idx >= p->nslots || !p->in_use[idx])
		return -EINVAL;
	p->in_use[idx] = 0;
	p->free_stack[p->nfree++] = idx;
	return 0;
}

void *rpc_rdma_pool_slot(struct rpc_rdma_pool *p, uint32_t idx)
{
	return idx < p->nslots ? p->mem + (size_t)idx * p->slot_size : NULL;
}

static void flow_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t flow_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

size_t rpc_rdma_frag_next(const uint8_t *frame, size_t total, size_t *off,
			  uint32_t credits, uint8_t *chunk, size_t slot_size)
{
	size_t n;

	if (*off >= total || slot_size <= RPC_RDMA_CHUNK_HDR)
		return 0;
	n = total - *off;
	if (n > slot_size - RPC_RDMA_CHUNK_HDR)
		n = slot_size - RPC_RDMA_CHUNK_HDR;
	flow_put32(chunk, (uint32_t)total);
	flow_put32(chunk + 4, (uint32_t)*off);
	flow_put32(chunk + 8, credits);
	memcpy(chunk + RPC_RDMA_CHUNK_HDR, frame + *off, n);
	*off += n;
	return n + RPC_RDMA_CHUNK_HDR;
}

size_t rpc_rdma_frag_credit_update(uint32_t credits, uint8_t *chunk)
{
	flow_put32(chunk, 0);
	flow_put32(chunk + 4, 0);
	flow_put32(chunk + 8, credits);
	return RPC_RDMA_CHUNK_HDR;
}

int rpc_rdma_reasm_add(struct rpc_rdma_reasm *r, const uint8_t *chunk,
		       size_t len, size_t max_total, uint32_t *credits)
{
	uint32_t total, off;
	size_t n;

	*credits = 0;
	if (len < RPC_RDMA_CHUNK_HDR)
		return -EBADMSG;
	total = flow_get32(chunk);
	off = flow_get32(chunk + 4);
	*credits = flow_get32(chunk + 8);
	n = len - RPC_RDMA_CHUNK_HDR;
	if (!total) /* a credit update carries no frame bytes */
		return n || off ? -EBADMSG : 0;
	if (total > max_total || off != r->got || n > total - off)
		return -EBADMSG;
	if (!n && off < total)
		return -EBADMSG; /* an empty chunk would never finish */
	if (!r->buf) {
		if (off)
			return -EBADMSG;
		r->buf = malloc(total);
		if (!r->buf)
			return -ENOMEM;
		r->total = total;
	} else if (r->total != total) {
		return -EBADMSG;
	}
	memcpy(r->buf + off, chunk + RPC_RDMA_CHUNK_HDR, n);
	r->got += n;
	return r->got == r->total ? 1 : 0;
}

uint8_t *rpc_rdma_reasm_take(struct rpc_rdma_reasm *r, size_t *len)
{
	uint8_t *buf = r->buf;

	*len = r->total;
	memset(r, 0, sizeof(*r));
	return buf;
}

void rpc_rdma_reasm_fini(struct rpc_rdma_reasm *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}
