/*
 * fop.c - the fop table and the helpers that own, copy and free the fields
 * of struct xl_args and struct xl_reply; gfid and name helpers.
 */
#include "config.h"

#include "buf.h"
#include "fop.h"
#include "inode.h"
#include "xdata-keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#define L   XL_A_LOC
#define R_A XL_R_ATTR
#define T   XL_F_CLIENT_TAG

/* Which args/reply fields each fop uses (the codec sends exactly these),
 * and the XL_F_* facts about it. */
const struct xl_fop_info xl_fop_info[XL_FOP_COUNT] = {
    [XL_FOP_LOOKUP] = {"lookup", L, R_A, T},
    [XL_FOP_STAT] = {"stat", L | XL_A_FD_OPT, R_A, T},
    [XL_FOP_SETATTR] = {"setattr", L | XL_A_FD_OPT | XL_A_ATTR, R_A, T},
    [XL_FOP_ACCESS] = {"access", L | XL_A_MODE, 0},
    [XL_FOP_READLINK] = {"readlink", L | XL_A_SIZE, XL_R_DATA},
    [XL_FOP_MKNOD] = {"mknod", L | XL_A_MODE | XL_A_UMASK | XL_A_RDEV, R_A, T},
    [XL_FOP_MKDIR] = {"mkdir", L | XL_A_MODE | XL_A_UMASK, R_A, T},
    [XL_FOP_UNLINK] = {"unlink", L | XL_A_FLAGS, 0, T},
    [XL_FOP_RMDIR] = {"rmdir", L | XL_A_FLAGS, 0, T},
    [XL_FOP_SYMLINK] = {"symlink", L | XL_A_XNAME | XL_A_UMASK, R_A, T},
    [XL_FOP_RENAME] = {"rename", L | XL_A_LOC2 | XL_A_FLAGS, R_A, T},
    [XL_FOP_LINK] = {"link", L | XL_A_LOC2, R_A, T},
    [XL_FOP_CREATE] = {"create",
		       L | XL_A_FD | XL_A_FLAGS | XL_A_MODE | XL_A_UMASK, R_A,
		       XL_F_OPENS_FD | T},
    [XL_FOP_OPEN] = {"open", L | XL_A_FD | XL_A_FLAGS, R_A, XL_F_OPENS_FD | T},
    [XL_FOP_READ] = {"read", XL_A_FD | XL_A_OFFSET | XL_A_SIZE | XL_A_FLAGS,
		     XL_R_DATA | R_A, XL_F_FILE_FD},
    [XL_FOP_WRITE] = {"write", XL_A_FD | XL_A_OFFSET | XL_A_DATA | XL_A_FLAGS,
		      R_A, XL_F_FILE_FD | T},
    [XL_FOP_FLUSH] = {"flush", XL_A_FD, 0, XL_F_FILE_FD | XL_F_CLIENT_TAG},
    [XL_FOP_RELEASE] = {"release", XL_A_FD, 0, XL_F_FILE_FD | XL_F_CLIENT_TAG},
    [XL_FOP_FSYNC] = {"fsync", XL_A_FD | XL_A_CMD, R_A, XL_F_FILE_FD},
    [XL_FOP_OPENDIR] = {"opendir", L | XL_A_FD, R_A, XL_F_OPENS_FD},
    [XL_FOP_READDIR] = {"readdir", XL_A_FD | XL_A_OFFSET | XL_A_SIZE,
			XL_R_ENTRIES, XL_F_DIR_FD},
    [XL_FOP_READDIRPLUS] = {"readdirplus", XL_A_FD | XL_A_OFFSET | XL_A_SIZE,
			    XL_R_ENTRIES, XL_F_DIR_FD | T},
    [XL_FOP_RELEASEDIR] = {"releasedir", XL_A_FD, 0,
			   XL_F_DIR_FD | XL_F_CLIENT_TAG},
    [XL_FOP_FSYNCDIR] = {"fsyncdir", XL_A_FD | XL_A_CMD, 0, XL_F_DIR_FD},
    [XL_FOP_STATFS] = {"statfs", L, XL_R_STATFS},
    [XL_FOP_SETXATTR] = {"setxattr",
			 L | XL_A_FD_OPT | XL_A_XNAME | XL_A_DATA | XL_A_FLAGS,
			 0, T},
    [XL_FOP_GETXATTR] = {"getxattr", L | XL_A_FD_OPT | XL_A_XNAME | XL_A_SIZE,
			 XL_R_DATA, T},
    [XL_FOP_LISTXATTR] = {"listxattr", L | XL_A_FD_OPT | XL_A_SIZE, XL_R_DATA},
    [XL_FOP_REMOVEXATTR] = {"removexattr", L | XL_A_FD_OPT | XL_A_XNAME, 0, T},
    [XL_FOP_LK] = {"lk", XL_A_FD | XL_A_CMD | XL_A_LOCK, XL_R_LOCK,
		   XL_F_FILE_FD | XL_F_CLIENT_TAG},
    [XL_FOP_FLOCK] = {"flock", XL_A_FD | XL_A_CMD, 0, XL_F_CLIENT_TAG},
    [XL_FOP_FALLOCATE] = {"fallocate",
			  XL_A_FD | XL_A_CMD | XL_A_OFFSET | XL_A_SIZE, R_A,
			  XL_F_FILE_FD | T},
    [XL_FOP_LSEEK] = {"lseek", XL_A_FD | XL_A_CMD | XL_A_OFFSET, XL_R_OFFSET,
		      XL_F_FILE_FD},
    [XL_FOP_INODELK] = {"inodelk",
			L | XL_A_FD_OPT | XL_A_CMD | XL_A_LOCK | XL_A_XNAME, 0,
			XL_F_CLIENT_TAG},
    [XL_FOP_XATTROP] = {"xattrop", L | XL_A_FD_OPT | XL_A_FLAGS, 0},
    [XL_FOP_RCHECKSUM] = {"rchecksum", XL_A_FD | XL_A_OFFSET | XL_A_SIZE,
			  XL_R_DATA | XL_R_OFFSET, XL_F_FILE_FD},
};

const char *xl_fop_name(int fop)
{
	if (fop < 0 || fop >= XL_FOP_COUNT || !xl_fop_info[fop].name)
		return "unknown";
	return xl_fop_info[fop].name;
}

bool xl_fop_is(int fop, uint32_t flags)
{
	if (fop < 0 || fop >= XL_FOP_COUNT)
		return false;
	return (xl_fop_info[fop].flags & flags) == flags;
}

void xl_loc_clear(struct xl_loc *loc)
{
	free(loc->name);
	if (loc->inode)
		xl_inode_unref(loc->inode);
	if (loc->parent)
		xl_inode_unref(loc->parent);
	memset(loc, 0, sizeof(*loc));
}

int xl_loc_copy(struct xl_loc *dst, const struct xl_loc *src)
{
	*dst = *src;
	dst->name = NULL;
	if (src->name) {
		dst->name = strdup(src->name);
		if (!dst->name) {
			dst->inode = dst->parent = NULL;
			return -ENOMEM;
		}
	}
	if (dst->inode)
		xl_inode_ref(dst->inode);
	if (dst->parent)
		xl_inode_ref(dst->parent);
	return 0;
}

void xl_args_clear(struct xl_args *args)
{
	xl_loc_clear(&args->loc);
	xl_loc_clear(&args->loc2);
	if (args->fd)
		xl_fd_unref(args->fd);
	free(args->xname);
	if (args->data)
		xl_iobuf_unref(args->data);
	if (args->xdata)
		xl_dict_unref(args->xdata);
	memset(args, 0, sizeof(*args));
}

int xl_args_copy(struct xl_args *dst, const struct xl_args *src)
{
	*dst = *src;
	memset(&dst->loc, 0, sizeof(dst->loc));
	memset(&dst->loc2, 0, sizeof(dst->loc2));
	dst->fd = NULL;
	dst->xname = NULL;
	dst->data = NULL;
	dst->xdata = NULL;
	if (xl_loc_copy(&dst->loc, &src->loc) ||
	    xl_loc_copy(&dst->loc2, &src->loc2))
		goto fail;
	if (src->xname && !(dst->xname = strdup(src->xname)))
		goto fail;
	if (src->fd)
		dst->fd = xl_fd_ref(src->fd);
	if (src->data)
		dst->data = xl_iobuf_ref(src->data);
	if (src->xdata)
		dst->xdata = xl_dict_ref(src->xdata);
	return 0;
fail:
	xl_args_clear(dst);
	return -ENOMEM;
}

void xl_dirents_free(struct xl_dirent *entries, uint32_t count)
{
	if (!entries)
		return;
	for (uint32_t i = 0; i < count; i++)
		free(entries[i].name);
	free(entries);
}

void xl_reply_clear(struct xl_reply *reply)
{
	if (reply->data)
		xl_iobuf_unref(reply->data);
	xl_dirents_free(reply->entries, reply->entry_count);
	if (reply->xdata)
		xl_dict_unref(reply->xdata);
	memset(reply, 0, sizeof(*reply));
}

void xl_reply_move(struct xl_reply *dst, struct xl_reply *src)
{
	xl_reply_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

int xl_reply_copy(struct xl_reply *dst, const struct xl_reply *src)
{
	*dst = *src;
	dst->entries = NULL;
	dst->entry_count = 0;
	if (src->data)
		xl_iobuf_ref(src->data);
	if (src->xdata)
		xl_dict_ref(src->xdata);
	if (src->entry_count) {
		dst->entries = calloc(src->entry_count, sizeof(*dst->entries));
		if (!dst->entries)
			goto fail;
		for (uint32_t i = 0; i < src->entry_count; i++) {
			dst->entries[i] = src->entries[i];
			dst->entries[i].name = strdup(src->entries[i].name);
			dst->entry_count = i + 1;
			if (!dst->entries[i].name)
				goto fail;
		}
	}
	return 0;
fail:
	xl_reply_clear(dst);
	return -ENOMEM;
}

const uint8_t xl_gfid_root[XL_GFID_LEN] = {0, 0, 0, 0, 0, 0, 0, 0,
					   0, 0, 0, 0, 0, 0, 0, 1};

bool xl_gfid_is_null(const uint8_t *gfid)
{
	for (int i = 0; i < XL_GFID_LEN; i++)
		if (gfid[i])
			return false;
	return true;
}

bool xl_gfid_is_root(const uint8_t *gfid)
{
	return memcmp(gfid, xl_gfid_root, XL_GFID_LEN) == 0;
}

const uint8_t xl_gfid_index[XL_GFID_LEN] = {0, 0, 0, 0, 0, 0, 0, 0,
					    0, 0, 0, 0, 0, 0, 0, 5};

bool xl_gfid_is_index(const uint8_t *gfid)
{
	return memcmp(gfid, xl_gfid_index, XL_GFID_LEN) == 0;
}

void xl_gfid_generate(uint8_t *gfid)
{
	ssize_t n = getrandom(gfid, XL_GFID_LEN, 0);

	if (n != XL_GFID_LEN) {
		/* getrandom on Linux >= 3.17 does not fail for 16 bytes once
		 * the pool is ready; fall back to a weak source rather than
		 * abort a create. */
		for (int i = 0; i < XL_GFID_LEN; i++)
			gfid[i] = (uint8_t)random();
	}
	gfid[6] = (gfid[6] & 0x0f) | 0x40; /* version 4 */
	gfid[8] = (gfid[8] & 0x3f) | 0x80; /* variant */
}

char *xl_gfid_to_str(const uint8_t *g, char *buf)
{
	snprintf(buf, XL_GFID_STR_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9],
		 g[10], g[11], g[12], g[13], g[14], g[15]);
	return buf;
}

static int fop_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int xl_gfid_parse(const char *s, uint8_t *gfid)
{
	int n = 0;

	for (int i = 0; s[i]; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		int hi = fop_hexval(s[i]);
		int lo = s[i + 1] ? fop_hexval(s[i + 1]) : -1;
		if (hi < 0 || lo < 0 || n >= XL_GFID_LEN)
			return -EINVAL;
		gfid[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return n == XL_GFID_LEN && strlen(s) == 36 ? 0 : -EINVAL;
}

uint64_t xl_gfid_to_ino(const uint8_t *gfid)
{
	uint64_t ino = 0;

	if (xl_gfid_is_root(gfid))
		return 1;
	for (int i = 8; i < 16; i++)
		ino = ino << 8 | gfid[i];
	/* 0 and 1 are reserved (no inode, root). */
	return ino > 1 ? ino : ino + 2;
}

bool xl_name_is_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strnlen(name, XL_NAME_MAX + 1);
	if (len == 0 || len > XL_NAME_MAX)
		return false;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return memchr(name, '/', len) == NULL;
}

void xl_iatt_from_stat(struct xl_iatt *ia, const struct stat *st)
{
	ia->ino = st->st_ino;
	ia->dev = st->st_dev;
	ia->mode = st->st_mode;
	ia->nlink = (uint32_t)st->st_nlink;
	ia->uid = st->st_uid;
	ia->gid = st->st_gid;
	ia->rdev = st->st_rdev;
	ia->size = (uint64_t)st->st_size;
	ia->blocks = (uint64_t)st->st_blocks;
	ia->blksize = (uint32_t)st->st_blksize;
	ia->atime = st->st_atim.tv_sec;
	ia->atime_nsec = (uint32_t)st->st_atim.tv_nsec;
	ia->mtime = st->st_mtim.tv_sec;
	ia->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	ia->ctime = st->st_ctim.tv_sec;
	ia->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
}

void xl_iatt_to_stat(const struct xl_iatt *ia, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = xl_gfid_to_ino(ia->gfid);
	st->st_dev = ia->dev;
	st->st_mode = ia->mode;
	st->st_nlink = ia->nlink;
	st->st_uid = ia->uid;
	st->st_gid = ia->gid;
	st->st_rdev = ia->rdev;
	st->st_size = (off_t)ia->size;
	st->st_blocks = (blkcnt_t)ia->blocks;
	st->st_blksize = ia->blksize;
	st->st_atim.tv_sec = ia->atime;
	st->st_atim.tv_nsec = ia->atime_nsec;
	st->st_mtim.tv_sec = ia->mtime;
	st->st_mtim.tv_nsec = ia->mtime_nsec;
	st->st_ctim.tv_sec = ia->ctime;
	st->st_ctim.tv_nsec = ia->ctime_nsec;
}

/* ---- an xl_iatt as bytes: the wire's layout ------------------------------ */

/* Little-endian, like every integer of the wire (rpc/codec.c). */
static uint8_t *iatt_put(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
	return p + bytes;
}

static uint64_t iatt_get(const uint8_t **p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | (*p)[i];
	*p += bytes;
	return v;
}

void xl_iatt_pack(uint8_t out[XL_IATT_PACKED_LEN], const struct xl_iatt *ia)
{
	uint8_t *p = out;

	memcpy(p, ia->gfid, XL_GFID_LEN);
	p += XL_GFID_LEN;
	p = iatt_put(p, ia->ino, 8);
	p = iatt_put(p, ia->dev, 8);
	p = iatt_put(p, ia->mode, 4);
	p = iatt_put(p, ia->nlink, 4);
	p = iatt_put(p, ia->uid, 4);
	p = iatt_put(p, ia->gid, 4);
	p = iatt_put(p, ia->rdev, 8);
	p = iatt_put(p, ia->size, 8);
	p = iatt_put(p, ia->blocks, 8);
	p = iatt_put(p, ia->blksize, 4);
	p = iatt_put(p, (uint64_t)ia->atime, 8);
	p = iatt_put(p, (uint64_t)ia->mtime, 8);
	p = iatt_put(p, (uint64_t)ia->ctime, 8);
	p = iatt_put(p, ia->atime_nsec, 4);
	p = iatt_put(p, ia->mtime_nsec, 4);
	iatt_put(p, ia->ctime_nsec, 4);
}

int xl_iatt_unpack(const uint8_t in[XL_IATT_PACKED_LEN], struct xl_iatt *ia)
{
	const uint8_t *p = in + XL_GFID_LEN;

	memcpy(ia->gfid, in, XL_GFID_LEN);
	ia->ino = iatt_get(&p, 8);
	ia->dev = iatt_get(&p, 8);
	ia->mode = (uint32_t)iatt_get(&p, 4);
	ia->nlink = (uint32_t)iatt_get(&p, 4);
	ia->uid = (uint32_t)iatt_get(&p, 4);
	ia->gid = (uint32_t)iatt_get(&p, 4);
	ia->rdev = iatt_get(&p, 8);
	ia->size = iatt_get(&p, 8);
	ia->blocks = iatt_get(&p, 8);
	ia->blksize = (uint32_t)iatt_get(&p, 4);
	ia->atime = (int64_t)iatt_get(&p, 8);
	ia->mtime = (int64_t)iatt_get(&p, 8);
	ia->ctime = (int64_t)iatt_get(&p, 8);
	ia->atime_nsec = (uint32_t)iatt_get(&p, 4);
	ia->mtime_nsec = (uint32_t)iatt_get(&p, 4);
	ia->ctime_nsec = (uint32_t)iatt_get(&p, 4);
	if (ia->atime_nsec >= 1000000000u || ia->mtime_nsec >= 1000000000u ||
	    ia->ctime_nsec >= 1000000000u)
		return -EINVAL;
	return 0;
}

/* ---- an xl_iatt in a dict value ---------------------------------------- */

int xl_dict_set_iatt(struct xl_dict *d, const char *key,
		     const struct xl_iatt *ia)
{
	uint8_t buf[XL_IATT_PACKED_LEN];

	xl_iatt_pack(buf, ia);
	return xl_dict_set(d, key, buf, sizeof(buf));
}

int xl_dict_get_iatt(const struct xl_dict *d, const char *key,
		     struct xl_iatt *ia)
{
	const struct xl_dict_pair *pr = d ? xl_dict_get(d, key) : NULL;

	if (!pr)
		return -ENOENT;
	if (pr->len != XL_IATT_PACKED_LEN)
		return -EINVAL;
	return xl_iatt_unpack(pr->value, ia);
}

int xl_reply_no_cache(struct xl_reply *reply)
{
	if (!reply->xdata)
		reply->xdata = xl_dict_new();
	if (!reply->xdata)
		return -ENOMEM;
	return xl_dict_set_u64(reply->xdata, XL_KEY_NO_CACHE, 1);
}
