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

/* 2: min_children, max_children and unhandled before fops.
 * 3: upcall before fops.
 * 4: traits before fops. */
#define XL_API_VERSION 4
#define XL_DESC_SYMBOL "mortar_xlator"

enum xl_opt_type {
	XL_OPT_STR = 1,	 /* any string */
	XL_OPT_INT,	 /* decimal integer within min..max */
	XL_OPT_SIZE,	 /* integer with optional K/M/G/T suffix (1024-based) */
	XL_OPT_BOOL,	 /* on/off, yes/no, true/false, enable/disable, 1/0 */
	XL_OPT_ENUM,	 /* one of choices[] */
	XL_OPT_PATH,	 /* absolute path */
	XL_OPT_TIME,	 /* seconds, integer, within min..max */
	XL_OPT_ADDRLIST, /* comma list of IPv4/IPv6 addresses or patterns with
			  * *, or cn:NAME (a TLS certificate's name) */
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

/* xl_desc.traits. */
enum {
	/* Its answer about a directory merges several children's (one
	 * namespace over many bricks: distribute, unify), so one child's
	 * attributes of a directory are not the volume's.  A replicate's
	 * copies are one directory: it does not set this. */
	XL_TRAIT_MERGES_DIRS = 1u << 0,
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

/*
 * A cache notice travelling up a graph (features/upcall on the brick,
 * protocol/client and the caching translators on the client): something
 * about inode gfid changed, so whoever caches it must drop it.  what is a
 * mask of XL_UP_*; gen is the brick's per-inode generation after the
 * change (never smaller for a later change of the same inode on the same
 * brick).  For XL_UP_ENTRY, pargfid + name is the entry that changed
 * (name NULL: any entry of the directory pargfid).  XL_UP_FORGET_ALL
 * carries no gfid: the sender lost its brick (disconnect, reconnect), so
 * everything cached from it may be stale.  client_id is the brick's
 * number for the client to tell (protocol/server routes by it; 0 on the
 * client side).  Borrowed for the duration of the call.
 */
enum {
	XL_UP_ATTR = 1u << 0,	     /* iatt: mode, owner, size, times */
	XL_UP_XATTR = 1u << 1,	     /* extended attributes */
	XL_UP_ENTRY = 1u << 2,	     /* pargfid/name added or removed */
	XL_UP_DELETED = 1u << 3,     /* the inode itself is gone */
	XL_UP_FORGET_ALL = 1u << 4,  /* drop everything from the sender */
	XL_UP_KNOWN = (1u << 5) - 1, /* the bits this build knows */
};

struct xl_upcall {
	uint8_t gfid[16];
	uint32_t what;
	uint64_t gen;
	uint8_t pargfid[16];
	const char *name;
	uint64_t client_id;
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
	/* A cache notice from child `from` (see struct xl_upcall).  NULL
	 * means xl_upcall_default: pass it to every parent.  Runs on the
	 * sender's thread (an rpc event loop thread on the client, the
	 * thread answering a fop on the brick): must not block. */
	void (*upcall)(struct xl *xl, struct xl *from,
		       const struct xl_upcall *up);
	/* XL_TRAIT_* bits: what translators above may rely on. */
	uint32_t traits;

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
/* Send a cache notice from xl to its parents (the top: to the graph's
 * top_upcall). */
void xl_upcall_parents(struct xl *xl, const struct xl_upcall *up);
void xl_upcall_default(struct xl *xl, struct xl *from,
		       const struct xl_upcall *up);

/* Memory accounted to a translator (shown in the state dump).  A block
 * knows its owner: xl_free and xl_realloc need no more than the pointer
 * (NULL is fine for both).  xl_realloc keeps the owner. */
void *xl_malloc(struct xl *xl, size_t size);
void *xl_calloc(struct xl *xl, size_t n, size_t size);
void *xl_realloc(struct xl *xl, void *p, size_t size);
char *xl_strdup(struct xl *xl, const char *s);
void xl_free(struct xl *xl, void *p);

#endif
