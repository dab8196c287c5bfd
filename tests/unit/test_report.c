// SPDX-License-Identifier: GPL-2.0-only
/* The text report against what real pstats prints. Expected orders and
 * tables were produced once by /usr/bin/python3 (3.11.2) pstats: the same
 * figures were written as a stats dict {(file, line, name): (cc, nc, ns / 1e9,
 * ns / 1e9, callers)} with marshal, loaded with pstats.Stats, then
 * sort_stats(key).fcn_list and print_stats(limit) were recorded (the file-name
 * line pstats prints first is left out, as report_print leaves it out). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "report.h"

struct fig {
	const char *file;
	int32_t line;
	const char *name;
	uint64_t nc, cc, tt_ns, ct_ns;
};

static void build(struct pybpf_profile *p, const struct fig *figs, size_t n)
{
	profile_init(p);
	for (size_t i = 0; i < n; i++) {
		struct pybpf_stats st = { figs[i].nc, figs[i].cc, figs[i].tt_ns, figs[i].ct_ns };
		long f = profile_intern(p, figs[i].file, figs[i].line, figs[i].name);

		assert_int_equal(f, (long)i);
		profile_add(p, (size_t)f, &st);
	}
}

static char *render(const struct pybpf_profile *p, enum pybpf_sort sort, long limit)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(report_print(out, p, sort, limit), 0);
	assert_int_equal(fclose(out), 0);
	return buf;
}

/* ---- sort keys ---- */

static void test_parse_and_title(void **state)
{
	static const struct {
		const char *key;
		enum pybpf_sort sort;
		const char *title;
	} keys[] = {
		{ "calls", PYBPF_SORT_CALLS, "call count" },
		{ "ncalls", PYBPF_SORT_CALLS, "call count" },
		{ "cumulative", PYBPF_SORT_CUMULATIVE, "cumulative time" },
		{ "cumtime", PYBPF_SORT_CUMULATIVE, "cumulative time" },
		{ "filename", PYBPF_SORT_FILENAME, "file name" },
		{ "file", PYBPF_SORT_FILENAME, "file name" },
		{ "module", PYBPF_SORT_FILENAME, "file name" },
		{ "line", PYBPF_SORT_LINE, "line number" },
		{ "name", PYBPF_SORT_NAME, "function name" },
		{ "nfl", PYBPF_SORT_NFL, "name/file/line" },
		{ "pcalls", PYBPF_SORT_PCALLS, "primitive call count" },
		{ "stdname", PYBPF_SORT_STDNAME, "standard name" },
		{ "time", PYBPF_SORT_TIME, "internal time" },
		{ "tottime", PYBPF_SORT_TIME, "internal time" },
	};
	static const char *const bad[] = { "bogus", "", "TIME", "calls ", "cumulativex" };
	enum pybpf_sort s;

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		s = (enum pybpf_sort)-1;
		assert_int_equal(report_parse_sort(keys[i].key, &s), 0);
		assert_int_equal(s, keys[i].sort);
		assert_string_equal(report_sort_title(s), keys[i].title);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = PYBPF_SORT_NAME;
		assert_int_equal(report_parse_sort(bad[i], &s), -1);
		assert_int_equal(s, PYBPF_SORT_NAME);
	}
}

/* ---- order ---- */

/* Many ties on each key, so that only a stable sort in insertion order gives
 * pstats' result; "a.py:9" vs "a.py:10" orders differently by line and by
 * stdname; '~' labels use pstats' built-in names; U+00E9 sorts after 'z'. */
static const struct fig order_figs[] = {
	{ "b.py", 10, "f", 3, 3, 100, 500 },
	{ "a.py", 10, "g", 3, 3, 200, 500 },
	{ "b.py", 5, "f", 1, 1, 100, 900 },
	{ "a.py", 10, "f", 5, 1, 200, 300 },
	{ "a.py", 2, "h", 3, 1, 50, 500 },
	{ "b.py", 10, "g", 0, 0, 0, 0 },
	{ "~", 0, "<built-in method len>", 4, 4, 100, 100 },
	{ "a.py", 9, "f", 1, 1, 100, 900 },
	{ "a.py", 10, "\xc3\xa9", 3, 3, 150, 500 },
	{ "~", 0, "abc", 1, 1, 100, 100 },
	{ "b.py", 10, "z", 3, 1, 200, 900 },
};

#define NORDER (sizeof(order_figs) / sizeof(order_figs[0]))

static void test_order_every_key(void **state)
{
	/* sort_stats(key).fcn_list as indices into order_figs, from pstats. */
	static const struct {
		const char *key;
		size_t want[NORDER];
	} cases[] = {
		{ "calls", { 3, 6, 0, 1, 4, 8, 10, 2, 7, 9, 5 } },
		{ "ncalls", { 3, 6, 0, 1, 4, 8, 10, 2, 7, 9, 5 } },
		{ "cumulative", { 2, 7, 10, 0, 1, 4, 8, 3, 6, 9, 5 } },
		{ "cumtime", { 2, 7, 10, 0, 1, 4, 8, 3, 6, 9, 5 } },
		{ "filename", { 1, 3, 4, 7, 8, 0, 2, 5, 10, 6, 9 } },
		{ "file", { 1, 3, 4, 7, 8, 0, 2, 5, 10, 6, 9 } },
		{ "module", { 1, 3, 4, 7, 8, 0, 2, 5, 10, 6, 9 } },
		{ "line", { 6, 9, 4, 2, 7, 0, 1, 3, 5, 8, 10 } },
		{ "name", { 6, 9, 0, 2, 3, 7, 1, 5, 4, 10, 8 } },
		{ "nfl", { 6, 9, 7, 3, 2, 0, 1, 5, 4, 10, 8 } },
		{ "pcalls", { 6, 0, 1, 8, 2, 3, 4, 7, 9, 10, 5 } },
		{ "stdname", { 3, 1, 8, 4, 7, 9, 0, 5, 10, 2, 6 } },
		{ "time", { 1, 3, 10, 8, 0, 2, 6, 7, 9, 4, 5 } },
		{ "tottime", { 1, 3, 10, 8, 0, 2, 6, 7, 9, 4, 5 } },
	};
	struct pybpf_profile p;

	(void)state;
	build(&p, order_figs, NORDER);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum pybpf_sort s;
		size_t *got;

		assert_int_equal(report_parse_sort(cases[i].key, &s), 0);
		got = report_order(&p, s);
		assert_non_null(got);
		for (size_t j = 0; j < NORDER; j++) {
			if (got[j] != cases[i].want[j])
				fail_msg("sort %s: position %zu is %zu, pstats has %zu",
					 cases[i].key, j, got[j], cases[i].want[j]);
		}
		free(got);
	}
	profile_free(&p);
}

static void test_order_empty(void **state)
{
	struct pybpf_profile p;

	(void)state;
	profile_init(&p);
	assert_null(report_order(&p, PYBPF_SORT_TIME));
	profile_free(&p);
}

/* ---- the pstats block ---- */

/* A recursive function (5/1), a caller-only entry with zero calls, a '~'
 * built-in, and times on %.3f rounding edges (0.0005, 0.0625, 2.9999995). */
static const struct fig text_figs[] = {
	{ "/app/main.py", 1, "<module>", 1, 1, 1234567, 5001000000 },
	{ "/app/fib.py", 3, "fib", 5, 1, 500000, 2000500000 },
	{ "/app/main.py", 10, "helper", 0, 0, 0, 0 },
	{ "~", 0, "<built-in method builtins.len>", 3, 3, 1500, 1500 },
	{ "/app/util.py", 7, "work", 2, 2, 2999999500, 2999999500 },
	{ "/app/util.py", 20, "tiny", 1000, 1000, 62500000, 62500000 },
};

#define TOTALS "         1011 function calls (1007 primitive calls) in 3.064 seconds\n\n"
#define TITLE "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)\n"
#define ROW_MODULE "        1    0.001    0.001    5.001    5.001 /app/main.py:1(<module>)\n"
#define ROW_WORK "        2    3.000    1.500    3.000    1.500 /app/util.py:7(work)\n"
#define ROW_FIB "      5/1    0.001    0.000    2.001    2.001 /app/fib.py:3(fib)\n"
#define ROW_TINY "     1000    0.062    0.000    0.062    0.000 /app/util.py:20(tiny)\n"
#define ROW_LEN "        3    0.000    0.000    0.000    0.000 {built-in method builtins.len}\n"
#define ROW_HELPER "        0    0.000             0.000          /app/main.py:10(helper)\n"

#define HEADER \
	"Profile of PID 1234: CPython 3.9.2 (/usr/bin/python3.9), backend usdt, 5.002 s traced\n\n"

static void build_text(struct pybpf_profile *p)
{
	build(p, text_figs, sizeof(text_figs) / sizeof(text_figs[0]));
	p->pid = 1234;
	strcpy(p->python_version, "3.9.2");
	strcpy(p->binary, "/usr/bin/python3.9");
	strcpy(p->backend, "usdt");
	p->wall_seconds = 5.002;
}

/* The report must be HEADER, then exactly pstats' block, then `rest`. */
static void check_block(enum pybpf_sort sort, long limit, const char *block, const char *rest)
{
	struct pybpf_profile p;
	char *out;
	size_t hl = strlen(HEADER), bl = strlen(block);

	build_text(&p);
	out = render(&p, sort, limit);
	assert_true(strlen(out) >= hl + bl);
	assert_memory_equal(out, HEADER, hl);
	if (memcmp(out + hl, block, bl))
		fail_msg("pstats block differs; got:\n%s", out + hl);
	assert_true(!strncmp(out + hl + bl, rest, strlen(rest)));
	free(out);
	profile_free(&p);
}

static void test_block_limit_cuts(void **state)
{
	(void)state;
	check_block(PYBPF_SORT_CUMULATIVE, 4,
		    TOTALS "   Ordered by: cumulative time\n"
			   "   List reduced from 6 to 4 due to restriction <4>\n\n" TITLE ROW_MODULE
				   ROW_WORK ROW_FIB ROW_TINY "\n\n",
		    "Hot spots:\n");
	check_block(PYBPF_SORT_PCALLS, 5,
		    TOTALS "   Ordered by: primitive call count\n"
			   "   List reduced from 6 to 5 due to restriction <5>\n\n" TITLE ROW_TINY
				   ROW_LEN ROW_WORK ROW_MODULE ROW_FIB "\n\n",
		    "Hot spots:\n");
}

static void test_block_all_rows(void **state)
{
	(void)state;
	check_block(PYBPF_SORT_TIME, -1,
		    TOTALS "   Ordered by: internal time\n\n" TITLE ROW_WORK ROW_TINY ROW_MODULE
			   ROW_FIB ROW_LEN ROW_HELPER "\n\n",
		    "Hot spots:\n");
	/* A limit equal to the count restricts nothing. */
	check_block(PYBPF_SORT_CALLS, 6,
		    TOTALS "   Ordered by: call count\n\n" TITLE ROW_TINY ROW_FIB ROW_LEN ROW_WORK
			   ROW_MODULE ROW_HELPER "\n\n",
		    "Hot spots:\n");
}

static void test_block_limit_zero(void **state)
{
	(void)state;
	/* pstats prints nothing after the totals when the list is empty. */
	check_block(PYBPF_SORT_STDNAME, 0, TOTALS, "Hot spots:\n");
}

static void test_block_no_recursion(void **state)
{
	static const struct fig figs[] = { { "/app/x.py", 4, "only", 2, 2, 1000000, 1500000 } };
	static const char want[] =
		"         2 function calls in 0.001 seconds\n\n"
		"   Ordered by: function name\n\n" TITLE
		"        2    0.001    0.001    0.002    0.001 /app/x.py:4(only)\n\n\n";
	struct pybpf_profile p;
	char *out, *block;

	(void)state;
	build(&p, figs, 1);
	out = render(&p, PYBPF_SORT_NAME, 10);
	block = strchr(out, '\n') + 2;
	assert_true(!strncmp(block, want, strlen(want)));
	free(out);
	profile_free(&p);
}

/* ---- header, escaping, losses, hot spots ---- */

static void test_header(void **state)
{
	struct pybpf_profile p;
	char *out;

	(void)state;
	build_text(&p);
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_true(!strncmp(out, HEADER, strlen(HEADER)));
	free(out);
	profile_free(&p);
}

static void test_control_chars_escaped(void **state)
{
	static const struct fig figs[] = {
		{ "/tmp/a\tb.py", 1, "bad\nname\x1b[31m", 1, 1, 1000, 1000 },
	};
	struct pybpf_profile p;
	char *out;

	(void)state;
	build(&p, figs, 1);
	strcpy(p.binary, "/usr/bin/py\x1b]0;x\x07");
	out = render(&p, PYBPF_SORT_NAME, -1);
	assert_non_null(strstr(out, " /tmp/a\\tb.py:1(bad\\nname\\x1b[31m)\n"));
	assert_non_null(strstr(out, "(/usr/bin/py\\x1b]0;x\\x07)"));
	for (const char *c = out; *c; c++)
		assert_true(*c == '\n' || (unsigned char)*c >= 0x20);
	free(out);
	profile_free(&p);
}

static void test_losses_only_when_nonzero(void **state)
{
	struct pybpf_profile p;
	char *out;

	(void)state;
	build_text(&p);
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_null(strstr(out, "Events not counted exactly"));
	free(out);

	p.losses.unpaired_returns = 1234;
	p.losses.still_running = 1;
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_non_null(strstr(out, "\n\n\nEvents not counted exactly:\n"
				    "  1234 returns had no traced call (the call began before "
				    "attach)\n"
				    "  1 call was still active at detach (counted up to detach, as "
				    "cProfile does)\n\n"
				    "Hot spots:\n"));
	assert_null(strstr(out, "shadow stack"));
	assert_null(strstr(out, "map was full"));
	assert_null(strstr(out, "target memory"));
	assert_null(strstr(out, "never seen"));
	free(out);
	profile_free(&p);
}

static void test_hot_spots(void **state)
{
	static const char want[] =
		"\n\n\nHot spots:\n"
		"  Own time (share of 3.064 s in all functions):\n"
		"     97.9%  /app/util.py:7(work)  2 calls, 1.50 s per call\n"
		"  Cumulative time (share of 5.002 s traced):\n"
		"    100.0%  /app/main.py:1(<module>)  1 call, 5.00 s per call\n"
		"     60.0%  /app/util.py:7(work)  2 calls, 1.50 s per call\n"
		"     40.0%  /app/fib.py:3(fib)  5/1 calls, 2.00 s per call\n";
	struct pybpf_profile p;
	char *out;

	(void)state;
	build_text(&p);
	out = render(&p, PYBPF_SORT_TIME, -1);
	/* Own time: only work() reaches 5%; cumulative: three above 5% of wall. */
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "tiny)  1000"));
	free(out);
	profile_free(&p);
}

static void test_hot_spot_units(void **state)
{
	static const struct fig figs[] = {
		{ "a.py", 1, "ns", 10, 10, 5000, 5000 },
		{ "a.py", 2, "us", 10, 10, 50000, 50000 },
		{ "a.py", 3, "ms", 10, 10, 50000000, 50000000 },
	};
	struct pybpf_profile p;
	char *out;

	(void)state;
	build(&p, figs, 3);
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_non_null(strstr(out, "a.py:3(ms)  10 calls, 5.0 ms per call\n"));
	free(out);
	p.funcs[2].st.tottime_ns = p.funcs[2].st.cumtime_ns = 900;
	p.funcs[1].st.tottime_ns = p.funcs[1].st.cumtime_ns = 45000;
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_non_null(strstr(out, "a.py:2(us)  10 calls, 4.5 \xc2\xb5s per call\n"));
	assert_non_null(strstr(out, "a.py:1(ns)  10 calls, 500 ns per call\n"));
	free(out);
	profile_free(&p);
}

static void test_no_calls_no_hot_spots(void **state)
{
	static const struct fig figs[] = { { "a.py", 1, "idle", 0, 0, 0, 0 } };
	struct pybpf_profile p;
	char *out;

	(void)state;
	build(&p, figs, 1);
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_non_null(strstr(out, "         0 function calls in 0.000 seconds\n\n"));
	assert_non_null(strstr(out, "        0    0.000             0.000          "
				    "a.py:1(idle)\n"));
	assert_null(strstr(out, "Hot spots"));
	free(out);
	profile_free(&p);

	profile_init(&p);
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_null(strstr(out, "Ordered by"));
	assert_null(strstr(out, "Hot spots"));
	free(out);
	profile_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_title),
		cmocka_unit_test(test_order_every_key),
		cmocka_unit_test(test_order_empty),
		cmocka_unit_test(test_block_limit_cuts),
		cmocka_unit_test(test_block_all_rows),
		cmocka_unit_test(test_block_limit_zero),
		cmocka_unit_test(test_block_no_recursion),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_control_chars_escaped),
		cmocka_unit_test(test_losses_only_when_nonzero),
		cmocka_unit_test(test_hot_spots),
		cmocka_unit_test(test_hot_spot_units),
		cmocka_unit_test(test_no_calls_no_hot_spots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
