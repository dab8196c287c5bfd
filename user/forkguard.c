// SPDX-License-Identifier: GPL-2.0-only
#include "forkguard.h"

#include <errno.h>

#include "log.h"

/* The child is not traced: out of the table, and its copy of the hook back to NULL. */
static void on_fork(struct forkguard *g, pid_t child)
{
	struct pybpf_err err = { { 0 } };
	struct evalhook h;

	tracer__unregister(g->tr, child);
	if (!g->hook->installed)
		return;
	/* Fails only for a child that exec'ed or ended since: nothing to put back. */
	if (!evalhook__adopt(g->hook, child, &h, &err) && !evalhook__remove(&h))
		g->hooks_restored++;
}

static void on_event(void *ctx, const struct pybpf_proc_event *e)
{
	struct forkguard *g = ctx;

	if (e->kind == PYBPF_PROC_FORK && (pid_t)e->ppid == g->pid)
		on_fork(g, (pid_t)e->pid);
	else if (e->kind == PYBPF_PROC_EXEC && (pid_t)e->pid == g->pid)
		g->execed = true;
}

int forkguard_open(struct forkguard *g, struct tracer *tr, pid_t pid, const struct evalhook *hook)
{
	*g = (struct forkguard){ .tr = tr, .pid = pid, .hook = hook };
	g->events = proc_events__open(tracer__proc_events_map(tr), on_event, g);
	return g->events ? 0 : -errno;
}

int forkguard_fd(const struct forkguard *g)
{
	return g->events ? proc_events__fd(g->events) : -1;
}

void forkguard_consume(struct forkguard *g)
{
	proc_events__consume(g->events);
}

void forkguard_close(struct forkguard *g)
{
	forkguard_consume(g); /* a fork just before the end still gets its hook back */
	proc_events__free(g->events);
	g->events = NULL;
}
