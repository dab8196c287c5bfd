// SPDX-License-Identifier: GPL-2.0-only
/* --all-python: every CPython process of the host, found from /proc at the
 * start and from the kernel's fork and exec tracepoints during the run;
 * each traced or sampled by an engine (hostengine.h) until it ends, then
 * one section per process. */
#include "allpython.h"

#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "discover.h"
#include "hostengine.h"
#include "hostreport.h"
#include "hostrun.h"
#include "offsets.h"
#include "procevents.h"
#include "progress.h"
#include "runloop.h"
#include "strutil.h"

#define PROGRESS_NS (500ull * 1000000ull)
#define PENDING_GIVE_UP_S 10.0 /* for an exec'ed interpreter to start */
#define CMD_SHOWN 100 /* bytes of a command line in a stderr line */

/* A process that exec'ed, waiting for its interpreter to be ready. */
struct pending {
	pid_t pid;
	double since;
};

struct allpy {
	const struct pybpf_options *o;
	const struct host_engine_ops *ops;
	void *engine;
	struct proc_events *events;
	struct discovery disc;
	struct host_member **ms;
	size_t nms, ms_cap;
	struct host_refusal *refused;
	size_t nrefused, refused_cap;
	struct pending *pending;
	size_t npending, pending_cap;
	regex_t match;
	bool has_match;
	bool started;       /* the summary line is out: new processes are "new" */
	/* Interpreter files the --exclude-pid processes map: a probe on one
	 * would fire in them too, so those files' processes get their own. */
	struct stat *excluded_files;
	size_t nexcluded_files;
	unsigned int max_processes;
	size_t active;      /* members not ended */
	struct timespec t0;
	struct progress progress;
};

/* v with room for one more element (n used of *cap): v itself, a larger
 * copy, or NULL (v untouched) on ENOMEM. */
static void *grow(void *v, size_t *cap, size_t n, size_t elem)
{
	size_t new_cap = *cap ? 2 * *cap : 16;
	void *nv;

	if (n < *cap)
		return v;
	nv = realloc(v, new_cap * elem);
	if (nv)
		*cap = new_cap;
	return nv;
}

static double now_s(const struct allpy *a)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - a->t0.tv_sec) + (double)(now.tv_nsec - a->t0.tv_nsec) / 1e9;
}

/* An event's time (bpf_ktime_get_ns: CLOCK_MONOTONIC) in the run's seconds. */
static double event_s(const struct allpy *a, uint64_t ns)
{
	return (double)ns / 1e9 - ((double)a->t0.tv_sec + (double)a->t0.tv_nsec / 1e9);
}

static bool excluded(const struct allpy *a, pid_t pid)
{
	for (size_t i = 0; i < a->o->nexclude; i++)
		if (a->o->exclude[i] == pid)
			return true;
	return false;
}

static bool matches(const struct allpy *a, const char *cmd)
{
	return !a->has_match || !regexec(&a->match, cmd, 0, NULL, 0);
}

static struct host_member *find_active(const struct allpy *a, pid_t pid)
{
	for (size_t i = 0; i < a->nms; i++)
		if (a->ms[i]->info.pid == pid && !a->ms[i]->ended)
			return a->ms[i];
	return NULL;
}

/* err's message without a leading "PID n: " (the line names the PID). */
static const char *reason_of(const struct pybpf_err *err, pid_t pid)
{
	char prefix[32];
	int n = snprintf(prefix, sizeof(prefix), "PID %d: ", pid);

	return strncmp(err->msg, prefix, (size_t)n) ? err->msg : err->msg + n;
}

static void refuse(struct allpy *a, pid_t pid, const char *cmd, const char *why)
{
	char *shown = host_command_for_print(cmd, CMD_SHOWN), reason[4 * 512];
	struct host_refusal *r;
	void *v;

	pybpf_warn("not %s PID %d (%s): %s", a->ops->verb, pid, shown ? shown : "?",
		   escape_for_print(why, reason, sizeof(reason)));
	free(shown);
	v = grow(a->refused, &a->refused_cap, a->nrefused, sizeof(*a->refused));
	if (!v)
		return;
	a->refused = v;
	r = &a->refused[a->nrefused++];
	r->pid = pid;
	snprintf(r->cmdline, sizeof(r->cmdline), "%s", cmd);
	snprintf(r->why, sizeof(r->why), "%s", why);
}

static struct host_member *new_member(struct allpy *a)
{
	void *v = grow(a->ms, &a->ms_cap, a->nms, sizeof(*a->ms));

	if (!v)
		return NULL;
	a->ms = v;
	return calloc(1, sizeof(struct host_member));
}

/* Takes m into the run (new_member made room for it). */
static void add_member(struct allpy *a, struct host_member *m, pid_t pid, const char *cmd,
		       double from, const char *how)
{
	char *shown = host_command_for_print(cmd, CMD_SHOWN), what[64];

	m->info.pid = pid;
	m->info.ns_pid = proc_ns_pid(pid);
	snprintf(m->info.cmdline, sizeof(m->info.cmdline), "%s", cmd);
	m->info.from_s = m->info.to_s = from;
	m->info.end = HOST_PROC_RUNNING;
	a->ms[a->nms++] = m;
	a->active++;
	a->ops->describe(m, what, sizeof(what));
	pybpf_warn("%s %sPID %d (%s): CPython %s, %s%s%s", a->ops->verb, a->started ? "new " : "",
		   pid, shown ? shown : "?", m->t.version, m->t.shared ? "shared" : "static", what,
		   how);
	free(shown);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Notes the interpreter files of the --exclude-pid processes. */
static void note_excluded_files(struct allpy *a)
{
	struct python_target t;
	struct pybpf_err err;

	a->excluded_files = calloc(a->o->nexclude ? a->o->nexclude : 1, sizeof(struct stat));
	for (size_t i = 0; a->excluded_files && i < a->o->nexclude; i++)
		if (!python_target__inspect(a->o->exclude[i], &t, &err))
			mapped_file__stat(&t.file, &a->excluded_files[a->nexcluded_files++]);
}

/* May probes on t's interpreter file serve every process that maps it?
 * Not with --match (a process left out may start later), nor on a file an
 * excluded process maps. */
static bool probes_may_be_shared(const struct allpy *a, const struct python_target *t)
{
	struct stat st;

	if (a->has_match)
		return false;
	mapped_file__stat(&t->file, &st);
	for (size_t i = 0; i < a->nexcluded_files; i++)
		if (same_file(&a->excluded_files[i], &st))
			return false;
	return true;
}

/* Starts on pid, which runs a ready interpreter. 0, or -1 with err set. */
static int start_process(struct allpy *a, pid_t pid, const char *cmd, const char *how,
			 struct pybpf_err *err)
{
	struct host_member *m;

	if (a->active >= a->max_processes) {
		err_set(err, "%zu processes are taken already: the --max-processes limit "
			     "(hint: raise it, up to %d)", a->active, PYBPF_MAX_TARGETS);
		return -1;
	}
	m = new_member(a);
	if (!m) {
		err_set(err, "cannot take it: %s", strerror(ENOMEM));
		return -1;
	}
	if (python_target__inspect(pid, &m->t, err) || offsets_for_target(&m->t, &m->off, err) ||
	    a->ops->start(a->engine, m, a->started, probes_may_be_shared(a, &m->t), err)) {
		free(m);
		return -1;
	}
	add_member(a, m, pid, cmd, a->started ? now_s(a) : 0, how);
	return 0;
}

/* ---- the start: every Python process running now ---- */

static int look_at(void *ctx, pid_t pid)
{
	struct allpy *a = ctx;
	struct pybpf_err err = { { 0 } };
	char cmd[512];

	if (excluded(a, pid) || !discover_maybe_python(&a->disc, pid))
		return 0;
	proc_cmdline(pid, cmd, sizeof(cmd));
	if (!matches(a, cmd) || !start_process(a, pid, cmd, "", &err))
		return 0;
	/* One that ended meanwhile is no longer there to report. */
	if (!(kill(pid, 0) && errno == ESRCH))
		refuse(a, pid, cmd, reason_of(&err, pid));
	return 0;
}

/* ---- during the run: forks, execs, exits ---- */

static void on_fork(struct allpy *a, const struct pybpf_proc_event *e)
{
	struct host_member *parent = find_active(a, (pid_t)e->ppid), *m;
	char how[64], cmd[512];

	if (!parent)
		return;
	m = (e->flags & PYBPF_PROC_REGISTERED) && a->active < a->max_processes ? new_member(a)
									     : NULL;
	if (!m) {
		a->ops->drop_fork(a->engine, parent, (pid_t)e->pid);
		refuse(a, (pid_t)e->pid, parent->info.cmdline,
		       "a fork beyond the --max-processes limit");
		return;
	}
	/* Same program, same layout: the parent's facts hold. */
	m->t = parent->t;
	m->t.pid = (pid_t)e->pid;
	m->off = parent->off;
	a->ops->follow_fork(a->engine, parent, m);
	proc_cmdline(m->t.pid, cmd, sizeof(cmd));
	snprintf(how, sizeof(how), "; forked by PID %d", parent->info.pid);
	add_member(a, m, m->t.pid, cmd[0] ? cmd : parent->info.cmdline, event_s(a, e->ns), how);
	m->info.forked_by = parent->info.pid;
}

static void end_member(struct allpy *a, struct host_member *m, double when,
		       enum host_proc_end how)
{
	m->ended = true;
	m->info.to_s = when;
	m->info.end = how;
	a->ops->ended(a->engine, m);
	a->active--;
	if (how == HOST_PROC_EXITED)
		pybpf_warn("PID %d exited after %.3f s %s", m->info.pid,
			   m->info.to_s - m->info.from_s, a->o->sample ? "sampled" : "traced");
}

static void add_pending(struct allpy *a, pid_t pid, double since)
{
	void *v;

	for (size_t i = 0; i < a->npending; i++)
		if (a->pending[i].pid == pid)
			return;
	v = grow(a->pending, &a->pending_cap, a->npending, sizeof(*a->pending));
	if (!v)
		return;
	a->pending = v;
	a->pending[a->npending++] = (struct pending){ .pid = pid, .since = since };
}

static void on_event(void *ctx, const struct pybpf_proc_event *e)
{
	struct allpy *a = ctx;
	struct host_member *m;

	switch (e->kind) {
	case PYBPF_PROC_FORK:
		on_fork(a, e);
		break;
	case PYBPF_PROC_EXEC:
		m = find_active(a, (pid_t)e->pid);
		if (m)
			end_member(a, m, event_s(a, e->ns), HOST_PROC_EXECED);
		if (!excluded(a, (pid_t)e->pid))
			add_pending(a, (pid_t)e->pid, event_s(a, e->ns));
		break;
	case PYBPF_PROC_EXIT:
		m = find_active(a, (pid_t)e->pid);
		if (m)
			end_member(a, m, event_s(a, e->ns), HOST_PROC_EXITED);
		break;
	}
}

/* A process that exec'ed: taken once its interpreter is up. True when it
 * is settled (taken, refused, not a Python, or gone). */
static bool try_pending(struct allpy *a, const struct pending *w)
{
	struct pybpf_err err = { { 0 } };
	struct python_target t;
	struct pybpf_offsets off;
	char cmd[512];

	if (!discover_maybe_python(&a->disc, w->pid))
		return true;
	proc_cmdline(w->pid, cmd, sizeof(cmd));
	if (!matches(a, cmd))
		return true;
	if (python_target__inspect(w->pid, &t, &err) || offsets_for_target(&t, &off, &err) ||
	    !python_target__interp_ready(&t, &off)) {
		if (kill(w->pid, 0) && errno == ESRCH)
			return true;
		if (now_s(a) - w->since < PENDING_GIVE_UP_S)
			return false;
		refuse(a, w->pid, cmd, err.msg[0] ? reason_of(&err, w->pid)
						  : "its interpreter did not start within 10 s");
		return true;
	}
	if (start_process(a, w->pid, cmd, "; started by exec", &err))
		refuse(a, w->pid, cmd, reason_of(&err, w->pid));
	return true;
}

static void run_pending(struct allpy *a)
{
	size_t kept = 0;

	for (size_t i = 0; i < a->npending; i++)
		if (!try_pending(a, &a->pending[i]))
			a->pending[kept++] = a->pending[i];
	a->npending = kept;
}

/* ---- the run ---- */

static void show_progress(struct allpy *a)
{
	char text[256];
	double t = now_s(a), d = a->o->duration;

	progress_format(text, sizeof(text), d > 0 ? (d > t ? d - t : 0) : t, d > 0, a->active,
			a->ops->count(a->engine), a->o->sample);
	progress_show(&a->progress, text);
}

static enum stop_reason run(struct allpy *a)
{
	uint64_t period = a->ops->tick_ns(a->engine), ticks, since_progress = 0;
	enum stop_reason why = STOP_ERROR;
	struct runloop r;

	if (runloop_open(&r, -1, a->o->duration) || runloop_set_tick(&r, period)) {
		pybpf_warn("cannot watch signals and time: %s", strerror(errno));
		goto out;
	}
	runloop_watch(&r, proc_events__fd(a->events));
	while ((why = runloop_wait(&r, &ticks)) == STOP_NONE) {
		proc_events__consume(a->events);
		if (a->npending)
			run_pending(a);
		a->ops->tick(a->engine, a->ms, a->nms, ticks);
		since_progress += ticks * period;
		if (since_progress >= PROGRESS_NS) {
			show_progress(a);
			since_progress = 0;
		}
	}
out:
	runloop_close(&r);
	proc_events__consume(a->events);
	progress_end(&a->progress);
	return why;
}

static void say_summary(const struct allpy *a)
{
	char text[512];

	a->ops->summary(a->engine, a->ms, a->nms, a->nrefused, text, sizeof(text));
	pybpf_warn("%s; %s", text, a->o->duration > 0 ? "stopping after --duration" : "Ctrl-C to stop");
}

static int finish(struct allpy *a)
{
	double end = now_s(a);
	struct host_proc *procs = calloc(a->nms ? a->nms : 1, sizeof(*procs));
	struct host_run run = { .procs = procs, .nprocs = a->nms, .refused = a->refused,
				.nrefused = a->nrefused, .wall_seconds = end, .sampling = a->o->sample };
	int ret;

	for (size_t i = 0; i < a->nms; i++)
		if (!a->ms[i]->ended)
			a->ms[i]->info.to_s = end;
	ret = a->ops->finish(a->engine, a->ms, a->nms);
	if (a->ops->events_lost(a->engine))
		pybpf_warn("%llu process events were lost (the ring buffer was full): processes "
			   "that started then may be missing",
			   (unsigned long long)a->ops->events_lost(a->engine));
	if (!procs) {
		pybpf_warn("cannot print the report: %s", strerror(ENOMEM));
		return 1;
	}
	for (size_t i = 0; i < a->nms; i++)
		procs[i] = a->ms[i]->info;
	ret |= a->ops->report(a->engine, &run);
	free(procs);
	return ret;
}

static int start(struct allpy *a, struct pybpf_err *err)
{
	const struct pybpf_options *o = a->o;

	a->ops = o->sample ? &host_sample_ops : &host_trace_ops;
	a->max_processes = o->max_processes ? o->max_processes : PYBPF_DEFAULT_MAX_PROCESSES;
	if (o->match && regcomp(&a->match, o->match, REG_EXTENDED | REG_NOSUB)) {
		err_set(err, "invalid --match '%s'", o->match);
		return -1;
	}
	a->has_match = o->match != NULL;
	note_excluded_files(a);
	a->engine = a->ops->open(o, err);
	if (!a->engine)
		return -1;
	/* The watch first: what forks or execs while the others are looked at is heard of. */
	a->events = proc_events__open(a->ops->events_map(a->engine), on_event, a);
	if (!a->events) {
		err_set(err, "cannot watch processes: %s", strerror(errno));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a->t0);
	progress_init(&a->progress, stderr);
	discover_each_pid(look_at, a);
	proc_events__consume(a->events); /* forks of the processes just taken */
	a->started = true;
	say_summary(a);
	return 0;
}

static void cleanup(struct allpy *a)
{
	for (size_t i = 0; i < a->nms; i++) {
		a->ops->free_member(a->ms[i]);
		free(a->ms[i]);
	}
	if (a->engine)
		a->ops->close(a->engine);
	proc_events__free(a->events);
	free(a->ms);
	free(a->refused);
	free(a->pending);
	free(a->excluded_files);
	discovery_free(&a->disc);
	if (a->has_match)
		regfree(&a->match);
}

int allpython_run(const struct pybpf_options *o)
{
	struct allpy a = { .o = o };
	struct pybpf_err err = { { 0 } };
	int ret = 1;

	if (start(&a, &err)) {
		pybpf_warn("%s", err.msg);
		goto out;
	}
	if (run(&a) == STOP_ERROR)
		pybpf_warn("stopping early; printing what was collected");
	ret = finish(&a);
out:
	cleanup(&a);
	return ret;
}
