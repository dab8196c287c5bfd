// SPDX-License-Identifier: GPL-2.0-only
/* --all-python's exact engine: each process traced with the backend that
 * suits it, the probes once per interpreter file (or per process when some
 * are left out), the eval-frame hook set (with its guardian) in every 3.11+
 * process that needs it, forks' inherited hooks taken over. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "evalhook.h"
#include "freeze.h"
#include "hostengine.h"
#include "hostfiles.h"
#include "hostreport.h"
#include "offsets.h"
#include "output.h"
#include "tracer.h"

#define NSEC_PER_SEC 1000000000ull
#define TICK_NS (20ull * 1000000ull) /* how soon a new process is looked at */

struct trace_engine {
	const struct pybpf_options *o;
	struct tracer *tr;
	size_t own_probes; /* processes with probes of their own */
	struct host_member **ms; /* finish: for the drain's lookups */
	size_t nms;
};

/* Per process. */
struct traced {
	enum pybpf_backend backend;
	bool shared_probes; /* on the interpreter file for every process, or its own */
	struct evalhook hook;
	char known_gap[256];
	struct pybpf_profile prof;
};

static void *trace_open(const struct pybpf_options *o, struct pybpf_err *err)
{
	struct trace_engine *e = calloc(1, sizeof(*e));
	struct tracer_limits lim = {
		.processes = o->max_processes ? o->max_processes : PYBPF_DEFAULT_MAX_PROCESSES,
		.threads = o->max_threads ? o->max_threads : PYBPF_MAX_THREADS,
		.functions = o->max_functions ? o->max_functions : PYBPF_MAX_FUNCS,
	};

	if (!e) {
		err_set(err, "cannot start: %s", strerror(ENOMEM));
		return NULL;
	}
	e->o = o;
	e->tr = tracer__open(&lim, o->latency, true, true, err);
	if (!e->tr) {
		free(e);
		return NULL;
	}
	return e;
}

static int trace_events_map(void *e)
{
	return tracer__proc_events_map(((struct trace_engine *)e)->tr);
}

static uint64_t trace_events_lost(void *e)
{
	return tracer__events_lost(((struct trace_engine *)e)->tr);
}

static struct traced *new_traced(struct host_member *m)
{
	struct traced *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->hook.mem_fd = p->hook.guard_fd = -1;
	profile_init(&p->prof);
	m->priv = p;
	return p;
}

static void trace_free_member(struct host_member *m)
{
	struct traced *p = m->priv;

	if (!p)
		return;
	evalhook__remove(&p->hook);
	profile_free(&p->prof);
	free(p);
	m->priv = NULL;
}

static int attach(struct trace_engine *e, struct host_member *m, struct pybpf_err *err)
{
	struct traced *p = m->priv;
	bool floor = e->o->probe_floor;

	int ret;

	if (p->backend == PYBPF_BACKEND_EVALFRAME)
		ret = tracer__attach_evalframe(e->tr, &m->t, &m->off, floor, p->shared_probes, err);
	else
		ret = tracer__attach_usdt(e->tr, &m->t, &m->off, backend_usdt_flags(&m->t), floor,
					  p->shared_probes, err);
	if (!ret && !p->shared_probes)
		e->own_probes++;
	return ret;
}

/* Probes (or the process's entry in the table) first, then the hook:
 * every call the hook diverts is seen. */
static int trace_start(void *ep, struct host_member *m, bool just_exec, bool shared_probes,
		       struct pybpf_err *err)
{
	struct trace_engine *e = ep;
	struct traced *p = new_traced(m);

	if (!p) {
		err_set(err, "cannot trace it: %s", strerror(ENOMEM));
		return -1;
	}
	if (backend_choose(&m->t, e->o->backend, false, &p->backend, err))
		goto fail;
	/* A uretprobe on a file makes return instances in every process that maps
	 * it, traced or not, and its removal waits while any of them keeps
	 * calling (freeze.h): the eval-frame probes are each process's own. */
	p->shared_probes = shared_probes && p->backend == PYBPF_BACKEND_USDT;
	if (attach(e, m, err))
		goto fail;
	backend_known_gap(&m->t, p->backend, p->known_gap, sizeof(p->known_gap));
	if (!backend_needs_hook(&m->t, p->backend))
		return 0;
	/* A running one that uses the perf trampoline has it set (install refuses);
	 * one that just exec'ed and asks for it would refuse to start beside ours. */
	if (just_exec && m->t.minor >= 12 && python_target__wants_perf_trampoline(m->t.pid)) {
		err_set(err, "it asks for the perf trampoline (-X perf or PYTHONPERFSUPPORT), "
			     "another PEP 523 hook, which would refuse to start beside ours");
		goto fail_registered;
	}
	if (!evalhook__install(&m->t, &p->hook, err))
		return 0;
fail_registered:
	tracer__unregister(e->tr, m->t.pid);
fail:
	trace_free_member(m);
	return -1;
}

static void trace_follow_fork(void *ep, const struct host_member *parent, struct host_member *m)
{
	struct trace_engine *e = ep;
	const struct traced *pp = parent->priv;
	struct pybpf_err err = { { 0 } };
	struct traced *p = new_traced(m);

	if (!p) {
		tracer__unregister(e->tr, m->t.pid);
		return;
	}
	p->backend = pp->backend;
	p->shared_probes = pp->shared_probes;
	snprintf(p->known_gap, sizeof(p->known_gap), "%s", pp->known_gap);
	/* Fails only for a child that exec'ed or ended since: its exec or exit follows. */
	if (pp->hook.installed && evalhook__adopt(&pp->hook, m->t.pid, &p->hook, &err) &&
	    pybpf_verbose)
		pybpf_warn("%s", err.msg);
	/* Per-process probes do not follow a fork. */
	if (!p->shared_probes && attach(e, m, &err))
		pybpf_warn("PID %d: %s", m->t.pid, err.msg);
}

static void trace_drop_fork(void *ep, const struct host_member *parent, pid_t child)
{
	struct trace_engine *e = ep;
	const struct traced *pp = parent->priv;
	struct pybpf_err err = { { 0 } };
	struct evalhook h;

	tracer__unregister(e->tr, child);
	/* Not traced, but it holds a copy of our hook: that must go. */
	if (pp->hook.installed && !evalhook__adopt(&pp->hook, child, &h, &err))
		evalhook__remove(&h);
}

static void trace_ended(void *ep, struct host_member *m)
{
	struct traced *p = m->priv;

	(void)ep;
	if (p)
		evalhook__remove(&p->hook); /* its memory is gone: only the guardian to reap */
}

static void trace_describe(const struct host_member *m, char *buf, size_t n)
{
	const struct traced *p = m->priv;

	snprintf(buf, n, ", backend %s", backend_name(p->backend));
}

static uint64_t trace_tick_ns(void *e)
{
	(void)e;
	return TICK_NS;
}

static void trace_tick(void *e, struct host_member **ms, size_t n, uint64_t ticks)
{
	(void)e;
	(void)ms;
	(void)n;
	(void)ticks;
}

static uint64_t trace_count(void *e)
{
	return tracer__calls(((struct trace_engine *)e)->tr);
}

static void trace_summary(void *ep, struct host_member **ms, size_t n, size_t refused,
			  char *buf, size_t len)
{
	struct trace_engine *e = ep;
	size_t usdt = 0;

	for (size_t i = 0; i < n; i++)
		usdt += ((struct traced *)ms[i]->priv)->backend == PYBPF_BACKEND_USDT;
	snprintf(buf, len, "tracing %zu Python processes (%zu usdt, %zu evalframe), %zu not "
			   "traced, probes on %zu interpreter files and %zu processes, BPF maps up "
			   "to %.0f MiB", n, usdt, n - usdt, refused, tracer__probed_files(e->tr),
		 e->own_probes, (double)tracer__map_bytes(e->tr) / (1 << 20));
}

static struct pybpf_profile *profile_of(void *ctx, int pid)
{
	struct trace_engine *e = ctx;

	/* The latest member of a PID (the earlier ones exec'ed). */
	for (size_t i = e->nms; i-- > 0;)
		if (e->ms[i]->info.pid == pid && e->ms[i]->priv)
			return &((struct traced *)e->ms[i]->priv)->prof;
	return NULL;
}

static void restore_hook(struct host_member *m)
{
	struct traced *p = m->priv;
	int err = evalhook__remove(&p->hook);

	if (err == -EBUSY)
		pybpf_warn("PID %d's eval_frame was changed while it was traced: left as it is; "
			   "calls made after the change were not seen", m->info.pid);
	else if (err)
		pybpf_warn("cannot restore PID %d's eval_frame: %s", m->info.pid, strerror(-err));
}

static void fill_profile(struct host_member *m)
{
	struct traced *p = m->priv;
	struct pybpf_profile *pr = &p->prof;

	pr->pid = m->info.pid;
	snprintf(pr->python_version, sizeof(pr->python_version), "%s", m->t.version);
	snprintf(pr->binary, sizeof(pr->binary), "%s", m->t.binary);
	snprintf(pr->backend, sizeof(pr->backend), "%s", backend_name(p->backend));
	snprintf(pr->build, sizeof(pr->build), "%s", m->t.shared ? "shared" : "static");
	snprintf(pr->known_gap, sizeof(pr->known_gap), "%s", p->known_gap);
	pr->wall_seconds = m->info.to_s - m->info.from_s;
	m->info.exact = pr;
}

/* The probes go while the processes with return probes are held still. */
static void detach_still(struct trace_engine *e, struct host_member **ms, size_t n)
{
	struct freeze f = { 0 };

	for (size_t i = 0; i < n; i++) {
		const struct traced *p = ms[i]->priv;

		if (!ms[i]->ended && p->backend == PYBPF_BACKEND_EVALFRAME)
			freeze_process(&f, ms[i]->info.pid);
	}
	tracer__detach(e->tr);
	freeze_release(&f);
}

/* Counting stops at once, the calls still open close now (as cProfile's
 * disable() does), the probes go, then the hooks; then the maps are read. */
static int trace_finish(void *ep, struct host_member **ms, size_t n)
{
	struct trace_engine *e = ep;
	struct pybpf_err err = { { 0 } };
	struct timespec now;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	tracer__stop(e->tr, 0, (unsigned long long)now.tv_sec * NSEC_PER_SEC +
				       (unsigned long long)now.tv_nsec);
	detach_still(e, ms, n);
	for (size_t i = 0; i < n; i++)
		restore_hook(ms[i]);
	e->ms = ms;
	e->nms = n;
	if (tracer__drain_all(e->tr, profile_of, e, &err)) {
		pybpf_warn("%s; printing what was read", err.msg);
		ret = 1;
	}
	for (size_t i = 0; i < n; i++) {
		fill_profile(ms[i]);
		report_warn_unread(ms[i]->info.exact);
	}
	return ret;
}

static int trace_report(void *ep, const struct host_run *run)
{
	struct trace_engine *e = ep;
	const struct pybpf_options *o = e->o;
	struct hostreport_opts ro = { .sort = o->sort, .limit = o->limit, .latency = o->latency };
	int ret = 0, err;

	errno = 0;
	err = output_print_error(stdout, hostreport_print(stdout, run, &ro));
	if (err) {
		pybpf_warn("cannot print the report: %s", strerror(err));
		ret = 1;
	}
	if (o->output && hostfiles_write_pstats(run, o->output))
		ret = 1;
	return ret;
}

static void trace_close(void *ep)
{
	struct trace_engine *e = ep;

	if (!e)
		return;
	tracer__close(e->tr);
	free(e);
}

const struct host_engine_ops host_trace_ops = {
	.verb = "tracing",
	.open = trace_open,
	.events_map = trace_events_map,
	.events_lost = trace_events_lost,
	.start = trace_start,
	.follow_fork = trace_follow_fork,
	.drop_fork = trace_drop_fork,
	.ended = trace_ended,
	.describe = trace_describe,
	.tick_ns = trace_tick_ns,
	.tick = trace_tick,
	.count = trace_count,
	.count_noun = "calls counted",
	.summary = trace_summary,
	.finish = trace_finish,
	.report = trace_report,
	.free_member = trace_free_member,
	.close = trace_close,
};
