// SPDX-License-Identifier: GPL-2.0-only
/* discover.c: the NSpid line of /proc/PID/status, which a process in a
 * container can shape only through its PID namespaces, parsed within bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/types.h>

#include "discover.h"

static void test_nspid_innermost(void **state)
{
	(void)state;
	assert_int_equal(parse_nspid("NSpid:\t4242\n"), 4242);
	assert_int_equal(parse_nspid("NSpid:\t4242\t17\t1\n"), 1);
	assert_int_equal(parse_nspid("NSpid:\t4242 \t 17"), 17);
}

static void test_nspid_other_lines(void **state)
{
	(void)state;
	assert_int_equal(parse_nspid("Pid:\t4242\n"), -1);
	assert_int_equal(parse_nspid("NSpi"), -1);
	assert_int_equal(parse_nspid(""), -1);
}

static void test_nspid_malformed(void **state)
{
	(void)state;
	assert_int_equal(parse_nspid("NSpid:"), 0);
	assert_int_equal(parse_nspid("NSpid:\t\n"), 0);
	assert_int_equal(parse_nspid("NSpid:\t12 x"), 0);
	assert_int_equal(parse_nspid("NSpid:\t-5"), 0);
	assert_int_equal(parse_nspid("NSpid:\t0"), 0);
	/* Out of pid_t's range, however many digits. */
	assert_int_equal(parse_nspid("NSpid:\t1 4294967297"), 0);
	assert_int_equal(parse_nspid("NSpid:\t1 99999999999999999999999999999"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nspid_innermost),
		cmocka_unit_test(test_nspid_other_lines),
		cmocka_unit_test(test_nspid_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
