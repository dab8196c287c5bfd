/* SPDX-License-Identifier: GPL-2.0-only */
/* A process's counted stacks, resolved into a sampled profile: code
 * objects to names and lines, TIDs to thread names. */
#ifndef PYBPF_SAMPLEDRAIN_H
#define PYBPF_SAMPLEDRAIN_H

#include <stddef.h>

#include "codecache.h"
#include "pybpf.h"
#include "sampleprof.h"
#include "threadnames.h"

struct sample_drain {
	struct sample_profile *p;
	struct codecache *cc;             /* the process's code objects */
	const struct thread_names *names; /* its threads' names */
	int minor;                        /* its CPython 3.minor (line tables) */
	size_t frames[PYBPF_SAMPLE_DEPTH];
};

/* A sampler_stack_fn (sampler.h) with a struct sample_drain as ctx: adds
 * one counted stack to d->p. 0 or -ENOMEM. */
int sample_drain_add(void *ctx, const struct pybpf_sample_key *key,
		     const struct pybpf_sample_count *count, const struct pybpf_sample_stack *st);

/* The profile's header facts that come from its process: PID, names,
 * version, interpreter file and build. */
struct python_target;
void sample_profile_set_target(struct sample_profile *p, const struct python_target *t);

#endif
