/* SPDX-License-Identifier: GPL-2.0-only */
/* The eval-frame backend: a uprobe at the entry of _PyEval_EvalFrameDefault
 * and a uretprobe at its exit. Every Python frame evaluation is one C call
 * of it on 3.9/3.10, and on 3.11+ while eval_frame (PEP 523) is set, which
 * user space does. The code object comes from the frame argument.
 *
 * The kernel keeps at most 64 pending uretprobes per thread: an evaluation
 * entered deeper gets no return event. Such a call is marked NORET on the
 * shadow stack and closed by the next event that shows it has ended: a
 * return of a shallower call, or an entry whose caller is below it. */
#ifndef PYBPF_EVALFRAME_BPF_H
#define PYBPF_EVALFRAME_BPF_H

#include "pybpf.h"
#include "pymem.bpf.h"
#include "shadow.bpf.h"

/* MAX_URETPROBE_DEPTH, include/linux/uprobes.h */
#define KERNEL_URETPROBE_DEPTH 64

/* Return probes the kernel has pending for this thread, ours or not. */
static __always_inline __u32 pending_returns(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return BPF_CORE_READ(task, utask, depth);
}

/* Copies the characters of a str object (compact ones only: all code
 * object names are) into buf; *kind says how they are stored. */
static __always_inline __u32 read_str(const struct pybpf_target *t, __u64 obj, char *buf,
				      __u32 size, __u8 *kind)
{
	__u32 state = 0;
	__u64 len = 0, data;

	buf[0] = '\0';
	*kind = PYBPF_STR_UTF8;
	if (bpf_probe_read_user(&state, sizeof(state), (void *)(obj + t->off.unicode_state)) ||
	    bpf_probe_read_user(&len, sizeof(len), (void *)(obj + t->off.unicode_length)) ||
	    !(state & 0x20))
		return 0;
	if (state & 0x40) {
		data = obj + t->off.unicode_ascii_data;
	} else {
		*kind = (state >> 2) & 7;
		len *= *kind;
		data = obj + t->off.unicode_compact_data;
	}
	if (len > size - 1)
		len = size - 1;
	len &= size - 1; /* size is a power of 2 */
	if (bpf_probe_read_user(buf, len, (void *)data))
		return 0;
	buf[len & (size - 1)] = '\0';
	return (__u32)len;
}

/* Names the function in the names map; false if it could not (the map
 * allocates on demand, which can fail in a burst: the next call retries). */
static __always_inline bool name_function(const struct pybpf_target *t,
					  const struct pybpf_func_key *key)
{
	struct pybpf_names *n;
	__u32 zero = 0;
	long err;

	if (bpf_map_lookup_elem(&names, key))
		return true;
	n = bpf_map_lookup_elem(&names_scratch, &zero);
	if (!n)
		return false;
	n->firstlineno = key->firstlineno;
	n->filename_len = read_str(t, key->file_tag, n->filename, PYBPF_FILE_LEN,
				   &n->filename_kind);
	n->name_len = read_str(t, key->name_tag, n->name, PYBPF_NAME_LEN, &n->name_kind);
	err = bpf_map_update_elem(&names, key, n, BPF_NOEXIST);
	return !err || err == -EEXIST;
}

/* The function a frame runs, keyed by its code object's name and file
 * objects and first line; *skip for evaluations that are not calls. */
static __always_inline int frame_function(const struct pybpf_target *t, __u64 frame, __u32 pid,
					  struct pybpf_func_key *key, bool *skip)
{
	struct seen_slot *slot;
	__u8 *fblk, *cblk = read_frame_code(t, frame, &fblk);
	__u32 flags;

	if (!cblk || !fblk)
		return -1;
	key->name_tag = block_u64(cblk, &t->code_span, t->off.code_name);
	key->file_tag = block_u64(cblk, &t->code_span, t->off.code_filename);
	key->firstlineno = (__s32)block_u64(cblk, &t->code_span, t->off.code_firstlineno);
	key->pid = pid;
	flags = (__u32)block_u64(cblk, &t->code_span, t->off.code_flags);
	/* 3.11+: a generator's creation runs its frame (RETURN_GENERATOR), still
	 * owned by the thread; resumes run it owned by the generator. */
	*skip = (flags & CO_NO_MONITORING_EVENTS) ||
		(t->off.frame_owner != PYBPF_NO_OFFSET && (flags & CO_ANY_GENERATOR) &&
		 (__u8)block_u64(fblk, &t->frame_span, t->off.frame_owner) ==
			 FRAME_OWNED_BY_THREAD);
	slot = seen_slot_of(key->name_tag, key->file_tag, key->firstlineno);
	if (slot && seen_slot_holds(slot, key->name_tag, key->file_tag, key->firstlineno))
		return 0;
	if (name_function(t, key) && slot)
		seen_slot_set(slot, key->name_tag, key->file_tag, key->firstlineno);
	return 0;
}

struct norets_ctx {
	struct pybpf_stack *st;
	__u64 now;
	__u64 caller; /* the new call's caller frame; 0: close every NORET on top */
};

static long close_noret(__u32 i, void *data)
{
	struct norets_ctx *c = data;
	struct pybpf_stack *st = c->st;
	__u32 depth = st->depth;
	struct pybpf_frame *top;

	if (!depth)
		return 1;
	top = &st->frames[(depth - 1) & (PYBPF_MAX_DEPTH - 1)];
	if (!(top->flags & PYBPF_FRAME_NORET) || (c->caller && top->frame == c->caller))
		return 1;
	if (!(top->flags & PYBPF_FRAME_SKIP))
		account(st, depth - 1, c->now);
	st->depth = depth - 1;
	count_loss(PYBPF_LOSS_NORET_CLOSED);
	return 0;
}

/* Closes the NORET calls on top of the stack that have ended. */
static __always_inline void close_norets(struct pybpf_stack *st, __u64 caller, __u64 now)
{
	struct norets_ctx c = { .st = st, .now = now, .caller = caller };

	bpf_loop(PYBPF_MAX_DEPTH, close_noret, &c, 0);
}

struct find_ctx {
	const struct pybpf_stack *st;
	__u64 frame;
	bool found;
};

static long find_step(__u32 i, void *data)
{
	struct find_ctx *c = data;
	const struct pybpf_frame *f;

	if (i >= c->st->depth)
		return 1;
	f = &c->st->frames[(c->st->depth - 1 - i) & (PYBPF_MAX_DEPTH - 1)];
	if (!(f->flags & PYBPF_FRAME_NORET))
		return 1;
	c->found = f->frame == c->frame;
	return c->found;
}

/* Is frame one of the NORET calls on top of the stack? */
static __always_inline bool noret_on_stack(const struct pybpf_stack *st, __u64 frame)
{
	struct find_ctx c = { .st = st, .frame = frame };

	bpf_loop(PYBPF_MAX_DEPTH, find_step, &c, 0);
	return c.found;
}

static __always_inline bool top_is_noret(const struct pybpf_stack *st)
{
	__u32 depth = st->depth;

	return depth && (st->frames[(depth - 1) & (PYBPF_MAX_DEPTH - 1)].flags & PYBPF_FRAME_NORET);
}

static __always_inline int on_eval_entry(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32, extra = 0;
	struct pybpf_stack *st = calling_stack();
	struct pybpf_func_key key = {};
	__u64 tstate, frame;
	bool skip = false;

	if (!st)
		return 0;
	tstate = PT_REGS_PARM1(ctx);
	frame = PT_REGS_PARM2(ctx);
	if (top_is_noret(st)) {
		/* The frame running in tstate is the new frame's caller. */
		__u64 caller = tstate_frame(&st->target, tstate);

		/* A full stack may be missing the caller: then nothing above it has ended. */
		if (st->depth < PYBPF_MAX_DEPTH || noret_on_stack(st, caller))
			close_norets(st, caller, bpf_ktime_get_ns());
	}
	if (pending_returns() >= KERNEL_URETPROBE_DEPTH)
		extra |= PYBPF_FRAME_NORET;
	if (frame_function(&st->target, frame, pid, &key, &skip)) {
		count_loss(PYBPF_LOSS_READ);
		/* Keep the return paired: push a non-call. */
		skip = true;
	}
	if (skip)
		extra |= PYBPF_FRAME_SKIP;
	if (!push_frame(st, &key, frame, extra) && !(extra & PYBPF_FRAME_NORET))
		st->excess++;
	return 0;
}

static __always_inline int on_eval_return(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	struct pybpf_stack *st = returning_stack();
	__u32 depth;

	if (!st)
		return 0;
	if (top_is_noret(st))
		close_norets(st, 0, now);
	depth = st->depth;
	if (!depth) {
		count_loss(PYBPF_LOSS_UNPAIRED_RETURN);
		return 0;
	}
	if (!(st->frames[(depth - 1) & (PYBPF_MAX_DEPTH - 1)].flags & PYBPF_FRAME_SKIP))
		account(st, depth - 1, now);
	st->depth = depth - 1;
	return 0;
}

/* 3.13's CALL_ALLOC_AND_ENTER_INIT runs a Python __init__ inline, below a
 * _Py_InitCleanup shim frame, without the eval-frame hook. Such a frame is
 * recognised when it is popped (_PyEval_FrameClearAndPop(tstate, frame)) by
 * its previous frame, the shim: the call is counted there, untimed, with
 * the call on top of the stack as its caller. */
static __always_inline bool is_init_shim(struct pybpf_stack *st, __u64 code)
{
	const struct pybpf_target *t = &st->target;

	if (st->init_shim)
		return code == st->init_shim;
	if (!(read_s32(code + t->off.code_flags, 0) & CO_NO_MONITORING_EVENTS))
		return false;
	st->init_shim = code;
	return true;
}

static __always_inline void count_untimed(struct pybpf_stack *st, const struct pybpf_func_key *key)
{
	static const struct pybpf_counts zero;
	struct pybpf_pair_key pk = { .callee = *key };
	__u32 depth = st->depth, flags = recursion_flags_loop(st, depth, key);
	struct pybpf_counts *c = value_of(&funcs, key, &zero);

	if (c)
		add_call(c, 0, 0, 0, flags & PYBPF_FRAME_OUTER);
	count_loss(PYBPF_LOSS_UNTIMED_INIT);
	if (!depth)
		return;
	pk.caller = st->frames[(depth - 1) & (PYBPF_MAX_DEPTH - 1)].key;
	c = value_of(&pairs, &pk, &zero);
	if (c)
		add_call(c, 0, 0, 0, flags & PYBPF_FRAME_PAIR_OUTER);
}

static __always_inline int on_frame_pop(struct pt_regs *ctx)
{
	__u64 frame = PT_REGS_PARM2(ctx), prev, code;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pybpf_stack *st = calling_stack();
	struct pybpf_func_key key = {};
	bool skip = false;

	if (!st)
		return 0;
	prev = read_ptr(frame + st->target.off.frame_previous);
	code = prev ? read_ptr(prev + st->target.off.frame_code) & st->target.off.code_ptr_mask : 0;
	if (!code || !is_init_shim(st, code))
		return 0;
	if (frame_function(&st->target, frame, pid, &key, &skip)) {
		count_loss(PYBPF_LOSS_READ);
		return 0;
	}
	count_untimed(st, &key);
	return 0;
}

#endif
