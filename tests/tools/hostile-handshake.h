/*
 * hostile-handshake.h - the handshake body protocol/client sends, copied
 * here because RPC_PROC_HANDSHAKE is private to protocol/client and
 * protocol/server (see server_handle_handshake): u32 protocol version,
 * str volume, str client identity, u32 flags.  The reply body starts with
 * u32 ret (0 or -errno).  If the protocol changes, change this file too.
 */
#ifndef MORTAR_HOSTILE_HANDSHAKE_H
#define MORTAR_HOSTILE_HANDSHAKE_H

#include "rpc.h"

#define HO_PROTO_VERSION 1

static inline void ho_handshake_body(struct rpc_wbuf *w, const char *volume)
{
	rpc_put_u32(w, HO_PROTO_VERSION);
	rpc_put_str(w, volume);
	rpc_put_str(w, "hostile-test-client");
	rpc_put_u32(w, 0); /* flags */
}

#endif
