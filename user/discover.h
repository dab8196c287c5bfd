/* SPDX-License-Identifier: GPL-2.0-only */
/* --all-python's discovery: which processes of the host may run a CPython,
 * found from the outside (their /proc entries and program files, never by
 * running anything in them), and the facts the report shows about them. */
#ifndef PYBPF_DISCOVER_H
#define PYBPF_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Program files already looked at, by device and inode: a host runs the
 * same few programs in many processes. */
struct exe_seen {
	dev_t dev;
	ino_t ino;
	bool python; /* holds _PyRuntime, or needs a libpython */
};

struct discovery {
	struct exe_seen *seen;
	size_t nseen, cap;
};

/* Calls fn for every process of the host but this one (in PID order of
 * /proc). Stops at fn's first non-zero return, which it returns. */
int discover_each_pid(int (*fn)(void *ctx, pid_t pid), void *ctx);
/* Might pid run a CPython: it maps a libpython, or its program has
 * _PyRuntime or needs a libpython? False for kernel threads and processes gone. */
bool discover_maybe_python(struct discovery *d, pid_t pid);
void discovery_free(struct discovery *d);

/* pid's command line, its arguments joined by spaces (raw bytes, NUL
 * terminated, cut to n - 1); "" when unreadable. */
void proc_cmdline(pid_t pid, char *out, size_t n);
/* pid's PID in its own PID namespace, or 0 when it is the same or unknown. */
pid_t proc_ns_pid(pid_t pid);
/* The innermost PID of a /proc/PID/status line "NSpid:\t<host>...\t<inner>": 0 if it
 * gives none that is valid, -1 if the line is not an NSpid line. */
pid_t parse_nspid(const char *line);

#endif
