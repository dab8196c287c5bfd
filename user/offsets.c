// SPDX-License-Identifier: GPL-2.0-only
#include "offsets.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "layoutcheck.h"
#include "log.h"
#include "target.h"

#define NONE PYBPF_NO_OFFSET
#define ALL_BITS (~0ull)
#define UNTAG (~3ull) /* _PyStackRef tag bits (3.14+) */
/* str objects: sizeof(PyASCIIObject) and sizeof(PyCompactUnicodeObject) lost
 * 8 and 16 bytes in 3.12 with wstr; state and length did not move. */

/* Verified on x86-64 release GIL builds: pyenv 3.9.18-3.13.0, Debian 3.11.2,
 * Debian sid 3.13.18/3.14.10/3.15.2 (see the reference note for sources). */
static const struct pybpf_offsets table[] = {
	[9] = { .runtime_interp_main = 0x28, .interp_threads_head = 0x8, .tstate_next = 0x8,
		.tstate_thread_id = 0xb0, .tstate_frame = 0x18, .cframe_current_frame = NONE,
		.frame_code = 0x20, .frame_owner = NONE, .frame_previous = 0x18, .code_flags = 0x24,
		.code_firstlineno = 0x28, .code_filename = 0x68, .code_name = 0x70,
		.unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x30,
		 .unicode_compact_data = 0x48, .frame_instr = 0x68, .code_adaptive = NONE, .code_linetable = 0x78,
		.tstate_native_tid = NONE, .lasti_kind = PYBPF_LASTI_BYTES, .code_ptr_mask = ALL_BITS },
	[10] = { .runtime_interp_main = 0x28, .interp_threads_head = 0x8, .tstate_next = 0x8,
		 .tstate_thread_id = 0xb0, .tstate_frame = 0x18, .cframe_current_frame = NONE,
		 .frame_code = 0x20, .frame_owner = NONE, .frame_previous = 0x18, .code_flags = 0x24,
		 .code_firstlineno = 0x28, .code_filename = 0x68, .code_name = 0x70,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x30,
		 .unicode_compact_data = 0x48, .frame_instr = 0x60, .code_adaptive = NONE, .code_linetable = 0x78,
		 .tstate_native_tid = NONE, .lasti_kind = PYBPF_LASTI_UNITS, .code_ptr_mask = ALL_BITS },
	[11] = { .runtime_interp_main = 0x30, .interp_threads_head = 0x10, .tstate_next = 0x8,
		 .tstate_thread_id = 0x98, .tstate_frame = 0x38, .cframe_current_frame = 0x8,
		 .frame_code = 0x20, .frame_owner = 0x45, .frame_previous = 0x30, .code_flags = 0x30,
		 .code_firstlineno = 0x48, .code_filename = 0x70, .code_name = 0x78,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x30,
		 .unicode_compact_data = 0x48, .frame_instr = 0x38, .code_adaptive = 0xb8, .code_linetable = 0x88,
		 .tstate_native_tid = 0xa0, .lasti_kind = PYBPF_LASTI_PTR, .code_ptr_mask = ALL_BITS },
	[12] = { .runtime_interp_main = 0x30, .interp_threads_head = 0x48, .tstate_next = 0x8,
		 .tstate_thread_id = 0x88, .tstate_frame = 0x38, .cframe_current_frame = 0x0,
		 .frame_code = 0x0, .frame_owner = 0x46, .frame_previous = 0x8, .code_flags = 0x30,
		 .code_firstlineno = 0x44, .code_filename = 0x70, .code_name = 0x78,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x28,
		 .unicode_compact_data = 0x38, .frame_instr = 0x38, .code_adaptive = 0xc0, .code_linetable = 0x88,
		 .tstate_native_tid = 0x90, .lasti_kind = PYBPF_LASTI_PTR, .code_ptr_mask = ALL_BITS },
	[13] = { .runtime_interp_main = 0x280, .interp_threads_head = 0x1cb0, .tstate_next = 0x8,
		 .tstate_thread_id = 0x98, .tstate_frame = 0x48, .cframe_current_frame = NONE,
		 .frame_code = 0x0, .frame_owner = 0x46, .frame_previous = 0x8, .code_flags = 0x30,
		 .code_firstlineno = 0x44, .code_filename = 0x70, .code_name = 0x78,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x28,
		 .unicode_compact_data = 0x38, .frame_instr = 0x38, .code_adaptive = 0xc8, .code_linetable = 0x88,
		 .tstate_native_tid = 0xa0, .lasti_kind = PYBPF_LASTI_PTR, .code_ptr_mask = ALL_BITS },
	[14] = { .runtime_interp_main = 0x330, .interp_threads_head = 0x1cb0, .tstate_next = 0x8,
		 .tstate_thread_id = 0x98, .tstate_frame = 0x48, .cframe_current_frame = NONE,
		 .frame_code = 0x0, .frame_owner = 0x4a, .frame_previous = 0x8, .code_flags = 0x30,
		 .code_firstlineno = 0x44, .code_filename = 0x70, .code_name = 0x78,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x28,
		 .unicode_compact_data = 0x38, .frame_instr = 0x38, .code_adaptive = 0xd0, .code_linetable = 0x88,
		 .tstate_native_tid = 0xa0, .lasti_kind = PYBPF_LASTI_PTR, .code_ptr_mask = UNTAG },
	[15] = { .runtime_interp_main = 0x3b0, .interp_threads_head = 0x1ca8, .tstate_next = 0x8,
		 .tstate_thread_id = 0xb0, .tstate_frame = 0x48, .cframe_current_frame = NONE,
		 .frame_code = 0x0, .frame_owner = 0x4a, .frame_previous = 0x8, .code_flags = 0x30,
		 .code_firstlineno = 0x44, .code_filename = 0x70, .code_name = 0x78,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x28,
		 .unicode_compact_data = 0x38, .frame_instr = 0x38, .code_adaptive = 0xd0, .code_linetable = 0x88,
		 .tstate_native_tid = 0xb8, .lasti_kind = PYBPF_LASTI_PTR, .code_ptr_mask = UNTAG },
};

const struct pybpf_offsets *offsets_for(int major, int minor)
{
	if (major != 3 || minor < 9 || minor >= (int)(sizeof(table) / sizeof(table[0])))
		return NULL;
	return &table[minor];
}

/* ---- _Py_DebugOffsets (3.13+) ----
 * The block is a cookie, then u64 only: a header (version, free_threaded),
 * then one group per structure, most starting with the structure's size.
 * Groups and members are added between minor versions, so each minor has
 * its own positions below: offsetof() compiled against that version's
 * headers (pyenv 3.13.0 and Debian 3.13.18, Debian libpython3.14-dev 3.14.10
 * and libpython3.15-dev 3.15.2), checked on blocks dumped from live
 * processes (tests/unit/fixtures/debugoffsets/). */

#define DEBUG_COOKIE "xdebugpy"
#define DEBUG_VERSION 8		/* PY_VERSION_HEX */
#define DEBUG_FREE_THREADED 16
#define DEBUG_HEADER 24
#define DEBUG_MAX_STRUCT (4u << 20) /* the largest, _PyRuntimeState, is 338 KiB in 3.15 */
#define DEBUG_READ_MAX 1024	/* every layout below fits */

/* The structures described; each group's size bounds its members. */
enum debug_group { G_RUNTIME, G_INTERP, G_TSTATE, G_FRAME, G_CODE, G_UNICODE, G_NR };

static const char *const group_names[G_NR] = {
	"runtime_state", "interpreter_state", "thread_state", "interpreter_frame",
	"code_object", "unicode_object",
};

/* The members read from the block. */
enum debug_member {
	M_INTERPRETERS_HEAD,
	M_THREADS_HEAD,
	M_TSTATE_NEXT,
	M_TSTATE_FRAME,
	M_TSTATE_THREAD_ID,
	M_FRAME_PREVIOUS,
	M_FRAME_EXECUTABLE,
	M_FRAME_OWNER,
	M_CODE_FILENAME,
	M_CODE_NAME,
	M_CODE_FIRSTLINENO,
	M_UNICODE_STATE,
	M_UNICODE_LENGTH,
	M_UNICODE_ASCII_SIZE,
	M_UNICODE_COMPACT_SIZE,
	M_FRAME_INSTR,
	M_CODE_ADAPTIVE,
	M_CODE_LINETABLE,
	M_TSTATE_NATIVE_TID,
	M_NR,
};

#define OFF(f) offsetof(struct pybpf_offsets, f)

/* What each member means to us: the group it lies in, the bytes read at
 * that offset in the target's object (0: the value is a size) and their
 * alignment, and the field of struct pybpf_offsets it gives (plus add). */
static const struct {
	const char *name;
	enum debug_group group;
	uint8_t width, align, add;
	uint16_t dest;
} members[M_NR] = {
	/* interpreters.main is the pointer after interpreters.head (all 3.13+). */
	[M_INTERPRETERS_HEAD] = { "interpreters_head", G_RUNTIME, 16, 8, 8,
				  OFF(runtime_interp_main) },
	[M_THREADS_HEAD] = { "threads_head", G_INTERP, 8, 8, 0, OFF(interp_threads_head) },
	[M_TSTATE_NEXT] = { "next", G_TSTATE, 8, 8, 0, OFF(tstate_next) },
	[M_TSTATE_FRAME] = { "current_frame", G_TSTATE, 8, 8, 0, OFF(tstate_frame) },
	[M_TSTATE_THREAD_ID] = { "thread_id", G_TSTATE, 8, 8, 0, OFF(tstate_thread_id) },
	[M_FRAME_PREVIOUS] = { "previous", G_FRAME, 8, 8, 0, OFF(frame_previous) },
	[M_FRAME_EXECUTABLE] = { "executable", G_FRAME, 8, 8, 0, OFF(frame_code) },
	[M_FRAME_OWNER] = { "owner", G_FRAME, 1, 1, 0, OFF(frame_owner) },
	[M_CODE_FILENAME] = { "filename", G_CODE, 8, 8, 0, OFF(code_filename) },
	[M_CODE_NAME] = { "name", G_CODE, 8, 8, 0, OFF(code_name) },
	[M_CODE_FIRSTLINENO] = { "firstlineno", G_CODE, 4, 4, 0, OFF(code_firstlineno) },
	[M_UNICODE_STATE] = { "state", G_UNICODE, 4, 4, 0, OFF(unicode_state) },
	[M_UNICODE_LENGTH] = { "length", G_UNICODE, 8, 8, 0, OFF(unicode_length) },
	[M_UNICODE_ASCII_SIZE] = { "asciiobject_size", G_UNICODE, 0, 8, 0,
				   OFF(unicode_ascii_data) },
	[M_UNICODE_COMPACT_SIZE] = { "compactunicodeobject_size", G_UNICODE, 0, 8, 0,
				     OFF(unicode_compact_data) },
	[M_FRAME_INSTR] = { "instr_ptr", G_FRAME, 8, 8, 0, OFF(frame_instr) },
	[M_CODE_ADAPTIVE] = { "co_code_adaptive", G_CODE, 2, 2, 0, OFF(code_adaptive) },
	[M_CODE_LINETABLE] = { "linetable", G_CODE, 8, 8, 0, OFF(code_linetable) },
	[M_TSTATE_NATIVE_TID] = { "native_thread_id", G_TSTATE, 8, 8, 0, OFF(tstate_native_tid) },
};

/* Positions in the block: of each group's size member, and of each member
 * (0: not in this version, the table's value stays). */
static const struct debug_layout {
	int minor;
	uint32_t size; /* sizeof(_Py_DebugOffsets) */
	uint16_t group[G_NR];
	uint16_t member[M_NR];
} layouts[] = {
	{ .minor = 13, .size = 584,
	  .group = { [G_RUNTIME] = 24, [G_INTERP] = 48, [G_TSTATE] = 152, [G_FRAME] = 224,
		     [G_CODE] = 272, [G_UNICODE] = 536 },
	  .member = { [M_INTERPRETERS_HEAD] = 40, [M_THREADS_HEAD] = 72, [M_TSTATE_NEXT] = 168,
		      [M_TSTATE_FRAME] = 184, [M_TSTATE_THREAD_ID] = 192, [M_FRAME_PREVIOUS] = 232,
		      [M_FRAME_EXECUTABLE] = 240, [M_FRAME_OWNER] = 264, [M_CODE_FILENAME] = 280,
		      [M_CODE_NAME] = 288, [M_CODE_FIRSTLINENO] = 312, [M_UNICODE_STATE] = 544,
		      [M_UNICODE_LENGTH] = 552, [M_UNICODE_ASCII_SIZE] = 560, [M_FRAME_INSTR] = 248,
		      [M_CODE_ADAPTIVE] = 344, [M_CODE_LINETABLE] = 304,
		      [M_TSTATE_NATIVE_TID] = 200 } },
	/* + interpreter_state.threads_main, code_object_generation, tlbc_generation;
	 * interpreter_frame.stackpointer, tlbc_index; code_object.co_tlbc; set_object;
	 * gen_object, llist_node, debugger_support at the end. */
	{ .minor = 14, .size = 760,
	  .group = { [G_RUNTIME] = 24, [G_INTERP] = 48, [G_TSTATE] = 176, [G_FRAME] = 248,
		     [G_CODE] = 312, [G_UNICODE] = 616 },
	  .member = { [M_INTERPRETERS_HEAD] = 40, [M_THREADS_HEAD] = 72, [M_TSTATE_NEXT] = 192,
		      [M_TSTATE_FRAME] = 208, [M_TSTATE_THREAD_ID] = 216, [M_FRAME_PREVIOUS] = 256,
		      [M_FRAME_EXECUTABLE] = 264, [M_FRAME_OWNER] = 288, [M_CODE_FILENAME] = 320,
		      [M_CODE_NAME] = 328, [M_CODE_FIRSTLINENO] = 352, [M_UNICODE_STATE] = 624,
		      [M_UNICODE_LENGTH] = 632, [M_UNICODE_ASCII_SIZE] = 640, [M_FRAME_INSTR] = 272,
		      [M_CODE_ADAPTIVE] = 384, [M_CODE_LINETABLE] = 344,
		      [M_TSTATE_NATIVE_TID] = 224 } },
	/* + thread_state.base_frame, last_profiled_frame, last_profiled_frame_seq
	 * after current_frame, 4 more after status; err_stackitem; type_object and
	 * heap_type_object members; unicode_object.compactunicodeobject_size; gc. */
	{ .minor = 15, .size = 888,
	  .group = { [G_RUNTIME] = 24, [G_INTERP] = 48, [G_TSTATE] = 176, [G_FRAME] = 312,
		     [G_CODE] = 376, [G_UNICODE] = 712 },
	  .member = { [M_INTERPRETERS_HEAD] = 40, [M_THREADS_HEAD] = 72, [M_TSTATE_NEXT] = 192,
		      [M_TSTATE_FRAME] = 208, [M_TSTATE_THREAD_ID] = 240, [M_FRAME_PREVIOUS] = 320,
		      [M_FRAME_EXECUTABLE] = 328, [M_FRAME_OWNER] = 352, [M_CODE_FILENAME] = 384,
		      [M_CODE_NAME] = 392, [M_CODE_FIRSTLINENO] = 416, [M_UNICODE_STATE] = 720,
		      [M_UNICODE_LENGTH] = 728, [M_UNICODE_ASCII_SIZE] = 736,
		      [M_UNICODE_COMPACT_SIZE] = 744, [M_FRAME_INSTR] = 336,
		      [M_CODE_ADAPTIVE] = 448, [M_CODE_LINETABLE] = 408,
		      [M_TSTATE_NATIVE_TID] = 248 } },
};

/* Fields the BPF programs copy from one object in one read of at most
 * PYBPF_BLOCK_SIZE bytes (the spans of struct pybpf_target). */
static const struct {
	const char *what;
	uint16_t f[4];
	int n;
} one_read[] = {
	{ "thread state", { OFF(tstate_frame), OFF(tstate_thread_id) }, 2 },
	{ "frame", { OFF(frame_code), OFF(frame_owner) }, 2 },
	{ "code object",
	  { OFF(code_flags), OFF(code_firstlineno), OFF(code_filename), OFF(code_name) }, 4 },
};

static const struct debug_layout *layout_for(int major, int minor)
{
	for (size_t i = 0; major == 3 && i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		if (layouts[i].minor == minor)
			return &layouts[i];
	}
	return NULL;
}

static uint64_t block_u64(const unsigned char *b, uint32_t pos)
{
	uint64_t v;

	memcpy(&v, b + pos, sizeof(v));
	return v;
}

static uint32_t field_get(const struct pybpf_offsets *o, uint16_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)o + off, sizeof(v));
	return v;
}

static void field_set(struct pybpf_offsets *o, uint16_t off, uint32_t v)
{
	memcpy((char *)o + off, &v, sizeof(v));
}

int offsets_from_debug(const void *buf, size_t n, int major, int minor,
		       struct pybpf_offsets *out, struct pybpf_err *err)
{
	const struct pybpf_offsets *row = offsets_for(major, minor);
	const struct debug_layout *l = layout_for(major, minor);
	const unsigned char *b = buf;
	uint64_t version, ft, size[G_NR];
	struct pybpf_offsets o;

	if (!row || !l) {
		err_set(err, "CPython %d.%d has no known _Py_DebugOffsets layout: not supported",
			major, minor);
		return -1;
	}
	if (n < DEBUG_HEADER) {
		err_set(err, "_Py_DebugOffsets is truncated (%zu bytes): memory layout unknown", n);
		return -1;
	}
	if (memcmp(b, DEBUG_COOKIE, 8)) {
		err_set(err, "_Py_DebugOffsets has the wrong cookie: not a CPython 3.13+ runtime, "
			     "or memory layout unknown");
		return -1;
	}
	version = block_u64(b, DEBUG_VERSION);
	if (version >> 24 != (uint64_t)major || (version >> 16 & 0xff) != (uint64_t)minor) {
		err_set(err, "_Py_DebugOffsets is for version 0x%08llx, not %d.%d: the interpreter "
			     "file and the running runtime disagree", (unsigned long long)version,
			major, minor);
		return -1;
	}
	ft = block_u64(b, DEBUG_FREE_THREADED);
	if (ft == 1) {
		err_set(err, "CPython %d.%d is a free-threaded build (no GIL), which is not "
			     "supported", major, minor);
		return -1;
	}
	if (ft) {
		err_set(err, "_Py_DebugOffsets has free_threaded = %llu: memory layout unknown",
			(unsigned long long)ft);
		return -1;
	}
	if (n < l->size) {
		err_set(err, "_Py_DebugOffsets of CPython %d.%d is %u bytes, only %zu were read: "
			     "memory layout unknown", major, minor, l->size, n);
		return -1;
	}

	for (int g = 0; g < G_NR; g++) {
		size[g] = block_u64(b, l->group[g]);
		if (!size[g] || size[g] > DEBUG_MAX_STRUCT) {
			err_set(err, "_Py_DebugOffsets gives %s.size = %llu, not a plausible size: "
				     "memory layout unknown", group_names[g],
				(unsigned long long)size[g]);
			return -1;
		}
	}
	o = *row;
	for (int m = 0; m < M_NR; m++) {
		uint64_t v, gsize = size[members[m].group];
		bool outside;

		if (!l->member[m])
			continue;
		v = block_u64(b, l->member[m]);
		outside = v > gsize || gsize - v < members[m].width;
		if (outside || v % members[m].align) {
			err_set(err, "_Py_DebugOffsets gives %s.%s = %llu, %s the %llu-byte "
				     "structure: memory layout unknown",
				group_names[members[m].group], members[m].name,
				(unsigned long long)v, outside ? "outside" : "misaligned in",
				(unsigned long long)gsize);
			return -1;
		}
		field_set(&o, members[m].dest, (uint32_t)v + members[m].add);
	}
	for (size_t i = 0; i < sizeof(one_read) / sizeof(one_read[0]); i++) {
		uint32_t lo = UINT32_MAX, hi = 0;

		for (int k = 0; k < one_read[i].n; k++) {
			uint32_t v = field_get(&o, one_read[i].f[k]);

			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		if (hi + 8 - lo > PYBPF_BLOCK_SIZE) {
			err_set(err, "_Py_DebugOffsets spreads the %s fields over %u bytes, more "
				     "than the %d read at once: memory layout unknown",
				one_read[i].what, hi + 8 - lo, PYBPF_BLOCK_SIZE);
			return -1;
		}
	}
	*out = o;
	return 0;
}

int offsets_for_target(const struct python_target *t, struct pybpf_offsets *out,
		       struct pybpf_err *err)
{
	const struct pybpf_offsets *row = offsets_for(t->major, t->minor);
	const struct debug_layout *l = layout_for(t->major, t->minor);
	unsigned char buf[DEBUG_READ_MAX];
	struct pybpf_offsets o;
	struct pybpf_err why;
	int ret;

	if (!row || (t->minor >= 13 && (!l || l->size > sizeof(buf)))) {
		err_set(err, "PID %d: CPython %s is not supported", t->pid, t->version);
		return -1;
	}
	if (t->minor < 13) {
		*out = *row;
		return 0;
	}
	ret = python_target__read(t->pid, t->runtime_addr, buf, l->size);
	if (ret) {
		err_set(err, "PID %d: cannot read the _Py_DebugOffsets of CPython %s at 0x%llx: "
			     "%s%s", t->pid, t->version, (unsigned long long)t->runtime_addr,
			ret == -ENOENT || ret == -ESRCH ? "the process is gone" : strerror(-ret),
			ret == -EPERM || ret == -EACCES ? " (needs root)" : "");
		return -1;
	}
	if (offsets_from_debug(buf, l->size, t->major, t->minor, &o, &why)) {
		err_set(err, "PID %d: %s", t->pid, why.msg);
		return -1;
	}
	if (layout_check_live(t, &o, err))
		return -1;
	*out = o;
	return 0;
}
