/* SPDX-License-Identifier: GPL-2.0-only */
/* The Python threads of a running CPython, read from the outside: each
 * thread state of the main interpreter, with its threading.Thread.name
 * found through sys.modules["threading"]._active[ident]._name. */
#ifndef PYBPF_PYTHREADS_H
#define PYBPF_PYTHREADS_H

#include <stddef.h>
#include <stdint.h>

#include "pybpf.h"

#define PYTHREADS_MAX 4096   /* thread states walked */
#define PYTHREADS_NAME_LEN 64

struct pybpf_err;
struct python_target;

struct pythread {
	uint64_t ident;      /* threading.get_ident() = tstate->thread_id */
	uint32_t native_tid; /* native_thread_id (in the target's PID namespace); 0 on <=3.10 */
	char name[PYTHREADS_NAME_LEN]; /* UTF-8 Thread.name, cut at a character; "" if not found */
};

/* The Python threads of t, newest first: every PyThreadState of the main
 * interpreter (at most PYTHREADS_MAX), with its Thread.name when the
 * threading module knows the thread. Target memory is untrusted: whatever
 * cannot be read or does not look right gives "" names, never an error.
 * 0 with *out malloc'ed (NULL when *n is 0; the caller frees it), or -1
 * with err set ("PID N: ...") when the thread list itself cannot be read. */
int pythreads_read(const struct python_target *t, const struct pybpf_offsets *off,
		   struct pythread **out, size_t *n, struct pybpf_err *err);

#endif
