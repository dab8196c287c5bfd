/* SPDX-License-Identifier: GPL-2.0-only */
/* Names of a target's threads, kept through the run so that threads that
 * end before the report still have theirs: the Python name
 * (threading.Thread.name) where the interpreter gives it, else the OS name. */
#ifndef PYBPF_THREADNAMES_H
#define PYBPF_THREADNAMES_H

#include <stddef.h>
#include <stdint.h>

#include "pybpf.h"
#include "target.h"

struct thread_name {
	uint32_t tid;    /* host TID */
	int python;      /* name is the Python thread's */
	char name[64];
};

struct thread_names {
	struct thread_name *v;
	size_t n, cap;
};

/* The PyThreadState of host thread tid, or 0 when not known. */
typedef uint64_t (*tstate_of_fn)(void *ctx, uint32_t tid);

/* Reads the names of t's live threads into tn (Python names win over OS
 * names; a name once known is kept). */
void thread_names_refresh(struct thread_names *tn, const struct python_target *t,
			  const struct pybpf_offsets *off, tstate_of_fn tstate_of, void *ctx);
/* tid's name, or NULL. */
const char *thread_names_get(const struct thread_names *tn, uint32_t tid);
void thread_names_free(struct thread_names *tn);

#endif
