/* SPDX-License-Identifier: GPL-2.0-only */
/* The sampling BPF object's lifecycle: load, register processes, start the
 * perf events and wall-clock ticks, stop, read the counted stacks. Built to
 * serve one process or many: each is one entry of a BPF-side table. */
#ifndef PYBPF_SAMPLER_H
#define PYBPF_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "pybpf.h"
#include "sampleprof.h"
#include "target.h"

struct sampler;

/* Loads the sampler for mode at hz samples per second. at_switch: off-CPU
 * stacks are taken at each switch out instead of at the wall-clock ticks
 * (the alternative design, for the benchmark). watch: also tell of forks,
 * execs and exits. NULL with err set. */
struct sampler *sampler__open(enum sample_mode mode, unsigned int hz, bool at_switch, bool watch,
			      struct pybpf_err *err);
/* watch (--all-python): the ring buffer's map of process events (procevents.h). */
int sampler__proc_events_map(struct sampler *s);
/* Process events the ring buffer had no room for. */
uint64_t sampler__events_lost(struct sampler *s);
/* pid, a fork the BPF side registered already, is sampled off the CPU too. 0 or -1. */
int sampler__follow_fork(struct sampler *s, pid_t pid, struct pybpf_err *err);
/* pid is no longer sampled. */
void sampler__remove_target(struct sampler *s, pid_t pid);
/* Samples t's threads from now on (off-CPU: from the next tick). 0 or -1. */
int sampler__add_target(struct sampler *s, const struct python_target *t,
			const struct pybpf_offsets *off, struct pybpf_err *err);
/* Starts the per-CPU perf events (modes cpu and wall). 0 or -1. */
int sampler__start(struct sampler *s, struct pybpf_err *err);
/* Wall-clock tick (modes offcpu and wall): counts the stack of every
 * registered thread that is off the CPU, as ns of off-CPU time each. */
void sampler__tick(struct sampler *s, uint64_t ns);
/* Detaches every perf event and iterator: nothing is counted after this. */
void sampler__stop(struct sampler *s);

/* One counted stack: frames leaf first, as the BPF side stored them. */
typedef int (*sampler_stack_fn)(void *ctx, const struct pybpf_sample_key *key,
				const struct pybpf_sample_count *count,
				const struct pybpf_sample_stack *stack);
/* Calls fn for every (thread, kind, stack) counted for pid (all pids when
 * pid is 0); stops at fn's first non-zero return, which it returns. */
int sampler__foreach(struct sampler *s, int pid, sampler_stack_fn fn, void *ctx);
/* Calls fn for every distinct stack stored so far (key is NULL): to
 * resolve code objects while they are alive. */
int sampler__foreach_stack(struct sampler *s, sampler_stack_fn fn, void *ctx);
/* Calls fn for each stack stored for the first time since the last call
 * (key and count are NULL). 0, or fn's first non-zero return. */
int sampler__consume_new(struct sampler *s, sampler_stack_fn fn, void *ctx);
/* A descriptor that polls readable when new stacks are waiting, or -1. */
int sampler__new_stacks_fd(struct sampler *s);
/* The PyThreadState the BPF side found for host TID tid, or 0. */
uint64_t sampler__thread_state(struct sampler *s, uint32_t tid);
void sampler__losses(struct sampler *s, struct sample_losses *out);
/* Samples counted so far, all processes. */
uint64_t sampler__samples(struct sampler *s);
/* The most kernel memory the maps can hold (their full size). */
uint64_t sampler__map_bytes(struct sampler *s);
void sampler__close(struct sampler *s);

#endif
