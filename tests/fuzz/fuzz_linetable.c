// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness: a code object's line table. Byte 0 picks the minor
 * version (9..15), bytes 1-4 firstlineno and 5-8 lasti (little-endian);
 * the rest is the table, copied so that ASan sees its exact end. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linetable.h"

static int32_t le32(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			 (uint32_t)p[3] << 24);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n;
	uint8_t *table;
	int minor;
	int32_t first, lasti;

	if (size < 9)
		return 0;
	minor = 9 + data[0] % 7;
	first = le32(data + 1);
	lasti = le32(data + 5);
	n = size - 9;
	table = malloc(n ? n : 1);
	if (!table)
		return 0;
	memcpy(table, data + 9, n);
	if (linetable_line(minor, table, n, first, lasti) < 0)
		abort();
	/* 32 instructions spread over (and past) what the table covers, as a sampler asks. */
	for (int32_t i = -1, step = (int32_t)(n / 8) + 1; i < (int32_t)n * 4 + 2; i += step)
		if (linetable_line(minor, table, n, first, i) < 0)
			abort();
	free(table);
	return 0;
}
