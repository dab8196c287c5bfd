// SPDX-License-Identifier: GPL-2.0-only
/* --all-python, exact tracing: every CPython process of the host, each with
 * the backend that suits it, the probes attached once per interpreter file
 * (or per process when --match/--exclude-pid leave some out), forks, execs
 * and exits followed from the kernel's tracepoints. */
#include "allpython.h"

#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "discover.h"
#include "evalhook.h"
#include "hostfiles.h"
#include "hostreport.h"
#include "hostrun.h"
#include "offsets.h"
#include "progress.h"
#include "runloop.h"
#include "strutil.h"
#include "tracer.h"

#define NSEC_PER_SEC 1000000000ull
#define PROGRESS_NS (500ull * 1000000ull)
/* While a process that exec'ed waits for its interpreter to start. */
#define PENDING_NS (20ull * 1000000ull)
#define PENDING_GIVE_UP_S 10.0
#define CMD_SHOWN 100 /* bytes of a command line in a stderr line */

/* One process traced (or that was). */
struct traced {
	struct python_target t;
	struct pybpf_offsets off;
	enum pybpf_backend backend;
	struct evalhook hook;
	char known_gap[256];
	struct host_proc info;
	struct pybpf_profile prof;
	bool ended;
};

/* A process that exec'ed, waiting for its interpreter to be ready. */
struct pending {
	pid_t pid;
	double since;
	char why[512]; /* why it is not traced yet */
};

struct allpy {
	const struct pybpf_options *o;
	struct tracer *tr;
	struct discovery disc;
	struct traced **procs;
	size_t nprocs, procs_cap;
	struct host_refusal *refused;
	size_t nrefused, refused_cap;
	struct pending *pending;
	size_t npending, pending_cap;
	regex_t match;
	bool has_match;
	bool every_process; /* probes per interpreter file, not per process */
	bool started;       /* the summary line is out: new processes are "new" */
	unsigned int max_processes;
	size_t active;      /* traced and not ended */
	struct timespec t0;
	struct progress progress;
};

static double now_s(const struct allpy *a)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - a->t0.tv_sec) + (double)(now.tv_nsec - a->t0.tv_nsec) / 1e9;
}

static double event_s(const struct allpy *a, uint64_t ns)
{
	double t0 = (double)a->t0.tv_sec + (double)a->t0.tv_nsec / 1e9;

	return (double)ns / 1e9 - t0;
}

/* A command line for a stderr line: escaped, cut. */
static const char *shown_cmd(const char *cmd, char *buf, size_t n)
{
	char cut[CMD_SHOWN + 4];

	snprintf(cut, sizeof(cut), "%.*s%s", CMD_SHOWN, cmd, strlen(cmd) > CMD_SHOWN ? "..." : "");
	return escape_for_print(cut, buf, n);
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

static struct traced *find_active(const struct allpy *a, pid_t pid)
{
	for (size_t i = 0; i < a->nprocs; i++)
		if (a->procs[i]->info.pid == pid && !a->procs[i]->ended)
			return a->procs[i];
	return NULL;
}

static void refuse(struct allpy *a, pid_t pid, const char *cmd, const char *why)
{
	char shown[4 * CMD_SHOWN + 16], reason[4 * 512];

	pybpf_warn("not tracing PID %d (%s): %s", pid, shown_cmd(cmd, shown, sizeof(shown)),
		   escape_for_print(why, reason, sizeof(reason)));
	if (a->nrefused == a->refused_cap) {
		size_t cap = a->refused_cap ? 2 * a->refused_cap : 16;
		struct host_refusal *v = realloc(a->refused, cap * sizeof(*v));

		if (!v)
			return;
		a->refused = v;
		a->refused_cap = cap;
	}
	struct host_refusal *r = &a->refused[a->nrefused++];
	r->pid = pid;
	snprintf(r->cmdline, sizeof(r->cmdline), "%s", cmd);
	snprintf(r->why, sizeof(r->why), "%s", why);
}

/* err's message without a leading "PID n: " (the list names the PID). */
static const char *reason_of(const struct pybpf_err *err, pid_t pid)
{
	char prefix[32];
	int n = snprintf(prefix, sizeof(prefix), "PID %d: ", pid);

	return strncmp(err->msg, prefix, (size_t)n) ? err->msg : err->msg + n;
}

static struct traced *add_traced(struct allpy *a)
{
	struct traced *p;

	if (a->nprocs == a->procs_cap) {
		size_t cap = a->procs_cap ? 2 * a->procs_cap : 32;
		struct traced **v = realloc(a->procs, cap * sizeof(*v));

		if (!v)
			return NULL;
		a->procs = v;
		a->procs_cap = cap;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->hook.mem_fd = p->hook.guard_fd = -1;
	profile_init(&p->prof);
	a->procs[a->nprocs++] = p;
	return p;
}

static int attach(struct allpy *a, struct traced *p, struct pybpf_err *err)
{
	bool floor = a->o->probe_floor;

	if (p->backend == PYBPF_BACKEND_EVALFRAME)
		return tracer__attach_evalframe(a->tr, &p->t, &p->off, floor, a->every_process, err);
	return tracer__attach_usdt(a->tr, &p->t, &p->off, backend_usdt_flags(&p->t), floor,
				   a->every_process, err);
}

static void say_traced(struct allpy *a, const struct traced *p, const char *how)
{
	char shown[4 * CMD_SHOWN + 16];

	pybpf_warn("tracing %sPID %d (%s): CPython %s, %s, backend %s%s", a->started ? "new " : "",
		   p->info.pid, shown_cmd(p->info.cmdline, shown, sizeof(shown)), p->t.version,
		   p->t.shared ? "shared" : "static", backend_name(p->backend), how);
	if (p->known_gap[0] && pybpf_verbose)
		pybpf_warn("known gap in PID %d: %s", p->info.pid, p->known_gap);
}

static void fill_info(struct traced *p, pid_t pid, const char *cmd, double from)
{
	p->info.pid = pid;
	p->info.ns_pid = proc_ns_pid(pid);
	snprintf(p->info.cmdline, sizeof(p->info.cmdline), "%s", cmd);
	p->info.from_s = p->info.to_s = from;
	p->info.end = HOST_PROC_RUNNING;
}

/* Probes (or the process's entry in the table) first, then the hook:
 * every call the hook diverts is seen. 0, or -1 with err set. */
static int start_one(struct allpy *a, struct traced *p, struct pybpf_err *err)
{
	if (offsets_for_target(&p->t, &p->off, err) ||
	    backend_choose(&p->t, a->o->backend, false, &p->backend, err) || attach(a, p, err))
		return -1;
	if (!backend_needs_hook(&p->t, p->backend))
		return 0;
	/* A running one that uses the perf trampoline has it set (install refuses);
	 * one that just exec'ed and asks for it would refuse to start. */
	if (a->started && p->t.minor >= 12 && python_target__wants_perf_trampoline(p->t.pid)) {
		err_set(err, "it asks for the perf trampoline (-X perf or PYTHONPERFSUPPORT), "
			     "another PEP 523 hook, which would refuse to start beside ours");
		tracer__unregister(a->tr, p->t.pid);
		return -1;
	}
	if (evalhook__install(&p->t, &p->hook, err)) {
		tracer__unregister(a->tr, p->t.pid);
		return -1;
	}
	return 0;
}

/* Traces pid, which runs a ready interpreter; how: words for its line.
 * 0, or -1 with err set (not traced). */
static int trace_process(struct allpy *a, pid_t pid, const char *cmd, const char *how,
			 struct pybpf_err *err)
{
	struct traced *p;

	if (a->active >= a->max_processes) {
		err_set(err, "%zu processes are traced already: the --max-processes limit "
			     "(hint: raise it, up to %d)", a->active, PYBPF_MAX_TARGETS);
		return -1;
	}
	p = add_traced(a);
	if (!p) {
		err_set(err, "cannot trace it: %s", strerror(ENOMEM));
		return -1;
	}
	if (python_target__inspect(pid, &p->t, err) || start_one(a, p, err)) {
		a->nprocs--;
		profile_free(&p->prof);
		free(p);
		return -1;
	}
	backend_known_gap(&p->t, p->backend, p->known_gap, sizeof(p->known_gap));
	fill_info(p, pid, cmd, a->started ? now_s(a) : 0);
	a->active++;
	say_traced(a, p, how);
	return 0;
}

/* ---- start: every Python process running now ---- */

static int look_at(void *ctx, pid_t pid)
{
	struct allpy *a = ctx;
	struct pybpf_err err = { { 0 } };
	char cmd[512];

	if (excluded(a, pid) || !discover_maybe_python(&a->disc, pid))
		return 0;
	proc_cmdline(pid, cmd, sizeof(cmd));
	if (!matches(a, cmd))
		return 0;
	if (trace_process(a, pid, cmd, "", &err)) {
		/* A process that ended meanwhile is no longer there to report. */
		if (kill(pid, 0) && errno == ESRCH)
			return 0;
		refuse(a, pid, cmd, reason_of(&err, pid));
	}
	return 0;
}

static void count_backends(const struct allpy *a, size_t *usdt, size_t *eval)
{
	*usdt = *eval = 0;
	for (size_t i = 0; i < a->nprocs; i++) {
		if (a->procs[i]->backend == PYBPF_BACKEND_USDT)
			(*usdt)++;
		else
			(*eval)++;
	}
}

static void say_summary(const struct allpy *a)
{
	size_t usdt, eval;

	count_backends(a, &usdt, &eval);
	pybpf_warn("tracing %zu Python processes (%zu usdt, %zu evalframe), %zu not traced, "
		   "probes on %zu interpreter files; %s", a->nprocs, usdt, eval, a->nrefused,
		   a->every_process ? tracer__probed_files(a->tr) : a->nprocs,
		   a->o->duration > 0 ? "stopping after --duration" : "Ctrl-C to stop");
}

/* ---- during the run: forks, execs, exits ---- */

static void on_fork(struct allpy *a, const struct pybpf_proc_event *e)
{
	struct traced *parent = find_active(a, (pid_t)e->ppid), *p;
	struct pybpf_err err = { { 0 } };
	char how[64];

	if (!parent)
		return;
	p = (e->flags & PYBPF_PROC_REGISTERED) ? add_traced(a) : NULL;
	if (!p) {
		/* Not counted; a copy of our hook must still go. */
		struct evalhook h;
		if (parent->hook.installed && !evalhook__adopt(&parent->hook, (pid_t)e->pid, &h, &err))
			evalhook__remove(&h);
		tracer__unregister(a->tr, (pid_t)e->pid);
		refuse(a, (pid_t)e->pid, parent->info.cmdline,
		       "the process table is full (--max-processes)");
		return;
	}
	/* Same program, same layout: the parent's facts hold. */
	p->t = parent->t;
	p->t.pid = (pid_t)e->pid;
	p->off = parent->off;
	p->backend = parent->backend;
	snprintf(p->known_gap, sizeof(p->known_gap), "%s", parent->known_gap);
	proc_cmdline(p->t.pid, p->info.cmdline, sizeof(p->info.cmdline));
	fill_info(p, p->t.pid, p->info.cmdline[0] ? p->info.cmdline : parent->info.cmdline,
		  event_s(a, e->ns));
	p->info.forked_by = parent->info.pid;
	/* Fails only for a child that exec'ed or ended since: its exec or exit follows. */
	if (parent->hook.installed && evalhook__adopt(&parent->hook, p->t.pid, &p->hook, &err) &&
	    pybpf_verbose)
		pybpf_warn("%s", err.msg);
	if (!a->every_process && attach(a, p, &err))
		pybpf_warn("PID %d: %s", p->t.pid, err.msg);
	a->active++;
	snprintf(how, sizeof(how), "; forked by PID %d", parent->info.pid);
	say_traced(a, p, how);
}

static void end_process(struct allpy *a, struct traced *p, double when, enum host_proc_end how)
{
	p->ended = true;
	p->info.to_s = when;
	p->info.end = how;
	evalhook__remove(&p->hook); /* its memory is gone: only the guardian to reap */
	a->active--;
	if (how == HOST_PROC_EXITED)
		pybpf_warn("PID %d exited after %.3f s traced", p->info.pid,
			   p->info.to_s - p->info.from_s);
}

static void add_pending(struct allpy *a, pid_t pid, double since)
{
	for (size_t i = 0; i < a->npending; i++)
		if (a->pending[i].pid == pid)
			return;
	if (a->npending == a->pending_cap) {
		size_t cap = a->pending_cap ? 2 * a->pending_cap : 16;
		struct pending *v = realloc(a->pending, cap * sizeof(*v));

		if (!v)
			return;
		a->pending = v;
		a->pending_cap = cap;
	}
	a->pending[a->npending++] = (struct pending){ .pid = pid, .since = since };
}

static void on_event(void *ctx, const struct pybpf_proc_event *e)
{
	struct allpy *a = ctx;
	struct traced *p;

	switch (e->kind) {
	case PYBPF_PROC_FORK:
		on_fork(a, e);
		break;
	case PYBPF_PROC_EXEC:
		p = find_active(a, (pid_t)e->pid);
		if (p)
			end_process(a, p, event_s(a, e->ns), HOST_PROC_EXECED);
		if (!excluded(a, (pid_t)e->pid))
			add_pending(a, (pid_t)e->pid, event_s(a, e->ns));
		break;
	case PYBPF_PROC_EXIT:
		p = find_active(a, (pid_t)e->pid);
		if (p)
			end_process(a, p, event_s(a, e->ns), HOST_PROC_EXITED);
		break;
	}
}

/* A process that exec'ed: traced once its interpreter is up; true when it
 * is settled (traced, refused, not a Python, or gone). */
static bool try_pending(struct allpy *a, struct pending *w)
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
	if (trace_process(a, w->pid, cmd, "; started by exec", &err))
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
			tracer__calls(a->tr), false);
	progress_show(&a->progress, text);
}

static enum stop_reason run(struct allpy *a)
{
	enum stop_reason why = STOP_ERROR;
	uint64_t ticks, since_progress = 0;
	struct runloop r;

	if (runloop_open(&r, 0, a->o->duration) || runloop_set_tick(&r, PENDING_NS)) {
		pybpf_warn("cannot watch signals and time: %s", strerror(errno));
		goto out;
	}
	runloop_watch(&r, tracer__events_fd(a->tr));
	while ((why = runloop_wait(&r, &ticks)) == STOP_NONE) {
		tracer__consume_events(a->tr);
		if (a->npending)
			run_pending(a);
		since_progress += ticks * PENDING_NS;
		if (since_progress >= PROGRESS_NS) {
			show_progress(a);
			since_progress = 0;
		}
	}
out:
	runloop_close(&r);
	tracer__consume_events(a->tr);
	progress_clear(&a->progress);
	return why;
}

/* ---- the end ---- */

static struct pybpf_profile *profile_of(void *ctx, int pid)
{
	struct allpy *a = ctx;

	/* The latest section of a PID (the earlier ones exec'ed). */
	for (size_t i = a->nprocs; i-- > 0;)
		if (a->procs[i]->info.pid == pid)
			return &a->procs[i]->prof;
	return NULL;
}

static void stop_all(struct allpy *a, double end)
{
	for (size_t i = 0; i < a->nprocs; i++) {
		struct traced *p = a->procs[i];
		int e = evalhook__remove(&p->hook);

		if (e == -EBUSY)
			pybpf_warn("PID %d's eval_frame was changed while it was traced: left as it "
				   "is; calls made after the change were not seen", p->info.pid);
		else if (e)
			pybpf_warn("cannot restore PID %d's eval_frame: %s", p->info.pid, strerror(-e));
		if (!p->ended)
			p->info.to_s = end;
	}
}

static void fill_profile(struct traced *p)
{
	struct pybpf_profile *pr = &p->prof;

	pr->pid = p->info.pid;
	snprintf(pr->python_version, sizeof(pr->python_version), "%s", p->t.version);
	snprintf(pr->binary, sizeof(pr->binary), "%s", p->t.binary);
	snprintf(pr->backend, sizeof(pr->backend), "%s", backend_name(p->backend));
	snprintf(pr->build, sizeof(pr->build), "%s", p->t.shared ? "shared" : "static");
	snprintf(pr->known_gap, sizeof(pr->known_gap), "%s", p->known_gap);
	pr->wall_seconds = p->info.to_s - p->info.from_s;
	p->info.exact = pr;
}

static int report(struct allpy *a, double wall)
{
	const struct pybpf_options *o = a->o;
	struct host_proc *procs = calloc(a->nprocs ? a->nprocs : 1, sizeof(*procs));
	struct host_run run = { .procs = procs, .nprocs = a->nprocs, .refused = a->refused,
				.nrefused = a->nrefused, .wall_seconds = wall };
	struct hostreport_opts ro = { .sort = o->sort, .limit = o->limit, .latency = o->latency };
	int ret = 0, e;

	if (!procs) {
		pybpf_warn("cannot print the report: %s", strerror(ENOMEM));
		return 1;
	}
	for (size_t i = 0; i < a->nprocs; i++) {
		fill_profile(a->procs[i]);
		procs[i] = a->procs[i]->info;
	}
	e = hostreport_print(stdout, &run, &ro);
	if (e || fflush(stdout)) {
		pybpf_warn("cannot print the report: %s", strerror(e ? -e : errno));
		ret = 1;
	}
	if (o->output && hostfiles_write_pstats(&run, o->output))
		ret = 1;
	free(procs);
	return ret;
}

static int finish(struct allpy *a)
{
	struct pybpf_err err = { { 0 } };
	struct timespec now;
	double end = now_s(a);
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	tracer__stop(a->tr, 0, (unsigned long long)now.tv_sec * NSEC_PER_SEC +
				       (unsigned long long)now.tv_nsec);
	tracer__detach(a->tr);
	stop_all(a, end);
	if (tracer__drain_all(a->tr, profile_of, a, &err)) {
		pybpf_warn("%s; printing what was read", err.msg);
		ret = 1;
	}
	if (tracer__events_lost(a->tr))
		pybpf_warn("%llu process events were lost (the ring buffer was full): processes "
			   "that started then may be missing", (unsigned long long)tracer__events_lost(a->tr));
	return report(a, end) | ret;
}

static int start(struct allpy *a, struct pybpf_err *err)
{
	const struct pybpf_options *o = a->o;
	struct tracer_limits lim = {
		.processes = o->max_processes ? o->max_processes : PYBPF_DEFAULT_MAX_PROCESSES,
		.threads = o->max_threads ? o->max_threads : PYBPF_MAX_THREADS,
		.functions = o->max_functions ? o->max_functions : PYBPF_MAX_FUNCS,
	};

	a->max_processes = lim.processes;
	a->every_process = !o->match && !o->nexclude;
	if (o->match && regcomp(&a->match, o->match, REG_EXTENDED | REG_NOSUB)) {
		err_set(err, "invalid --match '%s'", o->match);
		return -1;
	}
	a->has_match = o->match != NULL;
	/* The watch first: what forks or execs while the others are looked at is heard of. */
	a->tr = tracer__open(&lim, o->latency, true, err);
	if (!a->tr)
		return -1;
	if (tracer__open_events(a->tr, on_event, a)) {
		err_set(err, "cannot watch processes: %s", strerror(errno));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a->t0);
	progress_init(&a->progress, STDERR_FILENO);
	discover_each_pid(look_at, a);
	tracer__consume_events(a->tr); /* forks of the processes just traced */
	a->started = true;
	say_summary(a);
	return 0;
}

static void cleanup(struct allpy *a)
{
	if (a->tr)
		tracer__detach(a->tr);
	for (size_t i = 0; i < a->nprocs; i++) {
		evalhook__remove(&a->procs[i]->hook);
		profile_free(&a->procs[i]->prof);
		free(a->procs[i]);
	}
	tracer__close(a->tr);
	free(a->procs);
	free(a->refused);
	free(a->pending);
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
