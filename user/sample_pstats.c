// SPDX-License-Identifier: GPL-2.0-only
/* Sampled stacks folded into cProfile's figures per function and caller
 * (what each figure means is in sample_pstats.h). */
#include "sample_pstats.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_FUNC SIZE_MAX

/* What one stack adds, over both kinds. */
struct stack_weight {
	uint64_t samples, ns, offcpu_ns;
};

/* A caller -> callee pair of function indices. */
struct call_pair {
	size_t caller, callee;
};

struct converter {
	const struct sample_profile *sp;
	struct pybpf_profile *out;
	size_t *func_of;      /* function index by frame index, NO_FUNC until interned */
	size_t *seen;         /* by function: the last stack (+ 1) that counted it */
	struct call_pair *pairs; /* the current stack's pairs, room for the deepest */
};

static int pair_cmp(const void *a, const void *b)
{
	const struct call_pair *x = a, *y = b;

	if (x->caller != y->caller)
		return x->caller < y->caller ? -1 : 1;
	return x->callee < y->callee ? -1 : x->callee > y->callee;
}

/* The function of a frame, interned the first time a stack uses it. */
static long func_of_frame(struct converter *c, size_t frame)
{
	const struct sample_frame *f = &c->sp->frames[frame];
	long func;

	if (c->func_of[frame] != NO_FUNC)
		return (long)c->func_of[frame];
	func = profile_intern(c->out, f->filename, f->firstlineno, f->name);
	if (func >= 0)
		c->func_of[frame] = (size_t)func;
	return func;
}

/* Each function of the stack once: samples, cumtime; the leaf's own time. */
static void add_funcs(struct converter *c, size_t stack, const struct stack_weight *w)
{
	const struct sample_stack *s = &c->sp->stacks[stack];
	struct pybpf_stats st = { .ncalls = w->samples, .pcalls = w->samples,
				  .cumtime_ns = w->ns };

	for (size_t i = 0; i < s->nframes; i++) {
		size_t func = c->func_of[s->frames[i]];

		if (c->seen[func] == stack + 1)
			continue;
		c->seen[func] = stack + 1;
		profile_add(c->out, func, &st);
	}
	st = (struct pybpf_stats){ .tottime_ns = w->ns, .offcpu_ns = w->offcpu_ns };
	profile_add(c->out, c->func_of[s->frames[s->nframes - 1]], &st);
}

/* Each distinct adjacent pair of the stack once. 0 or -ENOMEM. */
static int add_callers(struct converter *c, const struct sample_stack *s,
		       const struct stack_weight *w)
{
	size_t n = s->nframes - 1, kept = 0;
	struct call_pair leaf;

	for (size_t i = 0; i < n; i++) {
		c->pairs[i].caller = c->func_of[s->frames[i]];
		c->pairs[i].callee = c->func_of[s->frames[i + 1]];
	}
	leaf = c->pairs[n - 1];
	qsort(c->pairs, n, sizeof(*c->pairs), pair_cmp);
	for (size_t i = 0; i < n; i++) {
		if (!kept || pair_cmp(&c->pairs[kept - 1], &c->pairs[i]))
			c->pairs[kept++] = c->pairs[i];
	}
	for (size_t i = 0; i < kept; i++) {
		bool is_leaf = !pair_cmp(&c->pairs[i], &leaf);
		struct pybpf_stats st = {
			.ncalls = w->samples, .pcalls = w->samples, .cumtime_ns = w->ns,
			.tottime_ns = is_leaf ? w->ns : 0, .offcpu_ns = is_leaf ? w->offcpu_ns : 0,
		};

		if (profile_add_caller(c->out, c->pairs[i].callee, c->pairs[i].caller, &st))
			return -ENOMEM;
	}
	return 0;
}

static int add_stack(struct converter *c, size_t stack)
{
	const struct sample_stack *s = &c->sp->stacks[stack];
	struct stack_weight w = { 0 };

	for (int kind = 0; kind < PYBPF_SAMPLE_KINDS; kind++) {
		w.samples += s->samples[kind];
		w.ns += s->ns[kind];
	}
	w.offcpu_ns = s->ns[PYBPF_SAMPLE_OFFCPU];
	if (!s->nframes || (!w.samples && !w.ns))
		return 0;
	for (size_t i = 0; i < s->nframes; i++) {
		if (func_of_frame(c, s->frames[i]) < 0)
			return -ENOMEM;
	}
	add_funcs(c, stack, &w);
	return s->nframes > 1 ? add_callers(c, s, &w) : 0;
}

static void copy_header(const struct sample_profile *sp, struct pybpf_profile *out)
{
	out->pid = sp->pid;
	memcpy(out->python_version, sp->python_version, sizeof(out->python_version));
	memcpy(out->binary, sp->binary, sizeof(out->binary));
	memcpy(out->build, sp->build, sizeof(out->build));
	out->python_version[sizeof(out->python_version) - 1] = '\0';
	out->binary[sizeof(out->binary) - 1] = '\0';
	out->build[sizeof(out->build) - 1] = '\0';
	snprintf(out->backend, sizeof(out->backend), "sampling");
	out->wall_seconds = sp->wall_seconds;
}

static size_t deepest_stack(const struct sample_profile *sp)
{
	size_t depth = 1;

	for (size_t i = 0; i < sp->nstacks; i++) {
		if (sp->stacks[i].nframes > depth)
			depth = sp->stacks[i].nframes;
	}
	return depth;
}

int sample_profile_to_profile(const struct sample_profile *sp, struct pybpf_profile *out)
{
	struct converter c = { .sp = sp, .out = out };
	int err = -ENOMEM;

	profile_init(out);
	copy_header(sp, out);
	c.func_of = malloc((sp->nframes + 1) * sizeof(*c.func_of));
	c.seen = calloc(sp->nframes + 1, sizeof(*c.seen)); /* never more functions than frames */
	c.pairs = malloc(deepest_stack(sp) * sizeof(*c.pairs));
	if (c.func_of && c.seen && c.pairs) {
		for (size_t i = 0; i < sp->nframes; i++)
			c.func_of[i] = NO_FUNC;
		err = 0;
		for (size_t i = 0; i < sp->nstacks && !err; i++)
			err = add_stack(&c, i);
	}
	free(c.func_of);
	free(c.seen);
	free(c.pairs);
	if (err)
		profile_free(out);
	return err;
}
