// SPDX-License-Identifier: GPL-2.0-only
#include "threadnames.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pythreads.h"

#define MAX_TASKS 65536 /* bound on a target's thread list */

static struct thread_name *find_or_add(struct thread_names *tn, uint32_t tid)
{
	for (size_t i = 0; i < tn->n; i++)
		if (tn->v[i].tid == tid)
			return &tn->v[i];
	if (tn->n == tn->cap) {
		size_t cap = tn->cap ? 2 * tn->cap : 16;
		struct thread_name *v = realloc(tn->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		tn->v = v;
		tn->cap = cap;
	}
	tn->v[tn->n] = (struct thread_name){ .tid = tid };
	return &tn->v[tn->n++];
}

static void read_os_name(pid_t pid, uint32_t tid, char *out, size_t n)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", pid, tid);
	f = fopen(path, "re");
	out[0] = '\0';
	if (!f)
		return;
	if (fgets(out, (int)n, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* The Python name of the thread whose threading ident is ident, or NULL. */
static const char *python_name_of(const struct pythread *pt, size_t npt, uint64_t ident)
{
	for (size_t i = 0; i < npt; i++)
		if (pt[i].ident == ident && pt[i].name[0])
			return pt[i].name;
	return NULL;
}

static void name_one(struct thread_names *tn, const struct python_target *t,
		     const struct pybpf_offsets *off, uint32_t tid, const struct pythread *pt,
		     size_t npt, tstate_of_fn tstate_of, void *ctx)
{
	struct thread_name *e = find_or_add(tn, tid);
	uint64_t ts = tstate_of(ctx, tid), ident = 0;
	const char *py = NULL;

	if (!e || e->python)
		return;
	if (ts && !python_target__read(t->pid, ts + off->tstate_thread_id, &ident, sizeof(ident)))
		py = python_name_of(pt, npt, ident);
	if (py) {
		snprintf(e->name, sizeof(e->name), "%s", py);
		e->python = 1;
	} else if (ts && tid == (uint32_t)t->pid) {
		/* threading's name for it, before (or without) threading imported */
		snprintf(e->name, sizeof(e->name), "MainThread");
	} else if (!e->name[0]) {
		read_os_name(t->pid, tid, e->name, sizeof(e->name));
	}
}

void thread_names_refresh(struct thread_names *tn, const struct python_target *t,
			  const struct pybpf_offsets *off, tstate_of_fn tstate_of, void *ctx)
{
	struct pythread *pt = NULL;
	struct pybpf_err err;
	size_t npt = 0, seen = 0;
	char dir[64];
	struct dirent *d;
	DIR *tasks;

	if (pythreads_read(t, off, &pt, &npt, &err))
		npt = 0;
	snprintf(dir, sizeof(dir), "/proc/%d/task", t->pid);
	tasks = opendir(dir);
	while (tasks && (d = readdir(tasks)) && seen++ < MAX_TASKS) {
		char *end;
		unsigned long tid = strtoul(d->d_name, &end, 10);

		if (*end || !tid || tid > UINT32_MAX)
			continue;
		name_one(tn, t, off, (uint32_t)tid, pt, npt, tstate_of, ctx);
	}
	if (tasks)
		closedir(tasks);
	free(pt);
}

const char *thread_names_get(const struct thread_names *tn, uint32_t tid)
{
	for (size_t i = 0; i < tn->n; i++)
		if (tn->v[i].tid == tid)
			return tn->v[i].name[0] ? tn->v[i].name : NULL;
	return NULL;
}

void thread_names_free(struct thread_names *tn)
{
	free(tn->v);
	*tn = (struct thread_names){ 0 };
}
