// SPDX-License-Identifier: GPL-2.0-only
#include "freeze.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

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

/* Seizes tid and waits for its ptrace stop. A signal that arrives first is
 * handed back to it, as the kernel would have delivered it. */
static bool stop_thread(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) || ptrace(PTRACE_INTERRUPT, tid, NULL, NULL))
		return false;
	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (!WIFSTOPPED(status))
			return false; /* it ended */
		if (status >> 16 == PTRACE_EVENT_STOP)
			return true;
		/* A signal-delivery stop: let it have the signal, stop at the next chance. */
		ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status));
		ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
	}
}

/* One pass over pid's threads; how many new ones were stopped. */
static size_t freeze_pass(struct freeze *f, pid_t pid)
{
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

		if (tid <= 0 || held(f, tid) || !stop_thread(tid))
			continue;
		if (remember(f, tid)) {
			ptrace(PTRACE_DETACH, tid, NULL, NULL);
			continue;
		}
		stopped++;
	}
	closedir(d);
	return stopped;
}

size_t freeze_process(struct freeze *f, pid_t pid)
{
	size_t total = 0, got;

	/* Until a pass finds no new thread: one may start while we walk. */
	for (int pass = 0; pass < 8 && (got = freeze_pass(f, pid)); pass++)
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
}
