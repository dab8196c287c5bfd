/* SPDX-License-Identifier: GPL-2.0-only */
/* Whether a process is still there, for telling "the target exited under
 * us" apart from other failures (the error then says so). */
#ifndef PYBPF_PROCSTATE_H
#define PYBPF_PROCSTATE_H

#include <stdbool.h>
#include <sys/types.h>

/* True if pid has exited: reaped (no such process) or a zombie (its pidfd
 * is readable). False while it runs, or if that cannot be told. */
bool process_exited(pid_t pid);

#endif
