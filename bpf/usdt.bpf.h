/* SPDX-License-Identifier: GPL-2.0-only */
/* The USDT backend: CPython's python:function__entry/return probes. A call's
 * function is named by the probe's own arguments (its name and file string
 * pointers); target memory is read only the first time a CPU meets a
 * function, and on 3.15's odd events. */
#ifndef PYBPF_USDT_BPF_H
#define PYBPF_USDT_BPF_H

#include <bpf/usdt.bpf.h>

#include "pybpf.h"
#include "pymem.bpf.h"
#include "shadow.bpf.h"

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

/* Reads, from the code object the frame runs, what the cache keeps; names the
 * function in the names map the first time. Returns 0, or -1 if unreadable. */
static __always_inline int learn_function(const struct pybpf_target *t, __u64 frame, __u32 pid,
					  const struct probe_args *a, struct seen_slot *slot)
{
	struct pybpf_func_key key = { .name_tag = a->name_tag, .file_tag = a->file_tag, .pid = pid };
	struct pybpf_names *n;
	__u32 zero = 0;
	__u8 *fblk, *cblk = read_frame_code(t, frame, &fblk);
	long err;

	if (!cblk)
		return -1;
	key.firstlineno = (__s32)block_u64(cblk, &t->code_span, t->off.code_firstlineno);
	slot->flags = (__u32)block_u64(cblk, &t->code_span, t->off.code_flags);
	slot->firstlineno = key.firstlineno;
	seen_slot_set(slot, a->name_tag, a->file_tag, a->line);
	if (bpf_map_lookup_elem(&names, &key))
		return 0;
	n = bpf_map_lookup_elem(&names_scratch, &zero);
	if (!n)
		return 0;
	n->firstlineno = key.firstlineno;
	n->filename_kind = n->name_kind = PYBPF_STR_UTF8;
	n->filename_len = n->name_len = 0;
	if (bpf_probe_read_user_str(n->filename, sizeof(n->filename), (void *)a->file_tag) < 0)
		n->filename[0] = '\0';
	if (bpf_probe_read_user_str(n->name, sizeof(n->name), (void *)a->name_tag) < 0)
		n->name[0] = '\0';
	err = bpf_map_update_elem(&names, &key, n, BPF_NOEXIST);
	/* The names map allocates on demand, which can fail in a burst: let
	 * the next call of the function on this CPU try again. */
	if (err && err != -EEXIST)
		slot->valid = 0;
	return 0;
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

/* The key and code flags of the function the probe fires for. Target memory
 * is read (and *frame set) only for a function this CPU does not know yet. */
static __always_inline int identify(struct pt_regs *ctx, struct pybpf_stack *st, __u32 pid,
				    struct pybpf_func_key *key, __u64 *frame, __u32 *flags)
{
	const struct pybpf_target *t = &st->target;
	struct probe_args a;
	struct seen_slot *slot;

	read_args(ctx, &a);
	slot = seen_slot_of(a.name_tag, a.file_tag, a.line);
	if (!slot)
		return -1;
	*frame = 0;
	if (!seen_slot_holds(slot, a.name_tag, a.file_tag, a.line)) {
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
	__u32 pid = bpf_get_current_pid_tgid() >> 32, flags = 0;
	struct pybpf_stack *st = calling_stack();
	struct pybpf_func_key key = {};
	__u64 frame = 0;

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
	__u32 found = 0;

	for (__u32 i = 1; i < PYBPF_MAX_DEPTH; i++) {
		/* i < depth <= PYBPF_MAX_DEPTH, so the mask only convinces the verifier. */
		__u32 idx = (depth - 1 - i) & (PYBPF_MAX_DEPTH - 1);

		if (i >= depth)
			break;
		if (st->frames[idx].key.name_tag == a->name_tag &&
		    st->frames[idx].key.file_tag == a->file_tag) {
			found = i;
			break;
		}
	}
	/* Accounted outside the loop: the verifier explores the loop once per path. */
	if (found && found < depth) {
		__u32 idx = (depth - 1 - found) & (PYBPF_MAX_DEPTH - 1);

		count_losses(PYBPF_LOSS_UNPAIRED_CALL, found);
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
	__u64 now = bpf_ktime_get_ns();
	struct pybpf_stack *st = returning_stack();
	struct pybpf_frame *top;
	struct probe_args a;
	__u32 depth;

	if (!st)
		return 0;
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

#endif
