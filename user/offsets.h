/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-version CPython layouts (../shared/reference/cpython-internals.md §1-§3). */
#ifndef PYBPF_OFFSETS_H
#define PYBPF_OFFSETS_H

#include "pybpf.h"

/* The layout for CPython 3.minor, or NULL when unsupported. */
const struct pybpf_offsets *offsets_for(int major, int minor);

#endif
