// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness: /proc/PID/maps lines, and the version guesses made
 * from the file names and paths they give. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_lines.h"
#include "target.h"

static void one_line(const char *line)
{
	struct map_entry m;
	int major, minor, micro;
	const char *base;

	python_version_from_name(line, &major, &minor);
	python_micro_from_path(line, 9, &micro);
	if (!map_entry__parse(line, &m))
		return;
	if (!memchr(m.path, '\0', sizeof(m.path)) || !memchr(m.perms, '\0', sizeof(m.perms)))
		abort();
	base = strrchr(m.path, '/');
	base = base ? base + 1 : m.path;
	if (python_version_from_name(base, &major, &minor))
		python_micro_from_path(m.path, minor, &micro);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_each_line(data, size, one_line);
	return 0;
}
