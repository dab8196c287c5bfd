/* SPDX-License-Identifier: GPL-2.0-only */
/* Writes a profile as cProfile.Profile.dump_stats does: a CPython marshal
 * of {(file, line, name): (cc, nc, tt, ct, {caller: (nc, cc, tt, ct)})}. */
#ifndef PYBPF_PSTATS_H
#define PYBPF_PSTATS_H

#include <stdio.h>

#include "profile.h"

/* 0 or a negative errno. */
int pstats_write(const struct pybpf_profile *p, FILE *out);
/* Writes to path atomically (temporary file + rename). 0 or -errno. */
int pstats_write_file(const struct pybpf_profile *p, const char *path);

#endif
