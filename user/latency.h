/* SPDX-License-Identifier: GPL-2.0-only */
/* --latency: call-duration histograms (struct pybpf_hist's log2 slots),
 * their percentiles, and their text. */
#ifndef PYBPF_LATENCY_H
#define PYBPF_LATENCY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pybpf.h"

#define LATENCY_BAR_WIDTH 40 /* characters of the largest bucket's bar */

/* Slot k holds durations in [latency_slot_lo(k), latency_slot_hi(k)) ns:
 * [0, 2) for slot 0, [2^k, 2^(k+1)) after it, and [2^39, UINT64_MAX) for
 * the last slot, which has no upper bound. */
uint64_t latency_slot_lo(unsigned int k);
uint64_t latency_slot_hi(unsigned int k);
/* The slot of a duration of ns, as the BPF side files it. */
unsigned int latency_slot_of(uint64_t ns);

/* Calls counted in a histogram. */
uint64_t latency_count(const uint64_t slots[PYBPF_HIST_SLOTS]);

/* The q-th percentile (0 <= q <= 100) of the durations, in ns, into *ns.
 * The bucket holding rank r = q * N / 100 (N calls in all) is the first
 * whose running count reaches r; inside it the durations are taken as
 * spread evenly, so *ns = lo + (hi - lo) * (r - calls before it) / its calls
 * (as Prometheus' histogram_quantile does). q = 0 gives the lower bound of
 * the first non-empty bucket, q = 100 the upper bound of the last.
 * Returns 0; 1 when the rank falls in the last slot, which has no upper
 * bound: *ns is then its lower bound, and the percentile at least that;
 * -1 (and *ns = 0) for an empty histogram or a q out of range. */
int latency_percentile(const uint64_t slots[PYBPF_HIST_SLOTS], double q, double *ns);

/* A duration in ns as text in the unit that keeps it short: "512 ns",
 * "1.02 us", "16.4 ms", "131 s" (three significant digits from 1 us up,
 * whole nanoseconds below). Returns buf. */
char *latency_format_ns(char *buf, size_t n, double ns);

/* One row per bucket from the first to the last non-empty one, after a
 * column header, each row starting with indent:
 *     "  512 ns -> 1.02 us  :          3 |***        ...|"
 * with a bar of LATENCY_BAR_WIDTH characters at most, scaled to the largest
 * bucket (as bcc's funclatency draws it). Prints nothing for an empty
 * histogram. */
void latency_print_hist(FILE *out, const uint64_t slots[PYBPF_HIST_SLOTS], const char *indent);

#endif
