/* SPDX-License-Identifier: GPL-2.0-only */
/* A sampled profile as cProfile-style figures, so the pstats writer (and
 * anything that reads a struct pybpf_profile) can take it. */
#ifndef PYBPF_SAMPLE_PSTATS_H
#define PYBPF_SAMPLE_PSTATS_H

#include "profile.h"
#include "sampleprof.h"

/* Fills out (initialized here; freed again on failure) with one entry per
 * function (filename, firstlineno, name) of sp, over all threads and kinds.
 * What the figures mean, per sample (a sample of a stack stands for its ns):
 *   tottime  ns of the samples whose leaf (running) frame is the function;
 *   offcpu   the off-CPU part of tottime;
 *   cumtime  ns of the samples with the function anywhere in the stack,
 *            counted once per sample however often it recurses;
 *   ncalls = pcalls = the number of those samples (not calls: sampling
 *            cannot count calls).
 * Callers: each adjacent (caller -> callee) pair of a stack, counted once per
 * stack however often it occurs in it: the callee's entry for that caller
 * gets the stack's ns as cumtime and its samples as ncalls and pcalls, and
 * also its ns as tottime (and offcpu) when the pair is the last one: the
 * leaf frame and its direct caller. A stack with no frame adds to no function.
 * 0 or -ENOMEM. */
int sample_profile_to_profile(const struct sample_profile *sp, struct pybpf_profile *out);

#endif
