/* SPDX-License-Identifier: GPL-2.0-only */
/* --all-python's two engines behind one interface: exact tracing
 * (hosttrace.c) and sampling (hostsample.c). The session (allpython.c)
 * finds the processes and follows forks, execs and exits; an engine
 * starts and stops its work on each process and builds its section. */
#ifndef PYBPF_HOSTENGINE_H
#define PYBPF_HOSTENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostrun.h"
#include "log.h"
#include "options.h"
#include "pybpf.h"
#include "target.h"

/* One process of the run. */
struct host_member {
	struct python_target t;
	struct pybpf_offsets off;
	struct host_proc info; /* what its section shows; info.exact/sampled set by finish */
	bool ended;
	void *priv; /* the engine's, per process */
};

struct host_engine_ops {
	const char *verb;  /* "tracing", "sampling" */
	/* Loads the BPF side with the process watch. NULL with err set. */
	void *(*open)(const struct pybpf_options *o, struct pybpf_err *err);
	/* The process-event ring buffer's map, and events it had no room for. */
	int (*events_map)(void *e);
	uint64_t (*events_lost)(void *e);
	/* Starts on m (inspected, interpreter ready; just_exec: it exec'ed during
	 * the run). shared_probes: probes on m's interpreter file may serve every
	 * process that maps it (none of them is left out); else m's own. 0, or
	 * -1 with err set and nothing of m left behind. */
	int (*start)(void *e, struct host_member *m, bool just_exec, bool shared_probes,
		     struct pybpf_err *err);
	/* m is a fork of parent that the BPF side registered at once. */
	void (*follow_fork)(void *e, const struct host_member *parent, struct host_member *m);
	/* The BPF side registered a fork that is not to be followed: undo it. */
	void (*drop_fork)(void *e, const struct host_member *parent, pid_t child);
	/* m exec'ed or ended: undo what is left of it. */
	void (*ended)(void *e, struct host_member *m);
	/* ", backend evalframe" or "": the end of its "tracing PID" line. */
	void (*describe)(const struct host_member *m, char *buf, size_t n);
	/* Periodic work, every tick_ns. */
	uint64_t (*tick_ns)(void *e);
	void (*tick)(void *e, struct host_member **ms, size_t n, uint64_t ticks);
	/* Calls or samples counted so far (the progress line). */
	uint64_t (*count)(void *e);
	const char *count_noun; /* "calls counted", "samples" */
	/* The start's summary line, up to "; Ctrl-C to stop". */
	void (*summary)(void *e, struct host_member **ms, size_t n, size_t refused, char *buf,
			size_t len);
	/* Stops; builds each member's profile (info.exact or info.sampled). 0 or 1. */
	int (*finish)(void *e, struct host_member **ms, size_t n);
	/* Prints and writes what finish built. 0 or 1. */
	int (*report)(void *e, const struct host_run *run);
	void (*free_member)(struct host_member *m);
	void (*close)(void *e);
};

extern const struct host_engine_ops host_trace_ops;
extern const struct host_engine_ops host_sample_ops;

#endif
