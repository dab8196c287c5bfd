/* SPDX-License-Identifier: GPL-2.0-only */
/* Test-only knobs, read from the environment (never documented as options):
 *   PYBPF_TEST_MAP_ENTRIES=N  caps every hash map's max_entries at N before
 *                             load, so that a test can fill each of them;
 *   PYBPF_TEST_PEAK_RSS=1     prints, on stderr at exit, pybpf-prof's peak
 *                             RSS (VmHWM) and the kernel memory of its maps. */
#ifndef PYBPF_TESTLIMITS_H
#define PYBPF_TESTLIMITS_H

#include <stdint.h>
#include <stdio.h>

struct bpf_object;

/* N from PYBPF_TEST_MAP_ENTRIES's value s: 0 (no cap) when s is NULL, empty,
 * not a whole number or outside 1..2^20. */
uint32_t testlimits_parse_entries(const char *s);
/* Before load: caps obj's hash maps at PYBPF_TEST_MAP_ENTRIES (arrays keep
 * their size: their keys are indexes). */
void testlimits_cap_maps(struct bpf_object *obj);
/* After load: adds obj's maps' kernel memory (their memlock) to the total
 * testlimits_report prints. */
void testlimits_note_maps(const struct bpf_object *obj);
/* The VmHWM line's value in kB from /proc/PID/status text, or -1. */
long testlimits_peak_rss_kb(const char *status);
/* The memlock line's value in bytes from /proc/PID/fdinfo/FD text, or -1. */
long long testlimits_memlock(const char *fdinfo);
/* With PYBPF_TEST_PEAK_RSS=1: one line on out, "pybpf-prof: test: peak RSS
 * N kB, BPF maps M bytes (memlock)". */
void testlimits_report(FILE *out);

#endif
