/*
 * merge.c - helpers for translators that merge their children's answers:
 * readdir offsets (the encoding is described in merge.h), statfs sums.
 */
#include "config.h"

#include "merge.h"

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
