// SPDX-License-Identifier: GPL-2.0-only
/* The sampled report: frames grouped into rows (functions, or functions at
 * a line), samples tallied per row for one scope (the process or a thread),
 * one table printer and one hot-spot printer serving every scope. Shares are
 * of the scope's samples: a thread's table is a share of that thread. */
#include "sreport.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

#define HOT_MAX 5		/* functions listed per hot-spot kind */
#define ALL_THREADS (-1L)	/* the scope of the whole process */
#define EM_DASH "\xe2\x80\x94"

enum { CPU = PYBPF_SAMPLE_CPU, OFFCPU = PYBPF_SAMPLE_OFFCPU, KINDS = PYBPF_SAMPLE_KINDS };

static const struct {
	const char *word;
	enum sreport_sort sort;
} sort_words[] = {
	{ "tottime", SREPORT_SORT_TOTTIME },	   { "time", SREPORT_SORT_TOTTIME },
	{ "cumtime", SREPORT_SORT_CUMTIME },	   { "cumulative", SREPORT_SORT_CUMTIME },
	{ "nsamples", SREPORT_SORT_NSAMPLES },	   { "cumsamples", SREPORT_SORT_CUMSAMPLES },
	{ "offcpu", SREPORT_SORT_OFFCPU },	   { "name", SREPORT_SORT_NAME },
	{ "filename", SREPORT_SORT_FILENAME },	   { "file", SREPORT_SORT_FILENAME },
	{ "line", SREPORT_SORT_LINE },
};

static const char *const sort_titles[] = {
	[SREPORT_SORT_TOTTIME] = "own time",
	[SREPORT_SORT_CUMTIME] = "cumulative time",
	[SREPORT_SORT_NSAMPLES] = "own samples",
	[SREPORT_SORT_CUMSAMPLES] = "cumulative samples",
	[SREPORT_SORT_OFFCPU] = "off-CPU time",
	[SREPORT_SORT_NAME] = "function name",
	[SREPORT_SORT_FILENAME] = "file name",
	[SREPORT_SORT_LINE] = "line number",
};

/* The hot-spot wording of each kind of sample. */
static const struct {
	const char *title, *verb, *of;
} hot_words[KINDS] = {
	[CPU] = { "on-CPU", "ran on the CPU in", "of on-CPU samples" },
	[OFFCPU] = { "off-CPU", "was off the CPU in",
		     "of off-CPU samples (sleep, I/O, locks or the GIL)" },
};

int sreport_parse_sort(const char *key, enum sreport_sort *out)
{
	for (size_t i = 0; i < sizeof(sort_words) / sizeof(sort_words[0]); i++) {
		if (!strcmp(key, sort_words[i].word)) {
			*out = sort_words[i].sort;
			return 0;
		}
	}
	return -1;
}

/* How frames group into rows: frame i is in row row_of[i], frame_of[r] is
 * a frame of row r; rows are numbered in label order. */
struct grouping {
	size_t *row_of;
	size_t *frame_of;
	size_t nrows;
};

/* A row's samples: own (the row was running) and cumulative (the row was
 * on the stack, each sample counted once however often it is there). */
struct row {
	uint64_t own[KINDS], own_ns[KINDS];
	uint64_t cum[KINDS], cum_ns[KINDS];
	size_t seen; /* 1 + the last stack counted in cum */
};

/* The rows of one scope, with the scope's totals. */
struct tally {
	struct row *rows;
	size_t nrows;
	uint64_t samples[KINDS], ns[KINDS];
};

/* Samples by kind, of one thread or of all. */
struct kind_counts {
	uint64_t k[KINDS];
};

struct ctx {
	const struct sample_profile *p;
	const struct sreport_opts *o;
	struct grouping funcs, lines;
};

static uint64_t sum(const uint64_t v[KINDS])
{
	return v[CPU] + v[OFFCPU];
}

static void add_kinds(uint64_t dst[KINDS], const uint64_t src[KINDS])
{
	for (int k = 0; k < KINDS; k++)
		dst[k] += src[k];
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part * 100.0 / (double)whole : 0.0;
}

static double seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

static bool has_offcpu_columns(const struct sample_profile *p)
{
	return p->mode == SAMPLE_MODE_WALL;
}

/* "file:line(name)" as pstats prints a label, or with `words` "name
 * (file:line)" as the hot spots say it; escaped, malloc'ed. */
static char *frame_label(const struct sample_frame *f, int32_t line, bool words)
{
	char *file = escaped_dup(f->filename), *name = escaped_dup(f->name), *s = NULL;
	int r = -1;

	if (file && name)
		r = words ? asprintf(&s, "%s (%s:%" PRId32 ")", name, file, line)
			  : asprintf(&s, "%s:%" PRId32 "(%s)", file, line, name);
	free(file);
	free(name);
	return r < 0 ? NULL : s;
}

/* ---- grouping frames into rows ---- */

static int cmp_int(int32_t l, int32_t r)
{
	return (l > r) - (l < r);
}

/* Label order: file, first line, name, then (per line) the running line. */
static int cmp_frames(const struct sample_frame *a, const struct sample_frame *b, bool lines)
{
	int d = strcmp(a->filename, b->filename);

	if (!d)
		d = cmp_int(a->firstlineno, b->firstlineno);
	if (!d)
		d = strcmp(a->name, b->name);
	if (!d && lines)
		d = cmp_int(a->line, b->line);
	return d;
}

struct frame_order {
	const struct sample_frame *frames;
	bool lines;
};

static int frame_index_cmp(const void *x, const void *y, void *arg)
{
	const struct frame_order *fo = arg;
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int d = cmp_frames(&fo->frames[a], &fo->frames[b], fo->lines);

	return d ? d : (a > b) - (a < b);
}

static void grouping_free(struct grouping *g)
{
	free(g->row_of);
	free(g->frame_of);
}

static int group_frames(const struct sample_profile *p, bool lines, struct grouping *g)
{
	struct frame_order fo = { .frames = p->frames, .lines = lines };
	size_t n = p->nframes;

	g->nrows = 0;
	g->row_of = calloc(n + 1, sizeof(*g->row_of));
	g->frame_of = calloc(n + 1, sizeof(*g->frame_of));
	if (!g->row_of || !g->frame_of)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		g->frame_of[i] = i;
	qsort_r(g->frame_of, n, sizeof(*g->frame_of), frame_index_cmp, &fo);
	/* Rows are written over the sorted frames, never ahead of the reading. */
	for (size_t i = 0; i < n; i++) {
		size_t f = g->frame_of[i];
		if (!i || cmp_frames(&p->frames[g->frame_of[g->nrows - 1]], &p->frames[f], lines))
			g->frame_of[g->nrows++] = f;
		g->row_of[f] = g->nrows - 1;
	}
	return 0;
}

/* ---- tallying one scope ---- */

static bool in_scope(const struct sample_stack *s, long thread)
{
	return thread == ALL_THREADS || s->thread == (size_t)thread;
}

static void tally_stack(const struct sample_stack *s, size_t stamp, const struct grouping *g,
			struct tally *t)
{
	struct row *leaf;

	add_kinds(t->samples, s->samples);
	add_kinds(t->ns, s->ns);
	if (!s->nframes)
		return;
	leaf = &t->rows[g->row_of[s->frames[s->nframes - 1]]];
	add_kinds(leaf->own, s->samples);
	add_kinds(leaf->own_ns, s->ns);
	for (size_t i = 0; i < s->nframes; i++) {
		struct row *r = &t->rows[g->row_of[s->frames[i]]];
		if (r->seen == stamp)
			continue; /* recursion: this sample is in r already */
		r->seen = stamp;
		add_kinds(r->cum, s->samples);
		add_kinds(r->cum_ns, s->ns);
	}
}

static int tally(const struct ctx *c, const struct grouping *g, long thread, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	t->rows = calloc(g->nrows + 1, sizeof(*t->rows));
	if (!t->rows)
		return -ENOMEM;
	t->nrows = g->nrows;
	for (size_t i = 0; i < c->p->nstacks; i++) {
		if (in_scope(&c->p->stacks[i], thread))
			tally_stack(&c->p->stacks[i], i + 1, g, t);
	}
	return 0;
}

/* ---- the table ---- */

struct row_order {
	const struct ctx *c;
	const struct grouping *g;
	const struct tally *t;
};

static int desc(uint64_t l, uint64_t r)
{
	return (l < r) - (l > r);
}

/* The line a row's label shows: the running line per line, else the first. */
static int32_t label_line(const struct ctx *c, const struct sample_frame *f)
{
	return c->o->lines ? f->line : f->firstlineno;
}

static int compare_rows(const struct row_order *ro, size_t a, size_t b)
{
	const struct row *l = &ro->t->rows[a], *r = &ro->t->rows[b];
	const struct sample_frame *lf = &ro->c->p->frames[ro->g->frame_of[a]];
	const struct sample_frame *rf = &ro->c->p->frames[ro->g->frame_of[b]];

	switch (ro->c->o->sort) {
	case SREPORT_SORT_TOTTIME:
		return desc(sum(l->own_ns), sum(r->own_ns));
	case SREPORT_SORT_CUMTIME:
		return desc(sum(l->cum_ns), sum(r->cum_ns));
	case SREPORT_SORT_NSAMPLES:
		return desc(sum(l->own), sum(r->own));
	case SREPORT_SORT_CUMSAMPLES:
		return desc(sum(l->cum), sum(r->cum));
	case SREPORT_SORT_OFFCPU:
		return desc(l->own_ns[OFFCPU], r->own_ns[OFFCPU]);
	case SREPORT_SORT_NAME:
		return strcmp(lf->name, rf->name);
	case SREPORT_SORT_FILENAME:
		return strcmp(lf->filename, rf->filename);
	case SREPORT_SORT_LINE:
		return cmp_int(label_line(ro->c, lf), label_line(ro->c, rf));
	}
	return 0;
}

static int row_index_cmp(const void *x, const void *y, void *arg)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int d = compare_rows(arg, a, b);

	/* Ties in label order, which is row order. */
	return d ? (d > 0) - (d < 0) : (a > b) - (a < b);
}

/* The rows with samples in the scope, in the order of o->sort; malloc'ed
 * into *order (count *n). */
static int sorted_rows(const struct row_order *ro, size_t **order, size_t *n)
{
	*n = 0;
	*order = malloc((ro->t->nrows + 1) * sizeof(**order));
	if (!*order)
		return -ENOMEM;
	for (size_t i = 0; i < ro->t->nrows; i++) {
		if (sum(ro->t->rows[i].cum))
			(*order)[(*n)++] = i;
	}
	qsort_r(*order, *n, sizeof(**order), row_index_cmp, (void *)ro);
	return 0;
}

static void print_column_titles(FILE *out, const struct ctx *c)
{
	fputs("   nsamples     tottime    tot%     cumtime    cum%", out);
	if (has_offcpu_columns(c->p))
		fputs("      offcpu    off%", out);
	fputs("  filename:lineno(function)\n", out);
}

static int print_row(FILE *out, const struct row_order *ro, size_t i)
{
	const struct row *r = &ro->t->rows[i];
	const struct sample_frame *f = &ro->c->p->frames[ro->g->frame_of[i]];
	uint64_t total_ns = sum(ro->t->ns);
	char *label = frame_label(f, label_line(ro->c, f), false), counts[48];

	if (!label)
		return -ENOMEM;
	snprintf(counts, sizeof(counts), "%" PRIu64 "/%" PRIu64, sum(r->own), sum(r->cum));
	fprintf(out, "%11s %11.3f %6.1f%% %11.3f %6.1f%%", counts, seconds(sum(r->own_ns)),
		share(sum(r->own_ns), total_ns), seconds(sum(r->cum_ns)),
		share(sum(r->cum_ns), total_ns));
	if (has_offcpu_columns(ro->c->p))
		fprintf(out, " %11.3f %6.1f%%", seconds(r->own_ns[OFFCPU]),
			share(r->own_ns[OFFCPU], total_ns));
	fprintf(out, "  %s\n", label);
	free(label);
	return 0;
}

static int print_table(FILE *out, const struct row_order *ro)
{
	long limit = ro->c->o->limit;
	size_t *order, n, shown;
	int err = sorted_rows(ro, &order, &n);

	if (err)
		return err;
	shown = limit >= 0 && (unsigned long)limit < n ? (size_t)limit : n;
	fprintf(out, "   Ordered by: %s\n", sort_titles[ro->c->o->sort]);
	if (shown < n)
		fprintf(out, "   List reduced from %zu to %zu due to restriction <%ld>\n", n, shown,
			limit);
	fputc('\n', out);
	print_column_titles(out, ro->c);
	for (size_t i = 0; i < shown && !err; i++)
		err = print_row(out, ro, order[i]);
	fputc('\n', out);
	free(order);
	return err;
}

/* ---- hot spots ---- */

/* Callers that are no function: the frame was the outermost, or the
 * frames above it were cut off. */
enum { CALLER_NONE = -1, CALLER_CUT = -2 };

/* Where a function's samples of one kind were: its most frequent running
 * line and its most frequent caller. */
struct whereabouts {
	size_t line_row;
	uint64_t line_samples;
	long caller; /* function row, CALLER_NONE (outermost frame) or CALLER_CUT */
};

static size_t argmax(const uint64_t *v, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++) {
		if (v[i] > v[best])
			best = i; /* ties: the first, in label order */
	}
	return best;
}

/* Counts into lines[] and callers[] (the last two slots: none, cut off)
 * the samples of `kind` in which function row fn was running. */
static void count_whereabouts(const struct ctx *c, long thread, int kind, size_t fn,
			      uint64_t *lines, uint64_t *callers)
{
	size_t nf = c->funcs.nrows;

	for (size_t i = 0; i < c->p->nstacks; i++) {
		const struct sample_stack *s = &c->p->stacks[i];
		size_t leaf;

		if (!in_scope(s, thread) || !s->nframes || !s->samples[kind])
			continue;
		leaf = s->frames[s->nframes - 1];
		if (c->funcs.row_of[leaf] != fn)
			continue;
		lines[c->lines.row_of[leaf]] += s->samples[kind];
		if (s->nframes > 1)
			callers[c->funcs.row_of[s->frames[s->nframes - 2]]] += s->samples[kind];
		else
			callers[nf + (s->truncated ? 1 : 0)] += s->samples[kind];
	}
}

static int find_whereabouts(const struct ctx *c, long thread, int kind, size_t fn,
			    struct whereabouts *w)
{
	size_t nf = c->funcs.nrows, best;
	uint64_t *lines = calloc(c->lines.nrows + 1, sizeof(*lines));
	uint64_t *callers = calloc(nf + 2, sizeof(*callers));

	if (!lines || !callers) {
		free(lines);
		free(callers);
		return -ENOMEM;
	}
	count_whereabouts(c, thread, kind, fn, lines, callers);
	w->line_row = argmax(lines, c->lines.nrows);
	w->line_samples = lines[w->line_row];
	best = argmax(callers, nf + 2);
	w->caller = best < nf ? (long)best : best == nf ? CALLER_NONE : CALLER_CUT;
	free(lines);
	free(callers);
	return 0;
}

static void print_line_share(FILE *out, const struct ctx *c, const struct whereabouts *w,
			     uint64_t own)
{
	int32_t line = c->p->frames[c->lines.frame_of[w->line_row]].line;

	fprintf(out, ", %.0f%% of it at ", share(w->line_samples, own));
	if (line > 0)
		fprintf(out, "line %" PRId32, line);
	else
		fputs("an unknown line", out);
}

static int print_caller(FILE *out, const struct ctx *c, long caller)
{
	const struct sample_frame *f;
	char *label;

	if (caller == CALLER_NONE) {
		fputs("; not called from Python code (the outermost frame).\n", out);
		return 0;
	}
	if (caller == CALLER_CUT) {
		fprintf(out, "; its caller is beyond the %d frames kept.\n", PYBPF_SAMPLE_DEPTH);
		return 0;
	}
	f = &c->p->frames[c->funcs.frame_of[caller]];
	label = frame_label(f, f->firstlineno, true);
	if (!label)
		return -ENOMEM;
	fprintf(out, "; called from %s.\n", label);
	free(label);
	return 0;
}

/* "  1. spin (app.py:10) ran on the CPU in 45.2% of on-CPU samples, 80% of
 * it at line 12; called from main (app.py:30)." */
static int print_hot_line(FILE *out, const struct ctx *c, const struct tally *t, long thread,
			  int kind, size_t fn, size_t rank)
{
	const struct sample_frame *f = &c->p->frames[c->funcs.frame_of[fn]];
	uint64_t own = t->rows[fn].own[kind];
	struct whereabouts w;
	char *label = frame_label(f, f->firstlineno, true);
	int err = label ? find_whereabouts(c, thread, kind, fn, &w) : -ENOMEM;

	if (!err) {
		fprintf(out, "  %zu. %s %s %.1f%% %s", rank, label, hot_words[kind].verb,
			share(own, t->samples[kind]), hot_words[kind].of);
		print_line_share(out, c, &w, own);
		err = print_caller(out, c, w.caller);
	}
	free(label);
	return err;
}

/* The first (up to HOT_MAX) function rows by own samples of `kind`, ties in
 * label order; rows without such samples are left out. */
static size_t top_rows(const struct tally *t, int kind, size_t top[HOT_MAX])
{
	size_t n = 0;

	for (size_t i = 0; i < t->nrows; i++) {
		uint64_t v = t->rows[i].own[kind];
		size_t at;

		if (!v)
			continue;
		at = n < HOT_MAX ? n++ : HOT_MAX; /* HOT_MAX: it goes in only if it beats one */
		for (; at > 0 && t->rows[top[at - 1]].own[kind] < v; at--) {
			if (at < HOT_MAX)
				top[at] = top[at - 1];
		}
		if (at < HOT_MAX)
			top[at] = i;
	}
	return n;
}

static int print_hot_kind(FILE *out, const struct ctx *c, const struct tally *t, long thread,
			  int kind)
{
	const char *title = hot_words[kind].title;
	size_t top[HOT_MAX], n = top_rows(t, kind, top);
	int err = 0;

	if (!t->samples[kind]) {
		fprintf(out, "Hot spots (%s): no %s samples were recorded.\n\n", title, title);
		return 0;
	}
	fprintf(out, "Hot spots (%s, %" PRIu64 " samples):\n", title, t->samples[kind]);
	if (!n)
		fputs("  none: no Python function was running in them.\n", out);
	for (size_t i = 0; i < n && !err; i++)
		err = print_hot_line(out, c, t, thread, kind, top[i], i + 1);
	fputc('\n', out);
	return err;
}

static int print_hot_spots(FILE *out, const struct ctx *c, const struct tally *funcs, long thread)
{
	int err = 0;

	if (c->p->mode != SAMPLE_MODE_OFFCPU)
		err = print_hot_kind(out, c, funcs, thread, CPU);
	if (!err && c->p->mode != SAMPLE_MODE_CPU)
		err = print_hot_kind(out, c, funcs, thread, OFFCPU);
	return err;
}

/* ---- scopes, header, threads ---- */

/* The table and hot spots of the process (ALL_THREADS) or of one thread. */
static int print_scope(FILE *out, const struct ctx *c, long thread)
{
	const struct grouping *g = c->o->lines ? &c->lines : &c->funcs;
	struct tally table, funcs = { 0 };
	struct row_order ro = { .c = c, .g = g, .t = &table };
	int err = tally(c, g, thread, &table);

	if (!err)
		err = tally(c, &c->funcs, thread, &funcs);
	if (!err)
		err = print_table(out, &ro);
	if (!err)
		err = print_hot_spots(out, c, &funcs, thread);
	free(table.rows);
	free(funcs.rows);
	return err;
}

/* Samples of each kind per thread (index nthreads: the whole process), and
 * how many of all were in truncated stacks. Malloc'ed, NULL on ENOMEM. */
static struct kind_counts *count_samples(const struct sample_profile *p, uint64_t *truncated)
{
	struct kind_counts *n = calloc(p->nthreads + 1, sizeof(*n));

	*truncated = 0;
	for (size_t i = 0; n && i < p->nstacks; i++) {
		const struct sample_stack *s = &p->stacks[i];

		add_kinds(n[s->thread].k, s->samples);
		add_kinds(n[p->nthreads].k, s->samples);
		if (s->truncated)
			*truncated += sum(s->samples);
	}
	return n;
}

/* "Sampled profile of PID 1234 (python3) — CPython 3.12.1, shared, /path",
 * the build left out when it is not known. */
static int print_header(FILE *out, const struct sample_profile *p)
{
	char *comm = escaped_ndup(p->comm, sizeof(p->comm));
	char *version = escaped_ndup(p->python_version[0] ? p->python_version : "?",
				     sizeof(p->python_version));
	char *build = escaped_ndup(p->build, sizeof(p->build));
	char *binary = escaped_ndup(p->binary[0] ? p->binary : "unknown binary",
				    sizeof(p->binary));
	int err = -ENOMEM;

	if (comm && version && build && binary) {
		fprintf(out, "Sampled profile of PID %d (%s) " EM_DASH " CPython %s, %s%s%s\n",
			p->pid, comm, version, build, build[0] ? ", " : "", binary);
		err = 0;
	}
	free(comm);
	free(version);
	free(build);
	free(binary);
	return err;
}

static void print_mode_line(FILE *out, const struct sample_profile *p, const uint64_t n[KINDS],
			    uint64_t truncated)
{
	const struct sample_losses *l = &p->losses;

	fprintf(out, "Mode %s at %u Hz for %.3f s: %" PRIu64 " samples recorded (cpu %" PRIu64
		", off-CPU %" PRIu64 "); ", sample_mode_name(p->mode), p->hz, p->wall_seconds,
		sum(n), n[CPU], n[OFFCPU]);
	fprintf(out, "%" PRIu64 " lost: %" PRIu64 " no Python thread state, %" PRIu64
		" unreadable memory, %" PRIu64 " stacks map full, %" PRIu64 " counts map full; ",
		l->no_tstate + l->read_errors + l->stacks_full + l->counts_full, l->no_tstate,
		l->read_errors, l->stacks_full, l->counts_full);
	fprintf(out, "%" PRIu64 " frames unresolved; %" PRIu64 " stacks truncated at %d frames\n",
		l->unresolved, truncated, PYBPF_SAMPLE_DEPTH);
	fprintf(out, "ncalls is not measured when sampling: nsamples and times are estimates "
		"(each sample stands for 1/%u s).\n\n", p->hz);
}

static int print_thread(FILE *out, const struct ctx *c, size_t t, const uint64_t n[KINDS])
{
	const struct sample_thread *th = &c->p->threads[t];
	char *name = escaped_ndup(th->name, sizeof(th->name));

	if (!name)
		return -ENOMEM;
	fprintf(out, "--- Thread %" PRIu32 " \"%s\": %" PRIu64 " samples (cpu %" PRIu64
		", off-CPU %" PRIu64 ") ---\n\n", th->tid, name, sum(n), n[CPU], n[OFFCPU]);
	free(name);
	return print_scope(out, c, (long)t);
}

struct thread_order {
	const struct sample_profile *p;
	const struct kind_counts *n;
};

/* Busiest first; ties by TID, ascending. */
static int thread_cmp(const void *x, const void *y, void *arg)
{
	const struct thread_order *to = arg;
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	uint32_t ta = to->p->threads[a].tid, tb = to->p->threads[b].tid;
	int d = desc(sum(to->n[a].k), sum(to->n[b].k));

	return d ? d : (ta > tb) - (ta < tb);
}

static int print_threads(FILE *out, const struct ctx *c, const struct kind_counts *n)
{
	struct thread_order to = { .p = c->p, .n = n };
	size_t *order = malloc((c->p->nthreads + 1) * sizeof(*order));
	int err = 0;

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < c->p->nthreads; i++)
		order[i] = i;
	qsort_r(order, c->p->nthreads, sizeof(*order), thread_cmp, &to);
	for (size_t i = 0; i < c->p->nthreads && !err; i++) {
		if (sum(n[order[i]].k))
			err = print_thread(out, c, order[i], n[order[i]].k);
	}
	free(order);
	return err;
}

/* Every index the report follows is in range: the report trusts them then. */
static bool profile_consistent(const struct sample_profile *p)
{
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct sample_stack *s = &p->stacks[i];

		if (s->thread >= p->nthreads)
			return false;
		for (size_t j = 0; j < s->nframes; j++) {
			if (s->frames[j] >= p->nframes)
				return false;
		}
	}
	return true;
}

/* The whole process, then with --threads each thread. */
static int print_scopes(FILE *out, const struct ctx *c, const struct kind_counts *n)
{
	int err = print_scope(out, c, ALL_THREADS);

	return !err && c->o->threads ? print_threads(out, c, n) : err;
}

static int print_body(FILE *out, const struct ctx *c)
{
	uint64_t truncated;
	struct kind_counts *n = count_samples(c->p, &truncated);
	int err = n ? print_header(out, c->p) : -ENOMEM;

	if (!err) {
		const uint64_t *all = n[c->p->nthreads].k;

		print_mode_line(out, c->p, all, truncated);
		if (sum(all))
			err = print_scopes(out, c, n);
		else
			fputs("No samples were recorded.\n", out);
	}
	free(n);
	return err;
}

int sreport_print(FILE *out, const struct sample_profile *p, const struct sreport_opts *o)
{
	struct ctx c = { .p = p, .o = o };
	int err;

	if ((unsigned int)o->sort > SREPORT_SORT_LINE || !profile_consistent(p))
		return -EINVAL;
	err = group_frames(p, false, &c.funcs);
	if (!err)
		err = group_frames(p, true, &c.lines);
	if (!err)
		err = print_body(out, &c);
	grouping_free(&c.funcs);
	grouping_free(&c.lines);
	if (!err && ferror(out))
		err = errno > 0 ? -errno : -EIO; /* that of the failed write (callers zero errno) */
	return err;
}
