// SPDX-License-Identifier: GPL-2.0-only
/* testlimits.c: the test-only environment knobs (map caps, peak RSS). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "pybpf.h"
#include "pybpf.skel.h"
#include "testlimits.h"

static void test_parse_entries(void **state)
{
	(void)state;
	assert_int_equal(testlimits_parse_entries(NULL), 0);
	assert_int_equal(testlimits_parse_entries(""), 0);
	assert_int_equal(testlimits_parse_entries("8"), 8);
	assert_int_equal(testlimits_parse_entries("1048576"), 1048576);
	assert_int_equal(testlimits_parse_entries("1048577"), 0);
	assert_int_equal(testlimits_parse_entries("0"), 0);
	assert_int_equal(testlimits_parse_entries("-8"), 0);
	assert_int_equal(testlimits_parse_entries("+8"), 0);
	assert_int_equal(testlimits_parse_entries(" 8"), 0);
	assert_int_equal(testlimits_parse_entries("8k"), 0);
	assert_int_equal(testlimits_parse_entries("99999999999999999999"), 0);
}

static void test_peak_rss(void **state)
{
	(void)state;
	assert_int_equal(testlimits_peak_rss_kb("Name:\tx\nVmPeak:\t  900 kB\nVmHWM:\t    1234 kB\n"),
			 1234);
	assert_int_equal(testlimits_peak_rss_kb("VmHWM:\t7 kB"), 7);
	assert_int_equal(testlimits_peak_rss_kb("Name:\tVmHWM: 5 kB\n"), -1); /* not a line start */
	assert_int_equal(testlimits_peak_rss_kb("VmHWMx:\t5 kB\n"), -1);
	assert_int_equal(testlimits_peak_rss_kb("VmHWM:\t5 MB\n"), -1);
	assert_int_equal(testlimits_peak_rss_kb("VmHWM:\t\n"), -1);
	assert_int_equal(testlimits_peak_rss_kb(""), -1);
}

static void test_memlock(void **state)
{
	(void)state;
	assert_int_equal(testlimits_memlock("pos:\t0\nflags:\t02000002\nmap_type:\t1\n"
					    "memlock:\t5242880\nmap_id:\t9\n"),
			 5242880);
	assert_int_equal(testlimits_memlock("map_type:\t1\n"), -1);
	assert_int_equal(testlimits_memlock("memlock:\tx\n"), -1);
}

static uint32_t entries_after_cap(const char *env, struct bpf_map *(*which)(struct pybpf_bpf *))
{
	struct pybpf_bpf *sk = pybpf_bpf__open();
	uint32_t n;

	assert_non_null(sk);
	if (env)
		setenv("PYBPF_TEST_MAP_ENTRIES", env, 1);
	else
		unsetenv("PYBPF_TEST_MAP_ENTRIES");
	testlimits_cap_maps(sk->obj);
	n = bpf_map__max_entries(which(sk));
	unsetenv("PYBPF_TEST_MAP_ENTRIES");
	pybpf_bpf__destroy(sk);
	return n;
}

static struct bpf_map *funcs_map(struct pybpf_bpf *sk)
{
	return sk->maps.funcs;
}

static struct bpf_map *stacks_map(struct pybpf_bpf *sk)
{
	return sk->maps.stacks;
}

static struct bpf_map *blocks_map(struct pybpf_bpf *sk)
{
	return sk->maps.blocks; /* a per-CPU array of one entry */
}

static void test_cap_maps(void **state)
{
	(void)state;
	assert_int_equal(entries_after_cap(NULL, funcs_map), PYBPF_MAX_FUNCS);
	assert_int_equal(entries_after_cap("8", funcs_map), 8);
	assert_int_equal(entries_after_cap("8", stacks_map), 8);
	assert_int_equal(entries_after_cap("bad", stacks_map), PYBPF_MAX_THREADS);
	/* a cap above the size leaves it; arrays are never capped */
	assert_int_equal(entries_after_cap("1000000", funcs_map), PYBPF_MAX_FUNCS);
	assert_int_equal(entries_after_cap("8", blocks_map), 1);
}

/* The report line goes out only with PYBPF_TEST_PEAK_RSS=1, with this process's VmHWM. */
static void test_report(void **state)
{
	char line[256] = "";
	long kb = -1;
	unsigned long long bytes = 1;
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	unsetenv("PYBPF_TEST_PEAK_RSS");
	testlimits_report(f);
	assert_int_equal(ftell(f), 0);
	setenv("PYBPF_TEST_PEAK_RSS", "1", 1);
	testlimits_report(f);
	unsetenv("PYBPF_TEST_PEAK_RSS");
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(sscanf(line, "pybpf-prof: test: peak RSS %ld kB, BPF maps %llu bytes "
				      "(memlock)",
				&kb, &bytes),
			 2);
	assert_true(kb > 0);
	assert_int_equal(bytes, 0); /* no map was loaded */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_entries),
		cmocka_unit_test(test_peak_rss),
		cmocka_unit_test(test_memlock),
		cmocka_unit_test(test_cap_maps),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
