/* SPDX-License-Identifier: GPL-2.0-only */
/* cProfile-format text report: table, sorting, latency, hot-spot summary. */
#ifndef PYBPF_REPORT_H
#define PYBPF_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "profile.h"

/* pstats' sort keys (pstats.Stats.sort_arg_dict_default), and offcpu. */
enum pybpf_sort {
	PYBPF_SORT_CALLS,      /* calls, ncalls: "call count" */
	PYBPF_SORT_CUMULATIVE, /* cumulative, cumtime: "cumulative time" */
	PYBPF_SORT_FILENAME,   /* filename, file, module: "file name" */
	PYBPF_SORT_LINE,       /* line: "line number" */
	PYBPF_SORT_NAME,       /* name: "function name" */
	PYBPF_SORT_NFL,        /* nfl: "name/file/line" */
	PYBPF_SORT_PCALLS,     /* pcalls: "primitive call count" */
	PYBPF_SORT_STDNAME,    /* stdname: "standard name" */
	PYBPF_SORT_TIME,       /* time, tottime: "internal time" */
	PYBPF_SORT_OFFCPU,     /* offcpu (ours, descending): "off-CPU time" */
};

/* 0 and *out set, or -1 for an unknown key. */
int report_parse_sort(const char *key, enum pybpf_sort *out);
/* The words pstats prints after "Ordered by: ". */
const char *report_sort_title(enum pybpf_sort sort);
/* A malloc'ed permutation of 0..nfuncs-1 in pstats' order for `sort`
 * (stable: ties keep insertion order, as pstats' stable sort over the
 * file's dict order does). NULL on ENOMEM or when nfuncs is 0. */
size_t *report_order(const struct pybpf_profile *p, enum pybpf_sort sort);
/* The whole report: header, table (limit < 0: all rows), then with
 * `latency` the histograms of the first `limit` functions of the table that
 * have one (10 when limit < 0), losses, hot spots. The table is pstats'
 * print_stats block with one more column, offcpu, before the label. */
int report_print(FILE *out, const struct pybpf_profile *p, enum pybpf_sort sort, long limit,
		 bool latency);

/* One stderr line when most of p's events failed to read the target
 * (profile_mostly_unread), rather than a silently near-empty table. */
void report_warn_unread(const struct pybpf_profile *p);

#endif
