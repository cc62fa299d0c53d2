/*
 * posix-fixture.h - a storage/posix graph on a temp brick for the unit
 * tests (test_posix_fops.c, test_posix_cluster.c): setup/teardown for
 * cmocka, root calls run synchronously (posix answers on the calling
 * thread), and helpers for the common fops.  Needs root; setup skips
 * otherwise.
 */
#ifndef MORTAR_TEST_POSIX_FIXTURE_H
#define MORTAR_TEST_POSIX_FIXTURE_H

#include "buf.h"
#include "graph.h"
#include "inode.h"
#include <stdbool.h>
#include <stddef.h>

struct fx {
	char tmp[64];
	char brick[128];
	char outside[128];
	struct xl_graph *g;
	struct xl *xl;
	struct xl_cred cred;
};

struct rec {
	struct xl_reply reply;
	bool done;
};

void rec_cbk(struct xl_call *parent, struct xl_call *child, void *cookie);
int build_graph(struct fx *f, const char *dir, char **err);
/* The same with more option lines ("  option k v\n" each). */
int build_graph_opts(struct fx *f, const char *dir, const char *options,
		     char **err);
int setup(void **state);
int teardown(void **state);
struct xl_call *mk(struct fx *f, enum xl_fop fop, struct rec *r);
int run(struct fx *f, struct xl_call *c, struct rec *r);
void set_entry(struct xl_loc *loc, const uint8_t *pargfid, const char *name,
	       const uint8_t *gfid);
int do_lookup(struct fx *f, const uint8_t *pargfid, const char *name,
	      const uint8_t *gfid, struct xl_iatt *out);
int do_make(struct fx *f, enum xl_fop fop, const uint8_t *pargfid,
	    const char *name, uint32_t mode, const char *target, uint8_t *gfid,
	    struct xl_iatt *out);
int do_create(struct fx *f, const uint8_t *pargfid, const char *name, int flags,
	      uint32_t mode, uint8_t *gfid, struct xl_fd **fdp);
int do_open(struct fx *f, enum xl_fop fop, const uint8_t *gfid, int flags,
	    struct xl_fd **fdp);
void do_release(struct fx *f, struct xl_fd *fd, enum xl_fop fop);
int do_entry_op(struct fx *f, enum xl_fop fop, const uint8_t *pargfid,
		const char *name, const uint8_t *p2, const char *n2, int flags);
void brick_path(struct fx *f, char *buf, size_t len, const char *rel);
void handle_of(struct fx *f, const uint8_t *gfid, char *buf, size_t len);
bool exists(const char *path);
int do_rw(struct fx *f, enum xl_fop fop, struct xl_fd *fd, int64_t off,
	  const char *data, size_t size, struct rec *r);
int do_xattr(struct fx *f, enum xl_fop fop, const uint8_t *gfid,
	     const char *name, const char *value, uint64_t size, int flags,
	     struct rec *r);

#endif
