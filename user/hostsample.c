// SPDX-License-Identifier: GPL-2.0-only
/* --all-python --sample: one set of per-CPU perf events for the host and
 * a wall-clock tick per process, filtered in BPF on the table of sampled
 * processes; each process's stacks resolved against its own code objects. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecache.h"
#include "hostengine.h"
#include "hostfiles.h"
#include "hostreport.h"
#include "output.h"
#include "sampledrain.h"
#include "sampler.h"
#include "sampling.h"
#include "threadnames.h"

#define NSEC_PER_SEC 1000000000ull
#define TICK_NS (20ull * 1000000ull) /* without off-CPU ticks: new processes, new stacks */
#define NAMES_NS (500ull * 1000000ull)

struct sample_engine {
	const struct pybpf_options *o;
	struct sampler *sm;
	unsigned int hz;
	bool offcpu_ticks;
	uint64_t period, since_names;
	struct host_member **ms; /* for the callbacks */
	size_t nms;
};

/* Per process. */
struct sampled {
	struct codecache *cc;
	struct thread_names names;
	struct sample_profile prof;
};

static void *sample_open(const struct pybpf_options *o, struct pybpf_err *err)
{
	struct sample_engine *e = calloc(1, sizeof(*e));

	if (!e) {
		err_set(err, "cannot start: %s", strerror(ENOMEM));
		return NULL;
	}
	e->o = o;
	e->hz = sampling_rate(o->hz);
	e->offcpu_ticks = o->mode != SAMPLE_MODE_CPU && !o->offcpu_at_switch;
	e->period = e->offcpu_ticks ? NSEC_PER_SEC / e->hz : TICK_NS;
	e->sm = sampler__open(o->mode, e->hz, o->offcpu_at_switch, true, err);
	if (!e->sm || sampler__start(e->sm, err)) {
		sampler__close(e->sm);
		free(e);
		return NULL;
	}
	return e;
}

static int sample_events_map(void *e)
{
	return sampler__proc_events_map(((struct sample_engine *)e)->sm);
}

static uint64_t sample_events_lost(void *e)
{
	return sampler__events_lost(((struct sample_engine *)e)->sm);
}

static struct sampled *new_sampled(struct host_member *m)
{
	struct sampled *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cc = codecache__new(m->t.pid, m->t.minor, &m->off);
	if (!p->cc) {
		free(p);
		return NULL;
	}
	sample_profile_init(&p->prof);
	m->priv = p;
	return p;
}

static void sample_free_member(struct host_member *m)
{
	struct sampled *p = m->priv;

	if (!p)
		return;
	codecache__free(p->cc);
	thread_names_free(&p->names);
	sample_profile_free(&p->prof);
	free(p);
	m->priv = NULL;
}

/* Perf events are per CPU: one set for the host, whatever shared_probes says. */
static int sample_start(void *ep, struct host_member *m, bool just_exec, bool shared_probes,
			struct pybpf_err *err)
{
	struct sample_engine *e = ep;

	(void)just_exec;
	(void)shared_probes;
	if (!new_sampled(m)) {
		err_set(err, "cannot sample it: %s", strerror(ENOMEM));
		return -1;
	}
	if (sampler__add_target(e->sm, &m->t, &m->off, err)) {
		sampler__remove_target(e->sm, m->t.pid);
		sample_free_member(m);
		return -1;
	}
	return 0;
}

static void sample_follow_fork(void *ep, const struct host_member *parent, struct host_member *m)
{
	struct sample_engine *e = ep;
	struct pybpf_err err = { { 0 } };

	(void)parent;
	if (!new_sampled(m) || sampler__follow_fork(e->sm, m->t.pid, &err))
		pybpf_warn("PID %d: %s", m->t.pid, err.msg[0] ? err.msg : strerror(ENOMEM));
}

static void sample_drop_fork(void *ep, const struct host_member *parent, pid_t child)
{
	(void)parent;
	sampler__remove_target(((struct sample_engine *)ep)->sm, child);
}

static void sample_ended(void *ep, struct host_member *m)
{
	(void)ep;
	(void)m; /* what was counted stays; code objects already read stay readable */
}

static void sample_describe(const struct host_member *m, char *buf, size_t n)
{
	(void)m;
	snprintf(buf, n, "%s", "");
}

static uint64_t sample_tick_ns(void *e)
{
	return ((struct sample_engine *)e)->period;
}

static struct host_member *member_of(const struct sample_engine *e, __u32 pid)
{
	for (size_t i = e->nms; i-- > 0;)
		if (e->ms[i]->info.pid == (pid_t)pid && e->ms[i]->priv)
			return e->ms[i];
	return NULL;
}

/* Reads the code objects of a stack while they are alive. */
static int warm_codes(void *ctx, const struct pybpf_sample_key *key,
		      const struct pybpf_sample_count *count, const struct pybpf_sample_stack *st)
{
	struct host_member *m = member_of(ctx, st->pid);
	struct sampled *p = m ? m->priv : NULL;

	(void)key;
	(void)count;
	for (__u32 i = 0; p && i < st->depth; i++)
		codecache__get(p->cc, st->frames[i].code, st->frames[i].firstlineno);
	return 0;
}

static uint64_t tstate_of(void *ctx, uint32_t tid)
{
	return sampler__thread_state(ctx, tid);
}

static void refresh_names(struct sample_engine *e)
{
	for (size_t i = 0; i < e->nms; i++) {
		struct sampled *p = e->ms[i]->priv;

		if (p && !e->ms[i]->ended)
			thread_names_refresh(&p->names, &e->ms[i]->t, &e->ms[i]->off, tstate_of,
					     e->sm);
	}
}

static void sample_tick(void *ep, struct host_member **ms, size_t n, uint64_t ticks)
{
	struct sample_engine *e = ep;

	e->ms = ms;
	e->nms = n;
	if (e->offcpu_ticks && ticks)
		sampler__tick(e->sm, ticks * e->period);
	sampler__consume_new(e->sm, warm_codes, e);
	e->since_names += ticks * e->period;
	if (e->since_names >= NAMES_NS) {
		refresh_names(e);
		e->since_names = 0;
	}
}

static uint64_t sample_count(void *ep)
{
	return sampler__samples(((struct sample_engine *)ep)->sm);
}

static void sample_summary(void *ep, struct host_member **ms, size_t n, size_t refused,
			   char *buf, size_t len)
{
	struct sample_engine *e = ep;

	(void)ms;
	snprintf(buf, len, "sampling %zu Python processes in %s mode at %u Hz, %zu not sampled, "
			   "BPF maps up to %.0f MiB", n, sample_mode_name(e->o->mode), e->hz, refused,
		 (double)sampler__map_bytes(e->sm) / (1 << 20));
}

static void fill_header(const struct sample_engine *e, struct host_member *m)
{
	struct sample_profile *p = &((struct sampled *)m->priv)->prof;

	sample_profile_set_target(p, &m->t);
	p->mode = e->o->mode;
	p->hz = e->hz;
	p->wall_seconds = m->info.to_s - m->info.from_s;
	m->info.sampled = p;
}

/* Losses are counted for all processes at once: said once, on stderr. */
static void say_losses(struct sample_engine *e)
{
	struct sample_losses l;

	sampler__losses(e->sm, &l);
	if (l.no_tstate + l.read_errors + l.stacks_full + l.counts_full)
		pybpf_warn("samples not counted, all processes: %llu in threads without a Python "
			   "thread state, %llu unreadable, %llu with the stacks map full, %llu "
			   "with the counts map full", (unsigned long long)l.no_tstate,
			   (unsigned long long)l.read_errors, (unsigned long long)l.stacks_full,
			   (unsigned long long)l.counts_full);
}

static int sample_finish(void *ep, struct host_member **ms, size_t n)
{
	struct sample_engine *e = ep;
	struct sample_drain *d = calloc(1, sizeof(*d));
	int ret = 0;

	e->ms = ms;
	e->nms = n;
	sampler__stop(e->sm);
	/* Every stack, those whose notice is still queued included, while the
	 * processes live; then the names. */
	sampler__foreach_stack(e->sm, warm_codes, e);
	refresh_names(e);
	for (size_t i = 0; i < n; i++) {
		struct sampled *p = ms[i]->priv;

		fill_header(e, ms[i]);
		if (!d)
			continue;
		*d = (struct sample_drain){ .p = &p->prof, .cc = p->cc, .names = &p->names,
					    .minor = ms[i]->t.minor };
		if (sampler__foreach(e->sm, ms[i]->info.pid, sample_drain_add, d))
			ret = 1;
	}
	if (!d || ret)
		pybpf_warn("cannot read all the samples: %s; printing what was read",
			   strerror(ENOMEM));
	free(d);
	say_losses(e);
	return d ? ret : 1;
}

static int write_samples(const struct host_run *run, const struct sample_writer *w,
			 const char *spec)
{
	return spec ? hostfiles_write_samples(run, w, spec) : 0;
}

static int sample_report(void *ep, const struct host_run *run)
{
	struct sample_engine *e = ep;
	const struct pybpf_options *o = e->o;
	struct hostreport_opts ro = {
		.sample = { .sort = o->sample_sort, .limit = o->limit, .lines = o->lines,
			    .threads = o->threads },
		.limit = o->limit,
	};
	int ret = 0, err;

	errno = 0;
	err = output_print_error(stdout, hostreport_print(stdout, run, &ro));
	if (err) {
		pybpf_warn("cannot print the report: %s", strerror(err));
		ret = 1;
	}
	ret |= write_samples(run, &output_folded, o->folded);
	ret |= write_samples(run, &output_flamegraph, o->flamegraph);
	ret |= write_samples(run, &output_speedscope, o->speedscope);
	if (o->output && hostfiles_write_pstats(run, o->output))
		ret = 1;
	return ret;
}

static void sample_close(void *ep)
{
	struct sample_engine *e = ep;

	if (!e)
		return;
	sampler__close(e->sm);
	free(e);
}

const struct host_engine_ops host_sample_ops = {
	.verb = "sampling",
	.open = sample_open,
	.events_map = sample_events_map,
	.events_lost = sample_events_lost,
	.start = sample_start,
	.follow_fork = sample_follow_fork,
	.drop_fork = sample_drop_fork,
	.ended = sample_ended,
	.describe = sample_describe,
	.tick_ns = sample_tick_ns,
	.tick = sample_tick,
	.count = sample_count,
	.count_noun = "samples",
	.summary = sample_summary,
	.finish = sample_finish,
	.report = sample_report,
	.free_member = sample_free_member,
	.close = sample_close,
};
