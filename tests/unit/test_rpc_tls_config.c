/*
 * test_rpc_tls_config.c - building a TLS configuration (rpc_tls_new)
 * refuses what cannot work with a message that names the file and the
 * reason, before any connection: no file given, a file that is missing,
 * a file that is not PEM.  In a build without OpenSSL every configuration
 * is refused with -EPROTONOSUPPORT and a hint.  (Real certificates and
 * the handshake are tested with brickd and mortar: integration/tls.t.)
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* rpc_tls_new on files must fail with ret and a message containing
 * every string of want (NULL-terminated). */
static void expect_refused(const struct rpc_tls_files *f, int ret,
			   const char *const *want)
{
	struct rpc_tls *tls = NULL;
	char *err = NULL;

	assert_int_equal(rpc_tls_new(f, true, &tls, &err), ret);
	assert_null(tls);
	assert_non_null(err);
	for (; *want; want++)
		if (!strstr(err, *want))
			fail_msg("'%s' does not mention '%s'", err, *want);
	free(err);
}

#ifndef HAVE_TLS
static void test_not_built(void **state)
{
	static const char *const want[] = {"libssl-dev", NULL};
	struct rpc_tls_files f = {"/a", "/b", "/c"};

	(void)state;
	assert_false(rpc_tls_built());
	expect_refused(&f, -EPROTONOSUPPORT, want);
}
#else

static void test_missing_files(void **state)
{
	static const char *const none[] = {"no certificate file", NULL};
	static const char *const gone[] = {"/nonexistent/mortar.crt",
					   "No such file", NULL};
	struct rpc_tls_files f = {NULL, "/k", "/c"};

	(void)state;
	assert_true(rpc_tls_built());
	expect_refused(&f, -EINVAL, none);
	f.cert = "/nonexistent/mortar.crt";
	expect_refused(&f, -ENOENT, gone);
}

static void test_not_pem(void **state)
{
	static const char *const want[] = {"cannot load the certificate", NULL};
	char path[] = "/tmp/test_rpc_tls.XXXXXX";
	struct rpc_tls_files f;
	int fd;

	(void)state;
	assert_true(rpc_tls_built());
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a certificate\n", 18), 18);
	close(fd);
	/* the same junk as key and CA: the certificate fails first */
	f.cert = f.key = f.ca = path;
	expect_refused(&f, -EINVAL, want);
	unlink(path);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifndef HAVE_TLS
	    cmocka_unit_test(test_not_built),
#else
	    cmocka_unit_test(test_missing_files),
	    cmocka_unit_test(test_not_pem),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
