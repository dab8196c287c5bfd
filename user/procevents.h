/* SPDX-License-Identifier: GPL-2.0-only */
/* --all-python: the forks, execs and exits the BPF side tells of
 * (bpf/procwatch.bpf.h), read from its ring buffer. */
#ifndef PYBPF_PROCEVENTS_H
#define PYBPF_PROCEVENTS_H

#include "pybpf.h"

struct proc_events;
typedef void (*proc_event_fn)(void *ctx, const struct pybpf_proc_event *e);

/* Reads the ring buffer map map_fd, handing each event to fn. NULL with errno set. */
struct proc_events *proc_events__open(int map_fd, proc_event_fn fn, void *ctx);
/* Polls readable when events wait. */
int proc_events__fd(struct proc_events *pe);
/* Hands every waiting event to fn. */
void proc_events__consume(struct proc_events *pe);
void proc_events__free(struct proc_events *pe);

#endif
