/*
 * trace.c - debug/trace: log one INFO line per fop when it is wound and one
 * when it is unwound (with its latency), then pass it through unchanged.
 *
 * Which fields are printed comes from xl_fop_info[] (fop.c), the same table
 * the wire codec uses, so a new fop is traced without touching this file.
 * Lines are only formatted when INFO is enabled.  An internal call (a lock
 * or xattrop a translator makes for a fop) shows the request id of that
 * fop and internal=<its fop>.
 */
#include "config.h"

#include "buf.h"
#include "inode.h"
#include "log.h"
#include "xlator.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct trace_priv {
	bool log_wind;
	bool log_unwind;
};

/* A log line being built; silently truncated when full. */
struct trace_line {
	char text[2048];
	size_t len;
};

__attribute__((format(printf, 2, 3))) static void
trace_add(struct trace_line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->text) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n;
	if (l->len >= sizeof(l->text))
		l->len = sizeof(l->text) - 1;
}

static void trace_gfid(struct trace_line *l, const char *key,
		       const uint8_t *gfid)
{
	char s[XL_GFID_STR_LEN];

	trace_add(l, " %s=%s", key, xl_gfid_to_str(gfid, s));
}

static void trace_loc(struct trace_line *l, const struct xl_loc *loc,
		      const char *suffix)
{
	char key[16];

	snprintf(key, sizeof(key), "gfid%s", suffix);
	trace_gfid(l, key, loc->gfid);
	if (!xl_gfid_is_null(loc->pargfid)) {
		snprintf(key, sizeof(key), "pargfid%s", suffix);
		trace_gfid(l, key, loc->pargfid);
	}
	if (loc->name)
		trace_add(l, " name%s=%s", suffix, loc->name);
}

static void trace_lock(struct trace_line *l, const struct xl_flock *lk)
{
	const char *type = lk->type == F_RDLCK	 ? "rd"
			   : lk->type == F_WRLCK ? "wr"
			   : lk->type == F_UNLCK ? "un"
						 : "?";

	trace_add(l,
		  " lock=%s:start=%" PRId64 ":len=%" PRId64 ":pid=%" PRIu32
		  ":owner=%" PRIx64,
		  type, lk->start, lk->len, lk->pid, lk->owner);
}

static void trace_args(struct trace_line *l, const struct xl_call *call)
{
	const struct xl_args *a = &call->args;
	uint32_t f = xl_fop_info[call->fop].args;

	if (f & XL_A_LOC)
		trace_loc(l, &a->loc, "");
	if (f & XL_A_LOC2)
		trace_loc(l, &a->loc2, "2");
	if ((f & (XL_A_FD | XL_A_FD_OPT)) && a->fd)
		trace_gfid(l, "fd", a->fd->gfid);
	if (f & XL_A_FLAGS)
		trace_add(l, " flags=0%o", (unsigned)a->flags);
	if (f & XL_A_MODE)
		trace_add(l, " mode=0%o", a->mode);
	if (f & XL_A_UMASK)
		trace_add(l, " umask=0%o", a->umask);
	if (f & XL_A_RDEV)
		trace_add(l, " rdev=%" PRIu64, a->rdev);
	if (f & XL_A_OFFSET)
		trace_add(l, " offset=%" PRId64, a->offset);
	if (f & XL_A_SIZE)
		trace_add(l, " size=%" PRIu64, a->size);
	if ((f & XL_A_DATA) && a->data)
		trace_add(l, " size=%zu", a->data->size);
	if (f & XL_A_CMD)
		trace_add(l, " cmd=%d", a->cmd);
	if (f & XL_A_ATTR)
		trace_add(l, " valid=0x%x", a->valid);
	if (f & XL_A_LOCK)
		trace_lock(l, &a->lock);
	if ((f & XL_A_XNAME) && a->xname)
		trace_add(l, " xname=%s", a->xname);
}

static void trace_reply(struct trace_line *l, enum xl_fop fop,
			const struct xl_reply *r)
{
	uint32_t f = xl_fop_info[fop].reply;

	if (r->ret < 0)
		return;
	if (f & XL_R_ATTR) {
		trace_gfid(l, "gfid", r->attr.gfid);
		trace_add(l, " size=%" PRIu64 " mode=0%o", r->attr.size,
			  r->attr.mode);
	}
	if ((f & XL_R_DATA) && r->data)
		trace_add(l, " data=%zu", r->data->size);
	if (f & XL_R_ENTRIES)
		trace_add(l, " entries=%" PRIu32, r->entry_count);
	if (f & XL_R_STATFS)
		trace_add(l, " blocks=%" PRIu64 " bfree=%" PRIu64,
			  r->statfs.blocks, r->statfs.bfree);
	if (f & XL_R_LOCK)
		trace_lock(l, &r->lock);
	if (f & XL_R_OFFSET)
		trace_add(l, " offset=%" PRId64, r->offset);
}

static uint64_t trace_usec_since(const struct timespec *t0)
{
	struct timespec now;
	int64_t us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(now.tv_sec - t0->tv_sec) * 1000000 +
	     (now.tv_nsec - t0->tv_nsec) / 1000;
	return us > 0 ? (uint64_t)us : 0;
}

/* An internal call shares the request id of the call it was made for:
 * say so, and for which fop (a lock taken for a write). */
static void trace_origin(struct trace_line *l, const struct xl_call *call)
{
	if (!call->internal)
		return;
	trace_add(l, " internal=%s",
		  call->origin_fop < XL_FOP_COUNT
		      ? xl_fop_name(call->origin_fop)
		      : "background");
}

static void trace_cbk(struct xl_call *parent, struct xl_call *child,
		      void *cookie)
{
	struct xl *xl = parent->xl;
	struct trace_priv *priv = xl->private;
	struct trace_line l = {.len = 0};
	int ret = child->reply.ret;

	(void)cookie;
	if (priv->log_unwind && XL_LOG_ON(XL_LOG_INFO)) {
		trace_add(&l, "fop=%s unique=%" PRIu64,
			  xl_fop_name(parent->fop), parent->unique);
		trace_origin(&l, parent);
		if (ret < 0) {
			const char *name = strerrorname_np(-ret);

			if (name)
				trace_add(&l, " ret=-%s", name);
			else
				trace_add(&l, " ret=%d", ret);
		} else {
			trace_add(&l, " ret=%d", ret);
		}
		trace_add(&l, " latency=%" PRIu64 "us",
			  trace_usec_since(&parent->started));
		trace_reply(&l, parent->fop, &child->reply);
		xl_info(xl->name, "%s", l.text);
	}
	xl_default_cbk(parent, child, cookie);
}

/* Every fop: log it, wind it to the first child. */
static void trace_fop(struct xl *xl, struct xl_call *call)
{
	struct trace_priv *priv = xl->private;
	struct trace_line l = {.len = 0};

	if (priv->log_wind && XL_LOG_ON(XL_LOG_INFO)) {
		trace_add(&l, "fop=%s unique=%" PRIu64, xl_fop_name(call->fop),
			  call->unique);
		trace_origin(&l, call);
		if ((unsigned)call->fop < XL_FOP_COUNT)
			trace_args(&l, call);
		xl_info(xl->name, "%s", l.text);
	}
	xl_wind(call, xl->children[0], trace_cbk, NULL);
}

static int trace_init(struct xl *xl, char **err)
{
	struct trace_priv *priv;
	int ret;

	if (xl->child_count < 1) {
		*err = strdup("debug/trace needs a subvolume");
		return -EINVAL;
	}
	priv = xl_calloc(xl, 1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	ret = xl_opt_bool(xl, "log-wind", &priv->log_wind);
	if (ret == 0)
		ret = xl_opt_bool(xl, "log-unwind", &priv->log_unwind);
	if (ret < 0) {
		xl_free(xl, priv);
		return ret;
	}
	xl->private = priv;
	return 0;
}

static void trace_fini(struct xl *xl)
{
	xl_free(xl, xl->private);
	xl->private = NULL;
}

static void trace_dump(struct xl *xl, FILE *out)
{
	struct trace_priv *priv = xl->private;

	if (priv)
		fprintf(out, "trace: log-wind=%d log-unwind=%d\n",
			priv->log_wind, priv->log_unwind);
}

static const struct xl_option_desc trace_options[] = {
    {
	.key = "log-wind",
	.type = XL_OPT_BOOL,
	.default_value = "on",
	.help = "log each fop with its arguments when it goes down",
    },
    {
	.key = "log-unwind",
	.type = XL_OPT_BOOL,
	.default_value = "on",
	.help = "log each reply with its result and latency",
    },
    {0},
};

const struct xl_desc mortar_xlator = {
    .api_version = XL_API_VERSION,
    .size = sizeof(struct xl_desc),
    .type = "debug/trace",
    .description = "logs every fop and its reply (debugging)",
    .init = trace_init,
    .fini = trace_fini,
    .dump = trace_dump,
    .options = trace_options,
    .min_children = 1,
    .max_children = 1,
    .fops =
	{
	    [0 ... XL_FOP_COUNT - 1] = trace_fop,
	},
};
