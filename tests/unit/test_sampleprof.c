// SPDX-License-Identifier: GPL-2.0-only
/* sampleprof.c: interning frames and threads, merging stacks, totals, the
 * per-thread order; sample_pstats.c: the cProfile-style figures of a sampled
 * profile, and the pstats file it gives loaded by Python's own pstats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "profile.h"
#include "pstats.h"
#include "sample_pstats.h"
#include "sampleprof.h"
#include "sampleprof_fixture.h"

#define FFFD "\xef\xbf\xbd"
#define PYTHON "/usr/bin/python3"
#define DIR_MAX 1024
#define CPU PYBPF_SAMPLE_CPU
#define OFF PYBPF_SAMPLE_OFFCPU

/* ---- frames ---- */

static void test_frame_interning(void **state)
{
	struct sample_profile p;
	size_t a, b, c, d, e;

	(void)state;
	sample_profile_init(&p);
	a = frame(&p, "a.py", 1, "f", 3);
	b = frame(&p, "a.py", 1, "f", 4);   /* another line of f */
	c = frame(&p, "a.py", 2, "f", 3);   /* another function */
	d = frame(&p, "b.py", 1, "f", 3);
	e = frame(&p, "a.py", 1, "g", 3);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(c, 2);
	assert_int_equal(d, 3);
	assert_int_equal(e, 4);
	assert_int_equal(frame(&p, "a.py", 1, "f", 4), b);
	assert_int_equal(frame(&p, "a.py", 1, "f", 3), a);
	assert_int_equal(p.nframes, 5);
	assert_string_equal(p.frames[b].filename, "a.py");
	assert_string_equal(p.frames[b].name, "f");
	assert_int_equal(p.frames[b].firstlineno, 1);
	assert_int_equal(p.frames[b].line, 4);
	sample_profile_free(&p);
	assert_int_equal(p.nframes, 0);
	assert_null(p.frames);
}

/* Past several index growths every frame is still found at its index. */
static void test_frame_index_grows(void **state)
{
	struct sample_profile p;
	char name[32];

	(void)state;
	sample_profile_init(&p);
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "f%d", i / 3);
		assert_int_equal(frame(&p, "m.py", i / 3, name, i % 3), (size_t)i);
	}
	for (int i = 2999; i >= 0; i--) {
		snprintf(name, sizeof(name), "f%d", i / 3);
		assert_int_equal(frame(&p, "m.py", i / 3, name, i % 3), (size_t)i);
	}
	assert_int_equal(p.nframes, 3000);
	assert_true(p.frame_index.cap >= 2 * p.nframes);
	sample_profile_free(&p);
}

static void test_frame_invalid_utf8(void **state)
{
	struct sample_profile p;
	size_t a;

	(void)state;
	sample_profile_init(&p);
	a = frame(&p, "/tmp/\xff.py", 1, "f\xc3", 2);
	assert_string_equal(p.frames[a].filename, "/tmp/" FFFD ".py");
	assert_string_equal(p.frames[a].name, "f" FFFD);
	/* The same label, sanitized, is the same frame. */
	assert_int_equal(frame(&p, "/tmp/" FFFD ".py", 1, "f" FFFD, 2), a);
	sample_profile_free(&p);
}

/* ---- threads ---- */

static void test_threads(void **state)
{
	struct sample_profile p;
	char long_name[100];

	(void)state;
	sample_profile_init(&p);
	assert_int_equal(thread(&p, 100, "MainThread"), 0);
	assert_int_equal(thread(&p, 101, NULL), 1);
	assert_int_equal(thread(&p, 100, "other"), 0); /* the first name stays */
	assert_string_equal(p.threads[0].name, "MainThread");
	assert_string_equal(p.threads[1].name, "");
	assert_int_equal(thread(&p, 101, "worker"), 1); /* a nameless thread takes one */
	assert_string_equal(p.threads[1].name, "worker");
	assert_int_equal(p.threads[1].tid, 101);
	/* Invalid UTF-8 replaced; a long name cut before a split character. */
	assert_int_equal(thread(&p, 102, "t\x80"), 2);
	assert_string_equal(p.threads[2].name, "t" FFFD);
	memset(long_name, 'x', 62);
	strcpy(long_name + 62, "\xc3\xa4tail");
	assert_int_equal(thread(&p, 103, long_name), 3);
	assert_int_equal(strlen(p.threads[3].name), 62);
	assert_int_equal(p.nthreads, 4);
	for (uint32_t tid = 200; tid < 300; tid++)
		assert_int_equal(thread(&p, tid, "t"), tid - 196);
	assert_int_equal(thread(&p, 250, NULL), 54);
	sample_profile_free(&p);
}

/* ---- stacks ---- */

/* "Most samples failed": more lost than recorded, out of 20 or more, or
 * nothing recorded at all; a few lost in a large run are nothing to say. */
static void test_mostly_lost(void **state)
{
	struct sample_profile p;
	size_t t0, f;

	(void)state;
	sample_profile_init(&p);
	assert_false(sample_profile_mostly_lost(&p)); /* nothing at all */
	p.losses.no_tstate = 1;
	assert_true(sample_profile_mostly_lost(&p)); /* none recorded */
	t0 = thread(&p, 1, "main");
	f = frame(&p, "a.py", 1, "f", 2);
	assert_int_equal(sample_profile_add(&p, t0, &f, 1, false, PYBPF_SAMPLE_CPU, 9, 90), 0);
	p.losses.no_tstate = 6, p.losses.read_errors = 4;
	assert_false(sample_profile_mostly_lost(&p)); /* 10 > 9, but only 19 samples */
	p.losses.read_errors = 5;
	assert_true(sample_profile_mostly_lost(&p)); /* 11 > 9 of 20 */
	assert_int_equal(sample_profile_add(&p, t0, &f, 1, false, PYBPF_SAMPLE_OFFCPU, 2, 90), 0);
	assert_false(sample_profile_mostly_lost(&p)); /* 11 of 22: not more than recorded */
	p.losses.stacks_full = 100; /* full maps are reported, not a layout problem */
	assert_false(sample_profile_mostly_lost(&p));
	sample_profile_free(&p);
}

static void test_stack_merging(void **state)
{
	struct sample_profile p;
	size_t t0, t1, f, g, h;

	(void)state;
	sample_profile_init(&p);
	t0 = thread(&p, 1, "main");
	t1 = thread(&p, 2, "worker");
	f = frame(&p, "a.py", 1, "f", 2);
	g = frame(&p, "a.py", 5, "g", 6);
	h = frame(&p, "a.py", 5, "g", 7);
	size_t fg[] = { f, g }, fh[] = { f, h }, gf[] = { g, f };

	assert_int_equal(sample_profile_add(&p, t0, fg, 2, false, CPU, 3, 30), 0);
	assert_int_equal(sample_profile_add(&p, t0, fg, 2, false, CPU, 2, 20), 0);
	assert_int_equal(sample_profile_add(&p, t0, fg, 2, false, OFF, 1, 1000), 0);
	assert_int_equal(p.nstacks, 1);
	/* Another thread, line, order, depth or truncation: distinct stacks. */
	assert_int_equal(sample_profile_add(&p, t1, fg, 2, false, CPU, 1, 10), 0);
	assert_int_equal(sample_profile_add(&p, t0, fh, 2, false, CPU, 1, 10), 0);
	assert_int_equal(sample_profile_add(&p, t0, gf, 2, false, CPU, 1, 10), 0);
	assert_int_equal(sample_profile_add(&p, t0, fg, 1, false, CPU, 1, 10), 0);
	assert_int_equal(sample_profile_add(&p, t0, fg, 2, true, CPU, 1, 10), 0);
	assert_int_equal(sample_profile_add(&p, t0, NULL, 0, false, OFF, 4, 40), 0);
	assert_int_equal(sample_profile_add(&p, t0, NULL, 0, false, OFF, 1, 10), 0);
	assert_int_equal(p.nstacks, 7);

	const struct sample_stack *s = &p.stacks[0];
	assert_int_equal(s->thread, t0);
	assert_int_equal(s->nframes, 2);
	assert_int_equal(s->frames[0], f);
	assert_int_equal(s->frames[1], g);
	assert_false(s->truncated);
	assert_int_equal(s->samples[CPU], 5);
	assert_int_equal(s->ns[CPU], 50);
	assert_int_equal(s->samples[OFF], 1);
	assert_int_equal(s->ns[OFF], 1000);
	assert_true(p.stacks[5].truncated);
	assert_int_equal(p.stacks[6].nframes, 0);
	assert_int_equal(p.stacks[6].samples[OFF], 5);
	assert_int_equal(p.stacks[6].ns[OFF], 50);
	/* The caller's array was copied. */
	fg[1] = h;
	assert_int_equal(p.stacks[0].frames[1], g);

	assert_int_equal(sample_profile_total(&p, CPU), 10);
	assert_int_equal(sample_profile_total(&p, OFF), 6);
	assert_int_equal(sample_profile_total(&p, -1), 16);
	assert_int_equal(sample_profile_total(&p, PYBPF_SAMPLE_KINDS), 0);
	sample_profile_free(&p);
}

static void test_stack_invalid(void **state)
{
	struct sample_profile p;
	size_t f, bad[] = { 0, 7 };

	(void)state;
	sample_profile_init(&p);
	assert_int_equal(sample_profile_add(&p, 0, NULL, 0, false, CPU, 1, 1), -EINVAL);
	thread(&p, 1, "main");
	f = frame(&p, "a.py", 1, "f", 1);
	assert_int_equal(sample_profile_add(&p, 1, &f, 1, false, CPU, 1, 1), -EINVAL);
	assert_int_equal(sample_profile_add(&p, 0, bad, 2, false, CPU, 1, 1), -EINVAL);
	assert_int_equal(sample_profile_add(&p, 0, &f, 1, false, PYBPF_SAMPLE_KINDS, 1, 1),
			 -EINVAL);
	assert_int_equal(sample_profile_add(&p, 0, NULL, 1, false, CPU, 1, 1), -EINVAL);
	assert_int_equal(p.nstacks, 0);
	assert_int_equal(sample_profile_total(&p, -1), 0);
	sample_profile_free(&p);
}

/* 50k distinct stacks (the sampler's scale) across index growths, each added
 * twice: every one merged with its twin. */
static void test_many_stacks(void **state)
{
	enum { N = 50000, DEPTH = 5 };
	struct sample_profile p;
	size_t frames[DEPTH];

	(void)state;
	sample_profile_init(&p);
	thread(&p, 1, "a");
	thread(&p, 2, "b");
	for (int i = 0; i < 64; i++)
		frame(&p, "m.py", i, "f", i);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < N; i++) {
			size_t v = i / 2;

			for (int d = 0; d < DEPTH; d++, v /= 64)
				frames[d] = v % 64;
			assert_int_equal(sample_profile_add(&p, i % 2, frames, DEPTH, false,
							    round ? OFF : CPU, 1, i), 0);
		}
	}
	assert_int_equal(p.nstacks, N);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(p.stacks[i].thread, i % 2);
		assert_int_equal(p.stacks[i].samples[CPU], 1);
		assert_int_equal(p.stacks[i].samples[OFF], 1);
		assert_int_equal(p.stacks[i].ns[OFF], i);
	}
	assert_int_equal(sample_profile_total(&p, -1), 2 * N);
	sample_profile_free(&p);
}

static void test_stacks_by_thread(void **state)
{
	struct sample_profile p;
	size_t f[3], *order;
	static const size_t expected[] = { 1, 4, 0, 3, 5, 2 };

	(void)state;
	sample_profile_init(&p);
	order = sample_profile_stacks_by_thread(&p);
	assert_non_null(order);
	free(order);
	thread(&p, 10, "x");
	thread(&p, 20, "y");
	thread(&p, 30, "z");
	for (int i = 0; i < 3; i++)
		f[i] = frame(&p, "a.py", i, "f", i);
	/* Stacks 0..5 of threads 1, 0, 2, 1, 0, 1. */
	static const size_t owner[] = { 1, 0, 2, 1, 0, 1 };
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(sample_profile_add(&p, owner[i], f, i % 3 + 1, i > 2, CPU, 1, 1),
				 0);
	order = sample_profile_stacks_by_thread(&p);
	assert_non_null(order);
	assert_memory_equal(order, expected, sizeof(expected));
	free(order);
	sample_profile_free(&p);
}

/* ---- as cProfile figures (sample_pstats.c) ---- */

/* Recursion (fib under fib), a pair repeated in one stack, recursion across
 * functions (g -> fib -> g), both kinds in one stack, a truncated stack and
 * an empty one. */
static void build_for_pstats(struct sample_profile *sp)
{
	size_t t0, t1, m, f5, f6, g;

	sample_profile_init(sp);
	sp->pid = 77;
	snprintf(sp->python_version, sizeof(sp->python_version), "3.11.2");
	snprintf(sp->binary, sizeof(sp->binary), "/usr/bin/python3.11");
	snprintf(sp->build, sizeof(sp->build), "static");
	sp->wall_seconds = 2.5;
	t0 = thread(sp, 1, "main");
	t1 = thread(sp, 2, "worker");
	m = frame(sp, "main.py", 1, "<module>", 10);
	f5 = frame(sp, "main.py", 3, "fib", 5);
	f6 = frame(sp, "main.py", 3, "fib", 6);
	g = frame(sp, "main.py", 20, "g", 21);
	size_t s0[] = { m, f5, f5, f6 }, s1[] = { m, g }, s2[] = { f5, g }, s4[] = { g, f5, g };

	assert_int_equal(sample_profile_add(sp, t0, s0, 4, false, CPU, 4, 40), 0);
	assert_int_equal(sample_profile_add(sp, t0, s0, 4, false, OFF, 1, 1000), 0);
	assert_int_equal(sample_profile_add(sp, t1, s1, 2, false, OFF, 2, 500), 0);
	assert_int_equal(sample_profile_add(sp, t0, s2, 2, true, CPU, 1, 10), 0);
	assert_int_equal(sample_profile_add(sp, t0, NULL, 0, false, CPU, 3, 30), 0);
	assert_int_equal(sample_profile_add(sp, t1, s4, 3, false, CPU, 1, 10), 0);
}

static void expect(const struct pybpf_stats *st, uint64_t samples, uint64_t tt, uint64_t ct,
		   uint64_t off)
{
	assert_int_equal(st->ncalls, samples);
	assert_int_equal(st->pcalls, samples);
	assert_int_equal(st->tottime_ns, tt);
	assert_int_equal(st->cumtime_ns, ct);
	assert_int_equal(st->offcpu_ns, off);
}

static const struct pybpf_caller *caller_of(const struct pybpf_profile *p, size_t callee,
					    size_t caller)
{
	for (size_t i = 0; i < p->funcs[callee].ncallers; i++) {
		if (p->funcs[callee].callers[i].func == caller)
			return &p->funcs[callee].callers[i];
	}
	fail_msg("%zu has no caller %zu", callee, caller);
	return NULL;
}

static void test_to_profile(void **state)
{
	struct sample_profile sp;
	struct pybpf_profile p;
	long m, f, g;

	(void)state;
	build_for_pstats(&sp);
	assert_int_equal(sample_profile_to_profile(&sp, &p), 0);
	assert_int_equal(p.nfuncs, 3);
	m = profile_find(&p, "main.py", 1, "<module>");
	f = profile_find(&p, "main.py", 3, "fib");
	g = profile_find(&p, "main.py", 20, "g");
	assert_int_equal(m, 0);
	assert_int_equal(f, 1);
	assert_int_equal(g, 2);
	expect(&p.funcs[m].st, 7, 0, 1540, 0);
	expect(&p.funcs[f].st, 7, 1040, 1060, 1000);
	expect(&p.funcs[g].st, 4, 520, 520, 500);
	assert_int_equal(p.funcs[m].ncallers, 0);
	assert_int_equal(p.funcs[f].ncallers, 3);
	expect(&caller_of(&p, f, m)->st, 5, 0, 1040, 0);
	expect(&caller_of(&p, f, f)->st, 5, 1040, 1040, 1000);
	expect(&caller_of(&p, f, g)->st, 1, 0, 10, 0);
	assert_int_equal(p.funcs[g].ncallers, 2);
	expect(&caller_of(&p, g, m)->st, 2, 500, 500, 500);
	expect(&caller_of(&p, g, f)->st, 2, 20, 20, 0);
	/* Own time adds up to the time of every stack with a frame. */
	assert_int_equal(profile_total_tt_ns(&p), 1560);
	assert_int_equal(p.pid, 77);
	assert_string_equal(p.python_version, "3.11.2");
	assert_string_equal(p.binary, "/usr/bin/python3.11");
	assert_string_equal(p.build, "static");
	assert_string_equal(p.backend, "sampling");
	assert_true(p.wall_seconds == 2.5);
	profile_free(&p);
	sample_profile_free(&sp);
}

static void test_to_profile_empty(void **state)
{
	struct sample_profile sp;
	struct pybpf_profile p;

	(void)state;
	sample_profile_init(&sp);
	thread(&sp, 1, "main");
	frame(&sp, "a.py", 1, "unused", 1);
	assert_int_equal(sample_profile_add(&sp, 0, NULL, 0, false, OFF, 5, 50), 0);
	assert_int_equal(sample_profile_to_profile(&sp, &p), 0);
	assert_int_equal(p.nfuncs, 0); /* a frame in no stack makes no entry */
	profile_free(&p);
	sample_profile_free(&sp);
}

/* The file pstats_write_file makes of it, as Python's pstats loads it. */
static const char pstats_check[] =
	"import io, pstats, sys\n"
	"def t(ns): return ns / 1e9\n"
	"M = ('main.py', 1, '<module>')\n"
	"F = ('main.py', 3, 'fib')\n"
	"G = ('main.py', 20, 'g')\n"
	"exp = {\n"
	"    M: (7, 7, t(0), t(1540), {}),\n"
	"    F: (7, 7, t(1040), t(1060),\n"
	"        {M: (5, 5, t(0), t(1040)), F: (5, 5, t(1040), t(1040)), G: (1, 1, t(0), t(10))}),\n"
	"    G: (4, 4, t(520), t(520), {M: (2, 2, t(500), t(500)), F: (2, 2, t(20), t(20))}),\n"
	"}\n"
	"out = io.StringIO()\n"
	"st = pstats.Stats(sys.argv[1], stream=out)\n"
	"st.sort_stats('cumulative').print_stats()\n"
	"st.print_callers()\n"
	"st.print_callees()\n"
	"ok = st.stats == exp and st.total_calls == 18 and st.prim_calls == 18\n"
	"ok = ok and st.total_tt == t(0) + t(1040) + t(520)\n"
	"if not ok:\n"
	"    print('got', st.stats, 'expected', exp, sep='\\n', file=sys.stderr)\n"
	"sys.exit(0 if ok else 1)\n";

static void test_to_profile_python_pstats(void **state)
{
	char dir[DIR_MAX], script[PATH_MAX], prof[PATH_MAX], cmd[3 * PATH_MAX];
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct sample_profile sp;
	struct pybpf_profile p;
	FILE *f;
	int status;

	(void)state;
	if (access(PYTHON, X_OK)) {
		print_message("skipped: no %s to load the pstats file\n", PYTHON);
		skip();
	}
	assert_true((size_t)snprintf(dir, sizeof(dir), "%s/test_sampleprof.XXXXXX", base) <
		    sizeof(dir));
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/check.py", dir);
	snprintf(prof, sizeof(prof), "%s/out.prof", dir);
	f = fopen(script, "w");
	assert_non_null(f);
	assert_true(fputs(pstats_check, f) >= 0);
	assert_int_equal(fclose(f), 0);
	build_for_pstats(&sp);
	assert_int_equal(sample_profile_to_profile(&sp, &p), 0);
	assert_int_equal(pstats_write_file(&p, prof), 0);
	snprintf(cmd, sizeof(cmd), "%s -I '%s' '%s'", PYTHON, script, prof);
	status = system(cmd);
	assert_true(status != -1 && WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(unlink(script), 0);
	assert_int_equal(unlink(prof), 0);
	assert_int_equal(rmdir(dir), 0);
	profile_free(&p);
	sample_profile_free(&sp);
}

static void test_mode_names(void **state)
{
	(void)state;
	assert_string_equal(sample_mode_name(SAMPLE_MODE_CPU), "cpu");
	assert_string_equal(sample_mode_name(SAMPLE_MODE_OFFCPU), "offcpu");
	assert_string_equal(sample_mode_name(SAMPLE_MODE_WALL), "wall");
	assert_string_equal(sample_mode_name((enum sample_mode)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_interning),
		cmocka_unit_test(test_frame_index_grows),
		cmocka_unit_test(test_frame_invalid_utf8),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_stack_merging),
		cmocka_unit_test(test_mostly_lost),
		cmocka_unit_test(test_stack_invalid),
		cmocka_unit_test(test_many_stacks),
		cmocka_unit_test(test_stacks_by_thread),
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_to_profile),
		cmocka_unit_test(test_to_profile_empty),
		cmocka_unit_test(test_to_profile_python_pstats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
