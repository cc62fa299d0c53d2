/*
 * volfile-version.c - a volfile's version: its "# version N" header and
 * the hash of its text (volfile-version.h says why both).
 */
#include "config.h"

#include "volfile-version.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

/* N of a line "# version N" (spaces and tabs allowed around the words),
 * or 0 when the line is something else. */
static uint64_t vv_header_number(const char *line, size_t len)
{
	const char *p = line, *end = line + len;
	uint64_t n = 0;
	int digits = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != '#')
		return 0;
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < 7 || memcmp(p, "version", 7) != 0)
		return 0;
	p += 7;
	if (p == end || (*p != ' ' && *p != '\t'))
		return 0;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < end && isdigit((unsigned char)*p) && digits < 19; p++) {
		n = n * 10 + (uint64_t)(*p - '0');
		digits++;
	}
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p == end && digits > 0 ? n : 0;
}

void xl_volfile_version_of(const char *text, size_t len,
			   struct xl_volfile_version *out)
{
	const char *p = text, *end = text + len;

	out->number = 0;
	out->hash = XXH64(text, len, 0);
	/* Only the leading comments and blank lines count: a "# version"
	 * inside the graph is just a comment. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *q = p;

		while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q < eol && *q != '#')
			break;
		if (q < eol && !out->number)
			out->number = vv_header_number(p, (size_t)(eol - p));
		p = nl ? nl + 1 : end;
	}
}

enum xl_volfile_change
xl_volfile_version_cmp(const struct xl_volfile_version *running,
		       const struct xl_volfile_version *served)
{
	if (served->number > running->number)
		return XL_VOLFILE_NEWER;
	if (served->number < running->number)
		return XL_VOLFILE_OLDER;
	return served->hash == running->hash ? XL_VOLFILE_SAME
					     : XL_VOLFILE_EDITED;
}

const char *xl_volfile_version_str(const struct xl_volfile_version *v,
				   char *buf, size_t size)
{
	snprintf(buf, size, "%" PRIu64 " (hash %016" PRIx64 ")", v->number,
		 v->hash);
	return buf;
}
