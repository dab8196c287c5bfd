/* SPDX-License-Identifier: GPL-2.0-only */
/* --all-python: the processes that fork, exec or end during the run, for
 * the tracer and the sampler alike. A fork of a traced process is entered
 * in the targets table here, before the child runs a single instruction,
 * so that its calls count from the start; user space hears of every event
 * on a ring buffer and does the rest (eval-frame hook, names, sections). */
#ifndef PYBPF_PROCWATCH_BPF_H
#define PYBPF_PROCWATCH_BPF_H

#include "pybpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} proc_events SEC(".maps");

/* Events that did not fit in the ring buffer (user space rescans /proc). */
__u64 proc_events_lost;

static __always_inline void post_proc_event(__u32 kind, __u32 pid, __u32 ppid, __u32 flags)
{
	struct pybpf_proc_event *e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&proc_events_lost, 1);
		return;
	}
	e->kind = kind;
	e->pid = pid;
	e->ppid = ppid;
	e->flags = flags;
	e->ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
}

/* A new process (not a thread, not a vfork sharing its parent's memory) of
 * a traced parent inherits its entry in targets: same binary, same layout. */
static __always_inline int watch_fork(void *targets, struct task_struct *parent,
				      struct task_struct *child)
{
	__u32 ppid = parent->tgid, pid = child->tgid, flags = 0;
	void *t;

	if (child->pid != child->tgid || child->mm == parent->mm)
		return 0;
	t = bpf_map_lookup_elem(targets, &ppid);
	if (!t)
		return 0;
	if (!bpf_map_update_elem(targets, &pid, t, BPF_NOEXIST))
		flags |= PYBPF_PROC_REGISTERED;
	post_proc_event(PYBPF_PROC_FORK, pid, ppid, flags);
	return 0;
}

/* Every exec: user space looks whether the new program is a Python. */
static __always_inline int watch_exec(void *targets, struct task_struct *task)
{
	__u32 pid = task->tgid, flags = 0;

	if (!bpf_map_delete_elem(targets, &pid))
		flags |= PYBPF_PROC_WAS_TARGET;
	post_proc_event(PYBPF_PROC_EXEC, pid, 0, flags);
	return 0;
}

/* The last thread of a traced process ends: its PID may be reused. */
static __always_inline int watch_exit(void *targets, struct task_struct *task, bool group_dead)
{
	__u32 pid = task->tgid;

	if (group_dead && !bpf_map_delete_elem(targets, &pid))
		post_proc_event(PYBPF_PROC_EXIT, pid, 0, 0);
	return 0;
}

#endif
