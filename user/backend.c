// SPDX-License-Identifier: GPL-2.0-only
#include "backend.h"

#include <limits.h>
#include <stdio.h>

/* From 3.12 on, the probes no longer nest exactly: 3.15 fires an entry for
 * generator creation and returns for shim frames and throw()n generators. */
#define FIRST_MINOR_WITH_CREATION_ENTRY 12
/* From 3.11 on, calls run inline in one C-level evaluation unless a PEP 523
 * hook is set: the evalframe backend sets one. */
#define FIRST_MINOR_NEEDING_HOOK 11

const char *backend_usdt_unusable(const struct python_target *t, char *buf, size_t n)
{
	if (t->major != 3 || t->minor < 9 || t->minor > 15) {
		snprintf(buf, n, "CPython %s is not supported (3.9 to 3.15 are)", t->version);
	} else if (t->minor == 11) {
		snprintf(buf, n, "CPython %s: its function__entry probe fires almost never (only "
				 "while a tracer is active), so calls cannot be counted over USDT",
			 t->version);
	} else if (t->minor >= 12 && t->minor <= 14) {
		snprintf(buf, n, "CPython %s has no function__entry/return probes (removed in 3.12 "
				 "with PEP 669; restored in 3.15)", t->version);
	} else if (!t->entry_probe.found || !t->return_probe.found) {
		snprintf(buf, n, "CPython %s in %s has no python:function__entry/return probes "
				 "(built without --with-dtrace)", t->version, t->binary);
	} else {
		return NULL;
	}
	return buf;
}

int backend_choose(const struct python_target *t, enum pybpf_backend asked, bool hook_only,
		   enum pybpf_backend *out, struct pybpf_err *err)
{
	char why[PATH_MAX + 512];
	const char *unusable = backend_usdt_unusable(t, why, sizeof(why));

	*out = hook_only ? PYBPF_BACKEND_EVALFRAME : asked;
	if (*out == PYBPF_BACKEND_AUTO)
		*out = unusable ? PYBPF_BACKEND_EVALFRAME : PYBPF_BACKEND_USDT;
	if (*out == PYBPF_BACKEND_USDT && unusable) {
		err_set(err, "cannot trace PID %d over USDT: %s (hint: --backend evalframe, or "
			     "auto, works without probes)", t->pid, unusable);
		return -1;
	}
	if (hook_only && t->minor < FIRST_MINOR_NEEDING_HOOK) {
		err_set(err, "--hook-only: CPython %s has no eval-frame hook to set (3.11+ only)",
			t->version);
		return -1;
	}
	return 0;
}

uint32_t backend_usdt_flags(const struct python_target *t)
{
	if (t->minor >= FIRST_MINOR_WITH_CREATION_ENTRY)
		return PYBPF_TARGET_SKIP_GEN_CREATION;
	return PYBPF_TARGET_BALANCED;
}

bool backend_needs_hook(const struct python_target *t, enum pybpf_backend b)
{
	return b == PYBPF_BACKEND_EVALFRAME && t->minor >= FIRST_MINOR_NEEDING_HOOK;
}

void backend_known_gap(const struct python_target *t, enum pybpf_backend b, char *out, size_t n)
{
	out[0] = '\0';
	/* gh-104405, fixed in 3.11.4: BINARY_SUBSCR_GETITEM ignores PEP 523. */
	if (b == PYBPF_BACKEND_EVALFRAME && t->minor == 11 && t->micro < 4)
		snprintf(out, n, "CPython %s runs a Python __getitem__ called by obj[i] inline, past "
				 "the eval-frame hook, once the site is specialized (fixed in 3.11.4): "
				 "__getitem__ methods are undercounted%s", t->version,
			 t->micro < 0 ? " if this is 3.11.0-3.11.3" : "");
}
