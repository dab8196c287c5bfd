/* SPDX-License-Identifier: GPL-2.0-only */
/* Building host runs in the unit tests (include after cmocka.h): exact
 * profiles from a table of figures, sampled ones through
 * sampleprof_fixture.h, processes and refusals in fixed arrays. */
#ifndef PYBPF_HOSTRUN_FIXTURE_H
#define PYBPF_HOSTRUN_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostrun.h"
#include "profile.h"
#include "sampleprof.h"

#define MS 1000000ull
#define FIX_PROCS 16
#define FIX_REFUSED 4

struct fig {
	const char *file;
	int32_t line;
	const char *name;
	uint64_t nc, cc, tt_ns, ct_ns;
};

struct fixture {
	struct host_run run;
	struct host_proc procs[FIX_PROCS];
	struct host_refusal refused[FIX_REFUSED];
};

static inline void fixture_init(struct fixture *fx, bool sampling, double wall_seconds)
{
	memset(fx, 0, sizeof(*fx));
	fx->run.procs = fx->procs;
	fx->run.refused = fx->refused;
	fx->run.sampling = sampling;
	fx->run.wall_seconds = wall_seconds;
}

/* A malloc'ed exact profile of pid with the figures, in their order. */
static inline struct pybpf_profile *exact_profile(int pid, const struct fig *figs, size_t n)
{
	struct pybpf_profile *p = malloc(sizeof(*p));

	assert_non_null(p);
	profile_init(p);
	p->pid = pid;
	strcpy(p->python_version, "3.12.1");
	strcpy(p->binary, "/usr/lib/libpython3.12.so.1.0");
	strcpy(p->build, "shared");
	strcpy(p->backend, "evalframe");
	p->wall_seconds = 2.5;
	for (size_t i = 0; i < n; i++) {
		struct pybpf_stats st = { .ncalls = figs[i].nc,
					  .pcalls = figs[i].cc,
					  .tottime_ns = figs[i].tt_ns,
					  .cumtime_ns = figs[i].ct_ns };
		long f = profile_intern(p, figs[i].file, figs[i].line, figs[i].name);

		assert_true(f >= 0);
		profile_add(p, (size_t)f, &st);
	}
	return p;
}

/* A malloc'ed empty sampled profile of pid, wall mode at 100 Hz. */
static inline struct sample_profile *sampled_profile(int pid)
{
	struct sample_profile *p = malloc(sizeof(*p));

	assert_non_null(p);
	sample_profile_init(p);
	p->pid = pid;
	strcpy(p->comm, "python3");
	strcpy(p->python_version, "3.11.2");
	strcpy(p->binary, "/usr/bin/python3.11");
	strcpy(p->build, "static");
	p->mode = SAMPLE_MODE_WALL;
	p->hz = 100;
	p->wall_seconds = 5.0;
	return p;
}

/* Appends a process; its profile is set by the caller. */
static inline struct host_proc *fixture_proc(struct fixture *fx, pid_t pid, const char *cmdline,
					     double from_s, double to_s)
{
	struct host_proc *hp = &fx->procs[fx->run.nprocs++];

	assert_true(fx->run.nprocs <= FIX_PROCS);
	hp->pid = pid;
	snprintf(hp->cmdline, sizeof(hp->cmdline), "%s", cmdline);
	hp->from_s = from_s;
	hp->to_s = to_s;
	return hp;
}

static inline void fixture_refuse(struct fixture *fx, pid_t pid, const char *cmdline,
				  const char *why)
{
	struct host_refusal *r = &fx->refused[fx->run.nrefused++];

	assert_true(fx->run.nrefused <= FIX_REFUSED);
	r->pid = pid;
	snprintf(r->cmdline, sizeof(r->cmdline), "%s", cmdline);
	snprintf(r->why, sizeof(r->why), "%s", why);
}

static inline void fixture_free(struct fixture *fx)
{
	for (size_t i = 0; i < fx->run.nprocs; i++) {
		if (fx->procs[i].exact)
			profile_free(fx->procs[i].exact);
		if (fx->procs[i].sampled)
			sample_profile_free(fx->procs[i].sampled);
		free(fx->procs[i].exact);
		free(fx->procs[i].sampled);
	}
}

#endif
