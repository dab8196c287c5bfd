/* SPDX-License-Identifier: GPL-2.0-only */
/* Data shared by the BPF programs and the loader: fixed-width fields only. */
#ifndef PYBPF_H
#define PYBPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PYBPF_MAX_DEPTH 256      /* shadow stack entries per thread: a power of 2 */
#define PYBPF_MAX_THREADS 8192   /* threads traced at once */
#define PYBPF_MAX_FUNCS 65536    /* (process, code object) entries */
#define PYBPF_MAX_PAIRS 262144   /* (caller, callee) entries */
#define PYBPF_MAX_TARGETS 1024   /* processes traced at once */
#define PYBPF_MAX_THREAD_WALK 64 /* tstate list entries searched per miss */
#define PYBPF_FILE_LEN 512
#define PYBPF_NAME_LEN 128
#define PYBPF_NAMES_SEEN 512     /* per-CPU cache of functions already known (16 KiB) */
#define PYBPF_NO_OFFSET 0xffffffffu

/* Where things are inside one CPython version, from &_PyRuntime. */
struct pybpf_offsets {
	__u32 runtime_interp_main;   /* _PyRuntime.interpreters.main */
	__u32 interp_threads_head;   /* PyInterpreterState -> first PyThreadState */
	__u32 tstate_next;
	__u32 tstate_thread_id;      /* pthread_t == the thread's FS base on x86-64 */
	__u32 tstate_frame;          /* frame (<=3.10), cframe (3.11/3.12), current_frame (3.13+) */
	__u32 cframe_current_frame;  /* 3.11/3.12: _PyCFrame.current_frame, else PYBPF_NO_OFFSET */
	__u32 frame_code;            /* f_code / f_executable */
	__u32 frame_owner;           /* _PyInterpreterFrame.owner (char), or PYBPF_NO_OFFSET */
	__u32 frame_previous;        /* f_back (<=3.10) / previous */
	__u32 code_flags;
	__u32 code_firstlineno;
	__u32 code_filename;
	__u32 code_name;
	__u32 pad;
	__u64 code_ptr_mask;         /* ~3 where f_executable is a tagged _PyStackRef (3.14+) */
};

/* How a target's probes behave, set per process by the loader. */
enum pybpf_target_flags {
	/* The entry probe also fires when a generator is created (3.15): skip
	 * entries in a thread-owned frame of a generator/coroutine code. */
	PYBPF_TARGET_SKIP_GEN_CREATION = 1,
	/* Entries and returns nest exactly (3.9/3.10: both fire in every frame
	 * evaluation): a return pops the top without reading the frame. */
	PYBPF_TARGET_BALANCED = 2,
};

#define PYBPF_BLOCK_SIZE 256 /* bytes of one object read in one copy */

/* The span [lo, hi + 8) of an object holding every field read from it, so
 * that one copy per object suffices (each copy from the target costs). */
struct pybpf_span {
	__u32 lo, hi;
};

struct pybpf_target {
	__u64 runtime_addr; /* &_PyRuntime in the target */
	__u32 flags;        /* enum pybpf_target_flags */
	__u32 pad;
	struct pybpf_offsets off;
	struct pybpf_span tstate_span; /* tstate_frame, tstate_thread_id */
	struct pybpf_span frame_span;  /* frame_code, frame_owner */
	struct pybpf_span code_span;   /* code_flags, code_firstlineno */
};

/* Identity of a function inside one process, as cProfile labels it: the
 * probe's name and file string pointers (the UTF-8 buffers of co_name and
 * co_filename, free to read: they are in registers) and the first line. */
struct pybpf_func_key {
	__u64 name_tag;
	__u64 file_tag;
	__u32 pid;
	__s32 firstlineno;
};

struct pybpf_pair_key {
	struct pybpf_func_key callee;
	struct pybpf_func_key caller;
};

/* cProfile's per-entry figures (nanoseconds). */
struct pybpf_counts {
	__u64 callcount;
	__u64 reccallcount;
	__u64 inlinetime; /* tottime */
	__u64 totaltime;  /* cumtime */
};

/* What is read once per function, the first time it is called. */
struct pybpf_names {
	__s32 firstlineno;
	__u32 pad;
	char filename[PYBPF_FILE_LEN];
	char name[PYBPF_NAME_LEN];
};

enum pybpf_frame_flags {
	PYBPF_FRAME_OUTER = 1,      /* no active call of the same function below */
	PYBPF_FRAME_PAIR_OUTER = 2, /* no active call of the same caller->callee below */
};

struct pybpf_frame {
	struct pybpf_func_key key;
	__u64 t0;
	__u64 subt;   /* time spent in traced callees */
	__u32 flags;  /* enum pybpf_frame_flags */
	__u32 pad;
};

struct pybpf_stack {
	__u32 depth;
	__u32 excess; /* calls deeper than PYBPF_MAX_DEPTH, not traced */
	__u64 tstate; /* the thread's PyThreadState, once found */
	struct pybpf_target target; /* its process's, copied: one map lookup less per event */
	struct pybpf_frame frames[PYBPF_MAX_DEPTH];
};

/* Loss counters: one slot each in a per-CPU array. */
enum pybpf_loss {
	PYBPF_LOSS_UNPAIRED_RETURN,
	PYBPF_LOSS_UNPAIRED_CALL,
	PYBPF_LOSS_DEPTH,
	PYBPF_LOSS_FUNCS_FULL,
	PYBPF_LOSS_PAIRS_FULL,
	PYBPF_LOSS_STACKS_FULL,
	PYBPF_LOSS_READ,
	PYBPF_LOSS_UNTIMED_THROW,
	PYBPF_LOSS_NR,
};

#endif
