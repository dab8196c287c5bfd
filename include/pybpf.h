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
#define PYBPF_MAX_LATENCY_FUNCS 16384 /* functions with a --latency histogram */
#define PYBPF_MAX_TARGETS 1024   /* processes traced at once (--max-processes: up to this) */
#define PYBPF_DEFAULT_MAX_PROCESSES 256 /* --all-python's default */
#define PYBPF_MAX_THREAD_WALK 8192 /* tstate list entries searched per miss (bpf_loop) */
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
	__u32 unicode_state;         /* PyASCIIObject.state (u32: kind bits 2-4, compact 0x20, ascii 0x40) */
	__u32 unicode_length;        /* PyASCIIObject.length, in code points */
	__u32 unicode_ascii_data;    /* sizeof(PyASCIIObject): compact ASCII characters */
	__u32 unicode_compact_data;  /* sizeof(PyCompactUnicodeObject): compact non-ASCII characters */
	__u32 frame_instr;           /* f_lasti (int, <=3.10) / prev_instr (3.11/3.12) / instr_ptr */
	__u32 code_adaptive;         /* co_code_adaptive (3.11+: inline bytecode), else PYBPF_NO_OFFSET */
	__u32 code_linetable;        /* co_lnotab (3.9) / co_linetable (bytes*) */
	__u32 tstate_native_tid;     /* native_thread_id (3.11+), else PYBPF_NO_OFFSET */
	__u32 lasti_kind;            /* enum pybpf_lasti_kind */
	__u32 pad;
	__u64 code_ptr_mask;         /* ~3 where f_executable is a tagged _PyStackRef (3.14+) */
};

/* What frame_instr holds, turned into an instruction index (2-byte code
 * units) by the sampler. */
enum pybpf_lasti_kind {
	PYBPF_LASTI_BYTES = 0, /* 3.9: int f_lasti, a byte offset (-1 before the start) */
	PYBPF_LASTI_UNITS = 1, /* 3.10: int f_lasti, an index in code units */
	PYBPF_LASTI_PTR = 2,   /* 3.11+: pointer into the code's inline bytecode */
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
	struct pybpf_span code_span;   /* code_flags, code_firstlineno (usdt); up to code_name (evalframe) */
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

/* cProfile's per-entry figures (nanoseconds), and the off-CPU part of tottime. */
struct pybpf_counts {
	__u64 callcount;
	__u64 reccallcount;
	__u64 inlinetime; /* tottime */
	__u64 totaltime;  /* cumtime */
	__u64 offcputime; /* time off the CPU while the function was on top of its thread's stack */
};

/* --latency: per-function log2 histogram of call durations. Slot k counts
 * calls that took [2^k, 2^(k+1)) ns (slot 0 also counts 0 ns); the last slot
 * counts everything longer. */
#define PYBPF_HIST_SLOTS 40
struct pybpf_hist {
	__u64 slot[PYBPF_HIST_SLOTS];
};

/* How a name was read from the target (evalframe reads str objects). */
enum pybpf_str_kind {
	PYBPF_STR_UTF8 = 0,  /* UTF-8 bytes (the USDT probe's strings, or ASCII) */
	PYBPF_STR_UCS1 = 1,  /* Latin-1 code units, as stored by CPython */
	PYBPF_STR_UCS2 = 2,  /* UCS-2, little-endian */
	PYBPF_STR_UCS4 = 4,  /* UCS-4, little-endian */
};

/* What is read once per function, the first time it is called. Strings are
 * NUL-terminated for PYBPF_STR_UTF8; otherwise *_len bytes are valid. */
struct pybpf_names {
	__s32 firstlineno;
	__u8 filename_kind; /* enum pybpf_str_kind */
	__u8 name_kind;
	__u16 pad;
	__u32 filename_len; /* bytes copied, for the UCS kinds */
	__u32 name_len;
	char filename[PYBPF_FILE_LEN];
	char name[PYBPF_NAME_LEN];
};

enum pybpf_frame_flags {
	PYBPF_FRAME_OUTER = 1,      /* no active call of the same function below */
	PYBPF_FRAME_PAIR_OUTER = 2, /* no active call of the same caller->callee below */
	PYBPF_FRAME_SKIP = 4,       /* an evaluation that is not a call (generator creation) */
	PYBPF_FRAME_NORET = 8,      /* no return probe will fire (kernel's nesting limit) */
};

struct pybpf_frame {
	struct pybpf_func_key key;
	__u64 t0;
	__u64 subt;   /* time spent in traced callees */
	__u64 offcpu; /* off-CPU time while on top */
	__u64 frame;  /* the frame evaluated (evalframe), to tell when a NORET call has ended */
	__u32 flags;  /* enum pybpf_frame_flags */
	__u32 pad;
};

struct pybpf_stack {
	__u32 depth;
	__u32 excess; /* calls deeper than PYBPF_MAX_DEPTH, not traced, still to return */
	__u64 tstate; /* the thread's PyThreadState, once found */
	__u64 off_since; /* when the thread left the CPU (0: on CPU) */
	__u64 init_shim; /* 3.13: the _Py_InitCleanup code object, once met */
	__u32 pid;       /* the thread's process */
	__u32 pad;
	struct pybpf_target target; /* its process's, copied: one map lookup less per event */
	struct pybpf_frame frames[PYBPF_MAX_DEPTH];
};

/* Loss counters of one process: a per-CPU hash keyed by its PID. */
enum pybpf_loss {
	PYBPF_LOSS_UNPAIRED_RETURN,
	PYBPF_LOSS_UNPAIRED_CALL,
	PYBPF_LOSS_DEPTH,
	PYBPF_LOSS_FUNCS_FULL,
	PYBPF_LOSS_PAIRS_FULL,
	PYBPF_LOSS_STACKS_FULL,
	PYBPF_LOSS_READ,
	PYBPF_LOSS_UNTIMED_THROW,
	/* evalframe: calls nested deeper than the kernel's 64 pending return
	 * probes per thread, closed at the next event instead (counts exact,
	 * end time approximate). */
	PYBPF_LOSS_NORET_CLOSED,
	/* 3.13: __init__ calls run inline by the specialized class call, which
	 * bypasses the eval-frame hook: counted when their frame is popped, untimed. */
	PYBPF_LOSS_UNTIMED_INIT,
	/* --latency: a call whose duration found no room in the histogram map. */
	PYBPF_LOSS_LATENCY_FULL,
	PYBPF_LOSS_NR,
};

struct pybpf_loss_counts {
	__u64 n[PYBPF_LOSS_NR];
};

/* ---- --all-python: processes that fork, exec or end during the run,
 * told to user space on a ring buffer (bpf/procwatch.bpf.h). ---- */
enum pybpf_proc_event_kind {
	PYBPF_PROC_FORK = 1, /* a traced process forked pid (already registered, from ppid) */
	PYBPF_PROC_EXEC = 2, /* pid exec'ed a program (if it was traced, it no longer is) */
	PYBPF_PROC_EXIT = 3, /* traced process pid ended (its last thread) */
};

enum pybpf_proc_event_flags {
	PYBPF_PROC_WAS_TARGET = 1, /* exec: pid was traced until then */
	PYBPF_PROC_REGISTERED = 2, /* fork: the child was entered in the targets table */
};

struct pybpf_proc_event {
	__u32 kind;  /* enum pybpf_proc_event_kind */
	__u32 pid;   /* host PID (TGID) */
	__u32 ppid;  /* fork: the traced parent */
	__u32 flags; /* enum pybpf_proc_event_flags */
	__u64 ns;    /* CLOCK_MONOTONIC (bpf_ktime_get_ns) of the event */
};

/* ---- Sampling (bpf/sampler.bpf.c): stacks of (code object, instruction)
 * counted in kernel maps; user space resolves them at the end. ---- */
#define PYBPF_SAMPLE_DEPTH 128       /* frames kept per stack; deeper ones are dropped */
#define PYBPF_MAX_STACKS 16384       /* distinct stacks */
#define PYBPF_MAX_SAMPLE_KEYS 32768  /* distinct (process, thread, kind, stack) */
#define PYBPF_MAX_HZ 10000
#define PYBPF_MAX_SAMPLE_THREAD_WALK 8192 /* thread states searched for a thread not yet known */
#define PYBPF_DEFAULT_HZ 99
/* 3.13+: the _Py_InitCleanup shim frame carries CO_NO_MONITORING_EVENTS. */
#define PYBPF_CO_NO_MONITORING_EVENTS 0x2000000

enum pybpf_sample_kind {
	PYBPF_SAMPLE_CPU = 0,    /* a perf-event tick on a CPU the thread ran on */
	PYBPF_SAMPLE_OFFCPU = 1, /* a wall-clock tick that found the thread off the CPU */
	PYBPF_SAMPLE_KINDS = 2,
};

/* One Python frame of a sampled stack: the code object and the index (in
 * 2-byte code units) of the instruction it was running. firstlineno and the
 * tag in the top bits of code tell a code object apart from a later one at
 * the same address. */
struct pybpf_sample_frame {
	__u64 code;
	__s32 lasti;
	__s32 firstlineno;
};

/* Bits 48-63 of pybpf_sample_frame.code (0 in any user-space address) hold
 * bits 3-18 of the address of the code object's co_filename: two module
 * bodies met at one address, both with first line 1, differ there. */
#define PYBPF_CODE_ADDR_BITS 48
#define PYBPF_CODE_ADDR_MASK ((1ull << PYBPF_CODE_ADDR_BITS) - 1)
#define PYBPF_CODE_TAG(filename) ((((__u64)(filename) >> 3) & 0xffff) << PYBPF_CODE_ADDR_BITS)

enum pybpf_stack_flags {
	PYBPF_STACK_TRUNCATED = 1, /* frames beyond PYBPF_SAMPLE_DEPTH (towards the root) dropped */
};

/* A stack, leaf first: frames[0] is the frame that was running. */
struct pybpf_sample_stack {
	__u32 depth;
	__u32 flags; /* enum pybpf_stack_flags */
	__u32 pid;   /* the process whose code objects the frames name */
	__u32 pad;
	struct pybpf_sample_frame frames[PYBPF_SAMPLE_DEPTH];
};

struct pybpf_sample_key {
	__u64 stack_id; /* key of the stack in the stacks map (a hash of its frames) */
	__u32 pid;      /* host PID and TID */
	__u32 tid;
	__u32 kind;     /* enum pybpf_sample_kind */
	__u32 pad;
};

struct pybpf_sample_count {
	__u64 samples;
	__u64 ns; /* time the samples stand for */
};

/* Per-process facts the sampler walks with. */
struct pybpf_sample_target {
	__u64 runtime_addr;
	struct pybpf_offsets off;
	struct pybpf_span frame_span; /* frame_code, frame_previous, frame_instr, frame_owner */
	struct pybpf_span code_span;  /* code_flags, code_firstlineno */
};

/* Why a sample was not counted: one slot each in a per-CPU array. */
enum pybpf_sample_loss {
	PYBPF_SLOSS_NO_TSTATE,   /* the thread has no Python thread state (a native thread) */
	PYBPF_SLOSS_READ,        /* target memory could not be read */
	PYBPF_SLOSS_STACKS_FULL, /* the stacks map was full */
	PYBPF_SLOSS_COUNTS_FULL, /* the counts map was full */
	PYBPF_SLOSS_NR,
};

#endif
