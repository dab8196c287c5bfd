// SPDX-License-Identifier: GPL-2.0-only
#include "freeze.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

enum stop_outcome { STOPPED, GONE, LATE };

/* Seized threads not in their stop when their freeze gave up on them
 * (pybpf-prof and its guardians are single-threaded). */
static struct freeze stragglers;

static int remember(struct freeze *f, pid_t tid)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		pid_t *v = realloc(f->tids, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		f->tids = v;
		f->cap = cap;
	}
	f->tids[f->n++] = tid;
	return 0;
}

static bool held(const struct freeze *f, pid_t tid)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->tids[i] == tid)
			return true;
	return false;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* One look at tid's state change: STOPPED (in its interrupt stop, or in a
 * signal-delivery stop: *sig), GONE, or LATE (no stop yet). */
static enum stop_outcome look(pid_t tid, int *sig)
{
	int status;
	pid_t r = waitpid(tid, &status, __WALL | WNOHANG);

	*sig = 0;
	if (r == 0 || (r < 0 && errno == EINTR))
		return LATE;
	if (r < 0 || !WIFSTOPPED(status))
		return GONE; /* it ended */
	if (status >> 16 != PTRACE_EVENT_STOP)
		*sig = WSTOPSIG(status);
	return STOPPED;
}

/* For a freeze: a signal-delivery stop hands the signal back to the
 * thread, as the kernel would have delivered it, and asks for the stop
 * again. */
static enum stop_outcome poll_stop(pid_t tid)
{
	int sig;
	enum stop_outcome got = look(tid, &sig);

	if (got != STOPPED || !sig)
		return got;
	ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig);
	ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
	return LATE;
}

/* Waits for tid's stop until deadline (CLOCK_MONOTONIC ns), polling: a
 * stop has no descriptor to wait on with a time limit. */
static enum stop_outcome wait_stop(pid_t tid, long long deadline)
{
	struct timespec pause = { 0, 20000 };
	enum stop_outcome got;

	while ((got = poll_stop(tid)) == LATE && now_ns() < deadline) {
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 5000000)
			pause.tv_nsec *= 2;
	}
	return got;
}

/* Seizes tid and asks for its stop; false when it cannot be seized (it is
 * traced already, or gone). */
static bool interrupt_thread(pid_t tid)
{
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL))
		return false;
	if (!ptrace(PTRACE_INTERRUPT, tid, NULL, NULL))
		return true;
	/* Seized but ended before the interrupt: collect what is left of it. */
	wait_stop(tid, now_ns());
	return false;
}

/* One pass over pid's threads: every new one interrupted at once, then
 * waited for. How many new ones reached their stop. */
static size_t freeze_pass(struct freeze *f, pid_t pid, long long deadline)
{
	struct freeze asked = { 0 };
	char path[64];
	struct dirent *e;
	size_t stopped = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);

		if (tid <= 0 || held(f, tid) || held(&stragglers, tid) || !interrupt_thread(tid))
			continue;
		if (remember(&asked, tid))
			remember(&stragglers, tid); /* may fail too: then our exit lets it go */
	}
	closedir(d);
	for (size_t i = 0; i < asked.n; i++) {
		enum stop_outcome got = wait_stop(asked.tids[i], deadline);

		if (got == STOPPED && !remember(f, asked.tids[i]))
			stopped++;
		else if (got == STOPPED)
			ptrace(PTRACE_DETACH, asked.tids[i], NULL, NULL);
		else if (got == LATE)
			remember(&stragglers, asked.tids[i]);
	}
	free(asked.tids);
	return stopped;
}

size_t freeze_process(struct freeze *f, pid_t pid)
{
	long long deadline = now_ns() + FREEZE_WAIT_MS * 1000000ll;
	size_t total = 0, got;

	freeze_settle();
	/* Until a pass finds no new thread: one may start while we walk. */
	for (int pass = 0; pass < 8 && (got = freeze_pass(f, pid, deadline)); pass++)
		total += got;
	return total;
}

void freeze_release(struct freeze *f)
{
	for (size_t i = 0; i < f->n; i++)
		ptrace(PTRACE_DETACH, f->tids[i], NULL, NULL);
	free(f->tids);
	f->tids = NULL;
	f->n = f->cap = 0;
	freeze_settle();
}

static void forget_straggler(pid_t tid)
{
	for (size_t i = 0; i < stragglers.n; i++)
		if (stragglers.tids[i] == tid)
			stragglers.tids[i--] = stragglers.tids[--stragglers.n];
}

void freeze_let_go(pid_t tid, int status)
{
	int sig = status >> 16 == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(status);

	ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
	forget_straggler(tid);
}

void freeze_settle(void)
{
	size_t kept = 0;
	int sig;

	for (size_t i = 0; i < stragglers.n; i++) {
		pid_t tid = stragglers.tids[i];
		enum stop_outcome got = look(tid, &sig);

		if (got == STOPPED)
			ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
		else if (got == LATE)
			stragglers.tids[kept++] = tid;
	}
	stragglers.n = kept;
}

bool freeze_has_stragglers(void)
{
	return stragglers.n > 0;
}
