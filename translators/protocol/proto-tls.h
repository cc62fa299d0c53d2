/*
 * proto-tls.h - what protocol/client and protocol/server share of their
 * TLS options (tls, tls-cert, tls-key, tls-ca): the rpc TLS
 * configuration they stand for.  Built into both translators.
 */
#ifndef MORTAR_PROTO_TLS_H
#define MORTAR_PROTO_TLS_H

#include "rpc.h"
#include "xlator.h"

#include <stdbool.h>

/* With option tls on, the TLS configuration from tls-cert, tls-key and
 * tls-ca (server: this end accepts, and requires client certificates).
 * 0 (*out NULL when tls is off) or -errno with *err a malloc'd message. */
int proto_tls_setup(struct xl *xl, const char *transport, bool server,
		    struct rpc_tls **out, char **err);

#endif
