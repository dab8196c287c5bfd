/* SPDX-License-Identifier: GPL-2.0-only */
/* --sample: one sampled run, attached (-p) or launched (-- CMD), from
 * loading the sampler to the report and the profile files. */
#ifndef PYBPF_SAMPLING_H
#define PYBPF_SAMPLING_H

#include "options.h"

/* The exit status of pybpf-prof: 0, 1, or a launched command's own. */
int sampling_run(const struct pybpf_options *o);
/* --hz, lowered to the kernel's limit on perf sampling rates (said on stderr). */
unsigned int sampling_rate(unsigned int asked);

#endif
