/* SPDX-License-Identifier: GPL-2.0-only */
/* Which exact backend traces a given interpreter, and what it cannot see
 * there: the choice -p, -- CMD and --all-python (per process) share. */
#ifndef PYBPF_BACKEND_H
#define PYBPF_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "options.h"
#include "target.h"

/* Why the USDT backend cannot trace t exactly (written into buf), or NULL if it can. */
const char *backend_usdt_unusable(const struct python_target *t, char *buf, size_t n);
/* The backend for t: the one asked for, or with auto usdt where its probes
 * fire fully, else evalframe. hook_only forces evalframe. 0, or -1 with err set. */
int backend_choose(const struct python_target *t, enum pybpf_backend asked, bool hook_only,
		   enum pybpf_backend *out, struct pybpf_err *err);
/* The BPF side's flags for t's USDT probes (enum pybpf_target_flags). */
uint32_t backend_usdt_flags(const struct python_target *t);
/* The eval-frame backend needs CPython's PEP 523 hook set in t (3.11+). */
bool backend_needs_hook(const struct python_target *t, enum pybpf_backend b);
/* Calls backend b cannot see in t, worded for the report, or "". */
void backend_known_gap(const struct python_target *t, enum pybpf_backend b, char *out, size_t n);

#endif
