/*
 * arbiter.c - features/arbiter: the brick side of an arbiter brick.
 *
 * An arbiter is the last brick of a replica set made with
 * `mortar-volgen --replica 3 --arbiter 1`.  It holds every name, every
 * node's metadata (mode, owner, times, xattrs) and the replica changelog,
 * but no file data: it takes part in quorum and witnesses which data copy
 * is good, so any one brick of the set can die without an error and
 * without split-brain, for a third of the disk a third data copy costs.
 * cluster/replicate (option arbiter-count) never reads from it nor takes
 * it as a data-heal source; this translator makes sure the brick keeps no
 * data whatever it is sent:
 *
 *   write       answered as done (every byte) without writing; the
 *               reply's attributes come from the file as it is
 *   setattr     a size change is dropped, the rest is applied
 *   fallocate   answered 0 without allocating
 *   read, rchecksum, lseek
 *               EIO: there is no data here to read or compare
 *
 * Its files stay zero-length plain files, so mortar-recover and an admin
 * copying from bricks can tell an arbiter copy from a data copy.  It sits
 * above storage/posix in the arbiter brick's graph; every other fop
 * passes through.
 */
#include "config.h"

#include "buf.h"
#include "inode.h"
#include "log.h"
#include "xlator.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arbiter_priv {
	atomic_uint_fast64_t writes_dropped; /* writes answered without data */
	atomic_uint_fast64_t bytes_dropped;
	atomic_uint_fast64_t reads_refused;
};

static struct arbiter_priv *arbiter_priv(struct xl *xl)
{
	return xl->private;
}

/* The fstat a dropped write answers with, moved into the write's reply
 * with ret = the bytes the write carried. */
static void arbiter_write_cbk(struct xl_call *parent, struct xl_call *child,
			      void *cookie)
{
	int64_t written = (int64_t)(intptr_t)cookie;

	xl_reply_move(&parent->reply, &child->reply);
	if (parent->reply.ret >= 0)
		parent->reply.ret = (int)written;
	xl_unwind(parent);
}

static void arbiter_write(struct xl *xl, struct xl_call *call)
{
	struct arbiter_priv *priv = arbiter_priv(xl);
	size_t len = call->args.data ? call->args.data->size : 0;
	struct xl_call *child;

	if (!call->args.fd) {
		xl_unwind_error(call, -EBADF);
		return;
	}
	atomic_fetch_add(&priv->writes_dropped, 1);
	atomic_fetch_add(&priv->bytes_dropped, len);
	child = xl_call_child_fop(call, XL_FOP_STAT);
	if (!child) {
		xl_unwind_error(call, -ENOMEM);
		return;
	}
	child->args.fd = xl_fd_ref(call->args.fd);
	memcpy(child->args.loc.gfid, call->args.fd->gfid, XL_GFID_LEN);
	xl_call_send(child, xl->children[0], arbiter_write_cbk,
		     (void *)(intptr_t)len);
}

static void arbiter_setattr(struct xl *xl, struct xl_call *call)
{
	call->args.valid &= ~XL_SET_SIZE;
	xl_default_fop(xl, call);
}

static void arbiter_fallocate(struct xl *xl, struct xl_call *call)
{
	(void)xl;
	call->reply.ret = 0;
	xl_unwind(call);
}

static void arbiter_no_data(struct xl *xl, struct xl_call *call)
{
	atomic_fetch_add(&arbiter_priv(xl)->reads_refused, 1);
	xl_unwind_error(call, -EIO);
}

static int arbiter_init(struct xl *xl, char **err)
{
	struct arbiter_priv *priv;

	if (xl->child_count != 1) {
		if (asprintf(err, "features/arbiter needs exactly one child") <
		    0)
			*err = NULL;
		return -EINVAL;
	}
	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	xl->private = priv;
	xl_info(xl->name, "arbiter: names and metadata only, no file data");
	return 0;
}

static void arbiter_fini(struct xl *xl)
{
	free(xl->private);
	xl->private = NULL;
}

static void arbiter_dump(struct xl *xl, FILE *out)
{
	struct arbiter_priv *priv = arbiter_priv(xl);

	fprintf(out,
		"writes_dropped=%llu\nbytes_dropped=%llu\n"
		"reads_refused=%llu\n",
		(unsigned long long)atomic_load(&priv->writes_dropped),
		(unsigned long long)atomic_load(&priv->bytes_dropped),
		(unsigned long long)atomic_load(&priv->reads_refused));
}

static const struct xl_option_desc arbiter_options[] = {
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "features/arbiter",
    .description = "an arbiter brick: names, metadata and the changelog, "
		   "no file data",
    .init = arbiter_init,
    .fini = arbiter_fini,
    .dump = arbiter_dump,
    .options = arbiter_options,
    .min_children = 1,
    .max_children = 1,
    .fops =
	{
	    [XL_FOP_WRITE] = arbiter_write,
	    [XL_FOP_SETATTR] = arbiter_setattr,
	    [XL_FOP_FALLOCATE] = arbiter_fallocate,
	    [XL_FOP_READ] = arbiter_no_data,
	    [XL_FOP_RCHECKSUM] = arbiter_no_data,
	    [XL_FOP_LSEEK] = arbiter_no_data,
	},
};
