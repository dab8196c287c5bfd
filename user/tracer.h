/* SPDX-License-Identifier: GPL-2.0-only */
/* The BPF side's lifecycle: load, attach per target, detach, drain. */
#ifndef PYBPF_TRACER_H
#define PYBPF_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"
#include "pybpf.h"
#include "profile.h"
#include "target.h"

struct tracer;

/* Sizes of the tables: processes traced at once, threads, functions (and
 * four caller/callee pairs per function). */
struct tracer_limits {
	uint32_t processes, threads, functions;
};

/* Loads the BPF programs and starts the scheduler hooks. lim: NULL for the
 * defaults; latency: keep per-function histograms of call durations;
 * watch: also tell of forks, execs and exits (the process events ring
 * buffer); count_calls: keep tracer__calls' count (a map update per call,
 * for --all-python's progress line). NULL with err set. */
struct tracer *tracer__open(const struct tracer_limits *lim, bool latency, bool watch,
			    bool count_calls, struct pybpf_err *err);
/* Starts exact tracing of t over its USDT probes (or, floor_only, empty
 * programs on the same probes: the benchmark's floor). every_process: the
 * probes go on the interpreter file for every process that maps it, once
 * per file; the BPF side counts only registered processes. 0, or -1 with
 * err set. */
int tracer__attach_usdt(struct tracer *tr, const struct python_target *t,
			const struct pybpf_offsets *off, uint32_t flags, bool floor_only,
			bool every_process, struct pybpf_err *err);
/* Starts exact tracing of t with a uprobe and a uretprobe on its frame
 * evaluation function (or empty programs there). On 3.11+ it sees every
 * call only while the eval-frame hook is set (evalhook.h). 0 or -1. */
int tracer__attach_evalframe(struct tracer *tr, const struct python_target *t,
			     const struct pybpf_offsets *off, bool floor_only, bool every_process,
			     struct pybpf_err *err);
/* Stops counting pid's calls (what was counted stays). */
void tracer__unregister(struct tracer *tr, pid_t pid);
/* Interpreter files probed for every process. */
size_t tracer__probed_files(const struct tracer *tr);
/* Detaches every probe: no event is counted after this returns. */
void tracer__detach(struct tracer *tr);
/* Stops counting at once (the stacks freeze) and closes the calls still
 * active in pid's threads (every thread's: pid 0) at now_ns
 * (CLOCK_MONOTONIC), as cProfile's disable() does. Returns how many it closed. */
uint64_t tracer__stop(struct tracer *tr, int pid, unsigned long long now_ns);
/* Reads everything collected for pid into p (p->pid is set). 0 or -1. */
int tracer__drain(struct tracer *tr, int pid, struct pybpf_profile *p, struct pybpf_err *err);
/* The profile that collects pid's figures, or NULL to skip them. */
typedef struct pybpf_profile *(*tracer_profile_fn)(void *ctx, int pid);
/* Reads everything collected, each process's into its profile. 0 or -1. */
int tracer__drain_all(struct tracer *tr, tracer_profile_fn profile_of, void *ctx,
		      struct pybpf_err *err);
/* Calls counted so far, all processes (0 unless opened with count_calls). */
uint64_t tracer__calls(struct tracer *tr);

/* The most kernel memory the maps can hold (their full size). */
uint64_t tracer__map_bytes(struct tracer *tr);
/* --all-python's process events: the ring buffer's map (procevents.h). */
int tracer__proc_events_map(struct tracer *tr);
/* Events the ring buffer had no room for. */
uint64_t tracer__events_lost(struct tracer *tr);
void tracer__close(struct tracer *tr);

#endif
