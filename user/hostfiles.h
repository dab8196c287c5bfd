/* SPDX-License-Identifier: GPL-2.0-only */
/* The files of a host-wide run: pstats files (-o) and sampled profiles
 * (--folded, --flamegraph, --speedscope), per process or for the host.
 *
 * spec with "{pid}": a file-name pattern, one file per process, every
 * "{pid}" replaced by its host PID. Without: for -o, a directory (created
 * 0755 if missing, its parent must exist) holding pid-<PID>.prof per process
 * and index.tsv; for the sampled formats, one file for the whole host.
 * A PID that is in run->procs more than once (a process that exec'ed a new
 * Python) names its n-th entry's file <PID>-<n> (n >= 2).
 * A file that cannot be written is one line on stderr ("pybpf-prof: cannot
 * write PATH: why") and the others are still written. */
#ifndef PYBPF_HOSTFILES_H
#define PYBPF_HOSTFILES_H

#include "hostrun.h"
#include "output.h"
#include "sampleprof.h"

#define HOSTFILES_INDEX "index.tsv"
#define HOSTFILES_ROOT_CMD_MAX 60 /* bytes of the command in a merged stack's root frame */

/* -o spec: pstats files (sampled processes' estimates converted as -o does
 * for -p). 0 if every file was written, 1 if any was not. */
int hostfiles_write_pstats(const struct host_run *run, const char *spec);

/* A sampled format: per process with "{pid}", else one merged file (see
 * hostfiles_merge_samples). 0 if every file was written, 1 if any was not. */
int hostfiles_write_samples(const struct host_run *run, const struct sample_writer *w,
			    const char *spec);

/* One profile for the host (out initialized here, freed again on error):
 * each process's stacks rooted at a frame named "PID <pid>: <command cut to
 * HOSTFILES_ROOT_CMD_MAX bytes>" (file "", line 0), its threads named
 * "PID <pid> <thread name>" (TIDs kept), its losses added; comm "all-python",
 * pid 0, mode and hz of the first sampled process, the run's wall time.
 * A stack at PYBPF_SAMPLE_DEPTH frames loses its outermost frame for the root
 * frame (marked truncated), so that no writer cuts the root off.
 * 0, -ENOMEM, or -EINVAL for a profile whose indices do not hold. */
int hostfiles_merge_samples(const struct host_run *run, struct sample_profile *out);

#endif
