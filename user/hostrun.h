/* SPDX-License-Identifier: GPL-2.0-only */
/* A host-wide run (--all-python): what each process's section shows. */
#ifndef PYBPF_HOSTRUN_H
#define PYBPF_HOSTRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "profile.h"
#include "sampleprof.h"

enum host_proc_end { HOST_PROC_RUNNING, HOST_PROC_EXITED, HOST_PROC_EXECED };

struct host_proc {
	pid_t pid;
	pid_t ns_pid;    /* 0 = same as pid */
	pid_t forked_by; /* 0 = none */
	char cmdline[512]; /* raw bytes of /proc/PID/cmdline, NULs as spaces; untrusted */
	double from_s, to_s; /* traced from/to, seconds since the run started */
	enum host_proc_end end;
	struct pybpf_profile *exact;    /* exact mode */
	struct sample_profile *sampled; /* sampling */
};

struct host_refusal {
	pid_t pid;
	char cmdline[512];
	char why[512];
};

struct host_run {
	struct host_proc *procs;
	size_t nprocs;
	struct host_refusal *refused;
	size_t nrefused;
	double wall_seconds;
	bool sampling;
};

#endif
