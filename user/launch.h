/* SPDX-License-Identifier: GPL-2.0-only */
/* Launch mode: start a command and hold it, under ptrace, at the moment it
 * has exec'ed a CPython (and mapped its libpython) but run no Python yet. */
#ifndef PYBPF_LAUNCH_H
#define PYBPF_LAUNCH_H

#include <sys/types.h>

#include "log.h"
#include "runloop.h"

struct launch {
	pid_t pid;
	int pending_sig; /* a signal the child got while held, handed on when it runs */
};

/* 0 with the child stopped, or -1 with err set: a child that ended before
 * reaching Python has been reaped, one still held is killed when pybpf-prof
 * exits (PTRACE_O_EXITKILL). */
int launch_start(char **cmd, struct launch *l, struct pybpf_err *err);
/* Runs the held child on to its next system-call stop. 0, or -errno (-ESRCH
 * once it has ended). A signal it receives meanwhile is handed on to it. */
int launch_step(struct launch *l);
/* Lets the child run on, no longer traced by ptrace. 0 or -errno. */
int launch_resume(struct launch *l);
/* Exit code for pybpf-prof from the child's wait status (128+N for signal N). */
int launch_exit_code(int status);
/* Waits for the child to end: launch_exit_code() of it, or 1 if it cannot be waited for. */
int launch_wait(pid_t pid);

/* What launch_run does with the held child; ctx is the caller's session. */
struct launch_ops {
	/* Inspects the held child and starts profiling it: 0, or -1 with err set. */
	int (*start)(void *ctx, struct launch *l, struct pybpf_err *err);
	/* Runs until a stop. */
	enum stop_reason (*run)(void *ctx);
	/* Reports what was collected: 0 or 1. */
	int (*finish)(void *ctx);
	/* Undoes and frees what start did, whether it succeeded or not. */
	void (*cleanup)(void *ctx);
};

/* Launch mode from start to end: launches cmd, profiles it with ops until it
 * ends (or a stop), and returns pybpf-prof's exit code. */
int launch_run(char **cmd, const struct launch_ops *ops, void *ctx);

#endif
