/* SPDX-License-Identifier: GPL-2.0-only */
/* The user-space profile model: cProfile-style entries keyed by
 * (filename, firstlineno, name), with per-caller figures for pstats. */
#ifndef PYBPF_PROFILE_H
#define PYBPF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashindex.h"
#include "pybpf.h"

/* cProfile's four figures, and the off-CPU part of tottime. Times are nanoseconds. */
struct pybpf_stats {
	uint64_t ncalls;     /* total calls (pstats nc) */
	uint64_t pcalls;     /* primitive calls (pstats cc) */
	uint64_t tottime_ns; /* own time, all activations */
	uint64_t cumtime_ns; /* inclusive time, outermost activations only */
	uint64_t offcpu_ns;  /* part of tottime spent off the CPU (on top of a sleeping thread) */
};

struct pybpf_caller {
	size_t func; /* index of the caller in profile->funcs */
	struct pybpf_stats st;
};

struct pybpf_func {
	char *filename; /* valid UTF-8 (invalid bytes replaced), unescaped */
	char *name;
	int32_t firstlineno;
	struct pybpf_stats st;
	struct pybpf_caller *callers;
	size_t ncallers, callers_cap;
	uint64_t *latency; /* --latency: PYBPF_HIST_SLOTS call-duration counts, or NULL */
};

/* Events that could not be paired, reported under the table. */
struct pybpf_losses {
	uint64_t unpaired_returns;  /* return without a traced call (began before attach) */
	uint64_t unpaired_calls;    /* call discarded: its return was never seen */
	uint64_t depth_overflow;    /* calls deeper than the BPF shadow stack */
	uint64_t funcs_map_full;    /* calls not aggregated: function map full */
	uint64_t pairs_map_full;    /* caller/callee figures lost: pair map full */
	uint64_t stacks_map_full;   /* calls not traced: thread map full */
	uint64_t read_errors;       /* target memory could not be read */
	uint64_t still_running;     /* calls active at detach, counted up to detach */
	uint64_t untimed_throws;    /* generator resumes by throw() counted with no time */
	uint64_t untimed_inits;     /* 3.13 __init__ run inline past the hook: counted, untimed */
	uint64_t norets_closed;     /* calls past the kernel's pending-return limit, ended late */
	uint64_t latency_map_full;  /* --latency: durations left out, histogram map full */
	uint64_t unnamed_funcs;     /* functions counted whose name the names map had no room for */
};

struct pybpf_profile {
	struct pybpf_func *funcs; /* in insertion order: pstats file order */
	size_t nfuncs, cap;
	struct hash_index index;  /* funcs by label */
	struct pybpf_losses losses;
	/* Header facts. */
	int pid;
	char python_version[32]; /* e.g. "3.9.2" */
	char binary[4096];
	char build[16];          /* "static" or "shared" (libpython), or "" if unknown */
	char backend[16];
	char known_gap[256]; /* calls this backend cannot see in this interpreter, or "" */
	double wall_seconds; /* time the probes were attached */
};

void profile_init(struct pybpf_profile *p);
void profile_free(struct pybpf_profile *p);

/* Find or add the entry for a label; returns its index or -1 on ENOMEM.
 * Strings are copied (and made valid UTF-8). */
long profile_intern(struct pybpf_profile *p, const char *filename, int32_t firstlineno,
		    const char *name);
/* Index of a label or -1. */
long profile_find(const struct pybpf_profile *p, const char *filename, int32_t firstlineno,
		  const char *name);

void stats_add(struct pybpf_stats *dst, const struct pybpf_stats *src);
/* Add figures to a function, or to its caller entry for `caller`. 0 or -ENOMEM. */
void profile_add(struct pybpf_profile *p, size_t func, const struct pybpf_stats *st);
int profile_add_caller(struct pybpf_profile *p, size_t callee, size_t caller,
		       const struct pybpf_stats *st);
/* Add a call-duration histogram (layout of struct pybpf_hist) to a function's,
 * allocating it the first time. 0 or -ENOMEM (the function's is then unchanged). */
int profile_add_latency(struct pybpf_profile *p, size_t func,
			const uint64_t slots[PYBPF_HIST_SLOTS]);

/* Most events failed to read the target (a layout that reads garbage):
 * more reads failed than calls were counted, out of at least 100 events. */
bool profile_mostly_unread(const struct pybpf_profile *p);

/* Sums over all entries, as pstats prints them. */
uint64_t profile_total_calls(const struct pybpf_profile *p);
uint64_t profile_prim_calls(const struct pybpf_profile *p);
uint64_t profile_total_tt_ns(const struct pybpf_profile *p);

#endif
