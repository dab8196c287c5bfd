// SPDX-License-Identifier: GPL-2.0-only
#include "testpoint.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void testpoint(const char *name)
{
	const char *want = getenv("PYBPF_TEST_PAUSE");

	if (want && !strcmp(want, name))
		raise(SIGSTOP); /* returns once the test sends SIGCONT */
}
