/*
 * test_auth.c - unit tests of protocol/server's auth.allow / auth.reject
 * address matching (translators/protocol/server/auth.c).  No network.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../translators/protocol/server/auth.h"

static void test_star_matches_everything(void **state)
{
	assert_true(server_auth_match("*", "127.0.0.1", NULL));
	assert_true(server_auth_match("*", "::1", NULL));
	assert_true(server_auth_match("*", "10.2.3.4", NULL));
}

static void test_exact_and_glob(void **state)
{
	assert_true(server_auth_match("127.0.0.1", "127.0.0.1", NULL));
	assert_false(server_auth_match("127.0.0.1", "127.0.0.2", NULL));
	assert_false(server_auth_match("127.0.0.1", "127.0.0.10", NULL));
	assert_true(server_auth_match("10.1.*", "10.1.2.3", NULL));
	assert_false(server_auth_match("10.1.*", "10.10.2.3", NULL));
	assert_false(server_auth_match("10.1.*", "110.1.2.3", NULL));
	assert_true(server_auth_match("192.168.*.7", "192.168.44.7", NULL));
	assert_false(server_auth_match("192.168.*.7", "192.168.44.8", NULL));
}

static void test_ipv6(void **state)
{
	assert_true(server_auth_match("::1", "::1", NULL));
	assert_false(server_auth_match("::1", "::2", NULL));
	assert_true(server_auth_match("fe80::*", "FE80::1", NULL));
	/* A dual-stack listener reports IPv4 peers in mapped form. */
	assert_true(server_auth_match("127.0.0.1", "::ffff:127.0.0.1", NULL));
	assert_true(server_auth_match("10.1.*", "::ffff:10.1.9.9", NULL));
	assert_false(server_auth_match("10.1.*", "::ffff:10.2.9.9", NULL));
}

static void test_lists(void **state)
{
	const char *list = "10.0.0.1, 10.0.0.2 ,192.168.*";

	assert_true(server_auth_match(list, "10.0.0.1", NULL));
	assert_true(server_auth_match(list, "10.0.0.2", NULL));
	assert_true(server_auth_match(list, "192.168.1.1", NULL));
	assert_false(server_auth_match(list, "10.0.0.3", NULL));
	assert_false(server_auth_match("", "10.0.0.3", NULL));
	assert_false(server_auth_match(NULL, "10.0.0.3", NULL));
	assert_false(server_auth_match(",,", "10.0.0.3", NULL));
	assert_false(server_auth_match("*", NULL, NULL));
}

static void test_reject_wins(void **state)
{
	assert_true(server_auth_allowed("*", NULL, "127.0.0.1", NULL));
	assert_false(server_auth_allowed("*", "127.0.0.1", "127.0.0.1", NULL));
	assert_true(server_auth_allowed("*", "127.0.0.1", "127.0.0.2", NULL));
	assert_false(
	    server_auth_allowed("10.1.*", "10.1.5.*", "10.1.5.1", NULL));
	assert_true(
	    server_auth_allowed("10.1.*", "10.1.5.*", "10.1.6.1", NULL));
	/* Nothing allowed: nobody gets in. */
	assert_false(server_auth_allowed(NULL, NULL, "127.0.0.1", NULL));
	assert_false(server_auth_allowed("10.*", NULL, "127.0.0.1", NULL));
}

/* cn: entries name TLS client certificates; a peer without one (cn NULL
 * or "") matches none of them, and address entries still apply. */
static void test_cert_names(void **state)
{
	const char *list = "cn:client1, cn:lab-*";

	assert_true(server_auth_match(list, "10.0.0.1", "client1"));
	assert_true(server_auth_match(list, "10.0.0.1", "CLIENT1"));
	assert_true(server_auth_match(list, "10.0.0.1", "lab-7"));
	assert_false(server_auth_match(list, "10.0.0.1", "client2"));
	assert_false(server_auth_match(list, "10.0.0.1", "client10"));
	assert_false(server_auth_match(list, "10.0.0.1", ""));
	assert_false(server_auth_match(list, "10.0.0.1", NULL));
	/* "cn:" alone names nobody; a name is no address */
	assert_false(server_auth_match("cn:", "10.0.0.1", "x"));
	assert_false(server_auth_match("client1", "10.0.0.1", "client1"));
	/* mixed with addresses: either admits */
	assert_true(server_auth_match("127.0.0.1,cn:a", "127.0.0.1", ""));
	assert_true(server_auth_match("127.0.0.1,cn:a", "10.0.0.9", "a"));
	assert_false(server_auth_match("127.0.0.1,cn:a", "10.0.0.9", "b"));
	/* reject by name wins over an address allow */
	assert_false(server_auth_allowed("*", "cn:old", "127.0.0.1", "old"));
	assert_true(server_auth_allowed("*", "cn:old", "127.0.0.1", "new"));
	assert_true(server_auth_allowed("*", "cn:old", "127.0.0.1", NULL));
}

static void test_overlong_entry_matches_nothing(void **state)
{
	char big[300];

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(server_auth_match(big, big, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_star_matches_everything),
	    cmocka_unit_test(test_cert_names),
	    cmocka_unit_test(test_exact_and_glob),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_reject_wins),
	    cmocka_unit_test(test_overlong_entry_matches_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
