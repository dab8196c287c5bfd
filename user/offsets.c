// SPDX-License-Identifier: GPL-2.0-only
#include "offsets.h"

#include <stddef.h>

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
		 .unicode_compact_data = 0x48, .code_ptr_mask = ALL_BITS },
	[10] = { .runtime_interp_main = 0x28, .interp_threads_head = 0x8, .tstate_next = 0x8,
		 .tstate_thread_id = 0xb0, .tstate_frame = 0x18, .cframe_current_frame = NONE,
		 .frame_code = 0x20, .frame_owner = NONE, .frame_previous = 0x18, .code_flags = 0x24,
		 .code_firstlineno = 0x28, .code_filename = 0x68, .code_name = 0x70,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x30,
		 .unicode_compact_data = 0x48, .code_ptr_mask = ALL_BITS },
	[11] = { .runtime_interp_main = 0x30, .interp_threads_head = 0x10, .tstate_next = 0x8,
		 .tstate_thread_id = 0x98, .tstate_frame = 0x38, .cframe_current_frame = 0x8,
		 .frame_code = 0x20, .frame_owner = 0x45, .frame_previous = 0x30, .code_flags = 0x30,
		 .code_firstlineno = 0x48, .code_filename = 0x70, .code_name = 0x78,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x30,
		 .unicode_compact_data = 0x48, .code_ptr_mask = ALL_BITS },
	[12] = { .runtime_interp_main = 0x30, .interp_threads_head = 0x48, .tstate_next = 0x8,
		 .tstate_thread_id = 0x88, .tstate_frame = 0x38, .cframe_current_frame = 0x0,
		 .frame_code = 0x0, .frame_owner = 0x46, .frame_previous = 0x8, .code_flags = 0x30,
		 .code_firstlineno = 0x44, .code_filename = 0x70, .code_name = 0x78,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x28,
		 .unicode_compact_data = 0x38, .code_ptr_mask = ALL_BITS },
	[13] = { .runtime_interp_main = 0x280, .interp_threads_head = 0x1cb0, .tstate_next = 0x8,
		 .tstate_thread_id = 0x98, .tstate_frame = 0x48, .cframe_current_frame = NONE,
		 .frame_code = 0x0, .frame_owner = 0x46, .frame_previous = 0x8, .code_flags = 0x30,
		 .code_firstlineno = 0x44, .code_filename = 0x70, .code_name = 0x78,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x28,
		 .unicode_compact_data = 0x38, .code_ptr_mask = ALL_BITS },
	[14] = { .runtime_interp_main = 0x330, .interp_threads_head = 0x1cb0, .tstate_next = 0x8,
		 .tstate_thread_id = 0x98, .tstate_frame = 0x48, .cframe_current_frame = NONE,
		 .frame_code = 0x0, .frame_owner = 0x4a, .frame_previous = 0x8, .code_flags = 0x30,
		 .code_firstlineno = 0x44, .code_filename = 0x70, .code_name = 0x78,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x28,
		 .unicode_compact_data = 0x38, .code_ptr_mask = UNTAG },
	[15] = { .runtime_interp_main = 0x3b0, .interp_threads_head = 0x1ca8, .tstate_next = 0x8,
		 .tstate_thread_id = 0xb0, .tstate_frame = 0x48, .cframe_current_frame = NONE,
		 .frame_code = 0x0, .frame_owner = 0x4a, .frame_previous = 0x8, .code_flags = 0x30,
		 .code_firstlineno = 0x44, .code_filename = 0x70, .code_name = 0x78,
		 .unicode_state = 0x20, .unicode_length = 0x10, .unicode_ascii_data = 0x28,
		 .unicode_compact_data = 0x38, .code_ptr_mask = UNTAG },
};

const struct pybpf_offsets *offsets_for(int major, int minor)
{
	if (major != 3 || minor < 9 || minor >= (int)(sizeof(table) / sizeof(table[0])))
		return NULL;
	return &table[minor];
}
