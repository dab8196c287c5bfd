// SPDX-License-Identifier: GPL-2.0-only
/* pybpf-prof: exact cProfile-style profiles of running CPython processes. */
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "allpython.h"
#include "backend.h"
#include "evalhook.h"
#include "forkguard.h"
#include "freeze.h"
#include "launch.h"
#include "log.h"
#include "offsets.h"
#include "options.h"
#include "output.h"
#include "pybpf.h"
#include "procstate.h"
#include "pstats.h"
#include "report.h"
#include "runloop.h"
#include "sampling.h"
#include "target.h"
#include "testlimits.h"
#include "testpoint.h"
#include "tracer.h"

struct session {
	const struct pybpf_options *o;
	struct tracer *tr;
	struct python_target t;
	struct pybpf_offsets off;
	enum pybpf_backend backend; /* resolved: usdt or evalframe */
	struct evalhook hook;       /* evalframe on 3.11+ */
	struct launch *launch;      /* launch mode: the child, held under ptrace */
	char known_gap[256];        /* calls the backend cannot see here, or "" */
	struct timespec started;
	struct forkguard forks;     /* its forks' copies of the hook, its exec */
	int pidfd;                  /* the target's, from before the attach (procstate.h) */
};

/* System-call stops to wait for, at most, until a launched interpreter exists. */
#define MAX_INIT_STOPS 100000

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

static int check_privileges(struct pybpf_err *err)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capget, &h, d)) {
		err_set(err, "cannot read this process's capabilities: %s", strerror(errno));
		return -1;
	}
	if (has_cap(d, CAP_SYS_ADMIN) || (has_cap(d, CAP_BPF) && has_cap(d, CAP_PERFMON)))
		return 0;
	err_set(err, "cannot trace: missing CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) "
		     "(hint: run as root, e.g. sudo pybpf-prof ...)");
	return -1;
}

/* The backend for t: the one asked for, or usdt where its probes fire fully. */
static int choose_backend(struct session *s, struct pybpf_err *err)
{
	return backend_choose(&s->t, s->o->backend, s->o->hook_only, &s->backend, err);
}

/* Launch mode: the interpreter's state does not exist at exec time; run
 * the child on, a system call at a time, until it does. */
static int await_interpreter(struct session *s, struct pybpf_err *err)
{
	for (int i = 0; i < MAX_INIT_STOPS; i++) {
		if (python_target__interp_ready(&s->t, &s->off))
			return 0;
		if (launch_step(s->launch)) {
			err_set(err, "cannot profile PID %d: it ended before its interpreter started",
				s->t.pid);
			return -1;
		}
	}
	err_set(err, "cannot profile PID %d: its interpreter did not start", s->t.pid);
	return -1;
}

static int set_hook(struct session *s, struct pybpf_err *err)
{
	if (!backend_needs_hook(&s->t, s->backend))
		return 0;
	if (s->launch && s->t.minor >= 12 && python_target__wants_perf_trampoline(s->t.pid)) {
		err_set(err, "cannot trace PID %d with the eval-frame backend: it asks for the perf "
			     "trampoline (-X perf or PYTHONPERFSUPPORT), another PEP 523 hook, which "
			     "would refuse to start (hint: run it without the perf trampoline)",
			s->t.pid);
		return -1;
	}
	if (s->launch && await_interpreter(s, err))
		return -1;
	return evalhook__install(&s->t, &s->hook, err) ? -1 : 0;
}

static int attach_probes(struct session *s, struct pybpf_err *err)
{
	if (s->o->hook_only)
		return 0;
	if (s->backend == PYBPF_BACKEND_EVALFRAME)
		return tracer__attach_evalframe(s->tr, &s->t, &s->off, s->o->probe_floor, false,
						err);
	return tracer__attach_usdt(s->tr, &s->t, &s->off, backend_usdt_flags(&s->t),
				   s->o->probe_floor, false, err);
}

/* Probes first, then the hook: every call the hook diverts is seen. */
static int start_tracing(struct session *s, struct pybpf_err *err)
{
	struct tracer_limits lim = {
		.processes = PYBPF_MAX_TARGETS,
		.threads = s->o->max_threads ? s->o->max_threads : PYBPF_MAX_THREADS,
		.functions = s->o->max_functions ? s->o->max_functions : PYBPF_MAX_FUNCS,
	};

	if (offsets_for_target(&s->t, &s->off, err) || choose_backend(s, err))
		return -1;
	s->tr = tracer__open(&lim, s->o->latency, true, false, err);
	if (!s->tr)
		return -1;
	if (forkguard_open(&s->forks, s->tr, s->t.pid, &s->hook)) {
		err_set(err, "cannot watch PID %d's forks: %s", s->t.pid, strerror(errno));
		return -1;
	}
	testpoint("attach");
	if (attach_probes(s, err) || set_hook(s, err))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	pybpf_warn("tracing PID %d (CPython %s, %s, backend %s%s); %s",
		s->t.pid, s->t.version, s->t.binary, backend_name(s->backend),
		s->o->hook_only ? ", hook only" : "",
		s->launch ? "reporting when it exits" : "Ctrl-C to stop");
	backend_known_gap(&s->t, s->backend, s->known_gap, sizeof(s->known_gap));
	if (s->known_gap[0])
		pybpf_warn("known gap: %s", s->known_gap);
	return 0;
}

/* Undoes everything done to the target; safe to call more than once. */
static void stop_tracing(struct session *s)
{
	struct freeze f = { 0 };
	int e;

	/* Return probes go while the target is held still (freeze.h). */
	if (s->tr && s->backend == PYBPF_BACKEND_EVALFRAME && !s->launch)
		freeze_process(&f, s->t.pid);
	if (s->tr)
		tracer__detach(s->tr);
	freeze_release(&f);
	forkguard_close(&s->forks);
	if (s->forks.hooks_restored)
		pybpf_warn("PID %d forked %zu process%s while traced: the copy of the eval-frame "
			   "hook each inherited was put back to NULL (forks are not traced; "
			   "--all-python traces them)", s->t.pid, s->forks.hooks_restored,
			   s->forks.hooks_restored == 1 ? "" : "es");
	s->forks.hooks_restored = 0;
	e = evalhook__remove(&s->hook);
	if (e == -EBUSY)
		pybpf_warn("PID %d's eval_frame was changed while it was traced (by the program "
			   "itself?): left as it is; calls made after the change were not seen",
			   s->t.pid);
	else if (e)
		pybpf_warn("cannot restore PID %d's eval_frame: %s", s->t.pid, strerror(-e));
}

/* The target's pidfd, before the attach: its exit after it ends the run. */
static int watch_target(struct session *s, struct pybpf_err *err)
{
	s->pidfd = process_pidfd(s->t.pid, err);
	return s->pidfd < 0 ? -1 : 0;
}

/* Until a stop; forks are handled as they come, an exec is a stop. */
static enum stop_reason wait_for_stop(struct session *s)
{
	struct runloop r;
	enum stop_reason why = STOP_ERROR;
	uint64_t ticks;

	if (runloop_open(&r, s->pidfd, s->o->duration)) {
		pybpf_warn("cannot watch signals and time: %s", strerror(errno));
		goto out;
	}
	runloop_watch(&r, forkguard_fd(&s->forks));
	while ((why = runloop_wait(&r, &ticks)) == STOP_NONE) {
		forkguard_consume(&s->forks);
		if (s->forks.execed) {
			pybpf_warn("PID %d exec'ed another program: stopping", s->t.pid);
			why = STOP_TARGET_EXIT;
			break;
		}
	}
out:
	runloop_close(&r);
	return why;
}

static double seconds_since(const struct timespec *t0, const struct timespec *t1)
{
	return (double)(t1->tv_sec - t0->tv_sec) + (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
}

/* Detaches, drains, prints and writes what was collected. 0 or 1. */
static int finish(struct session *s)
{
	struct pybpf_profile p;
	struct pybpf_err err = { { 0 } };
	struct timespec now;
	int ret = 0, e;

	clock_gettime(CLOCK_MONOTONIC, &now);
	profile_init(&p);
	p.losses.still_running = tracer__stop(s->tr, s->t.pid,
					      (unsigned long long)now.tv_sec * 1000000000ull +
						      (unsigned long long)now.tv_nsec);
	stop_tracing(s);
	p.pid = s->t.pid;
	snprintf(p.python_version, sizeof(p.python_version), "%s", s->t.version);
	snprintf(p.binary, sizeof(p.binary), "%s", s->t.binary);
	snprintf(p.backend, sizeof(p.backend), "%s", backend_name(s->backend));
	snprintf(p.build, sizeof(p.build), "%s", s->t.shared ? "shared" : "static");
	snprintf(p.known_gap, sizeof(p.known_gap), "%s", s->known_gap);
	p.wall_seconds = seconds_since(&s->started, &now);
	testpoint("drain");
	if (tracer__drain(s->tr, s->t.pid, &p, &err)) {
		pybpf_warn("%s; printing what was read", err.msg);
		ret = 1;
	}
	report_warn_unread(&p);
	errno = 0;
	e = output_print_error(stdout, report_print(stdout, &p, s->o->sort, s->o->limit,
						     s->o->latency));
	if (e) {
		pybpf_warn("cannot print the report: %s", strerror(e));
		ret = 1;
	}
	if (s->o->output) {
		e = pstats_write_file(&p, s->o->output);
		if (e) {
			pybpf_warn("cannot write %s: %s", s->o->output, strerror(-e));
			ret = 1;
		}
	}
	profile_free(&p);
	return ret;
}

/* The error of a failed start; the target's exit when that was its cause. */
static void warn_start_failed(pid_t pid, const struct pybpf_err *err)
{
	if (process_exited(pid))
		pybpf_warn("cannot trace PID %d: the process exited while pybpf-prof was attaching",
			   pid);
	else
		pybpf_warn("%s", err->msg);
}

static int run_attach(const struct pybpf_options *o)
{
	struct session s = { .o = o, .pidfd = -1 };
	struct pybpf_err err = { { 0 } };
	int ret = 1;

	if (python_target__inspect(o->pid, &s.t, &err)) {
		pybpf_warn("%s", err.msg);
		goto out;
	}
	if (watch_target(&s, &err) || start_tracing(&s, &err)) {
		warn_start_failed(o->pid, &err);
		stop_tracing(&s);
		goto out;
	}
	if (wait_for_stop(&s) == STOP_ERROR)
		pybpf_warn("stopping early; printing what was collected");
	ret = finish(&s);
out:
	tracer__close(s.tr);
	if (s.pidfd >= 0)
		close(s.pidfd);
	return ret;
}

static int launched_start(void *ctx, struct launch *l, struct pybpf_err *err)
{
	struct session *s = ctx;

	s->launch = l;
	if (python_target__inspect(l->pid, &s->t, err) || watch_target(s, err))
		return -1;
	return start_tracing(s, err) ? -1 : 0;
}

static enum stop_reason launched_run(void *ctx)
{
	return wait_for_stop(ctx);
}

static int launched_finish(void *ctx)
{
	return finish(ctx);
}

/* stop_tracing() is safe after finish() has called it. */
static void launched_cleanup(void *ctx)
{
	struct session *s = ctx;

	stop_tracing(s);
	tracer__close(s->tr);
	if (s->pidfd >= 0)
		close(s->pidfd);
}

static int run_launch(const struct pybpf_options *o)
{
	static const struct launch_ops ops = {
		.start = launched_start,
		.run = launched_run,
		.finish = launched_finish,
		.cleanup = launched_cleanup,
	};
	struct session s = { .o = o, .pidfd = -1 };

	return launch_run(o->cmd, &ops, &s);
}

int main(int argc, char **argv)
{
	struct pybpf_options o;
	struct pybpf_err err = { { 0 } };
	int ret;

	switch (options_parse(argc, argv, &o, &err)) {
	case OPTIONS_EXIT:
		options_free(&o);
		return PYBPF_EXIT_OK;
	case OPTIONS_USAGE:
		pybpf_warn("%s", err.msg);
		options_free(&o);
		return PYBPF_EXIT_USAGE;
	case OPTIONS_RUN:
		break;
	}
	pybpf_verbose = o.verbose;
	signal(SIGPIPE, SIG_IGN);
	runloop_block_signals();
	if (check_privileges(&err)) {
		pybpf_warn("%s", err.msg);
		options_free(&o);
		return PYBPF_EXIT_FAIL;
	}
	if (o.sample && (o.max_threads || o.max_functions))
		pybpf_warn("--max-threads and --max-functions size exact tracing's maps: ignored "
			   "with --sample (its maps have fixed sizes)");
	if (o.all_python && !o.sample)
		ret = allpython_run(&o);
	else if (o.sample)
		ret = sampling_run(&o);
	else
		ret = o.cmd ? run_launch(&o) : run_attach(&o);
	testlimits_report(stderr);
	options_free(&o);
	return ret;
}
