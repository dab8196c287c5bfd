/* SPDX-License-Identifier: GPL-2.0-only */
/* Command line. */
#ifndef PYBPF_OPTIONS_H
#define PYBPF_OPTIONS_H

#include <stdbool.h>
#include <sys/types.h>

#include "log.h"
#include "report.h"
#include "sampleprof.h"
#include "sreport.h"

enum pybpf_backend {
	PYBPF_BACKEND_AUTO,
	PYBPF_BACKEND_USDT,
	PYBPF_BACKEND_EVALFRAME,
};

struct pybpf_options {
	pid_t pid;        /* -p, 0 when launching */
	char **cmd;       /* after --, NULL-terminated; NULL when attaching */
	double duration;  /* seconds, 0 = until stopped */
	const char *output;
	enum pybpf_sort sort;
	long limit;       /* -1 = all rows */
	enum pybpf_backend backend;
	bool verbose;
	bool probe_floor; /* --probe-floor: empty programs on the probes (benchmarks) */
	bool latency;     /* --latency: per-function call-duration histograms */
	bool hook_only;   /* --hook-only: evalframe's PEP 523 hook, no probes (benchmarks) */
	bool backend_given;
	bool mode_given;
	const char *sort_key; /* -s, checked once --sample is known */
	/* Sampling. */
	bool sample;      /* --sample */
	unsigned int hz;  /* --hz, samples per second */
	enum sample_mode mode;
	enum sreport_sort sample_sort;
	bool lines;       /* --lines: rows per source line */
	bool threads;     /* --threads: a table per thread */
	bool offcpu_at_switch; /* --offcpu-method switch (benchmarks) */
	const char *folded, *flamegraph, *speedscope; /* files to write, or NULL */
	/* --all-python. */
	bool all_python;
	pid_t *exclude;   /* --exclude-pid, malloc'ed (options_free) */
	size_t nexclude;
	const char *match; /* --match, a POSIX extended regex (checked to compile) */
	unsigned int max_processes, max_threads, max_functions; /* 0: defaults */
};

enum options_result {
	OPTIONS_RUN,   /* go on */
	OPTIONS_EXIT,  /* --help or --version was printed */
	OPTIONS_USAGE, /* err says what is wrong: exit 64 */
};

enum options_result options_parse(int argc, char **argv, struct pybpf_options *o,
				  struct pybpf_err *err);
const char *backend_name(enum pybpf_backend b);
void options_free(struct pybpf_options *o);

#endif
