// SPDX-License-Identifier: GPL-2.0-only
/* Sampling profiler of CPython stacks, in the kernel.
 *
 * On-CPU: a CPU-clock perf event per CPU fires pys_cpu_sample in whatever
 * task runs there; for a target's thread it walks the Python frames and
 * counts the stack. Off-CPU: at each wall-clock tick, user space runs the
 * sleepable task iterator pys_wall_tick over the target's threads; each
 * thread found off the CPU has its stack counted. A thread that has not run
 * since the previous tick has the same stack, so it is counted again without
 * a walk: the cost of a tick is bounded by the number of threads that ran,
 * whatever their context-switch rate. Stacks are kept as (code object,
 * instruction) frames in kernel maps; user space resolves them at the end. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "pybpf.h"
#include "pymem.bpf.h"
#include "procwatch.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* From include/linux/sched.h, which vmlinux.h does not carry. */
#define TASK_RUNNING 0
#define PF_EXITING 0x00000004
#define EEXIST 17

/* Time one CPU sample stands for: the perf events' period. */
const volatile __u64 cpu_sample_ns = 10101010;
/* Time one off-CPU sample stands for, set by user space before each tick. */
__u64 tick_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct pybpf_sample_target);
} sample_targets SEC(".maps");

/* host TID -> its PyThreadState, checked against the FS base at each use. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYBPF_MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} thread_states SEC(".maps");

/* Per thread, for the wall-clock tick: its context switches and the stack
 * counted at the previous tick. */
struct wall_thread {
	__u64 switches;
	__u64 stack_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYBPF_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct wall_thread);
} wall_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_STACKS);
	__type(key, __u64);
	__type(value, struct pybpf_sample_stack);
} sample_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_SAMPLE_KEYS);
	__type(key, struct pybpf_sample_key);
	__type(value, struct pybpf_sample_count);
} sample_counts SEC(".maps");

/* Keys of stacks stored for the first time: user space reads their code
 * objects at once, while they are alive (one event per new stack, never
 * one per sample). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} new_stacks SEC(".maps");

/* Work space of one walk. Slot 0 serves the perf event, slot 1 the
 * iterator: a sleeping iterator may be interrupted by a perf sample. */
enum { SLOT_CPU, SLOT_WALL, SLOT_NR };

struct scratch {
	struct pybpf_sample_stack stack;
	__u8 frame[PYBPF_BLOCK_SIZE + 8];
	__u8 code[PYBPF_BLOCK_SIZE + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLOT_NR);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PYBPF_SLOSS_NR);
	__type(key, __u32);
	__type(value, __u64);
} sample_losses SEC(".maps");

static __always_inline void count_loss(__u32 cause)
{
	__u64 *n = bpf_map_lookup_elem(&sample_losses, &cause);

	if (n)
		*n += 1;
}

/* The instruction a frame runs, as an index in 2-byte code units. */
static __always_inline __s32 frame_lasti(const struct pybpf_sample_target *t, const __u8 *fb,
					 __u64 code)
{
	const struct pybpf_offsets *off = &t->off;
	__s32 v;
	__u64 p, base;

	if (off->lasti_kind == PYBPF_LASTI_PTR) {
		p = block_u64(fb, &t->frame_span, off->frame_instr);
		base = code + off->code_adaptive;
		if (p < base || p - base > 0x7fffffffull)
			return -1;
		return (__s32)((p - base) / 2);
	}
	v = (__s32)block_u32(fb, &t->frame_span, off->frame_instr);
	if (v < 0)
		return -1;
	return off->lasti_kind == PYBPF_LASTI_BYTES ? v / 2 : v;
}

/* Frames that are not Python functions: the C-stack and interpreter
 * sentinels (owner >= 3, 3.12+) and 3.13+'s __init__ shim. */
static __always_inline bool frame_is_shim(const struct pybpf_sample_target *t, const __u8 *fb)
{
	return t->off.frame_owner != PYBPF_NO_OFFSET &&
	       block_u8(fb, &t->frame_span, t->off.frame_owner) >= 3;
}

/* The two bpf_loop callbacks of a step function step(ctx, task): one reads
 * the running task's memory (task NULL, so the sleepable-only copy is
 * compiled out), the other the iterator's task kept in ctx->task. */
#define LOOP_CALLBACKS(step, ctx_type)                                \
	static long step##_current(__u64 i, void *ctx)                \
	{                                                             \
		return step(ctx, NULL);                               \
	}                                                             \
	static long step##_task(__u64 i, void *ctx)                   \
	{                                                             \
		ctx_type *c = ctx;                                    \
		return step(c, c->task);                              \
	}

struct walk {
	const struct pybpf_sample_target *t;
	struct scratch *s;
	struct task_struct *task; /* the iterator's; NULL in the perf event */
	__u64 frame;
	__u32 n;
	int failed;
};

/* One frame of the walk: bpf_loop keeps the verifier's work per step, not
 * per possible depth. 1 ends the walk. */
static __always_inline long walk_step(struct walk *w, struct task_struct *task)
{
	const struct pybpf_sample_target *t = w->t;
	struct scratch *s = w->s;
	__u8 *fb, *cb;
	__u64 code, frame = w->frame;

	if (!frame)
		return 1;
	fb = copy_span(s->frame, frame, &t->frame_span, task);
	if (!fb) {
		w->failed = 1;
		return 1;
	}
	code = block_u64(fb, &t->frame_span, t->off.frame_code) & t->off.code_ptr_mask;
	w->frame = block_u64(fb, &t->frame_span, t->off.frame_previous);
	if (frame_is_shim(t, fb) || !code)
		return 0;
	if (w->n >= PYBPF_SAMPLE_DEPTH) {
		w->frame = frame; /* not taken: the stack is truncated */
		return 1;
	}
	cb = copy_span(s->code, code, &t->code_span, task);
	if (!cb) {
		w->failed = 1;
		return 1;
	}
	if (block_u32(cb, &t->code_span, t->off.code_flags) & PYBPF_CO_NO_MONITORING_EVENTS &&
	    t->off.lasti_kind == PYBPF_LASTI_PTR)
		return 0;
	s->stack.frames[w->n & (PYBPF_SAMPLE_DEPTH - 1)] = (struct pybpf_sample_frame){
		.code = code | PYBPF_CODE_TAG(block_u64(cb, &t->code_span, t->off.code_filename)),
		.lasti = frame_lasti(t, fb, code),
		.firstlineno = (__s32)block_u32(cb, &t->code_span, t->off.code_firstlineno),
	};
	w->n++;
	return 0;
}

LOOP_CALLBACKS(walk_step, struct walk)

/* Walks the frames from `frame` towards the root into s->stack, leaf first
 * (shim frames do not count towards the depth, within a bound). 0, or -1
 * when target memory could not be read. */
static __always_inline int walk_stack(const struct pybpf_sample_target *t, __u64 frame,
				      struct scratch *s, struct task_struct *task)
{
	struct walk w = { .t = t, .s = s, .task = task, .frame = frame };

	s->stack.flags = 0;
	bpf_loop(2 * PYBPF_SAMPLE_DEPTH, task ? walk_step_task : walk_step_current, &w, 0);
	if (w.frame && !w.failed)
		s->stack.flags |= PYBPF_STACK_TRUNCATED; /* frames left beyond the bound */
	s->stack.depth = w.n;
	return w.failed ? -1 : 0;
}

/* FNV-1a over the frames that were filled in: the stack's key. */
static __always_inline __u64 stack_hash(const struct pybpf_sample_stack *st)
{
	__u64 h = (0xcbf29ce484222325ull ^ st->flags ^ ((__u64)st->pid << 32)) * 0x100000001b3ull;

	for (__u32 i = 0; i < PYBPF_SAMPLE_DEPTH; i++) {
		if (i >= st->depth)
			break;
		h = (h ^ st->frames[i].code) * 0x100000001b3ull;
		h = (h ^ (__u64)(__u32)st->frames[i].lasti) * 0x100000001b3ull;
	}
	return (h ^ st->depth) * 0x100000001b3ull;
}

/* Samples counted so far, all processes (the progress line's figure). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} samples_counted SEC(".maps");

/* Adds one sample of kind to an already stored stack. */
static __always_inline void count_stack(__u64 stack_id, __u32 pid, __u32 tid, __u32 kind,
					__u64 ns)
{
	struct pybpf_sample_key key = { .stack_id = stack_id, .pid = pid, .tid = tid, .kind = kind };
	struct pybpf_sample_count one = { .samples = 1, .ns = ns }, *c;
	__u32 zero = 0;
	__u64 *total = bpf_map_lookup_elem(&samples_counted, &zero);

	if (total)
		*total += 1;

	c = bpf_map_lookup_elem(&sample_counts, &key);
	if (!c && !bpf_map_update_elem(&sample_counts, &key, &one, BPF_NOEXIST))
		return;
	if (!c)
		c = bpf_map_lookup_elem(&sample_counts, &key); /* raced with another CPU */
	if (!c) {
		count_loss(PYBPF_SLOSS_COUNTS_FULL);
		return;
	}
	__sync_fetch_and_add(&c->samples, 1);
	__sync_fetch_and_add(&c->ns, ns);
}

struct tstate_walk {
	const struct pybpf_offsets *off;
	struct task_struct *task; /* the iterator's; NULL in the perf event */
	__u64 fsbase;
	__u64 ts;    /* the thread state looked at, then the one found */
	__u64 found;
};

static __always_inline long tstate_step(struct tstate_walk *w, struct task_struct *task)
{
	if (!w->ts)
		return 1;
	if (read_ptr_in(w->ts + w->off->tstate_thread_id, task) == w->fsbase) {
		w->found = w->ts;
		return 1;
	}
	w->ts = read_ptr_in(w->ts + w->off->tstate_next, task);
	return 0;
}

LOOP_CALLBACKS(tstate_step, struct tstate_walk)

/* The thread's PyThreadState: the cached one while it still matches, else
 * found on the main interpreter's thread list, which services with big
 * thread pools make long (bpf_loop: up to PYBPF_MAX_SAMPLE_THREAD_WALK). */
static __always_inline __u64 thread_state_of(const struct pybpf_sample_target *t, __u64 fsbase,
					     __u64 cached, struct task_struct *task)
{
	struct tstate_walk w = { .off = &t->off, .task = task, .fsbase = fsbase };

	if (cached && read_ptr_in(cached + t->off.tstate_thread_id, task) == fsbase)
		return cached;
	w.ts = read_ptr_in(t->runtime_addr + t->off.runtime_interp_main, task);
	if (!w.ts)
		return 0;
	w.ts = read_ptr_in(w.ts + t->off.interp_threads_head, task);
	bpf_loop(PYBPF_MAX_SAMPLE_THREAD_WALK, task ? tstate_step_task : tstate_step_current, &w,
		 0);
	return w.found;
}

/* Walks the stack of one thread and stores it; the stack's key, or 0. */
static __always_inline __u64 store_stack(const struct pybpf_sample_target *t, __u32 pid,
					 __u32 tid, __u64 fsbase, struct task_struct *task,
					 __u32 slot)
{
	struct scratch *s = bpf_map_lookup_elem(&scratch, &slot);
	__u64 cached = 0, *cp, ts, id;
	long e;

	if (!s)
		return 0;
	cp = bpf_map_lookup_elem(&thread_states, &tid);
	if (cp)
		cached = *cp;
	ts = thread_state_of(t, fsbase, cached, task);
	if (!ts) {
		count_loss(PYBPF_SLOSS_NO_TSTATE);
		return 0;
	}
	if (!cp || *cp != ts)
		bpf_map_update_elem(&thread_states, &tid, &ts, BPF_ANY);
	if (walk_stack(t, tstate_frame_in(&t->off, ts, task), s, task)) {
		count_loss(PYBPF_SLOSS_READ);
		return 0;
	}
	s->stack.pid = pid; /* stacks are per process: each resolves its own code objects */
	id = stack_hash(&s->stack);
	e = bpf_map_update_elem(&sample_stacks, &id, &s->stack, BPF_NOEXIST);
	if (e && e != -EEXIST) {
		count_loss(PYBPF_SLOSS_STACKS_FULL);
		return 0;
	}
	if (!e)
		bpf_ringbuf_output(&new_stacks, &id, sizeof(id), 0);
	return id;
}

/* Walks and counts the stack of one thread; the stack's key, or 0. */
static __always_inline __u64 sample_thread(const struct pybpf_sample_target *t, __u32 pid,
					   __u32 tid, __u64 fsbase, struct task_struct *task,
					   __u32 slot, __u32 kind, __u64 ns)
{
	__u64 id = store_stack(t, pid, tid, fsbase, task, slot);

	if (id)
		count_stack(id, pid, tid, kind, ns);
	return id;
}

SEC("perf_event")
int pys_cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	struct pybpf_sample_target *t = bpf_map_lookup_elem(&sample_targets, &pid);
	struct task_struct *task;

	if (!t)
		return 0;
	task = bpf_get_current_task_btf();
	sample_thread(t, pid, tid, task->thread.fsbase, NULL, SLOT_CPU, PYBPF_SAMPLE_CPU,
		      cpu_sample_ns);
	return 0;
}

/* A thread waiting for a CPU is off it, unless it is waiting because this
 * tick's own thread took its CPU: then it was queued by the very switch
 * that let this tick run (same run-queue clock reading). */
static __always_inline bool preempted_by_tick(struct task_struct *task)
{
	struct task_struct *me = bpf_get_current_task_btf();

	return task->__state == TASK_RUNNING && task->sched_info.last_queued &&
	       task->sched_info.last_queued == me->sched_info.last_arrival;
}

SEC("iter.s/task")
int pys_wall_tick(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct pybpf_sample_target *t;
	struct wall_thread *w, nw = {};
	__u32 pid, tid;
	__u64 ns = tick_ns;

	if (!task || task->on_cpu || task->flags & PF_EXITING || preempted_by_tick(task))
		return 0; /* on a CPU: the perf events count it */
	pid = task->tgid;
	tid = task->pid;
	t = bpf_map_lookup_elem(&sample_targets, &pid);
	if (!t)
		return 0;
	nw.switches = task->nvcsw + task->nivcsw;
	w = bpf_map_lookup_elem(&wall_threads, &tid);
	if (w && w->switches == nw.switches && w->stack_id) {
		count_stack(w->stack_id, pid, tid, PYBPF_SAMPLE_OFFCPU, ns);
		return 0;
	}
	nw.stack_id = sample_thread(t, pid, tid, task->thread.fsbase, task, SLOT_WALL,
				    PYBPF_SAMPLE_OFFCPU, ns);
	bpf_map_update_elem(&wall_threads, &tid, &nw, BPF_ANY);
	return 0;
}

/* The alternative design, kept for the benchmark (--offcpu-method switch):
 * the stack is walked at every switch out of a target thread,
 * and the time until it runs again is added to it. Exact off-CPU time, but
 * a cost per context switch, which grows with the target's switch rate. */
struct switch_out {
	__u64 t_out;
	__u64 stack_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct switch_out);
} switched_out SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(pys_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 pid = prev->tgid, tid = prev->pid;
	struct pybpf_sample_target *t = bpf_map_lookup_elem(&sample_targets, &pid);
	struct switch_out out = {}, *in;

	if (t) {
		out.stack_id = store_stack(t, pid, tid, prev->thread.fsbase, NULL, SLOT_CPU);
		out.t_out = bpf_ktime_get_ns();
		if (out.stack_id)
			bpf_map_update_elem(&switched_out, &tid, &out, BPF_ANY);
	}
	tid = next->pid;
	in = bpf_map_lookup_elem(&switched_out, &tid);
	if (!in)
		return 0;
	pid = next->tgid;
	count_stack(in->stack_id, pid, tid, PYBPF_SAMPLE_OFFCPU, bpf_ktime_get_ns() - in->t_out);
	bpf_map_delete_elem(&switched_out, &tid);
	return 0;
}

/* --all-python only (bpf/procwatch.bpf.h). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(pys_proc_fork, struct task_struct *parent, struct task_struct *child)
{
	return watch_fork(&sample_targets, parent, child);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pys_proc_exec, struct task_struct *task)
{
	return watch_exec(&sample_targets, task);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(pys_proc_exit, struct task_struct *task, bool group_dead)
{
	return watch_exit(&sample_targets, task, group_dead);
}
