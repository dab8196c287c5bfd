// SPDX-License-Identifier: GPL-2.0-only
#include "sampling.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allpython.h"
#include "codecache.h"
#include "launch.h"
#include "offsets.h"
#include "output.h"
#include "procstate.h"
#include "pstats.h"
#include "runloop.h"
#include "sample_pstats.h"
#include "sampledrain.h"
#include "sampler.h"
#include "sreport.h"
#include "testpoint.h"
#include "threadnames.h"

#define NSEC_PER_SEC 1000000000ull
/* How often thread names are read during the run: soon enough to catch
 * most threads before they end (code objects are read as stacks appear). */
#define REFRESH_NS (500ull * 1000000ull)
#define MAX_RATE_FILE "/proc/sys/kernel/perf_event_max_sample_rate"

struct sampling {
	const struct pybpf_options *o;
	unsigned int hz;
	struct python_target t;
	struct pybpf_offsets off;
	struct sampler *sm;
	struct codecache *cc;
	struct thread_names names;
	struct launch *launch;
	struct timespec started;
	double wall_seconds;
	int mem_fd;         /* the target's memory at the start: tells of an exec */
	int pidfd;          /* the target's, from before the attach (procstate.h) */
};

/* --hz, lowered to the kernel's limit on perf sampling rates. */
unsigned int sampling_rate(unsigned int asked)
{
	unsigned int hz = asked ? asked : PYBPF_DEFAULT_HZ, max = 0;
	FILE *f = fopen(MAX_RATE_FILE, "re");

	if (f && fscanf(f, "%u", &max) == 1 && max && hz > max) {
		pybpf_warn("--hz %u is above the kernel's limit (%s = %u): sampling at %u Hz",
			   hz, MAX_RATE_FILE, max, max);
		hz = max;
	}
	if (f)
		fclose(f);
	return hz;
}

static uint64_t tstate_of(void *ctx, uint32_t tid)
{
	return sampler__thread_state(ctx, tid);
}

/* Reads the code objects of a stack into the cache. */
static int warm_codes(void *ctx, const struct pybpf_sample_key *key,
		      const struct pybpf_sample_count *count, const struct pybpf_sample_stack *st)
{
	struct sampling *s = ctx;

	(void)key;
	(void)count;
	for (__u32 i = 0; i < st->depth; i++)
		codecache__get(s->cc, st->frames[i].code, st->frames[i].firstlineno);
	return 0;
}

/* Reads the code objects of the stacks new since the last call, and the
 * threads' names. */
static void refresh(struct sampling *s)
{
	sampler__consume_new(s->sm, warm_codes, s);
	thread_names_refresh(&s->names, &s->t, &s->off, tstate_of, s->sm);
}

static int start(struct sampling *s, struct pybpf_err *err)
{
	if (offsets_for_target(&s->t, &s->off, err))
		return -1;
	s->pidfd = process_pidfd(s->t.pid, err);
	if (s->pidfd < 0)
		return -1;
	s->sm = sampler__open(s->o->mode, s->hz, s->o->offcpu_at_switch, false, err);
	if (s->sm)
		testpoint("attach");
	if (!s->sm || sampler__add_target(s->sm, &s->t, &s->off, err) ||
	    sampler__start(s->sm, err))
		return -1;
	/* The perf events are per CPU: attaching them does not fail on a dead target. */
	if (pidfd_exited(s->pidfd)) {
		err_set(err, "cannot sample PID %d: the process exited while pybpf-prof was "
			     "attaching", s->t.pid);
		return -1;
	}
	s->cc = codecache__new(s->t.pid, s->t.minor, &s->off);
	if (!s->cc) {
		err_set(err, "cannot start: %s", strerror(ENOMEM));
		return -1;
	}
	s->mem_fd = process_mem_open(s->t.pid);
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	pybpf_warn("sampling PID %d (CPython %s, %s) in %s mode at %u Hz; %s",
		s->t.pid, s->t.version, s->t.binary, sample_mode_name(s->o->mode), s->hz,
		s->launch ? "reporting when it exits" : "Ctrl-C to stop");
	if (pybpf_verbose)
		pybpf_warn("sampler maps: %llu bytes",
			   (unsigned long long)sampler__map_bytes(s->sm));
	return 0;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Ticks the wall-clock sampler and refreshes names until a stop. */
static enum stop_reason run(struct sampling *s)
{
	bool offcpu = s->o->mode != SAMPLE_MODE_CPU && !s->o->offcpu_at_switch;
	uint64_t period = offcpu ? NSEC_PER_SEC / s->hz : REFRESH_NS, ticks, since_refresh = 0;
	enum stop_reason why = STOP_ERROR;
	struct runloop r;

	if (runloop_open(&r, s->pidfd, s->o->duration) || runloop_set_tick(&r, period)) {
		pybpf_warn("cannot watch signals and time: %s", strerror(errno));
		goto out;
	}
	runloop_watch(&r, sampler__new_stacks_fd(s->sm));
	refresh(s);
	while ((why = runloop_wait(&r, &ticks)) == STOP_NONE) {
		/* Another program's stacks are not the target's: an exec ends the run. */
		if (process_execed(s->t.pid, s->mem_fd, s->t.runtime_addr)) {
			pybpf_warn("PID %d exec'ed another program: stopping", s->t.pid);
			why = STOP_TARGET_EXIT;
			break;
		}
		if (runloop_extra_ready(&r))
			sampler__consume_new(s->sm, warm_codes, s);
		if (offcpu && ticks)
			sampler__tick(s->sm, ticks * period);
		since_refresh += ticks * period;
		if (since_refresh >= REFRESH_NS) {
			refresh(s);
			since_refresh = 0;
		}
	}
out:
	s->wall_seconds = seconds_since(&s->started);
	runloop_close(&r);
	return why;
}

static void fill_header(const struct sampling *s, struct sample_profile *p)
{
	sample_profile_set_target(p, &s->t);
	p->mode = s->o->mode;
	p->hz = s->hz;
	p->wall_seconds = s->wall_seconds;
	sampler__losses(s->sm, &p->losses);
}

static int write_file(const struct sample_writer *w, const struct sample_profile *p,
		      const char *path)
{
	int e;

	if (!path)
		return 0;
	e = output_write_file(w, p, path);
	if (e)
		pybpf_warn("cannot write the %s file %s: %s", w->format, path, strerror(-e));
	return e ? 1 : 0;
}

static int write_pstats(const struct sample_profile *sp, const char *path)
{
	struct pybpf_profile p;
	int e;

	if (!path)
		return 0;
	profile_init(&p);
	e = sample_profile_to_profile(sp, &p);
	if (!e)
		e = pstats_write_file(&p, path);
	profile_free(&p);
	if (e)
		pybpf_warn("cannot write %s: %s", path, strerror(-e));
	return e ? 1 : 0;
}

/* Prints the report and writes every file asked for, whatever fails. 0 or 1. */
static int report(const struct sampling *s, const struct sample_profile *p)
{
	const struct pybpf_options *o = s->o;
	struct sreport_opts ro = { .sort = o->sample_sort, .limit = o->limit, .lines = o->lines,
				   .threads = o->threads };
	int ret = 0, e;

	errno = 0;
	e = output_print_error(stdout, sreport_print(stdout, p, &ro));
	if (e) {
		pybpf_warn("cannot print the report: %s", strerror(e));
		ret = 1;
	}
	ret |= write_file(&output_folded, p, o->folded);
	ret |= write_file(&output_flamegraph, p, o->flamegraph);
	ret |= write_file(&output_speedscope, p, o->speedscope);
	ret |= write_pstats(p, o->output);
	return ret;
}

static void warn_mostly_lost(const struct sample_profile *p)
{
	if (sample_profile_mostly_lost(p))
		pybpf_warn("PID %d: most samples could not be read (%llu found no Python thread "
			   "state or unreadable memory, %llu recorded): its CPython %s may not be "
			   "laid out as expected, so the table is mostly empty", p->pid,
			   (unsigned long long)(p->losses.no_tstate + p->losses.read_errors),
			   (unsigned long long)sample_profile_total(p, -1), p->python_version);
}

/* Stops sampling, resolves what was counted, reports. 0 or 1. */
static int finish(struct sampling *s)
{
	struct sample_profile p;
	struct sample_drain *d = calloc(1, sizeof(*d));
	int ret = 0;

	sampler__stop(s->sm);
	testpoint("drain");
	/* Every stack, those whose notice is still queued or was lost (a full
	 * ring buffer) included, while the target lives; then the names. */
	sampler__foreach_stack(s->sm, warm_codes, s);
	thread_names_refresh(&s->names, &s->t, &s->off, tstate_of, s->sm);
	sample_profile_init(&p);
	fill_header(s, &p);
	if (d)
		*d = (struct sample_drain){ .p = &p, .cc = s->cc, .names = &s->names,
					    .minor = s->t.minor };
	if (!d || sampler__foreach(s->sm, s->t.pid, sample_drain_add, d)) {
		pybpf_warn("cannot read all the samples: %s; printing what was read",
			   strerror(ENOMEM));
		ret = 1;
	}
	free(d);
	warn_mostly_lost(&p);
	ret |= report(s, &p);
	sample_profile_free(&p);
	return ret;
}

static void cleanup(struct sampling *s)
{
	if (s->mem_fd >= 0)
		close(s->mem_fd);
	if (s->pidfd >= 0)
		close(s->pidfd);
	sampler__close(s->sm);
	codecache__free(s->cc);
	thread_names_free(&s->names);
}

static int run_attach(struct sampling *s)
{
	struct pybpf_err err = { { 0 } };
	int ret = 1;

	if (python_target__inspect(s->o->pid, &s->t, &err)) {
		pybpf_warn("%s", err.msg);
		goto out;
	}
	if (start(s, &err)) {
		if (process_exited(s->o->pid))
			err_set(&err, "cannot sample PID %d: the process exited while pybpf-prof was "
				      "attaching", s->o->pid);
		pybpf_warn("%s", err.msg);
		goto out;
	}
	if (run(s) == STOP_ERROR)
		pybpf_warn("stopping early; printing what was collected");
	ret = finish(s);
out:
	cleanup(s);
	return ret;
}

static int launched_start(void *ctx, struct launch *l, struct pybpf_err *err)
{
	struct sampling *s = ctx;

	s->launch = l;
	return python_target__inspect(l->pid, &s->t, err) || start(s, err) ? -1 : 0;
}

static enum stop_reason launched_run(void *ctx)
{
	return run(ctx);
}

static int launched_finish(void *ctx)
{
	return finish(ctx);
}

static void launched_cleanup(void *ctx)
{
	cleanup(ctx);
}

static int run_launch(struct sampling *s)
{
	static const struct launch_ops ops = {
		.start = launched_start,
		.run = launched_run,
		.finish = launched_finish,
		.cleanup = launched_cleanup,
	};

	return launch_run(s->o->cmd, &ops, s);
}

int sampling_run(const struct pybpf_options *o)
{
	struct sampling s = { .o = o, .mem_fd = -1, .pidfd = -1 };

	if (o->all_python)
		return allpython_run(o);
	s.hz = sampling_rate(o->hz);
	return o->cmd ? run_launch(&s) : run_attach(&s);
}
