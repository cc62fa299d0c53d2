/*
 * tls-off.c - stands in for tls.c in a build without OpenSSL: every TLS
 * configuration is refused with a message that says how to get TLS, so
 * "option tls on" fails when the graph is built, not on the wire.  No
 * session can exist, so the session calls are never reached.
 */
#include "config.h"

#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

bool rpc_tls_built(void)
{
	return false;
}

int rpc_tls_new(const struct rpc_tls_files *files, bool server,
		struct rpc_tls **out, char **err)
{
	*out = NULL;
	if (asprintf(err, "TLS: this build has no TLS (configure found no "
			  "OpenSSL 3: apt-get install libssl-dev)") < 0)
		*err = NULL;
	return -EPROTONOSUPPORT;
}

struct rpc_tls *rpc_tls_ref(struct rpc_tls *tls)
{
	return tls;
}

void rpc_tls_unref(struct rpc_tls *tls)
{
}

struct rpc_tls_conn *rpc_tls_conn_new(struct rpc_tls *tls, int fd, bool server)
{
	return NULL;
}

void rpc_tls_conn_free(struct rpc_tls_conn *s)
{
}

int rpc_tls_conn_handshake(struct rpc_tls_conn *s, const char *peer,
			   uint32_t *events)
{
	return -EPROTONOSUPPORT;
}

ssize_t rpc_tls_conn_send(struct rpc_tls_conn *s, const struct iovec *iov,
			  int iovcnt)
{
	errno = EPROTONOSUPPORT;
	return -1;
}

ssize_t rpc_tls_conn_recv(struct rpc_tls_conn *s, void *buf, size_t len)
{
	errno = EPROTONOSUPPORT;
	return -1;
}

uint32_t rpc_tls_conn_events(struct rpc_tls_conn *s)
{
	return 0;
}

void rpc_tls_conn_peer_cn(struct rpc_tls_conn *s, char *cn)
{
	cn[0] = '\0';
}
