// SPDX-License-Identifier: GPL-2.0-only
/* sreport.c: the sampled report's exact text. Every expected figure below
 * was worked out by hand from the stacks each test builds (shares are of
 * the scope's ns, times are ns / 1e9). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampleprof.h"
#include "sampleprof_fixture.h"
#include "sreport.h"

#define CPU PYBPF_SAMPLE_CPU
#define OFF PYBPF_SAMPLE_OFFCPU
#define MS 1000000ull

#define TITLE_WALL                                                                      \
	"   nsamples     tottime    tot%     cumtime    cum%      offcpu    off%  "       \
	"filename:lineno(function)\n"
#define TITLE_CPU "   nsamples     tottime    tot%     cumtime    cum%  filename:lineno(function)\n"
#define NOTE_99HZ                                                                       \
	"ncalls is not measured when sampling: nsamples and times are estimates (each "  \
	"sample stands for 1/99 s).\n"
#define NOTE_100HZ                                                                      \
	"ncalls is not measured when sampling: nsamples and times are estimates (each "  \
	"sample stands for 1/100 s).\n"
#define NO_LOSSES                                                                       \
	"0 lost: 0 no Python thread state, 0 unreadable memory, 0 stacks map full, 0 "   \
	"counts map full; 0 frames unresolved; "
#define OFF_WHY "of off-CPU samples (sleep, I/O, locks or the GIL)"

#define ADD(p, th, trunc, kind, samples, ns, ...)                                          \
	do {                                                                               \
		const size_t fr_[] = { __VA_ARGS__ };                                      \
		add(p, th, fr_, sizeof(fr_) / sizeof(fr_[0]), trunc, kind, samples, ns);   \
	} while (0)

static void header(struct sample_profile *p, enum sample_mode mode, unsigned int hz)
{
	sample_profile_init(p);
	p->pid = 1234;
	strcpy(p->comm, "python3");
	strcpy(p->python_version, "3.12.1");
	strcpy(p->binary, "/path/libpython3.12.so.1.0");
	strcpy(p->build, "shared");
	p->mode = mode;
	p->hz = hz;
	p->wall_seconds = 5.012;
}

static char *render(const struct sample_profile *p, const struct sreport_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(sreport_print(out, p, o), 0);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("missing:\n%s\nin:\n%s", part, text);
}

/* The text from the line starting with `from` up to (not including) the
 * next line starting with `to` (or the end); malloc'ed. */
static char *section(const char *text, const char *from, const char *to)
{
	const char *a = strstr(text, from), *b;

	if (!a) {
		fail_msg("no \"%s\" in:\n%s", from, text);
		return NULL; /* not reached: said for the compiler */
	}
	b = to ? strstr(a + 1, to) : NULL;
	return strndup(a, b ? (size_t)(b - a) : strlen(a));
}

/* ---- the brief's example, to the byte ---- */

/* 1000 samples (cpu 500, off-CPU 500) over 10 s of ns; spin is the leaf of
 * 120 of them (1.212 s) and on the stack of 340 (3.434 s). */
static void example_profile(struct sample_profile *p)
{
	size_t t, main_, spin, x, wait;

	header(p, SAMPLE_MODE_WALL, 99);
	p->losses.no_tstate = 3;
	t = thread(p, 1235, "MainThread");
	main_ = frame(p, "app.py", 30, "main", 31);
	spin = frame(p, "app.py", 10, "spin", 12);
	x = frame(p, "app.py", 50, "x", 51);
	wait = frame(p, "app.py", 40, "wait", 42);
	ADD(p, t, false, CPU, 120, 1212 * MS, main_, spin);
	ADD(p, t, false, CPU, 220, 2222 * MS, spin, x);
	ADD(p, t, false, CPU, 160, 1566 * MS, main_);
	ADD(p, t, false, OFF, 500, 5000 * MS, main_, wait);
}

static void test_example_header_and_row(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 };
	struct sample_profile p;
	char *text;

	(void)state;
	example_profile(&p);
	text = render(&p, &o);
	assert_contains(text,
			"Sampled profile of PID 1234 (python3) \xe2\x80\x94 CPython 3.12.1, "
			"shared, "
			"/path/libpython3.12.so.1.0\n"
			"Mode wall at 99 Hz for 5.012 s: 1000 samples recorded (cpu 500, off-CPU "
			"500); 3 lost: 3 no Python thread state, 0 unreadable memory, 0 stacks map "
			"full, 0 counts map full; 0 frames unresolved; 0 stacks truncated at 128 "
			"frames\n" NOTE_99HZ "\n"
			"   Ordered by: own time\n\n" TITLE_WALL);
	assert_true(text == strstr(text, "Sampled profile"));
	assert_contains(text, "\n    120/340       1.212   12.1%       3.434   34.3%       0.000"
			      "    0.0%  app.py:10(spin)\n");
	free(text);
	sample_profile_free(&p);
}

/* ---- a small wall-clock profile, whole text ---- */

/* Thread 100: main@31 -> spin@12 (8 cpu), main@31 -> spin@13 (2 cpu),
 * main@33 -> wait@42 (6 off), spin@12 alone, truncated (1 off). Thread 101:
 * fact@2 three deep (4 cpu), no Python frame (2 off). 10 ms per sample. */
static void app_profile(struct sample_profile *p, enum sample_mode mode)
{
	size_t t0, t1, m31, m33, s12, s13, w42, f2;

	header(p, mode, 100);
	t0 = thread(p, 100, "MainThread");
	t1 = thread(p, 101, "worker\n");
	m31 = frame(p, "app.py", 30, "main", 31);
	m33 = frame(p, "app.py", 30, "main", 33);
	s12 = frame(p, "app.py", 10, "spin", 12);
	s13 = frame(p, "app.py", 10, "spin", 13);
	w42 = frame(p, "app.py", 40, "wait", 42);
	f2 = frame(p, "app.py", 1, "fact", 2);
	ADD(p, t0, false, CPU, 8, 80 * MS, m31, s12);
	ADD(p, t0, false, CPU, 2, 20 * MS, m31, s13);
	ADD(p, t0, false, OFF, 6, 60 * MS, m33, w42);
	ADD(p, t0, true, OFF, 1, 10 * MS, s12);
	ADD(p, t1, false, CPU, 4, 40 * MS, f2, f2, f2);
	assert_int_equal(sample_profile_add(p, t1, NULL, 0, false, OFF, 2, 20 * MS), 0);
}

static const char app_text[] =
	"Sampled profile of PID 1234 (python3) \xe2\x80\x94 CPython 3.12.1, shared, "
	"/path/libpython3.12.so.1.0\n"
	"Mode wall at 100 Hz for 5.012 s: 23 samples recorded (cpu 14, off-CPU 9); " NO_LOSSES
	"1 stacks truncated at 128 frames\n" NOTE_100HZ "\n"
	"   Ordered by: own time\n"
	"\n" TITLE_WALL
	"      11/11       0.110   47.8%       0.110   47.8%       0.010    4.3%  app.py:10(spin)\n"
	"        6/6       0.060   26.1%       0.060   26.1%       0.060   26.1%  app.py:40(wait)\n"
	"        4/4       0.040   17.4%       0.040   17.4%       0.000    0.0%  app.py:1(fact)\n"
	"       0/16       0.000    0.0%       0.160   69.6%       0.000    0.0%  app.py:30(main)\n"
	"\n"
	"Hot spots (on-CPU, 14 samples):\n"
	"  1. spin (app.py:10) ran on the CPU in 71.4% of on-CPU samples, 80% of it at line 12; "
	"called from main (app.py:30).\n"
	"  2. fact (app.py:1) ran on the CPU in 28.6% of on-CPU samples, 100% of it at line 2; "
	"called from fact (app.py:1).\n"
	"\n"
	"Hot spots (off-CPU, 9 samples):\n"
	"  1. wait (app.py:40) was off the CPU in 66.7% " OFF_WHY ", 100% of it at line 42; "
	"called from main (app.py:30).\n"
	"  2. spin (app.py:10) was off the CPU in 11.1% " OFF_WHY ", 100% of it at line 12; "
	"its caller is beyond the 128 frames kept.\n"
	"\n";

static void test_app_whole_text(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 };
	struct sample_profile p;
	char *text;

	(void)state;
	app_profile(&p, SAMPLE_MODE_WALL);
	text = render(&p, &o);
	assert_string_equal(text, app_text);
	free(text);
	sample_profile_free(&p);
}

/* Per line: spin@12 and spin@13 are rows of their own; main's two lines,
 * tied at no own time, in label order. */
static void test_lines(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1, .lines = true };
	struct sample_profile p;
	char *text, *table;

	(void)state;
	app_profile(&p, SAMPLE_MODE_WALL);
	text = render(&p, &o);
	table = section(text, TITLE_WALL, "Hot spots");
	assert_string_equal(table, TITLE_WALL
		"        9/9       0.090   39.1%       0.090   39.1%       0.010    4.3%  "
		"app.py:12(spin)\n"
		"        6/6       0.060   26.1%       0.060   26.1%       0.060   26.1%  "
		"app.py:42(wait)\n"
		"        4/4       0.040   17.4%       0.040   17.4%       0.000    0.0%  "
		"app.py:2(fact)\n"
		"        2/2       0.020    8.7%       0.020    8.7%       0.000    0.0%  "
		"app.py:13(spin)\n"
		"       0/10       0.000    0.0%       0.100   43.5%       0.000    0.0%  "
		"app.py:31(main)\n"
		"        0/6       0.000    0.0%       0.060   26.1%       0.000    0.0%  "
		"app.py:33(main)\n"
		"\n");
	/* Hot spots stay per function. */
	assert_contains(text, "  1. spin (app.py:10) ran on the CPU in 71.4% of on-CPU samples, "
			      "80% of it at line 12; called from main (app.py:30).\n");
	/* By line number, the running line is the key. */
	o.sort = SREPORT_SORT_LINE;
	free(table);
	free(text);
	text = render(&p, &o);
	assert_true(strstr(text, "app.py:2(fact)") < strstr(text, "app.py:12(spin)"));
	assert_true(strstr(text, "app.py:12(spin)") < strstr(text, "app.py:13(spin)"));
	assert_true(strstr(text, "app.py:13(spin)") < strstr(text, "app.py:31(main)"));
	assert_true(strstr(text, "app.py:33(main)") < strstr(text, "app.py:42(wait)"));
	free(text);
	sample_profile_free(&p);
}

static void test_threads(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1, .threads = true };
	struct sample_profile p;
	char *text, *t0, *t1;

	(void)state;
	app_profile(&p, SAMPLE_MODE_WALL);
	text = render(&p, &o);
	/* The whole-process part first, unchanged. */
	assert_memory_equal(text, app_text, strlen(app_text));
	t0 = section(text, "--- Thread 100 ", "--- Thread 101 ");
	t1 = section(text, "--- Thread 101 ", NULL);
	assert_string_equal(t0,
		"--- Thread 100 \"MainThread\": 17 samples (cpu 10, off-CPU 7) ---\n"
		"\n"
		"   Ordered by: own time\n"
		"\n" TITLE_WALL
		"      11/11       0.110   64.7%       0.110   64.7%       0.010    5.9%  "
		"app.py:10(spin)\n"
		"        6/6       0.060   35.3%       0.060   35.3%       0.060   35.3%  "
		"app.py:40(wait)\n"
		"       0/16       0.000    0.0%       0.160   94.1%       0.000    0.0%  "
		"app.py:30(main)\n"
		"\n"
		"Hot spots (on-CPU, 10 samples):\n"
		"  1. spin (app.py:10) ran on the CPU in 100.0% of on-CPU samples, 80% of it at "
		"line 12; called from main (app.py:30).\n"
		"\n"
		"Hot spots (off-CPU, 7 samples):\n"
		"  1. wait (app.py:40) was off the CPU in 85.7% " OFF_WHY ", 100% of it at "
		"line 42; "
		"called from main (app.py:30).\n"
		"  2. spin (app.py:10) was off the CPU in 14.3% " OFF_WHY ", 100% of it at "
		"line 12; "
		"its caller is beyond the 128 frames kept.\n"
		"\n");
	assert_string_equal(t1,
		"--- Thread 101 \"worker\\n\": 6 samples (cpu 4, off-CPU 2) ---\n"
		"\n"
		"   Ordered by: own time\n"
		"\n" TITLE_WALL
		"        4/4       0.040   66.7%       0.040   66.7%       0.000    0.0%  "
		"app.py:1(fact)\n"
		"\n"
		"Hot spots (on-CPU, 4 samples):\n"
		"  1. fact (app.py:1) ran on the CPU in 100.0% of on-CPU samples, 100% of it at "
		"line 2; called from fact (app.py:1).\n"
		"\n"
		"Hot spots (off-CPU, 2 samples):\n"
		"  none: no Python function was running in them.\n"
		"\n");
	free(t0);
	free(t1);
	free(text);
	sample_profile_free(&p);
}

/* The busiest thread first, ties by TID; threads without samples left out. */
static void test_thread_order(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1, .threads = true };
	struct sample_profile p;
	size_t f, a, b, c;
	char *text;

	(void)state;
	header(&p, SAMPLE_MODE_CPU, 100);
	a = thread(&p, 30, "a");
	b = thread(&p, 20, "b");
	c = thread(&p, 10, "c");
	thread(&p, 5, "idle");
	f = frame(&p, "m.py", 1, "f", 2);
	ADD(&p, a, false, CPU, 1, 10 * MS, f);
	ADD(&p, b, false, CPU, 3, 30 * MS, f);
	ADD(&p, c, false, CPU, 1, 10 * MS, f);
	text = render(&p, &o);
	assert_non_null(strstr(text, "--- Thread 20 \"b\": 3 samples (cpu 3, off-CPU 0) ---\n"));
	assert_true(strstr(text, "--- Thread 20 ") < strstr(text, "--- Thread 10 "));
	assert_true(strstr(text, "--- Thread 10 ") < strstr(text, "--- Thread 30 "));
	assert_null(strstr(text, "idle"));
	free(text);
	sample_profile_free(&p);
}

/* ---- own and cumulative under recursion ---- */

static void test_recursion_counted_once(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_CUMSAMPLES, .limit = -1 };
	struct sample_profile p;
	size_t f, g, t;
	char *text, *table;

	(void)state;
	header(&p, SAMPLE_MODE_CPU, 100);
	t = thread(&p, 1, "t");
	f = frame(&p, "r.py", 1, "f", 2);
	g = frame(&p, "r.py", 5, "g", 6);
	ADD(&p, t, false, CPU, 2, 20 * MS, f, g, f, g, f);
	ADD(&p, t, false, CPU, 3, 30 * MS, g, f, g);
	text = render(&p, &o);
	table = section(text, TITLE_CPU, "Hot spots");
	/* Tied at 5 cumulative samples: label order. */
	assert_string_equal(table, TITLE_CPU
		"        2/5       0.020   40.0%       0.050  100.0%  r.py:1(f)\n"
		"        3/5       0.030   60.0%       0.050  100.0%  r.py:5(g)\n"
		"\n");
	assert_contains(text, "  1. g (r.py:5) ran on the CPU in 60.0% of on-CPU samples, "
			      "100% of it at line 6; called from f (r.py:1).\n"
			      "  2. f (r.py:1) ran on the CPU in 40.0% of on-CPU samples, "
			      "100% of it at line 2; called from g (r.py:5).\n");
	free(table);
	free(text);
	sample_profile_free(&p);
}

/* ---- sorting ---- */

/* Own: b.py:5(alpha) 10 samples 5 ms; a.py:9(delta) 3, 60 ms; c.py:1(gamma)
 * 6 off-CPU, 90 ms; a.py:20(beta) 3, 95 ms of which 20 off-CPU. Cumulative:
 * alpha 13, 65 ms; delta 3, 60 ms; gamma 6, 90 ms; beta 4, 145 ms. */
static void sort_profile(struct sample_profile *p)
{
	size_t t, alpha, delta, gamma, beta;

	header(p, SAMPLE_MODE_WALL, 100);
	t = thread(p, 1, "t");
	alpha = frame(p, "b.py", 5, "alpha", 6);
	delta = frame(p, "a.py", 9, "delta", 10);
	gamma = frame(p, "c.py", 1, "gamma", 2);
	beta = frame(p, "a.py", 20, "beta", 21);
	ADD(p, t, false, CPU, 10, 5 * MS, alpha);
	ADD(p, t, false, CPU, 3, 60 * MS, alpha, delta);
	ADD(p, t, false, OFF, 5, 40 * MS, gamma);
	ADD(p, t, false, OFF, 1, 50 * MS, beta, gamma);
	ADD(p, t, false, OFF, 2, 20 * MS, beta);
	ADD(p, t, false, CPU, 1, 75 * MS, beta);
}

static void test_sort_keys(void **state)
{
	static const char *const label[] = { "b.py:5(alpha)", "a.py:9(delta)", "c.py:1(gamma)",
					     "a.py:20(beta)" };
	static const struct {
		enum sreport_sort sort;
		const char *title;
		size_t want[4]; /* indices in label */
	} cases[] = {
		{ SREPORT_SORT_TOTTIME, "own time", { 3, 2, 1, 0 } },
		{ SREPORT_SORT_CUMTIME, "cumulative time", { 3, 2, 0, 1 } },
		{ SREPORT_SORT_NSAMPLES, "own samples", { 0, 2, 1, 3 } }, /* delta, beta tie */
		{ SREPORT_SORT_CUMSAMPLES, "cumulative samples", { 0, 2, 3, 1 } },
		{ SREPORT_SORT_OFFCPU, "off-CPU time", { 2, 3, 1, 0 } },  /* alpha, delta tie */
		{ SREPORT_SORT_NAME, "function name", { 0, 3, 1, 2 } },
		{ SREPORT_SORT_FILENAME, "file name", { 1, 3, 0, 2 } },   /* a.py: label order */
		{ SREPORT_SORT_LINE, "line number", { 2, 0, 1, 3 } },
	};
	struct sample_profile p;

	(void)state;
	sort_profile(&p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sreport_opts o = { .sort = cases[i].sort, .limit = -1 };
		char *text = render(&p, &o), *title;
		const char *prev = text;

		assert_true(asprintf(&title, "   Ordered by: %s\n", cases[i].title) > 0);
		assert_contains(text, title);
		for (size_t j = 0; j < 4; j++) {
			const char *at = strstr(text, label[cases[i].want[j]]);
			if (!at || at < prev)
				fail_msg("sort %s: %s not at position %zu", cases[i].title,
					 label[cases[i].want[j]], j);
			prev = at;
		}
		free(title);
		free(text);
	}
	sample_profile_free(&p);
}

static void test_sort_rows_text(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_CUMTIME, .limit = -1 };
	struct sample_profile p;
	char *text, *table;

	(void)state;
	sort_profile(&p);
	text = render(&p, &o);
	/* 250 ms in all, 90 off-CPU own by gamma, 20 by beta. */
	table = section(text, TITLE_WALL, "Hot spots");
	assert_string_equal(table, TITLE_WALL
		"        3/4       0.095   38.0%       0.145   58.0%       0.020    8.0%  "
		"a.py:20(beta)\n"
		"        6/6       0.090   36.0%       0.090   36.0%       0.090   36.0%  "
		"c.py:1(gamma)\n"
		"      10/13       0.005    2.0%       0.065   26.0%       0.000    0.0%  "
		"b.py:5(alpha)\n"
		"        3/3       0.060   24.0%       0.060   24.0%       0.000    0.0%  "
		"a.py:9(delta)\n"
		"\n");
	free(table);
	free(text);
	sample_profile_free(&p);
}

static void test_limit(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_NAME, .limit = 2 };
	struct sample_profile p;
	char *text, *table;

	(void)state;
	sort_profile(&p);
	text = render(&p, &o);
	assert_contains(text, "   Ordered by: function name\n"
			      "   List reduced from 4 to 2 due to restriction <2>\n\n" TITLE_WALL);
	table = section(text, TITLE_WALL, "Hot spots");
	assert_non_null(strstr(table, "b.py:5(alpha)"));
	assert_non_null(strstr(table, "a.py:20(beta)"));
	assert_null(strstr(table, "delta"));
	assert_null(strstr(table, "gamma"));
	free(table);
	free(text);
	o.limit = 4;
	text = render(&p, &o);
	assert_null(strstr(text, "List reduced"));
	free(text);
	sample_profile_free(&p);
}

static void test_parse_sort(void **state)
{
	static const struct {
		const char *key;
		enum sreport_sort sort;
	} keys[] = {
		{ "tottime", SREPORT_SORT_TOTTIME },	{ "time", SREPORT_SORT_TOTTIME },
		{ "cumtime", SREPORT_SORT_CUMTIME },	{ "cumulative", SREPORT_SORT_CUMTIME },
		{ "nsamples", SREPORT_SORT_NSAMPLES },	{ "cumsamples", SREPORT_SORT_CUMSAMPLES },
		{ "offcpu", SREPORT_SORT_OFFCPU },	{ "name", SREPORT_SORT_NAME },
		{ "filename", SREPORT_SORT_FILENAME },	{ "file", SREPORT_SORT_FILENAME },
		{ "line", SREPORT_SORT_LINE },
	};
	static const char *const bad[] = { "", "calls", "ncalls", "TIME", "tottime ", "nfl",
					   "stdname", "module", "samples" };
	enum sreport_sort s;

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		s = (enum sreport_sort)-1;
		assert_int_equal(sreport_parse_sort(keys[i].key, &s), 0);
		assert_int_equal(s, keys[i].sort);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = SREPORT_SORT_LINE;
		assert_int_equal(sreport_parse_sort(bad[i], &s), -1);
		assert_int_equal(s, SREPORT_SORT_LINE);
	}
}

/* ---- modes ---- */

/* Mode cpu: no off-CPU columns, no off-CPU hot spots; a function run at
 * the root of its stack has no caller; an unknown line is said so. */
static void test_mode_cpu(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 };
	struct sample_profile p;
	size_t t, m, s;
	char *text;

	(void)state;
	header(&p, SAMPLE_MODE_CPU, 100);
	t = thread(&p, 1, "t");
	m = frame(&p, "app.py", 30, "main", 0);
	s = frame(&p, "app.py", 10, "spin", 12);
	ADD(&p, t, false, CPU, 3, 30 * MS, m);
	ADD(&p, t, false, CPU, 1, 10 * MS, m, s);
	text = render(&p, &o);
	assert_contains(text, "Mode cpu at 100 Hz for 5.012 s: 4 samples recorded (cpu 4, "
			      "off-CPU 0); " NO_LOSSES "0 stacks truncated at 128 frames\n");
	assert_contains(text, "\n\n" TITLE_CPU
			      "        3/4       0.030   75.0%       0.040  100.0%  "
			      "app.py:30(main)\n"
			      "        1/1       0.010   25.0%       0.010   25.0%  "
			      "app.py:10(spin)\n"
			      "\n"
			      "Hot spots (on-CPU, 4 samples):\n"
			      "  1. main (app.py:30) ran on the CPU in 75.0% of on-CPU "
			      "samples, 100% of it at an unknown line; not called from "
			      "Python code (the outermost frame).\n"
			      "  2. spin (app.py:10) ran on the CPU in 25.0% of on-CPU "
			      "samples, 100% of it at line 12; called from main (app.py:30).\n"
			      "\n");
	assert_null(strstr(text, "offcpu"));
	assert_null(strstr(text, "Hot spots (off-CPU"));
	free(text);
	sample_profile_free(&p);
}

static void test_mode_offcpu(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 };
	struct sample_profile p;
	char *text;
	size_t t, w;

	(void)state;
	header(&p, SAMPLE_MODE_OFFCPU, 100);
	t = thread(&p, 1, "t");
	w = frame(&p, "app.py", 40, "wait", 42);
	ADD(&p, t, false, OFF, 2, 20 * MS, w);
	text = render(&p, &o);
	assert_contains(text, "Mode offcpu at 100 Hz");
	assert_contains(text, "\n\n" TITLE_CPU
			      "        2/2       0.020  100.0%       0.020  100.0%  "
			      "app.py:40(wait)\n"
			      "\n"
			      "Hot spots (off-CPU, 2 samples):\n");
	assert_null(strstr(text, "Hot spots (on-CPU"));
	free(text);
	sample_profile_free(&p);
}

/* Mode wall with only on-CPU samples: the off-CPU summary says there were none. */
static void test_wall_without_offcpu(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 };
	struct sample_profile p;
	char *text;
	size_t t, f;

	(void)state;
	header(&p, SAMPLE_MODE_WALL, 100);
	t = thread(&p, 1, "t");
	f = frame(&p, "a.py", 1, "f", 2);
	ADD(&p, t, false, CPU, 1, 10 * MS, f);
	text = render(&p, &o);
	assert_contains(text, "\nHot spots (off-CPU): no off-CPU samples were recorded.\n\n");
	free(text);
	sample_profile_free(&p);
}

/* ---- losses, empty profile, hot-spot limits, escaping, errors ---- */

static void test_losses_line(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 };
	struct sample_profile p;
	char *text;
	size_t t, f;

	(void)state;
	header(&p, SAMPLE_MODE_WALL, 99);
	p.losses = (struct sample_losses){ .no_tstate = 1, .read_errors = 20, .stacks_full = 300,
					   .counts_full = 4000, .unresolved = 7 };
	t = thread(&p, 1, "t");
	f = frame(&p, "a.py", 1, "f", 2);
	ADD(&p, t, true, CPU, 5, 50 * MS, f);
	ADD(&p, t, true, OFF, 6, 60 * MS, f);
	ADD(&p, t, false, CPU, 2, 20 * MS, f);
	text = render(&p, &o);
	assert_contains(text, "\nMode wall at 99 Hz for 5.012 s: 13 samples recorded (cpu 7, "
			      "off-CPU 6); 4321 lost: 1 no Python thread state, 20 unreadable "
			      "memory, 300 stacks map full, 4000 counts map full; 7 frames "
			      "unresolved; 11 stacks truncated at 128 frames\n");
	free(text);
	sample_profile_free(&p);
}

static void test_empty_profile(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1, .threads = true };
	struct sample_profile p;
	char *text;

	(void)state;
	header(&p, SAMPLE_MODE_WALL, 99);
	p.losses.no_tstate = 2;
	thread(&p, 1, "t");
	text = render(&p, &o);
	assert_string_equal(text,
			    "Sampled profile of PID 1234 (python3) \xe2\x80\x94 CPython 3.12.1, "
			    "shared, /path/libpython3.12.so.1.0\n"
			    "Mode wall at 99 Hz for 5.012 s: 0 samples recorded (cpu 0, "
			    "off-CPU 0); "
			    "2 lost: 2 no Python thread state, 0 unreadable memory, 0 stacks map "
			    "full, 0 counts map full; 0 frames unresolved; 0 stacks truncated at "
			    "128 frames\n" NOTE_99HZ "\n"
			    "No samples were recorded.\n");
	free(text);
	/* Unknown facts are said so; a build that is not known is left out. */
	p.python_version[0] = p.binary[0] = p.build[0] = '\0';
	text = render(&p, &o);
	assert_contains(text, "Sampled profile of PID 1234 (python3) \xe2\x80\x94 CPython ?, "
			      "unknown binary\n");
	free(text);
	sample_profile_free(&p);
}

/* A stream that fails gives its own error (/dev/full: ENOSPC). */
static void test_stream_error(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 };
	struct sample_profile p;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	header(&p, SAMPLE_MODE_WALL, 99);
	thread(&p, 1, "t");
	errno = 0;
	assert_int_equal(sreport_print(f, &p, &o), -ENOSPC);
	fclose(f);
	sample_profile_free(&p);
}

/* At most five hot spots, by own samples, ties in label order. */
static void test_hot_spot_top_five(void **state)
{
	static const uint64_t own[] = { 1, 7, 3, 7, 5, 2, 9 };
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 };
	struct sample_profile p;
	char *text, *hot, name[8];
	size_t t, f;

	(void)state;
	header(&p, SAMPLE_MODE_CPU, 100);
	t = thread(&p, 1, "t");
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		f = frame(&p, "h.py", i + 1, name, i + 2);
		ADD(&p, t, false, CPU, own[i], own[i] * 10 * MS, f);
	}
	text = render(&p, &o);
	hot = section(text, "Hot spots (on-CPU", NULL);
	assert_string_equal(hot,
		"Hot spots (on-CPU, 34 samples):\n"
		"  1. f6 (h.py:7) ran on the CPU in 26.5% of on-CPU samples, 100% of it at line 8; "
		"not called from Python code (the outermost frame).\n"
		"  2. f1 (h.py:2) ran on the CPU in 20.6% of on-CPU samples, 100% of it at line 3; "
		"not called from Python code (the outermost frame).\n"
		"  3. f3 (h.py:4) ran on the CPU in 20.6% of on-CPU samples, 100% of it at line 5; "
		"not called from Python code (the outermost frame).\n"
		"  4. f4 (h.py:5) ran on the CPU in 14.7% of on-CPU samples, 100% of it at line 6; "
		"not called from Python code (the outermost frame).\n"
		"  5. f2 (h.py:3) ran on the CPU in 8.8% of on-CPU samples, 100% of it at line 4; "
		"not called from Python code (the outermost frame).\n"
		"\n");
	free(hot);
	free(text);
	sample_profile_free(&p);
}

/* The most frequent line and caller win, whatever order the stacks came in. */
static void test_hot_spot_line_and_caller(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 };
	struct sample_profile p;
	size_t t, a, b, w3, w4;
	char *text;

	(void)state;
	header(&p, SAMPLE_MODE_CPU, 100);
	t = thread(&p, 1, "t");
	a = frame(&p, "c.py", 1, "a", 2);
	b = frame(&p, "c.py", 5, "b", 6);
	w3 = frame(&p, "c.py", 2, "work", 3);
	w4 = frame(&p, "c.py", 2, "work", 4);
	ADD(&p, t, false, CPU, 2, 20 * MS, a, w3);
	ADD(&p, t, false, CPU, 3, 30 * MS, b, w4);
	ADD(&p, t, false, CPU, 2, 20 * MS, b, w3);
	text = render(&p, &o);
	assert_contains(text, "  1. work (c.py:2) ran on the CPU in 100.0% of on-CPU samples, "
			      "57% of it at line 3; called from b (c.py:5).\n");
	free(text);
	sample_profile_free(&p);
}

static void test_escaping(void **state)
{
	struct sreport_opts o = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 };
	struct sample_profile p;
	size_t t, f, g;
	char *text;

	(void)state;
	header(&p, SAMPLE_MODE_CPU, 100);
	strcpy(p.comm, "py\x1b[31m");
	t = thread(&p, 1, "t");
	f = frame(&p, "a\tb.py", 1, "f\x1b", 2);
	g = frame(&p, "\xc3\xa9.py", 3, "g\\", 4);
	ADD(&p, t, false, CPU, 1, 10 * MS, g, f);
	text = render(&p, &o);
	assert_contains(text, "PID 1234 (py\\x1b[31m)");
	assert_contains(text, "  a\\tb.py:1(f\\x1b)\n");
	assert_contains(text, "  \xc3\xa9.py:3(g\\\\)\n");
	assert_contains(text, "  1. f\\x1b (a\\tb.py:1) ran on the CPU in 100.0% of on-CPU "
			      "samples, 100% of it at line 2; called from g\\\\ "
			      "(\xc3\xa9.py:3).\n");
	assert_null(strchr(text, '\x1b'));
	assert_null(strchr(text, '\t'));
	free(text);
	sample_profile_free(&p);
}

static void test_invalid_input(void **state)
{
	struct sreport_opts o = { .sort = (enum sreport_sort)99, .limit = -1 };
	struct sample_profile p;
	FILE *out = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(out);
	app_profile(&p, SAMPLE_MODE_WALL);
	assert_int_equal(sreport_print(out, &p, &o), -EINVAL);
	o.sort = SREPORT_SORT_NAME;
	assert_int_equal(sreport_print(out, &p, &o), 0);
	p.stacks[0].frames[1] = p.nframes; /* an index out of range */
	assert_int_equal(sreport_print(out, &p, &o), -EINVAL);
	p.stacks[0].frames[1] = 0;
	p.stacks[0].thread = p.nthreads;
	assert_int_equal(sreport_print(out, &p, &o), -EINVAL);
	p.stacks[0].thread = 0;
	fclose(out);
	sample_profile_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_header_and_row),
		cmocka_unit_test(test_app_whole_text),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_thread_order),
		cmocka_unit_test(test_recursion_counted_once),
		cmocka_unit_test(test_sort_keys),
		cmocka_unit_test(test_sort_rows_text),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_parse_sort),
		cmocka_unit_test(test_mode_cpu),
		cmocka_unit_test(test_mode_offcpu),
		cmocka_unit_test(test_wall_without_offcpu),
		cmocka_unit_test(test_losses_line),
		cmocka_unit_test(test_empty_profile),
		cmocka_unit_test(test_stream_error),
		cmocka_unit_test(test_hot_spot_top_five),
		cmocka_unit_test(test_hot_spot_line_and_caller),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_invalid_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
