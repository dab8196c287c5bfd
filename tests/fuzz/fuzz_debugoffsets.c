// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness: a _Py_DebugOffsets block as read from a target.
 * The first byte picks the minor version (13, 14 or 15), the rest is the block. */
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "offsets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pybpf_offsets out;
	struct pybpf_err err;

	if (size < 1)
		return 0;
	offsets_from_debug(data + 1, size - 1, 3, 13 + data[0] % 3, &out, &err);
	return 0;
}
