// SPDX-License-Identifier: GPL-2.0-only
/* The host-wide report: each process's section is the report -p prints for
 * it, framed by a title line and its coverage; the merged hot spots keep the
 * HOT_MAX functions with the most own time over all processes. */
#include "hostreport.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "sample_pstats.h"
#include "sampleprof.h"
#include "strutil.h"

#define HOT_MAX 10		/* functions in the merged hot spots */
#define HOT_CMD_MAX 60		/* bytes of a command in a hot-spot line */
#define REFUSAL_CMD_MAX 100	/* bytes of a command in a Not-traced line, as on stderr */
#define NO_COMMAND "[no command line]"

char *host_command_for_print(const char *cmdline, size_t max)
{
	char *raw = strndup(cmdline, HOST_CMDLINE_MAX);
	char *esc = raw ? escaped_dup(raw) : NULL;

	if (esc && max >= 3 && strlen(esc) > max) {
		/* Escaping again into a smaller buffer stops at a whole piece. */
		escape_for_print(raw, esc, max - 2);
		strcat(esc, "...");
	}
	free(raw);
	return esc;
}

/* ---- section order ---- */

static uint64_t proc_weight(const struct host_proc *hp)
{
	if (hp->exact)
		return profile_total_tt_ns(hp->exact);
	if (hp->sampled)
		return sample_profile_total(hp->sampled, -1);
	return 0;
}

struct weighed {
	uint64_t weight;
	pid_t pid;
	size_t index;
};

static int weighed_cmp(const void *x, const void *y)
{
	const struct weighed *a = x, *b = y;

	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

size_t *host_proc_order(const struct host_run *run)
{
	struct weighed *w = calloc(run->nprocs + 1, sizeof(*w));
	size_t *order = calloc(run->nprocs + 1, sizeof(*order));

	if (w && order) {
		for (size_t i = 0; i < run->nprocs; i++) {
			const struct host_proc *hp = &run->procs[i];

			w[i] = (struct weighed){ proc_weight(hp), hp->pid, i };
		}
		qsort(w, run->nprocs, sizeof(*w), weighed_cmp);
		for (size_t i = 0; i < run->nprocs; i++)
			order[i] = w[i].index;
	} else {
		free(order);
		order = NULL;
	}
	free(w);
	return order;
}

/* ---- one process ---- */

static const char *verb(const struct host_run *run)
{
	return run->sampling ? "sampled" : "traced";
}

/* "======== PID 1234 (PID 7 in its namespace): python3 app.py" */
static int print_section_title(FILE *out, const struct host_proc *hp)
{
	char *cmd = host_command_for_print(hp->cmdline, SIZE_MAX);

	if (!cmd)
		return -ENOMEM;
	fprintf(out, "\n======== PID %d", (int)hp->pid);
	if (hp->ns_pid && hp->ns_pid != hp->pid)
		fprintf(out, " (PID %d in its namespace)", (int)hp->ns_pid);
	fprintf(out, ": %s\n", cmd[0] ? cmd : NO_COMMAND);
	free(cmd);
	return 0;
}

/* "Traced from 0.412 s to 3.210 s of the run (exited); forked by PID 1200" */
static void print_coverage(FILE *out, const struct host_run *run, const struct host_proc *hp)
{
	fprintf(out, "%s from %.3f s to %.3f s of the run", run->sampling ? "Sampled" : "Traced",
		hp->from_s, hp->to_s);
	if (hp->end == HOST_PROC_EXITED)
		fputs(" (exited)", out);
	else if (hp->end == HOST_PROC_EXECED)
		fputs(" (exec'ed another program)", out);
	if (hp->forked_by)
		fprintf(out, "; forked by PID %d", (int)hp->forked_by);
	fputc('\n', out);
}

static int print_section(FILE *out, const struct host_run *run, const struct host_proc *hp,
			 const struct hostreport_opts *o)
{
	int err = print_section_title(out, hp);

	if (err)
		return err;
	print_coverage(out, run, hp);
	if (hp->sampled)
		return sreport_print(out, hp->sampled, &o->sample);
	if (hp->exact)
		return report_print(out, hp->exact, o->sort, o->limit, o->latency) ? -ENOMEM : 0;
	fputs("No profile was collected.\n", out);
	return 0;
}

static int print_sections(FILE *out, const struct host_run *run, const struct hostreport_opts *o)
{
	size_t *order = host_proc_order(run);
	int err = order ? 0 : -ENOMEM;

	for (size_t i = 0; i < run->nprocs && !err; i++)
		err = print_section(out, run, &run->procs[order[i]], o);
	free(order);
	return err;
}

/* ---- hot spots across processes ---- */

struct hot_spot {
	uint64_t own_ns;
	uint64_t nc, cc; /* calls (total, primitive), or own samples twice */
	const struct host_proc *proc;
	size_t func;
	char *label;	 /* "file:line(name)", escaped */
};

struct hot_list {
	struct hot_spot top[HOT_MAX];
	size_t n;
	uint64_t total_ns; /* own time of every function of every process */
	bool samples;	   /* nc counts samples, not calls */
};

/* Most own time first; ties by PID, then in the profile's order. */
static bool hot_before(const struct hot_spot *a, const struct hot_spot *b)
{
	if (a->own_ns != b->own_ns)
		return a->own_ns > b->own_ns;
	if (a->proc->pid != b->proc->pid)
		return a->proc->pid < b->proc->pid;
	return a->func < b->func;
}

static char *func_label(const struct pybpf_func *f)
{
	char *s, *esc;

	if (asprintf(&s, "%s:%" PRId32 "(%s)", f->filename, f->firstlineno, f->name) < 0)
		return NULL;
	esc = escaped_dup(s);
	free(s);
	return esc;
}

/* Puts cand in the list if it is among the HOT_MAX first. 0 or -ENOMEM. */
static int hot_offer(struct hot_list *l, struct hot_spot cand, const struct pybpf_func *f)
{
	size_t at = l->n, keep;

	while (at > 0 && hot_before(&cand, &l->top[at - 1]))
		at--;
	if (at >= HOT_MAX)
		return 0;
	cand.label = func_label(f);
	if (!cand.label)
		return -ENOMEM;
	keep = l->n < HOT_MAX ? l->n : HOT_MAX - 1;
	if (l->n == HOT_MAX)
		free(l->top[HOT_MAX - 1].label);
	memmove(&l->top[at + 1], &l->top[at], (keep - at) * sizeof(l->top[0]));
	l->top[at] = cand;
	l->n = keep + 1;
	return 0;
}

/* Every function of p with own time; own_samples (by function) or NULL. */
static int hot_offer_profile(struct hot_list *l, const struct host_proc *hp,
			     const struct pybpf_profile *p, const uint64_t *own_samples)
{
	int err = 0;

	for (size_t i = 0; i < p->nfuncs && !err; i++) {
		const struct pybpf_func *f = &p->funcs[i];
		struct hot_spot cand = { .own_ns = f->st.tottime_ns, .proc = hp, .func = i };

		if (!cand.own_ns)
			continue;
		cand.nc = own_samples ? own_samples[i] : f->st.ncalls;
		cand.cc = own_samples ? own_samples[i] : f->st.pcalls;
		l->total_ns += cand.own_ns;
		err = hot_offer(l, cand, f);
	}
	return err;
}

/* Samples of each function of conv (converted from sp) while it was
 * running. Malloc'ed, NULL on ENOMEM. */
static uint64_t *own_samples(const struct sample_profile *sp, const struct pybpf_profile *conv)
{
	uint64_t *own = calloc(conv->nfuncs + 1, sizeof(*own));

	for (size_t i = 0; own && i < sp->nstacks; i++) {
		const struct sample_stack *s = &sp->stacks[i];
		const struct sample_frame *leaf;
		long func;

		if (!s->nframes || s->frames[s->nframes - 1] >= sp->nframes)
			continue;
		leaf = &sp->frames[s->frames[s->nframes - 1]];
		func = profile_find(conv, leaf->filename, leaf->firstlineno, leaf->name);
		if (func >= 0)
			own[func] += s->samples[PYBPF_SAMPLE_CPU] + s->samples[PYBPF_SAMPLE_OFFCPU];
	}
	return own;
}

/* A sampled profile's functions, as sample_profile_to_profile sees them. */
static int hot_offer_sampled(struct hot_list *l, const struct host_proc *hp)
{
	struct pybpf_profile conv;
	uint64_t *own;
	int err = sample_profile_to_profile(hp->sampled, &conv);

	if (err)
		return err;
	own = own_samples(hp->sampled, &conv);
	err = own ? hot_offer_profile(l, hp, &conv, own) : -ENOMEM;
	free(own);
	profile_free(&conv);
	return err;
}

static int hot_collect(struct hot_list *l, const struct host_run *run)
{
	int err = 0;

	l->samples = run->sampling;
	for (size_t i = 0; i < run->nprocs && !err; i++) {
		const struct host_proc *hp = &run->procs[i];

		if (hp->sampled)
			err = hot_offer_sampled(l, hp);
		else if (hp->exact)
			err = hot_offer_profile(l, hp, hp->exact, NULL);
	}
	return err;
}

/* "    1.  41.3%  app.py:12(fetch)  PID 1234 (python3 app.py)  5.100 s, 10 calls" */
static int print_hot_spot(FILE *out, const struct hot_list *l, size_t rank)
{
	const struct hot_spot *h = &l->top[rank];
	char *cmd = host_command_for_print(h->proc->cmdline, HOT_CMD_MAX);
	double share = l->total_ns ? (double)h->own_ns * 100.0 / (double)l->total_ns : 0.0;

	if (!cmd)
		return -ENOMEM;
	fprintf(out, "  %2zu. %5.1f%%  %s  PID %d (%s)  %.3f s, ", rank + 1, share, h->label,
		(int)h->proc->pid, cmd[0] ? cmd : NO_COMMAND, (double)h->own_ns / 1e9);
	if (l->samples)
		fprintf(out, "%" PRIu64 " sample%s\n", h->nc, h->nc == 1 ? "" : "s");
	else if (h->nc == h->cc)
		fprintf(out, "%" PRIu64 " call%s\n", h->nc, h->nc == 1 ? "" : "s");
	else
		fprintf(out, "%" PRIu64 "/%" PRIu64 " calls\n", h->nc, h->cc);
	free(cmd);
	return 0;
}

static int print_hot_list(FILE *out, const struct host_run *run, const struct hot_list *l)
{
	int err = 0;

	fprintf(out, "\n======== Hot spots across %zu processes\n", run->nprocs);
	if (!l->n) {
		fprintf(out, "No Python function had own time while %s.\n", verb(run));
		return 0;
	}
	fprintf(out, "Own time (share of %.3f s in all functions of all processes):\n",
		(double)l->total_ns / 1e9);
	for (size_t i = 0; i < l->n && !err; i++)
		err = print_hot_spot(out, l, i);
	return err;
}

static int print_hot_spots(FILE *out, const struct host_run *run)
{
	struct hot_list l = { .n = 0 };
	int err = hot_collect(&l, run);

	if (!err)
		err = print_hot_list(out, run, &l);
	for (size_t i = 0; i < l.n; i++)
		free(l.top[i].label);
	return err;
}

/* ---- the rest ---- */

static int print_refusals(FILE *out, const struct host_run *run)
{
	if (!run->nrefused)
		return 0;
	fprintf(out, "\n======== Not %s (%zu)\n", verb(run), run->nrefused);
	for (size_t i = 0; i < run->nrefused; i++) {
		const struct host_refusal *r = &run->refused[i];
		char *cmd = host_command_for_print(r->cmdline, REFUSAL_CMD_MAX);
		char *why = escaped_ndup(r->why, sizeof(r->why));

		if (cmd && why)
			fprintf(out, "PID %d (%s): %s\n", (int)r->pid, cmd[0] ? cmd : NO_COMMAND,
				why[0] ? why : "no reason given");
		free(cmd);
		free(why);
		if (!cmd || !why)
			return -ENOMEM;
	}
	return 0;
}

int hostreport_print(FILE *out, const struct host_run *run, const struct hostreport_opts *o)
{
	int err;

	fprintf(out, "Python processes %s: %zu for %.3f s, %zu not %s\n", verb(run), run->nprocs,
		run->wall_seconds, run->nrefused, verb(run));
	err = print_sections(out, run, o);
	if (!err)
		err = print_hot_spots(out, run);
	if (!err)
		err = print_refusals(out, run);
	if (!err && ferror(out))
		err = errno > 0 ? -errno : -EIO; /* that of the failed write (callers zero errno) */
	return err;
}
