/* SPDX-License-Identifier: GPL-2.0-only */
/* A progress line on stderr during a run, on a terminal only: redrawn in
 * place ("\r" + text + erase to end of line), erased before any warning
 * (pybpf_warn) and at the end. Never written when the stream is not a
 * terminal. One progress line at a time. */
#ifndef PYBPF_PROGRESS_H
#define PYBPF_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct progress {
	FILE *f;
	bool active; /* f is a terminal */
	bool shown;  /* a line is on the screen */
};

/* Active when f is a terminal; then pybpf_warn erases the line first. */
void progress_init(struct progress *p, FILE *f);
/* Draws text over the previous line (cut to the terminal's width). */
void progress_show(struct progress *p, const char *text);
/* Erases the line if one is shown. */
void progress_clear(struct progress *p);
/* Erases the line and detaches from pybpf_warn. */
void progress_end(struct progress *p);

/* The progress text: "pybpf-prof: 12 s left, 6 processes traced, 1234567
 * calls counted"; without a duration "12 s so far"; when sampling
 * "6 processes sampled, 1234567 samples". seconds: left (rounded up) with
 * has_duration, else elapsed (rounded down). */
void progress_format(char *buf, size_t n, double seconds, bool has_duration, size_t procs,
		     uint64_t count, bool sampling);

#endif
