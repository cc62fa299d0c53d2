/*
 * test_rpc_rdma_flow.c - the device-free parts of the RDMA transport:
 * credits, the buffer pool, fragmentation, and the clear error when there
 * is no device.  None of them needs a device or kernel RDMA support.
 *
 * The verbs data path (connect, send/recv, RDMA read/write of bulk data)
 * is not tested here: its tests come with the software verbs provider
 * (DESIGN.md, rpc/), which lets them run end to end on machines without
 * an RDMA device, as integration tests over real bricks and mounts.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rdma-flow.h"
#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_credits(void **state)
{
	struct rpc_rdma_credits c;

	rpc_rdma_credits_init(&c, 4);
	for (int i = 0; i < 4; i++)
		assert_true(rpc_rdma_credits_take(&c));
	assert_false(rpc_rdma_credits_take(&c)); /* must queue now */
	assert_int_equal(rpc_rdma_credits_grant(&c, 2), 0);
	assert_true(rpc_rdma_credits_take(&c));
	assert_true(rpc_rdma_credits_take(&c));
	assert_false(rpc_rdma_credits_take(&c));
	assert_int_equal(rpc_rdma_credits_grant(&c, 5), -EPROTO);
	assert_int_equal(rpc_rdma_credits_grant(&c, 4), 0);
	assert_int_equal(rpc_rdma_credits_grant(&c, 1), -EPROTO);
	rpc_rdma_credits_reposted(&c);
	rpc_rdma_credits_reposted(&c);
	assert_int_equal(rpc_rdma_credits_collect(&c), 2);
	assert_int_equal(rpc_rdma_credits_collect(&c), 0);

	/* data keeps the last credit for credit updates */
	rpc_rdma_credits_init(&c, 4);
	assert_true(rpc_rdma_credits_take_data(&c));
	assert_true(rpc_rdma_credits_take_data(&c));
	assert_true(rpc_rdma_credits_take_data(&c));
	assert_false(rpc_rdma_credits_take_data(&c));
	assert_false(rpc_rdma_credits_need_update(&c)); /* nothing owed */
	rpc_rdma_credits_reposted(&c);
	assert_false(rpc_rdma_credits_need_update(&c)); /* below max/2 */
	rpc_rdma_credits_reposted(&c);
	assert_true(rpc_rdma_credits_need_update(&c));
	assert_true(rpc_rdma_credits_take(&c));
	assert_false(rpc_rdma_credits_need_update(&c)); /* no credit left */
}

static void test_pool(void **state)
{
	struct rpc_rdma_pool p;
	uint32_t idx[8], extra;

	assert_int_equal(rpc_rdma_pool_init(&p, 8, 4096), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(rpc_rdma_pool_get(&p, &idx[i]), 0);
		memset(rpc_rdma_pool_slot(&p, idx[i]), i, 4096);
	}
	assert_int_equal(rpc_rdma_pool_get(&p, &extra), -ENOBUFS);
	assert_int_equal(rpc_rdma_pool_put(&p, idx[3]), 0);
	assert_int_equal(rpc_rdma_pool_put(&p, idx[3]), -EINVAL);
	assert_int_equal(rpc_rdma_pool_put(&p, 99), -EINVAL);
	assert_int_equal(rpc_rdma_pool_get(&p, &extra), 0);
	assert_int_equal(extra, idx[3]);
	assert_null(rpc_rdma_pool_slot(&p, 8));
	rpc_rdma_pool_fini(&p);
	assert_int_equal(rpc_rdma_pool_init(&p, 0, 4096), -EINVAL);
}

static void test_fragments(void **state)
{
	size_t total = 100000, off = 0, n, len;
	uint8_t *frame = malloc(total), chunk[1024], *out;
	struct rpc_rdma_reasm r = {0};
	uint32_t credits;
	int ret = 0, chunks = 0;

	for (size_t i = 0; i < total; i++)
		frame[i] = (uint8_t)(i * 7);
	while ((n = rpc_rdma_frag_next(frame, total, &off, 3, chunk,
				       sizeof(chunk)))) {
		ret = rpc_rdma_reasm_add(&r, chunk, n, total, &credits);
		assert_true(ret >= 0);
		assert_int_equal(credits, 3);
		chunks++;
	}
	assert_int_equal(ret, 1);
	assert_int_equal(chunks, (total + 1011) / 1012);
	out = rpc_rdma_reasm_take(&r, &len);
	assert_int_equal(len, total);
	assert_memory_equal(out, frame, total);
	free(out);

	/* out of order, oversized and short chunks are refused */
	off = 0;
	n = rpc_rdma_frag_next(frame, total, &off, 0, chunk, sizeof(chunk));
	n = rpc_rdma_frag_next(frame, total, &off, 0, chunk, sizeof(chunk));
	assert_int_equal(rpc_rdma_reasm_add(&r, chunk, n, total, &credits),
			 -EBADMSG);
	off = 0;
	n = rpc_rdma_frag_next(frame, total, &off, 0, chunk, sizeof(chunk));
	assert_int_equal(rpc_rdma_reasm_add(&r, chunk, n, total - 1, &credits),
			 -EBADMSG);
	assert_int_equal(rpc_rdma_reasm_add(&r, chunk, 5, total, &credits),
			 -EBADMSG);
	rpc_rdma_reasm_fini(&r);

	/* a credit update: total 0, no payload */
	assert_int_equal(rpc_rdma_frag_credit_update(9, chunk),
			 RPC_RDMA_CHUNK_HDR);
	assert_int_equal(
	    rpc_rdma_reasm_add(&r, chunk, RPC_RDMA_CHUNK_HDR, total, &credits),
	    0);
	assert_int_equal(credits, 9);
	assert_null(r.buf);
	assert_int_equal(rpc_rdma_reasm_add(&r, chunk, RPC_RDMA_CHUNK_HDR + 1,
					    total, &credits),
			 -EBADMSG);
	free(frame);
}

/* Without a device, rdma must fail clearly, never pretend to work. */
static void test_no_device_errors(void **state)
{
	struct rpc_evloop *loop = rpc_evloop_new(1);
	struct rpc_clnt_opts opts = {.transport = "rdma", .no_reconnect = true};
	struct rpc_srv_cbs cbs = {0};
	struct rpc_clnt *clnt;
	struct rpc_srv *srv;
	char *err = NULL;

	assert_non_null(loop);
	assert_int_equal(rpc_evloop_start(loop), 0);
	srv = rpc_srv_new(loop, "127.0.0.1", 0, "rdma", NULL, &cbs, NULL, &err);
	if (srv) {
		/* a device exists: this test is about the no-device path */
		rpc_srv_destroy(srv);
		rpc_evloop_free(loop);
		skip();
		return;
	}
	assert_non_null(err);
#ifdef HAVE_RDMA
	assert_non_null(strstr(err, "no RDMA device"));
#endif
	free(err);
	clnt = rpc_clnt_new(loop, "127.0.0.1", 1, &opts, NULL, NULL);
#ifdef HAVE_RDMA
	assert_non_null(clnt);
	assert_int_equal(rpc_clnt_start(clnt), -ENODEV);
	assert_false(rpc_clnt_connected(clnt));
	rpc_clnt_destroy(clnt);
#else
	assert_null(clnt); /* transport not built */
#endif
	rpc_evloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_credits),
	    cmocka_unit_test(test_pool),
	    cmocka_unit_test(test_fragments),
	    cmocka_unit_test(test_no_device_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
