// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness: /proc/PID/status lines, for the NSpid parser. */
#include <stdint.h>
#include <stdlib.h>

#include "discover.h"
#include "fuzz_lines.h"

static void one_line(const char *line)
{
	if (parse_nspid(line) < -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_each_line(data, size, one_line);
	return 0;
}
