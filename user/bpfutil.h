/* SPDX-License-Identifier: GPL-2.0-only */
/* What the tracer and the sampler share in driving libbpf. */
#ifndef PYBPF_BPFUTIL_H
#define PYBPF_BPFUTIL_H

#include "pybpf.h"

/* libbpf's messages go to stderr only with -v. */
void bpfutil_quiet_libbpf(void);
/* " (hint: ...)" for an errno whose cause is known, else "". */
const char *bpf_hint_for(int err);
/* The smallest span covering the given field offsets (PYBPF_NO_OFFSET: none). */
struct pybpf_span span_of(__u32 a, __u32 b, __u32 c, __u32 d);

#endif
