// SPDX-License-Identifier: GPL-2.0-only
/* aggregate.c: per-CPU sums, cProfile's pcalls, and closing the calls still
 * active at detach exactly as cProfile's Stop() closes a call:
 *   tt = now - t0; it = tt - subt; caller.subt += tt;
 *   callcount++, inlinetime += it; totaltime += tt only for the outermost
 *   activation, reccallcount++ for the others (same for the caller pair). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"

static const struct pybpf_func_key key_main = { .name_tag = 0x7f0000001000,
						  .file_tag = 0x7f0000002000, .pid = 42,
						  .firstlineno = 1 };
static const struct pybpf_func_key key_f = { .name_tag = 0x7f0000001100,
					       .file_tag = 0x7f0000002100, .pid = 42,
					       .firstlineno = 10 };
static const struct pybpf_func_key key_g = { .name_tag = 0x7f0000001200,
					       .file_tag = 0x7f0000002200, .pid = 42,
					       .firstlineno = 20 };

#define BOTH (PYBPF_FRAME_OUTER | PYBPF_FRAME_PAIR_OUTER)

/* What the callback received, in order. */
struct closed {
	struct pybpf_func_key callee, caller;
	bool has_caller;
	struct pybpf_counts call, pair;
	unsigned long long duration;
};

struct recorder {
	struct closed *calls;
	size_t n, cap;
};

static void record(void *ctx, const struct pybpf_func_key *callee,
		   const struct pybpf_func_key *caller, const struct pybpf_counts *call,
		   const struct pybpf_counts *pair, unsigned long long duration)
{
	struct recorder *r = ctx;
	struct closed *c;

	assert_true(r->n < r->cap);
	assert_non_null(callee);
	assert_non_null(call);
	assert_non_null(pair);
	c = &r->calls[r->n++];
	memset(c, 0, sizeof(*c));
	c->callee = *callee;
	c->has_caller = caller != NULL;
	if (caller)
		c->caller = *caller;
	c->call = *call;
	c->pair = *pair;
	c->duration = duration;
}

static void recorder_init(struct recorder *r, size_t cap)
{
	r->calls = calloc(cap, sizeof(*r->calls));
	assert_non_null(r->calls);
	r->n = 0;
	r->cap = cap;
}

/* A shadow stack (about 14 KB: on the heap), garbage outside the frames used. */
static struct pybpf_stack *new_stack(void)
{
	struct pybpf_stack *st = malloc(sizeof(*st));

	assert_non_null(st);
	memset(st, 0x5a, sizeof(*st));
	st->depth = 0;
	st->excess = 0;
	st->tstate = 0;
	st->off_since = 0;
	return st;
}

static void push(struct pybpf_stack *st, const struct pybpf_func_key *key, uint64_t t0,
		 uint64_t subt, uint32_t flags)
{
	struct pybpf_frame *f = &st->frames[st->depth++];

	memset(f, 0, sizeof(*f));
	f->key = *key;
	f->t0 = t0;
	f->subt = subt;
	f->flags = flags;
}

static void expect_key(const struct pybpf_func_key *got, const struct pybpf_func_key *want)
{
	assert_int_equal(got->name_tag, want->name_tag);
	assert_int_equal(got->file_tag, want->file_tag);
	assert_int_equal(got->pid, want->pid);
	assert_int_equal(got->firstlineno, want->firstlineno);
}

static void expect_counts(const struct pybpf_counts *got, uint64_t calls, uint64_t rec,
			  uint64_t it, uint64_t tt)
{
	assert_int_equal(got->callcount, calls);
	assert_int_equal(got->reccallcount, rec);
	assert_int_equal(got->inlinetime, it);
	assert_int_equal(got->totaltime, tt);
}

/* ---- sums ---- */

static void test_counts_sum(void **state)
{
	const struct pybpf_counts percpu[4] = {
		{ 1, 0, 100, 1000, 40 },
		{ 2, 1, 200, 0, 0 },
		{ 0, 0, 0, 0, 0 },
		{ 1ull << 40, 3, 1ull << 50, 7, 1ull << 49 },
	};
	struct pybpf_counts out;

	(void)state;
	memset(&out, 0xff, sizeof(out));
	counts_sum(percpu, 4, &out);
	expect_counts(&out, (1ull << 40) + 3, 4, (1ull << 50) + 300, 1007);
	assert_int_equal(out.offcputime, (1ull << 49) + 40);

	memset(&out, 0xff, sizeof(out));
	counts_sum(percpu, 1, &out);
	expect_counts(&out, 1, 0, 100, 1000);
	assert_int_equal(out.offcputime, 40);

	memset(&out, 0xff, sizeof(out));
	counts_sum(percpu, 0, &out);
	expect_counts(&out, 0, 0, 0, 0);
	assert_int_equal(out.offcputime, 0);
}

static void test_stats_from_counts(void **state)
{
	const struct pybpf_counts c = { 5, 4, 1500, 2000, 600 };
	const struct pybpf_counts plain = { 3, 0, 30, 90, 0 };
	const struct pybpf_counts odd = { 1, 2, 0, 0, 0 }; /* per-CPU races: never below 0 */
	struct pybpf_stats st;

	(void)state;
	memset(&st, 0xff, sizeof(st));
	stats_from_counts(&c, &st);
	assert_int_equal(st.ncalls, 5);
	assert_int_equal(st.pcalls, 1);
	assert_int_equal(st.tottime_ns, 1500);
	assert_int_equal(st.cumtime_ns, 2000);
	assert_int_equal(st.offcpu_ns, 600);

	stats_from_counts(&plain, &st);
	assert_int_equal(st.ncalls, 3);
	assert_int_equal(st.pcalls, 3);
	assert_int_equal(st.tottime_ns, 30);
	assert_int_equal(st.cumtime_ns, 90);
	assert_int_equal(st.offcpu_ns, 0);

	stats_from_counts(&odd, &st);
	assert_int_equal(st.ncalls, 1);
	assert_int_equal(st.pcalls, 0);
}

/* ---- flushing a stack ---- */

static struct pybpf_frame *push_off(struct pybpf_stack *st, const struct pybpf_func_key *key,
				    uint64_t t0, uint64_t subt, uint32_t flags, uint64_t offcpu)
{
	push(st, key, t0, subt, flags);
	st->frames[st->depth - 1].offcpu = offcpu;
	return &st->frames[st->depth - 1];
}

/* main -> f -> f (recursive), closed at 1000: the inner f is not the outer
 * activation of f (no totaltime, one reccallcount) but is the outer f -> f
 * pair; its 700 ns go into the outer f's subt, the outer f's 800 ns into
 * main's. */
static void test_flush_recursion(void **state)
{
	struct pybpf_stack *st = new_stack();
	struct recorder r;

	(void)state;
	recorder_init(&r, 8);
	push(st, &key_main, 100, 10, BOTH);
	push(st, &key_f, 200, 20, BOTH);
	push(st, &key_f, 300, 5, PYBPF_FRAME_PAIR_OUTER);
	st->excess = 0;

	assert_int_equal(stack_flush(st, 1000, record, &r), 3);
	assert_int_equal(st->depth, 0);
	assert_int_equal(r.n, 3);

	/* Top first: the inner f, called by f. tt 700, it 700 - 5. */
	expect_key(&r.calls[0].callee, &key_f);
	assert_true(r.calls[0].has_caller);
	expect_key(&r.calls[0].caller, &key_f);
	expect_counts(&r.calls[0].call, 1, 1, 695, 0);
	expect_counts(&r.calls[0].pair, 1, 0, 695, 700);

	/* The outer f, called by main: tt 800, subt 20 + 700, it 80. */
	expect_key(&r.calls[1].callee, &key_f);
	assert_true(r.calls[1].has_caller);
	expect_key(&r.calls[1].caller, &key_main);
	expect_counts(&r.calls[1].call, 1, 0, 80, 800);
	expect_counts(&r.calls[1].pair, 1, 0, 80, 800);

	/* main, no caller: tt 900, subt 10 + 800, it 90. */
	expect_key(&r.calls[2].callee, &key_main);
	assert_false(r.calls[2].has_caller);
	expect_counts(&r.calls[2].call, 1, 0, 90, 900);

	/* Nothing left: a second flush closes nothing. */
	r.n = 0;
	assert_int_equal(stack_flush(st, 2000, record, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(st->depth, 0);
	free(r.calls);
	free(st);
}

/* main -> f -> g -> f -> g: the inner g is neither the outer g nor the
 * outer f -> g pair; the inner f is not the outer f but is the outer g -> f. */
static void test_flush_mutual_recursion(void **state)
{
	struct pybpf_stack *st = new_stack();
	struct recorder r;

	(void)state;
	recorder_init(&r, 8);
	push(st, &key_main, 0, 0, BOTH);
	push(st, &key_f, 10, 0, BOTH);
	push(st, &key_g, 20, 0, BOTH);
	push(st, &key_f, 30, 0, PYBPF_FRAME_PAIR_OUTER);
	push(st, &key_g, 40, 0, 0);

	assert_int_equal(stack_flush(st, 100, record, &r), 5);
	assert_int_equal(st->depth, 0);
	assert_int_equal(r.n, 5);

	expect_key(&r.calls[0].callee, &key_g);
	expect_key(&r.calls[0].caller, &key_f);
	expect_counts(&r.calls[0].call, 1, 1, 60, 0);
	expect_counts(&r.calls[0].pair, 1, 1, 60, 0);

	expect_key(&r.calls[1].callee, &key_f);
	expect_key(&r.calls[1].caller, &key_g);
	expect_counts(&r.calls[1].call, 1, 1, 10, 0);  /* tt 70, subt 60 */
	expect_counts(&r.calls[1].pair, 1, 0, 10, 70);

	expect_key(&r.calls[2].callee, &key_g);
	expect_key(&r.calls[2].caller, &key_f);
	expect_counts(&r.calls[2].call, 1, 0, 10, 80); /* tt 80, subt 70 */
	expect_counts(&r.calls[2].pair, 1, 0, 10, 80);

	expect_key(&r.calls[3].callee, &key_f);
	expect_key(&r.calls[3].caller, &key_main);
	expect_counts(&r.calls[3].call, 1, 0, 10, 90);
	expect_counts(&r.calls[3].pair, 1, 0, 10, 90);

	expect_key(&r.calls[4].callee, &key_main);
	assert_false(r.calls[4].has_caller);
	expect_counts(&r.calls[4].call, 1, 0, 10, 100);

	/* The own times add up to main's inclusive time, as in cProfile. */
	assert_int_equal(r.calls[0].call.inlinetime + r.calls[1].call.inlinetime +
			 r.calls[2].call.inlinetime + r.calls[3].call.inlinetime +
			 r.calls[4].call.inlinetime, r.calls[4].call.totaltime);
	free(r.calls);
	free(st);
}

/* A clock read before a frame's t0 (another CPU) or a subt larger than the
 * elapsed time give 0, never a wrapped huge value. */
static void test_flush_clock_edges(void **state)
{
	struct pybpf_stack *st = new_stack();
	struct recorder r;

	(void)state;
	recorder_init(&r, 4);
	push(st, &key_main, 500, 1200, BOTH);
	push(st, &key_f, 2000, 0, BOTH);

	assert_int_equal(stack_flush(st, 1500, record, &r), 2);
	assert_int_equal(r.n, 2);
	expect_counts(&r.calls[0].call, 1, 0, 0, 0);    /* now < t0 */
	expect_counts(&r.calls[1].call, 1, 0, 0, 1000); /* tt 1000 < subt 1200 + 0 */
	assert_int_equal(st->depth, 0);
	free(r.calls);
	free(st);
}

/* Each closed call carries its frame's off-CPU time, in the call and the
 * pair figures; none of it moves to the caller, as a callee's time does. */
static void test_flush_offcpu(void **state)
{
	struct pybpf_stack *st = new_stack();
	struct recorder r;

	(void)state;
	recorder_init(&r, 4);
	push_off(st, &key_main, 0, 0, BOTH, 30);
	push_off(st, &key_f, 100, 0, BOTH, 250);
	push_off(st, &key_g, 600, 0, PYBPF_FRAME_PAIR_OUTER, 0);

	assert_int_equal(stack_flush(st, 1000, record, &r), 3);
	assert_int_equal(r.n, 3);
	expect_counts(&r.calls[0].call, 1, 1, 400, 0);
	assert_int_equal(r.calls[0].call.offcputime, 0);
	assert_int_equal(r.calls[0].pair.offcputime, 0);
	expect_counts(&r.calls[1].call, 1, 0, 500, 900); /* tt 900, subt 400 */
	assert_int_equal(r.calls[1].call.offcputime, 250);
	assert_int_equal(r.calls[1].pair.offcputime, 250);
	expect_counts(&r.calls[2].call, 1, 0, 100, 1000);
	assert_int_equal(r.calls[2].call.offcputime, 30);
	free(r.calls);
	free(st);
}

/* A thread off the CPU at detach: the time since off_since is off-CPU time
 * of its top frame; off_since is cleared with the stack. Off-CPU time is
 * never more than the call's own time (a racing clock). */
static void test_flush_off_since(void **state)
{
	struct pybpf_stack *st = new_stack();
	struct recorder r;

	(void)state;
	recorder_init(&r, 4);
	push_off(st, &key_main, 0, 0, BOTH, 1000);
	push_off(st, &key_f, 100, 0, BOTH, 200);
	st->off_since = 700;

	assert_int_equal(stack_flush(st, 1000, record, &r), 2);
	assert_int_equal(st->off_since, 0);
	expect_counts(&r.calls[0].call, 1, 0, 900, 900);
	assert_int_equal(r.calls[0].call.offcputime, 200 + 300);
	assert_int_equal(r.calls[0].pair.offcputime, 200 + 300);
	expect_counts(&r.calls[1].call, 1, 0, 100, 1000);
	assert_int_equal(r.calls[1].call.offcputime, 100); /* 1000 clamped to its own 100 */

	/* off_since after now (another CPU's clock): nothing pending. */
	r.n = 0;
	push_off(st, &key_f, 100, 0, BOTH, 5);
	st->off_since = 2000;
	assert_int_equal(stack_flush(st, 1000, record, &r), 1);
	assert_int_equal(r.calls[0].call.offcputime, 5);
	assert_int_equal(st->off_since, 0);
	free(r.calls);
	free(st);
}

/* main -> f -> the evaluation that creates a generator (SKIP), open at
 * detach: it is no call. Its time is not added to f's subt (it stays f's own
 * time) and its off-CPU time is f's. */
static void test_flush_skip(void **state)
{
	struct pybpf_stack *st = new_stack();
	struct recorder r;

	(void)state;
	recorder_init(&r, 4);
	push_off(st, &key_main, 0, 0, BOTH, 0);
	push_off(st, &key_f, 100, 0, BOTH, 10);
	push_off(st, &key_g, 500, 0, BOTH | PYBPF_FRAME_SKIP, 40);

	assert_int_equal(stack_flush(st, 1000, record, &r), 2);
	assert_int_equal(st->depth, 0);
	assert_int_equal(r.n, 2);
	/* f: tt 900, nothing in subt, off-CPU its own 10 + the creation's 40. */
	expect_key(&r.calls[0].callee, &key_f);
	expect_key(&r.calls[0].caller, &key_main);
	expect_counts(&r.calls[0].call, 1, 0, 900, 900);
	assert_int_equal(r.calls[0].call.offcputime, 50);
	expect_key(&r.calls[1].callee, &key_main);
	expect_counts(&r.calls[1].call, 1, 0, 100, 1000);
	assert_int_equal(r.calls[1].call.offcputime, 0);

	/* A SKIP frame on top of a thread off the CPU: the pending time is
	 * its caller's; a SKIP frame alone closes nothing. */
	r.n = 0;
	push_off(st, &key_f, 100, 0, BOTH, 0);
	push_off(st, &key_g, 500, 0, PYBPF_FRAME_SKIP, 0);
	st->off_since = 900;
	assert_int_equal(stack_flush(st, 1000, record, &r), 1);
	expect_key(&r.calls[0].callee, &key_f);
	assert_false(r.calls[0].has_caller);
	expect_counts(&r.calls[0].call, 1, 0, 900, 900);
	assert_int_equal(r.calls[0].call.offcputime, 100);

	r.n = 0;
	push_off(st, &key_g, 500, 0, PYBPF_FRAME_SKIP | BOTH, 7);
	assert_int_equal(stack_flush(st, 1000, record, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(st->depth, 0);
	free(r.calls);
	free(st);
}

/* A NORET frame (no return probe pending) is closed like any other call. */
static void test_flush_noret(void **state)
{
	struct pybpf_stack *st = new_stack();
	struct recorder r;

	(void)state;
	recorder_init(&r, 4);
	push_off(st, &key_main, 0, 0, BOTH, 0);
	push_off(st, &key_f, 200, 50, BOTH | PYBPF_FRAME_NORET, 20);
	st->frames[1].frame = 0x7f0000009000;

	assert_int_equal(stack_flush(st, 1000, record, &r), 2);
	expect_key(&r.calls[0].callee, &key_f);
	expect_counts(&r.calls[0].call, 1, 0, 750, 800);
	expect_counts(&r.calls[0].pair, 1, 0, 750, 800);
	assert_int_equal(r.calls[0].call.offcputime, 20);
	expect_counts(&r.calls[1].call, 1, 0, 200, 1000);
	free(r.calls);
	free(st);
}

static void test_flush_empty(void **state)
{
	struct pybpf_stack *st = new_stack();
	struct recorder r;

	(void)state;
	recorder_init(&r, 1);
	assert_int_equal(stack_flush(st, 12345, record, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(st->depth, 0);
	free(r.calls);
	free(st);
}

/* A depth past the array (a corrupt or racing map value) is clamped: every
 * frame is closed once, no read past frames[], and depth ends at 0. */
static void test_flush_depth_clamped(void **state)
{
	struct pybpf_stack *st = new_stack();
	struct recorder r;

	(void)state;
	recorder_init(&r, PYBPF_MAX_DEPTH + 1);
	for (unsigned int i = 0; i < PYBPF_MAX_DEPTH; i++) {
		struct pybpf_func_key k = key_f;

		k.firstlineno = (int32_t)i;
		push(st, &k, 1000 + i, 0, BOTH);
	}
	st->depth = PYBPF_MAX_DEPTH + 77;
	assert_int_equal(stack_flush(st, 10000, record, &r), PYBPF_MAX_DEPTH);
	assert_int_equal(r.n, PYBPF_MAX_DEPTH);
	assert_int_equal(st->depth, 0);
	for (size_t i = 0; i < r.n; i++) {
		unsigned int depth = PYBPF_MAX_DEPTH - 1 - (unsigned int)i;

		assert_int_equal(r.calls[i].callee.firstlineno, depth);
		assert_int_equal(r.calls[i].has_caller, depth > 0);
		if (depth)
			assert_int_equal(r.calls[i].caller.firstlineno, depth - 1);
		assert_int_equal(r.calls[i].call.totaltime, 10000 - 1000 - depth);
		/* Each frame's own time: 1 ns until its callee began. */
		assert_int_equal(r.calls[i].call.inlinetime, i ? 1 : 10000 - 1000 - depth);
	}
	free(r.calls);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_sum),
		cmocka_unit_test(test_stats_from_counts),
		cmocka_unit_test(test_flush_recursion),
		cmocka_unit_test(test_flush_mutual_recursion),
		cmocka_unit_test(test_flush_clock_edges),
		cmocka_unit_test(test_flush_offcpu),
		cmocka_unit_test(test_flush_off_since),
		cmocka_unit_test(test_flush_skip),
		cmocka_unit_test(test_flush_noret),
		cmocka_unit_test(test_flush_empty),
		cmocka_unit_test(test_flush_depth_clamped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
