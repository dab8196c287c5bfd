/* SPDX-License-Identifier: GPL-2.0-only */
/* Building small sampled profiles in the unit tests (include after cmocka.h):
 * each helper fails the test if the profile refuses what it is given. */
#ifndef PYBPF_SAMPLEPROF_FIXTURE_H
#define PYBPF_SAMPLEPROF_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampleprof.h"

/* The index of the frame (file, first, name) at line, added if new. */
static inline size_t frame(struct sample_profile *p, const char *file, int32_t first,
			   const char *name, int32_t line)
{
	long i = sample_profile_frame(p, file, first, name, line);

	assert_true(i >= 0);
	return (size_t)i;
}

/* The index of thread tid, added if new. */
static inline size_t thread(struct sample_profile *p, uint32_t tid, const char *name)
{
	long i = sample_profile_thread(p, tid, name);

	assert_true(i >= 0);
	return (size_t)i;
}

/* Counts samples of a stack (n frame indices, root first). */
static inline void add(struct sample_profile *p, size_t thread, const size_t *frames, size_t n,
		       bool truncated, enum pybpf_sample_kind kind, uint64_t samples, uint64_t ns)
{
	assert_int_equal(sample_profile_add(p, thread, frames, n, truncated, kind, samples, ns), 0);
}

#endif
