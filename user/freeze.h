/* SPDX-License-Identifier: GPL-2.0-only */
/* Holding traced processes still for a moment, unseen by them: every
 * thread in a ptrace stop (PTRACE_SEIZE + PTRACE_INTERRUPT, no signal that
 * the process or its parent can notice), then let go.
 *
 * Why: removing a uretprobe waits (synchronize_srcu in the kernel) for the
 * return instances that hold it. A thread's pending ones are let go by a
 * timer that every new call re-arms, so a process that keeps calling keeps
 * the removal waiting, possibly forever; a still one releases them within
 * a tenth of a second.
 *
 * Bounded: a thread that does not reach its stop within FREEZE_WAIT_MS is
 * in the kernel (uninterruptible I/O, a vfork parent) and runs no code of
 * its own until it returns, where its pending interrupt stops it. Such a
 * straggler is not waited for; freeze_settle() lets it go once it stops,
 * and pybpf-prof's exit lets go of any still pending. */
#ifndef PYBPF_FREEZE_H
#define PYBPF_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FREEZE_WAIT_MS 1000

struct freeze {
	pid_t *tids; /* threads in a ptrace stop */
	size_t n, cap;
};

/* Stops every thread of pid that can be stopped (one already traced by a
 * debugger cannot, and is left running) and waits up to FREEZE_WAIT_MS
 * for them. Returns how many are in their stop. */
size_t freeze_process(struct freeze *f, pid_t pid);
/* Lets every stopped thread run on and forgets them. */
void freeze_release(struct freeze *f);
/* Lets go of the stragglers that have reached their stop (or ended) since;
 * never blocks. */
void freeze_settle(void);
/* Lets go of tid, whose stop (status) someone else's waitpid() collected:
 * a straggler's, seen by the waiter for a child that is also a target. */
void freeze_let_go(pid_t tid, int status);
/* Some straggler is still waiting to be let go: call freeze_settle() soon. */
bool freeze_has_stragglers(void);

#endif
