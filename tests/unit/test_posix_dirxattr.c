/*
 * test_posix_dirxattr.c - readdirplus with "mortar.xattr-req"
 * (doc/cluster.md): storage/posix names, for each requested xattr, the
 * listed entries that carry it, so cluster/distribute tells its linkto
 * files from users' files of the same mode without a lookup per entry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "posix-fixture.h"

#define LINKTO "trusted.mortar.dht.linkto"

static void set_linkto(struct fx *f, const uint8_t *gfid)
{
	struct rec r;
	struct xl_call *c = mk(f, XL_FOP_SETXATTR, &r);

	set_entry(&c->args.loc, NULL, NULL, gfid);
	c->args.xname = strdup(LINKTO);
	c->args.data = xl_iobuf_from("vol-client-1", 13);
	c->args.xdata = xl_dict_new();
	assert_non_null(c->args.xdata);
	assert_int_equal(xl_dict_set_u64(c->args.xdata, "mortar.internal", 1),
			 0);
	assert_int_equal(run(f, c, &r), 0);
	xl_reply_clear(&r.reply);
}

/* One readdirplus of the directory open as fd from off; req: the
 * xattr-req list (NULL: none). */
static void readdirp(struct fx *f, struct xl_fd *fd, uint64_t off,
		     const char *req, size_t reqlen, struct rec *r)
{
	struct xl_call *c = mk(f, XL_FOP_READDIRPLUS, r);

	c->args.fd = xl_fd_ref(fd);
	c->args.offset = (int64_t)off;
	c->args.size = 128 * 1024;
	if (req) {
		c->args.xdata = xl_dict_new();
		assert_non_null(c->args.xdata);
		assert_int_equal(xl_dict_set(c->args.xdata, "mortar.xattr-req",
					     req, (uint32_t)reqlen),
				 0);
	}
	assert_int_equal(run(f, c, r), 0);
}

static bool listed(const struct xl_dict_pair *p, const char *name)
{
	for (uint32_t off = 0; p && off < p->len;) {
		const char *s = (const char *)p->value + off;

		if (strcmp(s, name) == 0)
			return true;
		off += (uint32_t)strlen(s) + 1;
	}
	return false;
}

/* Files of mode 01000 with and without the xattr, a regular one with it:
 * the list holds exactly the ones that carry it; nothing when not asked;
 * no key for an xattr no entry has. */
static void test_lists_entries_with_xattr(void **state)
{
	struct fx *f = *state;
	static const char req[] = LINKTO "\0user.none";
	const struct xl_dict_pair *p;
	uint8_t d[XL_GFID_LEN], g[XL_GFID_LEN];
	struct xl_fd *fd;
	struct rec r;
	uint32_t seen = 0;

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "d", 0755, NULL, d, NULL),
	    0);
	assert_int_equal(do_make(f, XL_FOP_MKNOD, d, "linkto",
				 S_IFREG | S_ISVTX, NULL, g, NULL),
			 0);
	set_linkto(f, g);
	assert_int_equal(do_make(f, XL_FOP_MKNOD, d, "user1000",
				 S_IFREG | S_ISVTX, NULL, g, NULL),
			 0);
	assert_int_equal(do_make(f, XL_FOP_MKNOD, d, "marked", S_IFREG | 03644,
				 NULL, g, NULL),
			 0);
	set_linkto(f, g);
	assert_int_equal(do_open(f, XL_FOP_OPENDIR, d, O_RDONLY, &fd), 0);

	readdirp(f, fd, 0, req, sizeof(req), &r);
	assert_int_equal(r.reply.entry_count, 5); /* with . and .. */
	assert_non_null(r.reply.xdata);
	p = xl_dict_get(r.reply.xdata, LINKTO);
	assert_non_null(p);
	assert_true(listed(p, "linkto"));
	assert_true(listed(p, "marked"));
	assert_false(listed(p, "user1000"));
	assert_false(listed(p, "."));
	assert_int_equal(p->len, sizeof("linkto") + sizeof("marked"));
	/* in listing order */
	for (uint32_t i = 0; i < r.reply.entry_count; i++) {
		const char *n = r.reply.entries[i].name;

		if (listed(p, n)) {
			assert_string_equal((const char *)p->value + seen, n);
			seen += (uint32_t)strlen(n) + 1;
		}
	}
	assert_null(xl_dict_get(r.reply.xdata, "user.none"));
	xl_reply_clear(&r.reply);

	readdirp(f, fd, 0, NULL, 0, &r);
	assert_int_equal(r.reply.entry_count, 5);
	assert_true(!r.reply.xdata || !xl_dict_get(r.reply.xdata, LINKTO));
	xl_reply_clear(&r.reply);
	do_release(f, fd, XL_FOP_RELEASEDIR);
}

/* Paged: each reply names only its own entries, every one exactly once
 * over the pages. */
static void test_lists_follow_pages(void **state)
{
	struct fx *f = *state;
	enum { N = 600 };
	char name[300];
	uint8_t d[XL_GFID_LEN], g[XL_GFID_LEN];
	static bool seen[N];
	struct xl_fd *fd;
	uint64_t off = 0;
	int pages = 0, total = 0;

	assert_int_equal(
	    do_make(f, XL_FOP_MKDIR, xl_gfid_root, "big", 0755, NULL, d, NULL),
	    0);
	for (int i = 0; i < N; i++) {
		/* long names: few entries per page */
		snprintf(name, sizeof(name), "%0200d", i);
		assert_int_equal(do_make(f, XL_FOP_MKNOD, d, name,
					 S_IFREG | S_ISVTX, NULL, g, NULL),
				 0);
		if (i % 2 == 0)
			set_linkto(f, g);
	}
	assert_int_equal(do_open(f, XL_FOP_OPENDIR, d, O_RDONLY, &fd), 0);
	for (;;) {
		const struct xl_dict_pair *p;
		struct rec r;

		readdirp(f, fd, off, LINKTO, sizeof(LINKTO), &r);
		if (r.reply.entry_count == 0) {
			xl_reply_clear(&r.reply);
			break;
		}
		pages++;
		p = r.reply.xdata ? xl_dict_get(r.reply.xdata, LINKTO) : NULL;
		for (uint32_t at = 0; p && at < p->len;) {
			const char *s = (const char *)p->value + at;
			bool here = false;

			for (uint32_t i = 0; i < r.reply.entry_count; i++)
				here =
				    here || !strcmp(r.reply.entries[i].name, s);
			assert_true(here);
			at += (uint32_t)strlen(s) + 1;
		}
		for (uint32_t i = 0; i < r.reply.entry_count; i++) {
			const char *n = r.reply.entries[i].name;
			int k = atoi(n);

			off = r.reply.entries[i].d_off;
			if (n[0] == '.')
				continue;
			assert_false(seen[k]);
			seen[k] = true;
			total++;
			assert_int_equal(listed(p, n), k % 2 == 0);
		}
		xl_reply_clear(&r.reply);
	}
	assert_int_equal(total, N);
	assert_true(pages > 1);
	do_release(f, fd, XL_FOP_RELEASEDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lists_entries_with_xattr,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lists_follow_pages, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
