/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-version CPython layouts (../shared/reference/cpython-internals.md §1-§5):
 * a table for 3.9-3.12, and for 3.13+ the target's own _Py_DebugOffsets with
 * the table filling in what that block does not describe. */
#ifndef PYBPF_OFFSETS_H
#define PYBPF_OFFSETS_H

#include <stddef.h>

#include "pybpf.h"

struct pybpf_err;
struct python_target;

/* The layout for CPython 3.minor, or NULL when unsupported. */
const struct pybpf_offsets *offsets_for(int major, int minor);

/* Decodes a _Py_DebugOffsets block (n bytes copied from &_PyRuntime) of
 * CPython major.minor (3.13-3.15). The block comes from a process we do not
 * trust: its header and every offset taken are checked. 0, or -1 with err
 * set and out untouched. */
int offsets_from_debug(const void *buf, size_t n, int major, int minor,
		       struct pybpf_offsets *out, struct pybpf_err *err);

/* The layout of a running target: the table up to 3.12, its _Py_DebugOffsets
 * from 3.13. 0, or -1 with err set ("PID N: ...") and out untouched. */
int offsets_for_target(const struct python_target *t, struct pybpf_offsets *out,
		       struct pybpf_err *err);

#endif
