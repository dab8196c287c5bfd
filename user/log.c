// SPDX-License-Identifier: GPL-2.0-only
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

bool pybpf_verbose;
void (*pybpf_before_warn)(void);

void err_set(struct pybpf_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void pybpf_warn(const char *fmt, ...)
{
	va_list ap;

	if (pybpf_before_warn)
		pybpf_before_warn();
	fputs("pybpf-prof: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
