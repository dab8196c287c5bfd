// SPDX-License-Identifier: GPL-2.0-only
/* The text report against what real pstats prints. Expected orders and
 * tables were produced once by /usr/bin/python3 (3.11.2) pstats: the same
 * figures were written as a stats dict {(file, line, name): (cc, nc, ns / 1e9,
 * ns / 1e9, callers)} with marshal, loaded with pstats.Stats, then
 * sort_stats(key).fcn_list and print_stats(limit) were recorded (the file-name
 * line pstats prints first is left out, as report_print leaves it out). Our
 * table has one more column, offcpu, 9 characters before the label: it is
 * cut out (strip_offcpu) before comparing with pstats, and checked apart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
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
		struct pybpf_stats st = { .ncalls = figs[i].nc, .pcalls = figs[i].cc,
					  .tottime_ns = figs[i].tt_ns, .cumtime_ns = figs[i].ct_ns };
		long f = profile_intern(p, figs[i].file, figs[i].line, figs[i].name);

		assert_int_equal(f, (long)i);
		profile_add(p, (size_t)f, &st);
	}
}

static char *render_latency(const struct pybpf_profile *p, enum pybpf_sort sort, long limit,
			    bool latency)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(report_print(out, p, sort, limit, latency), 0);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static char *render(const struct pybpf_profile *p, enum pybpf_sort sort, long limit)
{
	return render_latency(p, sort, limit, false);
}

#define TITLE_OFFCPU \
	"   ncalls  tottime  percall  cumtime  percall   offcpu filename:lineno(function)\n"
#define OFFCPU_AT 45 /* where the 9 characters of the offcpu column start */
#define OFFCPU_LEN 9

/* Cuts the offcpu column out of the table's title and rows, in place: what
 * is left must be pstats' print_stats text. Returns s. */
static char *strip_offcpu(char *s)
{
	bool table = false;

	for (char *line = s; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (!strncmp(line, TITLE_OFFCPU, strlen(TITLE_OFFCPU)))
			table = true;
		else if (!len)
			table = false;
		if (table) {
			assert_true(len > OFFCPU_AT + OFFCPU_LEN);
			assert_true(line[OFFCPU_AT] == ' ' && line[OFFCPU_AT + OFFCPU_LEN] == ' ');
			memmove(line + OFFCPU_AT, line + OFFCPU_AT + OFFCPU_LEN,
				strlen(line + OFFCPU_AT + OFFCPU_LEN) + 1);
			nl = nl ? nl - OFFCPU_LEN : NULL;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return s;
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
		{ "offcpu", PYBPF_SORT_OFFCPU, "off-CPU time" },
	};
	static const char *const bad[] = { "bogus", "", "TIME", "calls ", "cumulativex",
					   "off-cpu", "OFFCPU" };
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

/* offcpu descends, ties (and zeros) in insertion order. */
static void test_order_offcpu(void **state)
{
	static const uint64_t off[NORDER] = { 5, 0, 900, 5, 7, 0, 900, 1, 0, 5, 2 };
	static const size_t want[NORDER] = { 2, 6, 4, 0, 3, 9, 10, 7, 1, 5, 8 };
	struct pybpf_profile p;
	size_t *got;

	(void)state;
	build(&p, order_figs, NORDER);
	for (size_t i = 0; i < NORDER; i++)
		p.funcs[i].st.offcpu_ns = off[i];
	got = report_order(&p, PYBPF_SORT_OFFCPU);
	assert_non_null(got);
	for (size_t j = 0; j < NORDER; j++)
		assert_int_equal(got[j], want[j]);
	free(got);
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
	out = strip_offcpu(render(&p, sort, limit));
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
	out = strip_offcpu(render(&p, PYBPF_SORT_NAME, 10));
	block = strchr(out, '\n') + 2;
	assert_true(!strncmp(block, want, strlen(want)));
	free(out);
	profile_free(&p);
}

/* ---- the offcpu column ---- */

/* The column as printed: pstats' f8 (%8.3f and a space) of the seconds,
 * after the second percall, for rows with no call too. */
static void test_offcpu_column(void **state)
{
	static const char want[] =
		"   Ordered by: off-CPU time\n\n" TITLE_OFFCPU
		"        2    3.000    1.500    3.000    1.500    2.500 /app/util.py:7(work)\n"
		"     1000    0.062    0.000    0.062    0.000    0.062 /app/util.py:20(tiny)\n"
		"      5/1    0.001    0.000    2.001    2.001    0.001 /app/fib.py:3(fib)\n"
		"        1    0.001    0.001    5.001    5.001    0.000 /app/main.py:1(<module>)\n"
		"        0    0.000             0.000             0.000 /app/main.py:10(helper)\n"
		"        3    0.000    0.000    0.000    0.000    0.000 "
		"{built-in method builtins.len}\n\n\n";
	struct pybpf_profile p;
	char *out;

	(void)state;
	build_text(&p);
	p.funcs[4].st.offcpu_ns = 2500000000;  /* work */
	p.funcs[1].st.offcpu_ns = 500000;      /* fib: 0.0005 */
	p.funcs[5].st.offcpu_ns = 62500000;    /* tiny: 0.0625 */
	p.funcs[0].st.offcpu_ns = 400000;      /* <module>: 0.0004 */
	out = render(&p, PYBPF_SORT_OFFCPU, -1);
	if (!strstr(out, want))
		fail_msg("offcpu table differs; got:\n%s", out);
	/* Cut out, the rest is pstats' (already checked order aside). */
	strip_offcpu(out);
	assert_non_null(strstr(out, ROW_WORK ROW_TINY ROW_FIB ROW_MODULE ROW_HELPER ROW_LEN));
	free(out);
	profile_free(&p);
}

static void test_header_build(void **state)
{
	static const char want[] =
		"Profile of PID 1234: CPython 3.12.1 (shared, "
		"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0), backend evalframe, "
		"2.345 s traced\n\n";
	struct pybpf_profile p;
	char *out;

	(void)state;
	build_text(&p);
	strcpy(p.python_version, "3.12.1");
	strcpy(p.build, "shared");
	strcpy(p.binary, "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0");
	strcpy(p.backend, "evalframe");
	p.wall_seconds = 2.345;
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_true(!strncmp(out, want, strlen(want)));
	free(out);

	strcpy(p.build, "static");
	strcpy(p.binary, "/usr/bin/python3.12");
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_true(!strncmp(out, "Profile of PID 1234: CPython 3.12.1 (static, "
				  "/usr/bin/python3.12), backend evalframe, 2.345 s traced\n\n",
			     strlen("Profile of PID 1234: CPython 3.12.1 (static, /usr/bin/"
				    "python3.12), backend evalframe, 2.345 s traced\n\n")));
	free(out);

	/* Escaped like the other strings; a full array is cut, not overrun. */
	strcpy(p.build, "st\x1b[0m");
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_non_null(strstr(out, "(st\\x1b[0m, /usr/bin/python3.12)"));
	free(out);
	memset(p.build, 'b', sizeof(p.build));
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_non_null(strstr(out, "(bbbbbbbbbbbbbbb, /usr/bin/python3.12)"));
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
	assert_null(strstr(out, "pending return probes"));
	free(out);

	p.losses.norets_closed = 1;
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_non_null(strstr(out, "cProfile does)\n"
				    "  1 call was nested deeper than the kernel's 64 pending return "
				    "probes per thread (counted exactly, its end time taken at the "
				    "next event)\n\nHot spots:\n"));
	free(out);
	p.losses.norets_closed = 70;
	p.losses.unpaired_returns = p.losses.still_running = 0;
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_non_null(strstr(out, "\n\n\nEvents not counted exactly:\n"
				    "  70 calls were nested deeper than the kernel's 64 pending return "
				    "probes per thread (counted exactly, their end time taken at the "
				    "next event)\n\nHot spots:\n"));
	free(out);
	/* Full maps of --latency and of the names: said too. */
	p.losses.norets_closed = 0;
	p.losses.latency_map_full = 3;
	p.losses.unnamed_funcs = 1;
	out = render(&p, PYBPF_SORT_TIME, -1);
	assert_non_null(strstr(out, "Events not counted exactly:\n"
				    "  3 call durations were left out of the --latency histograms: "
				    "their map was full\n"
				    "  1 function was counted but its name was not kept (the name map "
				    "was full): shown as <unknown>\n\nHot spots:\n"));
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
	assert_non_null(strstr(out, "        0    0.000             0.000             0.000 "
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

/* ---- latency ---- */

#define BAR40 "****************************************"
#define NOBAR "                                        "

/* main (one call of about 1.5 s), slow (one call in the slot before the
 * last, one in the last), work (100 calls, 1 to 16 us), idle (no histogram),
 * in cumulative order main, slow, work, idle. */
static void build_latency(struct pybpf_profile *p)
{
	static const struct fig figs[] = {
		{ "/app/a.py", 5, "work", 100, 100, 300000, 300000 },
		{ "/app/a.py", 9, "idle", 1, 1, 200000, 200000 },
		{ "/app/b.py", 2, "slow", 2, 2, 1100000000000, 1100000000000 },
		{ "/app/a.py", 1, "main", 1, 1, 1000, 1200000000000 },
	};
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };

	build(p, figs, 4);
	h[10] = 50;
	h[11] = 49;
	h[13] = 1;
	assert_int_equal(profile_add_latency(p, 0, h), 0);
	memset(h, 0, sizeof(h));
	h[PYBPF_HIST_SLOTS - 2] = 1;
	h[PYBPF_HIST_SLOTS - 1] = 1;
	assert_int_equal(profile_add_latency(p, 2, h), 0);
	memset(h, 0, sizeof(h));
	h[30] = 1;
	assert_int_equal(profile_add_latency(p, 3, h), 0);
	p->wall_seconds = 1200;
}

#define LAT_TITLE \
	"Latency per call (each call, recursion included; percentiles interpolated in log2 " \
	"buckets):\n"
#define LAT_MAIN \
	"  /app/a.py:1(main)  1 call, p50 1.61 s, p99 2.14 s\n" \
	"            duration     :      calls  distribution\n" \
	"      1.07 s -> 2.15 s   :          1 |" BAR40 "|\n"
#define LAT_SLOW \
	"  /app/b.py:2(slow)  2 calls, p50 550 s, p99 >= 550 s\n" \
	"            duration     :      calls  distribution\n" \
	"       275 s -> 550 s    :          1 |" BAR40 "|\n" \
	"       550 s -> longer   :          1 |" BAR40 "|\n"
#define LAT_WORK \
	"  /app/a.py:5(work)  100 calls, p50 2.05 us, p99 4.10 us\n" \
	"            duration     :      calls  distribution\n" \
	"     1.02 us -> 2.05 us  :         50 |" BAR40 "|\n" \
	"     2.05 us -> 4.10 us  :         49 |***************************************" \
	" |\n" \
	"     4.10 us -> 8.19 us  :          0 |" NOBAR "|\n" \
	"     8.19 us -> 16.4 us  :          1 |" NOBAR "|\n"

/* After the table, before the losses: the functions in table order that
 * have a histogram, idle skipped. */
static void test_latency_section(void **state)
{
	static const char want[] =
		"/app/a.py:9(idle)\n\n\n" LAT_TITLE LAT_MAIN "\n" LAT_SLOW "\n" LAT_WORK "\n"
		"Events not counted exactly:\n";
	struct pybpf_profile p;
	char *out;

	(void)state;
	build_latency(&p);
	p.losses.read_errors = 1;
	out = render_latency(&p, PYBPF_SORT_CUMULATIVE, -1, true);
	if (!strstr(out, want))
		fail_msg("latency section differs; got:\n%s", out);
	free(out);

	/* Without --latency, no section: the table is followed by the losses. */
	out = render_latency(&p, PYBPF_SORT_CUMULATIVE, -1, false);
	assert_null(strstr(out, "Latency"));
	assert_non_null(strstr(out, "/app/a.py:9(idle)\n\n\nEvents not counted exactly:\n"));
	free(out);

	/* In the order of the table: by name, main, slow, work. */
	out = render_latency(&p, PYBPF_SORT_NAME, -1, true);
	assert_non_null(strstr(out, LAT_TITLE LAT_MAIN "\n" LAT_SLOW "\n" LAT_WORK "\nEvents"));
	free(out);
	/* By line: main (1), slow (2), work (5). By calls: work, slow, main. */
	out = render_latency(&p, PYBPF_SORT_CALLS, -1, true);
	assert_non_null(strstr(out, LAT_TITLE LAT_WORK "\n" LAT_SLOW "\n" LAT_MAIN "\nEvents"));
	free(out);
	profile_free(&p);
}

/* --limit N: the first N functions that have a histogram (idle, without one,
 * does not count); none for 0; 10 without a limit. */
static void test_latency_limit(void **state)
{
	struct pybpf_profile p;
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };
	char *out, *c;
	int titles = 0;

	(void)state;
	build_latency(&p);
	out = render_latency(&p, PYBPF_SORT_CALLS, 2, true);
	assert_non_null(strstr(out, "\n\n\n" LAT_TITLE LAT_WORK "\n" LAT_SLOW "\n"));
	assert_null(strstr(out, "(main)  1 call, p50"));
	free(out);
	out = render_latency(&p, PYBPF_SORT_CUMULATIVE, 1, true);
	assert_non_null(strstr(out, "\n\n\n" LAT_TITLE LAT_MAIN "\n"));
	assert_null(strstr(out, "(slow)  2 calls, p50"));
	free(out);
	out = render_latency(&p, PYBPF_SORT_CUMULATIVE, 0, true);
	assert_null(strstr(out, "Latency"));
	free(out);

	h[3] = 1;
	for (int i = 0; i < 12; i++) {
		char name[16];
		long f;

		snprintf(name, sizeof(name), "g%d", i);
		f = profile_intern(&p, "/app/c.py", i, name);
		assert_true(f >= 0);
		assert_int_equal(profile_add_latency(&p, (size_t)f, h), 0);
	}
	out = render_latency(&p, PYBPF_SORT_CUMULATIVE, -1, true);
	for (c = out; (c = strstr(c, "  distribution\n")); c++)
		titles++;
	assert_int_equal(titles, 10);
	/* main, slow, work, then the first seven g (zero cumtime, insertion order). */
	assert_non_null(strstr(out, "  /app/c.py:6(g6)  1 call, p50 12 ns, p99 16 ns\n"));
	assert_null(strstr(out, "(g7)  1 call, p50"));
	free(out);
	profile_free(&p);
}

/* --latency with nothing timed: one line says so; a histogram of zeros
 * counts as none. */
static void test_latency_none(void **state)
{
	static const struct fig figs[] = { { "a.py", 1, "f", 1, 1, 1000, 1000 } };
	uint64_t zero[PYBPF_HIST_SLOTS] = { 0 };
	struct pybpf_profile p;
	char *out;

	(void)state;
	build(&p, figs, 1);
	out = render_latency(&p, PYBPF_SORT_TIME, -1, true);
	assert_non_null(strstr(out, "a.py:1(f)\n\n\nLatency per call: no call ended while "
				    "tracing\n\nHot spots:\n"));
	free(out);
	assert_int_equal(profile_add_latency(&p, 0, zero), 0);
	out = render_latency(&p, PYBPF_SORT_TIME, -1, true);
	assert_non_null(strstr(out, "Latency per call: no call ended while tracing\n"));
	free(out);
	profile_free(&p);

	profile_init(&p);
	out = render_latency(&p, PYBPF_SORT_TIME, -1, true);
	assert_non_null(strstr(out, "Latency per call: no call ended while tracing\n"));
	free(out);
	profile_free(&p);
}

/* Labels in the latency section are escaped as in the table. */
static void test_latency_escaped(void **state)
{
	static const struct fig figs[] = { { "/tmp/a\tb.py", 1, "x\x1b[2J", 1, 1, 10, 10 } };
	uint64_t h[PYBPF_HIST_SLOTS] = { 0 };
	struct pybpf_profile p;
	char *out;

	(void)state;
	build(&p, figs, 1);
	h[3] = 1;
	assert_int_equal(profile_add_latency(&p, 0, h), 0);
	out = render_latency(&p, PYBPF_SORT_TIME, -1, true);
	assert_non_null(strstr(out, "\n  /tmp/a\\tb.py:1(x\\x1b[2J)  1 call, p50 12 ns, "
				    "p99 16 ns\n"));
	for (const char *c = out; *c; c++)
		assert_true(*c == '\n' || (unsigned char)*c >= 0x20);
	free(out);
	profile_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_title),
		cmocka_unit_test(test_order_every_key),
		cmocka_unit_test(test_order_offcpu),
		cmocka_unit_test(test_order_empty),
		cmocka_unit_test(test_block_limit_cuts),
		cmocka_unit_test(test_block_all_rows),
		cmocka_unit_test(test_block_limit_zero),
		cmocka_unit_test(test_block_no_recursion),
		cmocka_unit_test(test_offcpu_column),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_header_build),
		cmocka_unit_test(test_control_chars_escaped),
		cmocka_unit_test(test_losses_only_when_nonzero),
		cmocka_unit_test(test_hot_spots),
		cmocka_unit_test(test_hot_spot_units),
		cmocka_unit_test(test_no_calls_no_hot_spots),
		cmocka_unit_test(test_latency_section),
		cmocka_unit_test(test_latency_limit),
		cmocka_unit_test(test_latency_none),
		cmocka_unit_test(test_latency_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
