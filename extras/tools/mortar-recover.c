/*
 * mortar-recover.c - rebuild a volume's tree from its brick directories,
 * with every daemon stopped.
 *
 *   mortar-recover [--dry-run] [--brick CLIENT=DIR]... VOLFILE TARGET
 *
 * VOLFILE is the volume's client volfile (NAME.vol from mortar-volgen):
 * it says which protocol/client volumes are replicas of each other
 * (cluster/replicate) and which are merged (cluster/distribute,
 * cluster/unify).  Each protocol/client volume's brick directory comes
 * from --brick, or else from the server volfiles next to VOLFILE (the
 * storage/posix below the volume its remote-subvolume names).
 *
 * How each name is decided (doc/cluster.md, "What is stored on bricks"):
 *   - distribute/unify: directories are merged; a regular file is taken
 *     from the subvolume that holds its data: a linkto file (mode 01000,
 *     size 0, trusted.mortar.dht.linkto) is skipped and its data read on
 *     the subvolume it names;
 *   - replicate: a copy is good for data (metadata, entries) when no other
 *     copy blames it in its trusted.mortar.afr.<subvolume> counters (an
 *     arbiter brick, option arbiter-count, is never a file's data copy:
 *     when only it is good, the file is listed as split-brain); the
 *     names of a directory come from its good copies for entries; when
 *     every copy is blamed (copies blaming each other) the file is in
 *     split-brain: it is listed on stdout, not copied, and the exit status
 *     is 2;
 *   - the brick's .mortar/ directory is never read.
 * Copied: data (holes stay holes), mode, owner, times, symlinks, device
 * nodes and fifos, user.* xattrs, and hard links (names sharing a gfid
 * become links).
 *
 * The tree is walked once, depth first; each name is resolved from the
 * top of the graph down to the brick copies.  Exit: 0 all recovered,
 * 2 split-brain files listed, 1 an error (message on stderr).
 */
#include "config.h"

#include "graph.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define RC_AFR_PREFIX "trusted.mortar.afr."
#define RC_LINKTO_KEY "trusted.mortar.dht.linkto"
#define RC_GFID_KEY   "trusted.mortar.gfid"
#define RC_HIDDEN     ".mortar"

enum rc_node_kind {
	RC_LEAF,  /* protocol/client: one brick directory */
	RC_REPL,  /* cluster/replicate */
	RC_MERGE, /* cluster/distribute, cluster/unify */
	RC_PASS,  /* anything else with one subvolume */
};

struct rc_node {
	char *name;
	enum rc_node_kind kind;
	struct rc_node **kids;
	int nkids;
	char *brick; /* RC_LEAF: the brick directory */
	int arbiter; /* RC_REPL: the kid that holds no file data, or -1 */
};

enum rc_obj_kind {
	RC_NONE,
	RC_FILE, /* anything but a directory */
	RC_DIR,
	RC_LINKTO,
	RC_SPLIT,
};

/* What one name resolves to at one node.  Paths are owned. */
struct rc_obj {
	enum rc_obj_kind kind;
	char *data_src;	  /* the copy whose type, data and times we take */
	char *meta_src;	  /* the copy whose mode, owner and xattrs we take */
	const char *from; /* leaf name of data_src (borrowed) */
	char *linkto;	  /* RC_LINKTO: the subvolume holding the data */
	char *why;	  /* RC_SPLIT: which copies blame which */
	char *meta_split; /* RC_DIR: metadata split-brain (why), or NULL */
	struct stat st;	  /* of data_src */
	struct stat mst;  /* of meta_src */
};

/* A file already recovered, by gfid: later names become hard links. */
struct rc_link {
	uint8_t gfid[16];
	char *target;
};

struct rc {
	bool dry_run;
	const char *volfile;
	const char *target;
	struct xl_volfile *vf;
	struct rc_node *top;
	struct rc_link *links;
	size_t nlinks, links_cap;
	char **brick_args; /* --brick CLIENT=DIR */
	int nbrick_args;
	long files, dirs, splits, errors;
};

static void rc_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void rc_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("mortar-recover: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A problem with one name: reported, counted, the walk goes on. */
static void rc_error(struct rc *rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void rc_error(struct rc *rc, const char *fmt, ...)
{
	va_list ap;

	fputs("mortar-recover: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	rc->errors++;
}

static char *rc_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *rc_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		rc_fail("no memory");
	return s;
}

static char *rc_strdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		rc_fail("no memory");
	return p;
}

static void *rc_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		rc_fail("no memory");
	return p;
}

/* ---- the graph ------------------------------------------------------------
 */

static const struct xl_volspec *rc_find_vol(const struct xl_volfile *vf,
					    const char *name)
{
	for (int i = 0; i < vf->volume_count; i++)
		if (strcmp(vf->volumes[i].name, name) == 0)
			return &vf->volumes[i];
	return NULL;
}

static const char *rc_opt(const struct xl_volspec *v, const char *key)
{
	for (int i = 0; i < v->option_count; i++)
		if (strcmp(v->options[i].key, key) == 0)
			return v->options[i].value;
	return NULL;
}

/* The storage/posix directory below volume `name` of a server volfile. */
static const char *rc_posix_dir(const struct xl_volfile *vf, const char *name)
{
	const struct xl_volspec *v = rc_find_vol(vf, name);

	for (int depth = 0; v && depth < 64; depth++) {
		if (strcmp(v->type, "storage/posix") == 0)
			return rc_opt(v, "directory");
		if (v->subvolume_count != 1)
			return NULL;
		v = rc_find_vol(vf, v->subvolumes[0]);
	}
	return NULL;
}

/* The brick of a protocol/client volume: --brick, or the server volfiles
 * in the client volfile's directory.  Malloc'd. */
static char *rc_brick_dir(struct rc *rc, const struct xl_volspec *v)
{
	size_t nl = strlen(v->name);
	const char *remote = rc_opt(v, "remote-subvolume");
	char *dir, *slash, *found = NULL;
	DIR *d;
	struct dirent *de;

	for (int i = 0; i < rc->nbrick_args; i++)
		if (strncmp(rc->brick_args[i], v->name, nl) == 0 &&
		    rc->brick_args[i][nl] == '=')
			return rc_strdup(rc->brick_args[i] + nl + 1);
	if (!remote)
		rc_fail("%s: volume %s has no remote-subvolume; give --brick "
			"%s=DIR",
			rc->volfile, v->name, v->name);
	dir = rc_strdup(rc->volfile);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	d = opendir(dir);
	if (!d)
		rc_fail("%s: %s", dir, strerror(errno));
	while (!found && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct xl_volfile *svf = NULL;
		char *path, *err = NULL;
		const char *posix;

		if (len < 5 || strcmp(de->d_name + len - 4, ".vol") != 0)
			continue;
		path = rc_printf("%s/%s", dir, de->d_name);
		if (xl_volfile_read(path, &svf, &err) == 0) {
			posix = rc_posix_dir(svf, remote);
			if (posix)
				found = rc_strdup(posix);
			xl_volfile_free(svf);
		}
		free(err);
		free(path);
	}
	closedir(d);
	if (!found)
		rc_fail("no server volfile in %s exports %s (the brick of "
			"%s); give --brick %s=DIR",
			dir, remote, v->name, v->name);
	free(dir);
	return found;
}

static struct rc_node *rc_build(struct rc *rc, const char *name, int depth)
{
	const struct xl_volspec *v = rc_find_vol(rc->vf, name);
	struct rc_node *n;

	if (!v)
		rc_fail("%s: no volume %s", rc->volfile, name);
	if (depth > 64)
		rc_fail("%s: the graph is too deep (a cycle?)", rc->volfile);
	n = rc_calloc(1, sizeof(*n));
	n->name = rc_strdup(v->name);
	if (strcmp(v->type, "protocol/client") == 0) {
		struct stat st;

		n->kind = RC_LEAF;
		n->brick = rc_brick_dir(rc, v);
		if (stat(n->brick, &st) != 0 || !S_ISDIR(st.st_mode))
			rc_fail("brick of %s: %s is not a directory", n->name,
				n->brick);
		return n;
	}
	n->arbiter = -1;
	if (strcmp(v->type, "cluster/replicate") == 0) {
		const char *ac = rc_opt(v, "arbiter-count");

		n->kind = RC_REPL;
		/* mortar-volgen --arbiter 1: the last brick of the set */
		if (ac && strcmp(ac, "0") != 0)
			n->arbiter = v->subvolume_count - 1;
	} else if (strcmp(v->type, "cluster/distribute") == 0 ||
		   strcmp(v->type, "cluster/unify") == 0)
		n->kind = RC_MERGE;
	else if (v->subvolume_count == 1)
		n->kind = RC_PASS;
	else
		rc_fail("%s: volume %s: cannot recover through %s with %d "
			"subvolumes",
			rc->volfile, v->name, v->type, v->subvolume_count);
	if (v->subvolume_count < 1)
		rc_fail("%s: volume %s has no subvolumes", rc->volfile,
			v->name);
	n->nkids = v->subvolume_count;
	n->kids = rc_calloc((size_t)n->nkids, sizeof(*n->kids));
	for (int i = 0; i < n->nkids; i++)
		n->kids[i] = rc_build(rc, v->subvolumes[i], depth + 1);
	return n;
}

static void rc_node_free(struct rc_node *n)
{
	for (int i = 0; i < n->nkids; i++)
		rc_node_free(n->kids[i]);
	free(n->kids);
	free(n->brick);
	free(n->name);
	free(n);
}

/* ---- resolving a name -----------------------------------------------------
 */

static void rc_obj_clear(struct rc_obj *o)
{
	free(o->data_src);
	free(o->meta_src);
	free(o->linkto);
	free(o->why);
	free(o->meta_split);
	memset(o, 0, sizeof(*o));
}

static void rc_obj_move(struct rc_obj *dst, struct rc_obj *src)
{
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

/* rel is "" for the root or "/a/b". */
static void rc_resolve(struct rc_node *n, const char *rel, struct rc_obj *o);

static void rc_resolve_leaf(struct rc_node *n, const char *rel,
			    struct rc_obj *o)
{
	char *path = rc_printf("%s%s", n->brick, rel);
	char buf[256];
	ssize_t len;

	memset(o, 0, sizeof(*o));
	if (lstat(path, &o->st) != 0) {
		free(path);
		return;
	}
	o->mst = o->st;
	o->from = n->name;
	o->data_src = path;
	o->meta_src = rc_strdup(path);
	o->kind = S_ISDIR(o->st.st_mode) ? RC_DIR : RC_FILE;
	if (S_ISREG(o->st.st_mode) && (o->st.st_mode & 07777) == 01000 &&
	    o->st.st_size == 0) {
		len = lgetxattr(path, RC_LINKTO_KEY, buf, sizeof(buf) - 1);
		if (len > 0) {
			buf[len] = '\0';
			o->kind = RC_LINKTO;
			o->linkto = rc_strdup(buf); /* stops at the NUL */
		}
	}
}

/* The pending counters copy `on` keeps against sibling `sib`: 0 data,
 * 1 metadata, 2 entry.  3 x int64 big-endian (what replicate writes);
 * 3 x int32 (12 bytes) is read too.  Absent = zeros. */
static void rc_pending(const char *on, const char *sib, int64_t out[3])
{
	char key[XL_NAME_MAX + sizeof(RC_AFR_PREFIX)];
	uint8_t raw[64];
	ssize_t len;

	memset(out, 0, 3 * sizeof(out[0]));
	snprintf(key, sizeof(key), RC_AFR_PREFIX "%s", sib);
	len = lgetxattr(on, key, raw, sizeof(raw));
	for (int i = 0; i < 3; i++) {
		if (len >= 24) {
			uint64_t be;

			memcpy(&be, raw + 8 * i, 8);
			out[i] = (int64_t)be64toh(be);
		} else if (len == 12) {
			uint32_t be;

			memcpy(&be, raw + 4 * i, 4);
			out[i] = (int32_t)be32toh(be);
		}
	}
}

/*
 * Among the existing copies objs[i] (kids of replicate node n), mark in
 * good[] those no other copy blames for counter `which`.  Returns how
 * many are good; appends who-blames-whom to *why.
 */
static int rc_good_copies(struct rc_node *n, struct rc_obj *objs, int which,
			  bool *good, char **why)
{
	int count = 0;

	for (int i = 0; i < n->nkids; i++)
		good[i] = objs[i].kind != RC_NONE && objs[i].kind != RC_SPLIT;
	for (int a = 0; a < n->nkids; a++) {
		if (objs[a].kind == RC_NONE || objs[a].kind == RC_SPLIT)
			continue;
		for (int b = 0; b < n->nkids; b++) {
			int64_t p[3];

			if (a == b || objs[b].kind == RC_NONE)
				continue;
			rc_pending(objs[a].meta_src, n->kids[b]->name, p);
			if (p[which] == 0)
				continue;
			good[b] = false;
			if (why) {
				char *w = rc_printf(
				    "%s%s%s blames %s", *why ? *why : "",
				    *why ? ", " : "", n->kids[a]->name,
				    n->kids[b]->name);

				free(*why);
				*why = w;
			}
		}
	}
	for (int i = 0; i < n->nkids; i++)
		count += good[i];
	return count;
}

static void rc_resolve_repl(struct rc_node *n, const char *rel,
			    struct rc_obj *o)
{
	struct rc_obj *objs = rc_calloc((size_t)n->nkids, sizeof(*objs));
	bool *dgood = rc_calloc((size_t)n->nkids, sizeof(bool));
	bool *mgood = rc_calloc((size_t)n->nkids, sizeof(bool));
	int exist = 0, d = -1, m = -1, first = -1;
	char *why = NULL;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < n->nkids; i++) {
		rc_resolve(n->kids[i], rel, &objs[i]);
		if (objs[i].kind == RC_SPLIT && o->kind != RC_SPLIT)
			rc_obj_move(o, &objs[i]);
		exist += objs[i].kind != RC_NONE;
	}
	if (o->kind == RC_SPLIT || exist == 0)
		goto out;
	rc_good_copies(n, objs, 1, mgood, NULL);
	rc_good_copies(n, objs, 0, dgood, NULL);
	for (int i = 0; i < n->nkids; i++) {
		if (m < 0 && mgood[i])
			m = i;
		/* an arbiter's files are empty: never their data */
		if (d < 0 && dgood[i] &&
		    (i != n->arbiter || objs[i].kind == RC_DIR))
			d = i;
		if (first < 0 && objs[i].kind != RC_NONE)
			first = i;
	}
	if (objs[m >= 0 ? m : first].kind == RC_DIR) {
		/* A directory's data is its entries: they decide its
		 * listing (rc_list).  Its metadata in split-brain is
		 * reported, but its contents are still recovered. */
		d = m >= 0 ? m : first;
		if (m < 0) {
			rc_good_copies(n, objs, 1, mgood, &why);
			m = d;
		}
	} else if (d < 0 || m < 0) {
		rc_good_copies(n, objs, d < 0 ? 0 : 1, dgood, &why);
		if (d < 0 && !why)
			why = rc_printf("only the arbiter %s is good for data",
					n->kids[n->arbiter]->name);
		o->kind = RC_SPLIT;
		o->why = why;
		why = NULL;
		goto out;
	}
	rc_obj_move(o, &objs[d]);
	o->meta_split = why; /* NULL unless set just above */
	why = NULL;
	if (m != d) {
		free(o->meta_src);
		o->meta_src = objs[m].meta_src;
		objs[m].meta_src = NULL;
		o->mst = objs[m].mst;
	}
out:
	for (int i = 0; i < n->nkids; i++)
		rc_obj_clear(&objs[i]);
	free(objs);
	free(dgood);
	free(mgood);
	free(why);
}

static int rc_kid_index(const struct rc_node *n, const char *name)
{
	for (int i = 0; i < n->nkids; i++)
		if (strcmp(n->kids[i]->name, name) == 0)
			return i;
	return -1;
}

/* distribute/unify: directories on every subvolume, a file's data on the
 * one its linkto file names (or the only one that has it). */
static void rc_resolve_merge(struct rc_node *n, const char *rel,
			     struct rc_obj *o)
{
	struct rc_obj *objs = rc_calloc((size_t)n->nkids, sizeof(*objs));
	int dir = -1, file = -1, nfiles = 0, pointed = -1;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < n->nkids; i++) {
		rc_resolve(n->kids[i], rel, &objs[i]);
		switch (objs[i].kind) {
		case RC_SPLIT:
			if (o->kind != RC_SPLIT)
				rc_obj_move(o, &objs[i]);
			break;
		case RC_DIR:
			if (dir < 0)
				dir = i;
			break;
		case RC_FILE:
			if (file < 0)
				file = i;
			nfiles++;
			break;
		case RC_LINKTO:
			if (pointed < 0)
				pointed = rc_kid_index(n, objs[i].linkto);
			break;
		case RC_NONE:
			break;
		}
	}
	if (o->kind == RC_SPLIT)
		goto out;
	if (dir >= 0) {
		rc_obj_move(o, &objs[dir]);
	} else if (pointed >= 0 && objs[pointed].kind == RC_FILE) {
		rc_obj_move(o, &objs[pointed]);
	} else if (file >= 0) {
		if (nfiles > 1)
			fprintf(stderr,
				"mortar-recover: warning: %s is a file on %d "
				"subvolumes of %s: taking %s\n",
				rel, nfiles, n->name, n->kids[file]->name);
		rc_obj_move(o, &objs[file]);
	} else if (pointed >= 0 || nfiles == 0) {
		for (int i = 0; i < n->nkids; i++)
			if (objs[i].kind == RC_LINKTO)
				fprintf(stderr,
					"mortar-recover: warning: %s: linkto "
					"file on %s points to %s, which has "
					"no data: skipped\n",
					rel, n->kids[i]->name, objs[i].linkto);
	}
out:
	for (int i = 0; i < n->nkids; i++)
		rc_obj_clear(&objs[i]);
	free(objs);
}

static void rc_resolve(struct rc_node *n, const char *rel, struct rc_obj *o)
{
	switch (n->kind) {
	case RC_LEAF:
		rc_resolve_leaf(n, rel, o);
		return;
	case RC_REPL:
		rc_resolve_repl(n, rel, o);
		return;
	case RC_MERGE:
		rc_resolve_merge(n, rel, o);
		return;
	case RC_PASS:
		rc_resolve(n->kids[0], rel, o);
		return;
	}
}

/* ---- listing a directory --------------------------------------------------
 */

struct rc_names {
	char **v;
	size_t n, cap;
};

static void rc_names_add(struct rc_names *l, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			rc_fail("no memory");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = rc_strdup(name);
}

static int rc_names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates (the same directory on several bricks). */
static void rc_names_unique(struct rc_names *l)
{
	size_t out = 0;

	if (l->n == 0)
		return; /* an empty directory: no array at all */
	qsort(l->v, l->n, sizeof(*l->v), rc_names_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if (out > 0 && strcmp(l->v[out - 1], l->v[i]) == 0) {
			free(l->v[i]);
			continue;
		}
		l->v[out++] = l->v[i];
	}
	l->n = out;
}

static void rc_names_free(struct rc_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void rc_list(struct rc *rc, struct rc_node *n, const char *rel,
		    struct rc_names *out);

static void rc_list_leaf(struct rc *rc, struct rc_node *n, const char *rel,
			 struct rc_names *out)
{
	char *path = rc_printf("%s%s", n->brick, rel);
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc_error(rc, "%s: %s", path, strerror(errno));
		free(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		/* The brick's own metadata (gfid handles, indices). */
		if (!*rel && strcmp(de->d_name, RC_HIDDEN) == 0)
			continue;
		rc_names_add(out, de->d_name);
	}
	closedir(d);
	free(path);
}

/* A replicated directory's names are those of its copies that no other
 * copy blames for entries (a blamed copy missed creates or deletes). */
static void rc_list_repl(struct rc *rc, struct rc_node *n, const char *rel,
			 struct rc_names *out)
{
	struct rc_obj *objs = rc_calloc((size_t)n->nkids, sizeof(*objs));
	bool *good = rc_calloc((size_t)n->nkids, sizeof(bool));
	char *why = NULL;
	int ngood;

	for (int i = 0; i < n->nkids; i++) {
		rc_resolve(n->kids[i], rel, &objs[i]);
		if (objs[i].kind != RC_DIR)
			rc_obj_clear(&objs[i]);
	}
	ngood = rc_good_copies(n, objs, 2, good, NULL);
	if (ngood == 0) {
		rc_good_copies(n, objs, 2, good, &why);
		if (why) {
			printf("split-brain (entries, names merged): %s/ "
			       "(%s)\n",
			       rel, why);
			rc->splits++;
		}
		for (int i = 0; i < n->nkids; i++)
			good[i] = objs[i].kind == RC_DIR;
	}
	for (int i = 0; i < n->nkids; i++)
		if (good[i])
			rc_list(rc, n->kids[i], rel, out);
	for (int i = 0; i < n->nkids; i++)
		rc_obj_clear(&objs[i]);
	free(objs);
	free(good);
	free(why);
}

static void rc_list(struct rc *rc, struct rc_node *n, const char *rel,
		    struct rc_names *out)
{
	switch (n->kind) {
	case RC_LEAF:
		rc_list_leaf(rc, n, rel, out);
		return;
	case RC_REPL:
		rc_list_repl(rc, n, rel, out);
		return;
	case RC_MERGE:
		for (int i = 0; i < n->nkids; i++)
			rc_list(rc, n->kids[i], rel, out);
		return;
	case RC_PASS:
		rc_list(rc, n->kids[0], rel, out);
		return;
	}
}

/* ---- writing the target ----------------------------------------------------
 */

/* Owner, mode, user.* xattrs from the metadata copy; times from the data
 * copy.  Directories get theirs after their contents. */
static void rc_set_meta(struct rc *rc, const struct rc_obj *o, const char *dst)
{
	struct timespec times[2] = {o->st.st_atim, o->st.st_mtim};
	bool lnk = S_ISLNK(o->st.st_mode);
	char *names = NULL;
	ssize_t len;

	if (lchown(dst, o->mst.st_uid, o->mst.st_gid) != 0)
		rc_error(rc, "chown %s: %s", dst, strerror(errno));
	if (!lnk && chmod(dst, o->mst.st_mode & 07777) != 0)
		rc_error(rc, "chmod %s: %s", dst, strerror(errno));
	len = lnk ? 0 : llistxattr(o->meta_src, NULL, 0);
	if (len > 0) {
		names = rc_calloc(1, (size_t)len + 1);
		len = llistxattr(o->meta_src, names, (size_t)len);
	}
	for (ssize_t off = 0; names && off < len;
	     off += (ssize_t)strlen(names + off) + 1) {
		const char *key = names + off;
		char *val;
		ssize_t vlen;

		if (strncmp(key, "user.", 5) != 0)
			continue;
		vlen = lgetxattr(o->meta_src, key, NULL, 0);
		if (vlen < 0)
			continue;
		val = rc_calloc(1, (size_t)vlen + 1);
		vlen = lgetxattr(o->meta_src, key, val, (size_t)vlen);
		if (vlen >= 0 && lsetxattr(dst, key, val, (size_t)vlen, 0) != 0)
			rc_error(rc, "setxattr %s %s: %s", dst, key,
				 strerror(errno));
		free(val);
	}
	free(names);
	if (utimensat(AT_FDCWD, dst, times, AT_SYMLINK_NOFOLLOW) != 0)
		rc_error(rc, "utimes %s: %s", dst, strerror(errno));
}

/* Copy [off, end) of in to the same offsets of out. */
static int rc_copy_range(int in, int out, off_t off, off_t end)
{
	static char buf[1 << 20];

	while (off < end) {
		size_t want = (size_t)(end - off) < sizeof(buf)
				  ? (size_t)(end - off)
				  : sizeof(buf);
		ssize_t got = pread(in, buf, want, off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break; /* the file shrank: its size is set after */
		for (ssize_t done = 0; done < got;) {
			ssize_t w = pwrite(out, buf + done,
					   (size_t)(got - done), off + done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			done += w;
		}
		off += got;
	}
	return 0;
}

/* Data only where the source has data (SEEK_DATA / SEEK_HOLE), so sparse
 * files stay sparse; the size is set at the end. */
static int rc_copy_data(const char *src, const char *dst)
{
	int in, out, ret = 0;
	struct stat st;
	off_t pos = 0, data, hole;

	in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		   0600);
	if (out < 0 || fstat(in, &st) != 0) {
		ret = -errno;
		goto out;
	}
	while (ret == 0 && pos < st.st_size) {
		data = lseek(in, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break; /* only a hole is left */
		if (data < 0) {
			/* No SEEK_DATA here: copy everything. */
			ret = rc_copy_range(in, out, pos, st.st_size);
			break;
		}
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		ret = rc_copy_range(in, out, data, hole);
		pos = hole;
	}
	if (ret == 0 && ftruncate(out, st.st_size) != 0)
		ret = -errno;
out:
	close(in);
	if (out >= 0 && close(out) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

static bool rc_get_gfid(const char *path, uint8_t gfid[16])
{
	return lgetxattr(path, RC_GFID_KEY, gfid, 16) == 16;
}

static const char *rc_find_link(const struct rc *rc, const uint8_t gfid[16])
{
	for (size_t i = 0; i < rc->nlinks; i++)
		if (memcmp(rc->links[i].gfid, gfid, 16) == 0)
			return rc->links[i].target;
	return NULL;
}

static void rc_add_link(struct rc *rc, const uint8_t gfid[16], const char *dst)
{
	if (rc->nlinks == rc->links_cap) {
		size_t cap = rc->links_cap ? 2 * rc->links_cap : 64;
		struct rc_link *v = realloc(rc->links, cap * sizeof(*v));

		if (!v)
			rc_fail("no memory");
		rc->links = v;
		rc->links_cap = cap;
	}
	memcpy(rc->links[rc->nlinks].gfid, gfid, 16);
	rc->links[rc->nlinks].target = rc_strdup(dst);
	rc->nlinks++;
}

/* One non-directory: a hard link to an earlier name with its gfid, or a
 * new file, symlink or node. */
static void rc_file(struct rc *rc, const char *rel, const struct rc_obj *o,
		    const char *dst)
{
	mode_t type = o->st.st_mode & S_IFMT;
	uint8_t gfid[16];
	bool has_gfid = rc_get_gfid(o->data_src, gfid);
	const char *first = has_gfid ? rc_find_link(rc, gfid) : NULL;
	int ret = 0;

	if (first) {
		if (rc->dry_run)
			printf("link %s -> %s\n", rel,
			       first + strlen(rc->target));
		else if (link(first, dst) != 0)
			rc_error(rc, "link %s %s: %s", first, dst,
				 strerror(errno));
		return;
	}
	if (type == S_IFSOCK) {
		fprintf(stderr, "mortar-recover: %s: a socket, skipped\n", rel);
		return;
	}
	if (rc->dry_run) {
		printf("%s %s <- %s (%s)\n",
		       type == S_IFREG	 ? "copy"
		       : type == S_IFLNK ? "symlink"
					 : "mknod",
		       rel, o->data_src, o->from);
	} else if (type == S_IFREG) {
		ret = rc_copy_data(o->data_src, dst);
	} else if (type == S_IFLNK) {
		char text[PATH_MAX + 1];
		ssize_t len = readlink(o->data_src, text, PATH_MAX);

		if (len < 0)
			ret = -errno;
		else {
			text[len] = '\0';
			ret = symlink(text, dst) == 0 ? 0 : -errno;
		}
	} else {
		ret = mknod(dst, type | 0600, o->st.st_rdev) == 0 ? 0 : -errno;
	}
	if (ret) {
		rc_error(rc, "%s (from %s): %s", dst, o->data_src,
			 strerror(-ret));
		return;
	}
	rc->files++;
	if (has_gfid)
		rc_add_link(rc, gfid, dst);
	if (!rc->dry_run)
		rc_set_meta(rc, o, dst);
}

static void rc_walk(struct rc *rc, const char *rel, const char *dst)
{
	struct rc_names names = {0};

	rc_list(rc, rc->top, rel, &names);
	rc_names_unique(&names);
	for (size_t i = 0; i < names.n; i++) {
		char *crel = rc_printf("%s/%s", rel, names.v[i]);
		char *cdst = rc_printf("%s/%s", dst, names.v[i]);
		struct rc_obj o;

		rc_resolve(rc->top, crel, &o);
		switch (o.kind) {
		case RC_NONE:
		case RC_LINKTO:
			break;
		case RC_SPLIT:
			printf("split-brain: %s (%s)\n", crel,
			       o.why ? o.why : "copies blame each other");
			rc->splits++;
			break;
		case RC_DIR:
			if (o.meta_split) {
				printf("split-brain (metadata, first copy "
				       "taken): %s/ (%s)\n",
				       crel, o.meta_split);
				rc->splits++;
			}
			if (rc->dry_run)
				printf("mkdir %s\n", crel);
			else if (mkdir(cdst, 0700) != 0) {
				rc_error(rc, "mkdir %s: %s", cdst,
					 strerror(errno));
				break;
			}
			rc->dirs++;
			rc_walk(rc, crel, cdst);
			if (!rc->dry_run)
				rc_set_meta(rc, &o, cdst);
			break;
		case RC_FILE:
			rc_file(rc, crel, &o, cdst);
			break;
		}
		rc_obj_clear(&o);
		free(crel);
		free(cdst);
	}
	rc_names_free(&names);
}

/* ---- main ------------------------------------------------------------------
 */

/* Never write into a brick: the target must not overlap any of them. */
static void rc_check_overlap(struct rc_node *n, const char *target)
{
	char *brick;
	size_t bl, tl = strlen(target);

	for (int i = 0; i < n->nkids; i++)
		rc_check_overlap(n->kids[i], target);
	if (n->kind != RC_LEAF)
		return;
	brick = realpath(n->brick, NULL);
	if (!brick)
		rc_fail("%s: %s", n->brick, strerror(errno));
	bl = strlen(brick);
	if ((strncmp(target, brick, bl) == 0 &&
	     (target[bl] == '/' || target[bl] == '\0')) ||
	    (strncmp(brick, target, tl) == 0 && (brick[tl] == '/' || tl == 1)))
		rc_fail("target %s overlaps brick %s of %s", target, brick,
			n->name);
	free(brick);
}

/* The absolute target; made (one level) unless dry-run.  It must be new
 * or empty: recovery never mixes with or overwrites other files. */
static char *rc_prepare_target(const struct rc *rc, const char *arg)
{
	char *copy = rc_strdup(arg), *slash, *parent, *abs;
	const char *base;
	DIR *d;
	struct dirent *de;

	while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
		copy[strlen(copy) - 1] = '\0';
	slash = strrchr(copy, '/');
	if (slash == copy) {
		parent = rc_strdup("/");
		base = copy + 1;
	} else if (slash) {
		*slash = '\0';
		parent = realpath(copy, NULL);
		*slash = '/';
		base = slash + 1;
	} else {
		parent = realpath(".", NULL);
		base = copy;
	}
	if (!parent)
		rc_fail("target %s: %s", arg, strerror(errno));
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		abs = realpath(copy, NULL);
	else
		abs = rc_printf("%s%s%s", parent,
				strcmp(parent, "/") ? "/" : "", base);
	free(parent);
	free(copy);
	if (!abs)
		rc_fail("target %s: %s", arg, strerror(errno));
	rc_check_overlap(rc->top, abs);
	d = opendir(abs);
	if (d) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				rc_fail("target %s is not empty", abs);
		closedir(d);
	} else if (errno != ENOENT) {
		rc_fail("target %s: %s", abs, strerror(errno));
	} else if (!rc->dry_run && mkdir(abs, 0700) != 0) {
		rc_fail("mkdir %s: %s", abs, strerror(errno));
	}
	return abs;
}

static void rc_usage(FILE *out)
{
	fprintf(out,
		"Usage: mortar-recover [options] VOLFILE TARGET\n"
		"Rebuild a volume's files in TARGET (new or empty) from its "
		"brick\n"
		"directories, with every daemon of the volume stopped.\n"
		"\n"
		"  VOLFILE   the client volfile (NAME.vol from mortar-volgen); "
		"each\n"
		"            protocol/client's brick directory is read from "
		"the server\n"
		"            volfiles next to it unless given with --brick\n"
		"  --brick CLIENT=DIR   brick directory of protocol/client "
		"volume CLIENT\n"
		"                       (e.g. vol1-client-0=/srv/b0); "
		"repeatable\n"
		"  -n, --dry-run        print what would be done, write "
		"nothing\n"
		"  -h, --help\n"
		"\n"
		"Split-brain files (replica copies blaming each other) are "
		"listed on\n"
		"stdout, not copied.  Exit status: 0 all recovered, 2 "
		"split-brain\n"
		"files listed, 1 an error.\n");
}

static const struct option rc_longopts[] = {
    {"brick", required_argument, NULL, 'b'},
    {"dry-run", no_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int main(int argc, char **argv)
{
	struct rc rc = {0};
	struct rc_obj root;
	char *err = NULL, *target;
	int c;

	rc.brick_args = rc_calloc((size_t)argc, sizeof(char *));
	while ((c = getopt_long(argc, argv, "nh", rc_longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (!strchr(optarg, '=') || optarg[0] == '=' ||
			    strchr(optarg, '=')[1] != '/')
				rc_fail("bad --brick '%s' (CLIENT=/DIR)",
					optarg);
			rc.brick_args[rc.nbrick_args++] = optarg;
			break;
		case 'n':
			rc.dry_run = true;
			break;
		case 'h':
			rc_usage(stdout);
			return 0;
		default:
			rc_usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 2)
		rc_fail("expected VOLFILE TARGET (see --help)");
	rc.volfile = argv[optind];
	if (xl_volfile_read(rc.volfile, &rc.vf, &err) != 0)
		rc_fail("%s", err ? err : "cannot read the volfile");
	if (rc.vf->volume_count == 0)
		rc_fail("%s: no volumes", rc.volfile);
	rc.top = rc_build(&rc, rc.vf->volumes[rc.vf->volume_count - 1].name, 0);
	for (int i = 0; i < rc.nbrick_args; i++) {
		char *eq = strchr(rc.brick_args[i], '=');

		*eq = '\0';
		if (!rc_find_vol(rc.vf, rc.brick_args[i]))
			rc_fail("--brick %s: no such volume in %s",
				rc.brick_args[i], rc.volfile);
		*eq = '=';
	}
	target = rc_prepare_target(&rc, argv[optind + 1]);
	rc.target = target;

	rc_resolve(rc.top, "", &root);
	if (root.kind != RC_DIR)
		rc_fail("no brick root directory found");
	rc_walk(&rc, "", target);
	if (!rc.dry_run)
		rc_set_meta(&rc, &root, target);
	rc_obj_clear(&root);
	fprintf(stderr,
		"mortar-recover: %s%ld files, %ld directories; %ld "
		"split-brain; %ld errors\n",
		rc.dry_run ? "would recover " : "recovered ", rc.files, rc.dirs,
		rc.splits, rc.errors);

	for (size_t i = 0; i < rc.nlinks; i++)
		free(rc.links[i].target);
	free(rc.links);
	free(target);
	rc_node_free(rc.top);
	xl_volfile_free(rc.vf);
	free(rc.brick_args);
	if (rc.errors)
		return 1;
	return rc.splits ? 2 : 0;
}
