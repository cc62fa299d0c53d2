/*
 * volfile.c - parse the volfile text format into volume specs.
 *
 * The parser only checks syntax and what can be known from the text alone
 * (duplicate names, missing type, directives outside a volume).  Types,
 * options and subvolume references are checked by xl_graph_build.
 */
#include "config.h"

#include "graph.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vf_parser {
	struct xl_volfile *vf;
	struct xl_volspec *cur; /* open volume, or NULL */
	const char *filename;
	int line;
	char **err;
};

static int vf_error(struct vf_parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int vf_error(struct vf_parser *p, int line, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (asprintf(p->err, "%s:%d: %s", p->filename, line,
		     msg ? msg : "error") < 0)
		*p->err = NULL;
	free(msg);
	return -EINVAL;
}

static bool vf_name_ok(const char *s)
{
	if (!*s || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.:", *s))
			return false;
	return true;
}

/* Split off the next whitespace-separated word; NULL at end. */
static char *vf_word(char **s)
{
	char *p = *s, *w;

	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p)
		return NULL;
	w = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (*p)
		*p++ = 0;
	*s = p;
	return w;
}

static char *vf_trim(char *s)
{
	size_t n;

	while (*s && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

static int vf_begin_volume(struct vf_parser *p, char *rest)
{
	struct xl_volfile *vf = p->vf;
	struct xl_volspec *vols;
	char *name = vf_word(&rest);

	if (p->cur)
		return vf_error(p, p->line,
				"'volume' inside volume '%s' (missing "
				"'end-volume' for line %d)",
				p->cur->name, p->cur->line);
	if (!name || vf_word(&rest))
		return vf_error(p, p->line, "'volume' takes exactly one name");
	if (!vf_name_ok(name))
		return vf_error(p, p->line,
				"bad volume name '%s' (letters, digits, "
				"'-', '_', '.', ':')",
				name);
	for (int i = 0; i < vf->volume_count; i++)
		if (strcmp(vf->volumes[i].name, name) == 0)
			return vf_error(p, p->line,
					"volume '%s' already defined at line "
					"%d",
					name, vf->volumes[i].line);
	vols = realloc(vf->volumes,
		       (size_t)(vf->volume_count + 1) * sizeof(*vols));
	if (!vols)
		return -ENOMEM;
	vf->volumes = vols;
	p->cur = &vols[vf->volume_count++];
	memset(p->cur, 0, sizeof(*p->cur));
	p->cur->line = p->line;
	p->cur->name = strdup(name);
	return p->cur->name ? 0 : -ENOMEM;
}

static int vf_add_option(struct vf_parser *p, char *rest)
{
	struct xl_volspec *v = p->cur;
	struct xl_volspec_option *opts;
	char *key = vf_word(&rest);
	char *value = key ? vf_trim(rest) : NULL;

	if (!key || !*value)
		return vf_error(p, p->line, "'option' needs a key and a value");
	for (int i = 0; i < v->option_count; i++)
		if (strcmp(v->options[i].key, key) == 0)
			return vf_error(p, p->line,
					"option '%s' given twice in volume "
					"'%s' (first at line %d)",
					key, v->name, v->options[i].line);
	opts =
	    realloc(v->options, (size_t)(v->option_count + 1) * sizeof(*opts));
	if (!opts)
		return -ENOMEM;
	v->options = opts;
	opts[v->option_count].key = strdup(key);
	opts[v->option_count].value = strdup(value);
	opts[v->option_count].line = p->line;
	v->option_count++;
	if (!opts[v->option_count - 1].key || !opts[v->option_count - 1].value)
		return -ENOMEM;
	return 0;
}

static int vf_add_subvolumes(struct vf_parser *p, char *rest)
{
	struct xl_volspec *v = p->cur;
	char *name;

	if (v->subvolume_count)
		return vf_error(p, p->line,
				"'subvolumes' given twice in "
				"volume '%s'",
				v->name);
	while ((name = vf_word(&rest))) {
		char **names =
		    realloc(v->subvolumes,
			    (size_t)(v->subvolume_count + 1) * sizeof(*names));
		int *lines;
		if (!names)
			return -ENOMEM;
		v->subvolumes = names;
		lines =
		    realloc(v->subvolume_lines,
			    (size_t)(v->subvolume_count + 1) * sizeof(*lines));
		if (!lines)
			return -ENOMEM;
		v->subvolume_lines = lines;
		for (int i = 0; i < v->subvolume_count; i++)
			if (strcmp(names[i], name) == 0)
				return vf_error(p, p->line,
						"subvolume '%s' listed twice",
						name);
		names[v->subvolume_count] = strdup(name);
		lines[v->subvolume_count] = p->line;
		if (!names[v->subvolume_count])
			return -ENOMEM;
		v->subvolume_count++;
	}
	if (!v->subvolume_count)
		return vf_error(p, p->line,
				"'subvolumes' needs at least one "
				"name");
	return 0;
}

static int vf_line(struct vf_parser *p, char *line)
{
	char *hash = strchr(line, '#');
	char *rest = line, *word;

	/* '#' starts a comment at the line start or after white space, so
	 * option values may still contain it. */
	if (hash && (hash == line || isspace((unsigned char)hash[-1])))
		*hash = 0;
	word = vf_word(&rest);
	if (!word)
		return 0;
	if (strcmp(word, "volume") == 0)
		return vf_begin_volume(p, rest);
	if (!p->cur)
		return vf_error(p, p->line,
				"'%s' outside a volume (expected 'volume "
				"NAME')",
				word);
	if (strcmp(word, "end-volume") == 0) {
		if (vf_word(&rest))
			return vf_error(p, p->line,
					"'end-volume' takes no "
					"arguments");
		if (!p->cur->type)
			return vf_error(p, p->cur->line,
					"volume '%s' has no 'type'",
					p->cur->name);
		p->cur = NULL;
		return 0;
	}
	if (strcmp(word, "type") == 0) {
		char *type = vf_word(&rest);
		if (!type || vf_word(&rest))
			return vf_error(p, p->line,
					"'type' takes exactly one value "
					"(e.g. storage/posix)");
		if (p->cur->type)
			return vf_error(p, p->line, "'type' given twice");
		if (!strchr(type, '/') || strstr(type, "..") || type[0] == '/')
			return vf_error(p, p->line,
					"bad type '%s' (expected "
					"CATEGORY/NAME)",
					type);
		p->cur->type = strdup(type);
		return p->cur->type ? 0 : -ENOMEM;
	}
	if (strcmp(word, "option") == 0)
		return vf_add_option(p, rest);
	if (strcmp(word, "subvolumes") == 0)
		return vf_add_subvolumes(p, rest);
	return vf_error(p, p->line,
			"unknown directive '%s' (expected type, option, "
			"subvolumes or end-volume)",
			word);
}

int xl_volfile_parse(const char *text, size_t len, const char *filename,
		     struct xl_volfile **out, char **err)
{
	struct vf_parser p = {.filename = filename ? filename : "<volfile>",
			      .err = err};
	int ret = 0;
	size_t pos = 0;

	*err = NULL;
	*out = NULL;
	p.vf = calloc(1, sizeof(*p.vf));
	if (!p.vf || !(p.vf->filename = strdup(p.filename))) {
		ret = -ENOMEM;
		goto out;
	}
	while (pos < len && ret == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *line = strndup(text + pos, n);
		p.line++;
		if (!line) {
			ret = -ENOMEM;
			break;
		}
		if (strlen(line) != n)
			ret = vf_error(&p, p.line, "NUL byte in volfile");
		else
			ret = vf_line(&p, line);
		free(line);
		pos += n + 1;
	}
	if (ret == 0 && p.cur)
		ret = vf_error(&p, p.cur->line,
			       "volume '%s' has no 'end-volume'", p.cur->name);
	if (ret == 0 && p.vf->volume_count == 0)
		ret = vf_error(&p, p.line ? p.line : 1, "no volumes defined");
out:
	if (ret == -ENOMEM && !*err)
		*err = strdup("out of memory parsing volfile");
	if (ret) {
		xl_volfile_free(p.vf);
		return ret;
	}
	*out = p.vf;
	return 0;
}

int xl_volfile_read(const char *path, struct xl_volfile **out, char **err)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int ret;

	*err = NULL;
	if (!f) {
		ret = -errno;
		if (asprintf(err, "%s: cannot open volfile: %s", path,
			     strerror(-ret)) < 0)
			*err = NULL;
		return ret;
	}
	for (;;) {
		if (len + 4096 > cap) {
			char *t;
			cap = cap ? cap * 2 : 8192;
			if (cap > (16u << 20) || !(t = realloc(text, cap))) {
				free(text);
				fclose(f);
				if (asprintf(err, "%s: volfile too large",
					     path) < 0)
					*err = NULL;
				return -EFBIG;
			}
			text = t;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	ret = xl_volfile_parse(text ? text : "", len, path, out, err);
	free(text);
	return ret;
}

void xl_volfile_free(struct xl_volfile *vf)
{
	if (!vf)
		return;
	for (int i = 0; i < vf->volume_count; i++) {
		struct xl_volspec *v = &vf->volumes[i];
		free(v->name);
		free(v->type);
		for (int j = 0; j < v->option_count; j++) {
			free(v->options[j].key);
			free(v->options[j].value);
		}
		free(v->options);
		for (int j = 0; j < v->subvolume_count; j++)
			free(v->subvolumes[j]);
		free(v->subvolumes);
		free(v->subvolume_lines);
	}
	free(vf->volumes);
	free(vf->filename);
	free(vf);
}
