/* SPDX-License-Identifier: GPL-2.0-only */
/* What the tracer and the sampler share in driving libbpf. */
#ifndef PYBPF_BPFUTIL_H
#define PYBPF_BPFUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "pybpf.h"

/* libbpf's messages go to stderr only with -v. */
void bpfutil_quiet_libbpf(void);
/* Readies libbpf (quiet unless -v) and counts the possible CPUs into
 * *ncpus. 0, or -1 with err set. */
int bpfutil_start(size_t *ncpus, struct pybpf_err *err);
/* Sets err for a skeleton load of `what` that failed with errno e. */
void bpfutil_load_failed(struct pybpf_err *err, const char *what, int e);
struct bpf_map;
/* Adds up, for each key 0..n-1 of a per-CPU array of u64 counters, its
 * ncpus values into sum[key]; keys that cannot be read add nothing. */
void bpfutil_sum_percpu(struct bpf_map *map, size_t ncpus, uint64_t *sum, __u32 n);
struct bpf_object;
/* The most kernel memory obj's maps can hold (their full size, whether
 * preallocated or allocated as they fill). */
uint64_t bpfutil_map_bytes(const struct bpf_object *obj, size_t ncpus);
/* " (hint: ...)" for an errno whose cause is known, else "". */
const char *bpf_hint_for(int err);
/* The smallest span covering the given field offsets (PYBPF_NO_OFFSET: none). */
struct pybpf_span span_of(__u32 a, __u32 b, __u32 c, __u32 d);

#endif
