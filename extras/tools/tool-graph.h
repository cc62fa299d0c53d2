/*
 * tool-graph.h - what the admin tools that talk to a live volume (heal,
 * rebalance, ...) share: open the volume's client graph without FUSE and
 * run fops through it one at a time, waiting for each answer.
 *
 * A tool is a client like a mount: it fetches the client volfile from a
 * volfile server (or reads a file), builds and inits the graph and waits
 * for the top translator to report CHILD_UP.  Calls are root calls
 * answered on an rpc thread; tool_call blocks the calling thread (a tool's
 * own worker thread, never an event loop thread) until the answer comes.
 * Several tool threads may call at once.
 */
#ifndef MORTAR_TOOL_GRAPH_H
#define MORTAR_TOOL_GRAPH_H

#include "call.h"
#include "graph.h"
#include "volfile-fetch.h"

struct tool_graph;

/*
 * Open a volume: either servers (volfile servers tried in order, as the
 * mount does; borrowed) and volume, or volfile (a client volfile path;
 * servers and volume NULL).  Waits up to timeout_sec for CHILD_UP (a
 * graph whose top never comes up is -ENOTCONN).  0 or -errno with *err a
 * malloc'd message.
 */
int tool_graph_open(const struct rpc_volfile_servers *servers,
		    const char *volume, const char *volfile, int timeout_sec,
		    struct tool_graph **out, char **err);

/*
 * A tool's --volfile-server LIST ("HOST[:PORT][,HOST[:PORT]...]", default
 * port 24010): appended to servers, so a repeated option adds to the
 * list.  0, or -errno with the reason printed on stderr after "prog: ".
 */
int tool_servers_add(struct rpc_volfile_servers *servers, const char *prog,
		     const char *list);
void tool_graph_close(struct tool_graph *tg);
struct xl_graph *tool_graph_get(struct tool_graph *tg);

/*
 * Run fop on translator `to` (NULL: the top) with a copy of args (the
 * caller keeps its own) as root (uid 0) and wait for the answer, moved
 * into *reply (the caller clears it with xl_reply_clear).  Returns
 * reply->ret.
 */
int tool_call(struct tool_graph *tg, struct xl *to, enum xl_fop fop,
	      const struct xl_args *args, struct xl_reply *reply);

/* Fill loc for (parent gfid, name) or, with name NULL, for gfid alone. */
int tool_loc_set(struct xl_loc *loc, const uint8_t *pargfid, const char *name,
		 const uint8_t *gfid);

#endif
