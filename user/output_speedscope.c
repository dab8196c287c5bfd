// SPDX-License-Identifier: GPL-2.0-only
/* speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * the distinct frames once in shared.frames, then one "sampled" profile per
 * thread with samples, each sample a stack of frame indices, root first,
 * weighted by the nanoseconds its samples stand for. An off-CPU stack ends
 * in an "[off-CPU]" frame, a truncated one starts with "[truncated]". */
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

#define SPEEDSCOPE_SCHEMA "https://www.speedscope.app/file-format-schema.json"
#define TRUNCATED_FRAME "[truncated]"
#define OFFCPU_FRAME "[off-CPU]"
#define NO_FRAME SIZE_MAX

static void put_u64(struct sink *out, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	sink_put(out, buf);
}

static void put_escaped(struct sink *out, const char *s)
{
	char esc[8];

	for (const unsigned char *c = (const unsigned char *)s; *c && !out->err; c++) {
		uint32_t cp;
		size_t len = *c >= 0x80 ? utf8_char((const char *)c, &cp) : 0;

		if (len > 1 && is_invisible_control(cp)) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned int)cp);
			c += len - 1; /* shown as what it is, never acted on by a viewer */
		} else if (*c == '"' || *c == '\\') {
			esc[0] = '\\', esc[1] = (char)*c, esc[2] = '\0';
		} else if (*c < 0x20 || *c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *c);
		} else {
			sink_putc(out, (char)*c);
			continue;
		}
		sink_put(out, esc);
	}
}

/* s as a JSON string: made valid UTF-8 (JSON requires it), then escaped. */
static void put_string(struct sink *out, const char *s)
{
	char *utf8 = utf8_sanitize(s);

	if (!utf8) {
		if (!out->err)
			out->err = -ENOMEM;
		return;
	}
	sink_put(out, "\"");
	put_escaped(out, utf8);
	sink_put(out, "\"");
	free(utf8);
}

/* The pseudo-frames' indices, after the real ones, NO_FRAME when unused. */
struct pseudo_frames {
	size_t truncated, offcpu;
};

static struct pseudo_frames pseudo_frames_of(const struct sample_profile *p)
{
	struct pseudo_frames pf = { NO_FRAME, NO_FRAME };
	bool truncated = false, offcpu = false;

	for (size_t i = 0; i < p->nstacks; i++) {
		const struct sample_stack *s = &p->stacks[i];

		truncated |= s->truncated && (s->samples[PYBPF_SAMPLE_CPU] ||
					      s->samples[PYBPF_SAMPLE_OFFCPU]);
		offcpu |= s->samples[PYBPF_SAMPLE_OFFCPU] != 0;
	}
	if (truncated)
		pf.truncated = p->nframes;
	if (offcpu)
		pf.offcpu = p->nframes + truncated;
	return pf;
}

static void put_frame(struct sink *out, const char *name, const char *file, int32_t line,
		      bool first)
{
	char buf[24];

	sink_put(out, first ? "\n{\"name\":" : ",\n{\"name\":");
	put_string(out, name);
	if (file) {
		sink_put(out, ",\"file\":");
		put_string(out, file);
		snprintf(buf, sizeof(buf), ",\"line\":%" PRId32, line);
		sink_put(out, buf);
	}
	sink_put(out, "}");
}

static void put_shared_frames(struct sink *out, const struct sample_profile *p,
			      const struct pseudo_frames *pf)
{
	sink_put(out, "\"shared\":{\"frames\":[");
	for (size_t i = 0; i < p->nframes; i++) {
		const struct sample_frame *f = &p->frames[i];

		put_frame(out, f->name, f->filename, f->line ? f->line : f->firstlineno, i == 0);
	}
	if (pf->truncated != NO_FRAME)
		put_frame(out, TRUNCATED_FRAME, NULL, 0, pf->truncated == 0);
	if (pf->offcpu != NO_FRAME)
		put_frame(out, OFFCPU_FRAME, NULL, 0, pf->offcpu == 0);
	sink_put(out, "]},\n");
}

/* One sample: the stack's frame indices, root first, pseudo-frames included. */
static void put_sample(struct sink *out, const struct sample_stack *s, int kind,
		       const struct pseudo_frames *pf, bool first)
{
	bool sep = false;

	sink_put(out, first ? "\n[" : ",\n[");
	if (s->truncated) {
		put_u64(out, pf->truncated);
		sep = true;
	}
	for (size_t i = 0; i < s->nframes; i++, sep = true) {
		if (sep)
			sink_put(out, ",");
		put_u64(out, s->frames[i]);
	}
	if (kind == PYBPF_SAMPLE_OFFCPU) {
		if (sep)
			sink_put(out, ",");
		put_u64(out, pf->offcpu);
	}
	sink_put(out, "]");
}

/* One thread and its stacks: n indices in p->stacks, from order. */
struct thread_stacks {
	const struct sample_thread *thread;
	const size_t *order;
	size_t n;
};

/* A walk over a thread's samples, a (stack, kind) with samples at a time, in order. */
struct sample_walk {
	const struct sample_profile *p;
	const struct thread_stacks *ts;
	size_t i;			/* in ts->order */
	int kind;			/* -1 before the first */
	const struct sample_stack *s;	/* the current stack */
};

static struct sample_walk walk_start(const struct sample_profile *p,
				     const struct thread_stacks *ts)
{
	return (struct sample_walk){ .p = p, .ts = ts, .kind = -1 };
}

/* Moves to the next sample; false at the end. */
static bool walk_next(struct sample_walk *w)
{
	w->kind++;
	for (; w->i < w->ts->n; w->i++, w->kind = 0) {
		w->s = &w->p->stacks[w->ts->order[w->i]];
		for (; w->kind < PYBPF_SAMPLE_KINDS; w->kind++) {
			if (w->s->samples[w->kind])
				return true;
		}
	}
	return false;
}

static uint64_t thread_weight(const struct sample_profile *p, const struct thread_stacks *ts)
{
	struct sample_walk w = walk_start(p, ts);
	uint64_t total = 0;

	while (walk_next(&w))
		total += w.s->ns[w.kind];
	return total;
}

static void put_weights(struct sink *out, const struct sample_profile *p,
			const struct thread_stacks *ts)
{
	struct sample_walk w = walk_start(p, ts);
	bool first = true;

	sink_put(out, "],\n\"weights\":[");
	while (walk_next(&w)) {
		if (!first)
			sink_put(out, ",");
		put_u64(out, w.s->ns[w.kind]);
		first = false;
	}
	sink_put(out, "]}");
}

static void put_profile(struct sink *out, const struct sample_profile *p,
			const struct thread_stacks *ts, const struct pseudo_frames *pf)
{
	char name[sizeof(ts->thread->name) + 16];
	struct sample_walk w = walk_start(p, ts);
	bool first = true;

	snprintf(name, sizeof(name), "%s (%" PRIu32 ")", ts->thread->name, ts->thread->tid);
	sink_put(out, "{\"type\":\"sampled\",\"name\":");
	put_string(out, name);
	sink_put(out, ",\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":");
	put_u64(out, thread_weight(p, ts));
	sink_put(out, ",\n\"samples\":[");
	while (walk_next(&w)) {
		put_sample(out, w.s, w.kind, pf, first);
		first = false;
	}
	put_weights(out, p, ts);
}

static bool has_samples(const struct sample_stack *s)
{
	for (int kind = 0; kind < PYBPF_SAMPLE_KINDS; kind++) {
		if (s->samples[kind])
			return true;
	}
	return false;
}

/* One profile per thread, in thread order; a thread with no sample has none. */
static void put_profiles(struct sink *out, const struct sample_profile *p, const size_t *order,
			 const struct pseudo_frames *pf)
{
	bool first = true;
	size_t i = 0;

	sink_put(out, "\"profiles\":[");
	while (i < p->nstacks) {
		struct thread_stacks ts = { &p->threads[p->stacks[order[i]].thread], &order[i], 0 };
		bool any = false;

		for (; i < p->nstacks && &p->threads[p->stacks[order[i]].thread] == ts.thread; i++) {
			any |= has_samples(&p->stacks[order[i]]);
			ts.n++;
		}
		if (!any)
			continue;
		sink_put(out, first ? "\n" : ",\n");
		put_profile(out, p, &ts, pf);
		first = false;
	}
	sink_put(out, "]}\n");
}

static int write_speedscope(FILE *f, const struct sample_profile *p)
{
	size_t *order = sample_profile_stacks_by_thread(p);
	struct pseudo_frames pf = pseudo_frames_of(p);
	struct sink out = { .f = f };
	char name[sizeof(p->comm) + 16];

	if (!order)
		return -ENOMEM;
	snprintf(name, sizeof(name), "%.*s %d", (int)sizeof(p->comm) - 1, p->comm, p->pid);
	sink_put(&out, "{\"$schema\":\"" SPEEDSCOPE_SCHEMA "\",\n\"name\":");
	put_string(&out, name);
	sink_put(&out, ",\n\"exporter\":\"pybpf-prof\",\n");
	put_shared_frames(&out, p, &pf);
	put_profiles(&out, p, order, &pf);
	free(order);
	return out.err;
}

const struct sample_writer output_speedscope = {
	.format = "speedscope",
	.write = write_speedscope,
};
