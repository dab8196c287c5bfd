/* SPDX-License-Identifier: GPL-2.0-only */
/* Waiting for the end of a run: Ctrl-C, SIGTERM, the target's exit or
 * --duration, with an optional periodic tick for work during the run. */
#ifndef PYBPF_RUNLOOP_H
#define PYBPF_RUNLOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum stop_reason {
	STOP_NONE, /* a tick: not a stop */
	STOP_TARGET_EXIT,
	STOP_SIGINT,
	STOP_SIGTERM,
	STOP_DURATION,
	STOP_ERROR,
};

enum { RUNLOOP_SIGNALS, RUNLOOP_TARGET, RUNLOOP_DURATION, RUNLOOP_TICK, RUNLOOP_EXTRA, RUNLOOP_NFDS };

struct runloop {
	struct pollfd fds[RUNLOOP_NFDS];
};

/* Blocks SIGINT and SIGTERM and watches them, the exit of the process
 * behind target_pidfd (>= 0; not ours to close: process_pidfd) and, when
 * duration > 0, that many seconds. 0, or -1 with errno set. */
int runloop_open(struct runloop *r, int target_pidfd, double duration);
/* Also wakes up every period_ns. 0 or -1. */
int runloop_set_tick(struct runloop *r, uint64_t period_ns);
/* Also wakes up when fd is readable (not read: see runloop_extra_ready). */
void runloop_watch(struct runloop *r, int fd);
/* The watched descriptor was readable at the last wake-up. */
bool runloop_extra_ready(const struct runloop *r);
/* The next stop, or STOP_NONE for a tick or the watched descriptor
 * (*expirations: ticks elapsed, 0 if none). */
enum stop_reason runloop_wait(struct runloop *r, uint64_t *expirations);
void runloop_close(struct runloop *r);
/* From the start: a Ctrl-C or SIGTERM while probes are being attached waits
 * in the queue for the run loop, which stops at once, undoing what was
 * done, instead of ending pybpf-prof half-way. */
void runloop_block_signals(void);
/* Once the report is out, a further Ctrl-C may end pybpf-prof (and a
 * launched command gets its own default mask back before its exec). */
void runloop_unblock_signals(void);

#endif
