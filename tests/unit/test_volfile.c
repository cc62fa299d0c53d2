/*
 * test_volfile.c - the volfile parser: good files parse into the right
 * specs; every kind of bad file gives "FILE:LINE: problem".
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct xl_volfile *parse_ok(const char *text)
{
	struct xl_volfile *vf = NULL;
	char *err = NULL;
	int ret = xl_volfile_parse(text, strlen(text), "t.vol", &vf, &err);

	if (ret)
		fail_msg("unexpected parse error: %s", err ? err : "?");
	assert_null(err);
	return vf;
}

/* Parse must fail and the message must contain want. */
static void parse_bad(const char *text, const char *want)
{
	struct xl_volfile *vf = NULL;
	char *err = NULL;
	int ret = xl_volfile_parse(text, strlen(text), "t.vol", &vf, &err);

	assert_int_equal(ret, -EINVAL);
	assert_null(vf);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
	free(err);
}

static void test_parse_good(void **state)
{
	(void)state;
	struct xl_volfile *vf =
	    parse_ok("# a comment\n"
		     "volume b1\n"
		     "  type storage/posix\n"
		     "  option directory /data/brick 1   # trailing comment\n"
		     "end-volume\n"
		     "\n"
		     "volume top\n"
		     "\ttype debug/trace\n"
		     "\toption note has#hash\n"
		     "\tsubvolumes b1\n"
		     "end-volume\n");
	assert_int_equal(vf->volume_count, 2);
	assert_string_equal(vf->volumes[0].name, "b1");
	assert_string_equal(vf->volumes[0].type, "storage/posix");
	assert_int_equal(vf->volumes[0].option_count, 1);
	assert_string_equal(vf->volumes[0].options[0].key, "directory");
	assert_string_equal(vf->volumes[0].options[0].value, "/data/brick 1");
	assert_int_equal(vf->volumes[0].options[0].line, 4);
	assert_string_equal(vf->volumes[1].options[0].value, "has#hash");
	assert_int_equal(vf->volumes[1].subvolume_count, 1);
	assert_string_equal(vf->volumes[1].subvolumes[0], "b1");
	assert_int_equal(vf->volumes[1].line, 7);
	xl_volfile_free(vf);
}

static void test_parse_bad(void **state)
{
	(void)state;
	parse_bad("", "t.vol:1: no volumes defined");
	parse_bad("type storage/posix\n", "t.vol:1: 'type' outside a volume");
	parse_bad("volume a\ntype x/y\n",
		  "t.vol:1: volume 'a' has no 'end-volume'");
	parse_bad("volume a\nend-volume\n",
		  "t.vol:1: volume 'a' has no 'type'");
	parse_bad("volume a\ntype x/y\nbogus 1\nend-volume\n",
		  "t.vol:3: unknown directive 'bogus'");
	parse_bad("volume a\ntype x/y\noption k\nend-volume\n",
		  "t.vol:3: 'option' needs a key and a value");
	parse_bad("volume a\ntype x/y\noption k 1\noption k 2\nend-volume\n",
		  "t.vol:4: option 'k' given twice");
	parse_bad("volume a\ntype x/y\nend-volume\nvolume a\ntype x/y\n"
		  "end-volume\n",
		  "t.vol:4: volume 'a' already defined at line 1");
	parse_bad("volume a\nvolume b\n",
		  "t.vol:2: 'volume' inside volume 'a'");
	parse_bad("volume a b\n", "t.vol:1: 'volume' takes exactly one name");
	parse_bad("volume a/b\n", "t.vol:1: bad volume name");
	parse_bad("volume a\ntype posix\nend-volume\n", "t.vol:2: bad type");
	parse_bad("volume a\ntype ../../etc/x\nend-volume\n",
		  "t.vol:2: bad type");
	parse_bad("volume a\ntype x/y\nsubvolumes\nend-volume\n",
		  "t.vol:3: 'subvolumes' needs at least one name");
	parse_bad("volume a\ntype x/y\nsubvolumes b b\nend-volume\n",
		  "t.vol:3: subvolume 'b' listed twice");
}

static void test_parse_nul(void **state)
{
	(void)state;
	const char text[] = "volume a\ntype x/y\0\nend-volume\n";
	struct xl_volfile *vf = NULL;
	char *err = NULL;

	assert_int_equal(
	    xl_volfile_parse(text, sizeof(text) - 1, "t.vol", &vf, &err),
	    -EINVAL);
	assert_non_null(strstr(err, "t.vol:2: NUL byte"));
	free(err);
}

static void test_read_missing_file(void **state)
{
	(void)state;
	struct xl_volfile *vf = NULL;
	char *err = NULL;

	assert_int_equal(xl_volfile_read("/nonexistent/x.vol", &vf, &err),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.vol: cannot open"));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_nul),
	    cmocka_unit_test(test_read_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
