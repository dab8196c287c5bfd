// SPDX-License-Identifier: GPL-2.0-only
/* flamegraph.pl's collapsed format, one line per distinct stack and kind:
 *
 *	COMM-PID;THREAD-TID[;[truncated]];FUNCTION (FILE:LINE);...[;[off-CPU]] SAMPLES
 *
 * root first. flamegraph.pl splits a line into frames at ';', takes the
 * count from its last blank-separated number, and (for differential input)
 * a second count if what is left also ends in a blank and a number; lines
 * are read up to '\n'. So in every name ';' becomes ',' and each control
 * character (C0, DEL, C1: '\n' and '\r' among them) and each bidi override
 * or isolate (is_invisible_control) and each invalid UTF-8 byte becomes '?', and the
 * stack part always ends in ')', ']' or "-TID", never in a blank and digits:
 * a line always splits into exactly the frames and the one count written. */
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

#define TRUNCATED_FRAME "[truncated]"
#define OFFCPU_FRAME "[off-CPU]"

/* A malloc'ed copy of s safe inside a folded frame (see above), or NULL. */
static char *folded_clean(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	const unsigned char *c = (const unsigned char *)s;

	if (!out)
		return NULL;
	for (; *c; c++) {
		uint32_t cp;
		size_t len = *c >= 0x80 ? utf8_char((const char *)c, &cp) : 0;

		if (*c == ';')
			*o++ = ',';
		else if (*c < 0x20 || *c == 0x7f)
			*o++ = '?';
		else if (len > 1 && is_invisible_control(cp))
			*o++ = '?', c += len - 1; /* C1 controls, bidi overrides */
		else if (*c >= 0x80 && !len)
			*o++ = '?'; /* invalid UTF-8: a lone 0x9b is CSI to some terminals */
		else if (len > 1)
			memcpy(o, c, len), o += len, c += len - 1;
		else
			*o++ = (char)*c;
	}
	*o = '\0';
	return out;
}

/* "NAME-ID", cleaned ("FALLBACK-ID" for an empty name, which the thread of
 * a target that could not be read has); NULL on ENOMEM. */
static char *named_id(const char *name, const char *fallback, unsigned long id)
{
	char *clean = folded_clean(name && *name ? name : fallback), *out = NULL;

	if (clean && asprintf(&out, "%s-%lu", clean, id) < 0)
		out = NULL;
	free(clean);
	return out;
}

/* "FUNCTION (FILE:LINE)", cleaned, the running line or else the first. */
static char *frame_label(const struct sample_frame *f)
{
	char *name = folded_clean(f->name), *file = folded_clean(f->filename), *out = NULL;

	if (name && file &&
	    asprintf(&out, "%s (%s:%d)", name, file, f->line ? f->line : f->firstlineno) < 0)
		out = NULL;
	free(name);
	free(file);
	return out;
}

struct folded {
	char *process;  /* COMM-PID */
	char **threads; /* THREAD-TID by thread index */
	char **frames;  /* label by frame index */
	size_t nthreads, nframes;
};

static void folded_free(struct folded *fo)
{
	for (size_t i = 0; i < fo->nthreads; i++)
		free(fo->threads[i]);
	for (size_t i = 0; i < fo->nframes; i++)
		free(fo->frames[i]);
	free(fo->threads);
	free(fo->frames);
	free(fo->process);
}

/* Every label, cleaned once: a frame is in many lines. 0 or -ENOMEM. */
static int folded_labels(struct folded *fo, const struct sample_profile *p)
{
	char *comm = utf8_sanitize(p->comm);

	memset(fo, 0, sizeof(*fo));
	fo->process = comm ? named_id(comm, "process", (unsigned long)p->pid) : NULL;
	free(comm);
	fo->threads = calloc(p->nthreads + 1, sizeof(*fo->threads));
	fo->frames = calloc(p->nframes + 1, sizeof(*fo->frames));
	if (!fo->process || !fo->threads || !fo->frames)
		return -ENOMEM;
	for (; fo->nthreads < p->nthreads; fo->nthreads++) {
		const struct sample_thread *t = &p->threads[fo->nthreads];

		fo->threads[fo->nthreads] = named_id(t->name, "thread", t->tid);
		if (!fo->threads[fo->nthreads])
			return -ENOMEM;
	}
	for (; fo->nframes < p->nframes; fo->nframes++) {
		fo->frames[fo->nframes] = frame_label(&p->frames[fo->nframes]);
		if (!fo->frames[fo->nframes])
			return -ENOMEM;
	}
	return 0;
}

static void put_frame(struct sink *out, const char *label)
{
	sink_put(out, ";");
	sink_put(out, label);
}

static void put_line(struct sink *out, const struct folded *fo, const struct sample_stack *s,
		     int kind)
{
	char count[32];

	sink_put(out, fo->process);
	put_frame(out, fo->threads[s->thread]);
	if (s->truncated)
		put_frame(out, TRUNCATED_FRAME);
	for (size_t i = 0; i < s->nframes; i++)
		put_frame(out, fo->frames[s->frames[i]]);
	if (kind == PYBPF_SAMPLE_OFFCPU)
		put_frame(out, OFFCPU_FRAME);
	snprintf(count, sizeof(count), " %" PRIu64 "\n", s->samples[kind]);
	sink_put(out, count);
}

static int write_folded(FILE *f, const struct sample_profile *p)
{
	size_t *order = sample_profile_stacks_by_thread(p);
	struct sink out = { .f = f };
	struct folded fo;

	out.err = order ? folded_labels(&fo, p) : -ENOMEM;
	for (size_t i = 0; i < p->nstacks && !out.err; i++) {
		const struct sample_stack *s = &p->stacks[order[i]];

		for (int kind = 0; kind < PYBPF_SAMPLE_KINDS; kind++) {
			if (s->samples[kind])
				put_line(&out, &fo, s, kind);
		}
	}
	if (order)
		folded_free(&fo);
	free(order);
	return out.err;
}

const struct sample_writer output_folded = {
	.format = "folded",
	.write = write_folded,
};
