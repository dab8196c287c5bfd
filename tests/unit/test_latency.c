// SPDX-License-Identifier: GPL-2.0-only
/* latency.c: bucket bounds, percentiles (exact values on hand-made
 * histograms, by linear interpolation inside a bucket), durations as text,
 * and the bucket rows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency.h"

#define LAST (PYBPF_HIST_SLOTS - 1)

/* The percentile, which must come back with status `want`. */
static double pct(const uint64_t *slots, double q, int want)
{
	double ns = -1;

	assert_int_equal(latency_percentile(slots, q, &ns), want);
	return ns;
}

static void expect_near(double got, double want)
{
	if (fabs(got - want) > 1e-9 * (fabs(want) + 1))
		fail_msg("got %.12g, want %.12g", got, want);
}

static void test_slot_bounds(void **state)
{
	(void)state;
	assert_int_equal(latency_slot_lo(0), 0);
	assert_int_equal(latency_slot_hi(0), 2);
	assert_int_equal(latency_slot_lo(1), 2);
	assert_int_equal(latency_slot_hi(1), 4);
	assert_int_equal(latency_slot_lo(10), 1024);
	assert_int_equal(latency_slot_hi(10), 2048);
	assert_int_equal(latency_slot_lo(LAST - 1), 1ull << (LAST - 1));
	assert_int_equal(latency_slot_hi(LAST - 1), 1ull << LAST);
	assert_int_equal(latency_slot_lo(LAST), 1ull << LAST);
	assert_int_equal(latency_slot_hi(LAST), UINT64_MAX);
	/* Past the end: the last slot. */
	assert_int_equal(latency_slot_lo(LAST + 5), 1ull << LAST);
	assert_int_equal(latency_slot_hi(LAST + 5), UINT64_MAX);
}

static void test_count(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };

	(void)state;
	assert_int_equal(latency_count(h), 0);
	h[0] = 1;
	h[17] = 1ull << 40;
	h[LAST] = 3;
	assert_int_equal(latency_count(h), (1ull << 40) + 4);
}

static void test_percentile_empty(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };

	(void)state;
	assert_true(pct(h, 50, -1) == 0);
	assert_true(pct(h, 99, -1) == 0);
	assert_true(pct(h, 0, -1) == 0);
}

static void test_percentile_bad_q(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };

	(void)state;
	h[4] = 10;
	assert_true(pct(h, -0.5, -1) == 0);
	assert_true(pct(h, 100.5, -1) == 0);
	assert_true(pct(h, NAN, -1) == 0);
}

/* All calls in [1024, 2048): rank r of 100 lies r/100 of the way in. */
static void test_percentile_single_bucket(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };

	(void)state;
	h[10] = 100;
	expect_near(pct(h, 50, 0), 1536);
	expect_near(pct(h, 99, 0), 1024 + 1024 * 0.99);
	expect_near(pct(h, 0, 0), 1024);
	expect_near(pct(h, 100, 0), 2048);
	expect_near(pct(h, 25, 0), 1280);

	/* One call: the middle of its bucket is p50. */
	memset(h, 0, sizeof(h));
	h[20] = 1;
	expect_near(pct(h, 50, 0), 1.5 * (1 << 20));
	expect_near(pct(h, 99, 0), 1.99 * (1 << 20));
}

/* Slot 0 is [0, 2): 0 ns and 1 ns calls. */
static void test_percentile_slot_zero(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };

	(void)state;
	h[0] = 4;
	expect_near(pct(h, 0, 0), 0);
	expect_near(pct(h, 50, 0), 1);
	expect_near(pct(h, 75, 0), 1.5);
	expect_near(pct(h, 100, 0), 2);
}

/* Buckets [8, 16) x10 and [32, 64) x10, an empty one between: the rank that
 * exactly fills the first bucket is its upper bound, not the next one's
 * lower bound; past it the interpolation restarts in the next bucket. */
static void test_percentile_two_buckets(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };

	(void)state;
	h[3] = 10;
	h[5] = 10;
	expect_near(pct(h, 50, 0), 16);
	expect_near(pct(h, 10, 0), 8 + 8 * 2 / 10.0);
	expect_near(pct(h, 75, 0), 32 + 32 * 5 / 10.0);
	expect_near(pct(h, 99, 0), 32 + 32 * (19.8 - 10) / 10);
	expect_near(pct(h, 100, 0), 64);
	expect_near(pct(h, 0, 0), 8);

	/* work(): 50 in [1024, 2048), 49 in [2048, 4096), 1 in [8192, 16384). */
	memset(h, 0, sizeof(h));
	h[10] = 50;
	h[11] = 49;
	h[13] = 1;
	expect_near(pct(h, 50, 0), 2048);
	expect_near(pct(h, 99, 0), 4096);
	expect_near(pct(h, 99.5, 0), 8192 + 8192 * 0.5);
}

/* The last slot has no upper bound: its lower bound, flagged with 1. */
static void test_percentile_overflow(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };

	(void)state;
	h[LAST] = 7;
	expect_near(pct(h, 50, 1), (double)(1ull << LAST));
	expect_near(pct(h, 0, 1), (double)(1ull << LAST));
	expect_near(pct(h, 100, 1), (double)(1ull << LAST));

	h[5] = 99;
	h[LAST] = 1;
	expect_near(pct(h, 50, 0), 32 + 32 * 50 / 99.0);
	expect_near(pct(h, 99, 0), 64);
	expect_near(pct(h, 99.5, 1), (double)(1ull << LAST));
	expect_near(pct(h, 100, 1), (double)(1ull << LAST));

	/* The slot before the last is bounded. */
	memset(h, 0, sizeof(h));
	h[LAST - 1] = 2;
	expect_near(pct(h, 100, 0), (double)(1ull << LAST));
}

/* Counts too large to add up exactly as doubles still give sane values. */
static void test_percentile_huge_counts(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };
	double v;

	(void)state;
	h[6] = 1ull << 62;
	h[7] = 1ull << 62;
	v = pct(h, 50, 0);
	expect_near(v, 128);
	v = pct(h, 100, 0);
	expect_near(v, 256);
}

static void expect_format(double ns, const char *want)
{
	char buf[32];

	memset(buf, 'x', sizeof(buf));
	assert_ptr_equal(latency_format_ns(buf, sizeof(buf), ns), buf);
	if (strcmp(buf, want))
		fail_msg("%.3f ns: got '%s', want '%s'", ns, buf, want);
}

static void test_format(void **state)
{
	(void)state;
	expect_format(0, "0 ns");
	expect_format(1, "1 ns");
	expect_format(512, "512 ns");
	expect_format(999.4, "999 ns");
	/* Three significant digits from 1 us on; the unit follows the rounding. */
	expect_format(999.5, "1.00 us");
	expect_format(1024, "1.02 us");
	expect_format(1536, "1.54 us");
	expect_format(9994, "9.99 us");
	expect_format(9996, "10.0 us");
	expect_format(16384, "16.4 us");
	expect_format(99949, "99.9 us");
	expect_format(99951, "100 us");
	expect_format(131072, "131 us");
	expect_format(999499, "999 us");
	expect_format(999500, "1.00 ms");
	expect_format(1048576, "1.05 ms");
	expect_format(536870912, "537 ms");
	expect_format(1e9, "1.00 s");
	expect_format(1073741824, "1.07 s");
	expect_format((double)(1ull << 39), "550 s");
	expect_format(2e12, "2000 s");
}

static void test_format_truncates(void **state)
{
	char buf[4];

	(void)state;
	latency_format_ns(buf, sizeof(buf), 1536);
	assert_string_equal(buf, "1.5");
}

static char *hist_text(const uint64_t *slots, const char *indent)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	latency_print_hist(out, slots, indent);
	assert_int_equal(fclose(out), 0);
	return buf;
}

#define BAR40 "****************************************"

static void test_print_hist(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };
	char *out;

	(void)state;
	h[10] = 50;
	h[11] = 49;
	h[13] = 1;
	out = hist_text(h, "    ");
	assert_string_equal(out,
		"            duration     :      calls  distribution\n"
		"     1.02 us -> 2.05 us  :         50 |" BAR40 "|\n"
		"     2.05 us -> 4.10 us  :         49 |***************************************"
		" |\n"
		"     4.10 us -> 8.19 us  :          0 |                                        |\n"
		"     8.19 us -> 16.4 us  :          1 |                                        |\n");
	free(out);
}

/* Bars scale to the largest bucket, rounding down; slot 0 reads 0 to 2 ns,
 * the last slot "longer". */
static void test_print_hist_scale(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };
	char *out;

	(void)state;
	h[0] = 40;
	h[1] = 20;
	h[2] = 1;
	h[4] = 39;
	out = hist_text(h, "");
	assert_string_equal(out,
		"        duration     :      calls  distribution\n"
		"    0 ns -> 2 ns     :         40 |" BAR40 "|\n"
		"    2 ns -> 4 ns     :         20 |********************                    |\n"
		"    4 ns -> 8 ns     :          1 |*                                       |\n"
		"    8 ns -> 16 ns    :          0 |                                        |\n"
		"   16 ns -> 32 ns    :         39 |*************************************** |\n");
	free(out);

	memset(h, 0, sizeof(h));
	h[LAST - 1] = 1;
	h[LAST] = 1ull << 63;
	out = hist_text(h, "");
	assert_string_equal(out,
		"        duration     :      calls  distribution\n"
		"   275 s -> 550 s    :          1 |                                        |\n"
		"   550 s -> longer   : 9223372036854775808 |" BAR40 "|\n");
	free(out);
}

static void test_print_hist_empty(void **state)
{
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };
	char *out;

	(void)state;
	out = hist_text(h, "    ");
	assert_string_equal(out, "");
	free(out);
}

/* Every duration lands in the slot whose bounds hold it (what BPF's log2 does). */
static void test_slot_of(void **state)
{
	(void)state;
	assert_int_equal(latency_slot_of(0), 0);
	assert_int_equal(latency_slot_of(1), 0);
	for (unsigned int k = 1; k < PYBPF_HIST_SLOTS; k++) {
		assert_int_equal(latency_slot_of(latency_slot_lo(k)), k);
		assert_int_equal(latency_slot_of(latency_slot_lo(k) - 1), k - 1);
	}
	assert_int_equal(latency_slot_of(UINT64_MAX), PYBPF_HIST_SLOTS - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_bounds),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_percentile_empty),
		cmocka_unit_test(test_percentile_bad_q),
		cmocka_unit_test(test_percentile_single_bucket),
		cmocka_unit_test(test_percentile_slot_zero),
		cmocka_unit_test(test_percentile_two_buckets),
		cmocka_unit_test(test_percentile_overflow),
		cmocka_unit_test(test_percentile_huge_counts),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_truncates),
		cmocka_unit_test(test_print_hist),
		cmocka_unit_test(test_print_hist_scale),
		cmocka_unit_test(test_print_hist_empty),
		cmocka_unit_test(test_slot_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
