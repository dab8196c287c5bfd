/* SPDX-License-Identifier: GPL-2.0-only */
/* The text report of a sampled profile: the exact-mode report's shape (a
 * pstats-like table, then hot spots in words), with sample counts where
 * the exact mode has call counts, optionally per line and per thread. */
#ifndef PYBPF_SREPORT_H
#define PYBPF_SREPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "sampleprof.h"

enum sreport_sort {
	SREPORT_SORT_TOTTIME,    /* tottime, time: own time, descending */
	SREPORT_SORT_CUMTIME,    /* cumtime, cumulative: cumulative time, descending */
	SREPORT_SORT_NSAMPLES,   /* nsamples: own samples, descending */
	SREPORT_SORT_CUMSAMPLES, /* cumsamples: cumulative samples, descending */
	SREPORT_SORT_OFFCPU,     /* offcpu: own off-CPU time, descending */
	SREPORT_SORT_NAME,       /* name: function name, ascending */
	SREPORT_SORT_FILENAME,   /* filename, file: file name, ascending */
	SREPORT_SORT_LINE,       /* line: the line in the label, ascending */
};

/* 0 and *out set, or -1 for an unknown key (*out untouched). */
int sreport_parse_sort(const char *key, enum sreport_sort *out);

struct sreport_opts {
	enum sreport_sort sort;
	long limit;   /* rows per table; -1: all */
	bool lines;   /* one row per (function, running line) */
	bool threads; /* then one section per thread */
};

/* Header, table and hot spots of the whole process, then with o->threads
 * the same per thread, busiest first. 0, or -errno (-ENOMEM, -EINVAL for a
 * profile whose indices do not hold, -EIO when out has an error). */
int sreport_print(FILE *out, const struct sample_profile *p, const struct sreport_opts *o);

#endif
