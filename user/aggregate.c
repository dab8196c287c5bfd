// SPDX-License-Identifier: GPL-2.0-only
#include "aggregate.h"

#include <string.h>

void counts_sum(const struct pybpf_counts *percpu, size_t ncpus, struct pybpf_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ncpus; i++) {
		out->callcount += percpu[i].callcount;
		out->reccallcount += percpu[i].reccallcount;
		out->inlinetime += percpu[i].inlinetime;
		out->totaltime += percpu[i].totaltime;
		out->offcputime += percpu[i].offcputime;
	}
}

void stats_from_counts(const struct pybpf_counts *c, struct pybpf_stats *out)
{
	out->ncalls = c->callcount;
	out->pcalls = c->callcount >= c->reccallcount ? c->callcount - c->reccallcount : 0;
	out->tottime_ns = c->inlinetime;
	out->cumtime_ns = c->totaltime;
	out->offcpu_ns = c->offcputime;
}

/* The figures one completed call adds, as cProfile's Stop() computes them,
 * with the off-CPU part of its own time (never more than that own time). */
static void closed_call(unsigned long long tt, unsigned long long it, unsigned long long off,
			int outer, struct pybpf_counts *out)
{
	out->callcount = 1;
	out->inlinetime = it;
	out->totaltime = outer ? tt : 0;
	out->reccallcount = outer ? 0 : 1;
	out->offcputime = off < it ? off : it;
}

size_t stack_flush(struct pybpf_stack *st, unsigned long long now, flush_fn fn, void *ctx)
{
	size_t closed = 0;
	unsigned int depth = st->depth < PYBPF_MAX_DEPTH ? st->depth : PYBPF_MAX_DEPTH;
	/* A thread off the CPU now has been so since off_since, on its top frame. */
	unsigned long long off = st->off_since && now > st->off_since ? now - st->off_since : 0;

	while (depth > 0) {
		struct pybpf_frame *f = &st->frames[--depth];
		struct pybpf_frame *caller = depth ? &st->frames[depth - 1] : NULL;
		unsigned long long tt = now > f->t0 ? now - f->t0 : 0;
		unsigned long long it = tt > f->subt ? tt - f->subt : 0;
		struct pybpf_counts call, pair;

		off += f->offcpu;
		/* Not a call (generator creation): its time, off-CPU part
		 * included, stays the caller's own. */
		if (f->flags & PYBPF_FRAME_SKIP)
			continue;
		/* PYBPF_FRAME_NORET frames are ordinary calls here. */
		closed_call(tt, it, off, f->flags & PYBPF_FRAME_OUTER, &call);
		closed_call(tt, it, off, f->flags & PYBPF_FRAME_PAIR_OUTER, &pair);
		off = 0;
		if (caller)
			caller->subt += tt;
		fn(ctx, &f->key, caller ? &caller->key : NULL, &call, &pair, tt);
		closed++;
	}
	st->depth = 0;
	st->off_since = 0; /* accounted above */
	return closed;
}
