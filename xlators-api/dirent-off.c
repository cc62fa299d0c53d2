/*
 * dirent-off.c - readdir offsets of translators that list several
 * children in turn; the encoding is described in dirent-off.h.
 */
#include "config.h"

#include "dirent-off.h"

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
