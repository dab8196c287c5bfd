/* SPDX-License-Identifier: GPL-2.0-only */
/* -p and -- CMD trace one process; what it forks or execs meanwhile is
 * watched all the same (bpf/procwatch.bpf.h): a fork holds a copy of the
 * eval-frame hook, which is restored in it at once (it is not traced), and
 * an exec ends the run, the traced program being gone. */
#ifndef PYBPF_FORKGUARD_H
#define PYBPF_FORKGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "evalhook.h"
#include "procevents.h"
#include "tracer.h"

struct forkguard {
	struct proc_events *events;
	struct tracer *tr;
	pid_t pid;                  /* the traced process */
	const struct evalhook *hook; /* its hook (may be installed later) */
	bool execed;                /* it exec'ed another program */
	size_t hooks_restored;      /* forks whose copy of the hook was put back */
};

/* Watches pid's forks and execs through tr (opened with watch). 0 or -errno. */
int forkguard_open(struct forkguard *g, struct tracer *tr, pid_t pid, const struct evalhook *hook);
/* Polls readable when events wait; -1 if not open. */
int forkguard_fd(const struct forkguard *g);
/* Handles the waiting events. */
void forkguard_consume(struct forkguard *g);
void forkguard_close(struct forkguard *g);

#endif
