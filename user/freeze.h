/* SPDX-License-Identifier: GPL-2.0-only */
/* Holding traced processes still for a moment, unseen by them: every
 * thread in a ptrace stop (PTRACE_SEIZE + PTRACE_INTERRUPT, no signal that
 * the process or its parent can notice), then let go.
 *
 * Why: removing a uretprobe waits (synchronize_srcu in the kernel) for the
 * return instances that hold it. A thread's pending ones are let go by a
 * timer that every new call re-arms, so a process that keeps calling keeps
 * the removal waiting, possibly forever; a still one releases them within
 * a tenth of a second. */
#ifndef PYBPF_FREEZE_H
#define PYBPF_FREEZE_H

#include <stddef.h>
#include <sys/types.h>

struct freeze {
	pid_t *tids; /* threads in a ptrace stop */
	size_t n, cap;
};

/* Stops every thread of pid that can be stopped (one already traced by a
 * debugger cannot, and is left running). Returns how many were stopped. */
size_t freeze_process(struct freeze *f, pid_t pid);
/* Lets every stopped thread run on and forgets them. */
void freeze_release(struct freeze *f);

#endif
