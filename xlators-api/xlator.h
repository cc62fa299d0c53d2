/*
 * xlator.h - what a translator is: its exported descriptor, its options
 * and its instance in a graph.
 *
 * A translator is a shared object exporting one symbol,
 *
 *     const struct xl_desc mortar_xlator = { .api_version = XL_API_VERSION,
 *         .size = sizeof(struct xl_desc), .type = "storage/posix", ... };
 *
 * The loader (graph.c) checks api_version and size.  The descriptor is only
 * ever appended to: a descriptor from an older build (smaller size) gets
 * zeros for the fields it does not have.  fops[] is indexed by enum xl_fop;
 * a NULL entry passes the fop through to the first child (xl_default_fop).
 */
#ifndef MORTAR_XLATOR_H
#define MORTAR_XLATOR_H

#include "call.h"
#include "fop.h"
#include <stdatomic.h>
#include <stdio.h>

/* 2: min_children, max_children and unhandled before fops. */
#define XL_API_VERSION 2
#define XL_DESC_SYMBOL "mortar_xlator"

enum xl_opt_type {
	XL_OPT_STR = 1,	 /* any string */
	XL_OPT_INT,	 /* decimal integer within min..max */
	XL_OPT_SIZE,	 /* integer with optional K/M/G/T suffix (1024-based) */
	XL_OPT_BOOL,	 /* on/off, yes/no, true/false, enable/disable, 1/0 */
	XL_OPT_ENUM,	 /* one of choices[] */
	XL_OPT_PATH,	 /* absolute path */
	XL_OPT_TIME,	 /* seconds, integer, within min..max */
	XL_OPT_ADDRLIST, /* comma list of IPv4/IPv6 addresses or patterns with *
			  */
	XL_OPT_PERCENT,	 /* 0..100 with optional '%' */
};

/* One option a translator takes.  The table ends with a zero entry.  This
 * table is the single source of validation, defaults and help text. */
struct xl_option_desc {
	const char *key;
	enum xl_opt_type type;
	const char
	    *default_value; /* NULL: no default (optional unless required) */
	int64_t min, max;   /* INT, SIZE, TIME; both 0 = unbounded */
	const char *const *choices; /* ENUM: NULL-terminated */
	const char *help;
	bool required;
};

enum xl_event {
	XL_EV_CHILD_UP = 1, /* a child can serve fops */
	XL_EV_CHILD_DOWN,   /* a child cannot serve fops now */
	XL_EV_PARENT_UP, /* the graph above is ready (sent top-down at start) */
};

/* What the runtime does with a fop a translator has no entry for. */
enum xl_unhandled {
	/* Pass it to the first child (xl_default_fop): right for a
	 * translator with one child that changes a few fops. */
	XL_UNHANDLED_PASS = 0,
	/* The graph does not build unless every fop has an entry: for a
	 * cluster translator, which must never send a fop it did not think
	 * about to its first child by accident. */
	XL_UNHANDLED_REFUSE,
};

struct xl;
struct xl_graph;

typedef void (*xl_fop_fn)(struct xl *xl, struct xl_call *call);

struct xl_desc {
	uint32_t api_version;
	uint32_t size;
	const char *type; /* "storage/posix" */
	const char *description;

	/* Set up xl->private from the options.  On failure return -errno and
	 * set *err to a malloc'd message (the caller logs it with the volfile
	 * line). */
	int (*init)(struct xl *xl, char **err);
	void (*fini)(struct xl *xl);
	/* An event from `from` (a child, or NULL for PARENT_UP).  NULL here
	 * means xl_notify_default: pass CHILD_UP/DOWN to every parent,
	 * PARENT_UP to every child. */
	int (*notify)(struct xl *xl, enum xl_event ev, struct xl *from);
	/* Write this translator's state for a state dump. */
	void (*dump)(struct xl *xl, FILE *out);

	const struct xl_option_desc *options;

	size_t local_size;		 /* per-call state, see call.h */
	void (*local_free)(void *local); /* release what local points to */

	/* Free a context this translator stored on an inode or fd, when the
	 * inode or fd is destroyed. */
	void (*inode_ctx_free)(struct xl *xl, void *ctx);
	void (*fd_ctx_free)(struct xl *xl, void *ctx);
	/* How many subvolumes it takes, checked at graph build with the
	 * volfile's line: min_children..max_children, max -1 for no upper
	 * bound.  Zero for both (unset) is a leaf. */
	int min_children;
	int max_children;
	enum xl_unhandled unhandled;

	xl_fop_fn fops[XL_FOP_COUNT]; /* last: grows as fops are appended */
};

/* Per-fop counters for the state dump. */
struct xl_fop_stats {
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t errors;
	atomic_uint_fast64_t total_usec;
	atomic_uint_fast64_t max_usec;
};

/* A parsed, validated option value. */
struct xl_option {
	char *key;
	char *value; /* as written (or the default) */
	int line;    /* volfile line; 0 for defaults */
};

/* A translator instance in a graph.  Fields are set at graph build and
 * read-only afterwards, except private (the translator's) and the
 * counters. */
struct xl {
	char *name;
	const struct xl_desc *desc; /* full-size copy, see graph.c */
	struct xl_graph *graph;
	int index; /* 0..graph->count-1: slot in inode/fd ctx arrays */
	int line;  /* volfile line of "volume NAME" */

	struct xl **children;
	int child_count;
	struct xl **parents;
	int parent_count;

	struct xl_option *options;
	int option_count;

	void *private;

	struct xl_fop_stats stats[XL_FOP_COUNT];
	atomic_int pending; /* calls handed to this xl and not yet unwound */
	atomic_int_fast64_t mem_bytes; /* xl_malloc accounting */
	atomic_int_fast64_t mem_allocs;
};

/* Typed option getters.  The value was validated at graph build, so these
 * only fail for a key the translator's table does not declare or that has
 * no value and no default (-ENOENT). */
int xl_opt_str(struct xl *xl, const char *key, const char **out);
int xl_opt_int(struct xl *xl, const char *key,
	       int64_t *out); /* INT SIZE TIME PERCENT */
int xl_opt_bool(struct xl *xl, const char *key, bool *out);

/* Validate one value against its descriptor; on failure *err gets a
 * malloc'd message.  Also used by tools that check volfiles. */
int xl_option_validate(const struct xl_option_desc *od, const char *value,
		       char **err);
const struct xl_option_desc *xl_option_find(const struct xl_option_desc *table,
					    const char *key);
/* Parse helpers shared by validation and getters. */
int xl_parse_size(const char *s, int64_t *out);
int xl_parse_bool(const char *s, bool *out);

/* Send ev from xl to its parents (CHILD_*) or children (PARENT_UP). */
int xl_notify(struct xl *xl, enum xl_event ev, struct xl *from);
int xl_notify_default(struct xl *xl, enum xl_event ev, struct xl *from);
void xl_notify_parents(struct xl *xl, enum xl_event ev);

/* Memory accounted to a translator (shown in the state dump).  A block
 * knows its owner: xl_free and xl_realloc need no more than the pointer
 * (NULL is fine for both).  xl_realloc keeps the owner. */
void *xl_malloc(struct xl *xl, size_t size);
void *xl_calloc(struct xl *xl, size_t n, size_t size);
void *xl_realloc(struct xl *xl, void *p, size_t size);
char *xl_strdup(struct xl *xl, const char *s);
void xl_free(struct xl *xl, void *p);

#endif
