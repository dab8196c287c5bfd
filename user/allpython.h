/* SPDX-License-Identifier: GPL-2.0-only */
/* --all-python: exact tracing of every CPython process of the host. */
#ifndef PYBPF_ALLPYTHON_H
#define PYBPF_ALLPYTHON_H

#include "options.h"

/* The whole run: exit status 0 or 1. */
int allpython_run(const struct pybpf_options *o);

#endif
