// SPDX-License-Identifier: GPL-2.0-only
#include "sampledrain.h"

#include <errno.h>
#include <stdio.h>

#include "target.h"

/* The profile's frame for one sampled frame; unknown code gets a placeholder. */
static long frame_of(struct sample_drain *d, const struct pybpf_sample_frame *f)
{
	const struct codeinfo *ci = codecache__get(d->cc, f->code, f->firstlineno);

	if (!ci) {
		d->p->losses.unresolved++;
		return sample_profile_frame(d->p, "<unknown>", 0, "<unknown>", 0);
	}
	return sample_profile_frame(d->p, ci->filename, ci->firstlineno, ci->name,
				    codecache__line(ci, d->minor, f->lasti));
}

int sample_drain_add(void *ctx, const struct pybpf_sample_key *key,
		     const struct pybpf_sample_count *count, const struct pybpf_sample_stack *st)
{
	struct sample_drain *d = ctx;
	long thread = sample_profile_thread(d->p, key->tid, thread_names_get(d->names, key->tid));

	if (thread < 0 || key->kind >= PYBPF_SAMPLE_KINDS)
		return thread < 0 ? -ENOMEM : 0;
	for (__u32 i = 0; i < st->depth; i++) {
		long f = frame_of(d, &st->frames[st->depth - 1 - i]); /* root first */

		if (f < 0)
			return -ENOMEM;
		d->frames[i] = (size_t)f;
	}
	return sample_profile_add(d->p, (size_t)thread, d->frames, st->depth,
				  st->flags & PYBPF_STACK_TRUNCATED, key->kind, count->samples,
				  count->ns);
}

void sample_profile_set_target(struct sample_profile *p, const struct python_target *t)
{
	p->pid = t->pid;
	snprintf(p->comm, sizeof(p->comm), "%s", t->comm);
	snprintf(p->python_version, sizeof(p->python_version), "%s", t->version);
	snprintf(p->binary, sizeof(p->binary), "%s", t->binary);
	snprintf(p->build, sizeof(p->build), "%s", t->shared ? "shared" : "static");
}
