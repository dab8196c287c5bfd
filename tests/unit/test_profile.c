// SPDX-License-Identifier: GPL-2.0-only
/* profile.c: interning labels, the hash index as it grows, merging figures
 * per function and per caller, totals, and invalid UTF-8 in labels. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

#define FFFD "\xef\xbf\xbd"

static struct pybpf_stats stats(uint64_t nc, uint64_t cc, uint64_t tt_ns, uint64_t ct_ns)
{
	return (struct pybpf_stats){ .ncalls = nc, .pcalls = cc, .tottime_ns = tt_ns,
				     .cumtime_ns = ct_ns };
}

static void expect_stats(const struct pybpf_stats *st, uint64_t nc, uint64_t cc, uint64_t tt,
			 uint64_t ct)
{
	assert_int_equal(st->ncalls, nc);
	assert_int_equal(st->pcalls, cc);
	assert_int_equal(st->tottime_ns, tt);
	assert_int_equal(st->cumtime_ns, ct);
}

/* ---- interning ---- */

static void test_intern_same_label(void **state)
{
	struct pybpf_profile p;
	long a, b;

	(void)state;
	profile_init(&p);
	assert_int_equal(profile_find(&p, "a.py", 1, "f"), -1); /* empty, no index yet */
	a = profile_intern(&p, "a.py", 1, "f");
	assert_int_equal(a, 0);
	b = profile_intern(&p, "a.py", 1, "f");
	assert_int_equal(b, a);
	assert_int_equal(p.nfuncs, 1);
	assert_string_equal(p.funcs[0].filename, "a.py");
	assert_string_equal(p.funcs[0].name, "f");
	assert_int_equal(p.funcs[0].firstlineno, 1);
	expect_stats(&p.funcs[0].st, 0, 0, 0, 0);
	assert_int_equal(p.funcs[0].ncallers, 0);
	assert_int_equal(profile_find(&p, "a.py", 1, "f"), 0);
	profile_free(&p);
}

static void test_intern_distinct_labels(void **state)
{
	static const struct {
		const char *file;
		int32_t line;
		const char *name;
	} labels[] = {
		{ "a.py", 1, "f" },
		{ "a.py", 2, "f" },  /* another line */
		{ "a.py", 1, "g" },  /* another name */
		{ "b.py", 1, "f" },  /* another file */
		{ "a.py", -1, "f" },
		{ "a.py", INT32_MAX, "f" },
		{ "a.py", INT32_MIN, "f" },
		{ "", 0, "" },
		{ "~", 0, "<built-in method len>" },
		{ "a.pyf", 1, "" }, /* the same characters split differently */
		{ "a.py", 1, "ff" },
	};
	const size_t n = sizeof(labels) / sizeof(labels[0]);
	struct pybpf_profile p;

	(void)state;
	profile_init(&p);
	for (size_t round = 0; round < 2; round++) {
		for (size_t i = 0; i < n; i++) {
			long idx = profile_intern(&p, labels[i].file, labels[i].line,
						  labels[i].name);

			assert_int_equal(idx, (long)i);
		}
		assert_int_equal(p.nfuncs, n);
	}
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(profile_find(&p, labels[i].file, labels[i].line, labels[i].name),
				 (long)i);
		assert_string_equal(p.funcs[i].filename, labels[i].file);
		assert_string_equal(p.funcs[i].name, labels[i].name);
		assert_int_equal(p.funcs[i].firstlineno, labels[i].line);
	}
	assert_int_equal(profile_find(&p, "a.py", 3, "f"), -1);
	assert_int_equal(profile_find(&p, "c.py", 1, "f"), -1);
	assert_int_equal(profile_find(&p, "a.py", 1, "h"), -1);
	profile_free(&p);
}

/* The profile keeps its own copies of the strings. */
static void test_intern_copies(void **state)
{
	char file[] = "/app/x.py", name[] = "run";
	struct pybpf_profile p;

	(void)state;
	profile_init(&p);
	assert_int_equal(profile_intern(&p, file, 5, name), 0);
	assert_ptr_not_equal(p.funcs[0].filename, file);
	assert_ptr_not_equal(p.funcs[0].name, name);
	file[1] = 'X';
	name[0] = 'R';
	assert_string_equal(p.funcs[0].filename, "/app/x.py");
	assert_string_equal(p.funcs[0].name, "run");
	assert_int_equal(profile_find(&p, "/app/x.py", 5, "run"), 0);
	assert_int_equal(profile_find(&p, file, 5, name), -1);
	profile_free(&p);
}

/* Past 1000 entries the function array and the index grow several times;
 * every label must still be found at its insertion index. */
static void test_growth(void **state)
{
	enum { N = 5000 };
	struct pybpf_profile p;
	char file[64], name[64];

	(void)state;
	profile_init(&p);
	for (int i = 0; i < N; i++) {
		snprintf(file, sizeof(file), "/src/mod%d.py", i % 37);
		snprintf(name, sizeof(name), "fn_%d", i / 3);
		assert_int_equal(profile_intern(&p, file, i, name), i);
		if (i == 999 || i == 1000 || i == 1001)
			assert_int_equal(profile_find(&p, file, i, name), i);
	}
	assert_int_equal(p.nfuncs, N);
	assert_true(p.cap >= N);
	assert_true(p.index.cap >= 2 * N);
	assert_int_equal(p.index.cap & (p.index.cap - 1), 0); /* a power of 2 */
	for (int i = N - 1; i >= 0; i--) {
		snprintf(file, sizeof(file), "/src/mod%d.py", i % 37);
		snprintf(name, sizeof(name), "fn_%d", i / 3);
		assert_int_equal(profile_find(&p, file, i, name), i);
		assert_int_equal(profile_intern(&p, file, i, name), i);
		assert_string_equal(p.funcs[i].filename, file);
		assert_string_equal(p.funcs[i].name, name);
		assert_int_equal(p.funcs[i].firstlineno, i);
		/* The same name and file on another line is not there. */
		assert_int_equal(profile_find(&p, file, i + N, name), -1);
	}
	assert_int_equal(p.nfuncs, N);
	/* Occupied index slots: exactly one per function. */
	size_t used = 0;
	for (size_t s = 0; s < p.index.cap; s++) {
		if (p.index.slots[s]) {
			assert_true(p.index.slots[s] <= N);
			used++;
		}
	}
	assert_int_equal(used, N);
	profile_free(&p);
}

/* ---- figures ---- */

static void test_add_merges(void **state)
{
	struct pybpf_profile p;
	struct pybpf_stats a = stats(1, 1, 100, 200), b = stats(4, 2, 1000, 3000);
	long f, g;

	(void)state;
	profile_init(&p);
	f = profile_intern(&p, "a.py", 1, "f");
	g = profile_intern(&p, "a.py", 9, "g");
	profile_add(&p, (size_t)f, &a);
	profile_add(&p, (size_t)f, &b);
	profile_add(&p, (size_t)g, &a);
	expect_stats(&p.funcs[f].st, 5, 3, 1100, 3200);
	expect_stats(&p.funcs[g].st, 1, 1, 100, 200);
	/* Interning again keeps the figures. */
	assert_int_equal(profile_intern(&p, "a.py", 1, "f"), f);
	expect_stats(&p.funcs[f].st, 5, 3, 1100, 3200);

	assert_int_equal(profile_total_calls(&p), 6);
	assert_int_equal(profile_prim_calls(&p), 4);
	assert_int_equal(profile_total_tt_ns(&p), 1200);
	profile_free(&p);
}

static void test_stats_add(void **state)
{
	struct pybpf_stats d = stats(1, 2, 3, 4), s = stats(10, 20, 30, 40);

	(void)state;
	d.offcpu_ns = 2;
	s.offcpu_ns = 25;
	stats_add(&d, &s);
	expect_stats(&d, 11, 22, 33, 44);
	assert_int_equal(d.offcpu_ns, 27);
	expect_stats(&s, 10, 20, 30, 40);
	assert_int_equal(s.offcpu_ns, 25);
}

/* Off-CPU time adds up per function and per caller, like the other figures. */
static void test_add_offcpu(void **state)
{
	struct pybpf_profile p;
	struct pybpf_stats a = stats(1, 1, 100, 200), b = stats(2, 2, 50, 50);
	long f, g;

	(void)state;
	a.offcpu_ns = 60;
	b.offcpu_ns = 1ull << 40;
	profile_init(&p);
	f = profile_intern(&p, "a.py", 1, "f");
	g = profile_intern(&p, "a.py", 2, "g");
	profile_add(&p, (size_t)f, &a);
	profile_add(&p, (size_t)f, &b);
	assert_int_equal(p.funcs[f].st.offcpu_ns, (1ull << 40) + 60);
	assert_int_equal(p.funcs[g].st.offcpu_ns, 0);
	assert_int_equal(profile_add_caller(&p, (size_t)f, (size_t)g, &a), 0);
	assert_int_equal(profile_add_caller(&p, (size_t)f, (size_t)g, &a), 0);
	assert_int_equal(p.funcs[f].callers[0].st.offcpu_ns, 120);
	profile_free(&p);
}

/* ---- latency histograms ---- */

static void test_add_latency(void **state)
{
	struct pybpf_profile p;
	uint64_t one[PYBPF_HIST_SLOTS] = { 0 }, two[PYBPF_HIST_SLOTS] = { 0 };
	long f, g, h;

	(void)state;
	one[0] = 1;
	one[10] = 5;
	one[PYBPF_HIST_SLOTS - 1] = 2;
	two[10] = 7;
	two[11] = 1ull << 50;
	profile_init(&p);
	f = profile_intern(&p, "a.py", 1, "f");
	g = profile_intern(&p, "a.py", 2, "g");
	assert_null(p.funcs[f].latency);
	assert_int_equal(profile_add_latency(&p, (size_t)f, one), 0);
	assert_non_null(p.funcs[f].latency);
	assert_null(p.funcs[g].latency);
	assert_int_equal(profile_add_latency(&p, (size_t)f, two), 0);
	assert_int_equal(profile_add_latency(&p, (size_t)g, two), 0);
	for (size_t k = 0; k < PYBPF_HIST_SLOTS; k++) {
		assert_int_equal(p.funcs[f].latency[k], one[k] + two[k]);
		assert_int_equal(p.funcs[g].latency[k], two[k]);
	}
	/* The input is not kept: changing it changes nothing. */
	two[10] = 0;
	assert_int_equal(p.funcs[g].latency[10], 7);
	/* Entries added later start without a histogram, and the histograms
	 * survive the growth of the entry array. */
	for (int i = 0; i < 300; i++) {
		char name[16];

		snprintf(name, sizeof(name), "n%d", i);
		h = profile_intern(&p, "b.py", i, name);
		assert_true(h >= 0);
		assert_null(p.funcs[h].latency);
	}
	assert_int_equal(p.funcs[f].latency[10], 12);
	assert_int_equal(p.funcs[f].latency[PYBPF_HIST_SLOTS - 1], 2);
	profile_free(&p);
	assert_null(p.funcs);
}

static void test_add_caller(void **state)
{
	struct pybpf_profile p;
	struct pybpf_stats one = stats(1, 1, 10, 20), two = stats(2, 1, 5, 7);
	size_t callee, callers[7];
	char name[16];

	(void)state;
	profile_init(&p);
	callee = (size_t)profile_intern(&p, "a.py", 1, "callee");
	for (size_t i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "caller%zu", i);
		callers[i] = (size_t)profile_intern(&p, "b.py", (int32_t)i, name);
	}
	/* Seven callers (past the first allocation of 4), in first-seen order. */
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(profile_add_caller(&p, callee, callers[6 - i], &one), 0);
	/* Merged into the existing entries, in any order. */
	assert_int_equal(profile_add_caller(&p, callee, callers[3], &two), 0);
	assert_int_equal(profile_add_caller(&p, callee, callers[6], &two), 0);
	assert_int_equal(profile_add_caller(&p, callee, callers[3], &one), 0);
	/* A function may be its own caller (recursion). */
	assert_int_equal(profile_add_caller(&p, callee, callee, &two), 0);

	struct pybpf_func *f = &p.funcs[callee];
	assert_int_equal(f->ncallers, 8);
	assert_true(f->callers_cap >= 8);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(f->callers[i].func, callers[6 - i]);
	assert_int_equal(f->callers[7].func, callee);
	expect_stats(&f->callers[0].st, 3, 2, 15, 27);  /* caller6: one + two */
	expect_stats(&f->callers[3].st, 4, 3, 25, 47);  /* caller3: one + two + one */
	expect_stats(&f->callers[1].st, 1, 1, 10, 20);
	expect_stats(&f->callers[7].st, 2, 1, 5, 7);
	/* Caller figures do not touch the function's own figures or totals. */
	expect_stats(&f->st, 0, 0, 0, 0);
	assert_int_equal(profile_total_calls(&p), 0);
	/* Nor the callers' own caller lists. */
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(p.funcs[callers[i]].ncallers, 0);
	profile_free(&p);
}

static void test_totals(void **state)
{
	struct pybpf_profile p;
	struct pybpf_stats st;

	(void)state;
	profile_init(&p);
	assert_int_equal(profile_total_calls(&p), 0);
	assert_int_equal(profile_prim_calls(&p), 0);
	assert_int_equal(profile_total_tt_ns(&p), 0);
	for (int i = 0; i < 10; i++) {
		long f = profile_intern(&p, "t.py", i, "f");

		st = stats((uint64_t)i * 3, (uint64_t)i, 1000000ull * (uint64_t)i, 7);
		profile_add(&p, (size_t)f, &st);
	}
	assert_int_equal(profile_total_calls(&p), 135);
	assert_int_equal(profile_prim_calls(&p), 45);
	assert_int_equal(profile_total_tt_ns(&p), 45000000);
	/* Large figures add without loss. */
	st = stats(1ull << 40, 1ull << 39, 1ull << 62, 0);
	profile_add(&p, 0, &st);
	assert_int_equal(profile_total_calls(&p), (1ull << 40) + 135);
	assert_int_equal(profile_prim_calls(&p), (1ull << 39) + 45);
	assert_int_equal(profile_total_tt_ns(&p), (1ull << 62) + 45000000);
	profile_free(&p);
	/* profile_free leaves an empty profile that can be used again. */
	assert_int_equal(p.nfuncs, 0);
	assert_null(p.funcs);
	assert_null(p.index.slots);
	assert_int_equal(profile_intern(&p, "again.py", 1, "f"), 0);
	assert_int_equal(profile_find(&p, "t.py", 1, "f"), -1);
	profile_free(&p);
}

/* ---- UTF-8 ---- */

static void test_invalid_utf8_label(void **state)
{
	struct pybpf_profile p;
	long a, b;

	(void)state;
	profile_init(&p);
	a = profile_intern(&p, "/tmp/\xff.py", 3, "f\xc3");
	assert_int_equal(a, 0);
	assert_string_equal(p.funcs[0].filename, "/tmp/" FFFD ".py");
	assert_string_equal(p.funcs[0].name, "f" FFFD);
	/* The same bytes again: the same entry. */
	b = profile_intern(&p, "/tmp/\xff.py", 3, "f\xc3");
	assert_int_equal(b, a);
	/* The entry is found by its cleaned label. */
	assert_int_equal(profile_find(&p, "/tmp/" FFFD ".py", 3, "f" FFFD), a);
	/* Other bad bytes clean to the same label: the same entry. */
	assert_int_equal(profile_intern(&p, "/tmp/\xfe.py", 3, "f\x80"), a);
	/* Valid multi-byte labels are kept as they are. */
	assert_int_equal(profile_intern(&p, "/tmp/\xc3\xa4.py", 3, "\xe2\x82\xac"), 1);
	assert_string_equal(p.funcs[1].filename, "/tmp/\xc3\xa4.py");
	assert_string_equal(p.funcs[1].name, "\xe2\x82\xac");
	/* Bad bytes in each: one U+FFFD per byte. */
	assert_int_equal(profile_intern(&p, "\xed\xa0\x80", 0, "\xc0\xaf"), 2);
	assert_string_equal(p.funcs[2].filename, FFFD FFFD FFFD);
	assert_string_equal(p.funcs[2].name, FFFD FFFD);
	assert_int_equal(p.nfuncs, 3);
	profile_free(&p);
}

/* More failed reads than calls, out of 100 events or more. */
static void test_mostly_unread(void **state)
{
	struct pybpf_stats st = { .ncalls = 60, .pcalls = 60 };
	struct pybpf_profile p;

	(void)state;
	profile_init(&p);
	assert_false(profile_mostly_unread(&p)); /* nothing at all */
	p.losses.read_errors = 100;
	assert_true(profile_mostly_unread(&p));
	p.losses.read_errors = 99;
	assert_false(profile_mostly_unread(&p)); /* too few events to tell */
	profile_add(&p, (size_t)profile_intern(&p, "a.py", 1, "f"), &st);
	p.losses.read_errors = 61;
	assert_true(profile_mostly_unread(&p));
	p.losses.read_errors = 60;
	assert_false(profile_mostly_unread(&p)); /* as many counted as failed */
	profile_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intern_same_label),
		cmocka_unit_test(test_intern_distinct_labels),
		cmocka_unit_test(test_intern_copies),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_add_merges),
		cmocka_unit_test(test_stats_add),
		cmocka_unit_test(test_add_offcpu),
		cmocka_unit_test(test_add_latency),
		cmocka_unit_test(test_add_caller),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_invalid_utf8_label),
		cmocka_unit_test(test_mostly_unread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
