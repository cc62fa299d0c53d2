/*
 * proto-tls.c - the TLS options of protocol/client and protocol/server
 * (see proto-tls.h).
 */
#include "config.h"

#include "proto-tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int proto_tls_setup(struct xl *xl, const char *transport, bool server,
		    struct rpc_tls **out, char **err)
{
	struct rpc_tls_files f = {0};
	bool on = false;

	*out = NULL;
	xl_opt_bool(xl, "tls", &on);
	if (!on)
		return 0;
	if (strcmp(transport, "tcp") != 0) {
		*err = strdup("option tls on needs transport-type tcp");
		return -EINVAL;
	}
	xl_opt_str(xl, "tls-cert", &f.cert);
	xl_opt_str(xl, "tls-key", &f.key);
	xl_opt_str(xl, "tls-ca", &f.ca);
	return rpc_tls_new(&f, server, out, err);
}
