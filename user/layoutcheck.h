/* SPDX-License-Identifier: GPL-2.0-only */
/* A _Py_DebugOffsets block can pass every check of its own (cookie, version,
 * sizes, offsets inside their structures) and still be wrong: a patched or
 * corrupted block reads garbage. Before it is trusted, the layout is tried
 * on the live process: the frames it finds must hold code objects. */
#ifndef PYBPF_LAYOUTCHECK_H
#define PYBPF_LAYOUTCHECK_H

#include "log.h"
#include "pybpf.h"
#include "target.h"

/* 0 if the frames of t's threads read with off hold code objects (whose
 * name and file name are str objects), or if there is nothing to read yet
 * (no interpreter, no thread, no frame) or no type to compare with; -1 with
 * err set when frames were found and none holds a code object. */
int layout_check_live(const struct python_target *t, const struct pybpf_offsets *off,
		      struct pybpf_err *err);

#endif
