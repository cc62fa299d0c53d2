/*
 * tcp-flow.h - read flow control of the TCP transport (private to rpc/).
 *
 * A server connection stops reading while too many reply bytes wait for
 * its peer, or while its owner has too many of its requests in flight:
 * a peer that sends requests and never reads the answers must not grow
 * the brick's memory without bound.  Client connections always read:
 * replies are what frees their memory.
 */
#ifndef MORTAR_RPC_TCP_FLOW_H
#define MORTAR_RPC_TCP_FLOW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct rpc_tconn;

/* Requests of one peer in flight (read, not yet answered) above which the
 * server stops reading it; with 1 MiB writes it bounds a peer's request
 * memory to about 1 GiB.  Parked lock requests do not count (rpc_conn_park;
 * protocol/server bounds them on its own), so they never stall a
 * connection and its pings. */
#define RPC_SRV_INFLIGHT_MAX 1024

/* Queued output above which an accepted connection stops reading. */
#define RPC_TCP_QUEUE_PAUSE (8u << 20)

/* Also stop reading c while *count (kept by the owner) is at least max;
 * set once, before the first frame.  count must live as long as c. */
void rpc_tcp_rx_limit(struct rpc_tconn *c, atomic_uint *count,
		      unsigned int max);
/* The owner lowered *count: resume reading if it had stopped for it.
 * Any thread, no lock of the owner held (it may run c's handler). */
void rpc_tcp_rx_poke(struct rpc_tconn *c);

/* The most output bytes any connection had queued since the last reset,
 * for tests. */
size_t rpc_tcp_queued_peak(void);
void rpc_tcp_queued_peak_reset(void);

#endif
