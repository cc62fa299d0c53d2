/*
 * transport.c - finds a transport's ops table by name.
 */
#include "config.h"

#include "transport.h"

#include <string.h>

const struct rpc_transport_ops *rpc_transport_find(const char *name)
{
	if (!name || !*name || strcmp(name, "tcp") == 0 ||
	    strcmp(name, "socket") == 0)
		return &rpc_tcp_ops;
#ifdef HAVE_RDMA
	if (strcmp(name, "rdma") == 0 || strcmp(name, "ib-verbs") == 0)
		return &rpc_rdma_ops;
#endif
	return NULL;
}
