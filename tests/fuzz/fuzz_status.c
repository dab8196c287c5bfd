// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness: /proc/PID/status lines, for the NSpid parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *line, *save;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (parse_nspid(line) < -1)
			abort();
	free(text);
	return 0;
}
