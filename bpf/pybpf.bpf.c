// SPDX-License-Identifier: GPL-2.0-only
/* Exact per-function accounting of CPython calls, in the kernel.
 *
 * Two backends feed the same shadow stacks (shadow.bpf.h): CPython's USDT
 * probes (usdt.bpf.h) and a uprobe/uretprobe pair on the frame-evaluation
 * function (evalframe.bpf.h). User space reads the maps once, at the end:
 * no event per call crosses to user space. The scheduler's switches add the
 * time a traced thread spends off the CPU to the call on top of its stack. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "pybpf.h"
#include "pymem.bpf.h"
#include "shadow.bpf.h"
#include "usdt.bpf.h"
#include "evalframe.bpf.h"
#include "procwatch.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("usdt")
int py_function_entry(struct pt_regs *ctx)
{
	return on_call(ctx);
}

SEC("usdt")
int py_function_return(struct pt_regs *ctx)
{
	return on_return(ctx);
}

SEC("uprobe")
int py_eval_entry(struct pt_regs *ctx)
{
	return on_eval_entry(ctx);
}

SEC("uretprobe")
int py_eval_return(struct pt_regs *ctx)
{
	return on_eval_return(ctx);
}

SEC("uprobe")
int py_init_pop(struct pt_regs *ctx)
{
	return on_frame_pop(ctx);
}

/* Off-CPU time: from the switch out of a thread with an active call to the
 * switch back in, added to the call then on top of its stack. */
SEC("tp_btf/sched_switch")
int BPF_PROG(py_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 tid = prev->pid;
	struct pybpf_stack *st;
	__u64 now;

	if (tracing_stopped)
		return 0;
	now = bpf_ktime_get_ns();
	st = bpf_map_lookup_elem(&stacks, &tid);
	if (st && st->depth)
		st->off_since = now;
	tid = next->pid;
	st = bpf_map_lookup_elem(&stacks, &tid);
	if (!st || !st->off_since)
		return 0;
	if (st->depth)
		st->frames[(st->depth - 1) & (PYBPF_MAX_DEPTH - 1)].offcpu += now - st->off_since;
	st->off_since = 0;
	return 0;
}

/* A thread's shadow stack dies with it: TIDs are reused. Looked up by
 * TID, not by process: the process's entry in targets may be gone already. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(py_thread_exit, struct task_struct *task)
{
	__u32 tid = task->pid;
	struct pybpf_stack *st;

	/* Once stopped, user space closes the open calls of every stack. */
	if (tracing_stopped)
		return 0;
	st = bpf_map_lookup_elem(&stacks, &tid);
	if (!st)
		return 0;
	/* Calls still open when a thread ends (os._exit, a fatal signal) never return. */
	if (st->depth)
		count_losses(PYBPF_LOSS_UNPAIRED_CALL, st->depth);
	bpf_map_delete_elem(&stacks, &tid);
	return 0;
}

/* --all-python only (bpf/procwatch.bpf.h). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(py_proc_fork, struct task_struct *parent, struct task_struct *child)
{
	return tracing_stopped ? 0 : watch_fork(&targets, parent, child);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(py_proc_exec, struct task_struct *task)
{
	__u32 tid = task->pid;
	struct pybpf_stack *st = bpf_map_lookup_elem(&stacks, &tid);

	/* The calls of the old program never return; its layout is gone too. */
	if (st && !tracing_stopped) {
		if (st->depth)
			count_losses(PYBPF_LOSS_UNPAIRED_CALL, st->depth);
		bpf_map_delete_elem(&stacks, &tid);
	}
	return watch_exec(&targets, task);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(py_proc_exit, struct task_struct *task, bool group_dead)
{
	return watch_exit(&targets, task, group_dead);
}

/* Empty programs on the same probe sites: the benchmark's cost floor. */
SEC("usdt")
int BPF_USDT(py_floor_entry)
{
	return 0;
}

SEC("usdt")
int BPF_USDT(py_floor_return)
{
	return 0;
}

SEC("uprobe")
int py_eval_floor_entry(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int py_eval_floor_return(struct pt_regs *ctx)
{
	return 0;
}
