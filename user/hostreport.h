/* SPDX-License-Identifier: GPL-2.0-only */
/* The report of a host-wide run on stdout: a summary line, one section per
 * process (its single-process report, unchanged), hot spots across all
 * processes, and the processes left out with the reason. */
#ifndef PYBPF_HOSTREPORT_H
#define PYBPF_HOSTREPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "hostrun.h"
#include "report.h"
#include "sreport.h"

struct hostreport_opts {
	enum pybpf_sort sort;      /* exact mode: as -s for -p */
	long limit;                /* exact mode: rows per section, -1 all */
	bool latency;              /* exact mode: --latency */
	struct sreport_opts sample; /* sampling: as for -p */
};

/* Writes the whole report of run to out. 0, or -errno (-ENOMEM, -EIO when
 * out has an error, or sreport_print's). */
int hostreport_print(FILE *out, const struct host_run *run, const struct hostreport_opts *o);

/* A command line (a struct host_proc's cmdline, read up to its array's
 * size) escaped for a terminal and, when longer than max bytes, cut at a
 * whole character or escape to at most max bytes ending in "..." (max >= 3).
 * Malloc'ed, NULL on ENOMEM. For stderr too (max 100 there). */
char *host_command_for_print(const char *cmdline, size_t max);

/* The order of the sections: indices of run->procs by total own time (exact:
 * sum of tottime; sampling: samples), largest first, ties by PID. Malloc'ed
 * (never NULL for 0 processes), NULL on ENOMEM. */
size_t *host_proc_order(const struct host_run *run);

#endif
