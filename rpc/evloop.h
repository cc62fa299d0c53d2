/*
 * evloop.h - what the transports and the rpc client/server use of the event
 * loop (private to rpc/).
 *
 * A source is (fd, object, ops).  The loop hands each source to one thread
 * at a time: sources are armed EPOLLONESHOT and re-armed by their handler.
 * epoll carries a generation-tagged id, never a pointer, so an event that
 * arrives after rpc_ev_del finds a dead id and is dropped: the handler
 * never sees a freed object.  While a source is registered the loop holds
 * one reference on its object (ops->ref/unref), and one more around every
 * handler run.
 */
#ifndef MORTAR_RPC_EVLOOP_H
#define MORTAR_RPC_EVLOOP_H

#include "rpc.h"

#include <stdbool.h>
#include <stdint.h>

/* A synthetic event: rpc_ev_kick delivers it through the same path as a
 * real one, so it is serialized with the source's handler. */
#define RPC_EV_KICK (1u << 30)

/* With RPC_EV_KICK when the loop is being freed: close yourself. */
#define RPC_EV_SHUTDOWN (1u << 29)

struct rpc_ev_ops {
	void (*handle)(void *obj, uint32_t events);
	void (*ref)(void *obj);
	void (*unref)(void *obj);
};

/* Register fd (EPOLLONESHOT is added).  *id names it from now on. */
int rpc_ev_add(struct rpc_evloop *loop, int fd, uint32_t events,
	       const struct rpc_ev_ops *ops, void *obj, uint64_t *id);
/* Arm again after a handler run (or change the mask).  0 or -errno. */
int rpc_ev_rearm(struct rpc_evloop *loop, uint64_t id, int fd, uint32_t events);
/* Unregister; drops the loop's reference.  The caller closes fd after its
 * object's last unref, not before (a handler may still be using it). */
void rpc_ev_del(struct rpc_evloop *loop, uint64_t id, int fd);
/* Run the handler of id with events | RPC_EV_KICK on a loop thread soon
 * (in the caller's thread when the loop is not running). */
void rpc_ev_kick(struct rpc_evloop *loop, uint64_t id, uint32_t events);
/* Run fn(arg) once on a loop thread (in the caller when the loop is not
 * running).  0 or -ENOMEM. */
int rpc_evloop_run(struct rpc_evloop *loop, void (*fn)(void *), void *arg);
/* True on a thread of any event loop. */
bool rpc_evloop_in_loop(void);
/* Monotonic milliseconds. */
uint64_t rpc_now_ms(void);

#endif
