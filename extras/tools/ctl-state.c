/*
 * ctl-state.c - mortarctl's state directory: where a volume's definition,
 * status and volfiles live (ctl.h has the layout), reading and writing
 * them, and turning a definition into volgen.c's struct vg.
 *
 * Files are written under a temporary name and renamed into place; a
 * volume's volfiles are written into a new folder and exchanged with the
 * old one in one rename, so a brick or client never reads half of a new
 * set.
 */
#include "config.h"

#include "ctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char *ctl_state;	     /* absolute */
static int ctl_lock_fd = -1; /* held until exit */

void ctl_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("mortarctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void ctl_mkdir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		ctl_fail("%s: %s", path, strerror(errno));
}

void ctl_state_open(const char *dir)
{
	char *lock;

	if (dir[0] != '/')
		ctl_fail("state directory '%s': give an absolute path", dir);
	ctl_mkdir(dir);
	ctl_state = realpath(dir, NULL);
	if (!ctl_state)
		ctl_fail("state directory %s: %s", dir, strerror(errno));
	lock = vg_printf("%s/vols", ctl_state);
	ctl_mkdir(lock);
	free(lock);
	lock = vg_printf("%s/.lock", ctl_state);
	ctl_lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ctl_lock_fd < 0)
		ctl_fail("%s: %s", lock, strerror(errno));
	/* Another mortarctl changing a volume: wait for it (it is short,
	 * heal and rebalance run without the lock). */
	if (flock(ctl_lock_fd, LOCK_EX) != 0)
		ctl_fail("lock %s: %s", lock, strerror(errno));
	free(lock);
}

const char *ctl_state_dir(void)
{
	return ctl_state;
}

bool ctl_state_is_default(void)
{
	return strcmp(ctl_state, CTL_STATE_DIR_DEFAULT) == 0;
}

char *ctl_state_path(const char *rel)
{
	return vg_printf("%s/%s", ctl_state, rel);
}

char *ctl_vol_path(const char *name, const char *rel)
{
	if (!rel)
		return vg_printf("%s/vols/%s", ctl_state, name);
	return vg_printf("%s/vols/%s/%s", ctl_state, name, rel);
}

bool ctl_volume_exists(const char *name)
{
	char *def = ctl_vol_path(name, "definition");
	bool there = access(def, F_OK) == 0;

	free(def);
	return there;
}

static int ctl_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **ctl_volume_names(void)
{
	char *vols = ctl_state_path("vols");
	DIR *d = opendir(vols);
	struct dirent *de;
	char **names = vg_alloc(sizeof(*names));
	int n = 0;

	if (!d)
		ctl_fail("%s: %s", vols, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		/* Hidden names are volumes being created or deleted. */
		if (de->d_name[0] == '.' || !ctl_volume_exists(de->d_name))
			continue;
		names = realloc(names, (size_t)(n + 2) * sizeof(*names));
		if (!names)
			ctl_fail("no memory");
		names[n++] = vg_strdup(de->d_name);
	}
	closedir(d);
	names[n] = NULL;
	qsort(names, (size_t)n, sizeof(*names), ctl_cmp_names);
	free(vols);
	return names;
}

void ctl_free_names(char **names)
{
	for (int i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

static void ctl_push(char ***list, int *n, const char *s)
{
	char **l = realloc(*list, (size_t)(*n + 1) * sizeof(*l));

	if (!l)
		ctl_fail("no memory");
	l[(*n)++] = vg_strdup(s);
	*list = l;
}

/* One "key value" line of a definition. */
static void ctl_def_line(struct ctl_volume *v, const char *path, int lineno,
			 char *line)
{
	char *value = strchr(line, ' ');
	int t;

	if (!value)
		ctl_fail("%s:%d: expected 'key value'", path, lineno);
	*value++ = '\0';
	if (strcmp(line, "type") == 0) {
		t = vg_lookup(vg_type_names, value);
		if (t < 0)
			ctl_fail("%s:%d: unknown type '%s'", path, lineno,
				 value);
		v->type = (enum vg_type)t;
	} else if (strcmp(line, "replica") == 0) {
		v->replica = vg_parse_int(value, 1, 64);
	} else if (strcmp(line, "arbiter") == 0) {
		v->arbiter = vg_parse_int(value, 0, 1);
	} else if (strcmp(line, "scheduler") == 0) {
		v->scheduler = vg_strdup(value);
	} else if (strcmp(line, "transport") == 0) {
		v->transport = vg_strdup(value);
	} else if (strcmp(line, "brick") == 0) {
		ctl_push(&v->bricks, &v->nbricks, value);
	} else if (strcmp(line, "option") == 0) {
		ctl_push(&v->options, &v->noptions, value);
	} else {
		ctl_fail("%s:%d: unknown key '%s'", path, lineno, line);
	}
	if (v->replica < 0 || v->arbiter < 0)
		ctl_fail("%s:%d: bad %s '%s'", path, lineno, line, value);
}

void ctl_volume_load(const char *name, struct ctl_volume *v)
{
	char *path, *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;
	FILE *f;

	memset(v, 0, sizeof(*v));
	if (!ctl_volume_exists(name))
		ctl_fail("no volume '%s' (mortarctl volume list shows them)",
			 name);
	v->name = vg_strdup(name);
	v->replica = 1;
	path = ctl_vol_path(name, "definition");
	f = fopen(path, "re");
	if (!f)
		ctl_fail("%s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		ctl_def_line(v, path, lineno, line);
	}
	fclose(f);
	free(line);
	if (!v->transport || v->nbricks == 0)
		ctl_fail("%s: no transport or no bricks", path);
	free(path);

	path = ctl_vol_path(name, "status");
	f = fopen(path, "re");
	if (f) {
		char word[16] = "";

		if (fscanf(f, "%15s", word) == 1)
			v->status = vg_strdup(word);
		fclose(f);
	}
	if (!v->status)
		v->status = vg_strdup("created");
	free(path);
}

/* Write text to path through a temporary name. */
static void ctl_write_text(const char *path, const char *text)
{
	char *tmp = vg_printf("%s.tmp.%d", path, (int)getpid());
	size_t len = strlen(text);
	FILE *f = fopen(tmp, "we");

	if (!f)
		ctl_fail("%s: %s", tmp, strerror(errno));
	if (fwrite(text, 1, len, f) != len || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		int e = errno;

		fclose(f);
		unlink(tmp);
		ctl_fail("%s: %s", tmp, strerror(e));
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		ctl_fail("%s: %s", path, strerror(e));
	}
	free(tmp);
}

void ctl_volume_save_in(const struct ctl_volume *v, const char *dir)
{
	char *text = NULL, *path;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		ctl_fail("no memory");
	fprintf(out,
		"# Volume %s, kept by mortarctl: change it with mortarctl "
		"volume set / add-brick.\n"
		"# The brick order is the volume's structure (names stored "
		"on the bricks).\n",
		v->name);
	fprintf(out, "type %s\nreplica %d\narbiter %d\ntransport %s\n",
		vg_type_names[v->type], v->replica, v->arbiter, v->transport);
	if (v->scheduler)
		fprintf(out, "scheduler %s\n", v->scheduler);
	for (int i = 0; i < v->nbricks; i++)
		fprintf(out, "brick %s\n", v->bricks[i]);
	for (int i = 0; i < v->noptions; i++)
		fprintf(out, "option %s\n", v->options[i]);
	if (fclose(out) != 0)
		ctl_fail("no memory");
	path = vg_printf("%s/definition", dir);
	ctl_write_text(path, text);
	free(path);
	free(text);
	path = vg_printf("%s/status", dir);
	text = vg_printf("%s\n", v->status);
	ctl_write_text(path, text);
	free(path);
	free(text);
}

void ctl_volume_save(const struct ctl_volume *v)
{
	char *dir = ctl_vol_path(v->name, NULL);

	ctl_volume_save_in(v, dir);
	free(dir);
}

void ctl_volume_set_status(struct ctl_volume *v, const char *status)
{
	free(v->status);
	v->status = vg_strdup(status);
	ctl_volume_save(v);
}

void ctl_volume_free(struct ctl_volume *v)
{
	for (int i = 0; i < v->nbricks; i++)
		free(v->bricks[i]);
	for (int i = 0; i < v->noptions; i++)
		free(v->options[i]);
	free(v->bricks);
	free(v->options);
	free(v->name);
	free(v->scheduler);
	free(v->transport);
	free(v->status);
	memset(v, 0, sizeof(*v));
}

static int ctl_remove_one(const char *path, const struct stat *st, int flag,
			  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) != 0 ? -1 : 0;
	return unlink(path) != 0 ? -1 : 0;
}

int ctl_remove_tree(const char *dir)
{
	/* FTW_PHYS: a symlink is removed, never followed. */
	return nftw(dir, ctl_remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0 ? -errno
									: 0;
}

void ctl_vg_from_volume(const struct ctl_volume *v, struct vg *vg,
			const char *out_dir, const char *volfile_dir)
{
	memset(vg, 0, sizeof(*vg));
	vg->md_cache = -1;
	vg->name = v->name;
	vg->type = v->type;
	vg->replica = v->replica; /* 0 at create: volgen's default */
	vg->arbiter = v->arbiter;
	vg->scheduler = v->scheduler;
	vg->transport = v->transport;
	vg->out_dir = out_dir;
	vg->force = true;
	vg->volfile_dir = vg_normalize_dir(volfile_dir);
	if (!vg->volfile_dir)
		ctl_fail("%s cannot be written in a volfile (spaces or '#'): "
			 "choose another --state-dir",
			 volfile_dir);
	vg->nbricks = v->nbricks;
	vg->bricks = vg_alloc((size_t)v->nbricks * sizeof(*vg->bricks));
	for (int i = 0; i < v->nbricks; i++)
		vg_parse_brick(v->bricks[i], &vg->bricks[i]);
	vg->npassopts = v->noptions;
	vg->passopts =
	    vg_alloc((size_t)(v->noptions + 1) * sizeof(*vg->passopts));
	/* vg_parse_passopt() splits its string in place: a copy each. */
	for (int i = 0; i < v->noptions; i++)
		vg_parse_passopt(vg_strdup(v->options[i]), &vg->passopts[i]);
	vg_check_shape(vg);
	vg_check_duplicates(vg);
	vg_assign_ports(vg);
}

void ctl_vg_release(struct vg *vg)
{
	/* passopts[i].target is the start of each copied string. */
	for (int i = 0; i < vg->npassopts; i++)
		free(vg->passopts[i].target);
	vg_free(vg);
}

void ctl_write_volfiles(const struct ctl_volume *v, const char *vol_dir,
			int opt_index, bool *in_client, bool *in_brick)
{
	char *cur = vg_printf("%s/volfiles", vol_dir);
	char *next = vg_printf("%s/.volfiles.new", vol_dir);
	char *final = ctl_vol_path(v->name, "volfiles");
	struct vg vg;

	if (access(next, F_OK) == 0 && ctl_remove_tree(next) != 0)
		ctl_fail("%s: %s", next, strerror(errno));
	ctl_mkdir(next);
	/* The bricks serve the client volfile from where it ends up. */
	ctl_vg_from_volume(v, &vg, next, final);
	vg_generate(&vg);
	if (opt_index >= 0) {
		if (in_client)
			*in_client = vg.passopts[opt_index].in_client;
		if (in_brick)
			*in_brick = vg.passopts[opt_index].in_brick;
	}
	ctl_vg_release(&vg);
	if (access(cur, F_OK) != 0) {
		if (rename(next, cur) != 0)
			ctl_fail("%s: %s", cur, strerror(errno));
	} else {
		if (renameat2(AT_FDCWD, next, AT_FDCWD, cur, RENAME_EXCHANGE) !=
		    0)
			ctl_fail("replace %s: %s", cur, strerror(errno));
		/* next holds the old volfiles now. */
		if (ctl_remove_tree(next) != 0)
			fprintf(stderr,
				"mortarctl: warning: cannot remove %s: %s\n",
				next, strerror(errno));
	}
	free(final);
	free(cur);
	free(next);
}
