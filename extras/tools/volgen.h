/*
 * volgen.h - the volume generator shared by mortar-volgen and mortarctl:
 * brick and option parsing, the checks that refuse a bad volume, and the
 * writing of a volume's client and brick volfiles (volgen.c).
 *
 * A caller fills a struct vg (name, type, bricks, options), then calls
 * vg_check_shape(), vg_check_duplicates(), vg_assign_ports() and
 * vg_generate(), and vg_free() at the end.  Every check and every write
 * failure ends the process with a message on stderr ("<vg_progname>:
 * ..."): both callers are one-shot commands, and vg_generate() checks
 * everything before it writes the first file, so a refused volume leaves
 * the output directory as it was.
 */
#ifndef MORTAR_VOLGEN_H
#define MORTAR_VOLGEN_H

#include <stdbool.h>
#include <stddef.h>

#define VG_DEFAULT_PORT 24010
#define VG_NAME_MAX	128 /* leaves room for "-replicate-<j>" suffixes */
#define VG_MAX_OPTS	16  /* generated options of one volume */

enum vg_type {
	VG_UNIFY,
	VG_DISTRIBUTE,
	VG_REPLICATE,
	VG_DIST_REPLICATE,
	VG_UNIFY_REPLICATE,
};

/* Indexed by enum vg_type, NULL-terminated. */
extern const char *const vg_type_names[];
extern const char *const vg_schedulers[];
extern const char *const vg_transports[];

/* What vg_fail() prefixes its messages with (default "mortar-volgen"). */
extern const char *vg_progname;

struct vg_brick {
	char *host; /* bare (no brackets) */
	int port;   /* 0 until assigned */
	char *dir;  /* absolute, normalized */
};

/* One --option TARGET:KEY=VALUE (pointers into the caller's string,
 * which vg_parse_passopt() splits in place). */
struct vg_passopt {
	char *target; /* a type (has a '/') or a generated volume name */
	char *key;
	char *value;
	bool used;
	bool in_client; /* set by vg_generate(): it went into NAME.vol */
	bool in_brick;	/* ... into a NAME-brick-<i>.vol */
};

struct vg_kv {
	char *key;
	char *value;
};

struct vg_volume {
	char *name;
	const char *type;
	struct vg_kv opts[VG_MAX_OPTS];
	int nopts;
	char **subvols; /* names, owned */
	int nsubvols;
};

/* One output file: a list of volumes, the last is the top. */
struct vg_file {
	char *filename; /* NAME.vol or NAME-brick-<i>.vol */
	char *comment;	/* first lines, already prefixed with '#' */
	struct vg_volume *vols;
	int nvols;
};

struct vg {
	const char *name;
	enum vg_type type;
	int replica; /* 0: not given */
	int arbiter; /* 0 or 1: the last brick of each set is an arbiter */
	const char *scheduler;
	const char *transport;
	bool tls;      /* --tls: tls on in every protocol/server and client */
	char *tls_dir; /* --tls-dir: absolute; the files' folder, or NULL
			* for the options' defaults; owned */
	const char *out_dir;
	char *volfile_dir; /* absolute: what the servers serve; owned */
	bool force;
	bool no_write_behind; /* leave performance/write-behind out */
	int md_cache; /* performance/md-cache: 1 in, 0 out, -1 the default */
	struct vg_brick *bricks; /* owned, with their strings */
	int nbricks;
	struct vg_passopt *passopts; /* owned array; strings borrowed */
	int npassopts;
	struct vg_file *files; /* [0] client, [1 + i] brick i */
	int nfiles;
};

void vg_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void *vg_alloc(size_t n);
char *vg_strdup(const char *s);
char *vg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Index of s in a NULL-terminated list, or -1. */
int vg_lookup(const char *const *list, const char *s);
/* s as an int in lo..hi, or -1. */
int vg_parse_int(const char *s, long lo, long hi);
/* A volume name: false with the reason in why. */
bool vg_name_ok(const char *n, char *why, size_t whylen);
/* "/a//b/" -> "/a/b" (new string); NULL for what a volfile cannot carry. */
char *vg_normalize_dir(const char *dir);
/* HOST:DIR, HOST:PORT:DIR, [V6]:DIR, [V6]:PORT:DIR into b (new strings). */
void vg_parse_brick(const char *arg, struct vg_brick *b);
/* XL:KEY=VALUE, split in place: arg must outlive po. */
void vg_parse_passopt(char *arg, struct vg_passopt *po);

bool vg_is_replicated(enum vg_type t);
bool vg_is_unify(enum vg_type t);

/* Brick count against --replica/--arbiter/--scheduler; fills in the
 * defaults (replica 1, or the brick count for replicate; scheduler rr). */
void vg_check_shape(struct vg *vg);
/* The same HOST:DIR, or HOST:PORT, twice. */
void vg_check_duplicates(const struct vg *vg);
/* Bricks without a port: the lowest free one from 24010 on their host. */
void vg_assign_ports(struct vg *vg);
/* Build the graphs, apply and check the options, write every volfile
 * into out_dir (bricks first, each through a temporary name). */
void vg_generate(struct vg *vg);
void vg_free(struct vg *vg);

#endif
