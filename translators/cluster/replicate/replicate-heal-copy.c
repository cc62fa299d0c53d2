/*
 * replicate-heal-copy.c - cluster/replicate: bring sinks in line with a
 * source, under the heal's lock (heal threads only).
 *
 * Data compares XXH64 checksums of heal-chunk-size chunks (rchecksum on
 * the bricks, source and sinks at once) and copies only chunks that
 * differ; past a sink's old end it copies without comparing, 1 MiB at a
 * time.  Metadata: mode, owner, times and the user.* xattrs.  Entries:
 * names the source has are created on the sinks with its gfid, type, mode
 * and owner, marked pending on the source and healed at once; names it
 * does not have are removed (not when merging a split-brain directory).
 */
#include "config.h"

#include "replicate.h"
#include "replicate-heal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int afr_checksums(struct afr_priv *priv, uint32_t mask, struct xl_fd *fd,
			 uint64_t off, uint64_t len, uint64_t *sum)
{
	struct xl_args args[AFR_MAX_CHILDREN];
	struct xl_reply reps[AFR_MAX_CHILDREN];
	int ret = 0;

	memset(args, 0, sizeof(args));
	memset(reps, 0, sizeof(reps));
	for (int i = 0; i < priv->n; i++)
		if (mask & (1u << i)) {
			args[i].fd = xl_fd_ref(fd);
			args[i].offset = (int64_t)off;
			args[i].size = len;
		}
	afr_sync_multi(priv, mask, XL_FOP_RCHECKSUM, args, reps);
	for (int i = 0; i < priv->n; i++) {
		if (!(mask & (1u << i)))
			continue;
		sum[i] = 0;
		if (reps[i].ret < 0 || !reps[i].data ||
		    reps[i].data->size < 8) {
			ret = -EIO;
			continue;
		}
		for (int b = 0; b < 8; b++)
			sum[i] = (sum[i] << 8) | (uint8_t)reps[i].data->data[b];
	}
	afr_replies_clear(priv, reps);
	return ret;
}

/* Pick a source among the valid copies by policy; -1 when none wins. */
int afr_heal_data_copy(struct afr_hstate *h, int src, uint32_t sinks)
{
	struct afr_priv *priv = h->priv;
	struct xl_fd *fd;
	struct xl_args args[AFR_MAX_CHILDREN];
	struct xl_reply reps[AFR_MAX_CHILDREN];
	uint32_t all = sinks | (1u << src), open_ok = 0;
	uint64_t size = h->attr[src].size, chunk = priv->chunk_size;
	uint64_t old_size[AFR_MAX_CHILDREN];
	int ret = 0;

	for (int i = 0; i < priv->n; i++)
		old_size[i] = h->attr[i].size;
	/* An arbiter keeps no bytes: healing its data is only clearing
	 * its counters (the caller does that). */
	sinks &= ~priv->arbiters;
	all = sinks | (1u << src);
	if (!sinks)
		return 0;

	fd = xl_fd_new(priv->xl->graph, h->gfid, NULL, O_RDWR, false);
	if (!fd)
		return -ENOMEM;
	memset(args, 0, sizeof(args));
	memset(reps, 0, sizeof(reps));
	for (int i = 0; i < priv->n; i++)
		if (all & (1u << i)) {
			afr_loc_gfid(&args[i].loc, h->gfid);
			args[i].fd = xl_fd_ref(fd);
			args[i].flags = O_RDWR;
		}
	afr_sync_multi(priv, all, XL_FOP_OPEN, args, reps);
	for (int i = 0; i < priv->n; i++)
		if ((all & (1u << i)) && reps[i].ret >= 0)
			open_ok |= 1u << i;
	afr_replies_clear(priv, reps);
	if (!(open_ok & (1u << src)) || (open_ok & sinks) != sinks) {
		ret = -EIO;
		goto out;
	}
	/* Sinks take the source's size first. */
	memset(args, 0, sizeof(args));
	for (int i = 0; i < priv->n; i++)
		if (sinks & (1u << i)) {
			afr_loc_gfid(&args[i].loc, h->gfid);
			args[i].fd = xl_fd_ref(fd);
			args[i].valid = XL_SET_SIZE;
			args[i].attr.size = size;
		}
	afr_sync_multi(priv, sinks, XL_FOP_SETATTR, args, reps);
	for (int i = 0; i < priv->n; i++)
		if ((sinks & (1u << i)) && reps[i].ret < 0)
			ret = reps[i].ret;
	afr_replies_clear(priv, reps);
	for (uint64_t off = 0; ret == 0 && off < size;) {
		uint64_t len = size - off < chunk ? size - off : chunk;
		uint64_t sum[AFR_MAX_CHILDREN];
		uint32_t differ = 0, ask = 0;
		struct xl_reply rd;
		struct xl_args a;

		/* Past a sink's old end there is nothing to compare: copy
		 * in the largest pieces a read carries. */
		for (int i = 0; i < priv->n; i++)
			if (sinks & (1u << i)) {
				if (off >= old_size[i])
					differ |= 1u << i;
				else
					ask |= 1u << i;
			}
		if (!ask) {
			len = size - off < XL_IO_SIZE_MAX ? size - off
							  : XL_IO_SIZE_MAX;
		} else {
			ask |= 1u << src;
			ret = afr_checksums(priv, ask, fd, off, len, sum);
			if (ret < 0)
				break;
			for (int i = 0; i < priv->n; i++)
				if ((ask & (1u << i)) && i != src &&
				    sum[i] != sum[src])
					differ |= 1u << i;
		}
		if (!differ) {
			off += len;
			continue;
		}
		memset(&a, 0, sizeof(a));
		a.fd = xl_fd_ref(fd);
		a.offset = (int64_t)off;
		a.size = len;
		if (afr_sync_one(priv, src, XL_FOP_READ, &a, &rd) < 0 ||
		    !rd.data) {
			xl_reply_clear(&rd);
			ret = -EIO;
			break;
		}
		memset(args, 0, sizeof(args));
		for (int i = 0; i < priv->n; i++)
			if (differ & (1u << i)) {
				args[i].fd = xl_fd_ref(fd);
				args[i].offset = (int64_t)off;
				args[i].data = xl_iobuf_ref(rd.data);
			}
		afr_sync_multi(priv, differ, XL_FOP_WRITE, args, reps);
		for (int i = 0; i < priv->n; i++)
			if ((differ & (1u << i)) && reps[i].ret < 0)
				ret = reps[i].ret;
		afr_replies_clear(priv, reps);
		xl_reply_clear(&rd);
		h->moved += len * (uint64_t)afr_popcount(differ);
		off += len;
	}
out:
	memset(args, 0, sizeof(args));
	for (int i = 0; i < priv->n; i++)
		if (open_ok & (1u << i))
			args[i].fd = xl_fd_ref(fd);
	afr_sync_multi(priv, open_ok, XL_FOP_RELEASE, args, reps);
	afr_replies_clear(priv, reps);
	xl_fd_unref(fd);
	return ret;
}

/* user.* xattrs: the sinks get the source's set. */
static int afr_heal_xattrs(struct afr_hstate *h, int src, uint32_t sinks)
{
	struct afr_priv *priv = h->priv;
	struct xl_args a;
	struct xl_reply names[AFR_MAX_CHILDREN];
	int ret = 0;

	memset(names, 0, sizeof(names));
	for (int i = 0; i < priv->n; i++) {
		if (!((sinks | (1u << src)) & (1u << i)))
			continue;
		memset(&a, 0, sizeof(a));
		afr_loc_gfid(&a.loc, h->gfid);
		a.size = 65536;
		afr_sync_one(priv, i, XL_FOP_LISTXATTR, &a, &names[i]);
	}
	if (names[src].ret < 0 || !names[src].data)
		goto out;
	for (size_t p = 0; p < names[src].data->size;) {
		const char *nm = names[src].data->data + p;
		size_t l = strnlen(nm, names[src].data->size - p);
		struct xl_reply val;

		p += l + 1;
		if (strncmp(nm, "user.", 5) != 0)
			continue;
		memset(&a, 0, sizeof(a));
		afr_loc_gfid(&a.loc, h->gfid);
		a.xname = strndup(nm, l);
		a.size = XL_XATTR_SIZE_MAX;
		if (afr_sync_one(priv, src, XL_FOP_GETXATTR, &a, &val) < 0 ||
		    !val.data) {
			xl_reply_clear(&val);
			continue;
		}
		for (int i = 0; i < priv->n; i++) {
			if (!(sinks & (1u << i)))
				continue;
			memset(&a, 0, sizeof(a));
			afr_loc_gfid(&a.loc, h->gfid);
			a.xname = strndup(nm, l);
			a.data = xl_iobuf_ref(val.data);
			if (afr_sync_one(priv, i, XL_FOP_SETXATTR, &a, NULL) <
			    0)
				ret = -EIO;
		}
		xl_reply_clear(&val);
	}
	/* Names only a sink has go. */
	for (int i = 0; i < priv->n; i++) {
		if (!(sinks & (1u << i)) || names[i].ret < 0 || !names[i].data)
			continue;
		for (size_t p = 0; p < names[i].data->size;) {
			const char *nm = names[i].data->data + p;
			size_t l = strnlen(nm, names[i].data->size - p);
			bool found = false;

			p += l + 1;
			if (strncmp(nm, "user.", 5) != 0)
				continue;
			for (size_t q = 0; q < names[src].data->size;) {
				const char *sn = names[src].data->data + q;
				size_t sl =
				    strnlen(sn, names[src].data->size - q);

				q += sl + 1;
				if (sl == l && memcmp(sn, nm, l) == 0)
					found = true;
			}
			if (found)
				continue;
			memset(&a, 0, sizeof(a));
			afr_loc_gfid(&a.loc, h->gfid);
			a.xname = strndup(nm, l);
			afr_sync_one(priv, i, XL_FOP_REMOVEXATTR, &a, NULL);
		}
	}
out:
	afr_replies_clear(priv, names);
	return ret;
}

int afr_heal_meta_copy(struct afr_hstate *h, int src, uint32_t sinks)
{
	struct afr_priv *priv = h->priv;
	struct xl_args args[AFR_MAX_CHILDREN];
	struct xl_reply reps[AFR_MAX_CHILDREN];
	const struct xl_iatt *sa = &h->attr[src];
	int ret = 0;

	memset(args, 0, sizeof(args));
	memset(reps, 0, sizeof(reps));
	for (int i = 0; i < priv->n; i++)
		if (sinks & (1u << i)) {
			afr_loc_gfid(&args[i].loc, h->gfid);
			args[i].valid = XL_SET_UID | XL_SET_GID | XL_SET_ATIME |
					XL_SET_MTIME;
			if (!S_ISLNK(sa->mode))
				args[i].valid |= XL_SET_MODE;
			args[i].attr = *sa;
		}
	afr_sync_multi(priv, sinks, XL_FOP_SETATTR, args, reps);
	for (int i = 0; i < priv->n; i++)
		if ((sinks & (1u << i)) && reps[i].ret < 0)
			ret = reps[i].ret;
	afr_replies_clear(priv, reps);
	if (ret == 0 && !S_ISLNK(sa->mode))
		ret = afr_heal_xattrs(h, src, sinks);
	return ret;
}

/* ---- entry heal --------------------------------------------------------- */

void afr_names_free(struct afr_names *n)
{
	for (size_t i = 0; i < n->count; i++)
		free(n->name[i]);
	free(n->name);
	free(n->type);
	memset(n, 0, sizeof(*n));
}

static int afr_names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool afr_names_has(const struct afr_names *n, const char *name)
{
	return n->count && bsearch(&name, n->name, n->count, sizeof(char *),
				   afr_names_cmp) != NULL;
}

/* List directory gfid on child (without "." and ".."), sorted by name
 * (types are dropped by the sort, so they are not kept). */
int afr_list(struct afr_priv *priv, int child, const uint8_t *gfid,
	     struct afr_names *out)
{
	struct xl_fd *fd;
	struct xl_args a;
	struct xl_reply r;
	int64_t off = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	fd = xl_fd_new(priv->xl->graph, gfid, NULL, O_RDONLY, true);
	if (!fd)
		return -ENOMEM;
	memset(&a, 0, sizeof(a));
	afr_loc_gfid(&a.loc, gfid);
	a.fd = xl_fd_ref(fd);
	ret = afr_sync_one(priv, child, XL_FOP_OPENDIR, &a, NULL);
	while (ret >= 0) {
		memset(&a, 0, sizeof(a));
		a.fd = xl_fd_ref(fd);
		a.offset = off;
		a.size = 128 * 1024;
		ret = afr_sync_one(priv, child, XL_FOP_READDIR, &a, &r);
		if (ret < 0 || r.entry_count == 0) {
			xl_reply_clear(&r);
			break;
		}
		for (uint32_t k = 0; k < r.entry_count; k++) {
			const char *nm = r.entries[k].name;

			off = (int64_t)r.entries[k].d_off;
			if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
				continue;
			if (out->count == out->cap) {
				size_t cap = out->cap ? out->cap * 2 : 64;
				char **nn =
				    realloc(out->name, cap * sizeof(char *));

				if (!nn) {
					ret = -ENOMEM;
					break;
				}
				out->name = nn;
				out->cap = cap;
			}
			out->name[out->count] = strdup(nm);
			if (!out->name[out->count]) {
				ret = -ENOMEM;
				break;
			}
			out->count++;
		}
		xl_reply_clear(&r);
	}
	memset(&a, 0, sizeof(a));
	a.fd = xl_fd_ref(fd);
	afr_sync_one(priv, child, XL_FOP_RELEASEDIR, &a, NULL);
	xl_fd_unref(fd);
	if (ret < 0) {
		afr_names_free(out);
		return ret;
	}
	if (out->count)
		qsort(out->name, out->count, sizeof(char *), afr_names_cmp);
	return 0;
}

static int afr_lookup_name(struct afr_priv *priv, int child,
			   const uint8_t *pgfid, const char *name,
			   struct xl_iatt *attr)
{
	struct xl_args a;
	struct xl_reply r;
	int ret;

	memset(&a, 0, sizeof(a));
	memcpy(a.loc.pargfid, pgfid, XL_GFID_LEN);
	a.loc.name = strdup(name);
	ret = afr_sync_one(priv, child, XL_FOP_LOOKUP, &a, &r);
	if (ret >= 0)
		*attr = r.attr;
	xl_reply_clear(&r);
	return ret;
}

/* Remove name (and, for a directory, everything below) from child. */
static int afr_remove(struct afr_priv *priv, int child, const uint8_t *pgfid,
		      const char *name, int depth)
{
	struct xl_iatt at;
	struct xl_args a;
	int ret = afr_lookup_name(priv, child, pgfid, name, &at);

	if (ret < 0)
		return ret == -ENOENT ? 0 : ret;
	if (S_ISDIR(at.mode) && depth < 64) {
		struct afr_names sub;

		if (afr_list(priv, child, at.gfid, &sub) == 0) {
			for (size_t k = 0; k < sub.count; k++)
				afr_remove(priv, child, at.gfid, sub.name[k],
					   depth + 1);
			afr_names_free(&sub);
		}
	}
	memset(&a, 0, sizeof(a));
	memcpy(a.loc.pargfid, pgfid, XL_GFID_LEN);
	a.loc.name = strdup(name);
	return afr_sync_one(priv, child,
			    S_ISDIR(at.mode) ? XL_FOP_RMDIR : XL_FOP_UNLINK, &a,
			    NULL);
}

/* Create name on sink as the source has it (same gfid). */
static int afr_recreate(struct afr_priv *priv, int src, int sink,
			const uint8_t *pgfid, const char *name,
			const struct xl_iatt *sa)
{
	struct xl_args a;
	enum xl_fop fop;
	int ret;

	memset(&a, 0, sizeof(a));
	memcpy(a.loc.pargfid, pgfid, XL_GFID_LEN);
	memcpy(a.loc.gfid, sa->gfid, XL_GFID_LEN);
	a.loc.name = strdup(name);
	a.mode = sa->mode;
	a.umask = 0;
	a.rdev = sa->rdev;
	if (S_ISDIR(sa->mode)) {
		fop = XL_FOP_MKDIR;
		a.mode = sa->mode & 07777;
	} else if (S_ISLNK(sa->mode)) {
		struct xl_args ra;
		struct xl_reply rr;

		memset(&ra, 0, sizeof(ra));
		afr_loc_gfid(&ra.loc, sa->gfid);
		ra.size = 4096;
		if (afr_sync_one(priv, src, XL_FOP_READLINK, &ra, &rr) < 0 ||
		    !rr.data) {
			xl_reply_clear(&rr);
			xl_args_clear(&a);
			return -EIO;
		}
		a.xname = strndup(rr.data->data, rr.data->size);
		xl_reply_clear(&rr);
		fop = XL_FOP_SYMLINK;
	} else
		fop = XL_FOP_MKNOD;
	ret = afr_sync_one(priv, sink, fop, &a, NULL);
	if (ret == -EEXIST && !S_ISDIR(sa->mode)) {
		/* The gfid lives on under another name (hard link). */
		memset(&a, 0, sizeof(a));
		afr_loc_gfid(&a.loc, sa->gfid);
		memcpy(a.loc2.pargfid, pgfid, XL_GFID_LEN);
		memcpy(a.loc2.gfid, sa->gfid, XL_GFID_LEN);
		a.loc2.name = strdup(name);
		ret = afr_sync_one(priv, sink, XL_FOP_LINK, &a, NULL);
	}
	return ret;
}

int afr_heal_entry_copy(struct afr_hstate *h, int src, uint32_t sinks,
			bool remove, int depth)
{
	struct afr_priv *priv = h->priv;
	struct afr_names sn, kn;
	int ret;

	ret = afr_list(priv, src, h->gfid, &sn);
	if (ret < 0)
		return ret;
	for (int i = 0; i < priv->n && ret == 0; i++) {
		if (!(sinks & (1u << i)))
			continue;
		ret = afr_list(priv, i, h->gfid, &kn);
		if (ret < 0)
			break;
		for (size_t k = 0; remove && k < kn.count; k++)
			if (!afr_names_has(&sn, kn.name[k]))
				afr_remove(priv, i, h->gfid, kn.name[k], 0);
		for (size_t k = 0; k < sn.count; k++) {
			struct xl_iatt sa;

			if (afr_names_has(&kn, sn.name[k]))
				continue;
			if (afr_lookup_name(priv, src, h->gfid, sn.name[k],
					    &sa) < 0)
				continue;
			if (afr_recreate(priv, src, i, h->gfid, sn.name[k],
					 &sa) < 0) {
				ret = -EIO;
				continue;
			}
			/* The new object is empty: the source copy blames
			 * this sink for its data and metadata (and entries),
			 * and it is healed now. */
			{
				struct xl_args a;
				struct xl_dict *d;

				for (int t = 0; t < AFR_TYPES; t++) {
					if (t == AFR_DATA && !S_ISREG(sa.mode))
						continue;
					if (t == AFR_ENTRY && !S_ISDIR(sa.mode))
						continue;
					d = afr_pending_dict(priv, t, 1u << i,
							     1);
					if (!d)
						continue;
					memset(&a, 0, sizeof(a));
					afr_loc_gfid(&a.loc, sa.gfid);
					a.flags = XL_XATTROP_ADD64;
					a.xdata = d;
					afr_sync_one(priv, src, XL_FOP_XATTROP,
						     &a, NULL);
				}
			}
			afr_heal_one(priv, sa.gfid, AFR_POLICY_NONE, -1,
				     depth + 1);
		}
		afr_names_free(&kn);
	}
	afr_names_free(&sn);
	return ret;
}

/* Heal type t of h->gfid under its lock.  0, 1 (healed something) or
 * -errno. */
