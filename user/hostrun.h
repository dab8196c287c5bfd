/* SPDX-License-Identifier: GPL-2.0-only */
/* What a host-wide run (--all-python) collected: one entry per process
 * traced or sampled, one per process refused. Filled by the run loop, read
 * by hostreport.c (stdout) and hostfiles.c (-o, --folded ...). Pure data. */
#ifndef PYBPF_HOSTRUN_H
#define PYBPF_HOSTRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pybpf_profile;
struct sample_profile;

#define HOST_CMDLINE_MAX 512
#define HOST_WHY_MAX 512

/* How a process's coverage ended. */
enum host_proc_end {
	HOST_PROC_RUNNING, /* still running when the run ended */
	HOST_PROC_EXITED,
	HOST_PROC_EXECED,  /* it exec'ed another program (a new entry if that is a Python) */
};

struct host_proc {
	pid_t pid;       /* host PID */
	pid_t ns_pid;    /* PID in its own namespace; 0 = same as pid */
	pid_t forked_by; /* host PID of the traced parent it was forked from; 0 = none */
	/* Raw bytes of /proc/PID/cmdline, NULs turned into spaces, trailing space
	 * cut; untrusted (escaped by every printer). */
	char cmdline[HOST_CMDLINE_MAX];
	double from_s, to_s; /* traced from/to, seconds since the run started */
	enum host_proc_end end;
	struct pybpf_profile *exact;    /* exact mode, else NULL */
	struct sample_profile *sampled; /* sampling, else NULL */
};

struct host_refusal {
	pid_t pid;
	char cmdline[HOST_CMDLINE_MAX]; /* as in struct host_proc */
	char why[HOST_WHY_MAX];         /* the reason, one line */
};

struct host_run {
	struct host_proc *procs;
	size_t nprocs;
	struct host_refusal *refused;
	size_t nrefused;
	double wall_seconds; /* length of the run */
	bool sampling;       /* procs have ->sampled, not ->exact */
};

#endif
