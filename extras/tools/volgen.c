/*
 * volgen.c - the volume generator's core, shared by mortar-volgen and
 * mortarctl (volgen.h): parse bricks and --options, refuse bad volumes,
 * and write the volfiles of a volume.
 *
 * TYPE is unify, distribute, replicate, distributed-replicate or
 * unify-replicate; a BRICK is HOST:DIR or HOST:PORT:DIR ([V6ADDR]:... for
 * IPv6).  vg_generate() writes, in the output directory, NAME.vol (the
 * client graph) and NAME-brick-<i>.vol (one server graph per brick),
 * named as doc/cluster.md "Volume graphs made by volgen" says.  Those
 * names are stored on the bricks (replicate's changelog xattrs name the
 * client volumes, distribute's linkto files name its subvolumes), so the
 * same brick list in the same order always gives the same names.
 *
 * The graphs are first built in memory (struct vg_volume), then the
 * --option passthroughs are applied and checked against the translators'
 * own option tables (when a translator cannot be loaded the option is
 * written unchecked, with a warning: the cluster translators may be built
 * after volgen), then every file is written to a temporary name and
 * renamed into place.  Existing volfiles are only replaced with force.
 */
#include "config.h"

#include "volgen.h"

#include "graph.h"
#include "volfile-version.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *vg_progname = "mortar-volgen";

const char *const vg_type_names[] = {
    [VG_UNIFY] = "unify",
    [VG_DISTRIBUTE] = "distribute",
    [VG_REPLICATE] = "replicate",
    [VG_DIST_REPLICATE] = "distributed-replicate",
    [VG_UNIFY_REPLICATE] = "unify-replicate",
    NULL,
};

const char *const vg_schedulers[] = {"rr", "random", "alu", "nufa", NULL};
const char *const vg_transports[] = {"tcp", "rdma", NULL};

/* Keys volgen derives from the brick list and its own options: an
 * --option for them would make the graphs disagree with each other. */
static const char *const vg_reserved_keys[] = {
    "remote-host", "remote-port",   "remote-subvolume",
    "directory",   "listen-port",   "transport-type",
    "scheduler",   "arbiter-count", NULL};

void vg_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", vg_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void *vg_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		vg_fail("no memory");
	return p;
}

char *vg_strdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		vg_fail("no memory");
	return p;
}

char *vg_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		vg_fail("no memory");
	return s;
}

/* ---- argument checks --------------------------------------------------- */

/* A value that goes into a volfile line must stay one token-safe line. */
static bool vg_value_ok(const char *v)
{
	if (!v || !*v)
		return false;
	for (const char *p = v; *p; p++)
		if (*p == '#' || iscntrl((unsigned char)*p))
			return false;
	return true;
}

bool vg_name_ok(const char *n, char *why, size_t whylen)
{
	size_t len = strlen(n);
	const char *p;

	if (len == 0 || len > VG_NAME_MAX) {
		snprintf(why, whylen, "1 to %d characters", VG_NAME_MAX);
		return false;
	}
	if (!isalnum((unsigned char)n[0])) {
		snprintf(why, whylen, "must start with a letter or digit");
		return false;
	}
	for (p = n; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) {
			snprintf(why, whylen,
				 "only letters, digits, '.', '_' and '-'");
			return false;
		}
	/* NAME-brick-<i>.vol of another volume in the same directory. */
	p = strstr(n, "-brick-");
	if (p && p[7] && strspn(p + 7, "0123456789") == strlen(p + 7)) {
		snprintf(why, whylen, "must not end in -brick-<number>");
		return false;
	}
	return true;
}

int vg_parse_int(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	return (int)v;
}

static bool vg_host_ok(const char *h, bool bracketed)
{
	struct in6_addr a6;

	if (bracketed)
		return inet_pton(AF_INET6, h, &a6) == 1;
	if (!*h || strlen(h) > 253 || h[0] == '-' || h[0] == '.')
		return false;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

/* "/a//b/" -> "/a/b"; NULL for a relative path, "/" alone, "." or ".."
 * components, or characters a volfile line cannot carry. */
char *vg_normalize_dir(const char *dir)
{
	char *out, *o;
	const char *p = dir;

	if (dir[0] != '/' || !vg_value_ok(dir) || strpbrk(dir, " \t"))
		return NULL;
	out = vg_alloc(strlen(dir) + 1);
	o = out;
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			free(out);
			return NULL;
		}
		*o++ = '/';
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	if (o == out) {
		free(out);
		return NULL;
	}
	return out;
}

/* HOST:DIR, HOST:PORT:DIR, [V6]:DIR, [V6]:PORT:DIR. */
void vg_parse_brick(const char *arg, struct vg_brick *b)
{
	const char *rest, *colon;
	char *host;
	bool bracketed = false;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':')
			vg_fail("brick '%s': expected [ADDRESS]:DIR", arg);
		host = strndup(arg + 1, (size_t)(close - arg - 1));
		rest = close + 2;
		bracketed = true;
	} else {
		colon = strchr(arg, ':');
		if (!colon)
			vg_fail("brick '%s': expected HOST:DIR or "
				"HOST:PORT:DIR",
				arg);
		host = strndup(arg, (size_t)(colon - arg));
		rest = colon + 1;
	}
	if (!host)
		vg_fail("no memory");
	if (!vg_host_ok(host, bracketed))
		vg_fail("brick '%s': bad host '%s'", arg, host);
	b->host = host;
	if (rest[0] != '/') {
		char port[8];

		colon = strchr(rest, ':');
		if (!colon || (size_t)(colon - rest) >= sizeof(port))
			vg_fail("brick '%s': expected HOST:PORT:DIR with an "
				"absolute DIR",
				arg);
		memcpy(port, rest, (size_t)(colon - rest));
		port[colon - rest] = '\0';
		b->port = vg_parse_int(port, 1, 65535);
		if (b->port < 0)
			vg_fail("brick '%s': bad port '%s' (1..65535)", arg,
				port);
		rest = colon + 1;
	}
	b->dir = vg_normalize_dir(rest);
	if (!b->dir)
		vg_fail("brick '%s': DIR must be an absolute path other than "
			"/, without '.' or '..' components, spaces or '#'",
			arg);
}

static bool vg_reserved(const char *key)
{
	for (int i = 0; vg_reserved_keys[i]; i++)
		if (strcmp(key, vg_reserved_keys[i]) == 0)
			return true;
	return false;
}

/* XL:KEY=VALUE, split in place (arg is argv memory). */
void vg_parse_passopt(char *arg, struct vg_passopt *po)
{
	char *colon = strchr(arg, ':'), *eq;

	if (!colon || colon == arg)
		vg_fail("--option '%s': expected XL:KEY=VALUE", arg);
	eq = strchr(colon + 1, '=');
	if (!eq || eq == colon + 1)
		vg_fail("--option '%s': expected XL:KEY=VALUE", arg);
	*colon = '\0';
	*eq = '\0';
	po->target = arg;
	po->key = colon + 1;
	po->value = eq + 1;
	if (strpbrk(po->key, " \t#") || !vg_value_ok(po->key))
		vg_fail("--option %s: bad key '%s'", po->target, po->key);
	if (!vg_value_ok(po->value))
		vg_fail("--option %s:%s: bad value '%s' (empty, or has '#' "
			"or a control character)",
			po->target, po->key, po->value);
	if (vg_reserved(po->key))
		vg_fail("--option %s:%s: volgen sets %s itself (from the "
			"brick list, --transport or --scheduler)",
			po->target, po->key, po->key);
}

int vg_lookup(const char *const *list, const char *s)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

/* ---- the volume's shape ------------------------------------------------ */

bool vg_is_replicated(enum vg_type t)
{
	return t == VG_REPLICATE || t == VG_DIST_REPLICATE ||
	       t == VG_UNIFY_REPLICATE;
}

bool vg_is_unify(enum vg_type t)
{
	return t == VG_UNIFY || t == VG_UNIFY_REPLICATE;
}

void vg_check_shape(struct vg *vg)
{
	const char *tn = vg_type_names[vg->type];

	if (vg_is_replicated(vg->type)) {
		if (vg->type == VG_REPLICATE && vg->replica == 0)
			vg->replica = vg->nbricks;
		if (vg->replica == 0)
			vg_fail("type %s needs --replica N (N >= 2)", tn);
		if (vg->replica < 2)
			vg_fail("type %s needs --replica 2 or more (got %d)",
				tn, vg->replica);
		if (vg->type == VG_REPLICATE && vg->replica != vg->nbricks)
			vg_fail("type replicate keeps every file on all %d "
				"bricks, not %d: give %d bricks or use "
				"distributed-replicate",
				vg->nbricks, vg->replica, vg->replica);
		if (vg->nbricks % vg->replica != 0)
			vg_fail("%d bricks are not a multiple of --replica %d",
				vg->nbricks, vg->replica);
		if (vg->arbiter > 1 || (vg->arbiter && vg->replica != 3))
			vg_fail("--arbiter %d with --replica %d: an arbiter "
				"set is --replica 3 --arbiter 1 (two data "
				"copies and one arbiter)",
				vg->arbiter, vg->replica);
	} else if (vg->arbiter) {
		vg_fail("type %s keeps one copy of each file: --arbiter needs "
			"a replicated type",
			tn);
	} else if (vg->replica > 1) {
		vg_fail("type %s keeps one copy of each file: --replica %d "
			"needs %s-replicate",
			tn, vg->replica,
			vg->type == VG_UNIFY ? "unify" : "distributed");
	} else {
		vg->replica = 1;
	}
	if (vg->scheduler && !vg_is_unify(vg->type))
		vg_fail("--scheduler is for unify and unify-replicate, not %s",
			tn);
	if (vg_is_unify(vg->type) && !vg->scheduler)
		vg->scheduler = "rr";
}

/* Same directory on the same host twice would be one brick counted as
 * two: replicas that are not copies.  Same host and port twice cannot
 * both listen. */
void vg_check_duplicates(const struct vg *vg)
{
	for (int i = 0; i < vg->nbricks; i++)
		for (int j = 0; j < i; j++) {
			const struct vg_brick *a = &vg->bricks[j],
					      *b = &vg->bricks[i];

			if (strcmp(a->host, b->host) != 0)
				continue;
			if (strcmp(a->dir, b->dir) == 0)
				vg_fail("brick %d and brick %d are both "
					"%s:%s",
					j, i, a->host, a->dir);
			if (a->port && a->port == b->port)
				vg_fail("brick %d and brick %d both listen "
					"on %s port %d",
					j, i, a->host, a->port);
		}
}

static bool vg_port_taken(const struct vg *vg, const char *host, int port)
{
	for (int i = 0; i < vg->nbricks; i++)
		if (vg->bricks[i].port == port &&
		    strcmp(vg->bricks[i].host, host) == 0)
			return true;
	return false;
}

/* Bricks without a port: the lowest free port from 24010 on their host,
 * in brick order. */
void vg_assign_ports(struct vg *vg)
{
	for (int i = 0; i < vg->nbricks; i++) {
		struct vg_brick *b = &vg->bricks[i];
		int p = VG_DEFAULT_PORT;

		if (b->port)
			continue;
		while (vg_port_taken(vg, b->host, p))
			p++;
		if (p > 65535)
			vg_fail("no port left for brick %d on %s", i, b->host);
		b->port = p;
	}
}

/* ---- the graphs ---------------------------------------------------------- */

static struct vg_volume *vg_add_volume(struct vg_file *f, char *name,
				       const char *type)
{
	struct vg_volume *v;

	v = realloc(f->vols, (size_t)(f->nvols + 1) * sizeof(*v));
	if (!v)
		vg_fail("no memory");
	f->vols = v;
	v = &f->vols[f->nvols++];
	memset(v, 0, sizeof(*v));
	v->name = name;
	v->type = type;
	return v;
}

/* Set key (replacing an earlier value). */
static void vg_set(struct vg_volume *v, const char *key, const char *value)
{
	for (int i = 0; i < v->nopts; i++)
		if (strcmp(v->opts[i].key, key) == 0) {
			free(v->opts[i].value);
			v->opts[i].value = vg_strdup(value);
			return;
		}
	if (v->nopts == VG_MAX_OPTS)
		vg_fail("volume %s: too many options", v->name);
	v->opts[v->nopts].key = vg_strdup(key);
	v->opts[v->nopts].value = vg_strdup(value);
	v->nopts++;
}

static void vg_add_subvol(struct vg_volume *v, const char *name)
{
	char **s = realloc(v->subvols, (size_t)(v->nsubvols + 1) * sizeof(*s));

	if (!s)
		vg_fail("no memory");
	v->subvols = s;
	s[v->nsubvols++] = vg_strdup(name);
}

/* A numeric address is bound as given; a host name may resolve to a
 * loopback alias on its own machine (Debian's 127.0.1.1), so the brick
 * listens on every address instead. */
static const char *vg_listen_host(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1)
		return host;
	return "0.0.0.0";
}

/* The last brick of each replica set of an arbiter volume. */
static bool vg_brick_is_arbiter(const struct vg *vg, int i)
{
	return vg->arbiter && i % vg->replica == vg->replica - 1;
}

/* --tls: tls on, and with --tls-dir the files DIR/<who>.crt,
 * DIR/<who>.key and DIR/ca.crt (without it the translators' defaults,
 * the same names under /etc/mortar/tls). */
static void vg_set_tls(const struct vg *vg, struct vg_volume *v,
		       const char *who)
{
	char *path;

	if (!vg->tls)
		return;
	vg_set(v, "tls", "on");
	if (!vg->tls_dir)
		return;
	path = vg_printf("%s/%s.crt", vg->tls_dir, who);
	vg_set(v, "tls-cert", path);
	free(path);
	path = vg_printf("%s/%s.key", vg->tls_dir, who);
	vg_set(v, "tls-key", path);
	free(path);
	path = vg_printf("%s/ca.crt", vg->tls_dir);
	vg_set(v, "tls-ca", path);
	free(path);
}

static void vg_build_brick_file(struct vg *vg, int i, struct vg_file *f)
{
	const struct vg_brick *b = &vg->bricks[i];
	struct vg_volume *v;
	char port[8];

	snprintf(port, sizeof(port), "%d", b->port);
	f->filename = vg_printf("%s-brick-%d.vol", vg->name, i);
	f->comment = vg_printf(
	    "# Brick %d of volume %s: %s:%d:%s%s\n"
	    "# Generated by mortar-volgen; run with: brickd -f %s/%s\n",
	    i, vg->name, b->host, b->port, b->dir,
	    vg_brick_is_arbiter(vg, i) ? " (arbiter: no file data)" : "",
	    vg->volfile_dir, f->filename);
	v = vg_add_volume(f, vg_printf("%s-brick-%d-posix", vg->name, i),
			  "storage/posix");
	vg_set(v, "directory", b->dir);
	if (vg_brick_is_arbiter(vg, i)) {
		v = vg_add_volume(f,
				  vg_printf("%s-brick-%d-arbiter", vg->name, i),
				  "features/arbiter");
		vg_add_subvol(v, f->vols[f->nvols - 2].name);
	}
	v = vg_add_volume(f, vg_printf("%s-brick-%d-locks", vg->name, i),
			  "features/locks");
	vg_add_subvol(v, f->vols[f->nvols - 2].name);
	/* Cache notices for the clients' md-cache. */
	v = vg_add_volume(f, vg_printf("%s-brick-%d-upcall", vg->name, i),
			  "features/upcall");
	vg_add_subvol(v, f->vols[f->nvols - 2].name);
	/* What clients attach to (remote-subvolume). */
	v = vg_add_volume(f, vg_printf("%s-brick-%d", vg->name, i),
			  "performance/io-threads");
	vg_add_subvol(v, f->vols[f->nvols - 2].name);
	v = vg_add_volume(f, vg_printf("%s-brick-%d-server", vg->name, i),
			  "protocol/server");
	vg_set(v, "listen-host", vg_listen_host(b->host));
	vg_set(v, "listen-port", port);
	vg_set(v, "transport-type", vg->transport);
	vg_set(v, "volfile-dir", vg->volfile_dir);
	vg_set_tls(vg, v, "server");
	vg_add_subvol(v, f->vols[f->nvols - 2].name);
}

static void vg_build_client_file(struct vg *vg, struct vg_file *f)
{
	int nsets = vg->nbricks / vg->replica;
	struct vg_volume *v;
	char port[8], *remote;
	const char *under; /* what the top volume stacks on */

	f->filename = vg_printf("%s.vol", vg->name);
	f->comment = vg_printf(
	    "# Client volfile of volume %s: %s, %d brick%s, replica %d\n"
	    "# Generated by mortar-volgen.  The volume names below are "
	    "stored on the\n"
	    "# bricks (changelog and linkto xattrs): regenerate with the "
	    "same brick\n"
	    "# order instead of renaming.\n",
	    vg->name, vg_type_names[vg->type], vg->nbricks,
	    vg->nbricks == 1 ? "" : "s", vg->replica);
	for (int i = 0; i < vg->nbricks; i++) {
		v = vg_add_volume(f, vg_printf("%s-client-%d", vg->name, i),
				  "protocol/client");
		snprintf(port, sizeof(port), "%d", vg->bricks[i].port);
		vg_set(v, "remote-host", vg->bricks[i].host);
		vg_set(v, "remote-port", port);
		remote = vg_printf("%s-brick-%d", vg->name, i);
		vg_set(v, "remote-subvolume", remote);
		free(remote);
		vg_set(v, "transport-type", vg->transport);
		vg_set_tls(vg, v, "client");
	}
	if (vg->replica > 1) {
		for (int j = 0; j < nsets; j++) {
			v = vg_add_volume(
			    f, vg_printf("%s-replicate-%d", vg->name, j),
			    "cluster/replicate");
			for (int k = 0; k < vg->replica; k++)
				vg_add_subvol(
				    v, f->vols[j * vg->replica + k].name);
			if (vg->arbiter)
				vg_set(v, "arbiter-count", "1");
		}
	}
	if (vg->type != VG_REPLICATE) {
		int first = vg->replica > 1 ? vg->nbricks : 0;
		int count = vg->replica > 1 ? nsets : vg->nbricks;

		if (vg_is_unify(vg->type)) {
			v = vg_add_volume(f, vg_printf("%s-unify", vg->name),
					  "cluster/unify");
			vg_set(v, "scheduler", vg->scheduler);
		} else {
			v = vg_add_volume(f, vg_printf("%s-dht", vg->name),
					  "cluster/distribute");
		}
		for (int k = 0; k < count; k++)
			vg_add_subvol(v, f->vols[first + k].name);
	}
	if (!vg->no_write_behind) {
		under = f->vols[f->nvols - 1].name;
		v = vg_add_volume(f, vg_printf("%s-write-behind", vg->name),
				  "performance/write-behind");
		vg_add_subvol(v, under);
	}
	/* Above write-behind, so cached sizes include the writes in flight
	 * (md-cache.c).  The cluster translators mark what is not settled
	 * (a copy to heal, a split-brain, a repaired directory) no-cache,
	 * so it never answers what they would refuse or heal. */
	/* Default: in, except on arbiter volumes, where a read after the good
	 * data brick came back and was healed still failed with EIO about
	 * half the time with md-cache (replicate-arbiter.t), and the cause is
	 * not found yet. */
	if (vg->md_cache > 0 || (vg->md_cache < 0 && !vg->arbiter)) {
		under = f->vols[f->nvols - 1].name;
		v = vg_add_volume(f, vg_printf("%s-md-cache", vg->name),
				  "performance/md-cache");
		vg_add_subvol(v, under);
	}
	under = f->vols[f->nvols - 1].name;
	/* The top carries the volume's name; the client-side performance
	 * translators stack below it.  With logging off it only passes
	 * calls through. */
	v = vg_add_volume(f, vg_strdup(vg->name), "debug/trace");
	vg_set(v, "log-wind", "off");
	vg_set(v, "log-unwind", "off");
	vg_add_subvol(v, under);
}

/* ---- --option passthrough ------------------------------------------------ */

/* Check key=value against the translator's table.  A translator that
 * cannot be loaded (not built or installed yet) is a warning. */
static void vg_check_passopt(const struct vg_passopt *po, const char *type)
{
	const struct xl_desc *desc = NULL;
	const struct xl_option_desc *od;
	void *handle = NULL;
	char *err = NULL;

	if (xl_load_desc(type, &desc, &handle, &err) != 0) {
		fprintf(stderr,
			"mortar-volgen: warning: cannot check --option "
			"%s:%s (%s); written unchecked\n",
			po->target, po->key, err ? err : "cannot load");
		free(err);
		return;
	}
	od = desc->options ? xl_option_find(desc->options, po->key) : NULL;
	if (!od)
		vg_fail("--option %s:%s: %s has no option '%s' (see "
			"mortar-options %s)",
			po->target, po->key, type, po->key, type);
	if (xl_option_validate(od, po->value, &err) != 0)
		vg_fail("--option %s:%s=%s: %s", po->target, po->key, po->value,
			err ? err : "bad value");
	dlclose(handle);
}

/* Apply every --option to the volumes it names (by type or by name);
 * one that matches nothing is a mistake worth stopping for. */
static void vg_apply_passopts(struct vg *vg)
{
	for (int p = 0; p < vg->npassopts; p++) {
		struct vg_passopt *po = &vg->passopts[p];
		bool by_type = strchr(po->target, '/') != NULL;
		const char *checked_type = NULL;

		for (int f = 0; f < vg->nfiles; f++)
			for (int i = 0; i < vg->files[f].nvols; i++) {
				struct vg_volume *v = &vg->files[f].vols[i];

				if (strcmp(by_type ? v->type : v->name,
					   po->target) != 0)
					continue;
				if (!checked_type ||
				    strcmp(checked_type, v->type) != 0) {
					vg_check_passopt(po, v->type);
					checked_type = v->type;
				}
				vg_set(v, po->key, po->value);
				po->used = true;
				if (f == 0)
					po->in_client = true;
				else
					po->in_brick = true;
			}
		if (!po->used)
			vg_fail("--option %s:%s: no %s '%s' in the volfiles of "
				"a %s volume",
				po->target, po->key,
				by_type ? "translator of type" : "volume named",
				po->target, vg_type_names[vg->type]);
	}
}

/* ---- output ----------------------------------------------------------------
 */

static char *vg_render(const struct vg_file *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		vg_fail("no memory");
	fputs(f->comment, out);
	for (int i = 0; i < f->nvols; i++) {
		const struct vg_volume *v = &f->vols[i];

		fprintf(out, "\nvolume %s\n    type %s\n", v->name, v->type);
		for (int k = 0; k < v->nopts; k++)
			fprintf(out, "    option %s %s\n", v->opts[k].key,
				v->opts[k].value);
		if (v->nsubvols) {
			fputs("    subvolumes", out);
			for (int k = 0; k < v->nsubvols; k++)
				fprintf(out, " %s", v->subvols[k]);
			fputc('\n', out);
		}
		fputs("end-volume\n", out);
	}
	if (fclose(out) != 0)
		vg_fail("no memory");
	return text;
}

/* Our own output must parse: a check that the names and values we let
 * through really are volfile-safe. */
static void vg_self_check(const struct vg_file *f, const char *text)
{
	struct xl_volfile *vf = NULL;
	char *err = NULL;

	if (xl_volfile_parse(text, strlen(text), f->filename, &vf, &err) != 0)
		vg_fail("internal error: generated %s does not parse: %s",
			f->filename, err ? err : "?");
	xl_volfile_free(vf);
}

static void vg_write_file(const struct vg *vg, const char *filename,
			  const char *text)
{
	char *path = vg_printf("%s/%s", vg->out_dir, filename);
	char *tmp =
	    vg_printf("%s/.%s.tmp.%d", vg->out_dir, filename, (int)getpid());
	size_t len = strlen(text);
	FILE *out;

	out = fopen(tmp, "w");
	if (!out)
		vg_fail("%s: %s", tmp, strerror(errno));
	if (fwrite(text, 1, len, out) != len || fflush(out) != 0 ||
	    fsync(fileno(out)) != 0) {
		int e = errno;

		fclose(out);
		unlink(tmp);
		vg_fail("%s: %s", tmp, strerror(e));
	}
	if (fclose(out) != 0 || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		vg_fail("%s: %s", path, strerror(e));
	}
	free(tmp);
	free(path);
}

/* NAME-brick-<digits>.vol */
static bool vg_is_brick_file(const struct vg *vg, const char *fn, int *index)
{
	size_t nl = strlen(vg->name);
	const char *p;
	char *end;
	long i;

	if (strncmp(fn, vg->name, nl) != 0 || strncmp(fn + nl, "-brick-", 7))
		return false;
	p = fn + nl + 7;
	if (!isdigit((unsigned char)*p))
		return false;
	i = strtol(p, &end, 10);
	if (strcmp(end, ".vol") != 0 || i > INT_MAX)
		return false;
	*index = (int)i;
	return true;
}

/* Without --force, any volfile of NAME already there stops us (it may
 * describe bricks that hold data under other names).  With --force,
 * brick volfiles beyond the new brick count are removed. */
static void vg_check_existing(const struct vg *vg, bool remove_stale)
{
	DIR *d = opendir(vg->out_dir);
	struct dirent *de;
	char client[VG_NAME_MAX + 8];
	int idx;

	if (!d)
		vg_fail("--out %s: %s", vg->out_dir, strerror(errno));
	snprintf(client, sizeof(client), "%s.vol", vg->name);
	while ((de = readdir(d)) != NULL) {
		bool brick = vg_is_brick_file(vg, de->d_name, &idx);

		if (!brick && strcmp(de->d_name, client) != 0)
			continue;
		if (!vg->force)
			vg_fail("%s/%s exists: volume %s was generated "
				"before (--force replaces its volfiles)",
				vg->out_dir, de->d_name, vg->name);
		if (remove_stale && brick && idx >= vg->nbricks) {
			char *path =
			    vg_printf("%s/%s", vg->out_dir, de->d_name);

			if (unlink(path) != 0)
				vg_fail("%s: %s", path, strerror(errno));
			free(path);
		}
	}
	closedir(d);
}

static void vg_prepare_out(struct vg *vg)
{
	struct stat st;

	if (mkdir(vg->out_dir, 0755) != 0 && errno != EEXIST)
		vg_fail("--out %s: %s", vg->out_dir, strerror(errno));
	if (stat(vg->out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		vg_fail("--out %s: not a directory", vg->out_dir);
	if (!vg->volfile_dir) {
		char *abs = realpath(vg->out_dir, NULL);

		if (!abs)
			vg_fail("--out %s: %s", vg->out_dir, strerror(errno));
		vg->volfile_dir = vg_normalize_dir(abs);
		if (!vg->volfile_dir)
			vg_fail("--out %s (%s) cannot be written in a volfile "
				"(spaces or '#'): give --volfile-dir",
				vg->out_dir, abs);
		free(abs);
	}
	vg_check_existing(vg, false);
}

void vg_free(struct vg *vg)
{
	for (int f = 0; f < vg->nfiles; f++) {
		struct vg_file *file = &vg->files[f];

		for (int i = 0; i < file->nvols; i++) {
			struct vg_volume *v = &file->vols[i];

			for (int k = 0; k < v->nopts; k++) {
				free(v->opts[k].key);
				free(v->opts[k].value);
			}
			for (int k = 0; k < v->nsubvols; k++)
				free(v->subvols[k]);
			free(v->subvols);
			free(v->name);
		}
		free(file->vols);
		free(file->filename);
		free(file->comment);
	}
	free(vg->files);
	for (int i = 0; i < vg->nbricks; i++) {
		free(vg->bricks[i].host);
		free(vg->bricks[i].dir);
	}
	free(vg->bricks);
	free(vg->passopts);
	free(vg->volfile_dir);
	free(vg->tls_dir);
}

/* The whole text of path (malloc'd), or NULL when it cannot be read. */
static char *vg_slurp(const char *path)
{
	FILE *in = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0, len = 0, n;

	if (!in)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = 2 * cap + 4096 + 1;
			text = realloc(text, cap);
			if (!text)
				vg_fail("no memory");
		}
		n = fread(text + len, 1, cap - len - 1, in);
		len += n;
	} while (n > 0);
	fclose(in);
	text[len] = '\0';
	return text;
}

/*
 * The client volfile carries "# version N" (volfile-version.h): mounted
 * clients switch to it live when N grows.  N is the old file's number
 * when the text did not change (a client has nothing to switch to), and
 * one more when it did, so a regeneration with other bricks or options
 * always reaches the clients.
 */
static char *vg_render_client(struct vg *vg)
{
	struct vg_file *f = &vg->files[0];
	char *path = vg_printf("%s/%s", vg->out_dir, f->filename);
	char *old = vg_slurp(path);
	struct xl_volfile_version ov = {0};
	char *body = vg_render(f), *text;

	if (old)
		xl_volfile_version_of(old, strlen(old), &ov);
	text = vg_printf("# version %llu\n%s", (unsigned long long)ov.number,
			 body);
	if (!old || strcmp(old, text) != 0) {
		free(text);
		text = vg_printf("# version %llu\n%s",
				 (unsigned long long)ov.number + 1, body);
	}
	free(body);
	free(old);
	free(path);
	return text;
}

void vg_generate(struct vg *vg)
{
	char **texts;

	vg_prepare_out(vg);
	vg->nfiles = 1 + vg->nbricks;
	vg->files = vg_alloc((size_t)vg->nfiles * sizeof(*vg->files));
	vg_build_client_file(vg, &vg->files[0]);
	for (int i = 0; i < vg->nbricks; i++)
		vg_build_brick_file(vg, i, &vg->files[1 + i]);
	vg_apply_passopts(vg);

	/* Render and check everything before the first write. */
	texts = vg_alloc((size_t)vg->nfiles * sizeof(*texts));
	for (int f = 0; f < vg->nfiles; f++) {
		texts[f] =
		    f == 0 ? vg_render_client(vg) : vg_render(&vg->files[f]);
		vg_self_check(&vg->files[f], texts[f]);
	}
	vg_check_existing(vg, true);
	/* Bricks first: a client volfile never names a brick volfile that
	 * is not there yet. */
	for (int f = vg->nfiles - 1; f >= 0; f--)
		vg_write_file(vg, vg->files[f].filename, texts[f]);
	for (int f = 0; f < vg->nfiles; f++)
		free(texts[f]);
	free(texts);
}
