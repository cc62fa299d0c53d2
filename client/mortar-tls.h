/*
 * mortar-tls.h - private to client/: the mount program's TLS options
 * (-o tls, tls-cert=, tls-key=, tls-ca=) turned into the volfile fetch's
 * TLS configuration and into options of the graph's protocol/clients.
 */
#ifndef MORTAR_CLIENT_TLS_H
#define MORTAR_CLIENT_TLS_H

#include "graph.h"
#include "mortar-opts.h"
#include "rpc.h"

/* The fetch's configuration: the -o paths, or the client defaults under
 * RPC_TLS_DIR.  0 with *out NULL when o->tls is off; -errno with *err (a
 * malloc'd message naming the file) when a file does not load. */
int mortar_tls_for_fetch(const struct mortar_opts *o, struct rpc_tls **out,
			 char **err);

/* With o->tls: every protocol/client volume of vf gets "tls on" and the
 * -o paths given, replacing the volfile's (the mount's identity is the
 * mount's, whatever volfile it fetched).  0 or -ENOMEM. */
int mortar_tls_apply(const struct mortar_opts *o, struct xl_volfile *vf);

#endif
