/* SPDX-License-Identifier: GPL-2.0-only */
/* Reading the traced interpreter's memory from BPF: bounded copies of
 * target objects, the running thread's PyThreadState and current frame.
 * Every pointer comes from the target and is only ever dereferenced through
 * bpf_probe_read_user: a bad one fails the read, never the kernel. */
#ifndef PYBPF_PYMEM_BPF_H
#define PYBPF_PYMEM_BPF_H

#include "pybpf.h"

enum { BLOCK_TSTATE, BLOCK_FRAME, BLOCK_CODE, BLOCK_NR };

struct blocks {
	__u8 b[BLOCK_NR][PYBPF_BLOCK_SIZE + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct blocks);
} blocks SEC(".maps");

/* Copies n bytes of the target at addr: from the running task, or (task
 * non-NULL: sleepable programs only) from another task's memory. Callers pass
 * a constant NULL where they run in the target, and the other branch is gone. */
static __always_inline long target_copy(void *dst, __u32 n, __u64 addr, struct task_struct *task)
{
	if (task)
		return bpf_copy_from_user_task(dst, n, (void *)addr, task, 0);
	return bpf_probe_read_user(dst, n, (void *)addr);
}

static __always_inline __u64 read_ptr_in(__u64 addr, struct task_struct *task)
{
	__u64 v = 0;

	if (target_copy(&v, sizeof(v), addr, task))
		return 0;
	return v;
}

static __always_inline __u64 read_ptr(__u64 addr)
{
	return read_ptr_in(addr, NULL);
}

static __always_inline __s32 read_s32(__u64 addr, __s32 dflt)
{
	__s32 v;

	if (bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		return dflt;
	return v;
}

/* Copies the span of the object at addr into dst (PYBPF_BLOCK_SIZE + 8
 * bytes); dst, or NULL on failure. */
static __always_inline __u8 *copy_span(__u8 *dst, __u64 addr, const struct pybpf_span *sp,
				       struct task_struct *task)
{
	__u64 len = (__u64)(sp->hi - sp->lo) + 8;

	/* Keep the bound where the verifier sees it, not folded away by clang. */
	asm volatile("%[len] &= 0x1ff" : [len] "+r"(len));
	if (len > PYBPF_BLOCK_SIZE || !len)
		return NULL;
	if (target_copy(dst, len, addr + sp->lo, task))
		return NULL;
	return dst;
}

/* Copies the span of the object at addr into a per-CPU slot; NULL on failure. */
static __always_inline __u8 *read_block(__u32 which, __u64 addr, const struct pybpf_span *sp)
{
	__u32 zero = 0;
	struct blocks *b = bpf_map_lookup_elem(&blocks, &zero);

	if (!b || which >= BLOCK_NR)
		return NULL;
	return copy_span(b->b[which], addr, sp, NULL);
}

/* Fields of a block read by read_block or copy_span. */
static __always_inline __u64 block_u64(const __u8 *blk, const struct pybpf_span *sp, __u32 off)
{
	return *(const __u64 *)(blk + ((off - sp->lo) & (PYBPF_BLOCK_SIZE - 1)));
}

static __always_inline __u32 block_u32(const __u8 *blk, const struct pybpf_span *sp, __u32 off)
{
	return *(const __u32 *)(blk + ((off - sp->lo) & (PYBPF_BLOCK_SIZE - 1)));
}

static __always_inline __u8 block_u8(const __u8 *blk, const struct pybpf_span *sp, __u32 off)
{
	return blk[(off - sp->lo) & (PYBPF_BLOCK_SIZE - 1)];
}

/* The code object a frame runs, read in one copy (NULL if unreadable);
 * *fblk is the frame's copy. */
static __always_inline __u8 *read_frame_code(const struct pybpf_target *t, __u64 frame,
					     __u8 **fblk)
{
	__u64 code;

	*fblk = frame ? read_block(BLOCK_FRAME, frame, &t->frame_span) : NULL;
	code = *fblk ? block_u64(*fblk, &t->frame_span, t->off.frame_code) & t->off.code_ptr_mask
		     : 0;
	return code ? read_block(BLOCK_CODE, code, &t->code_span) : NULL;
}

struct tstate_search {
	const struct pybpf_offsets *off;
	__u64 fsbase;
	__u64 ts;    /* the entry to look at next */
	__u64 found;
};

static long tstate_search_step(__u64 i, void *ctx)
{
	struct tstate_search *s = ctx;

	if (!s->ts)
		return 1;
	if (read_ptr(s->ts + s->off->tstate_thread_id) == s->fsbase) {
		s->found = s->ts;
		return 1;
	}
	s->ts = read_ptr(s->ts + s->off->tstate_next);
	return 0;
}

/* The PyThreadState of the running thread, whose FS base (= pthread_self()
 * = thread_id) is fsbase: *cache while it still matches, else found on the
 * main interpreter's thread list (and cached). New threads go to the head of
 * that list, so in a process with many threads the old ones are far down:
 * bpf_loop searches up to PYBPF_MAX_THREAD_WALK entries. */
static __always_inline __u64 find_tstate(const struct pybpf_offsets *off, __u64 runtime_addr,
					 __u64 fsbase, __u64 *cache)
{
	struct tstate_search s = { .off = off, .fsbase = fsbase };
	__u64 ts = *cache;

	if (ts && read_ptr(ts + off->tstate_thread_id) == fsbase)
		return ts;
	ts = read_ptr(runtime_addr + off->runtime_interp_main);
	if (!ts)
		return 0;
	s.ts = read_ptr(ts + off->interp_threads_head);
	bpf_loop(PYBPF_MAX_THREAD_WALK, tstate_search_step, &s, 0);
	if (s.found)
		*cache = s.found;
	return s.found;
}

static __always_inline __u64 current_tstate(const struct pybpf_target *t, struct pybpf_stack *st)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return find_tstate(&t->off, t->runtime_addr, task->thread.fsbase, &st->tstate);
}

/* The frame a thread state's frame field leads to: the field itself, or
 * (3.11/3.12) the current frame of the _PyCFrame it points to. */
static __always_inline __u64 frame_from_field_in(const struct pybpf_offsets *off, __u64 field,
						 struct task_struct *task)
{
	if (field && off->cframe_current_frame != PYBPF_NO_OFFSET)
		return read_ptr_in(field + off->cframe_current_frame, task);
	return field;
}

static __always_inline __u64 frame_from_field(const struct pybpf_target *t, __u64 field)
{
	return frame_from_field_in(&t->off, field, NULL);
}

/* The frame running in thread state ts. */
static __always_inline __u64 tstate_frame_in(const struct pybpf_offsets *off, __u64 ts,
					     struct task_struct *task)
{
	return frame_from_field_in(off, read_ptr_in(ts + off->tstate_frame, task), task);
}

static __always_inline __u64 tstate_frame(const struct pybpf_target *t, __u64 ts)
{
	return tstate_frame_in(&t->off, ts, NULL);
}

static __always_inline __u64 current_frame(const struct pybpf_target *t, struct pybpf_stack *st)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 fsbase = task->thread.fsbase, ts = st->tstate;
	__u8 *blk;

	/* Fast path: the cached tstate, checked and read in one copy. */
	blk = ts ? read_block(BLOCK_TSTATE, ts, &t->tstate_span) : NULL;
	if (blk && block_u64(blk, &t->tstate_span, t->off.tstate_thread_id) == fsbase)
		return frame_from_field(t, block_u64(blk, &t->tstate_span, t->off.tstate_frame));
	ts = current_tstate(t, st);
	return ts ? tstate_frame(t, ts) : 0;
}

#endif
