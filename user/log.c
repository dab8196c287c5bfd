// SPDX-License-Identifier: GPL-2.0-only
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "strutil.h"

bool pybpf_verbose;
void (*pybpf_before_warn)(void);

void err_set(struct pybpf_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* Messages quote the target (paths, names): escaped as a whole, so that no
 * control character or bidi override reaches the terminal and it stays one line. */
void pybpf_warn(const char *fmt, ...)
{
	char *raw = NULL, *esc = NULL;
	va_list ap;
	int len;

	if (pybpf_before_warn)
		pybpf_before_warn();
	va_start(ap, fmt);
	len = vasprintf(&raw, fmt, ap);
	va_end(ap);
	if (len >= 0)
		esc = escaped_dup(raw);
	fprintf(stderr, "pybpf-prof: %s\n", esc ? esc : "(no memory to say what)");
	free(esc);
	free(raw);
}
