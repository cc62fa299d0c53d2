/*
 * volfile-fetch.h - get a client volfile from a list of volfile servers
 * (the mount program and the admin tools that talk to a volume).
 *
 * Any brick of a volume made by mortar-volgen serves the volume's client
 * volfile, so a list names several bricks: the first one that answers
 * with the volfile wins, the others are only tried when the ones before
 * them failed.
 */
#ifndef MORTAR_RPC_VOLFILE_FETCH_H
#define MORTAR_RPC_VOLFILE_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct rpc_tls;

/* Default bound of one attempt (connect + answer), in seconds: short, so
 * a stopped or unreachable server does not stall the ones after it. */
#define RPC_VOLFILE_TIMEOUT_SEC 5
/* Longest list taken; more is surely a mistake in a script. */
#define RPC_VOLFILE_SERVERS_MAX 64

struct rpc_volfile_server {
	char *host; /* malloc'd; an IPv6 address without its brackets */
	uint16_t port;
};

/* The servers to try, in order.  Zero-initialise before the first add. */
struct rpc_volfile_servers {
	struct rpc_volfile_server *servers; /* malloc'd array */
	int count;
};

/* "host", "host:port", "[v6addr]:port" or a bare IPv6 address -> host
 * (malloc'd) and port (default_port when absent).  0, -EINVAL or
 * -ENOMEM. */
int rpc_volfile_server_parse(const char *s, uint16_t default_port, char **host,
			     uint16_t *port);

/* Append the servers of a comma list ("h1:p1,h2,[::1]:p3") to list, in
 * order.  0, or -EINVAL / -ENOMEM with *err a malloc'd message (list is
 * unchanged then). */
int rpc_volfile_servers_add(struct rpc_volfile_servers *list,
			    const char *comma_list, uint16_t default_port,
			    char **err);
/* Append every server of src to dst.  0 or -ENOMEM / -EINVAL (too many). */
int rpc_volfile_servers_append(struct rpc_volfile_servers *dst,
			       const struct rpc_volfile_servers *src);
void rpc_volfile_servers_free(struct rpc_volfile_servers *list);

/*
 * Ask the servers of list in order, each for at most timeout_sec, until
 * one answers with the volfile; over TLS when tls is set (a server whose
 * protocol/server has tls on answers nothing else).  On 0: *text is the
 * NUL-terminated volfile (malloc'd, *len bytes), *served_by the index of the
 * server that answered, and *err NULL or a malloc'd note of the servers that
 * failed before it (for the caller to log as a warning).  When all fail: the
 * last server's -errno (-ENOENT: it does not know the volume, -ETIMEDOUT: no
 * answer in time, or the connection's error), and *err a malloc'd message
 * naming every server tried and why it failed.
 */
int rpc_volfile_fetch_any(const struct rpc_volfile_servers *list,
			  const char *volume, struct rpc_tls *tls,
			  int timeout_sec, char **text, size_t *len,
			  int *served_by, char **err);

/*
 * Ask one server only the version of volume's client volfile (number and
 * hash, as xl_volfile_version_of computes them from the text), for at
 * most timeout_sec: a mounted client does this every few seconds to learn
 * of a new volfile (over TLS when tls is set).  0, or -errno: -ENOSYS from a
 * brick that predates the question (fetch the text then), or as
 * rpc_volfile_fetch_any.
 */
int rpc_volfile_version_fetch(const struct rpc_volfile_server *server,
			      const char *volume, struct rpc_tls *tls,
			      int timeout_sec, uint64_t *number,
			      uint64_t *hash);

#endif
