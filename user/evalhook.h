/* SPDX-License-Identifier: GPL-2.0-only */
/* The PEP 523 hook, set from outside a running CPython 3.11+: writing
 * &_PyEval_EvalFrameDefault into the main interpreter's eval_frame makes
 * every frame evaluation go through that function (the eval-frame backend
 * probes it), and a guardian process puts NULL back if pybpf-prof dies,
 * even by SIGKILL. Never touches a hook that someone else has set.
 * See ../shared/reference/cpython-internals.md §1b and §7. */
#ifndef PYBPF_EVALHOOK_H
#define PYBPF_EVALHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "elffile.h"
#include "log.h"
#include "target.h"

/* Plain so that callers can embed it; a zeroed one is "not installed". */
struct evalhook {
	pid_t pid;       /* the target */
	uint32_t offset; /* offsetof(PyInterpreterState, eval_frame) */
	uint64_t field;  /* &interp->eval_frame in the target */
	uint64_t value;  /* what we wrote there: &_PyEval_EvalFrameDefault */
	int mem_fd;      /* /proc/PID/mem, read-write; survives PID reuse */
	int guard_fd;    /* our end of the guardian's socket */
	pid_t guard_pid; /* the guardian, our child */
	bool installed;
};

/* Exit statuses of the guardian, for whoever reaps it. */
#define EVALHOOK_GUARD_DONE 0     /* told the hook was removed: memory untouched */
#define EVALHOOK_GUARD_RESTORED 2 /* pybpf-prof went away: eval_frame set back to NULL */
#define EVALHOOK_GUARD_NOT_OURS 3 /* pybpf-prof went away, the field held NULL or another value */
#define EVALHOOK_GUARD_GONE 4     /* pybpf-prof went away, the target's memory is gone */

/* The comm of the guardian process. */
#define EVALHOOK_GUARD_NAME "pybpf-guard"

/* Decodes offsetof(PyInterpreterState, eval_frame) from the first bytes of
 * _PyInterpreterState_GetEvalFrameFunc: an optional endbr64, then
 * mov disp32(%rdi),%rax or mov disp8(%rdi),%rax. 0, or -ENOENT for any
 * other code (or a displacement that cannot be a pointer field). */
int evalhook_offset_from_code(const uint8_t *code, size_t n, uint32_t *offset);
/* The same, from an interpreter file (executable or libpython).
 * 0, -ENOENT (no such function, or other code) or -EIO. */
int evalhook_offset_from_elf(struct elf_file *ef, uint32_t *offset);

/* Makes the main interpreter of t evaluate every frame through
 * _PyEval_EvalFrameDefault, with a guardian that undoes it if we die: a
 * child (comm EVALHOOK_GUARD_NAME, own session, stdio on /dev/null, deaf to
 * SIGINT/SIGTERM/SIGHUP) that restores the field when its socket to us
 * reaches EOF. The socket is close-on-exec; a child we fork without exec
 * keeps the guardian waiting until it exits too. h is overwritten: it
 * must not hold an installed hook.
 * Refuses (-EBUSY) if eval_frame is already set: another PEP 523 hook
 * (-X perf, a debugger, another profiler) is left alone. 0, or a negative
 * errno with err set: -EOPNOTSUPP (version), -ENOENT (symbols), -EAGAIN
 * (interpreter not initialised yet), -EBUSY, or a memory/process error. */
int evalhook__install(const struct python_target *t, struct evalhook *h, struct pybpf_err *err);
/* A fork of a process whose hook we set has a copy of it: makes h the
 * child's hook, with its own guardian, so that it is removed like the
 * parent's. 0, or a negative errno with err set (-ENOENT: the child's
 * eval_frame no longer holds our value, e.g. it exec'ed). */
int evalhook__adopt(const struct evalhook *parent, pid_t child, struct evalhook *h,
		    struct pybpf_err *err);
/* Sets eval_frame back to NULL if it still holds our value, and reaps the
 * guardian. Idempotent. 0 (restored, or the target is gone), -EBUSY (the
 * field holds someone else's value: left alone), or -errno from the write. */
int evalhook__remove(struct evalhook *h);

#endif
