/* SPDX-License-Identifier: GPL-2.0-only */
/* The line an instruction of a code object belongs to, from the code
 * object's line table as each CPython version writes it
 * (../shared/reference/cpython-internals.md §3). */
#ifndef PYBPF_LINETABLE_H
#define PYBPF_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/* The line running at instruction index lasti (in 2-byte code units) of a
 * code object of CPython 3.minor whose line table (co_lnotab up to 3.9,
 * co_linetable from 3.10) is the n bytes at table: what frame.f_lineno
 * gives for a frame stopped there. Where CPython has no line for the
 * instruction (None in co_lines()), the line of the closest preceding
 * instruction that has one, else firstlineno; firstlineno for lasti < 0;
 * past the table's end, the last line it gives. The table is untrusted:
 * a malformed or truncated one is read within its n bytes and gives a
 * best-effort answer. Never negative (0: the table led below line 0). */
int32_t linetable_line(int minor, const uint8_t *table, size_t n, int32_t firstlineno,
		       int32_t lasti);

#endif
