// SPDX-License-Identifier: GPL-2.0-only
/* hostreport.c: the host-wide report's layout against the spec's regexes
 * (POSIX forms of them), its sections against the single-process reports
 * printed alone, the merged hot spots worked out by hand, and escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostreport.h"
#include "hostrun_fixture.h"
#include "report.h"
#include "sampleprof_fixture.h"
#include "sreport.h"

#define CPU PYBPF_SAMPLE_CPU
#define OFF PYBPF_SAMPLE_OFFCPU

/* The spec's regexes, \d written [0-9] and (?:...) as a plain group. */
#define RE_TOP                                                                            \
	"^Python processes (traced|sampled): ([0-9]+) for ([0-9]+\\.[0-9]{3}) s, ([0-9]+) " \
	"not (traced|sampled)$"
#define RE_SECTION "^======== PID ([0-9]+)( \\(PID ([0-9]+) in its namespace\\))?: (.*)$"
#define RE_COVERAGE                                                                        \
	"^(Traced|Sampled) from ([0-9]+\\.[0-9]{3}) s to ([0-9]+\\.[0-9]{3}) s of the run"  \
	"( \\((exited|exec'ed another program)\\))?(; forked by PID ([0-9]+))?$"
#define RE_HOT "^======== Hot spots across ([0-9]+) processes$"
#define RE_NOT "^======== Not (traced|sampled) \\(([0-9]+)\\)$"
#define RE_REFUSAL "^PID ([0-9]+) \\((.*)\\): (.+)$"

static const struct hostreport_opts default_opts = {
	.sort = PYBPF_SORT_CUMULATIVE,
	.limit = -1,
	.sample = { .sort = SREPORT_SORT_TOTTIME, .limit = -1 },
};

static char *render(const struct host_run *run, const struct hostreport_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(hostreport_print(out, run, o), 0);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static char *render_exact(const struct pybpf_profile *p, const struct hostreport_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(report_print(out, p, o->sort, o->limit, o->latency), 0);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static char *render_sampled(const struct sample_profile *p, const struct hostreport_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(sreport_print(out, p, &o->sample), 0);
	assert_int_equal(fclose(out), 0);
	return buf;
}

/* Whether line (up to its '\n') matches the extended regex re; the first
 * nm groups in m (offsets into line). */
static bool line_matches(const char *re, const char *line, regmatch_t *m, size_t nm)
{
	size_t len = strcspn(line, "\n");
	char *copy = strndup(line, len);
	regex_t rx;
	int r;

	assert_non_null(copy);
	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | (nm ? 0 : REG_NOSUB)), 0);
	r = regexec(&rx, copy, nm, m, 0);
	regfree(&rx);
	free(copy);
	return r == 0;
}

static long group_long(const char *line, const regmatch_t *m)
{
	assert_true(m->rm_so >= 0);
	return strtol(line + m->rm_so, NULL, 10);
}

/* The line after this one, or NULL at the end. */
static const char *next_line(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl && nl[1] ? nl + 1 : NULL;
}

/* The three processes and one refusal most tests use:
 *   1234 (namespace PID 7) exited, forked by 1200: 1.1 s of own time;
 *   1300, running: 1.7 s; 1100 (namespace PID the same) exec'ed: none. */
static void build_three(struct fixture *fx)
{
	static const struct fig app[] = {
		{ "app.py", 6, "main", 1, 1, 100 * MS, 1200 * MS },
		{ "app.py", 12, "fetch", 10, 10, 1000 * MS, 1000 * MS },
		{ "app.py", 20, "tiny", 4, 4, 0, 0 },
	};
	static const struct fig job[] = {
		{ "job.py", 1, "work", 3, 3, 1500 * MS, 1700 * MS },
		{ "job.py", 9, "fact", 500, 100, 200 * MS, 200 * MS },
	};
	static const struct fig idle[] = { { "idle.py", 1, "<module>", 1, 1, 0, 0 } };
	struct host_proc *hp;

	fixture_init(fx, false, 10.004);
	hp = fixture_proc(fx, 1234, "python3 app.py --x", 0.412, 3.210);
	hp->ns_pid = 7;
	hp->forked_by = 1200;
	hp->end = HOST_PROC_EXITED;
	hp->exact = exact_profile(1234, app, 3);
	hp = fixture_proc(fx, 1300, "python3 job.py", 1.002, 10.004);
	hp->exact = exact_profile(1300, job, 2);
	hp = fixture_proc(fx, 1100, "python3 idle.py", 0, 5.5);
	hp->ns_pid = 1100;
	hp->end = HOST_PROC_EXECED;
	hp->exact = exact_profile(1100, idle, 1);
	fixture_refuse(fx, 999, "python3.14t x.py",
		       "CPython 3.14.0 is a free-threaded build, which is not supported");
}

static const char three_hot[] =
	"\n======== Hot spots across 3 processes\n"
	"Own time (share of 2.800 s in all functions of all processes):\n"
	"   1.  53.6%  job.py:1(work)  PID 1300 (python3 job.py)  1.500 s, 3 calls\n"
	"   2.  35.7%  app.py:12(fetch)  PID 1234 (python3 app.py --x)  1.000 s, 10 calls\n"
	"   3.   7.1%  job.py:9(fact)  PID 1300 (python3 job.py)  0.200 s, 500/100 calls\n"
	"   4.   3.6%  app.py:6(main)  PID 1234 (python3 app.py --x)  0.100 s, 1 call\n"
	"\n======== Not traced (1)\n"
	"PID 999 (python3.14t x.py): CPython 3.14.0 is a free-threaded build, which is not "
	"supported\n";

/* The whole text: the sections are the single-process reports, unchanged. */
static void test_whole_text(void **state)
{
	struct fixture fx;
	char *got, *r1234, *r1300, *r1100, *want;

	(void)state;
	build_three(&fx);
	got = render(&fx.run, &default_opts);
	r1300 = render_exact(fx.procs[1].exact, &default_opts);
	r1234 = render_exact(fx.procs[0].exact, &default_opts);
	r1100 = render_exact(fx.procs[2].exact, &default_opts);
	assert_true(asprintf(&want,
			     "Python processes traced: 3 for 10.004 s, 1 not traced\n"
			     "\n======== PID 1300: python3 job.py\n"
			     "Traced from 1.002 s to 10.004 s of the run\n%s"
			     "\n======== PID 1234 (PID 7 in its namespace): python3 app.py --x\n"
			     "Traced from 0.412 s to 3.210 s of the run (exited); "
			     "forked by PID 1200\n"
			     "%s"
			     "\n======== PID 1100: python3 idle.py\n"
			     "Traced from 0.000 s to 5.500 s of the run (exec'ed another program)\n"
			     "%s%s",
			     r1300, r1234, r1100, three_hot) > 0);
	assert_string_equal(got, want);
	free(want);
	free(r1234);
	free(r1300);
	free(r1100);
	free(got);
	fixture_free(&fx);
}

/* Walks the output line by line with the spec's regexes. */
static void test_regexes(void **state)
{
	const long want_pids[] = { 1300, 1234, 1100 };
	struct fixture fx;
	regmatch_t m[8];
	size_t sections = 0;
	bool hot = false, not_traced = false;
	char *out;

	(void)state;
	build_three(&fx);
	out = render(&fx.run, &default_opts);
	assert_true(line_matches(RE_TOP, out, m, 6));
	assert_int_equal(group_long(out, &m[2]), 3);
	assert_int_equal(group_long(out, &m[4]), 1);
	for (const char *l = out; l; l = next_line(l)) {
		if (line_matches(RE_SECTION, l, m, 5)) {
			assert_true(sections < 3);
			assert_int_equal(group_long(l, &m[1]), want_pids[sections]);
			if (want_pids[sections] == 1234)
				assert_int_equal(group_long(l, &m[3]), 7);
			else
				assert_int_equal(m[3].rm_so, -1);
			sections++;
			l = next_line(l);
			assert_true(line_matches(RE_COVERAGE, l, NULL, 0));
		} else if (line_matches(RE_HOT, l, m, 2)) {
			assert_int_equal(group_long(l, &m[1]), 3);
			hot = true;
		} else if (line_matches(RE_NOT, l, m, 3)) {
			assert_int_equal(group_long(l, &m[2]), 1);
			not_traced = true;
			l = next_line(l);
			assert_true(line_matches(RE_REFUSAL, l, m, 4));
			assert_int_equal(group_long(l, &m[1]), 999);
		}
	}
	assert_int_equal(sections, 3);
	assert_true(hot && not_traced);
	free(out);
	fixture_free(&fx);
}

/* Every form of the coverage line matches its regex with the right groups. */
static void test_coverage_words(void **state)
{
	static const struct fig one[] = { { "a.py", 1, "f", 1, 1, MS, MS } };
	static const struct {
		enum host_proc_end end;
		pid_t forked_by;
		const char *line;
	} cases[] = {
		{ HOST_PROC_RUNNING, 0, "Traced from 1.000 s to 2.500 s of the run\n" },
		{ HOST_PROC_EXITED, 0, "Traced from 1.000 s to 2.500 s of the run (exited)\n" },
		{ HOST_PROC_EXECED, 0,
		  "Traced from 1.000 s to 2.500 s of the run (exec'ed another program)\n" },
		{ HOST_PROC_RUNNING, 42, "Traced from 1.000 s to 2.500 s of the run; forked by "
					 "PID 42\n" },
		{ HOST_PROC_EXECED, 43, "Traced from 1.000 s to 2.500 s of the run (exec'ed "
					"another program); forked by PID 43\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct host_proc *hp;
		const char *at;
		char *out;

		fixture_init(&fx, false, 3);
		hp = fixture_proc(&fx, 10, "python3 a.py", 1, 2.5);
		hp->end = cases[i].end;
		hp->forked_by = cases[i].forked_by;
		hp->exact = exact_profile(10, one, 1);
		out = render(&fx.run, &default_opts);
		at = strstr(out, "======== PID 10: python3 a.py\n");
		assert_non_null(at);
		at = next_line(at);
		assert_memory_equal(at, cases[i].line, strlen(cases[i].line));
		assert_true(line_matches(RE_COVERAGE, at, NULL, 0));
		free(out);
		fixture_free(&fx);
	}
}

/* Equal own time: the lower PID first; no namespace part when ns_pid is 0
 * or the PID itself. */
static void test_ties_and_namespace(void **state)
{
	static const struct fig one[] = { { "a.py", 1, "f", 1, 1, 5 * MS, 5 * MS } };
	struct fixture fx;
	struct host_proc *hp;
	char *out;
	const char *a, *b;

	(void)state;
	fixture_init(&fx, false, 3);
	hp = fixture_proc(&fx, 20, "python3 b.py", 0, 3);
	hp->ns_pid = 20;
	hp->exact = exact_profile(20, one, 1);
	hp = fixture_proc(&fx, 10, "python3 a.py", 0, 3);
	hp->exact = exact_profile(10, one, 1);
	out = render(&fx.run, &default_opts);
	a = strstr(out, "\n======== PID 10: python3 a.py\n");
	b = strstr(out, "\n======== PID 20: python3 b.py\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_null(strstr(out, "namespace"));
	assert_non_null(strstr(out, "   1.  50.0%  a.py:1(f)  PID 10 (python3 a.py)  0.005 s, "
				    "1 call\n"
				    "   2.  50.0%  a.py:1(f)  PID 20 (python3 b.py)  0.005 s, "
				    "1 call\n"));
	free(out);
	fixture_free(&fx);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

/* --limit applies to each section's table. */
static void test_limit_per_section(void **state)
{
	struct hostreport_opts o = default_opts;
	struct fixture fx;
	char *out;

	(void)state;
	build_three(&fx);
	o.limit = 1;
	out = render(&fx.run, &o);
	assert_int_equal(count(out, "   List reduced from 3 to 1 due to restriction <1>\n"), 1);
	assert_int_equal(count(out, "   List reduced from 2 to 1 due to restriction <1>\n"), 1);
	assert_int_equal(count(out, "   ncalls  tottime"), 3);
	assert_null(strstr(out, "job.py:9(fact)\n")); /* its row is cut; the hot spots keep it */
	assert_non_null(strstr(out, three_hot));
	free(out);
	fixture_free(&fx);
}

/* Twelve functions over two processes: the ten with most own time, ranked. */
static void test_hot_spots_top_ten(void **state)
{
	struct fig many[11];
	static const struct fig big[] = { { "b.py", 1, "big", 2, 2, 11 * MS, 11 * MS } };
	char names[11][8];
	struct fixture fx;
	struct host_proc *hp;
	char *out, want[128];
	const char *hot;

	(void)state;
	for (int i = 0; i < 11; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i + 1);
		many[i] = (struct fig){ "m.py", i + 1, names[i], 1, 1, (uint64_t)(i + 1) * MS,
					(uint64_t)(i + 1) * MS };
	}
	fixture_init(&fx, false, 1);
	hp = fixture_proc(&fx, 300, "python3 m.py", 0, 1);
	hp->exact = exact_profile(300, many, 11);
	hp = fixture_proc(&fx, 200, "python3 b.py", 0, 1);
	hp->exact = exact_profile(200, big, 1);
	out = render(&fx.run, &default_opts);
	hot = strstr(out, "======== Hot spots across 2 processes\n"
			  "Own time (share of 0.077 s in all functions of all processes):\n");
	assert_non_null(hot);
	/* 11 ms twice: PID 200 first. Then 10 ms down to 3 ms; 2 and 1 ms are out. */
	assert_non_null(strstr(hot, "   1.  14.3%  b.py:1(big)  PID 200 (python3 b.py)  0.011 s, "
				    "2 calls\n"
				    "   2.  14.3%  m.py:11(f11)  PID 300 (python3 m.py)  0.011 s, "
				    "1 call\n"));
	for (int rank = 3; rank <= 10; rank++) {
		int ms = 13 - rank;

		snprintf(want, sizeof(want),
			 "  %2d. %5.1f%%  m.py:%d(f%d)  PID 300 (python3 m.py)  0.%03d s, 1 call\n",
			 rank, ms * 100.0 / 77, ms, ms, ms);
		assert_non_null(strstr(hot, want));
	}
	assert_null(strstr(hot, "(f2)"));
	assert_null(strstr(hot, "(f1)"));
	assert_null(strstr(hot, "  11. "));
	free(out);
	fixture_free(&fx);
}

/* Control characters, a newline and invalid UTF-8 from the target are
 * escaped everywhere: title, hot spots, refusals. */
static void test_escaping(void **state)
{
	static const struct fig evil[] = { { "e\x1b[31m.py", 1, "f\nx", 1, 1, MS, MS } };
	struct fixture fx;
	struct host_proc *hp;
	char *out;

	(void)state;
	fixture_init(&fx, false, 1);
	hp = fixture_proc(&fx, 77, "python3 \x1b[31mred\nx\xff\xfe \xc3\xa9t\xc3\xa9", 0, 1);
	hp->exact = exact_profile(77, evil, 1);
	fixture_refuse(&fx, 78, "py\tthon\x7f", "unsupported \x1b]0;title\x07 build");
	out = render(&fx.run, &default_opts);
	assert_non_null(strstr(out, "\n======== PID 77: python3 \\x1b[31mred\\nx\\xff\\xfe "
				    "\xc3\xa9t\xc3\xa9\n"));
	assert_non_null(strstr(out, "   1. 100.0%  e\\x1b[31m.py:1(f\\nx)  PID 77 (python3 "
				    "\\x1b[31mred\\nx\\xff\\xfe \xc3\xa9t\xc3\xa9)  "
				    "0.001 s, 1 call\n"));
	assert_non_null(strstr(out, "PID 78 (py\\tthon\\x7f): unsupported \\x1b]0;title\\x07 "
				    "build\n"));
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\x07'));
	assert_null(strchr(out, '\t'));
	assert_null(strchr(out, '\x7f'));
	assert_null(strstr(out, "\xff"));
	free(out);
	fixture_free(&fx);
}

/* Long commands are cut at a whole escape, with "...". */
static void test_command_cut(void **state)
{
	char cmd[HOST_CMDLINE_MAX], want[128];
	char *got;

	(void)state;
	memset(cmd, 'a', sizeof(cmd)); /* unterminated: read up to the array's size */
	got = host_command_for_print(cmd, 100);
	memset(want, 'a', 97);
	strcpy(want + 97, "...");
	assert_string_equal(got, want);
	free(got);

	memset(cmd, 'a', 95);
	strcpy(cmd + 95, "\x01\x01");
	got = host_command_for_print(cmd, 100); /* 95 + 8 escaped bytes: \x01 would pass 97 */
	memset(want, 'a', 95);
	strcpy(want + 95, "...");
	assert_string_equal(got, want);
	free(got);

	got = host_command_for_print("python3 a\x01.py", 100);
	assert_string_equal(got, "python3 a\\x01.py");
	free(got);
	got = host_command_for_print("", 100);
	assert_string_equal(got, "");
	free(got);
}

/* Sampling: the words change, sections are sreport's, hot spots count
 * own samples and their time. */
static void test_sampling(void **state)
{
	struct fixture fx;
	struct host_proc *hp;
	struct sample_profile *a, *b;
	size_t ta, tb, main_, spin6, spin7, w;
	char *out, *ra, *rb, *want;

	(void)state;
	fixture_init(&fx, true, 5);
	a = sampled_profile(50);
	ta = thread(a, 50, "MainThread");
	main_ = frame(a, "a.py", 1, "main", 2);
	spin6 = frame(a, "a.py", 5, "spin", 6);
	spin7 = frame(a, "a.py", 5, "spin", 7);
	{
		size_t s6[] = { main_, spin6 }, s7[] = { main_, spin7 }, m[] = { main_ };

		add(a, ta, s6, 2, false, CPU, 30, 300 * MS);
		add(a, ta, s7, 2, false, CPU, 10, 100 * MS);
		add(a, ta, m, 1, false, OFF, 20, 200 * MS);
	}
	b = sampled_profile(60);
	tb = thread(b, 61, "worker");
	w = frame(b, "b.py", 3, "w", 4);
	add(b, tb, &w, 1, false, CPU, 5, 50 * MS);
	hp = fixture_proc(&fx, 60, "python3 b.py", 0.5, 5);
	hp->sampled = b;
	hp = fixture_proc(&fx, 50, "python3 a.py", 0, 2);
	hp->end = HOST_PROC_EXITED;
	hp->sampled = a;
	fixture_refuse(&fx, 70, "python2 old.py", "not CPython 3.9 to 3.15");
	out = render(&fx.run, &default_opts);
	ra = render_sampled(a, &default_opts);
	rb = render_sampled(b, &default_opts);
	assert_true(asprintf(&want,
			     "Python processes sampled: 2 for 5.000 s, 1 not sampled\n"
			     "\n======== PID 50: python3 a.py\n"
			     "Sampled from 0.000 s to 2.000 s of the run (exited)\n%s"
			     "\n======== PID 60: python3 b.py\n"
			     "Sampled from 0.500 s to 5.000 s of the run\n%s"
			     "\n======== Hot spots across 2 processes\n"
			     "Own time (share of 0.650 s in all functions of all processes):\n"
			     "   1.  61.5%%  a.py:5(spin)  PID 50 (python3 a.py)  0.400 s, "
			     "40 samples\n"
			     "   2.  30.8%%  a.py:1(main)  PID 50 (python3 a.py)  0.200 s, "
			     "20 samples\n"
			     "   3.   7.7%%  b.py:3(w)  PID 60 (python3 b.py)  0.050 s, 5 samples\n"
			     "\n======== Not sampled (1)\n"
			     "PID 70 (python2 old.py): not CPython 3.9 to 3.15\n",
			     ra, rb) > 0);
	assert_string_equal(out, want);
	assert_true(line_matches(RE_TOP, out, NULL, 0));
	free(want);
	free(ra);
	free(rb);
	free(out);
	fixture_free(&fx);
}

/* Nothing traced: the summary, an empty hot-spot section, no Not-traced one. */
static void test_empty_run(void **state)
{
	struct fixture fx;
	char *out;

	(void)state;
	fixture_init(&fx, false, 2);
	out = render(&fx.run, &default_opts);
	assert_string_equal(out, "Python processes traced: 0 for 2.000 s, 0 not traced\n"
				 "\n======== Hot spots across 0 processes\n"
				 "No Python function had own time while traced.\n");
	free(out);
	fixture_free(&fx);
}

/* A process with no profile still has its section. */
static void test_no_profile(void **state)
{
	struct fixture fx;
	char *out;

	(void)state;
	fixture_init(&fx, false, 2);
	fixture_proc(&fx, 5, "", 0, 2);
	out = render(&fx.run, &default_opts);
	assert_non_null(strstr(out, "\n======== PID 5: [no command line]\n"
				    "Traced from 0.000 s to 2.000 s of the run\n"
				    "No profile was collected.\n"));
	free(out);
	fixture_free(&fx);
}

/* A stream that fails is an error: its own (/dev/full: ENOSPC), not EIO. */
static void test_write_error(void **state)
{
	struct fixture fx;
	FILE *full = fopen("/dev/full", "w");

	(void)state;
	if (!full)
		skip();
	setvbuf(full, NULL, _IONBF, 0);
	build_three(&fx);
	errno = 0;
	assert_int_equal(hostreport_print(full, &fx.run, &default_opts), -ENOSPC);
	fclose(full);
	fixture_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_text),
		cmocka_unit_test(test_regexes),
		cmocka_unit_test(test_coverage_words),
		cmocka_unit_test(test_ties_and_namespace),
		cmocka_unit_test(test_limit_per_section),
		cmocka_unit_test(test_hot_spots_top_ten),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_command_cut),
		cmocka_unit_test(test_sampling),
		cmocka_unit_test(test_empty_run),
		cmocka_unit_test(test_no_profile),
		cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
