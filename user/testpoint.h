/* SPDX-License-Identifier: GPL-2.0-only */
/* Test-only pause points: with PYBPF_TEST_PAUSE=NAME in the environment,
 * pybpf-prof stops itself (SIGSTOP) when it reaches the point NAME, so that
 * a test can act at that exact moment (kill the target) and then resume it
 * with SIGCONT; the test sees the stop with waitid(WSTOPPED) or in
 * /proc/PID/stat. tests/integration/test_faults.py uses it. Unset (always
 * outside the tests), nothing happens. */
#ifndef PYBPF_TESTPOINT_H
#define PYBPF_TESTPOINT_H

/* Points: "attach" (before the first probe or perf event is attached),
 * "hook" (guardian armed, before the eval-frame hook is written), "drain"
 * (tracing stopped, before the maps are read). */
void testpoint(const char *name);

#endif
