/*
 * volfile-fetch.h - get a client volfile from a volfile server (the mount
 * program and the admin tools that talk to a volume).
 */
#ifndef MORTAR_RPC_VOLFILE_FETCH_H
#define MORTAR_RPC_VOLFILE_FETCH_H

#include <stddef.h>
#include <stdint.h>

/* Blocks up to timeout_sec.  On 0, *text is the NUL-terminated volfile
 * (malloc'd, *len bytes).  On -errno, *err is a malloc'd message naming
 * the server and the volume (-ENOENT: unknown volume). */
int rpc_volfile_fetch(const char *host, uint16_t port, const char *volume,
			 int timeout_sec, char **text, size_t *len, char **err);

#endif
