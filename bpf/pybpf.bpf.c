// SPDX-License-Identifier: GPL-2.0-only
/* Exact per-function accounting of CPython calls, in the kernel.
 *
 * Every traced thread keeps a shadow stack of its active Python calls. An
 * entry pushes (function, start time); the matching return pops it and adds
 * cProfile's figures (calls, recursive calls, own time, cumulative time) to
 * per-function and per-(caller, callee) maps. User space reads the maps once,
 * at the end: no event per call crosses to user space. Target memory is read
 * only the first time a CPU meets a function, and on 3.15's odd events. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>

#include "pybpf.h"
#include "pymem.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space when tracing stops, before the probes are detached (which
 * takes milliseconds per probe): the stacks freeze as they are at that moment. */
volatile bool tracing_stopped;

/* CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR */
#define CO_ANY_GENERATOR 0x2a0
/* 3.13+ shim frames (_Py_InitCleanup) that profilers never see. */
#define CO_NO_MONITORING_EVENTS 0x2000000
#define FRAME_OWNED_BY_THREAD 0
#define FRAME_OWNED_BY_GENERATOR 1
#define FRAME_OWNED_BY_INTERPRETER 3 /* and CSTACK (4): entry frames, 3.12+ */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct pybpf_target);
} targets SEC(".maps");

/* Per-CPU cache of the functions already known, by what the entry probe
 * says (name, file, current line): their first line and code flags. A hit
 * costs no read of target memory. */
struct seen_slot {
	__u64 name_tag;
	__u64 file_tag;
	__s32 line;
	__s32 firstlineno;
	__u32 flags;
	__u32 valid;
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PYBPF_LOSS_NR);
	__type(key, __u32);
	__type(value, __u64);
} losses SEC(".maps");


static __always_inline void count_losses(__u32 what, __u64 how_many)
{
	__u64 *n = bpf_map_lookup_elem(&losses, &what);

	if (n)
		__sync_fetch_and_add(n, how_many);
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
	return st;
}

/* What the probe says: name and file pointers and current line. */
struct probe_args {
	__u64 name_tag, file_tag;
	__s32 line;
};

static __always_inline void read_args(struct pt_regs *ctx, struct probe_args *a)
{
	long file = 0, name = 0, line = 0;

	bpf_usdt_arg(ctx, 0, &file);
	bpf_usdt_arg(ctx, 1, &name);
	bpf_usdt_arg(ctx, 2, &line);
	a->file_tag = (__u64)file;
	a->name_tag = (__u64)name;
	a->line = (__s32)line;
}

static __always_inline struct seen_slot *seen_slot_of(const struct probe_args *a)
{
	struct names_seen *seen;
	__u32 zero = 0;
	__u64 h = a->name_tag ^ (a->file_tag >> 3) ^ ((__u64)(__u32)a->line * 0x9e3779b1u);

	seen = bpf_map_lookup_elem(&names_seen, &zero);
	return seen ? &seen->slot[(h >> 4) & (PYBPF_NAMES_SEEN - 1)] : NULL;
}

/* Reads, from the code object the frame runs, what the cache keeps; names the
 * function in the names map the first time. Returns 0, or -1 if unreadable. */
static __always_inline int learn_function(const struct pybpf_target *t, __u64 frame, __u32 pid,
					  const struct probe_args *a, struct seen_slot *slot)
{
	struct pybpf_func_key key = { .name_tag = a->name_tag, .file_tag = a->file_tag, .pid = pid };
	struct pybpf_names *n;
	__u32 zero = 0;
	__u8 *fblk, *cblk;
	__u64 code;

	fblk = frame ? read_block(BLOCK_FRAME, frame, &t->frame_span) : NULL;
	code = fblk ? block_u64(fblk, &t->frame_span, t->off.frame_code) & t->off.code_ptr_mask : 0;
	cblk = code ? read_block(BLOCK_CODE, code, &t->code_span) : NULL;
	if (!cblk)
		return -1;
	key.firstlineno = (__s32)block_u64(cblk, &t->code_span, t->off.code_firstlineno);
	slot->flags = (__u32)block_u64(cblk, &t->code_span, t->off.code_flags);
	slot->firstlineno = key.firstlineno;
	slot->name_tag = a->name_tag;
	slot->file_tag = a->file_tag;
	slot->line = a->line;
	slot->valid = 1;
	if (bpf_map_lookup_elem(&names, &key))
		return 0;
	n = bpf_map_lookup_elem(&names_scratch, &zero);
	if (!n)
		return 0;
	n->firstlineno = key.firstlineno;
	if (bpf_probe_read_user_str(n->filename, sizeof(n->filename), (void *)a->file_tag) < 0)
		n->filename[0] = '\0';
	if (bpf_probe_read_user_str(n->name, sizeof(n->name), (void *)a->name_tag) < 0)
		n->name[0] = '\0';
	bpf_map_update_elem(&names, &key, n, BPF_NOEXIST);
	return 0;
}

static __always_inline bool slot_matches(const struct seen_slot *slot, const struct probe_args *a)
{
	return slot->valid && slot->name_tag == a->name_tag && slot->file_tag == a->file_tag &&
	       slot->line == a->line;
}

static __always_inline struct pybpf_counts *counts_of(void *map, const void *key)
{
	static const struct pybpf_counts zero;
	struct pybpf_counts *c = bpf_map_lookup_elem(map, key);

	if (c)
		return c;
	bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* cProfile's Stop(): own time excludes traced callees; cumulative time is
 * counted for the outermost activation only. */
static __always_inline void add_call(struct pybpf_counts *c, __u64 tt, __u64 it, bool outer)
{
	__sync_fetch_and_add(&c->callcount, 1);
	__sync_fetch_and_add(&c->inlinetime, it);
	if (outer)
		__sync_fetch_and_add(&c->totaltime, tt);
	else
		__sync_fetch_and_add(&c->reccallcount, 1);
}

static __always_inline void account(struct pybpf_stack *st, __u32 idx, __u64 now)
{
	struct pybpf_frame *f, *caller;
	struct pybpf_pair_key pk = {};
	struct pybpf_counts *c;
	__u64 tt, it;

	idx &= PYBPF_MAX_DEPTH - 1;
	f = &st->frames[idx];
	tt = now - f->t0;
	it = tt > f->subt ? tt - f->subt : 0;
	c = counts_of(&funcs, &f->key);
	if (c)
		add_call(c, tt, it, f->flags & PYBPF_FRAME_OUTER);
	else
		count_loss(PYBPF_LOSS_FUNCS_FULL);
	if (idx == 0)
		return;
	caller = &st->frames[(idx - 1) & (PYBPF_MAX_DEPTH - 1)];
	caller->subt += tt;
	pk.callee = f->key;
	pk.caller = caller->key;
	c = counts_of(&pairs, &pk);
	if (c)
		add_call(c, tt, it, f->flags & PYBPF_FRAME_PAIR_OUTER);
	else
		count_loss(PYBPF_LOSS_PAIRS_FULL);
}

static __always_inline bool same_function(const struct pybpf_func_key *a,
					  const struct pybpf_func_key *b)
{
	return a->name_tag == b->name_tag && a->file_tag == b->file_tag &&
	       a->firstlineno == b->firstlineno;
}

/* Recursion flags of a new call: is the function, or the same caller->callee
 * pair, already active below it on this thread? */
static __always_inline __u32 recursion_flags(const struct pybpf_stack *st, __u32 depth,
					     const struct pybpf_func_key *key)
{
	__u32 flags = PYBPF_FRAME_OUTER | PYBPF_FRAME_PAIR_OUTER;
	const struct pybpf_func_key *caller = NULL, *below = NULL;

	if (depth > 0)
		caller = &st->frames[(depth - 1) & (PYBPF_MAX_DEPTH - 1)].key;
	for (__u32 i = 0; i < PYBPF_MAX_DEPTH; i++) {
		if (i >= depth)
			break;
		if (same_function(&st->frames[i].key, key)) {
			flags &= ~PYBPF_FRAME_OUTER;
			if (below && caller && same_function(below, caller))
				flags &= ~PYBPF_FRAME_PAIR_OUTER;
		}
		below = &st->frames[i].key;
	}
	return flags;
}

/* 3.15 also fires the entry probe when a generator is created: its frame is
 * still thread-owned then, while resumes run in a generator-owned frame. */
static __always_inline bool is_generator_creation(struct pybpf_stack *st, __u64 frame,
						  __u32 code_flags)
{
	const struct pybpf_target *t = &st->target;
	__u8 *fblk;

	if (!(t->flags & PYBPF_TARGET_SKIP_GEN_CREATION) || !(code_flags & CO_ANY_GENERATOR))
		return false;
	if (!frame)
		frame = current_frame(t, st);
	fblk = frame ? read_block(BLOCK_FRAME, frame, &t->frame_span) : NULL;
	return fblk && (__u8)block_u64(fblk, &t->frame_span, t->off.frame_owner) ==
			       FRAME_OWNED_BY_THREAD;
}

static __always_inline void push_call(struct pybpf_stack *st, const struct pybpf_func_key *key)
{
	struct pybpf_frame *f;
	__u32 depth = st->depth;

	if (st->excess || depth >= PYBPF_MAX_DEPTH) {
		st->excess++;
		count_loss(PYBPF_LOSS_DEPTH);
		return;
	}
	f = &st->frames[depth];
	f->key = *key;
	f->subt = 0;
	f->flags = recursion_flags(st, depth, key);
	st->depth = depth + 1;
	f->t0 = bpf_ktime_get_ns();
}

/* The key and code flags of the function the probe fires for. Target memory
 * is read (and *frame set) only for a function this CPU does not know yet. */
static __always_inline int identify(struct pt_regs *ctx, struct pybpf_stack *st, __u32 pid,
				    struct pybpf_func_key *key, __u64 *frame, __u32 *flags)
{
	const struct pybpf_target *t = &st->target;
	struct probe_args a;
	struct seen_slot *slot;

	read_args(ctx, &a);
	slot = seen_slot_of(&a);
	if (!slot)
		return -1;
	*frame = 0;
	if (!slot_matches(slot, &a)) {
		*frame = current_frame(t, st);
		if (learn_function(t, *frame, pid, &a, slot))
			return -1;
	}
	key->name_tag = a.name_tag;
	key->file_tag = a.file_tag;
	key->pid = pid;
	key->firstlineno = slot->firstlineno;
	*flags = slot->flags;
	return 0;
}

static __always_inline int on_call(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id, flags = 0;
	struct pybpf_func_key key = {};
	struct pybpf_stack *st;
	__u64 frame = 0;

	if (tracing_stopped)
		return 0;
	st = thread_stack(pid, tid, true);
	if (!st)
		return 0;
	if (identify(ctx, st, pid, &key, &frame, &flags)) {
		count_loss(PYBPF_LOSS_READ);
		return 0;
	}
	if (!is_generator_creation(st, frame, flags))
		push_call(st, &key);
	return 0;
}

/* A return that is not for the call on top of the stack (3.15 only): the
 * __init__ shim frame returns with no entry (never a call for profilers); a
 * generator resumed by throw() returns with no entry (a call for cProfile:
 * counted, untimed); else the return is for a call deeper in the stack,
 * whose callees' returns were missed, or for a call not traced at all. */
static __always_inline void slow_return(struct pt_regs *ctx, struct pybpf_stack *st,
					const struct probe_args *a, __u64 now)
{
	const struct pybpf_target *t = &st->target;
	__u32 depth = st->depth, flags;
	struct pybpf_func_key key;
	__u64 frame, code, unused;
	__u8 owner = 0xff;

	frame = current_frame(t, st);
	code = frame ? read_ptr(frame + t->off.frame_code) & t->off.code_ptr_mask : 0;
	flags = code ? (__u32)read_s32(code + t->off.code_flags, 0) : 0;
	if (flags & CO_NO_MONITORING_EVENTS)
		return;
	if (frame)
		bpf_probe_read_user(&owner, 1, (void *)(frame + t->off.frame_owner));
	if (owner == FRAME_OWNED_BY_GENERATOR && (flags & CO_ANY_GENERATOR) &&
	    depth < PYBPF_MAX_DEPTH &&
	    !identify(ctx, st, bpf_get_current_pid_tgid() >> 32, &key, &unused, &flags)) {
		push_call(st, &key);
		st->frames[depth & (PYBPF_MAX_DEPTH - 1)].t0 = now;
		account(st, depth, now);
		st->depth = depth;
		count_loss(PYBPF_LOSS_UNTIMED_THROW);
		return;
	}
	for (__u32 i = 1; i < PYBPF_MAX_DEPTH; i++) {
		/* i < depth <= PYBPF_MAX_DEPTH, so the mask only convinces the verifier. */
		__u32 idx = (depth - 1 - i) & (PYBPF_MAX_DEPTH - 1);

		if (i >= depth)
			break;
		if (st->frames[idx].key.name_tag != a->name_tag ||
		    st->frames[idx].key.file_tag != a->file_tag)
			continue;
		count_losses(PYBPF_LOSS_UNPAIRED_CALL, i);
		account(st, idx, now);
		st->depth = idx;
		return;
	}
	count_loss(PYBPF_LOSS_UNPAIRED_RETURN);
}

/* Pops the call on top of the thread's stack: without a look where entries
 * and returns nest (3.9/3.10), if the probe names its function otherwise. */
static __always_inline int on_return(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns(), id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	struct pybpf_frame *top;
	struct pybpf_stack *st;
	struct probe_args a;
	__u32 depth;

	if (tracing_stopped)
		return 0;
	st = thread_stack(pid, tid, false);
	if (!st) {
		if (bpf_map_lookup_elem(&targets, &pid))
			count_loss(PYBPF_LOSS_UNPAIRED_RETURN);
		return 0;
	}
	if (st->excess) {
		st->excess--;
		return 0;
	}
	depth = st->depth;
	if (!depth) {
		count_loss(PYBPF_LOSS_UNPAIRED_RETURN);
		return 0;
	}
	top = &st->frames[(depth - 1) & (PYBPF_MAX_DEPTH - 1)];
	if (!(st->target.flags & PYBPF_TARGET_BALANCED)) {
		read_args(ctx, &a);
		if (top->key.name_tag != a.name_tag || top->key.file_tag != a.file_tag) {
			slow_return(ctx, st, &a, now);
			return 0;
		}
	}
	account(st, depth - 1, now);
	st->depth = depth - 1;
	return 0;
}

/* Probe arguments are fetched only when a function is first named: each
 * fetch costs a spec lookup. */
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

/* A thread's shadow stack dies with it: TIDs are reused. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(py_thread_exit, struct task_struct *task)
{
	__u32 pid = task->tgid, tid = task->pid;

	struct pybpf_stack *st;

	if (!bpf_map_lookup_elem(&targets, &pid))
		return 0;
	/* Calls still open when a thread ends (os._exit, a fatal signal) never return. */
	st = bpf_map_lookup_elem(&stacks, &tid);
	if (st && st->depth)
		count_losses(PYBPF_LOSS_UNPAIRED_CALL, st->depth);
	bpf_map_delete_elem(&stacks, &tid);
	return 0;
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
