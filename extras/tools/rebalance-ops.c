/*
 * rebalance-ops.c - mortar-rebalance's steps on one directory or one
 * file, as synchronous fops on the distribute translator and on its
 * children (tool_call); the crawler and its threads are in
 * mortar-rebalance.c.
 *
 * Moving a file from child S to child D (the child its name hashes to):
 *
 *  1. D gets the name as a linkto file pointing at S (or keeps the one it
 *     has), with the file's gfid: clients keep finding the data on S.
 *  2. S's copy is marked: mode bits S_ISVTX|S_ISGID, then xattr
 *     trusted.mortar.dht.linkto = D.  From now on every write reply from
 *     S shows the bits and the client repeats the write on D under an
 *     inodelk ("distribute.migrate") on S over the written range.
 *  3. The data is copied in 1 MiB chunks, each under the same lock over
 *     its range: a chunk and a repeated write over it are ordered, so the
 *     later one wins on D as it did on S.
 *  4. Under the lock over the whole file: the tail written since is
 *     copied, D is truncated to S's size, gets S's owner, mode (without
 *     the marker), times and user xattrs, loses its linkto xattr (now the
 *     real file), and S's name is removed.  Clients holding S open keep
 *     writing there and repeating on D (the marker stays on S's inode);
 *     others find the file on D.
 *
 * A file with several names (hard links, all on S) moves once, with all
 * of them (rb_migrate_links): the data goes to one inode on D as above;
 * under the whole-file lock, before D becomes the file, its other names
 * are made on D as links of that inode (still a linkto to S, so lookups
 * through them keep finding S); then D becomes the file, each name's
 * linkto on a third child is pointed at D (made when missing), every name
 * goes from S, and the names that hash to S get linkto files there.
 *
 * A file whose marker vanished (chmod, chown) before the switch, or whose
 * names changed meanwhile, is left where it is.  Stopping mid-copy takes
 * the marker off S and removes D's partial copy (or truncates a
 * pre-existing linkto back to empty).
 */
#include "config.h"

#include "rebalance.h"

#include "buf.h"
#include "inode.h"
#include "xdata-keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RB_XATTR_LAYOUT "trusted.mortar.dht.layout"
#define RB_XATTR_LINKTO "trusted.mortar.dht.linkto"
#define RB_LINKTO_MODE	(S_IFREG | S_ISVTX)
#define RB_MARK		(S_ISVTX | S_ISGID)

static const char rb_xattr_req[] = RB_XATTR_LAYOUT "\0" RB_XATTR_LINKTO;

int64_t rb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Run fop on child s (-1: the distribute translator); args are cleared
 * afterwards.  Returns reply->ret. */
static int rb_call(struct rb_vol *v, int s, enum xl_fop fop,
		   struct xl_args *args, struct xl_reply *reply)
{
	int ret =
	    tool_call(v->tg, s < 0 ? v->dht : v->subvols[s], fop, args, reply);

	xl_args_clear(args);
	return ret;
}

/* The same, when only the result matters. */
static int rb_do(struct rb_vol *v, int s, enum xl_fop fop, struct xl_args *args)
{
	struct xl_reply r;
	int ret = rb_call(v, s, fop, args, &r);

	xl_reply_clear(&r);
	return ret;
}

static int rb_internal(struct xl_args *a)
{
	if (!(a->xdata = xl_dict_new()))
		return -ENOMEM;
	return xl_dict_set_u64(a->xdata, XL_KEY_INTERNAL, 1);
}

/* A lookup's answer is a linkto file: the mode it is made with and the
 * xattr (a user's file may have the mode; only the xattr tells). */
static bool rb_reply_is_linkto(const struct xl_reply *r)
{
	return r->ret == 0 && r->attr.mode == RB_LINKTO_MODE && r->xdata &&
	       xl_dict_get(r->xdata, RB_XATTR_LINKTO);
}

static int rb_lookup(struct rb_vol *v, int s, const uint8_t *pargfid,
		     const char *name, const uint8_t *gfid, struct xl_reply *r)
{
	struct xl_args a = {0};
	int ret = tool_loc_set(&a.loc, pargfid, name, gfid);

	if (ret == 0 && !(a.xdata = xl_dict_new()))
		ret = -ENOMEM;
	if (ret == 0)
		ret = xl_dict_set(a.xdata, XL_KEY_XATTR_REQ, rb_xattr_req,
				  sizeof(rb_xattr_req));
	if (ret < 0) {
		xl_args_clear(&a);
		memset(r, 0, sizeof(*r));
		return ret;
	}
	return rb_call(v, s, XL_FOP_LOOKUP, &a, r);
}

static int rb_setxattr(struct rb_vol *v, int s, const uint8_t *gfid,
		       const char *key, const void *val, size_t len)
{
	struct xl_args a = {0};

	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.xname = strdup(key);
	a.data = xl_iobuf_from(val, len);
	if (!a.xname || !a.data || rb_internal(&a) < 0) {
		xl_args_clear(&a);
		return -ENOMEM;
	}
	return rb_do(v, s, XL_FOP_SETXATTR, &a);
}

static int rb_removexattr(struct rb_vol *v, int s, const uint8_t *gfid,
			  const char *key)
{
	struct xl_args a = {0};

	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.xname = strdup(key);
	if (!a.xname || rb_internal(&a) < 0) {
		xl_args_clear(&a);
		return -ENOMEM;
	}
	return rb_do(v, s, XL_FOP_REMOVEXATTR, &a);
}

/* An inodelk on child s's copy of gfid; type F_WRLCK (waits) or F_UNLCK. */
static int rb_inodelk(struct rb_vol *v, int s, const uint8_t *gfid,
		      const char *domain, int type, int64_t start, int64_t len,
		      uint64_t owner)
{
	struct xl_args a = {0};

	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.xname = strdup(domain);
	if (!a.xname)
		return -ENOMEM;
	a.cmd = type == F_UNLCK ? F_SETLK : F_SETLKW;
	a.lock.type = (int16_t)type;
	a.lock.whence = SEEK_SET;
	a.lock.start = start;
	a.lock.len = len;
	a.lock.owner = owner;
	return rb_do(v, s, XL_FOP_INODELK, &a);
}

static int rb_setattr(struct rb_vol *v, int s, const uint8_t *gfid,
		      struct xl_fd *fd, uint32_t valid,
		      const struct xl_iatt *attr)
{
	struct xl_args a = {0};

	tool_loc_set(&a.loc, NULL, NULL, gfid);
	if (fd)
		a.fd = xl_fd_ref(fd);
	a.valid = valid;
	a.attr = *attr;
	return rb_do(v, s, XL_FOP_SETATTR, &a);
}

static int rb_unlink(struct rb_vol *v, int s, const uint8_t *pargfid,
		     const char *name)
{
	struct xl_args a = {0};

	if (tool_loc_set(&a.loc, pargfid, name, NULL) < 0)
		return -ENOMEM;
	return rb_do(v, s, XL_FOP_UNLINK, &a);
}

/* ---- directories --------------------------------------------------- */

int rb_fix_layout(struct rb_vol *v, const uint8_t *pargfid, const char *name,
		  uint8_t *gfid, struct dht_range *ranges)
{
	uint64_t owner = atomic_fetch_add(&v->owner_seq, 1) + 1;
	uint8_t buf[DHT_LAYOUT_XATTR_LEN];
	struct xl_reply r;
	int ret, uret;

	/* Through distribute: makes the copies a new child lacks. */
	ret = rb_lookup(v, -1, name ? pargfid : NULL, name,
			name ? NULL : xl_gfid_root, &r);
	if (ret == 0 && !S_ISDIR(r.attr.mode))
		ret = -ENOTDIR;
	if (ret == 0)
		memcpy(gfid, r.attr.gfid, XL_GFID_LEN);
	xl_reply_clear(&r);
	if (ret < 0)
		return ret;
	ret = rb_inodelk(v, 0, gfid, "distribute.layout", F_WRLCK, 0, 0, owner);
	if (ret < 0)
		return ret;
	dht_layout_assign(ranges, v->n, NULL, (uint32_t)time(NULL));
	for (int i = 0; i < v->n && ret == 0; i++) {
		dht_range_encode(&ranges[i], buf);
		ret =
		    rb_setxattr(v, i, gfid, RB_XATTR_LAYOUT, buf, sizeof(buf));
	}
	uret =
	    rb_inodelk(v, 0, gfid, "distribute.layout", F_UNLCK, 0, 0, owner);
	return ret < 0 ? ret : uret;
}

/* name is in a readdirplus reply's NUL-separated list (NULL: empty). */
static bool rb_name_listed(const struct xl_dict_pair *list, const char *name)
{
	size_t nl = strlen(name) + 1;

	for (uint32_t off = 0; list && off < list->len;) {
		const char *p = (const char *)list->value + off;
		size_t l = strnlen(p, list->len - off) + 1;

		if (l == nl && off + l <= list->len && memcmp(p, name, nl) == 0)
			return true;
		off += (uint32_t)l;
	}
	return false;
}

int rb_list_dir(struct rb_vol *v, int s, const uint8_t *gfid, rb_entry_fn cb,
		void *arg)
{
	struct xl_graph *g = tool_graph_get(v->tg);
	struct xl_fd *fd = xl_fd_new(g, gfid, NULL, O_RDONLY, true);
	struct xl_args a = {0};
	struct xl_reply r;
	uint64_t off = 0;
	int ret;

	if (!fd)
		return -ENOMEM;
	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.fd = xl_fd_ref(fd);
	ret = rb_do(v, s, XL_FOP_OPENDIR, &a);
	while (ret == 0) {
		const struct xl_dict_pair *lt;

		memset(&a, 0, sizeof(a));
		tool_loc_set(&a.loc, NULL, NULL, gfid);
		a.fd = xl_fd_ref(fd);
		a.offset = (int64_t)off;
		a.size = 64 * 1024;
		/* which entries carry the linkto xattr (doc/cluster.md) */
		if (!(a.xdata = xl_dict_new()) ||
		    xl_dict_set(a.xdata, XL_KEY_XATTR_REQ, RB_XATTR_LINKTO,
				sizeof(RB_XATTR_LINKTO)) < 0) {
			xl_args_clear(&a);
			ret = -ENOMEM;
			break;
		}
		ret = rb_call(v, s, XL_FOP_READDIRPLUS, &a, &r);
		if (ret == 0 && r.entry_count == 0) {
			xl_reply_clear(&r);
			break;
		}
		lt = r.xdata ? xl_dict_get(r.xdata, RB_XATTR_LINKTO) : NULL;
		for (uint32_t i = 0; ret == 0 && i < r.entry_count; i++) {
			const struct xl_dirent *d = &r.entries[i];

			off = d->d_off;
			if (d->name && strcmp(d->name, ".") &&
			    strcmp(d->name, ".."))
				ret = cb(arg, s, d,
					 d->attr.mode == RB_LINKTO_MODE &&
					     rb_name_listed(lt, d->name));
		}
		xl_reply_clear(&r);
	}
	xl_fd_unref(fd); /* closes it on the child */
	return ret;
}

/* ---- files ----------------------------------------------------------- */

/* Reserve `more` bytes of this run's budget and sleep until they are
 * due, before copying them (so a burst never runs ahead of the rate). */
static void rb_throttle(struct rb_vol *v, uint64_t more)
{
	uint64_t done = atomic_fetch_add(&v->run_bytes, more) + more;
	int64_t due, now;

	if (v->throttle_bps <= 0)
		return;
	due = v->start_ns +
	      (int64_t)((double)done * 1e9 / (double)v->throttle_bps);
	while (!rb_stop && (now = rb_now_ns()) < due) {
		int64_t ns = due - now;
		struct timespec ts = {.tv_sec = ns / 1000000000,
				      .tv_nsec = ns % 1000000000};

		if (ts.tv_sec > 0) {
			ts.tv_sec = 0;
			ts.tv_nsec = 200000000; /* wake to see rb_stop */
		}
		nanosleep(&ts, NULL);
	}
}

/* Copy [*off, end) from S to D (end < 0: to S's EOF), each chunk under
 * a range lock unless the caller holds the whole file. */
static int rb_copy(struct rb_vol *v, const struct rb_job *job,
		   const uint8_t *gfid, struct xl_fd *sfd, struct xl_fd *dfd,
		   uint64_t *off, bool locked, uint64_t owner)
{
	struct xl_args a;
	struct xl_reply r;
	int ret = 0;

	for (;;) {
		if (!locked) {
			/* What this chunk will most likely copy. */
			uint64_t want = job->size > *off ? job->size - *off : 0;

			rb_throttle(v, want < 4096	 ? 4096
				       : want > RB_CHUNK ? RB_CHUNK
							 : want);
		}
		if (!locked && rb_stop)
			return -EINTR;
		if (!locked) {
			ret =
			    rb_inodelk(v, job->src, gfid, "distribute.migrate",
				       F_WRLCK, (int64_t)*off, RB_CHUNK, owner);
			if (ret < 0)
				return ret;
		}
		memset(&a, 0, sizeof(a));
		tool_loc_set(&a.loc, NULL, NULL, gfid);
		a.fd = xl_fd_ref(sfd);
		a.offset = (int64_t)*off;
		a.size = RB_CHUNK;
		ret = rb_call(v, job->src, XL_FOP_READ, &a, &r);
		if (ret > 0 && r.data) {
			memset(&a, 0, sizeof(a));
			tool_loc_set(&a.loc, NULL, NULL, gfid);
			a.fd = xl_fd_ref(dfd);
			a.offset = (int64_t)*off;
			a.data = xl_iobuf_ref(r.data);
			ret = rb_do(v, job->dst, XL_FOP_WRITE, &a);
			if (ret >= 0 && (size_t)ret != r.data->size)
				ret = -EIO;
		}
		if (!locked)
			rb_inodelk(v, job->src, gfid, "distribute.migrate",
				   F_UNLCK, (int64_t)*off, RB_CHUNK, owner);
		if (ret <= 0) {
			xl_reply_clear(&r);
			return ret;
		}
		*off += (uint64_t)ret;
		atomic_fetch_add(&v->bytes_moved, (uint64_t)ret);
		xl_reply_clear(&r);
	}
}

static int rb_open(struct rb_vol *v, int s, const uint8_t *gfid, int flags,
		   struct xl_fd **out)
{
	struct xl_fd *fd =
	    xl_fd_new(tool_graph_get(v->tg), gfid, NULL, flags, false);
	struct xl_args a = {0};
	int ret;

	if (!fd)
		return -ENOMEM;
	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.fd = xl_fd_ref(fd);
	a.flags = flags;
	ret = rb_do(v, s, XL_FOP_OPEN, &a);
	if (ret < 0) {
		xl_fd_unref(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

/* User xattrs of S onto D (internal ones are not listed to us). */
static void rb_copy_xattrs(struct rb_vol *v, const struct rb_job *job,
			   const uint8_t *gfid)
{
	struct xl_args a = {0};
	struct xl_reply r, g;

	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.size = XL_XATTR_SIZE_MAX;
	if (rb_call(v, job->src, XL_FOP_LISTXATTR, &a, &r) <= 0 || !r.data) {
		xl_reply_clear(&r);
		return;
	}
	for (size_t at = 0; at < r.data->size;) {
		const char *key = r.data->data + at;
		size_t kl = strnlen(key, r.data->size - at);

		at += kl + 1;
		memset(&a, 0, sizeof(a));
		tool_loc_set(&a.loc, NULL, NULL, gfid);
		a.xname = strndup(key, kl);
		a.size = XL_XATTR_SIZE_MAX;
		if (rb_call(v, job->src, XL_FOP_GETXATTR, &a, &g) >= 0 &&
		    g.data) {
			memset(&a, 0, sizeof(a));
			tool_loc_set(&a.loc, NULL, NULL, gfid);
			a.xname = strndup(key, kl);
			a.data = xl_iobuf_ref(g.data);
			rb_do(v, job->dst, XL_FOP_SETXATTR, &a);
		}
		xl_reply_clear(&g);
	}
	xl_reply_clear(&r);
}

/* Give D's name back to what it was and take the marker off S. */
static void rb_abandon(struct rb_vol *v, const struct rb_job *job,
		       const uint8_t *gfid, uint32_t orig_mode,
		       bool dst_created, struct xl_fd *dfd)
{
	struct xl_args a = {0};
	struct xl_reply r;
	struct xl_iatt at = {0};

	/* The target first, then the marker (keeping a mode a user set
	 * meanwhile): a user's file of mode 01000 never carries the linkto
	 * xattr with that mode, which would make it a linkto file. */
	rb_removexattr(v, job->src, gfid, RB_XATTR_LINKTO);
	tool_loc_set(&a.loc, NULL, NULL, gfid);
	if (rb_call(v, job->src, XL_FOP_STAT, &a, &r) == 0 &&
	    (r.attr.mode & RB_MARK) == RB_MARK) {
		at.mode = (r.attr.mode & 07777 & ~(uint32_t)RB_MARK) |
			  (orig_mode & RB_MARK);
		rb_setattr(v, job->src, gfid, NULL, XL_SET_MODE, &at);
	}
	xl_reply_clear(&r);
	if (dst_created) {
		rb_unlink(v, job->dst, job->pargfid, job->name);
	} else {
		memset(&at, 0, sizeof(at));
		rb_setattr(v, job->dst, gfid, dfd, XL_SET_SIZE, &at);
	}
}

/* Step 1: D holds the name as a linkto to S.  *created: we made it. */
static int rb_prepare_dst(struct rb_vol *v, const struct rb_job *job,
			  const uint8_t *gfid, bool *created)
{
	const char *sname = v->subvols[job->src]->name;
	struct xl_args a = {0};
	struct xl_reply r;
	int ret;

	*created = false;
	ret = rb_lookup(v, job->dst, job->pargfid, job->name, NULL, &r);
	if (ret == 0) {
		bool ok = rb_reply_is_linkto(&r) &&
			  memcmp(r.attr.gfid, gfid, XL_GFID_LEN) == 0;
		xl_reply_clear(&r);
		if (!ok)
			return 1; /* something else holds the name there */
		return rb_setxattr(v, job->dst, gfid, RB_XATTR_LINKTO, sname,
				   strlen(sname) + 1);
	}
	xl_reply_clear(&r);
	if (ret != -ENOENT)
		return ret;
	/* Made with its xattr: never a bare file of mode 01000. */
	for (int tries = 0; tries < 2; tries++) {
		/* A concurrent readdirplus on D may label a new entry with a
		 * gfid of its own before the brick's mknod does, which then
		 * fails and removes it: once more. */
		tool_loc_set(&a.loc, job->pargfid, job->name, gfid);
		a.mode = RB_LINKTO_MODE;
		if (rb_internal(&a) < 0 ||
		    xl_dict_set(a.xdata, RB_XATTR_LINKTO, sname,
				(uint32_t)strlen(sname) + 1) < 0) {
			xl_args_clear(&a);
			return -ENOMEM;
		}
		ret = rb_do(v, job->dst, XL_FOP_MKNOD, &a);
		if (ret != -EEXIST)
			break;
	}
	if (ret < 0)
		return ret;
	*created = true;
	return 0;
}

/* D becomes the file: its size, owner, times, user xattrs and mode
 * (without the marker), then no linkto xattr. */
static int rb_dst_finish(struct rb_vol *v, const struct rb_job *job,
			 const uint8_t *gfid, struct xl_fd *dfd,
			 struct xl_iatt *at, uint32_t orig_mode)
{
	int ret;

	at->mode =
	    (at->mode & 07777 & ~(uint32_t)RB_MARK) | (orig_mode & RB_MARK);
	ret = rb_setattr(v, job->dst, gfid, dfd,
			 XL_SET_SIZE | XL_SET_UID | XL_SET_GID | XL_SET_ATIME |
			     XL_SET_MTIME,
			 at);
	if (ret == 0)
		rb_copy_xattrs(v, job, gfid);
	if (ret == 0)
		ret = rb_setattr(v, job->dst, gfid, dfd, XL_SET_MODE, at);
	if (ret == 0)
		ret = rb_removexattr(v, job->dst, gfid, RB_XATTR_LINKTO);
	return ret;
}

/* Step 4, under the whole-file lock. */
static int rb_switch(struct rb_vol *v, const struct rb_job *job,
		     const uint8_t *gfid, struct xl_fd *sfd, struct xl_fd *dfd,
		     uint64_t *off, uint32_t orig_mode, uint64_t owner)
{
	struct xl_args a = {0};
	struct xl_reply r;
	struct xl_iatt at;
	int ret;

	tool_loc_set(&a.loc, NULL, NULL, gfid);
	a.fd = xl_fd_ref(sfd);
	ret = rb_call(v, job->src, XL_FOP_STAT, &a, &r);
	at = r.attr;
	xl_reply_clear(&r);
	if (ret < 0)
		return ret;
	if ((at.mode & RB_MARK) != RB_MARK || at.nlink != 1)
		return 1; /* chmod/chown or a new name meanwhile: leave it */
	ret = rb_copy(v, job, gfid, sfd, dfd, off, true, owner);
	if (ret < 0)
		return ret;
	ret = rb_dst_finish(v, job, gfid, dfd, &at, orig_mode);
	if (ret == 0)
		ret = rb_unlink(v, job->src, job->pargfid, job->name);
	return ret;
}

void rb_job_clear(struct rb_job *job)
{
	free(job->name);
	for (int i = 0; i < job->nlinks; i++)
		free(job->links[i].name);
	free(job->links);
	memset(job, 0, sizeof(*job));
}

/* ---- files with several names ------------------------------------------ */

static int rb_link(struct rb_vol *v, int s, const uint8_t *gfid,
		   const uint8_t *pargfid, const char *name)
{
	struct xl_args a = {0};

	if (tool_loc_set(&a.loc, NULL, NULL, gfid) < 0 ||
	    tool_loc_set(&a.loc2, pargfid, name, NULL) < 0) {
		xl_args_clear(&a);
		return -ENOMEM;
	}
	return rb_do(v, s, XL_FOP_LINK, &a);
}

/* (pargfid, name) on child s becomes a linkto of gfid naming child t: the
 * one there is re-pointed, or one is made (a link of the one s already
 * holds for gfid under another name: a brick holds one object per gfid).
 * 0, 1 (the name holds something else there: left), -errno. */
static int rb_linkto_ensure(struct rb_vol *v, int s, const uint8_t *pargfid,
			    const char *name, const uint8_t *gfid, int t)
{
	const char *tname = v->subvols[t]->name;
	struct xl_args a = {0};
	struct xl_reply r;
	int ret;

	ret = rb_lookup(v, s, pargfid, name, NULL, &r);
	if (ret == 0) {
		bool ours = rb_reply_is_linkto(&r) &&
			    memcmp(r.attr.gfid, gfid, XL_GFID_LEN) == 0;

		xl_reply_clear(&r);
		if (!ours)
			return 1;
		return rb_setxattr(v, s, gfid, RB_XATTR_LINKTO, tname,
				   strlen(tname) + 1);
	}
	xl_reply_clear(&r);
	if (ret != -ENOENT)
		return ret;
	tool_loc_set(&a.loc, pargfid, name, gfid);
	a.mode = RB_LINKTO_MODE;
	if (rb_internal(&a) < 0 ||
	    xl_dict_set(a.xdata, RB_XATTR_LINKTO, tname,
			(uint32_t)strlen(tname) + 1) < 0) {
		xl_args_clear(&a);
		return -ENOMEM;
	}
	ret = rb_do(v, s, XL_FOP_MKNOD, &a);
	if (ret != -EEXIST)
		return ret;
	/* gfid is taken there by another of its names' linkto */
	ret = rb_link(v, s, gfid, pargfid, name);
	if (ret == 0)
		ret = rb_setxattr(v, s, gfid, RB_XATTR_LINKTO, tname,
				  strlen(tname) + 1);
	return ret;
}

/* The one-name view of name i of job. */
static void rb_link_job(const struct rb_job *job, int i, struct rb_job *out)
{
	*out = *job;
	memcpy(out->pargfid, job->links[i].pargfid, 16);
	out->name = job->links[i].name;
	out->links = NULL;
	out->nlinks = 0;
}

static void rb_links_say(struct rb_vol *v, const struct rb_job *job,
			 const char *why)
{
	char g[XL_GFID_STR_LEN];

	fprintf(stderr,
		"mortar-rebalance: %s/%s: a file with %d names not moved "
		"from %s: %s\n",
		xl_gfid_to_str(job->links[0].pargfid, g), job->links[0].name,
		job->nlinks, v->subvols[job->src]->name, why);
}

/* Every name of job is the file on S, with exactly these names.  0, 1
 * (changed since the crawl), -errno.  *mode: its mode. */
static int rb_links_check(struct rb_vol *v, const struct rb_job *job,
			  uint32_t *mode)
{
	struct xl_reply r;
	int ret = 0;

	for (int i = 0; i < job->nlinks && ret == 0; i++) {
		ret = rb_lookup(v, job->src, job->links[i].pargfid,
				job->links[i].name, NULL, &r);
		if (ret == 0 &&
		    (!S_ISREG(r.attr.mode) || rb_reply_is_linkto(&r) ||
		     memcmp(r.attr.gfid, job->gfid, XL_GFID_LEN) != 0 ||
		     r.attr.nlink != (uint32_t)job->nlinks))
			ret = 1;
		*mode = r.attr.mode;
		xl_reply_clear(&r);
	}
	return ret == -ENOENT ? 1 : ret;
}

/* Which name the data goes to on D: the one D already has as a linkto of
 * the file (D holds one object per gfid), else one that hashes to D.
 * 1 when D holds one of the names for something else. */
static int rb_links_target(struct rb_vol *v, const struct rb_job *job, int *n0)
{
	struct xl_reply r;
	int ret = 0;

	*n0 = -1;
	for (int i = 0; i < job->nlinks && ret == 0; i++) {
		ret = rb_lookup(v, job->dst, job->links[i].pargfid,
				job->links[i].name, NULL, &r);
		if (ret == 0) {
			if (rb_reply_is_linkto(&r) &&
			    memcmp(r.attr.gfid, job->gfid, XL_GFID_LEN) == 0) {
				if (*n0 < 0)
					*n0 = i;
			} else {
				ret = 1;
			}
		} else if (ret == -ENOENT) {
			ret = 0;
		}
		xl_reply_clear(&r);
	}
	for (int i = 0; i < job->nlinks && *n0 < 0; i++)
		if (job->links[i].hashed == job->dst)
			*n0 = i;
	if (*n0 < 0)
		*n0 = 0;
	return ret;
}

/* Under the whole-file lock, D's inode a linkto still: its other names
 * made on D (made[i]: by us).  0 or -errno / 1. */
static int rb_links_make(struct rb_vol *v, const struct rb_job *job, int n0,
			 bool *made)
{
	struct xl_reply r;
	int ret = 0;

	for (int i = 0; i < job->nlinks && ret == 0; i++) {
		if (i == n0)
			continue;
		ret = rb_lookup(v, job->dst, job->links[i].pargfid,
				job->links[i].name, NULL, &r);
		if (ret == 0)
			ret = memcmp(r.attr.gfid, job->gfid, XL_GFID_LEN) == 0
				  ? 0
				  : 1; /* taken meanwhile */
		xl_reply_clear(&r);
		if (ret != -ENOENT)
			continue;
		ret = rb_link(v, job->dst, job->gfid, job->links[i].pargfid,
			      job->links[i].name);
		made[i] = ret == 0;
	}
	return ret;
}

/* D is the file: each name's linkto on a third child names D, every name
 * goes from S, the names that hash to S get linkto files there.  Errors
 * are reported and the rest is done: every name still finds the data. */
static int rb_links_repoint(struct rb_vol *v, const struct rb_job *job)
{
	int ret = 0, r;

	for (int i = 0; i < job->nlinks; i++) {
		int h = job->links[i].hashed;

		if (h < 0 || h == job->src || h == job->dst)
			continue;
		r = rb_linkto_ensure(v, h, job->links[i].pargfid,
				     job->links[i].name, job->gfid, job->dst);
		if (r != 0)
			fprintf(stderr,
				"mortar-rebalance: %s: linkto on %s not "
				"pointed at %s: %s\n",
				job->links[i].name, v->subvols[h]->name,
				v->subvols[job->dst]->name,
				r > 0 ? "the name holds another file there"
				      : strerror(-r));
	}
	for (int i = 0; i < job->nlinks; i++) {
		r = rb_unlink(v, job->src, job->links[i].pargfid,
			      job->links[i].name);
		if (r < 0 && r != -ENOENT && ret == 0)
			ret = r;
	}
	for (int i = 0; i < job->nlinks; i++) {
		if (job->links[i].hashed != job->src)
			continue;
		r = rb_linkto_ensure(v, job->src, job->links[i].pargfid,
				     job->links[i].name, job->gfid, job->dst);
		if (r != 0)
			fprintf(stderr,
				"mortar-rebalance: %s: no linkto on %s: %s\n",
				job->links[i].name, v->subvols[job->src]->name,
				r > 0 ? "the name holds another file there"
				      : strerror(-r));
	}
	return ret;
}

/* Step 4 of a file with several names, under the whole-file lock. */
static int rb_links_switch(struct rb_vol *v, const struct rb_job *job, int n0,
			   struct xl_fd *sfd, struct xl_fd *dfd, uint64_t *off,
			   uint32_t orig_mode, uint64_t owner, bool *made,
			   bool *dst_done)
{
	struct xl_args a = {0};
	struct xl_reply r;
	struct xl_iatt at;
	uint32_t mode;
	int ret;

	tool_loc_set(&a.loc, NULL, NULL, job->gfid);
	a.fd = xl_fd_ref(sfd);
	ret = rb_call(v, job->src, XL_FOP_STAT, &a, &r);
	at = r.attr;
	xl_reply_clear(&r);
	if (ret < 0)
		return ret;
	if ((at.mode & RB_MARK) != RB_MARK)
		return 1; /* chmod/chown meanwhile: leave it */
	ret = rb_links_check(v, job, &mode); /* renamed, linked meanwhile */
	if (ret != 0)
		return ret;
	ret = rb_copy(v, job, job->gfid, sfd, dfd, off, true, owner);
	if (ret == 0)
		ret = rb_links_make(v, job, n0, made);
	if (ret == 0)
		ret = rb_dst_finish(v, job, job->gfid, dfd, &at, orig_mode);
	*dst_done = ret == 0;
	if (ret == 0)
		ret = rb_links_repoint(v, job);
	return ret;
}

static int rb_migrate_links(struct rb_vol *v, const struct rb_job *job)
{
	uint64_t owner = atomic_fetch_add(&v->owner_seq, 1) + 1;
	const char *dname = v->subvols[job->dst]->name;
	struct xl_fd *sfd = NULL, *dfd = NULL;
	bool created = false, marked = false, switched = false;
	bool *made = calloc((size_t)job->nlinks, sizeof(bool));
	struct xl_iatt at = {0};
	struct rb_job j0;
	uint32_t orig_mode = 0;
	uint64_t off = 0;
	int n0, ret;

	if (!made)
		return -ENOMEM;
	ret = rb_links_check(v, job, &orig_mode);
	if (ret == 1)
		rb_links_say(v, job,
			     "its names changed since they were listed");
	if (ret == 0) {
		ret = rb_links_target(v, job, &n0);
		if (ret == 1)
			rb_links_say(v, job,
				     "one of its names on the target holds "
				     "another file");
	}
	if (ret != 0) {
		free(made);
		return ret;
	}
	if ((orig_mode & RB_MARK) == RB_MARK)
		orig_mode &= ~(uint32_t)RB_MARK; /* an interrupted run's mark */
	rb_link_job(job, n0, &j0);
	ret = rb_prepare_dst(v, &j0, job->gfid, &created);
	if (ret == 0) {
		at.mode = (orig_mode & 07777) | RB_MARK;
		ret =
		    rb_setattr(v, job->src, job->gfid, NULL, XL_SET_MODE, &at);
		marked = ret == 0;
	}
	if (ret == 0)
		ret = rb_setxattr(v, job->src, job->gfid, RB_XATTR_LINKTO,
				  dname, strlen(dname) + 1);
	if (ret == 0)
		ret = rb_open(v, job->src, job->gfid, O_RDONLY, &sfd);
	if (ret == 0)
		ret = rb_open(v, job->dst, job->gfid, O_WRONLY, &dfd);
	if (ret == 0)
		ret = rb_copy(v, job, job->gfid, sfd, dfd, &off, false, owner);
	if (ret == 0 && rb_stop)
		ret = -EINTR;
	if (ret == 0) {
		ret = rb_inodelk(v, job->src, job->gfid, "distribute.migrate",
				 F_WRLCK, 0, 0, owner);
		if (ret == 0) {
			/* once D is the file it is never undone */
			ret =
			    rb_links_switch(v, job, n0, sfd, dfd, &off,
					    orig_mode, owner, made, &switched);
			rb_inodelk(v, job->src, job->gfid, "distribute.migrate",
				   F_UNLCK, 0, 0, owner);
		}
	}
	if (ret != 0 && !switched && (marked || created)) {
		for (int i = 0; i < job->nlinks; i++)
			if (made[i])
				rb_unlink(v, job->dst, job->links[i].pargfid,
					  job->links[i].name);
		rb_abandon(v, &j0, job->gfid, orig_mode, created, dfd);
	}
	if (sfd)
		xl_fd_unref(sfd);
	if (dfd)
		xl_fd_unref(dfd);
	free(made);
	return ret;
}

int rb_migrate(struct rb_vol *v, const struct rb_job *job, int thread)
{
	uint64_t owner = atomic_fetch_add(&v->owner_seq, 1) + 1;
	struct xl_fd *sfd = NULL, *dfd = NULL;
	const char *dname = v->subvols[job->dst]->name;
	uint8_t gfid[XL_GFID_LEN];
	bool created = false, marked = false;
	uint64_t off = 0;
	uint32_t orig_mode;
	struct xl_reply r;
	struct xl_iatt at = {0};
	int ret;

	(void)thread;
	if (job->links)
		return rb_migrate_links(v, job);
	ret = rb_lookup(v, job->src, job->pargfid, job->name, NULL, &r);
	memcpy(gfid, r.attr.gfid, XL_GFID_LEN);
	orig_mode = r.attr.mode;
	if (ret == 0 && (!S_ISREG(r.attr.mode) || r.attr.nlink != 1 ||
			 rb_reply_is_linkto(&r)))
		ret = 1; /* not a plain file with one name */
	xl_reply_clear(&r);
	if (ret != 0)
		return ret == -ENOENT ? 1 : ret;
	if ((orig_mode & RB_MARK) == RB_MARK)
		orig_mode &= ~(uint32_t)RB_MARK; /* an interrupted run's mark */
	ret = rb_prepare_dst(v, job, gfid, &created);
	if (ret != 0)
		return ret;
	/* Step 2: the bits that make clients look, then the target.  In
	 * this order a file of mode 01000 never has the linkto xattr with
	 * that mode (it would be taken for a linkto file); a client that sees
	 * the bits before the target finds no target and leaves its write on
	 * S, which the copy, not started yet, then carries to D. */
	at.mode = (orig_mode & 07777) | RB_MARK;
	ret = rb_setattr(v, job->src, gfid, NULL, XL_SET_MODE, &at);
	marked = ret == 0;
	if (ret == 0)
		ret = rb_setxattr(v, job->src, gfid, RB_XATTR_LINKTO, dname,
				  strlen(dname) + 1);
	if (ret == 0)
		ret = rb_open(v, job->src, gfid, O_RDONLY, &sfd);
	if (ret == 0)
		ret = rb_open(v, job->dst, gfid, O_WRONLY, &dfd);
	if (ret == 0)
		ret = rb_copy(v, job, gfid, sfd, dfd, &off, false, owner);
	if (ret == 0 && rb_stop)
		ret = -EINTR;
	if (ret == 0) {
		ret = rb_inodelk(v, job->src, gfid, "distribute.migrate",
				 F_WRLCK, 0, 0, owner);
		if (ret == 0) {
			ret = rb_switch(v, job, gfid, sfd, dfd, &off, orig_mode,
					owner);
			rb_inodelk(v, job->src, gfid, "distribute.migrate",
				   F_UNLCK, 0, 0, owner);
		}
	}
	if (ret != 0 && (marked || created))
		rb_abandon(v, job, gfid, orig_mode, created, dfd);
	if (sfd)
		xl_fd_unref(sfd);
	if (dfd)
		xl_fd_unref(dfd);
	return ret;
}
