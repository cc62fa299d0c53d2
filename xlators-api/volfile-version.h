/*
 * volfile-version.h - which volfile a client runs, and whether the one a
 * volfile server serves now is newer.
 *
 * A volfile's version is two facts about its text:
 *
 *   number  N from a "# version N" comment among the comments before the
 *           first volume (mortar-volgen and mortarctl write it and add one
 *           each time they rewrite a volume); 0 when there is none (a
 *           hand-written file);
 *   hash    64-bit xxhash of the whole text, so an edit is seen even when
 *           nobody bumped the number.
 *
 * A client switches to a served volfile with a larger number, or with the
 * same number and another hash (an edit without a bump); never to a
 * smaller number (a volfile server left behind during an add-brick must
 * not take a client back).  Pure: no I/O (unit/test_volfile_version).
 */
#ifndef MORTAR_VOLFILE_VERSION_H
#define MORTAR_VOLFILE_VERSION_H

#include <stddef.h>
#include <stdint.h>

struct xl_volfile_version {
	uint64_t number; /* "# version N"; 0: none */
	uint64_t hash;	 /* XXH64 of the text, seed 0 */
};

enum xl_volfile_change {
	XL_VOLFILE_SAME = 0, /* same text */
	XL_VOLFILE_NEWER,    /* a larger number: switch */
	XL_VOLFILE_EDITED,   /* same number, other text: switch */
	XL_VOLFILE_OLDER,    /* a smaller number: keep running */
};

void xl_volfile_version_of(const char *text, size_t len,
			   struct xl_volfile_version *out);
/* What served is, compared with running. */
enum xl_volfile_change
xl_volfile_version_cmp(const struct xl_volfile_version *running,
		       const struct xl_volfile_version *served);
/* "3 (hash 0123456789abcdef)" into buf, for logs and state dumps. */
const char *xl_volfile_version_str(const struct xl_volfile_version *v,
				   char *buf, size_t size);

#endif
