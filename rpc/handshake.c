/*
 * handshake.c - the bodies of the handshake, the first call on every
 * connection (layout in rpc.h): protocol/client encodes the request and
 * decodes the answer, protocol/server the other way round.  One place
 * for both ends, so the fuzzers (extras/fuzz/) reach the decoder the
 * brick runs on bytes from anyone who can connect.
 */
#include "config.h"

#include "rpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rpc_encode_handshake(struct rpc_wbuf *w, uint32_t version,
			 const char *volume, const char *identity,
			 uint32_t flags)
{
	rpc_put_u32(w, version);
	rpc_put_str(w, volume);
	rpc_put_str(w, identity);
	rpc_put_u32(w, flags);
	return w->err;
}

int rpc_decode_handshake(struct rpc_rbuf *r, struct rpc_handshake *hs)
{
	int ret;

	memset(hs, 0, sizeof(*hs));
	hs->version = rpc_get_u32(r);
	ret = rpc_get_str(r, XL_NAME_MAX, &hs->volume);
	if (ret == 0)
		ret = rpc_get_str(r, RPC_HS_IDENTITY_MAX, &hs->identity);
	hs->flags = rpc_get_u32(r);
	if (ret == 0 && r->err)
		ret = -EBADMSG;
	if (ret != 0)
		rpc_handshake_clear(hs);
	return ret == -ENOMEM ? ret : ret ? -EBADMSG : 0;
}

void rpc_handshake_clear(struct rpc_handshake *hs)
{
	free(hs->volume);
	free(hs->identity);
	memset(hs, 0, sizeof(*hs));
}

int rpc_encode_handshake_reply(struct rpc_wbuf *w, int32_t status,
			       uint32_t caps)
{
	rpc_put_u32(w, (uint32_t)status);
	rpc_put_u32(w, caps);
	return w->err;
}

int rpc_decode_handshake_reply(struct rpc_rbuf *r, int32_t *status,
			       uint32_t *caps)
{
	*status = (int32_t)rpc_get_u32(r);
	*caps = rpc_get_u32(r);
	return r->err ? -EBADMSG : 0;
}
