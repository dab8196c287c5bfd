/* SPDX-License-Identifier: GPL-2.0-only */
/* Whether a process is still there, for telling "the target exited under
 * us" apart from other failures (the error then says so). */
#ifndef PYBPF_PROCSTATE_H
#define PYBPF_PROCSTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"

/* A killed process drops its memory (failing our reads and writes) a
 * moment before it turns into a zombie: what a failure waits for. */
#define PROCESS_EXIT_GRACE_MS 200

/* True if pid has exited: reaped (no such process) or a zombie (its pidfd
 * is readable), now or within PROCESS_EXIT_GRACE_MS. False while it runs,
 * or if that cannot be told. For telling why something failed. */
bool process_exited(pid_t pid);

/* A pidfd of pid (readable once it exits), or -1 with err set. Opened
 * before attaching, so that an exit after the attach is the end of the
 * run, not a failure to watch it. */
int process_pidfd(pid_t pid, struct pybpf_err *err);
/* True if the process behind pidfd has exited (now: no waiting). */
bool pidfd_exited(int pidfd);

/* A read-only handle on pid's memory as it is now (its mm), or -1: it
 * reads nothing once pid has exec'ed another program or exited. */
int process_mem_open(pid_t pid);
/* True if pid, still running, has exec'ed since mem_fd was opened: the
 * mapped address addr reads nothing through it any more, and pid has an
 * address space (an exiting process has none). */
bool process_execed(pid_t pid, int mem_fd, uint64_t addr);

#endif
