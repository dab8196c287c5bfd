/* SPDX-License-Identifier: GPL-2.0-only */
/* Profile files written from a sampled profile: one small interface, one
 * file per format (output_folded.c, output_flamegraph.c, output_speedscope.c). */
#ifndef PYBPF_OUTPUT_H
#define PYBPF_OUTPUT_H

#include <stdio.h>

#include "sampleprof.h"

struct sample_writer {
	const char *format; /* "folded", "flamegraph", "speedscope" */
	/* Writes the whole file to f. 0, or -errno (the caller reports it). */
	int (*write)(FILE *f, const struct sample_profile *p);
};

extern const struct sample_writer output_folded;
extern const struct sample_writer output_flamegraph;
extern const struct sample_writer output_speedscope;

/* An output stream and its first error: writing stops there. */
struct sink {
	FILE *f;
	int err; /* 0 or a negative errno */
};

/* Writes s (or c) to out->f unless an earlier write failed; a failure is kept in out->err. */
void sink_put(struct sink *out, const char *s);
void sink_putc(struct sink *out, char c);

/* After writing to f with stdio (errno set to 0 before the first write):
 * 0 if all of it reached f, else -errno of the failed write (stdio keeps
 * only a flag; the errno of its failed write() is still there), -EIO if
 * stdio left none. Flushes f. */
int output_stream_error(FILE *f);

/* The error of printing a report to f: the stream's (output_stream_error),
 * else print_err (a negative errno, or -1 for EIO); positive, or 0. */
int output_print_error(FILE *f, int print_err);

/* Writes the whole file to f: 0, or -errno. */
typedef int (*output_write_fn)(FILE *f, const void *arg);

/* Writes path with write(f, arg): complete, or -errno with nothing left but
 * what could be written (a partial file is removed). A regular file is
 * replaced by rename from a synced temporary file beside it; a device or
 * FIFO is written in place. */
int output_write_atomic(const char *path, output_write_fn write, const void *arg);

/* Writes p to path with w: complete, or -errno with nothing left but
 * what could be written (a partial file is removed). */
int output_write_file(const struct sample_writer *w, const struct sample_profile *p,
		      const char *path);

#endif
