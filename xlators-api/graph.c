/*
 * graph.c - build a translator graph from a parsed volfile: load each
 * translator by type, validate its options, link subvolumes, then init,
 * dump and tear down.
 */
#include "config.h"

#include "graph.h"
#include "inode.h"
#include "log.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MORTAR_XLATOR_DIR
#define MORTAR_XLATOR_DIR "/usr/local/lib/mortar/xlator"
#endif

static int graph_errf(char **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int graph_errf(char **err, const char *fmt, ...)
{
	va_list ap;

	free(*err);
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -EINVAL;
}

/* Try dir/type.so, then the build-tree layout dir/type/.libs/base.so. */
static void *graph_dlopen_in(const char *dir, size_t dirlen, const char *type,
			     char **dlerr)
{
	const char *base = strrchr(type, '/') + 1;
	char path[4096];
	struct stat st;
	void *h;

	snprintf(path, sizeof(path), "%.*s/%s.so", (int)dirlen, dir, type);
	if (stat(path, &st) != 0)
		snprintf(path, sizeof(path), "%.*s/%s/.libs/%s.so", (int)dirlen,
			 dir, type, base);
	if (stat(path, &st) != 0)
		return NULL;
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h && !*dlerr)
		*dlerr = strdup(dlerror());
	return h;
}

int xl_load_desc(const char *type, const struct xl_desc **out, void **handle,
		 char **err)
{
	const char *env = getenv("MORTAR_XLATOR_PATH");
	char *dlerr = NULL;
	void *h = NULL;
	const struct xl_desc *d;

	*err = NULL;
	if (!strchr(type, '/') || strstr(type, ".."))
		return graph_errf(err, "bad translator type '%s'", type);
	for (const char *p = env; p && *p && !h;) {
		size_t n = strcspn(p, ":");
		if (n)
			h = graph_dlopen_in(p, n, type, &dlerr);
		p += n;
		p += *p == ':';
	}
	if (!h)
		h = graph_dlopen_in(MORTAR_XLATOR_DIR,
				    strlen(MORTAR_XLATOR_DIR), type, &dlerr);
	if (!h) {
		graph_errf(err,
			   "unknown translator type '%s'%s%s (searched "
			   "$MORTAR_XLATOR_PATH and %s)",
			   type, dlerr ? ": " : "", dlerr ? dlerr : "",
			   MORTAR_XLATOR_DIR);
		free(dlerr);
		return -ENOENT;
	}
	free(dlerr);
	d = dlsym(h, XL_DESC_SYMBOL);
	if (!d) {
		dlclose(h);
		return graph_errf(err, "translator '%s' exports no %s", type,
				  XL_DESC_SYMBOL);
	}
	if (d->api_version != XL_API_VERSION ||
	    d->size < offsetof(struct xl_desc, fops) ||
	    d->size > sizeof(struct xl_desc)) {
		dlclose(h);
		return graph_errf(err,
				  "translator '%s' was built for another API "
				  "(version %u size %u, runtime has %u/%zu)",
				  type, d->api_version, d->size, XL_API_VERSION,
				  sizeof(struct xl_desc));
	}
	*out = d;
	*handle = h;
	return 0;
}

static int graph_set_options(struct xl *xl, const struct xl_volspec *spec,
			     const char *file, char **err)
{
	const struct xl_option_desc *table = xl->desc->options;
	int n = 0;

	for (const struct xl_option_desc *od = table; od && od->key; od++)
		n++;
	xl->options = calloc((size_t)n + (size_t)spec->option_count + 1,
			     sizeof(*xl->options));
	if (!xl->options)
		return -ENOMEM;
	for (int i = 0; i < spec->option_count; i++) {
		const struct xl_volspec_option *o = &spec->options[i];
		const struct xl_option_desc *od = xl_option_find(table, o->key);
		char *why = NULL;
		if (!od)
			return graph_errf(err,
					  "%s:%d: volume '%s': translator %s "
					  "has no option '%s'",
					  file, o->line, spec->name, spec->type,
					  o->key);
		if (xl_option_validate(od, o->value, &why)) {
			graph_errf(err, "%s:%d: volume '%s': %s", file, o->line,
				   spec->name, why ? why : "bad value");
			free(why);
			return -EINVAL;
		}
		struct xl_option *dst = &xl->options[xl->option_count++];
		dst->key = strdup(o->key);
		dst->value = strdup(o->value);
		dst->line = o->line;
		if (!dst->key || !dst->value)
			return -ENOMEM;
	}
	/* Defaults for the rest; a required option must have been given. */
	for (const struct xl_option_desc *od = table; od && od->key; od++) {
		const struct xl_volspec_option *given = NULL;
		for (int i = 0; i < spec->option_count; i++)
			if (strcmp(spec->options[i].key, od->key) == 0)
				given = &spec->options[i];
		if (given)
			continue;
		if (od->required)
			return graph_errf(err,
					  "%s:%d: volume '%s': translator %s "
					  "needs option '%s' (%s)",
					  file, spec->line, spec->name,
					  spec->type, od->key,
					  od->help ? od->help : "");
		if (!od->default_value)
			continue;
		struct xl_option *dst = &xl->options[xl->option_count++];
		dst->key = strdup(od->key);
		dst->value = strdup(od->default_value);
		if (!dst->key || !dst->value)
			return -ENOMEM;
	}
	return 0;
}

static int graph_add_edge(struct xl *parent, struct xl *child)
{
	struct xl **p = realloc(child->parents,
				(size_t)(child->parent_count + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	child->parents = p;
	p[child->parent_count++] = parent;
	return 0;
}

/* Depth-first walk: 1 = on the current path, 2 = done. */
static int graph_find_cycle(struct xl *xl, char *state, struct xl **path,
			    int depth)
{
	state[xl->index] = 1;
	path[depth] = xl;
	for (int i = 0; i < xl->child_count; i++) {
		struct xl *c = xl->children[i];
		if (state[c->index] == 1) {
			path[depth + 1] = c;
			return depth + 2;
		}
		if (state[c->index] == 0) {
			int n = graph_find_cycle(c, state, path, depth + 1);
			if (n)
				return n;
		}
	}
	state[xl->index] = 2;
	return 0;
}

/* The descriptor's own rules about its place in the graph: how many
 * subvolumes, and (XL_UNHANDLED_REFUSE) an entry for every fop. */
static int graph_check_desc(const struct xl *xl, const char *file, char **err)
{
	const struct xl_desc *d = xl->desc;

	{
		if (xl->child_count < d->min_children)
			return graph_errf(
			    err,
			    "%s:%d: volume '%s': %s needs at "
			    "least %d subvolume%s, has %d",
			    file, xl->line, xl->name, d->type, d->min_children,
			    d->min_children == 1 ? "" : "s", xl->child_count);
		if (d->max_children >= 0 && xl->child_count > d->max_children)
			return graph_errf(
			    err,
			    "%s:%d: volume '%s': %s takes at "
			    "most %d subvolume%s, has %d",
			    file, xl->line, xl->name, d->type, d->max_children,
			    d->max_children == 1 ? "" : "s", xl->child_count);
	}
	if (d->unhandled == XL_UNHANDLED_REFUSE)
		for (int f = 0; f < XL_FOP_COUNT; f++)
			if (!d->fops[f])
				return graph_errf(err,
						  "%s:%d: volume '%s': %s has "
						  "no handler for fop %s",
						  file, xl->line, xl->name,
						  d->type, xl_fop_name(f));
	return 0;
}

static int graph_link(struct xl_graph *g, const struct xl_volfile *vf,
		      char **err)
{
	char *state = calloc((size_t)g->count, 1);
	struct xl **path = calloc((size_t)g->count + 2, sizeof(*path));
	int ret = 0;

	if (!state || !path) {
		ret = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < g->count && !ret; i++) {
		const struct xl_volspec *spec = &vf->volumes[i];
		struct xl *xl = g->xls[i];
		xl->children = calloc((size_t)spec->subvolume_count + 1,
				      sizeof(*xl->children));
		if (!xl->children) {
			ret = -ENOMEM;
			break;
		}
		for (int j = 0; j < spec->subvolume_count; j++) {
			struct xl *c = xl_graph_find(g, spec->subvolumes[j]);
			if (!c) {
				ret = graph_errf(
				    err,
				    "%s:%d: volume '%s': subvolume "
				    "'%s' is not defined",
				    vf->filename, spec->subvolume_lines[j],
				    spec->name, spec->subvolumes[j]);
				break;
			}
			if (c == xl) {
				ret = graph_errf(err,
						 "%s:%d: volume '%s' lists "
						 "itself as a subvolume",
						 vf->filename,
						 spec->subvolume_lines[j],
						 spec->name);
				break;
			}
			xl->children[xl->child_count++] = c;
			if (graph_add_edge(xl, c)) {
				ret = -ENOMEM;
				break;
			}
		}
	}
	for (int i = 0; i < g->count && !ret; i++)
		ret = graph_check_desc(g->xls[i], vf->filename, err);
	for (int i = 0; i < g->count && !ret; i++) {
		if (state[i])
			continue;
		int n = graph_find_cycle(g->xls[i], state, path, 0);
		if (n) {
			char chain[1024] = "";
			size_t off = 0;
			int start = 0;
			while (path[start] != path[n - 1])
				start++;
			for (int k = start; k < n && off < sizeof(chain); k++)
				off += (size_t)snprintf(
				    chain + off, sizeof(chain) - off, "%s%s",
				    k > start ? " -> " : "", path[k]->name);
			ret =
			    graph_errf(err, "%s:%d: subvolume cycle: %s",
				       vf->filename, path[start]->line, chain);
		}
	}
out:
	free(state);
	free(path);
	return ret;
}

int xl_graph_build(const struct xl_volfile *vf, struct xl_graph **out,
		   char **err)
{
	struct xl_graph *g = calloc(1, sizeof(*g));
	int ret = 0;

	*err = NULL;
	*out = NULL;
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->internal_lock, NULL);
	g->count = vf->volume_count;
	g->filename = strdup(vf->filename);
	g->xls = calloc((size_t)g->count, sizeof(*g->xls));
	g->dl_handles = calloc((size_t)g->count, sizeof(void *));
	if (!g->filename || !g->xls || !g->dl_handles) {
		ret = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < g->count && !ret; i++) {
		const struct xl_volspec *spec = &vf->volumes[i];
		const struct xl_desc *d = NULL;
		struct xl_desc *full;
		char *why = NULL;
		struct xl *xl = calloc(1, sizeof(*xl));
		if (!xl) {
			ret = -ENOMEM;
			break;
		}
		g->xls[i] = xl;
		xl->graph = g;
		xl->index = i;
		xl->line = spec->line;
		xl->name = strdup(spec->name);
		if (!xl->name) {
			ret = -ENOMEM;
			break;
		}
		ret = xl_load_desc(spec->type, &d, &g->dl_handles[i], &why);
		if (ret) {
			graph_errf(err, "%s:%d: volume '%s': %s", vf->filename,
				   spec->line, spec->name, why ? why : "");
			free(why);
			break;
		}
		/* A copy at the runtime's size: an older translator's
		 * descriptor is shorter, and its missing tail reads as
		 * zeros. */
		full = calloc(1, sizeof(*full));
		if (!full) {
			ret = -ENOMEM;
			break;
		}
		memcpy(full, d, d->size);
		full->size = sizeof(*full);
		xl->desc = full;
		ret = graph_set_options(xl, spec, vf->filename, err);
	}
	if (!ret)
		ret = graph_link(g, vf, err);
	if (!ret) {
		g->top = g->xls[g->count - 1];
		g->itable = xl_inode_table_new(g);
		if (!g->itable)
			ret = -ENOMEM;
	}
	if (!ret) {
		for (int i = 0; i < g->count - 1; i++)
			if (g->xls[i]->parent_count == 0)
				xl_warn("graph",
					"%s:%d: volume '%s' is not used by "
					"any other volume",
					vf->filename, g->xls[i]->line,
					g->xls[i]->name);
	}
out:
	if (ret == -ENOMEM && !*err)
		*err = strdup("out of memory building the graph");
	if (ret) {
		xl_graph_destroy(g);
		return ret;
	}
	*out = g;
	return 0;
}

struct xl *xl_graph_find(struct xl_graph *g, const char *name)
{
	for (int i = 0; i < g->count; i++)
		if (g->xls[i] && strcmp(g->xls[i]->name, name) == 0)
			return g->xls[i];
	return NULL;
}

/* Children before parents: post-order from every volume. */
static void graph_postorder(struct xl *xl, char *seen, struct xl **order,
			    int *n)
{
	if (seen[xl->index])
		return;
	seen[xl->index] = 1;
	for (int i = 0; i < xl->child_count; i++)
		graph_postorder(xl->children[i], seen, order, n);
	order[(*n)++] = xl;
}

int xl_graph_init(struct xl_graph *g, char **err)
{
	char *seen = calloc((size_t)g->count, 1);
	struct xl **order = calloc((size_t)g->count, sizeof(*order));
	int n = 0, done = 0, ret = 0;

	*err = NULL;
	if (!seen || !order) {
		ret = -ENOMEM;
		goto out;
	}
	for (int i = g->count - 1; i >= 0; i--)
		graph_postorder(g->xls[i], seen, order, &n);
	for (; done < n; done++) {
		struct xl *xl = order[done];
		char *why = NULL;
		if (!xl->desc->init)
			continue;
		ret = xl->desc->init(xl, &why);
		if (ret) {
			graph_errf(err, "%s:%d: volume '%s' (%s): %s",
				   g->filename, xl->line, xl->name,
				   xl->desc->type,
				   why ? why : strerror(ret < 0 ? -ret : ret));
			free(why);
			ret = ret < 0 ? ret : -EINVAL;
			break;
		}
	}
	if (ret) {
		/* Undo the ones that succeeded, parents first. */
		while (done-- > 0)
			if (order[done]->desc->fini)
				order[done]->desc->fini(order[done]);
		goto out;
	}
	g->inited = true;
	xl_notify(g->top, XL_EV_PARENT_UP, NULL);
out:
	free(seen);
	free(order);
	return ret;
}

void xl_graph_destroy(struct xl_graph *g)
{
	if (!g)
		return;
	/* Close the teardown gate (graph.h); an event being delivered
	 * finishes first (bounded: a stuck one is logged, not waited for). */
	atomic_store(&g->stopping, true);
	for (int k = 0; atomic_load(&g->events_in) > 0; k++) {
		if (k == 2000) {
			xl_warn("graph",
				"an event is still being delivered after 2 s: "
				"tearing the graph down anyway");
			break;
		}
		usleep(1000);
	}
	if (g->inited) {
		char *seen = calloc((size_t)g->count, 1);
		struct xl **order = calloc((size_t)g->count, sizeof(*order));
		int n = 0;
		if (seen && order) {
			for (int i = g->count - 1; i >= 0; i--)
				graph_postorder(g->xls[i], seen, order, &n);
			while (n-- > 0)
				if (order[n]->desc->fini)
					order[n]->desc->fini(order[n]);
		}
		free(seen);
		free(order);
	}
	if (g->itable && g->keep_itable)
		xl_inode_table_orphan(g->itable);
	else if (g->itable)
		xl_inode_table_free(g->itable);
	for (int i = 0; g->xls && i < g->count; i++) {
		struct xl *xl = g->xls[i];
		if (!xl)
			continue;
		for (int j = 0; j < xl->option_count; j++) {
			free(xl->options[j].key);
			free(xl->options[j].value);
		}
		free(xl->options);
		free(xl->children);
		free(xl->parents);
		free((void *)xl->desc);
		free(xl->name);
		free(xl);
	}
	for (int i = 0; g->dl_handles && i < g->count; i++)
		if (g->dl_handles[i] && !getenv("MORTAR_NO_DLCLOSE"))
			dlclose(g->dl_handles[i]);
	free(g->dl_handles);
	free(g->xls);
	free(g->filename);
	pthread_mutex_destroy(&g->internal_lock);
	free(g);
}

void xl_graph_dump(struct xl_graph *g, FILE *out)
{
	fprintf(out, "[graph]\nvolfile=%s\ntranslators=%d\ntop=%s\n",
		g->filename, g->count, g->top ? g->top->name : "-");
	if (g->itable)
		fprintf(out, "inodes=%zu\n", g->itable->inode_count);
	fprintf(out, "fds=%ld\n", xl_fd_live_count());
	for (int i = g->count - 1; i >= 0; i--) {
		struct xl *xl = g->xls[i];
		fprintf(out, "\n[xlator %s]\ntype=%s\nline=%d\n", xl->name,
			xl->desc->type, xl->line);
		fprintf(out, "subvolumes=");
		for (int j = 0; j < xl->child_count; j++)
			fprintf(out, "%s%s", j ? " " : "",
				xl->children[j]->name);
		fprintf(out, "\n");
		for (int j = 0; j < xl->option_count; j++)
			fprintf(out, "option.%s=%s\n", xl->options[j].key,
				xl->options[j].value);
		fprintf(out, "pending_calls=%d\n", atomic_load(&xl->pending));
		fprintf(out,
			"memory.bytes=%" PRIdFAST64
			"\nmemory.allocs=%" PRIdFAST64 "\n",
			atomic_load(&xl->mem_bytes),
			atomic_load(&xl->mem_allocs));
		for (int f = 0; f < XL_FOP_COUNT; f++) {
			struct xl_fop_stats *st = &xl->stats[f];
			uint64_t c = atomic_load(&st->count);
			if (!c)
				continue;
			fprintf(out,
				"fop.%s count=%" PRIu64 " errors=%" PRIu64
				" avg_usec=%" PRIu64 " max_usec=%" PRIu64 "\n",
				xl_fop_name(f), c,
				(uint64_t)atomic_load(&st->errors),
				(uint64_t)atomic_load(&st->total_usec) / c,
				(uint64_t)atomic_load(&st->max_usec));
		}
		if (xl->desc->dump)
			xl->desc->dump(xl, out);
	}
	fprintf(out, "\n[internal calls]\n");
	xl_call_internal_dump(g, out);
}
