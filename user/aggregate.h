/* SPDX-License-Identifier: GPL-2.0-only */
/* cProfile's bookkeeping on the user-space side: summing per-CPU figures,
 * and closing the calls still active when tracing stops. */
#ifndef PYBPF_AGGREGATE_H
#define PYBPF_AGGREGATE_H

#include <stddef.h>

#include "pybpf.h"
#include "profile.h"

void counts_sum(const struct pybpf_counts *percpu, size_t ncpus, struct pybpf_counts *out);
void stats_from_counts(const struct pybpf_counts *c, struct pybpf_stats *out);

/* Receives one closed call: figures for callee, and for (caller, callee)
 * when caller is not NULL, and how long the call lasted (for --latency). */
typedef void (*flush_fn)(void *ctx, const struct pybpf_func_key *callee,
			 const struct pybpf_func_key *caller, const struct pybpf_counts *call,
			 const struct pybpf_counts *pair, unsigned long long duration);

/* Closes every active call of a thread's shadow stack at time `now`, top
 * first, as cProfile's disable() does. Each call's offcputime is its frame's
 * offcpu, plus now - off_since for the top frame of a thread off the CPU.
 * PYBPF_FRAME_SKIP frames (generator creation) are popped without a call:
 * their time, and their off-CPU time, stay the caller's own; NORET frames
 * are ordinary calls. The pair figures carry the same offcputime. Leaves
 * depth and off_since at 0. Returns the number of calls closed. */
size_t stack_flush(struct pybpf_stack *st, unsigned long long now, flush_fn fn, void *ctx);

#endif
