/* SPDX-License-Identifier: GPL-2.0-only */
/* The BPF side's lifecycle: load, attach per target, detach, drain. */
#ifndef PYBPF_TRACER_H
#define PYBPF_TRACER_H

#include <stdbool.h>

#include "log.h"
#include "pybpf.h"
#include "profile.h"
#include "target.h"

struct tracer;

/* Loads the BPF programs and starts the scheduler hooks. NULL with err set. */
/* latency: keep per-function histograms of call durations. */
struct tracer *tracer__open(bool latency, struct pybpf_err *err);
/* Starts exact tracing of t over its USDT probes (or, floor_only, empty
 * programs on the same probes: the benchmark's floor). 0, or -1 with err set. */
int tracer__attach_usdt(struct tracer *tr, const struct python_target *t,
			const struct pybpf_offsets *off, uint32_t flags, bool floor_only,
			struct pybpf_err *err);
/* Starts exact tracing of t with a uprobe and a uretprobe on its frame
 * evaluation function (or empty programs there). On 3.11+ it sees every
 * call only while the eval-frame hook is set (evalhook.h). 0 or -1. */
int tracer__attach_evalframe(struct tracer *tr, const struct python_target *t,
			     const struct pybpf_offsets *off, bool floor_only,
			     struct pybpf_err *err);
/* Detaches every probe: no event is counted after this returns. */
void tracer__detach(struct tracer *tr);
/* Stops counting at once (the stacks freeze) and closes the calls still
 * active in pid's threads at now_ns (CLOCK_MONOTONIC), as cProfile's
 * disable() does. Returns how many it closed. */
uint64_t tracer__stop(struct tracer *tr, int pid, unsigned long long now_ns);
/* Reads everything collected for pid into p. 0 or -1. */
int tracer__drain(struct tracer *tr, int pid, struct pybpf_profile *p, struct pybpf_err *err);
void tracer__close(struct tracer *tr);

#endif
