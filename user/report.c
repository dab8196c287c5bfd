// SPDX-License-Identifier: GPL-2.0-only
/* The text report: pstats' print_stats block, reproduced from an in-memory
 * profile so that it reads exactly like `python -m pstats` on our dump. */
#include "report.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "latency.h"
#include "log.h"
#include "strutil.h"

#define HOT_MAX 3		/* functions listed per hot-spot kind */
#define HOT_MIN_SHARE 0.05	/* below this share a function is not a hot spot */
#define LATENCY_DEFAULT 10	/* histograms printed when there is no --limit */

static const struct {
	const char *word;
	enum pybpf_sort sort;
} sort_words[] = {
	{ "calls", PYBPF_SORT_CALLS },
	{ "ncalls", PYBPF_SORT_CALLS },
	{ "cumulative", PYBPF_SORT_CUMULATIVE },
	{ "cumtime", PYBPF_SORT_CUMULATIVE },
	{ "filename", PYBPF_SORT_FILENAME },
	{ "file", PYBPF_SORT_FILENAME },
	{ "module", PYBPF_SORT_FILENAME },
	{ "line", PYBPF_SORT_LINE },
	{ "name", PYBPF_SORT_NAME },
	{ "nfl", PYBPF_SORT_NFL },
	{ "pcalls", PYBPF_SORT_PCALLS },
	{ "stdname", PYBPF_SORT_STDNAME },
	{ "time", PYBPF_SORT_TIME },
	{ "tottime", PYBPF_SORT_TIME },
	{ "offcpu", PYBPF_SORT_OFFCPU },
};

static const char *const sort_titles[] = {
	[PYBPF_SORT_CALLS] = "call count",
	[PYBPF_SORT_CUMULATIVE] = "cumulative time",
	[PYBPF_SORT_FILENAME] = "file name",
	[PYBPF_SORT_LINE] = "line number",
	[PYBPF_SORT_NAME] = "function name",
	[PYBPF_SORT_NFL] = "name/file/line",
	[PYBPF_SORT_PCALLS] = "primitive call count",
	[PYBPF_SORT_STDNAME] = "standard name",
	[PYBPF_SORT_TIME] = "internal time",
	[PYBPF_SORT_OFFCPU] = "off-CPU time",
};

int report_parse_sort(const char *key, enum pybpf_sort *out)
{
	for (size_t i = 0; i < sizeof(sort_words) / sizeof(sort_words[0]); i++) {
		if (!strcmp(key, sort_words[i].word)) {
			*out = sort_words[i].sort;
			return 0;
		}
	}
	return -1;
}

const char *report_sort_title(enum pybpf_sort sort)
{
	if ((unsigned int)sort >= sizeof(sort_titles) / sizeof(sort_titles[0]))
		return "unknown";
	return sort_titles[sort];
}

/* The float pstats reads for a time: the dump stores ns / 1e9 as a double. */
static double ns_to_s(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* pstats' func_std_string: "file:line(name)", or the built-in form for
 * ('~', 0, name) labels. Malloc'ed, NULL on ENOMEM. */
static char *std_string(const struct pybpf_func *f)
{
	const char *name = f->name;
	size_t len = strlen(name);
	char *s;

	if (strcmp(f->filename, "~") || f->firstlineno != 0) {
		if (asprintf(&s, "%s:%" PRId32 "(%s)", f->filename, f->firstlineno, name) < 0)
			return NULL;
		return s;
	}
	if (len >= 2 && name[0] == '<' && name[len - 1] == '>') {
		if (asprintf(&s, "{%.*s}", (int)(len - 2), name + 1) < 0)
			return NULL;
		return s;
	}
	return strdup(name);
}

/* The label as printed in the table, escaped for the terminal. */
static char *label_for_print(const struct pybpf_func *f)
{
	char *std = std_string(f), *esc;

	if (!std)
		return NULL;
	esc = escaped_dup(std);
	free(std);
	return esc;
}

struct order_ctx {
	const struct pybpf_profile *p;
	enum pybpf_sort sort;
	char **std; /* stdname strings, built only for PYBPF_SORT_STDNAME */
};

/* TupleComp's directions: counts and times descend, strings and lines
 * ascend (offcpu, not a pstats key, descends like the times). */
static int desc_u64(uint64_t l, uint64_t r)
{
	return (l < r) - (l > r);
}

static int desc_time(uint64_t l_ns, uint64_t r_ns)
{
	double l = ns_to_s(l_ns), r = ns_to_s(r_ns);

	return (l < r) - (l > r);
}

static int asc_int(int32_t l, int32_t r)
{
	return (l > r) - (l < r);
}

/* strcmp compares as unsigned char: UTF-8 byte order is code point order,
 * which is how Python compares str. */
static int asc_str(const char *l, const char *r)
{
	int c = strcmp(l, r);

	return (c > 0) - (c < 0);
}

static int compare_funcs(const struct order_ctx *c, size_t a, size_t b)
{
	const struct pybpf_func *l = &c->p->funcs[a], *r = &c->p->funcs[b];
	int d;

	switch (c->sort) {
	case PYBPF_SORT_CALLS:
		return desc_u64(l->st.ncalls, r->st.ncalls);
	case PYBPF_SORT_PCALLS:
		return desc_u64(l->st.pcalls, r->st.pcalls);
	case PYBPF_SORT_CUMULATIVE:
		return desc_time(l->st.cumtime_ns, r->st.cumtime_ns);
	case PYBPF_SORT_TIME:
		return desc_time(l->st.tottime_ns, r->st.tottime_ns);
	case PYBPF_SORT_OFFCPU:
		return desc_time(l->st.offcpu_ns, r->st.offcpu_ns);
	case PYBPF_SORT_FILENAME:
		return asc_str(l->filename, r->filename);
	case PYBPF_SORT_LINE:
		return asc_int(l->firstlineno, r->firstlineno);
	case PYBPF_SORT_NAME:
		return asc_str(l->name, r->name);
	case PYBPF_SORT_NFL:
		d = asc_str(l->name, r->name);
		if (!d)
			d = asc_str(l->filename, r->filename);
		return d ? d : asc_int(l->firstlineno, r->firstlineno);
	case PYBPF_SORT_STDNAME:
		return asc_str(c->std[a], c->std[b]);
	}
	return 0;
}

static int order_cmp(const void *x, const void *y, void *arg)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int d = compare_funcs(arg, a, b);

	/* Ties keep dict (insertion) order, as Python's stable sort does. */
	return d ? d : (a > b) - (a < b);
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static char **std_strings(const struct pybpf_profile *p)
{
	char **v = calloc(p->nfuncs, sizeof(*v));

	for (size_t i = 0; v && i < p->nfuncs; i++) {
		v[i] = std_string(&p->funcs[i]);
		if (!v[i]) {
			free_strings(v, i);
			return NULL;
		}
	}
	return v;
}

size_t *report_order(const struct pybpf_profile *p, enum pybpf_sort sort)
{
	struct order_ctx ctx = { .p = p, .sort = sort };
	size_t *order;

	if (!p->nfuncs)
		return NULL;
	order = malloc(p->nfuncs * sizeof(*order));
	if (!order)
		return NULL;
	if (sort == PYBPF_SORT_STDNAME) {
		ctx.std = std_strings(p);
		if (!ctx.std) {
			free(order);
			return NULL;
		}
	}
	for (size_t i = 0; i < p->nfuncs; i++)
		order[i] = i;
	qsort_r(order, p->nfuncs, sizeof(*order), order_cmp, &ctx);
	free_strings(ctx.std, p->nfuncs);
	return order;
}

/* "Profile of PID 1234: CPython 3.12.1 (shared, /usr/lib/...), backend
 * evalframe, 2.345 s traced", the build left out when it is not known. */
static int print_header(FILE *out, const struct pybpf_profile *p)
{
	char build[sizeof(p->build)] = "";
	char *version = escaped_dup(p->python_version[0] ? p->python_version : "?");
	char *binary = escaped_dup(p->binary[0] ? p->binary : "unknown binary");
	char *backend = escaped_dup(p->backend[0] ? p->backend : "unknown");
	char *kind;
	int ret = -1;

	memcpy(build, p->build, sizeof(build) - 1); /* terminated even if p's is not */
	kind = escaped_dup(build);
	if (version && binary && backend && kind) {
		fprintf(out, "Profile of PID %d: CPython %s (%s%s%s), backend %s, %.3f s traced\n\n",
			p->pid, version, kind, kind[0] ? ", " : "", binary, backend,
			p->wall_seconds);
		ret = 0;
	}
	free(version);
	free(binary);
	free(backend);
	free(kind);
	return ret;
}

/* pstats' ncalls column text: "nc", or "nc/cc" for recursive functions. */
static void format_calls(char *buf, size_t n, const struct pybpf_stats *st)
{
	if (st->ncalls == st->pcalls)
		snprintf(buf, n, "%" PRIu64, st->ncalls);
	else
		snprintf(buf, n, "%" PRIu64 "/%" PRIu64, st->ncalls, st->pcalls);
}

static void print_percall(FILE *out, double seconds, uint64_t calls)
{
	if (calls)
		fprintf(out, "%8.3f ", seconds / (double)calls);
	else
		fprintf(out, "%8s ", "");
}

/* One row as pstats' print_line writes it, with the off-CPU seconds in
 * pstats' f8 format before the label. */
static int print_row(FILE *out, const struct pybpf_func *f)
{
	char calls[48];
	char *label = label_for_print(f);
	double tt = ns_to_s(f->st.tottime_ns), ct = ns_to_s(f->st.cumtime_ns);

	if (!label)
		return -1;
	format_calls(calls, sizeof(calls), &f->st);
	fprintf(out, "%9s %8.3f ", calls, tt);
	print_percall(out, tt, f->st.ncalls);
	fprintf(out, "%8.3f ", ct);
	print_percall(out, ct, f->st.pcalls);
	fprintf(out, "%8.3f %s\n", ns_to_s(f->st.offcpu_ns), label);
	free(label);
	return 0;
}

/* pstats' total_tt: a float sum in dict order, so rounding matches too. */
static double total_tt_seconds(const struct pybpf_profile *p)
{
	double s = 0;

	for (size_t i = 0; i < p->nfuncs; i++)
		s += ns_to_s(p->funcs[i].st.tottime_ns);
	return s;
}

static void print_totals(FILE *out, const struct pybpf_profile *p)
{
	uint64_t calls = profile_total_calls(p), prim = profile_prim_calls(p);

	fprintf(out, "         %" PRIu64 " function calls ", calls);
	if (calls != prim)
		fprintf(out, "(%" PRIu64 " primitive calls) ", prim);
	fprintf(out, "in %.3f seconds\n\n", total_tt_seconds(p));
}

static int print_rows(FILE *out, const struct pybpf_profile *p, const size_t *order, size_t rows)
{
	fputs("   ncalls  tottime  percall  cumtime  percall   offcpu filename:lineno(function)\n",
	      out);
	for (size_t i = 0; i < rows; i++) {
		if (print_row(out, &p->funcs[order[i]]))
			return -1;
	}
	fputs("\n\n", out);
	return 0;
}

/* What pstats' print_stats(limit) writes after its list of files. */
static int print_table(FILE *out, const struct pybpf_profile *p, enum pybpf_sort sort, long limit)
{
	size_t rows = p->nfuncs, *order;
	int ret;

	print_totals(out, p);
	if (limit >= 0 && (unsigned long)limit < rows)
		rows = (size_t)limit;
	if (!rows)
		return 0; /* pstats prints nothing more for an empty list */
	order = report_order(p, sort);
	if (!order)
		return -1;
	fprintf(out, "   Ordered by: %s\n", report_sort_title(sort));
	if (rows < p->nfuncs)
		fprintf(out, "   List reduced from %zu to %zu due to restriction <%ld>\n",
			p->nfuncs, rows, limit);
	fputc('\n', out);
	ret = print_rows(out, p, order, rows);
	free(order);
	return ret;
}

static const struct {
	size_t offset;
	const char *one, *many;
} loss_texts[] = {
#define LOSS(field, one, many) { offsetof(struct pybpf_losses, field), one, many }
	LOSS(unpaired_returns, "return had no traced call (the call began before attach)",
	     "returns had no traced call (the call began before attach)"),
	LOSS(unpaired_calls, "call was dropped: its return was never seen",
	     "calls were dropped: their return was never seen"),
	LOSS(depth_overflow, "call was deeper than the BPF shadow stack (256 calls) and not counted",
	     "calls were deeper than the BPF shadow stack (256 calls) and not counted"),
	LOSS(funcs_map_full, "call was not counted: the function map was full",
	     "calls were not counted: the function map was full"),
	LOSS(pairs_map_full, "caller/callee figure was lost: the pair map was full",
	     "caller/callee figures were lost: the pair map was full"),
	LOSS(stacks_map_full, "call was not traced: the thread map was full",
	     "calls were not traced: the thread map was full"),
	LOSS(read_errors, "read of target memory failed", "reads of target memory failed"),
	LOSS(still_running,
	     "call was still active at detach (counted up to detach, as cProfile does)",
	     "calls were still active at detach (counted up to detach, as cProfile does)"),
	LOSS(untimed_throws,
	     "generator resume by throw() was counted with no time (3.15 fires no entry probe)",
	     "generator resumes by throw() were counted with no time (3.15 fires no entry probe)"),
	LOSS(norets_closed,
	     "call was nested deeper than the kernel's 64 pending return probes per thread "
	     "(counted exactly, its end time taken at the next event)",
	     "calls were nested deeper than the kernel's 64 pending return probes per thread "
	     "(counted exactly, their end time taken at the next event)"),
	LOSS(untimed_inits,
	     "__init__ call run inline by 3.13's specialized class call (past the eval-frame "
	     "hook) was counted with no time: it is in its caller's own time",
	     "__init__ calls run inline by 3.13's specialized class call (past the eval-frame "
	     "hook) were counted with no time: it is in their callers' own time"),
	LOSS(latency_map_full,
	     "call duration was left out of the --latency histograms: their map was full",
	     "call durations were left out of the --latency histograms: their map was full"),
	LOSS(unnamed_funcs,
	     "function was counted but its name was not kept (the name map was full): "
	     "shown as <unknown>",
	     "functions were counted but their names were not kept (the name map was full): "
	     "shown as <unknown>"),
#undef LOSS
};

static uint64_t loss_count(const struct pybpf_losses *l, size_t i)
{
	uint64_t v;

	memcpy(&v, (const char *)l + loss_texts[i].offset, sizeof(v));
	return v;
}

static void print_losses(FILE *out, const struct pybpf_losses *l)
{
	const size_t n = sizeof(loss_texts) / sizeof(loss_texts[0]);
	int any = 0;

	for (size_t i = 0; i < n; i++)
		any |= loss_count(l, i) != 0;
	if (!any)
		return;
	fputs("Events not counted exactly:\n", out);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = loss_count(l, i);
		if (v)
			fprintf(out, "  %" PRIu64 " %s\n", v,
				v == 1 ? loss_texts[i].one : loss_texts[i].many);
	}
	fputc('\n', out);
}

/* A duration in the unit that keeps it readable. */
static void format_duration(char *buf, size_t n, double s)
{
	if (s < 1e-6)
		snprintf(buf, n, "%.0f ns", s * 1e9);
	else if (s < 1e-3)
		snprintf(buf, n, "%.1f \xc2\xb5s", s * 1e6);
	else if (s < 1)
		snprintf(buf, n, "%.1f ms", s * 1e3);
	else
		snprintf(buf, n, "%.2f s", s);
}

/* One function's histogram: a title line, then its buckets. */
static int print_latency_one(FILE *out, const struct pybpf_func *f)
{
	uint64_t n = latency_count(f->latency);
	char *label = label_for_print(f), p50[32], p99[32];
	double v50, v99;
	int r50, r99;

	if (!label)
		return -1;
	r50 = latency_percentile(f->latency, 50, &v50);
	r99 = latency_percentile(f->latency, 99, &v99);
	latency_format_ns(p50, sizeof(p50), v50);
	latency_format_ns(p99, sizeof(p99), v99);
	fprintf(out, "  %s  %" PRIu64 " call%s, p50 %s%s, p99 %s%s\n", label, n, n == 1 ? "" : "s",
		r50 == 1 ? ">= " : "", p50, r99 == 1 ? ">= " : "", p99);
	latency_print_hist(out, f->latency, "    ");
	free(label);
	return 0;
}

/* --latency: the first `limit` functions of the table that have a histogram. */
static int print_latency(FILE *out, const struct pybpf_profile *p, enum pybpf_sort sort,
			 long limit)
{
	size_t want = limit < 0 ? LATENCY_DEFAULT : (size_t)limit, done = 0, *order;

	if (!want)
		return 0;
	order = report_order(p, sort);
	if (!order && p->nfuncs)
		return -1;
	for (size_t i = 0; i < p->nfuncs && done < want; i++) {
		const struct pybpf_func *f = &p->funcs[order[i]];

		if (!f->latency || !latency_count(f->latency))
			continue;
		if (!done)
			fputs("Latency per call (each call, recursion included; percentiles "
			      "interpolated in log2 buckets):\n", out);
		else
			fputc('\n', out);
		if (print_latency_one(out, f)) {
			free(order);
			return -1;
		}
		done++;
	}
	free(order);
	fputs(done ? "\n" : "Latency per call: no call ended while tracing\n\n", out);
	return 0;
}

/* "  61.3%  file:line(name)  1000 calls, 1.2 µs per call" */
static int print_hot_line(FILE *out, const struct pybpf_func *f, double share, double seconds,
			  uint64_t per)
{
	char calls[48], dur[48];
	char *label = label_for_print(f);

	if (!label)
		return -1;
	format_calls(calls, sizeof(calls), &f->st);
	fprintf(out, "    %5.1f%%  %s  %s call%s", share * 100, label, calls,
		f->st.ncalls == 1 && f->st.pcalls == 1 ? "" : "s");
	if (per) {
		format_duration(dur, sizeof(dur), seconds / (double)per);
		fprintf(out, ", %s per call", dur);
	}
	fputc('\n', out);
	free(label);
	return 0;
}

/* Leading entries of `order` whose time is at least HOT_MIN_SHARE of total. */
static size_t hot_count(const struct pybpf_profile *p, const size_t *order, int cumulative,
			double total)
{
	size_t n = 0;

	while (total > 0 && n < HOT_MAX && n < p->nfuncs) {
		const struct pybpf_stats *st = &p->funcs[order[n]].st;
		double t = ns_to_s(cumulative ? st->cumtime_ns : st->tottime_ns);
		if (t / total < HOT_MIN_SHARE)
			break;
		n++;
	}
	return n;
}

static int print_hot_own(FILE *out, const struct pybpf_profile *p, const size_t *order, size_t n,
			 double total)
{
	if (!n)
		return 0;
	fprintf(out, "  Own time (share of %.3f s in all functions):\n", total);
	for (size_t i = 0; i < n; i++) {
		const struct pybpf_func *f = &p->funcs[order[i]];
		double tt = ns_to_s(f->st.tottime_ns);
		if (print_hot_line(out, f, tt / total, tt, f->st.ncalls))
			return -1;
	}
	return 0;
}

static int print_hot_cum(FILE *out, const struct pybpf_profile *p, const size_t *order, size_t n,
			 double total)
{
	if (!n)
		return 0;
	/* Threads overlap, so the top cumtime can exceed the wall time. */
	if (total > p->wall_seconds)
		fprintf(out, "  Cumulative time (share of the largest, %.3f s):\n", total);
	else
		fprintf(out, "  Cumulative time (share of %.3f s traced):\n", total);
	for (size_t i = 0; i < n; i++) {
		const struct pybpf_func *f = &p->funcs[order[i]];
		double ct = ns_to_s(f->st.cumtime_ns);
		if (print_hot_line(out, f, ct / total, ct, f->st.pcalls))
			return -1;
	}
	return 0;
}

static int print_hot_spots(FILE *out, const struct pybpf_profile *p)
{
	size_t *by_tt, *by_ct, n_tt, n_ct;
	double total_tt = total_tt_seconds(p), total_ct;
	int ret = -1;

	if (!profile_total_calls(p))
		return 0;
	by_tt = report_order(p, PYBPF_SORT_TIME);
	by_ct = report_order(p, PYBPF_SORT_CUMULATIVE);
	if (!by_tt || !by_ct)
		goto out;
	total_ct = ns_to_s(p->funcs[by_ct[0]].st.cumtime_ns);
	if (total_ct < p->wall_seconds)
		total_ct = p->wall_seconds;
	n_tt = hot_count(p, by_tt, 0, total_tt);
	n_ct = hot_count(p, by_ct, 1, total_ct);
	ret = 0;
	if (n_tt || n_ct) {
		fputs("Hot spots:\n", out);
		if (print_hot_own(out, p, by_tt, n_tt, total_tt) ||
		    print_hot_cum(out, p, by_ct, n_ct, total_ct))
			ret = -1;
	}
out:
	free(by_tt);
	free(by_ct);
	return ret;
}

int report_print(FILE *out, const struct pybpf_profile *p, enum pybpf_sort sort, long limit,
		 bool latency)
{
	if (print_header(out, p) || print_table(out, p, sort, limit) ||
	    (latency && print_latency(out, p, sort, limit)))
		return -1;
	print_losses(out, &p->losses);
	if (p->known_gap[0])
		fprintf(out, "Known gap: %s\n\n", p->known_gap);
	return print_hot_spots(out, p);
}

void report_warn_unread(const struct pybpf_profile *p)
{
	if (profile_mostly_unread(p))
		pybpf_warn("PID %d: most events could not read the target's memory (%llu failed "
			   "reads, %llu calls counted): its CPython %s is not laid out as expected, "
			   "so the table is mostly empty (hint: report the interpreter's build)",
			   p->pid, (unsigned long long)p->losses.read_errors,
			   (unsigned long long)profile_total_calls(p), p->python_version);
}
