/* SPDX-License-Identifier: GPL-2.0-only */
/* The shadow stacks and cProfile's bookkeeping, shared by both backends.
 *
 * Every traced thread keeps a shadow stack of its active Python calls. A
 * call pushes (function, start time); its end pops it and adds cProfile's
 * figures (calls, recursive calls, own time, cumulative time) and the
 * off-CPU part of the own time to per-function and per-(caller, callee)
 * maps, and with --latency its duration to a per-function histogram. */
#ifndef PYBPF_SHADOW_BPF_H
#define PYBPF_SHADOW_BPF_H

#include "pybpf.h"

/* CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR */
#define CO_ANY_GENERATOR 0x2a0
/* 3.13+ shim frames (_Py_InitCleanup) that profilers never see. */
#define CO_NO_MONITORING_EVENTS 0x2000000
#define FRAME_OWNED_BY_THREAD 0
#define FRAME_OWNED_BY_GENERATOR 1

/* Set by user space when tracing stops, before the probes are detached (which
 * takes milliseconds per probe): the stacks freeze as they are at that moment. */
volatile bool tracing_stopped;
/* --latency, set before loading: without it the histogram code is dead. */
const volatile bool latency_enabled;
/* --all-python's progress line counts calls; -p leaves the hot path alone. */
const volatile bool calls_counted_enabled;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct pybpf_target);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_THREADS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pybpf_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pybpf_stack);
} empty_stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PYBPF_MAX_FUNCS);
	__type(key, struct pybpf_func_key);
	__type(value, struct pybpf_counts);
} funcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PYBPF_MAX_PAIRS);
	__type(key, struct pybpf_pair_key);
	__type(value, struct pybpf_counts);
} pairs SEC(".maps");

/* Sized down to one entry by user space unless --latency is given.
 * Preallocated: inserting into a map that allocates on demand fails now
 * and then in a burst of new functions (seen at interpreter start-up). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_LATENCY_FUNCS);
	__type(key, struct pybpf_func_key);
	__type(value, struct pybpf_hist);
} latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_FUNCS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pybpf_func_key);
	__type(value, struct pybpf_names);
} names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pybpf_names);
} names_scratch SEC(".maps");

/* Per process: user space reports each process's own losses. Sized to
 * twice the targets table by user space (exited processes keep theirs). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 2 * PYBPF_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct pybpf_loss_counts);
} losses SEC(".maps");

/* Calls counted so far, all processes (the progress line's figure). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} calls_counted SEC(".maps");

/* Per-CPU cache of the functions already known: a hit costs no read of
 * target memory (usdt) or no lookup in the names map (evalframe). */
struct seen_slot {
	__u64 name_tag;
	__u64 file_tag;
	__s32 line;
	__s32 firstlineno;
	__u32 flags;
	__u32 valid;
	__u32 pid; /* the same addresses mean other objects in another process */
	__u32 pad;
};

struct names_seen {
	struct seen_slot slot[PYBPF_NAMES_SEEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct names_seen);
} names_seen SEC(".maps");

/* The running process's (the slots are per CPU; every caller runs in the target). */
static __always_inline __u32 current_pid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline struct seen_slot *seen_slot_of(__u64 name_tag, __u64 file_tag, __s32 line)
{
	struct names_seen *seen;
	__u32 zero = 0;
	__u64 h = name_tag ^ (file_tag >> 3) ^ ((__u64)(__u32)line * 0x9e3779b1u) ^
		  ((__u64)current_pid() << 20);

	seen = bpf_map_lookup_elem(&names_seen, &zero);
	return seen ? &seen->slot[(h >> 4) & (PYBPF_NAMES_SEEN - 1)] : NULL;
}

static __always_inline bool seen_slot_holds(const struct seen_slot *slot, __u64 name_tag,
					    __u64 file_tag, __s32 line)
{
	return slot->valid && slot->name_tag == name_tag && slot->file_tag == file_tag &&
	       slot->line == line && slot->pid == current_pid();
}

static __always_inline void seen_slot_set(struct seen_slot *slot, __u64 name_tag, __u64 file_tag,
					  __s32 line)
{
	slot->name_tag = name_tag;
	slot->file_tag = file_tag;
	slot->line = line;
	slot->pid = current_pid();
	slot->valid = 1;
}

/* Every loss is counted in the context of the traced thread it concerns. */
static __always_inline void count_losses(__u32 what, __u64 how_many)
{
	static const struct pybpf_loss_counts none;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pybpf_loss_counts *c = bpf_map_lookup_elem(&losses, &pid);

	if (!c) {
		bpf_map_update_elem(&losses, &pid, &none, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&losses, &pid);
	}
	if (c && what < PYBPF_LOSS_NR)
		c->n[what] += how_many; /* this CPU's copy: no other writer */
}

static __always_inline void count_call(void)
{
	__u32 zero = 0;
	__u64 *n;

	if (!calls_counted_enabled)
		return;
	n = bpf_map_lookup_elem(&calls_counted, &zero);
	if (n)
		*n += 1;
}

static __always_inline void count_loss(__u32 what)
{
	count_losses(what, 1);
}

/* The thread's shadow stack, created on its first traced call (NULL for a
 * thread of a process that is not traced). */
static __always_inline struct pybpf_stack *thread_stack(__u32 pid, __u32 tid, bool create)
{
	struct pybpf_stack *st = bpf_map_lookup_elem(&stacks, &tid);
	struct pybpf_target *t;
	__u32 zero = 0;

	if (st || !create)
		return st;
	t = bpf_map_lookup_elem(&targets, &pid);
	st = bpf_map_lookup_elem(&empty_stack, &zero);
	if (!t || !st)
		return NULL;
	bpf_map_update_elem(&stacks, &tid, st, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&stacks, &tid);
	if (!st) {
		count_loss(PYBPF_LOSS_STACKS_FULL);
		return NULL;
	}
	st->target = *t;
	st->pid = pid;
	return st;
}

/* The running thread's stack at a call, or NULL if it is not traced. */
static __always_inline struct pybpf_stack *calling_stack(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	return tracing_stopped ? NULL : thread_stack(id >> 32, (__u32)id, true);
}

/* The running thread's stack at a return, or NULL when the return is not
 * to be paired: tracing stopped, not traced (a return with no traced call
 * in a traced process counts as such), or for a call beyond the stack. */
static __always_inline struct pybpf_stack *returning_stack(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	struct pybpf_stack *st;

	if (tracing_stopped)
		return NULL;
	st = thread_stack(pid, (__u32)id, false);
	if (!st) {
		if (bpf_map_lookup_elem(&targets, &pid))
			count_loss(PYBPF_LOSS_UNPAIRED_RETURN);
		return NULL;
	}
	if (st->excess) {
		st->excess--;
		return NULL;
	}
	return st;
}

static __always_inline void *value_of(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* cProfile's Stop(): own time excludes traced callees; cumulative time is
 * counted for the outermost activation only. */
static __always_inline void add_call(struct pybpf_counts *c, __u64 tt, __u64 it, __u64 off,
				     bool outer)
{
	__sync_fetch_and_add(&c->callcount, 1);
	__sync_fetch_and_add(&c->inlinetime, it);
	if (off)
		__sync_fetch_and_add(&c->offcputime, off);
	if (outer)
		__sync_fetch_and_add(&c->totaltime, tt);
	else
		__sync_fetch_and_add(&c->reccallcount, 1);
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

static __always_inline void add_latency(const struct pybpf_func_key *key, __u64 tt)
{
	static const struct pybpf_hist zero;
	struct pybpf_hist *h = value_of(&latency, key, &zero);
	__u32 slot = log2_u64(tt);

	if (slot >= PYBPF_HIST_SLOTS)
		slot = PYBPF_HIST_SLOTS - 1;
	if (h)
		__sync_fetch_and_add(&h->slot[slot], 1);
	else
		count_loss(PYBPF_LOSS_LATENCY_FULL);
}

/* Closes the call at idx, which ended at `now`. A global function: the
 * verifier checks it once, not once per path of each caller. */
__noinline int account(struct pybpf_stack *st, __u32 idx, __u64 now)
{
	static const struct pybpf_counts zero;
	struct pybpf_frame *f, *caller;
	struct pybpf_pair_key pk = {};
	struct pybpf_counts *c;
	__u64 tt, it;

	if (!st)
		return 0;
	idx &= PYBPF_MAX_DEPTH - 1;
	f = &st->frames[idx];
	tt = now > f->t0 ? now - f->t0 : 0;
	it = tt > f->subt ? tt - f->subt : 0;
	c = value_of(&funcs, &f->key, &zero);
	count_call();
	if (c)
		add_call(c, tt, it, f->offcpu, f->flags & PYBPF_FRAME_OUTER);
	else
		count_loss(PYBPF_LOSS_FUNCS_FULL);
	if (c && latency_enabled)
		add_latency(&f->key, tt);
	if (idx == 0)
		return 0;
	caller = &st->frames[(idx - 1) & (PYBPF_MAX_DEPTH - 1)];
	caller->subt += tt;
	/* A call the table has no row for gets no caller/callee row either:
	 * its caller's callees would add up to more than the table shows. */
	if (!c)
		return 0;
	pk.callee = f->key;
	pk.caller = caller->key;
	c = value_of(&pairs, &pk, &zero);
	if (c)
		add_call(c, tt, it, 0, f->flags & PYBPF_FRAME_PAIR_OUTER);
	else
		count_loss(PYBPF_LOSS_PAIRS_FULL);
	return 0;
}

static __always_inline bool same_function(const struct pybpf_func_key *a,
					  const struct pybpf_func_key *b)
{
	return a->name_tag == b->name_tag && a->file_tag == b->file_tag &&
	       a->firstlineno == b->firstlineno;
}

/* Recursion flags of a new call: is the function, or the same caller->callee
 * pair, already active below it on this thread? One step per stack entry. */
struct recursion_ctx {
	const struct pybpf_stack *st;
	const struct pybpf_func_key *key, *caller, *below;
	__u32 depth, flags;
};

static long recursion_step(__u32 i, void *data)
{
	struct recursion_ctx *c = data;
	const struct pybpf_func_key *k;

	if (i >= c->depth)
		return 1;
	k = &c->st->frames[i & (PYBPF_MAX_DEPTH - 1)].key;
	if (same_function(k, c->key)) {
		c->flags &= ~PYBPF_FRAME_OUTER;
		if (c->below && c->caller && same_function(c->below, c->caller))
			c->flags &= ~PYBPF_FRAME_PAIR_OUTER;
	}
	c->below = k;
	return 0;
}

static __always_inline struct recursion_ctx recursion_start(const struct pybpf_stack *st,
							    __u32 depth,
							    const struct pybpf_func_key *key)
{
	struct recursion_ctx c = { .st = st, .key = key, .depth = depth,
				   .flags = PYBPF_FRAME_OUTER | PYBPF_FRAME_PAIR_OUTER };

	if (depth > 0)
		c.caller = &st->frames[(depth - 1) & (PYBPF_MAX_DEPTH - 1)].key;
	return c;
}

/* The hot path's version: an inline loop. */
static __always_inline __u32 recursion_flags(const struct pybpf_stack *st, __u32 depth,
					     const struct pybpf_func_key *key)
{
	struct recursion_ctx c = recursion_start(st, depth, key);

	for (__u32 i = 0; i < PYBPF_MAX_DEPTH; i++)
		if (recursion_step(i, &c))
			break;
	return c.flags;
}

/* The rare paths' version, where an inline loop would make the verifier's
 * work explode: bpf_loop's callback is verified once. */
static __always_inline __u32 recursion_flags_loop(const struct pybpf_stack *st, __u32 depth,
						  const struct pybpf_func_key *key)
{
	struct recursion_ctx c = recursion_start(st, depth, key);

	bpf_loop(PYBPF_MAX_DEPTH, recursion_step, &c, 0);
	return c.flags;
}

/* Pushes a call; extra_flags is SKIP/NORET. False if the stack is full. */
static __always_inline bool push_frame(struct pybpf_stack *st, const struct pybpf_func_key *key,
				       __u64 frame, __u32 extra_flags)
{
	struct pybpf_frame *f;
	__u32 depth = st->depth;

	if (st->excess || depth >= PYBPF_MAX_DEPTH) {
		count_loss(PYBPF_LOSS_DEPTH);
		return false;
	}
	f = &st->frames[depth];
	f->key = *key;
	f->subt = 0;
	f->offcpu = 0;
	f->frame = frame;
	f->flags = extra_flags & PYBPF_FRAME_SKIP ? extra_flags
						  : recursion_flags(st, depth, key) | extra_flags;
	st->depth = depth + 1;
	f->t0 = bpf_ktime_get_ns();
	return true;
}

static __always_inline void push_call(struct pybpf_stack *st, const struct pybpf_func_key *key)
{
	if (!push_frame(st, key, 0, 0))
		st->excess++;
}

#endif
