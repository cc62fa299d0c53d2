/*
 * merge.c - helpers for translators that merge their children's answers:
 * readdir offsets (the encoding is described in merge.h), statfs sums.
 */
#include "config.h"

#include "merge.h"

#include <string.h>

#define XL_DOFF_HASHED ((uint64_t)1 << 62)
#define XL_DOFF_SIGN   ((uint64_t)1 << 63)

/* Bits that hold a child index below nchildren. */
static int xl_doff_bits(int nchildren)
{
	int b = 0;

	while ((1 << b) < nchildren)
		b++;
	return b;
}

uint64_t xl_doff_encode(int nchildren, int idx, uint64_t off)
{
	int b = xl_doff_bits(nchildren);

	off &= ~XL_DOFF_SIGN;
	if (b == 0)
		return off;
	if ((off >> (62 - b)) == 0)
		return (off << b) | (uint64_t)idx;
	return XL_DOFF_HASHED | ((off >> (b + 1)) << b) | (uint64_t)idx;
}

void xl_doff_decode(int nchildren, uint64_t d, int *idx, uint64_t *off)
{
	int b = xl_doff_bits(nchildren);
	uint64_t mask = ((uint64_t)1 << b) - 1;

	d &= ~XL_DOFF_SIGN;
	*idx = (int)(d & mask);
	if (b == 0)
		*off = d;
	else if (d & XL_DOFF_HASHED)
		*off = ((d & ~XL_DOFF_HASHED) >> b) << (b + 1);
	else
		*off = d >> b;
}

void xl_statfs_add(struct xl_statfs *sum, const struct xl_statfs *s)
{
	uint64_t u = s->frsize ? s->frsize : s->bsize;

	if (!u)
		u = 4096;
	if (!sum->frsize) {
		*sum = *s;
		sum->frsize = u;
		sum->blocks = sum->bfree = sum->bavail = 0;
		sum->files = sum->ffree = sum->favail = 0;
	}
	sum->blocks += s->blocks * u / sum->frsize;
	sum->bfree += s->bfree * u / sum->frsize;
	sum->bavail += s->bavail * u / sum->frsize;
	sum->files += s->files;
	sum->ffree += s->ffree;
	sum->favail += s->favail;
	if (s->namemax && (!sum->namemax || s->namemax < sum->namemax))
		sum->namemax = s->namemax;
}

static bool xl_time_newer(int64_t s, uint32_t ns, int64_t than_s,
			  uint32_t than_ns)
{
	return s > than_s || (s == than_s && ns > than_ns);
}

void xl_iatt_merge_dir(struct xl_iatt *into, const struct xl_iatt *a)
{
	if (xl_time_newer(a->mtime, a->mtime_nsec, into->mtime,
			  into->mtime_nsec)) {
		into->mtime = a->mtime;
		into->mtime_nsec = a->mtime_nsec;
	}
	if (xl_time_newer(a->ctime, a->ctime_nsec, into->ctime,
			  into->ctime_nsec)) {
		into->ctime = a->ctime;
		into->ctime_nsec = a->ctime_nsec;
	}
	if (xl_time_newer(a->atime, a->atime_nsec, into->atime,
			  into->atime_nsec)) {
		into->atime = a->atime;
		into->atime_nsec = a->atime_nsec;
	}
}

void xl_dirent_drop_dir_attr(struct xl_dirent *d)
{
	if (!xl_gfid_is_null(d->attr.gfid))
		d->d_ino = xl_gfid_to_ino(d->attr.gfid);
	memset(&d->attr, 0, sizeof(d->attr));
}
