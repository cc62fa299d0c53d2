/*
 * test-opts.c - unit tests of the mount program's command line parsing
 * (mortar-opts.c): sources of the volfile, -o splitting between Mortar
 * and FUSE, value checks and clear errors; and the TLS options written
 * into a graph's protocol/clients (mortar-tls.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mortar-opts.h"
#include "mortar-tls.h"

static int parse_va(struct mortar_opts *o, char **err, int argc, va_list ap)
{
	char *argv[32];

	argv[0] = "mortar";
	for (int i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	argv[argc] = NULL;
	return mortar_opts_parse(argc, argv, o, err);
}

/* parse(o, err, argc, argv[1], ..., argv[argc - 1]) */
static int parse(struct mortar_opts *o, char **err, int argc, ...)
{
	va_list ap;
	int ret;

	va_start(ap, argc);
	ret = parse_va(o, err, argc, ap);
	va_end(ap);
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
	assert_int_equal(o.servers.count, 1);
	assert_string_equal(o.servers.servers[0].host, "h1");
	assert_int_equal(o.servers.servers[0].port, 24011);
	assert_string_equal(o.volume, "v");
	assert_true(o.foreground);
	assert_int_equal(o.volfile_timeout, RPC_VOLFILE_TIMEOUT_SEC);
	mortar_opts_free(&o);
}

/* Fails unless the parsed list is exactly want ("h:p h:p ..."). */
static void assert_servers(const struct mortar_opts *o, const char *want)
{
	char got[512] = "";
	size_t n = 0;

	for (int i = 0; i < o->servers.count; i++)
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s:%u",
				      i ? " " : "", o->servers.servers[i].host,
				      o->servers.servers[i].port);
	if (strcmp(got, want) != 0)
		fail_msg("servers '%s', want '%s'", got, want);
}

static void test_server_list(void **state)
{
	struct mortar_opts o;
	char *err = NULL;

	(void)state;
	/* A comma list, repeated options: tried in the order given. */
	assert_int_equal(parse(&o, &err, 8, "--volfile-server", "a:1,b,[::1]:3",
			       "--volfile-server", "c:4", "--volume", "v",
			       "/m"),
			 0);
	assert_servers(&o, "a:1 b:24010 ::1:3 c:4");
	mortar_opts_free(&o);
	/* Backup servers go after every --volfile-server, even when the -o
	 * came first; colons separate them, digits are a port. */
	assert_int_equal(parse(&o, &err, 10, "-o",
			       "ro,backup-volfile-servers=b:24011:c:[::2]:9",
			       "--volfile-server", "a", "--volfile-server",
			       "z:7", "--volume", "v", "/m"),
			 0);
	assert_servers(&o, "a:24010 z:7 b:24011 c:24010 ::2:9");
	assert_string_equal(o.fuse_opts, "ro");
	assert_int_equal(o.backup_servers.count, 0);
	mortar_opts_free(&o);
	/* The GlusterFS form, hosts only. */
	assert_int_equal(parse(&o, &err, 8, "--volfile-server", "a", "-o",
			       "backup-volfile-servers=b:c", "--volume", "v",
			       "/m"),
			 0);
	assert_servers(&o, "a:24010 b:24010 c:24010");
	mortar_opts_free(&o);
}

static void test_volfile_timeout(void **state)
{
	struct mortar_opts o;
	char *err = NULL;

	(void)state;
	assert_int_equal(parse(&o, &err, 8, "--volfile-server", "a",
			       "--volfile-timeout", "2", "--volume", "v", "/m"),
			 0);
	assert_int_equal(o.volfile_timeout, 2);
	mortar_opts_free(&o);
	assert_int_equal(parse(&o, &err, 8, "--volfile-server", "a", "-o",
			       "volfile-timeout=30", "--volume", "v", "/m"),
			 0);
	assert_int_equal(o.volfile_timeout, 30);
	assert_null(o.fuse_opts);
	mortar_opts_free(&o);
}

static void test_check_interval(void **state)
{
	struct mortar_opts o;
	char *err = NULL;

	(void)state;
	assert_int_equal(
	    parse(&o, &err, 6, "--volfile-server", "a", "--volume", "v", "/m"),
	    0);
	assert_int_equal(o.volfile_check_interval, MORTAR_CHECK_INTERVAL_SEC);
	mortar_opts_free(&o);
	assert_int_equal(parse(&o, &err, 8, "--volfile-server", "a",
			       "--volfile-check-interval", "0", "--volume", "v",
			       "/m"),
			 0);
	assert_int_equal(o.volfile_check_interval, 0);
	mortar_opts_free(&o);
	assert_int_equal(parse(&o, &err, 8, "--volfile-server", "a", "-o",
			       "volfile-check-interval=2", "--volume", "v",
			       "/m"),
			 0);
	assert_int_equal(o.volfile_check_interval, 2);
	assert_null(o.fuse_opts);
	mortar_opts_free(&o);
	assert_int_equal(parse(&o, &err, 8, "--volfile-server", "a", "-o",
			       "volfile-check-interval=-1", "--volume", "v",
			       "/m"),
			 -EINVAL);
	assert_non_null(strstr(err, "volfile-check-interval"));
	free(err);
	mortar_opts_free(&o);
}

static void test_parse_server(void **state)
{
	char *host;
	uint16_t port;

	(void)state;
	assert_int_equal(rpc_volfile_server_parse("h", 24010, &host, &port), 0);
	assert_string_equal(host, "h");
	assert_int_equal(port, 24010);
	free(host);
	assert_int_equal(
	    rpc_volfile_server_parse("[::1]:99", 24010, &host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 99);
	free(host);
	assert_int_equal(rpc_volfile_server_parse("fe80::1", 7, &host, &port),
			 0);
	assert_string_equal(host, "fe80::1");
	assert_int_equal(port, 7);
	free(host);
	assert_int_equal(rpc_volfile_server_parse("h:0", 1, &host, &port),
			 -EINVAL);
	assert_int_equal(rpc_volfile_server_parse("h:70000", 1, &host, &port),
			 -EINVAL);
	assert_int_equal(rpc_volfile_server_parse("h:x", 1, &host, &port),
			 -EINVAL);
	assert_int_equal(rpc_volfile_server_parse(":5", 1, &host, &port),
			 -EINVAL);
	assert_int_equal(rpc_volfile_server_parse("", 1, &host, &port),
			 -EINVAL);
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

/* expect_error(what, argc, argv[1], ..., argv[argc - 1]): the parse
 * fails with a message that contains what. */
static void expect_error(const char *what, int argc, ...)
{
	struct mortar_opts o;
	char *err = NULL;
	va_list ap;
	int ret;

	va_start(ap, argc);
	ret = parse_va(&o, &err, argc, ap);
	va_end(ap);
	assert_int_equal(ret, -EINVAL);
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

/* -o tls alone, and the paths that imply it; relative paths refused;
 * TLS options never reach FUSE. */
static void test_tls_options(void **state)
{
	struct mortar_opts o;
	char *err = NULL;

	(void)state;
	assert_int_equal(parse(&o, &err, 4, "-f", "c", "/m"), 0);
	assert_false(o.tls);
	mortar_opts_free(&o);
	assert_int_equal(parse(&o, &err, 6, "-f", "c", "-o", "tls,ro", "/m"),
			 0);
	assert_true(o.tls);
	assert_null(o.tls_cert);
	assert_string_equal(o.fuse_opts, "ro");
	mortar_opts_free(&o);
	assert_int_equal(parse(&o, &err, 6, "-f", "c", "-o",
			       "tls-cert=/c/a.crt,tls-key=/c/a.key,"
			       "tls-ca=/c/ca.crt",
			       "/m"),
			 0);
	assert_true(o.tls);
	assert_string_equal(o.tls_cert, "/c/a.crt");
	assert_string_equal(o.tls_key, "/c/a.key");
	assert_string_equal(o.tls_ca, "/c/ca.crt");
	assert_null(o.fuse_opts);
	mortar_opts_free(&o);
	assert_int_equal(parse(&o, &err, 6, "-f", "c", "-o", "tls=off", "/m"),
			 0);
	assert_false(o.tls);
	mortar_opts_free(&o);
	expect_error("absolute path", 6, "-f", "c", "-o", "tls-cert=a.crt",
		     "/m");
	expect_error("bad value for tls", 6, "-f", "c", "-o", "tls=maybe",
		     "/m");
}

/* The mount's TLS identity goes into every protocol/client, replacing
 * the volfile's paths, and leaves other volumes alone. */
static void test_tls_apply(void **state)
{
	static const char text[] = "volume c0\n"
				   "    type protocol/client\n"
				   "    option remote-host h\n"
				   "    option tls-cert /old.crt\n"
				   "end-volume\n"
				   "volume c1\n"
				   "    type protocol/client\n"
				   "    option remote-host h\n"
				   "end-volume\n"
				   "volume top\n"
				   "    type cluster/distribute\n"
				   "    subvolumes c0 c1\n"
				   "end-volume\n";
	struct xl_volfile *vf = NULL;
	struct mortar_opts o;
	char *err = NULL;

	(void)state;
	assert_int_equal(
	    parse(&o, &err, 6, "-f", "c", "-o", "tls-cert=/n/c.crt", "/m"), 0);
	assert_int_equal(
	    xl_volfile_parse(text, sizeof(text) - 1, "t", &vf, &err), 0);
	assert_int_equal(mortar_tls_apply(&o, vf), 0);
	for (int i = 0; i < 2; i++) {
		struct xl_volspec *v = &vf->volumes[i];
		int tls = 0, cert = 0;

		for (int k = 0; k < v->option_count; k++) {
			if (strcmp(v->options[k].key, "tls") == 0 &&
			    strcmp(v->options[k].value, "on") == 0)
				tls++;
			if (strcmp(v->options[k].key, "tls-cert") == 0 &&
			    strcmp(v->options[k].value, "/n/c.crt") == 0)
				cert++;
			assert_string_not_equal(v->options[k].key, "tls-key");
		}
		assert_int_equal(tls, 1);
		assert_int_equal(cert, 1);
	}
	assert_int_equal(vf->volumes[2].option_count, 0);
	xl_volfile_free(vf);
	mortar_opts_free(&o);
}

static void test_server_list_errors(void **state)
{
	(void)state;
	/* Every bad item of a list is an error naming it, not skipped. */
	expect_error("'b:x'", 6, "--volfile-server", "a,b:x", "--volume", "v",
		     "/m");
	expect_error("''", 6, "--volfile-server", "a,,b", "--volume", "v",
		     "/m");
	expect_error("''", 6, "--volfile-server", "a,", "--volume", "v", "/m");
	expect_error("backup-volfile-servers 'b::c'", 8, "--volfile-server",
		     "a", "-o", "backup-volfile-servers=b::c", "/m");
	expect_error("backup-volfile-servers ':b'", 8, "--volfile-server", "a",
		     "-o", "backup-volfile-servers=:b", "/m");
	expect_error("backup-volfile-servers 'b:'", 8, "--volfile-server", "a",
		     "-o", "backup-volfile-servers=b:", "/m");
	expect_error("needs --volfile-server", 6, "--volume", "v", "-o",
		     "backup-volfile-servers=b", "/m");
	expect_error("excludes", 6, "-f", "c", "-o", "backup-volfile-servers=b",
		     "/m");
	expect_error("volfile-timeout", 6, "-f", "c", "-o", "volfile-timeout=0",
		     "/m");
	expect_error("volfile-timeout", 6, "-f", "c", "--volfile-timeout", "1x",
		     "/m");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_volfile_defaults),
	    cmocka_unit_test(test_server),
	    cmocka_unit_test(test_parse_server),
	    cmocka_unit_test(test_o_split),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_server_list),
	    cmocka_unit_test(test_volfile_timeout),
	    cmocka_unit_test(test_check_interval),
	    cmocka_unit_test(test_server_list_errors),
	    cmocka_unit_test(test_tls_options),
	    cmocka_unit_test(test_tls_apply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
