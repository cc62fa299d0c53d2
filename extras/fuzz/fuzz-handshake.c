/*
 * fuzz-handshake.c - the handshake, the first thing a brick decodes from
 * anyone who connects (rpc/handshake.c), and the answer a client decodes.
 * A request that decodes encodes again to the bytes it was decoded from
 * (every field is used, none normalised); the volume name it names must
 * be a valid name.
 */
#include "config.h"

#include "rpc.h"
#include "xlator.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_handshake hs;
	struct rpc_rbuf r;
	struct rpc_wbuf w;
	uint32_t caps;
	int32_t status;

	rpc_rbuf_init(&r, data, size);
	if (rpc_decode_handshake(&r, &hs) == 0) {
		if (hs.volume && strlen(hs.volume) > XL_NAME_MAX)
			abort();
		rpc_wbuf_init(&w);
		if (rpc_encode_handshake(&w, hs.version, hs.volume, hs.identity,
					 hs.flags) != 0 ||
		    w.len > size || memcmp(w.data, data, w.len) != 0)
			abort();
		rpc_wbuf_free(&w);
		rpc_handshake_clear(&hs);
	}
	rpc_rbuf_init(&r, data, size);
	(void)rpc_decode_handshake_reply(&r, &status, &caps);
	return 0;
}
