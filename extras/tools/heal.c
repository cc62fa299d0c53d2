/*
 * heal.c - mortar-heal: look at and heal the replica sets of a volume.
 *
 *   mortar-heal (--volfile-server HOST[:PORT] --volume NAME | -f CLIENT.vol)
 *               [--timeout SEC] [index|info|split-brain|full|resolve ...]
 *
 *   index        heal what the bricks' pending indices list (default)
 *   info         list the entries that need heal, then "entries: N"
 *   split-brain  list the entries in split-brain, then "entries: N"
 *   full         crawl the whole tree and heal everything
 *   resolve PATH --source-brick NAME-client-<i> | --policy size|mtime|majority
 *                heal a split-brain file from the chosen copy
 *
 * The tool opens the volume's client graph (tool-graph.h) and talks to
 * each cluster/replicate translator in it directly: the index of each of
 * its children is read by opendir/readdir of the virtual gfid
 * 00000000-0000-0000-0000-000000000005 on the child, and the heal itself
 * runs inside the replicate translator, driven by virtual xattrs
 * (mortar.replicate.heal, .heal-status, .heal-index, .resolve).
 *
 * info and split-brain print one line per entry:
 *   REPLICA-SET /path/from/the/volume/root (gfid GFID) STATUS
 *   REPLICA-SET <gfid:GFID> (no path: removed) STATUS
 * The index names gfids; their paths are found through the graph: a
 * lookup by gfid tells whether the entry still exists (with a name: a
 * file still open after its last name went has none), then the replica
 * set's directories are walked from the root with readdirplus on each of
 * its children (a name that only one copy has is found too), stopping as
 * soon as every entry has a name.  Bytes below 0x20, 0x7f and '\' in a
 * path are printed as \ooo.
 */
#include "config.h"

#include "buf.h"
#include "inode.h"
#include "log.h"
#include "tool-graph.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEAL_VX_STATUS	"mortar.replicate.heal-status"
#define HEAL_VX_HEAL	"mortar.replicate.heal"
#define HEAL_VX_RESOLVE "mortar.replicate.resolve"
#define HEAL_VX_INDEX	"mortar.replicate.heal-index"

static const uint8_t heal_gfid_index[XL_GFID_LEN] = {0, 0, 0, 0, 0, 0, 0, 0,
						     0, 0, 0, 0, 0, 0, 0, 5};

struct heal_ctx {
	struct tool_graph *tg;
	struct xl_graph *g;
	int errors;
	long entries;
};

static void heal_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mortar-heal (--volfile-server HOST[:PORT][,HOST[:PORT]...] "
	    "--volume NAME\n"
	    "                    | -f CLIENT.vol)\n"
	    "                   [--timeout SEC] [--log-level L] [COMMAND]\n"
	    "commands:\n"
	    "  index        heal what the pending indices list (default)\n"
	    "  info         list entries that need heal (path, gfid, status)\n"
	    "  split-brain  list entries in split-brain\n"
	    "  full         crawl the whole volume and heal everything\n"
	    "  resolve PATH --source-brick NAME-client-<i>\n"
	    "  resolve PATH --policy size|mtime|majority\n");
}

static bool heal_is_replicate(struct xl *xl)
{
	return strcmp(xl->desc->type, "cluster/replicate") == 0;
}

/* Every child of every replicate answers (or timeout). */
static void heal_wait_children(struct heal_ctx *hc, int timeout_sec)
{
	time_t end = time(NULL) + timeout_sec;
	struct xl_args a;
	struct xl_reply r;
	bool all;

	memset(&a, 0, sizeof(a));
	tool_loc_set(&a.loc, NULL, NULL, xl_gfid_root);
	do {
		all = true;
		for (int x = 0; x < hc->g->count; x++) {
			struct xl *xl = hc->g->xls[x];

			if (!heal_is_replicate(xl))
				continue;
			for (int i = 0; i < xl->child_count; i++) {
				if (tool_call(hc->tg, xl->children[i],
					      XL_FOP_STATFS, &a, &r) < 0)
					all = false;
				xl_reply_clear(&r);
			}
		}
		if (!all)
			usleep(100 * 1000);
	} while (!all && time(NULL) < end);
	xl_args_clear(&a);
}

static int heal_setx(struct heal_ctx *hc, struct xl *to, const uint8_t *gfid,
		     const char *key, const char *val)
{
	struct xl_args a;
	struct xl_reply r;
	int ret;

	memset(&a, 0, sizeof(a));
	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.xname = strdup(key);
	a.data = xl_iobuf_from(val, strlen(val));
	ret = tool_call(hc->tg, to, XL_FOP_SETXATTR, &a, &r);
	xl_reply_clear(&r);
	xl_args_clear(&a);
	return ret;
}

static int heal_status(struct heal_ctx *hc, struct xl *to, const uint8_t *gfid,
		       char *out, size_t len)
{
	struct xl_args a;
	struct xl_reply r;
	int ret;

	memset(&a, 0, sizeof(a));
	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.xname = strdup(HEAL_VX_STATUS);
	a.size = 256;
	ret = tool_call(hc->tg, to, XL_FOP_GETXATTR, &a, &r);
	out[0] = 0;
	if (ret >= 0 && r.data) {
		size_t l = r.data->size < len - 1 ? r.data->size : len - 1;

		memcpy(out, r.data->data, l);
		out[l] = 0;
	}
	xl_reply_clear(&r);
	xl_args_clear(&a);
	return ret;
}

typedef void (*heal_entry_fn)(struct heal_ctx *hc, struct xl *xl,
			      const struct xl_dirent *e, void *arg);

/* Call fn for every entry but "." and ".." of directory gfid, read
 * through xl with fop (READDIR, or READDIRPLUS for attributes). */
static int heal_list(struct heal_ctx *hc, struct xl *xl, const uint8_t *gfid,
		     enum xl_fop fop, heal_entry_fn fn, void *arg)
{
	struct xl_fd *fd = xl_fd_new(hc->g, gfid, NULL, O_RDONLY, true);
	struct xl_args a;
	struct xl_reply r;
	int64_t off = 0;
	int ret;

	if (!fd)
		return -ENOMEM;
	memset(&a, 0, sizeof(a));
	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.fd = fd;
	ret = tool_call(hc->tg, xl, XL_FOP_OPENDIR, &a, &r);
	xl_reply_clear(&r);
	while (ret >= 0) {
		a.offset = off;
		a.size = 128 * 1024;
		ret = tool_call(hc->tg, xl, fop, &a, &r);
		if (ret < 0 || r.entry_count == 0) {
			xl_reply_clear(&r);
			break;
		}
		for (uint32_t k = 0; k < r.entry_count; k++) {
			off = (int64_t)r.entries[k].d_off;
			if (strcmp(r.entries[k].name, ".") &&
			    strcmp(r.entries[k].name, ".."))
				fn(hc, xl, &r.entries[k], arg);
		}
		xl_reply_clear(&r);
	}
	tool_call(hc->tg, xl, XL_FOP_RELEASEDIR, &a, &r);
	xl_reply_clear(&r);
	xl_args_clear(&a); /* drops the fd */
	return ret < 0 ? ret : 0;
}

/* ---- info / split-brain ---------------------------------------------- */

/* One listed entry. */
struct heal_item {
	uint8_t gfid[XL_GFID_LEN];
	char status[256];
	char *path;	 /* from the volume root; NULL: none (yet) */
	const char *why; /* set when it has no path */
};

/* A set of gfids (open addressing), each with an int: the items still
 * to name, the directories already walked. */
struct heal_gset {
	struct heal_gslot {
		uint8_t gfid[XL_GFID_LEN];
		int val;
		bool used;
	} * slots;
	size_t cap, count;
};

static size_t heal_gset_hash(const uint8_t *gfid, size_t cap)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < XL_GFID_LEN; i++)
		h = (h ^ gfid[i]) * 1099511628211ull;
	return (size_t)h & (cap - 1);
}

/* The slot of gfid, or NULL. */
static struct heal_gslot *heal_gset_find(struct heal_gset *s,
					 const uint8_t *gfid)
{
	if (!s->cap)
		return NULL;
	for (size_t i = heal_gset_hash(gfid, s->cap);;
	     i = (i + 1) & (s->cap - 1)) {
		if (!s->slots[i].used)
			return NULL;
		if (!memcmp(s->slots[i].gfid, gfid, XL_GFID_LEN))
			return &s->slots[i];
	}
}

/* Add gfid (no-op when present).  0 or -ENOMEM. */
static int heal_gset_add(struct heal_gset *s, const uint8_t *gfid, int val)
{
	size_t i;

	if (heal_gset_find(s, gfid))
		return 0;
	if ((s->count + 1) * 2 > s->cap) {
		struct heal_gset bigger = {.cap = s->cap ? s->cap * 2 : 64};

		bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
		if (!bigger.slots)
			return -ENOMEM;
		for (size_t k = 0; k < s->cap; k++)
			if (s->slots[k].used)
				heal_gset_add(&bigger, s->slots[k].gfid,
					      s->slots[k].val);
		free(s->slots);
		*s = bigger;
	}
	for (i = heal_gset_hash(gfid, s->cap); s->slots[i].used;
	     i = (i + 1) & (s->cap - 1))
		;
	memcpy(s->slots[i].gfid, gfid, XL_GFID_LEN);
	s->slots[i].val = val;
	s->slots[i].used = true;
	s->count++;
	return 0;
}

struct heal_seen {
	struct heal_item *items;
	size_t count;
	struct heal_gset listed; /* every gfid read from an index */
	bool sb_only;
	struct xl *rep;
};

static void heal_index_entry(struct heal_ctx *hc, struct xl *child,
			     const struct xl_dirent *e, void *arg)
{
	struct heal_seen *s = arg;
	struct heal_item *it, *grown;
	uint8_t g[XL_GFID_LEN];
	char st[256];

	(void)child;
	if (xl_gfid_parse(e->name, g) != 0 || heal_gset_find(&s->listed, g))
		return;
	if (heal_gset_add(&s->listed, g, 0) < 0)
		return;
	if (heal_status(hc, s->rep, g, st, sizeof(st)) < 0)
		return; /* gone everywhere: a stale index entry */
	if (strcmp(st, "ok") == 0)
		return;
	if (s->sb_only && strncmp(st, "split-brain", 11) != 0)
		return;
	grown = realloc(s->items, (s->count + 1) * sizeof(*s->items));
	if (!grown)
		return;
	s->items = grown;
	it = &s->items[s->count++];
	memset(it, 0, sizeof(*it));
	memcpy(it->gfid, g, XL_GFID_LEN);
	snprintf(it->status, sizeof(it->status), "%s", st);
}

/* The crawl that names items: a queue of directories (gfid and path). */
struct heal_crawl {
	struct heal_seen *s;
	struct heal_gset wanted; /* item index by gfid, unnamed ones */
	size_t unnamed;
	struct heal_gset walked; /* directories queued */
	struct heal_qdir {
		uint8_t gfid[XL_GFID_LEN];
		char *path; /* "" for the root */
	} * queue;
	size_t qhead, qlen, qcap;
	const char *dir_path; /* of the directory being listed */
};

static int heal_crawl_push(struct heal_crawl *c, const uint8_t *gfid,
			   const char *path)
{
	struct heal_qdir *grown;

	if (heal_gset_find(&c->walked, gfid))
		return 0;
	if (c->qlen == c->qcap) {
		size_t cap = c->qcap ? c->qcap * 2 : 64;

		grown = realloc(c->queue, cap * sizeof(*c->queue));
		if (!grown)
			return -ENOMEM;
		c->queue = grown;
		c->qcap = cap;
	}
	if (heal_gset_add(&c->walked, gfid, 0) < 0)
		return -ENOMEM;
	c->queue[c->qlen].path = strdup(path);
	if (!c->queue[c->qlen].path)
		return -ENOMEM;
	memcpy(c->queue[c->qlen].gfid, gfid, XL_GFID_LEN);
	c->qlen++;
	return 0;
}

static void heal_crawl_entry(struct heal_ctx *hc, struct xl *child,
			     const struct xl_dirent *e, void *arg)
{
	struct heal_crawl *c = arg;
	struct heal_gslot *w = heal_gset_find(&c->wanted, e->attr.gfid);
	char *path = NULL, *named = NULL;

	(void)hc;
	(void)child;
	if (xl_gfid_is_null(e->attr.gfid) ||
	    asprintf(&path, "%s/%s", c->dir_path, e->name) < 0)
		return;
	if (w && w->val >= 0) {
		c->s->items[w->val].path = path; /* the first name seen */
		named = path;
		path = NULL;
		w->val = -1;
		c->unnamed--;
	}
	if (S_ISDIR(e->attr.mode))
		heal_crawl_push(c, e->attr.gfid, named ? named : path);
	free(path);
}

/*
 * Name every item of s: a lookup by gfid on the replica set first (gone:
 * "removed"), then one walk of its directories from the root, through
 * each child, until every remaining item was seen under a name.
 */
static void heal_name_items(struct heal_ctx *hc, struct heal_seen *s)
{
	struct heal_crawl c = {.s = s};
	struct xl *rep = s->rep;

	for (size_t k = 0; k < s->count; k++) {
		struct heal_item *it = &s->items[k];
		struct xl_args a;
		struct xl_reply r;
		int ret;

		if (xl_gfid_is_root(it->gfid)) {
			it->path = strdup("/");
			if (!it->path)
				it->why = "no memory";
			continue;
		}
		memset(&a, 0, sizeof(a));
		tool_loc_set(&a.loc, NULL, NULL, it->gfid);
		ret = tool_call(hc->tg, rep, XL_FOP_LOOKUP, &a, &r);
		/* nlink 0: open somewhere, but its last name is gone */
		if (ret >= 0 && r.attr.nlink == 0)
			ret = -ENOENT;
		xl_reply_clear(&r);
		xl_args_clear(&a);
		if (ret == -ENOENT || ret == -ESTALE)
			it->why = "removed";
		else if (ret < 0)
			it->why = strerror(-ret);
		else if (heal_gset_add(&c.wanted, it->gfid, (int)k) == 0)
			c.unnamed++;
		else
			it->why = "no memory";
	}
	if (c.unnamed && heal_crawl_push(&c, xl_gfid_root, "") < 0)
		c.unnamed = 0;
	/* breadth first: names near the root come first */
	while (c.unnamed && c.qhead < c.qlen) {
		struct heal_qdir *d = &c.queue[c.qhead++];

		c.dir_path = d->path;
		for (int i = 0; i < rep->child_count && c.unnamed; i++)
			heal_list(hc, rep->children[i], d->gfid,
				  XL_FOP_READDIRPLUS, heal_crawl_entry, &c);
	}
	for (size_t k = 0; k < s->count; k++)
		if (!s->items[k].path && !s->items[k].why)
			s->items[k].why = "not found";
	for (size_t q = 0; q < c.qlen; q++)
		free(c.queue[q].path);
	free(c.queue);
	free(c.wanted.slots);
	free(c.walked.slots);
}

/* A path on one line: control bytes and backslashes as \ooo. */
static void heal_print_path(const char *p)
{
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			printf("\\%03o", ch);
		else
			putchar(ch);
	}
}

static void heal_info(struct heal_ctx *hc, bool sb_only)
{
	char gstr[XL_GFID_STR_LEN];

	for (int x = 0; x < hc->g->count; x++) {
		struct xl *xl = hc->g->xls[x];
		struct heal_seen s = {.sb_only = sb_only, .rep = xl};

		if (!heal_is_replicate(xl))
			continue;
		for (int i = 0; i < xl->child_count; i++)
			if (heal_list(hc, xl->children[i], heal_gfid_index,
				      XL_FOP_READDIR, heal_index_entry,
				      &s) < 0) {
				/* A brick that is down has nothing to say;
				 * what it missed is in the others' index. */
				fprintf(stderr,
					"mortar-heal: cannot read the index of "
					"%s (down?)\n",
					xl->children[i]->name);
			}
		heal_name_items(hc, &s);
		for (size_t k = 0; k < s.count; k++) {
			struct heal_item *it = &s.items[k];

			xl_gfid_to_str(it->gfid, gstr);
			printf("%s ", xl->name);
			if (it->path) {
				heal_print_path(it->path);
				printf(" (gfid %s) %s\n", gstr, it->status);
			} else {
				printf("<gfid:%s> (no path: %s) %s\n", gstr,
				       it->why, it->status);
			}
			hc->entries++;
			free(it->path);
		}
		free(s.items);
		free(s.listed.slots);
	}
	printf("entries: %ld\n", hc->entries);
}

/* ---- full crawl -------------------------------------------------------- */

struct heal_dir {
	uint8_t gfid[XL_GFID_LEN];
};

static void heal_tree(struct heal_ctx *hc, struct xl *rep, const uint8_t *gfid,
		      int depth);

static void heal_full_entry(struct heal_ctx *hc, struct xl *rep,
			    const struct xl_dirent *e, void *arg)
{
	struct heal_dir *d = arg;
	const char *name = e->name;
	struct xl_args a;
	struct xl_reply r;

	memset(&a, 0, sizeof(a));
	tool_loc_set(&a.loc, d->gfid, name, NULL);
	if (tool_call(hc->tg, rep, XL_FOP_LOOKUP, &a, &r) >= 0) {
		uint8_t g[XL_GFID_LEN];
		bool dir = S_ISDIR(r.attr.mode);

		memcpy(g, r.attr.gfid, XL_GFID_LEN);
		xl_reply_clear(&r);
		if (dir)
			heal_tree(hc, rep, g, 0);
		else if (heal_setx(hc, rep, g, HEAL_VX_HEAL, "") < 0) {
			fprintf(stderr, "mortar-heal: %s: not healed\n", name);
			hc->errors++;
		} else
			hc->entries++;
	} else
		xl_reply_clear(&r);
	xl_args_clear(&a);
}

static void heal_tree(struct heal_ctx *hc, struct xl *rep, const uint8_t *gfid,
		      int depth)
{
	struct heal_dir d;
	char s[XL_GFID_STR_LEN];

	if (depth > 256)
		return;
	if (heal_setx(hc, rep, gfid, HEAL_VX_HEAL, "") < 0) {
		fprintf(stderr, "mortar-heal: directory %s: not healed\n",
			xl_gfid_to_str(gfid, s));
		hc->errors++;
	}
	hc->entries++;
	memcpy(d.gfid, gfid, XL_GFID_LEN);
	heal_list(hc, rep, gfid, XL_FOP_READDIR, heal_full_entry, &d);
}

/* ---- resolve ------------------------------------------------------------ */

static int heal_resolve_path(struct heal_ctx *hc, struct xl *rep,
			     const char *path, uint8_t *gfid)
{
	char *copy = strdup(path), *save = NULL, *part;
	uint8_t cur[XL_GFID_LEN];
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	memcpy(cur, xl_gfid_root, XL_GFID_LEN);
	for (part = strtok_r(copy, "/", &save); part && ret == 0;
	     part = strtok_r(NULL, "/", &save)) {
		struct xl_args a;
		struct xl_reply r;

		memset(&a, 0, sizeof(a));
		tool_loc_set(&a.loc, cur, part, NULL);
		ret = tool_call(hc->tg, rep, XL_FOP_LOOKUP, &a, &r);
		if (ret >= 0) {
			memcpy(cur, r.attr.gfid, XL_GFID_LEN);
			ret = 0;
		}
		xl_reply_clear(&r);
		xl_args_clear(&a);
	}
	free(copy);
	memcpy(gfid, cur, XL_GFID_LEN);
	return ret;
}

/* Whether child `name` of replicate rep is its arbiter (the last child
 * with option arbiter-count 1). */
static bool heal_is_arbiter(struct xl *rep, const char *name)
{
	int64_t count = 0;

	xl_opt_int(rep, "arbiter-count", &count);
	return count > 0 && rep->child_count > 0 &&
	       strcmp(rep->children[rep->child_count - 1]->name, name) == 0;
}

static int heal_resolve(struct heal_ctx *hc, const char *path,
			const char *source, const char *policy)
{
	char val[300];
	int ret = -ENOENT;

	if (source)
		snprintf(val, sizeof(val), "source=%s", source);
	else
		snprintf(val, sizeof(val), "policy=%s", policy);
	for (int x = 0; x < hc->g->count; x++) {
		struct xl *xl = hc->g->xls[x];
		uint8_t g[XL_GFID_LEN];
		bool has = !source;

		if (!heal_is_replicate(xl))
			continue;
		for (int i = 0; source && i < xl->child_count; i++)
			has |= strcmp(xl->children[i]->name, source) == 0;
		if (!has || heal_resolve_path(hc, xl, path, g) < 0)
			continue;
		if (source && heal_is_arbiter(xl, source)) {
			fprintf(stderr,
				"mortar-heal: %s is an arbiter brick: it "
				"holds no file data and cannot be the source; "
				"name one of the data bricks of its set\n",
				source);
			return -EINVAL;
		}
		ret = heal_setx(hc, xl, g, HEAL_VX_RESOLVE, val);
		if (ret < 0)
			fprintf(stderr, "mortar-heal: resolve %s: %s\n", path,
				strerror(-ret));
		else
			printf("resolved %s\n", path);
		return ret;
	}
	fprintf(stderr, "mortar-heal: %s: not found%s\n", path,
		source ? " on the replica set of that brick" : "");
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"volfile-server", required_argument, NULL, 's'},
	    /* the short form the first releases documented */
	    {"server", required_argument, NULL, 's'},
	    {"volume", required_argument, NULL, 'v'},
	    {"volfile", required_argument, NULL, 'f'},
	    {"timeout", required_argument, NULL, 't'},
	    {"source-brick", required_argument, NULL, 'b'},
	    {"policy", required_argument, NULL, 'p'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct rpc_volfile_servers servers = {0};
	const char *volume = NULL, *volfile = NULL;
	const char *source = NULL, *policy = NULL, *cmd = "index";
	const char *path = NULL;
	struct heal_ctx hc = {0};
	int timeout = 20, c, ret, level = XL_LOG_ERROR;
	char *err = NULL;

	while ((c = getopt_long(argc, argv, "s:v:f:t:b:p:h", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 's':
			if (tool_servers_add(&servers, "mortar-heal", optarg) <
			    0)
				return 2;
			break;
		case 'v':
			volume = optarg;
			break;
		case 'f':
			volfile = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'b':
			source = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'l':
			level = xl_log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr,
					"mortar-heal: bad log level '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			heal_usage(stdout);
			return 0;
		default:
			heal_usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (strcmp(cmd, "resolve") == 0 && optind < argc)
		path = argv[optind++];
	if (optind < argc || (!volfile && (!servers.count || !volume)) ||
	    timeout <= 0) {
		heal_usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "resolve") == 0 &&
	    (!path || (!source == !policy) ||
	     (policy && strcmp(policy, "size") && strcmp(policy, "mtime") &&
	      strcmp(policy, "majority")))) {
		fprintf(stderr, "mortar-heal: resolve needs PATH and one of "
				"--source-brick NAME or --policy "
				"size|mtime|majority\n");
		return 2;
	}
	xl_log_set_level((enum xl_log_level)level);
	ret = tool_graph_open(&servers, volume, volfile, timeout, &hc.tg, &err);
	rpc_volfile_servers_free(&servers);
	if (ret < 0) {
		fprintf(stderr, "mortar-heal: %s\n",
			err ? err : strerror(-ret));
		free(err);
		return 1;
	}
	hc.g = tool_graph_get(hc.tg);
	/* Listing need not wait long for a brick that is down; healing
	 * wants every copy it can get. */
	heal_wait_children(&hc, strcmp(cmd, "info") == 0 ||
					strcmp(cmd, "split-brain") == 0
				    ? (timeout < 3 ? timeout : 3)
				    : timeout);
	if (strcmp(cmd, "info") == 0)
		heal_info(&hc, false);
	else if (strcmp(cmd, "split-brain") == 0)
		heal_info(&hc, true);
	else if (strcmp(cmd, "index") == 0) {
		for (int x = 0; x < hc.g->count; x++)
			if (heal_is_replicate(hc.g->xls[x]) &&
			    heal_setx(&hc, hc.g->xls[x], xl_gfid_root,
				      HEAL_VX_INDEX, "") < 0) {
				fprintf(stderr,
					"mortar-heal: %s: some entries were "
					"not healed (split-brain?)\n",
					hc.g->xls[x]->name);
				hc.errors++;
			}
	} else if (strcmp(cmd, "full") == 0) {
		for (int x = 0; x < hc.g->count; x++)
			if (heal_is_replicate(hc.g->xls[x]))
				heal_tree(&hc, hc.g->xls[x], xl_gfid_root, 0);
		printf("crawled: %ld\n", hc.entries);
	} else if (strcmp(cmd, "resolve") == 0) {
		if (heal_resolve(&hc, path, source, policy) < 0)
			hc.errors++;
	} else {
		fprintf(stderr, "mortar-heal: unknown command '%s'\n", cmd);
		heal_usage(stderr);
		tool_graph_close(hc.tg);
		return 2;
	}
	tool_graph_close(hc.tg);
	return hc.errors ? 1 : 0;
}
