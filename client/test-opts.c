/*
 * test-opts.c - unit tests of the mount program's command line parsing
 * (mortar-opts.c): sources of the volfile, -o splitting between Mortar
 * and FUSE, value checks and clear errors.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mortar-opts.h"

static int parse(struct mortar_opts *o, char **err, int argc, ...)
{
	char *argv[32];
	va_list ap;
	int ret;

	argv[0] = "mortar";
	va_start(ap, argc);
	for (int i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	ret = mortar_opts_parse(argc, argv, o, err);
	return ret;
}

static void test_volfile_defaults(void **state)
{
	struct mortar_opts o;
	char *err = NULL;

	(void)state;
	assert_int_equal(parse(&o, &err, 4, "-f", "c.vol", "/mnt/x"), 0);
	assert_string_equal(o.volfile, "c.vol");
	assert_string_equal(o.mountpoint, "/mnt/x");
	assert_false(o.foreground);
	assert_true(o.entry_timeout == 1.0 && o.attr_timeout == 1.0);
	assert_true(o.negative_timeout == 0.0);
	assert_int_equal(o.fuse_threads, 4);
	assert_true(o.parallel_dirops);
	assert_int_equal(o.log_level, XL_LOG_INFO);
	assert_null(o.fuse_opts);
	mortar_opts_free(&o);
}

static void test_server(void **state)
{
	struct mortar_opts o;
	char *err = NULL;

	(void)state;
	assert_int_equal(parse(&o, &err, 7, "--volfile-server", "h1:24011",
			       "--volume", "v", "-N", "/m"),
			 0);
	assert_string_equal(o.server_host, "h1");
	assert_int_equal(o.server_port, 24011);
	assert_string_equal(o.volume, "v");
	assert_true(o.foreground);
	mortar_opts_free(&o);
}

static void test_parse_server(void **state)
{
	char *host;
	uint16_t port;

	(void)state;
	assert_int_equal(mortar_parse_server("h", 24010, &host, &port), 0);
	assert_string_equal(host, "h");
	assert_int_equal(port, 24010);
	free(host);
	assert_int_equal(mortar_parse_server("[::1]:99", 24010, &host, &port),
			 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 99);
	free(host);
	assert_int_equal(mortar_parse_server("fe80::1", 7, &host, &port), 0);
	assert_string_equal(host, "fe80::1");
	assert_int_equal(port, 7);
	free(host);
	assert_int_equal(mortar_parse_server("h:0", 1, &host, &port), -EINVAL);
	assert_int_equal(mortar_parse_server("h:70000", 1, &host, &port),
			 -EINVAL);
	assert_int_equal(mortar_parse_server("h:x", 1, &host, &port), -EINVAL);
	assert_int_equal(mortar_parse_server(":5", 1, &host, &port), -EINVAL);
	assert_int_equal(mortar_parse_server("", 1, &host, &port), -EINVAL);
}

static void test_o_split(void **state)
{
	struct mortar_opts o;
	char *err = NULL;

	(void)state;
	assert_int_equal(
	    parse(&o, &err, 6, "-f", "c.vol", "-o",
		  "defaults,_netdev,ro,entry-timeout=2.5,attribute-timeout="
		  "0,negative-timeout=3,fuse-threads=8,xlator-path=/x,"
		  "allow_other,x-systemd.automount",
		  "-o", "log-level=debug"),
	    -EINVAL); /* no mount point: "-o" list was the last option */
	free(err);
	mortar_opts_free(&o);
	err = NULL;
	assert_int_equal(
	    parse(&o, &err, 8, "-f", "c.vol", "-o",
		  "defaults,_netdev,ro,entry-timeout=2.5,attribute-timeout="
		  "0,negative-timeout=3,fuse-threads=8,xlator-path=/x,"
		  "allow_other,x-systemd.automount",
		  "-o", "log-level=debug,max_read=4096,parallel-dirops=off",
		  "/m"),
	    0);
	assert_string_equal(o.fuse_opts, "ro,allow_other,max_read=4096");
	assert_true(o.entry_timeout == 2.5);
	assert_true(o.attr_timeout == 0.0);
	assert_true(o.negative_timeout == 3.0);
	assert_int_equal(o.fuse_threads, 8);
	assert_false(o.parallel_dirops);
	assert_string_equal(o.xlator_path, "/x");
	assert_int_equal(o.log_level, XL_LOG_DEBUG);
	assert_true(mortar_opts_has(o.fuse_opts, "ro"));
	assert_true(mortar_opts_has(o.fuse_opts, "max_read"));
	assert_false(mortar_opts_has(o.fuse_opts, "allow"));
	assert_false(mortar_opts_has(NULL, "ro"));
	mortar_opts_free(&o);
}

static void expect_error(const char *what, int argc, char *a1, char *a2,
			 char *a3, char *a4, char *a5)
{
	struct mortar_opts o;
	char *err = NULL;

	assert_int_equal(parse(&o, &err, argc, a1, a2, a3, a4, a5), -EINVAL);
	assert_non_null(err);
	if (!strstr(err, what))
		fail_msg("error '%s' does not mention '%s'", err, what);
	free(err);
	mortar_opts_free(&o);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("fuse-threads", 6, "-f", "c", "-o", "fuse-threads=0",
		     "/m");
	expect_error("entry-timeout", 6, "-f", "c", "-o", "entry-timeout=x",
		     "/m");
	expect_error("parallel-dirops", 6, "-f", "c", "-o",
		     "parallel-dirops=maybe", "/m");
	expect_error("log level", 6, "-f", "c", "--log-level", "loud", "/m");
	expect_error("MOUNTPOINT", 3, "-f", "c", NULL, NULL, NULL);
	expect_error("too many", 5, "-f", "c", "/m", "/n", NULL);
	expect_error("need -f", 2, "/m", NULL, NULL, NULL, NULL);
	expect_error("excludes", 6, "-f", "c", "--volume", "v", "/m");
	expect_error("volfile-server", 4, "--volfile-server", "h:0", "/m", NULL,
		     NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_volfile_defaults),
	    cmocka_unit_test(test_server),
	    cmocka_unit_test(test_parse_server),
	    cmocka_unit_test(test_o_split),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
