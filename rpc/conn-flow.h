/*
 * conn-flow.h - the bounds of the read flow control (private to rpc/).
 *
 * A server connection stops reading while too many reply bytes wait for
 * its peer, or while its owner has too many of its requests in flight:
 * a peer that sends requests and never reads the answers must not grow
 * the brick's memory without bound.  Client connections always read:
 * replies are what frees their memory.  The connection core (conn.c)
 * does the counting; a transport whose reader honours it offers the
 * rx_limit op (tcp does; rdma bounds its peers with credits).
 */
#ifndef MORTAR_RPC_CONN_FLOW_H
#define MORTAR_RPC_CONN_FLOW_H

#include <stddef.h>

/* Requests of one peer in flight (read, not yet answered) above which the
 * server stops reading it; with 1 MiB writes it bounds a peer's request
 * memory to about 1 GiB.  Parked lock requests do not count (rpc_conn_park;
 * protocol/server bounds them on its own), so they never stall a
 * connection and its pings. */
#define RPC_SRV_INFLIGHT_MAX 1024

/* Queued output above which an accepted connection stops reading. */
#define RPC_TCONN_QUEUE_PAUSE (8u << 20)

/* The most output bytes any connection had queued since the last reset,
 * for tests. */
size_t rpc_tconn_queued_peak(void);
void rpc_tconn_queued_peak_reset(void);

#endif
